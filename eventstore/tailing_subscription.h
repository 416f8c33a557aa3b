// The Subscribe half of an EventLog, shared by both implementations: a thread that
// reads batches from the log and, at the head, sleeps until the head moves.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>

#include "eventstore/event_log.h"

namespace chronova {

// Tells waiters that the readable head of a log moved. Thread-safe.
class HeadNotifier {
 public:
  explicit HeadNotifier(Seq head) : head_(head) {}
  // Called after events up to `head` became readable.
  void Publish(Seq head);
  // Wakes every waiter (a subscription is stopping).
  void WakeAll();
  // Blocks until the head is beyond `seq`, WakeAll is called or `timeout_ms`
  // passes. Returns the head.
  Seq WaitBeyond(Seq seq, int timeout_ms);
  Seq head() const;

 private:
  mutable std::mutex mu_;  // protects head_, generation_
  std::condition_variable cv_;
  Seq head_;
  uint64_t generation_ = 0;
};

// Starts a subscription that reads `log` from `from` onward.
// REQUIRES: `log` and `notifier` outlive the subscription.
std::unique_ptr<Subscription> StartTailingSubscription(EventLog* log,
                                                       HeadNotifier* notifier, Seq from,
                                                       SubscribeHandler handler);

}  // namespace chronova
