#include "agents/conductor.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <set>

#include "agents/role_metrics.h"
#include "agents/subjects.h"
#include "core/instance_decider.h"
#include "eventstore/command_handler.h"
#include "eventstore/resize_claims.h"
#include "projections/hosts_projection.h"
#include "projections/servers_projection.h"

namespace chronova {
namespace {

void Fold(InstanceState& s, const Envelope& env, const Event& e) {
  ApplyEvent(s, env, e);
}

}  // namespace

void Conductor::Warn(const std::string& what, const Status& st) const {
  options_.env->Warn({.role = "conductor"}, what + ": " + st.ToString());
}

Conductor::Conductor(EventLog* log, Bus* bus, ProjectionStore* store,
                     ConductorOptions options)
    : log_(log), bus_(bus), store_(store), options_(options) {}

Conductor::~Conductor() { Stop(); }

Status Conductor::Start() {
  {
    std::lock_guard<std::mutex> l(lanes_mu_);
    for (int i = 0; i < std::max(options_.workers, 1); ++i)
      lanes_.push_back(options_.env->NewTaskQueue("cond-lane"));
  }
  CHRONOVA_ASSIGN_OR_RETURN(
      reports_,
      bus_->Subscribe(subjects::kAllReports,
                      [this](const std::string&, const std::string& p) { OnReport(p); }));
  CHRONOVA_ASSIGN_OR_RETURN(
      inventories_, bus_->Subscribe(subjects::kAllInventories,
                                    [this](const std::string&, const std::string& p) {
                                      Reconcile(p);
                                    }));
  // Work asked for before the store's checkpoint is covered by the sweep.
  events_ =
      log_->Subscribe(store_->checkpoint().next(),
                      [this](const std::vector<Envelope>& b) { return HandleEvents(b); });
  sweeps_ = 0;
  sweeper_ = options_.env->NewTaskQueue("cond-sweep");
  // At start everything pending is re-sent at once; with peers, the first
  // sweep waits one interval: by then this conductor has heard who they are,
  // and re-sends only its own share.
  if (!options_.owns) QueueSweep();
  sweep_ = std::make_unique<PeriodicTask>(options_.env, options_.sweep_interval_us,
                                          [this] { QueueSweep(); });
  return Status::Ok();
}

void Conductor::Stop() {
  events_.reset();
  reports_.reset();
  inventories_.reset();
  sweep_.reset();
  // Destroying a queue waits for its running task: after this nothing of
  // ours runs.
  sweeper_.reset();
  std::vector<std::unique_ptr<TaskQueue>> lanes;
  {
    std::lock_guard<std::mutex> l(lanes_mu_);
    lanes.swap(lanes_);
  }
  lanes.clear();
}

const std::map<std::string_view, Conductor::EventRoute>&
Conductor::InstanceEventRoutes() {
  static const std::map<std::string_view, EventRoute> kRoutes = {
      {InstanceScheduled::kType, {WorkKind::kBuild}},
      {InstanceDeleteRequested::kType, {WorkKind::kDelete}},
      {InstanceActionRequested::kType, {WorkKind::kAction}},
      {InstanceRescueRequested::kType, {WorkKind::kAction}},
      {InstanceRebuildRequested::kType, {WorkKind::kRebuild}},
      // Only if the drift asks for a stop (HandleEvents checks the task).
      {InstancePowerStateChanged::kType, {WorkKind::kAction}},
      {InstanceSnapshotRequested::kType, {WorkKind::kSnapshot}},
      {InstanceResizeRequested::kType, {WorkKind::kResize}},
      {InstanceResizeRevertRequested::kType, {WorkKind::kResizeRevert}},
      {InstanceCrashDumpRequested::kType, {WorkKind::kCrashDump}},
      {InstanceShelveRequested::kType, {WorkKind::kShelve}},
      {InstanceShelveOffloadRequested::kType, {WorkKind::kShelve}},
      // A shelved server's (an offloaded one waits for the scheduler).
      {InstanceUnshelveRequested::kType, {WorkKind::kUnshelve}},
      {InstanceSoftDeleteRequested::kType, {WorkKind::kSoftDelete}},
      {InstanceRestoreRequested::kType, {WorkKind::kSoftDelete}},
      {InstanceResizeConfirmed::kType, {WorkKind::kBuild, /*settle_resize=*/true}},
      {InstanceResizeReverted::kType, {WorkKind::kBuild, /*settle_resize=*/true}},
      {InstanceResizeFailed::kType, {WorkKind::kBuild, /*settle_resize=*/true}},
      {InstanceDeleted::kType, {WorkKind::kBuild, /*settle_resize=*/true}},
  };
  return kRoutes;
}

Status Conductor::HandleEvents(const std::vector<Envelope>& batch) {
  for (const Envelope& env : batch) {
    if (StreamKind(env.stream) != "instance") continue;
    // Settling a resize's claims is idempotent, and nothing re-does it later:
    // every conductor does it, so none is missed while owners change.
    const bool owned = Owns(StreamKey(env.stream));
    auto route = InstanceEventRoutes().find(env.type);
    if (env.type == InstanceResizeFinished::kType) {
      if (owned) ConfirmIfAsked(env);
      continue;
    }
    if (route == InstanceEventRoutes().end()) continue;
    if (route->second.settle_resize) {
      Status st = SettleResize(env);
      if (!st.ok()) Warn("resize claims after " + env.type, st);
      continue;
    }
    WorkKind kind = route->second.work;
    if (!owned) continue;
    // The state as of this event (not later): the work it asked for.
    CHRONOVA_ASSIGN_OR_RETURN(
        InstanceState s,
        LoadInstance(*log_, InstanceId(std::string(StreamKey(env.stream))), env.seq));
    if (s.host.empty()) continue;  // a delete that needed no host
    // An offloaded server's placement: its unshelve, not a build.
    if (kind == WorkKind::kBuild && s.task_state == TaskState::kUnshelving) {
      kind = WorkKind::kUnshelve;
    }
    if (kind == WorkKind::kDelete && DeleteWithoutHost(s, options_.env->Now())) {
      continue;
    }
    // Drift that left the instance settled needs no work; a running guest of a
    // stopped instance is stopped (the fold started the task).
    if (env.type == InstancePowerStateChanged::kType &&
        (s.task_state != TaskState::kPoweringOff || s.task_seq != env.seq)) {
      continue;
    }
    Status st = SendWork(s, kind, env.seq, env.meta);
    if (!st.ok()) Warn("routing work for " + s.id.str(), st);
  }
  return Status::Ok();
}

Status Conductor::SettleResize(const Envelope& env) {
  // The resize as it stood just before this event.
  const InstanceId id(std::string(StreamKey(env.stream)));
  CHRONOVA_ASSIGN_OR_RETURN(InstanceState before,
                            LoadInstance(*log_, id, Seq(env.seq.value() - 1)));
  if (before.migration_id.empty()) return Status::Ok();
  InstanceState s = before;  // and after it
  CHRONOVA_ASSIGN_OR_RETURN(Event event, DecodeEvent(env));
  ApplyEvent(s, env, event);
  ResizeClaims c{id,
                 InstanceId(before.migration_id),
                 before.resize_source_host,
                 before.resize_dest_host,
                 before.resize_old_flavor,
                 before.resize_new_flavor};
  EventMeta meta = env.meta;
  meta.causation = env.seq;
  meta.time = options_.env->Now();
  if (env.type == InstanceResizeReverted::kType ||
      env.type == InstanceResizeFailed::kType) {
    return RevertResizeClaims(*log_, c, meta);
  }
  // Confirmed, or deleted with a resize pending: the migration's claim on the
  // source goes.
  CHRONOVA_RETURN_IF_ERROR(ConfirmResizeClaims(*log_, c, meta));
  if (c.source == c.dest) return Status::Ok();
  // The host the server is not on (the source after a confirm; for a delete,
  // whichever side did not tear the guest down) drops its guest, and a delete
  // also gives back the instance's claim there.
  const HostName other = s.host == c.source ? c.dest : c.source;
  if (env.type == InstanceDeleted::kType) {
    CHRONOVA_RETURN_IF_ERROR(Release(id, other, meta));
  }
  Work w = ResizeConfirmWork{WorkOrigin{id, env.seq, env.meta.request_id, env.meta.actor},
                             c.source};
  return bus_->Publish(subjects::Work(other), EncodePortable(w));
}

Status Conductor::SendWork(const InstanceState& s, WorkKind kind, Seq causation,
                           const EventMeta& meta) {
  const WorkOrigin origin{s.id, causation, meta.request_id, meta.actor};
  const WorkGuest guest{s.name, s.flavor, s.image_id};
  // A resize runs on its destination (the server's host after it finished).
  HostName target = s.host;
  Work w;
  switch (kind) {
    case WorkKind::kBuild:
      w = BuildWork{origin, guest};
      break;
    case WorkKind::kDelete:
      w = DeleteWork{origin};
      break;
    case WorkKind::kRebuild:
      // The vm_state a rebuild started from is still the instance's (only the
      // task changed).
      w = RebuildWork{origin, guest, s.vm_state == VmState::kStopped};
      break;
    case WorkKind::kSnapshot:
      w = SnapshotWork{origin,
                       guest,
                       s.snapshot_image_id,
                       s.snapshot_backup,
                       s.snapshot_backup_type,
                       s.snapshot_rotation};
      break;
    case WorkKind::kResize:
      target = s.resize_dest_host;
      w = ResizeWork{origin, WorkGuest{s.name, s.resize_new_flavor, s.image_id},
                     s.resize_source_host, s.vm_state == VmState::kStopped};
      break;
    case WorkKind::kResizeRevert:
      target = s.resize_dest_host;
      w = ResizeRevertWork{
          origin, WorkGuest{s.name, s.resize_old_flavor, s.image_id},
          s.resize_source_host,
          s.vm_state == VmState::kStopped || s.power_state == PowerState::kShutdown};
      break;
    case WorkKind::kCrashDump:
      w = CrashDumpWork{origin};
      break;
    case WorkKind::kShelve:
      w = ShelveWork{
          origin, guest, s.shelved_image_id,
          /*snapshot=*/s.task_state == TaskState::kShelving,
          /*offload=*/s.task_state == TaskState::kShelvingOffloading || s.shelve_offload};
      break;
    case WorkKind::kUnshelve:
      w = UnshelveWork{origin, WorkGuest{s.name, s.flavor, s.shelved_image_id},
                       /*spawn=*/s.vm_state == VmState::kShelvedOffloaded};
      break;
    case WorkKind::kSoftDelete:
      w = SoftDeleteWork{origin, /*restore=*/s.task_state == TaskState::kRestoring};
      break;
    case WorkKind::kAction: {
      ActionWork a{origin, guest, "", false, ImageId()};
      LifecycleAction action;
      if (!ActionOfTask(s.task_state, &action, &a.hard)) {
        return Status::Internal("instance " + s.id.str() + " runs no lifecycle action");
      }
      a.action = std::string(LifecycleActionName(action));
      if (action == LifecycleAction::kRescue) {
        a.rescue_image_id = s.rescue_image_id.empty() ? s.image_id : s.rescue_image_id;
      }
      w = std::move(a);
      break;
    }
  }
  return bus_->Publish(subjects::Work(target), EncodePortable(w));
}

void Conductor::OnReport(const std::string& payload) {
  Report r;
  if (Status st = DecodePortable(payload, &r); !st.ok()) {
    Warn("undecodable report", st);
    return;
  }
  // A host-level report (host.registered) is sent once and recorded under a
  // key: every conductor handles it, so none is lost while owners change.
  if (!r.instance_id.empty() && !Owns(r.instance_id.str())) return;
  Enqueue(std::move(r));
}

void Conductor::Enqueue(Report r) {
  std::lock_guard<std::mutex> l(lanes_mu_);
  if (lanes_.empty()) return;  // stopping
  size_t lane = std::hash<std::string>()(r.instance_id.empty() ? r.host.str()
                                                               : r.instance_id.str()) %
                lanes_.size();
  lanes_[lane]->Post([this, r = std::move(r)] { Apply(r); });
}

void Conductor::Apply(const Report& r) {
  Status st = ApplyReport(r);
  if (!st.ok()) {
    ++refused_;
    if (!st.IsConflict()) Warn("report " + r.type + " from " + r.host.str(), st);
  }
}

Status Conductor::ApplyReport(const Report& r) {
  Envelope as_env;
  as_env.type = r.type;
  as_env.schema = r.schema;
  as_env.payload = r.payload;
  CHRONOVA_ASSIGN_OR_RETURN(Event event, DecodeEvent(as_env));
  EventMeta meta{options_.env->Now(), r.request_id, r.causation, r.actor};

  if (auto* reg = std::get_if<HostRegistered>(&event)) {
    // A host speaks only for itself.
    if (reg->host != r.host)
      return Status::PermissionDenied("host registers another host");
    AppendRequest req;
    req.stream = HostStream(r.host);
    // The same capacity announced again (a restart) is the same fact: one event.
    req.key = IdempotencyKey("register-" + r.host.str() + "-" +
                             std::to_string(std::hash<std::string>()(r.payload)));
    req.events.push_back(MakeNewEvent(event, meta));
    return log_->Append(req).status();
  }
  if (r.instance_id.empty()) return Status::InvalidArgument("report without an instance");
  if (auto* p = std::get_if<InstancePowerStateChanged>(&event)) {
    return ApplyPowerState(r, *p, meta);
  }

  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome out,
      Record(r.instance_id, event, meta,
             IdempotencyKey("report-" + r.instance_id.str() + "-" + r.type + "-" +
                            std::to_string(r.causation.value()))));
  // A build that failed or a guest that is gone (deleted, offloaded, or an
  // offloaded server's unshelve that failed) no longer holds its claim.
  bool releases = std::holds_alternative<InstanceDeleted>(event) ||
                  std::holds_alternative<InstanceBuildFailed>(event);
  if (const auto* shelved = std::get_if<InstanceShelved>(&event)) {
    releases = shelved->offloaded;
  } else if (std::holds_alternative<InstanceUnshelveFailed>(event) && out.appended) {
    CHRONOVA_ASSIGN_OR_RETURN(InstanceState now, LoadInstance(*log_, r.instance_id));
    releases = now.vm_state == VmState::kShelvedOffloaded;
  }
  if (out.appended) CountOutcome(event);
  if (releases && out.appended) {
    meta.causation = out.append.last_seq;
    return Release(r.instance_id, r.host, meta);
  }
  return Status::Ok();
}

