#!/usr/bin/env python3
"""End-to-end tests of oxhub with the real Python clients: jupyterhub-singleuser 6.1.1 with
jupyter-server and JupyterLab, and jupyterhub-idle-culler 2.0.0 as a managed service.

Run with the e2e venv (scripts/e2e-venv.sh installs the pinned packages):

    .cache/venv-e2e/bin/python tests/e2e/oxhub_jupyterlab.py --oxhub target/debug/oxhub

Each scenario starts its own `oxhub` (which starts its own `oxhub proxy`) in a temporary
directory on loopback ports picked at run time, and stops everything it started by PID.
The last line printed is `oxhub-e2e: N passed, N failed`; the exit status is non-zero on any
failure.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

import requests
import websocket

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
# Re-exported: `from oxhub_jupyterlab import Abort, Checks, free_ports, popen, wait_for` keeps working.
from common import (  # noqa: E402,F401
    Abort, Checks, alive, free_ports, parse_e2e_args, popen, proc_stat, proc_state, read_from, read_pid,
    run_scenarios, start_logged, stop_process, tail, wait_for, wait_gone, wait_started,
)

TINY_SERVER = os.path.join(HERE, "..", "..", "benches", "tiny_server.py")
VENV_BIN = os.path.dirname(sys.executable)
ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef"
PASSWORD = "e2e-password"


def pids_with(marker):
    """Live processes whose environment contains `marker` (each test run uses a fresh one)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker.encode() in f.read() and alive(int(entry)):
                    found.append(int(entry))
        except OSError:
            pass
    return found


def answers_200(url, timeout=2, **kw):
    """True when a GET of `url` answers 200 (False on any other status or no answer)."""
    try:
        return requests.get(url, timeout=timeout, **kw).status_code == 200
    except requests.RequestException:
        return False


