#include "projections/instance_actions_projection.h"

#include <algorithm>
#include <cstdio>

#include "core/instance_state.h"
#include "projections/records.h"

namespace chronova {
namespace {

// ---- keys, relative to the projection: the one place that spells them -------
//
//   actions/<instance>                   -> InstanceActions
//   audit/<kind>/<id>/<bucket, 20 digits> -> postings (kind: server, request,
//                                            user, project, host)
//
// The audit postings of a subject are grouped by buckets of 4,096 seqs:
// the key names the bucket's first seq, the value is the seqs in it, ascending,
// each as an LEB128 varint of its offset in the bucket. A new event appends a
// few bytes to one small value, instead of writing a key per subject per event.
//
// Ids are escaped ('%' and '/' as %25 and %2F) so that one id is never a prefix
// path of another's keys.

void AppendKeyPart(std::string* out, std::string_view id) {
  size_t plain = 0;  // start of the run of characters kept as they are
  for (size_t i = 0; i < id.size(); ++i) {
    if (id[i] != '%' && id[i] != '/') continue;
    out->append(id.data() + plain, i - plain);
    out->append(id[i] == '%' ? "%25" : "%2F");
    plain = i + 1;
  }
  out->append(id.data() + plain, id.size() - plain);
}

std::string ActionsKey(std::string_view instance) {
  std::string key;
  key.reserve(8 + instance.size());
  key.append("actions/");
  AppendKeyPart(&key, instance);
  return key;
}

// Appends "audit/<kind>/<id>/" to *key.
void AppendAuditPrefix(std::string* key, AuditKind kind, std::string_view id) {
  key->append("audit/");
  key->append(AuditKindName(kind));
  key->push_back('/');
  AppendKeyPart(key, id);
  key->push_back('/');
}

std::string AuditPrefix(const AuditSubject& s) {
  std::string prefix;
  AppendAuditPrefix(&prefix, s.kind, s.id);
  return prefix;
}

// 4,096 seqs: a bucket's value stays small even for a subject named by every
// event (a one-project cloud: at most 8 KiB). A live store appends with a merge
// operand (no read); a bulk rebuild appends in memory.
constexpr int kAuditBucketBits = 12;

uint64_t AuditBucket(Seq seq) {
  return seq.value() >> kAuditBucketBits << kAuditBucketBits;
}

// Sets *key to the key of `seq`'s bucket of the subject (kind, id).
void SetAuditKey(std::string* key, AuditKind kind, std::string_view id, Seq seq) {
  key->clear();
  AppendAuditPrefix(key, kind, id);
  char digits[20];
  uint64_t v = AuditBucket(seq);
  for (int i = 19; i >= 0; --i, v /= 10) digits[i] = static_cast<char>('0' + v % 10);
  key->append(digits, sizeof(digits));
}

// `seq`'s posting: its offset in its bucket, as an LEB128 varint.
std::string_view AuditPosting(Seq seq, char (&buf)[8]) {
  uint64_t v = seq.value() - AuditBucket(seq);
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  return std::string_view(buf, n);
}

// Appends the seqs a bucket's value holds to `out`; Corruption, naming the key,
// for anything but ascending offsets inside a bucket under a 20-digit key.
Status DecodeAuditPostings(std::string_view key, std::string_view value,
                           std::vector<Seq>* out) {
  auto bad = [&](const char* what) {
    return Status::Corruption("audit postings at " + std::string(key) + ": " + what);
  };
  std::string_view digits = key.substr(key.rfind('/') + 1);
  if (digits.size() != 20) return bad("not a bucket key");
  uint64_t bucket = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return bad("not a bucket key");
    bucket = bucket * 10 + static_cast<uint64_t>(c - '0');
  }
  if (bucket != AuditBucket(Seq(bucket))) return bad("not a bucket key");
  bool any = false;
  uint64_t last = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    uint64_t v = 0;
    for (int shift = 0;; ++i, shift += 7) {
      if (i == value.size()) return bad("truncated");
      if (shift > 14) return bad("malformed");  // offsets fit in two bytes
      uint8_t b = static_cast<uint8_t>(value[i]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) break;
    }
    if (v >= (uint64_t{1} << kAuditBucketBits)) return bad("offset outside its bucket");
    if (any && bucket + v <= last) return bad("not ascending");
    any = true;
    last = bucket + v;
    out->push_back(Seq(last));
  }
  return Status::Ok();
}