void Conductor::CountOutcome(const Event& event) {
  if (std::holds_alternative<InstanceSpawned>(event)) {
    CountBoot("active");
  } else if (std::holds_alternative<InstanceBuildFailed>(event)) {
    CountBoot("failed");
  } else if (std::holds_alternative<InstanceDeleted>(event)) {
    CountDelete("deleted");
  }
}

Result<CommandOutcome> Conductor::Record(const InstanceId& id, const Event& event,
                                         const EventMeta& meta,
                                         const IdempotencyKey& key) {
  InstanceState initial;
  initial.id = id;
  return HandleCommand(
      *log_, InstanceStream(id), initial, Fold,
      [](const InstanceState& s) { return s.version; },
      [&](const InstanceState& s) { return Decide(s, ReportProgress{event}); }, meta,
      key);
}

Status Conductor::ApplyPowerState(const Report& r, const InstancePowerStateChanged& p,
                                  EventMeta meta) {
  if (p.host != r.host) return Status::PermissionDenied("host reports another host");
  CHRONOVA_ASSIGN_OR_RETURN(InstanceState s, LoadInstance(*log_, r.instance_id));
  const bool guest = p.power_state != static_cast<int32_t>(PowerState::kNoState);
  // A resize in progress or awaiting confirmation has a guest on both of its
  // hosts: the one the server is not on is not a stray (confirm or revert
  // drops it); its power state is not the server's.
  if (!s.migration_id.empty() && s.vm_state != VmState::kDeleted && s.host != p.host &&
      (p.host == s.resize_source_host || p.host == s.resize_dest_host)) {
    return Status::Ok();
  }
  if (guest && (!s.exists || s.vm_state == VmState::kDeleted || s.host != p.host)) {
    // A guest the log does not place here (its instance was deleted while the
    // host was away, or never lived here): Nova's
    // running_deleted_instance_action=reap.
    Work w = ReapWork{WorkOrigin{r.instance_id, Seq(), RequestId(), Actor{}}};
    options_.env->Info(
        {.role = "conductor", .host = p.host.str(), .instance_id = r.instance_id.str()},
        "reaping the guest of instance " + r.instance_id.str() + " on " + p.host.str() +
            ": the log does not place it there");
    return bus_->Publish(subjects::Work(p.host), EncodePortable(w));
  }
  // No work caused it: a request of its own, so os-instance-actions shows the
  // sync as one action, and a forced stop it starts acts for that request.
  const std::string uuid = options_.env->NewUuid();
  meta.request_id = RequestId("req-" + uuid);
  meta.causation = Seq();
  meta.actor = Actor{};
  // Refused (Conflict) when it is no news or a task is in progress: the usual case.
  return Record(r.instance_id, p, meta, IdempotencyKey("power-" + uuid)).status();
}

