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

// DELETE /servers/{id} and forceDelete.
struct DeleteInstance {
  bool override_lock = false;  // the caller is an admin: a lock does not stop them
  // reclaim_instance_interval > 0: a settled server that ran on a host is
  // soft-deleted (instance.soft_delete_requested); any other is deleted.
  bool soft = false;
};

// POST /servers/{id}/action {"restore": null}: brings back a SOFT_DELETED
// server (its host starts it).
struct RestoreInstance {
  bool override_lock = false;  // the caller is an admin
};

// The shelve action: the host fills the queued image `image_id` from the
// guest's disk and (with `offload`) removes the guest.
struct ShelveInstance {
  ImageId image_id;
  bool offload = false;
  bool override_lock = false;
};
// shelveOffload: a SHELVED server's guest leaves its host.
struct ShelveOffloadInstance {
  bool override_lock = false;
};
// unshelve; from 2.77 with an availability zone (offloaded servers only).
struct UnshelveInstance {
  bool has_availability_zone = false;
  std::string availability_zone;
  bool override_lock = false;
};
// changePassword: chronova's guests have no QEMU guest agent channel, so once
// the lock and the state allow it, the answer is Nova's libvirt driver's for a
// guest without one (Conflict); nothing is recorded.
struct ChangeAdminPassword {
  bool override_lock = false;  // the caller is an admin
};

// POST /servers/{id}/action for a lifecycle action (os-stop, reboot, pause ...).
struct RequestLifecycleAction {
  LifecycleAction action = LifecycleAction::kStop;
  bool hard = false;           // reboot type HARD
  bool override_lock = false;  // the caller is an admin
};

// The rebuild action.
struct RebuildInstance {
  InstanceRebuildRequested request;
  bool override_lock = false;  // the caller is an admin
};

// The createImage action: snapshot the server into the (already created,
// queued) image `image_id`.
struct SnapshotInstance {
  ImageId image_id;
  std::string name;
  bool backup = false;  // createBackup, with its type and rotation
  std::string backup_type;
  int32_t rotation = 0;
};

// The resize action, after the API moved the claims (see
// InstanceResizeRequested); confirmResize and revertResize.
struct ResizeInstance {
  InstanceResizeRequested request;
  bool override_lock = false;
};
struct ConfirmResize {
  bool override_lock = false;
};
struct RevertResize {
  bool override_lock = false;
};
// The rescue action (unrescue is a RequestLifecycleAction).
struct RescueInstance {
  InstanceRescueRequested request;
  bool override_lock = false;  // the caller is an admin
};

// trigger_crash_dump (2.17).
struct TriggerCrashDump {
  bool override_lock = false;  // the caller is an admin
};

// os-server-tags (2.26): the server's tags become `tags` (deduplicated);
// `method` names the call in Nova's 409 ("update tag", "delete tags" ...).
struct SetTags {
  std::vector<std::string> tags;
  std::string method;
};
inline constexpr size_t kMaxTagsPerServer = 50;  // Nova's MAX_TAG_COUNT

// os-lock / os-unlock.
struct LockInstance {
  bool by_admin = false;
  std::string reason;  // 2.73; empty: none
};
struct UnlockInstance {
  bool override_lock = false;  // the caller is an admin (may lift an admin's lock)
};

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

// Metadata `before` after a change: `set` merged in (with `replace`, every key
// not in `set` dropped), then `removed` dropped. Servers' and images' alike.
std::map<std::string, std::string> MetadataAfter(
    const std::map<std::string, std::string>& before,
    const std::map<std::string, std::string>& set, bool replace,
    const std::vector<std::string>& removed);

