#!/usr/bin/env python3
"""End-to-end tests of oxhub with the real Python clients: jupyterhub-singleuser 6.1.1 with
jupyter-server and JupyterLab, and jupyterhub-idle-culler 2.0.0 as a managed service.

Run with the e2e venv (scripts/e2e-venv.sh installs the pinned packages):

    .cache/venv-e2e/bin/python tests/e2e/oxhub_jupyterlab.py --oxhub target/debug/oxhub

Each scenario starts its own `oxhub` (which starts its own `oxhub proxy`) in a temporary
directory on loopback ports picked at run time, and stops everything it started by PID.
The last line printed is `oxhub-e2e: N passed, N failed`; the exit status is non-zero on any
failure.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

import requests
import websocket

HERE = os.path.dirname(os.path.abspath(__file__))
TINY_SERVER = os.path.join(HERE, "..", "..", "benches", "tiny_server.py")
VENV_BIN = os.path.dirname(sys.executable)
ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef"
PASSWORD = "e2e-password"


class Abort(Exception):
    """A check failed that later checks of the scenario depend on."""


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   - {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL - {name}" + (f": {detail}" if detail else ""), flush=True)
        return ok

    def require(self, name, ok, detail=""):
        if not self.check(name, ok, detail):
            raise Abort(name)


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def proc_state(pid):
    """The state letter of /proc/<pid>/stat, or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def alive(pid):
    return proc_state(pid) not in (None, "Z", "X")


def pids_with(marker):
    """Live processes whose environment contains `marker` (each test run uses a fresh one)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker.encode() in f.read() and alive(int(entry)):
                    found.append(int(entry))
        except OSError:
            pass
    return found


def wait_for(predicate, timeout, every=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return predicate()


class Hub:
    """One oxhub (and the proxy it starts) in its own directory."""

    def __init__(self, oxhub, config_extra, env_extra=None, ports=None):
        self.oxhub = oxhub
        self.dir = tempfile.mkdtemp(prefix="oxhub-e2e-")
        self.port, self.api_port, self.hub_port = ports or free_ports(3)
        self.marker = "OXHUB_E2E_MARKER=" + uuid.uuid4().hex
        self.proxy_token = uuid.uuid4().hex
        self.env_extra = env_extra or {}
        root = os.geteuid() == 0
        config = f"""