class Hub:
    """One oxhub (and the proxy it starts) in its own directory."""

    def __init__(self, oxhub, config_extra, env_extra=None, ports=None, pid_file="proxy.pid", proxy_token=True):
        """pid_file=None leaves ConfigurableHTTPProxy.pid_file at its default
        (jupyterhub-proxy.pid); proxy_token=False starts the hub without CONFIGPROXY_AUTH_TOKEN
        (it generates one)."""
        self.oxhub = oxhub
        self.dir = tempfile.mkdtemp(prefix="oxhub-e2e-")
        self.port, self.api_port, self.hub_port = ports or free_ports(3)
        self.marker = "OXHUB_E2E_MARKER=" + uuid.uuid4().hex
        self.proxy_token = uuid.uuid4().hex if proxy_token else None
        self.pid_file = pid_file or "jupyterhub-proxy.pid"
        pid_line = f"c.ConfigurableHTTPProxy.pid_file = '{pid_file}'\n" if pid_file else ""
        self.env_extra = env_extra or {}
        root = os.geteuid() == 0
        config = f"""
c.JupyterHub.ip = '127.0.0.1'
c.JupyterHub.port = {self.port}
c.JupyterHub.hub_ip = '127.0.0.1'
c.JupyterHub.hub_port = {self.hub_port}
c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{self.api_port}'
{pid_line}c.JupyterHub.authenticator_class = 'dummy'
c.DummyAuthenticator.password = '{PASSWORD}'
c.Authenticator.admin_users = {{'admin'}}
c.JupyterHub.api_tokens = {{'{ADMIN_TOKEN}': 'admin'}}
c.JupyterHub.spawner_class = 'simple'
c.SimpleLocalProcessSpawner.home_dir_template = '{self.dir}/home/{{username}}'
c.Spawner.environment = {{'OXHUB_E2E_MARKER': '{self.marker.split('=', 1)[1]}'}}
c.Spawner.args = {['--allow-root'] if root else []!r}
"""
        with open(os.path.join(self.dir, "jupyterhub_config.py"), "w") as f:
            f.write(config + config_extra)
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log_path = os.path.join(self.dir, "hub.log")

    def start(self):
        env = dict(os.environ)
        if self.proxy_token:
            env["CONFIGPROXY_AUTH_TOKEN"] = self.proxy_token
        else:
            env.pop("CONFIGPROXY_AUTH_TOKEN", None)
        env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
        env.update(self.env_extra)
        self.proc = start_logged([self.oxhub], self.log_path, "a", cwd=self.dir, env=env)
        if not wait_started(self.proc, self.health, 30):
            raise Abort(f"hub did not start (exit status {self.proc.poll()}); log:\n{self.tail()}")

    def health(self):
        return answers_200(self.url + "/hub/health")

    def tail(self, n=40):
        return tail(self.log_path, n, error="")

    def api(self, method, path, token=ADMIN_TOKEN, **kw):
        return requests.request(method, self.url + "/hub/api" + path,
                                headers={"Authorization": f"token {token}"}, timeout=30, **kw)

    def proxy_pid(self):
        return read_pid(os.path.join(self.dir, self.pid_file))

    def stop(self, sig=signal.SIGTERM):
        if self.proc:
            stop_process(self.proc, sig, timeout=30)

    def cleanup(self):
        """Stop the hub, its proxy, and any server process of this run that survived."""
        self.stop()
        pid = self.proxy_pid()
        if pid and alive(pid):
            os.kill(pid, signal.SIGTERM)
        for pid in pids_with(self.marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def login(hub, c, username, password=PASSWORD):
    """A browser session logged in as `username`."""
    s = requests.Session()
    r = s.get(hub.url + "/hub/login", timeout=10)
    c.require("login page renders with an _xsrf field", r.status_code == 200 and 'name="_xsrf"' in r.text, r.status_code)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', r.text).group(1)
    r = s.post(hub.url + "/hub/login", data={"username": username, "password": password, "_xsrf": xsrf},
               allow_redirects=False, timeout=10)
    return s, r


def server(hub, user, name=""):
    """The API model of a user's server ({} when it has none); raises when the hub does not
    answer (server_model does not)."""
    return hub.api("GET", f"/users/{user}").json().get("servers", {}).get(name, {})


def read_progress(s, hub, user, events, timeout=120):
    """Appends to `events` the progress stream of the user's default server, read with the
    session `s` as spawn-pending's EventSource reads it, until ready or failed."""
    xsrf = s.cookies.get("_xsrf", path="/hub/")
    try:
        with s.get(hub.url + f"/hub/api/users/{user}/server/progress?_xsrf={xsrf}",
                   headers={"Sec-Fetch-Mode": "cors"}, stream=True, timeout=timeout) as resp:
            for line in resp.iter_lines():
                if line.startswith(b"data: "):
                    events.append(json.loads(line[6:]))
                    if events[-1].get("ready") or events[-1].get("failed"):
                        return
    except requests.RequestException as e:
        events.append({"error": str(e)})


def follow(s, hub, r, limit=20, pending_wait=90):
    """Follow redirects like a browser, waiting on spawn-pending pages; returns the last response."""
    deadline = time.time() + pending_wait
    for _ in range(limit):
        if r.status_code in (301, 302, 303, 307):
            loc = r.headers["location"]
            url = hub.url + loc if loc.startswith("/") else loc
            r = s.get(url, allow_redirects=False, timeout=30)
            continue
        if r.status_code == 200 and "/hub/spawn-pending/" in r.url and time.time() < deadline:
            time.sleep(0.5)
            r = s.get(r.url, allow_redirects=False, timeout=30)
            continue
        return r
    return r


# ---------------------------------------------------------------------------- scenarios


def scenario_jupyterlab(oxhub, c):
    """login → spawn → OAuth → JupyterLab, kernels over websockets, tokens, logout."""
    hub = Hub(oxhub, f"c.Spawner.cmd = ['{VENV_BIN}/jupyterhub-singleuser']\nc.Spawner.default_url = '/lab'\n")
    try:
        hub.start()
        s, r = login(hub, c, "alice", "wrong")
        c.check("a wrong password is refused with 403 and the form", r.status_code == 403 and "Invalid username or password" in r.text, r.status_code)
        s, r = login(hub, c, "alice")
        c.require("login redirects (302)", r.status_code == 302, r.status_code)
        c.check("the login cookie is HttpOnly and scoped to /hub/",
                any(h.startswith("jupyterhub-hub-login=") and "HttpOnly" in h and "Path=/hub/" in h
                    for h in r.raw.headers.getlist("Set-Cookie")), r.headers.get("set-cookie"))
        # Progress events, read while the server starts.
        events = []
        # /hub/spawn answers once the server is ready (or after 10 s); meanwhile the progress
        # stream is read as spawn-pending's EventSource reads it.
        answer = {}
        spawner = threading.Thread(target=lambda: answer.setdefault(
            "r", s.get(hub.url + "/hub/spawn", allow_redirects=False, timeout=60)))
        spawner.start()
        wait_for(lambda: server(hub, "alice").get("pending"), 30, every=0.02)
        read_progress(s, hub, "alice", events)
        spawner.join(60)
        r = answer.get("r")
        c.require("/hub/spawn starts the server and redirects to spawn-pending",
                  r is not None and r.status_code == 302 and "/hub/spawn-pending/alice" in r.headers.get("location", ""),
                  r is not None and r.headers)
        r = follow(s, hub, r)
        c.check("progress is a text/event-stream ending in a ready event",
                bool(events) and events[0].get("progress") == 0 and events[-1].get("ready") is True
                and events[-1].get("url") == "/user/alice/", events)
        c.require("the OAuth dance ends on the JupyterLab page through the proxy",
                  r.status_code == 200 and r.url.startswith(hub.url + "/user/alice/lab") and "JupyterLab" in r.text,
                  f"{r.status_code} {r.url}")
        c.check("the server's cookie was set by the OAuth callback",
                any(k == "jupyterhub-user-alice" for k in s.cookies.keys()), s.cookies.keys())
        r = s.get(hub.url + "/user/alice/api/status", timeout=10)
        c.check("/user/alice/api/status answers with cookies only", r.status_code == 200 and "started" in r.json(), r.status_code)
        model = hub.api("GET", "/users/alice").json()
        srv = model.get("servers", {}).get("")
        c.check("the API shows the server ready with its URL", bool(srv) and srv["ready"] and srv["url"] == "/user/alice/", model)
        # A kernel, started over the REST API with the server's XSRF token, and code run on it
        # over a websocket through the proxy.
        xsrf = s.cookies.get("_xsrf", path="/user/alice/")
        r = s.post(hub.url + "/user/alice/api/kernels", json={"name": "python3"},
                   headers={"X-XSRFToken": xsrf or ""}, timeout=60)
        c.require("a kernel starts (201)", r.status_code == 201, f"{r.status_code} {r.text[:200]}")
        kernel = r.json()["id"]
        cookie = "; ".join(f"{k}={v}" for k, v in s.cookies.items())
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{hub.port}/user/alice/api/kernels/{kernel}/channels",
            header=[f"Cookie: {cookie}"], timeout=60)
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "alice",
                       "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": "print(6 * 7)", "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        }))
        output = None
        deadline = time.time() + 60
        while time.time() < deadline and output is None:
            m = json.loads(ws.recv())
            if m.get("parent_header", {}).get("msg_id") == msg_id and m.get("msg_type") == "stream":
                output = m["content"]["text"]
        ws.close()
        c.check("execute_request over the websocket prints 42", output == "42\n", output)
        # Token clients.
        token = hub.api("POST", "/users/alice/tokens", json={"note": "e2e"}).json()["token"]
        r = requests.get(hub.url + "/user/alice/api/status", headers={"Authorization": f"token {token}"}, timeout=10)
        c.check("alice's API token reaches /user/alice/api/status", r.status_code == 200, r.status_code)
        hub.api("POST", "/users", json={"usernames": ["bob"]})
        bob = hub.api("POST", "/users/bob/tokens", json={"note": "e2e"}).json()["token"]
        r = requests.get(hub.url + "/user/alice/api/status", headers={"Authorization": f"token {bob}"}, timeout=10)
        c.check("bob's token is refused by alice's server (403)", r.status_code == 403, r.status_code)
        # Logout revokes the session: the hub cookie replayed fails, and the session's OAuth
        # token is gone from the hub.
        tokens = hub.api("GET", "/users/alice/tokens").json()["api_tokens"]
        c.check("before logout the session holds an OAuth token for alice's server",
                any(t.get("oauth_client") == "jupyterhub-user-alice" and t.get("session_id") for t in tokens), tokens)
        saved = {k: v for k, v in s.cookies.items()}
        r = s.get(hub.url + "/hub/logout", allow_redirects=False, timeout=10)
        c.check("logout redirects to the login page", r.status_code == 302 and r.headers["location"].endswith("/hub/login"), r.status_code)
        replay = requests.get(hub.url + "/hub/home", cookies=saved, allow_redirects=False, timeout=10)
        c.check("the hub login cookie replayed after logout no longer logs in",
                replay.status_code == 302 and "/hub/login" in replay.headers.get("location", ""), replay.status_code)
        replay = requests.get(hub.url + "/hub/api/user", cookies=saved, timeout=10)
        c.check("the replayed cookie gets 403 from the API", replay.status_code == 403, replay.status_code)
        tokens = hub.api("GET", "/users/alice/tokens").json()["api_tokens"]
        c.check("the session's OAuth token was revoked at logout",
                not any(t.get("oauth_client") == "jupyterhub-user-alice" and t.get("session_id") for t in tokens), tokens)
        # Stop through the API: the process and the route go away.
        pids = pids_with(hub.marker)
        r = hub.api("DELETE", "/users/alice/server")
        c.check("DELETE /users/alice/server stops it (204)", r.status_code == 204, r.status_code)
        c.check("no process of the server survives the stop", wait_for(lambda: not any(alive(p) for p in pids), 10), pids)
        r = requests.get(hub.url + "/user/alice/api/status", headers={"Authorization": f"token {token}"}, allow_redirects=False, timeout=10)
        c.check("after the stop /user/alice/ is routed to the hub (302 to /hub/user/alice/...)",
                r.status_code == 302 and r.headers["location"].startswith("/hub/user/alice/"), r.status_code)
        r = requests.get(hub.url + r.headers["location"], headers={"Authorization": f"token {token}"}, timeout=10)
        c.check("/hub/user/alice/api/... answers 424 JSON when the server is not running",
                r.status_code == 424 and "no longer running" in r.json().get("message", ""), r.status_code)
    finally:
        hub.cleanup()


