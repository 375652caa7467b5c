#!/usr/bin/env python3
"""A real Docker-compatible container engine (podman's `system service`) for oxhub's
DockerSpawner-like tests. Needs root and Debian's podman, runc, netavark, aardvark-dns, iptables
and busybox-static packages; it installs nothing and says what is missing (`missing()`).

Everything lives in one directory: containers.conf, the image store (`podman --root`), its run
state (`--runroot`), podman's --tmpdir (events, exit files), the network definitions
(network_config_dir) and the API socket, <dir>/podman.sock. So the fixture neither needs nor
disturbs the machine's own podman state. containers.conf picks runc and cgroupfs (crun refuses this
machine's hybrid cgroup layout: "cgroups in hybrid mode not supported") and sets default ulimits to
this process's hard limits (nproc at most 32768; podman's own defaults exceed them: "setrlimit ... Operation not
permitted"). Both podman processes, the importing CLI and the service, get it through
CONTAINERS_CONF in their environment only.

The image `localhost/hubtest-busybox:latest` is imported from a rootfs built from /bin/busybox
(no registry is reachable): /bin/busybox with the applets sh echo id sleep cat httpd wget hostname
env ls, /etc/passwd with root and hubuser (1001:1001, home /tmp), /tmp. Its CMD is /bin/sh.

Networking that works here (podman 4.3, netavark): the default "bridge" network with
HostConfig.PortBindings {"8888/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]} (inspect's
NetworkSettings.Ports["8888/tcp"][0]["HostPort"] is the picked port, reachable on 127.0.0.1), a
user-defined network (POST /networks/create), and NetworkMode "host". The self-test uses the
first: it keeps the host's traffic on loopback.

As a module: `Podman()` starts one and waits until GET /version answers; `.docker_host`
("unix://<dir>/podman.sock", for DOCKER_HOST), `.socket`, `.api(method, path, body)`; `.stop()`
removes every container (and user-defined network) of this engine, stops the service by PID,
unmounts what is left under the directory, undoes the host networking state that netavark set up
for it (iptables chains, ip_forward, the /run/netns bind mount, /run/containers/networks, and
/var/lib/containers/cache, which `podman import` writes whatever --root says) when nothing else
uses it and it was not there before this fixture started, and removes the directory. (A fixture
started while another one runs counts the first one's host state as already there.) From the command line: `podman.py start DIR` prints {"dir", "docker_host", "socket",
"image", "pid", "api_version"} as JSON and leaves the service running; `podman.py stop DIR` stops
it; `podman.py selftest` starts one, runs a busybox httpd container through the API, fetches a page
from it on the host, removes it, stops, and prints OK.
"""
import http.client
import io
import json
import os
import re
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from common import alive, missing_tools, start_logged, stop_pid, tail, wait_for, wait_started  # noqa: E402

IMAGE = "localhost/hubtest-busybox:latest"
API_VERSION = "1.41"  # what podman 4.3's /version reports as ApiVersion
APPLETS = ("sh", "echo", "id", "sleep", "cat", "httpd", "wget", "hostname", "env", "ls")
BUSYBOX = "/bin/busybox"
NETAVARK = ("/usr/lib/podman/netavark", "/usr/libexec/podman/netavark")
AARDVARK = ("/usr/lib/podman/aardvark-dns", "/usr/libexec/podman/aardvark-dns")

TOOLS = {  # command -> Debian package
    "podman": "podman", "runc": "runc", "conmon": "conmon", "iptables": "iptables",
}


