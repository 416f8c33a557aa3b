#!/usr/bin/env bash
# Real guests (issue 5): the unmodified `openstack` CLI boots a tiny Debian
# guest (tools/guest-image.sh) on QEMU/TCG through libvirtd, reads the guest's
# own boot line from its console log, stops it (ACPI: the guest's own
# power-off line must show, which a forced power-off lacks), writes a known
# pattern into its overlay while it is off, starts it (the guest boots again),
# snapshots it with createImage (the downloaded snapshot must carry the
# pattern), boots a second server from the snapshot, checks that both overlays
# are backed by bases in the image cache, resizes the first on its host twice
# (confirming, then reverting), and deletes both. Consoles (issue 19): the
# noVNC URL `openstack console url show` prints opens in Chromium headless and
# shows the guest's screen; the serial console, read over its websocket, shows
# the guest's boot line.
# Usage: real_vm_test.sh BUILD_DIR
# Prints the measured times as "MEASURED <what> <seconds>".
source "$(dirname "$0")/lib.sh"
BUILD=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STATE="$E2E_TMP/state"
INSTANCES="$STATE/instances"
COMPUTE=$(free_port)
IDENTITY=$(free_port)
IMAGE=$(free_port)
VNC=$(free_port)
SERIAL=$(free_port)
BOOT_LINE="chronova-guest: init reached"
OFF_LINE="chronova-guest: power button, powering off" # the guest's ACPI handler
command -v openstack >/dev/null || fail "the openstack CLI is not installed (tools/deps.sh)"
command -v qemu-img >/dev/null || fail "qemu-img is not installed (tools/deps.sh)"
command -v qemu-io >/dev/null || fail "qemu-io is not installed (tools/deps.sh: qemu-utils)"

trap 'stop_libvirtd "$INSTANCES"; e2e_cleanup' EXIT

GUEST=$("$ROOT/tools/guest-image.sh" "$BUILD/guest")
start_libvirtd

printf '[serial_console]\nenabled = true\nserialproxy_port = %s\nport_range = 20000:29999\n' \
  "$SERIAL" >"$E2E_TMP/chronova.conf"
"$BUILD/chronovad" all-in-one --state-dir "$STATE" --password vm-secret \
  --config "$E2E_TMP/chronova.conf" --novncproxy-listen "http://127.0.0.1:$VNC" --ec2-listen "" \
  --libvirt-uri "$LIBVIRT_URI" --virt-type qemu \
  --compute-listen "http://127.0.0.1:$COMPUTE" \
  --identity-listen "http://127.0.0.1:$IDENTITY" \
  --image-listen "http://127.0.0.1:$IMAGE" >"$E2E_TMP/d.log" 2>&1 &
E2E_PIDS+=("$!")
wait_for_text "$E2E_TMP/d.log" 90 "all-in-one ready"

now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

# Waits up to $2 s for server $1's console log to hold the guest's boot line.
wait_console() {
  local id=$1 secs=$2 i out
  for ((i = 0; i < secs; i++)); do
    out=$(os console log show "$id")
    grep -qF "$BOOT_LINE" <<<"$out" && return 0
    sleep 1
  done
  echo "--- console of $id ---" >&2
  echo "$out" >&2
  fail "no '$BOOT_LINE' in the console of $id within ${secs}s"
}

# Waits up to $2 s for server $1's console log to hold the boot line $3 times
# (once per boot of the guest).
wait_boots() {
  local id=$1 secs=$2 want=$3 i n=0
  for ((i = 0; i < secs; i++)); do
    n=$(os console log show "$id" | grep -cF "$BOOT_LINE") || true
    [ "$n" -ge "$want" ] && return 0
    sleep 1
  done
  fail "the console of $id shows $n boots, not $want, within ${secs}s"
}

# Waits up to $2 s for server $1 to show status $3.
wait_status() {
  local id=$1 secs=$2 want=$3 i s
  for ((i = 0; i < secs; i++)); do
    s=$(os server show "$id" -f value -c status)
    [ "$s" = "$want" ] && return 0
    [ "$s" = ERROR ] && fail "server $id is ERROR: $(os server show "$id" -f value -c fault)"
    sleep 1
  done
  "$BUILD/chronovactl" --state-dir "$STATE" audit server "$id" >&2 || true
  tail -n 40 "$E2E_TMP/d.log" >&2
  fail "server $id is $s, not $want, after ${secs}s"
}

# How many times server $1's console log holds line $2.
console_count() {
  os console log show "$1" | grep -cF "$2" || true
}

