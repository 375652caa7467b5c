#!/usr/bin/env bash
# Creates (idempotently) the venv used by the end-to-end tests and the demo, and installs the
# pinned Python clients into it: JupyterHub (for jupyterhub-singleuser, and as the reference
# hub), jupyter-server, JupyterLab, jupyterhub-idle-culler, batchspawner (for
# batchspawner-singleuser, which Slurm jobs run), websocket-client for the
# kernel test, and jupyterhub-kubespawner (with its kubernetes_asyncio client) for the golden
# KubeSpawner manifests in tests/kube/golden.py. Prints the venv path at the end.
# Usage: bash scripts/e2e-venv.sh
# VENV=<dir> and PYTHON=<python3> choose another place and interpreter (the Slurm tests build
# one with the system Python where the job's user can run it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.cache/venv-e2e}"
PINS=(jupyterhub==6.1.1 jupyter-server==2.21.1 jupyterlab==4.6.6 jupyterhub-idle-culler==2.0.0 websocket-client==1.9.2 batchspawner==1.3.0 jupyterhub-kubespawner==7.1.0)
PY="${PYTHON:-python3}"

mkdir -p "$ROOT/.cache"

if [ ! -x "$VENV/bin/python" ]; then
  rm -rf "$VENV"
  if ! "$PY" -m venv "$VENV" >/dev/null 2>&1; then
    echo "== '$PY -m venv' failed; installing python3-venv" >&2
    rm -rf "$VENV"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2
    "$PY" -m venv "$VENV"
  fi
fi

if ! "$VENV/bin/python" - "${PINS[@]}" <<'PY' 2>/dev/null
import importlib.metadata as m, sys
sys.exit(any(m.version(n) != v for n, v in (p.split("==") for p in sys.argv[1:])))
PY
then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PINS[@]}" >&2
fi

echo "$VENV"
