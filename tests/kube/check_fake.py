#!/usr/bin/env python3
"""Drive the REAL jupyterhub-kubespawner 7.1.0 (and its kubernetes_asyncio client) against the fake
Kubernetes API server in fake_apiserver.py, offline, to show the fake behaves like a real API
server and kubelet to a real client.

The hub side is faked (user 'alice', id 1; hub API URL http://127.0.0.1:8081/hub/api, never
contacted), the notebook `cmd` is a tiny Python HTTP server (this interpreter) that binds where
JUPYTERHUB_SERVICE_URL says and answers 200. KubeSpawner finds the fake through KUBECONFIG.

Checked: start() returns http://<podIP>:8888 and the server answers there; progress() yields the
pod's events (Scheduled, Pulling, Pulled, Created, Started) at 30, 50, 63, ...; poll() is None
while running; a clean exit (kill_notebook 0) makes poll() return 0 after KubeSpawner deleted the
pod with grace 0; a crash (exit 1) is restarted (restartPolicy OnFailure) and poll() stays None;
stop() deletes with the 1 s grace period (query parameter and DeleteOptions body) and the process
is gone; a pod whose node_selector matches no node times out (start_timeout 3 s) with its
FailedScheduling event in progress() and runs once the node gets the label; a missing PVC keeps the
pod Pending with FailedScheduling; storage_pvc_ensure creates the PVC (409 on the next fresh
spawner is fine) and delete_forever deletes it; services_enabled creates the Service owned by the
pod, garbage-collected after stop; enable_user_namespaces creates the namespace and watches
cluster-wide; a leftover pod of the same name (409) is deleted and replaced; the client's models
accept every object (client-side validation), a watch from a compacted resourceVersion is a 410, a
request without the token is a 401; and KubeSpawner used only the verbs spawners-beyond.md §1.12
lists.

Usage (from the repository root; the venv from scripts/e2e-venv.sh):
    .cache/venv-e2e/bin/python tests/kube/check_fake.py [-v]
Last line: `check-fake: N passed, M failed`; the exit status is nonzero on any failure.
"""

import asyncio
import json
import logging
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from fake_apiserver import KUBESPAWNER_VERBS, FakeCluster  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
from common import alive  # noqa: E402

# The notebook server: binds to JUPYTERHUB_SERVICE_URL's host:port, answers 200 to any GET,
# exits 0 on SIGTERM, and never lives longer than 120 s.
SERVER_SCRIPT = r"""
import http.server, os, signal, sys, threading, urllib.parse
u = urllib.parse.urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("ok " + os.environ.get("JUPYTERHUB_USER", "") + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        sys.stderr.write("request %s\n" % (a,))
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
threading.Timer(120, lambda: os._exit(3)).start()
print("listening on", u.hostname, u.port, flush=True)
http.server.ThreadingHTTPServer((u.hostname, u.port), H).serve_forever()
"""
PROGRESS = [30, 50, 63, 72, 78, 82, 84, 86, 87, 88, 88, 89]
IMAGE = "quay.io/jupyterhub/singleuser:5.2.1"


class Checks:
    def __init__(self, verbose):
        self.passed = 0
        self.failed = 0
        self.verbose = verbose

    def section(self, label, t0):
        if self.verbose:
            print(f"--- section {label} at {time.monotonic() - t0:.1f} s", flush=True)

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {name}" + (f"  [{detail}]" if self.verbose and detail != "" else ""), flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}  [{detail}]", flush=True)
        return bool(ok)


def make_spawner(**traits):
    from jupyterhub.objects import Server
    from kubespawner import KubeSpawner

    user = SimpleNamespace(name="alice", id=1, url="/user/alice/", escaped_name="alice")
    hub = SimpleNamespace(public_host="", url="http://127.0.0.1:8081/hub/", base_url="/hub/",
                          api_url="http://127.0.0.1:8081/hub/api")
    config = dict(namespace="default", cmd=[sys.executable, "-c", SERVER_SCRIPT], image=IMAGE,
                  start_timeout=15, k8s_api_request_retry_timeout=15)
    config.update(traits)
    sp = KubeSpawner(_mock=True, user=user, hub=hub, **config)
    sp.api_token = "fake-api-token"
    sp.oauth_client_id = "jupyterhub-user-alice"
    sp.server = Server(base_url="/user/alice/")
    sp.db = SimpleNamespace(commit=lambda: None)
    return sp


