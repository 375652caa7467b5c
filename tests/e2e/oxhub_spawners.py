#!/usr/bin/env python3
"""End-to-end tests of oxhub's batch spawner on a real Slurm cluster (slurmctld + slurmd +
munged from Debian's slurm-wlm and munge, started by tests/slurm/slurm.py on loopback with
ports picked at run time): the real `batchspawner-singleuser` 1.3.0 wrapper and
`jupyterhub-singleuser` 6.1.1 with JupyterLab run inside a Slurm job as a system user.

Run as root with the e2e venv (scripts/e2e-venv.sh):

    .cache/venv-e2e/bin/python tests/e2e/oxhub_spawners.py --oxhub target/debug/oxhub

The job's user must be able to run the Python of the job; when it cannot reach the e2e venv
(a venv under a private home directory), a venv with the same pins is built from the system
Python under /var/tmp (scripts/e2e-venv.sh with VENV and PYTHON) and kept for later runs.
The last line printed is `oxhub-spawners: N passed, N failed`.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time
import traceback

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "slurm"))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))

from common import Abort, Checks, parse_e2e_args, run_scenarios, wait_for  # noqa: E402
from oxhub_jupyterlab import ADMIN_TOKEN, Hub, VENV_BIN, follow, login, server as server_state  # noqa: E402
import slurm as slurm_fixture  # noqa: E402

JOB_USER = "slurmuser1"
RUNUSER = "/usr/sbin/runuser"
SYSTEM_VENV = "/var/tmp/oxhub-slurm-job-venv"


def job_bin(c):
    """A bin directory of a venv with the pinned clients that JOB_USER can run."""
    probe = [RUNUSER, "-u", JOB_USER, "--", "{}/python", "-c", "import batchspawner, jupyterlab"]
    def usable(bindir):
        argv = [a.format(bindir) for a in probe]
        return subprocess.run(argv, capture_output=True, cwd="/").returncode == 0
    if usable(VENV_BIN):
        return VENV_BIN
    system_python = "/usr/bin/python3"
    if not os.path.exists(system_python):
        raise Abort(f"{JOB_USER} cannot run {VENV_BIN}/python and there is no {system_python} to build a venv from")
    print(f"# {JOB_USER} cannot run {VENV_BIN}/python; building a venv for jobs in {SYSTEM_VENV}", flush=True)
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "e2e-venv.sh")],
                       env={**os.environ, "VENV": SYSTEM_VENV, "PYTHON": system_python},
                       capture_output=True, text=True)
    c.require("a venv the job's user can run is built", r.returncode == 0, r.stderr[-2000:])
    os.chmod(SYSTEM_VENV, 0o755)
    bindir = os.path.join(SYSTEM_VENV, "bin")
    c.require(f"{JOB_USER} can run the job venv's Python", usable(bindir), bindir)
    return bindir


class Cluster:
    """The Slurm cluster and what every hub on it needs."""

    def __init__(self, c):
        self.slurm = slurm_fixture.Slurm()
        try:
            slurm_fixture.ensure_user(JOB_USER)
            self.bin = job_bin(c)
        except BaseException:
            self.slurm.stop()
            raise
        try:
            socket.gethostbyname(self.slurm.hostname)
            # The hub connects to the host squeue names, as it would on a cluster.
            self.exechost = ""
        except OSError:
            # This machine's own name does not resolve: the node is loopback.
            self.exechost = "c.SlurmSpawner.state_exechost_exp = '127.0.0.1'\n"

    def squeue(self, *args):
        return self.slurm.run("squeue", "-h", *args).stdout.strip()

    def job(self, job_id):
        """`user state` of a job still in the queue, or ''."""
        return self.squeue("-j", str(job_id), "-o", "%u %T") if job_id else ""

    def sbatch(self, *args):
        return self.slurm.run("sbatch", "--parsable", *args, check=True).stdout.strip().split(";")[0]

    def scancel(self, job_id):
        self.slurm.run("scancel", str(job_id))

    def hub(self, oxhub, extra=""):
        conf = self.slurm.conf
        config = f"""
