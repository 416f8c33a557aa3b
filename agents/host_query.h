// HostQueryClient: asks a compute host a question only it can answer now (a
// guest's console log) over the Bus, and waits for the answer. Nova does this
// with a synchronous RPC call to nova-compute; chronova uses the same bus that
// carries work, with a reply subject per client (NATS request/reply style).
// Queries are not history: nothing is logged, and a lost one is simply asked
// again by the caller.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agents/bus.h"
#include "agents/messages.h"
#include "core/status.h"

namespace chronova {

// Thread-safe; many queries may be in flight at once.
class HostQueryClient {
 public:
  // Borrows `bus`. `client_id` names this client's reply subjects; it must be
  // unique among the bus's clients (a UUID).
  HostQueryClient(Bus* bus, std::string client_id);
  ~HostQueryClient();

  // Sends `query` to `host` and returns the body of its reply, or the host's
  // error. Unavailable when no answer comes within `timeout_ms` (host down).
  Result<std::string> Ask(const HostName& host, HostQuery query, int timeout_ms);

 private:
  struct Pending {
    bool done = false;
    HostQueryReply reply;
  };
  void OnReply(const std::string& subject, const std::string& payload);

  Bus* const bus_;
  const std::string prefix_;  // "reply.<client_id>"

  std::mutex mu_;  // protects everything below
  std::condition_variable cv_;
  std::unique_ptr<BusSubscription> replies_;  // subscribed on first Ask
  uint64_t next_ = 0;
  std::map<uint64_t, Pending> pending_;
};

// The reply a host sends for `status` (an error) or `body` (when status is OK).
HostQueryReply MakeHostQueryReply(const Status& status, std::string body = "");

// The last `lines` lines of `text` (all of it for lines < 0), as Nova's compute
// manager tails a console log: split at '\n', keep the last N pieces.
std::string TailLines(const std::string& text, int lines);

}  // namespace chronova
