// LibvirtHypervisor: the Hypervisor on a libvirt connection — QEMU/KVM through
// libvirtd (qemu:///system), or libvirt's in-process test driver (test:///...) in
// tests. Every libvirt failure comes back as a Status with context, e.g.
// "libvirt: define domain instance-<uuid>: <libvirt's message>".
//
// libvirt's headers stay in the .cc: nothing outside agents/compute sees them.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agents/compute/fake_console.h"
#include "agents/compute/hypervisor.h"

// libvirt's connection object (virConnectPtr is `_virConnect*`).
struct _virConnect;
struct _virDomain;

namespace chronova {

struct LibvirtOptions {
  // The libvirt connection URI. "test:///<abs path>/node.xml" selects libvirt's
  // test driver with a fresh simulated host (a <node> document) per Open.
  std::string uri = "qemu:///system";
  // "kvm" or "qemu" (TCG, no hardware acceleration): the <domain type='...'>.
  // Ignored for the test driver, whose domains are always type 'test'.
  std::string virt_type = "kvm";
  // Reported as HostCapacity::disk_gb; libvirt does not know the instances' disk.
  int32_t disk_gb = 100;
  // How long a stop waits for the guest to shut down cleanly (ACPI) before
  // it is destroyed (Nova's shutdown_timeout).
  int clean_shutdown_timeout_s = 60;
  // The qemu-img program Snapshot runs (looked up in PATH unless absolute).
  std::string qemu_img = "qemu-img";
  // [spice] enabled: guests get a SPICE server on 127.0.0.1 beside VNC.
  bool spice = false;
  // [serial_console] port_range when [serial_console] enabled, e.g.
  // "10000:20000": a guest's serial port is a TCP server on 127.0.0.1 at a
  // free port of the range (still logged to console.log); "" keeps it a file.
  std::string serial_port_range;
};

// True if `uri` selects libvirt's in-process test driver ("test:///..." or
// "test+<transport>://..."): a simulated host, whose guests have no real disks.
bool IsTestDriverUri(std::string_view uri);

// Thread-safety: all methods may be called concurrently (one shared libvirt
// connection, which libvirt makes thread-safe). Calls for the same instance are
// serialized, so concurrent Spawns of one instance define it once.
// The power state a libvirt domain state (virDomainState) means to Nova.
PowerState LibvirtPowerState(int state);

class LibvirtHypervisor : public Hypervisor {
 public:
  // Connects to options.uri. Unavailable if the connection fails (daemon down,
  // bad URI); InvalidArgument if options.virt_type is neither "kvm" nor "qemu".
  static Result<std::unique_ptr<LibvirtHypervisor>> Open(const LibvirtOptions& options);
  ~LibvirtHypervisor() override;
  LibvirtHypervisor(const LibvirtHypervisor&) = delete;
  LibvirtHypervisor& operator=(const LibvirtHypervisor&) = delete;

