// `chronovactl replay`: rebuilds every read model from seq 1 into a fresh store,
// fast (bulk mode: records folded in memory, written in sorted batches), with a
// progress line; `--verify` compares the rebuild with the daemon's live read
// models and names the first divergence (projection, key, the seq that wrote it).
#pragma once

#include <string>

#include "eventstore/event_log.h"

namespace chronova {

struct ReplayArgs {
  EventLog* log = nullptr;
  // The daemon's live read models (<state>/projections), for --verify; empty if
  // there are none (a JetStream log read from elsewhere).
  std::string live_store;
  std::string into;          // where to build; must not hold a store yet
  std::string scratch;       // for the live store's secondary files
  bool verify = false;
};

// Returns the process exit code (0 ok/identical, 1 failure or divergence).
int RunReplay(const ReplayArgs& args);

}  // namespace chronova
