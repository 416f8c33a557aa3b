// Time travel (docs/architecture.md, "Projections, audit, time travel"):
// chronova's read models as of any past point of the log, a seq or a time. One
// instance or host is folded from its own stream (a stream holds tens of events,
// so no snapshot is needed); the whole cloud starts from the nearest periodic
// snapshot at or before the point and folds the events after it.
//
// Snapshots live in `<state>/snapshots/<seq>/`: each is a complete ProjectionStore
// of ReadModels (a RocksDB checkpoint) plus a READ_MODELS file naming the read
// models it holds. SnapshotTaker writes them in the daemon; readers only ever copy
// them (hard links), so a snapshot is never modified once written.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/host_state.h"
#include "core/instance_state.h"
#include "eventstore/event_log.h"
#include "projections/projection_store.h"
#include "projections/read_models.h"

namespace chronova {

// A point of the log as a person writes it: a seq ("1234") or an ISO-8601 UTC
// time ("2026-11-25T18:02:03Z", fractions allowed).
struct LogPoint {
  bool is_time = false;
  Seq seq;         // valid if !is_time
  Timestamp time;  // valid if is_time
};
// InvalidArgument (quoting `text`) if it is neither.
Result<LogPoint> ParseLogPoint(std::string_view text);

// The last seq whose event time is <= `t`; 0 if the log starts after `t`, the head
// if it ends before. A binary search over the log (about log2(head) single-event
// reads). It assumes event times never decrease along the log: writers stamp
// events from their Env clock just before appending, so concurrent writers (or
// nodes whose clocks disagree) can be out of order by their append latency or
// clock skew; the answer is then a seq s with time(s) <= t < time(s + 1).
Result<Seq> SeqAtTime(EventLog& log, Timestamp t);

// `point` as a seq: a seq is returned as it is, a time through SeqAtTime.
// InvalidArgument for a seq past the log's head.
Result<Seq> ResolveLogPoint(EventLog& log, const LogPoint& point);

// One instance as of `at`: its stream folded with core's ApplyEvent up to its last
// event with seq <= at. `exists` is false if it had not been requested by then.
Result<InstanceState> InstanceAsOf(EventLog& log, const InstanceId& id, Seq at);
// One host as of `at` (ApplyHostEvent); `exists` false if not registered by then.
Result<HostState> HostAsOf(EventLog& log, const HostName& host, Seq at);

// "servers:1;hosts:2;...": the read models (names and versions) a snapshot holds,
// which must be today's ReadModels for the snapshot to be used.
std::string ReadModelsSignature();

struct SnapshotInfo {
  Seq seq;           // the snapshot's checkpoint
  std::string path;  // <dir>/<seq, 20 digits>
};
// The complete snapshots in `dir` whose read models are today's, oldest first.
// An empty list if `dir` does not exist.
Result<std::vector<SnapshotInfo>> ListSnapshots(const std::string& dir);

// Writes a snapshot of `store` into `dir` (created if needed) as of the store's
// checkpoint at that moment, then removes the oldest snapshots beyond `keep`
// (0: keep all). Atomic for readers: the snapshot is written under a temporary
// name and renamed. Returns the snapshot's seq; writes nothing new if a snapshot
// of that seq exists already. REQUIRES: `store` holds exactly ReadModels::All().
Result<Seq> SaveReadModelsSnapshot(const ProjectionStore& store, const std::string& dir,
                                   size_t keep);

struct SnapshotTakerOptions {
  std::string dir;  // REQUIRED: <state>/snapshots
  // A snapshot each time the read models have moved this many events past the
  // newest snapshot (one at once if they already have). REQUIRES: > 0.
  uint64_t every = 100000;
  size_t keep = 3;    // newest snapshots kept (0: all)
  int poll_ms = 100;  // how often the read models' checkpoint is looked at
};

// Takes periodic snapshots of a running ProjectionStore on its own thread.
// Thread-safe; destroying it stops the thread (at once, not after a poll).
class SnapshotTaker {
 public:
  // Borrows `store`, which must outlive the taker and hold ReadModels::All().
  SnapshotTaker(const ProjectionStore* store, SnapshotTakerOptions options);
  ~SnapshotTaker();
  SnapshotTaker(const SnapshotTaker&) = delete;
  SnapshotTaker& operator=(const SnapshotTaker&) = delete;

  // OK, or the last snapshot failure (the taker keeps trying).
  Status status() const;
  // Seq of the newest snapshot taken or found at start (0: none).
  Seq last() const;

 private:
  void Loop();

  const ProjectionStore* const store_;
  const SnapshotTakerOptions options_;

