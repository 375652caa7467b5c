#!/usr/bin/env python3
"""End-to-end tests of oxhub's DockerSpawner against podman's Docker-compatible API (a real
`podman system service` started by tests/docker/podman.py with its own storage and socket).
No registry is reachable here, so the image is a local busybox one and the "server" in the
container is busybox httpd serving a bind-mounted directory on the port DockerSpawner
publishes: the hub's readiness check, the proxy route, volumes, limits, environment, poll,
stop and remove are all checked on the container podman really created (its inspect output).

Run as root with the e2e venv (scripts/e2e-venv.sh):

    .cache/venv-e2e/bin/python tests/e2e/oxhub_docker.py --oxhub target/debug/oxhub

The last line printed is `oxhub-docker: N passed, N failed`.
"""
import os
import sys
import tempfile
import traceback

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "docker"))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))

from common import Checks, parse_e2e_args, run_scenarios, wait_for  # noqa: E402
from oxhub_jupyterlab import Hub, server  # noqa: E402
import podman as podman_fixture  # noqa: E402

USER = "dockeruser"


def site(user):
    """A directory httpd serves: the server's pages under its URL prefix."""
    www = tempfile.mkdtemp(prefix="oxhub-docker-www-")
    os.chmod(www, 0o755)
    pages = os.path.join(www, "user", user)
    os.makedirs(pages)
    for name, text in [("index.html", f"hello from {user}'s container\n"), ("api", "{}\n")]:
        with open(os.path.join(pages, name), "w") as f:
            f.write(text)
    for d in (os.path.join(www, "user"), pages):
        os.chmod(d, 0o755)
    return www


def docker_hub(oxhub, pod, www, extra=""):
    config = f"""
c.JupyterHub.spawner_class = 'dockerspawner.DockerSpawner'
c.DockerSpawner.client_kwargs = {{'base_url': '{pod.docker_host}'}}
c.DockerSpawner.image = '{pod.IMAGE}'
c.DockerSpawner.pull_policy = 'never'
c.DockerSpawner.cmd = ['httpd', '-f', '-p', '8888', '-h', '/www']
c.DockerSpawner.volumes = {{
    '{www}': {{'bind': '/www', 'mode': 'ro'}},
    'oxhub-e2e-{{username}}': '/home/work',
}}
c.DockerSpawner.extra_create_kwargs = {{'user': '1001', 'labels': {{'oxhub.e2e': '{{raw_username}}'}}}}
c.Spawner.args = []
c.Spawner.mem_limit = '256M'
c.Spawner.cpu_limit = 0.5
c.Spawner.http_timeout = 30
c.Spawner.start_timeout = 60
c.Spawner.poll_interval = 1
"""
    return Hub(oxhub, config + extra)


def inspect(pod, name):
    status, info = pod.api("GET", f"/containers/{name}/json")
    return info if status == 200 else None


def scenario_container_lifecycle(oxhub, c, pod):
    """start → published port → page through the proxy; the container as configured; poll
    notices a container stopped behind the hub's back; a second start replaces it; stop."""
    www = site(USER)
    hub = docker_hub(oxhub, pod, www)
    name = f"jupyter-{USER}"
    try:
        hub.start()
        c.check("the hub says it uses DockerSpawner", "DockerSpawner" in hub.tail(200), hub.tail(10))
        hub.api("POST", f"/users/{USER}")
        r = hub.api("POST", f"/users/{USER}/server")
        c.require("the spawn is accepted", r.status_code in (201, 202), f"{r.status_code} {r.text[:300]}")
        c.require("the server becomes ready", wait_for(lambda: server(hub, USER).get("ready"), 60),
                  f"{server(hub, USER)}\n{hub.tail()}")
        state = server(hub, USER).get("state", {})
        c.check("the state is DockerSpawner's (object_id, object_name)",
                state.get("object_name") == name and len(state.get("object_id", "")) >= 12, state)
        r = requests.get(f"{hub.url}/user/{USER}/index.html", timeout=10)
        c.check("the container's page is served through the proxy",
                r.status_code == 200 and "hello from dockeruser" in r.text, f"{r.status_code} {r.text[:200]}")
        info = inspect(pod, name)
        c.require("podman has the container under its name_template name", info is not None, name)
        host, cfg = info["HostConfig"], info["Config"]
        c.check("mem_limit reaches HostConfig.Memory", host.get("Memory") == 256 * 1024 * 1024, host.get("Memory"))
        c.check("cpu_limit reaches CpuPeriod/CpuQuota",
                (host.get("CpuPeriod"), host.get("CpuQuota")) == (100000, 50000),
                (host.get("CpuPeriod"), host.get("CpuQuota")))
        mounts = {m.get("Destination"): m for m in info.get("Mounts", [])}
        c.check("the host directory is bound read-only",
                mounts.get("/www", {}).get("RW") is False and mounts["/www"].get("Source") == www, mounts.get("/www"))
        c.check("{username} expands in the named volume",
                mounts.get("/home/work", {}).get("Name") == f"oxhub-e2e-{USER}", mounts.get("/home/work"))
        env = dict(e.split("=", 1) for e in cfg.get("Env", []))
        c.check("the server's environment is in the container",
                env.get("JUPYTERHUB_USER") == USER and env.get("JUPYTERHUB_API_TOKEN")
                and env.get("JUPYTERHUB_SERVICE_URL") == f"http://0.0.0.0:8888/user/{USER}/"
                and env.get("JUPYTER_IMAGE_SPEC") == pod.IMAGE, {k: env.get(k) for k in ("JUPYTERHUB_USER", "JUPYTERHUB_SERVICE_URL", "JUPYTER_IMAGE_SPEC")})
        c.check("extra_create_kwargs: user and labels", cfg.get("User") == "1001"
                and cfg.get("Labels", {}).get("oxhub.e2e") == USER, (cfg.get("User"), cfg.get("Labels")))
        c.check("the published port is on host_ip 127.0.0.1",
                info["NetworkSettings"]["Ports"]["8888/tcp"][0]["HostIp"] == "127.0.0.1",
                info["NetworkSettings"]["Ports"])
        # Stopped behind the hub's back: poll notices it and the server is gone.
        status, _ = pod.api("POST", f"/containers/{name}/stop?t=1")
        c.check("podman stops the container", status == 204, status)
        c.check("poll notices the stopped container and the server is gone",
                wait_for(lambda: server(hub, USER) == {}, 30), server(hub, USER))
        # remove = False keeps the stopped container; the next start replaces it.
        old_id = state.get("object_id")
        c.check("remove = False keeps the stopped container", inspect(pod, name) is not None, name)
        r = hub.api("POST", f"/users/{USER}/server")
        c.require("a second start is accepted", r.status_code in (201, 202), f"{r.status_code} {r.text[:300]}")
        c.require("the second start becomes ready", wait_for(lambda: server(hub, USER).get("ready"), 60), hub.tail())
        new_id = server(hub, USER).get("state", {}).get("object_id")
        c.check("the second start runs a new container with the new token",
                new_id and new_id != old_id and inspect(pod, old_id) is None, (old_id, new_id))
        r = requests.get(f"{hub.url}/user/{USER}/index.html", timeout=10)
        c.check("the new container answers through the proxy", r.status_code == 200, r.status_code)
        r = hub.api("DELETE", f"/users/{USER}/server")
        c.check("stop succeeds", r.status_code in (202, 204), r.status_code)
        c.check("the server is gone", wait_for(lambda: server(hub, USER) == {}, 30), server(hub, USER))
        info = inspect(pod, name)
        c.check("stop stops the container (and keeps it: remove = False)",
                info is not None and info["State"]["Running"] is False, info and info["State"])
    finally:
        hub.cleanup()


