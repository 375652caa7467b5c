#!/usr/bin/env bash
# oxhub proxy against nginx (as a reverse proxy: the reference for a fast proxy) and
# configurable-http-proxy 5.3.0, in one run on loopback, in front of one fast static backend
# (nginx). Prints tables and ratios; medians of RUNS runs. Not part of CI.
#
#   bash benches/proxy.sh            # DURATION=5 RUNS=3 by default
#
# Installs what it needs: nginx-light and wrk (apt), configurable-http-proxy 5.3.0 (npm, under
# .cache/), release builds of oxhub and oxhub-benchtools.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
SECTIONS=${SECTIONS:-"http ws memory routes"}   # any subset, to rerun one part
IDLE=${IDLE:-10000}   # idle websockets; capped below by the open-file limit (each needs 2 fds in the proxy)

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light wrk
fi
chp="$root/.cache/chp/node_modules/configurable-http-proxy/bin/configurable-http-proxy"
if [ ! -x "$chp" ]; then
  mkdir -p .cache/chp && (cd .cache/chp && npm install --no-audit --no-fund --loglevel=error configurable-http-proxy@5.3.0)
fi
bash scripts/build-deps.sh
cargo build --release --locked -q -p oxhub -p oxhub-benchtools
oxhub="$root/target/release/oxhub"
tools="$root/target/release/oxhub-benchtools"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_limit=$(ulimit -n)
if [ "$fd_limit" != unlimited ] && [ $((2 * IDLE + 1000)) -gt "$fd_limit" ]; then
  IDLE=$(( (fd_limit - 1000) / 2 ))
  echo "# open-file limit $fd_limit: measuring $IDLE idle websockets instead of 10000" >&2
fi
work=$(mktemp -d)
chmod 755 "$work"   # nginx workers (not root) serve files from here
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened"; exit 1; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

B=$(port); N=$(port); C=$(port); CA=$(port); O=$(port); OA=$(port); W=$(port)
TOKEN=bench-token
mkdir -p "$work/www" "$work/nginx-b" "$work/nginx-p"
head -c 100 /dev/zero | tr '\0' 'x' > "$work/www/small.txt"
head -c 1048576 /dev/urandom > "$work/www/big.bin"

cat > "$work/nginx-b/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx-b/nginx.pid;
error_log $work/nginx-b/error.log error;
events { worker_connections 20000; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 10000000;
  server { listen 127.0.0.1:$B; root $work/www; }
}
EOF
cat > "$work/nginx-p/nginx.conf" <<EOF
worker_processes auto;
pid $work/nginx-p/nginx.pid;
error_log $work/nginx-p/error.log error;
events { worker_connections 40000; }
http {
  access_log off;
  keepalive_requests 10000000;
  upstream backend { server 127.0.0.1:$B; keepalive 256; }
  upstream ws { server 127.0.0.1:$W; }
  server {
    listen 127.0.0.1:$N;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_buffering off;
    }
    location /ws/ {
      proxy_pass http://ws;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 3600s;
    }
  }
}
EOF
nginx -p "$work/nginx-b" -c "$work/nginx-b/nginx.conf" -g 'daemon off;' & pids+=($!)
nginx -p "$work/nginx-p" -c "$work/nginx-p/nginx.conf" -g 'daemon off;' & pids+=($!)
"$tools" ws-echo --port "$W" --seconds 3600 >/dev/null & pids+=($!)
CONFIGPROXY_AUTH_TOKEN=$TOKEN node "$chp" --ip 127.0.0.1 --port "$C" --api-ip 127.0.0.1 --api-port "$CA" \
  --default-target "http://127.0.0.1:$B" --log-level error >/dev/null 2>&1 & pids+=($!)
CONFIGPROXY_AUTH_TOKEN=$TOKEN "$oxhub" proxy --ip 127.0.0.1 --port "$O" --api-ip 127.0.0.1 --api-port "$OA" \
  --default-target "http://127.0.0.1:$B" --log-level error >/dev/null 2>&1 & pids+=($!)
oxhub_pid=$!
for p in $B $N $W $C $CA $O $OA; do wait_port "$p"; done
for api in "$CA" "$OA"; do
  curl -sf -X POST -H "Authorization: token $TOKEN" -d "{\"target\": \"http://127.0.0.1:$W\"}" "http://127.0.0.1:$api/api/routes/ws" >/dev/null
done

echo "# oxhub proxy benchmark — $(nproc) cores, wrk ${DURATION}s x $RUNS runs, loopback"
echo "# nginx $(nginx -v 2>&1 | sed 's/.*\///'), configurable-http-proxy 5.3.0 (node $(node --version)), oxhub $("$oxhub" --version | awk '{print $2}')"
results="$work/results.txt"
: > "$results"
ws="$work/ws.txt"
: > "$ws"
case " $SECTIONS " in *" http "*) ;; *) skip_http=1 ;; esac
for file in small.txt big.bin; do
  [ -n "${skip_http:-}" ] && break
  for c in 1 16 64; do
    for target in direct:$B nginx:$N chp:$C oxhub:$O; do
      name=${target%%:*}; p=${target##*:}
      for run in $(seq "$RUNS"); do
        out=$(wrk -t1 -c"$c" -d"${DURATION}s" --latency "http://127.0.0.1:$p/$file" 2>&1)
        rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
        p99=$(echo "$out" | awk '$1=="99%" {print $2}')
        errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
        if [ -n "$errors" ]; then echo "wrk against $name: $errors" >&2; fi
        echo "$file $c $name $rps $p99 $errors" >> "$results"
      done
    done
  done
done

for target in direct:$W/ws/echo nginx:$N/ws/echo chp:$C/ws/echo oxhub:$O/ws/echo; do
  name=${target%%:*}; hp=${target#*:}
  case " $SECTIONS " in *" ws "*) ;; *) break ;; esac
  for run in $(seq "$RUNS"); do
    r=$("$tools" ws-rtt --url "ws://127.0.0.1:$hp" --conns 16 --seconds "$DURATION" | awk '{print $6}')
    echo "$name $r" >> "$ws"
  done
