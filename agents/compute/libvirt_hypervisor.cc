// LibvirtHypervisor: domain XML generation and the libvirt C API calls, each
// failure turned into a Status at this boundary.

#include "agents/compute/libvirt_hypervisor.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string_view>
#include <thread>
#include <utility>

#include "agents/compute/domain_xml.h"
#include "agents/compute/subprocess.h"
#include "core/env.h"

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

// The domain's XML; with VIR_DOMAIN_XML_INACTIVE, its persistent definition.
Result<std::string> XmlDescOf(virDomainPtr dom, unsigned int flags,
                              const std::string& name) {
  char* xml = virDomainGetXMLDesc(dom, flags);
  if (xml == nullptr) return LastError("get XML of domain " + name);
  std::string out(xml);
  free(xml);  // NOLINT: allocated by libvirt with malloc
  return out;
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

}  // namespace

PowerState LibvirtPowerState(int state) { return ToPowerState(state); }

namespace {

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

// ---- the process's libvirt event loop ---------------------------------------
//
// libvirt delivers domain events only through a registered event loop, which
// is process-wide: virEventRegisterDefaultImpl() once, before a connection
// opens, and one thread running virEventRunDefaultImpl(). The thread runs
// while any LibvirtHypervisor lives; a timer (disabled until then) wakes the
// loop so that the thread sees it should stop.

std::mutex loop_mu;  // protects the loop_* state below
bool loop_registered = false;
int loop_users = 0;
int loop_timer = -1;
std::atomic<bool> loop_stop{false};
std::thread loop_thread;

void WakeLoop(int /*timer*/, void* /*opaque*/) {}

Status AcquireEventLoop() {
  std::lock_guard<std::mutex> l(loop_mu);
  if (!loop_registered) {
    if (virEventRegisterDefaultImpl() < 0) return LastError("register event loop");
    loop_registered = true;
  }
  if (loop_users++ > 0) return Status::Ok();
  loop_timer = virEventAddTimeout(-1, WakeLoop, nullptr, nullptr);
  if (loop_timer < 0) {
    --loop_users;
    return LastError("add event loop timer");
  }
  loop_stop = false;
  loop_thread = std::thread([] {
    while (!loop_stop.load()) {
      if (virEventRunDefaultImpl() < 0) {
        Env::Default()->Warn({.role = "libvirt"},
                             std::string("event loop: ") + virGetLastErrorMessage());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  });
  return Status::Ok();
}

void ReleaseEventLoop() {
  std::lock_guard<std::mutex> l(loop_mu);
  if (--loop_users > 0) return;
  loop_stop = true;
  virEventUpdateTimeout(loop_timer, 0);  // fires at once: the loop returns
  loop_thread.join();
  virEventRemoveTimeout(loop_timer);
  loop_timer = -1;
}

// The power state a lifecycle event leaves the guest in, as Nova's libvirt
// host.py maps them; false for events that say nothing about it (defined,
// undefined, a shutdown still in progress).
bool PowerStateOfEvent(int event, int detail, PowerState* out) {
  switch (event) {
    case VIR_DOMAIN_EVENT_STARTED:
    case VIR_DOMAIN_EVENT_RESUMED:
      *out = PowerState::kRunning;
      return true;
    case VIR_DOMAIN_EVENT_SUSPENDED:
      *out = PowerState::kPaused;
      return true;
    case VIR_DOMAIN_EVENT_STOPPED:
      *out = detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED ? PowerState::kCrashed
                                                        : PowerState::kShutdown;
      return true;
    case VIR_DOMAIN_EVENT_CRASHED:
      *out = PowerState::kCrashed;
      return true;
    case VIR_DOMAIN_EVENT_PMSUSPENDED:
      *out = PowerState::kSuspended;
      return true;
    default:
      return false;
  }
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

// libvirt's lifecycle callback, on the event-loop thread.
struct LifecycleEvents {
  static int OnEvent(virConnectPtr /*conn*/, virDomainPtr dom, int event, int detail,
                     void* opaque) {
    auto* h = static_cast<LibvirtHypervisor*>(opaque);
    PowerState state;
    if (!PowerStateOfEvent(event, detail, &state)) return 0;
    const char* raw_name = virDomainGetName(dom);
    if (raw_name == nullptr) return 0;
    const std::string_view name(raw_name);
    if (!name.starts_with(kDomainPrefix) || name.size() == kDomainPrefix.size()) return 0;
    const InstanceId id(std::string(name.substr(kDomainPrefix.size())));
    std::lock_guard<std::mutex> l(h->observer_mu_);
    if (h->observer_) h->observer_(id, state);
    return 0;
  }
};
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
  // The event loop must exist before the connection opens.
  CHRONOVA_RETURN_IF_ERROR(AcquireEventLoop());
  virConnectPtr conn = virConnectOpen(options.uri.c_str());
  if (conn == nullptr) {
    Status st = Status::Unavailable("libvirt: connect to " + options.uri + ": " +
                                    virGetLastErrorMessage());
    ReleaseEventLoop();
    return st;
  }
  // From here the destructor closes the connection and releases the loop.
  std::unique_ptr<LibvirtHypervisor> h(new LibvirtHypervisor(options, conn));
  h->lifecycle_callback_ = virConnectDomainEventRegisterAny(
      conn, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
      VIR_DOMAIN_EVENT_CALLBACK(&LifecycleEvents::OnEvent), h.get(), nullptr);
  if (h->lifecycle_callback_ < 0) return LastError("register lifecycle events");
  return h;
}

LibvirtHypervisor::LibvirtHypervisor(const LibvirtOptions& options, virConnectPtr conn)
    : options_(options), test_driver_(IsTestDriverUri(options.uri)), conn_(conn) {}

LibvirtHypervisor::~LibvirtHypervisor() {
  SetGuestObserver(nullptr);
  if (lifecycle_callback_ >= 0)
    virConnectDomainEventDeregisterAny(conn_, lifecycle_callback_);
  virConnectClose(conn_);
  ReleaseEventLoop();
}

void LibvirtHypervisor::SetGuestObserver(GuestObserver observer) {
  std::lock_guard<std::mutex> l(observer_mu_);
  observer_ = std::move(observer);
}

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
  const int serial_port =
      test_driver_ || spec.instance_dir.empty()
          ? 0
          : FreeSerialPort(options_.serial_port_range, spec.instance_id);
  if (serial_port > 0) {
    // The serial console a proxy relays ([serial_console] enabled), still
    // logged for os-getConsoleOutput.
    x += "    <serial type='tcp'>\n";
    x += "      <source mode='bind' host='127.0.0.1' service='" +
         std::to_string(serial_port) + "'/>\n";
    x += "      <protocol type='raw'/>\n";
    x += "      <log file='" + XmlEscape(spec.instance_dir + "/console.log") +
         "' append='on'/>\n";
    x += "      <target port='0'/>\n";
    x += "    </serial>\n";
  } else if (!spec.instance_dir.empty()) {
    // append='on': QEMU truncates a file serial at every start otherwise.
    x += "    <serial type='file'>\n";
    x += "      <source path='" + XmlEscape(spec.instance_dir + "/console.log") +
         "' append='on'/>\n";
    x += "      <target port='0'/>\n";
    x += "    </serial>\n";
  }
  x += "    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>\n";
  if (options_.spice && !test_driver_) {
    x += "    <graphics type='spice' port='-1' autoport='yes' listen='127.0.0.1'/>\n";
  }
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
  CHRONOVA_ASSIGN_OR_RETURN(GuestInfo guest, GuestOf(dom.get(), spec.instance_id));
  if (test_driver_) {
    for (const char* kind : {"vnc", "spice", "serial"})
      guest.consoles[kind] = "on demand";
  } else if (Result<std::string> xml = XmlDescOf(dom.get(), 0, name); xml.ok()) {
    for (const char* kind : {"vnc", "spice", "serial"}) {
      DomainConsole c = ConsoleOf(*xml, kind);
      if (c.port != 0) guest.consoles[kind] = c.host + ":" + std::to_string(c.port);
    }
  }
  return guest;
}

Status LibvirtHypervisor::Destroy(const InstanceId& id) {
  const std::string name = DomainName(id);
  InstanceLock lock(this, id);
  if (test_driver_) fake_consoles_.Close(id);
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
  // Drivers that reject a flag (the test driver has no NVRAM) take fewer; the
  // managed save image (a suspended guest) must go with the domain, or libvirt
  // refuses to undefine it.
  Status st;
  const unsigned managed_save = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE;
  for (unsigned flags : {managed_save | VIR_DOMAIN_UNDEFINE_NVRAM, managed_save, 0u}) {
    if (virDomainUndefineFlags(dom.get(), flags) == 0) return Status::Ok();
    st = LastError("undefine domain " + name);
    if (st.IsNotFound()) return Status::Ok();
  }
  return st;
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
    CHRONOVA_ASSIGN_OR_RETURN(const std::string original,
                              XmlDescOf(dom.get(), VIR_DOMAIN_XML_INACTIVE, name));
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
  return XmlDescOf(dom.get(), VIR_DOMAIN_XML_INACTIVE, name);
}

Status LibvirtHypervisor::Snapshot(const GuestSpec& spec, const std::string& out_path) {
  const std::string name = DomainName(spec.instance_id);
  InstanceLock lock(this, spec.instance_id);
  DomainHandle dom(virDomainLookupByName(conn_, name.c_str()));
  if (dom == nullptr) return LastError("look up domain " + name);
  CHRONOVA_ASSIGN_OR_RETURN(const std::string xml, XmlDescOf(dom.get(), 0, name));
  const std::string disk = RootDiskPath(xml);
  const std::string context = "libvirt: snapshot " + name;
  if (disk.empty()) {
    const int gb = std::max(spec.flavor.root_gb, 1);
    return RunProgram({options_.qemu_img, "create", "-q", "-f", "qcow2", out_path,
                       std::to_string(gb) + "G"})
        .status()
        .WithContext(context);
  }
  int state = VIR_DOMAIN_NOSTATE;
  int reason = 0;
  if (virDomainGetState(dom.get(), &state, &reason, 0) < 0) {
    return LastError("get state of domain " + name);
  }
  // Nova pauses a live guest for a cold-consistent copy (its non-live snapshot).
  const bool pause = state == VIR_DOMAIN_RUNNING;
  if (pause && virDomainSuspend(dom.get()) < 0) return LastError("pause domain " + name);
  // -U: QEMU holds a lock on the disk while the domain exists (paused too).
  Status st =
      RunProgram({options_.qemu_img, "convert", "-U", "-O", "qcow2", disk, out_path})
          .status()
          .WithContext(context);
  if (pause && virDomainResume(dom.get()) < 0) {
    Status resumed = LastError("resume domain " + name);
    if (st.ok()) st = resumed;
  }
  return st;
}

namespace {

// The "virtual-size" of `qemu-img info --output=json`; -1 if absent.
int64_t VirtualSize(const std::string& info_json) {
  const std::string key = "\"virtual-size\":";
  size_t at = info_json.find(key);
  if (at == std::string::npos) return -1;
  return std::strtoll(info_json.c_str() + at + key.size(), nullptr, 10);
}

// The first line of a definition Resize kept: which resize kept it. Same-host
// resizes keep the old definition on the host, and nothing tells the host when
// one is confirmed, so the next resize finds it still there: the tag tells a
// re-sent resize (keep it) from a new one (keep the current definition instead).
constexpr std::string_view kKeptTagStart = "<!-- chronova: kept by resize ";

std::string KeptTag(Seq resize_request) {
  return std::string(kKeptTagStart) + std::to_string(resize_request.value()) + " -->\n";
}

// Where Resize keeps a guest's old definition: "" without an instance dir (then
// in memory).
std::string KeptPath(const GuestSpec& spec) {
  return spec.instance_dir.empty() ? "" : spec.instance_dir + "/libvirt.xml.resize";
}

// A kept definition without its tag (one kept before tags, as it is).
std::string Untagged(std::string kept) {
  if (kept.starts_with(kKeptTagStart)) {
    const size_t eol = kept.find('\n');
    kept.erase(0, eol == std::string::npos ? kept.size() : eol + 1);
  }
  return kept;
}

}  // namespace

Result<std::string> LibvirtHypervisor::KeptDefinition(const GuestSpec& spec) {
  const std::string path = KeptPath(spec);
  if (!path.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec) return std::string();
    return ReadWholeFile(path);
  }
  std::lock_guard<std::mutex> l(resize_mu_);
  auto it = old_xml_.find(spec.instance_id);
  return it == old_xml_.end() ? std::string() : it->second;
}

Status LibvirtHypervisor::KeepDefinition(const GuestSpec& spec, std::string xml) {
  const std::string path = KeptPath(spec);
  if (!path.empty()) return WriteFileAtomically(path, xml);
  std::lock_guard<std::mutex> l(resize_mu_);
  old_xml_[spec.instance_id] = std::move(xml);
  return Status::Ok();
}

void LibvirtHypervisor::DropKeptDefinition(const GuestSpec& spec) {
  if (const std::string path = KeptPath(spec); !path.empty()) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  std::lock_guard<std::mutex> l(resize_mu_);
  old_xml_.erase(spec.instance_id);
}

Result<GuestInfo> LibvirtHypervisor::Resize(const GuestSpec& spec, bool keep_stopped) {
  const std::string name = DomainName(spec.instance_id);
  const std::string context = "libvirt: resize " + name;
  if (spec.flavor.vcpus <= 0 || spec.flavor.memory_mb <= 0) {
    return Status::InvalidArgument(context + ": flavor '" + spec.flavor.name +
                                   "' needs vcpus and memory_mb > 0");
  }
  // Nova's migrate_disk_and_power_off: a clean shutdown first.
  CHRONOVA_RETURN_IF_ERROR(
      Perform(spec.instance_id, LifecycleAction::kStop, false).status());
  InstanceLock lock(this, spec.instance_id);
  DomainHandle dom(virDomainLookupByName(conn_, name.c_str()));
  if (dom == nullptr) return LastError("look up domain " + name);
  // A re-sent resize keeps the definition kept the first time; one another
  // request kept is an earlier resize's, confirmed since. One kept without a
  // tag, by an older chronova, is taken for this resize's (as it was then) and
  // tagged.
  const std::string tag = KeptTag(spec.resize_request);
  Result<std::string> read = KeptDefinition(spec);
  if (!read.ok()) return read.status().WithContext(context);
  std::string kept = *std::move(read);
  if (!kept.starts_with(tag)) {
    std::string old_xml;
    if (!kept.empty() && !kept.starts_with(kKeptTagStart)) {
      old_xml = tag + kept;
    } else {
      CHRONOVA_ASSIGN_OR_RETURN(old_xml,
                                XmlDescOf(dom.get(), VIR_DOMAIN_XML_INACTIVE, name));
      old_xml.insert(0, tag);
    }
    CHRONOVA_RETURN_IF_ERROR(
        KeepDefinition(spec, std::move(old_xml)).WithContext(context));
  }
  // The root disk grows to the new root_gb (qcow2 grows in place; never shrunk).
  if (!spec.disk_path.empty() && spec.flavor.root_gb > 0) {
    Result<std::string> info = RunProgram({options_.qemu_img, "info", "-U", "-f", "qcow2",
                                           "--output=json", spec.disk_path});
    if (!info.ok()) return info.status().WithContext(context);
    const int64_t wanted = int64_t{spec.flavor.root_gb} * 1024 * 1024 * 1024;
    if (VirtualSize(*info) < wanted) {
      CHRONOVA_RETURN_IF_ERROR(
          RunProgram({options_.qemu_img, "resize", "-q", "-f", "qcow2", spec.disk_path,
                      std::to_string(wanted)})
              .status()
              .WithContext(context));
    }
  }
  const std::string xml = DomainXml(spec);
  if (!spec.instance_dir.empty()) {
    CHRONOVA_RETURN_IF_ERROR(WriteFileAtomically(spec.instance_dir + "/libvirt.xml", xml)
                                 .WithContext(context));
  }
  dom.reset(virDomainDefineXML(conn_, xml.c_str()));
  if (dom == nullptr) return LastError("redefine domain " + name);
  if (!keep_stopped && virDomainIsActive(dom.get()) == 0 &&
      virDomainCreate(dom.get()) < 0)
    return LastError("start domain " + name);
  return GuestOf(dom.get(), spec.instance_id);
}

Result<GuestInfo> LibvirtHypervisor::RevertResize(const GuestSpec& spec,
                                                  bool keep_stopped) {
  const std::string name = DomainName(spec.instance_id);
  const std::string context = "libvirt: revert resize " + name;
  CHRONOVA_RETURN_IF_ERROR(
      Perform(spec.instance_id, LifecycleAction::kStop, false).status());
  InstanceLock lock(this, spec.instance_id);
  Result<std::string> kept = KeptDefinition(spec);
  if (!kept.ok()) return kept.status().WithContext(context);
  std::string xml = Untagged(*std::move(kept));
  if (xml.empty()) xml = DomainXml(spec);  // nothing kept: the old flavor's
  DomainHandle dom(virDomainDefineXML(conn_, xml.c_str()));
  if (dom == nullptr) return LastError("redefine domain " + name);
  if (!spec.instance_dir.empty()) {
    CHRONOVA_RETURN_IF_ERROR(WriteFileAtomically(spec.instance_dir + "/libvirt.xml", xml)
                                 .WithContext(context));
  }
  DropKeptDefinition(spec);
  if (!keep_stopped && virDomainIsActive(dom.get()) == 0 &&
      virDomainCreate(dom.get()) < 0)
    return LastError("start domain " + name);
  return GuestOf(dom.get(), spec.instance_id);
}

Result<GuestInfo> LibvirtHypervisor::Inspect(const InstanceId& id) {
  const std::string name = DomainName(id);
  DomainHandle dom(virDomainLookupByName(conn_, name.c_str()));
  if (dom == nullptr) return LastError("look up domain " + name);
  return GuestOf(dom.get(), id);
}

Result<std::string> LibvirtHypervisor::ConsoleOutput(const InstanceId& id) {
  const std::string name = DomainName(id);
  DomainHandle dom(virDomainLookupByName(conn_, name.c_str()));
  if (dom == nullptr) return LastError("look up domain " + name);
  CHRONOVA_ASSIGN_OR_RETURN(const std::string xml, XmlDescOf(dom.get(), 0, name));
  const std::string path = SerialLogPath(xml);
  if (path.empty()) return Status::NotFound("Guest does not have a console available.");
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::string();  // QEMU has not created it yet
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff from =
      std::max<std::streamoff>(0, size - static_cast<std::streamoff>(kMaxConsoleBytes));
  in.seekg(from);
  std::string out(static_cast<size_t>(size - from), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));
  return out;
}

Result<ConsoleEndpoint> LibvirtHypervisor::Console(const InstanceId& id,
                                                   std::string_view kind) {
  const std::string name = DomainName(id);
  DomainHandle dom(virDomainLookupByName(conn_, name.c_str()));
  if (dom == nullptr) return LastError("look up domain " + name);
  if (test_driver_) return fake_consoles_.Open(id, name, kind);
  CHRONOVA_ASSIGN_OR_RETURN(const std::string xml, XmlDescOf(dom.get(), 0, name));
  DomainConsole c = ConsoleOf(xml, kind);
  if (c.port == 0) {
    return Status::InvalidArgument("Unavailable console type " + std::string(kind) + ".");
  }
  return ConsoleEndpoint{c.host, c.port, ""};
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