async def spawn(k8s, sp, timeout=None, progress=True):
    """start() the way the hub does, collecting progress() (when asked); returns
    (url or exception, events)."""
    mark = len(k8s.request_log())
    fut = sp.start()
    events = []

    async def consume():
        # The hub's progress stream is opened by the browser once the spawn is under way; opening
        # it at the same instant as start() would race KubeSpawner's "last event before this
        # spawn" marker (set in _start after the reflectors are up) and replay older events.
        # So wait for the pod create request, which comes after the marker.
        t = time.monotonic()
        while not fut.done() and time.monotonic() - t < 5:
            if any(r["method"] == "POST" and r["resource"] == "pods" for r in k8s.request_log()[mark:]):
                break
            await asyncio.sleep(0.02)
        async for e in sp.progress():
            events.append(e)

    ptask = asyncio.ensure_future(consume() if progress else asyncio.sleep(0))
    try:
        result = await asyncio.wait_for(fut, timeout or sp.start_timeout + 5)
        if isinstance(result, str):
            from urllib.parse import urlparse
            u = urlparse(result)
            sp.server.ip, sp.server.port = u.hostname, u.port
    except Exception as e:  # noqa: BLE001 - a timeout is an expected outcome in some checks
        result = e
    try:
        await asyncio.wait_for(ptask, 5)
    except asyncio.TimeoutError:
        ptask.cancel()
    return result, events


async def http_get(url):
    def get():
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, ""
        except Exception as e:  # noqa: BLE001
            return None, repr(e)
    return await asyncio.to_thread(get)


