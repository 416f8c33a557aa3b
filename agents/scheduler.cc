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
#include "projections/server_groups_projection.h"
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
    CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ServerGroupsProjection::kName));
    ServerGroupsView view(reader.get());
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<ServerGroupsState> projects, view.All());
    std::lock_guard<std::mutex> l(groups_mu_);
    for (ServerGroupsState& p : projects) {
      for (const auto& [id, g] : p.groups) {
        group_project_[id] = g.project_id;
        CHRONOVA_ASSIGN_OR_RETURN(std::vector<InstanceId> members, view.Members(id));
        for (const InstanceId& m : members) {
          members_[id].insert(m);
          member_of_[m] = id;
        }
      }
      // Every project with a stream, groups or not: its version is where
      // the log's events for it continue.
      if (!p.project.empty()) groups_[p.project] = std::move(p);
    }
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
    if (!WaitsForHost(s)) continue;
    if (now.micros - s.updated_at.micros < min_age_us || !Owns(s.id)) continue;
    {
      std::lock_guard<std::mutex> l(queue_mu_);
      if (queued_.contains(s.id)) continue;
    }
    if (s.vm_state == VmState::kShelvedOffloaded) {
      // The unshelve's request, as the conductor acts for a task.
      EventMeta meta{now, s.task_request_id, s.task_seq,
                     Actor{s.user_id, s.project_id, {}}};
      CHRONOVA_ASSIGN_OR_RETURN(std::optional<Pending> p,
                                UnshelvePending(s, s.task_seq, meta));
      if (p) Enqueue(std::move(*p));
      continue;
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

bool Scheduler::WaitsForHost(const InstanceState& s) {
  return s.exists && s.host.empty() &&
         ((s.vm_state == VmState::kBuilding && s.task_state == TaskState::kScheduling) ||
          (s.vm_state == VmState::kShelvedOffloaded &&
           s.task_state == TaskState::kUnshelving));
}

Result<std::optional<Scheduler::Pending>> Scheduler::UnshelvePending(
    const InstanceState& s, Seq seq, const EventMeta& meta) {
  // The server's own request (its group hint, its project), with what it is
  // now: its flavor (resized since, perhaps) and its zone (2.77 may change it);
  // the host an admin named at create (2.74) no longer binds it.
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<Envelope> first,
                            log_->ReadStream(InstanceStream(s.id), StreamVersion(1), 1));
  if (first.empty()) return std::optional<Pending>();
  CHRONOVA_ASSIGN_OR_RETURN(Event e, DecodeEvent(first[0]));
  auto* r = std::get_if<InstanceRequested>(&e);
  if (r == nullptr) return std::optional<Pending>();
  Pending p{*r, seq, meta};
  p.request.flavor = s.flavor;
  p.request.availability_zone = s.availability_zone;
  p.request.requested_host = HostName();
  p.request.requested_node.clear();
  return std::optional<Pending>(std::move(p));
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
    if (kind != "host" && kind != "aggregate" && kind != "server-groups" &&
        env.type != InstanceRequested::kType && env.type != InstanceDeleted::kType &&
        env.type != InstanceUnshelveRequested::kType)
      continue;
    CHRONOVA_ASSIGN_OR_RETURN(Event e, DecodeEvent(env));
    if (kind == "host") {
      FoldHost(env, e);
    } else if (kind == "aggregate") {
      FoldAggregate(env, e);
    } else if (kind == "server-groups") {
      FoldServerGroups(env, e);
    } else if (auto* r = std::get_if<InstanceRequested>(&e)) {
      TrackMember(*r);
      if (Owns(r->instance_id)) Enqueue(Pending{*r, env.seq, env.meta});
    } else if (std::holds_alternative<InstanceDeleted>(e)) {
      ForgetMember(InstanceId(std::string(StreamKey(env.stream))));
    } else if (std::holds_alternative<InstanceUnshelveRequested>(e)) {
      // An offloaded server is placed again, as a new one would be.
      const InstanceId id(std::string(StreamKey(env.stream)));
      if (!Owns(id)) continue;
      CHRONOVA_ASSIGN_OR_RETURN(InstanceState s, LoadInstance(*log_, id, env.seq));
      if (!WaitsForHost(s)) continue;  // a SHELVED server starts on its host
      CHRONOVA_ASSIGN_OR_RETURN(std::optional<Pending> p,
                                UnshelvePending(s, env.seq, env.meta));
      if (p) Enqueue(std::move(*p));
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

Status Scheduler::ReadOn(const StreamId& stream, StreamVersion from,
                         const std::function<void(const Envelope&, const Event&)>& fold) {
  while (true) {
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<Envelope> events,
                              log_->ReadStream(stream, from, 1024));
    if (events.empty()) return Status::Ok();
    for (const Envelope& env : events) {
      CHRONOVA_ASSIGN_OR_RETURN(Event e, DecodeEvent(env));
      fold(env, e);
    }
    from = events.back().version.next();
  }
}

Status Scheduler::RefreshHost(const HostName& host) {
  StreamVersion from;
  {
    std::lock_guard<std::mutex> l(hosts_mu_);
    from = Entry(host).state.version.next();
  }
  return ReadOn(HostStream(host), from,
                [this](const Envelope& env, const Event& e) { FoldHost(env, e); });
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

std::vector<HostName> Scheduler::Candidates(const InstanceRequested& r,
                                            const GroupView* group) {
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
  // Hosts considered ahead of the walk (an affinity group's members'): the
  // walk skips them. A few at most, so a vector, not a set per placement.
  std::vector<const HostEntry*> seen;
  bool walking = false;
  auto consider = [&](HostEntry& entry) {
    if (!walking) {
      seen.push_back(&entry);
    } else if (!seen.empty() &&
               std::find(seen.begin(), seen.end(), &entry) != seen.end()) {
      return;
    }
    // ComputeFilter: the service must be up (a heartbeat within service_down_time).
    const bool up = entry.last_seen.micros != 0 &&
                    now.micros - entry.last_seen.micros <= options_.service_down_time_us;
    PlacementHost host{&entry.state, up, entry.name_hash};
    if (!PassesFilters(host, zoned, request)) return;
    if (group != nullptr &&
        !group->group->Allows(entry.state.name, r.instance_id,
                              [&](const InstanceId& id) { return group->IsLive(id); })) {
      return;  // ServerGroupAffinityFilter / ServerGroupAntiAffinityFilter
    }
    hosts.push_back(host);
  };
  if (group != nullptr && !group->recorded.empty()) {
    // The group's stream puts this member on a host already (another
    // scheduler placed it, or one that died before recording the outcome):
    // that host, if it still passes the filters (the policy was checked when
    // it was recorded). Otherwise the member is placed again.
    auto it = hosts_.find(group->recorded);
    if (it != hosts_.end()) {
      const bool up =
          it->second.last_seen.micros != 0 &&
          now.micros - it->second.last_seen.micros <= options_.service_down_time_us;
      if (PassesFilters({&it->second.state, up, it->second.name_hash}, zoned, request)) {
        return {group->recorded};
      }
    }
  }
  auto live = [&](const InstanceId& id) { return group != nullptr && group->IsLive(id); };
  std::vector<HostName> member_hosts;
  if (group != nullptr) member_hosts = group->group->MemberHosts(r.instance_id, live);
  const bool affinity = group != nullptr && (group->group->policy == kAffinity ||
                                             group->group->policy == kSoftAffinity);
  if (affinity && !member_hosts.empty()) {
    // The members' hosts first, wherever they rank; with hard affinity only them.
    for (const HostName& h : member_hosts) {
      auto it = hosts_.find(h);
      if (it != hosts_.end()) consider(it->second);
    }
  }
  if (!r.requested_host.empty() || !r.requested_node.empty()) {
    // 2.74: an admin named the host and/or compute node; nowhere else will do.
    auto requested = [&](const HostState& h) {
      return (r.requested_host.empty() || h.name == r.requested_host) &&
             (r.requested_node.empty() || h.hypervisor_hostname == r.requested_node);
    };
    std::erase_if(hosts, [&](const PlacementHost& h) { return !requested(*h.state); });
    walking = true;
    for (auto& [name, entry] : hosts_) {
      if (requested(entry.state)) consider(entry);
    }
  } else if (group == nullptr || group->group->policy != kAffinity ||
             member_hosts.empty()) {
    walking = true;
    for (const auto& [weight, hash, entry] : ranked_) {
      if (hosts.size() >= kWalk) break;
      consider(*entry);
    }
  }
  // With a group, every host that passed is ranked, then ordered by the
  // group's weigher and cut to the limit.
  if (group != nullptr) request.limit = SIZE_MAX;
  std::vector<HostName> ranked = RankHosts(hosts, zoned, request);
  if (group != nullptr) {
    // The soft weighers: most members first (soft-affinity) or fewest
    // (soft-anti-affinity), the RAM weigher's order among equals.
    std::stable_sort(ranked.begin(), ranked.end(),
                     [&](const HostName& a, const HostName& b) {
                       return group->group->SoftRank(a, r.instance_id, live) <
                              group->group->SoftRank(b, r.instance_id, live);
                     });
    if (ranked.size() > 16) ranked.resize(16);
  }
  return ranked;
}

Status Scheduler::Place(const Pending& p) {
  const InstanceRequested& r = p.request;
  // A redelivered request (restart, reconcile) for an instance already placed,
  // or deleted meanwhile, needs nothing.
  CHRONOVA_ASSIGN_OR_RETURN(InstanceState current, LoadInstance(*log_, r.instance_id));
  if (!WaitsForHost(current)) return Status::Ok();
  EventMeta meta = p.meta;
  meta.causation = p.seq;
  meta.time = options_.env->Now();
  const Claim claim = FlavorClaim(r.flavor);
  std::string group_id;
  if (auto hint = r.scheduler_hints.find(kGroupHint);
      hint != r.scheduler_hints.end() && !hint->second.empty()) {
    group_id = hint->second.front();
  }
  constexpr int kMaxRounds = 32;
  for (int round = 0; round < kMaxRounds; ++round) {
    std::optional<GroupView> group;
    if (!group_id.empty()) group = Group(group_id, r.instance_id);
    if (group && !group->group) group.reset();  // deleted: the hint names nothing
    std::vector<HostName> candidates = Candidates(r, group ? &*group : nullptr);
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
        // The key names the host's version the claim was decided at: a claim
        // given back (a group placement that lost its race) and made again
        // on the same host is a new append, not the old one's duplicate.
        Result<StreamVersion> appended =
            AppendToHost(host, state.version, decided->front(), "claim-", meta);
        if (!appended.ok()) {
          if (!appended.status().IsConflict()) return appended.status();
          ++conflicts_;  // another placement took this host's generation first
          CHRONOVA_RETURN_IF_ERROR(RefreshHost(host));
          continue;
        }
        claimed_at = *appended;
      }
      if (group) {
        const bool replace = !group->recorded.empty() && group->recorded != host;
        Status kept = RecordGroupPlacement(p, group_id, host, replace);
        if (kept.IsConflict()) {
          // Another member took this host first and the policy no longer
          // allows it (or another scheduler placed this member first): our
          // claim goes back and the host is chosen again.
          if (!decided->empty()) {
            CHRONOVA_RETURN_IF_ERROR(ReleaseClaim(r, host, claimed_at, meta));
          }
          break;
        }
        CHRONOVA_RETURN_IF_ERROR(kept);
      }
      // The key names the host: a second scheduler that placed the instance
      // elsewhere meanwhile must not find its claim "already recorded".
      Status recorded = RecordOutcome(p, InstanceScheduled{host}, host.str());
      if (recorded.ok()) return group ? KeepClaim(r, host, meta) : Status::Ok();
      // Not recorded, or not known to be. The log says what became of it.
      Result<InstanceState> now = LoadInstance(*log_, r.instance_id);
      if (!now.ok()) return recorded;  // keep the claim: a retry reuses it
      if (now->host == host && now->vm_state != VmState::kDeleted) return Status::Ok();
      if (WaitsForHost(*now)) {
        // Still waiting (the log was unavailable): the claim stays for the
        // retry (the sweep's) to use.
        return recorded;
      }
      // Deleted while we placed it, or placed on another host by another
      // scheduler: give the claim back.
      return ReleaseClaim(r, host, claimed_at, meta);
    }
  }
  Status failed = RecordOutcome(p, InstanceSchedulingFailed{kNoValidHost}, "none");
  if (failed.ok()) CountBoot("no_valid_host");
  return failed.IsConflict() ? Status::Ok() : failed;
}

