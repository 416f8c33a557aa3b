#include "eventstore/tailing_subscription.h"

#include <algorithm>
#include <atomic>

#include "core/periodic_task.h"

namespace chronova {

void HeadNotifier::Publish(Seq head) {
  std::lock_guard<std::mutex> l(mu_);
  if (head <= head_) return;
  head_ = head;
  for (const auto& [id, listener] : listeners_) listener();
}

Seq HeadNotifier::head() const {
  std::lock_guard<std::mutex> l(mu_);
  return head_;
}

uint64_t HeadNotifier::AddListener(Listener listener) {
  std::lock_guard<std::mutex> l(mu_);
  const uint64_t id = next_listener_++;
  listeners_.emplace_back(id, std::move(listener));
  return id;
}

void HeadNotifier::RemoveListener(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  std::erase_if(listeners_, [id](const auto& entry) { return entry.first == id; });
}

namespace {

constexpr size_t kBatchSize = 4096;

class TailingSubscription : public Subscription {
 public:
  TailingSubscription(EventLog* log, HeadNotifier* notifier, Seq from,
                      SubscribeHandler handler, Env* env, int64_t poll_us)
      : log_(log),
        notifier_(notifier),
        handler_(std::move(handler)),
        position_(from.value() == 0 ? 0 : from.value() - 1),
        queue_(env->NewTaskQueue("log-tail")) {
    listener_ = notifier_->AddListener([this] { Wake(); });
    if (poll_us > 0)
      poll_ = std::make_unique<PeriodicTask>(env, poll_us, [this] { Wake(); });
    Wake();
  }
  // queue_ goes first (declared last), dropping a read not begun and waiting
  // for one running; meanwhile it stays valid for that read's Wake.
  ~TailingSubscription() override {
    notifier_->RemoveListener(listener_);  // no Wake from appends after this
    poll_.reset();                         // nor from the poll
    stopping_ = true;
  }
  Status status() const override {
    std::lock_guard<std::mutex> l(mu_);
    return status_;
  }
  Seq position() const override { return Seq(position_.load()); }

 private:
  // One read is queued at a time: a burst of appends costs one task.
  void Wake() {
    if (stopping_) return;
    if (!read_queued_.exchange(true)) queue_->Post([this] { Read(); });
  }
  void Read() {
    read_queued_ = false;
    if (!status().ok()) return;
    Result<std::vector<Envelope>> batch = log_->Read(Seq(position_ + 1), kBatchSize);
    if (!batch.ok()) return Fail(batch.status());
    // At the head: the next append wakes us (it moved the head after our
    // read began, so its Wake comes after the flag was cleared above).
    if (batch->empty()) return;
    Status st = handler_(*batch);
    if (!st.ok()) return Fail(st);
    position_ = batch->back().seq.value();
    Wake();  // there may be more
  }
  void Fail(const Status& st) {
    std::lock_guard<std::mutex> l(mu_);
    status_ = st;
  }

  EventLog* const log_;
  HeadNotifier* const notifier_;
  const SubscribeHandler handler_;
  std::atomic<uint64_t> position_;
  std::atomic<bool> read_queued_{false};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;  // protects status_
  Status status_;
  uint64_t listener_ = 0;
  std::unique_ptr<PeriodicTask> poll_;
  const std::unique_ptr<TaskQueue> queue_;  // last: destroyed first
};

}  // namespace

std::unique_ptr<Subscription> StartTailingSubscription(EventLog* log,
                                                       HeadNotifier* notifier, Seq from,
                                                       SubscribeHandler handler, Env* env,
                                                       int64_t poll_us) {
  return std::make_unique<TailingSubscription>(log, notifier, from, std::move(handler),
                                               env, poll_us);
}

}  // namespace chronova
