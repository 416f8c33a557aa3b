#include "agents/scheduler.h"

#include <algorithm>
#include <charconv>

#include "agents/messages.h"
#include "agents/role_metrics.h"
#include "agents/subjects.h"
#include "core/instance_decider.h"
#include "core/periodic_task.h"
#include "core/placement.h"
#include "eventstore/command_handler.h"
#include "projections/aggregates_projection.h"
#include "projections/hosts_projection.h"
#include "projections/servers_projection.h"

namespace chronova {

Scheduler::Scheduler(EventLog* log, Bus* bus, ProjectionStore* store,
                     SchedulerOptions options)
    : log_(log), bus_(bus), store_(store), options_(options) {}

Scheduler::~Scheduler() { Stop(); }

Status Scheduler::Start() {
  CHRONOVA_ASSIGN_OR_RETURN(
      heartbeats_, bus_->Subscribe(subjects::kAllHeartbeats,
                                   [this](const std::string&, const std::string& p) {
                                     Heartbeat hb;
                                     if (!DecodePortable(p, &hb).ok()) return;
                                     std::lock_guard<std::mutex> l(hosts_mu_);
                                     // Liveness is judged by our own clock: hosts' clocks
                                     // may drift.
                                     Entry(hb.host).last_seen = options_.env->Now();
                                   }));
  // Host state as of the store's checkpoint; the log subscription continues from there.
  Seq from = store_->checkpoint();
  {
    CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(HostsProjection::kName));
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<HostState> hosts,
                              HostsView(reader.get()).List());
    std::lock_guard<std::mutex> l(hosts_mu_);
    // A host's last heartbeat as JetStream kept it (Nova keeps the last report
    // in its database); a registered host with none is presumed up for one
    // service_down_time, as if it had just reported (it reports within 10 s).
    Timestamp now = options_.env->Now();
    for (HostState& h : hosts) {
      HostEntry& e = Entry(h.name);
      auto known = options_.known_heartbeats.find(h.name);
      if (e.last_seen.micros == 0)
        e.last_seen = known != options_.known_heartbeats.end() ? known->second : now;
      e.state = std::move(h);
      Rank(e);
    }
  }
  {
    CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(AggregatesProjection::kName));
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<AggregateState> aggregates,
                              AggregatesView(reader.get()).List());
    std::lock_guard<std::mutex> l(hosts_mu_);
    for (AggregateState& a : aggregates) aggregates_[a.id] = std::move(a);
  }
  {
    std::lock_guard<std::mutex> l(queue_mu_);
    stopping_ = false;
    for (int i = 0; i < std::max(options_.workers, 1); ++i)
      workers_.push_back(options_.env->NewTaskQueue("sched-worker"));
  }
  sweeper_ = options_.env->NewTaskQueue("sched-sweep");
  // Instances requested before the checkpoint and never placed (a crash between
  // the request and the placement) are placed now; with peers, by the sweep,
  // once this scheduler has heard who its peers are.
  if (!options_.owns) CHRONOVA_RETURN_IF_ERROR(EnqueueWaiting(0));
  // One sweep queued at a time: a slow one is not followed by a pile of them.
  sweep_ =
      std::make_unique<PeriodicTask>(options_.env, options_.sweep_interval_us, [this] {
        if (sweep_queued_.exchange(true)) return;
        sweeper_->Post([this] {
          sweep_queued_ = false;
          Sweep();
        });
      });
  events_ = log_->Subscribe(
      from.next(), [this](const std::vector<Envelope>& b) { return HandleBatch(b); });
  return Status::Ok();
}

