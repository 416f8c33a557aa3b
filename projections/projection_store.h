// ProjectionStore: one RocksDB database holding a set of read models and the seq
// they have all reached (the checkpoint). Feeding it the log in order, from any
// point at or before its checkpoint, always ends in the same state.
//
// Thread-safety: ApplyBatch from one thread at a time (the runner); readers and
// WaitFor from any thread.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/event_codec.h"
#include "projections/projection.h"
#include "projections/record_cache.h"

namespace rocksdb {
class DB;
}

namespace chronova {

struct ProjectionStoreOptions {
  std::string path;
  // Open as a secondary next to the daemon's store (chronovactl): reads see the
  // daemon's commits as of the last Refresh(); ApplyBatch fails. Open and
  // Refresh are Unavailable for read models another build made (other read
  // models or versions), which this one would misread.
  bool read_only = false;
  std::string secondary_path;  // REQUIRED when read_only
  const UpcasterSet* upcasters = &UpcasterSet::Default();
  // Bulk rebuild (replay into a fresh store): records stay decoded in memory
  // between events and are written in large sorted batches every
  // `bulk_flush_entries` records and by Flush(). Until a flush, readers and
  // Digest() do not see the applied events, and a failed event drops what was
  // applied since the last flush (the persisted checkpoint stays consistent).
  bool bulk = false;
  size_t bulk_flush_entries = 4'000'000;
  // Bulk mode: write those records on another thread while the fold goes on into
  // fresh ones (up to twice as many records in memory), or wait for the write
  // (a memory budget).
  bool bulk_flush_in_background = true;
  // Bulk mode: no background compaction while this store is open (a temporary
  // store — replay, as-of read models — read soon after, or compacted when
  // opened again). The fold keeps both cores.
  bool defer_compaction = false;
  // Bulk mode: remember which seq wrote each key last (LastWriter), to name the
  // event behind a divergence. Costs memory per key.
  bool track_writers = false;
  // Bulk mode: leave the records the last Flush() wrote to the process's exit,
  // for a process that exits soon after (replay): the kernel takes gigabytes back
  // at once, where freeing them record by record took seconds. A flush frees
  // those of the flush before it.
  bool leave_last_records = false;
};

// "servers:2;hosts:2;..." — which read models, at which versions; a store (or a
// snapshot) built by another signature is not used as-is.
std::string ProjectionsSignature(const std::vector<Projection*>& projections);

// One key of a store, in iteration order (checkpoint excluded).
class StoreIterator {
 public:
  virtual ~StoreIterator() = default;
  virtual bool Valid() const = 0;
  virtual void Next() = 0;
  // "<projection>/<key>" and its value. REQUIRES: Valid().
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  virtual Status status() const = 0;
};

// The events of a batch of envelopes, decoded ahead of applying: events[i] is
// envelope i's (counting every envelope of the batch, those at or before the
// checkpoint too), for every i below events.size(). Decoding stopped there: the
// envelope after the last could not be decoded, for the reason `failure` (ok
// when all were), and no envelope after it can be applied.
struct DecodedEvents {
  std::vector<Event> events;
  Status failure;
};

// Decodes `batch` into *out, into the events *out held before (one of the same
// type keeps its memory: a reader decoding batch after batch allocates little).
void DecodeEvents(const std::vector<Envelope>& batch, const UpcasterSet& upcasters,
                  DecodedEvents* out);

// Counts the read-model keys the calling thread reads from a store while it
// lives (each Get, each key a Scan visits): tests that a request reads what
// its answer needs and no more (docs/performance.md, "Server lists"). Nests.
class ThreadReadCounter {
 public:
  ThreadReadCounter();
  ~ThreadReadCounter();
  ThreadReadCounter(const ThreadReadCounter&) = delete;
  ThreadReadCounter& operator=(const ThreadReadCounter&) = delete;
  uint64_t reads() const { return reads_; }

 private:
  friend void CountRead();
  ThreadReadCounter* outer_;
  uint64_t reads_ = 0;
};

class ProjectionStore {
 public:
  // `projections` are borrowed and must outlive the store. Their names must be
  // unique.
  static Result<std::unique_ptr<ProjectionStore>> Open(
      const ProjectionStoreOptions& options, std::vector<Projection*> projections);
  ~ProjectionStore();

