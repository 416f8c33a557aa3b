#!/usr/bin/env bash
# The fault suite, one command: starts a cluster with tools/cluster.sh (3 NATS
# nodes R3, 2 api, 2 schedulers, 2 conductors, compute hosts; loopback only),
# boots and deletes servers through it while faults are injected one after
# another (tests/faults/faults.py), checks every acknowledged request, then
# stops the cluster and compares every api process's read models with a
# rebuild from the log. Bounded in time; stops everything it started.
#
#   tests/faults/run.sh BUILD_DIR [--small|--full]
#
# --small (CI): 100 boots, 30 deletes, 3 compute hosts; one kill -9 of an api,
#   a scheduler, a conductor, a compute agent and one NATS node, each
#   restarted 4 s later.
# --full: 1000 boots, 300 deletes, 24 compute hosts; each fault lasts 10 s:
#   kill -9 of an api, a scheduler, a conductor, a compute agent and a NATS
#   node, a SIGSTOP of a NATS node, and a partition of a NATS node from its
#   peers (iptables; needs root).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="$(cd "${1:?usage: run.sh BUILD_DIR [--small|--full]}" && pwd)"
MODE=${2:---small}
WORK="$(mktemp -d "${TMPDIR:-/tmp}/chronova-faults-XXXXXX")"
chmod 0755 "$WORK"  # the NATS nodes run as uids of their own (tools/cluster.sh)
export CHRONOVA_CLUSTER_DIR="$WORK/cluster" CHRONOVA_BUILD="$BUILD"
CLUSTER="$ROOT/tools/cluster.sh"
cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -d "$CHRONOVA_CLUSTER_DIR/logs" ]; then
    for f in "$CHRONOVA_CLUSTER_DIR"/logs/*.log; do
      echo "--- $(basename "$f") (last lines)" >&2
      tail -n 15 "$f" >&2
    done
  fi
  "$CLUSTER" down || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT

case "$MODE" in
  --small)
    COMPUTES=3
    ARGS=(--boots 100 --deletes 30 --clients 8 --fault-seconds 4 --gap-seconds 4
      --faults kill:api-2,kill:scheduler-1,kill:conductor-1,kill:compute-1,kill:nats-2)
    ;;
  --full)
    COMPUTES=24  # 48 m1.tiny each: every boot fits
    ARGS=(--boots 1000 --deletes 300 --clients 16 --fault-seconds 10 --gap-seconds 10
      --faults kill:api-1,kill:scheduler-2,kill:conductor-2,kill:compute-3,kill:nats-1,pause:nats-3,partition:nats-2)
    ;;
  *) echo "usage: run.sh BUILD_DIR [--small|--full]" >&2; exit 2 ;;
esac

"$CLUSTER" up --computes "$COMPUTES" --hypervisor fake --auth noauth2 >"$WORK/env"
# shellcheck disable=SC1091
source "$WORK/env"
python3 "$ROOT/tests/faults/faults.py" --cluster-dir "$CHRONOVA_CLUSTER_DIR" \
  --build "$BUILD" --cluster-sh "$CLUSTER" --compute-urls "$COMPUTE_URLS" "${ARGS[@]}"

# After recovery every role, host and NATS node is up, every replica of the
# log current, and every read model caught up (chronovactl cluster status).
status_ok=0
for ((i = 0; i < 30; i++)); do
  if "$CLUSTER" status >"$WORK/status.txt" 2>&1; then status_ok=1; break; fi
  sleep 1
done
cat "$WORK/status.txt"
[ "$status_ok" = 1 ] || { echo "FAIL: cluster status shows something down or behind" >&2; exit 1; }
grep -q "api        2 up" "$WORK/status.txt" || { echo "FAIL: 2 api expected" >&2; exit 1; }

# Every api process's read models against a rebuild from the log, after a
# clean stop (their checkpoints then stay put).
for api in api-1 api-2; do "$CLUSTER" stop "$api"; done
for api in api-1 api-2; do
  # shellcheck disable=SC2086
  "$BUILD/chronovactl" --state-dir "$CHRONOVA_CLUSTER_DIR/state/$api" --log jetstream \
    --nats-url "$NATS_URLS" $CTL_NATS_ARGS verify >"$WORK/verify-$api.txt" 2>&1 ||
    { cat "$WORK/verify-$api.txt" >&2; echo "FAIL: chronovactl verify ($api)" >&2; exit 1; }
  grep -q "identical to a rebuild" "$WORK/verify-$api.txt" ||
    { cat "$WORK/verify-$api.txt" >&2; echo "FAIL: $api read models differ" >&2; exit 1; }
  echo "$api: read models identical to a rebuild"
done
echo "faults: passed"
