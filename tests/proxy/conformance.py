"""configurable-http-proxy conformance: the REST API and proxying behaviour of
shared/reference/proxy-api.md, checked against any proxy command.

    python3 tests/proxy/conformance.py -- oxhub proxy
    python3 tests/proxy/conformance.py -- node .../configurable-http-proxy/bin/configurable-http-proxy

The same file passing against the real configurable-http-proxy 5.3.0 is what shows it describes
CHP. Standard library only. Ends with a line `N passed, N failed`.
"""

import base64
import hashlib
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from common import free_ports, start_logged, stop_process, wait_for  # noqa: E402

TOKEN = "conformance-secret-token"
PROXY_CMD = []


class Backend(BaseHTTPRequestHandler):
    """Answers every request with JSON describing it; `/status/<code>` answers that code;
    `/error/<code>` (as an error target) answers a recognisable error page."""

    protocol_version = "HTTP/1.1"
    name = "backend"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        m = re.search(r"/status/(\d+)", self.path)
        code = int(m.group(1)) if m and not self.server.error_pages else 200
        payload = json.dumps(
            {
                "backend": self.server.name,
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            }
        ).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args):
        pass


def start_backend(name, error_pages=False):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    server.daemon_threads = True
    server.name = name
    server.error_pages = error_pages
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "http://127.0.0.1:%d" % server.server_address[1]


