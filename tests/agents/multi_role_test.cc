// Several schedulers at once (the multi-host issue): members of a role split
// keys between them, and two schedulers that place the same instances — the
// worst case, each placing every one — never over-commit a host, record one
// placement per instance, and leave no claim behind on a host the instance
// did not go to.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <set>

#include "agents/bus.h"
#include "agents/membership.h"
#include "agents/scheduler.h"
#include "core/server_group_state.h"
#include "eventstore/command_handler.h"
#include "eventstore/rocksdb_event_log.h"
#include "projections/projection_runner.h"
#include "projections/read_models.h"
#include "tests/support/test_util.h"

namespace chronova::testing {
namespace {

TEST_CASE("members of a role split every key between them and take a leaver's at once") {
  auto bus = NewInProcessBus();
  MembershipOptions o;
  o.role = "scheduler";
  o.announce_interval_us = 50000;
  o.id = "controller-1:100";
  Membership a(bus.get(), o);
  o.id = "controller-2:200";
  Membership b(bus.get(), o);
  REQUIRE(a.Start().ok());
  REQUIRE(b.Start().ok());
  REQUIRE(WaitUntil([&] { return a.Live().size() == 2 && b.Live().size() == 2; }));
  size_t owned_by_a = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "instance-" + std::to_string(i);
    INFO(key);
    CHECK(a.Owns(key) != b.Owns(key));  // exactly one owner
    owned_by_a += a.Owns(key) ? 1 : 0;
  }
  CHECK(owned_by_a > 350);  // a fair split, roughly half each
  CHECK(owned_by_a < 650);
  b.Stop();  // announces its leaving: no wait for its expiry
  REQUIRE(WaitUntil([&] { return a.Live().size() == 1; }, std::chrono::seconds(1)));
  for (int i = 0; i < 100; ++i) CHECK(a.Owns("instance-" + std::to_string(i)));
}

// Two schedulers on one log; hosts and requests appended straight to it.
struct TwoSchedulers {
  TempDir dir;
  std::unique_ptr<RocksDbEventLog> log = OpenTestLog(dir.Sub("log"));
  ReadModels models;
  std::unique_ptr<ProjectionStore> store;
  std::unique_ptr<ProjectionRunner> runner;
  std::unique_ptr<Bus> bus = NewInProcessBus();
  std::vector<HostName> hosts;
  std::vector<InstanceId> instances;
  int keys = 0;

