#!/usr/bin/env bash
# A local chronova cluster on loopback, every role a process of its own:
# 3 nats-server nodes (JetStream R3, fsync before every ack), 2 api, 2
# schedulers, 2 conductors and N compute hosts. Every process is started with
# its PID recorded and stopped by that PID, nothing else.
#
#   tools/cluster.sh up [--computes N] [--hypervisor fake|libvirt] [--auth keystone|noauth2]
#                       [--secure]  (one NATS credential per role and host, TLS)
#   tools/cluster.sh status       roles and NATS nodes up or down, `chronovactl cluster status`
#   tools/cluster.sh down         stops every process of the cluster (TERM, then KILL)
#   tools/cluster.sh kill NAME    kill -9 one member (api-1, scheduler-2, nats-3, compute-1 ...)
#   tools/cluster.sh pause NAME   SIGSTOP one member; `resume NAME` sends SIGCONT
#   tools/cluster.sh partition nats-N   cut NATS node N off its peers (iptables;
#                                 root, not with --secure); `heal nats-N` ends it
#   tools/cluster.sh start NAME   starts one member again (after kill or stop)
#   tools/cluster.sh stop NAME    stops one member cleanly (TERM)
#   tools/cluster.sh env          prints the cluster's endpoints as shell variables
#
# The cluster lives in $CHRONOVA_CLUSTER_DIR (default /tmp/chronova-cluster):
# chronova.conf (one INI file for every role), ports.env, pids/, logs/,
# state/<member>/ (each process's own state dir), shared/ (the identity users
# file, token key and image data that both api processes use, as several
# Glance and Keystone nodes share theirs). Binaries come from $CHRONOVA_BUILD
# (default build/). See docs/deployment.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${CHRONOVA_CLUSTER_DIR:-/tmp/chronova-cluster}"
BUILD="${CHRONOVA_BUILD:-$ROOT/build}"
NATS_BIN="$(command -v nats-server || echo /usr/sbin/nats-server)"

die() {
  echo "cluster: $*" >&2
  exit 1
}

free_port() {
  python3 "$ROOT/tools/free_port.py"
}

pid_of() { cat "$DIR/pids/$1.pid" 2>/dev/null || true; }
alive() {
  local pid
  pid=$(pid_of "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# Waits up to $2 seconds for member $1's log to say $3; fails with its log.
wait_log() {
  local name=$1 secs=$2 text=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    grep -q -- "$text" "$DIR/logs/$name.log" 2>/dev/null && return 0
    alive "$name" || break
    sleep 0.1
  done
  tail -n 20 "$DIR/logs/$name.log" >&2 || true
  die "$name did not say '$text' within ${secs}s"
}

members() {
  # shellcheck disable=SC1091
  source "$DIR/ports.env"
  echo nats-1 nats-2 nats-3 api-1 api-2 scheduler-1 scheduler-2 conductor-1 conductor-2
  local i
  for ((i = 1; i <= COMPUTES; i++)); do echo "compute-$i"; done
}

# Starts member $1 in the background (its log appended to), recording its PID.
launch() {
  local name=$1
  shift
  mkdir -p "$DIR/pids" "$DIR/logs"
  echo "--- start $(date -u +%FT%TZ)" >>"$DIR/logs/$name.log"
  setsid "$@" >>"$DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/pids/$name.pid"
}

start_member() {
  local name=$1 kind index
  # shellcheck disable=SC1091
  source "$DIR/ports.env"
  alive "$name" && die "$name is already running (pid $(pid_of "$name"))"
  kind=${name%-*}
  index=${name##*-}
  local chronovad=("$BUILD/chronovad")
  local common=(--config "$DIR/chronova.conf" --state-dir "$DIR/state/$name")
  local metrics_var="METRICS_${name//-/_}"
  [ -n "${!metrics_var:-}" ] && common+=(--metrics-listen "http://127.0.0.1:${!metrics_var}")
  case "$kind" in
    nats)
      local as=()
      if [ "$(nats_uid "$index")" != "" ]; then
        setpriv --reuid="$(nats_uid "$index")" test -r "$DIR/nats-$index/nats.conf" 2>/dev/null ||
          chown "$(nats_uid "$index")" "$DIR/nats-$index" "$DIR/nats-$index/nats.conf"
        setpriv --reuid="$(nats_uid "$index")" test -r "$DIR/nats-$index/nats.conf" ||
          die "uid $(nats_uid "$index") cannot reach $DIR (a parent directory is not searchable)"
        # Its own uid, so that iptables can tell its packets apart (partition).
        chown -R "$(nats_uid "$index"):$(nats_uid "$index")" "$DIR/nats-$index"
        as=(setpriv --reuid="$(nats_uid "$index")" --regid="$(nats_uid "$index")" --clear-groups)
      fi
      launch "$name" "${as[@]}" "$NATS_BIN" -c "$DIR/nats-$index/nats.conf"
      # A node is healthy once it is in touch with the others: at `up` only
      # after all three started.
      [ "${NATS_NO_WAIT:-}" = 1 ] || wait_nats "$index"
      ;;
    api)
      local compute_var="COMPUTE_PORT_$index" identity_var="IDENTITY_PORT_$index"
      local image_var="IMAGE_PORT_$index"
      launch "$name" "${chronovad[@]}" api "${common[@]}" --host "controller-$index" \
        --compute-listen "http://127.0.0.1:${!compute_var}" \
        --identity-listen "http://127.0.0.1:${!identity_var}" \
        --image-listen "http://127.0.0.1:${!image_var}" --ec2-listen ""
      wait_log "$name" 120 "api ready"
      ;;
    scheduler | conductor)
      launch "$name" "${chronovad[@]}" "$kind" "${common[@]}" --host "controller-$index"
      wait_log "$name" 120 "$kind ready"
      ;;
    compute)
      launch "$name" "${chronovad[@]}" compute "${common[@]}" --host "compute-$index" \
        --hosts 1 --hypervisor "$HYPERVISOR"
      wait_log "$name" 60 "compute ready"
      ;;
    *) die "no member '$name' (nats-N, api-N, scheduler-N, conductor-N, compute-N)" ;;
  esac
}

