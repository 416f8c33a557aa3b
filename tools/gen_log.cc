// gen-log: writes a large, realistic event log fast, for replay and time-travel
// benchmarks. Deterministic for a seed: hosts register, then servers are
// requested, claimed, placed, built and spawned; some fail to schedule, some are
// deleted later (delete requested, deleted, claim released). Events are bulk
// loaded through the RocksDB log's replication path (Ingest), 4,096 at a time,
// with the same envelopes and checks as appends.
//
//   build/gen-log --state-dir DIR --events N [--hosts H] [--seed S]
#include <chrono>
#include <cstdio>
#include <deque>
#include <random>
#include <unordered_map>

#include "core/env.h"
#include "core/event_codec.h"
#include "eventstore/rocksdb_event_log.h"
#include "tools/flags.h"

namespace chronova {
namespace {

class Generator {
 public:
  Generator(RocksDbEventLog* log, uint64_t seed, int hosts)
      : log_(log), env_(seed), rng_(seed), hosts_(hosts) {}

  Status Run(uint64_t target) {
    for (int h = 0; h < hosts_; ++h) {
      HostRegistered reg;
      reg.host = Host(h);
      reg.vcpus = 128;
      reg.memory_mb = 1 << 20;
      reg.disk_gb = 100000;
      Add(HostStream(reg.host), reg, Seq());
    }
    uint64_t n = 0;
    while (emitted_ + pending_.size() < target) {
      Boot(n++);
      // About one in five servers is deleted some time after it booted.
      if (!alive_.empty() && rng_() % 5 == 0) Delete();
      if (pending_.size() >= kBatch) CHRONOVA_RETURN_IF_ERROR(Flush(target));
    }
    return Flush(target);
  }
  uint64_t emitted() const { return emitted_; }

 private:
  static constexpr size_t kBatch = 4096;
  struct Alive {
    InstanceId id;
    int host;
    Seq cause;
  };

  HostName Host(int h) const { return HostName("gen-host-" + std::to_string(h)); }

  Seq Add(const StreamId& stream, const Event& e, Seq cause) {
    env_.AdvanceMicros(1000);  // one event per simulated millisecond
    uint64_t& v = versions_[stream.str()];
    NewEvent ne = MakeNewEvent(e, EventMeta{env_.Now(), request_, cause, actor_});
    pending_.push_back(Envelope{Seq(), stream, StreamVersion(++v), ne.type, ne.schema, ne.meta,
                                std::move(ne.payload)});
    return Seq(emitted_ + pending_.size());  // the seq it will get
  }

  void Boot(uint64_t n) {
    InstanceId id(env_.NewUuid());
    int host = static_cast<int>(rng_() % hosts_);
    request_ = RequestId("req-" + env_.NewUuid());
    actor_ = Actor{UserId("user-" + std::to_string(n % 97)), ProjectId("project-" + std::to_string(n % 13)),
                   {"member"}};
    InstanceRequested r;
    r.instance_id = id;
    r.name = "gen-" + std::to_string(n);
    r.project_id = actor_.project;
    r.user_id = actor_.user;
    r.flavor = FlavorSpec{FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {}};
    r.image_id = ImageId("cirros");
    StreamId stream = InstanceStream(id);
    Seq requested = Add(stream, r, Seq());
    if (rng_() % 20 == 0) {
      Add(stream, InstanceSchedulingFailed{"No valid host was found. "}, requested);
      return;
    }
    Add(HostStream(Host(host)), HostResourcesClaimed{id, 1, 512, 1}, requested);
    Seq scheduled = Add(stream, InstanceScheduled{Host(host)}, requested);
    Add(stream, BuildStarted{Host(host)}, scheduled);
    Add(stream, InstanceSpawned{Host(host), "instance-" + id.str()}, scheduled);
    alive_.push_back(Alive{id, host, scheduled});
  }

  void Delete() {
    Alive a = alive_.front();
    alive_.pop_front();
    request_ = RequestId("req-" + env_.NewUuid());
    StreamId stream = InstanceStream(a.id);
    Seq asked = Add(stream, InstanceDeleteRequested{}, Seq());
    Seq deleted = Add(stream, InstanceDeleted{Host(a.host)}, asked);
    Add(HostStream(Host(a.host)), HostResourcesReleased{a.id}, deleted);
  }

  Status Flush(uint64_t target) {
    while (!pending_.empty()) {
      size_t n = std::min({pending_.size(), kBatch, static_cast<size_t>(target - emitted_)});
      if (n == 0) {
        pending_.clear();  // past the target: drop the tail
        break;
      }
      std::vector<Envelope> batch(std::make_move_iterator(pending_.begin()),
                                  std::make_move_iterator(pending_.begin() + n));
      pending_.erase(pending_.begin(), pending_.begin() + n);
      CHRONOVA_RETURN_IF_ERROR(log_->Ingest(++position_, std::move(batch)));
      emitted_ += n;
    }
    return Status::Ok();
  }

  RocksDbEventLog* log_;
  FakeEnv env_;
  std::mt19937_64 rng_;
  const int hosts_;
  std::unordered_map<std::string, uint64_t> versions_;
  std::deque<Envelope> pending_;
  std::deque<Alive> alive_;
  RequestId request_{"req-gen"};
  Actor actor_;
  uint64_t emitted_ = 0;
  uint64_t position_ = 0;
};

int Run(int argc, char** argv) {
  auto flags = Flags::Parse(argc, argv, {"state-dir", "events", "hosts", "seed"}, {});
  if (!flags.ok() || !flags->Has("state-dir") || !flags->Has("events")) {
    std::fprintf(stderr,
                 "usage: gen-log --state-dir DIR --events N [--hosts H] [--seed S]\n");
    return 2;
  }
  RocksDbLogOptions o;
  o.path = flags->Get("state-dir") + "/log";
  o.sync = false;
  auto log = RocksDbEventLog::Open(o);
  if (!log.ok()) {
    std::fprintf(stderr, "gen-log: %s\n", log.status().ToString().c_str());
    return 1;
  }
  if ((*log)->Head().value() != Seq()) {
    std::fprintf(stderr, "gen-log: %s already holds a log\n", o.path.c_str());
    return 1;
  }
  Generator gen(log->get(), std::stoull(flags->Get("seed", "1")),
                std::stoi(flags->Get("hosts", "1000")));
  auto t0 = std::chrono::steady_clock::now();
  Status st = gen.Run(std::stoull(flags->Get("events")));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!st.ok()) {
    std::fprintf(stderr, "gen-log: %s\n", st.ToString().c_str());
    return 1;
  }
  std::printf("events=%llu seconds=%.1f events_per_s=%.0f\n",
              static_cast<unsigned long long>(gen.emitted()), secs, gen.emitted() / secs);
  return 0;
}

}  // namespace
}  // namespace chronova

int main(int argc, char** argv) { return chronova::Run(argc, argv); }
