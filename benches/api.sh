#!/usr/bin/env bash
# The hub's REST API, oxhub against JupyterHub 6.1.1, same config, same machine, one run.
# Endpoints: GET / (no token: the HTTP stack alone), GET /user with the service token and
# with a user's token, GET /users?limit=200, GET /users/<name>, POST /users/<name>.
# Both hubs are benchmarked on their own hub port (no proxy in the path); JupyterHub runs with
# `oxhub proxy` as its proxy so that it starts. Prints a table and ratios (medians of RUNS).
#
#   bash benches/api.sh                 # USERS="1000 10000" DURATION=5 RUNS=3
#
# Installs: JupyterHub 6.1.1 in .cache/venv-e2e (scripts/e2e-venv.sh), wrk (apt), a release
# build of oxhub. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
USERS=${USERS:-"1000 10000"}
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
CONNS=${CONNS:-16}

command -v wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }
bash scripts/e2e-venv.sh >/dev/null
bash scripts/build-deps.sh
cargo build --release --locked -q -p oxhub
oxhub="$root/target/release/oxhub"
jhpy="$root/.cache/venv-e2e/bin/python"
jh="$root/.cache/venv-e2e/bin/jupyterhub"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
TOKEN=bench-admin-token-0123456789abcdef

# config for one hub: $1 = dir, $2 = hub port
write_config() {
  local dir=$1 hp=$2 pp pa
  pp=$(port); pa=$(port)
  cat > "$dir/jupyterhub_config.py" <<EOF
c.JupyterHub.ip = '127.0.0.1'
c.JupyterHub.port = $pp
c.JupyterHub.hub_ip = '127.0.0.1'
c.JupyterHub.hub_port = $hp
c.JupyterHub.db_url = 'sqlite:///$dir/hub.sqlite'
c.JupyterHub.cookie_secret_file = '$dir/cookie_secret'
c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:$pa'
c.ConfigurableHTTPProxy.command = ['$oxhub', 'proxy']
c.JupyterHub.authenticator_class = 'dummy'
c.Authenticator.admin_users = {'admin'}
c.JupyterHub.services = [{'name': 'bench', 'api_token': '$TOKEN', 'admin': True}]
c.JupyterHub.load_roles = [{'name': 'bench', 'scopes': ['admin:users', 'list:users', 'read:users', 'admin:servers'], 'services': ['bench']}]
c.JupyterHub.log_level = 'WARN'
EOF
}

wait_health() {
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$1/hub/health" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "hub on $1 did not become healthy"; exit 1
}

# start hub $1 (oxhub|jupyterhub) in dir $2 on port $3; echoes the pid and the ms until healthy
start_hub() {
  local which=$1 dir=$2 hp=$3 t0 pid
  t0=$(date +%s%N)
  if [ "$which" = oxhub ]; then
    (cd "$dir" && exec "$oxhub" -f jupyterhub_config.py >"$dir/log" 2>&1) & pid=$!
  else
    (cd "$dir" && exec "$jh" -f jupyterhub_config.py >"$dir/log" 2>&1) & pid=$!
  fi
  wait_health "$hp"
  echo "$pid $(( ($(date +%s%N) - t0) / 1000000 ))"
}

create_users() {
  local hp=$1 n=$2
  python3 - "$hp" "$n" "$TOKEN" <<'PY'
import json, sys, urllib.request
hp, n, token = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for start in range(0, n, 500):
    names = ["user%06d" % i for i in range(start, min(n, start + 500))]
    req = urllib.request.Request("http://127.0.0.1:%d/hub/api/users" % hp, method="POST",
        data=json.dumps({"usernames": names}).encode(), headers={"Authorization": "token " + token})
    urllib.request.urlopen(req, timeout=600).read()
PY
}

cat > "$work/post.lua" <<'EOF'
counter = 0
request = function()
  counter = counter + 1
  local name = string.format("post%d_%d_%d", math.random(1, 1000000000), os.time(), counter)
  return wrk.format("POST", "/hub/api/users/" .. name, nil, "")
end
EOF

