// LibvirtHypervisor: domain XML generation and the libvirt C API calls, each
// failure turned into a Status at this boundary.
#include "agents/compute/libvirt_hypervisor.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string_view>
#include <thread>
#include <utility>

namespace chronova {
namespace {

constexpr std::string_view kDomainPrefix = "instance-";
constexpr const char* kMetadataNamespace = "http://chronova.dev/xmlns/1";

// Installed as libvirt's default error handler: without it libvirt prints every
// error to stderr, including the expected ones (a lookup that finds nothing).
void IgnoreLibvirtError(void* /*user_data*/, virErrorPtr /*error*/) {}

// The calling thread's last libvirt error as a Status ("libvirt: <what>: ...").
// libvirt keeps the last error per thread, so this is safe under concurrency.
Status LastError(std::string_view what) {
  const virErrorPtr err = virGetLastError();
  const int code = err != nullptr ? err->code : VIR_ERR_INTERNAL_ERROR;
  std::string msg = "libvirt: " + std::string(what) + ": " + virGetLastErrorMessage();
  switch (code) {
    case VIR_ERR_NO_DOMAIN:
      return Status::NotFound(std::move(msg));
    // The connection to the daemon broke or timed out: retrying may help.
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_RPC:
    case VIR_ERR_OPERATION_TIMEOUT:
      return Status::Unavailable(std::move(msg));
    default:
      return Status::Internal(std::move(msg));
  }
}

struct DomainFree {
  void operator()(virDomainPtr d) const { virDomainFree(d); }
};
using DomainHandle = std::unique_ptr<virDomain, DomainFree>;

PowerState ToPowerState(int state) {
  switch (state) {
    case VIR_DOMAIN_RUNNING:
      return PowerState::kRunning;
    case VIR_DOMAIN_PAUSED:
      return PowerState::kPaused;
    case VIR_DOMAIN_SHUTDOWN:
    case VIR_DOMAIN_SHUTOFF:
      return PowerState::kShutdown;
    case VIR_DOMAIN_CRASHED:
      return PowerState::kCrashed;
    case VIR_DOMAIN_PMSUSPENDED:
      return PowerState::kSuspended;
    default:
      return PowerState::kNoState;
  }
}

Result<GuestInfo> GuestOf(virDomainPtr dom, const InstanceId& id) {
  GuestInfo info;
  info.instance_id = id;
  info.domain_name = DomainName(id);
  int state = VIR_DOMAIN_NOSTATE;
  int reason = 0;
  if (virDomainGetState(dom, &state, &reason, 0) < 0) {
    return LastError("get state of domain " + info.domain_name);
  }
  info.power_state = ToPowerState(state);
  return info;
}

// Decodes one UTF-8 sequence at text[*i] into *cp and advances *i; false (and
// *i advanced by one byte) if it is malformed, overlong or a surrogate.
bool DecodeUtf8(std::string_view text, size_t* i, char32_t* cp) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(*i);
  size_t len = 0;
  char32_t min = 0;
  if (b0 < 0x80) {
    *cp = b0;
    ++*i;
    return true;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, min = 0x80, *cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, min = 0x800, *cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, *cp = b0 & 0x07;
  } else {
    ++*i;
    return false;
  }
  if (*i + len > text.size()) {
    ++*i;
    return false;
  }
  for (size_t k = 1; k < len; ++k) {
    if ((byte(*i + k) & 0xC0) != 0x80) {
      ++*i;
      return false;
    }
    *cp = (*cp << 6) | (byte(*i + k) & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) {
    ++*i;
    return false;
  }
  *i += len;
  return true;
}

// XML 1.0's Char production: what libxml2 accepts in a document.
bool IsXmlChar(char32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

// Escapes `text` for XML character data and (single- or double-quoted)
// attribute values. Bytes that cannot appear in an XML document at all (control
// characters, invalid UTF-8) become '?', so an odd server name can never stop a
// guest from being defined.
std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    char32_t cp = 0;
    if (!DecodeUtf8(text, &i, &cp) || !IsXmlChar(cp)) {
      out += '?';
      continue;
    }
    switch (cp) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.append(text.substr(start, i - start));
    }
  }
  return out;
}

