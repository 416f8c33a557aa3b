#!/usr/bin/env bash
# A server boots end to end through the log, over plain HTTP like a user's curl:
# chronovad all-in-one (API → scheduler → conductor → compute on libvirt's test
# driver), POST a server, poll to ACTIVE, check its event history, DELETE, poll
# to 404, check the claim was released; bad input gets Nova's 4xx bodies and
# appends nothing. Callers authenticate as OpenStack clients do: a token from
# POST /v3/auth/tokens (chronova's Identity v3), sent as X-Auth-Token. Runs on the RocksDB log, or on JetStream with NATS as the bus.
# Usage: boot_test.sh BUILD_DIR rocksdb|jetstream
source "$(dirname "$0")/lib.sh"
BUILD=$1
BACKEND=$2
STATE="$E2E_TMP/state"
PORT=$(free_port)
IDPORT=$(free_port)
API="http://127.0.0.1:$PORT/v2.1"
KEYSTONE="http://127.0.0.1:$IDPORT/v3"
IMAGE_PORT=$(free_port)
FLAGS=(--state-dir "$STATE" --log "$BACKEND" --compute-listen "http://127.0.0.1:$PORT" --hosts 2
  --identity-listen "http://127.0.0.1:$IDPORT" --password e2e-secret
  --image-listen "http://127.0.0.1:$IMAGE_PORT")
if [ "$BACKEND" = jetstream ]; then
  start_nats
  FLAGS+=(--nats-url "$NATS_URL" --bus nats)
fi
CTL=("$BUILD/chronovactl" --state-dir "$STATE" --log "$BACKEND")
[ "$BACKEND" = jetstream ] && CTL+=(--nats-url "$NATS_URL")

"$BUILD/chronovad" all-in-one --novncproxy-listen "" --ec2-listen "" "${FLAGS[@]}" >"$E2E_TMP/d.log" 2>&1 &
PID=$!
E2E_PIDS+=("$PID")
wait_for_text "$E2E_TMP/d.log" 60 "all-in-one ready"

