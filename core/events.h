// Every event chronova records, one struct per event, each under a frozen type
// name and a schema number (DESIGN §3). docs/events.md documents their meaning.
// Changing a struct's shape means a new schema number plus an upcaster
// (core/event_codec.h) for the old one; stored events are never rewritten.
#pragma once

#include <cereal/cereal.hpp>
#include <map>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/types.h"

namespace chronova {

// The flavor an instance was booted with, copied into the event (as Nova embeds
// it in the instance) so later flavor changes do not alter history.
struct FlavorSpec {
  FlavorId id;
  std::string name;
  int32_t vcpus = 0;
  int32_t memory_mb = 0;
  int32_t root_gb = 0;
  int32_t ephemeral_gb = 0;
  int32_t swap_mb = 0;
  std::map<std::string, std::string> extra_specs;
  bool operator==(const FlavorSpec&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(id), CEREAL_NVP(name), CEREAL_NVP(vcpus), CEREAL_NVP(memory_mb),
       CEREAL_NVP(root_gb), CEREAL_NVP(ephemeral_gb), CEREAL_NVP(swap_mb),
       CEREAL_NVP(extra_specs));
  }
};

// ---- instance/<uuid> ------------------------------------------------------

// A user asked for a new server (POST /servers). Starts the stream.
struct InstanceRequested {
  static constexpr const char* kType = "instance.requested";
  static constexpr uint32_t kSchema = 1;
  InstanceId instance_id;
  std::string name;
  ProjectId project_id;
  UserId user_id;
  FlavorSpec flavor;
  ImageId image_id;
  std::string availability_zone;  // empty: any
  std::string key_name;
  std::map<std::string, std::string> metadata;
  std::string user_data;  // base64, as the API received it
  std::string reservation_id;
  int32_t launch_index = 0;
  std::map<std::string, std::vector<std::string>> scheduler_hints;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(instance_id), CEREAL_NVP(name), CEREAL_NVP(project_id),
       CEREAL_NVP(user_id), CEREAL_NVP(flavor), CEREAL_NVP(image_id),
       CEREAL_NVP(availability_zone), CEREAL_NVP(key_name), CEREAL_NVP(metadata),
       CEREAL_NVP(user_data), CEREAL_NVP(reservation_id), CEREAL_NVP(launch_index),
       CEREAL_NVP(scheduler_hints));
  }
};

// The scheduler placed the instance; its resources are claimed on `host`.
struct InstanceScheduled {
  static constexpr const char* kType = "instance.scheduled";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host));
  }
};

// No host could take the instance; it goes to ERROR with this fault.
struct InstanceSchedulingFailed {
  static constexpr const char* kType = "instance.scheduling_failed";
  static constexpr uint32_t kSchema = 1;
  std::string reason;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(reason));
  }
};

// The compute host took the build.
struct BuildStarted {
  static constexpr const char* kType = "build.started";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host));
  }
};

// The guest is defined and running on `host`.
struct InstanceSpawned {
  static constexpr const char* kType = "instance.spawned";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  std::string hypervisor_name;  // e.g. the libvirt domain name
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(hypervisor_name));
  }
};

// The build failed on `host`; the instance goes to ERROR with this fault.
struct InstanceBuildFailed {
  static constexpr const char* kType = "instance.build_failed";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  std::string reason;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(reason));
  }
};

// A user asked to delete the server (DELETE /servers/{id}).
struct InstanceDeleteRequested {
  static constexpr const char* kType = "instance.delete_requested";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// The guest is gone (or never existed on a host); the instance is DELETED.
struct InstanceDeleted {
  static constexpr const char* kType = "instance.deleted";
  static constexpr uint32_t kSchema = 1;
  HostName host;  // empty for a delete that needed no host ("local delete")
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host));
  }
};

// ---- host/<name> ----------------------------------------------------------

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

// ---- flavor/<id> ----------------------------------------------------------

// An admin (or the all-in-one's seed) created a flavor.
struct FlavorCreated {
  static constexpr const char* kType = "flavor.created";
  static constexpr uint32_t kSchema = 1;
  FlavorSpec flavor;
  bool is_public = true;
  std::string description;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(flavor), CEREAL_NVP(is_public), CEREAL_NVP(description));
  }
};

// The flavor was deleted; servers booted from it keep their copy.
struct FlavorDeleted {
  static constexpr const char* kType = "flavor.deleted";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// Projects that may see and boot a private flavor (os-flavor-access).
struct FlavorAccessAdded {
  static constexpr const char* kType = "flavor.access_added";
  static constexpr uint32_t kSchema = 1;
  ProjectId project_id;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(project_id));
  }
};

struct FlavorAccessRemoved {
  static constexpr const char* kType = "flavor.access_removed";
  static constexpr uint32_t kSchema = 1;
  ProjectId project_id;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(project_id));
  }
};

// Extra specs created or updated (merged into the flavor's; other keys stay).
struct FlavorExtraSpecsSet {
  static constexpr const char* kType = "flavor.extra_specs_set";
  static constexpr uint32_t kSchema = 1;
  std::map<std::string, std::string> extra_specs;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(extra_specs));
  }
};

struct FlavorExtraSpecDeleted {
  static constexpr const char* kType = "flavor.extra_spec_deleted";
  static constexpr uint32_t kSchema = 1;
  std::string key;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(key));
  }
};

