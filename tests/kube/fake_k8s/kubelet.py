"""The fake kubelet (KubeletMixin of FakeCluster): one thread per pod runs it through scheduling
(scheduler.py), container creation and processes, readiness probes, restarts with backoff,
graceful deletion and termination, and writes the pod status."""

import base64
import copy
import hashlib
import os
import re
import secrets as _secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

from .objects import _qos_class, not_found, rfc3339


def expand_refs(s, env):
    """The kubelet's $(VAR) expansion: defined names are replaced, $$ is a literal $."""
    if not isinstance(s, str) or "$" not in s:
        return s
    out, i, n = [], 0, len(s)
    while i < n:
        if s.startswith("$$", i):
            out.append("$")
            i += 2
        elif s.startswith("$(", i):
            j = s.find(")", i + 2)
            if j < 0:
                out.append(s[i:])
                break
            name = s[i + 2:j]
            out.append(env[name] if name in env else s[i:j + 1])
            i = j + 1
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def _image_id(image):
    digest = hashlib.sha256(image.encode()).hexdigest()
    return f"{image.rsplit(':', 1)[0] if ':' in image.split('/')[-1] else image}@sha256:{digest}"


def _with_host(url, host):
    parts = urllib.parse.urlsplit(url)
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _signal_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            proc.send_signal(sig)
        except (ProcessLookupError, OSError):
            pass


class _Ctr:
    """Kubelet-side state of one container."""

    def __init__(self, spec, executed, log_path, init=False):
        self.spec = spec
        self.name = spec.get("name", "")
        self.image = spec.get("image", "")
        self.executed = executed
        self.init = init
        self.log_path = log_path
        self.proc = None
        self.log_file = None
        self.state = {"waiting": {"reason": "ContainerCreating"}}
        self.last_state = {}
        self.ready = False
        self.started = False
        self.restart_count = 0
        self.forced_code = None
        self.container_id = None
        self.started_at = None
        self.restart_at = None
        self.backoff = None
        self.created = False
        self.probe_next = 0.0

    def running(self):
        return "running" in self.state

    def terminated(self):
        return "terminated" in self.state

    def status(self):
        st = {"name": self.name, "image": self.image,
              "imageID": _image_id(self.image) if self.created else "",
              "ready": self.ready, "restartCount": self.restart_count, "started": self.started,
              "state": copy.deepcopy(self.state), "lastState": copy.deepcopy(self.last_state)}
        if self.container_id:
            st["containerID"] = self.container_id
        return st


class _PodRT:
    """Kubelet-side state of one pod (keyed by uid: a same-named successor is another pod)."""

    def __init__(self, ns, name, uid, directory):
        self.ns, self.name, self.uid = ns, name, uid
        self.dir = directory
        self.home = os.path.join(directory, "home")
        self.ip = None
        self.scheduled = False
        self.sandbox = False
        self.initialized = False
        self.containers_started = False
        self.start_time = None
        self.init_ctrs = []
        self.ctrs = []
        self.cond_times = {}
        self.sched_message = None
        self.deadline = None        # monotonic deadline of a graceful deletion
        self.grace = None
        self.thread = None
        self.done = threading.Event()
        self.created_mono = time.monotonic()


