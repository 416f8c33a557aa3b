#include "core/instance_decider.h"

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

Result<std::vector<Event>> Decide(const InstanceState& state, const DeleteInstance&) {
  if (!state.exists || state.vm_state == VmState::kDeleted) {
    return Status::NotFound("instance " + state.id.str() + " could not be found");
  }
  if (state.task_state == TaskState::kDeleting) return std::vector<Event>{};
  std::vector<Event> events{InstanceDeleteRequested{}};
  if (state.host.empty()) events.push_back(InstanceDeleted{});  // nothing to tear down
  return events;
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
  std::map<std::string, std::string> after = state.metadata;
  for (const auto& [k, v] : change.set) after[k] = v;
  for (const std::string& k : change.removed) after.erase(k);
  if (after.size() > cmd.max_items) {
    return Status::PermissionDenied("Maximum number of metadata items exceeds " +
                                    std::to_string(cmd.max_items));
  }
  Event e = std::move(change);
  CHRONOVA_RETURN_IF_ERROR(CheckTransition(state, e));
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const InstanceState& state, const ReportProgress& cmd) {
  CHRONOVA_RETURN_IF_ERROR(CheckTransition(state, cmd.event));
  return std::vector<Event>{cmd.event};
}

}  // namespace chronova