def scenario_failures(oxhub, c):
    """Servers that fail: one whose start never returns, one that exits at once, one that never
    answers. Each ends in a clear failure in the API and on spawn-pending; starting again works."""
    script = os.path.join(tempfile.mkdtemp(prefix="oxhub-e2e-bin-"), "server.sh")
    with open(script, "w") as f:
        f.write(f"""#!/bin/sh
case "$JUPYTERHUB_USER" in
  exits) echo "failing on purpose" >&2; exit 3 ;;
  silent) exec sleep 600 ;;
  *) exec {sys.executable} {TINY_SERVER} ;;
esac
""")
    os.chmod(script, 0o755)
    hook = script + ".hook"
    with open(hook, "w") as f:
        f.write('#!/bin/sh\n[ "$JUPYTERHUB_USER" = hangs ] && exec sleep 600\nexit 0\n')
    os.chmod(hook, 0o755)
    hub = Hub(oxhub, f"c.Spawner.cmd = ['{script}']\nc.Spawner.args = []\nc.Spawner.start_timeout = 2\n"
                     f"c.Spawner.http_timeout = 3\nc.Spawner.pre_spawn_hook = ['{hook}']\n"
                     "c.JupyterHub.last_activity_interval = 1\n")
    try:
        hub.start()
        expected = {"hangs": "start_timeout", "exits": "exited with status 3", "silent": "http_timeout"}
        for user, why in expected.items():
            hub.api("POST", "/users", json={"usernames": [user]})
            r = hub.api("POST", f"/users/{user}/server")
            c.check(f"{user}: the start request fails with 500 and says why", r.status_code == 500 and why in r.json().get("message", ""),
                    f"{r.status_code} {r.text[:200]}")
            model = hub.api("GET", f"/users/{user}").json()["servers"]
            c.check(f"{user}: the API shows no running or pending server", model == {}, model)
            s, r = login(hub, c, user)
            r = s.get(hub.url + f"/hub/spawn-pending/{user}", allow_redirects=False, timeout=10)
            c.check(f"{user}: spawn-pending shows the failure (500)", r.status_code == 500 and why in r.text, r.status_code)
            r = hub.api("POST", f"/users/{user}/server")
            c.check(f"{user}: the user can start again (a new attempt, not 'already pending')",
                    r.status_code == 500 and why in r.json().get("message", ""), f"{r.status_code} {r.text[:200]}")
        c.check("no process of the failed servers survives", wait_for(lambda: not pids_with(hub.marker), 10), pids_with(hub.marker))
        hub.api("POST", "/users", json={"usernames": ["fine"]})
        r = hub.api("POST", "/users/fine/server")
        c.check("a working server still starts on the same hub (201)", r.status_code == 201, r.status_code)
        # Traffic through the proxy becomes the server's last_activity (last_activity_interval = 1).
        requests.get(hub.url + "/user/fine/x", timeout=10)
        seen = wait_for(lambda: hub.api("GET", "/users/fine").json()["servers"].get("", {}).get("last_activity"), 10)
        c.check("the proxy's activity reaches the server's last_activity", bool(seen), seen)
    finally:
        hub.cleanup()