// A console for a user (os-getVNCConsole ...): the token the compute host's
// console was authorized under. `method` is Nova's name in its 409
// ("get_vnc_console").
struct AuthorizeConsole {
  InstanceConsoleAuthorized authorized;
  std::string method;
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
// Conflict (Nova's InstanceInvalidState) unless SOFT_DELETED with no task;
// Conflict for a lock.
Result<std::vector<Event>> Decide(const InstanceState& state, const RestoreInstance& cmd);
// Conflict for a lock, or "Cannot 'shelve' instance <id> while it is in
// vm_state <s>" outside active, stopped, paused and suspended with no task.
Result<std::vector<Event>> Decide(const InstanceState& state, const ShelveInstance& cmd);
// Conflict for a lock, or outside SHELVED with no task.
Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const ShelveOffloadInstance& cmd);
// Conflict for a lock, outside SHELVED or SHELVED_OFFLOADED with no task, or
// (Nova's UnshelveInstanceInvalidState) an availability zone for a server
// that is not offloaded.
Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const UnshelveInstance& cmd);
Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const ChangeAdminPassword& cmd);
// NotFound if there is no such live instance; Conflict with Nova's messages
// ("Instance <id> is locked", "Cannot 'stop' instance <id> while it is in
// vm_state stopped") if the lock or the instance's state forbids the action.
Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const RequestLifecycleAction& cmd);
// Conflict outside active, paused, suspended or stopped ("Cannot '<method>'
// instance <id> while it is in vm_state <s>"); InvalidArgument past 50 tags.
// Nothing when the tags do not change.
Result<std::vector<Event>> Decide(const InstanceState& state, const SetTags& cmd);
// os-server-external-events: NotFound for no such server, Conflict for one on
// no host (Nova's 422).
struct RecordExternalEvent {
  InstanceExternalEventReceived event;
};
Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const RecordExternalEvent& cmd);
// Conflict (Nova's InstanceInvalidState) outside active, paused, rescued,
// resized or error with no task; Conflict "Instance <id> is locked".
Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const TriggerCrashDump& cmd);
// NotFound, or Conflict as for a lifecycle action ("Cannot 'rebuild' instance
// <id> while it is in vm_state building").
Result<std::vector<Event>> Decide(const InstanceState& state, const RebuildInstance& cmd);
// NotFound, or Conflict as for a lifecycle action ("Cannot 'rescue' instance
// <id> while it is in vm_state rescued") or for a lock.
Result<std::vector<Event>> Decide(const InstanceState& state, const RescueInstance& cmd);
// NotFound, or Conflict in Nova's words ("Cannot 'createImage' instance <id>
// while it is in vm_state building"). A lock does not stop a snapshot (Nova).
Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const SnapshotInstance& cmd);
// Locking a locked instance (or unlocking an unlocked one) yields no event.
// PermissionDenied when a non-admin lifts an admin's lock (Nova's
// unlock_override policy).
// Conflict for a locked server or one that cannot resize now (Nova's
// check_instance_state: active or stopped, no task); InvalidArgument for the
// same flavor ("When resizing, instances must change flavor!") or a root disk
// that would shrink (Nova's CannotResizeDisk).
Result<std::vector<Event>> Decide(const InstanceState& state, const ResizeInstance& cmd);
// Conflict unless the server is VERIFY_RESIZE (vm_state resized, no task).
Result<std::vector<Event>> Decide(const InstanceState& state, const ConfirmResize& cmd);
Result<std::vector<Event>> Decide(const InstanceState& state, const RevertResize& cmd);
Result<std::vector<Event>> Decide(const InstanceState& state, const LockInstance& cmd);
Result<std::vector<Event>> Decide(const InstanceState& state, const UnlockInstance& cmd);
// NotFound if there is no such live instance.
Result<std::vector<Event>> Decide(const InstanceState& state, const UpdateInstance& cmd);
// As Nova's update/delete_instance_metadata: NotFound ("Metadata item was not
// found") for a removed key the server does not have; Conflict unless the server
// is active, paused, suspended or stopped with no task in progress;
// PermissionDenied ("Maximum number of metadata items exceeds N") past max_items.
Result<std::vector<Event>> Decide(const InstanceState& state, const ChangeMetadata& cmd);
// NotFound; Conflict "Instance <id> is not ready" without a host (or when the
// guest moved since its console was asked for), or Nova's "Cannot
// 'get_vnc_console' instance <id> while it is in task_state deleting" while
// deleting or migrating.
Result<std::vector<Event>> Decide(const InstanceState& state,
                                  const AuthorizeConsole& cmd);
// The reported event, if CheckTransition allows it; Conflict otherwise.
Result<std::vector<Event>> Decide(const InstanceState& state, const ReportProgress& cmd);

}  // namespace chronova