Status Scheduler::KeepClaim(const InstanceRequested& r, const HostName& host,
                            const EventMeta& meta) {
  CHRONOVA_RETURN_IF_ERROR(RefreshHost(host));
  // Only for a member still on that host: one deleted (or failed) meanwhile
  // had its claim released by the conductor, and must not get it back.
  CHRONOVA_ASSIGN_OR_RETURN(InstanceState now, LoadInstance(*log_, r.instance_id));
  if (now.host != host || now.vm_state == VmState::kDeleted ||
      now.vm_state == VmState::kError || now.task_state == TaskState::kDeleting) {
    return Status::Ok();
  }
  for (int attempt = 0; attempt < 16; ++attempt) {
    HostState state;
    {
      std::lock_guard<std::mutex> l(hosts_mu_);
      state = Entry(host).state;
    }
    Result<std::vector<Event>> decided =
        Decide(state, ClaimResources{r.instance_id, FlavorClaim(r.flavor)});
    if (!decided.ok() || decided->empty()) return decided.status();  // held
    Result<StreamVersion> appended =
        AppendToHost(host, state.version, decided->front(), "reclaim-", meta);
    if (appended.ok() || !appended.status().IsConflict()) return appended.status();
    CHRONOVA_RETURN_IF_ERROR(RefreshHost(host));
  }
  return Status::Unavailable("host " + host.str() + " kept changing");
}

