// The deterministic simulation (docs/architecture.md, "Simulation"): the api
// command layer, the scheduler, the conductor and N compute agents on fake
// hypervisors run on one thread (SimEnv), over an in-memory log and a bus that
// loses, duplicates and reorders, while a seeded workload creates, acts on and
// deletes servers and seeded faults crash and restart agents, take hosts down,
// and fail appends. Then the faults stop, everything comes back, and the
// invariants are checked. FoundationDB's workloads are the model.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace chronova::sim {

struct SimOptions {
  int hosts = 4;
  int clients = 3;  // two of them in one project: their quota checks race
  int schedulers = 2;  // each a process with a Membership
  int conductors = 2;
  int64_t active_us = 120'000'000;  // workload and faults
  int64_t settle_us = 400'000'000;  // then no faults, every agent back
  bool faults = true;
  bool verbose = false;  // chronova's own log lines on stderr
  // After the violations: the events of every instance they name, and the
  // host events about it (a failing seed, explained).
  bool explain = false;
};

struct SimResult {
  uint64_t seed = 0;
  // What went wrong, one line each; empty if every invariant held.
  std::vector<std::string> violations;
  std::vector<std::string> explanation;  // with SimOptions::explain
  // A digest of the whole log: one seed gives the same log every run.
  uint64_t log_digest = 0;
  uint64_t events = 0;
  uint64_t servers = 0;                   // instances requested
  std::map<std::string, uint64_t> ended;  // servers by final vm_state
  uint64_t requests = 0;                  // API calls made
  uint64_t accepted = 0;                  // ... that succeeded
  uint64_t crashes = 0;                   // agent, scheduler and conductor restarts
  uint64_t append_faults = 0;             // appends refused or their answers lost
  uint64_t bus_faults = 0;                // messages dropped, duplicated or delayed
  uint64_t tasks = 0;                     // tasks the simulation ran
  std::string Summary() const;
};

// Runs one seed. `scratch` is a directory for the read models (RocksDB).
SimResult RunSeed(uint64_t seed, const SimOptions& options, const std::string& scratch);

}  // namespace chronova::sim
