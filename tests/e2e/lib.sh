# Helpers for the end-to-end shell tests: scratch dirs, free loopback ports,
# a nats-server with JetStream started and stopped by PID, daemons in the
# background, and assertions that say what failed.
set -euo pipefail

E2E_PIDS=()
E2E_TMP="$(mktemp -d "${TMPDIR:-/tmp}/chronova-e2e-XXXXXX")"

e2e_cleanup() {
  local pid
  for pid in "${E2E_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${E2E_PIDS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
  rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits up to $2 seconds for file $1 to contain text $3.
wait_for_text() {
  local file=$1 secs=$2 text=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    grep -q -- "$text" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "--- $file ---" >&2
  cat "$file" >&2 || true
  fail "'$text' did not appear in $file within ${secs}s"
}

# Starts nats-server with JetStream on free loopback ports; sets NATS_URL, NATS_PID.
start_nats() {
  local dir="$E2E_TMP/nats" port http
  mkdir -p "$dir"
  port=$(free_port)
  http=$(free_port)
  cat >"$dir/nats.conf" <<CONF
listen: 127.0.0.1:$port
http: 127.0.0.1:$http
jetstream { store_dir: "$dir/js" }
CONF
  local bin
  bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  setsid "$bin" -c "$dir/nats.conf" >"$dir/nats.log" 2>&1 &
  NATS_PID=$!
  E2E_PIDS+=("$NATS_PID")
  local i
  for ((i = 0; i < 100; i++)); do
    curl -sf "http://127.0.0.1:$http/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$http/healthz" >/dev/null || fail "nats-server did not become healthy"
  NATS_URL="nats://127.0.0.1:$port"
}

# Sends $2 (TERM/INT) to $1 and checks that it exits with status 0 within 30 s.
stop_cleanly() {
  local pid=$1 sig=$2 i
  kill "-$sig" "$pid"
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && fail "pid $pid still running 30 s after SIG$sig"
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || fail "pid $pid exited with $rc after SIG$sig"
}
