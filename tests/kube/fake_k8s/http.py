"""The HTTP side: the request handler (routing, auth, the request log, get/list/watch streaming,
create/update/patch/delete, pods/log, discovery, the /fake/ test hooks)."""

import base64
import http.server
import json
import sys
import time
import traceback
import urllib.parse

from .objects import (READ_ONLY, RESOURCES, SHORT_NAMES, SUBRESOURCES, ApiError, invalid, not_found,
                      status_object)
from .selectors import fields_match, labels_match, parse_field_selector, parse_label_selector

MAX_STREAM_LINE = 1 << 20


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
