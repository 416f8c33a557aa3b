// SimEnv: the deterministic world of the simulation (tests/sim/). One thread
// runs everything: every TaskQueue of the Env is a queue of tasks that the
// simulation's loop picks from at random (from the seed), and the clock moves
// only when nothing is runnable (to the next timer) or a little after each task
// (work takes time). Threads cannot be started: code that starts one has not
// been built on the Env's queues and would run outside the seed's control.
//
// FoundationDB's simulator is the model: given the seed, a run is the same run
// every time, so a failure found at seed N replays with --seed N.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/env.h"

namespace chronova::sim {

class SimEnv : public FakeEnv {
 public:
  // `max_task_us`: each task run moves the clock by 0..max_task_us.
  explicit SimEnv(uint64_t seed, int64_t max_task_us = 2000);
  ~SimEnv() override;

  std::unique_ptr<TaskQueue> NewTaskQueue(std::string name) override;
  // Aborts: everything in the simulation runs on queues.
  std::thread StartThread(std::string name, std::function<void()> fn) override;
  // Runs other queues' tasks and timers (never the calling task's queue) until
  // `done()` or `timeout_us` of simulated time.
  std::optional<bool> RunUntil(const std::function<bool()>& done,
                               int64_t timeout_us) override;

  // Runs tasks and timers until the clock has moved `micros`.
  void RunFor(int64_t micros);
  // Runs one step: a runnable task if there is one (true), else nothing.
  bool RunOneTask();

  // The simulation's randomness (faults, workload, interleaving): one seeded
  // generator, used only on the simulation's thread.
  std::mt19937_64& rng() { return rng_; }
  // True with probability p.
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  // Uniform in [lo, hi].
  int64_t Uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }

  uint64_t tasks_run() const { return tasks_run_; }

 private:
  class Queue;
  friend class Queue;
  // Moves the clock to the next timer (running it) or by `limit_us`, whichever
  // comes first.
  void AdvanceIdle(int64_t limit_us);

  const int64_t max_task_us_;
  std::mt19937_64 rng_;
  std::vector<Queue*> queues_;   // every live queue, in creation order
  std::vector<Queue*> running_;  // the queues whose task is running (nested)
  uint64_t tasks_run_ = 0;
};

}  // namespace chronova::sim
