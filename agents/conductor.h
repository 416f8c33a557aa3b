// The conductor (nova-conductor, event-sourced): the only writer of compute
// hosts' progress. It checks each report (is the reporter the instance's host?
// is the transition legal?) and appends it; it routes work to hosts (builds after
// instance.scheduled, deletes after instance.delete_requested); it gives claims
// back when an instance is gone or failed; and it re-sends work that a host has
// not acted on, so no instance waits forever on a lost message.
//
// Several conductors may run at once: each handles the instances (and hosts)
// its Membership owns; every append it makes carries an expected version or
// an idempotency key, so the work two owners do during a change of members is
// recorded once.
//
// Restart safety: when a compute agent starts it reports its guests; the
// conductor compares them with the log (Reconcile): guests of instances the
// log does not place there are reaped, lost work is re-sent, and power-state
// drift is recorded (instance.power_state_changed, as Nova's
// _sync_instance_power_state). A build that has not finished within
// build_timeout_us fails (Nova's instance_build_timeout), so no instance stays
// in BUILD on a host that never comes back; a server whose host is down is
// deleted without it (Nova's local delete), so none stays deleting either.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "agents/bus.h"
#include "agents/messages.h"
#include "core/env.h"
#include "core/instance_state.h"
#include "core/periodic_task.h"
#include "eventstore/command_handler.h"
#include "eventstore/event_log.h"
#include "projections/projection_store.h"
#include "projections/servers_projection.h"

namespace chronova {

struct ConductorOptions {
  Env* env = Env::Default();
  // Reports are applied by this many workers; one instance's reports always go to
  // the same worker, so they are appended in the order the host sent them.
  int workers = 4;
  // Work not acted on for this long is sent again.
  int64_t resend_after_us = 30000000;
  int64_t sweep_interval_us = 5000000;
  // A placed instance still building this long after it was requested goes
  // to ERROR (instance.build_failed). 0: never (Nova's default).
  int64_t build_timeout_us = 0;
  // Whether a compute host is down (its heartbeats stopped: nova.conf
  // service_down_time). A delete for a server on a down host is then done
  // without the host, as Nova's API does (_local_delete): instance.deleted is
  // recorded and the claim given back; the host reaps the guest when it comes
  // back. Empty: hosts are never presumed down.
  std::function<bool(const HostName&)> host_is_down;
  // With several conductors: whether this one handles the instance (or, for
  // host-level reports, the host) named by `key` (a Membership's Owns).
  // Empty: it handles everything. Work whose owner died is re-sent by the new
  // owner's sweep after resend_after_us.
  std::function<bool(std::string_view key)> owns;
  // A claim no instance uses (ReleaseUnusedClaims) is given back once it has
  // looked unused this long.
  int64_t unused_claim_grace_us = 20000000;
  // nova.conf reclaim_instance_interval: a SOFT_DELETED server is deleted
  // this long after it was soft-deleted. 0: the sweep reclaims nothing.
  int64_t reclaim_instance_interval_us = 0;
  // nova.conf shelved_offload_time when positive: a SHELVED server is
  // offloaded this long after it was shelved. 0 or less: the sweep offloads
  // nothing (0 offloads at once, with the shelve; -1 never).
  int64_t shelved_offload_time_us = 0;
};

class Conductor {
 public:
  // Borrows everything. `store` must hold the servers projection.
  Conductor(EventLog* log, Bus* bus, ProjectionStore* store, ConductorOptions options);
  ~Conductor();

  Status Start();
  void Stop();

  // Reports refused because they were stale or illegal (for tests and metrics).
  uint64_t refused() const { return refused_.load(); }
  // Sweeps run since Start (for tests and metrics): the first, at start
  // without peers, re-sends everything pending.
  int sweeps() const { return sweeps_.load(); }

