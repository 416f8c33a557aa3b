#include "core/env.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <thread>

#include "core/metrics.h"

namespace chronova {
namespace {

class SystemEnv : public Env {
 public:
  SystemEnv() : rng_(std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32)) {}
  Timestamp Now() override {
    auto d = std::chrono::system_clock::now().time_since_epoch();
    return Timestamp{std::chrono::duration_cast<std::chrono::microseconds>(d).count()};
  }
  std::string NewUuid() override {
    std::lock_guard<std::mutex> l(mu_);
    uint64_t hi = rng_(), lo = rng_();
    return FormatUuidV4(hi, lo);
  }
  void SleepForMicros(int64_t micros) override {
    std::this_thread::sleep_for(std::chrono::microseconds(micros));
  }

 private:
  std::mutex mu_;  // protects rng_
  std::mt19937_64 rng_;
};

}  // namespace

// The real timers: one thread, waiting on the steady clock for the earliest.
class Env::TimerThread {
 public:
  TimerThread() : thread_([this] { Run(); }) {}
  ~TimerThread() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  uint64_t Add(int64_t delay_us, std::function<void()> fn) {
    const auto due = std::chrono::steady_clock::now() +
                     std::chrono::microseconds(std::max<int64_t>(delay_us, 0));
    uint64_t id;
    {
      std::lock_guard<std::mutex> l(mu_);
      id = next_id_++;
      due_.emplace(std::make_pair(due, id), std::move(fn));
    }
    cv_.notify_all();
    return id;
  }

  bool Remove(uint64_t id) {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = due_.begin(); it != due_.end(); ++it) {
      if (it->first.second == id) {
        due_.erase(it);
        return true;
      }
    }
    return false;
  }

 private:
  void Run() {
    pthread_setname_np(pthread_self(), "env-timers");
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      if (due_.empty()) {
        cv_.wait(l);
        continue;
      }
      auto first = due_.begin();
      if (std::chrono::steady_clock::now() < first->first.first) {
        cv_.wait_until(l, first->first.first);
        continue;
      }
      std::function<void()> fn = std::move(first->second);
      due_.erase(first);
      l.unlock();
      fn();
      l.lock();
    }
  }

  std::mutex mu_;  // protects due_, next_id_, stop_
  std::condition_variable cv_;
  std::map<std::pair<std::chrono::steady_clock::time_point, uint64_t>,
           std::function<void()>>
      due_;
  uint64_t next_id_ = 1;
  bool stop_ = false;
  std::thread thread_;
};

Env::Env() = default;
Env::~Env() = default;

uint64_t Env::Schedule(int64_t delay_us, std::function<void()> fn) {
  std::call_once(timers_once_, [this] { timers_ = std::make_unique<TimerThread>(); });
  return timers_->Add(delay_us, std::move(fn));
}

bool Env::Cancel(uint64_t id) {
  std::call_once(timers_once_, [this] { timers_ = std::make_unique<TimerThread>(); });
  return timers_->Remove(id);
}

std::thread Env::StartThread(std::string name, std::function<void()> fn) {
  return std::thread([name = std::move(name), fn = std::move(fn)] {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    fn();
  });
}

namespace {

// The real queue: a thread of its own draining a deque.
class ThreadTaskQueue : public TaskQueue {
 public:
  ThreadTaskQueue(Env* env, std::string name) {
    depth_ = MetricsRegistry::Default().AddGauge(
        "chronova_queue_depth",
        "Tasks waiting in the work queues of the roles (and the in-process bus), by "
        "queue kind.",
        {{"queue", name}}, [this] {
          std::lock_guard<std::mutex> l(mu_);
          return static_cast<double>(tasks_.size());
        });
    thread_ = env->StartThread(std::move(name), [this] { Run(); });
  }
  ~ThreadTaskQueue() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
      tasks_.clear();
    }
    cv_.notify_all();
    thread_.join();
  }
  void Post(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stop_) return;
      tasks_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      cv_.wait(l, [&] { return stop_ || !tasks_.empty(); });
      if (stop_) return;
      std::function<void()> fn = std::move(tasks_.front());
      tasks_.pop_front();
      l.unlock();
      fn();
      fn = nullptr;  // what the task holds goes before the next one
      l.lock();
    }
  }

  std::mutex mu_;  // protects tasks_, stop_
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  std::thread thread_;
  GaugeRegistration depth_;  // destroyed before the members it reads
};

}  // namespace

std::unique_ptr<TaskQueue> Env::NewTaskQueue(std::string name) {
  return std::make_unique<ThreadTaskQueue>(this, std::move(name));
}

Logger* Env::logger() {
  static FdLogger* stderr_logger = new FdLogger(2);
  return stderr_logger;
}

void Env::Log(LogLevel level, const LogContext& where, std::string_view message) {
  logger()->Log(Now(), level, where, message);
}

Env* Env::Default() {
  static Env* env = new SystemEnv();
  return env;
}

FakeEnv::FakeEnv(uint64_t seed, Timestamp start)
    : now_micros_(start.micros), target_(start.micros), rng_(seed) {}

void FakeEnv::AdvanceMicros(int64_t micros) {
  // Advances add up, whichever threads make them (`target_`), and the clock
  // only ever moves forward (RaiseTo), also while timers run on the way.
  const int64_t until = target_.fetch_add(micros) + micros;
  while (true) {
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> l(timers_mu_);
      auto first = timers_.begin();
      if (first == timers_.end() || first->first.first > until) break;
      RaiseTo(first->first.first);
      fn = std::move(first->second);
      timers_.erase(first);
    }
    fn();
  }
  RaiseTo(until);
}

void FakeEnv::RaiseTo(int64_t micros) {
  int64_t now = now_micros_.load();
  while (now < micros && !now_micros_.compare_exchange_weak(now, micros)) {
  }
}

uint64_t FakeEnv::Schedule(int64_t delay_us, std::function<void()> fn) {
  std::lock_guard<std::mutex> l(timers_mu_);
  const uint64_t id = next_timer_++;
  timers_.emplace(std::make_pair(now_micros_.load() + std::max<int64_t>(delay_us, 0), id),
                  std::move(fn));
  return id;
}

bool FakeEnv::NextTimer(Timestamp* due) {
  std::lock_guard<std::mutex> l(timers_mu_);
  if (timers_.empty()) return false;
  *due = Timestamp{timers_.begin()->first.first};
  return true;
}

bool FakeEnv::Cancel(uint64_t id) {
  std::lock_guard<std::mutex> l(timers_mu_);
  for (auto it = timers_.begin(); it != timers_.end(); ++it) {
    if (it->first.second == id) {
      timers_.erase(it);
      return true;
    }
  }
  return false;
}

std::string FakeEnv::NewUuid() {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t hi = rng_(), lo = rng_();
  return FormatUuidV4(hi, lo);
}

std::string FormatUuidV4(uint64_t hi, uint64_t lo) {
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF),
                static_cast<unsigned>(hi & 0xFFFF), static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return buf;
}

bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                 (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace chronova
