#!/usr/bin/env python3
"""Golden manifests from the real KubeSpawner 7.1.0, for comparing oxhub's native KubeSpawner.

For every `configs/NN_name.py` (a jupyterhub_config.py whose first line is
`# oxhub-kube: {"user": ..., "server": ..., "user_options": {...}}`) this loads the file with
traitlets' PyFileConfigLoader, builds a `kubespawner.KubeSpawner` the way JupyterHub 6.1.1's
`User._new_spawner` / `User.spawn` would (offline: no cluster is contacted), runs
`load_user_options()` with the header's user_options, and writes `golden/NN_name.json`:

    {"user", "server", "user_options",
     "namespace":          the spawner's namespace after load_user_options,
     "pod":                get_pod_manifest(),
     "pvc":                get_pvc_manifest() when storage_pvc_ensure, else null,
     "service":            get_service_manifest(owner_reference, port) when services_enabled, else null
                           (owner reference: the pod, uid "pod-uid"; port: the pod's notebook-port),
     "namespace_manifest": the Namespace object _ensure_namespace() would create when
                           enable_user_namespaces, else null}

Manifests are serialized with the Kubernetes client's `sanitize_for_serialization`, i.e. the camelCase
JSON the API server receives (model attributes that are None are dropped; keys inside plain dicts
are kept as configured). Files are written with sorted keys and indent 2.

The hub side is faked with fixed values: user id 1, JupyterHub base_url '/', hub API URL
http://127.0.0.1:8081/hub/api, no public_url, no subdomains, no internal SSL. The hub's own namespace
is pinned to 'default' (as without a service-account namespace file), so {hubnamespace} is 'user'.
The server's API token is a fixed placeholder (API_TOKEN_PLACEHOLDER); OAuth client secrets never
reach the manifest. The values of env vars named JUPYTERHUB_* and JPY_* are computed by the hub
(URLs, scopes, client id, token), so for a comparison only their names are meaningful; every other
value is KubeSpawner's doing.

Usage, from the repository root (the venv comes from `bash scripts/e2e-venv.sh`):

    .cache/venv-e2e/bin/python tests/kube/golden.py           # regenerate tests/kube/golden/
    .cache/venv-e2e/bin/python tests/kube/golden.py --check   # CI: exit 1 with a diff on any change
"""

import argparse
import asyncio
import difflib
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

HERE = Path(__file__).resolve().parent
CONFIGS = HERE / "configs"
GOLDEN = HERE / "golden"
HEADER = "# oxhub-kube:"
API_TOKEN_PLACEHOLDER = "hub-generated-api-token"
HUB_SECRET_ENV = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN")
OWNER_UID = "pod-uid"

# A kubeconfig for a cluster that is never contacted: KubeSpawner's constructor loads a client
# configuration, and building manifests makes no API call.
OFFLINE_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: offline
  cluster:
    server: https://127.0.0.1:6443
users:
- name: offline
  user:
    token: offline
contexts:
- name: offline
  context:
    cluster: offline
    user: offline
current-context: offline
"""


def read_header(path):
    """The spawn described by the config's first line: user, server and user_options."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    if not first.startswith(HEADER):
        raise SystemExit(f"{path.name}: the first line must start with {HEADER!r}")
    spawn = json.loads(first[len(HEADER):])
    if set(spawn) != {"user", "server", "user_options"}:
        raise SystemExit(f"{path.name}: the header needs exactly user, server and user_options")
    return spawn


class FakeUser:
    """The attributes of jupyterhub.user.User that Spawner and KubeSpawner read."""

    def __init__(self, name):
        from jupyterhub.utils import url_escape_path, url_path_join

        self.name = name
        self.id = 1
        self.escaped_name = url_escape_path(name)
        self.base_url = url_path_join("/user/", self.escaped_name) + "/"
        self.url = self.base_url


class CapturingApi:
    """Stands in for CoreV1Api where a create call is wanted only for its body."""

    def __init__(self):
        self.created = []

    async def create_namespace(self, body):
        self.created.append(body)


def make_spawner(spawner_class, config, spawn):
    """Construct the spawner with the keyword arguments JupyterHub 6.1.1 passes, then do what
    User.spawn does before Spawner.start (server, user_options, clear_state, token)."""
    from jupyterhub import orm
    from jupyterhub.utils import url_escape_path, url_path_join
    from urllib.parse import quote

    user = FakeUser(spawn["user"])
    server_name = spawn["server"]
    orm_spawner = SimpleNamespace(
        name=server_name,
        display_name=server_name,
        # a transient row: column defaults are only applied on flush, so give them here
        # (port: the hub picks a random one, which KubeSpawner never reads)
        server=orm.Server(
            proto="http",
            ip="",
            port=0,
            base_url=url_path_join(user.base_url, url_escape_path(server_name), "/"),
            cookie_name="cookie",
        ),
        user_options=spawn["user_options"],
        state=None,
        last_activity=None,
    )
    hub = SimpleNamespace(
        base_url="/hub/",
        url="http://127.0.0.1:8081/hub/",
        api_url="http://127.0.0.1:8081/hub/api",
        public_host="",
    )
    client_id = f"jupyterhub-user-{quote(user.name)}"
    if server_name:
        client_id = f"{client_id}-{quote(server_name)}"
    spawner = spawner_class(
        user=user,
        orm_spawner=orm_spawner,
        hub=hub,
        authenticator=SimpleNamespace(),
        config=config,
        proxy_spec=url_path_join(user.base_url, url_escape_path(server_name), "/"),
        oauth_client_id=client_id,
        cookie_options={},
        cookie_host_prefix_enabled=False,
        trusted_alt_names=[],
        user_options=dict(spawn["user_options"]),
        public_url="",
    )
    spawner.load_state({})
    spawner.user_options = dict(spawn["user_options"])
    spawner.clear_state()
    spawner.api_token = API_TOKEN_PLACEHOLDER
    spawner.admin_access = False
    return spawner


