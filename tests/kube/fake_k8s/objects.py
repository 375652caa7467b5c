"""The resource table, v1 Status objects and API errors, quantities, merge patch, and what
admission does to an object before it is stored: validation and defaulting (AdmissionMixin)."""

import base64
import copy
import ipaddress
import re
import time

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
RESOURCES_BY_KIND = {k: p for p, (k, _) in RESOURCES.items()}
READ_ONLY = {"nodes"}
SUBRESOURCES = {("pods", "log")}

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")


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


def _valid_label_key(key):
    if "/" in key:
        prefix, name = key.split("/", 1)
        if not prefix or len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix):
            return False
    else:
        name = key
    return 0 < len(name) <= 63 and bool(LABEL_NAME.match(name))


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


def _image_pull_policy(image):
    last = image.split("/")[-1]
    if "@" in last:
        return "IfNotPresent"
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


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


class AdmissionMixin:
    """Validation and defaulting of objects on create/update (FakeCluster's)."""

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
