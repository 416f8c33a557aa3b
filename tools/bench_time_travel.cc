// bench-time-travel: how fast chronova answers "as of" questions on a big log.
// Optionally writes read-model snapshots every K events first (as chronovad's
// SnapshotTaker would have, keeping them all), then measures one instance as of a
// random point (its stream folded), a time resolved to a seq, and the whole cloud
// as of random points (nearest snapshot + fold). Works on a copy of nothing: the
// log is opened read-only; snapshots go to <state-dir>/snapshots.
//
//   build/bench-time-travel --state-dir DIR [--build-snapshots] [--every K]
//                           [--instances N] [--points N] [--max-fold F] [--seed S]
//
// --max-fold F picks whole-cloud points at most F events after a snapshot (what
// snapshots every F events would give) instead of anywhere in the log.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "eventstore/log_factory.h"
#include "projections/projection_runner.h"
#include "projections/time_travel.h"
#include "tools/bench_util.h"
#include "tools/flags.h"

namespace chronova {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

int Fail(const Status& st) {
  std::fprintf(stderr, "bench-time-travel: %s\n", st.ToString().c_str());
  return 1;
}

using bench::Percentile;

// Folds the log from seq 1 into a scratch store, saving a snapshot every `every`
// events (all kept).
Status BuildSnapshots(EventLog& log, const std::string& state_dir, uint64_t every) {
  std::string scratch = state_dir + "/scratch/bench-snapshots";
  std::error_code ec;
  std::filesystem::remove_all(scratch, ec);
  ReadModels models;
  ProjectionStoreOptions o;
  o.path = scratch;
  o.bulk = true;  // a rebuild: flushed before each snapshot
  CHRONOVA_ASSIGN_OR_RETURN(std::unique_ptr<ProjectionStore> store,
                            ProjectionStore::Open(o, models.All()));
  CHRONOVA_ASSIGN_OR_RETURN(Seq head, log.Head());
  Clock::time_point start = Clock::now();
  int taken = 0;
  for (uint64_t at = every; at <= head.value(); at += every) {
    CatchUpOptions until;
    until.until = Seq(at);
    CHRONOVA_RETURN_IF_ERROR(CatchUp(log, *store, until));
    CHRONOVA_RETURN_IF_ERROR(store->Flush());
    CHRONOVA_RETURN_IF_ERROR(
        SaveReadModelsSnapshot(*store, state_dir + "/snapshots", 0).status());
    ++taken;
  }
  store.reset();
  std::filesystem::remove_all(scratch, ec);
  std::printf("snapshots=%d every=%llu build_s=%.1f\n", taken,
              static_cast<unsigned long long>(every), MsSince(start) / 1000);
  return Status::Ok();
}

int Run(int argc, char** argv) {
  auto flags = Flags::Parse(
      argc, argv, {"state-dir", "every", "instances", "points", "seed", "max-fold"},
      {"build-snapshots", "help"});
  if (!flags.ok() || flags->Has("help") || !flags->Has("state-dir")) {
    std::fputs(
        "usage: bench-time-travel --state-dir DIR [--build-snapshots] [--every K]\n"
        "                         [--instances N] [--points N] [--max-fold F] [--seed "
        "S]\n",
        stderr);
    return 2;
  }
  const std::string dir = flags->Get("state-dir");
  const uint64_t every = std::stoull(flags->Get("every", "100000"));
  const int instances = std::stoi(flags->Get("instances", "1000"));
  const int points = std::stoi(flags->Get("points", "10"));
  std::mt19937_64 rng(std::stoull(flags->Get("seed", "1")));

  LogConfig lc;
  lc.state_dir = dir;
  lc.read_only = true;
  lc.secondary_path = dir + "/scratch/bench-log-secondary";
  auto log = OpenEventLog(lc);
  if (!log.ok()) return Fail(log.status());
  auto head = (*log)->Head();
  if (!head.ok()) return Fail(head.status());
  std::printf("log events=%llu\n", static_cast<unsigned long long>(head->value()));
  if (head->value() == 0) return Fail(Status::NotFound("empty log"));
  if (flags->Has("build-snapshots")) {
    if (Status st = BuildSnapshots(**log, dir, every); !st.ok()) return Fail(st);
  }
  auto snapshots = ListSnapshots(dir + "/snapshots");
  if (!snapshots.ok()) return Fail(snapshots.status());
  std::uniform_int_distribution<uint64_t> any_seq(1, head->value());

  // One instance as of a random point after its request: sample instance streams
  // from random events.
  std::vector<double> one_ms;
  size_t folded_events = 0;
  for (int i = 0, tries = 0; i < instances && tries < instances * 20; ++tries) {
    auto env = (*log)->Read(Seq(any_seq(rng)), 1);
    if (!env.ok()) return Fail(env.status());
    if (env->empty() || StreamKind(env->front().stream) != "instance") continue;
    InstanceId id{std::string(StreamKey(env->front().stream))};
    Seq at(std::uniform_int_distribution<uint64_t>(env->front().seq.value(),
                                                   head->value())(rng));
    Clock::time_point start = Clock::now();
    auto s = InstanceAsOf(**log, id, at);
    one_ms.push_back(MsSince(start));
    if (!s.ok()) return Fail(s.status());
    if (!s->exists) return Fail(Status::Internal("instance missing at its own seq"));
    folded_events += s->version.value();
    ++i;
  }
  std::printf(
      "one_instance queries=%zu p50_ms=%.3f p99_ms=%.3f max_ms=%.3f "
      "avg_events_folded=%.1f\n",
      one_ms.size(), Percentile(one_ms, 0.5), Percentile(one_ms, 0.99),
      Percentile(one_ms, 1.0),
      one_ms.empty() ? 0.0 : static_cast<double>(folded_events) / one_ms.size());

  // A time resolved to a seq (binary search over the log).
  std::vector<double> resolve_ms;
  for (int i = 0; i < 100; ++i) {
    auto env = (*log)->Read(Seq(any_seq(rng)), 1);
    if (!env.ok() || env->empty()) return Fail(env.status());
    Clock::time_point start = Clock::now();
    auto seq = SeqAtTime(**log, env->front().meta.time);
    resolve_ms.push_back(MsSince(start));
    if (!seq.ok()) return Fail(seq.status());
    if (*seq < env->front().seq) return Fail(Status::Internal("time resolved too early"));
  }
  std::printf("time_to_seq queries=%zu p50_ms=%.3f max_ms=%.3f\n", resolve_ms.size(),
              Percentile(resolve_ms, 0.5), Percentile(resolve_ms, 1.0));

  // The whole cloud as of random points.
  TimeTravelOptions to;
  to.snapshot_dir = dir + "/snapshots";
  to.scratch_dir = dir + "/scratch/bench-time-travel";
  TimeTravel tt(log->get(), to);
  std::vector<double> cloud_ms;
  const uint64_t max_fold = std::stoull(flags->Get("max-fold", "0"));
  for (int i = 0; i < points; ++i) {
    Seq at(any_seq(rng));
    if (max_fold > 0 && !snapshots->empty()) {
      const SnapshotInfo& base = (*snapshots)[rng() % snapshots->size()];
      at = Seq(std::min(
          head->value(),
          base.seq.value() + std::uniform_int_distribution<uint64_t>(0, max_fold)(rng)));
    }
    Clock::time_point start = Clock::now();
    auto models = tt.ReadModelsAsOf(at);
    if (!models.ok()) return Fail(models.status());
    double built = MsSince(start);
    ServersView::ListOptions all;
    all.include_deleted = true;
    auto servers = (*models)->servers().List(all);
    if (!servers.ok()) return Fail(servers.status());
    double listed = MsSince(start);
    cloud_ms.push_back(built);
    std::printf(
        "whole_cloud at=%llu snapshot=%llu events_folded=%llu build_ms=%.1f "
        "servers=%zu with_list_ms=%.1f\n",
        static_cast<unsigned long long>(at.value()),
        static_cast<unsigned long long>((*models)->snapshot().value()),
        static_cast<unsigned long long>(at.value() - (*models)->snapshot().value()),
        built, servers->size(), listed);
  }
  std::printf("whole_cloud points=%zu snapshots=%zu p50_ms=%.1f max_ms=%.1f\n",
              cloud_ms.size(), snapshots->size(), Percentile(cloud_ms, 0.5),
              Percentile(cloud_ms, 1.0));
  return 0;
}

}  // namespace
}  // namespace chronova

int main(int argc, char** argv) { return chronova::Run(argc, argv); }
