#!/usr/bin/env bash
# Builds the fuzz targets with clang and libFuzzer into BUILD_DIR/fuzz, replays
# every regression input of TARGET (tests/fuzz/regressions/TARGET/: inputs that
# once crashed a target; each must now pass) and its seed corpus, then fuzzes it
# for SECONDS (default 20) from a scratch copy of the corpus.
#
# Usage: run.sh BUILD_DIR build            (configure and build all targets)
#        run.sh BUILD_DIR TARGET [SECONDS] (replay, then fuzz one target)
#        run.sh BUILD_DIR TARGET --ci      (replay, then 100,000 inputs from seed 1)
#
# --ci is what ctest runs: the same inputs every run, so a test that passed
# here passes in CI (a campaign with SECONDS draws a new seed each time).
#
# A crash leaves libFuzzer's crash-* file in BUILD_DIR/fuzz/findings/TARGET/ and
# exits non-zero; copy it into tests/fuzz/regressions/TARGET/ with the fix, so
# every later run replays it (docs/operations.md, "Fuzzing").
set -euo pipefail
BUILD=$(cd "$1" && pwd)
WHAT=$2
SECONDS_TO_RUN=${3:-20}
LIMITS=(-max_total_time="$SECONDS_TO_RUN")
if [ "$SECONDS_TO_RUN" = --ci ]; then
  SECONDS_TO_RUN=120
  LIMITS=(-seed=1 -runs=100000 -max_total_time=120)
fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$BUILD/fuzz"

if [ "$WHAT" = build ]; then
  if [ ! -f "$OUT/build.ninja" ]; then
    CXX=clang++ cmake -S "$HERE" -B "$OUT" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$OUT" -j "${CHRONOVA_BUILD_JOBS:-2}"
  exit 0
fi

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$HERE/ubsan.supp"
BIN="$OUT/fuzz_$WHAT"
[ -x "$BIN" ] || { echo "no $BIN: run '$0 $1 build' first" >&2; exit 1; }
FINDINGS="$OUT/findings/$WHAT"
rm -rf "$FINDINGS"
mkdir -p "$FINDINGS/corpus"
# Every input that ever crashed it, and the seeds: each must pass.
inputs=()
for dir in "$HERE/regressions/$WHAT" "$HERE/corpus/$WHAT"; do
  [ -d "$dir" ] && inputs+=("$dir")
done
if [ ${#inputs[@]} -gt 0 ]; then
  find "${inputs[@]}" -type f -print0 | xargs -0 -r "$BIN" -runs=0 >"$FINDINGS/replay.log" 2>&1 ||
    { cat "$FINDINGS/replay.log" >&2; echo "FAIL: a regression or seed input of $WHAT crashes it" >&2; exit 1; }
  cp -r "$HERE/corpus/$WHAT/." "$FINDINGS/corpus/" 2>/dev/null || true
fi
cd "$FINDINGS"
if ! "$BIN" "${LIMITS[@]}" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
     -print_final_stats=1 corpus >"$FINDINGS/fuzz.log" 2>&1; then
  tail -60 "$FINDINGS/fuzz.log" >&2
  echo "FAIL: $WHAT crashed; the input is in $FINDINGS (crash-*)" >&2
  exit 1
fi
grep -E "stat::number_of_executed_units|stat::new_units_added" "$FINDINGS/fuzz.log" || true
echo "$WHAT: no crash (${LIMITS[*]})"
