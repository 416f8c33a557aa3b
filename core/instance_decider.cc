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

Result<std::vector<Event>> Decide(const InstanceState& state, const ReportProgress& cmd) {
  CHRONOVA_RETURN_IF_ERROR(CheckTransition(state, cmd.event));
  return std::vector<Event>{cmd.event};
}

}  // namespace chronova
