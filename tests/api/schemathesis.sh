#!/usr/bin/env bash
# Checks oxhub's REST API against JupyterHub 6.1.1's OpenAPI description (rest-api.yml) with
# schemathesis: no 5xx, documented status codes, response bodies matching the schemas (adjusted
# where the real JupyterHub handlers differ from rest-api.yml: shared/reference/hub-api.md),
# plus every tested operation answering 2xx at least once.
#
# Usage: bash tests/api/schemathesis.sh PATH/TO/oxhub [--db URL]
#   --db URL   database for the hub (e.g. a PostgreSQL URL from scripts/postgres.sh; it should
#              be empty); default: SQLite in a temp directory.
# Environment: ST_MAX_EXAMPLES (default 100) test cases per operation and phase, ST_SEED (default
# 20240501), ST_TIMEOUT (default 270) hard limit in seconds for the schemathesis run.
# Installs (idempotently) schemathesis into .cache/venv-schemathesis and downloads the JupyterHub
# 6.1.1 sdist into .cache/ for its rest-api.yml. Exits non-zero on any failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/api"
SCHEMATHESIS_PIN="schemathesis==4.32.5"
JUPYTERHUB_VERSION="6.1.1"
ADMIN_TOKEN="schemathesis-admin-token-0123456789"
PROXY_TOKEN="schemathesis-proxy-token-0123456789"
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-100}"
SEED="${ST_SEED:-20240501}"
ST_TIMEOUT="${ST_TIMEOUT:-270}"

oxhub=""
db_url=""
while [ $# -gt 0 ]; do
  case "$1" in
    --db) db_url="${2:?--db needs a URL}"; shift 2 ;;
    --db=*) db_url="${1#--db=}"; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) [ -z "$oxhub" ] || { echo "unexpected argument: $1" >&2; exit 2; }; oxhub="$1"; shift ;;
  esac
done
[ -n "$oxhub" ] || { echo "usage: $0 PATH/TO/oxhub [--db URL]" >&2; exit 2; }
oxhub="$(cd "$(dirname "$oxhub")" && pwd)/$(basename "$oxhub")"
[ -x "$oxhub" ] || { echo "not an executable: $oxhub" >&2; exit 2; }

# --- schemathesis, pinned, in its own venv --------------------------------------------------
VENV="$ROOT/.cache/venv-schemathesis"
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
if ! "$VENV/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("schemathesis") != sys.argv[1])' \
    "${SCHEMATHESIS_PIN#*==}" 2>/dev/null; then
  echo "== installing $SCHEMATHESIS_PIN into $VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$SCHEMATHESIS_PIN" >&2
fi

# --- rest-api.yml from the JupyterHub sdist ---------------------------------------------------
SPEC="$ROOT/.cache/jupyterhub-$JUPYTERHUB_VERSION-rest-api.yml"
if [ ! -s "$SPEC" ]; then
  sdist_dir="$ROOT/.cache/sdist"
  sdist="$sdist_dir/jupyterhub-$JUPYTERHUB_VERSION.tar.gz"
  mkdir -p "$sdist_dir"
  if [ ! -s "$sdist" ]; then
    echo "== downloading the jupyterhub $JUPYTERHUB_VERSION sdist" >&2
    "$VENV/bin/python" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
      -d "$sdist_dir" "jupyterhub==$JUPYTERHUB_VERSION" >&2 || true
  fi
  if [ -s "$sdist" ] && "$VENV/bin/python" - "$sdist" "$SPEC.tmp" "$JUPYTERHUB_VERSION" <<'EOF'
import sys, tarfile
sdist, out, version = sys.argv[1:4]
member = f"jupyterhub-{version}/docs/source/_static/rest-api.yml"
with tarfile.open(sdist) as t, open(out, "wb") as f:
    f.write(t.extractfile(member).read())
EOF
  then
    mv "$SPEC.tmp" "$SPEC"
  else
    rm -f "$SPEC.tmp"
    ref="$ROOT/../shared/reference/rest-api.yml"
    [ -s "$ref" ] || { echo "cannot obtain rest-api.yml (no sdist, no $ref)" >&2; exit 1; }
    echo "== WARNING: could not get rest-api.yml from the jupyterhub sdist; using $ref" >&2
    SPEC="$ref"
  fi
fi

# --- the hub ------------------------------------------------------------------------------------
work="$(mktemp -d)"
hub_pid=""
proxy_pid=""
stop_pid() {
  local pid="$1"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
}
cleanup() {
  stop_pid "$hub_pid"
  stop_pid "$proxy_pid"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A proxy for GET/POST /proxy to talk to: oxhub's own configurable-http-proxy drop-in, run
# beside the hub (the hub does not start one itself here: should_start = False).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
proxy_port="$(free_port)"
proxy_api_port="$(free_port)"
CONFIGPROXY_AUTH_TOKEN="$PROXY_TOKEN" "$oxhub" proxy --ip 127.0.0.1 --port "$proxy_port" \
  --api-ip 127.0.0.1 --api-port "$proxy_api_port" >"$work/proxy.log" 2>&1 &
proxy_pid=$!
for _ in $(seq 300); do
  "$VENV/bin/python" -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], headers={"Authorization": "token " + sys.argv[2]}), timeout=2)' \
    "http://127.0.0.1:$proxy_api_port/api/routes" "$PROXY_TOKEN" 2>/dev/null && break
  kill -0 "$proxy_pid" 2>/dev/null || { echo "oxhub proxy exited:" >&2; tail -20 "$work/proxy.log" >&2; exit 1; }
  sleep 0.1
