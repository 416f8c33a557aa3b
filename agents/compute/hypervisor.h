// Hypervisor: what the compute agent needs from a virtualization driver (Nova's
// ComputeDriver, reduced to what chronova's actions use so far). Implementations:
// LibvirtHypervisor (QEMU/KVM, or libvirt's test:/// driver in tests) and
// FakeHypervisor (in-process, for benchmarks and simulation, like Nova's fake
// driver).
//
// Thread-safety: every method may be called from several threads at once.
#pragma once

#include <cereal/cereal.hpp>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/events.h"
#include "core/guest_diagnostics.h"
#include "core/instance_state.h"
#include "core/status.h"

namespace chronova {

// Everything a driver needs to create one guest.
struct GuestSpec {
  InstanceId instance_id;
  std::string name;  // the server's display name (metadata only)
  FlavorSpec flavor;
  ImageId image_id;
  // Local path of the guest's root disk (a qcow2 overlay), or empty when the
  // driver needs no disk (fake driver, libvirt test:///).
  std::string disk_path;
  // Directory for the guest's files (console.log, domain XML); may be empty.
  std::string instance_dir;
  // The root disk's bus (the image's hw_disk_bus): virtio, scsi, sata, ide or
  // usb; anything else (or empty) is virtio.
  std::string disk_bus = "virtio";
  // Rescue and Unrescue: <instance_dir>/disk.rescue, the rescue image's overlay
  // (the rescue guest's first disk, disk_path its second); empty without disks.
  std::string rescue_disk_path;
  // Resize: which resize this is (the seq of its request). A re-sent resize
  // finds the old definition it kept the first time; a later one replaces it.
  Seq resize_request;
};

struct GuestInfo {
  InstanceId instance_id;
  std::string domain_name;  // "instance-<uuid>"
  PowerState power_state = PowerState::kNoState;
  // Spawn only: the guest's consoles, kind -> where they listen
  // (InstanceSpawned::consoles).
  std::map<std::string, std::string> consoles;
};

struct HostCapacity {
  int32_t vcpus = 0;
  int32_t memory_mb = 0;
  int32_t disk_gb = 0;
  std::string hypervisor_type;  // "QEMU", "fake" ...
};

// A guest's console as its host serves it: a TCP address, and the path a
// proxy sends first when a host multiplexes consoles on one port (Nova's
// internal_access_path; empty for libvirt).
struct ConsoleEndpoint {
  std::string host;
  int32_t port = 0;
  std::string internal_access_path;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(port), CEREAL_NVP(internal_access_path));
  }
};