def scenario_remove_and_failures(oxhub, c, pod):
    """remove = True deletes the container at stop; a missing image with pull_policy never
    fails the spawn with the reason."""
    user = "dockerrm"
    www = site(user)
    hub = docker_hub(oxhub, pod, www, "c.DockerSpawner.remove = True\n")
    name = f"jupyter-{user}"
    try:
        hub.start()
        hub.api("POST", f"/users/{user}")
        r = hub.api("POST", f"/users/{user}/server")
        c.require("the spawn is accepted", r.status_code in (201, 202), f"{r.status_code} {r.text[:300]}")
        c.require("the server becomes ready", wait_for(lambda: server(hub, user).get("ready"), 60), hub.tail())
        c.check("the container runs", (inspect(pod, name) or {}).get("State", {}).get("Running") is True, name)
        r = hub.api("DELETE", f"/users/{user}/server")
        c.check("stop succeeds", r.status_code in (202, 204), r.status_code)
        c.check("remove = True: the container is gone after the stop",
                wait_for(lambda: inspect(pod, name) is None, 30), inspect(pod, name))
        # A user-chosen image is refused unless allowed_images lists it.
        r = hub.api("POST", f"/users/{user}/server", json={"image": "localhost/other:1"})
        c.check("an image not in allowed_images is refused with DockerSpawner's message",
                r.status_code == 400 and "Specifying image to launch is not allowed" in r.text, f"{r.status_code} {r.text[:200]}")
    finally:
        hub.cleanup()
    hub = docker_hub(oxhub, pod, www, "c.DockerSpawner.image = 'localhost/not-here:1'\n")
    try:
        hub.start()
        hub.api("POST", f"/users/{user}")
        r = hub.api("POST", f"/users/{user}/server")
        body = r.text
        if r.status_code == 202:
            wait_for(lambda: server(hub, user) == {}, 30)
            body = hub.tail(60)
        c.check("a missing image with pull_policy never fails the spawn with the reason",
                "localhost/not-here:1 is not present" in body, body[-500:])
        c.check("nothing was created for it", inspect(pod, name) is None, name)
    finally:
        hub.cleanup()


def main():
    oxhub, only = parse_e2e_args()
    c = Checks()
    lacks = podman_fixture.missing()
    if lacks:
        c.check("the podman fixture has what it needs", False, "; ".join(lacks))
        sys.exit(c.summary("oxhub-docker"))
    pod = None
    try:
        pod = podman_fixture.Podman()
        print(f"# podman {pod.api_version} API up in {pod.start_seconds:.1f} s", flush=True)
        run_scenarios(c, [scenario_container_lifecycle, scenario_remove_and_failures], oxhub, pod, only=only,
                      describe=str.strip)
    except Exception:
        c.check("the podman service starts", False, traceback.format_exc())
    finally:
        if pod:
            pod.stop()
    sys.exit(c.summary("oxhub-docker"))


if __name__ == "__main__":
    main()
