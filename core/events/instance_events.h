// The events of instance/<uuid> streams (docs/events.md). Adding one: a struct
// here with a frozen kType and kSchema, and its name in InstanceEvents below;
// core/events.h gathers every list into Event.
#pragma once

#include <cereal/cereal.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/events/event_list.h"
#include "core/events/flavor_spec.h"
#include "core/types.h"

namespace chronova {

// A user asked for a new server (POST /servers). Starts the stream. Schema 2
// adds the host and compute node an admin asked for (2.74); schema 1 is
// upcast with none.
struct InstanceRequested {
  static constexpr const char* kType = "instance.requested";
  static constexpr uint32_t kSchema = 2;
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
  HostName requested_host;     // empty: the scheduler chooses
  std::string requested_node;  // a hypervisor_hostname; empty: any
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(instance_id), CEREAL_NVP(name), CEREAL_NVP(project_id),
       CEREAL_NVP(user_id), CEREAL_NVP(flavor), CEREAL_NVP(image_id),
       CEREAL_NVP(availability_zone), CEREAL_NVP(key_name), CEREAL_NVP(metadata),
       CEREAL_NVP(user_data), CEREAL_NVP(reservation_id), CEREAL_NVP(launch_index),
       CEREAL_NVP(scheduler_hints), CEREAL_NVP(requested_host),
       CEREAL_NVP(requested_node));
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
// Schema 2 adds `consoles`: the consoles the guest was started with, by kind
// ("vnc", "spice", "serial") -> where its host serves them ("127.0.0.1:5900";
// "on demand" for a simulated host's).
struct InstanceSpawned {
  static constexpr const char* kType = "instance.spawned";
  static constexpr uint32_t kSchema = 2;
  HostName host;
  std::string hypervisor_name;  // e.g. the libvirt domain name
  std::map<std::string, std::string> consoles;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(hypervisor_name), CEREAL_NVP(consoles));
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
// Schema 2 adds the reason (2.73's locked_reason); schema 1 is upcast with none.
struct InstanceLocked {
  static constexpr const char* kType = "instance.locked";
  static constexpr uint32_t kSchema = 2;
  bool by_admin = false;  // Nova's locked_by "admin" rather than "owner"
  std::string reason;     // empty: none (null)
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(by_admin), CEREAL_NVP(reason));
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
// Only the fields whose has_* flag is set change. Schema 3 adds what a rebuild
// (or a create) may set beside the image: the key pair's name (2.54), the
// user data (2.57) and the trusted image certificates (2.63); schema 2 is
// upcast with none of them set.
struct InstanceUpdated {
  static constexpr const char* kType = "instance.updated";
  static constexpr uint32_t kSchema = 3;  // 2: the description (microversion 2.19)
  bool has_name = false;
  std::string name;
  bool has_access_ipv4 = false;
  std::string access_ipv4;
  bool has_access_ipv6 = false;
  std::string access_ipv6;
  // The server's description: set (has_description) to a string, or to null
  // (description_null), on create, update or rebuild at 2.19 or later.
  bool has_description = false;
  bool description_null = false;
  std::string description;
  bool has_key_name = false;
  std::string key_name;  // empty: none (null)
  bool has_user_data = false;
  std::string user_data;  // base64, as the API received it; empty: none
  bool has_trusted_certs = false;
  std::vector<std::string> trusted_certs;  // empty: none (null)
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(has_name), CEREAL_NVP(name), CEREAL_NVP(has_access_ipv4),
       CEREAL_NVP(access_ipv4), CEREAL_NVP(has_access_ipv6), CEREAL_NVP(access_ipv6),
       CEREAL_NVP(has_description), CEREAL_NVP(description_null), CEREAL_NVP(description),
       CEREAL_NVP(has_key_name), CEREAL_NVP(key_name), CEREAL_NVP(has_user_data),
       CEREAL_NVP(user_data), CEREAL_NVP(has_trusted_certs), CEREAL_NVP(trusted_certs));
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

// A user asked for a snapshot of the server (the createImage action) or a
// backup (createBackup: `backup`, with its type and rotation). The image
// record image/<image_id> was created (queued) just before, in the same API
// call; the compute host fills it with the flattened root disk and, for a
// backup, then deletes the server's oldest backups of that type beyond
// `rotation`. Schema 2 adds the backup; schema 1 is upcast as a snapshot.
struct InstanceSnapshotRequested {
  static constexpr const char* kType = "instance.snapshot_requested";
  static constexpr uint32_t kSchema = 2;
  ImageId image_id;
  std::string name;  // the new image's name
  bool backup = false;
  std::string backup_type;  // "daily", "weekly" ... (Nova does not check it)
  int32_t rotation = 0;     // how many backups of the type to keep
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(image_id), CEREAL_NVP(name), CEREAL_NVP(backup),
       CEREAL_NVP(backup_type), CEREAL_NVP(rotation));
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

// A user asked to resize the server to `flavor` (the resize action), or an
// admin to move it to another host with its own flavor (the migrate action,
// migration_type "migration"). The API already moved the claims: on
// source_host the old flavor is held by the migration (Nova's migration
// consumer), on dest_host (which may be the same host for a resize) the new
// flavor by the instance. Task resize_prep. Schema 2 adds migration_type;
// schema 1 is upcast as a resize. Schema 3 adds confirm_when_finished (EC2's
// ModifyInstanceAttribute instanceType: the conductor confirms the resize
// once it finished); older ones are upcast without it.
struct InstanceResizeRequested {
  static constexpr const char* kType = "instance.resize_requested";
  static constexpr uint32_t kSchema = 3;
  std::string migration_id;  // a uuid; the consumer of the source claim
  FlavorSpec flavor;         // the new flavor
  HostName source_host;
  HostName dest_host;
  std::string migration_type = "resize";  // Nova's: "resize" or "migration"
  bool confirm_when_finished = false;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(migration_id), CEREAL_NVP(flavor), CEREAL_NVP(source_host),
       CEREAL_NVP(dest_host), CEREAL_NVP(migration_type),
       CEREAL_NVP(confirm_when_finished));
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

// A user was given a console (os-getVNCConsole, os-getSPICEConsole,
// os-getSerialConsole): a token the console proxies accept until `expires_at`
// for the guest's console at console_host:port on compute_host. Only the
// token's SHA-256 (hex) is recorded, never the token. The instance's tokens are
// revoked by its instance.deleted, instance.resize_finished and
// instance.resize_reverted (the guest moved, or its console did).
struct InstanceConsoleAuthorized {
  static constexpr const char* kType = "instance.console_authorized";
  static constexpr uint32_t kSchema = 1;
  std::string token_hash;
  std::string console_type;  // novnc, spice-html5, serial
  HostName compute_host;
  std::string console_host;  // the address the compute host's console listens on
  int32_t port = 0;
  std::string internal_access_path;
  Timestamp expires_at;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(token_hash), CEREAL_NVP(console_type), CEREAL_NVP(compute_host),
       CEREAL_NVP(console_host), CEREAL_NVP(port), CEREAL_NVP(internal_access_path),
       CEREAL_NVP(expires_at));
  }
};