c.JupyterHub.spawner_class = 'batchspawner.SlurmSpawner'
c.SlurmSpawner.exec_prefix = '{RUNUSER} -u {{username}} --'
c.SlurmSpawner.req_partition = '{self.slurm.PARTITION}'
c.SlurmSpawner.req_runtime = '30:00'
c.Spawner.cmd = ['jupyterhub-singleuser']
c.Spawner.args = []
c.Spawner.default_url = '/lab'
c.Spawner.environment = {{'PATH': '{self.bin}:/usr/bin:/bin', 'SLURM_CONF': '{conf}'}}
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 180
c.Spawner.poll_interval = 1
c.JupyterHub.cleanup_servers = False
{self.exechost}"""
        # The query and cancel commands run in the hub's own environment.
        return Hub(oxhub, config + extra, env_extra={"SLURM_CONF": conf})

    def stop(self):
        self.slurm.stop()


def progress_events(hub, user, into, stop_after=240):
    """Collects the events of the user's spawn (a thread: the stream ends with the spawn)."""
    def read():
        try:
            with hub.api("GET", f"/users/{user}/server/progress", stream=True) as r:
                for line in r.iter_lines(decode_unicode=True):
                    if line and line.startswith("data:"):
                        into.append(json.loads(line[5:]))
        except requests.RequestException as e:
            into.append({"error": str(e)})
    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t


def scenario_slurm_jupyterlab(oxhub, c, cluster):
    """log in → job submitted as the user → queued → running on the node → JupyterLab through
    the proxy → stop cancels the job."""
    hub = cluster.hub(oxhub)
    # A job that takes the whole node, so the server's job waits in the queue behind it.
    blocker = cluster.sbatch("--exclusive", "--job-name=blocker", "--output=/dev/null", "--wrap", "sleep 600")
    try:
        hub.start()
        c.check("the hub says it uses SlurmSpawner", "SlurmSpawner" in hub.tail(200), hub.tail(10))
        s, r = login(hub, c, JOB_USER)
        c.require("the user logs in", r.status_code == 302, r.status_code)
        r = hub.api("POST", f"/users/{JOB_USER}/server")
        c.require("the spawn is accepted and pending (202)", r.status_code == 202, f"{r.status_code} {r.text[:300]}")
        events = []
        reader = progress_events(hub, JOB_USER, events)
        queued = wait_for(lambda: any("pending in queue, position 1 of 1" in e.get("message", "") for e in events), 60)
        c.check("progress says the job waits in the queue, with its position", queued, events)
        job_id = wait_for(lambda: server_state(hub, JOB_USER).get("state", {}).get("job_id"), 10)
        c.check("the job id is recorded as soon as the job is submitted", bool(job_id), server_state(hub, JOB_USER))
        c.check("the job is pending, submitted as the user", cluster.job(job_id) == f"{JOB_USER} PENDING",
                cluster.job(job_id))
        cluster.scancel(blocker)
        reader.join(240)
        messages = [e.get("message", "") for e in events]
        c.check("progress says where the job runs",
                any(m.startswith(f"Cluster job {job_id} running on host ") for m in messages), messages)
        c.require("the spawn ends ready", bool(events) and events[-1].get("ready") is True,
                  f"{events[-3:]} {hub.tail(20)}")
        c.check("the job runs as the user", cluster.job(job_id) == f"{JOB_USER} RUNNING", cluster.job(job_id))
        r = follow(s, hub, s.get(hub.url + f"/user/{JOB_USER}/lab", allow_redirects=False, timeout=60))
        c.require("JupyterLab from the Slurm job is reached through the proxy",
                  r.status_code == 200 and r.url.startswith(hub.url + f"/user/{JOB_USER}/lab") and "JupyterLab" in r.text,
                  f"{r.status_code} {r.url} {hub.tail(10)}")
        r = s.get(hub.url + f"/user/{JOB_USER}/api/contents", timeout=10)
        c.check("its contents API answers the user's session", r.status_code == 200, r.status_code)
        r = hub.api("DELETE", f"/users/{JOB_USER}/server")
        c.check("stop succeeds", r.status_code in (202, 204), r.status_code)
        c.check("stop cancels the job", wait_for(lambda: cluster.job(job_id) == "", 30), cluster.job(job_id))
        r = hub.api("POST", "/batchspawner", json={"port": 1234})
        c.check("the port callback refuses a token that is no starting server's", r.status_code == 400, r.text)
    finally:
        cluster.scancel(blocker)
        hub.cleanup()