# The uid NATS node $1 runs as: its own when the rig runs as root without
# --secure (the TLS key is root's); empty: the rig's own.
nats_uid() {
  if [ "$(id -u)" -eq 0 ] && [ "${SECURE:-0}" = 0 ] && command -v setpriv >/dev/null; then
    echo $((64000 + $1))
  fi
}

# iptables rules of this rig carry this comment, so `heal` removes exactly them.
rule_tag() { echo "chronova-rig-$(echo "$DIR" | md5sum | cut -c1-12)-$1"; }

# Cuts NATS node $1 off its peers: its route traffic to and from them is
# dropped (clients still reach it; it just cannot reach a quorum).
partition_nats() {
  local n=$1 uid tag j c_var mine_var
  # shellcheck disable=SC1091
  source "$DIR/ports.env"
  uid=$(nats_uid "$n")
  [ -n "$uid" ] || die "partition needs root, setpriv and a rig without --secure"
  command -v iptables >/dev/null || die "partition needs iptables (tools/deps.sh)"
  tag=$(rule_tag "$n")
  mine_var="NATS_CLUSTER_$n"
  for j in 1 2 3; do
    [ "$j" = "$n" ] && continue
    c_var="NATS_CLUSTER_$j"
    iptables -A OUTPUT -o lo -p tcp -m owner --uid-owner "$uid" --dport "${!c_var}" \
      -m comment --comment "$tag" -j DROP
  done
  iptables -A OUTPUT -o lo -p tcp -m owner --uid-owner "$uid" --sport "${!mine_var}" \
    -m comment --comment "$tag" -j DROP
  iptables -A OUTPUT -o lo -p tcp --dport "${!mine_var}" -m comment --comment "$tag" -j DROP
}

heal_nats() {
  local tag rule
  tag=$(rule_tag "$1")
  iptables -S OUTPUT | grep -F -- "$tag" | while read -r rule; do
    # shellcheck disable=SC2086
    iptables ${rule/-A /-D }
  done
}

# Waits up to 30 s for NATS node $1 to report healthy (JetStream included).
wait_nats() {
  local port_var="NATS_HTTP_$1" i
  for ((i = 0; i < 300; i++)); do
    curl -sf "http://127.0.0.1:${!port_var}/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "nats-$1 did not become healthy"
}

# Waits for the fresh cluster's JetStream meta group to hold all three nodes.
# nats-server 2.10 sometimes forms it without one of them (a race of routes
# dialled both ways, fixed upstream after 2.10.27): every node is healthy but
# no stream of 3 replicas can be placed. The node left out is restarted, which
# makes the leader add it (docs/operations.md, "Forming a NATS cluster").
wait_nats_formed() {
  local attempt missing n nodes=()
  for n in 1 2 3; do
    local h="NATS_HTTP_$n"
    nodes+=("127.0.0.1:${!h}")
  done
  for attempt in 1 2 3; do
    missing=$(python3 "$ROOT/tools/nats_meta.py" --wait 15 "${nodes[@]}") && return 0
    [ -n "$missing" ] || continue
    for n in $missing; do
      echo "cluster: nats-$n was left out of the JetStream meta group; restarting it" >&2
      signal_member "nats-$n" TERM 30 || die "nats-$n did not stop on TERM"
      NATS_NO_WAIT=1 start_member "nats-$n"
      wait_nats "$n"
    done
  done
  die "the NATS cluster's meta group did not form with all three nodes"
}