def missing():
    """What this fixture needs and this machine lacks, as human-readable strings (empty: all there)."""
    lacks = missing_tools(TOOLS)
    if not any(os.access(p, os.X_OK) for p in NETAVARK):
        lacks.append("netavark (apt-get install netavark)")
    if not any(os.access(p, os.X_OK) for p in AARDVARK):
        lacks.append("aardvark-dns (apt-get install aardvark-dns)")
    if not os.access(BUSYBOX, os.X_OK):
        lacks.append(f"{BUSYBOX} (apt-get install busybox-static)")
    if os.geteuid() != 0:
        lacks.append("root (rootful podman: bridge networking, port bindings, --root storage)")
    return lacks


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def api(sock_path, method, path, body=None, timeout=60):
    """One Docker API request over the unix socket. A path without a /vN.NN prefix gets
    /v1.41. Returns (status, body): parsed JSON when the answer is JSON, else text ("" for none)."""
    if not re.match(r"/v\d", path) and not path.startswith("/_ping"):
        path = f"/v{API_VERSION}{path}"
    conn = _UnixConnection(sock_path, timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        raw = r.read()
        text = raw.decode("utf-8", "replace")
        if "json" in (r.getheader("Content-Type") or "") and text.strip():
            try:
                return r.status, json.loads(text)
            except ValueError:
                pass
        return r.status, text
    finally:
        conn.close()


# --- host state that rootful netavark leaves behind -------------------------------------------

def _iptables(*args):
    try:
        return subprocess.run(["iptables", *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _netavark_chains():
    """{table: [chain names starting with NETAVARK]} in the nat and filter tables."""
    found = {}
    for table in ("nat", "filter"):
        r = _iptables("-t", table, "-S")
        lines = r.stdout.splitlines() if r and r.returncode == 0 else []
        found[table] = [l.split()[1] for l in lines if l.startswith("-N NETAVARK")]
    return found


def _podman_bridges():
    try:
        return [n for n in os.listdir("/sys/class/net") if re.fullmatch(r"podman\d+", n)]
    except OSError:
        return []


def _host_state():
    return {
        "netavark_chains": any(_netavark_chains().values()),
        "ip_forward": _read("/proc/sys/net/ipv4/ip_forward"),
        "run_netns_exists": os.path.isdir("/run/netns"),
        "run_netns_mounted": _is_mountpoint("/run/netns"),
        "run_containers_exists": os.path.isdir("/run/containers"),
        "run_containers_networks_exists": os.path.isdir("/run/containers/networks"),
        "var_lib_containers_exists": os.path.isdir("/var/lib/containers"),
        "var_lib_containers_cache_exists": os.path.isdir("/var/lib/containers/cache"),
    }


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _restore_host(before):
    """Undoes what netavark and podman left on the host for this fixture, but only what was not
    there before it started, and host networking only while no container network is in use
    (no per-network NETAVARK-<id> chain, no podmanN bridge): a system podman may share them."""
    chains = _netavark_chains()
    # NETAVARK-<id> and NETAVARK-DN-<id> belong to a network in use; NETAVARK-HOSTPORT-*,
    # NETAVARK_FORWARD and NETAVARK_ISOLATION_* are netavark's shared ones, left when the last goes.
    in_use = any(re.fullmatch(r"NETAVARK-(DN-)?[0-9A-F]{8,}", c) for cs in chains.values() for c in cs) \
        or _podman_bridges()
    if not in_use:
        if not before.get("netavark_chains"):
            for table, names in chains.items():
                if not names:
                    continue
                r = _iptables("-t", table, "-S")
                for line in (r.stdout.splitlines() if r and r.returncode == 0 else []):
                    parts = shlex.split(line)
                    if parts[:1] == ["-A"] and not parts[1].startswith("NETAVARK") and "-j" in parts \
                            and parts[parts.index("-j") + 1].startswith("NETAVARK"):
                        _iptables("-t", table, "-D", *parts[1:])
                for name in names:
                    _iptables("-t", table, "-F", name)
                for name in names:
                    _iptables("-t", table, "-X", name)
        fwd = before.get("ip_forward")
        if fwd is not None and _read("/proc/sys/net/ipv4/ip_forward") != fwd:
            try:
                with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
                    f.write(fwd)
            except OSError:
                pass
        aardvark_pid = _read("/run/containers/networks/aardvark-dns/aardvark.pid")
        aardvark_running = bool(aardvark_pid and aardvark_pid.isdigit() and alive(int(aardvark_pid)))
        if not before.get("run_containers_networks_exists") and not aardvark_running:
            shutil.rmtree("/run/containers/networks", ignore_errors=True)
            if not before.get("run_containers_exists"):
                try:
                    os.rmdir("/run/containers")
                except OSError:
                    pass
        try:
            netns_empty = not os.listdir("/run/netns")
        except OSError:
            netns_empty = False
        if netns_empty and not before.get("run_netns_mounted"):
            for _ in range(5):  # podman bind-mounts /run/netns on itself (shared), maybe more than once
                if not _is_mountpoint("/run/netns"):
                    break
                subprocess.run(["umount", "/run/netns"], capture_output=True)
        if netns_empty and not before.get("run_netns_exists") and not _is_mountpoint("/run/netns"):
            try:
                os.rmdir("/run/netns")
            except OSError:
                pass
    # `podman import` writes its blob-info cache to /var/lib/containers/cache whatever --root says.
    if not before.get("var_lib_containers_cache_exists"):
        shutil.rmtree("/var/lib/containers/cache", ignore_errors=True)
        if not before.get("var_lib_containers_exists"):
            try:
                os.rmdir("/var/lib/containers")
            except OSError:
                pass


def _is_mountpoint(path):
    """From /proc/self/mountinfo: os.path.ismount misses a bind mount of a directory on itself."""
    return path in _mounts_under(path)


def _mounts_under(directory):
    prefix = directory.rstrip("/") + "/"
    found = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                point = line.split()[4].replace("\\040", " ")
                if point == directory or point.startswith(prefix):
                    found.append(point)
    except OSError:
        pass
    return found


def build_rootfs_tar(path):
    """Writes the busybox image's rootfs as a tar to `path`."""
    with tarfile.open(path, "w") as tar:
        def add_dir(name, mode=0o755):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)

        def add_file(name, data, mode=0o644):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))

        for d in ("bin", "etc", "home", "root", "proc", "sys", "dev", "run", "var"):
            add_dir(d)
        add_dir("tmp", 0o1777)
        with open(BUSYBOX, "rb") as f:
            add_file("bin/busybox", f.read(), 0o755)
        for applet in APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, "busybox", 0o777
            tar.addfile(info)
        add_file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nhubuser:x:1001:1001::/tmp:/bin/sh\n")
        add_file("etc/group", b"root:x:0:\nhubuser:x:1001:\n")


