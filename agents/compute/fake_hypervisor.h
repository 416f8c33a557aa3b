// FakeHypervisor: an in-process driver that keeps guests in a map, like Nova's
// fake virt driver. For benchmarks and simulation; it can be told to fail.
// Given a state file, its guests outlive the process as a real hypervisor's
// outlive nova-compute: every change is written there (atomically, by rename)
// and a new FakeHypervisor on the same file starts with them, so killing a
// compute agent (the fault suite) does not also kill its guests.
#pragma once

#include <map>
#include <mutex>

#include "agents/compute/fake_console.h"
#include "agents/compute/hypervisor.h"

namespace chronova {

class FakeHypervisor : public Hypervisor {
 public:
  // `state_file` empty: guests live only in this object.
  explicit FakeHypervisor(HostCapacity capacity, std::string state_file = "");

  Result<HostCapacity> Capacity() override { return capacity_; }
  Result<GuestInfo> Spawn(const GuestSpec& spec) override;
  Status Destroy(const InstanceId& id) override;
  Result<GuestInfo> Perform(const InstanceId& id, LifecycleAction action,
                            bool hard) override;
  // Writes a small file naming the instance (no qcow2: nothing reads it).
  Status Snapshot(const GuestSpec& spec, const std::string& out_path) override;
  // State only: the guest's flavor is not modelled.
  Result<GuestInfo> Resize(const GuestSpec& spec, bool keep_stopped) override;
  Result<GuestInfo> RevertResize(const GuestSpec& spec, bool keep_stopped) override;
  Result<GuestInfo> Inspect(const InstanceId& id) override;
  Result<std::vector<GuestInfo>> List() override;
  // Nova's fake driver's console: three fixed lines.
  Result<std::string> ConsoleOutput(const InstanceId& id) override;
  // As Nova's fake driver: the guest must exist; nothing else happens.
  Status TriggerCrashDump(const InstanceId& id) override;
  Result<GuestDiagnostics> Diagnostics(const InstanceId& id) override;
  // A console of its own on loopback (agents/compute/fake_console.h).
  Result<ConsoleEndpoint> Console(const InstanceId& id, std::string_view kind) override;

  // The next Spawn fails with this status (once), like a libvirt error would.
  void FailNextSpawn(Status st);
  // The next Perform fails with this status (once).
  void FailNextAction(Status st);
  // The next Snapshot fails with this status (once).
  void FailNextSnapshot(Status st);

 private:
  // Writes guests_ to state_file_ (if set); mu_ held.
  void Save();

  const HostCapacity capacity_;
  const std::string state_file_;
  std::mutex mu_;  // protects guests_ and the fail_next_* statuses
  std::map<InstanceId, GuestInfo> guests_;
  Status fail_next_;
  Status fail_next_action_;
  Status fail_next_snapshot_;
  FakeConsoles consoles_;
};

}  // namespace chronova