Status Scheduler::ReleaseClaim(const InstanceRequested& r, const HostName& host,
                               StreamVersion claimed_at, const EventMeta& meta) {
  // The key names the claim's version, so it never stands in for a later
  // claim's release; no expected version (a release always applies).
  return AppendToHost(host, claimed_at, HostResourcesReleased{r.instance_id}, "release-",
                      meta, /*expect=*/false)
      .status();
}

Result<StreamVersion> Scheduler::AppendToHost(const HostName& host, StreamVersion at,
                                              const Event& event, const std::string& kind,
                                              const EventMeta& meta, bool expect) {
  const InstanceId& instance = std::visit(
      [](const auto& e) -> const InstanceId& {
        if constexpr (requires { e.instance_id; }) {
          return e.instance_id;
        } else {
          static const InstanceId kNone;
          return kNone;
        }
      },
      event);
  AppendRequest req;
  req.stream = HostStream(host);
  if (expect) req.expected = ExpectedVersion::Exactly(at);
  req.key = IdempotencyKey(kind + instance.str() + "-" + host.str() + "-" +
                           std::to_string(at.value()));
  req.events.push_back(MakeNewEvent(event, meta));
  CHRONOVA_ASSIGN_OR_RETURN(AppendResult appended, log_->Append(req));
  // Fold our own event now so the next placement sees it at once.
  Envelope env{appended.last_seq,    req.stream,           appended.last_version,
               req.events[0].type,   req.events[0].schema, meta,
               req.events[0].payload};
  FoldHost(env, event);
  return appended.last_version;
}