  TwoSchedulers() {
    ProjectionStoreOptions so;
    so.path = dir.Sub("projections");
    store = ProjectionStore::Open(so, models.All()).value();
    runner = std::make_unique<ProjectionRunner>(log.get(), store.get());
  }
  void Append(const StreamId& stream, const Event& event) {
    AppendAsAlice(*log, stream, event, ++keys);
  }
  // `n` hosts of 8 vCPUs and 8 GiB: 24 m1.tiny each (RAM ratio 1.5).
  void AddHosts(int n) {
    for (int i = 1; i <= n; ++i) {
      HostRegistered reg;
      reg.host = HostName("compute-" + std::to_string(i));
      reg.vcpus = 8;
      reg.memory_mb = 8192;
      reg.disk_gb = 1000;
      Append(HostStream(reg.host), reg);
      hosts.push_back(reg.host);
    }
  }
  // `n` requests; members of `group` (its "group" hint) if one is named.
  void Request(int n, const std::string& group = "") {
    for (int i = 0; i < n; ++i) {
      InstanceRequested r;
      r.instance_id = InstanceId("inst-" + std::to_string(instances.size()));
      r.name = r.instance_id.str();
      r.project_id = ProjectId("demo");
      r.user_id = UserId("alice");
      r.flavor = FlavorSpec{FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {}};
      if (!group.empty()) r.scheduler_hints[kGroupHint] = {group};
      Append(InstanceStream(r.instance_id), r);
      instances.push_back(r.instance_id);
    }
  }
  // True once no instance waits for a host any more.
  bool AllDecided() {
    for (const InstanceId& id : instances) {
      InstanceState s = LoadInstance(*log, id).value();
      if (s.task_state == TaskState::kScheduling) return false;
    }
    return true;
  }
  HostState Host(const HostName& host) {
    HostState h;
    h.name = host;
    REQUIRE(LoadAggregate(*log, HostStream(host), h, ApplyHostEvent).ok());
    return h;
  }
  size_t Releases() {
    size_t n = 0;
    for (const HostName& host : hosts) {
      for (const Envelope& e : ReadWholeStream(*log, HostStream(host)).value())
        n += e.type == HostResourcesReleased::kType ? 1 : 0;
    }
    return n;
  }
  // Every host within its capacity, holding exactly the claims of the
  // instances placed on it; every instance placed once or failed.
  void CheckPlacements(size_t capacity) {
    std::map<HostName, std::set<InstanceId>> placed;
    size_t scheduled = 0, failed = 0;
    for (const InstanceId& id : instances) {
      InstanceState s = LoadInstance(*log, id).value();
      if (!s.host.empty()) {
        placed[s.host].insert(id);
        ++scheduled;
        // One instance.scheduled per instance, whoever placed it.
        auto events = ReadWholeStream(*log, InstanceStream(id)).value();
        CHECK(std::count_if(events.begin(), events.end(), [](const Envelope& e) {
                return e.type == InstanceScheduled::kType;
              }) == 1);
      } else {
        CHECK(s.vm_state == VmState::kError);
        ++failed;
      }
    }
    CHECK(scheduled + failed == instances.size());
    CHECK(scheduled <= capacity);
    for (const HostName& host : hosts) {
      HostState h = Host(host);
      INFO(host.str());
      CHECK(h.used.memory_mb <= h.MemoryLimitMb());  // never over-committed
      std::set<InstanceId> claimed;
      for (const auto& [id, claim] : h.claims) claimed.insert(id);
      CHECK(claimed == placed[host]);  // no claim left behind by a loser
    }
  }
};

TEST_CASE("two schedulers placing every instance at once never over-commit a host") {
  TwoSchedulers t;
  t.AddHosts(4);  // room for 96
  SchedulerOptions o;
  o.workers = 4;
  Scheduler a(t.log.get(), t.bus.get(), t.store.get(), o);
  Scheduler b(t.log.get(), t.bus.get(), t.store.get(), o);
  REQUIRE(a.Start().ok());
  REQUIRE(b.Start().ok());
  t.Request(120);  // more than fits: the rest end in NoValidHost
  REQUIRE(WaitUntil([&] { return t.AllDecided(); }, std::chrono::seconds(30)));
  a.Stop();
  b.Stop();
  INFO("claim conflicts: " << a.conflicts() + b.conflicts()
                           << ", releases: " << t.Releases());
  t.CheckPlacements(96);
}

TEST_CASE(
    "two schedulers with a membership split the instances: each placed once, "
    "no claim given back") {
  TwoSchedulers t;
  t.AddHosts(4);
  MembershipOptions mo;
  mo.role = "scheduler";
  mo.announce_interval_us = 50000;
  mo.id = "a";
  Membership ma(t.bus.get(), mo);
  mo.id = "b";
  Membership mb(t.bus.get(), mo);
  REQUIRE(ma.Start().ok());
  REQUIRE(mb.Start().ok());
  REQUIRE(WaitUntil([&] { return ma.Live().size() == 2 && mb.Live().size() == 2; }));
  SchedulerOptions o;
  o.owns = [&](const InstanceId& id) { return ma.Owns(id.str()); };
  Scheduler a(t.log.get(), t.bus.get(), t.store.get(), o);
  o.owns = [&](const InstanceId& id) { return mb.Owns(id.str()); };
  Scheduler b(t.log.get(), t.bus.get(), t.store.get(), o);
  REQUIRE(a.Start().ok());
  REQUIRE(b.Start().ok());
  t.Request(80);
  REQUIRE(WaitUntil([&] { return t.AllDecided(); }, std::chrono::seconds(30)));
  t.CheckPlacements(96);
  CHECK(t.Releases() == 0);  // nobody placed an instance another had placed

  // One scheduler leaves; the other places what it would have, new requests
  // and those the sweep finds waiting.
  b.Stop();
  mb.Stop();
  t.Request(10);
  REQUIRE(WaitUntil([&] { return t.AllDecided(); }, std::chrono::seconds(30)));
  a.Stop();
  t.CheckPlacements(96);
}

// Members of one server group requested at once, placed by two schedulers
// with `workers` each: how many members each host got, and how many failed.
struct GroupOutcome {
  std::map<HostName, int> per_host;
  size_t failed = 0;
};
GroupOutcome PlaceGroup(const std::string& policy, int32_t max_per_host, int hosts,
                        int members) {
  TwoSchedulers t;
  t.AddHosts(hosts);
  t.Append(ServerGroupsStream(ProjectId("demo")),
           ServerGroupCreated{"g-1", "web", UserId("alice"), policy, max_per_host});
  // The schedulers start from the read model.
  REQUIRE(t.runner->WaitFor(t.log->Head().value(), 5000).ok());
  SchedulerOptions o;
  o.workers = 4;
  Scheduler a(t.log.get(), t.bus.get(), t.store.get(), o);
  Scheduler b(t.log.get(), t.bus.get(), t.store.get(), o);
  REQUIRE(a.Start().ok());
  REQUIRE(b.Start().ok());
  t.Request(members, "g-1");
  REQUIRE(WaitUntil([&] { return t.AllDecided(); }, std::chrono::seconds(30)));
  a.Stop();
  b.Stop();
  t.CheckPlacements(static_cast<size_t>(hosts) * 24);  // no claim left behind
  GroupOutcome out;
  for (const InstanceId& id : t.instances) {
    InstanceState s = LoadInstance(*t.log, id).value();
    if (s.host.empty()) {
      CHECK(s.fault.message == kNoValidHost);
      ++out.failed;
    } else {
      ++out.per_host[s.host];
    }
  }
  // The group's stream records each placed member where it is.
  ServerGroupsState g;
  REQUIRE(LoadAggregate(*t.log, ServerGroupsStream(ProjectId("demo")), g,
                        ApplyServerGroupEvent)
              .ok());
  for (const InstanceId& id : t.instances) {
    InstanceState s = LoadInstance(*t.log, id).value();
    if (!s.host.empty()) CHECK(g.groups["g-1"].hosts[id] == s.host);
  }
  return out;
}

TEST_CASE("two schedulers keep a server group's anti-affinity: one member per host") {
  GroupOutcome out = PlaceGroup(kAntiAffinity, 0, 5, 8);
  CHECK(out.per_host.size() == 5);
  for (const auto& [host, n] : out.per_host) CHECK(n == 1);
  CHECK(out.failed == 3);
}

TEST_CASE("two schedulers keep anti-affinity's max_server_per_host") {
  GroupOutcome out = PlaceGroup(kAntiAffinity, 2, 3, 8);
  CHECK(out.per_host.size() == 3);
  for (const auto& [host, n] : out.per_host) CHECK(n == 2);
  CHECK(out.failed == 2);
}

TEST_CASE("two schedulers keep a server group's affinity: every member on one host") {
  GroupOutcome out = PlaceGroup(kAffinity, 0, 4, 10);
  CHECK(out.per_host.size() == 1);
  CHECK(out.failed == 0);
}

TEST_CASE("soft anti-affinity spreads members, soft affinity gathers them, none fail") {
  GroupOutcome spread = PlaceGroup(kSoftAntiAffinity, 0, 4, 8);
  CHECK(spread.failed == 0);
  CHECK(spread.per_host.size() == 4);
  GroupOutcome gathered = PlaceGroup(kSoftAffinity, 0, 4, 8);
  CHECK(gathered.failed == 0);
  // Concurrent placements may start on different hosts before they see each
  // other; most members still share one.
  int most = 0;
  for (const auto& [host, n] : gathered.per_host) most = std::max(most, n);
  CHECK(most >= 4);
}

TEST_CASE(
    "a scheduler started after a project's groups were all deleted enforces new ones") {
  TwoSchedulers t;
  t.AddHosts(4);
  const StreamId stream = ServerGroupsStream(ProjectId("demo"));
  t.Append(stream, ServerGroupCreated{"g-0", "old", UserId("alice"), kAntiAffinity, 0});
  t.Append(stream, ServerGroupDeleted{"g-0"});
  REQUIRE(t.runner->WaitFor(t.log->Head().value(), 5000).ok());
  SchedulerOptions o;
  Scheduler a(t.log.get(), t.bus.get(), t.store.get(), o);
  REQUIRE(a.Start().ok());
  // The stream goes on from version 2: the new group must be seen.
  t.Append(stream, ServerGroupCreated{"g-1", "new", UserId("alice"), kAntiAffinity, 0});
  t.Request(6, "g-1");
  REQUIRE(WaitUntil([&] { return t.AllDecided(); }, std::chrono::seconds(30)));
  a.Stop();
  std::map<HostName, int> per_host;
  size_t failed = 0;
  for (const InstanceId& id : t.instances) {
    InstanceState s = LoadInstance(*t.log, id).value();
    if (s.host.empty()) {
      ++failed;
    } else {
      ++per_host[s.host];
    }
  }
  CHECK(per_host.size() == 4);
  for (const auto& [host, n] : per_host) CHECK(n == 1);
  CHECK(failed == 2);
}

}  // namespace
}  // namespace chronova::testing
