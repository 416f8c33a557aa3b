#!/usr/bin/env bash
# The EC2 API with unmodified clients: `aws ec2` (awscli v2 from Debian) and a
# boto3 script drive a whole lifecycle against chronovad all-in-one, with EC2
# credentials made by the `openstack` CLI: key pair import, RunInstances with
# a ClientToken retried, describe with filters and tags, stop/start/reboot,
# console output, terminate and `aws ec2 wait instance-terminated`; then bad
# signatures, an unknown key, an expired date and bad parameters.
# Usage: ec2_test.sh BUILD_DIR
source "$(dirname "$0")/lib.sh"
BUILD=$1
STATE="$E2E_TMP/state"
COMPUTE=$(free_port)
IDENTITY=$(free_port)
IMAGE=$(free_port)
EC2=$(free_port)
# Debian's clients, not whatever else is first on PATH.
AWS=/usr/bin/aws
PY=/usr/bin/python3
[ -x "$AWS" ] || fail "awscli is not installed (tools/deps.sh)"
"$PY" -c "import boto3" 2>/dev/null || fail "python3-boto3 is not installed (tools/deps.sh)"

"$BUILD/chronovad" all-in-one --novncproxy-listen "" --state-dir "$STATE" --password ec2-secret \
  --hypervisor fake --compute-listen "http://127.0.0.1:$COMPUTE" \
  --identity-listen "http://127.0.0.1:$IDENTITY" \
  --image-listen "http://127.0.0.1:$IMAGE" \
  --ec2-listen "http://127.0.0.1:$EC2" >"$E2E_TMP/d.log" 2>&1 &
E2E_PIDS+=("$!")
wait_for_text "$E2E_TMP/d.log" 60 "all-in-one ready"
grep -q "EC2 API http://127.0.0.1:$EC2" "$E2E_TMP/d.log" || fail "the EC2 API is not announced"

# shellcheck disable=SC1091
source "$STATE/openrc" demo
CRED=$(os ec2 credentials create -f json)
AK=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["access"])' <<<"$CRED")
SK=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["secret"])' <<<"$CRED")
[ -n "$AK" ] && [ -n "$SK" ] || fail "no EC2 credential: $CRED"
grep -q "$AK" <<<"$(os ec2 credentials list -f value -c Access)" ||
  fail "ec2 credentials list does not show $AK"
# The catalog names the endpoint (type ec2).
grep -q "http://127.0.0.1:$EC2" <<<"$(os catalog show ec2 -f value -c endpoints)" ||
  fail "the catalog has no ec2 endpoint"

export AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_DEFAULT_REGION=RegionOne
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
ec2() { "$AWS" --endpoint-url "http://127.0.0.1:$EC2" ec2 "$@"; }
# An EC2 error's code from a failed call's stderr ("An error occurred (Code) ...").
ec2_error() {
  local err
  if err=$(ec2 "$@" 2>&1 >/dev/null); then fail "ec2 $* succeeded"; fi
  sed -n 's/.*An error occurred (\([A-Za-z.]*\)).*/\1/p' <<<"$err" | head -1
}

[ "$(ec2 describe-regions --query 'Regions[0].RegionName' --output text)" = RegionOne ] ||
  fail "describe-regions"
[ "$(ec2 describe-availability-zones --query 'AvailabilityZones[0].ZoneName' --output text)" = nova ] ||
  fail "describe-availability-zones"
grep -qx m1.tiny <<<"$(ec2 describe-instance-types --query 'InstanceTypes[].InstanceType' --output text | tr '\t' '\n')" ||
  fail "describe-instance-types has no m1.tiny"
AMI=$(ec2 describe-images \
  --query 'Images[?Name==`cirros-0.6.2-x86_64-disk`].ImageId' --output text)
[[ "$AMI" =~ ^ami-[0-9a-f]{17}$ ]] || fail "no ami for the seeded image: '$AMI'"

ssh-keygen -q -t ed25519 -N "" -f "$E2E_TMP/k1" -C ec2-test </dev/null >/dev/null
ec2 import-key-pair --key-name k1 --public-key-material "fileb://$E2E_TMP/k1.pub" >/dev/null
[ "$(ec2 describe-key-pairs --key-names k1 --query 'KeyPairs[0].KeyName' --output text)" = k1 ] ||
  fail "describe-key-pairs"
