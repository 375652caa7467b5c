"""Label and field selectors: parsing (errors are 400 BadRequest Status objects, like a real API
server's) and matching."""

import re

from .objects import LABEL_VALUE, ApiError, _valid_label_key

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