# Whether disk image $1 holds PAT_LEN bytes of 0x5a at PAT_OFF (read-only, so
# beside a running guest too).
has_pattern() {
  local fmt out
  fmt=$(qemu-img info -U --output=json "$1" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["format"])') || return 1
  out=$(qemu-io -r -U -f "$fmt" -c "read -P 0x5a $PAT_OFF $PAT_LEN" "$1" 2>&1) || return 1
  ! grep -q "verification failed" <<<"$out"
}

# The backing file of server $1's overlay; checks it is a base in _base/.
backing_of() {
  local disk="$INSTANCES/$1/disk" base
  [ -f "$disk" ] || fail "no overlay $disk"
  base=$(qemu-img info -U --output=json "$disk" |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("backing-filename",""))')
  [ -n "$base" ] || fail "$disk has no backing file"
  [ "$(dirname "$base")" = "$INSTANCES/_base" ] || fail "$disk is backed by $base, not a file in _base"
  [ -f "$base" ] || fail "base $base does not exist"
  echo "$base"
}

# shellcheck disable=SC1091
source "$STATE/openrc" admin
os flavor create --vcpus 1 --ram 128 --disk 1 vm.tiny >/dev/null
source "$STATE/openrc" demo
IMAGE_ID=$(os image create --disk-format raw --container-format bare \
  --file "$GUEST" tiny-guest -f value -c id)
[ "$(os image show "$IMAGE_ID" -f value -c status)" = active ] || fail "image not active"

# Boot: ACTIVE, then the guest's own line on its serial console.
t0=$(now)
VM1=$(os server create --flavor vm.tiny --image tiny-guest --wait vm1 -f value -c id | tail -n 1)
[ -n "$VM1" ] || fail "server create printed no id"
[ "$(os server show "$VM1" -f value -c status)" = ACTIVE ] || fail "vm1 is not ACTIVE"
echo "MEASURED boot-to-ACTIVE $(since "$t0")"
wait_console "$VM1" 120
echo "MEASURED boot-to-console-line $(since "$t0")"

# The guest's screen in a real browser: the URL the CLI prints, opened in
# Chromium headless, reaches noVNC's "Connected" and a canvas that is not blank
# (the guest's VGA text). The screenshot stays in the build directory.
t0=$(now)
URL=$(os console url show "$VM1" -f value -c url)
[ -n "$URL" ] || fail "console url show printed no URL"
url_s=$(since "$t0")
python3 "$ROOT/tests/e2e/browser_console.py" "$URL" "$BUILD/console-screenshot.png" 90 \
  >"$E2E_TMP/browser.out" 2>&1 || {
  cat "$E2E_TMP/browser.out" >&2
  tail -n 20 "$E2E_TMP/d.log" >&2
  fail "the browser did not show vm1's console"
}
connected_s=$(awk '/^CONNECTED/ {print $2}' "$E2E_TMP/browser.out")
echo "MEASURED console-url-show-to-Connected $(python3 -c "print(f'{$url_s + $connected_s:.1f}')")"
grep '^SCREENSHOT' "$E2E_TMP/browser.out"
# The guest's consoles are recorded with its instance.spawned: VNC and the TCP
# serial port from [serial_console] port_range.
"$BUILD/chronovactl" --state-dir "$STATE" audit server "$VM1" --json >"$E2E_TMP/audit1" 2>&1 || true
CONSOLES=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{") and "\"instance.spawned\"" in line:
        c = {kv["key"]: kv["value"] for kv in json.loads(line)["payload"]["consoles"]}
        print(c.get("vnc", "-"), c.get("serial", "-"))' "$E2E_TMP/audit1")
grep -Eq '^127\.0\.0\.1:59[0-9]{2} 127\.0\.0\.1:2[0-9]{4}$' <<<"$CONSOLES" || {
  grep spawned "$E2E_TMP/audit1" >&2
  fail "vm1's instance.spawned records consoles '$CONSOLES', not VNC and a serial port of 20000:29999"
}
BASE1=$(backing_of "$VM1")
[ -f "$INSTANCES/$VM1/libvirt.xml" ] || fail "no libvirt.xml in the instance dir"
for ((i = 0; i < 20; i++)); do
  STATE1=$(virsh -c "$LIBVIRT_URI" domstate --reason "instance-$VM1" 2>&1) || true
  grep -q '^running' <<<"$STATE1" && break
  sleep 0.5
done
if ! grep -q '^running' <<<"$STATE1"; then
  echo "--- events of vm1 ---" >&2
  "$BUILD/chronovactl" --state-dir "$STATE" audit server "$VM1" >&2 || true
  tail -n 40 "$E2E_TMP/d.log" >&2
  fail "vm1's domain is not running: $STATE1"
fi

# Stop (ACPI: the guest powers itself off). SHUTOFF alone proves no clean
# shutdown: a guest that ignored the press is destroyed after
# clean_shutdown_timeout and ends SHUTOFF too, but without its power-off line.
BOOTS=$(console_count "$VM1" "$BOOT_LINE")
OFFS=$(console_count "$VM1" "$OFF_LINE")
t0=$(now)
os server stop "$VM1" >/dev/null
wait_status "$VM1" 90 SHUTOFF
echo "MEASURED stop-to-SHUTOFF $(since "$t0")"
n=$(console_count "$VM1" "$OFF_LINE")
if [ "$n" -ne $((OFFS + 1)) ]; then
  echo "--- console of $VM1 ---" >&2
  os console log show "$VM1" | tail -n 20 >&2
  fail "vm1 is SHUTOFF but its console shows '$OFF_LINE' $n times, not $((OFFS + 1)): not a clean shutdown"
fi

# While vm1 is off, a known pattern goes into its overlay, where the guest
# never writes: the last MiB but one of the base's 32 MiB FAT disk, past its
# few files. The base must not hold it; the snapshot must.
PAT_LEN=65536
PAT_OFF=$(qemu-img info -U --output=json "$BASE1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"] - (1 << 20))')
has_pattern "$BASE1" && fail "the base $BASE1 already holds 0x5a at $PAT_OFF"
qemu-io -f qcow2 -c "write -P 0x5a $PAT_OFF $PAT_LEN" "$INSTANCES/$VM1/disk" >/dev/null ||
  fail "qemu-io could not write into vm1's overlay"
