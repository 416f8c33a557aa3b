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

// PUT /servers/{id}: the fields of `update` whose has_* flag is set.
struct UpdateInstance {
  InstanceUpdated update;
};

// The server-metadata API. `set` items are merged in; with `replace`, every
// other key goes; `removed` keys are deleted (each must exist).
struct ChangeMetadata {
  std::map<std::string, std::string> set;
  bool replace = false;
  std::vector<std::string> removed;
  // Nova's name of the action in its 409 ("update metadata", "delete metadata").
  std::string action = "update metadata";
  // The project's metadata_items quota: more items after the change is refused.
  size_t max_items = 128;
};

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
// NotFound if there is no such live instance.
Result<std::vector<Event>> Decide(const InstanceState& state, const UpdateInstance& cmd);
// As Nova's update/delete_instance_metadata: NotFound ("Metadata item was not
// found") for a removed key the server does not have; Conflict unless the server
// is active, paused, suspended or stopped with no task in progress;
// PermissionDenied ("Maximum number of metadata items exceeds N") past max_items.
Result<std::vector<Event>> Decide(const InstanceState& state, const ChangeMetadata& cmd);
// The reported event, if CheckTransition allows it; Conflict otherwise.
Result<std::vector<Event>> Decide(const InstanceState& state, const ReportProgress& cmd);

}  // namespace chronova