// A user asked for a crash dump of the guest (trigger_crash_dump, microversion
// 2.17): its host injects an NMI. No task: Nova's is a cast, and so is ours.
struct InstanceCrashDumpRequested {
  static constexpr const char* kType = "instance.crash_dump_requested";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// The host injected the NMI (reason empty), or could not (reason says why:
// "Triggering crash dump is not supported" for a driver without NMIs).
struct InstanceCrashDumpFinished {
  static constexpr const char* kType = "instance.crash_dump_finished";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  std::string reason;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(reason));
  }
};

// The server's tags changed (os-server-tags, microversion 2.26): `tags` is the
// whole set after the change, sorted.
struct InstanceTagsSet {
  static constexpr const char* kType = "instance.tags_set";
  static constexpr uint32_t kSchema = 1;
  std::vector<std::string> tags;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(tags));
  }
};

// Another service told Nova's API something about the server
// (os-server-external-events: network-changed, network-vif-plugged, ...;
// volume-extended from 2.51). Accepted and recorded: chronova has no network
// or volume service whose changes a host would act on.
struct InstanceExternalEventReceived {
  static constexpr const char* kType = "instance.external_event_received";
  static constexpr uint32_t kSchema = 1;
  std::string name;
  std::string status;  // "completed", "failed" or "in-progress"
  std::string tag;     // "" if none
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(name), CEREAL_NVP(status), CEREAL_NVP(tag));
  }
};

// The server's disk is (or is no longer) resized and partitioned to fill its
// flavor by the guest's tools (Nova's auto_disk_config; the API's
// OS-DCF:diskConfig AUTO or MANUAL): recorded with a create, rebuild, resize
// or update request that sets it.
struct InstanceDiskConfigSet {
  static constexpr const char* kType = "instance.disk_config_set";
  static constexpr uint32_t kSchema = 1;
  bool auto_disk_config = false;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(auto_disk_config));
  }
};

// A user shelved the server (the shelve action): its host powers the guest off
// and uploads its disk into the queued image `image_id` ("<name>-shelved").
// `offload`: then the guest goes and the host's claim is released (nova.conf
// shelved_offload_time = 0, the default, as the API had it configured).
struct InstanceShelveRequested {
  static constexpr const char* kType = "instance.shelve_requested";
  static constexpr uint32_t kSchema = 1;
  ImageId image_id;
  bool offload = false;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(image_id), CEREAL_NVP(offload));
  }
};

