#!/usr/bin/env bash
# Tempest's compute API tests against a fresh chronovad all-in-one, through the
# shared runner (/work/shared/conformance/tempest/run.sh, copied next to this
# script as run.sh so a fresh clone has it).
#
#   tempest.sh BUILD_DIR ratchet    run every test in tempest-pass.txt; exit 1 if
#                                   any of them does not pass (the CI ratchet)
#   tempest.sh BUILD_DIR full [RE]  run tempest.api.compute (or RE), print the
#                                   TEMPEST SUMMARY line, and admit into
#                                   tempest-pass.txt every test that has now
#                                   passed in $TEMPEST_ADMIT_RUNS (default 3)
#                                   full runs in a row
#
# "Passed" is strict (tempest_results.py): every result results.subunit holds
# for the test is success. An expected failure (xfail) or an unexpected success
# is not a pass, though run.sh's summary counts xfail as passed.
#
# Admission: tempest-streak.txt, next to tempest-pass.txt and committed with it,
# holds "<runs> <test id>" for each test on its way in: how many full runs in a
# row passed it. A full run that included the test and did not pass it resets
# the count; a run of a subset that did not include it leaves it alone. At
# $TEMPEST_ADMIT_RUNS the test moves into tempest-pass.txt. So one lucky run
# admits nothing: run `full` several times (docs/conformance.md).
#
# Removing a test from tempest-pass.txt needs a reason (pass_list_check.sh, a
# ctest of its own, compares the list with the merge base).
#
# Results (summary.json, results.subunit, tempest.log, ...) are kept in
# $TEMPEST_RESULTS_DIR (default: BUILD_DIR/tempest-results/MODE).
source "$(dirname "$0")/../e2e/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
BUILD=$(cd "$1" && pwd)
MODE=${2:-ratchet}
PASS_LIST="$HERE/tempest-pass.txt"
STREAKS="$HERE/tempest-streak.txt"
ADMIT_RUNS=${TEMPEST_ADMIT_RUNS:-3}
# The interpreter run.sh reads subunit with (python3-subunit).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
RESULTS=${TEMPEST_RESULTS_DIR:-$BUILD/tempest-results/$MODE}
command -v tempest >/dev/null || fail "tempest is not installed (tools/deps.sh)"

STATE="$E2E_TMP/state"
COMPUTE=$(free_port)
IDENTITY=$(free_port)
IMAGE=$(free_port)
VNC=$(free_port)
export TEMPEST_PASSWORD=tempest-secret
"$BUILD/chronovad" all-in-one --state-dir "$STATE" --password "$TEMPEST_PASSWORD" --no-sync \
  --hosts 2 --compute-listen "http://127.0.0.1:$COMPUTE" \
  --identity-listen "http://127.0.0.1:$IDENTITY" \
  --image-listen "http://127.0.0.1:$IMAGE" --novncproxy-listen "http://127.0.0.1:$VNC" --ec2-listen "" \
  >"$E2E_TMP/d.log" 2>&1 &
E2E_PIDS+=("$!")
wait_for_text "$E2E_TMP/d.log" 60 "all-in-one ready"

export TEMPEST_RESULTS_DIR="$RESULTS"
# chronova resizes (same host allowed, as Tempest's single-node configs) and
# cold-migrates between its two hosts, its noVNC proxy serves the fake
# hosts' consoles, and it has nova-cert's os-certificates (through 2.52).
export TEMPEST_ENABLE="resize,cold_migration,vnc_console,nova_cert${TEMPEST_ENABLE:+,$TEMPEST_ENABLE}"
export TEMPEST_SET="compute.min_compute_nodes=2${TEMPEST_SET:+ $TEMPEST_SET}"
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
    "$PY" "$HERE/tempest_results.py" ratchet "$RESULTS" "$PASS_LIST" || {
      echo "--- daemon log (tail) ---" >&2
      tail -n 40 "$E2E_TMP/d.log" >&2
      fail "tempest ratchet: a listed test no longer passes (details in $RESULTS)"
    }
    ;;
  full)
    REGEX=${3:-tempest.api.compute}
    bash "$HERE/run.sh" "http://127.0.0.1:$IDENTITY/v3" "$REGEX" 2>&1 | tee "$RESULTS/runner.out" |
      grep -E "^(TEMPEST SUMMARY|listed)"
    "$PY" "$HERE/tempest_results.py" admit "$RESULTS" "$PASS_LIST" "$STREAKS" "$ADMIT_RUNS"
    ;;
  *) fail "unknown mode $MODE (ratchet|full)" ;;
esac
