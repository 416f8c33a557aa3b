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
  # Real guests (issue 5): QEMU under libvirtd, qemu-img for overlays, and what
  # tools/guest-image.sh needs to build a tiny bootable guest.
  libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
  busybox-static syslinux syslinux-common mtools dosfstools cpio fdisk
  # Conformance: Tempest's compute API tests and the openstack CLI scenario.
  tempest python3-openstackclient
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