c.JupyterHub.ip = '127.0.0.1'
c.JupyterHub.port = {self.port}
c.JupyterHub.hub_ip = '127.0.0.1'
c.JupyterHub.hub_port = {self.hub_port}
c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{self.api_port}'
c.ConfigurableHTTPProxy.pid_file = 'proxy.pid'
c.JupyterHub.authenticator_class = 'dummy'
c.DummyAuthenticator.password = '{PASSWORD}'
c.Authenticator.admin_users = {{'admin'}}
c.JupyterHub.api_tokens = {{'{ADMIN_TOKEN}': 'admin'}}
c.JupyterHub.spawner_class = 'simple'
c.SimpleLocalProcessSpawner.home_dir_template = '{self.dir}/home/{{username}}'
c.Spawner.environment = {{'OXHUB_E2E_MARKER': '{self.marker.split('=', 1)[1]}'}}
c.Spawner.args = {['--allow-root'] if root else []!r}
"""
        with open(os.path.join(self.dir, "jupyterhub_config.py"), "w") as f:
            f.write(config + config_extra)
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log_path = os.path.join(self.dir, "hub.log")

    def start(self):
        env = dict(os.environ)
        env["CONFIGPROXY_AUTH_TOKEN"] = self.proxy_token
        env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
        env.update(self.env_extra)
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([self.oxhub], cwd=self.dir, env=env, stdout=log, stderr=subprocess.STDOUT)
        ok = wait_for(lambda: self.health(), 30)
        if not ok:
            raise Abort(f"hub did not start; log:\n{self.tail()}")

    def health(self):
        try:
            return requests.get(self.url + "/hub/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def api(self, method, path, token=ADMIN_TOKEN, **kw):
        return requests.request(method, self.url + "/hub/api" + path,
                                headers={"Authorization": f"token {token}"}, timeout=30, **kw)

    def proxy_pid(self):
        try:
            with open(os.path.join(self.dir, "proxy.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        """Stop the hub, its proxy, and any server process of this run that survived."""
        self.stop()
        pid = self.proxy_pid()
        if pid and alive(pid):
            os.kill(pid, signal.SIGTERM)
        for pid in pids_with(self.marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def login(hub, c, username, password=PASSWORD):
    """A browser session logged in as `username`."""
    s = requests.Session()
    r = s.get(hub.url + "/hub/login", timeout=10)
    c.require("login page renders with an _xsrf field", r.status_code == 200 and 'name="_xsrf"' in r.text, r.status_code)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', r.text).group(1)
    r = s.post(hub.url + "/hub/login", data={"username": username, "password": password, "_xsrf": xsrf},
               allow_redirects=False, timeout=10)
    return s, r


def follow(s, hub, r, limit=20, pending_wait=90):
    """Follow redirects like a browser, waiting on spawn-pending pages; returns the last response."""
    deadline = time.time() + pending_wait
    for _ in range(limit):
        if r.status_code in (301, 302, 303, 307):
            loc = r.headers["location"]
            url = hub.url + loc if loc.startswith("/") else loc
            r = s.get(url, allow_redirects=False, timeout=30)
            continue
        if r.status_code == 200 and "/hub/spawn-pending/" in r.url and time.time() < deadline:
            time.sleep(0.5)
            r = s.get(r.url, allow_redirects=False, timeout=30)
            continue
        return r
    return r


# ---------------------------------------------------------------------------- scenarios


def scenario_jupyterlab(oxhub, c):
    """login → spawn → OAuth → JupyterLab, kernels over websockets, tokens, logout."""
    hub = Hub(oxhub, f"c.Spawner.cmd = ['{VENV_BIN}/jupyterhub-singleuser']\nc.Spawner.default_url = '/lab'\n")
    try:
        hub.start()
        s, r = login(hub, c, "alice", "wrong")
        c.check("a wrong password is refused with 403 and the form", r.status_code == 403 and "Invalid username or password" in r.text, r.status_code)
        s, r = login(hub, c, "alice")
        c.require("login redirects (302)", r.status_code == 302, r.status_code)
        c.check("the login cookie is HttpOnly and scoped to /hub/",
                any(h.startswith("jupyterhub-hub-login=") and "HttpOnly" in h and "Path=/hub/" in h
                    for h in r.raw.headers.getlist("Set-Cookie")), r.headers.get("set-cookie"))
        # Progress events, read while the server starts.
        events = []

        def read_progress():
            xsrf = s.cookies.get("_xsrf", path="/hub/")
            try:
                with s.get(hub.url + f"/hub/api/users/alice/server/progress?_xsrf={xsrf}",
                           headers={"Sec-Fetch-Mode": "cors"}, stream=True, timeout=120) as resp:
                    for line in resp.iter_lines():
                        if line.startswith(b"data: "):
                            events.append(json.loads(line[6:]))
                            if events[-1].get("ready") or events[-1].get("failed"):
                                return
            except requests.RequestException as e:
                events.append({"error": str(e)})

        # /hub/spawn answers once the server is ready (or after 10 s); meanwhile the progress
        # stream is read as spawn-pending's EventSource reads it.
        answer = {}
        spawner = threading.Thread(target=lambda: answer.setdefault(
            "r", s.get(hub.url + "/hub/spawn", allow_redirects=False, timeout=60)))
        spawner.start()
        wait_for(lambda: hub.api("GET", "/users/alice").json().get("servers", {}).get("", {}).get("pending"), 30, every=0.02)
        read_progress()
        spawner.join(60)
        r = answer.get("r")
        c.require("/hub/spawn starts the server and redirects to spawn-pending",
                  r is not None and r.status_code == 302 and "/hub/spawn-pending/alice" in r.headers.get("location", ""),
                  r is not None and r.headers)
        r = follow(s, hub, r)
        c.check("progress is a text/event-stream ending in a ready event",
                bool(events) and events[0].get("progress") == 0 and events[-1].get("ready") is True
                and events[-1].get("url") == "/user/alice/", events)
        c.require("the OAuth dance ends on the JupyterLab page through the proxy",
                  r.status_code == 200 and r.url.startswith(hub.url + "/user/alice/lab") and "JupyterLab" in r.text,
                  f"{r.status_code} {r.url}")
        c.check("the server's cookie was set by the OAuth callback",
                any(k == "jupyterhub-user-alice" for k in s.cookies.keys()), s.cookies.keys())
        r = s.get(hub.url + "/user/alice/api/status", timeout=10)
        c.check("/user/alice/api/status answers with cookies only", r.status_code == 200 and "started" in r.json(), r.status_code)
        model = hub.api("GET", "/users/alice").json()
        srv = model.get("servers", {}).get("")
        c.check("the API shows the server ready with its URL", bool(srv) and srv["ready"] and srv["url"] == "/user/alice/", model)
        # A kernel, started over the REST API with the server's XSRF token, and code run on it
        # over a websocket through the proxy.
        xsrf = s.cookies.get("_xsrf", path="/user/alice/")
        r = s.post(hub.url + "/user/alice/api/kernels", json={"name": "python3"},
                   headers={"X-XSRFToken": xsrf or ""}, timeout=60)
        c.require("a kernel starts (201)", r.status_code == 201, f"{r.status_code} {r.text[:200]}")
        kernel = r.json()["id"]
        cookie = "; ".join(f"{k}={v}" for k, v in s.cookies.items())
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{hub.port}/user/alice/api/kernels/{kernel}/channels",
            header=[f"Cookie: {cookie}"], timeout=60)
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "alice",
                       "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": "print(6 * 7)", "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        }))
        output = None
        deadline = time.time() + 60
        while time.time() < deadline and output is None:
            m = json.loads(ws.recv())
            if m.get("parent_header", {}).get("msg_id") == msg_id and m.get("msg_type") == "stream":
                output = m["content"]["text"]
        ws.close()
        c.check("execute_request over the websocket prints 42", output == "42\n", output)
        # Token clients.
        token = hub.api("POST", "/users/alice/tokens", json={"note": "e2e"}).json()["token"]
        r = requests.get(hub.url + "/user/alice/api/status", headers={"Authorization": f"token {token}"}, timeout=10)
        c.check("alice's API token reaches /user/alice/api/status", r.status_code == 200, r.status_code)
        hub.api("POST", "/users", json={"usernames": ["bob"]})
        bob = hub.api("POST", "/users/bob/tokens", json={"note": "e2e"}).json()["token"]
        r = requests.get(hub.url + "/user/alice/api/status", headers={"Authorization": f"token {bob}"}, timeout=10)
        c.check("bob's token is refused by alice's server (403)", r.status_code == 403, r.status_code)
        # Logout revokes the session: the hub cookie replayed fails, and the session's OAuth
        # token is gone from the hub.
        tokens = hub.api("GET", "/users/alice/tokens").json()["api_tokens"]
        c.check("before logout the session holds an OAuth token for alice's server",
                any(t.get("oauth_client") == "jupyterhub-user-alice" and t.get("session_id") for t in tokens), tokens)
        saved = {k: v for k, v in s.cookies.items()}
        r = s.get(hub.url + "/hub/logout", allow_redirects=False, timeout=10)
        c.check("logout redirects to the login page", r.status_code == 302 and r.headers["location"].endswith("/hub/login"), r.status_code)
        replay = requests.get(hub.url + "/hub/home", cookies=saved, allow_redirects=False, timeout=10)
        c.check("the hub login cookie replayed after logout no longer logs in",
                replay.status_code == 302 and "/hub/login" in replay.headers.get("location", ""), replay.status_code)
        replay = requests.get(hub.url + "/hub/api/user", cookies=saved, timeout=10)
        c.check("the replayed cookie gets 403 from the API", replay.status_code == 403, replay.status_code)
        tokens = hub.api("GET", "/users/alice/tokens").json()["api_tokens"]
        c.check("the session's OAuth token was revoked at logout",
                not any(t.get("oauth_client") == "jupyterhub-user-alice" and t.get("session_id") for t in tokens), tokens)
        # Stop through the API: the process and the route go away.
        pids = pids_with(hub.marker)
        r = hub.api("DELETE", "/users/alice/server")
        c.check("DELETE /users/alice/server stops it (204)", r.status_code == 204, r.status_code)
        c.check("no process of the server survives the stop", wait_for(lambda: not any(alive(p) for p in pids), 10), pids)
        r = requests.get(hub.url + "/user/alice/api/status", headers={"Authorization": f"token {token}"}, allow_redirects=False, timeout=10)
        c.check("after the stop /user/alice/ is routed to the hub (302 to /hub/user/alice/...)",
                r.status_code == 302 and r.headers["location"].startswith("/hub/user/alice/"), r.status_code)
        r = requests.get(hub.url + r.headers["location"], headers={"Authorization": f"token {token}"}, timeout=10)
        c.check("/hub/user/alice/api/... answers 424 JSON when the server is not running",
                r.status_code == 424 and "no longer running" in r.json().get("message", ""), r.status_code)
    finally:
        hub.cleanup()


def scenario_failures(oxhub, c):
    """Servers that fail: one whose start never returns, one that exits at once, one that never
    answers. Each ends in a clear failure in the API and on spawn-pending; starting again works."""
    script = os.path.join(tempfile.mkdtemp(prefix="oxhub-e2e-bin-"), "server.sh")
    with open(script, "w") as f:
        f.write(f"""#!/bin/sh
