"""The object store (StoreMixin of FakeCluster): one global resource version counter, the change
history that watches read, create/update/patch/delete as the API server does them, events, and
the controllers (garbage collector, PVC protection and binding)."""

import bisect
import copy
import secrets as _secrets
import threading
import time
import traceback
import uuid

from .objects import (ALIASES, READ_ONLY, RESOURCES, RESOURCES_BY_KIND, ApiError, invalid, merge_patch,
                      not_found, rfc3339, status_object)
from .selectors import fields_match, labels_match


def _okey(item):
    (p, ns, name), _ = item
    return (p, ns or "", name)


class StoreMixin:
    """The object store, its history and the API operations (FakeCluster's)."""

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

    # -- controllers ---------------------------------------------------------------------

    def _after_create(self, plural, ns, obj):
        if plural == "pods":
            self._kubelet_admit(ns, obj)
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

    # -- queries -------------------------------------------------------------------------

    def _list_objects(self, plural, ns, lsel, fsel):
        items = []
        for (p, ons, _), o in sorted(self._objects.items(), key=_okey):
            if p != plural or (ns is not None and ons != ns):
                continue
            if labels_match(lsel, o["metadata"].get("labels")) and fields_match(fsel, o):
                items.append(o)
        return items
