#!/usr/bin/env python3
"""A fake Kubernetes API server (core v1 only) with a fake kubelet that really runs the notebook
container of each pod as a local process. Python standard library only.

Written for oxhub's KubeSpawner tests (kube-rs client) and checked against the real
jupyterhub-kubespawner 7.1.0 (kubernetes_asyncio client) by tests/kube/check_fake.py. No real
Kubernetes can run where these tests run; this is the cluster they talk to.

As a module:

    from fake_apiserver import FakeCluster
    with FakeCluster() as k8s:            # or k8s = FakeCluster(); k8s.start(); ...; k8s.stop()
        os.environ["KUBECONFIG"] = k8s.kubeconfig
        ...
        k8s.get("pod", "default", "jupyter-alice")
        k8s.kill_notebook("default", "jupyter-alice", 0)
        k8s.request_log()

From the command line (manual use): `fake_apiserver.py [--port N] [--token T] [--node-label k=v]...`
prints one JSON line {"url", "token", "kubeconfig", "workdir"} and serves until SIGINT/SIGTERM or
--max-seconds. Test hooks are then plain HTTP under /fake/ (no token needed, not in the request
log): GET /fake/info, GET|DELETE /fake/requests, POST /fake/kill {"namespace","name","code"},
POST /fake/node-labels {"labels": {...}, "replace": true}, POST /fake/node-taints {"taints": [...]},
GET /fake/objects/<kind>/<namespace or ->/<name>, GET /fake/logs/<namespace>/<pod>?container=,
POST /fake/compact.

What the API server does
------------------------
Resources: pods (+ pods/log), persistentvolumeclaims, services, secrets, configmaps, events
(namespaced); namespaces, nodes (cluster-scoped; nodes are read-only). Verbs: create (POST, 201;
409 AlreadyExists; 422 Invalid, e.g. no metadata.name and no generateName, bad names or labels; 404
when the namespace does not exist; `dryRun` honoured), get (404 NotFound), list (namespaced and
all-namespaces, e.g. /api/v1/pods, /api/v1/events), watch (`watch=true|1` or the /api/v1/watch/
prefix), delete (DeleteOptions body and/or `gracePeriodSeconds` query parameter, body wins;
`preconditions.uid`; `propagationPolicy: Orphan`), update (PUT) and patch (PATCH, treated as a JSON
merge patch whatever the patch content type says). Every error is a v1 Status object. Every request
to /api needs `Authorization: Bearer <token>` (else 401 Status); /healthz, /livez, /readyz do not.
GET /version, /api, /api/v1 and /apis answer like a real server.

Every object gets metadata.uid, creationTimestamp and resourceVersion from one global counter (as
etcd's revision); list responses carry the current global resourceVersion. Lists are sorted by
namespace/name (etcd key order); `limit` pages with a `continue` token (pages are read from the
current state, not from a snapshot). Selectors: labelSelector (`k=v`, `k==v`, `k!=v`, `k`, `!k`,
`k in (a,b)`, `k notin (a,b)`, comma = and) and fieldSelector (`=`, `==`, `!=` on the fields the
real server supports for the kind: metadata.name/namespace everywhere, pods' spec.nodeName,
status.phase, status.podIP, ...; events' involvedObject.*, reason, type, source, ...; other fields
are a 400 like on a real server).

Watch: chunked newline-delimited JSON `{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object"}`.
`resourceVersion` absent, "" or "0": the current matching objects as ADDED, then changes.
`resourceVersion=N`: every change after N is replayed from the history, then live changes; N older
than the retained history (see `history_limit`, `compact()`) gives one ERROR event carrying a 410
Expired Status and the stream ends (also mid-stream if the history is compacted under it).
`sendInitialEvents=true` (streaming lists): the current objects as ADDED, then a BOOKMARK annotated
`k8s.io/initial-events-end: "true"`. `allowWatchBookmarks=true`: a BOOKMARK ({kind, apiVersion,
metadata.resourceVersion}) every `bookmark_interval` s and once just before the stream ends. The
stream ends after `timeoutSeconds`, capped at `max_watch_seconds` (60; also the default). DELETED
events carry the object with the deletion's resourceVersion. With a selector, a modification that
moves an object into the selection is sent as ADDED and out of it as DELETED (as the watch cache
does). A list with resourceVersionMatch but no resourceVersion (or Exact with "0") is a 422, as on
a real server; otherwise resourceVersion/resourceVersionMatch on lists are accepted and the current
state is returned. kube-rs's watcher (list with
`limit=500` and maybe `resourceVersion=0&resourceVersionMatch=NotOlderThan`, then
`watch=true&timeoutSeconds=290&allowWatchBookmarks=true&resourceVersion=N`, re-watching from the
last seen version when a stream ends and re-listing after a 410) and kubespawner's reflector (list,
then 10 s watches from the list's version, re-listing each time) both work against this.

The API server also does what admission and controllers would: pod defaults (restartPolicy
Always, terminationGracePeriodSeconds 30, dnsPolicy, schedulerName, serviceAccountName default,
imagePullPolicy, terminationMessagePath, port protocol TCP, the not-ready/unreachable tolerations),
resource quantities given as JSON numbers canonicalized to strings (1073741824 -> "1073741824",
0.5 -> "500m"), pod status reset to Pending on create; Services get a clusterIP; Secrets'
stringData is folded into base64 data; PVCs get the default storage class "standard", the
kubernetes.io/pvc-protection finalizer and become Bound after `pvc_bind_delay` (not when
storageClassName is ""), a deleted PVC lingers with a deletionTimestamp while a pod uses it;
Namespaces get the kubernetes.io/metadata.name label and phase Active; the garbage collector
deletes objects whose owner (ownerReferences uid) is gone, `gc_delay` after the owner.

Pod deletion: a pod not yet bound to the node, in a terminal phase, or deleted with grace 0 is
removed at once (DELETED); otherwise it gets metadata.deletionTimestamp (now + grace) and
deletionGracePeriodSeconds (MODIFIED), the kubelet emits `Killing`, sends SIGTERM to the process
group of each running container process, SIGKILL at the deadline, records the containers as
terminated, then removes the pod. DELETE always answers 200 with the pod; other kinds answer 200
with a Status (Success) like a real server, PVCs with the object (finalizer).

What the fake kubelet does
--------------------------
One node, `fake-node` (labels default {kubernetes.io/hostname: fake-node}, changeable with
`set_node_labels`; optional taints). The scheduler checks the pod's PVCs (missing, being deleted,
or unbound for longer than `pvc_bind_delay` + 0.5 s), nodeSelector, required node affinity
(In/NotIn/Exists/DoesNotExist/Gt/Lt, matchFields metadata.name) and taints against tolerations; an
unschedulable pod stays Pending (condition PodScheduled False, reason Unschedulable) and gets a
Warning `FailedScheduling` event, repeated every `schedule_retry` s while it stays so (the same
Event, count + 1, MODIFIED; a new Event when the message changes), and is scheduled as soon as it
fits (after set_node_labels, a PVC appearing...). Pod affinity and resources are not considered.
Then, `kubelet_step` s apart: `Scheduled` ("Successfully assigned <ns>/<pod> to fake-node",
default-scheduler), a pod IP (127.0.0.2, 127.0.0.3, ... unique per pod, never reused; an address
whose notebook ports are taken on this machine, or that another live fake on this machine has
claimed (claim files in <tmpdir>/fake-k8s-pod-ips/, released by stop()), is skipped), a `FailedMount` Warning loop while a
non-optional secret volume's Secret is missing, init containers simulated as run to completion
(Pulled/Created/Started, then terminated Completed), then per container `Pulling`/`Pulled` (executed
containers) or `Pulled` "already present" (simulated ones), `Created`, `Started`; then phase
Running, hostIP 127.0.0.1, containerStatuses for every container (running, ready true; a
readinessProbe httpGet/tcpSocket on an executed container is really probed against the pod IP).

Executed containers are those named in `exec_containers` (default just "notebook"); the others are
simulated as running and ready and never exit. An executed container runs `command + args` (or
just `args`, as KubeSpawner sets them; `$(VAR)` references expanded like the kubelet does, `$$`
escaping) as a subprocess in its own session, with the environment made of the container's
envFrom/env (plain values, `$(VAR)` expanded; valueFrom fieldRef for metadata.name/namespace/uid/
labels/annotations, spec.nodeName/serviceAccountName, status.podIP/hostIP; secretKeyRef and
configMapKeyRef from stored objects; anything unresolvable is ""), plus, when the pod does not set
them, HOSTNAME (pod name), HOME (a per-pod temporary directory) and the variables named in
`pod_env_passthrough` (default PATH) from the fake's own environment. The cwd is workingDir if that
directory exists here, else HOME. stdout and stderr go to <workdir>/pods/<ns>_<pod>_<uid8>/
<container>.log (also served by GET .../pods/<name>/log). Images are never run: a container with
neither command nor args uses `default_command` if given, else it stays waiting
(CreateContainerError). The first argument is looked up in the container's PATH; not found is a
StartError exit 128 (then restarted per policy). runAsUser/fsGroup, resources, volumes and
mounts are not applied.

THE ONE LIBERTY the process gets: JUPYTERHUB_SERVICE_URL's host is rewritten to the pod IP
(http://0.0.0.0:8888/user/alice/ -> http://127.0.0.2:8888/user/alice/), so that every pod's server,
which takes its bind address from that variable, listens on the same container port on its own
loopback address, as pods do on their own network namespaces.

When the process exits (code = exit status, 128 + N for signal N, or the code given to
`kill_notebook`): with restartPolicy Always, or OnFailure and a nonzero code, the container goes
to lastState.terminated, state waiting CrashLoopBackOff (ready false, a Warning `BackOff` event)
and is restarted after `crash_backoff` s (doubling, at most 10 s), at most `max_restarts` times
(then it stays in CrashLoopBackOff); otherwise it stays terminated (exit 0: reason Completed, else
Error) and, once every container is terminated, the phase becomes Succeeded (all 0) or Failed.

Test hooks: `request_log()` (method, path, query, body, resource incl. subresource, namespace, name,
RBAC verb get/list/watch/create/update/patch/delete/deletecollection, HTTP code),
`disallowed_requests(allowed)`, `get/list/create/delete(kind, ...)`, `events_for(ns, name)`,
`kill_notebook(ns, name, code)`, `set_node_labels`, `set_node_taints`, `pod_log`, `pod_pid`,
`compact()`, `wait_for(...)`; `stop()` terminates every process any pod started.
"""

