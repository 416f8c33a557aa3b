// The instance actions read model: "who did what, why", derived from request ids
// and progress events. It holds Nova's instance actions (one action per request
// id per instance, with its steps as Nova's action events), which
// os-instance-actions shows, and the audit indexes (by server, request, user,
// project and host → seqs) that `chronovactl audit` reads. One model, two views.
#pragma once

#include <cereal/cereal.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/envelope.h"
#include "core/events.h"
#include "projections/projection.h"

namespace chronova {

// Nova's action names (nova/compute/instance_actions.py).
inline constexpr const char* kActionCreate = "create";
inline constexpr const char* kActionCreateImage = "createImage";
inline constexpr const char* kActionCreateBackup = "createBackup";
inline constexpr const char* kActionResize = "resize";
inline constexpr const char* kActionMigrate = "migrate";
inline constexpr const char* kActionConfirmResize = "confirmResize";
inline constexpr const char* kActionRevertResize = "revertResize";
inline constexpr const char* kActionDelete = "delete";
inline constexpr const char* kActionLock = "lock";
inline constexpr const char* kActionResetState = "resetState";
inline constexpr const char* kActionRebuild = "rebuild";
inline constexpr const char* kActionUnlock = "unlock";
inline constexpr const char* kActionTriggerCrashDump = "trigger_crash_dump";
inline constexpr const char* kActionShelve = "shelve";
inline constexpr const char* kActionShelveOffload = "shelveOffload";
inline constexpr const char* kActionUnshelve = "unshelve";
inline constexpr const char* kActionRestore = "restore";
// chronova's own: the conductor recorded power-state drift (instance.power_state_
// changed); a stop it forces is a step of the same action.
inline constexpr const char* kActionSyncPowerState = "syncPowerState";
// Lifecycle actions use their LifecycleActionName: "stop", "reboot" ...
// Nova's action event results, and the action message set when a step failed.
inline constexpr const char* kResultSuccess = "Success";
inline constexpr const char* kResultError = "Error";
inline constexpr const char* kActionMessageError = "Error";

// One log event that belongs to an action, as the audit needs it.
struct ActionStep {
  Seq seq;
  StreamVersion version;
  std::string type;
  Timestamp time;
  Seq causation;
  bool operator==(const ActionStep&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(seq), CEREAL_NVP(version), CEREAL_NVP(type), CEREAL_NVP(time),
       CEREAL_NVP(causation));
  }
};

// A step of an action as Nova records it (an InstanceActionEvent):
// "compute__do_build_and_run_instance" and friends.
struct InstanceActionEvent {
  std::string event;
  Timestamp start_time;
  Timestamp finish_time;  // 0 while running
  std::string result;     // "" while running (Nova's null), "Success" or "Error"
  HostName host;          // where the step ran; empty if not on a compute host
  std::string details;    // the failure reason (Nova's traceback / details)
  Seq start_seq;          // the log event that started the step
  Seq finish_seq;         // the log event that finished it; 0 while running
  bool operator==(const InstanceActionEvent&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(event), CEREAL_NVP(start_time), CEREAL_NVP(finish_time),
       CEREAL_NVP(result), CEREAL_NVP(host), CEREAL_NVP(details), CEREAL_NVP(start_seq),
       CEREAL_NVP(finish_seq));
  }
};

// One user request against one instance (Nova's InstanceAction).
struct InstanceAction {
  std::string action;  // "create", "delete" ...
  InstanceId instance_id;
  RequestId request_id;
  UserId user_id;  // who asked (the request's actor)
  ProjectId project_id;
  Timestamp start_time;
  Timestamp finish_time;          // 0 until the action's last step finished
  Timestamp updated_at;           // time of its latest step
  std::string message;            // "" (null) or "Error" once a step failed
  std::vector<ActionStep> steps;  // its log events, in seq order
  std::vector<InstanceActionEvent> events;
  bool operator==(const InstanceAction&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(action), CEREAL_NVP(instance_id), CEREAL_NVP(request_id),
       CEREAL_NVP(user_id), CEREAL_NVP(project_id), CEREAL_NVP(start_time),
       CEREAL_NVP(finish_time), CEREAL_NVP(updated_at), CEREAL_NVP(message),
       CEREAL_NVP(steps), CEREAL_NVP(events));
  }
};

// Every action of one instance, oldest first.
struct InstanceActions {
  InstanceId instance_id;
  ProjectId project_id;   // the owner (from instance.requested)
  StreamVersion version;  // of the last instance event folded in
  std::vector<InstanceAction> actions;
  bool operator==(const InstanceActions&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(instance_id), CEREAL_NVP(project_id), CEREAL_NVP(version),
       CEREAL_NVP(actions));
  }
};

// What the audit indexes are keyed by.
enum class AuditKind { kServer, kRequest, kUser, kProject, kHost };
// "server", "request", "user", "project", "host".
std::string_view AuditKindName(AuditKind kind);
// InvalidArgument for anything but the names above.
Result<AuditKind> ParseAuditKind(std::string_view name);

struct AuditSubject {
  AuditKind kind = AuditKind::kServer;
  std::string id;
  bool operator==(const AuditSubject&) const = default;
};

// The instance an event is about: its instance stream's key, or the instance of
// a host claim or release. Empty for anything else.
InstanceId InstanceOfEvent(const Envelope& env, const Event& event);

// The subjects `env` is indexed under: its request id, the actor's user and
// project, the owner project `owner` of the instance it is about (may be empty),
// that instance, and the host it names (a host stream, or the host in an
// instance event's payload). Deduplicated, empty ids left out. The projection and
// `chronovactl audit --follow` both decide "is this event about X" here.
std::vector<AuditSubject> AuditSubjectsOf(const Envelope& env, const Event& event,
                                          const ProjectId& owner);

class InstanceActionsProjection : public Projection {
 public:
  static constexpr std::string_view kName = "instance_actions";
  std::string_view Name() const override { return kName; }
  uint32_t Version() const override { return 2; }  // 2: audit postings by bucket
  // Corruption, naming the seq, for an instance stream that does not begin with
  // instance.requested or a step with no action to belong to.
  Status Apply(const Envelope& env, const Event& event, ReadModelWriter& w) override;
};

// Queries over the instance actions read model. Borrows the reader; thread-safe
// if it is.
class InstanceActionsView {
 public:
  explicit InstanceActionsView(const ReadModelReader* reader) : reader_(reader) {}
  // nullopt if the instance was never requested.
  Result<std::optional<InstanceActions>> Get(const InstanceId& id) const;
  // The action of `id` started by `request_id` (the latest, should one request
  // have started two); nullopt if there is none.
  Result<std::optional<InstanceAction>> GetAction(const InstanceId& id,
                                                  const RequestId& request_id) const;
  // The seqs of every indexed event about `subject`, in order.
  Result<std::vector<Seq>> Audit(const AuditSubject& subject) const;

 private:
  const ReadModelReader* reader_;
};

}  // namespace chronova
