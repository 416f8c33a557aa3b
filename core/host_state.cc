#include "core/host_state.h"

#include <cmath>
#include <type_traits>

namespace chronova {

int64_t HostState::VcpuLimit() const {
  return static_cast<int64_t>(std::floor(vcpus * cpu_allocation_ratio));
}
int64_t HostState::MemoryLimitMb() const {
  return static_cast<int64_t>(std::floor(memory_mb * ram_allocation_ratio));
}
int64_t HostState::DiskLimitGb() const {
  return static_cast<int64_t>(std::floor(disk_gb * disk_allocation_ratio));
}

void ApplyHostEvent(HostState& s, const Envelope& env, const Event& event) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, HostRegistered>) {
          if (!s.exists) s.registered_at = env.meta.time;
          s.exists = true;
          s.name = e.host;
          s.vcpus = e.vcpus;
          s.memory_mb = e.memory_mb;
          s.disk_gb = e.disk_gb;
          s.availability_zone = e.availability_zone;
          s.hypervisor_type = e.hypervisor_type;
          s.hypervisor_hostname =
              e.hypervisor_hostname.empty() ? e.host.str() : e.hypervisor_hostname;
          s.cpu_allocation_ratio = e.cpu_allocation_ratio;
          s.ram_allocation_ratio = e.ram_allocation_ratio;
          s.disk_allocation_ratio = e.disk_allocation_ratio;
        } else if constexpr (std::is_same_v<T, HostResourcesClaimed>) {
          Claim c{e.vcpus, e.memory_mb, e.disk_gb};
          if (s.claims.emplace(e.instance_id, c).second) {
            s.used.vcpus += c.vcpus;
            s.used.memory_mb += c.memory_mb;
            s.used.disk_gb += c.disk_gb;
          }
        } else if constexpr (std::is_same_v<T, HostResourcesReleased>) {
          auto it = s.claims.find(e.instance_id);
          if (it != s.claims.end()) {
            s.used.vcpus -= it->second.vcpus;
            s.used.memory_mb -= it->second.memory_mb;
            s.used.disk_gb -= it->second.disk_gb;
            s.claims.erase(it);
          }
        } else if constexpr (std::is_same_v<T, HostServiceDisabled>) {
          s.disabled = true;
          s.disabled_reason = e.reason;
        } else if constexpr (std::is_same_v<T, HostServiceEnabled>) {
          s.disabled = false;
          s.disabled_reason.clear();
        } else if constexpr (std::is_same_v<T, HostForcedDownSet>) {
          s.forced_down = e.forced_down;
        } else {
          return;  // not a host event
        }
        s.version = env.version;
        s.updated_at = env.meta.time;
      },
      event);
}

Result<std::vector<Event>> Decide(const HostState& s, const ClaimResources& cmd) {
  if (!s.exists) return Status::NotFound("host " + s.name.str() + " is not registered");
  if (s.claims.count(cmd.instance_id)) return std::vector<Event>{};
  const Claim& c = cmd.claim;
  auto short_of = [&](const char* what, int64_t used, int64_t want, int64_t limit) {
    return Status::Conflict("host " + s.name.str() + " has not enough " + what + ": " +
                            std::to_string(used) + " used + " + std::to_string(want) +
                            " requested > " + std::to_string(limit));
  };
  if (s.used.vcpus + c.vcpus > s.VcpuLimit()) {
    return short_of("vcpus", s.used.vcpus, c.vcpus, s.VcpuLimit());
  }
  if (s.used.memory_mb + c.memory_mb > s.MemoryLimitMb()) {
    return short_of("memory_mb", s.used.memory_mb, c.memory_mb, s.MemoryLimitMb());
  }
  if (s.used.disk_gb + c.disk_gb > s.DiskLimitGb()) {
    return short_of("disk_gb", s.used.disk_gb, c.disk_gb, s.DiskLimitGb());
  }
  return std::vector<Event>{
      HostResourcesClaimed{cmd.instance_id, c.vcpus, c.memory_mb, c.disk_gb}};
}

Result<std::vector<Event>> Decide(const HostState& s, const ReleaseResources& cmd) {
  if (!s.claims.count(cmd.instance_id)) return std::vector<Event>{};
  return std::vector<Event>{HostResourcesReleased{cmd.instance_id}};
}

}  // namespace chronova