// ---- which step of which action each instance event is -----------------------
//
// Nova's names: the create action's steps are the conductor's
// "conductor_schedule_and_build_instances" and the compute host's
// "compute__do_build_and_run_instance"; delete's is "compute_terminate_instance".
// A new action maps the same way: its request event starts the action, its
// progress events start or finish named steps.

constexpr const char* kConductorBuild = "conductor_schedule_and_build_instances";
constexpr const char* kComputeBuild = "compute__do_build_and_run_instance";
constexpr const char* kComputeTerminate = "compute_terminate_instance";
constexpr const char* kComputeRebuild = "compute_rebuild_instance";
constexpr const char* kComputeSyncPowerState = "compute_sync_instance_power_state";
constexpr const char* kComputeSnapshot = "compute_snapshot_instance";
constexpr const char* kComputeFinishResize = "compute_finish_resize";
constexpr const char* kComputeRevertResize = "compute_finish_revert_resize";

// A lifecycle action's one compute step: "compute_stop_instance" ...
const char* ComputeEventOf(LifecycleAction a) {
  switch (a) {
    case LifecycleAction::kStop:
      return "compute_stop_instance";
    case LifecycleAction::kStart:
      return "compute_start_instance";
    case LifecycleAction::kReboot:
      return "compute_reboot_instance";
    case LifecycleAction::kPause:
      return "compute_pause_instance";
    case LifecycleAction::kUnpause:
      return "compute_unpause_instance";
    case LifecycleAction::kSuspend:
      return "compute_suspend_instance";
    case LifecycleAction::kResume:
      return "compute_resume_instance";
    case LifecycleAction::kRescue:
      return "compute_rescue_instance";
    case LifecycleAction::kUnrescue:
      return "compute_unrescue_instance";
  }
  return nullptr;
}

// The action's name as a string literal (Step keeps pointers), or nullptr.
const char* ActionName(const std::string& action) {
  Result<LifecycleAction> a = ParseLifecycleAction(action);
  return a.ok() ? LifecycleActionName(*a).data() : nullptr;
}

const char* ComputeEventOf(const std::string& action) {
  Result<LifecycleAction> a = ParseLifecycleAction(action);
  return a.ok() ? ComputeEventOf(*a) : nullptr;
}

enum class Phase { kNone, kStart, kSuccess, kError };

struct Step {
  const char* action = nullptr;  // nullptr: not part of any action
  bool starts_action = false;
  bool finishes_action = false;
  const char* event = nullptr;  // the action event it starts or finishes, if any
  Phase phase = Phase::kNone;
  HostName host;
  std::string details;
};

