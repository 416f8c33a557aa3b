#!/usr/bin/env bash
# Builds a tiny guest that really boots under QEMU, from Debian packages only
# (NOTES: libvirt + QEMU): Debian's cloud kernel, a busybox initramfs and
# syslinux on a small FAT disk. The result is a raw disk image; its init starts
# acpid, prints
#   chronova-guest: init reached
# on the serial console (ttyS0), and powers off on an ACPI power-button press,
# so a clean shutdown (virDomainShutdown) works, printing first
#   chronova-guest: power button, powering off
#
#   tools/guest-image.sh [OUT_DIR]     (default: build/guest)
#
# Prints the image's path. Cached: a second run does nothing if the image was
# built by this same script (OUT_DIR/guest.img.stamp holds the script's
# SHA-256); a changed script builds it again. Needs: apt-get (to download the
# kernel package), dpkg-deb, cpio, gzip, mtools, dosfstools, syslinux,
# busybox-static (tools/deps.sh installs them).
set -euo pipefail

out_dir=${1:-build/guest}
image="$out_dir/guest.img"
stamp=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)
if [ -s "$image" ] && [ "$(cat "$image.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$image"
  exit 0
fi

mkdir -p "$out_dir"
work=$(mktemp -d "${TMPDIR:-/tmp}/chronova-guest-XXXXXX")
trap 'rm -rf "$work"' EXIT

# The kernel: the package linux-image-cloud-amd64 points at.
kpkg=$(apt-cache depends linux-image-cloud-amd64 |
  awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kpkg" ] || { echo "guest-image: no cloud kernel package known to apt" >&2; exit 1; }
chmod 755 "$work"
mkdir -m 777 "$work/deb"  # apt-get download writes as the _apt user
(cd "$work/deb" && apt-get download -qq "$kpkg" >/dev/null)
dpkg-deb -x "$work"/deb/linux-image-*.deb "$work/kernel"
vmlinuz=$(ls "$work"/kernel/boot/vmlinuz-* | head -n1)

# The initramfs: static busybox and an init that reports, then waits for ACPI.
root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,lib/modules,etc/acpi/PWRF}
cp /bin/busybox "$root/bin/busybox"
# The power button and its input device are modules in Debian's cloud kernel.
for m in drivers/acpi/button.ko drivers/input/evdev.ko; do
  cp "$(ls -d "$work"/kernel/lib/modules/*)/kernel/$m" "$root/lib/modules/"
done
file "$root/bin/busybox" 2>/dev/null | grep -q 'statically linked' ||
  ldd "$root/bin/busybox" 2>&1 | grep -q 'not a dynamic' ||
  { echo "guest-image: /bin/busybox is not static (install busybox-static)" >&2; exit 1; }
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
insmod /lib/modules/button.ko 2>/dev/null
insmod /lib/modules/evdev.ko 2>/dev/null
# A power-button press (virDomainShutdown) powers the guest off. acpid is
# started first: once the line below shows, the guest heeds a press (one
# before acpid listens is lost, and a stop waits out clean_shutdown_timeout).
acpid -c /etc/acpi -l /dev/null 2>/dev/null
echo "chronova-guest: init reached ($(uname -r), $(cut -d' ' -f1 /proc/uptime)s)" >/dev/console
while true; do sleep 3600; done
INIT
cat >"$root/etc/acpi/PWRF/00000080" <<'PWR'
#!/bin/sh
echo "chronova-guest: power button, powering off" >/dev/console
# The line may still sit in the serial port's buffer: powering off at once can
# lose it, and the real-VM test tells a clean stop from a forced one by it.
sleep 1
poweroff -f
PWR
chmod +x "$root/init" "$root/etc/acpi/PWRF/00000080"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$work/initrd.gz"

# The disk: a FAT "superfloppy" with syslinux in its boot sector.
disk="$work/guest.img"
truncate -s 32M "$disk"
mkfs.vfat -n CHRONOVA "$disk" >/dev/null
syslinux --install "$disk"
cat >"$work/syslinux.cfg" <<'CFG'
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL vmlinuz
  APPEND initrd=initrd.gz console=ttyS0 panic=-1 quiet
CFG
mcopy -i "$disk" "$vmlinuz" ::vmlinuz
mcopy -i "$disk" "$work/initrd.gz" ::initrd.gz
mcopy -i "$disk" "$work/syslinux.cfg" ::syslinux.cfg
rm -f "$image.stamp"
mv "$disk" "$image"
echo "$stamp" >"$image.stamp"
echo "$image"
