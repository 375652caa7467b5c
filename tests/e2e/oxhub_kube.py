#!/usr/bin/env python3
"""End-to-end tests of oxhub's KubeSpawner against the fake Kubernetes API server of
tests/kube/fake_apiserver.py (no real cluster can run here). The fake's kubelet really runs
each pod's `notebook` container as a local process, so the pod here is the real
jupyterhub-singleuser with JupyterLab, reached through the proxy at the pod's IP (127.0.0.x).

What is checked: login → pod created as KubeSpawner creates it → progress from the pod's
events → JupyterLab through the proxy; the PVC; the state; a hub restart finding the running
pod; poll noticing a notebook that exited (and deleting the pod); a profile's overrides on the
created pod; stop deleting the pod with delete_grace_period; a pod that cannot be scheduled
failing at start_timeout with its FailedScheduling event shown, and deleted; an API server
that is down giving a clear error; and that the hub used only the verbs of KubeSpawner's RBAC.

Run with the e2e venv (scripts/e2e-venv.sh):

    .cache/venv-e2e/bin/python tests/e2e/oxhub_kube.py --oxhub target/debug/oxhub

The last line printed is `oxhub-kube: N passed, N failed`.
"""
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "kube"))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))

from common import Checks, free_ports, parse_e2e_args, run_scenarios, wait_for  # noqa: E402
from oxhub_jupyterlab import VENV_BIN, Hub, follow, login, read_progress, server  # noqa: E402
from fake_apiserver import KUBESPAWNER_VERBS, FakeCluster  # noqa: E402

NS = "jhub"


def kube_hub(oxhub, k8s, port, extra=""):
    root = os.geteuid() == 0
    config = f"""
c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'
c.JupyterHub.allow_named_servers = True
c.JupyterHub.cleanup_servers = False
c.KubeSpawner.namespace = '{NS}'
c.KubeSpawner.cmd = ['{VENV_BIN}/jupyterhub-singleuser']
c.KubeSpawner.args = {['--allow-root'] if root else []!r}
c.KubeSpawner.port = {port}
c.KubeSpawner.image = 'quay.io/jupyter/base-notebook:2024-12-02'
c.KubeSpawner.storage_pvc_ensure = True
c.KubeSpawner.storage_capacity = '1Gi'
c.KubeSpawner.volumes = [{{'name': 'home', 'persistentVolumeClaim': {{'claimName': '{{pvc_name}}'}}}}]
c.KubeSpawner.volume_mounts = [{{'name': 'home', 'mountPath': '/home/jovyan'}}]
c.KubeSpawner.extra_labels = {{'hub.jupyter.org/network-access-hub': 'true'}}
c.KubeSpawner.profile_list = [
    {{'display_name': 'Small', 'slug': 'small', 'default': True}},
    {{'display_name': 'Big', 'slug': 'big',
     'kubespawner_override': {{'image': 'quay.io/jupyter/scipy-notebook:2024-12-02',
                              'extra_labels': {{'size': 'big'}},
                              'extra_resource_limits': {{'nvidia.com/gpu': '1'}}}}}},
]
c.Spawner.default_url = '/lab'
c.Spawner.mem_limit = '1G'
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 90
c.Spawner.poll_interval = 1
"""
    return Hub(oxhub, config + extra, env_extra={"KUBECONFIG": k8s.kubeconfig})