// An admin (or the shelved_offload_time sweep) asked for a shelved server's
// guest to leave its host (shelveOffload).
struct InstanceShelveOffloadRequested {
  static constexpr const char* kType = "instance.shelve_offload_requested";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// The host shelved the server: SHELVED (the guest is off, still defined on
// `host`) or, `offloaded`, SHELVED_OFFLOADED (the guest is gone and the server
// is on no host).
struct InstanceShelved {
  static constexpr const char* kType = "instance.shelved";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  bool offloaded = false;
  int32_t power_state = 0;  // Nova's numeric power state after it
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(offloaded), CEREAL_NVP(power_state));
  }
};

// Shelving (or offloading) failed on `host`: the server stays where it was,
// with no task; a shelve's image was deleted.
struct InstanceShelveFailed {
  static constexpr const char* kType = "instance.shelve_failed";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  int32_t power_state = 0;
  std::string reason;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(power_state), CEREAL_NVP(reason));
  }
};

// A user asked for a shelved server back (unshelve). A SHELVED server starts
// on its host; a SHELVED_OFFLOADED one is placed again by the scheduler
// (instance.scheduled) in `availability_zone` when `has_availability_zone`
// (2.77), then spawned from its shelved image.
struct InstanceUnshelveRequested {
  static constexpr const char* kType = "instance.unshelve_requested";
  static constexpr uint32_t kSchema = 1;
  bool has_availability_zone = false;
  std::string availability_zone;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(has_availability_zone), CEREAL_NVP(availability_zone));
  }
};

// The server runs again on `host`; its shelved image was deleted.
// `hypervisor_name` and `consoles` are the new guest's (empty for a guest
// that was only started again).
struct InstanceUnshelved {
  static constexpr const char* kType = "instance.unshelved";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  int32_t power_state = 0;
  std::string hypervisor_name;
  std::map<std::string, std::string> consoles;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(power_state), CEREAL_NVP(hypervisor_name),
       CEREAL_NVP(consoles));
  }
};

// Unshelving failed on `host`: the server is shelved again (an offloaded one
// on no host, its claim there released), with the reason as its fault.
struct InstanceUnshelveFailed {
  static constexpr const char* kType = "instance.unshelve_failed";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  std::string reason;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(reason));
  }
};

// DELETE /servers/{id} with reclaim_instance_interval > 0 (Nova's soft
// delete): the host powers the guest off and the server waits, SOFT_DELETED,
// for a restore, a forceDelete or its reclaim.
struct InstanceSoftDeleteRequested {
  static constexpr const char* kType = "instance.soft_delete_requested";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// The host powered the soft-deleted server's guest off.
struct InstanceSoftDeleted {
  static constexpr const char* kType = "instance.soft_deleted";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  int32_t power_state = 0;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(power_state));
  }
};

// A user brought a SOFT_DELETED server back (restore): its host starts it.
struct InstanceRestoreRequested {
  static constexpr const char* kType = "instance.restore_requested";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// The host started the restored server's guest.
struct InstanceRestored {
  static constexpr const char* kType = "instance.restored";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  int32_t power_state = 0;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(power_state));
  }
};

// Every event of instance/<uuid> streams.
using InstanceEvents = EventList<
    InstanceRequested, InstanceScheduled, InstanceSchedulingFailed, BuildStarted,
    InstanceSpawned, InstanceBuildFailed, InstanceDeleteRequested, InstanceDeleted,
    InstanceActionRequested, InstanceActionCompleted, InstanceActionFailed,
    InstanceRescueRequested, InstanceRebuildRequested, InstanceRebuilt,
    InstanceRebuildFailed, InstanceStateReset, InstancePowerStateChanged, InstanceLocked,
    InstanceUnlocked, InstanceUpdated, InstanceMetadataChanged, InstanceSnapshotRequested,
    InstanceSnapshotCompleted, InstanceSnapshotFailed, InstanceResizeRequested,
    InstanceResizeFinished, InstanceResizeFailed, InstanceResizeConfirmed,
    InstanceResizeRevertRequested, InstanceResizeReverted, InstanceConsoleAuthorized,
    InstanceCrashDumpRequested, InstanceCrashDumpFinished, InstanceTagsSet,
    InstanceExternalEventReceived, InstanceDiskConfigSet, InstanceShelveRequested,
    InstanceShelveOffloadRequested, InstanceShelved, InstanceShelveFailed,
    InstanceUnshelveRequested, InstanceUnshelved, InstanceUnshelveFailed,
    InstanceSoftDeleteRequested, InstanceSoftDeleted, InstanceRestoreRequested,
    InstanceRestored>;

}  // namespace chronova