results="$work/results.txt"
: > "$results"
for n in $USERS; do
  for which in oxhub jupyterhub; do
    dir="$work/$which-$n"; mkdir -p "$dir"
    hp=$(port)
    write_config "$dir" "$hp"
    read -r pid _ < <(start_hub "$which" "$dir" "$hp")
    create_users "$hp" "$n"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    # cold start with n users in the database
    read -r pid ms < <(start_hub "$which" "$dir" "$hp")
    pids+=("$pid")
    echo "$n $which coldstart_ms $ms" >> "$results"
    base="http://127.0.0.1:$hp/hub/api"
    # A token of an ordinary user, for GET /user as a single-user server or a script calls it.
    utoken=$(curl -sf -X POST -H "Authorization: token $TOKEN" -d '{"note": "bench"}' "$base/users/user000042/tokens" \
      | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
    for ep in "api_root:$base/" "user:$base/user" "user_token:$base/user" "users200:$base/users?limit=200" "user_by_name:$base/users/user000042" "post_user:$base/users"; do
      name=${ep%%:*}; url=${ep#*:}
      auth="Authorization: token $TOKEN"
      [ "$name" = user_token ] && auth="Authorization: token $utoken"
      for run in $(seq "$RUNS"); do
        if [ "$name" = post_user ]; then
          out=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -H "$auth" -s "$work/post.lua" "$url" 2>&1)
        else
          out=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -H "$auth" "$url" 2>&1)
        fi
        rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
        p99=$(echo "$out" | awk '$1=="99%" {print $2}')
        bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
        echo "$n $which $name $rps $p99 ${bad:-0}" >> "$results"
      done
    done
    echo "$n $which rss_kib $(rss_kib "$pid")" >> "$results"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done

python3 - "$results" "$CONNS" <<'PY'
import statistics, sys
def ms(t):
    for unit, f in (("us", 1e-3), ("ms", 1.0)):
        if t.endswith(unit):
            return float(t[:-len(unit)]) * f
    if t.endswith("s"):
        return float(t[:-1]) * 1e3
    return float(t)
rows, single = {}, {}
for line in open(sys.argv[1]):
    f = line.split()
    if f[2] in ("coldstart_ms", "rss_kib"):
        single[(f[0], f[1], f[2])] = float(f[3])
        continue
    rows.setdefault((f[0], f[1], f[2]), []).append((float(f[3]), ms(f[4]), int(f[5])))
print("# oxhub vs JupyterHub 6.1.1 REST API, %s connections, hub port (no proxy), medians" % sys.argv[2])
print("| users | endpoint | jupyterhub req/s | oxhub req/s | ratio | p99 jupyterhub | p99 oxhub | non-2xx (jh/ox) |")
print("|---|---|---|---|---|---|---|---|")
for n in sorted({k[0] for k in rows}, key=int):
    for ep in ("api_root", "user", "user_token", "users200", "user_by_name", "post_user"):
        j = rows.get((n, "jupyterhub", ep), [])
        o = rows.get((n, "oxhub", ep), [])
        if not j or not o:
            continue
        jr, orr = statistics.median(x[0] for x in j), statistics.median(x[0] for x in o)
        jp, op = statistics.median(x[1] for x in j), statistics.median(x[1] for x in o)
        print("| %s | %s | %.0f | %.0f | %.1f | %.1f ms | %.2f ms | %d/%d |" % (n, ep, jr, orr, orr / jr if jr else 0, jp, op,
              sum(x[2] for x in j), sum(x[2] for x in o)))
print()
print("oxhub's authenticated reads against its own unauthenticated GET /hub/api/ (target >= 0.5):")
for n in sorted({k[0] for k in rows}, key=int):
    root = rows.get((n, "oxhub", "api_root"), [])
    if not root:
        continue
    base = statistics.median(x[0] for x in root)
    parts = []
    for ep in ("user", "user_token", "user_by_name"):
        o = rows.get((n, "oxhub", ep), [])
        if o:
            parts.append("%s %.2f" % (ep, statistics.median(x[0] for x in o) / base))
    print("  %s users: %s" % (n, ", ".join(parts)))
print()
print("| users | cold start to /hub/health (jh / oxhub) | RSS after the runs (jh / oxhub) |")
print("|---|---|---|")
for n in sorted({k[0] for k in single}, key=int):
    cj, co = single.get((n, "jupyterhub", "coldstart_ms"), 0), single.get((n, "oxhub", "coldstart_ms"), 0)
    rj, ro = single.get((n, "jupyterhub", "rss_kib"), 0), single.get((n, "oxhub", "rss_kib"), 0)
    print("| %s | %.0f ms / %.0f ms (%.1fx) | %.0f MiB / %.1f MiB (%.1fx smaller) |" % (n, cj, co, cj / co if co else 0, rj / 1024, ro / 1024, rj / ro if ro else 0))
PY