[ "$(os keypair show k1 -f value -c name)" = k1 ] || fail "the key pair is not Nova's too"
# A generated key pair: its private key once, then gone again.
MATERIAL=$(ec2 create-key-pair --key-name k2 --query KeyMaterial --output text)
grep -q "PRIVATE KEY" <<<"$MATERIAL" || fail "create-key-pair gave no private key"
[ "$(ec2_error create-key-pair --key-name k2)" = InvalidKeyPair.Duplicate ] ||
  fail "a second k2 was created"
ec2 delete-key-pair --key-name k2
[ "$(ec2_error describe-key-pairs --key-names k2)" = InvalidKeyPair.NotFound ] ||
  fail "k2 was not deleted"
KEY_ID=$(ec2 describe-key-pairs --key-names k1 --query 'KeyPairs[0].KeyPairId' --output text)
ec2 create-tags --resources "$KEY_ID" --tags Key=team,Value=web
[ "$(ec2 describe-key-pairs --key-names k1 --query 'KeyPairs[0].Tags[0].Value' --output text)" = web ] ||
  fail "a key pair's tag"
[ "$(ec2 describe-tags --filters Name=resource-type,Values=key-pair --query 'Tags[0].ResourceId' --output text)" = "$KEY_ID" ] ||
  fail "describe-tags of key pairs"

# RunInstances with a ClientToken, retried: one instance.
RUN=(run-instances --image-id "$AMI" --instance-type m1.tiny --key-name k1
  --client-token e2e-token-1 --user-data "echo hi"
  --tag-specifications 'ResourceType=instance,Tags=[{Key=Name,Value=web1},{Key=tier,Value=gold}]'
  --query 'Instances[0].InstanceId' --output text)
ID=$(ec2 "${RUN[@]}")
[[ "$ID" =~ ^i-[0-9a-f]{17}$ ]] || fail "run-instances gave '$ID'"
[ "$(ec2 "${RUN[@]}")" = "$ID" ] || fail "a retried ClientToken made another instance"
ec2 wait instance-running --instance-ids "$ID" || fail "never running"
[ "$(os server list -f value -c Name | grep -c '^web1$')" = 1 ] || fail "not one server web1"

[ "$(ec2 describe-instances --filters Name=tag:tier,Values=gold \
  --query 'Reservations[].Instances[].InstanceId' --output text)" = "$ID" ] ||
  fail "the tag filter does not find $ID"
[ -z "$(ec2 describe-instances --filters Name=tag:tier,Values=silver \
  --query 'Reservations[].Instances[].InstanceId' --output text)" ] ||
  fail "the tag filter finds what it should not"
[ "$(ec2 describe-instances --filters Name=instance-state-name,Values=running \
  Name=instance-type,Values=m1.tiny --query 'Reservations[].Instances[].KeyName' --output text)" = k1 ] ||
  fail "state and type filters"

ec2 stop-instances --instance-ids "$ID" >/dev/null
ec2 wait instance-stopped --instance-ids "$ID" || fail "never stopped"
# A stopped instance changes type (a resize the conductor confirms).
ec2 modify-instance-attribute --instance-id "$ID" --instance-type Value=m1.small
for _ in $(seq 100); do
  TYPE=$(ec2 describe-instances --instance-ids "$ID" \
    --query 'Reservations[0].Instances[0].[InstanceType,State.Name]' --output text)
  [ "$TYPE" = "m1.small	stopped" ] && [ "$(os server show web1 -f value -c status)" = SHUTOFF ] && break
  sleep 0.1
done
[ "$TYPE" = "m1.small	stopped" ] || fail "the type did not change: $TYPE"
ec2 start-instances --instance-ids "$ID" >/dev/null
ec2 wait instance-running --instance-ids "$ID" || fail "never running again"
[ "$(ec2_error modify-instance-attribute --instance-id "$ID" --instance-type Value=m1.tiny)" = IncorrectInstanceState ] ||
  fail "a running instance changed type"
ec2 reboot-instances --instance-ids "$ID"
ec2 wait instance-running --instance-ids "$ID" || fail "not running after reboot"
OUT=$(ec2 get-console-output --instance-id "$ID" --query Output --output text)
[ -n "$OUT" ] || fail "empty console output"

