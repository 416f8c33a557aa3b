#!/usr/bin/env bash
# The multi-host issue's R3 reproductions as a regression test: chronovad
# all-in-one on a 3-node nats-server cluster (JetStream R3, fsync before every
# ack, the bus on NATS), 200 servers booted by 16 concurrent clients. Before
# the fold became authoritative this halted with "Corruption: ... version N
# does not follow N" (nats-server 2.9) or left boots stuck "still being
# stored" (2.10); now every server must go ACTIVE, with no such line in the
# log, and `chronovactl verify` must find the read models equal to a rebuild.
# Usage: r3_boot_test.sh BUILD_DIR
source "$(dirname "$0")/lib.sh"
BUILD=$1
STATE="$E2E_TMP/state"
PORT=$(free_port)
start_nats_cluster
"$BUILD/chronovad" all-in-one --novncproxy-listen "" --ec2-listen "" --state-dir "$STATE" --log jetstream --nats-url "$NATS_URLS" \
  --nats-replicas 3 --bus nats --hypervisor fake --hosts 20 --auth-strategy noauth2 \
  --compute-listen "http://127.0.0.1:$PORT" --identity-listen "" --image-listen "" \
  >"$E2E_TMP/d.log" 2>&1 &
PID=$!
E2E_PIDS+=("$PID")
# A forming cluster may take up to placement_timeout_ms (120 s) to place the
# replicated stream (docs/operations.md, "A cluster that is still forming").
wait_for_text "$E2E_TMP/d.log" 150 "all-in-one ready"

python3 - "$PORT" <<'PY' || { tail -n 30 "$E2E_TMP/d.log" >&2; fail "not every server went ACTIVE"; }
import http.client, json, sys, threading, time
port = int(sys.argv[1])
def req(method, path, body=None, token="demo:demo"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, "/v2.1" + path, body=json.dumps(body) if body else None,
              headers={"X-Auth-Token": token, "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data
status, _ = req("PUT", "/os-quota-sets/demo",
                {"quota_set": {"instances": -1, "cores": -1, "ram": -1}}, "admin:admin")
assert status == 200, status
image = json.loads(req("GET", "/images")[1])["images"][0]["id"]
accepted, refused, lock = [], [], threading.Lock()
def client(k):
    for i in range(200 // 16 + (1 if k < 200 % 16 else 0)):
        status, data = req("POST", "/servers", {"server": {
            "name": "r3-%d-%d" % (k, i), "flavorRef": "1", "imageRef": image}})
        with lock:
            if status == 202:
                accepted.append(json.loads(data)["server"]["id"])
            else:
                refused.append((status, data[:300]))
threads = [threading.Thread(target=client, args=(k,)) for k in range(16)]
for t in threads: t.start()
for t in threads: t.join()
if refused:
    sys.exit("refused: %d, first %r" % (len(refused), refused[0]))
deadline = time.time() + 120
while True:
    servers = json.loads(req("GET", "/servers/detail?limit=1000")[1])["servers"]
    statuses = {}
    for s in servers:
        statuses[s["status"]] = statuses.get(s["status"], 0) + 1
    if statuses.get("ACTIVE", 0) == len(accepted) == 200:
        print("r3: 200 of 200 ACTIVE")
        break
    if time.time() > deadline:
        sys.exit("after 120 s: %r of %d accepted" % (statuses, len(accepted)))
    time.sleep(1)
PY
if grep -E "Corruption|still being stored" "$E2E_TMP/d.log" >&2; then
  fail "the daemon's log shows the R3 failures above"
fi
stop_cleanly "$PID" TERM
"$BUILD/chronovactl" --state-dir "$STATE" --log jetstream --nats-url "$NATS_URLS" verify \
  >"$E2E_TMP/verify.txt" 2>&1 || { cat "$E2E_TMP/verify.txt" >&2; fail "chronovactl verify"; }
grep -q "identical to a rebuild" "$E2E_TMP/verify.txt" ||
  { cat "$E2E_TMP/verify.txt" >&2; fail "read models differ from a rebuild"; }
echo "r3: passed"
