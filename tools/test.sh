#!/usr/bin/env bash
# One command to test chronova: installs what is missing, builds everything and
# runs every test (unit, contract suites on RocksDB and on a real nats-server,
# end-to-end) with ctest. Extra arguments go to ctest (e.g. -R jetstream); a run
# in which no test ran (a -R that matches nothing, an empty build) fails.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/tools/build.sh"
cd "$ROOT/build"
status=0
ctest --output-on-failure --no-tests=error -j "${CHRONOVA_TEST_JOBS:-2}" "$@" || status=$?
# What the real-VM test measured of the consoles, and where its screenshot of
# the guest's screen in Chromium is (docs/performance.md, "consoles").
grep -hE '^(SCREENSHOT|SERIAL|MEASURED console)' Testing/Temporary/LastTest.log 2>/dev/null || true
exit "$status"