done

db="${db_url:-sqlite:///$work/hub.sqlite}"
cat >"$work/jupyterhub_config.py" <<EOF
c.JupyterHub.hub_ip = '127.0.0.1'
c.JupyterHub.hub_port = 0
c.JupyterHub.authenticator_class = 'null'
c.JupyterHub.db_url = '$db'
c.JupyterHub.allow_named_servers = True
c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:$proxy_api_port'
c.ConfigurableHTTPProxy.auth_token = '$PROXY_TOKEN'
c.Authenticator.admin_users = {'admin'}
c.Authenticator.allowed_users = {'alice', 'bob'}
# Server starts spawn benches/tiny_server.py; at most 10 run at once (then 429).
c.JupyterHub.spawner_class = 'simple'
c.SimpleLocalProcessSpawner.home_dir_template = '$work/home/{username}'
c.Spawner.cmd = ['$(command -v python3)', '$HERE/../../benches/tiny_server.py']
c.JupyterHub.active_server_limit = 10
c.JupyterHub.services = [
    {'name': 'ops', 'api_token': '$ADMIN_TOKEN', 'admin': True},
]
EOF

echo "== starting $oxhub (database: ${db_url:-SQLite in $work})"
(cd "$work" && exec "$oxhub" -f jupyterhub_config.py >"$work/hub.out" 2>"$work/hub.log") &
hub_pid=$!
port=""
for _ in $(seq 600); do
  port="$(sed -n 's|.*oxhub hub listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$work/hub.log" | head -1)"
  [ -n "$port" ] && break
  kill -0 "$hub_pid" 2>/dev/null || { echo "oxhub exited:" >&2; tail -20 "$work/hub.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "oxhub did not start listening within 60 s" >&2; tail -20 "$work/hub.log" >&2; exit 1; }
api="http://127.0.0.1:$port/hub/api"
echo "== hub API at $api"

echo "== fixtures and adjusted spec"
"$VENV/bin/python" "$HERE/schemathesis_spec.py" "$SPEC" "$work/spec.json" "$api" "$ADMIN_TOKEN"

# Excluded operations (each with its reason), workers, generation settings and per-operation
# data sources: tests/api/schemathesis.toml.
checks="not_a_server_error,status_code_conformance,response_schema_conformance"
checks="$checks,reaches_2xx,jupyterhub_version_header"
report="$ROOT/.cache/schemathesis-report"
rm -rf "$report"
echo "== schemathesis (seed $SEED, $MAX_EXAMPLES examples per operation, limit ${ST_TIMEOUT}s)"
set +e
(
  cd "$work"
  SCHEMATHESIS_HOOKS="$HERE/schemathesis_hooks.py" timeout --signal=INT --kill-after=15 "$ST_TIMEOUT" \
    "$VENV/bin/st" --config-file "$HERE/schemathesis.toml" run "$work/spec.json" \
    --url "$api" \
    --header "Authorization: token $ADMIN_TOKEN" \
    --checks "$checks" \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --no-color \
    --report junit,ndjson --report-dir "$report"
)
rc=$?
set -e
if [ "$rc" -eq 124 ] || [ "$rc" -eq 130 ]; then
  echo "== schemathesis did not finish within ${ST_TIMEOUT}s" >&2
  rc=1
fi
if ! kill -0 "$hub_pid" 2>/dev/null; then
  echo "== oxhub died during the run:" >&2
  tail -20 "$work/hub.log" >&2
  rc=1
fi
if ! kill -0 "$proxy_pid" 2>/dev/null; then
  echo "== oxhub proxy died during the run:" >&2
  tail -20 "$work/proxy.log" >&2
  rc=1
fi
echo "== reports in $report"
exit "$rc"
