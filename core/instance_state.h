// The instance state machine, with Nova's semantics: vm_state, task_state and
// power_state, and the API status derived from them. This is the single place
// that knows which transitions are legal; deciders, the conductor and the servers
// projection all go through it.
#pragma once

#include <cereal/cereal.hpp>
#include <map>
#include <string>
#include <string_view>

#include "core/envelope.h"
#include "core/events.h"
#include "core/status.h"
#include "core/types.h"

namespace chronova {

// nova/compute/vm_states.py
enum class VmState : uint8_t {
  kBuilding,
  kActive,
  kStopped,
  kPaused,
  kSuspended,
  kRescued,
  kResized,
  kSoftDeleted,
  kDeleted,
  kError,
  kShelved,
  kShelvedOffloaded,
};

// nova/compute/task_states.py (the subset chronova's actions use; grows with them)
enum class TaskState : uint8_t {
  kNone,
  kScheduling,
  kBlockDeviceMapping,
  kNetworking,
  kSpawning,
  kDeleting,
  kRebooting,
  kRebootingHard,
  kPausing,
  kUnpausing,
  kSuspending,
  kResuming,
  kPoweringOff,
  kPoweringOn,
  kRebuilding,
  kResizePrep,
  kResizeMigrating,
  kResizeFinish,
  kResizeReverting,
  kMigrating,
  kImageSnapshot,
  kShelving,
  kUnshelving,
  kRescuing,
  kUnrescuing,
  kImageBackup,
  kShelvingOffloading,
  kSoftDeleting,
  kRestoring,  // last: the value of each task above is stored in read models
};

// nova/compute/power_state.py (numeric values are Nova's and appear in the API)
enum class PowerState : uint8_t {
  kNoState = 0,
  kRunning = 1,
  kPaused = 3,
  kShutdown = 4,
  kCrashed = 6,
  kSuspended = 7,
};

// Nova's strings: "building", "soft-delete", "shelved_offloaded" ...
std::string_view VmStateName(VmState s);
// Nova's strings, or an empty view for kNone (the API shows null).
std::string_view TaskStateName(TaskState s);
// nova/compute/power_state.py STATE_MAP: "pending" (no state), "running",
// "paused", "shutdown", "crashed", "suspended".
std::string_view PowerStateName(PowerState s);

// The lifecycle actions of POST /servers/{id}/action that a compute host
// carries out, under Nova's method names (nova/compute/api.py).
enum class LifecycleAction : uint8_t {
  kStop,
  kStart,
  kReboot,
  kPause,
  kUnpause,
  kSuspend,
  kResume,
  kRescue,  // started by instance.rescue_requested (it names the rescue image)
  kUnrescue,
};

// Every LifecycleAction, in declaration order.
inline constexpr LifecycleAction kLifecycleActions[] = {
    LifecycleAction::kStop,   LifecycleAction::kStart,   LifecycleAction::kReboot,
    LifecycleAction::kPause,  LifecycleAction::kUnpause, LifecycleAction::kSuspend,
    LifecycleAction::kResume, LifecycleAction::kRescue,  LifecycleAction::kUnrescue,
};

// "stop", "start", "reboot" ... (the name events store and Nova's messages use).
std::string_view LifecycleActionName(LifecycleAction a);
// The action named `name`; InvalidArgument for an unknown one.
Result<LifecycleAction> ParseLifecycleAction(std::string_view name);
// The task state an action runs under (reboot: kRebooting or kRebootingHard).
TaskState TaskStateFor(LifecycleAction a, bool hard);
// The action running under task state `t`, if `t` is one of TaskStateFor's.
bool ActionOfTask(TaskState t, LifecycleAction* action, bool* hard);
// Where a successful action leaves the instance.
VmState VmStateAfter(LifecycleAction a);

// A server fault as Nova shows it in GET /servers/{id}.
struct Fault {
  int32_t code = 0;  // 500 for build failures, as Nova
  std::string message;
  Timestamp created;
  bool operator==(const Fault&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(code), CEREAL_NVP(message), CEREAL_NVP(created));
  }
};

