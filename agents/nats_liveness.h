// Liveness that outlives a process: the compute hosts' heartbeats, kept by
// JetStream. A stream captures the bus subjects heartbeat.> (the hosts publish
// on the bus as always, and need no JetStream rights) and keeps only the last
// message of each host, so a restarted scheduler, conductor or api — and
// `chronovactl cluster status` — know when each host last reported instead of
// presuming every host up for one service_down_time.
//
// Times are the NATS server's clock when it stored the heartbeat; the
// processes judge later heartbeats by their own clocks (keep them in NTP sync).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/status.h"
#include "core/types.h"
#include "eventstore/nats_client.h"

namespace chronova {

// The liveness stream that goes with the log's stream `log_stream`.
std::string LivenessStreamName(const std::string& log_stream);

class LivenessStore {
 public:
  // Connects and creates the stream (with `replicas`) if it does not exist;
  // replicas 0: only looks it up (NotFound if absent).
  static Result<std::unique_ptr<LivenessStore>> Open(const std::string& urls,
                                                     const NatsAuth& auth,
                                                     const std::string& log_stream,
                                                     int replicas);
  ~LivenessStore();

  // When each compute host last heartbeated, as far as the stream knows.
  Result<std::map<HostName, Timestamp>> LastHeartbeats();

 private:
  struct Impl;
  explicit LivenessStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chronova
