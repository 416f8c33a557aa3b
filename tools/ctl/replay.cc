#include "tools/ctl/replay.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "projections/divergence.h"
#include "projections/projection_runner.h"
#include "projections/read_models.h"

namespace chronova {
namespace {

using Clock = std::chrono::steady_clock;

int Fail(const Status& st) {
  std::fprintf(stderr, "chronovactl replay: %s\n", st.ToString().c_str());
  return 1;
}

// Bytes of memory available now: MemAvailable, or less under a cgroup limit.
uint64_t AvailableMemory() {
  uint64_t bytes = 0;
  if (std::FILE* f = std::fopen("/proc/meminfo", "r")) {
    char line[256];
    unsigned long long kb = 0;
    while (std::fgets(line, sizeof(line), f) != nullptr) {
      if (std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    }
    std::fclose(f);
    bytes = kb * 1024;
  }
  if (std::FILE* f = std::fopen("/sys/fs/cgroup/memory.max", "r")) {
    unsigned long long limit = 0;  // "max" (no limit) does not parse
    if (std::fscanf(f, "%llu", &limit) == 1) bytes = std::min<uint64_t>(bytes, limit);
    std::fclose(f);
  }
  return bytes;
}

// How many records a rebuild keeps in memory before writing them out: half the
// memory available (or `max_memory` bytes, if set), at ~700 bytes a record
// (decoded, with its key; measured: 9.4 GB for 14.3M), never fewer than the
// store's default unless `max_memory` says so. Records written out early are read
// back from disk when a later event folds them again, which is what slows a long
// replay down; on a box with room, a 10M-event log never writes early.
size_t PendingRecordsForMemory(size_t floor, uint64_t max_memory) {
  constexpr uint64_t kBytesPerRecord = 700;
  constexpr uint64_t kFewest = 100;  // a flush per few events at worst
  if (max_memory != 0) return std::max<uint64_t>(kFewest, max_memory / kBytesPerRecord);
  return std::max<size_t>(floor, AvailableMemory() / 2 / kBytesPerRecord);
}

}  // namespace

Result<uint64_t> ParseByteSize(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not a size (e.g. 512M, 4G, 100000)");
  };
  uint64_t n = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (n > (UINT64_MAX - 9) / 10) return bad();
    n = n * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (i == 0) return bad();
  int shift = 0;
  if (i < text.size()) {
    const std::string_view units = "KMGT";
    const size_t u = units.find(static_cast<char>(std::toupper(text[i])));
    if (u == std::string_view::npos || i + 1 != text.size()) return bad();
    shift = 10 * static_cast<int>(u + 1);
  }
  if (n == 0 || (shift != 0 && n > (UINT64_MAX >> shift))) return bad();
  return n << shift;
}

int RunReplay(const ReplayArgs& args) {
  if (std::filesystem::exists(args.into + "/CURRENT")) {
    return Fail(Status::InvalidArgument(args.into + " already holds a store"));
  }
  // With --verify, rebuild exactly up to where the live read models are.
  ReadModels live_models;
  std::unique_ptr<ProjectionStore> live;
  CatchUpOptions options;
  if (args.verify) {
    if (args.live_store.empty() ||
        !std::filesystem::exists(args.live_store + "/CURRENT")) {
      return Fail(Status::NotFound("no live read models to verify against"));
    }
    ProjectionStoreOptions lo;
    lo.path = args.live_store;
    lo.read_only = true;
    lo.secondary_path = args.scratch + "/live-secondary";
    auto opened = ProjectionStore::Open(lo, live_models.All());
    if (!opened.ok()) return Fail(opened.status());
    live = std::move(opened).value();
    options.until = live->checkpoint();
  }
  Result<Seq> head = args.log->Head();
  if (!head.ok()) return Fail(head.status());
  Seq target = std::min(*head, options.until);

  ReadModels models;
  ProjectionStoreOptions o;
  o.path = args.into;
  o.bulk = true;
  o.bulk_flush_entries = PendingRecordsForMemory(o.bulk_flush_entries, args.max_memory);
  o.bulk_flush_in_background = false;  // a second set would double the memory
  o.defer_compaction = true;
  o.track_writers = args.verify;
  o.leave_last_records = true;  // this process exits once the replay is reported
  auto store = ProjectionStore::Open(o, models.All());
  if (!store.ok()) return Fail(store.status());

  const bool tty = isatty(STDERR_FILENO);
  auto t0 = Clock::now();
  auto last_print = t0;
  // When the last batch was folded; then the records still in memory are written
  // (earlier writes, if memory ran short, count as folding).
  auto folded = t0;
  options.progress = [&](Seq reached) {
    auto now = Clock::now();
    folded = now;
    if (now - last_print < std::chrono::milliseconds(tty ? 250 : 5000)) return;
    last_print = now;
    double secs = std::chrono::duration<double>(now - t0).count();
    std::fprintf(stderr, "%sreplay: %llu/%llu events (%.0f%%) %.0f events/s%s",
                 tty ? "\r" : "", static_cast<unsigned long long>(reached.value()),
                 static_cast<unsigned long long>(target.value()),
                 target.value() ? 100.0 * reached.value() / target.value() : 100.0,
                 reached.value() / std::max(secs, 1e-9), tty ? "" : "\n");
  };
  Status st = CatchUp(*args.log, **store, options);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (tty) std::fprintf(stderr, "\n");
  if (!st.ok())
    return Fail(st.WithContext("replay stopped at seq " +
                               std::to_string((*store)->checkpoint().value())));
  Seq reached = (*store)->checkpoint();
  auto digested = Clock::now();
  auto digest = (*store)->Digest();
  if (!digest.ok()) return Fail(digest.status());
  const double fold_secs = std::chrono::duration<double>(folded - t0).count();
  std::printf(
      "replayed %llu events in %.2f s: %.0f events/s (folded in %.2f s, last write "
      "%.2f s); read models digest %s (in %.2f s)\n",
      static_cast<unsigned long long>(reached.value()), secs,
      reached.value() / std::max(secs, 1e-9), fold_secs, secs - fold_secs,
      digest->c_str(), std::chrono::duration<double>(Clock::now() - digested).count());
  if (!args.verify) return 0;

  auto diff = FirstDivergence(**store, *live);
  if (!diff.ok()) return Fail(diff.status());
  if (!diff->has_value()) {
    std::printf("verify: identical to the live read models at seq %llu\n",
                static_cast<unsigned long long>(reached.value()));
    return 0;
  }
  std::printf("verify: DIVERGES at seq %llu: %s\n",
              static_cast<unsigned long long>(reached.value()),
              DescribeDivergence(**diff).c_str());
  return 1;
}

}  // namespace chronova
