// PeriodicTask: a function run every interval on its Env's timers (Env::Schedule)
// until the task stops — heartbeats, announcements, sweeps. Because the time
// comes from the Env, a FakeEnv (or the simulation) runs the task when its clock
// passes each interval, and a test need not wait on the real clock.
//
//   PeriodicTask heartbeat(env, 2'000'000, [&] { SendHeartbeat(); });
//   ...
//   heartbeat.Stop();  // no run after this returns
//
// Every task of an Env shares its timer thread: `fn` must be short and must not
// block (a publish, a heartbeat); longer work belongs on a thread of its own.
//
// Thread-safety: Stop may be called from any thread but not from `fn` itself.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

#include "core/env.h"

namespace chronova {

class PeriodicTask {
 public:
  // When the runs fall.
  enum class Phase {
    kFromNow,  // the first run one interval from now, each next one an
               // interval after the last ended
    kAligned,  // at the Env clock's multiples of the interval, plus
               // `offset_us`: the aligned tasks of one interval and offset run
               // in the same tick (a thousand simulated hosts' heartbeats wake
               // the process once, not a thousand times); another offset
               // (another machine's) keeps them from bursting together
  };
  // Runs fn every `interval_us`. REQUIRES: interval_us > 0.
  PeriodicTask(Env* env, int64_t interval_us, std::function<void()> fn,
               Phase phase = Phase::kFromNow, int64_t offset_us = 0);
  ~PeriodicTask() { Stop(); }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  // Cancels the next run and waits for one in progress. Idempotent.
  void Stop();

 private:
  void Arm();  // REQUIRES: mu_ held
  void Fire();

  Env* const env_;
  const int64_t interval_us_;
  const std::function<void()> fn_;
  const Phase phase_;
  const int64_t offset_us_;
  std::mutex mu_;  // protects everything below
  std::condition_variable idle_;
  uint64_t timer_ = 0;
  bool armed_ = false;    // a run is scheduled (or taken off the queue, not yet begun)
  bool running_ = false;  // fn_ runs
  bool stopped_ = false;
};

}  // namespace chronova
