// Every event chronova records, one struct per event, each under a frozen type name
// and a schema number (docs/architecture.md, "The event model"); docs/events.md.
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

// A user asked for a lifecycle action on a live instance
// (POST /servers/{id}/action): "stop", "start", "reboot", "pause", "unpause",
// "suspend" or "resume" (core/instance_state.h LifecycleAction).
struct InstanceActionRequested {
  static constexpr const char* kType = "instance.action_requested";
  static constexpr uint32_t kSchema = 1;
  std::string action;
  bool hard = false;  // reboot: HARD rather than SOFT
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(action), CEREAL_NVP(hard));
  }
};

// The compute host carried the action out; the guest is now in power_state
// (Nova's numeric power state, as the driver read it back).
struct InstanceActionCompleted {
  static constexpr const char* kType = "instance.action_completed";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  std::string action;
  int32_t power_state = 0;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(action), CEREAL_NVP(power_state));
  }
};

// The compute host could not carry the action out; the instance keeps its
// vm_state and the task is cleared (Nova reverts the task state).
struct InstanceActionFailed {
  static constexpr const char* kType = "instance.action_failed";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  std::string action;
  std::string reason;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(action), CEREAL_NVP(reason));
  }
};

// A user asked to rescue the instance (the rescue action): its guest boots
// from a fresh disk of image_id (empty: the instance's own image) with its own
// disk attached second. The outcome is instance.action_completed/failed with
// action "rescue"; unrescue is an instance.action_requested ("unrescue"). The
// rescue password is never recorded.
struct InstanceRescueRequested {
  static constexpr const char* kType = "instance.rescue_requested";
  static constexpr uint32_t kSchema = 1;
  ImageId image_id;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(image_id));
  }
};

// A user asked to rebuild the instance from an image (the rebuild action):
// its disk is recreated from image_id; the name and metadata change with it
// when given (Nova updates them at once, in the API).
struct InstanceRebuildRequested {
  static constexpr const char* kType = "instance.rebuild_requested";
  static constexpr uint32_t kSchema = 1;
  ImageId image_id;
  std::string name;  // empty: unchanged
  bool replace_metadata = false;
  std::map<std::string, std::string> metadata;  // the new metadata, if replace_metadata
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(image_id), CEREAL_NVP(name), CEREAL_NVP(replace_metadata),
       CEREAL_NVP(metadata));
  }
};

// The compute host recreated the guest from the new image.
struct InstanceRebuilt {
  static constexpr const char* kType = "instance.rebuilt";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  int32_t power_state = 0;  // running, or shut down when it was stopped before
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(power_state));
  }
};

// The rebuild failed on the host: the instance goes to ERROR with a fault.
struct InstanceRebuildFailed {
  static constexpr const char* kType = "instance.rebuild_failed";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  std::string reason;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(reason));
  }
};

// An admin reset the instance's state (os-resetState): vm_state becomes
// "active" or "error" and any task is forgotten, as Nova does it.
struct InstanceStateReset {
  static constexpr const char* kType = "instance.state_reset";
  static constexpr uint32_t kSchema = 1;
  std::string vm_state;  // "active" or "error"
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(vm_state));
  }
};

// The guest's power state on `host` differs from the recorded one while no task
// runs on the instance (Nova's _sync_instance_power_state, from a libvirt
// lifecycle event or the compute host's reconciliation at start). Recorded by
// the conductor only when it differs; folded as Nova acts on it (core/
// instance_state.cc): an active or paused instance whose guest is found shut
// off or crashed is stopped; a stopped instance whose guest runs (or an active
// one whose guest is suspended) is stopped by its host (task powering-off).
struct InstancePowerStateChanged {
  static constexpr const char* kType = "instance.power_state_changed";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  int32_t power_state = 0;  // Nova's numeric power state, as the driver read it
  std::string reason;       // "lifecycle event", "compute host restart" ...
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(power_state), CEREAL_NVP(reason));
  }
};

// The instance was locked (os-lock): only admins may act on it until unlocked.
struct InstanceLocked {
  static constexpr const char* kType = "instance.locked";
  static constexpr uint32_t kSchema = 1;
  bool by_admin = false;  // Nova's locked_by "admin" rather than "owner"
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(by_admin));
  }
};

