// Env: the outside world seen by chronova's logic — the clock, fresh identifiers,
// sleeping, threads and the log (LevelDB's Env is the model). Passed in through
// options so tests and simulation can replace it (FakeEnv, EnvWrapper) and run
// deterministically from one seed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "core/logger.h"
#include "core/types.h"

namespace chronova {

// A serial queue of tasks from an Env: tasks run one at a time, in the order
// posted, never on the poster's thread (Chromium's SequencedTaskRunner). The
// unit of concurrency of every agent: what runs on one queue needs no lock
// against itself, and a simulation (tests/sim/) interleaves queues from a seed.
// Destroying the queue drops the tasks that have not started and waits for the
// one running; a task must not destroy its own queue.
class TaskQueue {
 public:
  virtual ~TaskQueue() = default;
  // Thread-safe; never blocks for long and never runs `fn` itself.
  virtual void Post(std::function<void()> fn) = 0;
};

class Env {
 public:
  Env();
  virtual ~Env();
  // Wall-clock time, UTC. Thread-safe.
  virtual Timestamp Now() = 0;
  // A random (version 4) UUID, lower-case with dashes. Thread-safe.
  virtual std::string NewUuid() = 0;
  // Blocks the calling thread (a FakeEnv advances its clock instead).
  virtual void SleepForMicros(int64_t micros) = 0;
  // Starts `fn` on a new thread named `name` (Linux shows 15 characters of it
  // in ps and gdb). The caller joins it.
  virtual std::thread StartThread(std::string name, std::function<void()> fn);
  // Where code running in this environment logs. Never null; thread-safe.
  // Default: JSON lines on stderr (FdLogger).
  virtual Logger* logger();
  // Runs `fn` once, `delay_us` or more from now, on a timer thread of the Env's
  // (never on the caller's, and one at a time: `fn` must not block for long).
  // Returns an id for Cancel. A FakeEnv runs it when its clock passes the time.
  virtual uint64_t Schedule(int64_t delay_us, std::function<void()> fn);
  // Cancels a scheduled fn that has not started; true if it will not run.
  virtual bool Cancel(uint64_t id);
  // A new serial queue named `name` (a real Env: a thread of its own, named so).
  virtual std::unique_ptr<TaskQueue> NewTaskQueue(std::string name);
  // Called by code about to block until `done()` holds, for at most
  // `timeout_us`: a simulation, where nothing else would run meanwhile, runs
  // other queues' tasks and timers here until `done()` or the timeout, and
  // returns whether `done()`. A real Env returns nullopt: the caller blocks its
  // own way.
  virtual std::optional<bool> RunUntil(const std::function<bool()>& done,
                                       int64_t timeout_us) {
    (void)done;
    (void)timeout_us;
    return std::nullopt;
  }

  // One log line at `level`, stamped with Now().
  void Log(LogLevel level, const LogContext& where, std::string_view message);
  void Warn(const LogContext& where, std::string_view message) {
    Log(LogLevel::kWarning, where, message);
  }
  void Info(const LogContext& where, std::string_view message) {
    Log(LogLevel::kInfo, where, message);
  }

  // The process-wide real environment. Never destroyed.
  static Env* Default();

 private:
  class TimerThread;
  std::once_flag timers_once_;
  std::unique_ptr<TimerThread> timers_;  // created by the first Schedule
};

// An Env that forwards every call to another; subclasses override what they
// change (LevelDB's EnvWrapper).
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }
  Timestamp Now() override { return target_->Now(); }
  std::string NewUuid() override { return target_->NewUuid(); }
  void SleepForMicros(int64_t micros) override { target_->SleepForMicros(micros); }
  std::thread StartThread(std::string name, std::function<void()> fn) override {
    return target_->StartThread(std::move(name), std::move(fn));
  }
  Logger* logger() override { return target_->logger(); }
  std::unique_ptr<TaskQueue> NewTaskQueue(std::string name) override {
    return target_->NewTaskQueue(std::move(name));
  }
  std::optional<bool> RunUntil(const std::function<bool()>& done,
                               int64_t timeout_us) override {
    return target_->RunUntil(done, timeout_us);
  }
  uint64_t Schedule(int64_t delay_us, std::function<void()> fn) override {
    return target_->Schedule(delay_us, std::move(fn));
  }
  bool Cancel(uint64_t id) override { return target_->Cancel(id); }

 private:
  Env* const target_;
};

// A deterministic Env: the clock moves only when told (or when slept on), UUIDs
// come from a seeded generator, and scheduled functions run, in the order of
// their times (then of scheduling), on the thread that moves the clock past
// them. Thread-safe.
class FakeEnv : public Env {
 public:
  explicit FakeEnv(uint64_t seed, Timestamp start = Timestamp{1767225600000000});
  Timestamp Now() override { return Timestamp{now_micros_.load()}; }
  std::string NewUuid() override;
  void SleepForMicros(int64_t micros) override { AdvanceMicros(micros); }
  // Moves the clock, running every scheduled function that falls due on the way
  // (each with the clock at its time).
  void AdvanceMicros(int64_t micros);
  uint64_t Schedule(int64_t delay_us, std::function<void()> fn) override;
  bool Cancel(uint64_t id) override;
  // When the earliest scheduled function falls due; false if none is scheduled.
  bool NextTimer(Timestamp* due);
  // Lines go to `logger` (borrowed) instead of stderr.
  void set_logger(Logger* logger) { logger_ = logger; }
  Logger* logger() override {
    Logger* l = logger_.load();
    return l != nullptr ? l : Env::logger();
  }

 private:
  std::atomic<Logger*> logger_{nullptr};
  std::mutex timers_mu_;  // protects timers_, next_timer_
  // (due, id) -> fn: ids grow, so equal times run in the order scheduled.
  std::map<std::pair<int64_t, uint64_t>, std::function<void()>> timers_;
  uint64_t next_timer_ = 1;
  // Moves the clock to `micros` unless it is there or later already.
  void RaiseTo(int64_t micros);

  std::atomic<int64_t> now_micros_;
  std::atomic<int64_t> target_;  // the sum of every advance: where the clock goes
  std::mutex mu_;                // protects rng_
  std::mt19937_64 rng_;
};

// Formats 128 random bits as a version-4 UUID.
std::string FormatUuidV4(uint64_t hi, uint64_t lo);
// True for the canonical 8-4-4-4-12 hex form (Nova accepts either case).
bool IsUuid(const std::string& s);

}  // namespace chronova
