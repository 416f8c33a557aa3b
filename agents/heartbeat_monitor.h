// HeartbeatMonitor: which compute hosts are up, for the API's admin views
// (os-services, os-hypervisors, os-availability-zone). It follows the same
// heartbeats on the bus as the scheduler and applies the same rule (nova.conf
// service_down_time): a host is up if it reported within that time, judged by
// our own clock. Right after start it knows the last heartbeats JetStream kept
// (agents/nats_liveness.h); a host it knows nothing of counts as up for one
// service_down_time (it reports again within 10 s), as the scheduler presumes
// too.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "agents/bus.h"
#include "core/env.h"
#include "core/types.h"

namespace chronova {

struct HeartbeatMonitorOptions {
  Env* env = Env::Default();
  int64_t service_down_time_us = 60000000;  // nova.conf service_down_time (60 s)
  // Hosts' last heartbeats before this start (agents/nats_liveness.h); a host
  // not named here counts as up for one service_down_time after start.
  std::map<HostName, Timestamp> known;
};

struct HostLiveness {
  bool up = false;
  Timestamp last_seen;  // the last heartbeat by our clock; 0: none since start
};

class HeartbeatMonitor {
 public:
  // Borrows `bus`.
  HeartbeatMonitor(Bus* bus, HeartbeatMonitorOptions options = {});
  Status Start();
  HostLiveness Get(const HostName& host) const;

 private:
  Bus* const bus_;
  const HeartbeatMonitorOptions options_;
  Timestamp started_;
  mutable std::mutex mu_;  // protects last_seen_
  std::map<HostName, Timestamp> last_seen_;
  std::unique_ptr<BusSubscription> subscription_;
};

}  // namespace chronova
