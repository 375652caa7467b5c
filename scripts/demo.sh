#!/usr/bin/env bash
# The oxhub demo. Today it builds oxhub, writes a demo jupyterhub_config.py (Dummy
# authenticator, simple local spawner) into ./demo/, and shows the configuration oxhub reads
# from it. Serving the hub and spawning JupyterLab land with the spawning work (see README).
# Usage: bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked -q -p oxhub
mkdir -p demo
cat > demo/jupyterhub_config.py <<'PY'
c = get_config()
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "demo"
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {"admin"}
c.JupyterHub.spawner_class = "simple"
c.Spawner.default_url = "/lab"
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = 8000
PY
echo "== oxhub show-config -f demo/jupyterhub_config.py (selected classes and warnings)"
./target/debug/oxhub show-config -f demo/jupyterhub_config.py | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("sources: ", d["sources"])
print("selected:", d["selected"])
print("warnings:", d["warnings"] or "none")
hub = d["config"]["JupyterHub"]
print("listens: ", hub["ip"]["value"] or "*", hub["port"]["value"], "(from", hub["port"]["source"] + ")")
'
echo
./target/debug/oxhub -f demo/jupyterhub_config.py || true
