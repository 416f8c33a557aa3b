// Domain XML as the libvirt driver writes and reads it: escaping for libvirt's
// XML, the few facts read back from a domain's definition (its root disk, its
// serial log, where its consoles listen), and the port a new guest's serial
// console takes. Plain strings and sockets only: no libvirt here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/types.h"
#include "core/utf8.h"

namespace chronova {

// Undoes XML's five predefined entities (libvirt writes paths with them).
std::string XmlUnescape(std::string_view text);
// The image's hw_disk_bus when QEMU can boot from it, else virtio.
std::string RootDiskBus(const std::string& bus);
// The target device name of the `index`th disk (0: the root) on `bus`, as
// Nova's blockinfo names them: vda, vdb ... / hda ... / sda ...
std::string DiskDevice(const std::string& bus, int index);
// The file of the first <disk ... device='disk'> in a domain XML, or "" if the
// domain has none (libvirt writes attributes in single quotes).
std::string RootDiskPath(std::string_view xml);
// The path of the first <serial type='file'> in a domain's XML, or the log
// file of a <serial type='tcp'> (a serial console); "" if neither.
std::string SerialLogPath(std::string_view xml);

// The devices a domain's XML names, in order: each disk's target device
// ("vda") and each interface's MAC address and host-side target ("" if none),
// as Nova's libvirt driver reads them for diagnostics.
struct DomainDevices {
  std::vector<std::string> disks;
  struct Nic {
    std::string mac_address;
    std::string device;
  };
  std::vector<Nic> nics;
};
DomainDevices DevicesOf(std::string_view xml);

// Where a running domain's console of `kind` listens, from its live XML:
// "vnc"/"spice" a <graphics type='vnc|spice'> with its port and listen
// address, "serial" the first <serial type='tcp'> source. Port 0 if there is
// none (or the port is not allocated yet: -1).
struct DomainConsole {
  std::string host;
  int port = 0;
};
DomainConsole ConsoleOf(std::string_view xml, std::string_view kind);

// A port of `range` ("first:last") nothing listens on at 127.0.0.1 now, tried
// from a place the instance's id picks (so guests started together rarely
// race for one); 0 if the range is empty, malformed or full. A guest's TCP
// serial console ([serial_console] port_range).
int FreeSerialPort(const std::string& range, const InstanceId& id);

}  // namespace chronova
