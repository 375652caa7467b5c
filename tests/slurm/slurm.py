#!/usr/bin/env python3
"""A real single-node Slurm cluster (slurmctld + slurmd + its own munged) for oxhub's batch
spawner tests (the SlurmSpawner of batchspawner 1.3.0). Needs root (slurmd runs as root to start
jobs as their users, slurmctld as the slurm user, munged as the munge user) and Debian's
slurm-wlm and munge packages; it installs nothing and says what is missing.

Cluster "hubtest": one node, named after this machine's short hostname (what `squeue -o %B`
prints), NodeAddr=127.0.0.1, one partition `debug` (Default=YES). slurmctld and slurmd listen on
0.0.0.0 (Slurm has no bind option), on ports picked at run time. Everything lives in one
directory: slurm.conf, state, spool, logs, pid files, and a munged with its own key and socket
(slurm.conf's AuthInfo=socket=... points every daemon and client at it), so the fixture neither
needs nor disturbs a system munged. Every client command (sbatch, squeue, scancel, scontrol, and
srun inside a job) needs SLURM_CONF=<dir>/slurm.conf in its environment: `.env()`.

As a module: `Slurm()` starts one and waits until the node is idle, `.stop()` cancels what is
left in the queue and stops the daemons by PID; `ensure_user(name)` creates a system user for
jobs. From the command line: `slurm.py start DIR` prints {"dir", "conf", "env", "hostname",
"partition", "slurmctld_port", "slurmd_port", "munge_socket"} as JSON and leaves the cluster
running; `slurm.py stop DIR` stops it.
"""
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from common import free_ports, missing_tools, read_pid, stop_pid, tail, wait_for  # noqa: E402

TOOLS = {  # command -> Debian package
    "slurmctld": "slurm-wlm", "slurmd": "slurm-wlm", "sbatch": "slurm-client", "squeue": "slurm-client",
    "sinfo": "slurm-client", "scancel": "slurm-client", "scontrol": "slurm-client", "srun": "slurm-client",
    "munged": "munge", "munge": "munge", "unmunge": "munge", "runuser": "util-linux", "useradd": "passwd",
}


