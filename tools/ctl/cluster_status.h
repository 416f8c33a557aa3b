// `chronovactl cluster status`: what runs where in a cluster of chronova
// processes (docs/deployment.md) — the api, scheduler and conductor processes
// that announce themselves on the bus, the compute hosts by their last
// heartbeat (JetStream keeps it: agents/nats_liveness.h), the NATS nodes and
// the log stream's replicas (from each node's monitoring port), and how far
// each process's read models lag behind the log.
#pragma once

#include <string>
#include <vector>

#include "eventstore/event_log.h"
#include "eventstore/jetstream_event_log.h"
#include "eventstore/nats_client.h"

namespace chronova {

struct ClusterStatusOptions {
  std::string nats_urls;
  NatsAuth auth;
  std::string stream = "CHRONOVA";
  // host:port of each NATS node's monitoring endpoint (http: in nats.conf).
  std::vector<std::string> nats_http;
  // A directory whose subdirectories are processes' state dirs (the rig's
  // state/); each one with read models is shown with its lag.
  std::string state_dirs;
  // How long to listen for the roles' announcements (they come every second).
  int listen_ms = 1500;
  // nova.conf service_down_time: a host silent longer is down.
  int64_t service_down_time_s = 60;
};

// Prints the status to stdout; the log is the one chronovactl opened.
// Returns 0, or 1 when something is down or unreachable.
int PrintClusterStatus(const ClusterStatusOptions& options, EventLog& log);

class Flags;
// `chronovactl cluster status`: the options from the command's flags and the
// log's connection (`js`), then PrintClusterStatus. The exit status.
int ClusterStatusCommand(const Flags& flags, const JetStreamLogOptions& js,
                         EventLog& log);

}  // namespace chronova
