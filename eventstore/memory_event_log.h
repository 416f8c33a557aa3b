// MemoryEventLog: the whole log in memory — for the deterministic simulation
// and for tests that need a log but not its durability. It keeps every promise
// of EventLog (tests/eventstore/event_log_contract_test.cc runs against it) but
// writes nothing to disk.
//
// The events live in a MemoryLogStore, which may outlive the logs opened on it:
// a MemoryEventLog closed and opened again on the same store is a process that
// restarted against a log that kept running. Faults can be injected: an append
// refused before it is written, or written but its answer lost (the caller sees
// an error; a retry with the same key finds it).
//
// Thread-safety: every method may be called from any thread concurrently.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "eventstore/event_log.h"
#include "eventstore/tailing_subscription.h"

namespace chronova {

class MemoryLogStore {
 public:
  // A fault for one append, asked before it is written: Ok to write it.
  using BeforeAppend = std::function<Status(const AppendRequest&)>;
  // Asked after it was written: Ok to answer it, else the error the caller
  // sees instead (the answer was lost).
  using AfterAppend = std::function<Status(const AppendRequest&, const AppendResult&)>;

  // The hooks run with the store locked (before_append) or right after the
  // append (after_append); neither may call back into a log on this store.
  void set_before_append(BeforeAppend f);
  void set_after_append(AfterAppend f);

 private:
  friend class MemoryEventLog;
  std::mutex mu_;                 // protects everything below
  std::vector<Envelope> events_;  // events_[i] has seq i + 1
  std::unordered_map<std::string, std::vector<uint64_t>> streams_;  // stream -> seqs
  std::unordered_map<std::string, AppendResult> keys_;  // idempotency key -> result
  BeforeAppend before_append_;
  AfterAppend after_append_;
  // Every log open on this store, woken when the head moves.
  std::vector<HeadNotifier*> notifiers_;
};

class MemoryEventLog : public EventLog {
 public:
  // Borrows `store`, which must outlive the log; subscriptions run on queues
  // of `env`'s.
  explicit MemoryEventLog(MemoryLogStore* store, Env* env = Env::Default());
  ~MemoryEventLog() override;

  Result<AppendResult> Append(const AppendRequest& req) override;
  Result<std::vector<Envelope>> Read(Seq from, size_t max_events) override;
  Result<std::vector<Envelope>> ReadStream(const StreamId& stream, StreamVersion from,
                                           size_t max_events) override;
  Result<StreamVersion> StreamHead(const StreamId& stream) override;
  std::unique_ptr<Subscription> Subscribe(Seq from, SubscribeHandler handler) override;
  Result<Seq> Head() override;

 private:
  MemoryLogStore* const store_;
  Env* const env_;
  HeadNotifier notifier_;
};

}  // namespace chronova