class KubeletMixin:
    """The fake kubelet (FakeCluster's)."""

    # -- kubelet -------------------------------------------------------------------------

    def _kubelet_admit(self, ns, obj):
        """A pod was created: set up its kubelet state and start its kubelet thread."""
        meta = obj["metadata"]
        d = os.path.join(self.workdir, "pods", f"{ns}_{meta['name']}_{meta['uid'][:8]}")
        rt = _PodRT(ns, meta["name"], meta["uid"], d)
        spec = obj["spec"]
        for c in spec.get("initContainers") or []:
            rt.init_ctrs.append(_Ctr(c, False, None, init=True))
        for c in spec.get("containers") or []:
            rt.ctrs.append(_Ctr(c, c.get("name") in self.exec_containers,
                                os.path.join(d, f"{c.get('name')}.log")))
        self._pods[meta["uid"]] = rt
        rt.thread = threading.Thread(target=self._kubelet_main, args=(rt,),
                                     name=f"kubelet-{meta['name']}", daemon=True)
        rt.thread.start()

    def _delete_pod(self, ns, name, grace, opts):
        cur = self._objects.get(("pods", ns, name))
        if cur is None:
            raise not_found("pods", name)
        spec, st = cur.get("spec") or {}, cur.get("status") or {}
        if grace is None:
            grace = int(spec.get("terminationGracePeriodSeconds", 30))
        grace = max(0, grace)
        immediate = (grace == 0 or not spec.get("nodeName")
                     or st.get("phase") in ("Succeeded", "Failed"))
        if immediate:
            gone = self._store_remove("pods", ns, name, orphan=opts.get("orphan", False))
            return gone
        deadline = time.time() + grace
        old = cur["metadata"].get("deletionTimestamp")

        def mutate(p):
            m = p["metadata"]
            if old is None or grace < (m.get("deletionGracePeriodSeconds") or 0):
                m["deletionTimestamp"] = rfc3339(deadline)
                m["deletionGracePeriodSeconds"] = grace
        rt = self._pods.get(cur["metadata"]["uid"])
        if rt is not None and (rt.grace is None or grace < rt.grace):
            rt.deadline = time.monotonic() + grace
            rt.grace = grace
        return self._store_update("pods", ns, name, mutate)

    def _pod_now(self, rt):
        pod = self._objects.get(("pods", rt.ns, rt.name))
        if pod is None or pod["metadata"]["uid"] != rt.uid:
            return None
        return pod

    def _deleting(self, rt):
        if self._stopping:
            return True
        pod = self._pod_now(rt)
        return pod is None or "deletionTimestamp" in pod["metadata"]

    def _wait(self, rt, seconds):
        """Sleep `seconds` unless the pod is deleted meanwhile; True if it is still alive."""
        deadline = time.monotonic() + seconds
        with self._cond:
            while True:
                if self._deleting(rt):
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return True
                self._cond.wait(min(left, 0.05))

    def _kubelet_main(self, rt):
        try:
            self._kubelet_run(rt)   # returns once the pod is deleted (or the fake stops)
            self._terminate(rt)
        except Exception:
            traceback.print_exc()
        finally:
            self._kill_rt(rt, 0)
            rt.done.set()

    def _kubelet_run(self, rt):
        if not self._schedule(rt):
            return
        os.makedirs(rt.home, exist_ok=True)
        with self._lock:
            pod = self._pod_now(rt)
            if pod is None:
                return
            ports = [p.get("containerPort") for c in pod["spec"].get("containers") or []
                     if c.get("name") in self.exec_containers for p in c.get("ports") or []]
        rt.ip = self._alloc_ip([p for p in ports if isinstance(p, int)])
        rt.sandbox = True
        rt.start_time = rfc3339()
        for c in rt.init_ctrs + rt.ctrs:
            c.state = {"waiting": {"reason": "PodInitializing" if rt.init_ctrs and not c.init else "ContainerCreating"}}
        self._sync_status(rt)
        if not self._wait(rt, self.kubelet_step):
            return
        if not self._wait_volumes(rt):
            return
        for c in rt.init_ctrs:
            self._pod_event(rt, "Pulled", f'Container image "{c.image}" already present on machine', ctr=c)
            c.created = True
            c.container_id = "containerd://" + _secrets.token_hex(32)
            self._pod_event(rt, "Created", f"Created container: {c.name}", ctr=c)
            now = rfc3339()
            c.state = {"running": {"startedAt": now}}
            self._pod_event(rt, "Started", f"Started container {c.name}", ctr=c)
            self._sync_status(rt)
            if not self._wait(rt, self.kubelet_step):
                return
            c.state = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now,
                                      "finishedAt": rfc3339(), "containerID": c.container_id}}
            c.ready = True
            self._sync_status(rt)
        rt.initialized = True
        for c in rt.ctrs:
            c.state = {"waiting": {"reason": "ContainerCreating"}}
        self._sync_status(rt)
        for i, c in enumerate(rt.ctrs):
            if c.executed:
                self._pod_event(rt, "Pulling", f'Pulling image "{c.image}"', ctr=c)
                if not self._wait(rt, self.pull_delay):
                    return
                ms = int(self.pull_delay * 1000)
                self._pod_event(rt, "Pulled", f'Successfully pulled image "{c.image}" in {ms}ms '
                                f'({ms}ms including waiting). Image size: 0 bytes.', ctr=c)
            else:
                self._pod_event(rt, "Pulled", f'Container image "{c.image}" already present on machine', ctr=c)
            if not self._wait(rt, self.kubelet_step):
                return
            self._start_container(rt, c, first=True)
            if i == len(rt.ctrs) - 1:
                rt.containers_started = True    # phase Running with the last container's start
            self._sync_status(rt)
            if i < len(rt.ctrs) - 1 and not self._wait(rt, self.kubelet_step):
                return
        self._monitor(rt)

    def _container_env(self, pod, c, rt):
        env = {}

        def field_ref(path):
            m = re.match(r"^metadata\.(labels|annotations)\['(.*)'\]$", path)
            if m:
                return (pod["metadata"].get(m.group(1)) or {}).get(m.group(2), "")
            return {
                "metadata.name": rt.name, "metadata.namespace": rt.ns, "metadata.uid": rt.uid,
                "spec.nodeName": self.node_name,
                "spec.serviceAccountName": pod["spec"].get("serviceAccountName", ""),
                "status.podIP": rt.ip or "", "status.podIPs": rt.ip or "",
                "status.hostIP": "127.0.0.1", "status.hostIPs": "127.0.0.1",
            }.get(path, "")

        def key_ref(plural, ref):
            o = self._objects.get((plural, rt.ns, (ref or {}).get("name")))
            if o is None:
                return ""
            if plural == "secrets":
                v = (o.get("data") or {}).get(ref.get("key"))
                return base64.b64decode(v).decode("utf-8", "replace") if v else ""
            return (o.get("data") or {}).get(ref.get("key"), "")

        with self._lock:
            for src in c.get("envFrom") or []:
                prefix = src.get("prefix") or ""
                if src.get("secretRef"):
                    o = self._objects.get(("secrets", rt.ns, src["secretRef"].get("name")))
                    for k, v in ((o or {}).get("data") or {}).items():
                        env[prefix + k] = base64.b64decode(v).decode("utf-8", "replace")
                elif src.get("configMapRef"):
                    o = self._objects.get(("configmaps", rt.ns, src["configMapRef"].get("name")))
                    for k, v in ((o or {}).get("data") or {}).items():
                        env[prefix + k] = v
            for e in c.get("env") or []:
                name = e.get("name")
                if e.get("value") is not None:
                    env[name] = expand_refs(e["value"], env)
                elif e.get("valueFrom"):
                    vf = e["valueFrom"]
                    if vf.get("fieldRef"):
                        env[name] = str(field_ref(vf["fieldRef"].get("fieldPath", "")))
                    elif vf.get("secretKeyRef"):
                        env[name] = key_ref("secrets", vf["secretKeyRef"])
                    elif vf.get("configMapKeyRef"):
                        env[name] = key_ref("configmaps", vf["configMapKeyRef"])
                    else:
                        env[name] = ""
                else:
                    env[name] = ""
        env.setdefault("HOSTNAME", rt.name)
        env.setdefault("HOME", rt.home)
        for k in self.pod_env_passthrough:
            if k not in env and k in os.environ:
                env[k] = os.environ[k]
        # The fake's one liberty: the server binds where JUPYTERHUB_SERVICE_URL says, so point
        # that at the pod's own loopback address (pods have their own network namespaces).
        if env.get("JUPYTERHUB_SERVICE_URL"):
            env["JUPYTERHUB_SERVICE_URL"] = _with_host(env["JUPYTERHUB_SERVICE_URL"], rt.ip)
        return env

    def _start_container(self, rt, c, first):
        with self._lock:
            pod = self._pod_now(rt)
            if pod is None:
                return
            spec = next((x for x in pod["spec"].get("containers") or [] if x.get("name") == c.name), c.spec)
        c.created = True
        c.container_id = "containerd://" + _secrets.token_hex(32)
        c.forced_code = None
        now = rfc3339()
        if not c.executed:
            self._pod_event(rt, "Created", f"Created container: {c.name}", ctr=c)
            c.state = {"running": {"startedAt": now}}
            c.ready = c.started = True
            self._pod_event(rt, "Started", f"Started container {c.name}", ctr=c)
            return
        env = self._container_env(pod, spec, rt)
        argv = [expand_refs(a, env) for a in (spec.get("command") or []) + (spec.get("args") or [])]
        if not argv and self.default_command:
            argv = list(self.default_command)
        if not argv:
            c.state = {"waiting": {"reason": "CreateContainerError",
                                   "message": "fake kubelet: the container has neither command nor args "
                                              "(images are not run)"}}
            self._pod_event(rt, "Failed", "Error: " + c.state["waiting"]["message"], "Warning", ctr=c)
            return
        self._pod_event(rt, "Created", f"Created container: {c.name}", ctr=c)
        exe = argv[0]
        if "/" not in exe:
            exe = shutil.which(exe, path=env.get("PATH", "")) or None
        cwd = spec.get("workingDir")
        if not cwd or not os.path.isdir(cwd):
            cwd = rt.home
        os.makedirs(os.path.dirname(c.log_path), exist_ok=True)
        err = None
        if exe is None:
            err = f'exec: "{argv[0]}": executable file not found in $PATH'
        else:
            try:
                c.log_file = open(c.log_path, "ab")
                c.proc = subprocess.Popen([exe] + argv[1:], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                          stdout=c.log_file, stderr=subprocess.STDOUT,
                                          start_new_session=True, close_fds=True)
            except OSError as e:
                err = f"exec: {e}"
                if c.log_file:
                    c.log_file.close()
                    c.log_file = None
        if err is not None:
            msg = ("failed to create containerd task: failed to create shim task: OCI runtime create "
                   f"failed: runc create failed: unable to start container process: {err}: unknown")
            self._pod_event(rt, "Failed", f"Error: {msg}", "Warning", ctr=c)
            self._container_exited(rt, c, 128, now, reason="StartError", message=msg)
            return
        c.started_at = now
        c.state = {"running": {"startedAt": now}}
        c.started = True
        c.ready = not self._probe_spec(spec)
        self._pod_event(rt, "Started", f"Started container {c.name}", ctr=c)

    @staticmethod
    def _probe_spec(spec):
        p = spec.get("readinessProbe") or {}
        return p if (p.get("httpGet") or p.get("tcpSocket")) else None

    def _probe(self, rt, c):
        probe = self._probe_spec(c.spec)
        if probe is None or not c.running():
            return
        now = time.monotonic()
        if now < c.probe_next:
            return
        c.probe_next = now + min(float(probe.get("periodSeconds") or 1), 1.0)
        ports = {p.get("name"): p.get("containerPort") for p in c.spec.get("ports") or []}
        ok = False
        try:
            if probe.get("httpGet"):
                hg = probe["httpGet"]
                port = hg.get("port")
                port = ports.get(port, port) if isinstance(port, str) else port
                url = f"http://{rt.ip}:{port}{hg.get('path') or '/'}"
                with urllib.request.urlopen(url, timeout=0.5) as r:
                    ok = 200 <= r.status < 400
            else:
                port = probe["tcpSocket"].get("port")
                port = ports.get(port, port) if isinstance(port, str) else port
                with socket.create_connection((rt.ip, int(port)), timeout=0.5):
                    ok = True
        except urllib.error.HTTPError as e:
            ok = 200 <= e.code < 400
        except Exception:
            ok = False
        if ok != c.ready:
            c.ready = ok
            self._sync_status(rt)

    def _container_exited(self, rt, c, code, started_at, reason=None, message=None):
        if c.log_file:
            c.log_file.close()
            c.log_file = None
        c.proc = None
        term = {"exitCode": code, "reason": reason or ("Completed" if code == 0 else "Error"),
                "startedAt": started_at or rfc3339(), "finishedAt": rfc3339(),
                "containerID": c.container_id}
        if message:
            term["message"] = message
        c.ready = False
        c.started = False
        with self._lock:
            pod = self._pod_now(rt)
            policy = (pod or {}).get("spec", {}).get("restartPolicy", "Always")
        restart = policy == "Always" or (policy == "OnFailure" and code != 0)
        if restart:
            c.last_state = {"terminated": term}
            c.backoff = self.crash_backoff if c.backoff is None else min(c.backoff * 2, 10.0)
            secs = max(1, int(round(c.backoff)))
            c.state = {"waiting": {"reason": "CrashLoopBackOff",
                                   "message": f"back-off {secs}s restarting failed container={c.name} "
                                              f"pod={rt.name}_{rt.ns}({rt.uid})"}}
            c.restart_at = time.monotonic() + c.backoff if c.restart_count < self.max_restarts else None
            self._pod_event(rt, "BackOff", f"Back-off restarting failed container {c.name} in pod "
                            f"{rt.name}_{rt.ns}({rt.uid})", "Warning", ctr=c, dedup=True)
        else:
            c.state = {"terminated": term}
            c.restart_at = None
        self._sync_status(rt)

    def _monitor(self, rt):
        while True:
            with self._cond:
                if self._deleting(rt):
                    return
                self._cond.wait(0.05)
            for c in rt.ctrs:
                if c.proc is not None and c.proc.poll() is not None:
                    rc = c.proc.returncode
                    code = c.forced_code if c.forced_code is not None else (rc if rc >= 0 else 128 - rc)
                    self._container_exited(rt, c, code, c.started_at)
                elif c.running() and not c.executed and c.forced_code is not None:
                    self._container_exited(rt, c, c.forced_code, c.state["running"]["startedAt"])
                elif c.restart_at is not None and time.monotonic() >= c.restart_at and not self._deleting(rt):
                    c.restart_at = None
                    c.restart_count += 1
                    self._pod_event(rt, "Pulled", f'Container image "{c.image}" already present on machine', ctr=c)
                    self._start_container(rt, c, first=False)
                    self._sync_status(rt)
                elif c.executed:
                    self._probe(rt, c)

    def _terminate(self, rt):
        """Kill the pod's containers (grace from the deletion), record them, remove the pod."""
        with self._lock:
            pod = self._pod_now(rt)
            removed = pod is None
        stopping = self._stopping
        if removed or stopping:
            grace = 1.0 if not stopping else 0.5
            deadline = time.monotonic() + grace
        else:
            deadline = rt.deadline or time.monotonic() + float(
                pod["metadata"].get("deletionGracePeriodSeconds") or 0)
        live = [c for c in rt.ctrs if c.running()]
        if not stopping:
            for c in live:
                self._pod_event(rt, "Killing", f"Stopping container {c.name}", ctr=c)
        for c in rt.ctrs:
            if c.proc is not None:
                _signal_group(c.proc, signal.SIGTERM)
        while not self._stopping and any(c.proc is not None and c.proc.poll() is None for c in rt.ctrs):
            left = min(deadline, rt.deadline or deadline) - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, 0.05))
        for c in rt.ctrs:
            if c.proc is not None and c.proc.poll() is None:
                _signal_group(c.proc, signal.SIGKILL)
                try:
                    c.proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
        for c in rt.ctrs:
            if c.proc is not None:
                rc = c.proc.returncode
                code = c.forced_code if c.forced_code is not None else (
                    137 if rc is None else (rc if rc >= 0 else 128 - rc))
                started = c.started_at
                if c.log_file:
                    c.log_file.close()
                    c.log_file = None
                c.proc = None
                c.state = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                          "startedAt": started or rfc3339(), "finishedAt": rfc3339(),
                                          "containerID": c.container_id}}
            elif c.running():
                c.state = {"terminated": {"exitCode": 0, "reason": "Completed",
                                          "startedAt": c.state["running"]["startedAt"],
                                          "finishedAt": rfc3339(), "containerID": c.container_id}}
            c.ready = False
            c.started = False
            c.restart_at = None
        if not removed and not stopping:
            with self._lock:
                if self._pod_now(rt) is not None:
                    self._sync_status(rt)
                    self._store_remove("pods", rt.ns, rt.name, uid=rt.uid)

    def _kill_rt(self, rt, grace):
        for c in rt.ctrs:
            p = c.proc
            if p is not None and p.poll() is None:
                _signal_group(p, signal.SIGTERM if grace else signal.SIGKILL)
        for c in rt.ctrs:
            p = c.proc
            if p is not None:
                try:
                    p.wait(timeout=max(grace, 2))
                except subprocess.TimeoutExpired:
                    _signal_group(p, signal.SIGKILL)
                    try:
                        p.wait(timeout=2)
                    except subprocess.TimeoutExpired:
                        pass
            if c.log_file:
                try:
                    c.log_file.close()
                except Exception:
                    pass
                c.log_file = None

    def _kill_all_processes(self):
        rts = list(self._pods.values())
        for rt in rts:
            for c in rt.ctrs:
                if c.proc is not None and c.proc.poll() is None:
                    _signal_group(c.proc, signal.SIGTERM)
        deadline = time.monotonic() + 2
        for rt in rts:
            for c in rt.ctrs:
                p = c.proc
                if p is None:
                    continue
                try:
                    p.wait(timeout=max(0.01, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    _signal_group(p, signal.SIGKILL)
                    try:
                        p.wait(timeout=2)
                    except subprocess.TimeoutExpired:
                        pass

    def _log_path(self, ns, name, container):
        with self._lock:
            pod = self._objects.get(("pods", ns, name))
            if pod is not None:
                rt = self._pods.get(pod["metadata"]["uid"])
            else:  # the latest pod of that name, even if deleted
                rts = [r for r in self._pods.values() if r.ns == ns and r.name == name]
                rt = rts[-1] if rts else None
            for c in (rt.ctrs if rt else []):
                if c.name == container:
                    return c.log_path
        return None

    def _sync_status(self, rt):
        with self._lock:
            pod = self._pod_now(rt)
            if pod is None:
                return
            status = self._build_status(rt, pod)

            def mutate(p):
                p["status"] = status
            self._store_update("pods", rt.ns, rt.name, mutate, uid=rt.uid)

    def _condition(self, rt, ctype, ok, reason=None, message=None):
        key = (ctype, ok, reason)
        if rt.cond_times.get(("k", ctype)) != key:
            rt.cond_times[("k", ctype)] = key
            rt.cond_times[ctype] = rfc3339()
        c = {"type": ctype, "status": "True" if ok else "False", "lastProbeTime": None,
             "lastTransitionTime": rt.cond_times[ctype]}
        if reason:
            c["reason"] = reason
        if message:
            c["message"] = message
        return c

    def _build_status(self, rt, pod):
        st = {"qosClass": (pod.get("status") or {}).get("qosClass") or _qos_class(pod.get("spec") or {})}
        if not rt.scheduled:
            st["phase"] = "Pending"
            if rt.sched_message:
                st["conditions"] = [self._condition(rt, "PodScheduled", False, "Unschedulable", rt.sched_message)]
            return st
        conds = [self._condition(rt, "PodReadyToStartContainers", rt.sandbox)]
        if rt.init_ctrs and not rt.initialized:
            conds.append(self._condition(rt, "Initialized", False, "ContainersNotInitialized",
                                         "containers with incomplete status: " + str([c.name for c in rt.init_ctrs])))
        else:
            conds.append(self._condition(rt, "Initialized", True))
        not_ready = [c.name for c in rt.ctrs if not c.ready]
        all_ready = rt.containers_started and not not_ready
        msg = None if all_ready else f"containers with unready status: [{' '.join(not_ready)}]"
        conds.append(self._condition(rt, "Ready", all_ready, None if all_ready else "ContainersNotReady", msg))
        conds.append(self._condition(rt, "ContainersReady", all_ready, None if all_ready else "ContainersNotReady", msg))
        conds.append(self._condition(rt, "PodScheduled", True))
        st["conditions"] = conds
        st["hostIP"] = "127.0.0.1"
        st["hostIPs"] = [{"ip": "127.0.0.1"}]
        if rt.ip:
            st["podIP"] = rt.ip
            st["podIPs"] = [{"ip": rt.ip}]
        if rt.start_time:
            st["startTime"] = rt.start_time
        if rt.init_ctrs:
            st["initContainerStatuses"] = [c.status() for c in rt.init_ctrs]
        st["containerStatuses"] = [c.status() for c in rt.ctrs]
        if not rt.containers_started:
            for cs in st["containerStatuses"]:
                cs["ready"] = False
            st["phase"] = "Pending"
        elif not any(c.running() or c.terminated() or c.last_state for c in rt.ctrs):
            st["phase"] = "Pending"     # no container ever started (e.g. CreateContainerError)
        elif rt.ctrs and all(c.terminated() for c in rt.ctrs):
            codes = [c.state["terminated"]["exitCode"] for c in rt.ctrs]
            st["phase"] = "Succeeded" if all(x == 0 for x in codes) else "Failed"
        else:
            st["phase"] = "Running"
        return st
