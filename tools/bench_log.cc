// bench-log: appends realistic boot histories to a log and reports the append
// rate. Each instance gets instance.requested, a claim on its host's stream,
// instance.scheduled, build.started and instance.spawned — five appends, each
// with its stream's expected version, from several threads at once.
//
//   build/bench-log --state-dir DIR [--log rocksdb|jetstream] [--nats-url URL]
//                   [--instances N] [--hosts H] [--threads T] [--no-sync]
//
// With --read it appends nothing: it reads the whole log and decodes every event,
// as replay's reader does, and reports the rate (replay's floor: nothing folded).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "core/env.h"
#include "core/event_codec.h"
#include "core/host_state.h"
#include "eventstore/log_factory.h"
#include "tools/flags.h"

namespace chronova {
namespace {

int Fail(const Status& st) {
  std::fprintf(stderr, "bench-log: %s\n", st.ToString().c_str());
  return 1;
}

class Bench {
 public:
  Bench(EventLog* log, int hosts) : log_(log), host_versions_(hosts) {}

  Status RegisterHosts() {
    for (size_t h = 0; h < host_versions_.size(); ++h) {
      HostRegistered reg;
      reg.host = Host(h);
      reg.vcpus = 64;
      reg.memory_mb = 262144;
      reg.disk_gb = 4000;
      CHRONOVA_ASSIGN_OR_RETURN(StreamVersion v, log_->StreamHead(HostStream(reg.host)));
      CHRONOVA_ASSIGN_OR_RETURN(
          AppendResult r, Append(HostStream(reg.host), ExpectedVersion::Exactly(v), reg));
      host_versions_[h] = r.last_version.value();
    }
    return Status::Ok();
  }

  // Boots one instance: five appends, the host claim retried on Conflict.
  Status Boot(int n) {
    InstanceId id(Env::Default()->NewUuid());
    StreamId stream = InstanceStream(id);
    size_t h = static_cast<size_t>(n) % host_versions_.size();
    InstanceRequested req;
    req.instance_id = id;
    req.name = "bench-" + std::to_string(n);
    req.project_id = ProjectId("bench");
    req.user_id = UserId("bench");
    req.flavor = FlavorSpec{FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {}};
    req.image_id = ImageId("cirros");
    CHRONOVA_ASSIGN_OR_RETURN(AppendResult r,
                              Append(stream, ExpectedVersion::NoStream(), req));
    Seq cause = r.last_seq;
    while (true) {  // the scheduler's claim: expected host version, retry on Conflict
      StreamVersion hv(host_versions_[h].load());
      Result<AppendResult> claim =
          Append(HostStream(Host(h)), ExpectedVersion::Exactly(hv),
                 HostResourcesClaimed{id, 1, 512, 1}, cause);
      if (claim.ok()) {
        uint64_t seen = hv.value();
        host_versions_[h].compare_exchange_strong(seen, claim->last_version.value());
        break;
      }
      if (!claim.status().IsConflict()) return claim.status();
      ++conflicts_;
      CHRONOVA_ASSIGN_OR_RETURN(StreamVersion now, log_->StreamHead(HostStream(Host(h))));
      host_versions_[h] = now.value();
    }
    StreamVersion v = r.last_version;
    for (Event e : {Event(InstanceScheduled{Host(h)}), Event(BuildStarted{Host(h)}),
                    Event(InstanceSpawned{Host(h), "instance-" + std::to_string(n)})}) {
      CHRONOVA_ASSIGN_OR_RETURN(AppendResult next,
                                Append(stream, ExpectedVersion::Exactly(v), e, cause));
      v = next.last_version;
      cause = next.last_seq;
    }
    return Status::Ok();
  }

  uint64_t conflicts() const { return conflicts_; }

 private:
  static HostName Host(size_t h) { return HostName("bench-host-" + std::to_string(h)); }

  Result<AppendResult> Append(const StreamId& stream, ExpectedVersion expected,
                              const Event& event, Seq cause = Seq()) {
    AppendRequest req;
    req.stream = stream;
    req.expected = expected;
    req.key = IdempotencyKey(Env::Default()->NewUuid());
    EventMeta meta{Env::Default()->Now(), RequestId("req-bench"), cause,
                   Actor{UserId("bench"), ProjectId("bench"), {"member"}}};
    req.events.push_back(MakeNewEvent(event, meta));
    return log_->Append(req);
  }