async def until(pred, timeout=10.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = await pred() if asyncio.iscoroutinefunction(pred) else pred()
        if v or time.monotonic() >= deadline:
            return v
        await asyncio.sleep(interval)


def pod(k8s, ns="default", name="jupyter-alice"):
    return k8s.get("pod", ns, name)


def deletes(k8s, since, resource="pods"):
    return [r for r in k8s.request_log()[since:] if r["method"] == "DELETE" and r["resource"] == resource]


def notebook_status(p):
    for cs in ((p or {}).get("status") or {}).get("containerStatuses") or []:
        if cs["name"] == "notebook":
            return cs
    return {}


async def run(k8s, c):
    t0 = time.monotonic()

    # -- 1. start, progress, poll -----------------------------------------------------------
    c.section("1", t0)
    sp = make_spawner()
    url, events = await spawn(k8s, sp)
    m = re.fullmatch(r"http://(127\.\d+\.\d+\.\d+):8888", url if isinstance(url, str) else "")
    c.check("start() returns http://<podIP>:8888", m, url)
    p = pod(k8s)
    c.check("the URL's host is the pod's status.podIP", m and p and p["status"].get("podIP") == m.group(1),
            p and p["status"].get("podIP"))
    status, text = await http_get(url + "/user/alice/api") if m else (None, "")
    c.check("the notebook process answers at the URL", status == 200 and "ok alice" in text, (status, text))
    reasons = [e.get("raw_event", {}).get("reason") for e in events]
    c.check("progress() yields Scheduled, Pulling, Pulled, Created, Started",
            reasons[:5] == ["Scheduled", "Pulling", "Pulled", "Created", "Started"], reasons)
    c.check("progress values are 30, 50, 63, ...",
            [e.get("progress") for e in events] == PROGRESS[:len(events)] and len(events) >= 5,
            [e.get("progress") for e in events])
    first = events[0]["message"] if events else ""
    c.check("progress message is '<lastTimestamp> [Normal] <message>'",
            re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \[Normal\] Successfully assigned "
                         r"default/jupyter-alice to fake-node", first), first)
    c.check("poll() is None while running", await sp.poll() is None)
    state = sp.get_state()
    c.check("get_state() has pod_name/namespace/dns_name",
            state.get("pod_name") == "jupyter-alice" and state.get("namespace") == "default"
            and state.get("dns_name") == "jupyter-alice.default.svc.cluster.local", state)
    spec = (p or {}).get("spec", {})
    nb = next((x for x in spec.get("containers", []) if x.get("name") == "notebook"), {})
    env = {e["name"]: e.get("value") for e in nb.get("env", [])}
    c.check("the stored pod is KubeSpawner's manifest (labels, args, env, restartPolicy)",
            p and p["metadata"]["labels"].get("component") == "singleuser-server"
            and nb.get("args", [None])[0] == sys.executable and spec.get("restartPolicy") == "OnFailure"
            and env.get("JUPYTERHUB_SERVICE_URL") == "http://0.0.0.0:8888/user/alice/",
            (p or {}).get("metadata", {}).get("labels"))
    log = k8s.pod_log("default", "jupyter-alice")
    c.check("the process saw JUPYTERHUB_SERVICE_URL rewritten to the pod IP (its log)",
            m and f"listening on {m.group(1)} 8888" in log, log[:200])

    # -- 2. clean exit -> poll() returns 0 and KubeSpawner deletes the pod ------------------
    c.section("2", t0)
    pid = k8s.pod_pid("default", "jupyter-alice")
    mark = len(k8s.request_log())
    k8s.kill_notebook("default", "jupyter-alice", 0)
    deadline = time.monotonic() + 10
    code = await sp.poll()
    while code is None and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        code = await sp.poll()
    c.check("after the notebook exits 0, poll() returns 0", code == 0, code)
    c.check("... and the pod is gone", pod(k8s) is None)
    d = deletes(k8s, mark)
    c.check("... deleted by KubeSpawner with gracePeriodSeconds=0 (query and body)",
            d and d[0]["query"].get("gracePeriodSeconds") == "0"
            and (d[0]["body"] or {}).get("gracePeriodSeconds") == 0, d and (d[0]["query"], d[0]["body"]))
    c.check("... and its process is gone", pid and not alive(pid), pid)

    # -- 3. start again; a crash is restarted; stop() ---------------------------------------
    c.section("3", t0)
    sp.clear_state()
    url2, events2 = await spawn(k8s, sp)
    c.check("start() again works (new pod IP)", isinstance(url2, str) and url2 != url, (url, url2))
    c.check("the second spawn's progress starts over at Scheduled/30",
            events2 and events2[0]["raw_event"]["reason"] == "Scheduled" and events2[0]["progress"] == 30,
            [e.get("raw_event", {}).get("reason") for e in events2])
    pid = k8s.pod_pid("default", "jupyter-alice")
    k8s.kill_notebook("default", "jupyter-alice", 1)
    restarted = await until(lambda: (notebook_status(pod(k8s)).get("restartCount", 0) >= 1
                                     and "running" in notebook_status(pod(k8s)).get("state", {})), timeout=8)
    cs = notebook_status(pod(k8s))
    c.check("a crash (exit 1) is restarted: lastState.terminated.exitCode 1, restartCount 1, running",
            restarted and cs["lastState"].get("terminated", {}).get("exitCode") == 1, cs)
    c.check("poll() stays None across the restart", await sp.poll() is None)
    evs = k8s.events_for("default", "jupyter-alice")
    c.check("a Warning BackOff event was recorded",
            any(e["reason"] == "BackOff" and e["type"] == "Warning" for e in evs), [e["reason"] for e in evs])
    ready = await until(lambda: notebook_status(pod(k8s)).get("ready"), timeout=5)
    status = None
    for _ in range(20):  # ready (no readiness probe) comes before the server listens
        status, _ = await http_get(url2 + "/")
        if status == 200:
            break
        await asyncio.sleep(0.1)
    c.check("the restarted server answers again", ready and status == 200, status)
    pid = k8s.pod_pid("default", "jupyter-alice")
    mark = len(k8s.request_log())
    await sp.stop()
    d = deletes(k8s, mark)
    c.check("stop() deletes the pod with gracePeriodSeconds=1 (query and body)",
            d and d[0]["query"].get("gracePeriodSeconds") == "1"
            and (d[0]["body"] or {}).get("gracePeriodSeconds") == 1, d and (d[0]["query"], d[0]["body"]))
    c.check("stop() returns once the pod is gone, process ended", pod(k8s) is None and pid and not alive(pid), pid)
    evs = k8s.events_for("default", "jupyter-alice")
    c.check("the kubelet recorded Killing", any(e["reason"] == "Killing" for e in evs))
    c.check("poll() after stop is 1 (no pod)", await sp.poll() == 1)

    # -- 4. unschedulable: node_selector ----------------------------------------------------
    c.section("4", t0)
    sp.clear_state()
    sp_ns = make_spawner(node_selector={"disktype": "ssd"}, start_timeout=3)
    t = time.monotonic()
    res, events = await spawn(k8s, sp_ns, timeout=8)
    c.check("an unmatched node_selector times out after start_timeout (3 s)",
            isinstance(res, (TimeoutError, asyncio.TimeoutError)) and time.monotonic() - t < 7, repr(res))
    fs = [e for e in events if e.get("raw_event", {}).get("reason") == "FailedScheduling"]
    c.check("the FailedScheduling Warning came through progress()",
            fs and "[Warning]" in fs[0]["message"] and "didn't match Pod's node affinity/selector" in fs[0]["message"],
            [e.get("message") for e in events])
    p = pod(k8s)
    conds = {x["type"]: x for x in (p or {}).get("status", {}).get("conditions", [])}
    c.check("the pod stays Pending with PodScheduled False/Unschedulable",
            p and p["status"]["phase"] == "Pending" and conds.get("PodScheduled", {}).get("reason") == "Unschedulable",
            p and p["status"])
    c.check("poll() of a Pending pod is None", await sp_ns.poll() is None)
    fse = [e for e in k8s.events_for("default", "jupyter-alice") if e["reason"] == "FailedScheduling"]
    c.check("FailedScheduling repeats (count > 1 on the same Event)", fse and fse[-1]["count"] > 1,
            fse and fse[-1]["count"])
    k8s.set_node_labels({"kubernetes.io/hostname": "fake-node", "disktype": "ssd"})
    running = await until(lambda: (pod(k8s) or {}).get("status", {}).get("phase") == "Running", timeout=5)
    c.check("after set_node_labels the pod is scheduled and runs", running)
    await sp_ns.stop()
    k8s.set_node_labels({"kubernetes.io/hostname": "fake-node"})
    c.check("stop() of that pod", pod(k8s) is None)

    # -- 5. a missing PVC keeps the pod Pending ---------------------------------------------
    c.section("5", t0)
    sp_mp = make_spawner(start_timeout=2,
                         volumes=[{"name": "home", "persistentVolumeClaim": {"claimName": "claim-nope"}}],
                         volume_mounts=[{"name": "home", "mountPath": "/home/jovyan"}])
    res, events = await spawn(k8s, sp_mp, timeout=6)
    msgs = [e.get("message", "") for e in events]
    c.check("a pod with a missing PVC times out with FailedScheduling 'persistentvolumeclaim ... not found'",
            isinstance(res, (TimeoutError, asyncio.TimeoutError))
            and any('persistentvolumeclaim "claim-nope" not found' in x for x in msgs), msgs)
    await sp_mp.stop()

    # -- 6. storage_pvc_ensure --------------------------------------------------------------
    c.section("6", t0)
    storage = dict(storage_pvc_ensure=True, storage_capacity="1Gi",
                   volumes=[{"name": "volume-{user_server}", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}],
                   volume_mounts=[{"name": "volume-{user_server}", "mountPath": "/home/jovyan"}])
    sp_pvc = make_spawner(**storage)
    mark = len(k8s.request_log())
    url, _ = await spawn(k8s, sp_pvc, progress=False)
    pvc = k8s.get("pvc", "default", "claim-alice")
    c.check("storage_pvc_ensure creates PVC claim-alice (1Gi, ReadWriteOnce) and the pod runs",
            isinstance(url, str) and pvc and pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
            and pvc["spec"]["accessModes"] == ["ReadWriteOnce"], (url, pvc and pvc["spec"]))
    c.check("the PVC is Bound, labelled component=singleuser-storage",
            pvc and pvc["status"]["phase"] == "Bound" and pvc["metadata"]["labels"].get("component") == "singleuser-storage",
            pvc and (pvc["status"], pvc["metadata"].get("labels")))
    c.check("state remembers pvc_name", sp_pvc.get_state().get("pvc_name") == "claim-alice", sp_pvc.get_state())
    posts = [r for r in k8s.request_log()[mark:] if r["resource"] == "persistentvolumeclaims"]
    c.check("the PVC came from POST .../persistentvolumeclaims (201)",
            [(r["verb"], r["code"]) for r in posts] == [("create", 201)], [(r["verb"], r["code"]) for r in posts])
    await sp_pvc.stop()
    c.check("stop() keeps the PVC", k8s.get("pvc", "default", "claim-alice") is not None)
    sp_pvc2 = make_spawner(**storage)   # fresh state: creates again, gets 409, carries on
    mark = len(k8s.request_log())
    url, _ = await spawn(k8s, sp_pvc2, progress=False)
    posts = [(r["verb"], r["code"]) for r in k8s.request_log()[mark:] if r["resource"] == "persistentvolumeclaims"]
    c.check("a fresh spawner's PVC create gets 409 AlreadyExists and starts anyway",
            isinstance(url, str) and posts == [("create", 409)], (url, posts))
    await sp_pvc2.stop()
    await sp_pvc2.delete_forever()
    gone = await until(lambda: k8s.get("pvc", "default", "claim-alice") is None, timeout=3)
    c.check("delete_forever() deletes the PVC", gone)

    # -- 7. services_enabled ----------------------------------------------------------------
    c.section("7", t0)
    sp_svc = make_spawner(services_enabled=True)
    mark = len(k8s.request_log())
    url, _ = await spawn(k8s, sp_svc, progress=False)
    c.check("services_enabled: start() returns the Service DNS URL",
            url == "http://jupyter-alice.default.svc.cluster.local:8888", url)
    svc = k8s.get("svc", "default", "jupyter-alice")
    p = pod(k8s)
    refs = (svc or {}).get("metadata", {}).get("ownerReferences") or []
    c.check("the Service is owned by the pod (ownerReferences uid, kind Pod, blockOwnerDeletion)",
            p and refs and refs[0].get("uid") == p["metadata"]["uid"] and refs[0].get("kind") == "Pod"
            and refs[0].get("blockOwnerDeletion") is True, refs)
    c.check("the Service selects the pod's labels, port 8888, has a clusterIP",
            svc and all(p["metadata"]["labels"].get(k) == v for k, v in svc["spec"]["selector"].items())
            and svc["spec"]["ports"][0]["port"] == 8888 and svc["spec"].get("clusterIP"), svc and svc["spec"])
    svc_reqs = [(r["verb"], r["code"]) for r in k8s.request_log()[mark:] if r["resource"] == "services"]
    c.check("KubeSpawner deleted any old Service (404) then created it (201)",
            svc_reqs == [("delete", 404), ("create", 201)], svc_reqs)
    await sp_svc.stop()
    gone = await until(lambda: k8s.get("svc", "default", "jupyter-alice") is None, timeout=3)
    c.check("the garbage collector removes the Service after the pod", gone)

    # -- 8. enable_user_namespaces ----------------------------------------------------------
    c.section("8", t0)
    sp_un = make_spawner(enable_user_namespaces=True)
    mark = len(k8s.request_log())
    url, events = await spawn(k8s, sp_un)
    c.check("enable_user_namespaces: namespace user-alice created, pod runs there",
            isinstance(url, str) and k8s.get("namespace", None, "user-alice") is not None
            and pod(k8s, "user-alice") is not None, url)
    paths = {(r["method"], r["path"]) for r in k8s.request_log()[mark:]}
    c.check("... watching pods and events cluster-wide (/api/v1/pods, /api/v1/events)",
            ("GET", "/api/v1/pods") in paths and ("GET", "/api/v1/events") in paths, sorted(paths))
    c.check("... with progress", events and events[0]["raw_event"]["involvedObject"]["namespace"] == "user-alice")
    await sp_un.stop()
    c.check("... and stop()", pod(k8s, "user-alice") is None)

    # -- 9. 409 on pod create: KubeSpawner deletes the leftover and retries -----------------
    c.section("9", t0)
    k8s.create("pod", {"metadata": {"name": "jupyter-alice", "labels": {"component": "singleuser-server"}},
                       "spec": {"containers": [{"name": "leftover", "image": "busybox"}]}}, "default")
    await until(lambda: (pod(k8s) or {}).get("status", {}).get("phase") == "Running", timeout=5)
    sp9 = make_spawner()
    mark = len(k8s.request_log())
    url, _ = await spawn(k8s, sp9, progress=False)
    seq = [(r["verb"], r["code"], r["query"].get("gracePeriodSeconds")) for r in k8s.request_log()[mark:]
           if r["resource"] == "pods" and r["verb"] in ("create", "delete")]
    c.check("a leftover pod: create 409 -> delete grace 0 -> create 201",
            isinstance(url, str) and seq[:3] == [("create", 409, None), ("delete", 200, "0"), ("create", 201, None)],
            seq)
    await sp9.stop()

    # the verbs KubeSpawner itself used (the checks below make their own requests)
    spawner_requests = k8s.request_log()

    # -- 10. the client library's own view ---------------------------------------------------
    c.section("10", t0)
    from kubernetes_asyncio import client, watch
    api = client.CoreV1Api()
    try:
        sp10 = make_spawner(extra_containers=[{"name": "sidecar", "image": "busybox:1.36",
                                                "resources": {"limits": {"cpu": 0.25, "memory": 2 ** 27}}}],
                            init_containers=[{"name": "init", "image": "busybox:1.36"}],
                            mem_limit="1G", cpu_limit=0.5)
        url, _ = await spawn(k8s, sp10, progress=False)
        c.check("a pod with an init container and a sidecar runs (all containers ready)", isinstance(url, str), url)
        ok = True
        detail = ""
        try:
            await api.list_namespaced_pod("default")
            await api.list_pod_for_all_namespaces()
            await api.list_namespaced_event("default")
            await api.list_namespaced_service("default")
            await api.list_namespaced_persistent_volume_claim("default")
            await api.list_namespace()
            await api.list_node()
            await api.read_namespaced_pod("jupyter-alice", "default")
            await api.read_node("fake-node")
        except Exception as e:  # noqa: BLE001
            ok, detail = False, repr(e)[:300]
        c.check("kubernetes_asyncio's models accept every list and object (client-side validation)", ok, detail)
        p = await api.read_namespaced_pod("jupyter-alice", "default")
        res = {x.name: x.resources.limits for x in p.spec.containers}
        c.check("numeric quantities come back as canonical strings",
                res.get("notebook", {}).get("memory") == "1073741824" and res.get("notebook", {}).get("cpu") == "500m"
                and res.get("sidecar", {}).get("cpu") == "250m", res)
        inits = p.status.init_container_statuses or []
        c.check("init container simulated as completed",
                inits and inits[0].state.terminated and inits[0].state.terminated.reason == "Completed")
        logtxt = await api.read_namespaced_pod_log("jupyter-alice", "default", container="notebook")
        c.check("pods/log serves the notebook's output", "listening on" in logtxt, logtxt[:100])
        lst = await api.list_namespaced_pod("default")
        w = watch.Watch()
        got = []
        async for ev in w.stream(api.list_namespaced_pod, "default", resource_version="1", timeout_seconds=5):
            got.append((ev["type"], type(ev["object"]).__name__))
            if ev["type"] == "DELETED":
                break
        await w.close()
        c.check("a watch from an old resourceVersion replays the history as V1Pod objects",
                got and got[0] == ("ADDED", "V1Pod") and ("DELETED", "V1Pod") in got, got[:5])
        k8s.compact()
        try:
            w = watch.Watch()
            old = str(int(lst.metadata.resource_version) - 1)
            async for ev in w.stream(api.list_namespaced_pod, "default", resource_version=old, timeout_seconds=2):
                pass
            c.check("a watch from a compacted resourceVersion is a 410", False, "no error")
        except client.ApiException as e:
            c.check("a watch from a compacted resourceVersion is a 410", e.status == 410, e.status)
        await sp10.stop()
    finally:
        await api.api_client.close()
    req = urllib.request.Request(k8s.url + "/api/v1/namespaces/default/pods")
    try:
        urllib.request.urlopen(req, timeout=3)
        code, body = 200, {}
    except urllib.error.HTTPError as e:
        code, body = e.code, json.loads(e.read() or b"{}")
    c.check("no token: 401 with a Status object", code == 401 and body.get("kind") == "Status", (code, body))

    # -- 11. verbs ---------------------------------------------------------------------------
    c.section("11", t0)
    bad = [r for r in spawner_requests
           if r["resource"] and r["verb"] not in KUBESPAWNER_VERBS.get(r["resource"], set())]
    c.check("KubeSpawner used only the verbs of spawners-beyond.md §1.12",
            not bad, sorted({(r["resource"], r["verb"]) for r in bad}))
    used = sorted({(r["resource"], r["verb"]) for r in spawner_requests if r["resource"]})
    c.check("no update/patch was ever used", not any(v in ("update", "patch") for _, v in used), used)
    if c.verbose:
        print("verbs KubeSpawner used:", used)
        qs = sorted({(r["method"], r["resource"], r["verb"], json.dumps(r["query"], sort_keys=True),
                      json.dumps(r["body"], sort_keys=True) if r["method"] == "DELETE" else "")
                     for r in spawner_requests if r["resource"]})
        for q in qs:
            print("  ", q)
    c.check("all of it well under 30 s", time.monotonic() - t0 < 30, round(time.monotonic() - t0, 1))
    c.check("no pod process is left running", await until(lambda: not k8s.pids(), timeout=3), k8s.pids())


