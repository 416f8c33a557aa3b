#!/usr/bin/env bash
# EC2 API figures (docs/performance.md): RunInstances -> `running` latency,
# and DescribeInstances latency with N instances, through boto3 against a
# chronovad all-in-one (fake hypervisor, quotas off) this script starts on
# free loopback ports and stops.
# Usage: tools/bench_ec2.sh [BUILD_DIR] [INSTANCES]   (defaults: build 1000)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
N=${2:-1000}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/chronova-bench-ec2-XXXXXX")
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
port() { python3 "$ROOT/tools/free_port.py"; }
COMPUTE=$(port) IDENTITY=$(port) IMAGE=$(port) EC2=$(port)
printf '[quota]\ninstances = -1\ncores = -1\nram = -1\n' >"$TMP/chronova.conf"
"$BUILD/chronovad" all-in-one --config "$TMP/chronova.conf" --state-dir "$TMP/state" \
  --no-sync --hypervisor fake --hosts 50 --password bench --novncproxy-listen "" \
  --compute-listen "http://127.0.0.1:$COMPUTE" --identity-listen "http://127.0.0.1:$IDENTITY" \
  --image-listen "http://127.0.0.1:$IMAGE" --ec2-listen "http://127.0.0.1:$EC2" \
  --snapshot-every 0 >"$TMP/d.log" 2>&1 &
PID=$!
for _ in $(seq 600); do grep -q "all-in-one ready" "$TMP/d.log" && break; sleep 0.1; done
grep -q "all-in-one ready" "$TMP/d.log" || { cat "$TMP/d.log"; exit 1; }
# shellcheck disable=SC1091
source "$TMP/state/openrc" demo
CRED=$(openstack ec2 credentials create -f json)
export AWS_ACCESS_KEY_ID=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])' <<<"$CRED")
export AWS_SECRET_ACCESS_KEY=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])' <<<"$CRED")
/usr/bin/python3 -u - "$EC2" "$N" <<'PYEOF'
import sys, time, statistics, boto3
from concurrent.futures import ThreadPoolExecutor
port, n = sys.argv[1], int(sys.argv[2])
ec2 = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{port}", region_name="RegionOne")
ami = ec2.describe_images()["Images"][0]["ImageId"]

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

def run_until_running(i):
    c = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{port}", region_name="RegionOne")
    t0 = time.perf_counter()
    iid = c.run_instances(ImageId=ami, InstanceType="m1.tiny", MinCount=1, MaxCount=1,
                          ClientToken=f"bench-{i}")["Instances"][0]["InstanceId"]
    while True:
        r = c.describe_instances(InstanceIds=[iid])
        if r["Reservations"][0]["Instances"][0]["State"]["Name"] == "running":
            return time.perf_counter() - t0
        time.sleep(0.005)

# RunInstances -> running, one client at a time (100 samples).
lat = [run_until_running(i) for i in range(100)]
print(f"RunInstances -> running (1 client, 100 instances): p50 {pct(lat, 50)*1000:.1f} ms, "
      f"p99 {pct(lat, 99)*1000:.1f} ms")
# The rest of the N instances, 8 clients at once (RunInstances of 50 each).
t0 = time.perf_counter()
left = n - 100
with ThreadPoolExecutor(8) as pool:
    list(pool.map(lambda k: boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{port}",
                                         region_name="RegionOne").run_instances(
        ImageId=ami, InstanceType="m1.tiny", MinCount=50, MaxCount=50,
        ClientToken=f"bulk-{k}"), range(left // 50)))
print(f"RunInstances of {left} more in batches of 50 (8 clients): "
      f"{left / (time.perf_counter() - t0):.0f} instances/s accepted")
def wait_all():
    deadline = time.time() + 300
    while True:
        states = [i["State"]["Name"] for r in ec2.describe_instances()["Reservations"]
                  for i in r["Instances"]]
        if len(states) >= n and all(s == "running" for s in states):
            return len(states)
        if time.time() > deadline:
            raise SystemExit(f"not all running: {len(states)} instances, "
                             f"{sum(s == 'running' for s in states)} running")
        time.sleep(0.2)
count = wait_all()
samples = []
for _ in range(20):
    t = time.perf_counter()
    r = ec2.describe_instances()
    samples.append(time.perf_counter() - t)
got = sum(len(r["Instances"]) for r in r["Reservations"])
print(f"DescribeInstances of all {got} instances: p50 {pct(samples, 50)*1000:.0f} ms, "
      f"p99 {pct(samples, 99)*1000:.0f} ms (20 calls)")
one = r["Reservations"][0]["Instances"][0]["InstanceId"]
samples = []
for _ in range(100):
    t = time.perf_counter()
    ec2.describe_instances(InstanceIds=[one])
    samples.append(time.perf_counter() - t)
print(f"DescribeInstances of one instance by id among {count}: p50 {pct(samples, 50)*1000:.1f} ms, "
      f"p99 {pct(samples, 99)*1000:.1f} ms (100 calls)")
PYEOF
