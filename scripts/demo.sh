#!/usr/bin/env bash
# The oxhub demo: a working hub a newcomer can log into and get JupyterLab.
# Builds oxhub, installs jupyterhub-singleuser and JupyterLab (pinned) into .cache/venv-e2e,
# writes demo/jupyterhub_config.py (Dummy authenticator with a shared password, simple local
# spawner with homes under demo/home/), and runs the hub, which starts its own proxy.
# Open http://127.0.0.1:8000 (PORT=... to change), log in with any name and password "demo".
# Ctrl-C stops the hub, its proxy and the servers.
# Usage: bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
port="${PORT:-8000}"
command -v cargo >/dev/null 2>&1 || { echo "cargo is required (install Rust with rustup)"; exit 1; }
if ! command -v python3 >/dev/null 2>&1 || ! command -v cc >/dev/null 2>&1; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-venv gcc
fi
bash scripts/build-deps.sh
echo "== building oxhub"
cargo build --locked -q -p oxhub
echo "== installing jupyterhub-singleuser and JupyterLab into .cache/venv-e2e"
venv=$(bash scripts/e2e-venv.sh)
mkdir -p demo
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# The hub and the proxy's API on ports picked now (8081/8001 may be taken on this machine).
hub_port=$(free_port)
api_port=$(free_port)
args="[]"
[ "$(id -u)" = 0 ] && args="['--allow-root']"   # jupyter-server refuses root without it
cat > demo/jupyterhub_config.py <<PY
c = get_config()
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = $port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = $hub_port
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:$api_port"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "demo"
c.Authenticator.admin_users = {"admin"}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "$root/demo/home/{username}"
c.Spawner.cmd = ["$venv/bin/jupyterhub-singleuser"]
c.Spawner.args = $args
c.Spawner.default_url = "/lab"
c.JupyterHub.db_url = "sqlite:///demo.sqlite"
PY
echo
echo "== oxhub is starting: open http://127.0.0.1:$port and log in with any username and password 'demo'"
echo
cd demo
PATH="$venv/bin:$PATH" exec ../target/debug/oxhub
