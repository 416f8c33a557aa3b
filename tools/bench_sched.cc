// bench-sched: how many scheduling decisions several schedulers make at once on
// a big cloud, and that none over-commits a host. Registers H hosts and
// builds the read models, starts S schedulers that split the instances between
// them (as a Membership would), then requests N instances through the log
// (RocksDB, no fsync; four clients) and times from the first request until
// every instance is scheduled or failed. Then it folds every host's stream again and
// checks it: no host over its allocation ratios, every instance placed once, every claim
// owned.
//
//   build/bench-sched [--hosts 10000] [--instances 20000] [--schedulers 4]
//                     [--workers 4] [--host-vcpus 8] [--host-ram-mb 16384]
//                     [--backlog]   (every request in the log before the schedulers
//                                    start: their own rate, not the requests')
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agents/bus.h"
#include "agents/scheduler.h"
#include "core/event_codec.h"
#include "core/host_state.h"
#include "eventstore/command_handler.h"
#include "eventstore/log_factory.h"
#include "projections/projection_runner.h"
#include "projections/read_models.h"
#include "tools/flags.h"

namespace chronova {
namespace {

using Clock = std::chrono::steady_clock;

int Fail(const Status& st) {
  std::fprintf(stderr, "bench-sched: %s\n", st.ToString().c_str());
  return 1;
}

std::string Name(const char* prefix, int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%s-%06d", prefix, i);
  return buf;
}

// A v4-shaped id from a number: deterministic runs, every scheduler's hash of
// it as spread as a random one's.
InstanceId BenchInstanceId(int i) {
  char buf[40];
  unsigned long long h = 0x9e3779b97f4a7c15ULL * static_cast<unsigned long long>(i + 1);
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-8%03x-%012llx", i,
                static_cast<unsigned>(h & 0xffff),
                static_cast<unsigned>((h >> 16) & 0xfff),
                static_cast<unsigned>((h >> 28) & 0xfff), (h >> 16) & 0xffffffffffffULL);
  return InstanceId(buf);
}

Status Append(EventLog& log, const StreamId& stream, const Event& event) {
  AppendRequest req;
  req.stream = stream;
  req.expected = ExpectedVersion::NoStream();
  req.key = IdempotencyKey("bench-" + stream.str());
  EventMeta meta{Env::Default()->Now(), RequestId("req-bench"), Seq(),
                 Actor{UserId("bench"), ProjectId("bench"), {"admin"}}};
  req.events.push_back(MakeNewEvent(event, meta));
  return log.Append(req).status();
}

int Run(int argc, char** argv) {
  auto flags = Flags::Parse(argc, argv,
                            {"hosts", "instances", "schedulers", "workers", "host-vcpus",
                             "host-ram-mb", "state-dir"},
                            {"backlog"});
  if (!flags.ok()) return Fail(flags.status());
  const int hosts = std::stoi(flags->Get("hosts", "10000"));
  const int instances = std::stoi(flags->Get("instances", "20000"));
  const int schedulers = std::stoi(flags->Get("schedulers", "4"));
  const int workers = std::stoi(flags->Get("workers", "4"));
  const int host_vcpus = std::stoi(flags->Get("host-vcpus", "8"));
  const int host_ram = std::stoi(flags->Get("host-ram-mb", "16384"));
  const bool backlog = flags->Has("backlog");
  std::string dir = flags->Get("state-dir");
  const bool temporary = dir.empty();
  if (temporary) {
    dir = std::filesystem::temp_directory_path() /
          ("bench-sched-" + std::to_string(getpid()));
  }
  LogConfig lc;
  lc.state_dir = dir;
  lc.sync = false;
  auto opened = OpenEventLog(lc);
  if (!opened.ok()) return Fail(opened.status());
  std::unique_ptr<EventLog> log = std::move(opened).value();

  // The cloud, through the log.
  auto setup_start = Clock::now();
  for (int h = 0; h < hosts; ++h) {
    HostRegistered reg;
    reg.host = HostName(Name("host", h));
    reg.hypervisor_hostname = reg.host.str();
    reg.vcpus = host_vcpus;
    reg.memory_mb = host_ram;
    reg.disk_gb = 2000;
    if (Status st = Append(*log, HostStream(reg.host), reg); !st.ok()) return Fail(st);
  }
  ReadModels models;
  ProjectionStoreOptions so;
  so.path = dir + "/projections";
  auto store = ProjectionStore::Open(so, models.All());
  if (!store.ok()) return Fail(store.status());
  auto runner = std::make_unique<ProjectionRunner>(log.get(), store->get());
  const Seq head = log->Head().value();
  if (Status st = runner->WaitFor(head, 600000); !st.ok()) return Fail(st);
  const double setup_s =
      std::chrono::duration<double>(Clock::now() - setup_start).count();

  // Outcomes, counted as they land in the log.
  std::mutex mu;
  std::condition_variable cv;
  int decided = 0, scheduled = 0, failed = 0;
  std::map<InstanceId, int> placements;
  auto outcomes = log->Subscribe(head.next(), [&](const std::vector<Envelope>& batch) {
    std::lock_guard<std::mutex> l(mu);
    for (const Envelope& e : batch) {
      if (e.type == InstanceScheduled::kType) {
        ++scheduled;
        ++placements[InstanceId(e.stream.str().substr(sizeof("instance/") - 1))];
      } else if (e.type == InstanceSchedulingFailed::kType) {
        ++failed;
      } else {
        continue;
      }
      ++decided;
    }
    cv.notify_all();
    return Status::Ok();
  });

  // The requests, from four clients at once.
  const FlavorSpec flavor{FlavorId("2"), "m1.small", 1, 2048, 20, 0, 0, {}};
  auto request_all = [&]() -> Status {
    std::atomic<int> next{0};
    Status request_status;
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c) {
      clients.emplace_back([&] {
        for (int i = next++; i < instances; i = next++) {
          InstanceRequested r;
          r.instance_id = BenchInstanceId(i);
          r.name = Name("server", i);
          r.project_id = ProjectId("bench");
          r.user_id = UserId("bench");
          r.flavor = flavor;
          r.image_id = ImageId("0f2a6c3e-5b8d-4c1e-9a7f-3d2b1e0c9a11");
          if (Status st = Append(*log, InstanceStream(r.instance_id), r); !st.ok()) {
            std::lock_guard<std::mutex> l(mu);
            request_status = st;
            return;
          }
        }
      });
    }
    for (std::thread& t : clients) t.join();
    return request_status;
  };
  auto start = Clock::now();
  double requests_s = 0;
  if (backlog) {
    // All requested first, past the read models' checkpoint (their runner
    // stops here): the schedulers then hear the whole backlog on the log at
    // once, and only their own speed counts.
    runner.reset();
    if (Status st = request_all(); !st.ok()) return Fail(st);
    requests_s = std::chrono::duration<double>(Clock::now() - start).count();
  }

