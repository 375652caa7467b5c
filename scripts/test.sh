#!/usr/bin/env bash
# Runs every oxhub test. Installs what the tests need on a fresh Debian machine first:
# python3 (+venv), openssl, Node.js/npm, slapd, Slurm (+munge), podman (+runc, busybox), PostgreSQL, libpam and libclang (scripts/build-deps.sh); configurable-http-proxy 5.3.0 and oidc-provider 9 (npm) and
# JupyterHub 6.1.1 (PyPI, in a venv) go under .cache/.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

need_apt=()
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
# A real OpenLDAP server for the LDAPAuthenticator tests (started by the tests on loopback).
command -v slapd >/dev/null 2>&1 || need_apt+=(slapd ldap-utils)
# A real single-node Slurm cluster (slurmctld, slurmd, munged) for the batch spawner tests
# (tests/slurm/slurm.py); the tests run batch commands as the job's user with runuser.
command -v slurmctld >/dev/null 2>&1 || need_apt+=(slurm-wlm munge)
# podman's Docker-compatible API for the DockerSpawner tests (tests/docker/podman.py): runc,
# because the crun podman pulls in cannot run here, and busybox for the local test image.
{ command -v podman && command -v runc && command -v netavark && command -v aardvark-dns && command -v iptables && [ -x /bin/busybox ]; } >/dev/null 2>&1 \
  || need_apt+=(podman runc netavark aardvark-dns iptables busybox-static)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}"
fi
command -v cargo >/dev/null 2>&1 || { echo "cargo is required (install Rust with rustup)"; exit 1; }
bash scripts/build-deps.sh
# The PAM suite creates system users; here it must run, not skip.
export OXHUB_TEST_REQUIRE_PAM=1 OXHUB_TEST_REQUIRE_LDAP=1

echo "== PostgreSQL for the store suite"
pg_dir=$(mktemp -d)
chmod 755 "$pg_dir"   # the postgres user must reach its data directory
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OXHUB_TEST_POSTGRES_URL=$(bash scripts/postgres.sh start "$pg_dir/pg" "$pg_port")
export OXHUB_TEST_POSTGRES_URL
trap 'bash scripts/postgres.sh stop "$pg_dir/pg"; rm -rf "$pg_dir"' EXIT

echo "== cargo test (unit, corpus, property, Python bridge, store on SQLite and PostgreSQL, CLI and proxy integration tests)"
cargo test --workspace --locked

echo "== the hub API suite again, on PostgreSQL (a fresh database per hub)"
OXHUB_TEST_API_ON_POSTGRES=1 cargo test --locked -p oxhub --test it -- api:: hub_state:: advisories::

target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
oxhub="$target_dir/debug/oxhub"

echo "== schemathesis: the hub API against JupyterHub 6.1.1's rest-api.yml, on SQLite and on PostgreSQL"
bash tests/api/schemathesis.sh "$oxhub"
st_db="oxhub_schemathesis_$$"
psql="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql"
"$psql" -q "$OXHUB_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $st_db" -c "CREATE DATABASE $st_db"
bash tests/api/schemathesis.sh "$oxhub" --db "${OXHUB_TEST_POSTGRES_URL%/*}/$st_db"

echo "== configurable-http-proxy conformance: the same test against oxhub proxy and CHP 5.3.0"
chp="$root/.cache/chp/node_modules/configurable-http-proxy/bin/configurable-http-proxy"
if [ ! -x "$chp" ]; then
  mkdir -p .cache/chp
  (cd .cache/chp && npm install --no-audit --no-fund --loglevel=error configurable-http-proxy@5.3.0)
fi
python3 tests/proxy/conformance.py -- "$oxhub" proxy
python3 tests/proxy/conformance.py -- node "$chp"

echo "== JupyterHub 6.1.1 running on oxhub proxy"
bash scripts/e2e-venv.sh
.cache/venv-e2e/bin/python tests/e2e/jupyterhub_on_oxhub_proxy.py --oxhub "$oxhub"

echo "== oxhub end to end: login to JupyterLab, kernels, tokens, logout, failing spawners, a hub killed mid-spawn, the idle culler"
.cache/venv-e2e/bin/python tests/e2e/oxhub_jupyterlab.py --oxhub "$oxhub"

echo "== beyond one machine: SlurmSpawner on a real Slurm (slurmctld, slurmd, munged) with batchspawner-singleuser and JupyterLab in the job"
.cache/venv-e2e/bin/python tests/e2e/oxhub_spawners.py --oxhub "$oxhub"

echo "== beyond one machine: DockerSpawner on podman's Docker-compatible API (a real podman system service, a local busybox image)"
.cache/venv-e2e/bin/python tests/e2e/oxhub_docker.py --oxhub "$oxhub"

echo "== beyond one machine: KubeSpawner. The manifests against the real KubeSpawner 7.1.0's (golden files current), the fake API server against the real KubeSpawner, then oxhub on the fake API server with JupyterLab in the pod"
.cache/venv-e2e/bin/python tests/kube/golden.py --check
.cache/venv-e2e/bin/python tests/kube/check_fake.py
.cache/venv-e2e/bin/python tests/e2e/oxhub_kube.py --oxhub "$oxhub"

echo "== logins against real identity sources: slapd (LDAPAuthenticator: bind template, lookup_dn, groups, StartTLS, LDAPS, injection) and node oidc-provider (OpenID discovery, GitHub, GitLab, Google, Auth0 and CILogon presets, state and id_token attacks, refresh)"
(cd tests/idp && npm ci --no-audit --no-fund --loglevel=error)
.cache/venv-e2e/bin/python tests/e2e/oxhub_logins.py --oxhub "$oxhub"

echo "== real browser: Debian's Chromium driven by playwright-core: every page and admin action, axe-core on each, screenshots"
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
fi
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)   # playwright-core and axe-core; no browser download
node tests/browser/run.mjs --oxhub "$oxhub" --venv .cache/venv-e2e
