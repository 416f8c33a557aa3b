#include "core/periodic_task.h"

namespace chronova {

PeriodicTask::PeriodicTask(Env* env, int64_t interval_us, std::function<void()> fn,
                           Phase phase, int64_t offset_us)
    : env_(env),
      interval_us_(interval_us),
      fn_(std::move(fn)),
      phase_(phase),
      offset_us_(offset_us) {
  std::lock_guard<std::mutex> l(mu_);
  Arm();
}

void PeriodicTask::Arm() {
  armed_ = true;
  int64_t delay = interval_us_;
  if (phase_ == Phase::kAligned) {
    const int64_t since = env_->Now().micros - offset_us_;
    delay = interval_us_ - ((since % interval_us_) + interval_us_) % interval_us_;
  }
  timer_ = env_->Schedule(delay, [this] { Fire(); });
}

void PeriodicTask::Fire() {
  {
    std::lock_guard<std::mutex> l(mu_);
    armed_ = false;
    if (stopped_) {
      idle_.notify_all();
      return;
    }
    running_ = true;
  }
  fn_();
  std::lock_guard<std::mutex> l(mu_);
  running_ = false;
  if (!stopped_) Arm();
  idle_.notify_all();
}

void PeriodicTask::Stop() {
  std::unique_lock<std::mutex> l(mu_);
  stopped_ = true;
  // A timer already taken off the Env's queue calls Fire still: wait for it,
  // so that nothing touches this object once Stop returns.
  if (armed_ && env_->Cancel(timer_)) armed_ = false;
  idle_.wait(l, [&] { return !armed_ && !running_; });
}

}  // namespace chronova