# Sends $2 to member $1 and waits up to $3 s for it to exit.
signal_member() {
  local name=$1 sig=$2 secs=$3 pid i
  pid=$(pid_of "$name")
  [ -n "$pid" ] || return 0
  kill "-$sig" "$pid" 2>/dev/null || return 0
  if [ "$sig" = STOP ] || [ "$sig" = CONT ]; then return 0; fi
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

cmd_up() {
  local computes=3 hypervisor=fake auth=keystone secure=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --secure) secure=1; shift ;;
      --computes) computes=$2; shift 2 ;;
      --hypervisor) hypervisor=$2; shift 2 ;;
      --auth) auth=$2; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  [[ "$computes" =~ ^[0-9]+$ ]] && [ "$computes" -ge 1 ] && [ "$computes" -le 64 ] ||
    die "--computes must be 1..64"
  [ -x "$BUILD/chronovad" ] || die "no $BUILD/chronovad: build first (tools/build.sh)"
  [ -e "$DIR/ports.env" ] && die "$DIR already holds a cluster: tools/cluster.sh down first"
  mkdir -p "$DIR/shared" "$DIR/state" "$DIR/pids" "$DIR/logs"
  local i urls=() routes=()
  {
    echo "COMPUTES=$computes"
    echo "HYPERVISOR=$hypervisor"
    echo "AUTH=$auth"
    echo "SECURE=$secure"
    for i in 1 2 3; do
      echo "NATS_PORT_$i=$(free_port)"
      echo "NATS_HTTP_$i=$(free_port)"
      echo "NATS_CLUSTER_$i=$(free_port)"
    done
    for i in 1 2; do
      echo "COMPUTE_PORT_$i=$(free_port)"
      echo "IDENTITY_PORT_$i=$(free_port)"
      echo "IMAGE_PORT_$i=$(free_port)"
    done
    # Each chronovad's /metrics (docs/operations.md, "Metrics").
    local m
    for m in api-1 api-2 scheduler-1 scheduler-2 conductor-1 conductor-2 \
      $(for ((i = 1; i <= computes; i++)); do echo "compute-$i"; done); do
      echo "METRICS_${m//-/_}=$(free_port)"
    done
  } >"$DIR/ports.env"
  # shellcheck disable=SC1091
  source "$DIR/ports.env"
  local scheme=nats include="" nats_section=""
  if [ "$secure" = 1 ]; then
    local hosts=() creds="$DIR/nats-creds"
    for ((i = 1; i <= computes; i++)); do hosts+=("compute-$i"); done
    "$BUILD/chronovactl" nats-credentials --out "$creds" --tls \
      --hosts "$(IFS=,; echo "${hosts[*]}")" >/dev/null
    scheme=tls
    # nats-server resolves includes relative to the including file.
    include=$'include ../nats-creds/auth.conf\ninclude ../nats-creds/tls.conf'
    nats_section=$'credentials_dir = '"$creds"$'\nca_file = '"$creds"$'/ca.pem'
    echo "CTL_NATS_ARGS=\"--nats-creds $creds/admin.nk --nats-ca $creds/ca.pem\"" >>"$DIR/ports.env"
  else
    echo 'CTL_NATS_ARGS=""' >>"$DIR/ports.env"
  fi
  for i in 1 2 3; do
    local p="NATS_PORT_$i" c="NATS_CLUSTER_$i"
    urls+=("$scheme://127.0.0.1:${!p}")
    routes+=("nats-route://127.0.0.1:${!c}")
  done
  echo "NATS_URLS=$(IFS=,; echo "${urls[*]}")" >>"$DIR/ports.env"
  for i in 1 2 3; do
    local p="NATS_PORT_$i" h="NATS_HTTP_$i" c="NATS_CLUSTER_$i"
    mkdir -p "$DIR/nats-$i"
    cat >"$DIR/nats-$i/nats.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:${!p}
http: 127.0.0.1:${!h}
jetstream { store_dir: "$DIR/nats-$i/js", sync_interval: always }
# A peer or client that stops answering is noticed within seconds (faults).
ping_interval: "2s"
ping_max: 3
cluster { name: chronova, listen: 127.0.0.1:${!c}, routes: [$(IFS=,; echo "${routes[*]}")] }
$include
CONF
  done
  cat >"$DIR/chronova.conf" <<CONF