class Hypervisor {
 public:
  virtual ~Hypervisor() = default;
  // The host's resources, as the driver sees them.
  virtual Result<HostCapacity> Capacity() = 0;
  // Defines and starts the guest. If a guest for this instance already exists it
  // is reused (a retried build must not create two). Errors carry context, e.g.
  // "libvirt: define domain instance-<uuid>: ...".
  virtual Result<GuestInfo> Spawn(const GuestSpec& spec) = 0;
  // Stops (hard) and undefines the guest. OK if it does not exist.
  virtual Status Destroy(const InstanceId& id) = 0;
  // Carries out a lifecycle action on the guest and returns its state after it:
  // stop (clean shutdown, then a hard stop after a timeout), start, soft/hard
  // reboot, pause, unpause, suspend (to disk), resume. Idempotent: a guest
  // already where the action leads is left there (a re-sent work item).
  // NotFound if there is no guest.
  virtual Result<GuestInfo> Perform(const InstanceId& id, LifecycleAction action,
                                    bool hard) = 0;
  // Nova's rescue: the guest's definition is saved, and the guest is
  // redefined to boot from spec.rescue_disk_path with spec.disk_path as its
  // second disk, and started. Idempotent (a rescued guest stays rescued).
  // NotFound if there is no guest. Drivers without disks just restart it.
  virtual Result<GuestInfo> Rescue(const GuestSpec& spec) {
    return Perform(spec.instance_id, LifecycleAction::kRescue, false);
  }
  // Nova's unrescue: the rescue guest is destroyed, the saved (or, without
  // one, spec's ordinary) definition restored and started, and the rescue disk
  // removed. Idempotent. NotFound if there is no guest.
  virtual Result<GuestInfo> Unrescue(const GuestSpec& spec) {
    return Perform(spec.instance_id, LifecycleAction::kUnrescue, false);
  }
  // Writes a flattened qcow2 copy of the guest's root disk (no backing file) to
  // `out_path`, which must not exist. A running guest is paused for the copy and
  // resumed after, so the image is consistent; a guest in any other state is
  // left as it is. `spec` names the instance and its flavor (a guest without a
  // disk yields an empty disk of the flavor's root_gb). NotFound if there is no
  // guest; errors carry the tool's or libvirt's message.
  virtual Status Snapshot(const GuestSpec& spec, const std::string& out_path) = 0;
  // Resize on the same host: the guest is stopped, its root disk grown to
  // spec.flavor.root_gb (never shrunk, as in Nova), and it is redefined with
  // spec.flavor's vcpus and memory; it is started again unless `keep_stopped`.
  // The old definition is kept for RevertResize, once per resize request
  // (spec.resize_request): a re-sent resize keeps what the first one kept.
  // NotFound if there is no guest.
  virtual Result<GuestInfo> Resize(const GuestSpec& spec, bool keep_stopped) = 0;
  // Puts back the definition Resize kept (spec names the old flavor, used if
  // nothing was kept); the disk keeps its size. Started unless `keep_stopped`.
  virtual Result<GuestInfo> RevertResize(const GuestSpec& spec, bool keep_stopped) = 0;
  // The guest's current state; NotFound if there is none.
  virtual Result<GuestInfo> Inspect(const InstanceId& id) = 0;
  // Every guest this driver manages on the host (for reconciliation at start).
  virtual Result<std::vector<GuestInfo>> List() = 0;

  // Called when one of this driver's guests changes power state, whoever caused
  // it (libvirt lifecycle events: started, paused, resumed, stopped, crashed),
  // with the state the event implies. Runs on a driver thread: it must not block
  // or call back into the driver.
  using GuestObserver = std::function<void(const InstanceId&, PowerState)>;
  // Installs the observer (nullptr removes it); returns once no call of the
  // previous observer is running. Drivers that cannot see such changes keep
  // this default and never call it.
  virtual void SetGuestObserver(GuestObserver /*observer*/) {}

  // The guest's serial console log: at most its last kMaxConsoleBytes, as
  // Nova's libvirt driver reads it ("" while the log file does not exist yet).
  // NotFound if there is no guest, or "Guest does not have a console
  // available." (NotFound, Nova's ConsoleNotAvailable) if it has no log.
  virtual Result<std::string> ConsoleOutput(const InstanceId& id) = 0;

  static constexpr size_t kMaxConsoleBytes = 100 * 1024;  // Nova's MAX_CONSOLE_BYTES

  // Injects an NMI into the guest so that its kernel dumps its memory (Nova's
  // trigger_crash_dump). NotFound if there is no guest; Unimplemented
  // ("Triggering crash dump is not supported") where the driver cannot.
  virtual Status TriggerCrashDump(const InstanceId& /*id*/) {
    return Status::Unimplemented("Triggering crash dump is not supported");
  }

  // The guest's live counters for os-server-diagnostics (Nova's
  // get_diagnostics / get_instance_diagnostics). NotFound if there is no
  // guest; Unimplemented where the driver has none.
  virtual Result<GuestDiagnostics> Diagnostics(const InstanceId& /*id*/) {
    return Status::Unimplemented("The requested functionality is not supported.");
  }

  // Where the guest's console of `kind` ("vnc", "spice" or "serial") listens on
  // this host, for a console proxy to relay (Nova's get_vnc_console ...).
  // NotFound if there is no guest; InvalidArgument ("Unavailable console type
  // spice.") if the guest has no such console; Unimplemented if the driver has
  // no consoles.
  virtual Result<ConsoleEndpoint> Console(const InstanceId& /*id*/,
                                          std::string_view /*kind*/) {
    return Status::Unimplemented("consoles are not supported by this driver");
  }
};

// The libvirt domain name of an instance: "instance-<uuid>".
inline std::string DomainName(const InstanceId& id) { return "instance-" + id.str(); }

}  // namespace chronova
