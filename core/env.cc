#include "core/env.h"

#include <chrono>
#include <cstdio>
#include <thread>

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

Env* Env::Default() {
  static Env* env = new SystemEnv();
  return env;
}

FakeEnv::FakeEnv(uint64_t seed, Timestamp start)
    : now_micros_(start.micros), rng_(seed) {}

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
