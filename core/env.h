// Env: the outside world seen by chronova's logic — the clock, fresh identifiers,
// sleeping. Passed in through options so tests and simulation can replace it
// (FakeEnv) and run deterministically from one seed.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "core/types.h"

namespace chronova {

class Env {
 public:
  virtual ~Env() = default;
  // Wall-clock time, UTC. Thread-safe.
  virtual Timestamp Now() = 0;
  // A random (version 4) UUID, lower-case with dashes. Thread-safe.
  virtual std::string NewUuid() = 0;
  // Blocks the calling thread (a FakeEnv advances its clock instead).
  virtual void SleepForMicros(int64_t micros) = 0;

  // The process-wide real environment. Never destroyed.
  static Env* Default();
};

// A deterministic Env: the clock moves only when told (or when slept on), and
// UUIDs come from a seeded generator. Thread-safe.
class FakeEnv : public Env {
 public:
  explicit FakeEnv(uint64_t seed, Timestamp start = Timestamp{1767225600000000});
  Timestamp Now() override { return Timestamp{now_micros_.load()}; }
  std::string NewUuid() override;
  void SleepForMicros(int64_t micros) override { AdvanceMicros(micros); }
  void AdvanceMicros(int64_t micros) { now_micros_ += micros; }

 private:
  std::atomic<int64_t> now_micros_;
  std::mutex mu_;  // protects rng_
  std::mt19937_64 rng_;
};

// Formats 128 random bits as a version-4 UUID.
std::string FormatUuidV4(uint64_t hi, uint64_t lo);
// True for the canonical 8-4-4-4-12 hex form (Nova accepts either case).
bool IsUuid(const std::string& s);

}  // namespace chronova
