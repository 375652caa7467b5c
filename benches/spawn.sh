#!/usr/bin/env bash
# Server spawning, oxhub against JupyterHub 6.1.1, same config, same machine, one run:
# N (default 200) concurrent spawns of benches/tiny_server.py through each hub's REST API, time
# until all are ready and until all are stopped, and the hub process's CPU seconds. Both hubs
# use `oxhub proxy` as their proxy and the simple local spawner.
#
#   bash benches/spawn.sh            # N=200
#
# Installs: JupyterHub 6.1.1 in .cache/venv-e2e (scripts/e2e-venv.sh), a release build of oxhub.
# Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200}
ulimit -n 65536 2>/dev/null || true
bash scripts/e2e-venv.sh >/dev/null
bash scripts/build-deps.sh
cargo build --release --locked -q -p oxhub
exec .cache/venv-e2e/bin/python benches/spawn.py --oxhub "$(pwd)/target/release/oxhub" \
  --jupyterhub "$(pwd)/.cache/venv-e2e/bin/jupyterhub" -n "$N"