Step StepOf(const Event& event) {
  return std::visit(
      [](const auto& e) -> Step {
        using T = std::decay_t<decltype(e)>;
        Step s;
        if constexpr (std::is_same_v<T, InstanceRequested>) {
          s = {kActionCreate, true, false, kConductorBuild, Phase::kStart, {}, {}};
        } else if constexpr (std::is_same_v<T, InstanceScheduled>) {
          s = {kActionCreate, false, false, kConductorBuild, Phase::kSuccess, {}, {}};
        } else if constexpr (std::is_same_v<T, InstanceSchedulingFailed>) {
          s = {kActionCreate, false, true, kConductorBuild, Phase::kError, {}, e.reason};
        } else if constexpr (std::is_same_v<T, BuildStarted>) {
          s = {kActionCreate, false, false, kComputeBuild, Phase::kStart, e.host, {}};
        } else if constexpr (std::is_same_v<T, InstanceSpawned>) {
          s = {kActionCreate, false, true, kComputeBuild, Phase::kSuccess, e.host, {}};
        } else if constexpr (std::is_same_v<T, InstanceBuildFailed>) {
          s = {kActionCreate, false,  true,    kComputeBuild,
               Phase::kError, e.host, e.reason};
        } else if constexpr (std::is_same_v<T, InstanceDeleteRequested>) {
          s = {kActionDelete, true, false, nullptr, Phase::kNone, {}, {}};
        } else if constexpr (std::is_same_v<T, InstanceDeleted>) {
          // A local delete (no host) runs in the API: no compute step, as in Nova.
          s = {kActionDelete,
               false,
               true,
               e.host.empty() ? nullptr : kComputeTerminate,
               e.host.empty() ? Phase::kNone : Phase::kSuccess,
               e.host,
               {}};
        } else if constexpr (std::is_same_v<T, InstanceActionRequested>) {
          s = {ActionName(e.action), true, false, nullptr, Phase::kNone, {}, {}};
        } else if constexpr (std::is_same_v<T, InstanceActionCompleted>) {
          s = {ActionName(e.action), false,  true, ComputeEventOf(e.action),
               Phase::kSuccess,      e.host, {}};
        } else if constexpr (std::is_same_v<T, InstanceActionFailed>) {
          s = {ActionName(e.action), false,  true,    ComputeEventOf(e.action),
               Phase::kError,        e.host, e.reason};
        } else if constexpr (std::is_same_v<T, InstanceRescueRequested>) {
          // Its outcome is instance.action_completed/failed with action "rescue".
          s = {ActionName("rescue"), true, false, nullptr, Phase::kNone, {}, {}};
        } else if constexpr (std::is_same_v<T, InstanceRebuildRequested>) {
          s = {kActionRebuild, true, false, nullptr, Phase::kNone, {}, {}};
        } else if constexpr (std::is_same_v<T, InstanceRebuilt>) {
          s = {kActionRebuild, false, true, kComputeRebuild, Phase::kSuccess, e.host, {}};
        } else if constexpr (std::is_same_v<T, InstanceRebuildFailed>) {
          s = {kActionRebuild, false,  true,    kComputeRebuild,
               Phase::kError,  e.host, e.reason};
        } else if constexpr (std::is_same_v<T, InstanceSnapshotRequested>) {
          s = {e.backup ? kActionCreateBackup : kActionCreateImage,
               true,
               false,
               nullptr,
               Phase::kNone,
               {},
               {}};
        } else if constexpr (std::is_same_v<T, InstanceSnapshotCompleted>) {
          s = {kActionCreateImage, false,  true, kComputeSnapshot,
               Phase::kSuccess,    e.host, {}};
        } else if constexpr (std::is_same_v<T, InstanceSnapshotFailed>) {
          s = {kActionCreateImage, false,  true,    kComputeSnapshot,
               Phase::kError,      e.host, e.reason};
        } else if constexpr (std::is_same_v<T, InstanceResizeRequested>) {
          s = {e.migration_type == "migration" ? kActionMigrate : kActionResize,
               true,
               false,
               nullptr,
               Phase::kNone,
               {},
               {}};
        } else if constexpr (std::is_same_v<T, InstanceResizeFinished>) {
          s = {kActionResize,   false,  true, kComputeFinishResize,
               Phase::kSuccess, e.host, {}};
        } else if constexpr (std::is_same_v<T, InstanceResizeFailed>) {
          s = {kActionResize, false,  true,    kComputeFinishResize,
               Phase::kError, e.host, e.reason};
        } else if constexpr (std::is_same_v<T, InstanceResizeConfirmed>) {
          s = {kActionConfirmResize, true, true, nullptr, Phase::kNone, {}, {}};
        } else if constexpr (std::is_same_v<T, InstanceResizeRevertRequested>) {
          s = {kActionRevertResize, true, false, nullptr, Phase::kNone, {}, {}};
        } else if constexpr (std::is_same_v<T, InstanceResizeReverted>) {
          s = {kActionRevertResize, false,  true, kComputeRevertResize,
               Phase::kSuccess,     e.host, {}};
        } else if constexpr (std::is_same_v<T, InstanceStateReset>) {
          s = {kActionResetState, true, true, nullptr, Phase::kNone, {}, {}};
        } else if constexpr (std::is_same_v<T, InstancePowerStateChanged>) {
          s = {kActionSyncPowerState,
               true,
               true,
               kComputeSyncPowerState,
               Phase::kSuccess,
               e.host,
               e.reason + ": power_state " + std::to_string(e.power_state)};
        } else if constexpr (std::is_same_v<T, InstanceCrashDumpRequested>) {
          s = {kActionTriggerCrashDump, true, false, nullptr, Phase::kNone, {}, {}};
        } else if constexpr (std::is_same_v<T, InstanceCrashDumpFinished>) {
          s = {kActionTriggerCrashDump,
               false,
               true,
               "compute_trigger_crash_dump",
               e.reason.empty() ? Phase::kSuccess : Phase::kError,
               e.host,
               e.reason};
        } else if constexpr (std::is_same_v<T, InstanceShelveRequested>) {
          s = {kActionShelve, true, false, nullptr, Phase::kNone, {}, {}};
        } else if constexpr (std::is_same_v<T, InstanceShelveOffloadRequested>) {
          s = {kActionShelveOffload, true, false, nullptr, Phase::kNone, {}, {}};
        } else if constexpr (std::is_same_v<T, InstanceShelved> ||
                             std::is_same_v<T, InstanceShelveFailed>) {
          // The shelve's, or the shelveOffload's (found by its request).
          constexpr bool kFailed = std::is_same_v<T, InstanceShelveFailed>;
          s = {kActionShelve,
               false,
               true,
               "compute_shelve_instance",
               kFailed ? Phase::kError : Phase::kSuccess,
               e.host,
               {}};
          if constexpr (kFailed) s.details = e.reason;
        } else if constexpr (std::is_same_v<T, InstanceUnshelveRequested>) {
          // Its placement (instance.scheduled) is found by its request.
          s = {kActionUnshelve, true, false, nullptr, Phase::kNone, {}, {}};
        } else if constexpr (std::is_same_v<T, InstanceUnshelved>) {
          s = {kActionUnshelve, false,  true, "compute_unshelve_instance",
               Phase::kSuccess, e.host, {}};
        } else if constexpr (std::is_same_v<T, InstanceUnshelveFailed>) {
          s = {kActionUnshelve, false,  true,    "compute_unshelve_instance",
               Phase::kError,   e.host, e.reason};
        } else if constexpr (std::is_same_v<T, InstanceSoftDeleteRequested>) {
          s = {kActionDelete, true, false, nullptr, Phase::kNone, {}, {}};
        } else if constexpr (std::is_same_v<T, InstanceSoftDeleted>) {
          s = {kActionDelete,   false,  true, "compute_soft_delete_instance",
               Phase::kSuccess, e.host, {}};
        } else if constexpr (std::is_same_v<T, InstanceRestoreRequested>) {
          s = {kActionRestore, true, false, nullptr, Phase::kNone, {}, {}};
        } else if constexpr (std::is_same_v<T, InstanceRestored>) {
          s = {kActionRestore,  false,  true, "compute_restore_instance",
               Phase::kSuccess, e.host, {}};
        } else if constexpr (std::is_same_v<T, InstanceLocked>) {
          s = {kActionLock, true, true, nullptr, Phase::kNone, {}, {}};
        } else if constexpr (std::is_same_v<T, InstanceUnlocked>) {
          s = {kActionUnlock, true, true, nullptr, Phase::kNone, {}, {}};
        }
        return s;
      },
      event);
}