def missing():
    """What this fixture needs and this machine lacks, as human-readable strings (empty: all there)."""
    lacks = missing_tools(TOOLS)
    for user in ("slurm", "munge"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            lacks.append(f"the {user} user (created by the slurm-wlm and munge packages)")
    if os.geteuid() != 0:
        lacks.append("root (slurmd must run as root to start jobs as their users)")
    return lacks


def ensure_user(name):
    """Creates the system user `name` (home directory, /bin/bash) if missing; returns its passwd entry."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True, capture_output=True)
        return pwd.getpwnam(name)


class Slurm:
    """A real single-node Slurm cluster with its own munged, all under one directory."""

    CLUSTER = "hubtest"
    PARTITION = "debug"

    def __init__(self, directory=None, start_timeout=60):
        lacks = missing()
        if lacks:
            raise RuntimeError("the Slurm fixture needs: " + "; ".join(lacks)
                               + " (scripts/test.sh installs slurm-wlm and munge)")
        self.dir = os.path.abspath(directory or tempfile.mkdtemp(prefix="oxhub-slurm-"))
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)  # job users read slurm.conf and reach the munge socket through it
        d = self.dir
        self.hostname = socket.gethostname().split(".")[0]
        self.slurmctld_port, self.slurmd_port = free_ports(2, host="0.0.0.0")  # Slurm's daemons bind 0.0.0.0
        self.conf = os.path.join(d, "slurm.conf")
        self.started_munged = False
        slurm, munge = pwd.getpwnam("slurm"), pwd.getpwnam("munge")
        for sub, owner in (("state", slurm), ("log", slurm), ("run", slurm), ("spool", None), ("munge", munge)):
            p = os.path.join(d, sub)
            os.makedirs(p, exist_ok=True)
            os.chmod(p, 0o755)  # munged insists that everyone may search its socket's directory
            if owner:
                os.chown(p, owner.pw_uid, owner.pw_gid)
        self.munge_socket = self._start_munged(munge)
        self._save()
        with open(self.conf, "w") as f:
            f.write(f"""ClusterName={self.CLUSTER}
SlurmctldHost={self.hostname}(127.0.0.1)
SlurmUser=slurm
SlurmctldPort={self.slurmctld_port}
SlurmdPort={self.slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/run/slurmctld.pid
SlurmdPidFile={d}/run/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SchedulerType=sched/backfill
MailProg=/bin/true
NodeName={self.hostname} NodeAddr=127.0.0.1 CPUs={os.cpu_count() or 1} RealMemory=1000 State=UNKNOWN
PartitionName={self.PARTITION} Nodes={self.hostname} Default=YES MaxTime=INFINITE State=UP
""")
        os.chmod(self.conf, 0o644)
        env = {**os.environ, **self.env()}
        for daemon in ("slurmctld", "slurmd"):
            r = subprocess.run([daemon, "-f", self.conf], env=env, capture_output=True, text=True)
            if r.returncode != 0:
                self.stop(remove=False)
                raise RuntimeError(f"{daemon} -f {self.conf} failed ({r.returncode}): {r.stdout}{r.stderr}\n"
                                   + self._logs())
        if not wait_for(lambda: self.node_state() == "idle", start_timeout, every=0.5):
            state = self.node_state()
            logs = self._logs()
            self.stop(remove=False)
            raise RuntimeError(f"the Slurm node {self.hostname} is not idle after {start_timeout} s "
                               f"(sinfo says {state!r}); logs in {d}/log\n{logs}")

    def _start_munged(self, munge):
        """Starts a munged with its own key, socket and pid file under the directory; returns its socket.
        If that fails and a system munged answers on its default socket, uses that one (and never stops it)."""
        m = os.path.join(self.dir, "munge")
        key, sock = os.path.join(m, "munge.key"), os.path.join(m, "munge.socket")
        with open(key, "wb") as f:
            f.write(os.urandom(128))  # what `mungekey --create` writes: 1024 random bits
        os.chown(key, munge.pw_uid, munge.pw_gid)
        os.chmod(key, 0o400)
        r = subprocess.run(["runuser", "-u", "munge", "--", "munged", f"--socket={sock}", f"--key-file={key}",
                            f"--pid-file={m}/munged.pid", f"--log-file={m}/munged.log",
                            f"--seed-file={m}/munged.seed"], capture_output=True, text=True)
        if r.returncode == 0:
            if self._munge_works(sock):
                self.started_munged = True
                return sock
            pid = read_pid(os.path.join(m, "munged.pid"))
            if pid:  # it started but does not answer: do not leave it behind
                stop_pid(pid, timeout=10, kill_after=None)
        system = "/run/munge/munge.socket.2"
        if self._munge_works(system):
            return system
        raise RuntimeError(f"munged did not start ({r.returncode}): {r.stdout}{r.stderr}\n"
                           + tail(os.path.join(m, "munged.log")))

    @staticmethod
    def _munge_works(sock):
        def ok():
            enc = subprocess.run(["munge", "-n", "-S", sock], capture_output=True)
            return enc.returncode == 0 and subprocess.run(["unmunge", "-S", sock], input=enc.stdout,
                                                          capture_output=True).returncode == 0
        return wait_for(ok, 10)

    def _save(self):
        with open(os.path.join(self.dir, "fixture.json"), "w") as f:
            json.dump({"started_munged": self.started_munged, "conf": self.conf}, f)

    def _logs(self):
        return "".join(f"--- {name}\n{tail(os.path.join(self.dir, name))}"
                       for name in ("log/slurmctld.log", "log/slurmd.log", "munge/munged.log"))

    def env(self):
        """What a Slurm client command needs in its environment (the munge socket comes from slurm.conf)."""
        return {"SLURM_CONF": self.conf}

    def run(self, *args, **kw):
        """Runs a Slurm client command as the caller, with SLURM_CONF set; returns the CompletedProcess."""
        return subprocess.run(list(args), env={**os.environ, **self.env()}, capture_output=True, text=True, **kw)

    def node_state(self):
        r = self.run("sinfo", "-h", "-n", self.hostname, "-o", "%T")
        return r.stdout.strip() if r.returncode == 0 else None

    def squeue(self, job_id):
        """SlurmSpawner's query, `squeue -h -j ID -o '%T %B'`, stripped: "PENDING n/a", "RUNNING vm";
        "" for a finished job Slurm still remembers (MinJobAge, 300 s: squeue shows finished jobs only
        with -t all); None when squeue fails (exit 1, "slurm_load_jobs error: Invalid job id specified"
        for an id it never knew or has forgotten)."""
        r = self.run("squeue", "-h", "-j", str(job_id), "-o", "%T %B")
        return r.stdout.strip() if r.returncode == 0 else None

    def _pids(self):
        names = ["run/slurmd.pid", "run/slurmctld.pid"]
        info = {}
        try:
            with open(os.path.join(self.dir, "fixture.json")) as f:
                info = json.load(f)
        except (OSError, ValueError):
            pass
        if info.get("started_munged"):
            names.append("munge/munged.pid")
        pids = [read_pid(os.path.join(self.dir, name)) for name in names]
        return [pid for pid in pids if pid is not None]

    def stop(self, remove=True):
        """Cancels the jobs still queued, stops slurmd, slurmctld and our munged (never a system one)
        by PID and waits until they are gone; then removes the directory unless remove=False."""
        conf = os.path.join(self.dir, "slurm.conf")
        env = {**os.environ, "SLURM_CONF": conf}
        active = lambda: subprocess.run(["squeue", "-h", "-t", "PD,CF,R,CG,S", "-o", "%i"], env=env,
                                        capture_output=True, text=True, timeout=30).stdout.split()
        try:
            jobs = active() if os.path.exists(conf) else []
            if jobs:  # scancel's SIGTERM reaches the jobs' processes; slurmstepd outlives a stopped slurmd
                subprocess.run(["scancel", *jobs], env=env, capture_output=True, timeout=30)
                wait_for(lambda: not active(), 20, every=0.5)
        except subprocess.TimeoutExpired:
            pass
        for pid in self._pids():  # slurmd first, then slurmctld, munged last: each still has its peers
            stop_pid(pid, timeout=15, kill_after=5)
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit(f"usage: {sys.argv[0]} start|stop DIR")
    command, directory = sys.argv[1], os.path.abspath(sys.argv[2])
    if command == "start":
        s = Slurm(directory)
        print(json.dumps({"dir": s.dir, "conf": s.conf, "env": s.env(), "hostname": s.hostname,
                          "partition": s.PARTITION, "slurmctld_port": s.slurmctld_port,
                          "slurmd_port": s.slurmd_port, "munge_socket": s.munge_socket}))
    else:
        slurm = Slurm.__new__(Slurm)
        slurm.dir = directory
        slurm.stop()
