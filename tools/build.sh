#!/usr/bin/env bash
# Installs missing Debian packages, configures (once) and builds chronova into
# build/. Fast when nothing changed. Used by up.sh and test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/tools/deps.sh"
if [ ! -f "$ROOT/build/build.ninja" ]; then
  cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# Two cores: more parallel jobs only add memory pressure.
cmake --build "$ROOT/build" -j "${CHRONOVA_BUILD_JOBS:-2}" "$@"