# token USER PROJECT: a project-scoped token, as Tempest asks for it.
token() {
  curl -s -D "$E2E_TMP/token.h" -o "$E2E_TMP/token.json" -w '%{http_code}' \
    -H "Content-Type: application/json" -X POST "$KEYSTONE/auth/tokens" -d \
    "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": {\"user\": {\"domain\": {\"name\": \"Default\"}, \"name\": \"$1\", \"password\": \"e2e-secret\"}}}, \"scope\": {\"project\": {\"domain\": {\"name\": \"Default\"}, \"name\": \"$2\"}}}}" |
    grep -qx 201 || fail "POST /v3/auth/tokens for $1 -> $(cat "$E2E_TMP/token.json")"
  tr -d '\r' <"$E2E_TMP/token.h" | awk -F': ' 'tolower($1) == "x-subject-token" {print $2}'
}
DEMO_TOKEN=$(token demo demo)
ADMIN_TOKEN=$(token admin admin)
[ -n "$DEMO_TOKEN" ] && [ -n "$ADMIN_TOKEN" ] || fail "no X-Subject-Token"
token demo demo >/dev/null
DEMO_USER=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["token"]; print(t["user"]["id"], t["project"]["id"])' "$E2E_TMP/token.json")
# The compute endpoint of the catalog is this API.
python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["token"]; print([e["url"] for s in t["catalog"] if s["type"] == "compute" for e in s["endpoints"] if e["interface"] == "public"][0])' "$E2E_TMP/token.json" |
  grep -qx "$API" || fail "catalog compute endpoint is not $API"
# Without a valid token: 401 naming the identity endpoint.
r=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Auth-Token: alice:demo" "$API/flavors")
[ "$r" = 401 ] || fail "a noauth2 token was accepted under keystone auth: $r"
AUTH=(-H "X-Auth-Token: $DEMO_TOKEN" -H "Content-Type: application/json")
req() { # METHOD PATH [BODY] -> prints "STATUS BODY"
  local out
  out=$(curl -s -o "$E2E_TMP/body" -w '%{http_code}' -X "$1" "${AUTH[@]}" "$API$2" ${3:+--data "$3"})
  echo "$out $(cat "$E2E_TMP/body")"
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
events_count() { "${CTL[@]}" events | tail -n +2 | wc -l; }

# The version document and the catalog the all-in-one seeded.
r=$(req GET /)
[ "${r%% *}" = 200 ] || fail "GET /v2.1/ -> $r"
r=$(req GET /flavors)
grep -q "m1.tiny" <<<"$(echo "${r#* }" | json '[f["name"] for f in d["flavors"]]')" ||
  fail "no m1.tiny in $r"
IMAGE=$(req GET /images | cut -d' ' -f2- | json 'd["images"][0]["id"]')

# Boot.
r=$(req POST /servers "{\"server\": {\"name\": \"e2e-1\", \"flavorRef\": \"1\", \"imageRef\": \"$IMAGE\"}}")
[ "${r%% *}" = 202 ] || fail "POST /servers -> $r"
ID=$(echo "${r#* }" | json 'd["server"]["id"]')
# Read-your-writes: the server is visible at once.
r=$(req GET "/servers/$ID")
[ "${r%% *}" = 200 ] || fail "GET right after POST -> $r"
STATUS=""
for _ in $(seq 1 100); do
  STATUS=$(req GET "/servers/$ID" | cut -d' ' -f2- | json 'd["server"]["status"]')
  [ "$STATUS" = ACTIVE ] && break
  sleep 0.1
done
[ "$STATUS" = ACTIVE ] || fail "server $ID is $STATUS, not ACTIVE"
HOST=$(curl -s -H "X-Auth-Token: $ADMIN_TOKEN" "$API/servers/$ID" | json 'd["server"]["OS-EXT-SRV-ATTR:host"]')
r=$(req GET /servers/detail)
grep -qx 1 <<<"$(echo "${r#* }" | json 'len(d["servers"])')" || fail "detail list: $r"

# Its history, from the log: types, order, one request id, the causation chain.
"${CTL[@]}" --json events --stream "instance/$ID" >"$E2E_TMP/history.json"
python3 - "$E2E_TMP/history.json" $DEMO_USER <<'PY' || fail "unexpected event history"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
types = [e["type"] for e in ev]
assert types == ["instance.requested", "instance.scheduled", "build.started", "instance.spawned"], types
assert len({e["request_id"] for e in ev}) == 1 and ev[0]["request_id"].startswith("req-"), ev
assert ev[0]["causation"] == 0
assert ev[1]["causation"] == ev[0]["seq"], "scheduled is caused by the request"
assert ev[2]["causation"] == ev[1]["seq"] and ev[3]["causation"] == ev[1]["seq"], "work follows placement"
assert ev[0]["actor"]["user"] == sys.argv[2] and ev[0]["actor"]["project"] == sys.argv[3], ev[0]["actor"]
assert ev[0]["actor"]["roles"] == ["member", "reader"], ev[0]["actor"]
PY
grep "\"host\":\"$HOST\"" <<<"$("${CTL[@]}" --json hosts)" | grep '"memory_mb_used":512' >/dev/null ||
  fail "no 512 MiB claim on $HOST"

# os-instance-actions (2.1 reads no deleted server, so before the delete): the
# create action of the boot's request, its steps shown to admins.
CREATE_REQ=$(head -1 "$E2E_TMP/history.json" | json 'd["request_id"]')
r=$(req GET "/servers/$ID/os-instance-actions")
[ "${r%% *}" = 200 ] || fail "GET os-instance-actions -> $r"
echo "${r#* }" | json '[(a["action"], a["request_id"], a["message"]) for a in d["instanceActions"]]' |
  grep -qx "\[('create', '$CREATE_REQ', None)\]" || fail "instance actions: $r"
curl -s -H "X-Auth-Token: $ADMIN_TOKEN" "$API/servers/$ID/os-instance-actions/$CREATE_REQ" |
  json '[(e["event"], e["result"]) for e in d["instanceAction"]["events"]]' |
  grep -qx "\[('conductor_schedule_and_build_instances', 'Success'), ('compute__do_build_and_run_instance', 'Success')\]" ||
  fail "instance action events for $CREATE_REQ"

# Delete, poll to 404, the claim is released.
r=$(req DELETE "/servers/$ID")
[ "${r%% *}" = 204 ] || fail "DELETE -> $r"
for _ in $(seq 1 100); do
  [ "$(req GET "/servers/$ID" | cut -d' ' -f1)" = 404 ] && break
  sleep 0.1
done
r=$(req GET "/servers/$ID")
[ "${r%% *}" = 404 ] || fail "deleted server still visible: $r"
grep -qx 404 <<<"$(echo "${r#* }" | json 'd["itemNotFound"]["code"]')" || fail "404 body: $r"
for _ in $(seq 1 50); do
  grep "\"host\":\"$HOST\"" <<<"$("${CTL[@]}" --json hosts)" | grep '"memory_mb_used":0,' >/dev/null && break
  sleep 0.1
done
grep "\"host\":\"$HOST\"" <<<"$("${CTL[@]}" --json hosts)" | grep '"memory_mb_used":0,' >/dev/null ||
  fail "claim not released"

# The audit of the server: its six events and the claim and release naming it,
# each with its cause.
"${CTL[@]}" --json audit server "$ID" >"$E2E_TMP/audit.json"
python3 - "$E2E_TMP/audit.json" "$HOST" <<'PY' || fail "unexpected audit: $(cat "$E2E_TMP/audit.json")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
inst = [e for e in ev if e["stream"].startswith("instance/")]
assert [e["type"] for e in inst] == ["instance.requested", "instance.scheduled", "build.started",
    "instance.spawned", "instance.delete_requested", "instance.deleted"], ev
req, sched, started, spawned, delreq, deleted = inst
assert req["causation"] == 0 and sched["causation"] == req["seq"]
assert started["causation"] == sched["seq"] and spawned["causation"] == sched["seq"]
assert delreq["causation"] == 0 and deleted["causation"] == delreq["seq"]
assert delreq["request_id"] != req["request_id"] and deleted["request_id"] == delreq["request_id"]
host = {e["type"]: e for e in ev if e["stream"] == "host/" + sys.argv[2]}
assert set(host) == {"host.resources_claimed", "host.resources_released"}, ev
assert host["host.resources_claimed"]["causation"] == req["seq"]
assert host["host.resources_released"]["causation"] == deleted["seq"]
assert [e["seq"] for e in ev] == sorted(e["seq"] for e in ev) and len(ev) == 8
PY

# Bad input: Nova's error bodies, and nothing appended.
BEFORE=$(events_count)
check_error() { # STATUS KEY METHOD PATH [BODY]
  local r
  r=$(req "$3" "$4" "${5:-}")
  [ "${r%% *}" = "$1" ] || fail "$3 $4 ${5:-} -> $r (wanted $1)"
  grep -qx "$1" <<<"$(echo "${r#* }" | json "d[\"$2\"][\"code\"]")" || fail "body of $3 $4: $r"
}
check_error 400 badRequest POST /servers '{"server": {"name": "x", '
check_error 400 badRequest POST /servers "{\"server\": {\"name\": \"x\", \"flavorRef\": \"999\", \"imageRef\": \"$IMAGE\"}}"
check_error 400 badRequest POST /servers "{\"server\": {\"flavorRef\": \"1\", \"imageRef\": \"$IMAGE\"}}"
check_error 404 itemNotFound GET /servers/00000000-0000-4000-8000-000000000000
check_error 404 itemNotFound DELETE /servers/00000000-0000-4000-8000-000000000000
[ "$(events_count)" = "$BEFORE" ] || fail "bad requests appended events"

# Revoking the token (an event) makes the Compute API refuse it.
r=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "X-Auth-Token: $DEMO_TOKEN" \
  -H "X-Subject-Token: $DEMO_TOKEN" "$KEYSTONE/auth/tokens")
[ "$r" = 204 ] || fail "DELETE /v3/auth/tokens -> $r"
r=$(curl -s -o /dev/null -w '%{http_code}' "${AUTH[@]}" "$API/flavors")
[ "$r" = 401 ] || fail "a revoked token was accepted: $r"
grep -q "token.revoked" <<<"$("${CTL[@]}" events)" || fail "no token.revoked event in the log"

stop_cleanly "$PID" TERM
echo "PASS boot_test $BACKEND"
