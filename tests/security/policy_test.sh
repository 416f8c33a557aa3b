#!/usr/bin/env bash
# Every policy rule of api/auth/policy.cc over HTTP, as member, reader and admin
# (tests/security/policy_test.py), against a real all-in-one on free loopback
# ports. chronovad seeds no reader-only user, so the users file is written
# before the daemon starts: admin (project admin, role admin), demo (project
# demo, role member) and reader (project demo, role reader only), with
# PBKDF2 hashes of the password in chronova's format (api/auth/password_hash.cc).
# Usage: policy_test.sh BUILD_DIR   (the directory holding chronovad)
source "$(dirname "$0")/../e2e/lib.sh"
BUILD=$1
SRC="${CHRONOVA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
STATE="$E2E_TMP/state"
PASSWORD=policy-secret
PORT=$(free_port)
IDPORT=$(free_port)
IMAGE_PORT=$(free_port)

mkdir -p "$STATE/identity"
python3 - "$STATE/identity/users.ini" "$PASSWORD" <<'PY'
import base64, hashlib, os, sys
path, password = sys.argv[1], sys.argv[2]
def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def pbkdf2(pw, iterations=10000):
    salt = os.urandom(16)
    dk = hashlib.pbkdf2_hmac("sha256", pw.encode(), salt, iterations, 32)
    return "pbkdf2-sha256$%d$%s$%s" % (iterations, b64(salt), b64(dk))
text = "# chronova identity users for the policy test.\n"
for user, project, roles in (("admin", "admin", "admin"), ("demo", "demo", "member"),
                             ("reader", "demo", "reader")):
    text += "\n[user %s]\nproject = %s\nroles = %s\npassword_hash = %s\n" % (
        user, project, roles, pbkdf2(password))
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, text.encode())
os.close(fd)
PY

"$BUILD/chronovad" all-in-one --novncproxy-listen "" --ec2-listen "" --state-dir "$STATE" --hypervisor fake --hosts 2 --password "$PASSWORD" \
  --compute-listen "http://127.0.0.1:$PORT" --identity-listen "http://127.0.0.1:$IDPORT" \
  --image-listen "http://127.0.0.1:$IMAGE_PORT" >"$E2E_TMP/d.log" 2>&1 &
PID=$!
E2E_PIDS+=("$PID")
wait_for_text "$E2E_TMP/d.log" 60 "all-in-one ready"

python3 "$(dirname "$0")/policy_test.py" "$PORT" "$IDPORT" "$IMAGE_PORT" "$PASSWORD" "$SRC" ||
  { tail -n 40 "$E2E_TMP/d.log" >&2; fail "the policy test failed"; }
kill -0 "$PID" 2>/dev/null || { tail -n 40 "$E2E_TMP/d.log" >&2; fail "chronovad died"; }
stop_cleanly "$PID" TERM
