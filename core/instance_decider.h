// Deciders for instance commands: pure functions from the current state and a
// command to the events that record it, or an error. The caller appends the events
// with the state's version as the expected version and, on Conflict, reloads and
// decides again.
#pragma once

#include <vector>

#include "core/events.h"
#include "core/instance_state.h"
#include "core/status.h"

namespace chronova {

// POST /servers for one instance.
struct CreateInstance {
  InstanceRequested request;
};

// DELETE /servers/{id}.
struct DeleteInstance {};

// A progress fact reported by the scheduler or a compute host (via the conductor).
struct ReportProgress {
  Event event;
};

// Conflict if the instance already exists; InvalidArgument on a malformed request.
Result<std::vector<Event>> Decide(const InstanceState& state, const CreateInstance& cmd);
// NotFound if there is no such live instance. An instance that never reached a host
// is deleted at once (Nova's "local delete"); one already being deleted yields no
// new event (delete is idempotent).
Result<std::vector<Event>> Decide(const InstanceState& state, const DeleteInstance& cmd);
// The reported event, if CheckTransition allows it; Conflict otherwise.
Result<std::vector<Event>> Decide(const InstanceState& state, const ReportProgress& cmd);

}  // namespace chronova
