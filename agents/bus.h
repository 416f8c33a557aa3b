// Bus: work routing and reports between agents (docs/architecture.md, "The bus":
// core NATS, or an in-process bus in the all-in-one). Delivery is at most once:
// every message carries enough to be retried, and the senders re-send what was
// not acted on.
//
// Subjects are dot-separated tokens; a subscription may end in ".>" to receive
// every subject under a prefix. All subjects are built in agents/subjects.h.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/env.h"
#include "core/status.h"
#include "eventstore/nats_client.h"

namespace chronova {

// Runs on a bus thread; must not block for long.
using BusHandler =
    std::function<void(const std::string& subject, const std::string& payload)>;

class BusSubscription {
 public:
  // Stops delivery; returns after any running handler call has finished.
  virtual ~BusSubscription() = default;
};

class Bus {
 public:
  virtual ~Bus() = default;
  // Unavailable if the bus cannot take the message now.
  virtual Status Publish(const std::string& subject, const std::string& payload) = 0;
  // Handlers of one subscription run one at a time, in publish order.
  virtual Result<std::unique_ptr<BusSubscription>> Subscribe(const std::string& subject,
                                                             BusHandler handler) = 0;
};

// An in-process Bus: each subscription has its own TaskQueue of `env`'s.
std::unique_ptr<Bus> NewInProcessBus(Env* env = Env::Default());

// A Bus over core NATS at `url`: one nats://host:port or a comma-separated
// list of a cluster's servers, connecting with `auth`'s credential and TLS.
// Unavailable if none is reachable.
Result<std::unique_ptr<Bus>> NewNatsBus(const std::string& url,
                                        const NatsAuth& auth = {});

// True if `subject` matches `pattern` (exact, or pattern "a.b.>" for anything under a.b).
bool SubjectMatches(const std::string& pattern, const std::string& subject);

}  // namespace chronova