  std::unique_ptr<Bus> bus = NewInProcessBus();
  std::vector<std::unique_ptr<Scheduler>> running;
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  start = Clock::now();
  for (int s = 0; s < schedulers; ++s) {
    SchedulerOptions o;
    o.workers = workers;
    o.owns = [s, schedulers](const InstanceId& id) {
      return static_cast<int>(std::hash<std::string>()(id.str()) %
                              static_cast<size_t>(schedulers)) == s;
    };
    running.push_back(std::make_unique<Scheduler>(log.get(), bus.get(), store->get(), o));
    if (Status st = running.back()->Start(); !st.ok()) return Fail(st);
  }
  if (!backlog) {
    // Requests arrive while the schedulers run (the live path: each scheduler
    // hears them on the log); timed from the first request.
    start = Clock::now();
    if (Status st = request_all(); !st.ok()) return Fail(st);
    requests_s = std::chrono::duration<double>(Clock::now() - start).count();
  }
  {
    std::unique_lock<std::mutex> l(mu);
    if (!cv.wait_for(l, std::chrono::minutes(10), [&] { return decided >= instances; })) {
      return Fail(Status::Unavailable("only " + std::to_string(decided) + " of " +
                                      std::to_string(instances) + " decided in 10 min"));
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  uint64_t conflicts = 0;
  for (auto& s : running) conflicts += s->conflicts();
  running.clear();
  outcomes.reset();

  // Every host as its own stream says, checked against its limits.
  int over = 0, claims = 0, unowned = 0;
  for (int h = 0; h < hosts; ++h) {
    HostState state;
    state.name = HostName(Name("host", h));
    if (Status st = LoadAggregate(*log, HostStream(state.name), state, ApplyHostEvent);
        !st.ok()) {
      return Fail(st);
    }
    if (state.used.vcpus > state.VcpuLimit() ||
        state.used.memory_mb > state.MemoryLimitMb() ||
        state.used.disk_gb > state.DiskLimitGb()) {
      ++over;
    }
    for (const auto& [id, claim] : state.claims) {
      ++claims;
      if (!placements.contains(id)) ++unowned;
    }
  }
  int twice = 0;
  for (const auto& [id, n] : placements) twice += n > 1;
  const double cpu_s =
      static_cast<double>(after.ru_utime.tv_sec - before.ru_utime.tv_sec +
                          after.ru_stime.tv_sec - before.ru_stime.tv_sec) +
      static_cast<double>(after.ru_utime.tv_usec - before.ru_utime.tv_usec +
                          after.ru_stime.tv_usec - before.ru_stime.tv_usec) /
          1e6;
  std::printf(
      "mode=%s hosts=%d instances=%d schedulers=%d workers=%d setup_s=%.1f "
      "requests_s=%.2f "
      "seconds=%.2f "
      "decisions_per_s=%.0f cpu_s=%.1f scheduled=%d failed=%d conflicts=%llu "
      "claims=%d over_committed_hosts=%d placed_twice=%d claims_without_placement=%d\n",
      backlog ? "backlog" : "live", hosts, instances, schedulers, workers, setup_s,
      requests_s, seconds, instances / seconds, cpu_s, scheduled, failed,
      static_cast<unsigned long long>(conflicts), claims, over, twice, unowned);
  runner.reset();
  store->reset();
  log.reset();
  if (temporary) std::filesystem::remove_all(dir);
  return over == 0 && twice == 0 && unowned == 0 ? 0 : 1;
}

}  // namespace
}  // namespace chronova

int main(int argc, char** argv) { return chronova::Run(argc, argv); }
