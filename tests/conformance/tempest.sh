#!/usr/bin/env bash
# Tempest's compute API tests against a fresh chronovad all-in-one, through the
# shared runner (/work/shared/conformance/tempest/run.sh, copied next to this
# script as run.sh so a fresh clone has it).
#
#   tempest.sh BUILD_DIR ratchet    run every test in tempest-pass.txt; exit 1 if
#                                   any of them does not pass (the CI ratchet)
#   tempest.sh BUILD_DIR full [RE]  run tempest.api.compute (or RE), print the
#                                   TEMPEST SUMMARY line, and add every newly
#                                   passing test to tempest-pass.txt
#
# Results (summary.json, tempest.log, ...) are kept in $TEMPEST_RESULTS_DIR
# (default: BUILD_DIR/tempest-results).
source "$(dirname "$0")/../e2e/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
BUILD=$(cd "$1" && pwd)
MODE=${2:-ratchet}
PASS_LIST="$HERE/tempest-pass.txt"
RESULTS=${TEMPEST_RESULTS_DIR:-$BUILD/tempest-results/$MODE}
command -v tempest >/dev/null || fail "tempest is not installed (tools/deps.sh)"

STATE="$E2E_TMP/state"
COMPUTE=$(free_port)
IDENTITY=$(free_port)
IMAGE=$(free_port)
export TEMPEST_PASSWORD=tempest-secret
"$BUILD/chronovad" all-in-one --state-dir "$STATE" --password "$TEMPEST_PASSWORD" --no-sync \
  --hosts 2 --compute-listen "http://127.0.0.1:$COMPUTE" \
  --identity-listen "http://127.0.0.1:$IDENTITY" \
  --image-listen "http://127.0.0.1:$IMAGE" >"$E2E_TMP/d.log" 2>&1 &
E2E_PIDS+=("$!")
wait_for_text "$E2E_TMP/d.log" 60 "all-in-one ready"

export TEMPEST_RESULTS_DIR="$RESULTS"
# chronova resizes (same host allowed, as Tempest's single-node configs).
export TEMPEST_ENABLE="resize${TEMPEST_ENABLE:+,$TEMPEST_ENABLE}"
export TEMPEST_CONCURRENCY=${TEMPEST_CONCURRENCY:-2}
export TEMPEST_BUILD_TIMEOUT=${TEMPEST_BUILD_TIMEOUT:-60}
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

case "$MODE" in
  ratchet)
    mapfile -t TESTS < <(grep -E '^tempest\.' "$PASS_LIST")
    [ "${#TESTS[@]}" -gt 0 ] || fail "$PASS_LIST lists no tests"
    # One anchored alternative per test; Tempest ids end in "[id-...,tags]".
    REGEX="^($(printf '%s\n' "${TESTS[@]}" | sed 's/\./\\./g' | paste -sd'|'))(\[|$)"
    TEMPEST_EXCLUDE_REGEX="" bash "$HERE/run.sh" "http://127.0.0.1:$IDENTITY/v3" "$REGEX" \
      >"$RESULTS/runner.out" 2>&1
    tail -n 1 "$RESULTS/runner.out"
    python3 - "$RESULTS/summary.json" "$PASS_LIST" <<'PY' || {
import json, sys
summary = json.load(open(sys.argv[1]))
want = [l.strip() for l in open(sys.argv[2]) if l.startswith("tempest.")]
passed = set(summary["passed"])
missing = [t for t in want if t not in passed]
for t in missing:
    print("RATCHET: no longer passes: " + t)
print("ratchet: %d of %d listed tests pass" % (len(want) - len(missing), len(want)))
sys.exit(1 if missing else 0)
PY
      echo "--- daemon log (tail) ---" >&2
      tail -n 40 "$E2E_TMP/d.log" >&2
      fail "tempest ratchet: a listed test no longer passes (details in $RESULTS)"
    }
    ;;
  full)
    REGEX=${3:-tempest.api.compute}
    bash "$HERE/run.sh" "http://127.0.0.1:$IDENTITY/v3" "$REGEX" 2>&1 | tee "$RESULTS/runner.out" |
      grep -E "^(TEMPEST SUMMARY|listed)"
    python3 - "$RESULTS/summary.json" "$PASS_LIST" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
path = sys.argv[2]
try:
    old = [l.strip() for l in open(path) if l.startswith("tempest.")]
except FileNotFoundError:
    old = []
new = sorted(set(old) | set(summary["passed"]))
header = ("# Tempest tests that pass against chronova (a ratchet: CI fails if one of\n"
          "# them stops passing; the list only grows). Regenerate with\n"
          "# tests/conformance/tempest.sh BUILD_DIR full\n")
open(path, "w").write(header + "".join(t + "\n" for t in new))
print("tempest-pass.txt: %d tests (%d new)" % (len(new), len(new) - len(old)))
PY
    ;;
  *) fail "unknown mode $MODE (ratchet|full)" ;;
esac