has_pattern "$INSTANCES/$VM1/disk" || fail "vm1's overlay does not read back the pattern"

# Start: ACTIVE, and the guest really boots again (one more boot line), which
# its serial console, read through the serial proxy's websocket, shows too. The
# console's TCP port is in the domain's definition, so its URL works while the
# guest is off; the reader connects as soon as QEMU listens, before the guest's
# kernel runs.
SERIAL_URL=$(os console url show --serial "$VM1" -f value -c url)
python3 "$ROOT/tests/e2e/serial_console.py" "$SERIAL_URL" "$BOOT_LINE" 150 \
  >"$E2E_TMP/serial.out" 2>&1 &
SERIAL_READER=$!
t0=$(now)
os server start "$VM1" >/dev/null
wait_status "$VM1" 90 ACTIVE
wait "$SERIAL_READER" || {
  cat "$E2E_TMP/serial.out" >&2
  fail "the serial console of vm1 did not show its boot line"
}
cat "$E2E_TMP/serial.out"
wait_boots "$VM1" 120 $((BOOTS + 1))
echo "MEASURED start-to-console-line $(since "$t0")"

# createImage: a snapshot image, active, owned by demo, that boots.
t0=$(now)
os server image create --name vm1-snap --wait "$VM1" >/dev/null
SNAP_ID=$(os image show vm1-snap -f value -c id)
[ "$(os image show "$SNAP_ID" -f value -c status)" = active ] || fail "snapshot not active"
echo "MEASURED createImage-to-active $(since "$t0")"
wait_status "$VM1" 60 ACTIVE
os image save --file "$E2E_TMP/snap.img" "$SNAP_ID" >/dev/null
has_pattern "$E2E_TMP/snap.img" ||
  fail "the snapshot lacks the 0x5a pattern written at $PAT_OFF of vm1's disk"
rm -f "$E2E_TMP/snap.img"

t0=$(now)
VM2=$(os server create --flavor vm.tiny --image vm1-snap --wait vm2 -f value -c id | tail -n 1)
[ "$(os server show "$VM2" -f value -c status)" = ACTIVE ] || fail "vm2 is not ACTIVE"
wait_console "$VM2" 120
echo "MEASURED snapshot-boot-to-console-line $(since "$t0")"
BASE2=$(backing_of "$VM2")
[ "$BASE1" != "$BASE2" ] || fail "vm2 (from the snapshot) shares vm1's base $BASE1"
has_pattern "$INSTANCES/$VM2/disk" || fail "vm2's disk (from the snapshot) lacks the 0x5a pattern"
qemu-img info -U --backing-chain "$INSTANCES/$VM1/disk" >"$E2E_TMP/chain1"
qemu-img info -U --backing-chain "$INSTANCES/$VM2/disk" >"$E2E_TMP/chain2"
grep -qF "$BASE1" "$E2E_TMP/chain1" || fail "vm1's backing chain lacks $BASE1"
grep -qF "$BASE2" "$E2E_TMP/chain2" || fail "vm2's backing chain lacks $BASE2"

