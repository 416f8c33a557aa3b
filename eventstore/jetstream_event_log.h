// JetStreamEventLog: the production, replicated EventLog on NATS JetStream
// (docs/events.md, docs/operations.md "JetStream"). One JetStream stream holds
// every event; each aggregate stream maps to one subject "ev.<kind>.<escaped
// key>" (eventstore/jetstream_names.h).
//
// One Append = one JetStream message holding the whole batch of events, so a
// multi-event append is atomic. Every node keeps a local RocksDbEventLog mirror,
// fed in order by an ordered consumer, and its fold is authoritative: a message
// whose version does not follow its stream's head, or whose idempotency key
// (header Chronova-Key) was accepted already, is rejected alike on every node
// (RocksDbEventLog::Ingest). Global seqs are dense positions of the accepted
// events, the same on every node.
//
// Optimistic concurrency: the publish sets ExpectLastSubjectSeq to the
// subject's last message (ExpectNoMessage for a new stream), a first filter the
// server applies; on a cluster two racing writers may both be stored, so an
// Append is acknowledged only once this node's fold accepted its message, and
// is a Conflict otherwise. Transient failures are retried until the operation
// timeout; a retry whose earlier try the fold accepted answers that result.
// Reads and subscriptions are served from the mirror.
#pragma once

#include <memory>
#include <string>

#include "eventstore/event_log.h"
#include "eventstore/nats_client.h"

namespace chronova {

class Env;

struct JetStreamLogOptions {
  // One server URL, or a comma-separated list of a cluster's servers (the client
  // learns the rest of the cluster from the one it connects to).
  std::string url = "nats://127.0.0.1:4222";
  // Credential, TLS and inbox prefix (eventstore/nats_client.h).
  NatsAuth auth;
  std::string stream_name = "CHRONOVA";
  int replicas = 1;         // 1 or 3
  std::string mirror_path;  // REQUIRED: directory of the local mirror
  // The stream's duplicate window (JetStream's Nats-Msg-Id de-duplication; the
  // log itself keys appends by the Chronova-Key header and its mirror's index).
  int64_t duplicate_window_ms = 2 * 60 * 1000;
  // How long an Append (and a read's catch-up) keeps retrying transient failures
  // (server restart, leader election) before answering Unavailable.
  int operation_timeout_ms = 30000;
  // How long Open waits for a cluster that is still forming to place a
  // replicated stream. Its servers announce themselves to the metadata leader
  // only every few tens of seconds, and until they have, creating an R3 stream
  // is refused with "no suitable peers for placement" (seen for over 30 s on a
  // loaded machine). Other failures still give up after operation_timeout_ms.
  int placement_timeout_ms = 120000;
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
