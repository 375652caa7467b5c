#!/usr/bin/env python3
"""Minimal stand-in for a JupyterHub single-user server (standard library only).

Binds to the host/port of $JUPYTERHUB_SERVICE_URL (falling back to --ip/--port and
$JUPYTERHUB_SERVICE_PREFIX), answers every GET/HEAD/POST with 200 and a small JSON body
    {"server": "tiny", "user": $JUPYTERHUB_USER, "path": <request path>}
plus `X-JupyterHub-Version`, and exits on SIGTERM. Used by the e2e tests and spawn benchmarks.
"""
import argparse
import json
import os
import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HUB_VERSION = "6.1.1"
USER = os.environ.get("JUPYTERHUB_USER", "")


def bind_address(argv):
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--ip", default=None)
    parser.add_argument("--port", type=int, default=None)
    args, _ = parser.parse_known_args(argv)

    ip, port = "127.0.0.1", 8888
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    service_url = os.environ.get("JUPYTERHUB_SERVICE_URL")
    if service_url:
        url = urlsplit(service_url)
        if url.hostname:
            ip = url.hostname
        if url.port:
            port = url.port
        if url.path:
            prefix = url.path
    if args.ip is not None:
        ip = args.ip
    if args.port is not None:
        port = args.port
    return ip, port, prefix


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "tiny"

    def _reply(self, with_body):
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)
        body = json.dumps({"server": "tiny", "user": USER, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-JupyterHub-Version", HUB_VERSION)
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self):
        self._reply(True)

    def do_POST(self):
        self._reply(True)

    def do_HEAD(self):
        self._reply(False)

    def log_message(self, format, *args):  # quiet
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ip, port, prefix = bind_address(sys.argv[1:])
    if ip in ("", "*"):
        ip = "0.0.0.0"
    if ":" in ip:
        Server.address_family = socket.AF_INET6

    def on_sigterm(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    httpd = Server((ip, port), Handler)
    try:
        httpd.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
