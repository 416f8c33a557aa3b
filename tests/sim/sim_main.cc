// build/sim: the deterministic simulation's campaign runner.
//
//   build/sim --seeds 200            seeds 1..200 (what CI runs)
//   build/sim --seeds 10000 --from 5000
//   build/sim --seed 1234 --verbose  one seed again, with chronova's log lines
//
// Exits 1 if any seed broke an invariant, after listing them (each replays
// with --seed N), and prints the rate in seeds per second.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/sim/simulation.h"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: sim (--seeds N [--from S] | --seed N) [--verbose] [--explain] "
               "[--no-faults]\n"
               "           [--hosts N] [--active-s S] [--settle-s S] [--twice]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t from = 1, count = 0;
  bool twice = false;
  chronova::sim::SimOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> uint64_t {
      if (i + 1 >= argc) std::exit(Usage());
      return std::strtoull(argv[++i], nullptr, 10);
    };
    if (a == "--seeds") {
      count = next();
    } else if (a == "--from") {
      from = next();
    } else if (a == "--seed") {
      from = next();
      count = 1;
    } else if (a == "--verbose") {
      options.verbose = true;
    } else if (a == "--explain") {
      options.explain = true;
    } else if (a == "--no-faults") {
      options.faults = false;
    } else if (a == "--hosts") {
      options.hosts = static_cast<int>(next());
    } else if (a == "--active-s") {
      options.active_us = static_cast<int64_t>(next()) * 1000000;
    } else if (a == "--settle-s") {
      options.settle_us = static_cast<int64_t>(next()) * 1000000;
    } else if (a == "--twice") {
      twice = true;  // each seed twice: the two logs must be the same
    } else {
      return Usage();
    }
  }
  if (count == 0 || options.hosts < 1) return Usage();
  const std::string scratch =
      (std::getenv("TMPDIR") ? std::string(std::getenv("TMPDIR")) : std::string("/tmp")) +
      "/chronova-sim-" + std::to_string(getpid());
  const auto start = std::chrono::steady_clock::now();
  uint64_t failed = 0;
  for (uint64_t seed = from; seed < from + count; ++seed) {
    chronova::sim::SimResult r = chronova::sim::RunSeed(seed, options, scratch);
    if (twice) {
      chronova::sim::SimResult again = chronova::sim::RunSeed(seed, options, scratch);
      if (again.log_digest != r.log_digest) {
        r.violations.push_back("not deterministic: a second run wrote another log");
      }
    }
    if (count == 1 || !r.violations.empty()) std::printf("%s\n", r.Summary().c_str());
    for (const std::string& v : r.violations) std::printf("  %s\n", v.c_str());
    for (const std::string& e : r.explanation) std::printf("    %s\n", e.c_str());
    if (!r.violations.empty()) ++failed;
    std::fflush(stdout);
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%llu seeds from %llu: %llu failed; %.1f s, %.2f seeds/s\n",
              static_cast<unsigned long long>(count),
              static_cast<unsigned long long>(from),
              static_cast<unsigned long long>(failed), secs, count / secs);
  return failed == 0 ? 0 : 1;
}
