"""FakeCluster: the fake API server and kubelet as one object, and its public test API (see the
package docstring for what it does)."""

import atexit
import copy
import ipaddress
import os
import secrets as _secrets
import shutil
import signal
import tempfile
import threading
import time
import uuid

from .http import _make_handler, _Server
from .kubelet import KubeletMixin, _signal_group
from .objects import RESOURCES, AdmissionMixin
from .scheduler import _LIVE_INSTANCES, SchedulerMixin
from .store import StoreMixin, _okey

__all__ = ["FakeCluster", "Z2JH_HUB_ROLE", "KUBESPAWNER_VERBS"]

# The namespaced Role Zero-to-JupyterHub grants the hub (jupyterhub/templates/hub/rbac.yaml).
Z2JH_HUB_ROLE = {
    "pods": {"get", "watch", "list", "create", "delete"},
    "persistentvolumeclaims": {"get", "watch", "list", "create", "delete"},
    "secrets": {"get", "watch", "list", "create", "delete"},
    "services": {"get", "watch", "list", "create", "delete"},
    "events": {"get", "watch", "list"},
}
# The verbs KubeSpawner 7.1.0 itself uses (spawners-beyond.md §1.12), plus namespace creation.
KUBESPAWNER_VERBS = {
    "pods": {"list", "watch", "create", "delete"},
    "events": {"list", "watch"},
    "persistentvolumeclaims": {"create", "get", "delete"},
    "services": {"create", "get", "delete"},
    "secrets": {"create", "get", "delete"},
    "namespaces": {"create"},
}