// The host an instance event names in its payload (empty if none).
std::string_view HostNamedBy(const Event& event) {
  return std::visit(
      [](const auto& e) -> std::string_view {
        if constexpr (requires { e.host; }) {
          return e.host.str();
        } else {
          return {};
        }
      },
      event);
}

// The key of the instance an event is about (InstanceOfEvent), without a copy.
std::string_view InstanceKeyOf(const Envelope& env, const Event& event) {
  if (StreamKind(env.stream) == "instance") return StreamKey(env.stream);
  if (const auto* c = std::get_if<HostResourcesClaimed>(&event))
    return c->instance_id.str();
  if (const auto* r = std::get_if<HostResourcesReleased>(&event))
    return r->instance_id.str();
  return {};
}

// Calls fn(kind, id) once for every subject `env` is indexed under (see
// AuditSubjectsOf, which collects them), without copying the ids.
template <typename Fn>
void ForEachAuditSubject(const Envelope& env, const Event& event, std::string_view owner,
                         Fn&& fn) {
  std::pair<AuditKind, std::string_view> seen[7];
  size_t n = 0;
  auto add = [&](AuditKind kind, std::string_view id) {
    if (id.empty()) return;
    for (size_t i = 0; i < n; ++i) {
      if (seen[i].first == kind && seen[i].second == id) return;
    }
    seen[n++] = {kind, id};
    fn(kind, id);
  };
  add(AuditKind::kServer, InstanceKeyOf(env, event));
  add(AuditKind::kRequest, env.meta.request_id.str());
  add(AuditKind::kUser, env.meta.actor.user.str());
  add(AuditKind::kProject, env.meta.actor.project.str());
  add(AuditKind::kProject, owner);
  const std::string_view stream_kind = StreamKind(env.stream);
  if (stream_kind == "host") add(AuditKind::kHost, StreamKey(env.stream));
  if (stream_kind == "instance") add(AuditKind::kHost, HostNamedBy(event));
}

