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
    case TaskState::kShelving:
      return "shelving";
    case TaskState::kUnshelving:
      return "unshelving";
    case TaskState::kRescuing:
      return "rescuing";
    case TaskState::kUnrescuing:
      return "unrescuing";
  }
  return "unknown";
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
          return Building(s) && s.task_state == TaskState::kScheduling;
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
          s.task_state = TaskState::kNone;
          s.task_seq = env.seq;  // the build work is caused by the placement
        } else if constexpr (std::is_same_v<T, InstanceSchedulingFailed>) {
          s.vm_state = VmState::kError;
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
        } else if constexpr (std::is_same_v<T, InstanceUpdated>) {
          if (e.has_name) s.name = e.name;
          if (e.has_access_ipv4) s.access_ipv4 = e.access_ipv4;
          if (e.has_access_ipv6) s.access_ipv6 = e.access_ipv6;
        } else if constexpr (std::is_same_v<T, InstanceMetadataChanged>) {
          for (const auto& [k, v] : e.set) s.metadata[k] = v;
          for (const std::string& k : e.removed) s.metadata.erase(k);
        }
        // Host events do not touch an instance.
      },
      event);
}

}  // namespace chronova
