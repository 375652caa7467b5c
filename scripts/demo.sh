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
echo "== the hub's REST API (logging in and JupyterLab arrive with the spawning work)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cd demo
../target/debug/oxhub --JupyterHub.hub_port="$port" --db=sqlite:///demo.sqlite 2>hub.log &
hub=$!
trap 'kill "$hub" 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/hub/api/" >/dev/null && break; sleep 0.1; done
token=$(../target/debug/oxhub token admin --db=sqlite:///demo.sqlite)
echo "GET /hub/api/          -> $(curl -s "http://127.0.0.1:$port/hub/api/")"
echo "GET /hub/api/users     -> $(curl -s -H "Authorization: token $token" "http://127.0.0.1:$port/hub/api/users")"
