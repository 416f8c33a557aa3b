# Helpers for the end-to-end shell tests: scratch dirs, free loopback ports,
# a nats-server with JetStream started and stopped by PID, daemons in the
# background, and assertions that say what failed.
set -euo pipefail

E2E_PIDS=()
E2E_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
E2E_TMP="$(mktemp -d "${TMPDIR:-/tmp}/chronova-e2e-XXXXXX")"

e2e_cleanup() {
  local pid
  for pid in "${E2E_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${E2E_PIDS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
  rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
  python3 "$E2E_ROOT/tools/free_port.py"
}

# Waits up to $2 seconds for file $1 to contain text $3.
wait_for_text() {
  local file=$1 secs=$2 text=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    grep -q -- "$text" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "--- $file ---" >&2
  cat "$file" >&2 || true
  fail "'$text' did not appear in $file within ${secs}s"
}

# Starts nats-server with JetStream on free loopback ports; sets NATS_URL, NATS_PID.
start_nats() {
  local dir="$E2E_TMP/nats" port http
  mkdir -p "$dir"
  port=$(free_port)
  http=$(free_port)
  cat >"$dir/nats.conf" <<CONF
listen: 127.0.0.1:$port
http: 127.0.0.1:$http
jetstream { store_dir: "$dir/js", sync_interval: always }
CONF
  local bin
  bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  setsid "$bin" -c "$dir/nats.conf" >"$dir/nats.log" 2>&1 &
  NATS_PID=$!
  E2E_PIDS+=("$NATS_PID")
  local i
  for ((i = 0; i < 100; i++)); do
    curl -sf "http://127.0.0.1:$http/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$http/healthz" >/dev/null || fail "nats-server did not become healthy"
  NATS_URL="nats://127.0.0.1:$port"
}

# Starts a 3-node nats-server cluster with JetStream (fsync before every ack)
# on free loopback ports; sets NATS_URLS (every node, comma-separated).
start_nats_cluster() {
  local i bin ports=() https=() routes=() cports=() pids=()
  bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  for i in 1 2 3; do
    ports+=("$(free_port)")
    https+=("$(free_port)")
    cports+=("$(free_port)")
  done
  for i in 0 1 2; do routes+=("nats-route://127.0.0.1:${cports[$i]}"); done
  for i in 0 1 2; do
    local dir="$E2E_TMP/nats-n$((i + 1))"
    mkdir -p "$dir"
    cat >"$dir/nats.conf" <<CONF
server_name: n$((i + 1))
listen: 127.0.0.1:${ports[$i]}
http: 127.0.0.1:${https[$i]}
jetstream { store_dir: "$dir/js", sync_interval: always }
cluster { name: chronova-e2e, listen: 127.0.0.1:${cports[$i]}, routes: [$(IFS=,; echo "${routes[*]}")] }
CONF
    setsid "$bin" -c "$dir/nats.conf" >>"$dir/nats.log" 2>&1 &
    E2E_PIDS+=("$!")
    pids[$i]=$!
  done
  local t attempt missing n
  for attempt in 1 2 3 4; do
    for i in 0 1 2; do
      for ((t = 0; t < 150; t++)); do
        curl -sf "http://127.0.0.1:${https[$i]}/healthz" >/dev/null 2>&1 && break
        sleep 0.1
      done
      curl -sf "http://127.0.0.1:${https[$i]}/healthz" >/dev/null ||
        fail "nats-server n$((i + 1)) did not become healthy"
    done
    # A node nats-server 2.10 left out of the meta group is restarted (as
    # tools/cluster.sh does; tools/nats_meta.py says why).
    missing=$(python3 "$E2E_ROOT/tools/nats_meta.py" --wait 15 "${https[@]/#/127.0.0.1:}") &&
      break
    [ "$attempt" -lt 4 ] || fail "the NATS cluster's meta group did not form with all three nodes"
    for n in $missing; do
      i=$((n - 1))
      echo "e2e: nats n$n was left out of the JetStream meta group; restarting it" >&2
      kill -TERM "${pids[$i]}"
      for ((t = 0; t < 300; t++)); do kill -0 "${pids[$i]}" 2>/dev/null || break; sleep 0.1; done
      setsid "$bin" -c "$E2E_TMP/nats-n$n/nats.conf" >>"$E2E_TMP/nats-n$n/nats.log" 2>&1 &
      E2E_PIDS+=("$!")
      pids[$i]=$!
    done
  done
  NATS_URLS="nats://127.0.0.1:${ports[0]},nats://127.0.0.1:${ports[1]},nats://127.0.0.1:${ports[2]}"
}