def start_ws_echo():
    """A minimal websocket echo server (RFC 6455 handshake, unmasked text frames back)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)

    def serve(conn):
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            head = data.split(b"\r\n\r\n", 1)[0].decode()
            key = re.search(r"(?im)^sec-websocket-key:\s*(\S+)", head).group(1)
            path = head.split(" ")[1]
            accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            conn.sendall(
                ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\nX-Backend-Path: %s\r\n\r\n" % (accept, path)).encode()
            )
            while True:
                msg = read_frame(conn)
                if msg is None:
                    return
                conn.sendall(make_frame(msg, mask=False))

    def loop():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return sock, "http://127.0.0.1:%d" % sock.getsockname()[1]


def make_frame(payload, mask=True):
    header = bytes([0x81])
    n = len(payload)
    maskbit = 0x80 if mask else 0
    if n < 126:
        header += bytes([maskbit | n])
    else:
        header += bytes([maskbit | 126]) + n.to_bytes(2, "big")
    if mask:
        key = os.urandom(4)
        return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return header + payload


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_frame(conn):
    head = recv_exact(conn, 2)
    if head is None or head[0] & 0x0F == 0x8:
        return None
    n = head[1] & 0x7F
    if n == 126:
        n = int.from_bytes(recv_exact(conn, 2), "big")
    key = recv_exact(conn, 4) if head[1] & 0x80 else None
    payload = recv_exact(conn, n)
    if key:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return payload


class Proxy:
    def __init__(self, *extra):
        self.port, self.api_port = free_ports(2)
        env = dict(os.environ, CONFIGPROXY_AUTH_TOKEN=TOKEN)
        self.proc = start_logged(
            PROXY_CMD + ["--ip", "127.0.0.1", "--port", str(self.port), "--api-ip", "127.0.0.1",
                         "--api-port", str(self.api_port), "--log-level", "error", *extra],
            os.devnull, "w", env=env,
        )

        def answers():
            try:
                return self.api("GET", "/api/routes")[0] == 200
            except OSError:
                return False
        if not wait_for(answers, 20, every=0.05):
            self.stop()
            raise RuntimeError("proxy did not start: %s" % PROXY_CMD)

    def stop(self):
        stop_process(self.proc, timeout=10)

    def api(self, method, path, body=None, token=TOKEN, raw=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=10)
        headers = {}
        if token is not None:
            headers["Authorization"] = "token " + token
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        return resp.status, payload, resp

    def routes(self, query=""):
        status, body, _ = self.api("GET", "/api/routes" + query)
        assert status == 200, status
        return json.loads(body)

    def get(self, path, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp.status, body, resp


ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class RestApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proxy = Proxy()
        cls.b1, cls.url1 = start_backend("one")

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.b1.shutdown()

    def tearDown(self):
        for key in self.proxy.routes():
            self.proxy.api("DELETE", "/api/routes" + urllib.parse.quote(key))

    def test_token_is_required(self):
        self.assertEqual(self.proxy.api("GET", "/api/routes", token=None)[:2], (403, b""))
        self.assertEqual(self.proxy.api("GET", "/api/routes", token="wrong")[:2], (403, b""))
        self.assertEqual(self.proxy.api("POST", "/api/routes/x", {"target": self.url1}, token=None)[0], 403)
        self.assertEqual(self.proxy.api("DELETE", "/api/routes/x", token="wrong")[0], 403)
        self.assertEqual(self.proxy.routes(), {})

    def test_add_get_and_list_routes(self):
        status, body, _ = self.proxy.api("POST", "/api/routes/user/alice", {"target": self.url1, "user": "alice", "jupyterhub": True})
        self.assertEqual((status, body), (201, b""))
        routes = self.proxy.routes()
        self.assertEqual(list(routes), ["/user/alice"])
        route = routes["/user/alice"]
        self.assertEqual(route["target"], self.url1)
        self.assertEqual(route["user"], "alice")
        self.assertIs(route["jupyterhub"], True)
        self.assertRegex(route["last_activity"], ISO_MS)
        status, body, resp = self.proxy.api("GET", "/api/routes/user/alice")
        self.assertEqual(status, 200)
        self.assertIn("application/json", resp.getheader("Content-Type"))
        self.assertEqual(json.loads(body)["user"], "alice")
        self.assertEqual(self.proxy.api("GET", "/api/routes/user/nobody")[0], 404)
        self.assertEqual(json.loads(self.proxy.api("GET", "/api/routes/")[1]), routes)

    def test_keys_are_normalised(self):
        self.proxy.api("POST", "/api/routes/user/bob/", {"target": self.url1})
        self.proxy.api("POST", "/api/routes/services/cull%20er", {"target": self.url1})
        self.assertEqual(sorted(self.proxy.routes()), ["/services/cull er", "/user/bob"])
        self.assertEqual(self.proxy.api("GET", "/api/routes/user/bob/")[0], 200)
        self.assertEqual(self.proxy.api("POST", "/api/routes", {"target": self.url1})[0], 201)
        self.assertIn("/", self.proxy.routes())

    def test_post_replaces(self):
        self.proxy.api("POST", "/api/routes/a", {"target": self.url1, "v": 1})
        self.proxy.api("POST", "/api/routes/a", {"target": "http://127.0.0.1:9", "v": 2})
        route = self.proxy.routes()["/a"]
        self.assertEqual((route["target"], route["v"]), ("http://127.0.0.1:9", 2))

    def test_bad_bodies(self):
        status, body, _ = self.proxy.api("POST", "/api/routes/a", raw=b"{nope")
        self.assertEqual(status, 400)
        self.assertTrue(body.startswith(b"Body not valid JSON"), body)
        for bad in ({}, {"target": 5}, {"user": "x"}, [1, 2]):
            status, body, _ = self.proxy.api("POST", "/api/routes/a", bad)
            self.assertEqual((status, body), (400, b"Must specify 'target' as string"), bad)
        self.assertEqual(self.proxy.routes(), {})

    def test_delete(self):
        self.proxy.api("POST", "/api/routes/a", {"target": self.url1})
        self.assertEqual(self.proxy.api("DELETE", "/api/routes/a")[:2], (204, b""))
        self.assertEqual(self.proxy.api("DELETE", "/api/routes/a")[0], 404)
        self.assertEqual(self.proxy.routes(), {})

    def test_other_methods_and_paths(self):
        status, body, _ = self.proxy.api("PUT", "/api/routes/a", {"target": self.url1})
        self.assertEqual((status, body), (405, b"Method not supported"))
        self.assertEqual(self.proxy.api("GET", "/api/other")[0], 404)
        self.assertEqual(self.proxy.api("GET", "/api/routesx")[0], 404)

    def test_inactive_since(self):
        self.proxy.api("POST", "/api/routes/a", {"target": self.url1})
        self.assertEqual(list(self.proxy.routes("?inactive_since=2100-01-01T00:00:00.000Z")), ["/a"])
        self.assertEqual(list(self.proxy.routes("?inactiveSince=2100-01-01T00:00:00Z")), ["/a"])
        self.assertEqual(self.proxy.routes("?inactive_since=2000-01-01T00:00:00.000Z"), {})
        status, body, _ = self.proxy.api("GET", "/api/routes?inactive_since=not-a-date")
        self.assertEqual((status, body), (400, b"Invalid datestamp 'not-a-date' must be ISO8601."))


class Proxying(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proxy = Proxy()
        cls.b0, cls.url0 = start_backend("root")
        cls.b1, cls.url1 = start_backend("alice")
        cls.b2, cls.url2 = start_backend("based")
        cls.ws, cls.ws_url = start_ws_echo()
        cls.proxy.api("POST", "/api/routes/", {"target": cls.url0})
        cls.proxy.api("POST", "/api/routes/user/alice", {"target": cls.url1})
        cls.proxy.api("POST", "/api/routes/prefixed", {"target": cls.url2 + "/base"})
        cls.proxy.api("POST", "/api/routes/user/ws", {"target": cls.ws_url})
        cls.proxy.api("POST", "/api/routes/user/down", {"target": "http://127.0.0.1:%d" % free_ports(1)[0]})

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        for b in (cls.b0, cls.b1, cls.b2):
            b.shutdown()
        cls.ws.close()

    def fetch(self, path, headers=None):
        status, body, resp = self.proxy.get(path, headers)
        return status, (json.loads(body) if resp.getheader("Content-Type", "").startswith("application/json") else body), resp

    def test_health(self):
        status, body, _ = self.proxy.get("/_chp_healthz")
        self.assertEqual((status, json.loads(body)), (200, {"status": "OK"}))

    def test_longest_prefix_on_whole_segments(self):
        self.assertEqual(self.fetch("/user/alice/lab/tree?x=1")[1]["backend"], "alice")
        self.assertEqual(self.fetch("/user/alice")[1]["backend"], "alice")
        self.assertEqual(self.fetch("/user/alicex/lab")[1]["backend"], "root")
        self.assertEqual(self.fetch("/hub/home")[1]["backend"], "root")
        self.assertEqual(self.fetch("/user/%61lice/api")[1]["backend"], "alice")

    def test_full_path_query_and_host_are_forwarded(self):
        status, info, _ = self.fetch("/user/alice/api/contents?a=1&b=%20", {"Host": "hub.example.org:8443"})
        self.assertEqual(status, 200)
        self.assertEqual(info["path"], "/user/alice/api/contents?a=1&b=%20")
        h = info["headers"]
        self.assertEqual(h["host"], "hub.example.org:8443")
        self.assertEqual(h["x-forwarded-host"], "hub.example.org:8443")
        self.assertEqual(h["x-forwarded-proto"], "http")
        self.assertEqual(h["x-forwarded-port"], "8443")
        self.assertIn("127.0.0.1", h["x-forwarded-for"])

    def test_forwarded_headers_are_appended(self):
        info = self.fetch("/user/alice/x", {"X-Forwarded-For": "10.1.2.3", "X-Forwarded-Proto": "https"})[1]
        self.assertTrue(info["headers"]["x-forwarded-for"].startswith("10.1.2.3,"), info["headers"])
        self.assertEqual(info["headers"]["x-forwarded-proto"], "https,http")

    def test_target_path_is_prepended(self):
        self.assertEqual(self.fetch("/prefixed/x?q=1")[1]["path"], "/base/prefixed/x?q=1")

    def test_unreachable_target_is_503(self):
        status, _, _ = self.proxy.get("/user/down/api")
        self.assertEqual(status, 503)

    def test_activity_counts_successful_requests_only(self):
        before = self.proxy.routes()["/user/alice"]["last_activity"]
        time.sleep(0.05)
        self.fetch("/user/alice/status/404")
        self.assertEqual(self.proxy.routes()["/user/alice"]["last_activity"], before)
        self.fetch("/user/alice/ok")
        self.assertGreater(self.proxy.routes()["/user/alice"]["last_activity"], before)

    def test_request_body_is_forwarded(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.proxy.port, timeout=10)
        conn.request("POST", "/user/alice/api/upload", body=b"x" * 100000, headers={"Content-Type": "text/plain"})
        resp = conn.getresponse()
        info = json.loads(resp.read())
        conn.close()
        self.assertEqual((resp.status, info["method"], len(info["body"])), (200, "POST", 100000))

    def test_websocket_passes_through(self):
        before = self.proxy.routes()["/user/ws"]["last_activity"]
        time.sleep(0.05)
        s = socket.create_connection(("127.0.0.1", self.proxy.port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(("GET /user/ws/api/kernels/k/channels?session=1 HTTP/1.1\r\nHost: hub.example.org\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n" % key).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
        self.assertIn(b"/user/ws/api/kernels/k/channels?session=1", head)
        for i in range(3):
            msg = ("hello %d" % i).encode() * (i * 40 + 1)
            s.sendall(make_frame(msg))
            self.assertEqual(read_frame(s), msg)
        s.close()
        self.assertGreater(self.proxy.routes()["/user/ws"]["last_activity"], before)


class ErrorTarget(unittest.TestCase):
    def test_error_pages_come_from_the_error_target(self):
        errors, errors_url = start_backend("errors", error_pages=True)
        proxy = Proxy("--error-target", errors_url + "/hub/error")
        try:
            proxy.api("POST", "/api/routes/user/down", {"target": "http://127.0.0.1:%d" % free_ports(1)[0]})
            status, body, resp = proxy.get("/user/down/tree?x=1")
            self.assertEqual(status, 503)
            info = json.loads(body)
            self.assertEqual(info["backend"], "errors")
            parsed = urllib.parse.urlsplit(info["path"])
            self.assertEqual(parsed.path, "/hub/error/503")
            self.assertEqual(urllib.parse.parse_qs(parsed.query)["url"], ["/user/down/tree?x=1"])
            self.assertIn("application/json", resp.getheader("Content-Type"))
            # No route at all (no "/" route here): 404 from the error target.
            status, body, _ = proxy.get("/nowhere")
            self.assertEqual(status, 404)
            self.assertEqual(urllib.parse.urlsplit(json.loads(body)["path"]).path, "/hub/error/404")
        finally:
            proxy.stop()
            errors.shutdown()


class Tls(unittest.TestCase):
    def test_tls_termination(self):
        import ssl
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                 "-days", "1", "-subj", "/CN=127.0.0.1"],
                check=True, capture_output=True,
            )
            backend, url = start_backend("tls")
            proxy = Proxy("--ssl-key", key, "--ssl-cert", cert)
            try:
                proxy.api("POST", "/api/routes/user/alice", {"target": url})
                ctx = ssl.create_default_context(cafile=cert)
                ctx.check_hostname = False
                conn = http.client.HTTPSConnection("127.0.0.1", proxy.port, context=ctx, timeout=10)
                conn.request("GET", "/user/alice/secure")
                resp = conn.getresponse()
                info = json.loads(resp.read())
                conn.close()
                self.assertEqual((resp.status, info["backend"], info["path"]), (200, "tls", "/user/alice/secure"))
                self.assertEqual(info["headers"]["x-forwarded-proto"], "https")
            finally:
                proxy.stop()
                backend.shutdown()


def main():
    global PROXY_CMD
    if "--" not in sys.argv:
        sys.exit(__doc__)
    PROXY_CMD = sys.argv[sys.argv.index("--") + 1:]
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    print("conformance (%s): %d passed, %d failed" % (os.path.basename(PROXY_CMD[-1]) if PROXY_CMD[-1] != "proxy" else "oxhub proxy", result.testsRun - failed, failed))
    sys.exit(0 if failed == 0 else 1)


if __name__ == "__main__":
    main()