# Tags: an instance's are its server metadata.
ec2 create-tags --resources "$ID" --tags Key=env,Value=prod Key=owner,Value=ops
[ "$(ec2 describe-tags --filters "Name=resource-id,Values=$ID" Name=key,Values=env \
  --query 'Tags[0].Value' --output text)" = prod ] || fail "describe-tags"
[ "$(os server show web1 -f json -c properties | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["properties"]["owner"])')" = ops ] ||
  fail "the tag is not the server's metadata"
ec2 delete-tags --resources "$ID" --tags Key=owner
[ -z "$(ec2 describe-tags --filters "Name=resource-id,Values=$ID" Name=key,Values=owner \
  --query 'Tags[].Value' --output text)" ] || fail "delete-tags left the tag"
[ "$(ec2 describe-instance-status --instance-ids "$ID" \
  --query 'InstanceStatuses[0].InstanceState.Name' --output text)" = running ] ||
  fail "describe-instance-status"
[ "$(ec2 describe-instance-attribute --instance-id "$ID" --attribute instanceType \
  --query 'InstanceType.Value' --output text)" = m1.small ] || fail "instanceType attribute"
[ "$(ec2 describe-account-attributes --query 'AccountAttributes[?AttributeName==`max-instances`].AttributeValues[0].AttributeValue' --output text)" != "" ] ||
  fail "describe-account-attributes"
# Termination protection.
ec2 modify-instance-attribute --instance-id "$ID" --disable-api-termination
[ "$(ec2_error terminate-instances --instance-ids "$ID")" = OperationNotPermitted ] ||
  fail "a protected instance was terminated"
ec2 modify-instance-attribute --instance-id "$ID" --no-disable-api-termination

# CreateImage (a snapshot), a boot from it, DeregisterImage.
SNAP=$(ec2 create-image --instance-id "$ID" --name web1-snap --description nightly \
  --query ImageId --output text)
[[ "$SNAP" =~ ^ami-[0-9a-f]{17}$ ]] || fail "create-image gave '$SNAP'"
ec2 wait image-available --image-ids "$SNAP" || fail "the snapshot never became available"
[ "$(ec2 describe-image-attribute --image-id "$SNAP" --attribute description \
  --query 'Description.Value' --output text)" = nightly ] || fail "describe-image-attribute"
FROM_SNAP=$(ec2 run-instances --image-id "$SNAP" --instance-type m1.small \
  --query 'Instances[0].InstanceId' --output text)
ec2 wait instance-running --instance-ids "$FROM_SNAP" || fail "no boot from the snapshot"
ec2 terminate-instances --instance-ids "$FROM_SNAP" >/dev/null
ec2 deregister-image --image-id "$SNAP"
[ "$(ec2_error describe-image-attribute --image-id "$SNAP" --attribute description)" = InvalidAMIID.NotFound ] ||
  fail "a deregistered image is still there"

# boto3: the same instance, and a second one through the SDK.
"$PY" - "$EC2" "$ID" "$AMI" <<'PYEOF' || fail "the boto3 script failed"
import sys, urllib.parse, boto3, botocore
port, iid, ami = sys.argv[1], sys.argv[2], sys.argv[3]
ec2 = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{port}", region_name="RegionOne")
r = ec2.describe_instances(InstanceIds=[iid])
inst = r["Reservations"][0]["Instances"][0]
assert inst["State"]["Name"] == "running", inst["State"]
assert {t["Key"]: t["Value"] for t in inst["Tags"]}["tier"] == "gold", inst.get("Tags")
run = ec2.run_instances(ImageId=ami, InstanceType="m1.tiny", MinCount=1, MaxCount=1,
                        ClientToken="boto3-token")
second = run["Instances"][0]["InstanceId"]
ec2.get_waiter("instance_running").wait(InstanceIds=[second])
ec2.terminate_instances(InstanceIds=[second])
ec2.get_waiter("instance_terminated").wait(InstanceIds=[second])
try:
    ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"])
    raise SystemExit("an unknown instance was found")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidInstanceID.NotFound", e.response
# Paging: six more, read five at a time through the SDK's paginator.
many = ec2.run_instances(ImageId=ami, InstanceType="m1.tiny", MinCount=6, MaxCount=6,
                         ClientToken="boto3-six")
six = {i["InstanceId"] for i in many["Instances"]}
pages = list(ec2.get_paginator("describe_instances").paginate(
    Filters=[{"Name": "reservation-id", "Values": [many["ReservationId"]]}],
    PaginationConfig={"PageSize": 5}))