# One file for every role of this cluster (docs/deployment.md).
[DEFAULT]
# Short, so that a killed compute host counts as down within seconds.
report_interval = 2
service_down_time = 10
# Each host lists its guests this often; the conductor then also gives back
# claims a scheduler left behind when it died between claim and placement.
sync_power_state_interval = 10

[log]
backend = jetstream

[nats]
url = $(IFS=,; echo "${urls[*]}")
replicas = 3
$nats_section

[bus]
backend = nats

[api]
auth_strategy = $auth

[identity]
users_file = $DIR/shared/users.ini
token_key_file = $DIR/shared/token.key

[image]
filesystem_store_datadir = $DIR/shared/images
CONF
  for i in 1 2 3; do NATS_NO_WAIT=1 start_member "nats-$i"; done
  for i in 1 2 3; do wait_nats "$i"; done
  wait_nats_formed
  # api-1 creates the stream and seeds the catalog and the users file first.
  start_member api-1
  start_member api-2
  for name in scheduler-1 scheduler-2 conductor-1 conductor-2; do start_member "$name"; done
  for ((i = 1; i <= computes; i++)); do start_member "compute-$i"; done
  cmd_env
}

cmd_env() {
  # shellcheck disable=SC1091
  source "$DIR/ports.env"
  echo "CHRONOVA_CLUSTER_DIR=$DIR"
  echo "NATS_URLS=$NATS_URLS"
  echo "CTL_NATS_ARGS=\"$CTL_NATS_ARGS\""
  echo "COMPUTE_URLS=http://127.0.0.1:$COMPUTE_PORT_1/v2.1,http://127.0.0.1:$COMPUTE_PORT_2/v2.1"
  echo "OS_AUTH_URL=http://127.0.0.1:$IDENTITY_PORT_1/v3"
  local m metrics=()
  for m in $(members); do
    local var="METRICS_${m//-/_}"
    [ -n "${!var:-}" ] && metrics+=("$m=http://127.0.0.1:${!var}/metrics")
  done
  echo "METRICS_URLS=$(IFS=,; echo "${metrics[*]}")"
  [ -f "$DIR/state/api-1/openrc" ] && echo "OPENRC=$DIR/state/api-1/openrc"
  return 0
}

cmd_status() {
  [ -e "$DIR/ports.env" ] || die "no cluster in $DIR"
  local name rc=0
  for name in $(members); do
    if alive "$name"; then
      printf '%-12s up    pid %s\n' "$name" "$(pid_of "$name")"
    else
      printf '%-12s down\n' "$name"
      rc=1
    fi
  done
  # shellcheck disable=SC1091
  source "$DIR/ports.env"
  # shellcheck disable=SC2086
  "$BUILD/chronovactl" --log jetstream --nats-url "$NATS_URLS" $CTL_NATS_ARGS cluster status \
    --nats-http "127.0.0.1:$NATS_HTTP_1,127.0.0.1:$NATS_HTTP_2,127.0.0.1:$NATS_HTTP_3" \
    --state-dirs "$DIR/state" --service-down-time 10 || rc=1
  return "$rc"
}

cmd_down() {
  [ -e "$DIR/ports.env" ] || return 0
  local name order=()
  # Computes and roles first, the log last.
  for name in $(members); do [[ "$name" == nats-* ]] || order=("$name" "${order[@]}"); done
  order+=(nats-3 nats-2 nats-1)
  if [ "$(id -u)" -eq 0 ] && command -v iptables >/dev/null; then
    for name in 1 2 3; do heal_nats "$name" 2>/dev/null || true; done
  fi
  for name in "${order[@]}"; do
    signal_member "$name" CONT 0 || true
    signal_member "$name" TERM 30 || signal_member "$name" KILL 5 || true
  done
  rm -rf "$DIR"
}

main() {
  local cmd=${1:-}
  shift || true
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    start) start_member "${1:?member}" ;;
    stop) signal_member "${1:?member}" TERM 30 || die "${1} did not stop on TERM" ;;
    kill) signal_member "${1:?member}" KILL 5 || die "${1} survived KILL" ;;
    pause) signal_member "${1:?member}" STOP 0 ;;
    resume) signal_member "${1:?member}" CONT 0 ;;
    partition)
      [[ "${1:?member}" == nats-* ]] || die "only a NATS node can be partitioned"
      partition_nats "${1#nats-}"
      ;;
    heal)
      [[ "${1:?member}" == nats-* ]] || die "only a NATS node can be healed"
      heal_nats "${1#nats-}"
      ;;
    *)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      [ "$cmd" = help ] || [ "$cmd" = --help ]
      ;;
  esac
}

main "$@"