  EventLog* log_;
  std::vector<std::atomic<uint64_t>> host_versions_;
  std::atomic<uint64_t> conflicts_{0};
};

// Reads every event from seq 1 in batches, decoding each into the batch read
// before (as CatchUp's reader does); `decode` false stops at the envelopes.
int ReadAll(EventLog& log, bool decode) {
  constexpr size_t kBatch = 4096;
  std::vector<Envelope> batch;
  std::vector<Event> events;
  if (Status st = log.Head().status(); !st.ok()) return Fail(st);  // a mirror syncs
  uint64_t n = 0, bytes = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (Seq next(1);;) {
    if (Status st = log.ReadInto(next, kBatch, &batch); !st.ok()) return Fail(st);
    if (batch.empty()) break;
    events.resize(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      bytes += batch[i].payload.size();
      if (!decode) continue;
      Status st = DecodeEventInto(batch[i], UpcasterSet::Default(), &events[i]);
      if (!st.ok()) return Fail(st);
    }
    n += batch.size();
    next = batch.back().seq.next();
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "read events=%llu decode=%s seconds=%.3f events_per_s=%.0f payload_mb=%.0f\n",
      static_cast<unsigned long long>(n), decode ? "on" : "off", secs,
      secs > 0 ? n / secs : 0.0, bytes / 1e6);
  return 0;
}

int Run(int argc, char** argv) {
  auto flags = Flags::Parse(
      argc, argv, {"state-dir", "log", "nats-url", "instances", "hosts", "threads"},
      {"no-sync", "read", "no-decode"});
  if (!flags.ok() || !flags->Has("state-dir")) {
    std::fprintf(
        stderr,
        "usage: bench-log --state-dir DIR [--log rocksdb|jetstream] [--nats-url URL]\n"
        "                 [--instances N] [--hosts H] [--threads T] [--no-sync]\n"
        "       bench-log --state-dir DIR --read [--no-decode]\n");
    return 2;
  }
  LogConfig config;
  config.state_dir = flags->Get("state-dir");
  auto backend = ParseLogBackend(flags->Get("log", "rocksdb"));
  if (!backend.ok()) return Fail(backend.status());
  config.backend = *backend;
  config.sync = !flags->Has("no-sync");
  config.jetstream.url = flags->Get("nats-url", config.jetstream.url);
  auto log = OpenEventLog(config);
  if (!log.ok()) return Fail(log.status());
  if (flags->Has("read")) return ReadAll(**log, !flags->Has("no-decode"));

  int instances = std::stoi(flags->Get("instances", "2000"));
  int threads = std::stoi(flags->Get("threads", "8"));
  Bench bench(log->get(), std::stoi(flags->Get("hosts", "100")));
  if (Status st = bench.RegisterHosts(); !st.ok()) return Fail(st);
  Seq start_head = (*log)->Head().value();

  std::atomic<int> next{0};
  std::mutex mu;  // protects first_error
  Status first_error;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int n; (n = next++) < instances;) {
        Status st = bench.Boot(n);
        if (!st.ok()) {
          std::lock_guard<std::mutex> l(mu);
          if (first_error.ok()) first_error = st;
          return;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!first_error.ok()) return Fail(first_error);
  uint64_t events = (*log)->Head().value().value() - start_head.value();
  std::printf(
      "log=%s sync=%s instances=%d threads=%d events=%llu seconds=%.3f "
      "events_per_s=%.0f boots_per_s=%.0f claim_conflicts=%llu\n",
      flags->Get("log", "rocksdb").c_str(), config.sync ? "on" : "off", instances,
      threads, static_cast<unsigned long long>(events), secs, events / secs,
      instances / secs, static_cast<unsigned long long>(bench.conflicts()));
  return 0;
}

}  // namespace
}  // namespace chronova

int main(int argc, char** argv) { return chronova::Run(argc, argv); }