def scenario_slurm_pending_timeout(oxhub, c, cluster):
    """a job that stays pending past start_timeout is cancelled and the failure shown."""
    # The API answers a start that takes longer than 10 s with 202; the job then waits on.
    hub = cluster.hub(oxhub, "c.Spawner.start_timeout = 20\n")
    try:
        hub.start()
        hub.api("POST", "/users", json={"usernames": [JOB_USER]})
        # user_options reach the script: this job may not start for an hour.
        r = hub.api("POST", f"/users/{JOB_USER}/server", json={"options": "--begin=now+3600"})
        c.require("the spawn is accepted (202)", r.status_code == 202, f"{r.status_code} {r.text[:300]}")
        job_id = wait_for(lambda: server_state(hub, JOB_USER).get("state", {}).get("job_id"), 10)
        c.require("the job is queued", cluster.job(job_id) == f"{JOB_USER} PENDING",
                  f"job {job_id!r}: {cluster.job(job_id)!r} all: {cluster.squeue('-t', 'all', '-o', '%i %u %T %r')!r} {hub.tail(3)}")
        events = []
        progress_events(hub, JOB_USER, events).join(60)
        last = events[-1] if events else {}
        c.check("the spawn fails with the start_timeout message",
                last.get("failed") is True and "start_timeout" in last.get("message", ""), events[-3:])
        c.check("the pending job is cancelled", wait_for(lambda: cluster.job(job_id) == "", 20), cluster.job(job_id))
        c.check("the server is gone from the user's model", server_state(hub, JOB_USER) == {}, server_state(hub, JOB_USER))
    finally:
        hub.cleanup()


def scenario_slurm_restart_and_scancel(oxhub, c, cluster):
    """a hub restart finds the running job; a job killed with scancel is noticed by poll."""
    hub = cluster.hub(oxhub)
    job_id = None
    try:
        hub.start()
        hub.api("POST", "/users", json={"usernames": [JOB_USER]})
        r = hub.api("POST", f"/users/{JOB_USER}/server")
        c.require("the spawn is accepted", r.status_code in (201, 202), f"{r.status_code} {r.text[:300]}")
        c.require("the server becomes ready", wait_for(lambda: server_state(hub, JOB_USER).get("ready"), 180),
                  hub.tail(20))
        job_id = server_state(hub, JOB_USER)["state"]["job_id"]
        hub.stop()
        c.check("the job outlives the hub (cleanup_servers = False)", cluster.job(job_id) == f"{JOB_USER} RUNNING",
                cluster.job(job_id))
        hub.start()
        time.sleep(3)  # three poll intervals
        model = server_state(hub, JOB_USER)
        c.check("the restarted hub still has the server, with the same job",
                model.get("ready") is True and model.get("state", {}).get("job_id") == job_id, model)
        r = requests.get(hub.url + f"/user/{JOB_USER}/api/status", timeout=10, allow_redirects=False,
                         headers={"Authorization": f"token {ADMIN_TOKEN}"})
        c.check("the job's server answers through the proxy after the restart", r.status_code == 200,
                f"{r.status_code} {r.text[:200]}")
        cluster.scancel(job_id)
        c.check("poll notices the cancelled job and the server is gone",
                wait_for(lambda: server_state(hub, JOB_USER) == {}, 30), server_state(hub, JOB_USER))
        c.check("the job is gone from the queue", cluster.job(job_id) == "", cluster.job(job_id))
    finally:
        if job_id:
            cluster.scancel(job_id)
        hub.cleanup()


def main():
    oxhub, only = parse_e2e_args()
    c = Checks()
    lacks = slurm_fixture.missing()
    if lacks:
        c.check("the Slurm fixture has what it needs", False, "; ".join(lacks))
        sys.exit(c.summary("oxhub-spawners"))
    began = time.time()
    cluster = None
    try:
        cluster = Cluster(c)
        print(f"# Slurm cluster up in {time.time() - began:.1f} s; jobs run {cluster.bin}/python", flush=True)
        run_scenarios(c, (scenario_slurm_jupyterlab, scenario_slurm_pending_timeout, scenario_slurm_restart_and_scancel),
                      oxhub, cluster, only=only)
    except Abort as e:
        print(f"# aborted: {e}", flush=True)
    except Exception:
        c.check("the Slurm cluster starts", False, traceback.format_exc())
    finally:
        if cluster:
            cluster.stop()
    sys.exit(c.summary("oxhub-spawners"))


if __name__ == "__main__":
    main()
