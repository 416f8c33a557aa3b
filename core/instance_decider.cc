#include "core/instance_decider.h"

#include <algorithm>

namespace chronova {

Result<std::vector<Event>> Decide(const InstanceState& state, const CreateInstance& cmd) {
  const InstanceRequested& r = cmd.request;
  if (r.instance_id.empty()) return Status::InvalidArgument("instance id is required");
  if (r.name.empty()) return Status::InvalidArgument("server name is required");
  if (r.flavor.id.empty() || r.flavor.vcpus <= 0 || r.flavor.memory_mb <= 0) {
    return Status::InvalidArgument("a valid flavor is required");
  }
  if (r.project_id.empty() || r.user_id.empty()) {
    return Status::InvalidArgument("project and user are required");
  }
  Event e = r;
  CHRONOVA_RETURN_IF_ERROR(CheckTransition(state, e));
  return std::vector<Event>{std::move(e)};
}

namespace {

Status NotFoundInstance(const InstanceState& state) {
  return Status::NotFound("instance " + state.id.str() + " could not be found");
}

Status Locked(const InstanceState& state) {
  return Status::Conflict("Instance " + state.id.str() + " is locked");
}

// OK if `e` may happen now; otherwise Nova's InstanceInvalidState as Conflict,
// naming the attribute in the way (vm_state first, as check_instance_state).
Status InvalidState(const InstanceState& state, const Event& e, std::string_view method) {
  if (CheckTransition(state, e).ok()) return Status::Ok();
  InstanceState idle = state;
  idle.task_state = TaskState::kNone;
  const bool task_busy = CheckTransition(idle, e).ok();
  return Status::Conflict(
      "Cannot '" + std::string(method) + "' instance " + state.id.str() +
      " while it is in " +
      (task_busy ? "task_state " + std::string(TaskStateName(state.task_state))
                 : "vm_state " + std::string(VmStateName(state.vm_state))));
}

}  // namespace

Result<std::vector<Event>> Decide(const InstanceState& state, const DeleteInstance& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (state.locked && !cmd.override_lock) return Locked(state);
  if (state.task_state == TaskState::kDeleting) return std::vector<Event>{};
  if (cmd.soft && CheckTransition(state, InstanceSoftDeleteRequested{}).ok()) {
    return std::vector<Event>{InstanceSoftDeleteRequested{}};
  }
  std::vector<Event> events{InstanceDeleteRequested{}};
  if (state.host.empty()) events.push_back(InstanceDeleted{});  // nothing to tear down
  return events;
}

Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const RestoreInstance& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (state.locked && !cmd.override_lock) return Locked(state);  // check_instance_lock
  Event e = InstanceRestoreRequested{};
  CHRONOVA_RETURN_IF_ERROR(InvalidState(state, e, "restore"));
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state, const ShelveInstance& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (state.locked && !cmd.override_lock) return Locked(state);
  Event e = InstanceShelveRequested{cmd.image_id, cmd.offload};
  CHRONOVA_RETURN_IF_ERROR(InvalidState(state, e, "shelve"));
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const ShelveOffloadInstance& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (state.locked && !cmd.override_lock) return Locked(state);
  Event e = InstanceShelveOffloadRequested{};
  CHRONOVA_RETURN_IF_ERROR(InvalidState(state, e, "shelveOffload"));
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const UnshelveInstance& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (state.locked && !cmd.override_lock) return Locked(state);
  Event e = InstanceUnshelveRequested{cmd.has_availability_zone, cmd.availability_zone};
  CHRONOVA_RETURN_IF_ERROR(InvalidState(state, e, "unshelve"));
  if (cmd.has_availability_zone && state.vm_state != VmState::kShelvedOffloaded) {
    // nova/compute/api.py _check_offloaded.
    return Status::Conflict(
        "Specifying an availability zone or a host when unshelving server \"" +
        state.id.str() + "\" with status \"" + std::string(VmStateName(state.vm_state)) +
        "\" is not supported. The server status must be SHELVED_OFFLOADED.");
  }
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const ChangeAdminPassword& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (state.locked && !cmd.override_lock) return Locked(state);  // check_instance_lock
  // check_instance_state(vm_state=[ACTIVE]): and no task.
  if (state.vm_state != VmState::kActive || state.task_state != TaskState::kNone) {
    const bool vm = state.vm_state != VmState::kActive;
    return Status::Conflict(
        "Cannot 'changePassword' instance " + state.id.str() + " while it is in " +
        (vm ? "vm_state " + std::string(VmStateName(state.vm_state))
            : "task_state " + std::string(TaskStateName(state.task_state))));
  }
  // nova/virt/libvirt/driver.py _can_set_admin_password: QemuGuestAgentNotEnabled.
  return Status::Conflict("QEMU guest agent is not enabled");
}

Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const RequestLifecycleAction& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (state.locked && !cmd.override_lock) return Locked(state);
  Event e =
      InstanceActionRequested{std::string(LifecycleActionName(cmd.action)), cmd.hard};
  CHRONOVA_RETURN_IF_ERROR(InvalidState(state, e, LifecycleActionName(cmd.action)));
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const RecordExternalEvent& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  Event e = cmd.event;
  if (!CheckTransition(state, e).ok()) {
    return Status::Conflict("Unable to find a host for instance " + state.id.str());
  }
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state, const SetTags& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  std::vector<std::string> tags = cmd.tags;
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  Event e = InstanceTagsSet{tags};
  if (!CheckTransition(state, e).ok()) {
    return Status::Conflict("Cannot '" + cmd.method + "' instance " + state.id.str() +
                            " while it is in vm_state " +
                            std::string(VmStateName(state.vm_state)));
  }
  if (tags.size() > kMaxTagsPerServer) {
    return Status::InvalidArgument("The number of tags exceeded the per-server limit " +
                                   std::to_string(kMaxTagsPerServer));
  }
  if (tags == state.tags) return std::vector<Event>{};
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const TriggerCrashDump& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (state.locked && !cmd.override_lock) return Locked(state);
  Event e = InstanceCrashDumpRequested{};
  CHRONOVA_RETURN_IF_ERROR(InvalidState(state, e, "trigger_crash_dump"));
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const RebuildInstance& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (state.locked && !cmd.override_lock) return Locked(state);
  if (cmd.request.image_id.empty())
    return Status::InvalidArgument("an image is required");
  Event e = cmd.request;
  CHRONOVA_RETURN_IF_ERROR(InvalidState(state, e, "rebuild"));
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state, const RescueInstance& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (state.locked && !cmd.override_lock) return Locked(state);
  Event e = cmd.request;
  CHRONOVA_RETURN_IF_ERROR(InvalidState(state, e, "rescue"));
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const SnapshotInstance& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (cmd.image_id.empty()) return Status::InvalidArgument("an image id is required");
  Event e = InstanceSnapshotRequested{cmd.image_id, cmd.name, cmd.backup, cmd.backup_type,
                                      cmd.rotation};
  CHRONOVA_RETURN_IF_ERROR(
      InvalidState(state, e, cmd.backup ? "createBackup" : "createImage"));
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state, const ResizeInstance& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (state.locked && !cmd.override_lock) return Locked(state);
  Event e = cmd.request;
  CHRONOVA_RETURN_IF_ERROR(InvalidState(
      state, e, cmd.request.migration_type == "migration" ? "migrate" : "resize"));
  const FlavorSpec& to = cmd.request.flavor;
  if (cmd.request.migration_type == "migration") {
    // A cold migrate keeps the flavor and leaves the host.
    if (to.id != state.flavor.id || cmd.request.dest_host == state.host) {
      return Status::InvalidArgument(
          "Cannot migrate to the host where the server exists.");
    }
    return std::vector<Event>{std::move(e)};
  }
  if (to.id == state.flavor.id) {
    return Status::InvalidArgument("When resizing, instances must change flavor!");
  }
  if (to.root_gb == 0 && state.flavor.root_gb != 0) {
    return Status::InvalidArgument(
        "Server disk was unable to be resized because: Resize to zero disk flavor is "
        "not allowed.");
  }
  if (to.root_gb < state.flavor.root_gb) {
    // The libvirt driver's rule (a disk is never shrunk), checked up front.
    return Status::InvalidArgument(
        "Server disk was unable to be resized because: Unable to resize disk down.");
  }
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state, const ConfirmResize& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (state.locked && !cmd.override_lock) return Locked(state);
  Event e = InstanceResizeConfirmed{};
  CHRONOVA_RETURN_IF_ERROR(InvalidState(state, e, "confirmResize"));
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state, const RevertResize& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (state.locked && !cmd.override_lock) return Locked(state);
  Event e = InstanceResizeRevertRequested{};
  CHRONOVA_RETURN_IF_ERROR(InvalidState(state, e, "revertResize"));
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state, const LockInstance& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (state.locked) return std::vector<Event>{};
  return std::vector<Event>{InstanceLocked{cmd.by_admin, cmd.reason}};
}

Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const AuthorizeConsole& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (state.host.empty() || state.host != cmd.authorized.compute_host) {
    return Status::Conflict("Instance " + state.id.str() + " is not ready");
  }
  Event e = cmd.authorized;
  CHRONOVA_RETURN_IF_ERROR(InvalidState(state, e, cmd.method));
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state, const UnlockInstance& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted)
    return NotFoundInstance(state);
  if (!state.locked) return std::vector<Event>{};
  if (state.locked_by_admin && !cmd.override_lock) {
    return Status::PermissionDenied(
        "Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override to be "
        "performed.");
  }
  return std::vector<Event>{InstanceUnlocked{}};
}