bool Conductor::PendingWork(const InstanceState& s, WorkKind* kind) {
  LifecycleAction action;
  bool hard = false;
  if (s.host.empty()) return false;
  if (s.task_state == TaskState::kDeleting) {
    *kind = WorkKind::kDelete;
  } else if (s.vm_state == VmState::kBuilding) {
    *kind = WorkKind::kBuild;
  } else if (s.task_state == TaskState::kRebuilding) {
    *kind = WorkKind::kRebuild;
  } else if (s.task_state == TaskState::kImageSnapshot ||
             s.task_state == TaskState::kImageBackup) {
    *kind = WorkKind::kSnapshot;
  } else if (s.task_state == TaskState::kResizePrep) {
    *kind = WorkKind::kResize;
  } else if (s.task_state == TaskState::kResizeReverting) {
    *kind = WorkKind::kResizeRevert;
  } else if (s.task_state == TaskState::kShelving ||
             s.task_state == TaskState::kShelvingOffloading) {
    *kind = WorkKind::kShelve;
  } else if (s.task_state == TaskState::kUnshelving) {
    *kind = WorkKind::kUnshelve;
  } else if (s.task_state == TaskState::kSoftDeleting ||
             s.task_state == TaskState::kRestoring) {
    *kind = WorkKind::kSoftDelete;
  } else if (ActionOfTask(s.task_state, &action, &hard)) {
    *kind = WorkKind::kAction;
  } else {
    return false;
  }
  return true;
}