def protocol_checks(c, t0):
    """The wire details kube-rs relies on, with raw HTTP/1.1 on one keep-alive connection (as
    hyper does), against a second fake with short watch caps."""
    import http.client

    k8s = FakeCluster(max_watch_seconds=1, bookmark_interval=0.3, kubelet_step=0.02, pull_delay=0.02).start()
    conn = http.client.HTTPConnection("127.0.0.1", k8s.port, timeout=10)
    auth = {"Authorization": f"Bearer {k8s.token}", "Content-Type": "application/json"}

    def req(method, path, body=None):
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=auth)
        r = conn.getresponse()
        data = r.read()
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, data

    def stream(path, limit_s=5, until=None):
        """Read a watch; with `until`, stop at the first event it accepts and drop the connection
        (http.client opens a new one for the next request)."""
        conn.request("GET", path, headers=auth)
        r = conn.getresponse()
        out, t = [], time.monotonic()
        while time.monotonic() - t < limit_s:
            line = r.readline()
            if not line:
                break
            out.append(json.loads(line))
            if until is not None and until(out[-1]):
                conn.close()
                return r.status, out, time.monotonic() - t
        r.read()
        return r.status, out, time.monotonic() - t

    try:
        code, lst = req("GET", "/api/v1/namespaces/default/pods?&limit=500&resourceVersion=0"
                               "&resourceVersionMatch=NotOlderThan")
        c.check("raw: kube-rs initial list -> PodList with metadata.resourceVersion, no continue",
                code == 200 and lst.get("kind") == "PodList" and lst["metadata"].get("resourceVersion")
                and "continue" not in lst["metadata"], (code, lst))
        rv0 = lst["metadata"]["resourceVersion"]
        for name, app in (("p1", "a"), ("p2", "b"), ("p3", None)):
            meta = {"name": name, "labels": {"app": app} if app else {}}
            code, _ = req("POST", "/api/v1/namespaces/default/pods?",
                          {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                           "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}})
        code, st = req("POST", "/api/v1/namespaces/default/pods?",
                       {"metadata": {"name": "p1"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
        c.check("raw: create of an existing name -> 409 AlreadyExists Status",
                code == 409 and st.get("reason") == "AlreadyExists" and st.get("details", {}).get("name") == "p1", st)
        code, st = req("POST", "/api/v1/namespaces/default/pods?", {"metadata": {}, "spec": {}})
        c.check("raw: create without a name -> 422 Invalid", code == 422 and st.get("reason") == "Invalid", st)
        code, st = req("POST", "/api/v1/namespaces/nope/pods?",
                       {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})
        c.check("raw: create in a missing namespace -> 404", code == 404 and st.get("reason") == "NotFound", st)
        code, page1 = req("GET", "/api/v1/namespaces/default/pods?&limit=2")
        tok = page1.get("metadata", {}).get("continue")
        code2, page2 = req("GET", "/api/v1/namespaces/default/pods?&limit=2&continue=" + urllib.parse.quote(tok or ""))
        c.check("raw: limit/continue pages (2 + 1, same resourceVersion)",
                [i["metadata"]["name"] for i in page1.get("items", [])] == ["p1", "p2"] and tok
                and [i["metadata"]["name"] for i in page2.get("items", [])] == ["p3"]
                and "continue" not in page2["metadata"]
                and page2["metadata"]["resourceVersion"] == page1["metadata"]["resourceVersion"], (page1.get("metadata"), page2.get("metadata")))

        def names(sel):
            _, l = req("GET", "/api/v1/namespaces/default/pods?labelSelector=" + urllib.parse.quote(sel))
            return [i["metadata"]["name"] for i in l.get("items", [])]
        sels = {"app=a": ["p1"], "app==a": ["p1"], "app!=a": ["p2", "p3"], "app": ["p1", "p2"], "!app": ["p3"],
                "app in (a,b)": ["p1", "p2"], "app notin (a)": ["p2", "p3"], "app=a,app!=b": ["p1"]}
        got = {k: names(k) for k in sels}
        c.check("raw: labelSelector = == != exists !exists in notin and ,", got == sels, got)
        _, l = req("GET", "/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dp2")
        code, st = req("GET", "/api/v1/namespaces/default/pods?fieldSelector=spec.foo%3Dbar")
        c.check("raw: fieldSelector metadata.name=p2; an unsupported field -> 400",
                [i["metadata"]["name"] for i in l["items"]] == ["p2"] and code == 400, (l["items"][:1], code))
        code, out, dt = stream(f"/api/v1/namespaces/default/pods?&watch=true&timeoutSeconds=290"
                               f"&allowWatchBookmarks=true&resourceVersion={rv0}")
        types = [e["type"] for e in out]
        c.check("raw: kube-rs watch replays after the RV (ADDED p1..p3, MODIFIED), sends BOOKMARKs, "
                "ends at the 1 s cap (timeoutSeconds=290 asked)",
                code == 200 and [e["object"]["metadata"]["name"] for e in out if e["type"] == "ADDED"] == ["p1", "p2", "p3"]
                and "MODIFIED" in types and types[-1] == "BOOKMARK"
                and [int(e["object"]["metadata"]["resourceVersion"]) for e in out if e["type"] != "BOOKMARK"]
                == sorted(int(e["object"]["metadata"]["resourceVersion"]) for e in out if e["type"] != "BOOKMARK")
                and all(e["object"]["metadata"].get("resourceVersion") for e in out) and 0.9 < dt < 3,
                (types, round(dt, 2)))
        code, out2, _ = stream(f"/api/v1/namespaces/default/pods?&watch=true&timeoutSeconds=1"
                               f"&fieldSelector=status.phase%3DRunning&resourceVersion={rv0}",
                               until=lambda e: e["object"]["metadata"]["name"] == "p3")
        c.check("raw: a fieldSelector watch sees a pod entering the selection as ADDED (status.phase=Running)",
                [(e["type"], e["object"]["metadata"]["name"]) for e in out2][:3]
                == [("ADDED", "p1"), ("ADDED", "p2"), ("ADDED", "p3")]
                and all(e["object"]["status"]["phase"] == "Running" for e in out2),
                [(e["type"], e["object"]["metadata"]["name"]) for e in out2])
        bm = [e["object"] for e in out if e["type"] == "BOOKMARK"]
        c.check("raw: BOOKMARK objects are {kind, apiVersion, metadata.resourceVersion}",
                bm and bm[0].get("kind") == "Pod" and bm[0].get("apiVersion") == "v1", bm[:1])
        code, v = req("GET", "/version")
        c.check("raw: the keep-alive connection is reusable after a chunked watch",
                code == 200 and v.get("major") and conn.sock is not None, v)
        code, out, _ = stream("/api/v1/namespaces/default/pods?&watch=true&timeoutSeconds=1&allowWatchBookmarks=true"
                              "&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=",
                              until=lambda e: e["type"] == "BOOKMARK")
        types = [e["type"] for e in out]
        ie = [e for e in out if e["type"] == "BOOKMARK"
              and e["object"]["metadata"].get("annotations", {}).get("k8s.io/initial-events-end") == "true"]
        c.check("raw: sendInitialEvents -> ADDED x3 then the initial-events-end BOOKMARK",
                types[:4] == ["ADDED"] * 3 + ["BOOKMARK"] and ie, types)
        code, out, _ = stream("/api/v1/watch/namespaces/default/pods/p2?timeoutSeconds=1",
                              until=lambda e: e["type"] == "ADDED")
        c.check("raw: /api/v1/watch/.../pods/<name> watches just that pod",
                out and {e["object"]["metadata"]["name"] for e in out} == {"p2"}, [e["type"] for e in out])
        code, d = req("DELETE", "/api/v1/namespaces/default/pods/p1?", {})
        c.check("raw: DELETE pod (kube-rs DeleteParams {}) -> 200 Pod with deletionTimestamp (default grace 30)",
                code == 200 and d.get("kind") == "Pod" and d["metadata"].get("deletionGracePeriodSeconds") == 30, d.get("metadata"))
        gone = k8s.wait_for(lambda: k8s.get("pod", "default", "p1") is None, timeout=3)
        c.check("raw: ... and it disappears once its (simulated) containers stopped", gone)
        code, _ = req("POST", "/api/v1/namespaces/default/services?",
                      {"metadata": {"name": "s1"}, "spec": {"ports": [{"port": 80}]}})
        code, d = req("DELETE", "/api/v1/namespaces/default/services/s1?", {})
        c.check("raw: DELETE service -> 200 Status Success with details", code == 200 and d.get("kind") == "Status"
                and d.get("status") == "Success" and d.get("details", {}).get("name") == "s1", d)
        code, l = req("GET", "/api/v1/events?fieldSelector=involvedObject.kind%3DPod%2CinvolvedObject.name%3Dp2")
        c.check("raw: all-namespaces events with involvedObject.kind=Pod,involvedObject.name=p2",
                code == 200 and l["items"] and all(e["involvedObject"]["name"] == "p2" for e in l["items"])
                and l["items"][0]["reason"] == "Scheduled", [e.get("reason") for e in l.get("items", [])])
        k8s.compact()
        code, out, _ = stream(f"/api/v1/namespaces/default/pods?&watch=true&timeoutSeconds=290&resourceVersion={rv0}")
        c.check("raw: watch from a compacted RV -> one ERROR event with a 410 Expired Status",
                len(out) == 1 and out[0]["type"] == "ERROR" and out[0]["object"].get("code") == 410
                and out[0]["object"].get("reason") == "Expired", out)
        code, st = req("GET", "/api/v1/namespaces/default/pods/nope")
        c.check("raw: GET a missing pod -> 404 NotFound Status", code == 404 and st.get("kind") == "Status"
                and st.get("reason") == "NotFound", st)
    finally:
        conn.close()
        k8s.stop()


def main():
    verbose = "-v" in sys.argv[1:]
    logging.basicConfig(level=logging.DEBUG if os.environ.get("CHECK_FAKE_DEBUG") else logging.CRITICAL)
    c = Checks(verbose)
    t0 = time.monotonic()
    # half the default kubelet delays, to keep the whole run short
    k8s = FakeCluster(kubelet_step=0.05, pull_delay=0.1).start()
    # KubeSpawner's load_config tries the in-cluster config first, then $KUBECONFIG (read when
    # kubernetes_asyncio is imported, so set it before anything imports kubespawner).
    os.environ.pop("KUBERNETES_SERVICE_HOST", None)
    os.environ["KUBECONFIG"] = k8s.kubeconfig

    async def top():
        try:
            await asyncio.wait_for(run(k8s, c), 60)
        finally:
            try:
                from kubespawner import KubeSpawner
                await asyncio.wait_for(KubeSpawner._stop_all_reflectors(), 10)
            except Exception:  # noqa: BLE001
                pass

    try:
        asyncio.run(top())
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        c.check("the run completed", False, repr(e))
    finally:
        k8s.stop()
    try:
        c.section("12 (wire level)", t0)
        protocol_checks(c, t0)
        c.section("end", t0)
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        c.check("the wire-level checks completed", False, repr(e))
    print(f"check-fake: {c.passed} passed, {c.failed} failed", flush=True)
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