case "$JUPYTERHUB_USER" in
  exits) echo "failing on purpose" >&2; exit 3 ;;
  silent) exec sleep 600 ;;
  *) exec {sys.executable} {TINY_SERVER} ;;
esac
""")
    os.chmod(script, 0o755)
    hook = script + ".hook"
    with open(hook, "w") as f:
        f.write('#!/bin/sh\n[ "$JUPYTERHUB_USER" = hangs ] && exec sleep 600\nexit 0\n')
    os.chmod(hook, 0o755)
    hub = Hub(oxhub, f"c.Spawner.cmd = ['{script}']\nc.Spawner.args = []\nc.Spawner.start_timeout = 2\n"
                     f"c.Spawner.http_timeout = 3\nc.Spawner.pre_spawn_hook = ['{hook}']\n"
                     "c.JupyterHub.last_activity_interval = 1\n")
    try:
        hub.start()
        expected = {"hangs": "start_timeout", "exits": "exited with status 3", "silent": "http_timeout"}
        for user, why in expected.items():
            hub.api("POST", "/users", json={"usernames": [user]})
            r = hub.api("POST", f"/users/{user}/server")
            c.check(f"{user}: the start request fails with 500 and says why", r.status_code == 500 and why in r.json().get("message", ""),
                    f"{r.status_code} {r.text[:200]}")
            model = hub.api("GET", f"/users/{user}").json()["servers"]
            c.check(f"{user}: the API shows no running or pending server", model == {}, model)
            s, r = login(hub, c, user)
            r = s.get(hub.url + f"/hub/spawn-pending/{user}", allow_redirects=False, timeout=10)
            c.check(f"{user}: spawn-pending shows the failure (500)", r.status_code == 500 and why in r.text, r.status_code)
            r = hub.api("POST", f"/users/{user}/server")
            c.check(f"{user}: the user can start again (a new attempt, not 'already pending')",
                    r.status_code == 500 and why in r.json().get("message", ""), f"{r.status_code} {r.text[:200]}")
        c.check("no process of the failed servers survives", wait_for(lambda: not pids_with(hub.marker), 10), pids_with(hub.marker))
        hub.api("POST", "/users", json={"usernames": ["fine"]})
        r = hub.api("POST", "/users/fine/server")
        c.check("a working server still starts on the same hub (201)", r.status_code == 201, r.status_code)
        # Traffic through the proxy becomes the server's last_activity (last_activity_interval = 1).
        requests.get(hub.url + "/user/fine/x", timeout=10)
        seen = wait_for(lambda: hub.api("GET", "/users/fine").json()["servers"].get("", {}).get("last_activity"), 10)
        c.check("the proxy's activity reaches the server's last_activity", bool(seen), seen)
    finally:
        hub.cleanup()


def scenario_restart(oxhub, c):
    """SIGKILL the hub in the middle of 20 concurrent spawns, start it again: every server is
    running and routed, or cleanly stopped; no orphan process, no duplicate."""
    extra = (f"c.Spawner.cmd = ['{sys.executable}', '{TINY_SERVER}']\nc.Spawner.args = []\n"
             "c.JupyterHub.cleanup_servers = False\nc.JupyterHub.concurrent_spawn_limit = 0\n")
    hub = Hub(oxhub, extra)
    users = [f"user{i:02d}" for i in range(20)]
    try:
        hub.start()
        hub.api("POST", "/users", json={"usernames": users})
        threads = [threading.Thread(target=lambda u=u: hub.api("POST", f"/users/{u}/server")) for u in users]
        for t in threads:
            t.start()
        # Kill once some servers run and others are still starting.
        def some_ready():
            try:
                return len(hub.api("GET", "/users?state=ready").json()) >= 3
            except (requests.RequestException, ValueError):
                return False
        wait_for(some_ready, 30, every=0.05)
        hub.stop(signal.SIGKILL)
        for t in threads:
            t.join(30)
        hub.start()
        models = {u["name"]: u for u in hub.api("GET", "/users").json()}
        running = [u for u in users if models[u]["servers"].get("", {}).get("ready")]
        pending = [u for u in users if models[u]["servers"].get("", {}).get("pending")]
        c.check("after the restart no server is left pending", not pending, pending)
        routed = all(
            requests.get(hub.url + f"/user/{u}/x", timeout=10, allow_redirects=False).json().get("user") == u
            for u in running)
        c.check(f"each of the {len(running)} running servers is routed to its own process", routed, running)
        def settled():
            pids = pids_with(hub.marker)
            return pids if len(pids) == len(running) else None
        pids = wait_for(settled, 10) or pids_with(hub.marker)
        owners = []
        for pid in pids:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
            owners.append(env.get(b"JUPYTERHUB_USER", b"").decode())
        c.check("one process per running server: no orphan, no duplicate",
                sorted(owners) == sorted(running), f"processes of {sorted(owners)}, running {sorted(running)}")
        # Everyone can start now.
        for u in users:
            if u not in running:
                hub.api("POST", f"/users/{u}/server")
        models = {u["name"]: u for u in hub.api("GET", "/users").json()}
        c.check("every server can be started after the restart",
                all(models[u]["servers"].get("", {}).get("ready") for u in users),
                [u for u in users if not models[u]["servers"].get("", {}).get("ready")])
    finally:
        hub.cleanup()


def scenario_culler(oxhub, c):
    """jupyterhub-idle-culler as a managed service with the scopes its docs list culls an idle
    server."""
    extra = f"""
