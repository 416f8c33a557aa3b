#!/usr/bin/env bash
# chronovad all-in-one starts on a state directory, serves read models that match
# its log, lets chronovactl read them while it runs, and stops cleanly on SIGTERM
# and SIGINT — on the RocksDB log and on a JetStream log (real nats-server).
# Usage: daemon_test.sh BUILD_DIR rocksdb|jetstream
source "$(dirname "$0")/lib.sh"
BUILD=$1
BACKEND=$2
STATE="$E2E_TMP/state"
LOGFLAGS=(--log "$BACKEND")
if [ "$BACKEND" = jetstream ]; then
  start_nats
  LOGFLAGS+=(--nats-url "$NATS_URL")
fi

# 1. A log with 60 booted instances on 6 hosts (5 events each + 6 registrations).
"$BUILD/bench-log" --state-dir "$STATE" "${LOGFLAGS[@]}" --instances 60 --hosts 6 \
  --threads 3 --no-sync | tee "$E2E_TMP/bench.out"
grep -q "events=300 " "$E2E_TMP/bench.out" || fail "bench-log did not append 300 boot events"

# 2. The daemon folds it into its read models and says it is ready (no compute
# hosts or API of its own here: this test is about the log and the read models).
DFLAGS=(--hosts 0 --compute-listen "" --identity-listen "" --image-listen "")
"$BUILD/chronovad" all-in-one --novncproxy-listen "" --ec2-listen "" --state-dir "$STATE" "${LOGFLAGS[@]}" "${DFLAGS[@]}" >"$E2E_TMP/d1.log" 2>&1 &
PID=$!
E2E_PIDS+=("$PID")
wait_for_text "$E2E_TMP/d1.log" 60 "all-in-one ready"
# 306 from bench-log + 8 catalog seeds (7 flavors, 1 image).
grep -q "head seq 314" "$E2E_TMP/d1.log" || fail "daemon did not report head seq 314"

# 3. chronovactl reads the log and the read models while the daemon runs.
CTL=("$BUILD/chronovactl" --state-dir "$STATE" "${LOGFLAGS[@]}")
"${CTL[@]}" servers >"$E2E_TMP/servers.txt"
[ "$(grep -c ' ACTIVE ' "$E2E_TMP/servers.txt")" -eq 60 ] || {
  cat "$E2E_TMP/servers.txt"
  fail "expected 60 ACTIVE servers"
}
"${CTL[@]}" --json hosts >"$E2E_TMP/hosts.json"
[ "$(grep -c '"instances":10' "$E2E_TMP/hosts.json")" -eq 6 ] || fail "expected 6 hosts with 10 instances"
ID=$(awk 'NR==2 {print $1}' "$E2E_TMP/servers.txt")
"${CTL[@]}" --json events --stream "instance/$ID" >"$E2E_TMP/stream.json"
TYPES=$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["type"] for l in open(sys.argv[1])))' "$E2E_TMP/stream.json")
[ "$TYPES" = "instance.requested instance.scheduled build.started instance.spawned" ] ||
  fail "unexpected history for $ID: $TYPES"
python3 - "$E2E_TMP/stream.json" <<'PY' || fail "causation chain is broken"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev[0]["causation"] == 0
for prev, cur in zip(ev, ev[1:]):
    assert cur["causation"] == prev["seq"], (prev, cur)
assert ev[0]["payload"]["name"].startswith("bench-")
PY
"${CTL[@]}" verify | tee "$E2E_TMP/verify.txt"
grep -q "314 events, every record intact" "$E2E_TMP/verify.txt" || fail "verify did not read 314 events"
if [ "$BACKEND" = rocksdb ]; then
  grep -q "identical to a rebuild" "$E2E_TMP/verify.txt" || fail "read models differ from a rebuild"
  # replay --verify: a bulk rebuild equals the live read models, key by key.
  "${CTL[@]}" replay --verify | tee "$E2E_TMP/replay.txt"
  grep -q "replayed 314 events" "$E2E_TMP/replay.txt" || fail "replay did not fold 314 events"
  grep -q "verify: identical to the live read models at seq 314" "$E2E_TMP/replay.txt" ||
    fail "replay --verify found a divergence"
  # With little memory it writes its records every hundred or so and reads back
  # those folded again: the same read models.
  "${CTL[@]}" replay --verify --max-memory 64K | tee "$E2E_TMP/replay-small.txt"
  grep -q "verify: identical to the live read models at seq 314" "$E2E_TMP/replay-small.txt" ||
    fail "replay --verify --max-memory 64K found a divergence"
  if "${CTL[@]}" replay --max-memory 4Q 2>"$E2E_TMP/replay-bad.txt"; then
    fail "replay took --max-memory 4Q"
  fi
  grep -q "is not a size" "$E2E_TMP/replay-bad.txt" || fail "no clear error for --max-memory 4Q"
fi

# 4. SIGTERM stops it cleanly; a restart resumes at the same head; SIGINT stops it.
stop_cleanly "$PID" TERM
grep -q "stopped cleanly" "$E2E_TMP/d1.log" || fail "no clean stop on SIGTERM"
"$BUILD/chronovad" all-in-one --novncproxy-listen "" --ec2-listen "" --state-dir "$STATE" "${LOGFLAGS[@]}" "${DFLAGS[@]}" >"$E2E_TMP/d2.log" 2>&1 &
PID=$!
E2E_PIDS+=("$PID")
wait_for_text "$E2E_TMP/d2.log" 60 "all-in-one ready"
grep -q "head seq 314" "$E2E_TMP/d2.log" || fail "restarted daemon lost events (or seeded twice)"
stop_cleanly "$PID" INT
grep -q "stopped cleanly" "$E2E_TMP/d2.log" || fail "no clean stop on SIGINT"

# 5. Bad usage is refused with a message, not a crash.
if "$BUILD/chronovad" all-in-one --novncproxy-listen "" --ec2-listen "" --state-dir "$STATE" --log floppy 2>"$E2E_TMP/bad.txt"; then
  fail "an unknown log backend was accepted"
fi
grep -q "unknown log backend 'floppy'" "$E2E_TMP/bad.txt" || fail "no clear error for a bad backend"
echo "PASS daemon_test $BACKEND"