class Podman:
    """podman's Docker-compatible API service with its own storage, config and socket under one directory."""

    IMAGE = IMAGE

    def __init__(self, directory=None, start_timeout=60):
        lacks = missing()
        if lacks:
            raise RuntimeError("the podman fixture needs: " + "; ".join(lacks)
                               + " (scripts/test.sh installs podman, runc, netavark, aardvark-dns, iptables"
                               " and busybox-static)")
        self.dir = os.path.abspath(directory or tempfile.mkdtemp(prefix="oxhub-podman-"))
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        d = self.dir
        self.socket = os.path.join(d, "podman.sock")
        if len(self.socket.encode()) > 100:
            raise RuntimeError(f"socket path too long for a unix socket: {self.socket}")
        self.docker_host = "unix://" + self.socket
        self.conf = os.path.join(d, "containers.conf")
        self.pid = None
        self._proc = None
        self.started = time.time()
        self._save(before=_host_state())
        for sub in ("networks", "tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        # nofile: this process's hard limit (podman's default, 1048576, is above it here). nproc:
        # podman lowers its own to 32768 (this machine's pid_max), and a container cannot exceed it.
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        nproc = min(int(_read("/proc/sys/kernel/pid_max") or 32768), 32768)
        if resource.getrlimit(resource.RLIMIT_NPROC)[1] != resource.RLIM_INFINITY:
            nproc = min(nproc, resource.getrlimit(resource.RLIMIT_NPROC)[1])
        ulimits = [f'"nproc={nproc}:{nproc}"']
        if nofile != resource.RLIM_INFINITY:
            ulimits.insert(0, f'"nofile={nofile}:{nofile}"')
        with open(self.conf, "w") as f:
            f.write(f"""[containers]
default_ulimits = [{", ".join(ulimits)}]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"
network_config_dir = "{d}/networks"
""")
        tar = os.path.join(d, "rootfs.tar")
        build_rootfs_tar(tar)
        r = self.podman("import", "--change", 'CMD ["/bin/sh"]', tar, IMAGE)
        if r.returncode != 0:
            self.stop(remove=False)
            raise RuntimeError(f"podman import failed ({r.returncode}): {r.stdout}{r.stderr}")
        os.unlink(tar)
        self._proc = start_logged(
            ["podman", *self.global_flags(), "system", "service", "--time=0", self.docker_host],
            os.path.join(d, "service.log"), "ab", env=self.env(), stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self._proc.pid
        with open(os.path.join(d, "service.pid"), "w") as f:
            f.write(str(self.pid))

        def answers():
            try:
                return self.api("GET", "/version")[0] == 200
            except OSError:
                return False
        if not wait_started(self._proc, answers, start_timeout, every=0.1) or self._proc.poll() is not None:
            logs = tail(os.path.join(d, "service.log"))
            self.stop(remove=False)
            raise RuntimeError(f"podman system service did not answer on {self.socket} within "
                               f"{start_timeout} s\n{logs}")
        self.api_version = self.api("GET", "/version")[1].get("ApiVersion")
        self.start_seconds = time.time() - self.started

    def global_flags(self):
        d = self.dir
        return ["--root", f"{d}/storage", "--runroot", f"{d}/run", "--tmpdir", f"{d}/tmp"]

    def env(self):
        return {**os.environ, "CONTAINERS_CONF": os.path.join(self.dir, "containers.conf")}

    def podman(self, *args, timeout=120):
        """Runs the podman CLI on this fixture's storage; returns the CompletedProcess."""
        return subprocess.run(["podman", *self.global_flags(), *args], env=self.env(),
                              capture_output=True, text=True, timeout=timeout)

    def api(self, method, path, body=None, timeout=60):
        """A Docker API request to this engine: (status, parsed JSON or text). See `api`."""
        return api(self.socket, method, path, body, timeout)

    def host_port(self, container, port="8888/tcp"):
        """The host port that a bridge-networked container's published `port` got (inspect's
        NetworkSettings.Ports), or None."""
        status, info = self.api("GET", f"/containers/{container}/json")
        if status != 200:
            return None
        bindings = (info.get("NetworkSettings") or {}).get("Ports") or {}
        for b in bindings.get(port) or []:
            if b.get("HostPort"):
                return int(b["HostPort"])
        return None

    def _save(self, **extra):
        path = os.path.join(self.dir, "fixture.json")
        info = {}
        try:
            with open(path) as f:
                info = json.load(f)
        except (OSError, ValueError):
            pass
        info.update(extra)
        with open(path, "w") as f:
            json.dump(info, f)

    def _load(self):
        try:
            with open(os.path.join(self.dir, "fixture.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def _service_pid(self):
        if self.pid:
            return self.pid
        pid = _read(os.path.join(self.dir, "service.pid"))
        if not (pid and pid.isdigit()):
            return None
        try:  # only our service: the pid file may be stale and its PID reused
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            return None
        return int(pid) if b"system\0service" in cmdline and self.socket.encode() in cmdline else None

    def stop(self, remove=True):
        """Removes every container (force, with its anonymous volumes) and user-defined network of
        this engine, stops the service by PID, unmounts what podman left mounted under the directory,
        undoes the host state it set up (see _restore_host); then removes the directory unless
        remove=False."""
        self.socket = os.path.join(self.dir, "podman.sock")
        pid = self._service_pid()
        if pid and alive(pid) and os.path.exists(self.socket):
            try:
                status, containers = self.api("GET", "/containers/json?all=true")
                for c in containers if status == 200 else []:
                    self.api("DELETE", f"/containers/{c['Id']}?force=true&v=true", timeout=60)
                status, networks = self.api("GET", "/networks")
                for n in networks if status == 200 else []:
                    if n.get("Name") not in ("bridge", "podman", "host", "none"):
                        self.api("DELETE", f"/networks/{n['Id']}")
            except (OSError, ValueError, http.client.HTTPException):
                pass
        if pid:
            stop_pid(pid, timeout=15, kill_after=5)
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for point in sorted(_mounts_under(self.dir), key=len, reverse=True):
            subprocess.run(["umount", point], capture_output=True)
        for point in sorted(_mounts_under(self.dir), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True)
        before = self._load().get("before")
        if before:  # without a record of the host's state before, touch nothing there
            _restore_host(before)
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)


def selftest():
    """Starts a fixture, runs a busybox httpd in a bridge-networked container published on a
    loopback port, checks what inspect says, fetches a page on the host, removes the container and
    the fixture; raises AssertionError on a failed check."""
    t0 = time.time()
    p = Podman()
    print(f"started in {p.start_seconds:.1f} s, ApiVersion {p.api_version}, {p.docker_host}")
    try:
        status, img = p.api("GET", f"/images/{IMAGE}/json")
        assert status == 200 and IMAGE in img.get("RepoTags", []), (status, img)
        hostdir = os.path.join(p.dir, "hostdir")
        os.makedirs(hostdir)
        with open(os.path.join(hostdir, "index.html"), "w") as f:
            f.write("hello from the host\n")
        body = {
            "Image": IMAGE,
            "Cmd": ["httpd", "-f", "-p", "8888", "-h", "/srv"],
            "User": "1001",
            "Env": ["JUPYTERHUB_USER=alice", "FOO=bar baz"],
            "Labels": {"oxhub.selftest": "1"},
            "ExposedPorts": {"8888/tcp": {}},
            "HostConfig": {
                "PortBindings": {"8888/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]},
                "Memory": 256 * 1024 * 1024, "CpuPeriod": 100000, "CpuQuota": 50000,
                "Binds": ["vol-alice:/home/work:rw", f"{hostdir}:/srv:ro"],
            },
        }
        status, created = p.api("POST", "/containers/create?name=oxhub-selftest", body)
        assert status == 201, (status, created)
        cid = created["Id"]
        status, out = p.api("POST", f"/containers/{cid}/start")
        assert status == 204, (status, out)
        status, info = p.api("GET", f"/containers/{cid}/json")
        assert status == 200 and info["State"]["Running"], (status, info.get("State"))
        h, c = info["HostConfig"], info["Config"]
        assert h["Memory"] == 256 * 1024 * 1024 and h["CpuQuota"] == 50000 and h["CpuPeriod"] == 100000, h
        assert c["User"] == "1001" and "FOO=bar baz" in c["Env"], c
        mounts = {m["Destination"]: m for m in info["Mounts"]}
        assert mounts["/home/work"]["Type"] == "volume" and mounts["/home/work"]["Name"] == "vol-alice", mounts
        assert mounts["/srv"]["Type"] == "bind" and mounts["/srv"]["RW"] is False, mounts
        port = p.host_port(cid)
        assert port, info["NetworkSettings"]["Ports"]
        url = f"http://127.0.0.1:{port}/index.html"
        page = None

        def fetch():
            nonlocal page
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    page = r.read().decode()
                return True
            except OSError:
                return False
        assert wait_for(fetch, 20), f"no answer from {url}"
        assert page == "hello from the host\n", page
        status, out = p.api("POST", f"/containers/{cid}/stop?t=1")
        assert status == 204, (status, out)
        status, out = p.api("POST", f"/containers/{cid}/stop?t=1")
        assert status == 304, (status, out)
        status, out = p.api("DELETE", f"/containers/{cid}?v=true")
        assert status == 204, (status, out)
        status, out = p.api("GET", f"/containers/{cid}/json")
        assert status == 404 and "message" in out, (status, out)
        # AutoRemove: gone once stopped.
        status, created = p.api("POST", "/containers/create?name=oxhub-selftest-auto", {
            "Image": IMAGE, "Cmd": ["sleep", "300"], "HostConfig": {"AutoRemove": True}})
        assert status == 201, (status, created)
        assert p.api("POST", f"/containers/{created['Id']}/start")[0] == 204
        assert p.api("POST", f"/containers/{created['Id']}/stop?t=0")[0] == 204
        assert wait_for(lambda: p.api("GET", f"/containers/{created['Id']}/json")[0] == 404, 10)
        print(f"container served {url}: {page.strip()!r}")
    finally:
        p.stop()
    leftovers = [n for n in _podman_bridges()] + _mounts_under(p.dir)
    assert not leftovers, leftovers
    assert not os.path.exists(p.dir), p.dir
    print(f"OK ({time.time() - t0:.1f} s)")


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "selftest":
        selftest()
        sys.exit(0)
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit(f"usage: {sys.argv[0]} start|stop DIR | selftest")
    command, directory = sys.argv[1], os.path.abspath(sys.argv[2])
    if command == "start":
        p = Podman(directory)
        print(json.dumps({"dir": p.dir, "docker_host": p.docker_host, "socket": p.socket, "image": IMAGE,
                          "pid": p.pid, "api_version": p.api_version}))
    else:
        podman = Podman.__new__(Podman)
        podman.dir, podman.pid, podman._proc = directory, None, None
        podman.stop()
