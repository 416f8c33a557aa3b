#include "agents/conductor.h"

#include <cstdio>
#include <functional>

#include "agents/subjects.h"
#include "core/instance_decider.h"
#include "eventstore/command_handler.h"
#include "projections/servers_projection.h"

namespace chronova {
namespace {

void Fold(InstanceState& s, const Envelope& env, const Event& e) {
  ApplyEvent(s, env, e);
}

void Warn(const std::string& what, const Status& st) {
  std::fprintf(stderr, "conductor: %s: %s\n", what.c_str(), st.ToString().c_str());
}

}  // namespace

Conductor::Conductor(EventLog* log, Bus* bus, ProjectionStore* store,
                     ConductorOptions options)
    : log_(log), bus_(bus), store_(store), options_(options) {}

Conductor::~Conductor() { Stop(); }

Status Conductor::Start() {
  for (int i = 0; i < options_.workers; ++i) lanes_.push_back(std::make_unique<Lane>());
  for (size_t i = 0; i < lanes_.size(); ++i)
    threads_.emplace_back([this, i] { ReportWorker(i); });
  CHRONOVA_ASSIGN_OR_RETURN(
      reports_,
      bus_->Subscribe(subjects::kAllReports,
                      [this](const std::string&, const std::string& p) { OnReport(p); }));
  // Work asked for before the store's checkpoint is covered by the sweep.
  events_ =
      log_->Subscribe(store_->checkpoint().next(),
                      [this](const std::vector<Envelope>& b) { return HandleEvents(b); });
  stop_sweep_ = false;
  sweeper_ = std::thread([this] { Sweep(); });
  return Status::Ok();
}

void Conductor::Stop() {
  events_.reset();
  reports_.reset();
  {
    std::lock_guard<std::mutex> l(sweep_mu_);
    stop_sweep_ = true;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
  for (auto& lane : lanes_) {
    {
      std::lock_guard<std::mutex> l(lane->mu);
      lane->stop = true;
    }
    lane->cv.notify_all();
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
  lanes_.clear();
}

Status Conductor::HandleEvents(const std::vector<Envelope>& batch) {
  for (const Envelope& env : batch) {
    WorkItem::Kind kind;
    if (env.type == InstanceScheduled::kType) {
      kind = WorkItem::Kind::kBuild;
    } else if (env.type == InstanceDeleteRequested::kType) {
      kind = WorkItem::Kind::kDelete;
    } else if (env.type == InstanceActionRequested::kType ||
               env.type == InstanceRescueRequested::kType) {
      kind = WorkItem::Kind::kAction;
    } else if (env.type == InstanceRebuildRequested::kType) {
      kind = WorkItem::Kind::kRebuild;
    } else {
      continue;
    }
    // The state as of this event (not later): the work it asked for.
    CHRONOVA_ASSIGN_OR_RETURN(
        InstanceState s,
        LoadInstance(*log_, InstanceId(std::string(StreamKey(env.stream))), env.seq));
    if (s.host.empty()) continue;  // a delete that needed no host
    Status st = SendWork(s, kind, env.seq, env.meta);
    if (!st.ok()) Warn("routing work for " + s.id.str(), st);
  }
  return Status::Ok();
}

Status Conductor::SendWork(const InstanceState& s, WorkItem::Kind kind, Seq causation,
                           const EventMeta& meta) {
  WorkItem w;
  w.kind = kind;
  w.instance_id = s.id;
  w.causation = causation;
  w.request_id = meta.request_id;
  w.actor = meta.actor;
  w.name = s.name;
  w.flavor = s.flavor;
  w.image_id = s.image_id;
  // The vm_state a rebuild started from is still the instance's (only the
  // task changed).
  w.keep_stopped = kind == WorkItem::Kind::kRebuild && s.vm_state == VmState::kStopped;
  if (kind == WorkItem::Kind::kAction) {
    LifecycleAction action;
    if (!ActionOfTask(s.task_state, &action, &w.hard)) {
      return Status::Internal("instance " + s.id.str() + " runs no lifecycle action");
    }
    w.action = std::string(LifecycleActionName(action));
    if (action == LifecycleAction::kRescue) {
      w.rescue_image_id = s.rescue_image_id.empty() ? s.image_id : s.rescue_image_id;
    }
  }
  return bus_->Publish(subjects::Work(s.host), EncodePortable(w));
}

void Conductor::OnReport(const std::string& payload) {
  Report r;
  if (Status st = DecodePortable(payload, &r); !st.ok()) {
    Warn("undecodable report", st);
    return;
  }
  size_t lane = std::hash<std::string>()(r.instance_id.empty() ? r.host.str()
                                                               : r.instance_id.str()) %
                lanes_.size();
  Lane& l = *lanes_[lane];
  {
    std::lock_guard<std::mutex> g(l.mu);
    l.reports.push_back(std::move(r));
  }
  l.cv.notify_one();
}

void Conductor::ReportWorker(size_t index) {
  Lane& lane = *lanes_[index];
  while (true) {
    Report r;
    {
      std::unique_lock<std::mutex> l(lane.mu);
      lane.cv.wait(l, [&] { return lane.stop || !lane.reports.empty(); });
      if (lane.stop) return;
      r = std::move(lane.reports.front());
      lane.reports.pop_front();
    }
    Status st = ApplyReport(r);
    if (!st.ok()) {
      ++refused_;
      if (!st.IsConflict()) Warn("report " + r.type + " from " + r.host.str(), st);
    }
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

  InstanceState initial;
  initial.id = r.instance_id;
  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome out,
      HandleCommand(
          *log_, InstanceStream(r.instance_id), initial, Fold,
          [](const InstanceState& s) { return s.version; },
          [&](const InstanceState& s) { return Decide(s, ReportProgress{event}); }, meta,
          IdempotencyKey("report-" + r.instance_id.str() + "-" + r.type + "-" +
                         std::to_string(r.causation.value()))));
  // A build that failed or a guest that is gone no longer holds its claim.
  bool releases = std::holds_alternative<InstanceDeleted>(event) ||
                  std::holds_alternative<InstanceBuildFailed>(event);
  if (releases && out.appended) {
    meta.causation = out.append.last_seq;
    return Release(r.instance_id, r.host, meta);
  }
  return Status::Ok();
}

Status Conductor::Release(const InstanceId& id, const HostName& host,
                          const EventMeta& meta) {
  AppendRequest req;
  req.stream = HostStream(host);
  req.key = IdempotencyKey("release-" + id.str() + "-" + host.str());
  // Releasing is idempotent on the host's state, so no expected version is needed.
  req.events.push_back(MakeNewEvent(HostResourcesReleased{id}, meta));
  return log_->Append(req).status();
}

void Conductor::Sweep() {
  std::unique_lock<std::mutex> l(sweep_mu_);
  bool first = true;
  while (!stop_sweep_) {
    if (!first) {
      sweep_cv_.wait_for(l, std::chrono::microseconds(options_.sweep_interval_us),
                         [&] { return stop_sweep_; });
      if (stop_sweep_) return;
    }
    l.unlock();
    // At start everything pending is re-sent; later only what has waited too long.
    int64_t age = first ? 0 : options_.resend_after_us;
    first = false;
    Timestamp now = options_.env->Now();
    auto reader = store_->Reader(ServersProjection::kName);
    if (reader.ok()) {
      auto servers = ServersView(reader->get()).List({});
      if (servers.ok()) {
        for (const InstanceState& s : *servers) {
          if (s.host.empty() || now.micros - s.updated_at.micros < age) continue;
          LifecycleAction action;
          bool hard = false;
          WorkItem::Kind kind;
          if (s.task_state == TaskState::kDeleting) {
            kind = WorkItem::Kind::kDelete;
          } else if (s.vm_state == VmState::kBuilding) {
            kind = WorkItem::Kind::kBuild;
          } else if (s.task_state == TaskState::kRebuilding) {
            kind = WorkItem::Kind::kRebuild;
          } else if (ActionOfTask(s.task_state, &action, &hard)) {
            kind = WorkItem::Kind::kAction;
          } else {
            continue;
          }
          EventMeta meta{now, s.task_request_id, s.task_seq,
                         Actor{s.user_id, s.project_id, {}}};
          Status st = SendWork(s, kind, s.task_seq, meta);
          if (!st.ok()) Warn("re-sending work for " + s.id.str(), st);
        }
      }
    }
    l.lock();
  }
}

}  // namespace chronova