struct InstanceUnlocked {
  static constexpr const char* kType = "instance.unlocked";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// A user renamed the server or set its access addresses (PUT /servers/{id};
// at create, for accessIPv4/accessIPv6, in the same append as instance.requested).
// Only the fields whose has_* flag is set change.
struct InstanceUpdated {
  static constexpr const char* kType = "instance.updated";
  static constexpr uint32_t kSchema = 1;
  bool has_name = false;
  std::string name;
  bool has_access_ipv4 = false;
  std::string access_ipv4;
  bool has_access_ipv6 = false;
  std::string access_ipv6;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(has_name), CEREAL_NVP(name), CEREAL_NVP(has_access_ipv4),
       CEREAL_NVP(access_ipv4), CEREAL_NVP(has_access_ipv6), CEREAL_NVP(access_ipv6));
  }
};

// The server's metadata changed (the /servers/{id}/metadata API): `set` items
// were added or overwritten, then `removed` keys were deleted.
struct InstanceMetadataChanged {
  static constexpr const char* kType = "instance.metadata_changed";
  static constexpr uint32_t kSchema = 1;
  std::map<std::string, std::string> set;
  std::vector<std::string> removed;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(set), CEREAL_NVP(removed));
  }
};

// A user asked for a snapshot of the server (the createImage action). The
// image record image/<image_id> was created (queued) just before, in the same
// API call; the compute host fills it with the flattened root disk.
struct InstanceSnapshotRequested {
  static constexpr const char* kType = "instance.snapshot_requested";
  static constexpr uint32_t kSchema = 1;
  ImageId image_id;
  std::string name;  // the new image's name
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(image_id), CEREAL_NVP(name));
  }
};

// The compute host uploaded the snapshot: image_id is active with its data.
struct InstanceSnapshotCompleted {
  static constexpr const char* kType = "instance.snapshot_completed";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  ImageId image_id;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(image_id));
  }
};

// The snapshot failed on the host; the image was deleted and the server keeps
// its vm_state (the task is cleared, as Nova does).
struct InstanceSnapshotFailed {
  static constexpr const char* kType = "instance.snapshot_failed";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  ImageId image_id;
  std::string reason;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(image_id), CEREAL_NVP(reason));
  }
};

// A user asked to resize the server to `flavor` (the resize action). The API
// already moved the claims: on source_host the old flavor is held by the
// migration (Nova's migration consumer), on dest_host (which may be the same
// host) the new flavor by the instance. Task resize_prep.
struct InstanceResizeRequested {
  static constexpr const char* kType = "instance.resize_requested";
  static constexpr uint32_t kSchema = 1;
  std::string migration_id;  // a uuid; the consumer of the source claim
  FlavorSpec flavor;         // the new flavor
  HostName source_host;
  HostName dest_host;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(migration_id), CEREAL_NVP(flavor), CEREAL_NVP(source_host),
       CEREAL_NVP(dest_host));
  }
};

// The destination host runs the guest with the new flavor: vm_state resized
// (VERIFY_RESIZE), host = `host`, flavor = the new one.
struct InstanceResizeFinished {
  static constexpr const char* kType = "instance.resize_finished";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  int32_t power_state = 0;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(power_state));
  }
};

// The resize failed on the destination; the server keeps its old flavor and
// host, task cleared, with a fault. The conductor gives the claims back.
struct InstanceResizeFailed {
  static constexpr const char* kType = "instance.resize_failed";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  std::string reason;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(reason));
  }
};

// A user confirmed the resize (confirmResize): ACTIVE or SHUTOFF with the new
// flavor; the conductor releases the source claim (and the source guest).
struct InstanceResizeConfirmed {
  static constexpr const char* kType = "instance.resize_confirmed";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// A user asked to revert the resize (revertResize): task resize_reverting.
struct InstanceResizeRevertRequested {
  static constexpr const char* kType = "instance.resize_revert_requested";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// The old guest is back on the source host with the old flavor.
struct InstanceResizeReverted {
  static constexpr const char* kType = "instance.resize_reverted";
  static constexpr uint32_t kSchema = 1;
  HostName host;  // the host that reverted (the destination)
  int32_t power_state = 0;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(power_state));
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

// A user created an image record (POST /v2/images): status queued, no data yet.
// Empty disk_format / container_format mean "not set" (Glance's null).
struct ImageCreated {
  static constexpr const char* kType = "image.created";
  static constexpr uint32_t kSchema = 1;
  ImageId image_id;
  std::string name;
  std::string disk_format;
  std::string container_format;
  std::string visibility = "shared";
  ProjectId owner;
  int32_t min_disk = 0;
  int32_t min_ram = 0;
  bool is_protected = false;
  std::vector<std::string> tags;
  std::map<std::string, std::string> properties;  // Glance's custom properties
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(image_id), CEREAL_NVP(name), CEREAL_NVP(disk_format),
       CEREAL_NVP(container_format), CEREAL_NVP(visibility), CEREAL_NVP(owner),
       CEREAL_NVP(min_disk), CEREAL_NVP(min_ram), CEREAL_NVP(is_protected),
       CEREAL_NVP(tags), CEREAL_NVP(properties));
  }
};