namespace {

// The meta of what the conductor does on behalf of the task `s` is running:
// that task's request, cause and owner.
EventMeta TaskMeta(const InstanceState& s, Timestamp now) {
  return EventMeta{now, s.task_request_id, s.task_seq,
                   Actor{s.user_id, s.project_id, {}}};
}

}  // namespace

void Conductor::Resend(const InstanceState& s, WorkKind kind, Timestamp now) {
  EventMeta meta = TaskMeta(s, now);
  Status st = SendWork(s, kind, s.task_seq, meta);
  if (!st.ok()) Warn("re-sending work for " + s.id.str(), st);
}

void Conductor::TimeOutBuild(const InstanceState& s, Timestamp now) {
  EventMeta meta = TaskMeta(s, now);
  // Nova's _check_instance_build_time message.
  Result<CommandOutcome> out = Record(
      s.id, InstanceBuildFailed{s.host, "Instance build timed out. Set to error state."},
      meta, IdempotencyKey("build-timeout-" + s.id.str()));
  if (!out.ok()) {
    // Conflict: the build finished meanwhile.
    if (!out.status().IsConflict())
      Warn("timing out the build of " + s.id.str(), out.status());
    return;
  }
  if (!out->appended) return;
  CountBoot("timed_out");
  meta.causation = out->append.last_seq;
  Status st = Release(s.id, s.host, meta);
  if (!st.ok()) Warn("releasing the claim of " + s.id.str(), st);
}

