// FaultyBus: a Bus in front of another that loses, duplicates, delays and so
// reorders what is published through it, from the simulation's seed. The bus
// contract (agents/bus.h) promises at most once and nothing about order
// across publishes; this is the worst it allows, and more (duplicates).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "agents/bus.h"
#include "tests/sim/sim_env.h"

namespace chronova::sim {

struct BusFaults {
  double drop = 0;       // a message is lost
  double duplicate = 0;  // ... delivered twice
  double delay = 0;      // ... delivered after a random delay (so out of order)
  int64_t max_delay_us = 3000000;
};

class FaultyBus : public Bus {
 public:
  // Borrows both.
  FaultyBus(Bus* inner, SimEnv* env) : inner_(inner), env_(env) {}

  // Faults from now on (BusFaults{}: none).
  void set_faults(const BusFaults& f) { faults_ = f; }

  Status Publish(const std::string& subject, const std::string& payload) override;
  Result<std::unique_ptr<BusSubscription>> Subscribe(const std::string& subject,
                                                     BusHandler handler) override {
    return inner_->Subscribe(subject, std::move(handler));
  }

  uint64_t dropped() const { return dropped_; }
  uint64_t duplicated() const { return duplicated_; }
  uint64_t delayed() const { return delayed_; }

 private:
  void Deliver(const std::string& subject, const std::string& payload);

  Bus* const inner_;
  SimEnv* const env_;
  BusFaults faults_;
  uint64_t dropped_ = 0, duplicated_ = 0, delayed_ = 0;
};

// One simulated process's connection to the bus: cut it (Sever) before the
// process's objects are destroyed and nothing they say while stopping gets
// out, as with kill -9 (a Membership's leaving, a last report).
class ProcessBus : public Bus {
 public:
  explicit ProcessBus(Bus* inner) : inner_(inner) {}
  void Sever() { severed_ = true; }
  Status Publish(const std::string& subject, const std::string& payload) override {
    if (severed_) return Status::Unavailable("simulated: the process is gone");
    return inner_->Publish(subject, payload);
  }
  Result<std::unique_ptr<BusSubscription>> Subscribe(const std::string& subject,
                                                     BusHandler handler) override {
    return inner_->Subscribe(subject, std::move(handler));
  }

 private:
  Bus* const inner_;
  bool severed_ = false;
};

}  // namespace chronova::sim
