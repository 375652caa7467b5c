#!/usr/bin/env bash
# Runs every oxhub test. Installs what the tests need on a fresh Debian machine first.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}"
fi
command -v cargo >/dev/null 2>&1 || { echo "cargo is required (install Rust with rustup)"; exit 1; }

echo "== cargo test (unit, corpus, property, Python bridge and CLI integration tests)"
cargo test --workspace --locked