  // Applies `batch` (consecutive seqs) to every projection and commits it with
  // the checkpoint in one write. Events at or below the checkpoint are skipped
  // (idempotent redelivery). Corruption, naming the seq, for an undecodable event
  // or a gap (an event that is not checkpoint + 1): the events before it are
  // committed, and the store refuses to move past it rather than serve wrong
  // state.
  Status ApplyBatch(const std::vector<Envelope>& batch);
  // ApplyBatch with the events already decoded by DecodeEvent(batch[i],
  // upcasters()) (a reader thread decodes ahead of the applier).
  Status ApplyDecoded(const std::vector<Envelope>& batch, const DecodedEvents& events);
  const UpcasterSet& upcasters() const { return *options_.upcasters; }

  // Bulk mode: writes every pending record and the checkpoint. No-op otherwise.
  Status Flush();

  // Every read-model key in order, for comparing two stores.
  std::unique_ptr<StoreIterator> NewIterator() const;
  // With track_writers: the seq of the event that last wrote `full_key`
  // ("<projection>/<key>"); 0 if unknown.
  Seq LastWriter(std::string_view full_key) const;

  // The seq every read model has reached.
  Seq checkpoint() const;
  // Blocks until checkpoint() >= seq or `timeout_ms` passes; true if reached.
  bool WaitFor(Seq seq, int timeout_ms) const;

  // Committed keys of the projection named `name`. NotFound for an unknown name.
  Result<std::unique_ptr<ReadModelReader>> Reader(std::string_view name) const;

  // A digest of every read-model key and value (not the checkpoint): equal
  // digests mean byte-identical read models.
  Result<std::string> Digest() const;

  // For read_only stores: catch up with the writer's commits. Unavailable if the
  // writer now holds another build's read models (see read_only).
  Status Refresh();

  // Writes a consistent copy of the whole store (read models and checkpoint) into
  // the new directory `dir` (a RocksDB checkpoint: hard links, cheap). Opening
  // `dir` as a ProjectionStore gives the read models as of checkpoint().
  Status SaveSnapshot(const std::string& dir) const;

 private:
  ProjectionStore(const ProjectionStoreOptions& options,
                  std::vector<Projection*> projections);
  Status LoadCheckpoint();
  // Resets the store if other projections (or versions) built it.
  Status CheckModels();

  // `events`: decoded already (ApplyDecoded), or nullptr.
  Status Apply(const std::vector<Envelope>& batch, const DecodedEvents* events);
  Status ApplyBulk(const std::vector<Envelope>& batch, const DecodedEvents* events);
  // Points *event at batch[i]'s event (decoded into *scratch unless `events` has
  // it), if it is the one after `at`; Corruption naming the seq if there is a gap
  // or it cannot be decoded.
  Status NextEvent(const std::vector<Envelope>& batch, const DecodedEvents* events,
                   size_t i, Seq at, Event* scratch, const Event** event) const;

  const ProjectionStoreOptions options_;
  const std::vector<Projection*> projections_;
  std::unique_ptr<rocksdb::DB> db_;
  // Bulk mode: writes `caches` (one per projection) and the checkpoint `at` as
  // ingested SST files.
  Status WriteCaches(std::vector<RecordCache>& caches, Seq at);
  // Bulk mode: waits for the background flush, if one runs, and drops its caches.
  Status WaitFlush();

  // Bulk mode only: one cache per projection (each folded by one of the two
  // lane threads during a batch, else owned by the applying thread), and the
  // checkpoint last written by Flush.
  std::vector<RecordCache> caches_;
  Seq flushed_;
  // Bulk mode: a full set of caches is written by `flusher_` while the applying
  // thread folds on into fresh ones (and still reads these: never changed until
  // WaitFlush joined the flusher).
  std::vector<RecordCache> flushing_;
  std::thread flusher_;
  Seq flushing_at_;
  Status flush_status_;  // of the last background flush; set by flusher_
  std::thread reaper_;   // frees the records Flush wrote
  std::vector<RecordCache> last_written_;              // with leave_last_records
  std::unordered_map<std::string, uint64_t> writers_;  // with track_writers
  // Bulk mode: how long each projection took to fold the last batch, to balance
  // the two folding lanes.
  std::vector<uint64_t> fold_nanos_;

  mutable std::mutex mu_;  // protects checkpoint_
  mutable std::condition_variable cv_;
  Seq checkpoint_;
};

}  // namespace chronova
