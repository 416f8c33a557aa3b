// JetStreamEventLog: the production, replicated EventLog on NATS JetStream
// (DESIGN §4). One JetStream stream holds every event; each aggregate stream maps
// to one subject "ev.<kind>.<escaped key>" (eventstore/jetstream_names.h).
//
// One Append = one JetStream message holding the whole batch of events, so a
// multi-event append is atomic. Optimistic concurrency: the last message of the
// subject carries the stream version in a header; the publish sets
// ExpectLastSubjectSeq to that message's sequence (ExpectNoMessage for a new
// stream), so a concurrent writer makes it fail with Conflict. The idempotency key
// is the Nats-Msg-Id; transient failures are retried with the same Msg-Id.
//
// Every node keeps a local RocksDbEventLog mirror, fed in order by an ordered
// consumer. Global seqs are dense positions in that mirror: every node reading
// the same JetStream stream assigns the same seqs. Reads and subscriptions are
// served from the mirror after it has caught up with the stream's last sequence.
#pragma once

#include <memory>
#include <string>

#include "eventstore/event_log.h"

namespace chronova {

class Env;

struct JetStreamLogOptions {
  // One server URL, or a comma-separated list of a cluster's servers (the client
  // learns the rest of the cluster from the one it connects to).
  std::string url = "nats://127.0.0.1:4222";
  std::string stream_name = "CHRONOVA";
  int replicas = 1;                             // 1 or 3
  std::string mirror_path;                      // REQUIRED: directory of the local mirror
  int64_t duplicate_window_ms = 2 * 60 * 1000;  // Msg-Id de-duplication window
  // How long an Append (and a read's catch-up) keeps retrying transient failures
  // (server restart, leader election) before answering Unavailable.
  int operation_timeout_ms = 30000;
  Env* env = nullptr;  // clock and sleeps for the retry loops; nullptr: Env::Default()
};

class JetStreamEventLog : public EventLog {
 public:
  // Connects, creates the stream if it does not exist, opens the mirror and starts
  // following the stream. Unavailable if the server cannot be reached.
  static Result<std::unique_ptr<JetStreamEventLog>> Open(
      const JetStreamLogOptions& options);
  ~JetStreamEventLog() override;

  Result<AppendResult> Append(const AppendRequest& req) override;
  Result<std::vector<Envelope>> Read(Seq from, size_t max_events) override;
  Status ReadInto(Seq from, size_t max_events, std::vector<Envelope>* out) override;
  Result<std::vector<Envelope>> ReadStream(const StreamId& stream, StreamVersion from,
                                           size_t max_events) override;
  Result<StreamVersion> StreamHead(const StreamId& stream) override;
  std::unique_ptr<Subscription> Subscribe(Seq from, SubscribeHandler handler) override;
  Result<Seq> Head() override;

 private:
  class Impl;
  explicit JetStreamEventLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chronova