import argparse
import atexit
import base64
import bisect
import copy
import hashlib
import http.server
import ipaddress
import json
import os
import re
import secrets as _secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid

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

# plural -> (Kind, namespaced)
RESOURCES = {
    "pods": ("Pod", True),
    "persistentvolumeclaims": ("PersistentVolumeClaim", True),
    "services": ("Service", True),
    "secrets": ("Secret", True),
    "configmaps": ("ConfigMap", True),
    "events": ("Event", True),
    "namespaces": ("Namespace", False),
    "nodes": ("Node", False),
}
SHORT_NAMES = {"pods": ["po"], "persistentvolumeclaims": ["pvc"], "services": ["svc"],
               "configmaps": ["cm"], "events": ["ev"], "namespaces": ["ns"], "nodes": ["no"]}
ALIASES = {}
for _plural, (_kind, _nsd) in RESOURCES.items():
    for _a in [_plural, _kind.lower(), _plural[:-1]] + SHORT_NAMES.get(_plural, []):
        ALIASES[_a] = _plural
READ_ONLY = {"nodes"}
SUBRESOURCES = {("pods", "log")}

COMMON_FIELDS = {"metadata.name", "metadata.namespace"}
FIELDS = {
    "pods": {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
             "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"},
    "events": {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
               "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
               "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"},
    "secrets": {"type"},
    "namespaces": {"status.phase"},
    "nodes": {"spec.unschedulable"},
}

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")

MAX_STREAM_LINE = 1 << 20