// Everything known about one instance, folded from its stream.
struct InstanceState {
  bool exists = false;
  StreamVersion version;  // of the last event folded in
  InstanceId id;
  std::string name;
  ProjectId project_id;
  UserId user_id;
  FlavorSpec flavor;
  ImageId image_id;
  std::string availability_zone;
  std::string key_name;
  std::map<std::string, std::string> metadata;
  std::string access_ipv4;  // "" if unset
  std::string access_ipv6;
  // The description (2.19): null, or a string; not recorded for a server
  // created before 2.19, which Nova describes by its name.
  bool description_recorded = false;
  bool description_null = false;
  std::string description;
  std::vector<std::string> tags;  // sorted (2.26)
  std::string user_data;
  std::string reservation_id;
  int32_t launch_index = 0;
  HostName host;
  std::string hypervisor_name;
  VmState vm_state = VmState::kBuilding;
  TaskState task_state = TaskState::kNone;
  PowerState power_state = PowerState::kNoState;
  Timestamp created_at;
  Timestamp updated_at;
  Timestamp launched_at;    // 0: never launched
  Timestamp terminated_at;  // 0: not terminated
  RequestId create_request_id;
  // The request and the event that started the action in progress (create or
  // delete): whoever re-sends its work acts for them.
  RequestId task_request_id;
  Seq task_seq;
  bool has_fault = false;
  Fault fault;
  bool locked = false;
  bool locked_by_admin = false;  // Nova's locked_by: "admin", else "owner"
  std::string locked_reason;     // 2.73; empty: none (null)
  // 2.63's trusted_image_certificates; empty: none (null).
  std::vector<std::string> trusted_certs;
  bool auto_disk_config = false;  // OS-DCF:diskConfig AUTO (else MANUAL)
  // The image the last rescue booted (or boots) from; set by
  // instance.rescue_requested (empty there: the instance's own image).
  ImageId rescue_image_id;
  // The image a snapshot in progress (task image_snapshot) fills; empty otherwise.
  ImageId snapshot_image_id;
  // ... and, for a backup, its type and rotation (0 and "" for a snapshot).
  bool snapshot_backup = false;
  std::string snapshot_backup_type;
  int32_t snapshot_rotation = 0;
  // A resize in progress or awaiting confirmation (empty migration id: none):
  // the migration holding the old flavor's claim on the source host, and both
  // flavors (`flavor` is the old one until the resize finished, the new one
  // after).
  std::string migration_id;
  HostName resize_source_host;
  HostName resize_dest_host;
  FlavorSpec resize_old_flavor;
  FlavorSpec resize_new_flavor;
  // The resize in progress is confirmed by the conductor once it finished.
  bool resize_auto_confirm = false;
  // The image a shelve fills, and that a shelved server is unshelved from
  // (empty otherwise); whether the shelve in progress also offloads.
  ImageId shelved_image_id;
  bool shelve_offload = false;

  bool operator==(const InstanceState&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(exists), CEREAL_NVP(version), CEREAL_NVP(id), CEREAL_NVP(name),
       CEREAL_NVP(project_id), CEREAL_NVP(user_id), CEREAL_NVP(flavor),
       CEREAL_NVP(image_id), CEREAL_NVP(availability_zone), CEREAL_NVP(key_name),
       CEREAL_NVP(metadata), CEREAL_NVP(user_data), CEREAL_NVP(reservation_id),
       CEREAL_NVP(launch_index), CEREAL_NVP(host), CEREAL_NVP(hypervisor_name),
       CEREAL_NVP(vm_state), CEREAL_NVP(task_state), CEREAL_NVP(power_state),
       CEREAL_NVP(created_at), CEREAL_NVP(updated_at), CEREAL_NVP(launched_at),
       CEREAL_NVP(terminated_at), CEREAL_NVP(create_request_id),
       CEREAL_NVP(task_request_id), CEREAL_NVP(task_seq), CEREAL_NVP(has_fault),
       CEREAL_NVP(fault), CEREAL_NVP(locked), CEREAL_NVP(locked_by_admin),
       CEREAL_NVP(access_ipv4), CEREAL_NVP(access_ipv6), CEREAL_NVP(snapshot_image_id),
       CEREAL_NVP(rescue_image_id), CEREAL_NVP(migration_id),
       CEREAL_NVP(resize_source_host), CEREAL_NVP(resize_dest_host),
       CEREAL_NVP(resize_old_flavor), CEREAL_NVP(resize_new_flavor),
       CEREAL_NVP(description_recorded), CEREAL_NVP(description_null),
       CEREAL_NVP(description), CEREAL_NVP(tags), CEREAL_NVP(auto_disk_config),
       CEREAL_NVP(locked_reason), CEREAL_NVP(trusted_certs), CEREAL_NVP(snapshot_backup),
       CEREAL_NVP(snapshot_backup_type), CEREAL_NVP(snapshot_rotation),
       CEREAL_NVP(shelved_image_id), CEREAL_NVP(shelve_offload),
       CEREAL_NVP(resize_auto_confirm));
  }
};

// The API status Nova derives from vm_state + task_state (nova/api/openstack/
// common.py _STATE_MAP): "BUILD", "ACTIVE", "REBOOT", "VERIFY_RESIZE" ...
std::string_view ApiStatus(VmState vm, TaskState task);
inline std::string_view ApiStatus(const InstanceState& s) {
  return ApiStatus(s.vm_state, s.task_state);
}

// True while the instance has work under way that the conductor sees through: it
// is building, or a task (deleting, rebooting, resizing ...) is running. The
// servers read model indexes these, so the conductor's sweep reads only them.
inline bool InFlight(const InstanceState& s) {
  return s.exists && s.vm_state != VmState::kDeleted &&
         (s.vm_state == VmState::kBuilding || s.task_state != TaskState::kNone);
}

// OK if `event` may happen next to an instance in `state`; Conflict (naming the
// states) if not; InvalidArgument if `event` is not an instance event.
Status CheckTransition(const InstanceState& state, const Event& event);

// Folds one event that already happened into `state`. Total and deterministic:
// it trusts the log (legality was checked before the append).
// REQUIRES: `event` was decoded from `env`.
void ApplyEvent(InstanceState& state, const Envelope& env, const Event& event);

}  // namespace chronova