bool Conductor::DeleteWithoutHost(const InstanceState& s, Timestamp now) {
  if (!options_.host_is_down || !options_.host_is_down(s.host)) return false;
  EventMeta meta = TaskMeta(s, now);
  Result<CommandOutcome> out = Record(s.id, InstanceDeleted{s.host}, meta,
                                      IdempotencyKey("local-delete-" + s.id.str()));
  if (!out.ok()) {
    // Conflict: the host reported the delete meanwhile (and its claim went then).
    if (!out.status().IsConflict())
      Warn("deleting " + s.id.str() + " without its host", out.status());
    return true;
  }
  if (!out->appended) return true;
  CountDelete("deleted_without_host");
  meta.causation = out->append.last_seq;
  Status st = Release(s.id, s.host, meta);
  if (!st.ok()) Warn("releasing the claim of " + s.id.str(), st);
  // A host judged down may only be slow to heartbeat: should it hear this, it
  // destroys the guest now rather than at its next power-state sync or restart.
  Work reap = ReapWork{WorkOrigin{s.id, Seq(), RequestId(), Actor{}}};
  st = bus_->Publish(subjects::Work(s.host), EncodePortable(reap));
  if (!st.ok()) Warn("asking " + s.host.str() + " to reap " + s.id.str(), st);
  return true;
}

void Conductor::Reconcile(const std::string& payload) {
  GuestInventory inventory;
  if (Status st = DecodePortable(payload, &inventory); !st.ok()) {
    Warn("undecodable guest inventory", st);
    return;
  }
  // Each guest's power state came as a report of its own, checked in its
  // instance's lane in order with the host's other reports (an orphan is
  // reaped there). What is left: the log's side.
  const HostName& host = inventory.host;
  std::set<InstanceId> guests;
  for (const GuestInventory::Guest& g : inventory.guests) guests.insert(g.instance_id);
  auto reader = store_->Reader(ServersProjection::kName);
  if (!reader.ok()) return Warn("reconciling " + host.str(), reader.status());
  auto placed = ServersView(reader->get()).OnHost(host);
  if (!placed.ok()) return Warn("reconciling " + host.str(), placed.status());
  const Timestamp now = options_.env->Now();
  for (const InstanceState& s : *placed) {
    if (!Owns(s.id.str())) continue;
    WorkKind kind;
    if (PendingWork(s, &kind)) {
      // Work the host lost when it went away: sent again (every step is
      // idempotent). The periodic sync leaves that to the sweep.
      if (inventory.restart) Resend(s, kind, now);
    } else if (!guests.contains(s.id)) {
      // The log has a guest the host did not list. The list may be older than
      // a build that finished since: the host looks again and reports what it
      // finds (NOSTATE if there is still none).
      Work w = SyncPowerStateWork{
          WorkOrigin{s.id, Seq(), RequestId(), Actor{}},
          std::string(InventoryReason(inventory.restart)) + ": no guest"};
      Status st = bus_->Publish(subjects::Work(host), EncodePortable(w));
      if (!st.ok()) Warn("asking " + host.str() + " about " + s.id.str(), st);
    }
  }
  if (Owns(host.str())) ReleaseUnusedClaims(host, ServersView(reader->get()), now);
}

namespace {

// A claim on `host` that instance `s` does not use: a scheduler placed it
// elsewhere (two schedulers raced, or one died between its claim and the
// placement), or the placement failed. Never while it is being placed, nor on
// either host of its resize.
bool UnusedClaim(const InstanceState& s, const HostName& host) {
  if (!s.exists || s.vm_state == VmState::kDeleted ||
      s.task_state == TaskState::kScheduling || s.host == host) {
    return false;
  }
  // An offloaded server being placed again (its claim comes first).
  if (s.task_state == TaskState::kUnshelving && s.host.empty()) return false;
  // A resize holds claims on both of its hosts, and only there.
  return s.migration_id.empty() ||
         (host != s.resize_source_host && host != s.resize_dest_host);
}

}  // namespace