# Resize on this one host: to vm.small, confirmed; then to vm.medium, reverted.
# The guest ends on vm.small's definition (not vm.tiny's, which the first
# resize kept), its overlay grown to 2 GiB, running. Each step waits for the
# guest to have booted: a guest still booting ignores the ACPI shutdown a
# resize begins with, and is powered off only after clean_shutdown_timeout
# (60 s), as in Nova.
BOOTS=$(os console log show "$VM1" | grep -cF "$BOOT_LINE")
domain_value() { # $1 server, $2 python regex with one group
  virsh -c "$LIBVIRT_URI" dumpxml --inactive "instance-$1" |
    python3 -c 'import re,sys; m=re.search(sys.argv[1], sys.stdin.read()); print(m.group(1) if m else "")' "$2"
}
source "$STATE/openrc" admin
os flavor create --vcpus 1 --ram 192 --disk 2 vm.small >/dev/null
os flavor create --vcpus 2 --ram 256 --disk 2 vm.medium >/dev/null
source "$STATE/openrc" demo
t0=$(now)
os server resize --flavor vm.small "$VM1" >/dev/null
wait_status "$VM1" 120 VERIFY_RESIZE
echo "MEASURED resize-to-VERIFY_RESIZE $(since "$t0")"
wait_boots "$VM1" 120 $((BOOTS + 1))
os server resize confirm "$VM1" >/dev/null
wait_status "$VM1" 60 ACTIVE
os server resize --flavor vm.medium "$VM1" >/dev/null
wait_status "$VM1" 120 VERIFY_RESIZE
wait_boots "$VM1" 120 $((BOOTS + 2))
[ "$(domain_value "$VM1" "<vcpu[^>]*>([0-9]+)</vcpu>")" = 2 ] || fail "vm1 was not resized to 2 vcpus"
t0=$(now)
os server resize revert "$VM1" >/dev/null
wait_status "$VM1" 120 ACTIVE
echo "MEASURED revert-resize-to-ACTIVE $(since "$t0")"
FLAVOR=$(os server show "$VM1" -f value -c flavor)
grep -qF vm.small <<<"$FLAVOR" || fail "vm1's flavor after the revert is not vm.small: $FLAVOR"
VCPUS=$(domain_value "$VM1" "<vcpu[^>]*>([0-9]+)</vcpu>")
MEMORY=$(domain_value "$VM1" "<memory unit='KiB'>([0-9]+)</memory>")
[ "$VCPUS" = 1 ] && [ "$MEMORY" = $((192 * 1024)) ] ||
  fail "vm1's domain after the revert has $VCPUS vcpus and $MEMORY KiB, not vm.small's 1 and $((192 * 1024))"
SIZE=$(qemu-img info -U --output=json "$INSTANCES/$VM1/disk" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
[ "$SIZE" = $((2 << 30)) ] || fail "vm1's overlay is $SIZE bytes, not 2 GiB"
for ((i = 0; i < 20; i++)); do # as after the boot: libvirt may lag a moment
  STATE1=$(virsh -c "$LIBVIRT_URI" domstate --reason "instance-$VM1" 2>&1) || true
  grep -q '^running' <<<"$STATE1" && break
  sleep 0.5
done
if ! grep -q '^running' <<<"$STATE1"; then
  "$BUILD/chronovactl" --state-dir "$STATE" audit server "$VM1" >&2 || true
  tail -n 40 "$E2E_TMP/d.log" >&2
  fail "vm1's domain is not running after the revert: $STATE1"
fi
wait_boots "$VM1" 120 $((BOOTS + 3))

# Delete: guests, domains and instance dirs go; the bases stay (cache).
os server delete --wait "$VM1" "$VM2" >/dev/null
for id in "$VM1" "$VM2"; do
  [ -d "$INSTANCES/$id" ] && fail "instance dir of $id left behind"
  virsh -c "$LIBVIRT_URI" domstate "instance-$id" >/dev/null 2>&1 &&
    fail "domain instance-$id still defined"
done
[ -f "$BASE1" ] && [ -f "$BASE2" ] || fail "a base was removed with its last instance"
echo "PASS real VM lifecycle on QEMU"
