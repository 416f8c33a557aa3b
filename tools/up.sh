#!/usr/bin/env bash
# One command to try chronova: installs what is missing, builds, and runs the
# all-in-one in the foreground on its embedded defaults (RocksDB log) until
# Ctrl-C. Usage: tools/up.sh [STATE_DIR] [more chronovad flags]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/tools/build.sh" --target chronovad chronovactl
STATE_DIR="${1:-$ROOT/state}"
shift || true
exec "$ROOT/build/chronovad" all-in-one --state-dir "$STATE_DIR" "$@"