Status NoAction(const Envelope& env, const char* action) {
  return Status::Corruption("seq " + std::to_string(env.seq.value()) + ": " + env.type +
                            " on " + env.stream.str() + " has no " + action +
                            " action to belong to");
}

// The action a progress step belongs to: the one its request started (of the
// step's kind, else of any kind: a stop forced by syncPowerState), else the
// latest of the step's kind (a re-sent work item may carry another request id).
InstanceAction* FindAction(InstanceActions& record, const Envelope& env,
                           const char* action) {
  InstanceAction* latest = nullptr;
  InstanceAction* same_request = nullptr;
  for (auto it = record.actions.rbegin(); it != record.actions.rend(); ++it) {
    const bool request = it->request_id == env.meta.request_id;
    if (it->action == action) {
      if (request) return &*it;
      if (latest == nullptr) latest = &*it;
    } else if (request && same_request == nullptr && !env.meta.request_id.empty()) {
      same_request = &*it;
    }
  }
  return same_request != nullptr ? same_request : latest;
}

// When a step that was never started began: at its cause if the cause is one of
// the action's own events (the compute step of a delete starts when the delete
// was asked for), else at the step itself.
Timestamp CauseTime(const InstanceAction& action, const Envelope& env) {
  for (const ActionStep& s : action.steps) {
    if (s.seq == env.meta.causation) return s.time;
  }
  return env.meta.time;
}

void FoldStep(InstanceAction& action, const Envelope& env, const Step& step) {
  action.steps.push_back(
      {env.seq, env.version, env.type, env.meta.time, env.meta.causation});
  action.updated_at = env.meta.time;
  if (step.event != nullptr) {
    if (step.phase == Phase::kStart) {
      InstanceActionEvent e;
      e.event = step.event;
      e.start_time = env.meta.time;
      e.host = step.host;
      e.start_seq = env.seq;
      action.events.push_back(std::move(e));
    } else {
      auto running = std::find_if(
          action.events.rbegin(), action.events.rend(),
          [&](const auto& e) { return e.event == step.event && e.finish_seq == Seq(); });
      InstanceActionEvent* e = nullptr;
      if (running != action.events.rend()) {
        e = &*running;
      } else {
        action.events.push_back({});
        e = &action.events.back();
        e->event = step.event;
        e->start_time = CauseTime(action, env);
        e->start_seq = env.seq;
      }
      e->finish_time = env.meta.time;
      e->finish_seq = env.seq;
      e->result = step.phase == Phase::kError ? kResultError : kResultSuccess;
      if (!step.host.empty()) e->host = step.host;
      e->details = step.details;
    }
  }
  if (step.phase == Phase::kError) action.message = kActionMessageError;
  if (step.finishes_action) action.finish_time = env.meta.time;
}

// Folds one instance event into the instance's actions; false if it was already
// folded in (its stream version is not new).
Result<bool> FoldInstanceEvent(InstanceActions& record, const Envelope& env,
                               const Event& event) {
  if (env.version <= record.version) return false;
  record.version = env.version;
  Step step = StepOf(event);
  if (const auto* r = std::get_if<InstanceRequested>(&event)) {
    record.instance_id = r->instance_id;
    record.project_id = r->project_id;
  } else if (record.instance_id.empty()) {
    return Status::Corruption("seq " + std::to_string(env.seq.value()) + ": " +
                              env.stream.str() +
                              " does not begin with instance.requested");
  }
  if (step.action == nullptr) return true;
  if (step.starts_action) {
    InstanceAction a;
    a.action = step.action;
    a.instance_id = record.instance_id;
    a.request_id = env.meta.request_id;
    a.user_id = env.meta.actor.user;
    a.project_id = env.meta.actor.project;
    a.start_time = env.meta.time;
    record.actions.push_back(std::move(a));
    FoldStep(record.actions.back(), env, step);
    return true;
  }
  InstanceAction* action = FindAction(record, env, step.action);
  if (action == nullptr) return NoAction(env, step.action);
  FoldStep(*action, env, step);
  return true;
}

}  // namespace