def scenario_restart(oxhub, c):
    """SIGKILL the hub in the middle of 20 concurrent spawns, start it again: every server is
    running and routed, or cleanly stopped; no orphan process, no duplicate."""
    extra = (f"c.Spawner.cmd = ['{sys.executable}', '{TINY_SERVER}']\nc.Spawner.args = []\n"
             "c.JupyterHub.cleanup_servers = False\nc.JupyterHub.concurrent_spawn_limit = 0\n")
    hub = Hub(oxhub, extra)
    users = [f"user{i:02d}" for i in range(20)]
    try:
        hub.start()
        hub.api("POST", "/users", json={"usernames": users})
        threads = [threading.Thread(target=lambda u=u: hub.api("POST", f"/users/{u}/server")) for u in users]
        for t in threads:
            t.start()
        # Kill once some servers run and others are still starting.
        def some_ready():
            try:
                return len(hub.api("GET", "/users?state=ready").json()) >= 3
            except (requests.RequestException, ValueError):
                return False
        wait_for(some_ready, 30, every=0.05)
        hub.stop(signal.SIGKILL)
        for t in threads:
            t.join(30)
        hub.start()
        models = {u["name"]: u for u in hub.api("GET", "/users").json()}
        running = [u for u in users if models[u]["servers"].get("", {}).get("ready")]
        pending = [u for u in users if models[u]["servers"].get("", {}).get("pending")]
        c.check("after the restart no server is left pending", not pending, pending)
        routed = all(
            requests.get(hub.url + f"/user/{u}/x", timeout=10, allow_redirects=False).json().get("user") == u
            for u in running)
        c.check(f"each of the {len(running)} running servers is routed to its own process", routed, running)
        def settled():
            pids = pids_with(hub.marker)
            return pids if len(pids) == len(running) else None
        pids = wait_for(settled, 10) or pids_with(hub.marker)
        owners = []
        for pid in pids:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
            owners.append(env.get(b"JUPYTERHUB_USER", b"").decode())
        c.check("one process per running server: no orphan, no duplicate",
                sorted(owners) == sorted(running), f"processes of {sorted(owners)}, running {sorted(running)}")
        # Everyone can start now.
        for u in users:
            if u not in running:
                hub.api("POST", f"/users/{u}/server")
        models = {u["name"]: u for u in hub.api("GET", "/users").json()}
        c.check("every server can be started after the restart",
                all(models[u]["servers"].get("", {}).get("ready") for u in users),
                [u for u in users if not models[u]["servers"].get("", {}).get("ready")])
    finally:
        hub.cleanup()


def scenario_culler(oxhub, c):
    """jupyterhub-idle-culler as a managed service with the scopes its docs list culls an idle
    server."""
    extra = f"""
c.Spawner.cmd = ['{sys.executable}', '{TINY_SERVER}']
c.Spawner.args = []
c.JupyterHub.load_roles = [{{
    'name': 'jupyterhub-idle-culler-role',
    'scopes': ['list:users', 'read:users:activity', 'read:servers', 'delete:servers'],
    'services': ['idle-culler'],
}}]
c.JupyterHub.services = [{{
    'name': 'idle-culler',
    'command': ['{sys.executable}', '-m', 'jupyterhub_idle_culler', '--timeout=4', '--cull-every=2'],
}}]
"""
    hub = Hub(oxhub, extra)
    try:
        hub.start()
        hub.api("POST", "/users", json={"usernames": ["idle"]})
        r = hub.api("POST", "/users/idle/server")
        c.require("a server starts for the culler to find", r.status_code == 201, r.status_code)
        culled = wait_for(lambda: hub.api("GET", "/users/idle").json()["servers"] == {}, 40, every=1)
        c.check("the idle culler stopped the idle server", culled, hub.tail(15))
        c.check("the culler logged the cull", "Culling server idle" in hub.tail(200), hub.tail(10))
    finally:
        hub.cleanup()


