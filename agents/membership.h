// Membership: the live instances of one role (schedulers, or conductors), so
// that several of them split the work by key instead of all doing all of it.
//
// Every member announces itself on the bus (subjects::Member(role)) every
// announce_interval_us, and its leaving when it stops; a member not heard
// from for expiry_us has left too (killed). Each
// member ranks the live ids (sorted) and owns the keys whose stable hash,
// modulo the number of live members, is its rank. Members that see the same
// set agree on every key's owner; while a member joins or leaves their views
// may differ for up to expiry_us, so a key may briefly have two owners or
// none. Users therefore make duplicated work harmless (expected versions and
// idempotency keys on every append) and pick up ownerless work in a periodic
// sweep (docs/deployment.md, "Several schedulers and conductors").
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agents/bus.h"
#include "core/env.h"
#include "core/periodic_task.h"

namespace chronova {

struct MembershipOptions {
  Env* env = Env::Default();
  std::string role;  // "scheduler", "conductor"
  std::string id;    // unique among the role's members (host name + pid)
  int64_t announce_interval_us = 1000000;
  int64_t expiry_us = 3500000;
};

class Membership {
 public:
  // Borrows `bus`.
  Membership(Bus* bus, MembershipOptions options);
  ~Membership();

  // Subscribes to the role's announcements and announces this member: call it
  // once the role is ready for work.
  Status Start();
  // Announces that this member leaves (peers take its keys at once) and stops.
  void Stop();

  // True if this member owns `key` in its current view.
  bool Owns(std::string_view key) const;
  // The live members' ids, sorted (always includes this member).
  std::vector<std::string> Live() const;

  // FNV-1a: the same on every host and build, unlike std::hash.
  static uint64_t StableHash(std::string_view key);

 private:
  void Announce();

  Bus* const bus_;
  const MembershipOptions options_;
  mutable std::mutex mu_;                  // protects seen_, stop_
  std::map<std::string, Timestamp> seen_;  // by our clock
  bool stop_ = false;
  std::unique_ptr<PeriodicTask> announcer_;  // every announce_interval_us
  std::unique_ptr<BusSubscription> subscription_;
};

}  // namespace chronova
