#include "core/instance_state.h"

#include <type_traits>

namespace chronova {

std::string_view VmStateName(VmState s) {
  switch (s) {
    case VmState::kBuilding:
      return "building";
    case VmState::kActive:
      return "active";
    case VmState::kStopped:
      return "stopped";
    case VmState::kPaused:
      return "paused";
    case VmState::kSuspended:
      return "suspended";
    case VmState::kRescued:
      return "rescued";
    case VmState::kResized:
      return "resized";
    case VmState::kSoftDeleted:
      return "soft-delete";
    case VmState::kDeleted:
      return "deleted";
    case VmState::kError:
      return "error";
    case VmState::kShelved:
      return "shelved";
    case VmState::kShelvedOffloaded:
      return "shelved_offloaded";
  }
  return "unknown";
}

std::string_view PowerStateName(PowerState s) {
  switch (s) {
    case PowerState::kRunning:
      return "running";
    case PowerState::kPaused:
      return "paused";
    case PowerState::kShutdown:
      return "shutdown";
    case PowerState::kCrashed:
      return "crashed";
    case PowerState::kSuspended:
      return "suspended";
    case PowerState::kNoState:
      break;
  }
  return "pending";
}

std::string_view TaskStateName(TaskState s) {
  switch (s) {
    case TaskState::kNone:
      return "";
    case TaskState::kScheduling:
      return "scheduling";
    case TaskState::kBlockDeviceMapping:
      return "block_device_mapping";
    case TaskState::kNetworking:
      return "networking";
    case TaskState::kSpawning:
      return "spawning";
    case TaskState::kDeleting:
      return "deleting";
    case TaskState::kRebooting:
      return "rebooting";
    case TaskState::kRebootingHard:
      return "rebooting_hard";
    case TaskState::kPausing:
      return "pausing";
    case TaskState::kUnpausing:
      return "unpausing";
    case TaskState::kSuspending:
      return "suspending";
    case TaskState::kResuming:
      return "resuming";
    case TaskState::kPoweringOff:
      return "powering-off";
    case TaskState::kPoweringOn:
      return "powering-on";
    case TaskState::kRebuilding:
      return "rebuilding";
    case TaskState::kResizePrep:
      return "resize_prep";
    case TaskState::kResizeMigrating:
      return "resize_migrating";
    case TaskState::kResizeFinish:
      return "resize_finish";
    case TaskState::kResizeReverting:
      return "resize_reverting";
    case TaskState::kMigrating:
      return "migrating";
    case TaskState::kImageSnapshot:
      return "image_snapshot";
    case TaskState::kImageBackup:
      return "image_backup";
    case TaskState::kShelving:
      return "shelving";
    case TaskState::kUnshelving:
      return "unshelving";
    case TaskState::kShelvingOffloading:
      return "shelving_offloading";
    case TaskState::kSoftDeleting:
      return "soft-deleting";
    case TaskState::kRestoring:
      return "restoring";
    case TaskState::kRescuing:
      return "rescuing";
    case TaskState::kUnrescuing:
      return "unrescuing";
  }
  return "unknown";
}

std::string_view LifecycleActionName(LifecycleAction a) {
  switch (a) {
    case LifecycleAction::kStop:
      return "stop";
    case LifecycleAction::kStart:
      return "start";
    case LifecycleAction::kReboot:
      return "reboot";
    case LifecycleAction::kPause:
      return "pause";
    case LifecycleAction::kUnpause:
      return "unpause";
    case LifecycleAction::kSuspend:
      return "suspend";
    case LifecycleAction::kResume:
      return "resume";
    case LifecycleAction::kRescue:
      return "rescue";
    case LifecycleAction::kUnrescue:
      return "unrescue";
  }
  return "unknown";
}

Result<LifecycleAction> ParseLifecycleAction(std::string_view name) {
  for (LifecycleAction a : kLifecycleActions) {
    if (LifecycleActionName(a) == name) return a;
  }
  return Status::InvalidArgument("unknown lifecycle action '" + std::string(name) + "'");
}

TaskState TaskStateFor(LifecycleAction a, bool hard) {
  switch (a) {
    case LifecycleAction::kStop:
      return TaskState::kPoweringOff;
    case LifecycleAction::kStart:
      return TaskState::kPoweringOn;
    case LifecycleAction::kReboot:
      return hard ? TaskState::kRebootingHard : TaskState::kRebooting;
    case LifecycleAction::kPause:
      return TaskState::kPausing;
    case LifecycleAction::kUnpause:
      return TaskState::kUnpausing;
    case LifecycleAction::kSuspend:
      return TaskState::kSuspending;
    case LifecycleAction::kResume:
      return TaskState::kResuming;
    case LifecycleAction::kRescue:
      return TaskState::kRescuing;
    case LifecycleAction::kUnrescue:
      return TaskState::kUnrescuing;
  }
  return TaskState::kNone;
}

bool ActionOfTask(TaskState t, LifecycleAction* action, bool* hard) {
  for (LifecycleAction a : kLifecycleActions) {
    for (bool h : {false, true}) {
      if (TaskStateFor(a, h) == t) {
        *action = a;
        *hard = h;
        return true;
      }
    }
  }
  return false;
}

VmState VmStateAfter(LifecycleAction a) {
  switch (a) {
    case LifecycleAction::kStop:
      return VmState::kStopped;
    case LifecycleAction::kPause:
      return VmState::kPaused;
    case LifecycleAction::kSuspend:
      return VmState::kSuspended;
    case LifecycleAction::kRescue:
      return VmState::kRescued;
    case LifecycleAction::kStart:
    case LifecycleAction::kUnrescue:
    case LifecycleAction::kReboot:
    case LifecycleAction::kUnpause:
    case LifecycleAction::kResume:
      return VmState::kActive;
  }
  return VmState::kActive;
}

std::string_view ApiStatus(VmState vm, TaskState task) {
  auto resize_or_rebuild = [&](std::string_view dflt) -> std::string_view {
    switch (task) {
      case TaskState::kResizePrep:
      case TaskState::kResizeMigrating:
      case TaskState::kResizeFinish:
        return "RESIZE";
      case TaskState::kRebuilding:
        return "REBUILD";
      default:
        return dflt;
    }
  };
  switch (vm) {
    case VmState::kActive:
      switch (task) {
        case TaskState::kRebooting:
          return "REBOOT";
        case TaskState::kRebootingHard:
          return "HARD_REBOOT";
        case TaskState::kMigrating:
          return "MIGRATING";
        default:
          return resize_or_rebuild("ACTIVE");
      }
    case VmState::kBuilding:
      return "BUILD";
    case VmState::kStopped:
      return resize_or_rebuild("SHUTOFF");
    case VmState::kResized:
      return task == TaskState::kResizeReverting ? "REVERT_RESIZE" : "VERIFY_RESIZE";
    case VmState::kPaused:
      return task == TaskState::kMigrating ? "MIGRATING" : "PAUSED";
    case VmState::kSuspended:
      return "SUSPENDED";
    case VmState::kRescued:
      return "RESCUE";
    case VmState::kError:
      return task == TaskState::kRebuilding ? "REBUILD" : "ERROR";
    case VmState::kDeleted:
      return "DELETED";
    case VmState::kSoftDeleted:
      return "SOFT_DELETED";
    case VmState::kShelved:
      return "SHELVED";
    case VmState::kShelvedOffloaded:
      return "SHELVED_OFFLOADED";
  }
  return "UNKNOWN";
}

namespace {

Status Illegal(const InstanceState& s, const char* type) {
  return Status::Conflict(
      std::string(type) + " is not legal for instance " + s.id.str() + " in vm_state " +
      std::string(VmStateName(s.vm_state)) + ", task_state " +
      (s.task_state == TaskState::kNone ? std::string("None")
                                        : std::string(TaskStateName(s.task_state))));
}

bool Building(const InstanceState& s) {
  return s.exists && s.vm_state == VmState::kBuilding;
}

// An offloaded server being unshelved, before the scheduler placed it.
bool UnshelveWaitsForHost(const InstanceState& s) {
  return s.exists && s.vm_state == VmState::kShelvedOffloaded &&
         s.task_state == TaskState::kUnshelving && s.host.empty();
}

bool Live(const InstanceState& s) {
  return s.exists && s.vm_state != VmState::kDeleted &&
         s.task_state != TaskState::kDeleting;
}

// Nova's check_instance_state for each action (nova/compute/api.py): the vm
// states it may start from. Every action needs task_state None, except a hard
// reboot, which may also take over a soft one (Nova allows it to rescue a
// guest stuck rebooting).
bool MayStart(const InstanceState& s, LifecycleAction a, bool hard) {
  if (!Live(s) || s.host.empty()) return false;
  const bool idle = s.task_state == TaskState::kNone;
  switch (a) {
    case LifecycleAction::kStop:
      return idle && (s.vm_state == VmState::kActive || s.vm_state == VmState::kError);
    case LifecycleAction::kStart:
      return idle && s.vm_state == VmState::kStopped;
    case LifecycleAction::kReboot:
      if (!hard) return idle && s.vm_state == VmState::kActive;
      return (idle || s.task_state == TaskState::kRebooting) &&
             (s.vm_state == VmState::kActive || s.vm_state == VmState::kStopped ||
              s.vm_state == VmState::kPaused || s.vm_state == VmState::kSuspended ||
              s.vm_state == VmState::kError);
    case LifecycleAction::kPause:
    case LifecycleAction::kSuspend:
      return idle && s.vm_state == VmState::kActive;
    case LifecycleAction::kUnpause:
      return idle && s.vm_state == VmState::kPaused;
    case LifecycleAction::kResume:
      return idle && s.vm_state == VmState::kSuspended;
    case LifecycleAction::kRescue:  // nova/compute/api.py rescue
      return idle && (s.vm_state == VmState::kActive || s.vm_state == VmState::kStopped ||
                      s.vm_state == VmState::kError);
    case LifecycleAction::kUnrescue:
      return idle && s.vm_state == VmState::kRescued;
  }
  return false;
}

// A compute host's outcome of `action` is legal while that action runs on it.
bool Running(const InstanceState& s, const std::string& action, const HostName& host) {
  Result<LifecycleAction> a = ParseLifecycleAction(action);
  if (!a.ok() || !s.exists || s.host != host) return false;
  if (*a == LifecycleAction::kReboot) {
    return s.task_state == TaskState::kRebooting ||
           s.task_state == TaskState::kRebootingHard;
  }
  return s.task_state == TaskStateFor(*a, false);
}

}  // namespace

Status CheckTransition(const InstanceState& s, const Event& event) {
  const char* type = EventTypeName(event);
  bool legal = std::visit(
      [&](const auto& e) -> bool {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, InstanceRequested>) {
          return !s.exists;
        } else if constexpr (std::is_same_v<T, InstanceScheduled> ||
                             std::is_same_v<T, InstanceSchedulingFailed>) {
          return (Building(s) && s.task_state == TaskState::kScheduling) ||
                 UnshelveWaitsForHost(s);
        } else if constexpr (std::is_same_v<T, BuildStarted>) {
          return Building(s) && s.task_state == TaskState::kNone && s.host == e.host;
        } else if constexpr (std::is_same_v<T, InstanceSpawned>) {
          return Building(s) && s.host == e.host &&
                 (s.task_state == TaskState::kSpawning ||
                  s.task_state == TaskState::kNetworking ||
                  s.task_state == TaskState::kBlockDeviceMapping);
        } else if constexpr (std::is_same_v<T, InstanceBuildFailed>) {
          return Building(s) && s.host == e.host && s.task_state != TaskState::kDeleting;
        } else if constexpr (std::is_same_v<T, InstanceDeleteRequested>) {
          return s.exists && s.vm_state != VmState::kDeleted &&
                 s.task_state != TaskState::kDeleting;
        } else if constexpr (std::is_same_v<T, InstanceDeleted>) {
          return s.exists && s.vm_state != VmState::kDeleted &&
                 s.task_state == TaskState::kDeleting && s.host == e.host;
        } else if constexpr (std::is_same_v<T, InstanceActionRequested>) {
          // A rescue names its image: it starts only with instance.rescue_requested.
          Result<LifecycleAction> a = ParseLifecycleAction(e.action);
          return a.ok() && *a != LifecycleAction::kRescue && MayStart(s, *a, e.hard);
        } else if constexpr (std::is_same_v<T, InstanceRescueRequested>) {
          return MayStart(s, LifecycleAction::kRescue, false);
        } else if constexpr (std::is_same_v<T, InstanceActionCompleted> ||
                             std::is_same_v<T, InstanceActionFailed>) {
          return Running(s, e.action, e.host);
        } else if constexpr (std::is_same_v<T, InstanceRebuildRequested>) {
          // Nova's rebuild: vm_state active, stopped or error, no task.
          return Live(s) && !s.host.empty() && s.task_state == TaskState::kNone &&
                 (s.vm_state == VmState::kActive || s.vm_state == VmState::kStopped ||
                  s.vm_state == VmState::kError);
        } else if constexpr (std::is_same_v<T, InstanceRebuilt> ||
                             std::is_same_v<T, InstanceRebuildFailed>) {
          return s.exists && s.task_state == TaskState::kRebuilding && s.host == e.host;
        } else if constexpr (std::is_same_v<T, InstanceSnapshotRequested>) {
          // Nova's snapshot: vm_state active, stopped, paused or suspended, no
          // task (a lock does not stop it).
          return Live(s) && !s.host.empty() && s.task_state == TaskState::kNone &&
                 (s.vm_state == VmState::kActive || s.vm_state == VmState::kStopped ||
                  s.vm_state == VmState::kPaused || s.vm_state == VmState::kSuspended);
        } else if constexpr (std::is_same_v<T, InstanceSnapshotCompleted> ||
                             std::is_same_v<T, InstanceSnapshotFailed>) {
          return s.exists &&
                 (s.task_state == TaskState::kImageSnapshot ||
                  s.task_state == TaskState::kImageBackup) &&
                 s.host == e.host && s.snapshot_image_id == e.image_id;
        } else if constexpr (std::is_same_v<T, InstanceResizeRequested>) {
          // Nova's resize: vm_state active or stopped, no task, on its host.
          return Live(s) && !s.host.empty() && s.task_state == TaskState::kNone &&
                 (s.vm_state == VmState::kActive || s.vm_state == VmState::kStopped) &&
                 e.source_host == s.host && !e.migration_id.empty();
        } else if constexpr (std::is_same_v<T, InstanceResizeFinished> ||
                             std::is_same_v<T, InstanceResizeFailed>) {
          return s.exists && s.task_state == TaskState::kResizePrep &&
                 e.host == s.resize_dest_host;
        } else if constexpr (std::is_same_v<T, InstanceResizeConfirmed> ||
                             std::is_same_v<T, InstanceResizeRevertRequested>) {
          return Live(s) && s.vm_state == VmState::kResized &&
                 s.task_state == TaskState::kNone && !s.migration_id.empty();
        } else if constexpr (std::is_same_v<T, InstanceResizeReverted>) {
          return s.exists && s.task_state == TaskState::kResizeReverting &&
                 e.host == s.host;
        } else if constexpr (std::is_same_v<T, InstanceStateReset>) {
          return s.exists && s.vm_state != VmState::kDeleted &&
                 (e.vm_state == "active" || e.vm_state == "error");
        } else if constexpr (std::is_same_v<T, InstancePowerStateChanged>) {
          // Nova's _sync_instance_power_state: only the instance's own host,
          // only with no task (an action in flight explains its own changes),
          // only a real difference; a building guest is the build's business.
          return Live(s) && s.host == e.host && s.task_state == TaskState::kNone &&
                 s.vm_state != VmState::kBuilding &&
                 static_cast<int32_t>(s.power_state) != e.power_state;
        } else if constexpr (std::is_same_v<T, InstanceLocked>) {
          return Live(s) && !s.locked;
        } else if constexpr (std::is_same_v<T, InstanceUnlocked>) {
          return Live(s) && s.locked;
        } else if constexpr (std::is_same_v<T, InstanceConsoleAuthorized>) {
          // Nova's get_*_console: on its host, not while deleting or migrating.
          return Live(s) && !s.host.empty() && s.host == e.compute_host &&
                 s.task_state != TaskState::kDeleting &&
                 s.task_state != TaskState::kMigrating;
        } else if constexpr (std::is_same_v<T, InstanceCrashDumpRequested>) {
          // Nova's trigger_crash_dump: active, paused, rescued, resized or
          // error, with no task.
          return Live(s) && !s.host.empty() && s.task_state == TaskState::kNone &&
                 (s.vm_state == VmState::kActive || s.vm_state == VmState::kPaused ||
                  s.vm_state == VmState::kRescued || s.vm_state == VmState::kResized ||
                  s.vm_state == VmState::kError);
        } else if constexpr (std::is_same_v<T, InstanceCrashDumpFinished>) {
          return Live(s) && s.host == e.host;
        } else if constexpr (std::is_same_v<T, InstanceDiskConfigSet>) {
          // With a create, rebuild, resize or update the API has decided.
          return s.exists && s.vm_state != VmState::kDeleted;
        } else if constexpr (std::is_same_v<T, InstanceExternalEventReceived>) {
          // Nova dispatches an event only to a server on a host.
          return Live(s) && !s.host.empty();
        } else if constexpr (std::is_same_v<T, InstanceTagsSet>) {
          // Nova's server tags API: active, paused, suspended or stopped.
          return Live(s) &&
                 (s.vm_state == VmState::kActive || s.vm_state == VmState::kPaused ||
                  s.vm_state == VmState::kSuspended || s.vm_state == VmState::kStopped);
        } else if constexpr (std::is_same_v<T, InstanceShelveRequested>) {
          // Nova's shelve: active, stopped, paused or suspended, no task.
          return Live(s) && !s.host.empty() && s.task_state == TaskState::kNone &&
                 (s.vm_state == VmState::kActive || s.vm_state == VmState::kStopped ||
                  s.vm_state == VmState::kPaused || s.vm_state == VmState::kSuspended);
        } else if constexpr (std::is_same_v<T, InstanceShelveOffloadRequested>) {
          return Live(s) && !s.host.empty() && s.task_state == TaskState::kNone &&
                 s.vm_state == VmState::kShelved;
        } else if constexpr (std::is_same_v<T, InstanceShelved>) {
          return s.exists && s.host == e.host &&
                 (s.task_state == TaskState::kShelving ||
                  (s.task_state == TaskState::kShelvingOffloading && e.offloaded));
        } else if constexpr (std::is_same_v<T, InstanceShelveFailed>) {
          return s.exists && s.host == e.host &&
                 (s.task_state == TaskState::kShelving ||
                  s.task_state == TaskState::kShelvingOffloading);
        } else if constexpr (std::is_same_v<T, InstanceUnshelveRequested>) {
          // Nova's unshelve: shelved (on its host) or offloaded, no task.
          return Live(s) && s.task_state == TaskState::kNone &&
                 ((s.vm_state == VmState::kShelved && !s.host.empty()) ||
                  s.vm_state == VmState::kShelvedOffloaded);
        } else if constexpr (std::is_same_v<T, InstanceUnshelved> ||
                             std::is_same_v<T, InstanceUnshelveFailed>) {
          return s.exists && s.task_state == TaskState::kUnshelving && !e.host.empty() &&
                 s.host == e.host;
        } else if constexpr (std::is_same_v<T, InstanceSoftDeleteRequested>) {
          // Nova soft-deletes a server that launched on a host; chronova only
          // one that is settled (the API deletes any other at once).
          return Live(s) && !s.host.empty() && s.launched_at.micros != 0 &&
                 s.task_state == TaskState::kNone &&
                 (s.vm_state == VmState::kActive || s.vm_state == VmState::kStopped ||
                  s.vm_state == VmState::kPaused || s.vm_state == VmState::kSuspended ||
                  s.vm_state == VmState::kRescued || s.vm_state == VmState::kError);
        } else if constexpr (std::is_same_v<T, InstanceSoftDeleted>) {
          return s.exists && s.task_state == TaskState::kSoftDeleting && s.host == e.host;
        } else if constexpr (std::is_same_v<T, InstanceRestoreRequested>) {
          return Live(s) && !s.host.empty() && s.task_state == TaskState::kNone &&
                 s.vm_state == VmState::kSoftDeleted;
        } else if constexpr (std::is_same_v<T, InstanceRestored>) {
          return s.exists && s.task_state == TaskState::kRestoring && s.host == e.host;
        } else if constexpr (std::is_same_v<T, InstanceUpdated> ||
                             std::is_same_v<T, InstanceMetadataChanged>) {
          // The API checks Nova's finer state rules (metadata needs a settled
          // server); the log only refuses changes to a deleted one.
          return s.exists && s.vm_state != VmState::kDeleted;
        } else {
          return false;
        }
      },
      event);
  if (legal) return Status::Ok();
  bool instance_event = std::visit(
      [](const auto& e) { return kIsInstanceEvent<std::decay_t<decltype(e)>>; }, event);
  if (!instance_event) {
    return Status::InvalidArgument(std::string(type) + " is not an instance event");
  }
  return Illegal(s, type);
}