void Conductor::ReleaseUnusedClaims(const HostName& host, const ServersView& servers,
                                    Timestamp now) {
  auto hosts = store_->Reader(HostsProjection::kName);
  if (!hosts.ok()) return Warn("reading the claims of " + host.str(), hosts.status());
  auto state = HostsView(hosts->get()).Get(host);
  if (!state.ok()) return Warn("reading the claims of " + host.str(), state.status());
  if (!state->has_value()) return;
  std::set<InstanceId> unused_now;
  // Whether a claim has looked unused for unused_claim_grace_us by now (a
  // resize claims an instant before it records the resize).
  auto unused_long_enough = [&](const InstanceId& id) {
    unused_now.insert(id);
    std::lock_guard<std::mutex> l(unused_mu_);
    auto [it, fresh] = unused_claims_.try_emplace({host, id}, now);
    return !fresh && now.micros - it->second.micros >= options_.unused_claim_grace_us;
  };
  // A claim of a live server placed on this host is in use: no server is read
  // for it (a host's claims are nearly all such).
  auto on_host = servers.IdsOnHost(host);
  for (const auto& [id, claim] : (*state)->claims) {
    if (on_host.ok() && on_host->contains(id)) continue;
    auto s = servers.Get(id);
    if (!s.ok()) continue;
    if (!s->has_value()) {
      // No such instance: a resize's claim, held under its migration's id —
      // or one whose resize was never recorded.
      if (!unused_long_enough(id)) continue;
      Result<bool> pending = ReleaseOrphanMigrationClaim(host, id, now);
      if (!pending.ok() && !pending.status().IsConflict())
        Warn("giving back the claim of " + id.str(), pending.status());
      if (pending.ok() && *pending) {
        // A resize awaiting confirmation: looked at again only much later
        // (it reads the host's and the instance's streams).
        std::lock_guard<std::mutex> l(unused_mu_);
        unused_claims_[{host, id}] = Timestamp{now.micros + kPendingResizeRecheckUs};
      }
      continue;
    }
    const InstanceState& i = **s;
    if (i.vm_state == VmState::kDeleted) {
      options_.env->Info(
          {.role = "conductor", .host = host.str(), .instance_id = id.str()},
          "giving back the claim of deleted instance " + id.str() + " on " + host.str());
      Status st = Release(id, host, TaskMeta(i, now));
      if (!st.ok()) Warn("releasing the claim of " + id.str(), st);
      continue;
    }
    // Given back once it has looked unused long enough, after checking
    // again in the log.
    if (!UnusedClaim(i, host) || !unused_long_enough(id)) continue;
    Status st = ReleaseUnusedClaim(host, id, now);
    if (!st.ok() && !st.IsConflict()) Warn("giving back the claim of " + id.str(), st);
  }
  // Forget what is no longer unused on this host.
  std::lock_guard<std::mutex> l(unused_mu_);
  for (auto it = unused_claims_.lower_bound({host, InstanceId()});
       it != unused_claims_.end() && it->first.first == host;) {
    it = unused_now.contains(it->first.second) ? std::next(it) : unused_claims_.erase(it);
  }
}

void Conductor::SweepUnusedClaims() {
  auto hosts = store_->Reader(HostsProjection::kName);
  auto servers = store_->Reader(ServersProjection::kName);
  if (!hosts.ok() || !servers.ok()) return;
  auto list = HostsView(hosts->get()).List();
  if (!list.ok()) return Warn("listing hosts", list.status());
  const Timestamp now = options_.env->Now();
  for (const HostState& h : *list) {
    if (!h.claims.empty() && Owns(h.name.str()))
      ReleaseUnusedClaims(h.name, ServersView(servers->get()), now);
  }
}

Status Conductor::ReleaseUnusedClaim(const HostName& host, const InstanceId& id,
                                     Timestamp now) {
  // The host first, then the instance: a claim made after the host was read
  // fails the expected version below.
  HostState h;
  h.name = host;
  CHRONOVA_RETURN_IF_ERROR(LoadAggregate(*log_, HostStream(host), h, ApplyHostEvent));
  if (!h.claims.contains(id)) return Status::Ok();
  CHRONOVA_ASSIGN_OR_RETURN(InstanceState s, LoadInstance(*log_, id));
  if (!UnusedClaim(s, host)) return Status::Ok();
  options_.env->Info({.role = "conductor", .host = host.str(), .instance_id = id.str()},
                     "giving back the unused claim of " + id.str() + " on " + host.str() +
                         " (placed on '" + s.host.str() + "')");
  AppendRequest req;
  req.stream = HostStream(host);
  req.expected = ExpectedVersion::Exactly(h.version);
  // The version makes the key this claim's own: a later claim of the same
  // instance on this host gets a release of its own.
  req.key = IdempotencyKey("release-unused-" + id.str() + "-" + host.str() + "-" +
                           std::to_string(h.version.value()));
  req.events.push_back(MakeNewEvent(HostResourcesReleased{id}, TaskMeta(s, now)));
  return log_->Append(req).status();
}

