#!/usr/bin/env bash
# A restart without downtime (docs/operations.md): SIGUSR2 to a running
# all-in-one starts its successor, which rebuilds every read model from the log
# (150,000 generated events and the servers booted here) while the daemon goes
# on serving, then takes the log and the listening sockets over. A first
# successor is killed while it builds: the daemon serves on. Clients boot and
# list all along — new connections and a kept-alive one — and not one request
# fails; every server they created is there after the swap.
# Usage: restart_test.sh BUILD_DIR
source "$(dirname "$0")/lib.sh"
BUILD=$1
STATE="$E2E_TMP/state"

# A history worth rebuilding: a successor needs a few seconds for it.
"$BUILD/gen-log" --state-dir "$STATE" --events 150000 --hosts 50 >"$E2E_TMP/gen.out"

API=$(free_port)
METRICS=$(free_port)
VNC=$(free_port)
# Quotas off: the clients boot for as long as the test runs.
printf '[quota]\ninstances = -1\ncores = -1\nram = -1\n' >"$E2E_TMP/chronova.conf"
"$BUILD/chronovad" all-in-one --config "$E2E_TMP/chronova.conf" --state-dir "$STATE" \
  --no-sync --hypervisor fake --hosts 2 \
  --auth-strategy noauth2 --compute-listen "http://127.0.0.1:$API" --identity-listen "" \
  --image-listen "" --ec2-listen "" --metrics-listen "http://127.0.0.1:$METRICS" \
  --novncproxy-listen "http://127.0.0.1:$VNC" --snapshot-every 0 >"$E2E_TMP/d.log" 2>&1 &
PID=$!
E2E_PIDS+=("$PID")
wait_for_text "$E2E_TMP/d.log" 120 "all-in-one ready"

# Clients until the stop file appears: two booting and listing on a new
# connection per request, one listing on a kept-alive connection (retrying a
# GET once when the server closed the idle connection first, as HTTP clients
# do). They print what they did and every failure.
cat >"$E2E_TMP/clients.py" <<'PY'
import http.client, json, os, sys, threading, time
port, stop_file = int(sys.argv[1]), sys.argv[2]
H = {"X-Auth-Token": "alice:demo", "Content-Type": "application/json"}
lock = threading.Lock()
stats = {"requests": 0, "failures": [], "created": []}

def record(ok, what):
    with lock:
        stats["requests"] += 1
        if not ok:
            stats["failures"].append(what)

def once(method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        c.request(method, path, body=body, headers=dict(H, Connection="close"))
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()

def booter(n):
    i = 0
    while not os.path.exists(stop_file):
        i += 1
        body = json.dumps({"server": {"name": "r%d-%d" % (n, i), "flavorRef": "1",
                                      "imageRef": "0f2a6c3e-5b8d-4c1e-9a7f-3d2b1e0c9a11"}})
        try:
            s, b = once("POST", "/v2.1/servers", body)
            record(s == 202, "POST %d %s" % (s, b[:200]))
            if s == 202:
                with lock:
                    stats["created"].append(json.loads(b)["server"]["id"])
            s, b = once("GET", "/v2.1/servers/detail?limit=20")
            record(s == 200, "GET detail %d %s" % (s, b[:200]))
        except Exception as e:
            record(False, "%s: %r" % ("booter", e))

def kept_alive():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while not os.path.exists(stop_file):
        for attempt in (1, 2):
            try:
                c.request("GET", "/v2.1/servers?limit=5", headers=H)
                r = c.getresponse()
                body = r.read()
                record(r.status == 200, "kept-alive GET %d %s" % (r.status, body[:200]))
                if r.getheader("Connection", "").lower() == "close":
                    c.close()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError, http.client.CannotSendRequest) as e:
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                if attempt == 2:
                    record(False, "kept-alive: %r" % e)
        time.sleep(0.005)

threads = [threading.Thread(target=booter, args=(n,)) for n in range(2)]
threads.append(threading.Thread(target=kept_alive))
for t in threads: t.start()
for t in threads: t.join()
json.dump(stats, sys.stdout)
PY
python3 "$E2E_TMP/clients.py" "$API" "$E2E_TMP/stop" >"$E2E_TMP/clients.json" &
CLIENTS=$!
sleep 1

# Waits up to $2 seconds for the log to hold $3 at least $1 times.
wait_count() {
  local n=$1 secs=$2 text=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    [ "$(grep -c -- "$text" "$E2E_TMP/d.log")" -ge "$n" ] && return 0
    sleep 0.1
  done
  cat "$E2E_TMP/d.log" >&2
  fail "'$text' did not appear $n times within ${secs}s"
}
successor_pid() {
  sed -n 's/.*SIGUSR2: started .* as pid \([0-9]*\);.*/\1/p' "$E2E_TMP/d.log" | tail -1
}