assert len(pages) == 2, [len(p["Reservations"]) for p in pages]
seen = {i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"]}
assert seen == six, (seen, six)
ec2.terminate_instances(InstanceIds=sorted(six))
# Signature Version 2, as old tools sign.
from botocore.auth import SigV2Auth
from botocore.awsrequest import AWSRequest
import urllib.request
creds = boto3.session.Session().get_credentials()
req = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/",
                 data={"Action": "DescribeRegions", "Version": "2016-11-15"})
SigV2Auth(creds).add_auth(req)
body = "&".join(f"{k}={urllib.parse.quote(v, safe='-_~')}" for k, v in req.data.items())
answer = urllib.request.urlopen(urllib.request.Request(
    req.url, data=body.encode(), method="POST",
    headers={"Content-Type": "application/x-www-form-urlencoded"})).read().decode()
assert "<regionName>RegionOne</regionName>" in answer, answer
print("boto3 ok")
PYEOF

STATE_NOW=$(ec2 terminate-instances --instance-ids "$ID" \
  --query 'TerminatingInstances[0].CurrentState.Name' --output text)
[ "$STATE_NOW" = shutting-down ] || [ "$STATE_NOW" = terminated ] ||
  fail "terminate-instances answered '$STATE_NOW'"
ec2 wait instance-terminated --instance-ids "$ID" || fail "never terminated"
[ "$(ec2 describe-instances --instance-ids "$ID" \
  --query 'Reservations[0].Instances[0].State.Code' --output text)" = 48 ] ||
  fail "a terminated instance is not visible as terminated (48)"

# Refused requests, in EC2's shape.
[ "$(AWS_SECRET_ACCESS_KEY=wrong ec2_error describe-regions)" = SignatureDoesNotMatch ] ||
  fail "a wrong secret is not SignatureDoesNotMatch"
[ "$(AWS_ACCESS_KEY_ID=nosuchkey ec2_error describe-regions)" = AuthFailure ] ||
  fail "an unknown access key is not AuthFailure"
[ "$(ec2_error describe-instances --instance-ids i-nothex)" = InvalidInstanceID.Malformed ] ||
  fail "a malformed id"
[ "$(ec2_error run-instances --image-id ami-00000000000000000 --instance-type m1.tiny)" = InvalidAMIID.NotFound ] ||
  fail "an unknown image"
[ "$(ec2_error run-instances --image-id "$AMI" --instance-type no.such)" = InvalidParameterValue ] ||
  fail "an unknown instance type"
BODY=$(curl -s -X POST "http://127.0.0.1:$EC2/" -d 'Action=DescribeRegions&Version=2016-11-15')
grep -q "<Code>MissingAuthenticationToken</Code>" <<<"$BODY" || fail "unsigned: $BODY"
# A request signed 20 minutes ago: RequestExpired.
EXPIRED=$("$PY" - "$EC2" <<'PYEOF'
import sys, datetime, urllib.request, urllib.error
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
import os
port = sys.argv[1]
req = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/",
                 data="Action=DescribeRegions&Version=2016-11-15",
                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
class Old(SigV4Auth):
    def _modify_request_before_signing(self, request):
        super()._modify_request_before_signing(request)
then = datetime.datetime.utcnow() - datetime.timedelta(minutes=20)
auth = Old(Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]),
           "ec2", "RegionOne")
req.context["timestamp"] = then.strftime("%Y%m%dT%H%M%SZ")
import botocore.auth as ba
orig = ba.datetime.datetime
class Frozen(orig):
    @classmethod
    def utcnow(cls): return then
ba.datetime.datetime = Frozen
auth.add_auth(req)
ba.datetime.datetime = orig
body = req.body if isinstance(req.body, bytes) else req.body.encode()
r = urllib.request.Request(req.url, data=body, headers=dict(req.headers), method="POST")
try:
    urllib.request.urlopen(r)
    print("accepted")
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PYEOF
)
grep -q "<Code>RequestExpired</Code>" <<<"$EXPIRED" || fail "an old signature: $EXPIRED"

os ec2 credentials delete "$AK"
[ "$(ec2_error describe-regions)" = AuthFailure ] || fail "a deleted credential still works"
echo "ec2: aws ec2 and boto3 lifecycles passed"