Status Scheduler::EnqueueWaiting(int64_t min_age_us) {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ServersProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<InstanceState> servers,
                            ServersView(reader.get()).InFlight());
  const Timestamp now = options_.env->Now();
  for (const InstanceState& s : servers) {
    if (s.vm_state != VmState::kBuilding || s.task_state != TaskState::kScheduling)
      continue;
    if (now.micros - s.updated_at.micros < min_age_us || !Owns(s.id)) continue;
    {
      std::lock_guard<std::mutex> l(queue_mu_);
      if (queued_.contains(s.id)) continue;
    }
    CHRONOVA_ASSIGN_OR_RETURN(
        std::vector<Envelope> first,
        log_->ReadStream(InstanceStream(s.id), StreamVersion(1), 1));
    if (first.empty()) continue;
    CHRONOVA_ASSIGN_OR_RETURN(Event e, DecodeEvent(first[0]));
    if (auto* r = std::get_if<InstanceRequested>(&e)) {
      Enqueue(Pending{*r, first[0].seq, first[0].meta});
    }
  }
  return Status::Ok();
}

void Scheduler::Sweep() {
  // Older than one interval: a request that just arrived is on its way to
  // its owner through the log.
  Status st = EnqueueWaiting(options_.sweep_interval_us);
  if (!st.ok()) {
    options_.env->Warn({.role = "scheduler"},
                       "looking for unplaced instances: " + st.ToString());
  }
}

void Scheduler::Stop() {
  events_.reset();
  heartbeats_.reset();
  sweep_.reset();
  {
    std::lock_guard<std::mutex> l(queue_mu_);
    stopping_ = true;
  }
  // Destroying a queue waits for its running task: after this nothing of
  // ours runs. (No lock held: a running Place takes queue_mu_ at its end.)
  sweeper_.reset();
  std::vector<std::unique_ptr<TaskQueue>> workers;
  {
    std::lock_guard<std::mutex> l(queue_mu_);
    workers.swap(workers_);
  }
  workers.clear();
  std::lock_guard<std::mutex> l(queue_mu_);
  queue_.clear();
  queued_.clear();
}

Status Scheduler::HandleBatch(const std::vector<Envelope>& batch) {
  for (const Envelope& env : batch) {
    std::string_view kind = StreamKind(env.stream);
    if (kind != "host" && kind != "aggregate" && env.type != InstanceRequested::kType)
      continue;
    CHRONOVA_ASSIGN_OR_RETURN(Event e, DecodeEvent(env));
    if (kind == "host") {
      FoldHost(env, e);
    } else if (kind == "aggregate") {
      FoldAggregate(env, e);
    } else if (auto* r = std::get_if<InstanceRequested>(&e)) {
      if (Owns(r->instance_id)) Enqueue(Pending{*r, env.seq, env.meta});
    }
  }
  return Status::Ok();
}

void Scheduler::FoldHost(const Envelope& env, const Event& event) {
  std::lock_guard<std::mutex> l(hosts_mu_);
  HostName name(std::string(StreamKey(env.stream)));
  HostState& h = Entry(name).state;
  if (h.name.empty()) h.name = name;
  // Only the next version applies; an older one is already in, a gap is closed
  // by RefreshHost when a claim loses its race.
  if (env.version == h.version.next()) {
    ApplyHostEvent(h, env, event);
    Rank(Entry(name));
  }
  // A host that registers is alive (its first heartbeat may still be queued).
  if (std::holds_alternative<HostRegistered>(event) &&
      Entry(name).last_seen.micros == 0) {
    Entry(name).last_seen = options_.env->Now();
  }
}

void Scheduler::FoldAggregate(const Envelope& env, const Event& event) {
  int64_t id = 0;
  std::string_view key = StreamKey(env.stream);
  auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
  if (ec != std::errc() || ptr != key.data() + key.size()) return;
  std::lock_guard<std::mutex> l(hosts_mu_);
  AggregateState& a = aggregates_[id];
  if (env.version == a.version.next()) ApplyAggregateEvent(a, env, event);
}

Status Scheduler::RefreshHost(const HostName& host) {
  StreamVersion from;
  {
    std::lock_guard<std::mutex> l(hosts_mu_);
    from = Entry(host).state.version.next();
  }
  while (true) {
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<Envelope> events,
                              log_->ReadStream(HostStream(host), from, 1024));
    if (events.empty()) return Status::Ok();
    for (const Envelope& env : events) {
      CHRONOVA_ASSIGN_OR_RETURN(Event e, DecodeEvent(env));
      FoldHost(env, e);
    }
    from = events.back().version.next();
  }
}

