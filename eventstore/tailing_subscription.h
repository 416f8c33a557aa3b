// The Subscribe half of the RocksDB and memory logs: a task on a queue of the
// Env's reads batches from the log and hands them to the handler; at the head it
// waits for the head to move (HeadNotifier) before it reads again. On a real Env
// the queue is a thread of its own; in the simulation it is one queue among the
// others it interleaves.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "core/env.h"
#include "eventstore/event_log.h"

namespace chronova {

// Tells listeners that the readable head of a log moved. Thread-safe.
class HeadNotifier {
 public:
  explicit HeadNotifier(Seq head) : head_(head) {}
  // Called after events up to `head` became readable: if the head grew, every
  // listener is called (with a lock held: a listener only posts a task, never
  // calls back).
  void Publish(Seq head);
  Seq head() const;

  using Listener = std::function<void()>;
  // Returns an id for RemoveListener; once that returns, `listener` is not
  // called again.
  uint64_t AddListener(Listener listener);
  void RemoveListener(uint64_t id);

 private:
  mutable std::mutex mu_;  // protects everything below
  Seq head_;
  uint64_t next_listener_ = 1;
  std::vector<std::pair<uint64_t, Listener>> listeners_;
};

// Starts a subscription that reads `log` from `from` onward, on a queue of
// `env`'s. With `poll_us` > 0 it also reads every poll_us, for a log whose
// head can move without its notifier knowing (a RocksDB secondary follows
// another process's writes).
// REQUIRES: `log` and `notifier` outlive the subscription.
std::unique_ptr<Subscription> StartTailingSubscription(EventLog* log,
                                                       HeadNotifier* notifier, Seq from,
                                                       SubscribeHandler handler,
                                                       Env* env = Env::Default(),
                                                       int64_t poll_us = 0);

}  // namespace chronova
