// A compute host's capacity and what is claimed on it, folded from host/<name>.
// Like Placement's resource provider: the stream version is its generation, so two
// schedulers can never both take the last slot (the loser's append conflicts).
#pragma once

#include <cereal/cereal.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/envelope.h"
#include "core/events.h"
#include "core/status.h"

namespace chronova {

struct Claim {
  int32_t vcpus = 0;
  int32_t memory_mb = 0;
  int32_t disk_gb = 0;
  bool operator==(const Claim&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(vcpus), CEREAL_NVP(memory_mb), CEREAL_NVP(disk_gb));
  }
};

struct HostState {
  bool exists = false;
  StreamVersion version;
  HostName name;
  int32_t vcpus = 0;
  int32_t memory_mb = 0;
  int32_t disk_gb = 0;
  std::string availability_zone;
  std::string hypervisor_type;
  std::string hypervisor_hostname;
  double cpu_allocation_ratio = 16.0;
  double ram_allocation_ratio = 1.5;
  double disk_allocation_ratio = 1.0;
  Claim used;
  std::map<InstanceId, Claim> claims;
  Timestamp registered_at;
  Timestamp updated_at;
  // The nova-compute service: disabled by an admin (os-services), and why.
  bool disabled = false;
  std::string disabled_reason;
  // Forced down by an admin (os-services force-down): down whatever it reports.
  bool forced_down = false;

  bool operator==(const HostState&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(exists), CEREAL_NVP(version), CEREAL_NVP(name), CEREAL_NVP(vcpus),
       CEREAL_NVP(memory_mb), CEREAL_NVP(disk_gb), CEREAL_NVP(availability_zone),
       CEREAL_NVP(hypervisor_type), CEREAL_NVP(hypervisor_hostname),
       CEREAL_NVP(cpu_allocation_ratio), CEREAL_NVP(ram_allocation_ratio),
       CEREAL_NVP(disk_allocation_ratio), CEREAL_NVP(used), CEREAL_NVP(claims),
       CEREAL_NVP(registered_at), CEREAL_NVP(updated_at), CEREAL_NVP(disabled),
       CEREAL_NVP(disabled_reason), CEREAL_NVP(forced_down));
  }
  // Capacity after allocation ratios, as Nova's scheduler computes it.
  int64_t VcpuLimit() const;
  int64_t MemoryLimitMb() const;
  int64_t DiskLimitGb() const;
  // Whether `c` fits beside what is used (the scheduler's RAM, vCPU and disk
  // filters; a claim checks the same).
  bool Fits(const Claim& c) const {
    return used.memory_mb + c.memory_mb <= MemoryLimitMb() &&
           used.vcpus + c.vcpus <= VcpuLimit() &&
           used.disk_gb + c.disk_gb <= DiskLimitGb();
  }
};

// The claim a flavor makes on a host (what the scheduler claims at boot).
inline Claim FlavorClaim(const FlavorSpec& f) {
  return Claim{f.vcpus, f.memory_mb, f.root_gb + f.ephemeral_gb};
}

// Folds one host event into `state` (other events are ignored). Deterministic.
void ApplyHostEvent(HostState& state, const Envelope& env, const Event& event);
// The host stream's version `state` was folded to (for HandleCommand).
inline StreamVersion HostVersion(const HostState& state) { return state.version; }

// Reserve resources for one instance on a host.
struct ClaimResources {
  InstanceId instance_id;
  Claim claim;
};
// Release an instance's claim.
struct ReleaseResources {
  InstanceId instance_id;
};

// NotFound for an unregistered host; Conflict if the claim does not fit (the
// message names the exhausted resource). Claiming twice for one instance yields
// no new event.
Result<std::vector<Event>> Decide(const HostState& state, const ClaimResources& cmd);
// No event if the instance holds no claim here (release is idempotent).
Result<std::vector<Event>> Decide(const HostState& state, const ReleaseResources& cmd);

}  // namespace chronova