class FakeCluster(StoreMixin, AdmissionMixin, SchedulerMixin, KubeletMixin):
    """A fake core-v1 Kubernetes API server plus a one-node fake kubelet (see the package doc)."""

    def __init__(self, *, host="127.0.0.1", port=0, token=None, namespace="default",
                 namespaces=(), node_name="fake-node", node_labels=None, node_taints=None,
                 workdir=None, keep_workdir=False, kubelet_step=0.1, pull_delay=0.2,
                 schedule_retry=1.0, pvc_bind_delay=0.2, gc_delay=0.1, crash_backoff=0.5,
                 max_restarts=5, max_watch_seconds=60, bookmark_interval=5.0,
                 history_limit=100000, pod_ip_start="127.0.0.2", exec_containers=("notebook",),
                 default_command=None, pod_env_passthrough=("PATH",), verbose=False):
        self.host = host
        self._want_port = port
        self._token = token or _secrets.token_hex(16)
        self.namespace = namespace
        self.node_name = node_name
        self.kubelet_step = kubelet_step
        self.pull_delay = pull_delay
        self.schedule_retry = schedule_retry
        self.pvc_bind_delay = pvc_bind_delay
        self.gc_delay = gc_delay
        self.crash_backoff = crash_backoff
        self.max_restarts = max_restarts
        self.max_watch_seconds = max_watch_seconds
        self.bookmark_interval = bookmark_interval
        self.history_limit = history_limit
        self.exec_containers = tuple(exec_containers)
        self.default_command = list(default_command) if default_command else None
        self.pod_env_passthrough = tuple(pod_env_passthrough)
        self.verbose = verbose
        self._given_workdir = workdir
        self._keep_workdir = keep_workdir
        self.workdir = None
        self._kubeconfig = None

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._rv = 0
        self._objects = {}          # (plural, ns, name) -> object (never mutated in place)
        self._history = []          # (rv, type, plural, ns, object, previous object)
        self._history_rvs = []
        self._compacted_rv = 0
        self._requests = []
        self._pods = {}             # uid -> _PodRT
        self._event_keys = {}       # dedup key -> (ns, event name)
        self._event_seq = 0
        self._next_ip = int(ipaddress.IPv4Address(pod_ip_start))
        self._next_cluster_ip = int(ipaddress.IPv4Address("10.96.0.10"))
        self._stopping = False
        self._started = False
        self._server = None
        self._server_thread = None
        self._timers = []
        self._instance = uuid.uuid4().hex[:12]
        self._claimed_ips = []

        self._initial_namespaces = ["default", "kube-system", "kube-public", "kube-node-lease"]
        for ns in [namespace, *namespaces]:
            if ns not in self._initial_namespaces:
                self._initial_namespaces.append(ns)
        self._node_labels = dict(node_labels) if node_labels is not None else {
            "kubernetes.io/hostname": node_name}
        self._node_taints = list(node_taints or [])

    # -- lifecycle -------------------------------------------------------------------------

    def start(self):
        if self._started:
            return self
        if self._given_workdir:
            self.workdir = os.path.abspath(self._given_workdir)
            os.makedirs(self.workdir, exist_ok=True)
        else:
            self.workdir = tempfile.mkdtemp(prefix="fake-k8s-")
        os.makedirs(os.path.join(self.workdir, "pods"), exist_ok=True)
        with self._lock:
            for ns in self._initial_namespaces:
                self._store_create("namespaces", None, self._namespace_defaults({"metadata": {"name": ns}}))
            self._store_create("nodes", None, self._node_object())
        self._server = _Server((self.host, self._want_port), _make_handler(self))
        self._server_thread = threading.Thread(target=self._server.serve_forever,
                                               kwargs={"poll_interval": 0.2},
                                               name="fake-apiserver", daemon=True)
        self._server_thread.start()
        self._kubeconfig = os.path.join(self.workdir, "kubeconfig")
        with open(self._kubeconfig, "w") as f:
            f.write(self.kubeconfig_text())
        self._started = True
        _LIVE_INSTANCES.add(self._instance)
        atexit.register(self._kill_all_processes)
        return self

    def stop(self):
        """Stop serving, end every watch, terminate every process any pod started."""
        if not self._started:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for t in list(self._timers):
            t.cancel()
        try:
            self._server.shutdown()
            self._server.server_close()
        except Exception:
            pass
        self._kill_all_processes()
        for rt in list(self._pods.values()):
            if rt.thread is not None:
                rt.thread.join(timeout=5)
        try:
            atexit.unregister(self._kill_all_processes)
        except Exception:
            pass
        self._started = False
        _LIVE_INSTANCES.discard(self._instance)
        self._release_ips()
        if not self._given_workdir and not self._keep_workdir and self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    @property
    def token(self):
        return self._token

    @property
    def kubeconfig(self):
        """Path of the kubeconfig file (cluster http://127.0.0.1:<port>, token user, context
        'fake' with the default namespace)."""
        return self._kubeconfig

    @property
    def resource_version(self):
        with self._lock:
            return self._rv

    def kubeconfig_text(self):
        return (
            "apiVersion: v1\n"
            "kind: Config\n"
            "clusters:\n"
            "- name: fake\n"
            "  cluster:\n"
            f"    server: {self.url}\n"
            "users:\n"
            "- name: fake-user\n"
            "  user:\n"
            f"    token: {self._token}\n"
            "contexts:\n"
            "- name: fake\n"
            "  context:\n"
            "    cluster: fake\n"
            "    user: fake-user\n"
            f"    namespace: {self.namespace}\n"
            "current-context: fake\n"
            "preferences: {}\n"
        )

    # -- public test hooks ---------------------------------------------------------------

    def request_log(self):
        """Every API request so far: dicts with time, method, path, query, body, resource,
        namespace, name, verb, watch, code (the HTTP status)."""
        with self._lock:
            return copy.deepcopy(self._requests)

    def clear_request_log(self):
        with self._lock:
            self._requests.clear()

    def verbs_used(self):
        """{(resource, verb)} of the API requests so far (resource requests only)."""
        return {(r["resource"], r["verb"]) for r in self.request_log() if r["resource"]}

    def disallowed_requests(self, allowed=None):
        """Requests whose (resource, verb) is not in `allowed` ({resource: {verbs}}, default
        KUBESPAWNER_VERBS). Non-resource requests (/version, /api) are not counted."""
        allowed = KUBESPAWNER_VERBS if allowed is None else allowed
        return [r for r in self.request_log()
                if r["resource"] and r["verb"] not in allowed.get(r["resource"], set())]

    def get(self, kind, namespace, name):
        """The stored object (a copy) or None. kind: 'pod', 'pods', 'Pod', 'pvc', 'svc', ..."""
        plural = self._plural(kind)
        ns = namespace if RESOURCES[plural][1] else None
        with self._lock:
            obj = self._objects.get((plural, ns, name))
            return copy.deepcopy(obj)

    def list(self, kind, namespace=None):
        plural = self._plural(kind)
        with self._lock:
            return [copy.deepcopy(o) for (p, ns, _), o in sorted(self._objects.items(), key=_okey)
                    if p == plural and (namespace is None or ns == namespace)]

    def events_for(self, namespace, name, kind="Pod"):
        """Events whose involvedObject is <kind> <namespace>/<name>, oldest first."""
        evs = [e for e in self.list("events", namespace)
               if e["involvedObject"].get("name") == name and e["involvedObject"].get("kind") == kind]
        return sorted(evs, key=lambda e: int(e["metadata"]["resourceVersion"]))

    def create(self, kind, obj, namespace=None):
        """Create an object as the API would (defaults, validation, controllers), bypassing
        HTTP, auth and the request log. Returns the stored object."""
        plural = self._plural(kind)
        ns = namespace or (obj.get("metadata") or {}).get("namespace") or self.namespace
        return copy.deepcopy(self._api_create(plural, ns if RESOURCES[plural][1] else None, obj, {}))

    def delete(self, kind, namespace, name, grace=None):
        plural = self._plural(kind)
        body = {} if grace is None else {"gracePeriodSeconds": grace}
        return self._api_delete(plural, namespace if RESOURCES[plural][1] else None, name, body, {})

    def kill_notebook(self, namespace, name, code=0, container="notebook"):
        """Make the pod's (executed) container exit with `code`: its process group gets SIGKILL
        and the kubelet records `code` as the exit code. A simulated container is marked exited
        the same way. Returns False when there is no such running container."""
        with self._lock:
            pod = self._objects.get(("pods", namespace, name))
            rt = self._pods.get(pod["metadata"]["uid"]) if pod else None
            if rt is None:
                return False
            for c in rt.ctrs:
                if c.name == container and c.running():
                    c.forced_code = int(code)
                    if c.proc is not None:
                        _signal_group(c.proc, signal.SIGKILL)
                    self._cond.notify_all()
                    return True
        return False

    def set_node_labels(self, labels, replace=True):
        """Replace (or update) the node's labels; pending pods are re-scheduled against them."""
        with self._lock:
            self._node_labels = dict(labels) if replace else {**self._node_labels, **labels}
            self._store_update("nodes", None, self.node_name,
                               lambda n: n["metadata"].__setitem__("labels", dict(self._node_labels)))

    def set_node_taints(self, taints):
        with self._lock:
            self._node_taints = list(taints)
            self._store_update("nodes", None, self.node_name,
                               lambda n: n["spec"].__setitem__("taints", copy.deepcopy(self._node_taints)))

    def pod_log(self, namespace, name, container="notebook"):
        path = self._log_path(namespace, name, container)
        if not path or not os.path.exists(path):
            return ""
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def pod_pid(self, namespace, name, container="notebook"):
        """PID of the running process of that container, or None."""
        with self._lock:
            pod = self._objects.get(("pods", namespace, name))
            rt = self._pods.get(pod["metadata"]["uid"]) if pod else None
            for c in (rt.ctrs if rt else []):
                if c.name == container and c.proc is not None and c.proc.poll() is None:
                    return c.proc.pid
        return None

    def pids(self):
        """PIDs of every pod process still running (all pods, also deleted ones)."""
        with self._lock:
            return [c.proc.pid for rt in self._pods.values() for c in rt.ctrs
                    if c.proc is not None and c.proc.poll() is None]

    def compact(self):
        """Forget the watch history: watches from any resourceVersion before now get 410."""
        with self._cond:
            self._compacted_rv = self._rv
            self._history.clear()
            self._history_rvs.clear()
            self._cond.notify_all()

    def wait_for(self, predicate, timeout=10.0, interval=0.05):
        """Call predicate() until it is truthy (returned) or timeout (returns the last value)."""
        deadline = time.monotonic() + timeout
        while True:
            v = predicate()
            if v or time.monotonic() >= deadline:
                return v
            time.sleep(interval)

    # -- request log ---------------------------------------------------------------------

    def _log_request(self, entry):
        with self._lock:
            self._requests.append(entry)
