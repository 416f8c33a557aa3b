// The conductor, alone on a real log and bus: it re-sends work that no host acted
// on (the bus is at most once), acting for the request that started the task.
#include "agents/conductor.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "agents/bus.h"
#include "agents/messages.h"
#include "agents/subjects.h"
#include "eventstore/rocksdb_event_log.h"
#include "projections/projection_runner.h"
#include "projections/read_models.h"
#include "tests/test_util.h"

namespace chronova::testing {

TEST_CASE("the conductor re-sends build work that was lost, for the same request") {
  TempDir dir;
  RocksDbLogOptions lo;
  lo.path = dir.Sub("log");
  lo.sync = false;
  auto log = RocksDbEventLog::Open(lo).value();
  ReadModels models;
  ProjectionStoreOptions so;
  so.path = dir.Sub("projections");
  auto store = ProjectionStore::Open(so, models.All()).value();
  ProjectionRunner runner(log.get(), store.get());
  auto bus = NewInProcessBus();

  ConductorOptions co;
  co.resend_after_us = 200000;   // 0.2 s
  co.sweep_interval_us = 50000;  // 0.05 s
  Conductor conductor(log.get(), bus.get(), store.get(), co);
  REQUIRE(conductor.Start().ok());

  // A placed instance whose build work goes to a host nobody listens for: lost.
  InstanceRequested r;
  r.instance_id = InstanceId("i-lost");
  r.name = "lost";
  r.project_id = ProjectId("demo");
  r.user_id = UserId("alice");
  r.flavor = FlavorSpec{FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {}};
  AppendRequest req;
  req.stream = InstanceStream(r.instance_id);
  req.expected = ExpectedVersion::NoStream();
  req.key = IdempotencyKey("k1");
  EventMeta meta{Env::Default()->Now(), RequestId("req-create"), Seq(),
                 Actor{UserId("alice"), ProjectId("demo"), {"member"}}};
  req.events.push_back(MakeNewEvent(r, meta));
  REQUIRE(log->Append(req).ok());
  AppendRequest placed;
  placed.stream = req.stream;
  placed.expected = ExpectedVersion::Exactly(StreamVersion(1));
  placed.key = IdempotencyKey("k2");
  meta.causation = Seq(1);
  placed.events.push_back(MakeNewEvent(InstanceScheduled{HostName("h1")}, meta));
  Seq scheduled_seq = log->Append(placed).value().last_seq;
  REQUIRE(runner.WaitFor(scheduled_seq, 5000).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the first send is gone

  // The host comes (back): it must receive the work again.
  std::mutex mu;  // protects received
  std::vector<WorkItem> received;
  auto sub = bus->Subscribe(subjects::Work(HostName("h1")),
                            [&](const std::string&, const std::string& payload) {
                              WorkItem w;
                              if (!DecodePortable(payload, &w).ok()) return;
                              std::lock_guard<std::mutex> l(mu);
                              received.push_back(w);
                            })
                 .value();
  for (int i = 0; i < 300; ++i) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (!received.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard<std::mutex> l(mu);
  REQUIRE_FALSE(received.empty());
  const WorkItem& w = received.front();
  CHECK(w.kind == WorkItem::Kind::kBuild);
  CHECK(w.instance_id == r.instance_id);
  CHECK(w.request_id == RequestId("req-create"));
  CHECK(w.causation == scheduled_seq);  // the placement, as the first send said
  CHECK(w.flavor.name == "m1.tiny");
}

}  // namespace chronova::testing
