#!/usr/bin/env bash
# Keep-alive figures (docs/performance.md, "Keep-alive"): the same clients
# against a chronovad all-in-one with [wsgi] keep_alive = true (the default)
# and then false (every answer "Connection: close"), each on free loopback
# ports this script picks, with 50 fake-host servers in the demo project:
#
#   cli-process     `openstack server list`, a new process each time (median of 5)
#   cli-session     one `openstack` process running 30 `server list` commands
#                   (its keystoneauth session keeps connections), per command
#   16-clients      16 Python threads, each a requests.Session sending 100
#                   GET /servers/detail?limit=50: requests/s, failed requests
#                   (any exception or non-200) and connections the Compute
#                   API accepted (chronova_http_connections_total)
#
# Usage: tools/bench_keepalive.sh [BUILD_DIR]   (default: build)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/chronova-bench-keepalive-XXXXXX")
PID=""
stop() {
  if [ -n "$PID" ]; then
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
  fi
}
cleanup() {
  stop
  rm -rf "$TMP"
}
trap cleanup EXIT
port() { python3 "$ROOT/tools/free_port.py"; }
# /usr/bin first: the Debian openstackclient and python3-requests.
export PATH=/usr/bin:$PATH

run() {
  local keep_alive=$1 dir="$TMP/$1"
  mkdir -p "$dir"
  local compute identity image metrics
  compute=$(port) identity=$(port) image=$(port) metrics=$(port)
  printf '[wsgi]\nkeep_alive = %s\n[quota]\ninstances = -1\ncores = -1\nram = -1\n' \
    "$keep_alive" >"$dir/chronova.conf"
  "$BUILD/chronovad" all-in-one --config "$dir/chronova.conf" --state-dir "$dir/state" \
    --no-sync --hypervisor fake --hosts 10 --password bench --novncproxy-listen "" \
    --ec2-listen "" --snapshot-every 0 --metrics-listen "http://127.0.0.1:$metrics" \
    --compute-listen "http://127.0.0.1:$compute" \
    --identity-listen "http://127.0.0.1:$identity" \
    --image-listen "http://127.0.0.1:$image" >"$dir/d.log" 2>&1 &
  PID=$!
  for _ in $(seq 600); do grep -q "all-in-one ready" "$dir/d.log" && break; sleep 0.1; done
  grep -q "all-in-one ready" "$dir/d.log" || {
    cat "$dir/d.log"
    exit 1
  }
  # shellcheck disable=SC1091
  source "$dir/state/openrc" demo
  openstack server create --flavor m1.tiny --image cirros-0.6.2-x86_64-disk \
    --min 50 --max 50 --wait bench >/dev/null

  local times=()
  for _ in 1 2 3 4 5; do
    local t0 t1
    t0=$(date +%s.%N)
    openstack server list -f value -c ID >/dev/null
    t1=$(date +%s.%N)
    times+=("$(python3 -c "print(f'{($t1 - $t0) * 1000:.0f}')")")
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)

  local t0 t1
  t0=$(date +%s.%N)
  for _ in $(seq 30); do echo "server list -f value -c ID"; done |
    openstack >"$dir/session.out" 2>"$dir/session.err"
  t1=$(date +%s.%N)
  local listed
  listed=$(grep -c . "$dir/session.out" || true)
  [ "$listed" -eq 1500 ] || {
    echo "the CLI session listed $listed servers, not 30 x 50" >&2
    cat "$dir/session.err" >&2
    exit 1
  }
  local session
  session=$(python3 -c "print(f'{($t1 - $t0) * 1000 / 30:.1f}')")

  local token
  token=$(openstack token issue -f value -c id)
  /usr/bin/python3 - "$compute" "$metrics" "$token" "$keep_alive" "$median" "$session" <<'PYEOF'
import re, sys, threading, time, urllib.request
import requests
compute, metrics, token, keep_alive, median, session = sys.argv[1:]

def connections():
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics").read().decode()
    m = re.search(r'^chronova_http_connections_total\{api="compute"\} (\d+)', text, re.M)
    return int(m.group(1)) if m else 0

failed, done = [0], [0]
lock = threading.Lock()
def client():
    s = requests.Session()
    for _ in range(100):
        try:
            r = s.get(f"http://127.0.0.1:{compute}/v2.1/servers/detail?limit=50",
                      headers={"X-Auth-Token": token}, timeout=30)
            ok = r.status_code == 200 and len(r.json()["servers"]) == 50
        except Exception:
            ok = False
        with lock:
            done[0] += 1
            failed[0] += 0 if ok else 1

before = connections()
t0 = time.perf_counter()
threads = [threading.Thread(target=client) for _ in range(16)]
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.perf_counter() - t0
opened = connections() - before
print(f"keep_alive={keep_alive:<5} cli-process_median_ms={median} cli-session_ms={session} "
      f"16-clients: requests={done[0]} failed={failed[0]} "
      f"requests_per_s={done[0] / elapsed:.0f} connections={opened}")
PYEOF
  stop
}

run true
run false
