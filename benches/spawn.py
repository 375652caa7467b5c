#!/usr/bin/env python3
"""Spawn benchmark driver (run by benches/spawn.sh): N concurrent spawns of benches/tiny_server.py
through oxhub and through JupyterHub 6.1.1, same config shape, same machine, one run.

For each hub: create N users, start all N servers at once through the REST API, wait until all
are ready, then stop all at once and wait until none is active. Reports wall times and the hub
process's CPU seconds (utime+stime from /proc) for each phase, and the time one tiny server takes
to start by itself (median of 5), then ratios.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TINY = os.path.join(HERE, "tiny_server.py")
TOKEN = "bench-spawn-admin-token-0123456789"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def call(method, url, body=None, timeout=120):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw.strip() else None
    except urllib.error.HTTPError as e:
        return e.code, None


def single_start():
    """Seconds from exec to the first answer of one tiny server on its own."""
    port = free_port()
    env = dict(os.environ, JUPYTERHUB_SERVICE_URL=f"http://127.0.0.1:{port}/user/x/", JUPYTERHUB_USER="x")
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, TINY], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/user/x/api", timeout=1).read()
                return time.perf_counter() - t0
            except OSError:
                time.sleep(0.002)
    finally:
        p.terminate()
        p.wait()


def run_hub(kind, cmd, n, oxhub):
    work = tempfile.mkdtemp(prefix=f"bench-spawn-{kind}-")
    port, api_port, hub_port = free_port(), free_port(), free_port()
    config = f"""
c.JupyterHub.ip = '127.0.0.1'
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = '127.0.0.1'
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{api_port}'
c.ConfigurableHTTPProxy.command = ['{oxhub}', 'proxy']
c.JupyterHub.db_url = 'sqlite:///{work}/hub.sqlite'
c.JupyterHub.cookie_secret_file = '{work}/cookie_secret'
c.JupyterHub.authenticator_class = 'dummy'
c.Authenticator.admin_users = {{'admin'}}
c.JupyterHub.api_tokens = {{'{TOKEN}': 'admin'}}
c.JupyterHub.spawner_class = 'simple'
c.SimpleLocalProcessSpawner.home_dir_template = '{work}/home/{{username}}'
c.Spawner.cmd = ['{sys.executable}', '{TINY}']
c.Spawner.args = []
c.Spawner.start_timeout = 600
c.Spawner.http_timeout = 600
c.JupyterHub.concurrent_spawn_limit = 0
c.JupyterHub.active_server_limit = 0
c.JupyterHub.last_activity_interval = 3600
c.JupyterHub.cleanup_servers = True
"""
    with open(os.path.join(work, "jupyterhub_config.py"), "w") as f:
        f.write(config)
    log = open(os.path.join(work, "hub.log"), "w")
    env = dict(os.environ, CONFIGPROXY_AUTH_TOKEN="bench-proxy-token")
    hub = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{hub_port}/hub/api"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                urllib.request.urlopen(api + "/", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        users = [f"u{i:04d}" for i in range(n)]
        for i in range(0, n, 100):
            status, _ = call("POST", api + "/users", {"usernames": users[i:i + 100]})
            assert status in (201, 409), status

        retries = []

        def all_at_once(method, suffix):
            errors = []
            def one(u):
                # A spawn that fails (JupyterHub's random ports collide now and then under this
                # load: "Address already in use") is retried, and counted.
                for attempt in range(4):
                    status, _ = call(method, f"{api}/users/{u}/server")
                    if status in (201, 202, 204):
                        return
                    if status == 500 and method == "POST" and attempt < 3:
                        retries.append(u)
                        time.sleep(0.5)
                        continue
                    errors.append((u, status))
                    return
            threads = [threading.Thread(target=one, args=(u,)) for u in users]
            for t in threads:
                t.start()
            return threads, errors

        def count(state):
            status, body = call("GET", f"{api}/users?state={state}")
            return len(body) if status == 200 and isinstance(body, list) else -1

        cpu0 = cpu_seconds(hub.pid)
        t0 = time.perf_counter()
        threads, errors = all_at_once("POST", "")
        while count("ready") < n:
            if time.perf_counter() - t0 > 900 or errors:
                raise RuntimeError(f"{kind}: spawns failed or timed out: {errors[:5]}")
            time.sleep(0.25)
        t_ready = time.perf_counter() - t0
        for t in threads:
            t.join()
        cpu1 = cpu_seconds(hub.pid)
        t1 = time.perf_counter()
        threads, errors = all_at_once("DELETE", "")
        while count("active") > 0:
            if time.perf_counter() - t1 > 900:
                raise RuntimeError(f"{kind}: stops timed out")
            time.sleep(0.25)
        t_stopped = time.perf_counter() - t1
        for t in threads:
            t.join()
        cpu2 = cpu_seconds(hub.pid)
        return {"ready_s": t_ready, "stopped_s": t_stopped, "cpu_spawn_s": cpu1 - cpu0, "cpu_stop_s": cpu2 - cpu1,
                "retries": len(retries)}
    finally:
        hub.terminate()
        try:
            hub.wait(60)
        except subprocess.TimeoutExpired:
            hub.kill()
            hub.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--oxhub", required=True)
    ap.add_argument("--jupyterhub", required=True)
    ap.add_argument("-n", type=int, default=200)
    args = ap.parse_args()
    single = statistics.median(single_start() for _ in range(5))
    results = {
        "oxhub": run_hub("oxhub", [args.oxhub], args.n, args.oxhub),
        "jupyterhub": run_hub("jupyterhub", [args.jupyterhub], args.n, args.oxhub),
    }
    n = args.n
    print(f"\n{n} concurrent spawns of benches/tiny_server.py; one server alone starts in {single * 1000:.0f} ms (median of 5)\n")
    print(f"{'':12} {'all ready':>10} {'all stopped':>12} {'hub CPU spawn':>14} {'CPU/spawn':>10} {'hub CPU stop':>13} {'failed+retried':>15}")
    for k, r in results.items():
        print(f"{k:12} {r['ready_s']:9.2f}s {r['stopped_s']:11.2f}s {r['cpu_spawn_s']:13.2f}s {r['cpu_spawn_s'] / n * 1000:8.1f}ms {r['cpu_stop_s']:12.2f}s {r['retries']:15d}")
    o, j = results["oxhub"], results["jupyterhub"]
    print()
    print(f"hub CPU per spawn: oxhub uses 1/{j['cpu_spawn_s'] / max(o['cpu_spawn_s'], 0.01):.1f} of JupyterHub's (target: 1/10 or less)")
    print(f"hub CPU per stop:  oxhub uses 1/{j['cpu_stop_s'] / max(o['cpu_stop_s'], 0.01):.1f} of JupyterHub's")
    print(f"all ready: oxhub {o['ready_s'] / single:.1f}x a single server's start (target 1.5x); JupyterHub {j['ready_s'] / single:.1f}x")
    print(f"all ready, JupyterHub/oxhub: {j['ready_s'] / o['ready_s']:.2f}x; all stopped: {j['stopped_s'] / o['stopped_s']:.2f}x")


if __name__ == "__main__":
    main()
