// The conductor, alone on a real log and bus: it re-sends work that no host acted
// on (the bus is at most once), acting for the request that started the task.
#include "agents/conductor.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "agents/bus.h"
#include "agents/messages.h"
#include "agents/subjects.h"
#include "eventstore/rocksdb_event_log.h"
#include "projections/hosts_projection.h"
#include "projections/projection_runner.h"
#include "projections/read_models.h"
#include "tests/support/test_util.h"

namespace chronova::testing {
namespace {

// What a conductor runs on, alone: a real log, the read models kept up to date
// from it, and an in-process bus.
struct Rig {
  TempDir dir;
  std::unique_ptr<RocksDbEventLog> log;
  ReadModels models;
  std::unique_ptr<ProjectionStore> store;
  std::unique_ptr<ProjectionRunner> runner;
  std::unique_ptr<Bus> bus = NewInProcessBus();
  Rig() {
    log = OpenTestLog(dir.Sub("log"));
    ProjectionStoreOptions so;
    so.path = dir.Sub("projections");
    store = ProjectionStore::Open(so, models.All()).value();
    runner = std::make_unique<ProjectionRunner>(log.get(), store.get());
  }

  int keys = 0;  // appends so far: each has key "k<n>" and request "req-<n>"
  Seq Append(const StreamId& stream, const Event& event) {
    return AppendAsAlice(*log, stream, event, ++keys);
  }
  void Register(const HostName& host) {
    HostRegistered reg;
    reg.host = host;
    reg.vcpus = 8;
    reg.memory_mb = 8192;
    reg.disk_gb = 100;
    Append(HostStream(host), reg);
  }
  // An ACTIVE server on `host`, holding a claim there.
  InstanceId Boot(const std::string& id, const HostName& host) {
    InstanceRequested r;
    r.instance_id = InstanceId(id);
    r.name = id;
    r.project_id = ProjectId("demo");
    r.user_id = UserId("alice");
    r.flavor = FlavorSpec{FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {}};
    Append(InstanceStream(r.instance_id), r);
    Append(HostStream(host), HostResourcesClaimed{r.instance_id, 1, 512, 1});
    Append(InstanceStream(r.instance_id), InstanceScheduled{host});
    Append(InstanceStream(r.instance_id), BuildStarted{host});
    Append(InstanceStream(r.instance_id), InstanceSpawned{host, "instance-" + id});
    return r.instance_id;
  }
  // The claims `host` holds, once the read models caught up with the log.
  size_t Claims(const HostName& host) {
    REQUIRE(runner->WaitFor(log->Head().value(), 5000).ok());
    auto reader = store->Reader("hosts").value();
    return HostsView(reader.get()).Get(host).value()->claims.size();
  }
  // The host's events of `type`.
  size_t HostEvents(const HostName& host, std::string_view type) {
    auto events = ReadWholeStream(*log, HostStream(host)).value();
    return std::count_if(events.begin(), events.end(),
                         [&](const Envelope& e) { return e.type == type; });
  }
};

}  // namespace

TEST_CASE("the conductor re-sends build work that was lost, for the same request") {
  Rig rig;
  auto& log = rig.log;
  auto& store = rig.store;
  auto& bus = rig.bus;
  ProjectionRunner& runner = *rig.runner;

  // The conductor's clock moves only when the test moves it: its sweeps run
  // as the clock passes each interval, and nothing is re-sent until the work
  // is resend_after_us old by that clock.
  FakeEnv clock(/*seed=*/1);
  ConductorOptions co;
  co.env = &clock;
  co.resend_after_us = 200000;   // 0.2 s of the fake clock
  co.sweep_interval_us = 50000;  // 0.05 s of the fake clock
  // Every piece of work sent to h1. Nobody acts on it: to the conductor that is
  // the same as the message being lost (the bus is at most once).
  std::mutex mu;  // protects sent
  std::vector<Work> sent;
  auto tap = bus->Subscribe(subjects::Work(HostName("h1")),
                            [&](const std::string&, const std::string& payload) {
                              Work w;
                              if (!DecodePortable(payload, &w).ok()) return;
                              std::lock_guard<std::mutex> l(mu);
                              sent.push_back(w);
                            })
                 .value();
  auto sent_count = [&] {
    std::lock_guard<std::mutex> l(mu);
    return sent.size();
  };
  Conductor conductor(log.get(), bus.get(), store.get(), co);
  REQUIRE(conductor.Start().ok());
  // The start-up sweep re-sends all pending work at once, whatever its age:
  // it runs before the instance exists, so the work below is sent once.
  REQUIRE(WaitUntil([&] { return conductor.sweeps() >= 1; }));

  // A placed instance whose build work goes to h1.
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
  EventMeta meta{clock.Now(), RequestId("req-create"), Seq(),
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

  // The first send, routed after instance.scheduled.
  REQUIRE(WaitUntil([&] { return sent_count() >= 1; }));
  // Sweeps that see the work pending but not yet old enough by the
  // conductor's clock do not send it again.
  for (int i = 0; i < 3; ++i) clock.AdvanceMicros(co.sweep_interval_us);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // they ran
  CHECK(sent_count() == 1);

  // Once it is old enough, the next sweep sends it again.
  clock.AdvanceMicros(co.resend_after_us);
  REQUIRE(WaitUntil([&] { return sent_count() >= 2; }));
  std::lock_guard<std::mutex> l(mu);
  for (size_t i = 0; i < 2; ++i) {
    INFO((i == 0 ? "the first send" : "the re-send"));
    const BuildWork* w = std::get_if<BuildWork>(&sent[i]);
    REQUIRE(w != nullptr);
    CHECK(w->origin.instance_id == r.instance_id);
    CHECK(w->origin.request_id == RequestId("req-create"));
    CHECK(w->origin.causation == scheduled_seq);  // the placement, in both
    CHECK(w->guest.flavor.name == "m1.tiny");
  }
}

}  // namespace chronova::testing

namespace chronova::testing {

TEST_CASE(
    "a server whose host is down is deleted without it, also when the host went down "
    "after the delete was sent") {
  Rig rig;
  auto& log = rig.log;
  auto& store = rig.store;
  auto& bus = rig.bus;
  ProjectionRunner& runner = *rig.runner;
  std::atomic<bool> down{false};

  ConductorOptions co;
  co.resend_after_us = 60000000;  // no re-sends during the test
  co.sweep_interval_us = 50000;   // 0.05 s
  co.host_is_down = [&](const HostName& h) { return h == HostName("h1") && down.load(); };
  Conductor conductor(log.get(), bus.get(), store.get(), co);
  REQUIRE(conductor.Start().ok());
  std::mutex mu;                     // protects deletes, reaps
  std::vector<Work> deletes, reaps;  // delete and reap work sent to h1
  auto work = bus->Subscribe(subjects::Work(HostName("h1")),
                             [&](const std::string&, const std::string& payload) {
                               Work w;
                               if (!DecodePortable(payload, &w).ok()) return;
                               std::lock_guard<std::mutex> l(mu);
                               if (std::holds_alternative<DeleteWork>(w))
                                 deletes.push_back(w);
                               if (std::holds_alternative<ReapWork>(w))
                                 reaps.push_back(w);
                             })
                  .value();

  auto append = [&](const StreamId& stream, const Event& event) {
    return rig.Append(stream, event);
  };
  const int& keys = rig.keys;
  rig.Register(HostName("h1"));
  auto boot = [&](const std::string& id) { return rig.Boot(id, HostName("h1")); };
  auto claims = [&] { return rig.Claims(HostName("h1")); };
  auto wait_deleted = [&](const InstanceId& id) {
    for (int i = 0; i < 300; ++i) {
      auto events = ReadWholeStream(*log, InstanceStream(id)).value();
      if (events.back().type == InstanceDeleted::kType) return events.back();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("never deleted: " << id.str());
    return Envelope{};
  };
  InstanceId first = boot("i-first"), second = boot("i-second");
  CHECK(claims() == 2);

  // The host is down when the delete comes: nothing is sent to it.
  down = true;
  Seq asked = append(InstanceStream(first), InstanceDeleteRequested{});
  Envelope deleted = wait_deleted(first);
  CHECK(deleted.meta.causation == asked);
  CHECK(deleted.meta.request_id == RequestId("req-" + std::to_string(keys)));
  Event event = DecodeEvent(deleted).value();
  REQUIRE(std::holds_alternative<InstanceDeleted>(event));
  CHECK(std::get<InstanceDeleted>(event).host == HostName("h1"));
  CHECK(claims() == 1);
  // Should the host only be slow, it hears to destroy the guest.
  auto reaped = [&](size_t n) {
    for (int i = 0; i < 300; ++i) {
      {
        std::lock_guard<std::mutex> l(mu);
        if (reaps.size() >= n) return OriginOf(reaps.back()).instance_id;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return InstanceId();
  };
  CHECK(reaped(1) == first);

  // The host is up when the delete comes (the work goes out and is lost), then
  // goes down: the sweep deletes it.
  down = false;
  append(InstanceStream(second), InstanceDeleteRequested{});
  for (int i = 0; i < 300; ++i) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (!deletes.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  {
    std::lock_guard<std::mutex> l(mu);
    REQUIRE(deletes.size() == 1);
    CHECK(OriginOf(deletes[0]).instance_id == second);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // sweeps: host up
  CHECK(ReadWholeStream(*log, InstanceStream(second)).value().back().type ==
        InstanceDeleteRequested::kType);
  down = true;
  wait_deleted(second);
  CHECK(claims() == 0);
  CHECK(reaped(2) == second);
  CHECK(rig.HostEvents(HostName("h1"), HostResourcesReleased::kType) == 2);  // once each
  std::lock_guard<std::mutex> l(mu);
  CHECK(deletes.size() == 1);  // none for the first; the second's once
}

}  // namespace chronova::testing

namespace chronova::testing {

TEST_CASE(
    "a claim a deleted instance still holds is given back when its host reconciles, "
    "and a resize's is kept") {
  Rig rig;
  ConductorOptions co;
  co.resend_after_us = 60000000;
  Conductor conductor(rig.log.get(), rig.bus.get(), rig.store.get(), co);
  REQUIRE(conductor.Start().ok());
  const HostName h1("h1");
  rig.Register(h1);
  InstanceId gone = rig.Boot("i-gone", h1), kept = rig.Boot("i-kept", h1);
  // A resize's claim on the source, held under its migration's id.
  rig.Append(HostStream(h1), HostResourcesClaimed{InstanceId("mig-1"), 1, 512, 1});
  // Deleted, but the release never made it into the log (the conductor stopped).
  rig.Append(InstanceStream(gone), InstanceDeleteRequested{});
  rig.Append(InstanceStream(gone), InstanceDeleted{h1});
  REQUIRE(rig.Claims(h1) == 3);

  GuestInventory inventory;
  inventory.host = h1;
  inventory.guests.push_back({kept, static_cast<int32_t>(PowerState::kRunning)});
  inventory.restart = false;  // the periodic sync
  REQUIRE(rig.bus->Publish(subjects::Inventory(h1), EncodePortable(inventory)).ok());
  for (int i = 0; i < 300 && rig.Claims(h1) != 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(rig.Claims(h1) == 2);
  auto reader = rig.store->Reader("hosts").value();
  auto claims = HostsView(reader.get()).Get(h1).value()->claims;
  CHECK(claims.contains(kept));
  CHECK(claims.contains(InstanceId("mig-1")));
  CHECK(rig.HostEvents(h1, HostResourcesReleased::kType) == 1);
}

}  // namespace chronova::testing

namespace chronova::testing {

TEST_CASE(
    "a resize's claim that no recorded resize names is given back, and its instance "
    "holds its own claim again") {
  Rig rig;
  ConductorOptions co;
  co.resend_after_us = 60000000;
  co.unused_claim_grace_us = 0;  // given back at the second sighting
  Conductor conductor(rig.log.get(), rig.bus.get(), rig.store.get(), co);
  REQUIRE(conductor.Start().ok());
  const HostName h1("h1");
  rig.Register(h1);
  InstanceId server = rig.Boot("i-resized", h1);
  // The api moved the server's claim to a migration (one append, as
  // ClaimResize does), then failed to record the resize and to move it back.
  AppendRequest moved;
  moved.stream = HostStream(h1);
  moved.key = IdempotencyKey("resize-mig-2-claim-source");
  const EventMeta meta{Timestamp{1}, RequestId("req-resize"), Seq(),
                       Actor{UserId("alice"), ProjectId("demo"), {"member"}}};
  moved.events.push_back(MakeNewEvent(HostResourcesReleased{server}, meta));
  moved.events.push_back(
      MakeNewEvent(HostResourcesClaimed{InstanceId("mig-2"), 1, 512, 1}, meta));
  REQUIRE(rig.log->Append(moved).ok());
  // A resize's claim nothing was released for: not guessed at, kept.
  rig.Append(HostStream(h1), HostResourcesClaimed{InstanceId("mig-other"), 1, 512, 1});
  REQUIRE(rig.Claims(h1) == 2);

  GuestInventory inventory;
  inventory.host = h1;
  inventory.guests.push_back({server, static_cast<int32_t>(PowerState::kRunning)});
  inventory.restart = false;  // the periodic sync
  auto claims = [&] {
    REQUIRE(rig.runner->WaitFor(rig.log->Head().value(), 5000).ok());
    auto reader = rig.store->Reader("hosts").value();
    return HostsView(reader.get()).Get(h1).value()->claims;
  };
  for (int i = 0; i < 300 && !claims().contains(server); ++i) {
    REQUIRE(rig.bus->Publish(subjects::Inventory(h1), EncodePortable(inventory)).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto now = claims();
  CHECK(now.contains(server));
  CHECK(now.at(server) == Claim{1, 512, 1});
  CHECK_FALSE(now.contains(InstanceId("mig-2")));
  CHECK(now.contains(InstanceId("mig-other")));
}

}  // namespace chronova::testing
