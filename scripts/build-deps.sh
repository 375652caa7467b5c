#!/usr/bin/env bash
# What building oxhub needs from the system besides Rust: a C compiler, libpam's headers
# (PAMAuthenticator links libpam) and libclang (its bindings are generated at build time).
# Installs what is missing with apt; quiet when everything is there.
# Usage: bash scripts/build-deps.sh
set -euo pipefail
need=()
command -v cc >/dev/null 2>&1 || need+=(gcc)
[ -e /usr/include/security/pam_appl.h ] || need+=(libpam0g-dev)
compgen -G "/usr/lib/llvm-*/lib/libclang.so" >/dev/null || compgen -G "/usr/lib/llvm-*/lib/libclang-*.so" >/dev/null || need+=(libclang-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi
