"""Scheduling onto the one fake node (SchedulerMixin of FakeCluster): PVCs, nodeSelector,
required node affinity, taints and tolerations; waiting for secret volumes; pod IPs, claimed
machine-wide so that fakes running at the same time never share one."""

import ipaddress
import os
import socket
import tempfile
import time


def _tolerates(tol, taint):
    if tol.get("effect") and tol["effect"] != taint.get("effect"):
        return False
    if tol.get("operator") == "Exists":
        return not tol.get("key") or tol["key"] == taint.get("key")
    return tol.get("key") == taint.get("key") and (tol.get("value") or "") == (taint.get("value") or "")


def _expr_matches(e, labels):
    key, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
    have = key in labels
    if op == "In":
        return have and labels[key] in vals
    if op == "NotIn":
        return not have or labels[key] not in vals
    if op == "Exists":
        return have
    if op == "DoesNotExist":
        return not have
    if op in ("Gt", "Lt") and have and vals:
        try:
            a, b = int(labels[key]), int(vals[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


_LIVE_INSTANCES = set()


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _port_free(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class SchedulerMixin:
    """The scheduler and pod networking (FakeCluster's)."""

    # -- scheduler -----------------------------------------------------------------------

    def _schedule(self, rt):
        last_emit, last_msg = None, None
        while True:
            with self._lock:
                if self._deleting(rt):
                    return False
                pod = self._pod_now(rt)
                msg, kind = self._unschedulable(pod)
                if msg is None:
                    def bind(p):
                        p["spec"]["nodeName"] = self.node_name
                    self._store_update("pods", rt.ns, rt.name, bind, uid=rt.uid)
                    rt.scheduled = True
                    rt.sched_message = None
                    self._pod_event(rt, "Scheduled",
                                    f"Successfully assigned {rt.ns}/{rt.name} to {self.node_name}",
                                    component="default-scheduler")
                    self._sync_status(rt)
                    return True
                now = time.monotonic()
                quiet = kind == "unbound" and now - rt.created_mono < self.pvc_bind_delay + 0.5
                if not quiet and (last_emit is None or now - last_emit >= self.schedule_retry or msg != last_msg):
                    full = (f"0/1 nodes are available: {msg}. preemption: 0/1 nodes are available: "
                            "1 Preemption is not helpful for scheduling.")
                    self._pod_event(rt, "FailedScheduling", full, "Warning",
                                    component="default-scheduler", dedup=True)
                    if rt.sched_message != full:
                        rt.sched_message = full
                        self._sync_status(rt)
                    last_emit, last_msg = now, msg
            if not self._wait(rt, 0.1):
                return False

    def _unschedulable(self, pod):
        """(message, kind) why the pod cannot go on the node, or (None, None)."""
        spec = pod.get("spec") or {}
        ns = pod["metadata"]["namespace"]
        for v in spec.get("volumes") or []:
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim:
                continue
            pvc = self._objects.get(("persistentvolumeclaims", ns, claim))
            if pvc is None:
                return f'persistentvolumeclaim "{claim}" not found', "pvc"
            if pvc["metadata"].get("deletionTimestamp"):
                return f'persistentvolumeclaim "{claim}" is being deleted', "pvc"
            if (pvc.get("status") or {}).get("phase") != "Bound":
                return "pod has unbound immediate PersistentVolumeClaims", "unbound"
        labels = self._node_labels
        for k, v in (spec.get("nodeSelector") or {}).items():
            if labels.get(k) != v:
                return "1 node(s) didn't match Pod's node affinity/selector", "selector"
        required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                    .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
        terms = required.get("nodeSelectorTerms")
        if terms is not None and not any(self._term_matches(t) for t in terms):
            return "1 node(s) didn't match Pod's node affinity/selector", "selector"
        for taint in self._node_taints:
            if taint.get("effect") in ("NoSchedule", "NoExecute") and not any(
                    _tolerates(t, taint) for t in spec.get("tolerations") or []):
                val = f": {taint.get('value')}" if taint.get("value") else ""
                return f"1 node(s) had untolerated taint {{{taint.get('key')}{val}}}", "taint"
        return None, None

    def _term_matches(self, term):
        labels = self._node_labels
        exprs = term.get("matchExpressions") or []
        fields = term.get("matchFields") or []
        if not exprs and not fields:
            return False
        for e in exprs:
            if not _expr_matches(e, labels):
                return False
        for e in fields:
            if not _expr_matches(e, {"metadata.name": self.node_name}):
                return False
        return True

    def _wait_volumes(self, rt):
        while True:
            with self._lock:
                pod = self._pod_now(rt)
                if pod is None or self._deleting(rt):
                    return False
                missing = None
                for v in pod["spec"].get("volumes") or []:
                    s = v.get("secret")
                    if s and not s.get("optional") and ("secrets", rt.ns, s.get("secretName")) not in self._objects:
                        missing = (v.get("name"), s.get("secretName"))
                        break
                if missing is None:
                    return True
                self._pod_event(rt, "FailedMount",
                                f'MountVolume.SetUp failed for volume "{missing[0]}" : secret "{missing[1]}" not found',
                                "Warning", dedup=True)
            if not self._wait(rt, 0.5):
                return False

    def _alloc_ip(self, ports):
        with self._lock:
            for _ in range(5000):
                n = self._next_ip
                self._next_ip += 1
                if n % 256 in (0, 255):
                    continue
                ip = str(ipaddress.IPv4Address(n))
                if all(_port_free(ip, p) for p in ports) and self._claim_ip(ip):
                    return ip
        raise RuntimeError("fake kubelet: no free pod IP")

    def _claim_ip(self, ip):
        """Claim a pod IP machine-wide (a file <tmp>/fake-k8s-pod-ips/<ip> naming this process and
        instance), so fakes running at the same time never hand out the same address: a crashed
        server's port is free for a moment, and a port probe alone could not see the claim."""
        d = os.path.join(tempfile.gettempdir(), "fake-k8s-pod-ips")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, ip)
        me = f"{os.getpid()} {self._instance}"
        for _ in range(3):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    with open(path) as f:
                        pid, inst = (f.read().split() + ["0", ""])[:2]
                    pid = int(pid)
                except (OSError, ValueError):
                    pid, inst = 0, ""
                if pid == os.getpid() and inst in _LIVE_INSTANCES:
                    return False
                if pid != os.getpid() and pid > 0 and _pid_alive(pid):
                    return False
                try:  # stale claim: its owner is gone
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w") as f:
                f.write(me)
            self._claimed_ips.append(path)
            return True
        return False

    def _release_ips(self):
        me = f"{os.getpid()} {self._instance}"
        for path in self._claimed_ips:
            try:
                with open(path) as f:
                    mine = f.read() == me
                if mine:
                    os.unlink(path)
            except OSError:
                pass
        self._claimed_ips = []