// An upload's bytes were received and are being checked (status saving). Only
// one upload can win this: it is appended with the queued image's version.
struct ImageUploadStarted {
  static constexpr const char* kType = "image.upload_started";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// The upload could not be stored; the image is queued again, with no data.
struct ImageUploadFailed {
  static constexpr const char* kType = "image.upload_failed";
  static constexpr uint32_t kSchema = 1;
  std::string reason;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(reason));
  }
};

// The image's data is in the blob store (status active).
struct ImageActivated {
  static constexpr const char* kType = "image.activated";
  static constexpr uint32_t kSchema = 1;
  int64_t size = 0;
  std::string checksum;      // md5, hex
  std::string os_hash_algo;  // "sha512"
  std::string os_hash_value;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(size), CEREAL_NVP(checksum), CEREAL_NVP(os_hash_algo),
       CEREAL_NVP(os_hash_value));
  }
};

// The image's user-settable metadata after a PATCH (the whole new set, so a
// fold needs no earlier patch to understand this one).
struct ImageUpdated {
  static constexpr const char* kType = "image.updated";
  static constexpr uint32_t kSchema = 1;
  std::string name;
  std::string visibility;
  int32_t min_disk = 0;
  int32_t min_ram = 0;
  bool is_protected = false;
  std::vector<std::string> tags;
  std::map<std::string, std::string> properties;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(name), CEREAL_NVP(visibility), CEREAL_NVP(min_disk),
       CEREAL_NVP(min_ram), CEREAL_NVP(is_protected), CEREAL_NVP(tags),
       CEREAL_NVP(properties));
  }
};

// The image was deleted; its record disappears and its data is removed.
struct ImageDeleted {
  static constexpr const char* kType = "image.deleted";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// ---- token/<audit_id> -----------------------------------------------------

// An Identity v3 token was revoked (DELETE /v3/auth/tokens). Tokens are signed,
// not stored: this fact, folded into the revocations read model, is what makes
// every API process refuse the token (and every token sharing its audit id)
// until it would have expired anyway. Never carries the token itself.
struct TokenRevoked {
  static constexpr const char* kType = "token.revoked";
  static constexpr uint32_t kSchema = 1;
  std::string audit_id;  // the token's audit id (22 base64url characters)
  UserId user_id;        // whose token it was
  Timestamp expires_at;  // the token's own expiry: the revocation matters until then
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(audit_id), CEREAL_NVP(user_id), CEREAL_NVP(expires_at));
  }
};

// ---- aggregate/<id> -------------------------------------------------------
// Host aggregates (os-aggregates). The id is Nova's integer aggregate id.

// An admin created the aggregate; a non-empty availability_zone is its
// "availability_zone" metadata key, as in Nova.
struct AggregateCreated {
  static constexpr const char* kType = "aggregate.created";
  static constexpr uint32_t kSchema = 1;
  int64_t aggregate_id = 0;
  std::string name;
  std::string availability_zone;  // empty: none
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(aggregate_id), CEREAL_NVP(name), CEREAL_NVP(availability_zone));
  }
};

// An admin renamed the aggregate and/or changed its availability zone (PUT);
// both fields carry the values after the update.
struct AggregateUpdated {
  static constexpr const char* kType = "aggregate.updated";
  static constexpr uint32_t kSchema = 1;
  std::string name;
  std::string availability_zone;  // empty: none
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(name), CEREAL_NVP(availability_zone));
  }
};

