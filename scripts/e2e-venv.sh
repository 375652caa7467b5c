#!/usr/bin/env bash
# Creates (idempotently) the venv used by the JupyterHub end-to-end tests and installs the
# pinned JupyterHub release into it. Prints the venv path at the end.
# Usage: bash scripts/e2e-venv.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.cache/venv-e2e"
JUPYTERHUB_PIN="jupyterhub==6.1.1"
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

if ! "$VENV/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("jupyterhub") != "6.1.1")' 2>/dev/null; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$JUPYTERHUB_PIN" >&2
fi

echo "$VENV"
