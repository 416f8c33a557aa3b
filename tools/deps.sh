#!/usr/bin/env bash
# Installs the Debian packages chronova builds and tests against. Idempotent:
# does nothing (and needs no network) when every package is already present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  librocksdb-dev libnats-dev nats-server
  libvirt-dev libvirt-daemon
  libboost-system-dev libre2-dev libssl-dev
  libcereal-dev catch2
  curl python3
  # uptime(1), which a compute host runs for os-hypervisors/{id}/uptime.
  procps
  # The fault suite: openssl checks the TLS material nats-credentials makes;
  # iptables cuts a NATS node off its peers (a partition).
  openssl iptables
  # The fuzz targets (tests/fuzz/): clang with libFuzzer and the sanitizers.
  clang libclang-rt-14-dev
  # Real guests (issue 5): QEMU under libvirtd, qemu-img for overlays, and what
  # tools/guest-image.sh needs to build a tiny bootable guest.
  libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
  busybox-static syslinux syslinux-common mtools dosfstools cpio fdisk
  # Conformance: Tempest's compute API tests and the openstack CLI scenario.
  tempest python3-openstackclient
  # Consoles (issue 19): the pages the console proxies serve (noVNC,
  # spice-html5), and a real browser driven over WebDriver for the console test.
  novnc spice-html5 chromium chromium-driver
  # The EC2 API (issue 18): the clients its end-to-end test drives.
  awscli python3-boto3
)

# nats-server 2.10 from Debian 13 (trixie): 2.9.10 (bookworm) has no
# `sync_interval: always`, so it acknowledges writes before they reach disk
# (docs/operations.md, "Durability"). The trixie suite comes from the same
# mirror and keyring, pinned at priority 100 so nothing else is taken from it.
nats_server_210() {
  nats-server --version 2>/dev/null | grep -Eq 'v2\.(1[0-9]|[2-9][0-9])\.'
}
install_nats_server_210() {
  local SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "deps: installing nats-server 2.10 from Debian trixie (pinned)" >&2
  $SUDO tee /etc/apt/sources.list.d/chronova-trixie.sources >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  $SUDO tee /etc/apt/preferences.d/chronova-trixie >/dev/null <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends -t trixie nats-server
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  nats_server_210 || install_nats_server_210
  exit 0
fi

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
nats_server_210 || install_nats_server_210