 private:
  Status HandleEvents(const std::vector<Envelope>& batch);
  void OnReport(const std::string& payload);
  // Queues `r` on its instance's (or host's) lane.
  void Enqueue(Report r);
  // Applies a report (a task on its lane) and counts a refusal.
  void Apply(const Report& r);
  Status ApplyReport(const Report& r);
  // A guest's power state, from a lifecycle event or a reconciliation: an
  // orphan guest is reaped, drift is recorded, anything else is refused.
  Status ApplyPowerState(const Report& r, const InstancePowerStateChanged& p,
                         EventMeta meta);
  // Counts a boot's or delete's outcome a host reported (role_metrics.h).
  static void CountOutcome(const Event& event);
  // Decides `event` as a progress report on the instance's stream and appends it.
  Result<CommandOutcome> Record(const InstanceId& id, const Event& event,
                                const EventMeta& meta, const IdempotencyKey& key);
  // A compute host's guests after its agent started, against the log.
  void Reconcile(const std::string& payload);
  // Gives back the claims `host` still holds for deleted instances (a release
  // that failed after instance.deleted was recorded: the conductor stopped in
  // between, or the log refused it) and for instances placed elsewhere or not
  // at all (a scheduler lost a race or died between claim and placement).
  // Reconcile calls it: every agent start and periodic sync.
  void ReleaseUnusedClaims(const HostName& host, const ServersView& servers,
                           Timestamp now);
  // ReleaseUnusedClaims for every host this conductor owns that holds claims.
  void SweepUnusedClaims();
  // The kinds of work the conductor asks of a host for an instance's task.
  enum class WorkKind {
    kBuild,
    kDelete,
    kAction,
    kRebuild,
    kSnapshot,
    kResize,
    kResizeRevert,
    kCrashDump,
    kShelve,      // shelve or shelveOffload
    kUnshelve,    // start a shelved guest, or spawn an offloaded one where placed
    kSoftDelete,  // soft delete or restore
  };
  // What an instance event asks of the conductor: work for the instance's host,
  // or (settle_resize) the claims of a resize that ended settled.
  struct EventRoute {
    WorkKind work;
    bool settle_resize = false;
  };
  // Every instance event the conductor acts on, by type; others it ignores.
  static const std::map<std::string_view, EventRoute>& InstanceEventRoutes();
  // The work `s` still waits for, if any.
  static bool PendingWork(const InstanceState& s, WorkKind* kind);
  // Re-sends the work `s` waits for, acting for the request that started it.
  void Resend(const InstanceState& s, WorkKind kind, Timestamp now);
  // Fails a build that ran past options_.build_timeout_us.
  void TimeOutBuild(const InstanceState& s, Timestamp now);
  // If the host of `s` (deleting) is down: records instance.deleted for it and
  // gives its claim back, acting for the delete request; returns true. False if
  // the host is up (the host does the delete).
  bool DeleteWithoutHost(const InstanceState& s, Timestamp now);
  Status Release(const InstanceId& id, const HostName& host, const EventMeta& meta);
  // A claim under `migration`'s id on `host` that no pending resize names:
  // its resize ended but the claims did not settle (they settle now), or it
  // was never recorded (the request failed, or the api died, after the claims
  // moved: the claim is given back, and the instance it was taken from holds
  // its own here again).
  // True if the resize is still in progress (awaiting confirmation).
  Result<bool> ReleaseOrphanMigrationClaim(const HostName& host,
                                           const InstanceId& migration, Timestamp now);
  // How long a pending resize's claim goes unchecked after a check.
  static constexpr int64_t kPendingResizeRecheckUs = int64_t{600} * 1000000;
  // How old a resize's claims must be before a resize never recorded is given
  // up: longer than an API request can take (its appends time out in 30 s, its
  // read-your-writes wait in 10 s).
  static constexpr int64_t kUnrecordedResizeAgeUs = int64_t{120} * 1000000;
  // Gives back `id`'s claim on `host` if the log (not a read model) still
  // shows it unused, at exactly the host version it was read at.
  Status ReleaseUnusedClaim(const HostName& host, const InstanceId& id, Timestamp now);
  // Sends `kind` work for `s` to its host; kAction work carries the action that
  // runs under s.task_state.
  Status SendWork(const InstanceState& s, WorkKind kind, Seq causation,
                  const EventMeta& meta);
  // After a resize was confirmed, reverted or failed (or its server deleted):
  // the claims settle (eventstore/resize_claims.h), and a confirmed move to
  // another host drops the source's guest.
  Status SettleResize(const Envelope& env);
  // Re-sends work not acted on, fails builds past their timeout (a task on the
  // sweep queue, every interval).
  void Sweep();
  // Deletes the SOFT_DELETED servers past reclaim_instance_interval_us,
  // offloads the SHELVED ones past shelved_offload_time_us (Nova's
  // _reclaim_queued_deletes and _poll_shelved_instances), and confirms the
  // resizes that asked for it and were missed (ConfirmIfAsked).
  void ExpireParked(Timestamp now);
  // After instance.resize_finished: confirms the resize if its request asked
  // for that (confirm_when_finished).
  void ConfirmIfAsked(const Envelope& env);
  // Posts a sweep unless one is queued already.
  void QueueSweep();
  // A warning line in the log: what failed, and why.
  void Warn(const std::string& what, const Status& st) const;
  bool Owns(std::string_view key) const { return !options_.owns || options_.owns(key); }

  EventLog* const log_;
  Bus* const bus_;
  ProjectionStore* const store_;
  const ConductorOptions options_;

  // Reports are applied on lanes: one instance's (or host's) always on the
  // same one, so in the order its host sent them.
  std::mutex lanes_mu_;  // protects lanes_
  std::vector<std::unique_ptr<TaskQueue>> lanes_;
  std::unique_ptr<TaskQueue> sweeper_;
  std::unique_ptr<PeriodicTask> sweep_;
  std::atomic<int> sweeps_{0};  // written on the sweep queue only
  std::atomic<bool> sweep_queued_{false};

  std::unique_ptr<BusSubscription> reports_;
  std::unique_ptr<BusSubscription> inventories_;
  std::unique_ptr<Subscription> events_;
  std::atomic<uint64_t> refused_{0};

  std::mutex unused_mu_;  // protects unused_claims_
  // Claims that looked unused, by host and instance: when first seen so.
  std::map<std::pair<HostName, InstanceId>, Timestamp> unused_claims_;
};

}  // namespace chronova