done

python3 - "$results" "$ws" <<'PY'
import statistics, sys
def ms(t):
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if t.endswith(unit) and (unit != "s" or not t.endswith(("us", "ms"))):
            return float(t[: -len(unit)]) * f
    return float(t)
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 5:
        continue
    rows.setdefault((f[0], int(f[1]), f[2]), []).append((float(f[3]), ms(f[4]), " ".join(f[5:])))
print()
print("## HTTP: requests/s (median) and p99 latency (median), wrk -t1")
print("| response | conns | direct | nginx | chp | oxhub | oxhub/nginx | oxhub/chp | p99 nginx | p99 chp | p99 oxhub |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for size in ("small.txt", "big.bin"):
    for c in (1, 16, 64):
        med = {}
        p99 = {}
        for name in ("direct", "nginx", "chp", "oxhub"):
            v = rows.get((size, c, name), [])
            med[name] = statistics.median([x[0] for x in v]) if v else 0
            p99[name] = statistics.median([x[1] for x in v]) if v else 0
        label = "100 B" if size == "small.txt" else "1 MiB"
        print("| %s | %d | %.0f | %.0f | %.0f | %.0f | %.2f | %.1f | %.2f ms | %.2f ms | %.2f ms |" % (
            label, c, med["direct"], med["nginx"], med["chp"], med["oxhub"],
            med["oxhub"] / med["nginx"] if med["nginx"] else 0, med["oxhub"] / med["chp"] if med["chp"] else 0,
            p99["nginx"], p99["chp"], p99["oxhub"]))
errs = [(k, x[2]) for k, v in rows.items() for x in v if x[2]]
if errs:
    print("\nwrk reported errors:", errs[:8])
ws = {}
for line in open(sys.argv[2]):
    name, r = line.split()
    ws.setdefault(name, []).append(float(r))
m = {k: statistics.median(v) for k, v in ws.items()}
print("\n## WebSocket echo round trips/s (16 connections, 64-byte messages, median)")
print("| direct | nginx | chp | oxhub | oxhub/nginx | oxhub/chp |")
print("|---|---|---|---|---|---|")
print("| %.0f | %.0f | %.0f | %.0f | %.2f | %.1f |" % (m.get("direct", 0), m.get("nginx", 0), m.get("chp", 0), m.get("oxhub", 0),
      m.get("oxhub", 0) / m["nginx"] if m.get("nginx") else 0, m.get("oxhub", 0) / m["chp"] if m.get("chp") else 0))
PY

if [[ " $SECTIONS " == *" memory "* ]]; then
echo
echo "## oxhub proxy memory"
wrk -t1 -c16 -d10s "http://127.0.0.1:$O/small.txt" >/dev/null   # warm-up with the measured workload
rss0=$(rss_kib "$oxhub_pid")
echo "RSS after warm-up (10 s of the workload below): ${rss0} KiB"
total=0
for _ in $(seq 30); do
  n=$(wrk -t1 -c16 -d10s "http://127.0.0.1:$O/small.txt" | awk '/requests in/ {print $1}')
  total=$((total + n))
  [ "$total" -ge 1000000 ] && break
done
rss1=$(rss_kib "$oxhub_pid")
python3 -c "print('RSS after %d more requests: %d KiB (%+.1f %% vs warmed up)' % ($total, $rss1, 100.0 * ($rss1 - $rss0) / $rss0))"
"$tools" ws-idle --url "ws://127.0.0.1:$O/ws/idle" --count "$IDLE" --hold 20 > "$work/idle.txt" & idle=$!
for _ in $(seq 240); do grep -q ws_idle_ "$work/idle.txt" 2>/dev/null && break; sleep 0.5; done
sleep 2
rss2=$(rss_kib "$oxhub_pid")
opened=$(awk '/ws_idle_open/ {print $2}' "$work/idle.txt")
if [ -n "$opened" ]; then
  python3 -c "print('RSS with %d idle websockets open: %d KiB: %.1f KiB per connection' % ($opened, $rss2, ($rss2 - $rss1) / float($opened)))"
else
  echo "idle websockets: $(cat "$work/idle.txt")"
fi
wait "$idle" || true
fi

[[ " $SECTIONS " == *" routes "* ]] || exit 0
echo
echo "## Loading 100,000 routes through the REST API (16 connections)"
for which in oxhub chp; do
  P=$(port); PA=$(port)
  if [ "$which" = oxhub ]; then
    CONFIGPROXY_AUTH_TOKEN=$TOKEN "$oxhub" proxy --ip 127.0.0.1 --port "$P" --api-ip 127.0.0.1 --api-port "$PA" --log-level error >/dev/null 2>&1 & pids+=($!)
  else
    CONFIGPROXY_AUTH_TOKEN=$TOKEN node "$chp" --ip 127.0.0.1 --port "$P" --api-ip 127.0.0.1 --api-port "$PA" --log-level error >/dev/null 2>&1 & pids+=($!)
  fi
  wait_port "$PA"
  echo "$which: $("$tools" post-routes --api "http://127.0.0.1:$PA" --token "$TOKEN" --count 100000 --conns 16)"
  t0=$(date +%s%N)
  curl -sf -H "Authorization: token $TOKEN" "http://127.0.0.1:$PA/api/routes" -o /dev/null
  echo "$which: GET /api/routes with 100000 routes: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
done
echo "oxhub: $("$tools" table-insert --count 100000)"
