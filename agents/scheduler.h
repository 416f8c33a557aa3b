// The scheduler (nova-scheduler, event-sourced): consumes instance.requested
// (and instance.unshelve_requested of an offloaded server), filters and weighs
// hosts, claims resources on the chosen host's stream with
// that stream's expected version (Placement's generation), then records
// instance.scheduled — or instance.scheduling_failed when no host fits.
//
// Several schedulers may run at once: each places the instances its
// Membership owns, and a sweep places those left waiting (an owner died). Two
// that place one instance at once both claim, but only one instance.scheduled
// is recorded; the other gives its claim back, so no host is over-committed
// and no claim leaks.
//
// Host state comes from the hosts read model at start and then from the log
// itself (host events are folded as they arrive), so a decision never waits for
// a projection. Liveness comes from heartbeats on the bus. Hosts whose
// nova-compute service an admin disabled get nothing new (ComputeFilter); a
// host's availability zone is its aggregate's, else its own (AZ filter).
//
// Members of a server group (the "group" hint) are placed by its policy:
// affinity and anti-affinity filter hosts, the soft policies order them. The
// choice is recorded on the group's server-groups/<project> stream with that
// stream's expected version before the instance is scheduled, so two
// schedulers placing members of one group at once cannot both put them
// against the policy: the later append conflicts, re-reads the group and
// checks again (and gives its claim back if the host no longer fits).
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "agents/bus.h"
#include "core/aggregate_state.h"
#include "core/env.h"
#include "core/host_state.h"
#include "core/instance_state.h"
#include "core/periodic_task.h"
#include "core/server_group_state.h"
#include "eventstore/event_log.h"
#include "projections/projection_store.h"

namespace chronova {

struct SchedulerOptions {
  Env* env = Env::Default();
  int workers = 4;                          // instances placed concurrently
  int64_t service_down_time_us = 60000000;  // nova.conf service_down_time (60 s)
  // Weigh by free RAM: spread (most free first, Nova's default) or pack.
  bool ram_weigher_spread = true;
  // With several schedulers: whether this one places `instance` (a
  // Membership's Owns). Empty: it places every instance.
  std::function<bool(const InstanceId&)> owns;
  // How often instances still waiting for a host are looked for in the
  // servers read model and placed (those whose owner died, or that had no
  // owner while schedulers joined or left).
  int64_t sweep_interval_us = 2000000;
  // Hosts' last heartbeats before this start (agents/nats_liveness.h); a
  // registered host not named here is presumed up for one service_down_time.
  std::map<HostName, Timestamp> known_heartbeats;
};

// The message of instance.scheduling_failed, as Nova's NoValidHost.
inline constexpr const char* kNoValidHost =
    "No valid host was found. There are not enough hosts available.";

class Scheduler {
 public:
  // Borrows everything. `store` must hold the hosts and servers projections.
  Scheduler(EventLog* log, Bus* bus, ProjectionStore* store, SchedulerOptions options);
  ~Scheduler();

  // Loads hosts, starts following heartbeats and the log (from the store's
  // checkpoint), and places every instance still waiting for a host.
  Status Start();
  void Stop();

  // How many placements ended in a claim conflict that had to be retried.
  uint64_t conflicts() const { return conflicts_.load(); }