// ---- server groups -------------------------------------------------------------

void Scheduler::FoldServerGroups(const Envelope& env, const Event& event) {
  ProjectId project(std::string(StreamKey(env.stream)));
  std::lock_guard<std::mutex> l(groups_mu_);
  ServerGroupsState& s = groups_[project];
  // Only the next version applies; a gap is closed by RefreshServerGroups.
  if (env.version != s.version.next()) return;
  ApplyServerGroupEvent(s, env, event);
  if (const auto* c = std::get_if<ServerGroupCreated>(&event)) {
    group_project_[c->group_id] = project;
  } else if (const auto* d = std::get_if<ServerGroupDeleted>(&event)) {
    group_project_.erase(d->group_id);
    for (const InstanceId& m : members_[d->group_id]) member_of_.erase(m);
    members_.erase(d->group_id);
  }
}

Status Scheduler::RefreshServerGroups(const ProjectId& project) {
  StreamVersion from;
  {
    std::lock_guard<std::mutex> l(groups_mu_);
    from = groups_[project].version.next();
  }
  return ReadOn(
      ServerGroupsStream(project), from,
      [this](const Envelope& env, const Event& e) { FoldServerGroups(env, e); });
}

void Scheduler::TrackMember(const InstanceRequested& r) {
  auto hint = r.scheduler_hints.find(kGroupHint);
  if (hint == r.scheduler_hints.end() || hint->second.empty()) return;
  std::lock_guard<std::mutex> l(groups_mu_);
  const std::string& group = hint->second.front();
  if (!group_project_.contains(group)) return;  // no such group (any more)
  members_[group].insert(r.instance_id);
  member_of_[r.instance_id] = group;
}