def scenario_options_and_limits(oxhub, c):
    """options_form and user_options, the server environment (limits, JUPYTERHUB_*), named
    servers, and concurrent_spawn_limit."""
    hook = os.path.join(tempfile.mkdtemp(prefix="oxhub-e2e-hook-"), "hook.sh")
    with open(hook, "w") as f:
        f.write('#!/bin/sh\n[ "$JUPYTERHUB_USER" = slow ] && sleep 3\nexit 0\n')
    os.chmod(hook, 0o755)
    extra = (f"c.Spawner.cmd = ['{sys.executable}', '{TINY_SERVER}']\nc.Spawner.args = []\n"
             "c.Spawner.options_form = '<input name=\"flavor\" value=\"small\">'\n"
             "c.Spawner.mem_limit = '1G'\nc.Spawner.cpu_limit = 2\nc.Spawner.default_url = '/lab/{username}'\n"
             f"c.Spawner.pre_spawn_hook = ['{hook}']\n"
             "c.JupyterHub.allow_named_servers = True\nc.JupyterHub.concurrent_spawn_limit = 1\n")
    hub = Hub(oxhub, extra)
    try:
        hub.start()
        s, r = login(hub, c, "opal")
        r = s.get(hub.url + "/hub/spawn", allow_redirects=False, timeout=10)
        c.check("with options_form, /hub/spawn shows the form", r.status_code == 200 and 'name="flavor"' in r.text, r.status_code)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', r.text).group(1)
        r = s.post(hub.url + "/hub/spawn", data={"_xsrf": xsrf, "flavor": "large"}, allow_redirects=False, timeout=30)
        c.check("submitting it starts the server", r.status_code == 302 and "spawn-pending" in r.headers.get("location", ""), r.status_code)
        model = hub.api("GET", "/users/opal").json()["servers"].get("", {})
        c.check("the form's fields become user_options", model.get("user_options") == {"flavor": ["large"]}, model)
        pid = [p for p in pids_with(hub.marker)][0]
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(kv.decode().split("=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
        expected = {
            "MEM_LIMIT": "1073741824", "CPU_LIMIT": "2.0", "JUPYTERHUB_USER": "opal", "JUPYTERHUB_SERVER_NAME": "",
            "JUPYTERHUB_SERVICE_PREFIX": "/user/opal/", "JUPYTERHUB_CLIENT_ID": "jupyterhub-user-opal",
            "JUPYTERHUB_API_URL": f"http://127.0.0.1:{hub.hub_port}/hub/api",
            "JUPYTERHUB_ACTIVITY_URL": f"http://127.0.0.1:{hub.hub_port}/hub/api/users/opal/activity",
            "JUPYTERHUB_OAUTH_CALLBACK_URL": "/user/opal/oauth_callback", "JUPYTERHUB_DEFAULT_URL": "/lab/opal",
        }
        wrong = {k: (env.get(k), v) for k, v in expected.items() if env.get(k) != v}
        c.check("the server's environment is JupyterHub's (limits, URLs, names)", not wrong, wrong)
        # JSON user_options through the API, on a named server.
        r = hub.api("POST", "/users/opal/servers/gpu", json={"user_options": {"gpus": 1}})
        c.check("a named server starts (201)", r.status_code == 201, r.status_code)
        model = hub.api("GET", "/users/opal").json()["servers"].get("gpu", {})
        c.check("its JSON user_options are recorded and its URL is /user/opal/gpu/",
                model.get("user_options") == {"gpus": 1} and model.get("url") == "/user/opal/gpu/", model)
        r = requests.get(hub.url + "/user/opal/gpu/x", headers={"Authorization": f"token {ADMIN_TOKEN}"}, timeout=10)
        c.check("it is routed through the proxy", r.status_code == 200 and r.json().get("path") == "/user/opal/gpu/x", r.status_code)
        r = hub.api("DELETE", "/users/opal/servers/gpu", json={"remove": True})
        c.check("DELETE with remove stops it and removes the record (204)",
                r.status_code == 204 and "gpu" not in hub.api("GET", "/users/opal").json()["servers"], r.status_code)
        # concurrent_spawn_limit = 1: a second start while one is pending is told to come back.
        hub.api("POST", "/users", json={"usernames": ["slow", "other"]})
        t = threading.Thread(target=lambda: hub.api("POST", "/users/slow/server"))
        t.start()
        time.sleep(0.5)
        r = hub.api("POST", "/users/other/server")
        c.check("over concurrent_spawn_limit: 429 with Retry-After", r.status_code == 429 and r.headers.get("Retry-After"), r.status_code)
        t.join(30)
        r = hub.api("POST", "/users/other/server")
        c.check("once the pending spawn is done, the start succeeds", r.status_code == 201, r.status_code)
    finally:
        hub.cleanup()


def scenario_system_user(oxhub, c):
    """LocalProcessSpawner with the hub as root: the server runs as the system user of the same
    name (uid, gid, groups, HOME, working directory)."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        print("# skipped: needs root and useradd", flush=True)
        return
    name = "oxe2e" + uuid.uuid4().hex[:6]
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True)
    # The server script where the new user can read it, run by the system Python.
    bindir = tempfile.mkdtemp(prefix="oxhub-e2e-sys-")
    os.chmod(bindir, 0o755)
    tiny = os.path.join(bindir, "tiny_server.py")
    shutil.copy(TINY_SERVER, tiny)
    os.chmod(tiny, 0o644)
    python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    hub = Hub(oxhub, f"c.JupyterHub.spawner_class = 'localprocess'\nc.Spawner.cmd = ['{python}', '{tiny}']\nc.Spawner.args = []\n")
    try:
        import pwd
        entry = pwd.getpwnam(name)
        hub.start()
        hub.api("POST", "/users", json={"usernames": [name]})
        r = hub.api("POST", f"/users/{name}/server")
        c.require("the server of a system user starts (201)", r.status_code == 201, f"{r.status_code} {r.text[:200]} {hub.tail(5)}")
        pids = pids_with(hub.marker)
        c.require("one server process", len(pids) == 1, pids)
        with open(f"/proc/{pids[0]}/status") as f:
            status = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
        uids = status["Uid"].split()
        gids = status["Gid"].split()
        c.check("it runs as the user's uid and gid (real and effective)",
                uids[0] == uids[1] == str(entry.pw_uid) and gids[0] == gids[1] == str(entry.pw_gid), (uids, gids))
        c.check("no supplementary group of root's is kept", "0" not in status["Groups"].split(), status["Groups"])
        with open(f"/proc/{pids[0]}/environ", "rb") as f:
            env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
        c.check("HOME and USER are the user's", env.get(b"HOME") == entry.pw_dir.encode() and env.get(b"USER") == name.encode(), env.get(b"HOME"))
        c.check("it starts in the user's home", os.readlink(f"/proc/{pids[0]}/cwd") == entry.pw_dir, os.readlink(f"/proc/{pids[0]}/cwd"))
        r = hub.api("DELETE", f"/users/{name}/server")
        c.check("it stops (204) and its process is gone", r.status_code == 204 and wait_for(lambda: not pids_with(hub.marker), 10), r.status_code)
        hub.api("POST", "/users", json={"usernames": ["nosuchsystemuser"]})
        r = hub.api("POST", "/users/nosuchsystemuser/server")
        c.check("a user without a system account fails clearly", r.status_code == 500 and "No system user" in r.json().get("message", ""), r.text[:200])
    finally:
        hub.cleanup()
        subprocess.run(["userdel", "-r", name], stderr=subprocess.DEVNULL)
        shutil.rmtree(bindir, ignore_errors=True)


def scenario_pam_jupyterlab(oxhub, c):
    """PAM, the default authenticator, logs a system user in with the system password and on
    to JupyterLab (spawned by the simple spawner: the venv may not be readable by that user;
    scenario_system_user covers servers run as the user)."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        print("# skipped: needs root and useradd", flush=True)
        return
    name = "oxpam" + uuid.uuid4().hex[:6]
    password = "Pam e2e " + uuid.uuid4().hex[:8]
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True)
    subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
    # PAM's users are the system's: no 'admin' account here, so no admin user or token.
    hub = Hub(oxhub, f"c.JupyterHub.authenticator_class = 'pam'\nc.Authenticator.allowed_users = {{'{name}'}}\n"
                     "c.Authenticator.admin_users = set()\nc.JupyterHub.api_tokens = {}\n"
                     f"c.Spawner.cmd = ['{VENV_BIN}/jupyterhub-singleuser']\nc.Spawner.default_url = '/lab'\n")
    try:
        hub.start()
        c.check("the hub says it uses PAMAuthenticator", "authenticator PAMAuthenticator" in hub.tail(200), hub.tail(5))
        s, r = login(hub, c, name, "not the password")
        c.check("PAM refuses a wrong password (403)", r.status_code == 403, r.status_code)
        s, r = login(hub, c, name, password)
        c.require("PAM accepts the system password (302)", r.status_code == 302, f"{r.status_code} {hub.tail(5)}")
        r = follow(s, hub, s.get(hub.url + "/hub/spawn", allow_redirects=False, timeout=60), pending_wait=120)
        c.require("the OAuth dance ends on the JupyterLab page",
                  r.status_code == 200 and r.url.startswith(hub.url + f"/user/{name}/lab") and "JupyterLab" in r.text,
                  f"{r.status_code} {r.url} {hub.tail(10)}")
        r = s.get(hub.url + f"/user/{name}/api/contents", timeout=10)
        c.check("the server answers with the user's cookies", r.status_code == 200, r.status_code)
    finally:
        hub.cleanup()
        subprocess.run(["userdel", "-r", name], stderr=subprocess.DEVNULL)


def kernel_exec(ws, code, timeout=60):
    """Run `code` on a kernel over its open channels websocket; its stream output, or None
    (or a description of the error) if none came within `timeout` seconds."""
    msg_id = uuid.uuid4().hex
    try:
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "",
                       "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        }))
        deadline = time.time() + timeout
        while time.time() < deadline:
            ws.settimeout(max(0.1, deadline - time.time()))
            m = json.loads(ws.recv())
            if m.get("parent_header", {}).get("msg_id") == msg_id and m.get("msg_type") == "stream":
                return m["content"]["text"]
    except (websocket.WebSocketException, OSError, ValueError) as e:
        return f"<{type(e).__name__}: {e}>"
    return None


def server_model(hub, quoted, name=""):
    """The API model of a user's server (by the URL-quoted user name), {} if none or the hub
    does not answer."""
    try:
        return hub.api("GET", f"/users/{quoted}").json().get("servers", {}).get(name, {})
    except (requests.RequestException, ValueError):
        return {}


def file_mode(path):
    try:
        return oct(os.stat(path).st_mode & 0o777)
    except OSError as e:
        return f"<{e.strerror}>"


def scenario_hub_killed(oxhub, c):
    """Hub killed with kill -9 while its proxy survives; the restarted hub reuses the proxy.
    The proxy keeps serving (an open kernel websocket too) while the hub is down, and the hub,
    started again, adopts it with the token it saved beside the pid file. A stale proxy with
    another token is stopped through its pid file and replaced."""
    try:
        hub_killed_proxy_survives(oxhub, c)
    except Abort as e:
        print(f"# aborted case hub_killed_proxy_survives: {e}", flush=True)
    stale_proxy_replaced(oxhub, c)


def hub_killed_proxy_survives(oxhub, c):
    # Default pid file (jupyterhub-proxy.pid in the hub's cwd), no proxy token configured.
    hub = Hub(oxhub, f"c.Spawner.cmd = ['{VENV_BIN}/jupyterhub-singleuser']\n", pid_file=None, proxy_token=False)
    ws = None
    name = "carol"
    try:
        hub.start()
        token_file = os.path.join(hub.dir, "jupyterhub-proxy.pid.token")
        c.check("the hub keeps the proxy token it generated in jupyterhub-proxy.pid.token, mode 0600",
                file_mode(token_file) == "0o600", file_mode(token_file))
        try:
            with open(token_file) as f:
                saved = f.read().strip()
        except OSError:
            saved = ""
        r = requests.get(f"http://127.0.0.1:{hub.api_port}/api/routes", headers={"Authorization": f"token {saved}"}, timeout=10)
        c.check("the saved token is the one the proxy takes (GET /api/routes: 200)", r.status_code == 200, r.status_code)
        proxy_pid = hub.proxy_pid()
        c.require("jupyterhub-proxy.pid names a live process", bool(proxy_pid) and alive(proxy_pid), proxy_pid)
        ppid = int(proc_stat(proxy_pid)[1])
        c.check("the proxy is the hub's child", ppid == hub.proc.pid, (ppid, hub.proc.pid))
        r = hub.api("POST", f"/users/{name}")
        c.require(f"user {name} is created (201)", r.status_code == 201, f"{r.status_code} {r.text[:200]}")
        r = hub.api("POST", f"/users/{name}/server")
        c.check("its server start is accepted (201 or 202)", r.status_code in (201, 202), f"{r.status_code} {r.text[:200]}")
        c.require("the real jupyterhub-singleuser server becomes ready",
                  wait_for(lambda: server_model(hub, name).get("ready"), 90, every=0.5), hub.tail(15))
        token = hub.api("POST", f"/users/{name}/tokens", json={"note": "e2e"}).json()["token"]
        auth = {"Authorization": f"token {token}"}
        status_url = hub.url + f"/user/{name}/api/status"
        r = requests.post(hub.url + f"/user/{name}/api/kernels", json={"name": "python3"}, headers=auth, timeout=60)
        c.require("a kernel starts through the proxy with the user's token (201)", r.status_code == 201, f"{r.status_code} {r.text[:200]}")
        kernel = r.json()["id"]
        ws = websocket.create_connection(f"ws://127.0.0.1:{hub.port}/user/{name}/api/kernels/{kernel}/channels",
                                         header=[f"Authorization: token {token}"], timeout=60)
        out = kernel_exec(ws, "print(6 * 7)")
        c.require("the kernel websocket through the proxy runs print(6*7) → 42", out == "42\n", out)
        server_pids = sorted(pids_with(hub.marker))

        # The hub dies without any cleanup; its proxy lives on.
        hub.stop(signal.SIGKILL)
        c.check("the hub is gone after SIGKILL", not alive(hub.proc.pid), proc_state(hub.proc.pid))
        c.require("its proxy survives (same pid, alive)", alive(proxy_pid) and hub.proxy_pid() == proxy_pid,
                  (proxy_pid, proc_state(proxy_pid), hub.proxy_pid()))
        c.check("the hub really is down (/hub/health is not 200)", not hub.health())
        r = requests.get(status_url, headers=auth, allow_redirects=False, timeout=10)
        c.check("while the hub is down the proxy serves /user/carol/api/status with the user's token (200)",
                r.status_code == 200 and "started" in r.json(), f"{r.status_code} {r.text[:200]}")
        out = kernel_exec(ws, "print(6 * 7)")
        c.check("while the hub is down the open websocket still runs code (42)", out == "42\n", out)

        # The same hub again, in the same directory.
        offset = os.path.getsize(hub.log_path)
        try:
            hub.start()
        except Abort as e:
            c.require("the restarted hub starts beside the proxy that survived", False, str(e))
        c.check("the restarted hub starts beside the proxy that survived", True)
        log = read_from(hub.log_path, offset)
        c.check("its log says it uses the proxy already running (with its pid)",
                "Using the proxy already running" in log and f"pid {proxy_pid}" in log, log[-2000:])
        c.check("the proxy pid is unchanged and it is alive", hub.proxy_pid() == proxy_pid and alive(proxy_pid),
                (proxy_pid, hub.proxy_pid(), proc_state(proxy_pid)))
        try:
            with open(token_file) as f:
                again = f.read().strip()
        except OSError:
            again = None
        c.check("the token file is still there, mode 0600, with the same token",
                file_mode(token_file) == "0o600" and again == saved, (file_mode(token_file), again == saved))
        out = kernel_exec(ws, "print(6 * 7)")
        c.check("after the restart the same websocket still runs code (42)", out == "42\n", out)
        r = requests.get(status_url, headers=auth, allow_redirects=False, timeout=10)
        c.check("after the restart the server is still routed and answers through the proxy (200)",
                r.status_code == 200 and "started" in r.json(), f"{r.status_code} {r.text[:200]}")
        model = server_model(hub, name)
        c.check("GET /hub/api/users/carol says the server is ready at /user/carol/",
                model.get("ready") is True and model.get("url") == f"/user/{name}/", model)
        c.check("the server was neither restarted nor duplicated (same processes)",
                sorted(pids_with(hub.marker)) == server_pids, (server_pids, sorted(pids_with(hub.marker))))
        routes = hub.api("GET", "/proxy").json()
        c.check("the hub's view of the proxy has the server's route", f"/user/{name}/" in routes, list(routes))
        ws.close()
        ws = None

        # A clean stop takes the proxy and the server with it (cleanup_proxy, cleanup_servers).
        hub.stop(signal.SIGTERM)
        c.check("SIGTERM stops the restarted hub (exit status 0)", hub.proc.returncode == 0, hub.proc.returncode)
        c.check("the proxy it adopted is gone", wait_gone(proxy_pid, 15), proc_state(proxy_pid))
        c.check("the server's processes are gone", wait_for(lambda: not pids_with(hub.marker), 15), pids_with(hub.marker))
        c.check("the token file is removed at the clean stop", not os.path.exists(token_file))
    finally:
        if ws is not None:
            try:
                ws.close()
            except Exception:
                pass
        hub.cleanup()


def stale_proxy_replaced(oxhub, c):
    hub = Hub(oxhub, "", pid_file=None, proxy_token=False)
    stale = None
    try:
        env = dict(os.environ)
        env["CONFIGPROXY_AUTH_TOKEN"] = "other"
        stale = start_logged([oxhub, "proxy", "--ip", "127.0.0.1", "--port", str(hub.port), "--api-ip", "127.0.0.1",
                              "--api-port", str(hub.api_port), "--pid-file", "jupyterhub-proxy.pid"],
                             os.path.join(hub.dir, "stale-proxy.log"), "a", cwd=hub.dir, env=env,
                             stdin=subprocess.DEVNULL)

        def stale_answers():
            return answers_200(f"http://127.0.0.1:{hub.api_port}/api/routes", headers={"Authorization": "token other"})
        c.require("a stale proxy with another token runs on the hub's ports", wait_for(stale_answers, 15), stale.poll())
        c.require("its pid file is jupyterhub-proxy.pid in the hub's directory",
                  wait_for(lambda: hub.proxy_pid() == stale.pid, 5), hub.proxy_pid())
        offset = os.path.getsize(hub.log_path) if os.path.exists(hub.log_path) else 0
        try:
            hub.start()
        except Abort as e:
            c.require("the hub starts although a stale proxy held its ports", False, str(e))
        c.check("the hub starts although a stale proxy held its ports", True)
        c.check("the hub stopped the stale proxy through the pid file", wait_gone(stale.pid, 10),
                proc_state(stale.pid))
        new = hub.proxy_pid()
        c.check("and started its own (another pid, alive)", bool(new) and new != stale.pid and alive(new), (stale.pid, new))
        log_text = read_from(hub.log_path, offset)
        c.check("its log says it stopped the proxy left running",
                f"Stopping the proxy left running at pid {stale.pid}" in log_text, log_text[-2000:])
        r = requests.get(hub.url + "/hub/api/", timeout=10)
        c.check("the hub answers through the new proxy (GET /hub/api/: 200)", r.status_code == 200, r.status_code)
        try:
            r = requests.get(f"http://127.0.0.1:{hub.api_port}/api/routes", headers={"Authorization": "token other"}, timeout=5)
            c.check("the stale token is refused by the new proxy", r.status_code in (401, 403), r.status_code)
        except requests.RequestException as e:
            c.check("the stale token is refused by the new proxy", False, str(e))
    finally:
        hub.cleanup()
        if stale is not None:
            stop_process(stale, signal.SIGKILL, timeout=10)


def scenario_unusual_names(oxhub, c):
    """Servers of users with non-ASCII, space and percent names are reachable through the proxy.
    Users 日本語 (jupyterhub-singleuser), 'a b' and 'a%2Fb' (tiny servers): their routes are
    /user/<quoted>/, route checks leave them alone, and they go away at stop."""
    names = {"日本語": "singleuser", "a b": "tiny", "a%2Fb": "tiny"}
    script = os.path.join(tempfile.mkdtemp(prefix="oxhub-e2e-bin-"), "server.sh")
    with open(script, "w", encoding="utf-8") as f:
        f.write(f"""#!/bin/sh
if [ "$JUPYTERHUB_USER" = "日本語" ]; then exec {VENV_BIN}/jupyterhub-singleuser "$@"; fi
exec {sys.executable} {TINY_SERVER} "$@"
""")
    os.chmod(script, 0o755)
    hub = Hub(oxhub, f"c.Spawner.cmd = ['{script}']\nc.JupyterHub.last_activity_interval = 1\n"
                     "c.ConfigurableHTTPProxy.check_running_interval = 1\n")
    try:
        hub.start()
        started = {}
        for name, kind in names.items():
            q = urllib.parse.quote(name, safe="@~")
            r = hub.api("POST", f"/users/{q}")
            if not c.check(f"{name!r}: POST /hub/api/users/{q} creates the user (201) named {name!r}",
                           r.status_code == 201 and r.json().get("name") == name, f"{r.status_code} {r.text[:300]}"):
                continue
            r = hub.api("POST", f"/users/{q}/server")
            c.check(f"{name!r}: its {kind} server start is accepted (201 or 202)", r.status_code in (201, 202),
                    f"{r.status_code} {r.text[:300]}")
            ready = wait_for(lambda: server_model(hub, q).get("ready"), 90, every=0.5)
            model = server_model(hub, q)
            if not c.check(f"{name!r}: the server is ready at /user/{q}/", ready and model.get("url") == f"/user/{q}/",
                           f"{model} {hub.tail(10)}"):
                continue
            token = hub.api("POST", f"/users/{q}/tokens", json={"note": "e2e"}).json()["token"]
            started[name] = (q, kind, {"Authorization": f"token {token}"})

        def answers(name):
            q, kind, auth = started[name]
            r = requests.get(hub.url + f"/user/{q}/api/status", headers=auth, allow_redirects=False, timeout=10)
            if r.status_code != 200:
                return False, f"{r.status_code} {r.headers.get('location')} {r.text[:200]}"
            if kind == "tiny":
                body = r.json()
                return body.get("server") == "tiny" and body.get("user") == name and \
                    body.get("path") == f"/user/{q}/api/status", body
            if "started" not in r.json():
                return False, r.text[:200]
            r = requests.get(hub.url + f"/user/{q}/api/me", headers=auth, allow_redirects=False, timeout=10)
            ident = r.json().get("identity", {}) if r.status_code == 200 else {}
            return r.status_code == 200 and ident.get("username") == name, f"{r.status_code} {r.text[:200]}"

        for name in started:
            ok, detail = answers(name)
            c.check(f"{name!r}: /user/{started[name][0]}/api/status through the proxy is answered by its own server (200, its user)",
                    ok, detail)

        def our_routes():
            table = hub.api("GET", "/proxy").json()
            return {started[n][0]: (table.get(f"/user/{started[n][0]}/") or {}) for n in started}, table

        before, table = our_routes()
        for name in started:
            q = started[name][0]
            route = before[q]
            c.check(f"{name!r}: GET /hub/api/proxy lists the route /user/{q}/ for that user",
                    route.get("routespec") == f"/user/{q}/" and route.get("data", {}).get("user") == name,
                    list(table))
        # The hub's own loops over a few intervals (check_running_interval and
        # last_activity_interval are 1 s), then explicit route checks (POST /hub/api/proxy):
        # none may find anything to change.
        def checks_logged(since):
            return [line for line in read_from(hub.log_path, since).splitlines() if "proxy routes checked" in line]

        offset = os.path.getsize(hub.log_path)
        time.sleep(3)
        after, table = our_routes()
        c.check("after 3 s of the hub's periodic loops the routes are unchanged", after == before,
                {"before": before, "after": after})
        c.check("the periodic loops changed no route (no 'proxy routes checked' in the log)",
                not checks_logged(offset), checks_logged(offset))
        for i in (1, 2):
            offset = os.path.getsize(hub.log_path)
            r = hub.api("POST", "/proxy")
            c.check(f"POST /hub/api/proxy #{i} answers 200", r.status_code == 200, r.status_code)
            after, table = our_routes()
            c.check(f"after route check #{i} the routes are unchanged (routespec, target, data)", after == before,
                    {"before": before, "after": after})
            c.check(f"route check #{i} added and removed nothing (no 'proxy routes checked' in the log)",
                    not checks_logged(offset),
                    [line for line in read_from(hub.log_path, offset).splitlines() if "/api/routes/" in line or "routes checked" in line])
            for name in started:
                ok, detail = answers(name)
                c.check(f"{name!r}: after route check #{i} its server still answers through the proxy", ok, detail)

        # Stop through the API: the routes go away.
        for name in started:
            q = started[name][0]
            r = hub.api("DELETE", f"/users/{q}/server")
            c.check(f"{name!r}: DELETE /hub/api/users/{q}/server stops it (204 or 202)", r.status_code in (202, 204),
                    f"{r.status_code} {r.text[:200]}")
        c.check("every server is stopped", wait_for(lambda: all(server_model(hub, started[n][0]) == {} for n in started), 30),
                {n: server_model(hub, started[n][0]) for n in started})
        table = hub.api("GET", "/proxy").json()
        for name in started:
            q = started[name][0]
            c.check(f"{name!r}: the route /user/{q}/ is gone", f"/user/{q}/" not in table, list(table))
        c.check("no server process survives", wait_for(lambda: not pids_with(hub.marker), 15), pids_with(hub.marker))
    finally:
        hub.cleanup()


def main():
    oxhub, only = parse_e2e_args()
    c = Checks()
    scenarios = [scenario_jupyterlab, scenario_failures, scenario_restart, scenario_culler, scenario_options_and_limits,
                 scenario_system_user, scenario_pam_jupyterlab, scenario_hub_killed, scenario_unusual_names]
    run_scenarios(c, scenarios, oxhub, only=only)
    sys.exit(c.summary("oxhub-e2e"))


if __name__ == "__main__":
    main()