void Scheduler::Enqueue(Pending p) {
  std::lock_guard<std::mutex> l(queue_mu_);
  if (stopping_ || workers_.empty()) return;
  if (!queued_.insert(p.request.instance_id).second) return;  // already queued
  queue_.push_back(std::move(p));
  // One task per instance queued: whichever worker runs first takes the oldest.
  workers_[next_worker_++ % workers_.size()]->Post([this] { PlaceNext(); });
}

void Scheduler::PlaceNext() {
  Pending p;
  {
    std::lock_guard<std::mutex> l(queue_mu_);
    if (stopping_ || queue_.empty()) return;
    p = std::move(queue_.front());
    queue_.pop_front();
  }
  Status st = Place(p);
  if (!st.ok()) {
    options_.env->Warn({.role = "scheduler", .instance_id = p.request.instance_id.str()},
                       "placing " + p.request.instance_id.str() + ": " + st.ToString());
  }
  std::lock_guard<std::mutex> l(queue_mu_);
  queued_.erase(p.request.instance_id);
}

Scheduler::HostEntry& Scheduler::Entry(const HostName& name) {
  auto [it, inserted] = hosts_.try_emplace(name);
  if (inserted) it->second.name_hash = std::hash<std::string>()(name.str());
  return it->second;
}

void Scheduler::Rank(HostEntry& e) {
  if (e.ranked) ranked_.erase(RankKey{e.ranked_as, e.name_hash, &e});
  const int64_t free_ram = e.state.MemoryLimitMb() - e.state.used.memory_mb;
  e.ranked_as = options_.ram_weigher_spread ? -free_ram : free_ram;
  ranked_.insert(RankKey{e.ranked_as, e.name_hash, &e});
  e.ranked = true;
}

std::vector<HostName> Scheduler::Candidates(const InstanceRequested& r) {
  Timestamp now = options_.env->Now();
  PlacementRequest request;
  request.claim = FlavorClaim(r.flavor);
  request.availability_zone = r.availability_zone;
  request.spread = options_.ram_weigher_spread;
  // The few best hosts are enough: the first claim almost always succeeds, and a
  // new round recomputes if all of them were taken.
  request.limit = 16;
  // Concurrent placements (other workers, other schedulers) start from
  // different hosts among the equally good ones.
  request.tie_break = std::hash<std::string>()(r.instance_id.str()) | 1;
  std::lock_guard<std::mutex> l(hosts_mu_);
  std::vector<AggregateState> zoned;  // the aggregates that set a zone
  for (const auto& [id, a] : aggregates_) {
    if (a.exists && a.availability_zone()) zoned.push_back(a);
  }
  // The best hosts that pass the filters, in weight order, up to kWalk of
  // them: RankHosts then orders their ties by this instance, so concurrent
  // placements spread over up to kWalk equally good hosts.
  constexpr size_t kWalk = 256;
  std::vector<PlacementHost> hosts;
  hosts.reserve(kWalk);
  for (const auto& [weight, hash, entry] : ranked_) {
    // ComputeFilter: the service must be up (a heartbeat within service_down_time).
    const bool up = entry->last_seen.micros != 0 &&
                    now.micros - entry->last_seen.micros <= options_.service_down_time_us;
    PlacementHost host{&entry->state, up, entry->name_hash};
    if (!PassesFilters(host, zoned, request)) continue;
    hosts.push_back(host);
    if (hosts.size() == kWalk) break;
  }
  return RankHosts(hosts, zoned, request);
}

