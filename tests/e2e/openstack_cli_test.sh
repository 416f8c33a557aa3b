#!/usr/bin/env bash
# The unmodified `openstack` CLI (python3-openstackclient) drives a full server
# lifecycle against chronovad all-in-one, exactly as README shows a user:
# source the generated openrc, then flavor list, image create + upload,
# keypair create, server create --wait, list, show, set metadata,
# delete --wait.
# Usage: openstack_cli_test.sh BUILD_DIR
source "$(dirname "$0")/lib.sh"
BUILD=$1
STATE="$E2E_TMP/state"
COMPUTE=$(free_port)
IDENTITY=$(free_port)
IMAGE=$(free_port)
command -v openstack >/dev/null || fail "the openstack CLI is not installed (tools/deps.sh)"

"$BUILD/chronovad" all-in-one --novncproxy-listen "" --ec2-listen "" --state-dir "$STATE" --password cli-secret \
  --compute-listen "http://127.0.0.1:$COMPUTE" \
  --identity-listen "http://127.0.0.1:$IDENTITY" \
  --image-listen "http://127.0.0.1:$IMAGE" >"$E2E_TMP/d.log" 2>&1 &
E2E_PIDS+=("$!")
wait_for_text "$E2E_TMP/d.log" 60 "all-in-one ready"
[ -f "$STATE/openrc" ] || fail "no $STATE/openrc"

# shellcheck disable=SC1091
source "$STATE/openrc" demo
[ "$OS_USERNAME" = demo ] || fail "openrc user is '$OS_USERNAME', not demo"
# (No "cmd | grep -q" here: with pipefail, grep -q exiting early makes the
# writer die of SIGPIPE and the pipeline fail; here-strings instead.)

TOKEN_ID=$(os token issue -f value -c id)
[ -n "$TOKEN_ID" ] || fail "no token"

FLAVORS=$(os flavor list -f value -c Name)
grep -qx m1.tiny <<<"$FLAVORS" || fail "m1.tiny not in flavor list: $FLAVORS"

head -c 65536 /dev/urandom >"$E2E_TMP/disk.img"
IMAGE_ID=$(os image create --disk-format raw --container-format bare \
  --file "$E2E_TMP/disk.img" cli-image -f value -c id)
[ "$(os image show "$IMAGE_ID" -f value -c status)" = active ] || fail "image not active"
[ "$(os image show "$IMAGE_ID" -f value -c size)" = 65536 ] || fail "image size wrong"
[ "$(os image show "$IMAGE_ID" -f value -c checksum)" = "$(md5sum <"$E2E_TMP/disk.img" | cut -d' ' -f1)" ] ||
  fail "image checksum differs from the uploaded file's md5"

os keypair create cli-key >"$E2E_TMP/cli-key.pem"
grep -q "PRIVATE KEY" "$E2E_TMP/cli-key.pem" || fail "keypair create returned no private key"
grep -qx cli-key <<<"$(os keypair list -f value -c Name)" || fail "cli-key not listed"

# --wait prints its progress to stdout too: the id is the last line.
SERVER_ID=$(os server create --flavor m1.tiny --image cli-image --key-name cli-key \
  --wait vm1 -f value -c id | tail -n 1)
[ -n "$SERVER_ID" ] || fail "server create printed no id"
grep -qx vm1 <<<"$(os server list -f value -c Name)" || fail "vm1 not in server list"
[ "$(os server show vm1 -f value -c status)" = ACTIVE ] || fail "vm1 is not ACTIVE"
[ "$(os server show vm1 -f value -c key_name)" = cli-key ] || fail "vm1 key_name wrong"

os server set --property role=web vm1 >/dev/null
os server show vm1 -f json | python3 -c '
import json, sys
props = json.load(sys.stdin)["properties"]
# OSC 6 renders metadata as a dict or as "k='"'"'v'"'"'" text, depending on the formatter.
ok = props.get("role") == "web" if isinstance(props, dict) else "role=" in props and "web" in props
sys.exit(0 if ok else 1)' || fail "metadata role=web not shown"

# Server groups (negotiated by the SDK: 2.13's project_id shows) and a
# member placed by the group's policy; tags and a description at the
# microversions the CLI asks for them.
GROUP_ID=$(os server group create --policy anti-affinity web-spread -f value -c id)
[ -n "$GROUP_ID" ] || fail "server group create printed no id"
grep -q '"project_id"' <<<"$(os server group show web-spread -f json)" ||
  fail "server group shows no project_id (2.13 not negotiated)"
MEMBER_ID=$(os server create --flavor m1.tiny --image cli-image --hint group="$GROUP_ID" \
  --wait vm2 -f value -c id | tail -n 1)
grep -q "$MEMBER_ID" <<<"$(os server group show web-spread -f json)" ||
  fail "vm2 is not a member of web-spread"
os --os-compute-api-version 2.26 server set --tag prod vm1 >/dev/null
[ "$(os --os-compute-api-version 2.26 server list --tag prod -f value -c Name)" = vm1 ] ||
  fail "server list --tag prod is not just vm1"
os --os-compute-api-version 2.19 server set --description "front end" vm1 >/dev/null
[ "$(os --os-compute-api-version 2.19 server show vm1 -f value -c description)" = "front end" ] ||
  fail "vm1's description not shown"
grep -qx create <<<"$(os server event list vm1 -f value -c Action)" ||
  fail "no create event for vm1"
# Tags at create (2.52; the CLI sends networks "auto" from 2.37, which with no
# network service allocates nothing) and the embedded flavor of 2.47.
os --os-compute-api-version 2.52 server create --flavor m1.tiny --image cli-image \
  --tag blue --tag canary --wait vm3 >/dev/null
[ "$(os --os-compute-api-version 2.52 server list --tag canary -f value -c Name)" = vm3 ] ||
  fail "server list --tag canary is not just vm3"
grep -q '"original_name"' <<<"$(os --os-compute-api-version 2.52 server show vm3 -f json)" ||
  fail "vm3's flavor is not embedded at 2.52"
os server delete --wait vm3 >/dev/null
os server delete --wait vm2 >/dev/null
os server group delete web-spread >/dev/null

os server delete --wait vm1 >/dev/null
LEFT=$(os server list -f value -c ID)
grep -qx "$SERVER_ID" <<<"$LEFT" && fail "vm1 still listed after delete --wait: $LEFT"

os image delete "$IMAGE_ID" >/dev/null
os keypair delete cli-key >/dev/null
echo "PASS openstack CLI lifecycle"
