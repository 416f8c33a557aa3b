#include "tests/sim/sim_env.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace chronova::sim {

class SimEnv::Queue : public TaskQueue {
 public:
  Queue(SimEnv* env, std::string name) : env_(env), name_(std::move(name)) {
    env_->queues_.push_back(this);
  }
  ~Queue() override {
    auto& q = env_->queues_;
    q.erase(std::remove(q.begin(), q.end(), this), q.end());
    if (std::find(env_->running_.begin(), env_->running_.end(), this) !=
        env_->running_.end()) {
      std::fprintf(stderr, "sim: queue %s destroyed by its own task\n", name_.c_str());
      std::abort();
    }
  }
  void Post(std::function<void()> fn) override { tasks_.push_back(std::move(fn)); }
  bool runnable() const { return !tasks_.empty(); }
  std::function<void()> Take() {
    std::function<void()> fn = std::move(tasks_.front());
    tasks_.pop_front();
    return fn;
  }

 private:
  SimEnv* const env_;
  const std::string name_;
  std::deque<std::function<void()>> tasks_;
};

SimEnv::SimEnv(uint64_t seed, int64_t max_task_us)
    : FakeEnv(seed), max_task_us_(max_task_us), rng_(seed * 0x9E3779B97F4A7C15ull + 1) {}

SimEnv::~SimEnv() = default;

std::unique_ptr<TaskQueue> SimEnv::NewTaskQueue(std::string name) {
  return std::make_unique<Queue>(this, std::move(name));
}

std::thread SimEnv::StartThread(std::string name, std::function<void()> fn) {
  (void)fn;
  std::fprintf(stderr, "sim: a thread was started (%s); the simulation runs none\n",
               name.c_str());
  std::abort();
}

bool SimEnv::RunOneTask() {
  // The runnable queues: not one whose task is running (a task waiting in
  // RunUntil keeps its queue serial).
  std::vector<Queue*> ready;
  for (Queue* q : queues_) {
    if (q->runnable() &&
        std::find(running_.begin(), running_.end(), q) == running_.end()) {
      ready.push_back(q);
    }
  }
  if (ready.empty()) return false;
  Queue* q = ready[Uniform(0, static_cast<int64_t>(ready.size()) - 1)];
  std::function<void()> fn = q->Take();
  running_.push_back(q);
  fn();
  fn = nullptr;
  // The queue may be gone (its owner was destroyed by the task): compare only.
  running_.erase(std::find(running_.begin(), running_.end(), q));
  ++tasks_run_;
  if (max_task_us_ > 0) AdvanceMicros(Uniform(0, max_task_us_));
  return true;
}

void SimEnv::AdvanceIdle(int64_t limit_us) {
  Timestamp due;
  const int64_t now = Now().micros;
  if (NextTimer(&due) && due.micros - now <= limit_us) {
    AdvanceMicros(std::max<int64_t>(due.micros - now, 0));
  } else {
    AdvanceMicros(limit_us);
  }
}

void SimEnv::RunFor(int64_t micros) {
  const int64_t until = Now().micros + micros;
  while (Now().micros < until) {
    if (!RunOneTask()) AdvanceIdle(until - Now().micros);
  }
}

std::optional<bool> SimEnv::RunUntil(const std::function<bool()>& done,
                                     int64_t timeout_us) {
  const int64_t until = Now().micros + timeout_us;
  while (!done()) {
    if (Now().micros >= until) return false;
    if (!RunOneTask()) AdvanceIdle(until - Now().micros);
  }
  return true;
}

}  // namespace chronova::sim
