#include "eventstore/tailing_subscription.h"

#include <atomic>
#include <thread>

namespace chronova {

void HeadNotifier::Publish(Seq head) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (head > head_) head_ = head;
    ++generation_;
  }
  cv_.notify_all();
}

void HeadNotifier::WakeAll() {
  {
    std::lock_guard<std::mutex> l(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

Seq HeadNotifier::WaitBeyond(Seq seq, int timeout_ms) {
  std::unique_lock<std::mutex> l(mu_);
  uint64_t gen = generation_;
  cv_.wait_for(l, std::chrono::milliseconds(timeout_ms),
               [&] { return head_ > seq || generation_ != gen; });
  return head_;
}

Seq HeadNotifier::head() const {
  std::lock_guard<std::mutex> l(mu_);
  return head_;
}

namespace {

constexpr size_t kBatchSize = 4096;

class TailingSubscription : public Subscription {
 public:
  TailingSubscription(EventLog* log, HeadNotifier* notifier, Seq from,
                      SubscribeHandler handler)
      : log_(log),
        notifier_(notifier),
        handler_(std::move(handler)),
        position_(from.value() == 0 ? 0 : from.value() - 1) {
    thread_ = std::thread([this] { Run(); });
  }
  ~TailingSubscription() override {
    stop_ = true;
    notifier_->WakeAll();
    thread_.join();
  }
  Status status() const override {
    std::lock_guard<std::mutex> l(mu_);
    return status_;
  }
  Seq position() const override { return Seq(position_.load()); }

 private:
  void Run() {
    while (!stop_) {
      Result<std::vector<Envelope>> batch = log_->Read(Seq(position_ + 1), kBatchSize);
      if (!batch.ok()) return Fail(batch.status());
      if (batch->empty()) {
        notifier_->WaitBeyond(Seq(position_), 200);
        continue;
      }
      Status st = handler_(*batch);
      if (!st.ok()) return Fail(st);
      position_ = batch->back().seq.value();
    }
  }
  void Fail(const Status& st) {
    std::lock_guard<std::mutex> l(mu_);
    status_ = st;
  }

  EventLog* const log_;
  HeadNotifier* const notifier_;
  const SubscribeHandler handler_;
  std::atomic<uint64_t> position_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;  // protects status_
  Status status_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<Subscription> StartTailingSubscription(EventLog* log,
                                                       HeadNotifier* notifier, Seq from,
                                                       SubscribeHandler handler) {
  return std::make_unique<TailingSubscription>(log, notifier, from, std::move(handler));
}

}  // namespace chronova
