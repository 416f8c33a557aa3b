// The events of host/<name> streams (docs/events.md). Adding one: a struct
// here with a frozen kType and kSchema, and its name in HostEvents below;
// core/events.h gathers every list into Event.
#pragma once

#include <cereal/cereal.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/events/event_list.h"
#include "core/types.h"

namespace chronova {

// A compute host joined (or re-announced) with this capacity.
// Schema 2 added hypervisor_hostname (schema 1 is upcast with it = host).
struct HostRegistered {
  static constexpr const char* kType = "host.registered";
  static constexpr uint32_t kSchema = 2;
  HostName host;
  int32_t vcpus = 0;
  int32_t memory_mb = 0;
  int32_t disk_gb = 0;
  std::string availability_zone = "nova";
  std::string hypervisor_type = "QEMU";
  double cpu_allocation_ratio = 16.0;
  double ram_allocation_ratio = 1.5;
  double disk_allocation_ratio = 1.0;
  // Nova's hypervisor_hostname: the compute node's name (os-hypervisors).
  std::string hypervisor_hostname;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(vcpus), CEREAL_NVP(memory_mb), CEREAL_NVP(disk_gb),
       CEREAL_NVP(availability_zone), CEREAL_NVP(hypervisor_type),
       CEREAL_NVP(cpu_allocation_ratio), CEREAL_NVP(ram_allocation_ratio),
       CEREAL_NVP(disk_allocation_ratio), CEREAL_NVP(hypervisor_hostname));
  }
};

// The scheduler reserved resources on the host for one instance.
struct HostResourcesClaimed {
  static constexpr const char* kType = "host.resources_claimed";
  static constexpr uint32_t kSchema = 1;
  InstanceId instance_id;
  int32_t vcpus = 0;
  int32_t memory_mb = 0;
  int32_t disk_gb = 0;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(instance_id), CEREAL_NVP(vcpus), CEREAL_NVP(memory_mb),
       CEREAL_NVP(disk_gb));
  }
};

// The instance's claim on the host was given back (delete, failed build ...).
struct HostResourcesReleased {
  static constexpr const char* kType = "host.resources_released";
  static constexpr uint32_t kSchema = 1;
  InstanceId instance_id;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(instance_id));
  }
};

// An admin disabled the host's nova-compute service (os-services disable):
// the scheduler places nothing new on it (Nova's ComputeFilter).
struct HostServiceDisabled {
  static constexpr const char* kType = "host.service_disabled";
  static constexpr uint32_t kSchema = 1;
  std::string reason;  // Nova's disabled_reason; empty: none given
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(reason));
  }
};

// An admin enabled the host's nova-compute service again.
struct HostServiceEnabled {
  static constexpr const char* kType = "host.service_enabled";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// An admin forced the host's nova-compute service down, or lifted that
// (os-services force-down, microversion 2.11): while forced down the service
// shows "down" whatever its heartbeats, and the scheduler places nothing on it.
struct HostForcedDownSet {
  static constexpr const char* kType = "host.forced_down_set";
  static constexpr uint32_t kSchema = 1;
  bool forced_down = false;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(forced_down));
  }
};

// Every event of host/<name> streams.
using HostEvents = EventList<HostRegistered, HostResourcesClaimed, HostResourcesReleased,
                             HostServiceDisabled, HostServiceEnabled, HostForcedDownSet>;

}  // namespace chronova