std::string_view AuditKindName(AuditKind kind) {
  switch (kind) {
    case AuditKind::kServer:
      return "server";
    case AuditKind::kRequest:
      return "request";
    case AuditKind::kUser:
      return "user";
    case AuditKind::kProject:
      return "project";
    case AuditKind::kHost:
      return "host";
  }
  return "";
}

Result<AuditKind> ParseAuditKind(std::string_view name) {
  for (AuditKind k : {AuditKind::kServer, AuditKind::kRequest, AuditKind::kUser,
                      AuditKind::kProject, AuditKind::kHost}) {
    if (AuditKindName(k) == name) return k;
  }
  return Status::InvalidArgument("unknown audit subject '" + std::string(name) +
                                 "' (server, request, user, project or host)");
}

InstanceId InstanceOfEvent(const Envelope& env, const Event& event) {
  return InstanceId(std::string(InstanceKeyOf(env, event)));
}

std::vector<AuditSubject> AuditSubjectsOf(const Envelope& env, const Event& event,
                                          const ProjectId& owner) {
  std::vector<AuditSubject> out;
  ForEachAuditSubject(env, event, owner.str(), [&](AuditKind kind, std::string_view id) {
    out.push_back(AuditSubject{kind, std::string(id)});
  });
  return out;
}

Status InstanceActionsProjection::Apply(const Envelope& env, const Event& event,
                                        ReadModelWriter& w) {
  const std::string_view instance = InstanceKeyOf(env, event);
  RecordUpdate<InstanceActions> record;
  std::string key;
  bool folded = false;
  std::string_view owner;  // into `record`: stored (moved) only at the end
  if (!instance.empty()) {
    key = ActionsKey(instance);
    CHRONOVA_RETURN_IF_ERROR(record.Load(w, key));
    if (StreamKind(env.stream) == "instance") {
      CHRONOVA_ASSIGN_OR_RETURN(folded, FoldInstanceEvent(record.get(), env, event));
      if (!folded) return Status::Ok();  // already folded in: indexed then too
    }
    if (record.found() || folded) owner = record.get().project_id.str();
  }
  // The store applies every seq once (its checkpoint), so a posting is appended
  // once.
  char buf[8];
  const std::string_view posting = AuditPosting(env.seq, buf);
  thread_local std::string audit_key;
  Status appended;
  ForEachAuditSubject(env, event, owner, [&](AuditKind kind, std::string_view id) {
    if (!appended.ok()) return;
    SetAuditKey(&audit_key, kind, id, env.seq);
    appended = w.Append(audit_key, posting);
  });
  CHRONOVA_RETURN_IF_ERROR(appended);
  if (folded) record.Store(w, key);
  return Status::Ok();
}

Result<std::optional<InstanceActions>> InstanceActionsView::Get(
    const InstanceId& id) const {
  return GetRecord<InstanceActions>(*reader_, ActionsKey(id.str()));
}

Result<std::optional<InstanceAction>> InstanceActionsView::GetAction(
    const InstanceId& id, const RequestId& request_id) const {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<InstanceActions> record, Get(id));
  if (!record) return std::optional<InstanceAction>();
  for (auto it = record->actions.rbegin(); it != record->actions.rend(); ++it) {
    if (it->request_id == request_id)
      return std::optional<InstanceAction>(std::move(*it));
  }
  return std::optional<InstanceAction>();
}

Result<std::vector<Seq>> InstanceActionsView::Audit(const AuditSubject& subject) const {
  std::vector<Seq> out;
  Status inner;
  CHRONOVA_RETURN_IF_ERROR(reader_->Scan(AuditPrefix(subject), "",
                                         [&](std::string_view k, std::string_view v) {
                                           inner = DecodeAuditPostings(k, v, &out);
                                           return inner.ok();
                                         }));
  CHRONOVA_RETURN_IF_ERROR(inner);
  return out;
}

}  // namespace chronova
