// `chronovactl replay`: rebuilds every read model from seq 1 into a fresh store,
// fast (bulk mode: records folded in memory, written in sorted batches), with a
// progress line; `--verify` compares the rebuild with the daemon's live read
// models and names the first divergence (projection, key, the seq that wrote it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "eventstore/event_log.h"

namespace chronova {

struct ReplayArgs {
  EventLog* log = nullptr;
  // The daemon's live read models (<state>/projections), for --verify; empty if
  // there are none (a JetStream log read from elsewhere).
  std::string live_store;
  std::string into;     // where to build; must not hold a store yet
  std::string scratch;  // for the live store's secondary files
  bool verify = false;
  // --max-memory: at most this many bytes of records kept in memory (0: half the
  // memory available).
  uint64_t max_memory = 0;
};

// "512M", "4G", "100000": a size in bytes (K, M, G, T: powers of 1024).
// InvalidArgument for anything else, or 0.
Result<uint64_t> ParseByteSize(std::string_view text);

// Returns the process exit code (0 ok/identical, 1 failure or divergence).
int RunReplay(const ReplayArgs& args);

}  // namespace chronova
