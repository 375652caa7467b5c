"""A fake Kubernetes API server (core v1 only) with a fake kubelet that really runs the notebook
container of each pod as a local process. Python standard library only.

Written for oxhub's KubeSpawner tests (kube-rs client) and checked against the real
jupyterhub-kubespawner 7.1.0 (kubernetes_asyncio client) by tests/kube/check_fake.py. No real
Kubernetes can run where these tests run; this is the cluster they talk to.

As a module:

    from fake_k8s import FakeCluster      # or: from fake_apiserver import FakeCluster
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

Layout of the package
---------------------
objects.py    resource table, v1 Status objects and ApiError, quantities, merge patch, admission
              (validation and defaulting: AdmissionMixin)
selectors.py  label and field selector parsing and matching
store.py      the object store: resource versions, history (what watches read), API operations,
              events, garbage collector, PVC binder (StoreMixin)
scheduler.py  scheduling (node selector/affinity, taints, PVCs), secret volumes, pod IPs (SchedulerMixin)
kubelet.py    container processes, probes, restart/backoff, graceful deletion, pod status (KubeletMixin)
http.py       the HTTP request handler: routing, auth, list/watch streaming, /fake/ hooks
cluster.py    FakeCluster, gluing the mixins together, and its public test API
cli.py        the command line (also reached as tests/kube/fake_apiserver.py)
"""

from .cluster import KUBESPAWNER_VERBS, Z2JH_HUB_ROLE, FakeCluster
from .cli import main

__all__ = ["FakeCluster", "Z2JH_HUB_ROLE", "KUBESPAWNER_VERBS", "main"]
