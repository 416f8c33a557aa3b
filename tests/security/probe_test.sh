#!/usr/bin/env bash
# The hardening probe against a real all-in-one: starts chronovad on free
# loopback ports, replays the hostile requests of tests/security/probe.py
# (every one must get a 4xx in the API's shape, the daemon must stay alive
# and bounded), then stops the daemon with SIGTERM while clients still hold
# silent connections, and checks the log with `chronovactl verify`.
# Usage: probe_test.sh BUILD_DIR
source "$(dirname "$0")/../e2e/lib.sh"
BUILD=$1
STATE="$E2E_TMP/state"
PORT=$(free_port)
IDPORT=$(free_port)
IMAGE_PORT=$(free_port)
"$BUILD/chronovad" all-in-one --novncproxy-listen "" --ec2-listen "" --state-dir "$STATE" --hypervisor fake --password probe-secret \
  --compute-listen "http://127.0.0.1:$PORT" --identity-listen "http://127.0.0.1:$IDPORT" \
  --image-listen "http://127.0.0.1:$IMAGE_PORT" >"$E2E_TMP/d.log" 2>&1 &
PID=$!
E2E_PIDS+=("$PID")
wait_for_text "$E2E_TMP/d.log" 60 "all-in-one ready"

python3 "$(dirname "$0")/probe.py" "$PORT" "$IDPORT" "$IMAGE_PORT" "$STATE" "$PID" probe-secret ||
  { tail -n 40 "$E2E_TMP/d.log" >&2; fail "the probe failed"; }

# SIGTERM still stops the daemon while 60 clients hold silent bodies.
python3 - "$PORT" <<'PY' &
import socket, sys, time
held = []
for _ in range(60):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"POST /v2.1/servers HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
    held.append(s)
time.sleep(60)
PY
HOLDER=$!
E2E_PIDS+=("$HOLDER")
sleep 1
stop_cleanly "$PID" TERM
kill "$HOLDER" 2>/dev/null || true

"$BUILD/chronovactl" --state-dir "$STATE" verify >"$E2E_TMP/verify.log" 2>&1 ||
  { cat "$E2E_TMP/verify.log" >&2; fail "chronovactl verify after the probe"; }
echo "probe: passed; daemon stopped on SIGTERM under load; verify clean"