void Scheduler::ForgetMember(const InstanceId& id) {
  std::lock_guard<std::mutex> l(groups_mu_);
  auto it = member_of_.find(id);
  if (it == member_of_.end()) return;
  members_[it->second].erase(id);
  member_of_.erase(it);
}

std::optional<Scheduler::GroupView> Scheduler::Group(const std::string& id,
                                                     const InstanceId& member) {
  std::lock_guard<std::mutex> l(groups_mu_);
  auto owner = group_project_.find(id);
  if (owner == group_project_.end()) return std::nullopt;
  GroupView v;
  v.project = owner->second;
  const ServerGroupsState& s = groups_[v.project];
  v.version = s.version;
  if (const ServerGroup* g = s.Find(id)) {
    v.group = *g;
    auto recorded = g->hosts.find(member);
    if (recorded != g->hosts.end()) v.recorded = recorded->second;
  }
  v.live = members_[id];
  return v;
}

Status Scheduler::RecordGroupPlacement(const Pending& p, const std::string& group_id,
                                       const HostName& host, bool replace) {
  EventMeta meta = p.meta;
  meta.causation = p.seq;
  meta.time = options_.env->Now();
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::optional<GroupView> view = Group(group_id, p.request.instance_id);
    if (!view || !view->group) return Status::Ok();  // deleted meanwhile
    ServerGroupsState state;
    state.version = view->version;
    state.groups[group_id] = *view->group;
    // The member itself counts as live (it may not be tracked yet).
    view->live.insert(p.request.instance_id);
    CHRONOVA_ASSIGN_OR_RETURN(
        std::vector<Event> decided,
        Decide(state,
               ScheduleGroupMember{group_id, p.request.instance_id, host,
                                   [&](const InstanceId& id) { return view->IsLive(id); },
                                   replace}));
    if (decided.empty()) return Status::Ok();
    if (attempt > 0 && (view->group->policy == kSoftAffinity ||
                        view->group->policy == kSoftAntiAffinity)) {
      // Other members were placed meanwhile: weigh the hosts again.
      return Status::Conflict("server group " + group_id + " changed: weigh again");
    }
    AppendRequest req;
    req.stream = ServerGroupsStream(view->project);
    req.expected = ExpectedVersion::Exactly(view->version);
    req.key = IdempotencyKey("group-placed-" + p.request.instance_id.str() + "-" +
                             host.str() + "-" + std::to_string(view->version.value()));
    req.events.push_back(MakeNewEvent(decided.front(), meta));
    Result<AppendResult> appended = log_->Append(req);
    if (appended.ok()) {
      Envelope env{appended->last_seq,   req.stream,           appended->last_version,
                   req.events[0].type,   req.events[0].schema, meta,
                   req.events[0].payload};
      FoldServerGroups(env, decided.front());
      return Status::Ok();
    }
    if (!appended.status().IsConflict()) return appended.status();
    ++conflicts_;  // another placement of this project's groups came first
    CHRONOVA_RETURN_IF_ERROR(RefreshServerGroups(view->project));
  }
  return Status::Unavailable("server group " + group_id + " kept changing");
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
          meta,
          // The request's seq: an unshelve of the same server is placed anew.
          IdempotencyKey("placed-" + p.request.instance_id.str() + "-" +
                         std::to_string(p.seq.value()) + "-" + where)));
  (void)out;
  return Status::Ok();
}

}  // namespace chronova