def rfc3339(t=None):
    """Second-resolution RFC 3339 UTC timestamp, as the API server writes metav1.Time."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if t is None else t))


def status_object(code, reason, message, details=None, status="Failure"):
    obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": status,
           "message": message, "reason": reason, "code": code}
    if details is not None:
        obj["details"] = details
    if status == "Success":
        obj.pop("message")
        obj.pop("reason")
    return obj


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.status = status_object(code, reason, message, details)
        self.code = code


def invalid(kind, name, causes):
    """A 422 Invalid Status; causes: [(field, reason, message)]."""
    msgs = [f"{f}: {m}" for f, _, m in causes]
    joined = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {joined}',
                    {"name": name, "kind": kind,
                     "causes": [{"reason": r, "message": m, "field": f} for f, r, m in causes]})


def not_found(plural, name):
    return ApiError(404, "NotFound", f'{plural} "{name}" not found', {"name": name, "kind": plural})


# ---------------------------------------------------------------------------------------------
# selectors


def _split_top(s):
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _valid_label_key(key):
    if "/" in key:
        prefix, name = key.split("/", 1)
        if not prefix or len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix):
            return False
    else:
        name = key
    return 0 < len(name) <= 63 and bool(LABEL_NAME.match(name))


def parse_label_selector(s):
    reqs = []
    for part in _split_top(s or ""):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^(\S+)\s+(in|notin)\s+\((.*)\)$", part)
        if m:
            key, op = m.group(1), m.group(2)
            vals = {v.strip() for v in m.group(3).split(",") if v.strip()}
            reqs.append((key, op, vals))
        elif part.startswith("!"):
            key, op, vals = part[1:].strip(), "!", None
            reqs.append((key, op, vals))
        elif "!=" in part:
            key, v = part.split("!=", 1)
            key, op, vals = key.strip(), "!=", v.strip()
            reqs.append((key, op, vals))
        elif "==" in part or "=" in part:
            key, v = part.split("==", 1) if "==" in part else part.split("=", 1)
            key, op, vals = key.strip(), "=", v.strip()
            reqs.append((key, op, vals))
        else:
            key, op, vals = part, "exists", None
            reqs.append((key, op, vals))
        if not _valid_label_key(key):
            raise ApiError(400, "BadRequest", f"unable to parse requirement: invalid label key {key!r}")
        if isinstance(vals, str) and not LABEL_VALUE.match(vals):
            raise ApiError(400, "BadRequest", f"unable to parse requirement: invalid label value {vals!r}")
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, val in reqs:
        have = key in labels
        if op == "=" and labels.get(key) != val:
            return False
        if op == "!=" and have and labels[key] == val:
            return False
        if op == "exists" and not have:
            return False
        if op == "!" and have:
            return False
        if op == "in" and (not have or labels[key] not in val):
            return False
        if op == "notin" and have and labels[key] in val:
            return False
    return True


def parse_field_selector(s, plural):
    reqs = []
    allowed = COMMON_FIELDS | FIELDS.get(plural, set())
    for part in (s or "").split(","):
        part = part.strip()
        if not part:
            continue
        if "!=" in part:
            key, val = part.split("!=", 1)
            op = "!="
        elif "==" in part:
            key, val = part.split("==", 1)
            op = "="
        elif "=" in part:
            key, val = part.split("=", 1)
            op = "="
        else:
            raise ApiError(400, "BadRequest", f"invalid selector: '{s}'; can't understand '{part}'")
        key = key.strip()
        if key not in allowed:
            raise ApiError(400, "BadRequest", f'field label not supported: {key}')
        reqs.append((key, op, val.strip()))
    return reqs


def field_value(obj, key):
    if key == "source":
        return (obj.get("source") or {}).get("component", "") or ""
    cur = obj
    for p in key.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def fields_match(reqs, obj):
    for key, op, val in reqs:
        have = field_value(obj, key)
        if op == "=" and have != val:
            return False
        if op == "!=" and have == val:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# object helpers


def canon_quantity(v, field, causes):
    if isinstance(v, bool):
        causes.append((field, "FieldValueInvalid", "quantities must be numbers or strings"))
        return v
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v == int(v):
            return str(int(v))
        milli = v * 1000
        if abs(milli - round(milli)) < 1e-6:
            return f"{int(round(milli))}m"
        return f"{int(round(v * 1e9))}n"
    if isinstance(v, str):
        if not QUANTITY.match(v):
            causes.append((field, "FieldValueInvalid",
                           f'Invalid value: "{v}": quantities must match the regular expression '
                           "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"))
        return v
    causes.append((field, "FieldValueInvalid", "quantities must be numbers or strings"))
    return v


def _canon_resources(res, field, causes):
    if not isinstance(res, dict):
        return
    for section in ("limits", "requests"):
        vals = res.get(section)
        if isinstance(vals, dict):
            for k in list(vals):
                vals[k] = canon_quantity(vals[k], f"{field}.{section}[{k}]", causes)


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


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    target = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = merge_patch(target.get(k), v)
    return target


def _image_id(image):
    digest = hashlib.sha256(image.encode()).hexdigest()
    return f"{image.rsplit(':', 1)[0] if ':' in image.split('/')[-1] else image}@sha256:{digest}"


def _image_pull_policy(image):
    last = image.split("/")[-1]
    if "@" in last:
        return "IfNotPresent"
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


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


# ---------------------------------------------------------------------------------------------


class FakeCluster:
    """A fake core-v1 Kubernetes API server plus a one-node fake kubelet (see the module doc)."""

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

    # -- store ---------------------------------------------------------------------------

    @staticmethod
    def _plural(kind):
        k = ALIASES.get(kind) or ALIASES.get(kind.lower())
        if not k:
            raise KeyError(f"unknown kind {kind!r}")
        return k

    def _bump(self):
        self._rv += 1
        return self._rv

    def _record(self, etype, plural, ns, obj, prev=None):
        rv = int(obj["metadata"]["resourceVersion"])
        self._history.append((rv, etype, plural, ns, obj, prev))
        self._history_rvs.append(rv)
        if len(self._history) > self.history_limit:
            drop = len(self._history) // 2
            self._compacted_rv = self._history_rvs[drop - 1]
            del self._history[:drop]
            del self._history_rvs[:drop]
        self._cond.notify_all()

    def _store_create(self, plural, ns, obj):
        meta = obj.setdefault("metadata", {})
        meta["uid"] = meta.get("uid") or str(uuid.uuid4())
        meta["creationTimestamp"] = rfc3339()
        meta["resourceVersion"] = str(self._bump())
        if ns is not None:
            meta["namespace"] = ns
        kind = RESOURCES[plural][0]
        obj = {"kind": kind, "apiVersion": "v1", **{k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}}
        self._objects[(plural, ns, meta["name"])] = obj
        self._record("ADDED", plural, ns, obj)
        return obj

    def _store_update(self, plural, ns, name, mutate, uid=None):
        cur = self._objects.get((plural, ns, name))
        if cur is None or (uid is not None and cur["metadata"]["uid"] != uid):
            return None
        new = copy.deepcopy(cur)
        mutate(new)
        if new == cur:
            return cur
        new["metadata"]["resourceVersion"] = str(self._bump())
        self._objects[(plural, ns, name)] = new
        self._record("MODIFIED", plural, ns, new, cur)
        return new

    def _store_remove(self, plural, ns, name, uid=None, orphan=False):
        cur = self._objects.get((plural, ns, name))
        if cur is None or (uid is not None and cur["metadata"]["uid"] != uid):
            return None
        del self._objects[(plural, ns, name)]
        gone = copy.deepcopy(cur)
        gone["metadata"]["resourceVersion"] = str(self._bump())
        self._record("DELETED", plural, ns, gone)
        self._after_remove(plural, ns, gone, orphan)
        return gone

    def _after_remove(self, plural, ns, gone, orphan):
        uid = gone["metadata"]["uid"]
        if plural == "pods":
            self._pvc_protection_sweep(ns)
        # garbage collector: dependents whose owner is gone
        if orphan:
            for (p, dns, dname), o in list(self._objects.items()):
                refs = o["metadata"].get("ownerReferences") or []
                if any(r.get("uid") == uid for r in refs):
                    self._store_update(p, dns, dname, lambda x: x["metadata"].__setitem__(
                        "ownerReferences", [r for r in refs if r.get("uid") != uid]))
            return
        self._later(self.gc_delay, self._collect_garbage)

    def _collect_garbage(self):
        with self._lock:
            uids = {o["metadata"]["uid"] for o in self._objects.values()}
            for (p, ns, name), o in sorted(self._objects.items(), key=_okey):
                refs = o["metadata"].get("ownerReferences") or []
                if refs and not any(r.get("uid") in uids for r in refs):
                    if p == "pods":
                        self._delete_pod(ns, name, None, {})
                    else:
                        self._store_remove(p, ns, name)

    def _later(self, delay, fn):
        def run():
            if not self._stopping:
                try:
                    fn()
                except Exception:
                    traceback.print_exc()
            try:
                self._timers.remove(t)
            except ValueError:
                pass
        t = threading.Timer(delay, run)
        t.daemon = True
        self._timers.append(t)
        t.start()

    def _history_after(self, rv):
        i = bisect.bisect_right(self._history_rvs, rv)
        return self._history[i:]

    # -- API operations ------------------------------------------------------------------

    def _api_create(self, plural, ns, body, query):
        if plural in READ_ONLY:
            raise ApiError(405, "MethodNotAllowed", f"create is not supported on {plural}")
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body of the request was in an unknown format")
        kind = RESOURCES[plural][0]
        if body.get("kind") not in (None, kind):
            raise ApiError(400, "BadRequest",
                           f"the API version in the data (v1) does not match the expected API version, "
                           f"or kind {body.get('kind')!r} is not {kind}")
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
        if ns is not None and meta.get("namespace") not in (None, "", ns):
            raise ApiError(400, "BadRequest",
                           "the namespace of the provided object does not match the namespace sent on the request")
        for k in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
                  "deletionGracePeriodSeconds", "selfLink", "generation"):
            meta.pop(k, None)
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + "".join(
                    _secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
            else:
                raise invalid(kind, "", [("metadata.name", "FieldValueRequired",
                                          "Required value: name or generateName is required")])
        name = meta["name"]
        causes = self._validate(plural, obj)
        if causes:
            raise invalid(kind, name, causes)
        with self._lock:
            if ns is not None and ("namespaces", None, ns) not in self._objects:
                raise not_found("namespaces", ns)
            key = (plural, ns, name)
            if key in self._objects:
                raise ApiError(409, "AlreadyExists", f'{plural} "{name}" already exists',
                               {"name": name, "kind": plural})
            obj = self._defaults(plural, ns, obj)
            if query.get("dryRun"):
                obj = copy.deepcopy(obj)
                obj["metadata"].update(uid=str(uuid.uuid4()), creationTimestamp=rfc3339())
                if ns is not None:
                    obj["metadata"]["namespace"] = ns
                return {"kind": kind, "apiVersion": "v1", **obj}
            stored = self._store_create(plural, ns, obj)
            self._after_create(plural, ns, stored)
            return stored

    def _api_replace(self, plural, ns, name, body):
        if plural in READ_ONLY:
            raise ApiError(405, "MethodNotAllowed", f"update is not supported on {plural}")
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body of the request was in an unknown format")
        with self._lock:
            cur = self._objects.get((plural, ns, name))
            if cur is None:
                raise not_found(plural, name)
            meta = body.get("metadata") or {}
            if meta.get("name") not in (None, name):
                raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
            if meta.get("resourceVersion") not in (None, "", cur["metadata"]["resourceVersion"]):
                raise ApiError(409, "Conflict",
                               f'Operation cannot be fulfilled on {plural} "{name}": the object has been '
                               "modified; please apply your changes to the latest version and try again",
                               {"name": name, "kind": plural})
            return self._apply_change(plural, ns, name, cur, body)

    def _api_patch(self, plural, ns, name, body):
        if plural in READ_ONLY:
            raise ApiError(405, "MethodNotAllowed", f"patch is not supported on {plural}")
        with self._lock:
            cur = self._objects.get((plural, ns, name))
            if cur is None:
                raise not_found(plural, name)
            return self._apply_change(plural, ns, name, cur, merge_patch(cur, body))

    def _apply_change(self, plural, ns, name, cur, new):
        new = copy.deepcopy(new)
        meta = new.setdefault("metadata", {})
        for k in ("uid", "creationTimestamp", "namespace", "name", "deletionTimestamp",
                  "deletionGracePeriodSeconds"):
            if k in cur["metadata"]:
                meta[k] = cur["metadata"][k]
            else:
                meta.pop(k, None)
        if plural == "pods":
            # pod spec is (nearly) immutable and status belongs to the kubelet
            new["spec"] = cur["spec"]
            new["status"] = cur["status"]
        causes = self._validate(plural, new)
        if causes:
            raise invalid(RESOURCES[plural][0], name, causes)

        def mutate(o):
            o.clear()
            o.update(new)
            o["kind"], o["apiVersion"] = RESOURCES[plural][0], "v1"
            o["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
        return self._store_update(plural, ns, name, mutate)

    def _api_delete(self, plural, ns, name, body, query):
        if plural in READ_ONLY:
            raise ApiError(405, "MethodNotAllowed", f"delete is not supported on {plural}")
        body = body if isinstance(body, dict) else {}
        opts = {}
        for k in ("gracePeriodSeconds", "propagationPolicy", "orphanDependents"):
            if k in query:
                opts[k] = query[k]
        opts.update({k: v for k, v in body.items() if v is not None})
        grace = opts.get("gracePeriodSeconds")
        if grace is not None:
            try:
                grace = int(grace)
            except (TypeError, ValueError):
                raise ApiError(400, "BadRequest", f"invalid gracePeriodSeconds {grace!r}")
        orphan = opts.get("propagationPolicy") == "Orphan" or opts.get("orphanDependents") in (True, "true")
        with self._lock:
            cur = self._objects.get((plural, ns, name))
            if cur is None:
                raise not_found(plural, name)
            pre = (body.get("preconditions") or {})
            if pre.get("uid") and pre["uid"] != cur["metadata"]["uid"]:
                raise ApiError(409, "Conflict",
                               f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: "
                               f"{cur['metadata']['uid']}", {"name": name, "kind": plural})
            if pre.get("resourceVersion") and pre["resourceVersion"] != cur["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", "Precondition failed: resourceVersion mismatch",
                               {"name": name, "kind": plural})
            if plural == "pods":
                return self._delete_pod(ns, name, grace, {"orphan": orphan})
            if plural == "persistentvolumeclaims":
                now = rfc3339()
                new = self._store_update(plural, ns, name, lambda o: (
                    o["metadata"].setdefault("deletionTimestamp", now),
                    o["metadata"].setdefault("deletionGracePeriodSeconds", 0)))
                self._pvc_protection_sweep(ns)
                return new
            if plural == "namespaces":
                return self._delete_namespace(name)
            gone = self._store_remove(plural, ns, name, orphan=orphan)
            return status_object(200, None, None, {"name": name, "kind": plural,
                                                   "uid": gone["metadata"]["uid"]}, status="Success")

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

    def _delete_namespace(self, name):
        if name in ("default", "kube-system", "kube-public"):
            raise ApiError(403, "Forbidden", f'namespaces "{name}" is forbidden: this namespace may not be deleted')
        for (p, ns, n) in [k for k in self._objects if k[1] == name]:
            if p == "pods":
                self._delete_pod(ns, n, 0, {})
            else:
                self._store_remove(p, ns, n)
        return self._store_remove("namespaces", None, name)

    def _pvc_protection_sweep(self, ns):
        used = set()
        for (p, pns, _), o in self._objects.items():
            if p == "pods" and pns == ns:
                for v in (o.get("spec") or {}).get("volumes") or []:
                    claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
                    if claim:
                        used.add(claim)
        for (p, pns, n), o in list(self._objects.items()):
            if p == "persistentvolumeclaims" and pns == ns and o["metadata"].get("deletionTimestamp") \
                    and n not in used:
                self._store_remove(p, pns, n)

    # -- validation and defaults ---------------------------------------------------------

    def _validate(self, plural, obj):
        causes = []
        meta = obj.get("metadata") or {}
        name = meta.get("name") or ""
        if plural in ("namespaces",):
            ok = len(name) <= 63 and DNS1123_LABEL.match(name)
            msg = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'"
        elif plural == "services":
            ok = len(name) <= 63 and DNS1035_LABEL.match(name)
            msg = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character"
        elif plural == "events":
            ok = len(name) <= 253
            msg = "must be no more than 253 characters"
        else:
            ok = len(name) <= 253 and DNS1123_SUBDOMAIN.match(name)
            msg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"
        if not ok:
            causes.append(("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {msg}'))
        for k, v in (meta.get("labels") or {}).items():
            if not _valid_label_key(k):
                causes.append(("metadata.labels", "FieldValueInvalid", f'Invalid value: "{k}": name part must consist of alphanumeric characters'))
            if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.match(v):
                causes.append(("metadata.labels", "FieldValueInvalid",
                               f'Invalid value: "{v}": a valid label must be an empty string or consist of alphanumeric characters, '
                               "'-', '_' or '.', and must start and end with an alphanumeric character"))
        for k, v in (meta.get("annotations") or {}).items():
            if not _valid_label_key(k):
                causes.append(("metadata.annotations", "FieldValueInvalid", f'Invalid value: "{k}"'))
            if not isinstance(v, str):
                causes.append((f"metadata.annotations[{k}]", "FieldValueInvalid", "must be a string"))
        for i, ref in enumerate(meta.get("ownerReferences") or []):
            for f in ("apiVersion", "kind", "name", "uid"):
                if not ref.get(f):
                    causes.append((f"metadata.ownerReferences[{i}].{f}", "FieldValueRequired", "Required value"))
        spec = obj.get("spec") or {}
        if plural == "pods":
            causes += self._validate_pod(spec)
        elif plural == "services":
            ports = spec.get("ports") or []
            if not ports and spec.get("clusterIP") != "None" and spec.get("type", "ClusterIP") != "ExternalName":
                causes.append(("spec.ports", "FieldValueRequired", "Required value"))
            for i, p in enumerate(ports):
                if not isinstance(p.get("port"), int) or not 0 < p["port"] < 65536:
                    causes.append((f"spec.ports[{i}].port", "FieldValueInvalid", "must be between 1 and 65535, inclusive"))
        elif plural == "persistentvolumeclaims":
            if not spec.get("accessModes"):
                causes.append(("spec.accessModes", "FieldValueRequired", "Required value: at least 1 access mode is required"))
            res = spec.get("resources") or {}
            if not (res.get("requests") or {}).get("storage"):
                causes.append(("spec.resources[storage]", "FieldValueRequired", "Required value"))
            _canon_resources(res, "spec.resources", causes)
        elif plural == "secrets":
            for k, v in (obj.get("data") or {}).items():
                try:
                    base64.b64decode(v, validate=True)
                except Exception:
                    causes.append((f"data[{k}]", "FieldValueInvalid", "illegal base64 data"))
        return causes

    def _validate_pod(self, spec):
        causes = []
        ctrs = spec.get("containers")
        if not ctrs:
            causes.append(("spec.containers", "FieldValueRequired", "Required value"))
        vol_names = set()
        for i, v in enumerate(spec.get("volumes") or []):
            n = v.get("name", "")
            if not n or len(n) > 63 or not DNS1123_LABEL.match(n):
                causes.append((f"spec.volumes[{i}].name", "FieldValueInvalid", f'Invalid value: "{n}"'))
            if n in vol_names:
                causes.append((f"spec.volumes[{i}].name", "FieldValueDuplicate", f'Duplicate value: "{n}"'))
            vol_names.add(n)
        if spec.get("restartPolicy") not in (None, "Always", "OnFailure", "Never"):
            causes.append(("spec.restartPolicy", "FieldValueNotSupported",
                           f'Unsupported value: "{spec.get("restartPolicy")}": supported values: "Always", "Never", "OnFailure"'))
        seen = set()
        for section in ("initContainers", "containers"):
            for i, c in enumerate(spec.get(section) or []):
                f = f"spec.{section}[{i}]"
                n = c.get("name", "")
                if not n or len(n) > 63 or not DNS1123_LABEL.match(n):
                    causes.append((f + ".name", "FieldValueInvalid", f'Invalid value: "{n}"'))
                if n in seen:
                    causes.append((f + ".name", "FieldValueDuplicate", f'Duplicate value: "{n}"'))
                seen.add(n)
                if not c.get("image"):
                    causes.append((f + ".image", "FieldValueRequired", "Required value"))
                for j, e in enumerate(c.get("env") or []):
                    en = e.get("name", "")
                    if not ENV_NAME.match(en):
                        causes.append((f"{f}.env[{j}].name", "FieldValueInvalid",
                                       f'Invalid value: "{en}": a valid environment variable name must consist of alphabetic characters, digits, \'_\', \'-\', or \'.\', and must not start with a digit'))
                    if "value" in e and e["value"] is not None and not isinstance(e["value"], str):
                        causes.append((f"{f}.env[{j}].value", "FieldValueInvalid", "must be a string"))
                for j, p in enumerate(c.get("ports") or []):
                    cp = p.get("containerPort")
                    if not isinstance(cp, int) or not 0 < cp < 65536:
                        causes.append((f"{f}.ports[{j}].containerPort", "FieldValueInvalid",
                                       f"Invalid value: {cp!r}: must be between 1 and 65535, inclusive"))
                    pn = p.get("name")
                    if pn is not None and (len(pn) > 15 or not IANA_SVC_NAME.match(pn) or "--" in pn):
                        causes.append((f"{f}.ports[{j}].name", "FieldValueInvalid", f'Invalid value: "{pn}"'))
                for j, m in enumerate(c.get("volumeMounts") or []):
                    if m.get("name") not in vol_names:
                        causes.append((f"{f}.volumeMounts[{j}].name", "FieldValueNotFound", f'Not found: "{m.get("name")}"'))
                    if not m.get("mountPath"):
                        causes.append((f"{f}.volumeMounts[{j}].mountPath", "FieldValueRequired", "Required value"))
                for arg_field in ("command", "args"):
                    vals = c.get(arg_field)
                    if vals is not None and (not isinstance(vals, list) or not all(isinstance(a, str) for a in vals)):
                        causes.append((f"{f}.{arg_field}", "FieldValueInvalid", "must be a list of strings"))
                _canon_resources(c.get("resources"), f + ".resources", causes)
        return causes

    def _defaults(self, plural, ns, obj):
        meta = obj["metadata"]
        if plural == "pods":
            spec = obj.setdefault("spec", {})
            spec.setdefault("restartPolicy", "Always")
            spec.setdefault("terminationGracePeriodSeconds", 30)
            spec.setdefault("dnsPolicy", "ClusterFirst")
            spec.setdefault("schedulerName", "default-scheduler")
            spec.setdefault("securityContext", {})
            spec.setdefault("serviceAccountName", "default")
            spec.setdefault("serviceAccount", spec["serviceAccountName"])
            spec.setdefault("enableServiceLinks", True)
            spec.setdefault("priority", 0)
            spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
            tols = spec.setdefault("tolerations", [])
            for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
                if not any(t.get("key") == key and t.get("effect") in (None, "", "NoExecute") for t in tols):
                    tols.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
            for section in ("initContainers", "containers"):
                for c in spec.get(section) or []:
                    c.setdefault("imagePullPolicy", _image_pull_policy(c.get("image", "")))
                    c.setdefault("terminationMessagePath", "/dev/termination-log")
                    c.setdefault("terminationMessagePolicy", "File")
                    c.setdefault("resources", {})
                    for p in c.get("ports") or []:
                        p.setdefault("protocol", "TCP")
            obj["status"] = {"phase": "Pending", "qosClass": _qos_class(spec)}
        elif plural == "services":
            spec = obj.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            if spec.get("clusterIP") != "None":
                ip = str(ipaddress.IPv4Address(self._next_cluster_ip))
                self._next_cluster_ip += 1
                spec["clusterIP"] = ip
            spec["clusterIPs"] = [spec["clusterIP"]]
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("sessionAffinity", "None")
            spec.setdefault("internalTrafficPolicy", "Cluster")
            for p in spec.get("ports") or []:
                p.setdefault("protocol", "TCP")
                p.setdefault("targetPort", p.get("port"))
            obj["status"] = {"loadBalancer": {}}
        elif plural == "persistentvolumeclaims":
            spec = obj.setdefault("spec", {})
            spec.setdefault("volumeMode", "Filesystem")
            if "storageClassName" not in spec and not (meta.get("annotations") or {}).get(
                    "volume.beta.kubernetes.io/storage-class"):
                spec["storageClassName"] = "standard"
            fins = meta.setdefault("finalizers", [])
            if "kubernetes.io/pvc-protection" not in fins:
                fins.append("kubernetes.io/pvc-protection")
            obj["status"] = {"phase": "Pending"}
        elif plural == "secrets":
            obj.setdefault("type", "Opaque")
            sd = obj.pop("stringData", None) or {}
            if sd:
                data = obj.setdefault("data", {})
                for k, v in sd.items():
                    data[k] = base64.b64encode(str(v).encode()).decode()
        elif plural == "namespaces":
            obj = self._namespace_defaults(obj)
        elif plural == "events":
            obj.setdefault("count", 1)
            obj.setdefault("type", "Normal")
        return obj

    def _namespace_defaults(self, obj):
        meta = obj.setdefault("metadata", {})
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
        return obj

    def _node_object(self):
        return {
            "metadata": {"name": self.node_name, "labels": dict(self._node_labels),
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
            "spec": {"taints": copy.deepcopy(self._node_taints)} if self._node_taints else {"taints": []},
            "status": {
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                              {"type": "Hostname", "address": self.node_name}],
                "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"},
                "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"},
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                "message": "kubelet is posting ready status",
                                "lastHeartbeatTime": rfc3339(), "lastTransitionTime": rfc3339()}],
                "nodeInfo": {"kubeletVersion": "v1.30.0-fake", "containerRuntimeVersion": "fake://1",
                             "operatingSystem": "linux", "architecture": "amd64",
                             "osImage": "fake", "kernelVersion": "fake", "kubeProxyVersion": "v1.30.0-fake",
                             "machineID": "", "systemUUID": "", "bootID": ""},
            },
        }

    def _after_create(self, plural, ns, obj):
        if plural == "pods":
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
        elif plural == "persistentvolumeclaims":
            if obj["spec"].get("storageClassName") != "":
                self._later(self.pvc_bind_delay, lambda: self._bind_pvc(ns, obj["metadata"]["name"],
                                                                         obj["metadata"]["uid"]))

    def _bind_pvc(self, ns, name, uid):
        with self._lock:
            def mutate(o):
                o["spec"]["volumeName"] = f"pvc-{uid}"
                ann = o["metadata"].setdefault("annotations", {})
                ann["pv.kubernetes.io/bind-completed"] = "yes"
                ann["pv.kubernetes.io/bound-by-controller"] = "yes"
                ann["volume.kubernetes.io/storage-provisioner"] = "fake.k8s.io/hostpath"
                o["status"] = {"phase": "Bound", "accessModes": list(o["spec"].get("accessModes") or []),
                               "capacity": {"storage": (o["spec"].get("resources") or {}).get(
                                   "requests", {}).get("storage", "0")}}
            if self._store_update("persistentvolumeclaims", ns, name, mutate, uid=uid):
                self._emit_event(ns, "PersistentVolumeClaim", name, uid, "ProvisioningSucceeded",
                                 f"Successfully provisioned volume pvc-{uid}",
                                 component="fake.k8s.io/hostpath")

    # -- events --------------------------------------------------------------------------

    def _emit_event(self, ns, kind, name, uid, reason, message, etype="Normal",
                    component="kubelet", field_path=None, dedup=False):
        """Record a core/v1 Event (dedup: same object+reason+message -> count + 1)."""
        with self._lock:
            if self._stopping or ("namespaces", None, ns) not in self._objects:
                return None
            now = rfc3339()
            key = (uid, reason, message, field_path)
            if dedup and key in self._event_keys:
                ens, ename = self._event_keys[key]
                upd = self._store_update("events", ens, ename, lambda e: e.update(
                    count=int(e.get("count") or 1) + 1, lastTimestamp=now))
                if upd is not None:
                    return upd
            self._event_seq += 1
            ename = f"{name}.{time.time_ns() + self._event_seq:x}"
            inv = {"kind": kind, "namespace": ns, "name": name, "uid": uid, "apiVersion": "v1"}
            cur = self._objects.get((RESOURCES_BY_KIND.get(kind, ""), ns, name))
            if cur is not None:
                inv["resourceVersion"] = cur["metadata"]["resourceVersion"]
            if field_path:
                inv["fieldPath"] = field_path
            source = {"component": component}
            if component == "kubelet":
                source["host"] = self.node_name
            ev = {"metadata": {"name": ename}, "involvedObject": inv, "reason": reason,
                  "message": message, "source": source, "firstTimestamp": now, "lastTimestamp": now,
                  "count": 1, "type": etype, "eventTime": None, "reportingComponent": component,
                  "reportingInstance": self.node_name if component == "kubelet" else ""}
            stored = self._store_create("events", ns, ev)
            if dedup:
                self._event_keys[key] = (ns, ename)
            return stored

    def _pod_event(self, rt, reason, message, etype="Normal", component="kubelet", ctr=None, dedup=False):
        fp = None
        if ctr is not None:
            fp = f"spec.{'initContainers' if ctr.init else 'containers'}{{{ctr.name}}}"
        return self._emit_event(rt.ns, "Pod", rt.name, rt.uid, reason, message, etype, component, fp, dedup)

    # -- kubelet -------------------------------------------------------------------------

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

    # -- HTTP ----------------------------------------------------------------------------

    def _log_request(self, entry):
        with self._lock:
            self._requests.append(entry)

    def _list_objects(self, plural, ns, lsel, fsel):
        items = []
        for (p, ons, _), o in sorted(self._objects.items(), key=_okey):
            if p != plural or (ns is not None and ons != ns):
                continue
            if labels_match(lsel, o["metadata"].get("labels")) and fields_match(fsel, o):
                items.append(o)
        return items


RESOURCES_BY_KIND = {k: p for p, (k, _) in RESOURCES.items()}


def _okey(item):
    (p, ns, name), _ = item
    return (p, ns or "", name)


def _qos_class(spec):
    ctrs = (spec.get("containers") or []) + (spec.get("initContainers") or [])
    any_set, guaranteed = False, True
    for c in ctrs:
        res = c.get("resources") or {}
        lim, req = res.get("limits") or {}, res.get("requests") or {}
        if lim or req:
            any_set = True
        for r in ("cpu", "memory"):
            if r not in lim or (r in req and str(req[r]) != str(lim[r])):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


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


# ---------------------------------------------------------------------------------------------
# HTTP handler


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # a client went away mid-request; nothing to report
        super().handle_error(request, client_address)


def _route(path):
    """(plural, namespace, name, subresource, watch_prefix) or None for /api/v1/... paths."""
    segs = [urllib.parse.unquote(s) for s in path.split("/") if s]
    if len(segs) < 3 or segs[0] != "api" or segs[1] != "v1":
        return None
    segs = segs[2:]
    watch = False
    if segs and segs[0] == "watch":
        watch, segs = True, segs[1:]
    if len(segs) >= 3 and segs[0] == "namespaces" and segs[2] in RESOURCES and RESOURCES[segs[2]][1]:
        ns, plural, rest = segs[1], segs[2], segs[3:]
    elif segs and segs[0] in RESOURCES:
        ns, plural, rest = None, segs[0], segs[1:]
        if rest and RESOURCES[plural][1]:
            return None  # a namespaced kind needs /namespaces/<ns>/ for one object
    else:
        return None
    if len(rest) > 2:
        return None
    name = rest[0] if rest else None
    sub = rest[1] if len(rest) > 1 else None
    return plural, ns, name, sub, watch


def _make_handler(cluster):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fake-kube-apiserver/1"

        def log_message(self, fmt, *args):
            if cluster.verbose:
                sys.stderr.write("fake-k8s: " + (fmt % args) + "\n")

        def do_GET(self):
            self._dispatch("GET")

        def do_POST(self):
            self._dispatch("POST")

        def do_PUT(self):
            self._dispatch("PUT")

        def do_PATCH(self):
            self._dispatch("PATCH")

        def do_DELETE(self):
            self._dispatch("DELETE")

        # -- plumbing
        def _read_body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    line = self.rfile.readline(65537)
                    size = int(line.split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline(65537)
                return b"".join(chunks)
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n > 0 else b""

        def _send(self, code, data, ctype="application/json"):
            if not isinstance(data, (bytes, bytearray)):
                data = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-cache, private")
            self.end_headers()
            self.wfile.write(data)

        def _dispatch(self, method):
            parts = urllib.parse.urlsplit(self.path)
            path = parts.path
            query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items()}
            try:
                raw = self._read_body()
            except Exception:
                self.close_connection = True
                return
            body = None
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = _BAD_JSON
            if path.startswith("/fake/"):
                try:
                    self._fake(method, path, query, body)
                except ApiError as e:
                    self._send(e.code, e.status)
                return
            if path in ("/healthz", "/livez", "/readyz"):
                self._send(200, b"ok", "text/plain; charset=utf-8")
                return
            route = _route(path) if path.startswith("/api/") else None
            entry = {"time": time.time(), "method": method, "path": path, "query": query,
                     "body": None if body is _BAD_JSON else body, "resource": None, "namespace": None,
                     "name": None, "verb": None, "watch": False, "code": None,
                     "user_agent": self.headers.get("User-Agent", "")}
            if route:
                plural, ns, name, sub, wprefix = route
                watch = wprefix or query.get("watch") in ("true", "1", "True")
                entry.update(resource=plural + (f"/{sub}" if sub else ""), namespace=ns, name=name, watch=watch,
                             verb={"GET": ("watch" if watch else ("get" if name else "list")),
                                   "POST": "create", "PUT": "update", "PATCH": "patch",
                                   "DELETE": "delete" if name else "deletecollection"}[method])
            else:
                entry["verb"] = method.lower()
            cluster._log_request(entry)
            auth = self.headers.get("Authorization", "")
            if auth != f"Bearer {cluster.token}":
                entry["code"] = 401
                self._send(401, status_object(401, "Unauthorized", "Unauthorized"))
                return
            try:
                code = self._api(method, path, query, body, route, entry)
            except ApiError as e:
                code = e.code
                self._send(e.code, e.status)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
                code = 499
            except Exception as e:  # a bug in the fake: say so
                traceback.print_exc()
                code = 500
                try:
                    self._send(500, status_object(500, "InternalError", f"fake apiserver: {e!r}"))
                except Exception:
                    self.close_connection = True
            entry["code"] = code

        def _api(self, method, path, query, body, route, entry):
            if body is _BAD_JSON:
                raise ApiError(400, "BadRequest", "the body of the request was in an unknown format")
            if route is None:
                if method == "GET" and path in ("/version", "/version/"):
                    self._send(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0-fake",
                                     "gitCommit": "0" * 40, "gitTreeState": "clean",
                                     "buildDate": "2024-01-01T00:00:00Z", "goVersion": "go1.22.0",
                                     "compiler": "gc", "platform": "linux/amd64"})
                    return 200
                if method == "GET" and path in ("/api", "/api/"):
                    self._send(200, {"kind": "APIVersions", "versions": ["v1"],
                                     "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                                     "serverAddress": f"{cluster.host}:{cluster.port}"}]})
                    return 200
                if method == "GET" and path in ("/api/v1", "/api/v1/"):
                    self._send(200, _api_resource_list())
                    return 200
                if method == "GET" and path in ("/apis", "/apis/"):
                    self._send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
                    return 200
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            plural, ns, name, sub, _ = route
            if RESOURCES[plural][1] and ns is None and (method != "GET" or name is not None):
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            if sub is not None and (plural, sub) not in SUBRESOURCES:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            if method == "GET":
                if sub == "log":
                    return self._pod_log(ns, name, query)
                lsel = parse_label_selector(query.get("labelSelector", ""))
                fsel = parse_field_selector(query.get("fieldSelector", ""), plural)
                if name is not None:
                    if entry["watch"]:
                        fsel = fsel + [("metadata.name", "=", name)]
                        return self._watch(plural, ns, query, lsel, fsel)
                    with cluster._lock:
                        obj = cluster._objects.get((plural, ns if RESOURCES[plural][1] else None, name))
                    if obj is None:
                        raise not_found(plural, name)
                    self._send(200, obj)
                    return 200
                if entry["watch"]:
                    return self._watch(plural, ns, query, lsel, fsel)
                return self._list(plural, ns, query, lsel, fsel)
            if sub is not None:
                raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on {plural}/{sub}")
            if method == "POST":
                if name is not None:
                    raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
                obj = cluster._api_create(plural, ns, body if body is not None else {}, query)
                self._send(201, obj)
                return 201
            if name is None:
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            if method == "PUT":
                self._send(200, cluster._api_replace(plural, ns, name, body))
                return 200
            if method == "PATCH":
                self._send(200, cluster._api_patch(plural, ns, name, body or {}))
                return 200
            if method == "DELETE":
                self._send(200, cluster._api_delete(plural, ns, name, body, query))
                return 200
            raise ApiError(405, "MethodNotAllowed", "method not allowed")

        def _list(self, plural, ns, query, lsel, fsel):
            match = query.get("resourceVersionMatch")
            if match and not query.get("resourceVersion") and not query.get("continue"):
                raise invalid("ListOptions", "", [("resourceVersionMatch", "FieldValueForbidden",
                                                   "Forbidden: resourceVersionMatch is forbidden unless "
                                                   "resourceVersion is provided")])
            if match not in (None, "", "NotOlderThan", "Exact"):
                raise invalid("ListOptions", "", [("resourceVersionMatch", "FieldValueNotSupported",
                                                   f'Unsupported value: "{match}"')])
            if match == "Exact" and query.get("resourceVersion") == "0":
                raise invalid("ListOptions", "", [("resourceVersionMatch", "FieldValueForbidden",
                                                   'Forbidden: resourceVersionMatch "exact" is forbidden for '
                                                   'resourceVersion "0"')])
            with cluster._lock:
                items = cluster._list_objects(plural, ns, lsel, fsel)
                rv = cluster._rv
            start = query.get("continue")
            if start:
                try:
                    tok = json.loads(base64.urlsafe_b64decode(start.encode()).decode())
                    rv, after = int(tok["rv"]), tok["start"]
                except Exception:
                    raise ApiError(400, "BadRequest", "continue key is not valid")
                if rv < cluster._compacted_rv:
                    raise ApiError(410, "Expired",
                                   "The provided continue parameter is too old to display a consistent list result.")
                items = [o for o in items if (o["metadata"].get("namespace") or "", o["metadata"]["name"]) > tuple(after)]
            meta = {"resourceVersion": str(rv)}
            limit = query.get("limit")
            try:
                limit = int(limit) if limit else 0
            except ValueError:
                limit = 0
            if limit > 0 and len(items) > limit:
                last = items[limit - 1]["metadata"]
                meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                    {"rv": rv, "start": [last.get("namespace") or "", last["name"]]}).encode()).decode()
                meta["remainingItemCount"] = len(items) - limit
                items = items[:limit]
            self._send(200, {"kind": RESOURCES[plural][0] + "List", "apiVersion": "v1",
                             "metadata": meta, "items": items})
            return 200

        def _pod_log(self, ns, name, query):
            with cluster._lock:
                pod = cluster._objects.get(("pods", ns, name))
            if pod is None:
                raise not_found("pods", name)
            ctrs = [c.get("name") for c in pod["spec"].get("containers") or []]
            container = query.get("container") or (ctrs[0] if len(ctrs) == 1 else None)
            if container is None:
                raise ApiError(400, "BadRequest",
                               f"a container name must be specified for pod {name}, choose one of: {ctrs}")
            if container not in ctrs:
                raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
            text = cluster.pod_log(ns, name, container)
            tail = query.get("tailLines")
            if tail and tail.isdigit():
                lines = text.splitlines(True)
                text = "".join(lines[-int(tail):]) if int(tail) else ""
            self._send(200, text.encode(), "text/plain")
            return 200

        # -- watch
        def _chunk(self, data):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _event(self, etype, obj):
            self._chunk(json.dumps({"type": etype, "object": obj}, separators=(",", ":")).encode() + b"\n")

        def _bookmark(self, plural, rv, annotations=None):
            meta = {"resourceVersion": str(rv)}
            if annotations:
                meta["annotations"] = annotations
            self._event("BOOKMARK", {"kind": RESOURCES[plural][0], "apiVersion": "v1", "metadata": meta})

        def _watch(self, plural, ns, query, lsel, fsel):
            try:
                timeout = int(query.get("timeoutSeconds") or cluster.max_watch_seconds)
            except ValueError:
                raise ApiError(400, "BadRequest", "invalid timeoutSeconds")
            timeout = max(0, min(timeout, cluster.max_watch_seconds)) or cluster.max_watch_seconds
            rvp = query.get("resourceVersion")
            bookmarks = query.get("allowWatchBookmarks") in ("true", "1", "True")
            send_initial = query.get("sendInitialEvents") in ("true", "1", "True")
            initial, too_old = [], False
            with cluster._lock:
                if rvp in (None, "", "0") or send_initial:
                    initial = cluster._list_objects(plural, ns, lsel, fsel)
                    pos = cluster._rv
                else:
                    try:
                        pos = int(rvp)
                    except ValueError:
                        raise ApiError(400, "BadRequest", f"invalid resource version: {rvp!r}")
                    too_old = pos < cluster._compacted_rv
                    current = cluster._rv
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache, private")
            self.end_headers()
            try:
                if too_old:
                    self._event("ERROR", status_object(410, "Expired",
                                                       f"too old resource version: {pos} ({current})"))
                    self._chunk(b"")
                    return 200
                for o in initial:
                    self._event("ADDED", o)
                if send_initial:
                    self._bookmark(plural, pos, {"k8s.io/initial-events-end": "true"})
                end = time.monotonic() + timeout
                next_bm = time.monotonic() + cluster.bookmark_interval
                while True:
                    expired = False
                    with cluster._cond:
                        while True:
                            if cluster._stopping:
                                entries = None
                                break
                            if pos < cluster._compacted_rv:
                                expired = True
                                entries = []
                                break
                            entries = cluster._history_after(pos)
                            now = time.monotonic()
                            if entries or now >= end or (bookmarks and now >= next_bm):
                                break
                            cluster._cond.wait(min(end, next_bm if bookmarks else end) - now)
                    if entries is None:
                        break
                    if expired:
                        self._event("ERROR", status_object(410, "Expired",
                                                           f"too old resource version: {pos} ({cluster._rv})"))
                        break
                    for rv, etype, p, ons, obj, prev in entries:
                        pos = rv
                        if p != plural or (ns is not None and ons != ns):
                            continue
                        now_in = labels_match(lsel, obj["metadata"].get("labels")) and fields_match(fsel, obj)
                        if etype == "MODIFIED" and (lsel or fsel):
                            # like the watch cache: entering the selection is ADDED, leaving it DELETED
                            was_in = labels_match(lsel, prev["metadata"].get("labels")) and fields_match(fsel, prev)
                            if now_in and not was_in:
                                etype = "ADDED"
                            elif was_in and not now_in:
                                etype, now_in = "DELETED", True
                        if now_in:
                            self._event(etype, obj)
                    now = time.monotonic()
                    if now >= end:
                        if bookmarks:
                            self._bookmark(plural, pos)
                        break
                    if bookmarks and now >= next_bm:
                        self._bookmark(plural, pos)
                        next_bm = now + cluster.bookmark_interval
                self._chunk(b"")
            except (BrokenPipeError, ConnectionResetError, OSError):
                self.close_connection = True
            return 200

        # -- /fake/ hooks
        def _fake(self, method, path, query, body):
            segs = [urllib.parse.unquote(s) for s in path.split("/") if s][1:]
            body = body if isinstance(body, dict) else {}
            if segs == ["info"]:
                return self._send(200, {"url": cluster.url, "token": cluster.token,
                                        "kubeconfig": cluster.kubeconfig, "workdir": cluster.workdir,
                                        "namespace": cluster.namespace,
                                        "resourceVersion": str(cluster.resource_version)})
            if segs == ["requests"]:
                if method == "DELETE":
                    cluster.clear_request_log()
                    return self._send(200, {"ok": True})
                return self._send(200, cluster.request_log())
            if segs == ["kill"] and method == "POST":
                ok = cluster.kill_notebook(body.get("namespace") or cluster.namespace, body.get("name"),
                                           int(body.get("code", 0)), body.get("container") or "notebook")
                return self._send(200 if ok else 404, {"ok": ok})
            if segs == ["node-labels"] and method in ("POST", "PUT"):
                cluster.set_node_labels(body.get("labels") or {}, replace=body.get("replace", True))
                return self._send(200, {"ok": True})
            if segs == ["node-taints"] and method in ("POST", "PUT"):
                cluster.set_node_taints(body.get("taints") or [])
                return self._send(200, {"ok": True})
            if segs == ["compact"] and method == "POST":
                cluster.compact()
                return self._send(200, {"ok": True})
            if len(segs) == 4 and segs[0] == "objects":
                try:
                    obj = cluster.get(segs[1], None if segs[2] == "-" else segs[2], segs[3])
                except KeyError as e:
                    raise ApiError(404, "NotFound", str(e))
                if obj is None:
                    raise ApiError(404, "NotFound", "no such object")
                return self._send(200, obj)
            if len(segs) == 3 and segs[0] == "logs":
                return self._send(200, cluster.pod_log(segs[1], segs[2], query.get("container") or "notebook").encode(),
                                  "text/plain; charset=utf-8")
            raise ApiError(404, "NotFound", "unknown /fake/ hook")

    return Handler


_BAD_JSON = object()


def _api_resource_list():
    res = []
    for plural, (kind, nsd) in RESOURCES.items():
        verbs = ["get", "list", "watch"] if plural in READ_ONLY else [
            "create", "delete", "get", "list", "patch", "update", "watch"]
        r = {"name": plural, "singularName": kind.lower(), "namespaced": nsd, "kind": kind, "verbs": verbs}
        if plural in SHORT_NAMES:
            r["shortNames"] = SHORT_NAMES[plural]
        res.append(r)
    res.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]})
    return {"kind": "APIResourceList", "groupVersion": "v1", "resources": res}


# ---------------------------------------------------------------------------------------------
# CLI


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake Kubernetes API server with a fake kubelet (tests only).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 (default): pick a free port")
    ap.add_argument("--token", default=None, help="bearer token (default: random)")
    ap.add_argument("--namespace", default="default", help="the kubeconfig context's namespace")
    ap.add_argument("--extra-namespace", action="append", default=[], help="namespace to pre-create")
    ap.add_argument("--node-label", action="append", default=None, metavar="K=V",
                    help="node label (repeatable; replaces the default kubernetes.io/hostname label)")
    ap.add_argument("--workdir", default=None, help="directory for the kubeconfig and pod logs (kept)")
    ap.add_argument("--kubeconfig-out", default=None, help="also write the kubeconfig here")
    ap.add_argument("--max-seconds", type=float, default=3600.0, help="exit after this long (default 3600)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    labels = None
    if args.node_label is not None:
        labels = dict(kv.split("=", 1) for kv in args.node_label)
    cluster = FakeCluster(host=args.host, port=args.port, token=args.token, namespace=args.namespace,
                          namespaces=args.extra_namespace, node_labels=labels, workdir=args.workdir,
                          verbose=args.verbose)
    cluster.start()
    if args.kubeconfig_out:
        with open(args.kubeconfig_out, "w") as f:
            f.write(cluster.kubeconfig_text())
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    print(json.dumps({"url": cluster.url, "token": cluster.token,
                      "kubeconfig": args.kubeconfig_out or cluster.kubeconfig,
                      "workdir": cluster.workdir}), flush=True)
    try:
        done.wait(args.max_seconds)
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