 private:
  struct Pending {
    InstanceRequested request;
    Seq seq;
    EventMeta meta;
  };
  Status HandleBatch(const std::vector<Envelope>& batch);
  // Whether `s` waits for a host: a new instance, or an offloaded one being
  // unshelved.
  static bool WaitsForHost(const InstanceState& s);
  // What placing the offloaded server `s` again asks for, its unshelve
  // (event `seq`, `meta`) the cause; nullopt if its stream has no request.
  Result<std::optional<Pending>> UnshelvePending(const InstanceState& s, Seq seq,
                                                 const EventMeta& meta);
  // Folds a host event into the cache if it is the next one for that host.
  void FoldHost(const Envelope& env, const Event& event);
  // Folds an aggregate event if it is the next one for that aggregate.
  void FoldAggregate(const Envelope& env, const Event& event);
  // Reads `stream` from `from` to its end into `fold`.
  Status ReadOn(const StreamId& stream, StreamVersion from,
                const std::function<void(const Envelope&, const Event&)>& fold);
  // Reads the host's stream past the cached version (after losing a race).
  Status RefreshHost(const HostName& host);
  void Enqueue(Pending p);
  // Enqueues every owned instance that has waited for a host at least
  // `min_age_us` and is not queued already.
  Status EnqueueWaiting(int64_t min_age_us);
  // Enqueues the instances left waiting (on the sweep queue, every interval).
  void Sweep();
  bool Owns(const InstanceId& id) const { return !options_.owns || options_.owns(id); }
  // Places the oldest queued instance (a task on a worker queue).
  void PlaceNext();
  // A member's group as this scheduler knows it now: the group (nullopt if it
  // no longer exists), its stream's version and project, and its live members.
  struct GroupView {
    std::optional<ServerGroup> group;
    ProjectId project;
    StreamVersion version;
    std::set<InstanceId> live;
    HostName recorded;  // where the group's stream puts the member already, if anywhere
    bool IsLive(const InstanceId& id) const { return live.contains(id); }
  };
  Status Place(const Pending& p);
  std::vector<HostName> Candidates(const InstanceRequested& r, const GroupView* group);
  // Folds a server group event if it is the next one for that project.
  void FoldServerGroups(const Envelope& env, const Event& event);
  // Reads the project's server group stream past the cached version.
  Status RefreshServerGroups(const ProjectId& project);
  // Tracks group membership from instance.requested / instance.deleted.
  void TrackMember(const InstanceRequested& r);
  void ForgetMember(const InstanceId& id);
  // The group `id` as known now, for placing `member`.
  std::optional<GroupView> Group(const std::string& id, const InstanceId& member);
  // Records `host` for a member of `group_id` on its stream. Conflict if the
  // group's policy no longer allows it (another placement came first).
  // `replace`: the member's recorded host no longer passes the filters.
  // For the soft policies any change to the group meanwhile is a Conflict
  // too: the host is weighed again with the other placements in view.
  Status RecordGroupPlacement(const Pending& p, const std::string& group_id,
                              const HostName& host, bool replace);
  // After a group member was scheduled on `host`: its claim is there (another
  // scheduler placing the same member may have given back the claim both
  // used, seeing the group's stream put it elsewhere for a moment).
  Status KeepClaim(const InstanceRequested& r, const HostName& host,
                   const EventMeta& meta);
  // Appends `event` (a claim or a release) to `host`'s stream, keyed
  // "<kind><instance>-<host>-<at>", with `at` as the expected version if
  // `expect`, and folds it into the cache; the version after it.
  Result<StreamVersion> AppendToHost(const HostName& host, StreamVersion at,
                                     const Event& event, const std::string& kind,
                                     const EventMeta& meta, bool expect = true);
  // Gives back a claim made for `r` on `host` at `claimed_at`.
  Status ReleaseClaim(const InstanceRequested& r, const HostName& host,
                      StreamVersion claimed_at, const EventMeta& meta);
  // `where` (the host, or "none") is part of the idempotency key.
  Status RecordOutcome(const Pending& p, const Event& outcome, const std::string& where);

  EventLog* const log_;
  Bus* const bus_;
  ProjectionStore* const store_;
  const SchedulerOptions options_;

  struct HostEntry {
    HostState state;
    Timestamp last_seen;     // of the last heartbeat, by our clock; 0: never
    uint64_t name_hash = 0;  // std::hash of the name (placement's tie-break)
    bool ranked = false;     // listed in ranked_, under ranked_as
    int64_t ranked_as = 0;
  };
  using RankKey = std::tuple<int64_t, uint64_t, HostEntry*>;
  // The entry of `name`, created the first time. REQUIRES: hosts_mu_.
  HostEntry& Entry(const HostName& name);
  // Files `e` in ranked_ under its weight now. REQUIRES: hosts_mu_.
  void Rank(HostEntry& e);
  std::mutex hosts_mu_;  // protects hosts_, ranked_, aggregates_
  std::map<HostName, HostEntry> hosts_;
  // Every known host, best weighed first (the RAMWeigher: -free RAM when
  // spreading), then by name hash: a placement walks the best few hundred
  // that pass the filters instead of every host of the cloud.
  std::set<RankKey> ranked_;
  // Host aggregates by id: an aggregate's availability zone is its hosts' zone.
  std::map<int64_t, AggregateState> aggregates_;

  std::mutex groups_mu_;  // protects groups_, group_project_, members_, member_of_
  std::map<ProjectId, ServerGroupsState> groups_;
  std::map<std::string, ProjectId> group_project_;
  std::map<std::string, std::set<InstanceId>> members_;  // live members by group
  std::map<InstanceId, std::string> member_of_;

  std::mutex queue_mu_;  // protects queue_, queued_, stopping_, workers_, next_worker_
  std::deque<Pending> queue_;
  std::set<InstanceId> queued_;  // in queue_ or being placed
  bool stopping_ = false;

  // Instances are placed on `workers` queues at once; the sweep runs on its own.
  std::vector<std::unique_ptr<TaskQueue>> workers_;
  size_t next_worker_ = 0;
  std::unique_ptr<TaskQueue> sweeper_;
  std::unique_ptr<PeriodicTask> sweep_;
  std::atomic<bool> sweep_queued_{false};
  std::unique_ptr<BusSubscription> heartbeats_;
  std::unique_ptr<Subscription> events_;
  std::atomic<uint64_t> conflicts_{0};
};

}  // namespace chronova