async def render(path):
    from traitlets.config.loader import PyFileConfigLoader
    from kubespawner import KubeSpawner
    from kubespawner.objects import make_owner_reference

    spawn = read_header(path)
    config = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
    if config.JupyterHub.get("spawner_class") != "kubespawner.KubeSpawner":
        raise SystemExit(f"{path.name}: c.JupyterHub.spawner_class must be 'kubespawner.KubeSpawner'")

    spawner = make_spawner(KubeSpawner, config, spawn)
    sanitize = spawner.api.api_client.sanitize_for_serialization

    # what KubeSpawner._start does first
    await spawner.load_user_options()

    namespace_manifest = None
    if spawner.enable_user_namespaces:
        real_api, spawner.api = spawner.api, CapturingApi()
        try:
            await spawner._ensure_namespace()
            (namespace_manifest,) = spawner.api.created
        finally:
            spawner.api = real_api
        namespace_manifest = sanitize(namespace_manifest)

    pvc = sanitize(spawner.get_pvc_manifest()) if spawner.storage_pvc_ensure else None
    pod = sanitize(await spawner.get_pod_manifest())
    service = None
    if spawner.services_enabled:
        owner = make_owner_reference(spawner.pod_name, OWNER_UID)
        service = sanitize(spawner.get_service_manifest(owner, spawner._get_pod_port(pod)))

    for container in pod["spec"]["containers"]:
        for env in container.get("env") or []:
            if env["name"] in HUB_SECRET_ENV and env.get("value") != API_TOKEN_PLACEHOLDER:
                raise SystemExit(f"{path.name}: {env['name']} is not the placeholder token")

    return {
        "user": spawn["user"],
        "server": spawn["server"],
        "user_options": spawn["user_options"],
        "namespace": spawner.namespace,
        "pod": pod,
        "pvc": pvc,
        "service": service,
        "namespace_manifest": namespace_manifest,
    }


def dump(doc):
    return json.dumps(doc, sort_keys=True, indent=2) + "\n"


async def generate_all(outdir):
    from kubespawner import KubeSpawner

    configs = sorted(CONFIGS.glob("[0-9][0-9]_*.py"))
    if not configs:
        raise SystemExit(f"no configs in {CONFIGS}")
    written = []
    # The hub's namespace comes from the service-account file when it exists; pin it.
    with mock.patch.object(KubeSpawner, "_namespace_default", lambda self: "default"):
        for path in configs:
            try:
                doc = await render(path)
            except SystemExit:
                raise
            except Exception as e:
                raise SystemExit(f"{path.name}: {type(e).__name__}: {e}") from e
            name = path.stem + ".json"
            (outdir / name).write_text(dump(doc), encoding="utf-8")
            written.append(name)
    return written


def run(outdir):
    return asyncio.run(generate_all(outdir))


def check():
    with tempfile.TemporaryDirectory(prefix="oxhub-kube-golden-") as tmp:
        fresh = Path(tmp)
        names = run(fresh)
        committed = {p.name for p in GOLDEN.glob("*.json")}
        problems = 0
        for name in sorted(committed - set(names)):
            print(f"stale: tests/kube/golden/{name} has no config in tests/kube/configs/")
            problems += 1
        for name in names:
            new = (fresh / name).read_text(encoding="utf-8")
            old_path = GOLDEN / name
            if not old_path.exists():
                print(f"missing: tests/kube/golden/{name} is not committed")
                problems += 1
                continue
            old = old_path.read_text(encoding="utf-8")
            if old != new:
                problems += 1
                sys.stdout.writelines(
                    difflib.unified_diff(
                        old.splitlines(keepends=True),
                        new.splitlines(keepends=True),
                        fromfile=f"tests/kube/golden/{name} (committed)",
                        tofile=f"tests/kube/golden/{name} (regenerated)",
                    )
                )
        if problems:
            print(
                f"{problems} golden file(s) out of date; regenerate with "
                ".cache/venv-e2e/bin/python tests/kube/golden.py"
            )
            return 1
        print(f"ok: {len(names)} golden files match KubeSpawner's output")
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary directory and exit 1 with a diff if anything differs",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="oxhub-kube-") as tmp:
        # kubernetes_asyncio reads $KUBECONFIG when it is imported: set it first
        kubeconfig = Path(tmp) / "kubeconfig"
        kubeconfig.write_text(OFFLINE_KUBECONFIG, encoding="utf-8")
        os.environ["KUBECONFIG"] = str(kubeconfig)
        # never pick up an in-cluster configuration
        os.environ.pop("KUBERNETES_SERVICE_HOST", None)
        os.environ.pop("KUBERNETES_SERVICE_PORT", None)
        try:
            import kubespawner  # noqa: F401
        except ImportError:
            raise SystemExit(
                "kubespawner is not installed: run `bash scripts/e2e-venv.sh` and use "
                ".cache/venv-e2e/bin/python"
            )
        if args.check:
            sys.exit(check())
        GOLDEN.mkdir(exist_ok=True)
        names = run(GOLDEN)
        for stale in sorted({p.name for p in GOLDEN.glob("*.json")} - set(names)):
            (GOLDEN / stale).unlink()
            print(f"removed stale tests/kube/golden/{stale}")
        print(f"wrote {len(names)} files to tests/kube/golden/")


if __name__ == "__main__":
    main()