# 1. A successor that dies while it builds changes nothing: the daemon serves on.
kill -USR2 "$PID"
wait_count 1 10 "SIGUSR2: started"
FIRST=$(successor_pid)
wait_count 1 120 "building the read models"
kill -KILL "$FIRST"
wait_count 1 10 "did not take over"
kill -0 "$PID" || fail "the daemon stopped with its failed successor"

# 2. The real one: it builds while the daemon serves, then takes over.
kill -USR2 "$PID"
wait_count 2 10 "SIGUSR2: started"
NEW=$(successor_pid)
[ -n "$NEW" ] && [ "$NEW" != "$FIRST" ] || fail "no second successor pid in the log"
e2e_stop_successor() { kill -TERM "$NEW" 2>/dev/null || true; }
trap 'e2e_stop_successor; e2e_cleanup' EXIT
wait_count 2 120 "building the read models"
wait_for_text "$E2E_TMP/d.log" 180 "took over from pid $PID"
wait "$PID" || fail "the old daemon did not stop cleanly"
wait_for_text "$E2E_TMP/d.log" 60 "stopped cleanly"
# A ready line from the successor too (the first was the old daemon's).
for ((i = 0; i < 600; i++)); do
  [ "$(grep -c 'all-in-one ready' "$E2E_TMP/d.log")" -ge 2 ] && break
  sleep 0.1
done
[ "$(grep -c 'all-in-one ready' "$E2E_TMP/d.log")" -ge 2 ] || fail "the successor never got ready"
kill -0 "$NEW" || fail "the successor is not running"
sleep 2
touch "$E2E_TMP/stop"
wait "$CLIENTS" || fail "the clients crashed"

python3 - "$E2E_TMP/clients.json" "$API" <<'PY' || fail "requests failed across the restart"
import http.client, json, sys
stats = json.load(open(sys.argv[1]))
port = int(sys.argv[2])
print("requests=%d failures=%d created=%d" % (stats["requests"], len(stats["failures"]),
                                              len(stats["created"])))
for f in stats["failures"][:20]:
    print("failure:", f)
assert not stats["failures"], "some requests failed"
assert stats["requests"] > 50, "too few requests to mean anything"
missing = []
for sid in stats["created"]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/v2.1/servers/" + sid, headers={"X-Auth-Token": "alice:demo"})
    r = c.getresponse(); r.read(); c.close()
    if r.status != 200:
        missing.append((sid, r.status))
assert not missing, "servers created before or during the restart are gone: %r" % missing[:5]
PY

# The new read models are in place, the scratch ones gone, /metrics answers
# from the successor on the same port.
[ -d "$STATE/projections" ] || fail "no read models after the swap"
[ ! -e "$STATE/projections.next" ] || fail "projections.next left behind"
[ ! -e "$STATE/handover-secondary" ] || fail "the secondary's directory left behind"
# (The bodies are read whole before grep: under pipefail, grep -q leaving
# early makes curl fail writing the rest.)
METRICS_BODY=$(curl -sf "http://127.0.0.1:$METRICS/metrics") || fail "no metrics from the successor"
grep -q '^chronova_projection_lag_events ' <<<"$METRICS_BODY" ||
  fail "no metrics from the successor"
# The noVNC proxy's socket was handed over too.
if [ -f /usr/share/novnc/vnc_lite.html ]; then
  PAGE=$(curl -sf "http://127.0.0.1:$VNC/vnc_lite.html") ||
    fail "the successor's noVNC proxy does not answer"
  grep -q noVNC <<<"$PAGE" || fail "the successor's noVNC proxy does not serve noVNC"
fi
kill -TERM "$NEW"
for ((i = 0; i < 300; i++)); do kill -0 "$NEW" 2>/dev/null || break; sleep 0.1; done
kill -0 "$NEW" 2>/dev/null && fail "the successor did not stop on SIGTERM"
[ "$(grep -c "stopped cleanly" "$E2E_TMP/d.log")" = 2 ] || fail "the successor did not stop cleanly"
# The timeline, for the CI log.
grep -E 'ready|SIGUSR2|read models|took over|take over|stopping|stopped' "$E2E_TMP/d.log" |
  sed -E 's/^\{"time":"([^"]*)".*"msg":"(.{0,150}).*/\1 \2/'
echo "OK: restart without downtime"