void ApplyEvent(InstanceState& s, const Envelope& env, const Event& event) {
  Timestamp t = env.meta.time;
  s.version = env.version;
  // Handing out a console changes nothing Nova shows of the server; tags live
  // beside the instance in Nova (its updated_at stays).
  if (std::holds_alternative<InstanceConsoleAuthorized>(event) ||
      std::holds_alternative<InstanceExternalEventReceived>(event)) {
    return;
  }
  if (const auto* tags = std::get_if<InstanceTagsSet>(&event)) {
    s.tags = tags->tags;
    return;
  }
  s.updated_at = t;
  auto set_fault = [&](std::string message) {
    s.has_fault = true;
    s.fault = Fault{500, std::move(message), t};
  };
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, InstanceRequested>) {
          s.exists = true;
          s.id = e.instance_id;
          s.name = e.name;
          s.project_id = e.project_id;
          s.user_id = e.user_id;
          s.flavor = e.flavor;
          s.image_id = e.image_id;
          s.availability_zone = e.availability_zone;
          s.key_name = e.key_name;
          s.metadata = e.metadata;
          s.user_data = e.user_data;
          s.reservation_id = e.reservation_id;
          s.launch_index = e.launch_index;
          s.vm_state = VmState::kBuilding;
          s.task_state = TaskState::kScheduling;
          s.power_state = PowerState::kNoState;
          s.created_at = t;
          s.create_request_id = env.meta.request_id;
          s.task_request_id = env.meta.request_id;
          s.task_seq = env.seq;
        } else if constexpr (std::is_same_v<T, InstanceScheduled>) {
          s.host = e.host;
          // An unshelve stays unshelving until its host spawned the guest.
          if (s.vm_state != VmState::kShelvedOffloaded) s.task_state = TaskState::kNone;
          s.task_seq = env.seq;  // the build work is caused by the placement
        } else if constexpr (std::is_same_v<T, InstanceSchedulingFailed>) {
          // An unshelve that found no host leaves the server offloaded.
          if (s.vm_state != VmState::kShelvedOffloaded) s.vm_state = VmState::kError;
          s.task_state = TaskState::kNone;
          set_fault(e.reason);
        } else if constexpr (std::is_same_v<T, BuildStarted>) {
          s.task_state = TaskState::kSpawning;
        } else if constexpr (std::is_same_v<T, InstanceSpawned>) {
          s.vm_state = VmState::kActive;
          s.task_state = TaskState::kNone;
          s.power_state = PowerState::kRunning;
          s.hypervisor_name = e.hypervisor_name;
          s.launched_at = t;
        } else if constexpr (std::is_same_v<T, InstanceBuildFailed>) {
          s.vm_state = VmState::kError;
          s.task_state = TaskState::kNone;
          s.power_state = PowerState::kNoState;
          set_fault(e.reason);
        } else if constexpr (std::is_same_v<T, InstanceDeleteRequested>) {
          s.task_state = TaskState::kDeleting;
          s.task_request_id = env.meta.request_id;
          s.task_seq = env.seq;
        } else if constexpr (std::is_same_v<T, InstanceDeleted>) {
          s.vm_state = VmState::kDeleted;
          s.task_state = TaskState::kNone;
          s.power_state = PowerState::kNoState;
          s.terminated_at = t;
        } else if constexpr (std::is_same_v<T, InstanceActionRequested>) {
          Result<LifecycleAction> a = ParseLifecycleAction(e.action);
          if (a.ok()) s.task_state = TaskStateFor(*a, e.hard);
          s.task_request_id = env.meta.request_id;
          s.task_seq = env.seq;
        } else if constexpr (std::is_same_v<T, InstanceActionCompleted>) {
          Result<LifecycleAction> a = ParseLifecycleAction(e.action);
          if (a.ok()) s.vm_state = VmStateAfter(*a);
          s.task_state = TaskState::kNone;
          s.power_state = static_cast<PowerState>(e.power_state);
        } else if constexpr (std::is_same_v<T, InstanceActionFailed>) {
          s.task_state = TaskState::kNone;
        } else if constexpr (std::is_same_v<T, InstanceRescueRequested>) {
          s.task_state = TaskState::kRescuing;
          s.rescue_image_id = e.image_id;
          s.task_request_id = env.meta.request_id;
          s.task_seq = env.seq;
        } else if constexpr (std::is_same_v<T, InstanceRebuildRequested>) {
          s.task_state = TaskState::kRebuilding;
          s.image_id = e.image_id;
          if (!e.name.empty()) s.name = e.name;
          if (e.replace_metadata) s.metadata = e.metadata;
          s.task_request_id = env.meta.request_id;
          s.task_seq = env.seq;
        } else if constexpr (std::is_same_v<T, InstanceRebuilt>) {
          s.power_state = static_cast<PowerState>(e.power_state);
          s.vm_state = s.power_state == PowerState::kShutdown ? VmState::kStopped
                                                              : VmState::kActive;
          s.task_state = TaskState::kNone;
          s.has_fault = false;
          s.launched_at = t;
        } else if constexpr (std::is_same_v<T, InstanceRebuildFailed>) {
          s.vm_state = VmState::kError;
          s.task_state = TaskState::kNone;
          set_fault(e.reason);
        } else if constexpr (std::is_same_v<T, InstanceSnapshotRequested>) {
          s.task_state = e.backup ? TaskState::kImageBackup : TaskState::kImageSnapshot;
          s.snapshot_image_id = e.image_id;
          s.snapshot_backup = e.backup;
          s.snapshot_backup_type = e.backup_type;
          s.snapshot_rotation = e.rotation;
          s.task_request_id = env.meta.request_id;
          s.task_seq = env.seq;
        } else if constexpr (std::is_same_v<T, InstanceSnapshotCompleted> ||
                             std::is_same_v<T, InstanceSnapshotFailed>) {
          s.task_state = TaskState::kNone;
          s.snapshot_image_id = ImageId();
        } else if constexpr (std::is_same_v<T, InstanceResizeRequested>) {
          s.task_state = TaskState::kResizePrep;
          s.migration_id = e.migration_id;
          s.resize_source_host = e.source_host;
          s.resize_dest_host = e.dest_host;
          s.resize_old_flavor = s.flavor;
          s.resize_new_flavor = e.flavor;
          s.resize_auto_confirm = e.confirm_when_finished;
          s.task_request_id = env.meta.request_id;
          s.task_seq = env.seq;
        } else if constexpr (std::is_same_v<T, InstanceResizeFinished>) {
          s.vm_state = VmState::kResized;
          s.task_state = TaskState::kNone;
          s.power_state = static_cast<PowerState>(e.power_state);
          s.host = e.host;
          s.flavor = s.resize_new_flavor;
        } else if constexpr (std::is_same_v<T, InstanceResizeFailed>) {
          s.task_state = TaskState::kNone;
          s.migration_id.clear();
          set_fault(e.reason);
        } else if constexpr (std::is_same_v<T, InstanceResizeConfirmed>) {
          s.vm_state = s.power_state == PowerState::kShutdown ? VmState::kStopped
                                                              : VmState::kActive;
          s.migration_id.clear();
        } else if constexpr (std::is_same_v<T, InstanceResizeRevertRequested>) {
          s.task_state = TaskState::kResizeReverting;
          s.task_request_id = env.meta.request_id;
          s.task_seq = env.seq;
        } else if constexpr (std::is_same_v<T, InstanceResizeReverted>) {
          s.power_state = static_cast<PowerState>(e.power_state);
          s.vm_state = s.power_state == PowerState::kShutdown ? VmState::kStopped
                                                              : VmState::kActive;
          s.task_state = TaskState::kNone;
          s.host = s.resize_source_host;
          s.flavor = s.resize_old_flavor;
          s.migration_id.clear();
        } else if constexpr (std::is_same_v<T, InstanceStateReset>) {
          s.snapshot_image_id = ImageId();
          s.vm_state = e.vm_state == "error" ? VmState::kError : VmState::kActive;
          s.task_state = TaskState::kNone;
        } else if constexpr (std::is_same_v<T, InstancePowerStateChanged>) {
          s.power_state = static_cast<PowerState>(e.power_state);
          const bool off = s.power_state == PowerState::kShutdown ||
                           s.power_state == PowerState::kCrashed;
          const bool on = s.power_state == PowerState::kRunning ||
                          s.power_state == PowerState::kPaused ||
                          s.power_state == PowerState::kSuspended;
          if ((s.vm_state == VmState::kActive || s.vm_state == VmState::kPaused) && off) {
            // Nova calls stop; the guest is already off, so it is stopped now.
            s.vm_state = VmState::kStopped;
          } else if ((s.vm_state == VmState::kStopped && on) ||
                     (s.vm_state == VmState::kActive &&
                      s.power_state == PowerState::kSuspended)) {
            // Nova's (force_)stop: the conductor sends the host a stop, whose
            // instance.action_completed leaves the instance stopped.
            s.task_state = TaskState::kPoweringOff;
            s.task_request_id = env.meta.request_id;
            s.task_seq = env.seq;
          }
        } else if constexpr (std::is_same_v<T, InstanceLocked>) {
          s.locked = true;
          s.locked_by_admin = e.by_admin;
          s.locked_reason = e.reason;
        } else if constexpr (std::is_same_v<T, InstanceUnlocked>) {
          s.locked = false;
          s.locked_by_admin = false;
          s.locked_reason.clear();
        } else if constexpr (std::is_same_v<T, InstanceUpdated>) {
          if (e.has_name) s.name = e.name;
          if (e.has_access_ipv4) s.access_ipv4 = e.access_ipv4;
          if (e.has_access_ipv6) s.access_ipv6 = e.access_ipv6;
          if (e.has_description) {
            s.description_recorded = true;
            s.description_null = e.description_null;
            s.description = e.description_null ? "" : e.description;
          }
          if (e.has_key_name) s.key_name = e.key_name;
          if (e.has_user_data) s.user_data = e.user_data;
          if (e.has_trusted_certs) s.trusted_certs = e.trusted_certs;
        } else if constexpr (std::is_same_v<T, InstanceShelveRequested>) {
          s.task_state = TaskState::kShelving;
          s.shelved_image_id = e.image_id;
          s.shelve_offload = e.offload;
          s.task_request_id = env.meta.request_id;
          s.task_seq = env.seq;
        } else if constexpr (std::is_same_v<T, InstanceShelveOffloadRequested>) {
          s.task_state = TaskState::kShelvingOffloading;
          s.task_request_id = env.meta.request_id;
          s.task_seq = env.seq;
        } else if constexpr (std::is_same_v<T, InstanceShelved>) {
          s.vm_state = e.offloaded ? VmState::kShelvedOffloaded : VmState::kShelved;
          s.task_state = TaskState::kNone;
          s.power_state = static_cast<PowerState>(e.power_state);
          s.shelve_offload = false;
          if (e.offloaded) {  // Nova's offloaded server has no host or node
            s.host = HostName();
            s.hypervisor_name.clear();
          }
        } else if constexpr (std::is_same_v<T, InstanceShelveFailed>) {
          if (s.task_state == TaskState::kShelving) s.shelved_image_id = ImageId();
          s.task_state = TaskState::kNone;
          s.shelve_offload = false;
          s.power_state = static_cast<PowerState>(e.power_state);
          set_fault(e.reason);
        } else if constexpr (std::is_same_v<T, InstanceUnshelveRequested>) {
          s.task_state = TaskState::kUnshelving;
          if (e.has_availability_zone) s.availability_zone = e.availability_zone;
          s.task_request_id = env.meta.request_id;
          s.task_seq = env.seq;
        } else if constexpr (std::is_same_v<T, InstanceUnshelved>) {
          s.vm_state = VmState::kActive;
          s.task_state = TaskState::kNone;
          s.power_state = static_cast<PowerState>(e.power_state);
          if (!e.hypervisor_name.empty()) s.hypervisor_name = e.hypervisor_name;
          s.shelved_image_id = ImageId();
        } else if constexpr (std::is_same_v<T, InstanceUnshelveFailed>) {
          s.task_state = TaskState::kNone;
          if (s.vm_state == VmState::kShelvedOffloaded) {
            s.host = HostName();
            s.hypervisor_name.clear();
          }
          set_fault(e.reason);
        } else if constexpr (std::is_same_v<T, InstanceSoftDeleteRequested>) {
          s.task_state = TaskState::kSoftDeleting;
          s.task_request_id = env.meta.request_id;
          s.task_seq = env.seq;
        } else if constexpr (std::is_same_v<T, InstanceSoftDeleted>) {
          s.vm_state = VmState::kSoftDeleted;
          s.task_state = TaskState::kNone;
          s.power_state = static_cast<PowerState>(e.power_state);
        } else if constexpr (std::is_same_v<T, InstanceRestoreRequested>) {
          s.task_state = TaskState::kRestoring;
          s.task_request_id = env.meta.request_id;
          s.task_seq = env.seq;
        } else if constexpr (std::is_same_v<T, InstanceRestored>) {
          s.vm_state = VmState::kActive;
          s.task_state = TaskState::kNone;
          s.power_state = static_cast<PowerState>(e.power_state);
        } else if constexpr (std::is_same_v<T, InstanceTagsSet>) {
          s.tags = e.tags;
        } else if constexpr (std::is_same_v<T, InstanceDiskConfigSet>) {
          s.auto_disk_config = e.auto_disk_config;
        } else if constexpr (std::is_same_v<T, InstanceMetadataChanged>) {
          for (const auto& [k, v] : e.set) s.metadata[k] = v;
          for (const std::string& k : e.removed) s.metadata.erase(k);
        }
        // Host events do not touch an instance.
      },
      event);
}

}  // namespace chronova