// Writes `content` to `path` through a temporary file and a rename, so a reader
// never sees half a file.
Status WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) return Status::Internal("write " + tmp + ": failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::Internal("rename " + tmp + " to " + path + ": " + ec.message());
  return Status::Ok();
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

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("read " + path + ": cannot open");
  std::string content((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
  if (in.bad()) return Status::Internal("read " + path + ": failed");
  return content;
}

}  // namespace

bool IsTestDriverUri(std::string_view uri) {
  const std::string_view scheme = uri.substr(0, uri.find(':'));
  return scheme == "test" || scheme.starts_with("test+");
}

// Serializes Spawn/Destroy per instance: without it two Spawns of one instance
// could both miss the lookup and race to define and start the same domain.
class LibvirtHypervisor::InstanceLock {
 public:
  InstanceLock(LibvirtHypervisor* h, InstanceId id) : h_(h), id_(std::move(id)) {
    std::unique_lock<std::mutex> lock(h_->mu_);
    h_->busy_cv_.wait(lock, [this] { return !h_->busy_.contains(id_); });
    h_->busy_.insert(id_);
  }
  ~InstanceLock() {
    {
      std::lock_guard<std::mutex> lock(h_->mu_);
      h_->busy_.erase(id_);
    }
    h_->busy_cv_.notify_all();
  }
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

 private:
  LibvirtHypervisor* const h_;
  const InstanceId id_;
};

Result<std::unique_ptr<LibvirtHypervisor>> LibvirtHypervisor::Open(
    const LibvirtOptions& options) {
  if (options.virt_type != "kvm" && options.virt_type != "qemu") {
    return Status::InvalidArgument(
        "libvirt: virt_type must be \"kvm\" or \"qemu\", not \"" + options.virt_type +
        "\"");
  }
  // Idempotent and thread-safe; required before libvirt is used from threads.
  if (virInitialize() < 0) return LastError("initialize");
  virSetErrorFunc(nullptr, IgnoreLibvirtError);
  virConnectPtr conn = virConnectOpen(options.uri.c_str());
  if (conn == nullptr) {
    return Status::Unavailable("libvirt: connect to " + options.uri + ": " +
                               virGetLastErrorMessage());
  }
  return std::unique_ptr<LibvirtHypervisor>(new LibvirtHypervisor(options, conn));
}

LibvirtHypervisor::LibvirtHypervisor(const LibvirtOptions& options, virConnectPtr conn)
    : options_(options), test_driver_(IsTestDriverUri(options.uri)), conn_(conn) {}

LibvirtHypervisor::~LibvirtHypervisor() { virConnectClose(conn_); }

Result<HostCapacity> LibvirtHypervisor::Capacity() {
  virNodeInfo node;
  if (virNodeGetInfo(conn_, &node) < 0) return LastError("get node info");
  constexpr uint64_t kMax = std::numeric_limits<int32_t>::max();
  HostCapacity cap;
  cap.vcpus = static_cast<int32_t>(std::min<uint64_t>(node.cpus, kMax));
  cap.memory_mb = static_cast<int32_t>(std::min<uint64_t>(node.memory / 1024, kMax));
  cap.disk_gb = options_.disk_gb;
  cap.hypervisor_type = test_driver_ ? "test" : "QEMU";
  return cap;
}

std::string LibvirtHypervisor::DomainXml(const GuestSpec& spec) const {
  return BuildXml(spec, Boot::kNormal);
}

std::string LibvirtHypervisor::RescueDomainXml(const GuestSpec& spec) const {
  return BuildXml(spec, Boot::kRescue);
}

std::string LibvirtHypervisor::BuildXml(const GuestSpec& spec, Boot boot) const {
  const std::string type = test_driver_ ? "test" : options_.virt_type;
  const uint64_t memory_kib =
      static_cast<uint64_t>(std::max(spec.flavor.memory_mb, 0)) * 1024;
  const FlavorSpec& f = spec.flavor;
  std::string x;
  x += "<domain type='" + type + "'>\n";
  x += "  <name>" + XmlEscape(DomainName(spec.instance_id)) + "</name>\n";
  x += "  <uuid>" + XmlEscape(spec.instance_id.str()) + "</uuid>\n";
  x += "  <metadata>\n";
  x += "    <chronova:instance xmlns:chronova='" + std::string(kMetadataNamespace) +
       "'>\n";
  x += "      <chronova:name>" + XmlEscape(spec.name) + "</chronova:name>\n";
  x += "      <chronova:flavor id='" + XmlEscape(f.id.str()) + "' name='" +
       XmlEscape(f.name) + "' vcpus='" + std::to_string(f.vcpus) + "' memory_mb='" +
       std::to_string(f.memory_mb) + "' root_gb='" + std::to_string(f.root_gb) + "'/>\n";
  x += "      <chronova:image id='" + XmlEscape(spec.image_id.str()) + "'/>\n";
  x += "    </chronova:instance>\n";
  x += "  </metadata>\n";
  x += "  <memory unit='KiB'>" + std::to_string(memory_kib) + "</memory>\n";
  x += "  <vcpu>" + std::to_string(f.vcpus) + "</vcpu>\n";
  x += "  <os>\n";
  x += "    <type arch='x86_64'>hvm</type>\n";
  x += "    <boot dev='hd'/>\n";
  x += "  </os>\n";
  // ACPI so that a graceful shutdown (virDomainShutdown) reaches the guest.
  x += "  <features><acpi/><apic/></features>\n";
  x += "  <clock offset='utc'/>\n";
  x += "  <on_poweroff>destroy</on_poweroff>\n";
  x += "  <on_reboot>restart</on_reboot>\n";
  x += "  <on_crash>destroy</on_crash>\n";
  x += "  <devices>\n";
  if (!spec.disk_path.empty()) {
    const std::string bus = RootDiskBus(spec.disk_bus);
    // A rescue guest boots from the rescue disk; its own disk comes second.
    std::vector<std::string> disks{spec.disk_path};
    if (boot == Boot::kRescue && !spec.rescue_disk_path.empty()) {
      disks.insert(disks.begin(), spec.rescue_disk_path);
    }
    for (size_t i = 0; i < disks.size(); ++i) {
      x += "    <disk type='file' device='disk'>\n";
      x += "      <driver name='qemu' type='qcow2'/>\n";
      x += "      <source file='" + XmlEscape(disks[i]) + "'/>\n";
      x += "      <target dev='" + DiskDevice(bus, static_cast<int>(i)) + "' bus='" +
           bus + "'/>\n";
      x += "    </disk>\n";
    }
    if (bus == "scsi") x += "    <controller type='scsi' model='virtio-scsi'/>\n";
  }
  if (!spec.instance_dir.empty()) {
    // append='on': QEMU truncates a file serial at every start otherwise.
    x += "    <serial type='file'>\n";
    x += "      <source path='" + XmlEscape(spec.instance_dir + "/console.log") +
         "' append='on'/>\n";
    x += "      <target port='0'/>\n";
    x += "    </serial>\n";
  }
  x += "    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>\n";
  x += "  </devices>\n";
  if (!test_driver_) {
    // QEMU runs as root for this domain and libvirt relabels nothing, so the
    // guest's files may live under any state dir (a home directory that
    // libvirt-qemu cannot traverse included).
    x += "  <seclabel type='static' model='dac' relabel='no'>\n";
    x += "    <label>+0:+0</label>\n";
    x += "  </seclabel>\n";
  }
  x += "</domain>\n";
  return x;
}

Result<GuestInfo> LibvirtHypervisor::Spawn(const GuestSpec& spec) {
  const std::string name = DomainName(spec.instance_id);
  if (spec.instance_id.empty()) {
    return Status::InvalidArgument("libvirt: spawn: empty instance id");
  }
  if (spec.flavor.vcpus <= 0 || spec.flavor.memory_mb <= 0) {
    return Status::InvalidArgument("libvirt: spawn " + name + ": flavor '" +
                                   spec.flavor.name + "' needs vcpus and memory_mb > 0");
  }
  InstanceLock lock(this, spec.instance_id);

  DomainHandle dom(virDomainLookupByName(conn_, name.c_str()));
  if (dom == nullptr) {
    Status st = LastError("look up domain " + name);
    if (!st.IsNotFound()) return st;
    const std::string xml = DomainXml(spec);
    if (!spec.instance_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(spec.instance_dir, ec);
      if (ec) {
        return Status::Internal("libvirt: spawn " + name + ": create " +
                                spec.instance_dir + ": " + ec.message());
      }
      CHRONOVA_RETURN_IF_ERROR(
          WriteFileAtomically(spec.instance_dir + "/libvirt.xml", xml)
              .WithContext("libvirt: spawn " + name));
    }
    dom.reset(virDomainDefineXML(conn_, xml.c_str()));
    if (dom == nullptr) return LastError("define domain " + name);
  }
  const int active = virDomainIsActive(dom.get());
  if (active < 0) return LastError("check domain " + name);
  if (active == 0 && virDomainCreate(dom.get()) < 0)
    return LastError("start domain " + name);
  return GuestOf(dom.get(), spec.instance_id);
}

Status LibvirtHypervisor::Destroy(const InstanceId& id) {
  const std::string name = DomainName(id);
  InstanceLock lock(this, id);
  // A domain that vanishes at any step (NotFound) has been destroyed: OK.
  const auto gone_is_ok = [](const Status& st) {
    return st.IsNotFound() ? Status::Ok() : st;
  };

  DomainHandle dom(virDomainLookupByName(conn_, name.c_str()));
  if (dom == nullptr) return gone_is_ok(LastError("look up domain " + name));
  const int active = virDomainIsActive(dom.get());
  if (active < 0) return gone_is_ok(LastError("check domain " + name));
  if (active == 1 && virDomainDestroy(dom.get()) < 0) {
    Status st = LastError("destroy domain " + name);
    if (st.IsNotFound()) return Status::Ok();  // a transient domain, now gone
    // It may have stopped on its own meanwhile; only a still-running guest fails.
    if (virDomainIsActive(dom.get()) != 0) return st;
  }
  if (virDomainUndefineFlags(
          dom.get(), VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_NVRAM) == 0) {
    return Status::Ok();
  }
  if (LastError("undefine domain " + name).IsNotFound()) return Status::Ok();
  // Drivers that reject a flag (the test driver has no NVRAM) take the plain call.
  if (virDomainUndefine(dom.get()) == 0) return Status::Ok();
  return gone_is_ok(LastError("undefine domain " + name));
}

Result<GuestInfo> LibvirtHypervisor::Perform(const InstanceId& id, LifecycleAction action,
                                             bool hard) {
  const std::string name = DomainName(id);
  InstanceLock lock(this, id);
  DomainHandle dom(virDomainLookupByName(conn_, name.c_str()));
  if (dom == nullptr) return LastError("look up domain " + name);
  int state = VIR_DOMAIN_NOSTATE;
  int reason = 0;
  if (virDomainGetState(dom.get(), &state, &reason, 0) < 0) {
    return LastError("get state of domain " + name);
  }
  const bool running = state == VIR_DOMAIN_RUNNING;
  const bool paused = state == VIR_DOMAIN_PAUSED;
  const bool off = state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_SHUTDOWN ||
                   state == VIR_DOMAIN_CRASHED;
  const auto call = [&](int rc, const char* what) -> Status {
    return rc < 0 ? LastError(std::string(what) + " domain " + name) : Status::Ok();
  };
  Status st;
  switch (action) {
    case LifecycleAction::kStop:
      if (off) break;
      if (virDomainShutdown(dom.get()) == 0) {
        for (int waited_ms = 0; waited_ms < options_.clean_shutdown_timeout_s * 1000;
             waited_ms += 200) {
          if (virDomainIsActive(dom.get()) == 0) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
      }
      if (virDomainIsActive(dom.get()) == 1)
        st = call(virDomainDestroy(dom.get()), "destroy");
      break;
    case LifecycleAction::kStart:
    case LifecycleAction::kResume:
      if (off) st = call(virDomainCreate(dom.get()), "start");
      if (st.ok() && paused) st = call(virDomainResume(dom.get()), "resume");
      break;
    case LifecycleAction::kReboot:
      if (!hard && running && virDomainReboot(dom.get(), 0) == 0) break;
      // Hard (or a soft reboot the guest refused): power-cycle the domain.
      if (!off) st = call(virDomainDestroy(dom.get()), "destroy");
      if (st.ok()) st = call(virDomainCreate(dom.get()), "start");
      break;
    case LifecycleAction::kPause:
      if (running) st = call(virDomainSuspend(dom.get()), "pause");
      break;
    case LifecycleAction::kUnpause:
      if (paused) st = call(virDomainResume(dom.get()), "unpause");
      break;
    case LifecycleAction::kSuspend:
      if (!off) st = call(virDomainManagedSave(dom.get(), 0), "save");
      break;
    case LifecycleAction::kRescue:
    case LifecycleAction::kUnrescue:
      // They need the guest's disks: Rescue and Unrescue.
      st =
          Status::InvalidArgument("libvirt: " + std::string(LifecycleActionName(action)) +
                                  " domain " + name + ": needs the guest spec");
      break;
  }
  if (!st.ok()) return st;
  return GuestOf(dom.get(), id);
}

Result<GuestInfo> LibvirtHypervisor::Redefine(virDomainPtr dom, const InstanceId& id,
                                              const std::string& xml) {
  const std::string name = DomainName(id);
  const int active = virDomainIsActive(dom);
  if (active < 0) return LastError("check domain " + name);
  if (active == 1 && virDomainDestroy(dom) < 0)
    return LastError("destroy domain " + name);
  // Same name and uuid: the definition is replaced in place.
  DomainHandle defined(virDomainDefineXML(conn_, xml.c_str()));
  if (defined == nullptr) return LastError("define domain " + name);
  if (virDomainCreate(defined.get()) < 0) return LastError("start domain " + name);
  return GuestOf(defined.get(), id);
}

Result<GuestInfo> LibvirtHypervisor::Rescue(const GuestSpec& spec) {
  const std::string name = DomainName(spec.instance_id);
  InstanceLock lock(this, spec.instance_id);
  DomainHandle dom(virDomainLookupByName(conn_, name.c_str()));
  if (dom == nullptr) return LastError("look up domain " + name);
  const auto context = [&](const Status& st) {
    return st.WithContext("libvirt: rescue " + name);
  };
  if (!spec.instance_dir.empty()) {
    const std::string saved = spec.instance_dir + "/unrescue.xml";
    std::error_code ec;
    if (std::filesystem::exists(saved, ec)) {
      // Rescued already (a re-sent work item): make sure the rescue guest runs.
      const int active = virDomainIsActive(dom.get());
      if (active < 0) return LastError("check domain " + name);
      if (active == 0 && virDomainCreate(dom.get()) < 0)
        return LastError("start domain " + name);
      return GuestOf(dom.get(), spec.instance_id);
    }
    char* xml = virDomainGetXMLDesc(dom.get(), VIR_DOMAIN_XML_INACTIVE);
    if (xml == nullptr) return LastError("get XML of domain " + name);
    const std::string original(xml);
    free(xml);  // NOLINT: allocated by libvirt with malloc
    CHRONOVA_RETURN_IF_ERROR(context(WriteFileAtomically(saved, original)));
  }
  return Redefine(dom.get(), spec.instance_id, RescueDomainXml(spec));
}

Result<GuestInfo> LibvirtHypervisor::Unrescue(const GuestSpec& spec) {
  const std::string name = DomainName(spec.instance_id);
  InstanceLock lock(this, spec.instance_id);
  DomainHandle dom(virDomainLookupByName(conn_, name.c_str()));
  if (dom == nullptr) return LastError("look up domain " + name);
  const auto context = [&](const Status& st) {
    return st.WithContext("libvirt: unrescue " + name);
  };
  std::string xml;
  std::string saved;
  if (!spec.instance_dir.empty()) {
    saved = spec.instance_dir + "/unrescue.xml";
    Result<std::string> content = ReadWholeFile(saved);
    if (content.ok()) {
      xml = std::move(content).value();
    } else if (!content.status().IsNotFound()) {
      return context(content.status());
    } else if (virDomainIsActive(dom.get()) == 1) {
      // No saved definition and a running guest: unrescued already.
      return GuestOf(dom.get(), spec.instance_id);
    } else if (Result<std::string> ours =
                   ReadWholeFile(spec.instance_dir + "/libvirt.xml");
               ours.ok()) {
      xml = std::move(ours).value();
    }
  }
  if (xml.empty()) xml = DomainXml(spec);
  Result<GuestInfo> guest = Redefine(dom.get(), spec.instance_id, xml);
  if (!guest.ok()) return guest;
  std::error_code ec;
  for (const std::string& path : {saved, spec.rescue_disk_path}) {
    if (path.empty()) continue;
    std::filesystem::remove(path, ec);
    if (ec) return context(Status::Internal("remove " + path + ": " + ec.message()));
  }
  return guest;
}

Result<std::string> LibvirtHypervisor::DefinedXml(const InstanceId& id) {
  const std::string name = DomainName(id);
  DomainHandle dom(virDomainLookupByName(conn_, name.c_str()));
  if (dom == nullptr) return LastError("look up domain " + name);
  char* xml = virDomainGetXMLDesc(dom.get(), VIR_DOMAIN_XML_INACTIVE);
  if (xml == nullptr) return LastError("get XML of domain " + name);
  std::string out(xml);
  free(xml);  // NOLINT: allocated by libvirt with malloc
  return out;
}

Result<GuestInfo> LibvirtHypervisor::Inspect(const InstanceId& id) {
  const std::string name = DomainName(id);
  DomainHandle dom(virDomainLookupByName(conn_, name.c_str()));
  if (dom == nullptr) return LastError("look up domain " + name);
  return GuestOf(dom.get(), id);
}

Result<std::vector<GuestInfo>> LibvirtHypervisor::List() {
  virDomainPtr* doms = nullptr;
  const int n = virConnectListAllDomains(conn_, &doms, 0);
  if (n < 0) return LastError("list domains");
  std::vector<DomainHandle> handles;
  handles.reserve(n);
  for (int i = 0; i < n; ++i) handles.emplace_back(doms[i]);
  free(doms);  // NOLINT: allocated by libvirt with malloc

  std::vector<GuestInfo> guests;
  for (const DomainHandle& dom : handles) {
    const char* raw_name = virDomainGetName(dom.get());
    if (raw_name == nullptr) continue;
    const std::string_view name(raw_name);
    if (!name.starts_with(kDomainPrefix) || name.size() == kDomainPrefix.size()) continue;
    const InstanceId id(std::string(name.substr(kDomainPrefix.size())));
    Result<GuestInfo> info = GuestOf(dom.get(), id);
    if (!info.ok()) {
      if (info.status().IsNotFound()) continue;  // undefined since the listing
      return info.status();
    }
    guests.push_back(std::move(info).value());
  }
  return guests;
}

}  // namespace chronova