// ---- keypair/<user> -------------------------------------------------------
// One stream per user: a name is unique per user and the key_pairs quota is
// per user, so both are decided on this aggregate with its expected version.

// A keypair was imported or generated. Only the public half: a generated
// private key is returned once by the API and never recorded.
struct KeypairCreated {
  static constexpr const char* kType = "keypair.created";
  static constexpr uint32_t kSchema = 1;
  UserId user_id;
  std::string name;
  std::string type = "ssh";
  std::string public_key;
  std::string fingerprint;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(user_id), CEREAL_NVP(name), CEREAL_NVP(type), CEREAL_NVP(public_key),
       CEREAL_NVP(fingerprint));
  }
};

struct KeypairDeleted {
  static constexpr const char* kType = "keypair.deleted";
  static constexpr uint32_t kSchema = 1;
  std::string name;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(name));
  }
};

// ---- quota/<project>, quota-class/<name>, quota-usage/<project> -------------

// An admin set quota limits (os-quota-sets update) for a project, or for one
// user of it (user_id set). Merged into the limits already set; -1 = unlimited.
struct QuotaLimitsSet {
  static constexpr const char* kType = "quota.limits_set";
  static constexpr uint32_t kSchema = 1;
  ProjectId project_id;
  UserId user_id;  // empty: the project's limits
  std::map<std::string, int64_t> limits;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(project_id), CEREAL_NVP(user_id), CEREAL_NVP(limits));
  }
};

// os-quota-sets delete: the project's (or the user's) limits revert to defaults.
struct QuotaLimitsDeleted {
  static constexpr const char* kType = "quota.limits_deleted";
  static constexpr uint32_t kSchema = 1;
  ProjectId project_id;
  UserId user_id;  // empty: the project's limits (user limits stay, as in Nova)
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(project_id), CEREAL_NVP(user_id));
  }
};

// os-quota-class-sets update ("default" overrides the [quota] defaults).
struct QuotaClassSet {
  static constexpr const char* kType = "quota_class.limits_set";
  static constexpr uint32_t kSchema = 1;
  std::string class_name;
  std::map<std::string, int64_t> limits;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(class_name), CEREAL_NVP(limits));
  }
};

// The API admitted new servers against the project's instances/cores/ram
// quota. Appended to quota-usage/<project> with the stream's expected version
// before the servers' instance.requested: two creates that both read the same
// version cannot both be admitted (ComputeService::ReserveQuota).
struct QuotaUsageReserved {
  static constexpr const char* kType = "quota.usage_reserved";
  static constexpr uint32_t kSchema = 1;
  ProjectId project_id;
  UserId user_id;
  std::vector<InstanceId> instance_ids;
  int32_t vcpus = 0;      // per instance
  int32_t memory_mb = 0;  // per instance
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(project_id), CEREAL_NVP(user_id), CEREAL_NVP(instance_ids),
       CEREAL_NVP(vcpus), CEREAL_NVP(memory_mb));
  }
};

// ---- image/<id> -----------------------------------------------------------

// An image record exists and is usable (status active).
struct ImageRegistered {
  static constexpr const char* kType = "image.registered";
  static constexpr uint32_t kSchema = 1;
  ImageId image_id;
  std::string name;
  std::string disk_format = "qcow2";
  std::string container_format = "bare";
  int64_t size = 0;
  int32_t min_disk = 0;
  int32_t min_ram = 0;
  std::string visibility = "public";
  ProjectId owner;
  std::string checksum;
  std::map<std::string, std::string> properties;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(image_id), CEREAL_NVP(name), CEREAL_NVP(disk_format),
       CEREAL_NVP(container_format), CEREAL_NVP(size), CEREAL_NVP(min_disk),
       CEREAL_NVP(min_ram), CEREAL_NVP(visibility), CEREAL_NVP(owner),
       CEREAL_NVP(checksum), CEREAL_NVP(properties));
  }
};

// Every event type. The order is irrelevant to storage (types are stored by name).
using Event = std::variant<
    InstanceRequested, InstanceScheduled, InstanceSchedulingFailed, BuildStarted,
    InstanceSpawned, InstanceBuildFailed, InstanceDeleteRequested, InstanceDeleted,
    HostRegistered, HostResourcesClaimed, HostResourcesReleased, FlavorCreated,
    FlavorDeleted, ImageRegistered, FlavorAccessAdded, FlavorAccessRemoved,
    FlavorExtraSpecsSet, FlavorExtraSpecDeleted, KeypairCreated, KeypairDeleted,
    QuotaLimitsSet, QuotaLimitsDeleted, QuotaClassSet, QuotaUsageReserved>;

// True for the events of instance/<uuid> streams.
template <typename T>
inline constexpr bool kIsInstanceEvent =
    std::is_same_v<T, InstanceRequested> || std::is_same_v<T, InstanceScheduled> ||
    std::is_same_v<T, InstanceSchedulingFailed> || std::is_same_v<T, BuildStarted> ||
    std::is_same_v<T, InstanceSpawned> || std::is_same_v<T, InstanceBuildFailed> ||
    std::is_same_v<T, InstanceDeleteRequested> || std::is_same_v<T, InstanceDeleted>;

// The frozen type name of an event.
const char* EventTypeName(const Event& e);

}  // namespace chronova