Result<bool> Conductor::ReleaseOrphanMigrationClaim(const HostName& host,
                                                    const InstanceId& migration,
                                                    Timestamp now) {
  // The host's stream, read once: its state, and the append that made the claim.
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<Envelope> events,
                            ReadWholeStream(*log_, HostStream(host)));
  HostState h;
  h.name = host;
  for (const Envelope& env : events) {
    CHRONOVA_ASSIGN_OR_RETURN(Event e, DecodeEvent(env));
    ApplyHostEvent(h, env, e);
  }
  auto held = h.claims.find(migration);
  if (held == h.claims.end()) return false;
  // The instance whose claim the migration took: released in the same append
  // (core/placement.h, DecideResizeSource).
  InstanceId instance;
  Timestamp claimed_at;
  for (size_t k = 1; k < events.size(); ++k) {
    if (events[k].type != HostResourcesClaimed::kType) continue;
    CHRONOVA_ASSIGN_OR_RETURN(Event claimed, DecodeEvent(events[k]));
    if (std::get<HostResourcesClaimed>(claimed).instance_id != migration) continue;
    const Envelope& before = events[k - 1];
    if (before.type != HostResourcesReleased::kType ||
        before.meta.request_id != events[k].meta.request_id)
      break;
    CHRONOVA_ASSIGN_OR_RETURN(Event released, DecodeEvent(before));
    instance = std::get<HostResourcesReleased>(released).instance_id;
    claimed_at = events[k].meta.time;
    break;
  }
  // Not a migration's (nothing was released for it): no guess is made.
  if (instance.empty()) return false;
  // Recorded: the resize ended (confirmed, reverted, failed or its server
  // deleted) but its claims did not settle (the conductor stopped, or the log
  // refused): settle them now, from the event that ended it. Every step is
  // idempotent.
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<Envelope> history,
                            ReadWholeStream(*log_, InstanceStream(instance)));
  InstanceState s;
  s.id = instance;
  bool recorded = false;
  for (const Envelope& env : history) {
    CHRONOVA_ASSIGN_OR_RETURN(Event e, DecodeEvent(env));
    ApplyEvent(s, env, e);
    if (!recorded) {
      recorded = s.migration_id == migration.str();
      continue;
    }
    if (s.migration_id != migration.str() || s.vm_state == VmState::kDeleted) {
      CHRONOVA_RETURN_IF_ERROR(SettleResize(env));
      return false;
    }
  }
  if (recorded) return true;  // still in progress
  // Not recorded yet: the api may still be recording it (an append that is
  // slow to answer); only one far older than any request is given up.
  if (now.micros - claimed_at.micros < kUnrecordedResizeAgeUs) return false;
  options_.env->Info(
      {.role = "conductor", .host = host.str(), .instance_id = instance.str()},
      "giving back the claim of resize " + migration.str() + " of " + instance.str() +
          " on " + host.str() + ": the resize was never recorded");
  // Never recorded: as a revert (DecideResizeRevertSource), the instance
  // holds its old flavor here again, if it is still here.
  std::vector<Event> revert{HostResourcesReleased{migration}};
  if (s.exists && s.vm_state != VmState::kDeleted && s.host == host) {
    if (h.claims.contains(instance)) revert.push_back(HostResourcesReleased{instance});
    revert.push_back(HostResourcesClaimed{instance, held->second.vcpus,
                                          held->second.memory_mb, held->second.disk_gb});
  }
  AppendRequest req;
  req.stream = HostStream(host);
  req.expected = ExpectedVersion::Exactly(h.version);
  req.key = IdempotencyKey("orphan-resize-" + migration.str() + "-" +
                           std::to_string(h.version.value()));
  for (const Event& e : revert) req.events.push_back(MakeNewEvent(e, TaskMeta(s, now)));
  CHRONOVA_RETURN_IF_ERROR(log_->Append(req).status());
  return false;
}

Status Conductor::Release(const InstanceId& id, const HostName& host,
                          const EventMeta& meta) {
  AppendRequest req;
  req.stream = HostStream(host);
  // The cause makes the key this release's own: an instance that comes back
  // to the host (an unshelve, a resize back) is released again later.
  req.key = IdempotencyKey("release-" + id.str() + "-" + host.str() + "-" +
                           std::to_string(meta.causation.value()));
  // Releasing is idempotent on the host's state, so no expected version is needed.
  req.events.push_back(MakeNewEvent(HostResourcesReleased{id}, meta));
  return log_->Append(req).status();
}

void Conductor::QueueSweep() {
  // One sweep queued at a time: a slow one is not followed by a pile of them.
  if (sweep_queued_.exchange(true)) return;
  sweeper_->Post([this] {
    sweep_queued_ = false;
    Sweep();
  });
}