  mutable std::mutex mu_;  // protects the fields below
  std::condition_variable cv_;
  bool stop_ = false;
  Status status_;
  Seq last_;

  std::thread thread_;  // last: started once everything above is set
};

// The read models as of one seq, in a private directory removed on destruction.
class ReadModelsAt {
 public:
  ~ReadModelsAt();
  ReadModelsAt(const ReadModelsAt&) = delete;
  ReadModelsAt& operator=(const ReadModelsAt&) = delete;

  Seq seq() const { return seq_; }
  // The snapshot the fold started from (0: folded from seq 1).
  Seq snapshot() const { return snapshot_; }
  const ProjectionStore& store() const { return *store_; }
  ServersView servers() const { return ServersView(servers_.get()); }
  HostsView hosts() const { return HostsView(hosts_.get()); }
  FlavorsView flavors() const { return FlavorsView(flavors_.get()); }
  ImagesView images() const { return ImagesView(images_.get()); }

 private:
  friend class TimeTravel;
  ReadModelsAt() = default;

  std::string dir_;
  Seq seq_;
  Seq snapshot_;
  ReadModels models_;
  std::unique_ptr<ProjectionStore> store_;
  std::unique_ptr<ReadModelReader> servers_, hosts_, flavors_, images_;
};

// One field of a resource that differs between two points; a side where the
// resource did not exist is empty.
struct FieldChange {
  std::string field;
  std::string before;
  std::string after;
  bool operator==(const FieldChange&) const = default;
};

// A server or host that differs between two points. A server is a record of the
// servers read model, which keeps deleted servers: a delete is a change of status
// to DELETED; a server created (and maybe deleted) in between is kAdded.
struct ResourceChange {
  enum class Kind { kAdded, kRemoved, kChanged };
  Kind kind = Kind::kChanged;
  std::string id;    // server id or host name
  std::string name;  // the server's name at the later point it existed ("" for hosts)
  std::vector<FieldChange> fields;  // in a fixed field order
};
// "added", "removed", "changed".
std::string_view ResourceChangeKindName(ResourceChange::Kind kind);

struct ReadModelsDiff {
  Seq from;
  Seq to;
  std::vector<ResourceChange> servers;  // in id order
  std::vector<ResourceChange> hosts;    // in name order
};

// The compared fields of a server (name, status, vm_state, task_state,
// power_state, host, flavor, image, metadata, fault) and of a host (capacity,
// usage, instances, zone, ratios, then "claimed": the instances that claimed on
// it, "released": those that gave their claim back) that differ between `before`
// and `after`; nullptr for a side where the resource did not exist.
std::vector<FieldChange> DiffServer(const InstanceState* before,
                                    const InstanceState* after);
std::vector<FieldChange> DiffHost(const HostState* before, const HostState* after);

// Servers and hosts that differ between `a` and `b`.
Result<ReadModelsDiff> DiffReadModels(const ReadModelsAt& a, const ReadModelsAt& b);

struct TimeTravelOptions {
  // Where SnapshotTaker writes snapshots; empty or missing: fold from seq 1.
  std::string snapshot_dir;
  // Where read models as of a point are built (on the snapshots' file system, so
  // they are hard links); empty: a private directory under $TMPDIR.
  std::string scratch_dir;
};

// Thread-safe: queries may run concurrently (each builds its own read models).
class TimeTravel {
 public:
  // Borrows `log`, which must outlive this object.
  TimeTravel(EventLog* log, TimeTravelOptions options);
  ~TimeTravel();  // removes a private scratch directory

  // ParseLogPoint + ResolveLogPoint.
  Result<Seq> Resolve(std::string_view point) const;

  // The read models (ReadModels::All()) as of `at`: a copy of the newest usable
  // snapshot <= at (none: empty read models) folded up to `at`. A snapshot that
  // disappears while it is copied (retention) is skipped for an older one.
  // InvalidArgument for a seq past the head.
  Result<std::unique_ptr<ReadModelsAt>> ReadModelsAsOf(Seq at) const;

  // The servers and hosts that differ between the read models at `a` and `b`.
  Result<ReadModelsDiff> Diff(Seq a, Seq b) const;

  EventLog& log() const { return *log_; }

 private:
  Status CopySnapshot(const SnapshotInfo& snapshot, const std::string& into) const;
  // options_.scratch_dir, or a private directory made on first use.
  Result<std::string> Scratch() const;

  EventLog* const log_;
  const TimeTravelOptions options_;
  mutable std::atomic<uint64_t> next_id_{0};  // names the per-query directories

  mutable std::mutex mu_;  // protects private_scratch_
  mutable std::string private_scratch_;
};

}  // namespace chronova