def scenario_pod_lifecycle(oxhub, c, k8s):
    """login → pod + PVC → pod events as progress → JupyterLab through the proxy; a hub
    restart keeps the pod; poll notices an exited notebook; a profile; stop deletes the pod."""
    (port,) = free_ports(1)
    hub = kube_hub(oxhub, k8s, port)
    try:
        hub.start()
        s, r = login(hub, c, "alice")
        c.require("login redirects", r.status_code == 302, r.status_code)
        events = []
        r = s.get(hub.url + "/hub/spawn", timeout=30)
        c.check("the spawn page offers the profiles", r.status_code == 200 and 'value="big"' in r.text, r.status_code)
        xsrf = s.cookies.get("_xsrf", path="/hub/")
        answer = {}
        spawner = threading.Thread(target=lambda: answer.setdefault(
            "r", s.post(hub.url + "/hub/spawn", data={"profile": "small", "_xsrf": xsrf},
                        allow_redirects=False, timeout=120)))
        spawner.start()
        wait_for(lambda: server(hub, "alice").get("pending"), 30, every=0.02)
        read_progress(s, hub, "alice", events)
        spawner.join(120)
        r = answer.get("r")
        c.require("/hub/spawn starts the pod", r is not None and r.status_code == 302, r is not None and r.headers)
        pod_events = [e for e in events if "raw_event" in e]
        c.check("the pod's events come through the progress stream with KubeSpawner's percentages",
                [e["progress"] for e in pod_events[:3]] == [30, 50, 63]
                and any("[Normal] Successfully assigned jhub/jupyter-alice to fake-node" in e["message"] for e in pod_events)
                and all(e["raw_event"].get("involvedObject", {}).get("name") == "jupyter-alice" for e in pod_events),
                [(e.get("progress"), e.get("message")) for e in events])
        c.check("the stream ends ready", bool(events) and events[-1].get("ready") is True, events[-1:])
        r = follow(s, hub, r)
        c.require("JupyterLab answers through the proxy at the pod's address",
                  r.status_code == 200 and r.url.startswith(hub.url + "/user/alice/lab") and "JupyterLab" in r.text,
                  f"{r.status_code} {r.url}\n{hub.tail()}")
        pod = k8s.get("pod", NS, "jupyter-alice")
        c.require("the pod exists under KubeSpawner's name", pod is not None, k8s.list("pod", NS))
        labels = pod["metadata"]["labels"]
        c.check("the pod has KubeSpawner's labels and the extra label",
                labels.get("component") == "singleuser-server" and labels.get("hub.jupyter.org/username") == "alice"
                and labels.get("hub.jupyter.org/network-access-hub") == "true", labels)
        nb = pod["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in nb.get("env", [])}
        c.check("the notebook container: cmd + args as args, the server's environment, memory",
                nb["name"] == "notebook" and nb["args"][0].endswith("jupyterhub-singleuser")
                and env.get("JUPYTERHUB_SERVICE_URL") == f"http://0.0.0.0:{port}/user/alice/"
                and env.get("JUPYTERHUB_USER") == "alice" and env.get("MEM_LIMIT") == str(1 << 30)
                and nb["resources"]["limits"].get("memory") in ("1073741824", "1Gi"),
                (nb.get("args"), {k: env.get(k) for k in ("JUPYTERHUB_SERVICE_URL", "MEM_LIMIT")}, nb.get("resources")))
        pvc = k8s.get("persistentvolumeclaim", NS, "claim-alice")
        c.check("the PVC was created with storage_capacity",
                pvc is not None and pvc["spec"]["resources"]["requests"]["storage"] == "1Gi", pvc)
        state = server(hub, "alice").get("state", {})
        c.check("the state is KubeSpawner's", state.get("pod_name") == "jupyter-alice" and state.get("namespace") == NS
                and state.get("pvc_name") == "claim-alice" and state.get("kubespawner_version") == "7.1.0", state)
        uid = pod["metadata"]["uid"]
        # A hub restart (cleanup_servers = False): the pod stays and the hub finds it again.
        hub.stop()
        hub.start()
        c.check("after a hub restart the server is still ready", wait_for(lambda: server(hub, "alice").get("ready"), 30),
                server(hub, "alice"))
        pod = k8s.get("pod", NS, "jupyter-alice")
        c.check("... on the same pod", pod is not None and pod["metadata"]["uid"] == uid, pod and pod["metadata"])
        r = s.get(hub.url + "/user/alice/api/status", timeout=30)
        c.check("... which still answers through the proxy", r.status_code == 200, r.status_code)
        # The notebook exits (code 0): poll reports it and deletes the pod.
        k8s.kill_notebook(NS, "jupyter-alice", 0)
        c.check("poll notices the exited notebook and the server is gone",
                wait_for(lambda: server(hub, "alice") == {}, 30), server(hub, "alice"))
        c.check("... and the pod is deleted (delete_stopped_pods)",
                wait_for(lambda: k8s.get("pod", NS, "jupyter-alice") is None, 30), k8s.get("pod", NS, "jupyter-alice"))
        # A named server with a profile: its overrides are on the pod.
        r = hub.api("POST", "/users/alice/servers/big", json={"profile": "big"})
        c.require("a named server with the 'big' profile starts", r.status_code in (201, 202), f"{r.status_code} {r.text[:300]}")
        c.require("it becomes ready", wait_for(lambda: server(hub, "alice", "big").get("ready"), 90), hub.tail())
        pod = k8s.get("pod", NS, "jupyter-alice--big") or {}
        nb = (pod.get("spec", {}).get("containers") or [{}])[0]
        c.check("the profile's image, labels and GPU limit are on the pod",
                nb.get("image") == "quay.io/jupyter/scipy-notebook:2024-12-02"
                and pod["metadata"]["labels"].get("size") == "big"
                and pod["metadata"]["labels"].get("hub.jupyter.org/network-access-hub") == "true"
                and nb.get("resources", {}).get("limits", {}).get("nvidia.com/gpu") == "1",
                (nb.get("image"), pod.get("metadata", {}).get("labels"), nb.get("resources")))
        c.check("a named server's pod, PVC and servername label",
                pod["metadata"]["labels"].get("hub.jupyter.org/servername") == "big"
                and k8s.get("persistentvolumeclaim", NS, "claim-alice--big") is not None, pod["metadata"]["labels"])
        before = len(k8s.request_log())
        r = hub.api("DELETE", "/users/alice/servers/big")
        c.check("stop succeeds", r.status_code in (202, 204), r.status_code)
        c.check("the pod is gone after the stop", wait_for(lambda: k8s.get("pod", NS, "jupyter-alice--big") is None, 30))
        deletes = [q for q in k8s.request_log()[before:] if q.get("verb") == "delete" and q.get("resource") == "pods"]
        grace = [(q.get("body") or {}).get("gracePeriodSeconds", (q.get("query") or {}).get("gracePeriodSeconds")) for q in deletes]
        c.check("the pod was deleted with delete_grace_period (1 s)", bool(deletes) and str(grace[0]) in ("1", "['1']"), deletes)
        c.check("the PVC stays after the stop", k8s.get("persistentvolumeclaim", NS, "claim-alice--big") is not None)
        # Deleting the named server, then the user, deletes their PVCs (delete_pvc).
        r = hub.api("DELETE", "/users/alice/servers/big", json={"remove": True})
        c.check("the named server is removed", r.status_code == 204, f"{r.status_code} {r.text[:200]}")
        c.check("... and its PVC with it", wait_for(lambda: k8s.get("persistentvolumeclaim", NS, "claim-alice--big") is None, 30),
                k8s.get("persistentvolumeclaim", NS, "claim-alice--big"))
        c.check("the default server's PVC is still there", k8s.get("persistentvolumeclaim", NS, "claim-alice") is not None)
        r = hub.api("DELETE", "/users/alice")
        c.check("alice is deleted", r.status_code == 204, f"{r.status_code} {r.text[:200]}")
        c.check("... and her PVC with her", wait_for(lambda: k8s.get("persistentvolumeclaim", NS, "claim-alice") is None, 30),
                k8s.get("persistentvolumeclaim", NS, "claim-alice"))
    finally:
        hub.cleanup()


def scenario_unschedulable(oxhub, c, k8s):
    """A pod no node can take: the spawn fails at start_timeout with the FailedScheduling
    event shown, and the pod is deleted."""
    (port,) = free_ports(1)
    hub = kube_hub(oxhub, k8s, port, "c.KubeSpawner.node_selector = {'gpu': 'a100'}\nc.Spawner.start_timeout = 6\n")
    try:
        hub.start()
        hub.api("POST", "/users/bob")
        s, r = login(hub, c, "bob")
        events = []
        began = time.time()
        answer = {}
        spawner = threading.Thread(target=lambda: answer.setdefault("r", hub.api("POST", "/users/bob/server")))
        spawner.start()
        wait_for(lambda: server(hub, "bob").get("pending"), 30, every=0.02)
        read_progress(s, hub, "bob", events, timeout=60)
        took = time.time() - began
        spawner.join(60)
        print(f"# the failure as shown: {events[-1:]}", flush=True)
        c.check("the pod stays Pending and the spawn fails after start_timeout",
                bool(events) and events[-1].get("failed") is True and 5 <= took < 40, (took, events[-1:]))
        c.check("the FailedScheduling warning was shown on the way",
                any("[Warning]" in e.get("message", "") and "node(s) didn't match" in json.dumps(e.get("raw_event", {})) + e.get("message", "")
                    or "FailedScheduling" in json.dumps(e.get("raw_event", {})) for e in events),
                [e.get("message") for e in events])
        c.check("the unschedulable pod is deleted after the failure",
                wait_for(lambda: k8s.get("pod", NS, "jupyter-bob") is None, 30), k8s.get("pod", NS, "jupyter-bob"))
        c.check("the server is not left pending", wait_for(lambda: server(hub, "bob") == {}, 30), server(hub, "bob"))
    finally:
        hub.cleanup()


def scenario_api_down(oxhub, c, k8s):
    """An API server that does not answer: the spawn fails with a clear error, nothing hangs."""
    (port, dead) = free_ports(2)
    kubeconfig = os.path.join(os.path.dirname(k8s.kubeconfig), "dead-kubeconfig")
    with open(k8s.kubeconfig) as f:
        text = f.read()
    with open(kubeconfig, "w") as f:
        f.write(text.replace(k8s.url, f"http://127.0.0.1:{dead}"))
    hub = kube_hub(oxhub, k8s, port, "c.Spawner.start_timeout = 5\n")
    hub.env_extra["KUBECONFIG"] = kubeconfig
    try:
        hub.start()
        hub.api("POST", "/users/carol")
        s, r = login(hub, c, "carol")
        events = []
        r = hub.api("POST", "/users/carol/server")
        if r.status_code in (201, 202):
            read_progress(s, hub, "carol", events, timeout=60)
            text = json.dumps(events[-1:])
        else:
            text = r.text
        print(f"# the failure as shown: {text[-300:]}", flush=True)
        c.check("the spawn fails and says the Kubernetes API did not answer",
                "Kubernetes API" in text or "Kubernetes API" in hub.tail(80), text[-400:])
        c.check("the hub itself still answers", hub.health())
        c.check("the server is not left pending", wait_for(lambda: server(hub, "carol") == {}, 40), server(hub, "carol"))
    finally:
        hub.cleanup()


def main():
    oxhub, only = parse_e2e_args()
    c = Checks()
    k8s = FakeCluster(namespace=NS, pod_env_passthrough=("PATH", "LANG"))
    try:
        k8s.start()
        run_scenarios(c, [scenario_pod_lifecycle, scenario_unschedulable, scenario_api_down], oxhub, k8s, only=only,
                      describe=lambda doc: " ".join(doc.split()))
        bad = k8s.disallowed_requests(KUBESPAWNER_VERBS)
        c.check("the hub used only the verbs of KubeSpawner's RBAC (docs/kubernetes.md)", not bad,
                [(q.get("verb"), q.get("resource")) for q in bad][:10])
    finally:
        k8s.stop()
    sys.exit(c.summary("oxhub-kube"))


if __name__ == "__main__":
    main()