void Conductor::Sweep() {
  // The first sweep re-sends everything pending; later ones only what has
  // waited too long.
  const int64_t age = sweeps_ == 0 ? 0 : options_.resend_after_us;
  // Every sixth sweep, the claims no instance uses on the hosts this
  // conductor owns (besides each host's power-state sync).
  if ((sweeps_ + 1) % 6 == 0) SweepUnusedClaims();
  Timestamp now = options_.env->Now();
  auto reader = store_->Reader(ServersProjection::kName);
  // Only the instances with work in flight: an idle cloud of millions of
  // servers costs the sweep nothing. Counted once they are read.
  auto servers = reader.ok() ? ServersView(reader->get()).InFlight()
                             : Result<std::vector<InstanceState>>(reader.status());
  ++sweeps_;
  if (reader.ok()) ExpireParked(now);
  if (!servers.ok()) return;
  for (const InstanceState& s : *servers) {
    if (s.host.empty() || !Owns(s.id.str())) continue;
    if (options_.build_timeout_us > 0 && s.vm_state == VmState::kBuilding &&
        s.task_state != TaskState::kDeleting &&
        now.micros - s.created_at.micros >= options_.build_timeout_us) {
      TimeOutBuild(s, now);
      continue;
    }
    WorkKind kind;
    if (!PendingWork(s, &kind)) continue;
    // A delete whose host went down after the work was sent.
    if (kind == WorkKind::kDelete && DeleteWithoutHost(s, now)) continue;
    if (now.micros - s.updated_at.micros < age) continue;
    Resend(s, kind, now);
  }
}

void Conductor::ExpireParked(Timestamp now) {
  struct Parked {
    const char* status;
    int64_t after_us;
    const char* verb;
  };
  const Parked kinds[] = {
      {"SOFT_DELETED", options_.reclaim_instance_interval_us, "reclaim"},
      {"SHELVED", options_.shelved_offload_time_us, "offload"},
      // A resize to confirm once finished whose instance.resize_finished this
      // conductor never saw (it was down): confirmed after the re-send delay.
      {"VERIFY_RESIZE", options_.resend_after_us, "auto-confirm"},
  };
  for (const Parked& p : kinds) {
    if (p.after_us <= 0) continue;
    auto reader = store_->Reader(ServersProjection::kName);
    if (!reader.ok()) return Warn("reading parked servers", reader.status());
    // Only that status's index: the parked servers, not the cloud.
    std::vector<InstanceState> due;
    Status st = ServersView(reader->get())
                    .VisitNewest({ProjectId(), p.status, HostName()}, nullptr,
                                 [&](InstanceState&& s) {
                                   const bool confirm =
                                       p.status == std::string_view("VERIFY_RESIZE");
                                   if (confirm && !s.resize_auto_confirm) return true;
                                   if (s.task_state == TaskState::kNone &&
                                       now.micros - s.updated_at.micros >= p.after_us &&
                                       Owns(s.id.str())) {
                                     due.push_back(std::move(s));
                                   }
                                   return true;
                                 });
    if (!st.ok()) Warn(std::string("listing ") + p.status + " servers", st);
    for (const InstanceState& s : due) {
      // A request of its own, by no user (Nova's periodic tasks run as admin).
      EventMeta meta{now, RequestId("req-" + options_.env->NewUuid()), Seq(), Actor{}};
      InstanceState initial;
      initial.id = s.id;
      const bool reclaim = p.status == std::string_view("SOFT_DELETED");
      const bool confirm = p.status == std::string_view("VERIFY_RESIZE");
      Result<CommandOutcome> out = HandleCommand(
          *log_, InstanceStream(s.id), initial, Fold,
          [](const InstanceState& i) { return i.version; },
          [&](const InstanceState& i) -> Result<std::vector<Event>> {
            // Only if it is still as it was found (a restore or unshelve
            // meanwhile keeps it).
            if (i.version != s.version) return std::vector<Event>{};
            if (reclaim) return Decide(i, DeleteInstance{/*override_lock=*/true});
            if (confirm) return Decide(i, ConfirmResize{/*override_lock=*/true});
            return Decide(i, ShelveOffloadInstance{/*override_lock=*/true});
          },
          meta,
          IdempotencyKey(std::string(p.verb) + "-" + s.id.str() + "-" +
                         std::to_string(s.version.value())));
      if (!out.ok() && !out.status().IsConflict()) {
        Warn(std::string(p.verb) + " " + s.id.str(), out.status());
      }
    }
  }
}

void Conductor::ConfirmIfAsked(const Envelope& env) {
  const InstanceId id(std::string(StreamKey(env.stream)));
  Result<InstanceState> s = LoadInstance(*log_, id, env.seq);
  if (!s.ok()) return Warn("confirming the resize of " + id.str(), s.status());
  if (!s->resize_auto_confirm || s->vm_state != VmState::kResized) return;
  // On behalf of the resize's request; as an admin would (a lock since does
  // not leave it in VERIFY_RESIZE).
  EventMeta meta = TaskMeta(*s, options_.env->Now());
  meta.causation = env.seq;
  InstanceState initial;
  initial.id = id;
  Result<CommandOutcome> out = HandleCommand(
      *log_, InstanceStream(id), initial, Fold,
      [](const InstanceState& i) { return i.version; },
      [&](const InstanceState& i) -> Result<std::vector<Event>> {
        if (i.migration_id != s->migration_id) return std::vector<Event>{};
        return Decide(i, ConfirmResize{/*override_lock=*/true});
      },
      meta, IdempotencyKey("auto-confirm-" + s->migration_id));
  if (!out.ok() && !out.status().IsConflict()) {
    Warn("confirming the resize of " + id.str(), out.status());
  }
}

}  // namespace chronova
