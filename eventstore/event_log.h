// EventLog: the append-only, totally ordered log that is chronova's source of
// truth (docs/architecture.md, "The log"). Implementations: RocksDbEventLog
// (embedded, single process), JetStreamEventLog (replicated) and MemoryEventLog
// (the simulation and tests); all pass
// tests/eventstore/event_log_contract_test.cc.
//
// Thread-safety: every method may be called from any thread concurrently.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "core/envelope.h"
#include "core/status.h"
#include "core/types.h"

namespace chronova {

// What an append expects of its stream's current version (optimistic concurrency).
class ExpectedVersion {
 public:
  // No expectation: the events go after whatever the stream holds.
  static ExpectedVersion Any() { return ExpectedVersion(true, StreamVersion()); }
  // The stream must be empty (the first event of an aggregate).
  static ExpectedVersion NoStream() { return ExpectedVersion(false, StreamVersion()); }
  // The stream's last event must be at `v`.
  static ExpectedVersion Exactly(StreamVersion v) { return ExpectedVersion(false, v); }

  bool any() const { return any_; }
  // REQUIRES: !any()
  StreamVersion version() const { return version_; }
  bool Matches(StreamVersion current) const { return any_ || current == version_; }

 private:
  ExpectedVersion(bool any, StreamVersion v) : any_(any), version_(v) {}
  bool any_;
  StreamVersion version_;
};

struct AppendRequest {
  StreamId stream;  // non-empty, no NUL bytes
  ExpectedVersion expected = ExpectedVersion::Any();
  // Required. An append whose key was already written returns the original
  // AppendResult (duplicate = true) and writes nothing.
  IdempotencyKey key;
  std::vector<NewEvent> events;  // 1..kMaxEventsPerAppend, all or none are written
};

inline constexpr size_t kMaxEventsPerAppend = 256;

struct AppendResult {
  Seq first_seq;               // seq of the first event written
  Seq last_seq;                // seq of the last one
  StreamVersion last_version;  // the stream's version after the append
  bool duplicate = false;      // true: this key was already appended; nothing written
};

// A running subscription. Destroying it stops delivery and waits for the handler
// to return. Thread-safe.
class Subscription {
 public:
  virtual ~Subscription() = default;
  // OK while running; the error that stopped it otherwise (a read failure such as
  // Corruption, or the handler's own non-OK Status).
  virtual Status status() const = 0;
  // Seq of the last event handed to the handler (0 before the first).
  virtual Seq position() const = 0;
};

// Receives events in seq order, in batches, on the subscription's own thread.
// Returning non-OK stops the subscription with that status.
using SubscribeHandler = std::function<Status(const std::vector<Envelope>& batch)>;

class EventLog {
 public:
  virtual ~EventLog() = default;

  // Appends `req.events` to `req.stream` atomically, if the stream is at the
  // expected version. Conflict (message names the current version) if it is not;
  // InvalidArgument for an empty/oversized batch, a missing key or a bad stream;
  // Unavailable if the log could not be reached in time (retrying with the same
  // key is safe).
  virtual Result<AppendResult> Append(const AppendRequest& req) = 0;

  // Up to `max_events` events with seq >= `from`, in seq order. Empty when `from`
  // is past the head. Corruption naming the seq for an undecodable record.
  // Reads see every append this process had acknowledged; on a replicated log
  // they may lag other nodes' appends until Head() is called (which syncs).
  virtual Result<std::vector<Envelope>> Read(Seq from, size_t max_events) = 0;
  // Read() into *out (replacing what it holds), reusing its envelopes' memory
  // where the log can (a replay reads millions of events into a few batches).
  // *out is empty after an error.
  virtual Status ReadInto(Seq from, size_t max_events, std::vector<Envelope>* out) {
    Result<std::vector<Envelope>> read = Read(from, max_events);
    if (!read.ok()) {
      out->clear();
      return read.status();
    }
    *out = std::move(read).value();
    return Status::Ok();
  }

  // Up to `max_events` events of `stream` with version >= `from`, in order.
  // Empty for an unknown stream.
  virtual Result<std::vector<Envelope>> ReadStream(const StreamId& stream,
                                                   StreamVersion from,
                                                   size_t max_events) = 0;

  // The current version of `stream` (0 if it has no events).
  virtual Result<StreamVersion> StreamHead(const StreamId& stream) = 0;

  // Delivers every event with seq >= `from` (catch-up), then follows new appends
  // (live) until the subscription is destroyed.
  virtual std::unique_ptr<Subscription> Subscribe(Seq from, SubscribeHandler handler) = 0;

  // Seq of the last event in the log (0 if empty). On a replicated log this first
  // catches up with every append acknowledged anywhere, so reads after it see them.
  virtual Result<Seq> Head() = 0;
};

// Reads a whole stream (convenience over ReadStream).
Result<std::vector<Envelope>> ReadWholeStream(EventLog& log, const StreamId& stream);

// The checks every implementation makes before appending: InvalidArgument for an
// empty or NUL-bearing stream name, a missing key, no events, more than
// kMaxEventsPerAppend events, or an event without a type.
Status ValidateAppendRequest(const AppendRequest& req);

}  // namespace chronova