  // vcpus and memory from virNodeGetInfo; disk_gb from the options;
  // hypervisor_type "QEMU", or "test" on the test driver.
  Result<HostCapacity> Capacity() override;
  // Reuses the domain "instance-<uuid>" if it exists (starting it when it is not
  // running); otherwise writes <instance_dir>/libvirt.xml (when instance_dir is
  // set), defines the domain and starts it. InvalidArgument for an empty
  // instance id or a flavor without vcpus or memory.
  Result<GuestInfo> Spawn(const GuestSpec& spec) override;
  // Hard stop, then undefine (with its managed save image and NVRAM).
  Status Destroy(const InstanceId& id) override;
  // stop: virDomainShutdown, polled until shut off, destroyed after
  // clean_shutdown_timeout_s; start/resume: virDomainCreate (which restores a
  // managed save); soft reboot: virDomainReboot; hard reboot: destroy + create;
  // pause/unpause: virDomainSuspend/Resume; suspend: virDomainManagedSave.
  Result<GuestInfo> Perform(const InstanceId& id, LifecycleAction action,
                            bool hard) override;
  // Saves the domain's definition in <instance_dir>/unrescue.xml (Nova's
  // name), destroys the guest, defines RescueDomainXml(spec) and starts it. A
  // guest whose unrescue.xml exists is already rescued: it is only started if
  // it is not running. Without an instance_dir (test:/// hosts without disks)
  // the guest is redefined and restarted, nothing saved.
  Result<GuestInfo> Rescue(const GuestSpec& spec) override;
  // Destroys the rescue guest, defines the saved unrescue.xml (else
  // <instance_dir>/libvirt.xml, else DomainXml(spec)), starts it, and removes
  // unrescue.xml and spec.rescue_disk_path. A guest with an instance_dir but no
  // unrescue.xml that is running is already unrescued and left alone.
  Result<GuestInfo> Unrescue(const GuestSpec& spec) override;
  // The root disk is the first <disk device='disk'> file of the domain XML:
  // `qemu-img convert -U -O qcow2 DISK OUT` (flattening any backing chain),
  // with a running guest paused around it. A domain without a disk (the test
  // driver's simulated guests) yields an empty qcow2 of the flavor's root_gb
  // (at least 1 GiB): what a disk nobody wrote to would flatten to.
  Status Snapshot(const GuestSpec& spec, const std::string& out_path) override;
  // Same-host resize: the inactive domain XML is kept in
  // <instance dir>/libvirt.xml.resize (and in memory without an instance dir),
  // its first line a comment naming the resize request that kept it; the
  // overlay grows with qemu-img resize.
  Result<GuestInfo> Resize(const GuestSpec& spec, bool keep_stopped) override;
  Result<GuestInfo> RevertResize(const GuestSpec& spec, bool keep_stopped) override;
  Result<GuestInfo> Inspect(const InstanceId& id) override;
  // Every domain named "instance-<uuid>", running or not; other domains on the
  // host are not chronova's and are left out.
  Result<std::vector<GuestInfo>> List() override;
  // Reads the file of the domain's <serial type='file'> (console.log in the
  // instance dir); a domain without one (test:/// hosts) has no console.
  Result<std::string> ConsoleOutput(const InstanceId& id) override;
  // virDomainInjectNMI (libvirt_crash_dump.cc).
  Status TriggerCrashDump(const InstanceId& id) override;
  Result<GuestDiagnostics> Diagnostics(const InstanceId& id) override;
  // The domain's VNC (SPICE, TCP serial) server from its live XML; the test
  // driver's guests get fake consoles (agents/compute/fake_console.h).
  Result<ConsoleEndpoint> Console(const InstanceId& id, std::string_view kind) override;

  // Lifecycle events of "instance-<uuid>" domains reach `observer` from the
  // process's libvirt event-loop thread (started by the first Open, stopped
  // when the last LibvirtHypervisor is destroyed).
  void SetGuestObserver(GuestObserver observer) override;

  // The domain XML Spawn defines for `spec` (exposed for tests and debugging).
  std::string DomainXml(const GuestSpec& spec) const;
  // The rescue guest's XML: DomainXml with spec.rescue_disk_path as the first
  // disk (vda on virtio) and spec.disk_path as the second (vdb), when both are
  // set; otherwise DomainXml(spec).
  std::string RescueDomainXml(const GuestSpec& spec) const;
  // The guest's persistent definition as libvirt holds it (for tests and
  // debugging); NotFound if there is no guest.
  Result<std::string> DefinedXml(const InstanceId& id);

 private:
  class InstanceLock;
  enum class Boot { kNormal, kRescue };
  std::string BuildXml(const GuestSpec& spec, Boot boot) const;
  // Stops `dom` if it runs, defines `xml` in its place and starts it.
  Result<GuestInfo> Redefine(_virDomain* dom, const InstanceId& id,
                             const std::string& xml);
  friend struct LifecycleEvents;
  LibvirtHypervisor(const LibvirtOptions& options, _virConnect* conn);

  const LibvirtOptions options_;
  const bool test_driver_;   // options_.uri is a test:/// URI
  _virConnect* const conn_;  // owned; thread-safe, so not guarded

  std::mutex mu_;  // protects busy_: instances with a Spawn/Destroy in progress
  std::condition_variable busy_cv_;  // signalled when an instance leaves busy_
  std::set<InstanceId> busy_;
  // The definition Resize kept for spec's guest, with its tag; "" if none, an
  // error if the kept file cannot be read.
  Result<std::string> KeptDefinition(const GuestSpec& spec);
  // Keeps `xml` (tagged) as spec's guest's kept definition, replacing any.
  Status KeepDefinition(const GuestSpec& spec, std::string xml);
  // Forgets spec's guest's kept definition (a revert put it back).
  void DropKeptDefinition(const GuestSpec& spec);

  std::mutex resize_mu_;  // protects old_xml_
  // Definitions kept by Resize for guests without an instance dir (else kept in
  // <instance_dir>/libvirt.xml.resize), each tagged with its resize request.
  std::map<InstanceId, std::string> old_xml_;

  FakeConsoles fake_consoles_;   // the test driver's guests' consoles
  int lifecycle_callback_ = -1;  // libvirt's id of our lifecycle callback
  std::mutex observer_mu_;       // protects observer_; held while it runs
  GuestObserver observer_;
};

}  // namespace chronova
