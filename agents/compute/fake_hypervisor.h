// FakeHypervisor: an in-process driver that keeps guests in a map, like Nova's
// fake virt driver. For benchmarks and simulation; it can be told to fail.
#pragma once

#include <map>
#include <mutex>

#include "agents/compute/hypervisor.h"

namespace chronova {

class FakeHypervisor : public Hypervisor {
 public:
  explicit FakeHypervisor(HostCapacity capacity) : capacity_(std::move(capacity)) {}

  Result<HostCapacity> Capacity() override { return capacity_; }
  Result<GuestInfo> Spawn(const GuestSpec& spec) override;
  Status Destroy(const InstanceId& id) override;
  Result<GuestInfo> Perform(const InstanceId& id, LifecycleAction action,
                            bool hard) override;
  // Writes a small file naming the instance (no qcow2: nothing reads it).
  Status Snapshot(const GuestSpec& spec, const std::string& out_path) override;
  Result<GuestInfo> Inspect(const InstanceId& id) override;
  Result<std::vector<GuestInfo>> List() override;
  // Nova's fake driver's console: three fixed lines.
  Result<std::string> ConsoleOutput(const InstanceId& id) override;

  // The next Spawn fails with this status (once), like a libvirt error would.
  void FailNextSpawn(Status st);
  // The next Perform fails with this status (once).
  void FailNextAction(Status st);
  // The next Snapshot fails with this status (once).
  void FailNextSnapshot(Status st);

 private:
  const HostCapacity capacity_;
  std::mutex mu_;  // protects guests_ and the fail_next_* statuses
  std::map<InstanceId, GuestInfo> guests_;
  Status fail_next_;
  Status fail_next_action_;
  Status fail_next_snapshot_;
};

}  // namespace chronova
