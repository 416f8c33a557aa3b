#include "agents/compute/domain_xml.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <utility>
#include <vector>

#include "core/utf8.h"

namespace chronova {
namespace {}  // namespace

// Undoes XML's five predefined entities (libvirt writes paths with them).
std::string XmlUnescape(std::string_view text) {
  static const std::pair<std::string_view, char> kEntities[] = {
      {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&apos;", '\''}, {"&quot;", '"'}};
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    bool replaced = false;
    if (text[i] == '&') {
      for (const auto& [entity, c] : kEntities) {
        if (text.substr(i, entity.size()) == entity) {
          out += c;
          i += entity.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

// The image's hw_disk_bus when QEMU can boot from it, else virtio.
std::string RootDiskBus(const std::string& bus) {
  for (const char* b : {"virtio", "scsi", "sata", "ide", "usb"}) {
    if (bus == b) return bus;
  }
  return "virtio";
}

// The target device name of the `index`th disk (0: the root) on `bus`, as
// Nova's blockinfo names them: vda, vdb ... / hda ... / sda ...
std::string DiskDevice(const std::string& bus, int index) {
  const std::string prefix = bus == "virtio" ? "vd" : bus == "ide" ? "hd" : "sd";
  return prefix + static_cast<char>('a' + index);
}

// The file of the first <disk ... device='disk'> in a domain XML, or "" if the
// domain has none (libvirt writes attributes in single quotes).
std::string RootDiskPath(std::string_view xml) {
  size_t at = 0;
  while ((at = xml.find("<disk ", at)) != std::string_view::npos) {
    const size_t tag_end = xml.find('>', at);
    const size_t end = xml.find("</disk>", at);
    if (tag_end == std::string_view::npos || end == std::string_view::npos) break;
    const std::string_view tag = xml.substr(at, tag_end - at);
    const std::string_view body = xml.substr(at, end - at);
    at = end;
    if (tag.find("device='disk'") == std::string_view::npos &&
        tag.find("device=\"disk\"") == std::string_view::npos) {
      continue;
    }
    for (const char* attr : {"file='", "file=\""}) {
      const size_t src = body.find("<source ");
      if (src == std::string_view::npos) break;
      const size_t f = body.find(attr, src);
      if (f == std::string_view::npos) continue;
      const size_t begin = f + std::strlen(attr);
      const size_t close = body.find(attr[std::strlen(attr) - 1], begin);
      if (close == std::string_view::npos) continue;
      return XmlUnescape(body.substr(begin, close - begin));
    }
  }
  return "";
}

// The path of the first <serial type='file'> in a domain's XML, or "".
std::string SerialLogPath(std::string_view xml) {
  // A file serial's source, or the log of a TCP serial (a serial console).
  for (const auto& [open, tag] : {std::pair<std::string_view, std::string_view>{
                                      "<serial type='file'", "<source path='"},
                                  {"<serial type='tcp'", "<log file='"}}) {
    size_t serial = xml.find(open);
    if (serial == std::string_view::npos) continue;
    const size_t end = xml.find("</serial>", serial);
    size_t src = xml.find(tag, serial);
    if (src == std::string_view::npos || src > end) continue;
    src += tag.size();
    const size_t close = xml.find('\'', src);
    if (close == std::string_view::npos) return "";
    return XmlUnescape(xml.substr(src, close - src));
  }
  return "";
}

namespace {

// The value of attribute `name` in the tag starting at `tag` (up to its '>').
std::string AttrOf(std::string_view xml, size_t tag, std::string_view name) {
  const size_t end = xml.find('>', tag);
  for (const char quote : {'\'', '"'}) {
    const std::string key = " " + std::string(name) + "=" + quote;
    size_t at = xml.find(key, tag);
    if (at == std::string_view::npos || at > end) continue;
    at += key.size();
    const size_t close = xml.find(quote, at);
    if (close == std::string_view::npos || close > end) return "";
    return XmlUnescape(xml.substr(at, close - at));
  }
  return "";
}

// The first tag "<name" whose attribute type is `type`, or npos.
size_t FindTyped(std::string_view xml, std::string_view name, std::string_view type) {
  for (size_t at = xml.find(name); at != std::string_view::npos;
       at = xml.find(name, at + 1)) {
    if (AttrOf(xml, at, "type") == type) return at;
  }
  return std::string_view::npos;
}

// Each element "<name ...>...</name>" of `xml`, as a view of its whole text.
std::vector<std::string_view> Elements(std::string_view xml, std::string_view name) {
  std::vector<std::string_view> out;
  const std::string open = "<" + std::string(name);
  const std::string close = "</" + std::string(name) + ">";
  size_t at = 0;
  while ((at = xml.find(open, at)) != std::string_view::npos) {
    const char next = at + open.size() < xml.size() ? xml[at + open.size()] : '\0';
    if (next != ' ' && next != '>') {
      at += open.size();
      continue;
    }
    size_t end = xml.find(close, at);
    if (end == std::string_view::npos) break;
    end += close.size();
    out.push_back(xml.substr(at, end - at));
    at = end;
  }
  return out;
}

}  // namespace

DomainDevices DevicesOf(std::string_view xml) {
  DomainDevices out;
  for (std::string_view disk : Elements(xml, "disk")) {
    const size_t target = disk.find("<target ");
    if (target == std::string_view::npos) continue;
    std::string dev = AttrOf(disk, target, "dev");
    if (!dev.empty()) out.disks.push_back(std::move(dev));
  }
  for (std::string_view nic : Elements(xml, "interface")) {
    DomainDevices::Nic n;
    if (const size_t mac = nic.find("<mac "); mac != std::string_view::npos) {
      n.mac_address = AttrOf(nic, mac, "address");
    }
    if (const size_t target = nic.find("<target "); target != std::string_view::npos) {
      n.device = AttrOf(nic, target, "dev");
    }
    out.nics.push_back(std::move(n));
  }
  return out;
}

namespace {

int PortOf(const std::string& text) {
  if (text.empty() || text.size() > 5 ||
      text.find_first_not_of("0123456789") != std::string::npos)
    return 0;
  const int port = std::stoi(text);
  return port > 0 && port < 65536 ? port : 0;
}

}  // namespace

DomainConsole ConsoleOf(std::string_view xml, std::string_view kind) {
  DomainConsole c;
  if (kind == "vnc" || kind == "spice") {
    const size_t g = FindTyped(xml, "<graphics ", kind);
    if (g == std::string_view::npos) return c;
    c.port = PortOf(AttrOf(xml, g, "port"));
    c.host = AttrOf(xml, g, "listen");
  } else if (kind == "serial") {
    const size_t serial = FindTyped(xml, "<serial ", "tcp");
    if (serial == std::string_view::npos) return c;
    const size_t source = xml.find("<source ", serial);
    const size_t end = xml.find("</serial>", serial);
    if (source == std::string_view::npos || source > end) return c;
    c.port = PortOf(AttrOf(xml, source, "service"));
    c.host = AttrOf(xml, source, "host");
  }
  if (c.host.empty() || c.host == "0.0.0.0") c.host = "127.0.0.1";
  return c;
}

int FreeSerialPort(const std::string& range, const InstanceId& id) {
  const size_t colon = range.find(':');
  if (range.empty() || colon == std::string::npos) return 0;
  const int first = std::atoi(range.c_str());
  const int last = std::atoi(range.c_str() + colon + 1);
  if (first <= 0 || last < first || last > 65535) return 0;
  const int count = last - first + 1;
  const int start = static_cast<int>(std::hash<std::string>()(id.str()) % count);
  for (int i = 0; i < count; ++i) {
    const int port = first + (start + i) % count;
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (free) return port;
  }
  return 0;
}

}  // namespace chronova