Status Scheduler::Place(const Pending& p) {
  const InstanceRequested& r = p.request;
  // A redelivered request (restart, reconcile) for an instance already placed,
  // or deleted meanwhile, needs nothing.
  CHRONOVA_ASSIGN_OR_RETURN(InstanceState current, LoadInstance(*log_, r.instance_id));
  if (current.vm_state != VmState::kBuilding ||
      current.task_state != TaskState::kScheduling) {
    return Status::Ok();
  }
  EventMeta meta = p.meta;
  meta.causation = p.seq;
  meta.time = options_.env->Now();
  const Claim claim = FlavorClaim(r.flavor);
  constexpr int kMaxRounds = 32;
  for (int round = 0; round < kMaxRounds; ++round) {
    std::vector<HostName> candidates = Candidates(r);
    if (candidates.empty()) break;
    for (const HostName& host : candidates) {
      HostState state;
      {
        std::lock_guard<std::mutex> l(hosts_mu_);
        state = Entry(host).state;
      }
      Result<std::vector<Event>> decided =
          Decide(state, ClaimResources{r.instance_id, claim});
      if (!decided.ok()) continue;               // no longer fits: next candidate
      StreamVersion claimed_at = state.version;  // the claim's (or the one it reuses)
      if (!decided->empty()) {
        AppendRequest req;
        req.stream = HostStream(host);
        req.expected = ExpectedVersion::Exactly(state.version);
        req.key = IdempotencyKey("claim-" + r.instance_id.str() + "-" + host.str());
        req.events.push_back(MakeNewEvent(decided->front(), meta));
        Result<AppendResult> appended = log_->Append(req);
        if (!appended.ok()) {
          if (!appended.status().IsConflict()) return appended.status();
          ++conflicts_;  // another placement took this host's generation first
          CHRONOVA_RETURN_IF_ERROR(RefreshHost(host));
          continue;
        }
        claimed_at = appended->last_version;
        // Fold our own claim now so the next placement sees it at once.
        Envelope env{appended->last_seq,   req.stream,           appended->last_version,
                     req.events[0].type,   req.events[0].schema, meta,
                     req.events[0].payload};
        FoldHost(env, decided->front());
      }
      // The key names the host: a second scheduler that placed the instance
      // elsewhere meanwhile must not find its claim "already recorded".
      Status recorded = RecordOutcome(p, InstanceScheduled{host}, host.str());
      if (recorded.ok()) return Status::Ok();
      // Not recorded, or not known to be. The log says what became of it.
      Result<InstanceState> now = LoadInstance(*log_, r.instance_id);
      if (!now.ok()) return recorded;  // keep the claim: a retry reuses it
      if (now->host == host && now->vm_state != VmState::kDeleted) return Status::Ok();
      if (now->vm_state == VmState::kBuilding &&
          now->task_state == TaskState::kScheduling) {
        // Still waiting (the log was unavailable): the claim stays for the
        // retry (the sweep's) to use.
        return recorded;
      }
      // Deleted while we placed it, or placed on another host by another
      // scheduler: give the claim back. The key names this claim's version, so
      // it never stands in for a later claim's release.
      AppendRequest release;
      release.stream = HostStream(host);
      release.key = IdempotencyKey("release-" + r.instance_id.str() + "-" + host.str() +
                                   "-" + std::to_string(claimed_at.value()));
      release.events.push_back(MakeNewEvent(HostResourcesReleased{r.instance_id}, meta));
      CHRONOVA_RETURN_IF_ERROR(log_->Append(release).status());
      return Status::Ok();
    }
  }
  Status failed = RecordOutcome(p, InstanceSchedulingFailed{kNoValidHost}, "none");
  if (failed.ok()) CountBoot("no_valid_host");
  return failed.IsConflict() ? Status::Ok() : failed;
}

Status Scheduler::RecordOutcome(const Pending& p, const Event& outcome,
                                const std::string& where) {
  EventMeta meta = p.meta;
  meta.causation = p.seq;
  meta.time = options_.env->Now();
  InstanceState initial;
  initial.id = p.request.instance_id;
  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome out,
      HandleCommand(
          *log_, InstanceStream(p.request.instance_id), initial,
          [](InstanceState& s, const Envelope& env, const Event& e) {
            ApplyEvent(s, env, e);
          },
          [](const InstanceState& s) { return s.version; },
          [&](const InstanceState& s) { return Decide(s, ReportProgress{outcome}); },
          meta, IdempotencyKey("placed-" + p.request.instance_id.str() + "-" + where)));
  (void)out;
  return Status::Ok();
}

}  // namespace chronova