# Sends $2 (TERM/INT) to $1 and checks that it exits with status 0 within 30 s.
stop_cleanly() {
  local pid=$1 sig=$2 i
  kill "-$sig" "$pid"
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && fail "pid $pid still running 30 s after SIG$sig"
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || fail "pid $pid exited with $rc after SIG$sig"
}

# Makes a libvirtd with the QEMU driver answer on qemu:///system (NOTES: no
# systemd here). A daemon that already answers is used as it is and left
# running; otherwise virtlogd (QEMU needs it before any domain starts) and
# libvirtd are started and stopped at exit by PID. Sets LIBVIRT_URI.
LIBVIRT_URI="qemu:///system"
LIBVIRT_STARTED=()
libvirt_up() { virsh -c "$LIBVIRT_URI" -q version >/dev/null 2>&1; }
start_libvirtd() {
  command -v libvirtd >/dev/null || [ -x /usr/sbin/libvirtd ] ||
    fail "libvirtd is not installed (tools/deps.sh)"
  export PATH="$PATH:/usr/sbin"
  libvirt_up && return 0
  local dir="$E2E_TMP/libvirt" i
  mkdir -p "$dir" /var/log/libvirt
  if ! pgrep -x virtlogd >/dev/null; then
    virtlogd -d -p "$dir/virtlogd.pid" || fail "virtlogd did not start"
    LIBVIRT_STARTED+=("$dir/virtlogd.pid")
  fi
  # QEMU runs as root for this daemon (qemu.conf user/group, bind-mounted in a
  # private mount namespace, so the system's file is untouched). With the
  # stock libvirt-qemu user and a root-only /dev/kvm, libvirt finds its QEMU
  # capability cache invalid at every lookup ("KVM was enabled when probing,
  # but it is not available now") and re-probes QEMU for ~4 s each time: a
  # define took ~56 s. See docs/operations.md.
  printf 'user = "root"\ngroup = "root"\n' >"$dir/qemu.conf"
  unshare --mount --propagation private sh -c \
    "mount --bind '$dir/qemu.conf' /etc/libvirt/qemu.conf && exec libvirtd -d -p '$dir/libvirtd.pid'" ||
    fail "libvirtd did not start"
  LIBVIRT_STARTED+=("$dir/libvirtd.pid")
  # The first start probes QEMU's capabilities (~8-20 s).
  for ((i = 0; i < 600; i++)); do
    libvirt_up && return 0
    sleep 0.1
  done
  fail "libvirtd did not answer on $LIBVIRT_URI within 60 s"
}

# Destroys and undefines every domain whose instance directory is under $1
# (what a failed test may leave behind), then stops the daemons this test
# started, by PID (libvirtd first; stopping it does not stop guests).
stop_libvirtd() {
  local instances=$1 d pidfile pid i j
  if libvirt_up && [ -d "$instances" ]; then
    for d in "$instances"/*/; do
      d=$(basename "$d")
      [ "$d" = _base ] && continue
      virsh -c "$LIBVIRT_URI" destroy "instance-$d" >/dev/null 2>&1 || true
      virsh -c "$LIBVIRT_URI" undefine --managed-save "instance-$d" >/dev/null 2>&1 || true
    done
  fi
  for ((i = ${#LIBVIRT_STARTED[@]} - 1; i >= 0; i--)); do
    pidfile=${LIBVIRT_STARTED[$i]}
    pid=$(cat "$pidfile" 2>/dev/null) || continue
    kill -TERM "$pid" 2>/dev/null || true
    for ((j = 0; j < 100; j++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  done
  LIBVIRT_STARTED=()
}

# Runs the openstack CLI and prints its stdout only (warnings stay out of the
# values); on failure shows its stderr and the tail of the daemon's log
# ($E2E_TMP/d.log), then fails.
os() {
  local out rc=0
  out=$(openstack "$@" 2>"$E2E_TMP/cli.err") || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "--- openstack $* (rc=$rc)" >&2
    echo "$out" >&2
    cat "$E2E_TMP/cli.err" >&2
    tail -n 40 "$E2E_TMP/d.log" >&2
    fail "openstack $* failed"
  fi
  echo "$out"
}