Result<std::vector<Event>> Decide(const InstanceState& state, const UpdateInstance& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted) {
    return Status::NotFound("instance " + state.id.str() + " could not be found");
  }
  Event e = cmd.update;
  CHRONOVA_RETURN_IF_ERROR(CheckTransition(state, e));
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state, const ChangeMetadata& cmd) {
  if (!state.exists || state.vm_state == VmState::kDeleted) {
    return Status::NotFound("instance " + state.id.str() + " could not be found");
  }
  for (const std::string& k : cmd.removed) {
    if (!state.metadata.count(k)) return Status::NotFound("Metadata item was not found");
  }
  // nova/compute/api.py check_instance_state(vm_state=[ACTIVE, PAUSED, SUSPENDED,
  // STOPPED], task_state=None), worded as common.raise_http_conflict_for_...
  const VmState vm = state.vm_state;
  if (vm != VmState::kActive && vm != VmState::kPaused && vm != VmState::kSuspended &&
      vm != VmState::kStopped) {
    return Status::Conflict("Cannot '" + cmd.action + "' instance " + state.id.str() +
                            " while it is in vm_state " + std::string(VmStateName(vm)));
  }
  if (state.task_state != TaskState::kNone) {
    return Status::Conflict("Cannot '" + cmd.action + "' instance " + state.id.str() +
                            " while it is in task_state " +
                            std::string(TaskStateName(state.task_state)));
  }
  InstanceMetadataChanged change;
  change.set = cmd.set;
  change.removed = cmd.removed;
  if (cmd.replace) {
    for (const auto& [k, v] : state.metadata) {
      if (!cmd.set.count(k)) change.removed.push_back(k);
    }
  }
  if (MetadataAfter(state.metadata, cmd.set, cmd.replace, cmd.removed).size() >
      cmd.max_items) {
    return Status::PermissionDenied("Maximum number of metadata items exceeds " +
                                    std::to_string(cmd.max_items));
  }
  Event e = std::move(change);
  CHRONOVA_RETURN_IF_ERROR(CheckTransition(state, e));
  return std::vector<Event>{std::move(e)};
}

std::map<std::string, std::string> MetadataAfter(
    const std::map<std::string, std::string>& before,
    const std::map<std::string, std::string>& set, bool replace,
    const std::vector<std::string>& removed) {
  std::map<std::string, std::string> after =
      replace ? std::map<std::string, std::string>() : before;
  for (const auto& [k, v] : set) after[k] = v;
  for (const std::string& k : removed) after.erase(k);
  return after;
}

Result<std::vector<Event>> Decide(const InstanceState& state, const ReportProgress& cmd) {
  CHRONOVA_RETURN_IF_ERROR(CheckTransition(state, cmd.event));
  return std::vector<Event>{cmd.event};
}

}  // namespace chronova