// set_metadata: keys set to a value, and keys removed (null in the request).
struct AggregateMetadataSet {
  static constexpr const char* kType = "aggregate.metadata_set";
  static constexpr uint32_t kSchema = 1;
  std::map<std::string, std::string> set;
  std::vector<std::string> removed;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(set), CEREAL_NVP(removed));
  }
};

struct AggregateHostAdded {
  static constexpr const char* kType = "aggregate.host_added";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host));
  }
};

struct AggregateHostRemoved {
  static constexpr const char* kType = "aggregate.host_removed";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host));
  }
};

// The (empty) aggregate was deleted.
struct AggregateDeleted {
  static constexpr const char* kType = "aggregate.deleted";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// Every event type. The order is irrelevant to storage (types are stored by name).
using Event = std::variant<
    InstanceRequested, InstanceScheduled, InstanceSchedulingFailed, BuildStarted,
    InstanceSpawned, InstanceBuildFailed, InstanceDeleteRequested, InstanceDeleted,
    HostRegistered, HostResourcesClaimed, HostResourcesReleased, FlavorCreated,
    FlavorDeleted, ImageRegistered, InstanceActionRequested, InstanceActionCompleted,
    InstanceActionFailed, InstanceLocked, InstanceUnlocked, InstanceRebuildRequested,
    InstanceRebuilt, InstanceRebuildFailed, TokenRevoked, ImageCreated,
    ImageUploadStarted, ImageUploadFailed, ImageActivated, ImageUpdated, ImageDeleted,
    InstanceUpdated, InstanceMetadataChanged, HostServiceDisabled, HostServiceEnabled,
    AggregateCreated, AggregateUpdated, AggregateMetadataSet, AggregateHostAdded,
    AggregateHostRemoved, AggregateDeleted, FlavorAccessAdded, FlavorAccessRemoved,
    FlavorExtraSpecsSet, FlavorExtraSpecDeleted, KeypairCreated, KeypairDeleted,
    QuotaLimitsSet, QuotaLimitsDeleted, QuotaClassSet, QuotaUsageReserved,
    InstanceStateReset, InstanceSnapshotRequested, InstanceSnapshotCompleted,
    InstanceSnapshotFailed, InstancePowerStateChanged, InstanceRescueRequested,
    InstanceResizeRequested, InstanceResizeFinished, InstanceResizeFailed,
    InstanceResizeConfirmed, InstanceResizeRevertRequested, InstanceResizeReverted>;

// True for the events of instance/<uuid> streams.
template <typename T>
inline constexpr bool kIsInstanceEvent =
    std::is_same_v<T, InstanceRequested> || std::is_same_v<T, InstanceScheduled> ||
    std::is_same_v<T, InstanceSchedulingFailed> || std::is_same_v<T, BuildStarted> ||
    std::is_same_v<T, InstanceSpawned> || std::is_same_v<T, InstanceBuildFailed> ||
    std::is_same_v<T, InstanceDeleteRequested> || std::is_same_v<T, InstanceDeleted> ||
    std::is_same_v<T, InstanceActionRequested> ||
    std::is_same_v<T, InstanceActionCompleted> ||
    std::is_same_v<T, InstanceActionFailed> || std::is_same_v<T, InstanceLocked> ||
    std::is_same_v<T, InstanceUnlocked> || std::is_same_v<T, InstanceRebuildRequested> ||
    std::is_same_v<T, InstanceRebuilt> || std::is_same_v<T, InstanceRebuildFailed> ||
    std::is_same_v<T, InstanceUpdated> || std::is_same_v<T, InstanceMetadataChanged> ||
    std::is_same_v<T, InstanceStateReset> || std::is_same_v<T, InstanceRescueRequested> ||
    std::is_same_v<T, InstanceSnapshotRequested> ||
    std::is_same_v<T, InstanceSnapshotCompleted> ||
    std::is_same_v<T, InstanceSnapshotFailed> ||
    std::is_same_v<T, InstancePowerStateChanged> ||
    std::is_same_v<T, InstanceResizeRequested> ||
    std::is_same_v<T, InstanceResizeFinished> ||
    std::is_same_v<T, InstanceResizeFailed> ||
    std::is_same_v<T, InstanceResizeConfirmed> ||
    std::is_same_v<T, InstanceResizeRevertRequested> ||
    std::is_same_v<T, InstanceResizeReverted>;

// The frozen type name of an event.
const char* EventTypeName(const Event& e);

}  // namespace chronova