c.Spawner.cmd = ['{sys.executable}', '{TINY_SERVER}']
c.Spawner.args = []
c.JupyterHub.load_roles = [{{
    'name': 'jupyterhub-idle-culler-role',
    'scopes': ['list:users', 'read:users:activity', 'read:servers', 'delete:servers'],
    'services': ['idle-culler'],
}}]
c.JupyterHub.services = [{{
    'name': 'idle-culler',
    'command': ['{sys.executable}', '-m', 'jupyterhub_idle_culler', '--timeout=4', '--cull-every=2'],
}}]
"""
    hub = Hub(oxhub, extra)
    try:
        hub.start()
        hub.api("POST", "/users", json={"usernames": ["idle"]})
        r = hub.api("POST", "/users/idle/server")
        c.require("a server starts for the culler to find", r.status_code == 201, r.status_code)
        culled = wait_for(lambda: hub.api("GET", "/users/idle").json()["servers"] == {}, 40, every=1)
        c.check("the idle culler stopped the idle server", culled, hub.tail(15))
        c.check("the culler logged the cull", "Culling server idle" in hub.tail(200), hub.tail(10))
    finally:
        hub.cleanup()


def scenario_options_and_limits(oxhub, c):
    """options_form and user_options, the server environment (limits, JUPYTERHUB_*), named
    servers, and concurrent_spawn_limit."""
    hook = os.path.join(tempfile.mkdtemp(prefix="oxhub-e2e-hook-"), "hook.sh")
    with open(hook, "w") as f:
        f.write('#!/bin/sh\n[ "$JUPYTERHUB_USER" = slow ] && sleep 3\nexit 0\n')
    os.chmod(hook, 0o755)
    extra = (f"c.Spawner.cmd = ['{sys.executable}', '{TINY_SERVER}']\nc.Spawner.args = []\n"
             "c.Spawner.options_form = '<input name=\"flavor\" value=\"small\">'\n"
             "c.Spawner.mem_limit = '1G'\nc.Spawner.cpu_limit = 2\nc.Spawner.default_url = '/lab/{username}'\n"
             f"c.Spawner.pre_spawn_hook = ['{hook}']\n"
             "c.JupyterHub.allow_named_servers = True\nc.JupyterHub.concurrent_spawn_limit = 1\n")
    hub = Hub(oxhub, extra)
    try:
        hub.start()
        s, r = login(hub, c, "opal")
        r = s.get(hub.url + "/hub/spawn", allow_redirects=False, timeout=10)
        c.check("with options_form, /hub/spawn shows the form", r.status_code == 200 and 'name="flavor"' in r.text, r.status_code)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', r.text).group(1)
        r = s.post(hub.url + "/hub/spawn", data={"_xsrf": xsrf, "flavor": "large"}, allow_redirects=False, timeout=30)
        c.check("submitting it starts the server", r.status_code == 302 and "spawn-pending" in r.headers.get("location", ""), r.status_code)
        model = hub.api("GET", "/users/opal").json()["servers"].get("", {})
        c.check("the form's fields become user_options", model.get("user_options") == {"flavor": ["large"]}, model)
        pid = [p for p in pids_with(hub.marker)][0]
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(kv.decode().split("=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
        expected = {
            "MEM_LIMIT": "1073741824", "CPU_LIMIT": "2.0", "JUPYTERHUB_USER": "opal", "JUPYTERHUB_SERVER_NAME": "",
            "JUPYTERHUB_SERVICE_PREFIX": "/user/opal/", "JUPYTERHUB_CLIENT_ID": "jupyterhub-user-opal",
            "JUPYTERHUB_API_URL": f"http://127.0.0.1:{hub.hub_port}/hub/api",
            "JUPYTERHUB_ACTIVITY_URL": f"http://127.0.0.1:{hub.hub_port}/hub/api/users/opal/activity",
            "JUPYTERHUB_OAUTH_CALLBACK_URL": "/user/opal/oauth_callback", "JUPYTERHUB_DEFAULT_URL": "/lab/opal",
        }
        wrong = {k: (env.get(k), v) for k, v in expected.items() if env.get(k) != v}
        c.check("the server's environment is JupyterHub's (limits, URLs, names)", not wrong, wrong)
        # JSON user_options through the API, on a named server.
        r = hub.api("POST", "/users/opal/servers/gpu", json={"user_options": {"gpus": 1}})
        c.check("a named server starts (201)", r.status_code == 201, r.status_code)
        model = hub.api("GET", "/users/opal").json()["servers"].get("gpu", {})
        c.check("its JSON user_options are recorded and its URL is /user/opal/gpu/",
                model.get("user_options") == {"gpus": 1} and model.get("url") == "/user/opal/gpu/", model)
        r = requests.get(hub.url + "/user/opal/gpu/x", headers={"Authorization": f"token {ADMIN_TOKEN}"}, timeout=10)
        c.check("it is routed through the proxy", r.status_code == 200 and r.json().get("path") == "/user/opal/gpu/x", r.status_code)
        r = hub.api("DELETE", "/users/opal/servers/gpu", json={"remove": True})
        c.check("DELETE with remove stops it and removes the record (204)",
                r.status_code == 204 and "gpu" not in hub.api("GET", "/users/opal").json()["servers"], r.status_code)
        # concurrent_spawn_limit = 1: a second start while one is pending is told to come back.
        hub.api("POST", "/users", json={"usernames": ["slow", "other"]})
        t = threading.Thread(target=lambda: hub.api("POST", "/users/slow/server"))
        t.start()
        time.sleep(0.5)
        r = hub.api("POST", "/users/other/server")
        c.check("over concurrent_spawn_limit: 429 with Retry-After", r.status_code == 429 and r.headers.get("Retry-After"), r.status_code)
        t.join(30)
        r = hub.api("POST", "/users/other/server")
        c.check("once the pending spawn is done, the start succeeds", r.status_code == 201, r.status_code)
    finally:
        hub.cleanup()


def scenario_system_user(oxhub, c):
    """LocalProcessSpawner with the hub as root: the server runs as the system user of the same
    name (uid, gid, groups, HOME, working directory)."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        print("# skipped: needs root and useradd", flush=True)
        return
    name = "oxe2e" + uuid.uuid4().hex[:6]
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True)
    # The server script where the new user can read it, run by the system Python.
    bindir = tempfile.mkdtemp(prefix="oxhub-e2e-sys-")
    os.chmod(bindir, 0o755)
    tiny = os.path.join(bindir, "tiny_server.py")
    shutil.copy(TINY_SERVER, tiny)
    os.chmod(tiny, 0o644)
    python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    hub = Hub(oxhub, f"c.JupyterHub.spawner_class = 'localprocess'\nc.Spawner.cmd = ['{python}', '{tiny}']\nc.Spawner.args = []\n")
    try:
        import pwd
        entry = pwd.getpwnam(name)
        hub.start()
        hub.api("POST", "/users", json={"usernames": [name]})
        r = hub.api("POST", f"/users/{name}/server")
        c.require("the server of a system user starts (201)", r.status_code == 201, f"{r.status_code} {r.text[:200]} {hub.tail(5)}")
        pids = pids_with(hub.marker)
        c.require("one server process", len(pids) == 1, pids)
        with open(f"/proc/{pids[0]}/status") as f:
            status = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
        uids = status["Uid"].split()
        gids = status["Gid"].split()
        c.check("it runs as the user's uid and gid (real and effective)",
                uids[0] == uids[1] == str(entry.pw_uid) and gids[0] == gids[1] == str(entry.pw_gid), (uids, gids))
        c.check("no supplementary group of root's is kept", "0" not in status["Groups"].split(), status["Groups"])
        with open(f"/proc/{pids[0]}/environ", "rb") as f:
            env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
        c.check("HOME and USER are the user's", env.get(b"HOME") == entry.pw_dir.encode() and env.get(b"USER") == name.encode(), env.get(b"HOME"))
        c.check("it starts in the user's home", os.readlink(f"/proc/{pids[0]}/cwd") == entry.pw_dir, os.readlink(f"/proc/{pids[0]}/cwd"))
        r = hub.api("DELETE", f"/users/{name}/server")
        c.check("it stops (204) and its process is gone", r.status_code == 204 and wait_for(lambda: not pids_with(hub.marker), 10), r.status_code)
        hub.api("POST", "/users", json={"usernames": ["nosuchsystemuser"]})
        r = hub.api("POST", "/users/nosuchsystemuser/server")
        c.check("a user without a system account fails clearly", r.status_code == 500 and "No system user" in r.json().get("message", ""), r.text[:200])
    finally:
        hub.cleanup()
        subprocess.run(["userdel", "-r", name], stderr=subprocess.DEVNULL)
        shutil.rmtree(bindir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--oxhub", required=True)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    oxhub = os.path.abspath(args.oxhub)
    c = Checks()
    scenarios = [scenario_jupyterlab, scenario_failures, scenario_restart, scenario_culler, scenario_options_and_limits, scenario_system_user]
    for scenario in scenarios:
        if args.only and args.only not in scenario.__name__:
            continue
        print(f"# {scenario.__name__}: {scenario.__doc__.splitlines()[0]}", flush=True)
        try:
            scenario(oxhub, c)
        except Abort as e:
            print(f"# aborted {scenario.__name__}: {e}", flush=True)
        except Exception:
            c.check(f"{scenario.__name__} ran without an exception", False, traceback.format_exc())
    print(f"oxhub-e2e: {c.passed} passed, {c.failed} failed", flush=True)
    sys.exit(1 if c.failed else 0)


if __name__ == "__main__":
    main()
