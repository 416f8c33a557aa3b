// RocksDbEventLog: the embedded EventLog — one process, no server. Appends from
// many threads are grouped into one RocksDB write batch (leveldb's group commit),
// so a sync to disk is paid once per group, not once per event.
//
// It is also the local copy a JetStreamEventLog keeps of what it has read
// (Ingest): the same store, fed by replication instead of by Append.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "eventstore/event_log.h"
#include "eventstore/tailing_subscription.h"

namespace rocksdb {
class DB;
}

namespace chronova {

struct RocksDbLogOptions {
  std::string path;  // directory; created if missing (unless read_only)
  // fsync the write-ahead log before acknowledging an append. true survives power
  // loss; false still survives a crash of the process (the OS keeps the WAL).
  bool sync = true;
  // Open as a RocksDB secondary instance next to a running writer: reads see the
  // writer's appends as of the last Head()/Read(); Append fails.
  bool read_only = false;
  std::string secondary_path;  // scratch directory, REQUIRED when read_only
};

class RocksDbEventLog : public EventLog {
 public:
  static Result<std::unique_ptr<RocksDbEventLog>> Open(const RocksDbLogOptions& options);
  ~RocksDbEventLog() override;

  Result<AppendResult> Append(const AppendRequest& req) override;
  Result<std::vector<Envelope>> Read(Seq from, size_t max_events) override;
  Status ReadInto(Seq from, size_t max_events, std::vector<Envelope>* out) override;
  Result<std::vector<Envelope>> ReadStream(const StreamId& stream, StreamVersion from,
                                           size_t max_events) override;
  Result<StreamVersion> StreamHead(const StreamId& stream) override;
  std::unique_ptr<Subscription> Subscribe(Seq from, SubscribeHandler handler) override;
  Result<Seq> Head() override;

  // ---- For replication (a local mirror of a remote log) ----
  // Stores a batch that the remote log holds at `source_position`, assigning local
  // seqs after the head. Positions must increase; a position at or below
  // SourceApplied() is ignored (redelivery).
  //
  // The fold is authoritative (docs/operations.md, "Concurrent writers on a
  // cluster"): a remote log may store two batches that claim the same stream
  // version (a clustered JetStream checks its expectation outside the replicated
  // write). The first in source order wins; a later batch with an event whose
  // version does not follow its stream's head is *rejected* whole: nothing of
  // it is stored, no seq is assigned, and SourceLanding says Conflict. Every
  // mirror ingesting the same source in the same order decides alike, so seqs
  // stay the same on every node.
  //
  // `key` (may be empty) is the batch's idempotency key: an accepted batch
  // records it (KeyLanding), and a later batch with a key already accepted is
  // rejected too, so two stored copies of one append count once.
  Status Ingest(uint64_t source_position, std::vector<Envelope> batch,
                const IdempotencyKey& key = IdempotencyKey());
  // Where the ingested batch with idempotency key `key` landed (duplicate set),
  // or nullopt if no accepted batch carried it.
  Result<std::optional<AppendResult>> KeyLanding(const IdempotencyKey& key);
  // The highest source position ingested or rejected (0 if none).
  uint64_t SourceApplied() const { return source_applied_.load(); }
  // Where the batch at `source_position` landed. NotFound if not ingested yet;
  // Conflict if it was rejected (another batch claimed its version first).
  Result<AppendResult> SourceLanding(uint64_t source_position);
  // How many batches this mirror rejected since it was opened.
  uint64_t SourceRejected() const { return source_rejected_.load(); }
  // The version of `stream` and the source position of its last ingested batch
  // (0, 0 for a stream with no ingested events).
  struct StreamSourceHead {
    StreamVersion version;
    uint64_t source_position = 0;
  };
  Result<StreamSourceHead> StreamSource(const StreamId& stream);
  // Blocks until SourceApplied() >= position or `timeout_ms` passes.
  bool WaitForSource(uint64_t position, int timeout_ms);

 private:
  struct Writer;
  explicit RocksDbEventLog(const RocksDbLogOptions& options);
  Status Recover();
  Status CatchUpIfSecondary();
  // Runs `group` as one write batch. Called by the leader without mu_ held.
  void CommitGroup(const std::vector<Writer*>& group);
  Result<std::vector<Envelope>> DecodeRange(const std::string& begin,
                                            const std::string& prefix, size_t max_events,
                                            bool by_stream);
  Result<Envelope> LoadEvent(Seq seq);
  Status Enqueue(Writer* w);

  const RocksDbLogOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  HeadNotifier notifier_{Seq()};

  std::mutex mu_;  // protects writers_; the front writer is the group leader
  std::deque<Writer*> writers_;

  // Owned by the current group leader (one at a time).
  uint64_t next_seq_ = 1;
  std::atomic<uint64_t> source_applied_{0};
  std::atomic<uint64_t> source_rejected_{0};
  std::mutex source_mu_;  // pairs with source_cv_
  std::condition_variable source_cv_;
};

}  // namespace chronova
