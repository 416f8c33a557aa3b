// The whole control plane in one process — log, read models, in-process bus,
// scheduler, conductor, compute agents — driven through ComputeService: the
// seven steps of a boot, deletes, failures and races, checked against the log.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <thread>
#include <tuple>

#include "agents/compute/fake_hypervisor.h"
#include "agents/scheduler.h"
#include "api/service/admin_service.h"
#include "api/service/compute_service.h"
#include "api/service/service_internal.h"
#include "core/event_codec.h"
#include "projections/hosts_projection.h"
#include "projections/projection_runner.h"
#include "projections/projection_store.h"
#include "projections/servers_projection.h"
#include "tests/support/node_test_util.h"
#include "tests/support/test_util.h"
#include "tools/node.h"

namespace chronova::testing {
namespace {

RequestContext Ctx(const std::string& project = "demo") {
  return MemberContext("alice", project);
}

NodeOptions Options(const TempDir& dir, int hosts,
                    const std::string& hypervisor = "fake") {
  NodeOptions o = FakeCloudOptions(dir, hosts, 4, 4096);
  o.compute.hypervisor = hypervisor;
  return o;
}

RequestContext AdminCtx() {
  return RequestContext{
      UserId("admin"), ProjectId("admin"), {"admin"}, RequestId("req-a")};
}

// A node once its `hosts` fake hosts have registered: they register as they
// start, and a server placed before finds none.
std::unique_ptr<Node> StartRegistered(const TempDir& dir, int hosts) {
  auto node = Node::Start(Options(dir, hosts)).value();
  REQUIRE(testing::WaitUntil([&] {
    return node->admin()->ListHypervisors(AdminCtx(), false).value().size() ==
           static_cast<size_t>(hosts);
  }));
  return node;
}

// Polls the server until `pred` holds (10 s).
template <typename Pred>
InstanceState WaitServer(Node& node, const InstanceId& id, Pred pred) {
  RequestContext admin{
      UserId("admin"), ProjectId("admin"), {"admin"}, RequestId("req-x")};
  Result<InstanceState> s = Status::Internal("not polled");
  for (int i = 0; i < 1000; ++i) {
    s = node.compute()->GetServer(admin, id);
    if (pred(s)) return s.ok() ? *s : InstanceState{};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  INFO("last: " << (s.ok() ? std::string(ApiStatus(*s)) + " " + s->fault.message
                           : s.status().ToString()));
  FAIL("server " << id.str() << " never reached the expected state");
  return {};
}

bool IsStatus(const Result<InstanceState>& s, std::string_view status) {
  return s.ok() && ApiStatus(*s) == status;
}

InstanceId CreateOne(Node& node, const std::string& name,
                     const std::string& flavor = "1") {
  CreateServerRequest req;
  req.name = name;
  req.flavor_ref = flavor;
  req.image_ref = kDemoImageId;
  auto r = node.compute()->CreateServers(Ctx(), req);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  REQUIRE(r->servers.size() == 1);
  return r->servers[0].id;
}

std::vector<std::string> Types(Node& node, const InstanceId& id) {
  std::vector<std::string> out;
  for (const Envelope& e : ReadWholeStream(*node.log(), InstanceStream(id)).value()) {
    out.push_back(e.type);
  }
  return out;
}

HostState Host(Node& node, const std::string& name) {
  auto reader = node.store()->Reader(HostsProjection::kName).value();
  auto h = HostsView(reader.get()).Get(HostName(name)).value();
  REQUIRE(h.has_value());
  return *h;
}

}  // namespace

TEST_CASE(
    "a server boots through scheduler, conductor and compute to ACTIVE, then deletes") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 1)).value();
  WaitHosts(*node, 1);
  InstanceId id = CreateOne(*node, "web-1");
  // Read-your-writes: the server is visible at once.
  CHECK(node->compute()->GetServer(Ctx(), id).ok());
  InstanceState s = WaitServer(*node, id, [](auto& s) { return IsStatus(s, "ACTIVE"); });
  CHECK(s.host == HostName("compute"));
  CHECK(s.power_state == PowerState::kRunning);
  CHECK(Host(*node, "compute").used.memory_mb == 512);

  // The instance's history, in order, with one request id and a causation chain.
  auto events = ReadWholeStream(*node->log(), InstanceStream(id)).value();
  REQUIRE(events.size() == 4);
  CHECK(events[0].type == "instance.requested");
  CHECK(events[1].type == "instance.scheduled");
  CHECK(events[2].type == "build.started");
  CHECK(events[3].type == "instance.spawned");
  for (const Envelope& e : events) CHECK(e.meta.request_id == events[0].meta.request_id);
  CHECK(events[0].meta.causation == Seq());
  CHECK(events[1].meta.causation == events[0].seq);
  CHECK(events[2].meta.causation == events[1].seq);  // the work item's cause
  CHECK(events[3].meta.causation == events[1].seq);

  REQUIRE(node->compute()->DeleteServer(Ctx(), id).ok());
  WaitServer(*node, id, [](auto& s) { return s.status().IsNotFound(); });
  CHECK(Types(*node, id).back() == "instance.deleted");
  // The claim is given back.
  for (int i = 0; i < 200 && Host(*node, "compute").used.memory_mb != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(Host(*node, "compute").used == Claim{});
}

TEST_CASE("no host big enough leaves the server in ERROR with Nova's fault") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 1)).value();
  WaitHosts(*node, 1);
  InstanceId id = CreateOne(*node, "huge", "5");  // m1.xlarge: 16 GiB on a 4 GiB host
  InstanceState s = WaitServer(*node, id, [](auto& s) { return IsStatus(s, "ERROR"); });
  REQUIRE(s.has_fault);
  CHECK(s.fault.message == kNoValidHost);
  CHECK(Types(*node, id) ==
        std::vector<std::string>{"instance.requested", "instance.scheduling_failed"});
  // A server in ERROR that never reached a host is deleted at once.
  REQUIRE(node->compute()->DeleteServer(Ctx(), id).ok());
  CHECK(node->compute()->GetServer(Ctx(), id).status().IsNotFound());
}

TEST_CASE("concurrent boots never put a host over its allocation ratio") {
  TempDir dir;
  NodeOptions o = Options(dir, 3);
  o.compute.host_memory_mb = 2048;  // ×1.5 = 3072 MiB: six m1.tiny per host, 18 in all
  auto node = Node::Start(o).value();
  WaitHosts(*node, 3);
  std::vector<InstanceId> ids;
  std::vector<Status> failures;
  std::mutex mu;  // protects ids, failures (Catch2's macros are not thread-safe:
                  // the threads only collect, the test thread asserts)
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 6; ++i) {
        CreateServerRequest req;
        req.name = "vm-" + std::to_string(t) + "-" + std::to_string(i);
        req.flavor_ref = "1";
        req.image_ref = kDemoImageId;
        auto r = node->compute()->CreateServers(Ctx(), req);
        std::lock_guard<std::mutex> l(mu);
        if (r.ok() && r->servers.size() == 1) {
          ids.push_back(r->servers[0].id);
        } else {
          failures.push_back(r.status());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& st : failures) FAIL_CHECK(st.ToString());
  REQUIRE(ids.size() == 24);
  int active = 0, error = 0;
  for (const InstanceId& id : ids) {
    InstanceState s = WaitServer(
        *node, id, [](auto& s) { return IsStatus(s, "ACTIVE") || IsStatus(s, "ERROR"); });
    (ApiStatus(s) == "ACTIVE" ? active : error)++;
  }
  CHECK(active == 18);
  CHECK(error == 6);
  for (const char* h : {"compute-1", "compute-2", "compute-3"}) {
    HostState host = Host(*node, h);
    CHECK(host.used.memory_mb <= host.MemoryLimitMb());
    CHECK(host.claims.size() == 6);
  }
}

TEST_CASE("a failed build goes to ERROR with the driver's reason and frees its claim") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 1)).value();
  WaitHosts(*node, 1);
  auto* fake = dynamic_cast<FakeHypervisor*>(node->hypervisor(0));
  REQUIRE(fake != nullptr);
  fake->FailNextSpawn(Status::Internal("disk full"));
  InstanceId id = CreateOne(*node, "doomed");
  InstanceState s = WaitServer(*node, id, [](auto& s) { return IsStatus(s, "ERROR"); });
  REQUIRE(s.has_fault);
  CHECK(s.fault.message.find("disk full") != std::string::npos);
  CHECK(Types(*node, id).back() == "instance.build_failed");
  for (int i = 0; i < 200 && Host(*node, "compute").used.memory_mb != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(Host(*node, "compute").used == Claim{});
}

TEST_CASE("a server boots on libvirt's test driver") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 2, "libvirt")).value();
  WaitHosts(*node, 2);
  InstanceId id = CreateOne(*node, "on-libvirt");
  InstanceState s = WaitServer(*node, id, [](auto& s) { return IsStatus(s, "ACTIVE"); });
  CHECK(s.hypervisor_name == "instance-" + id.str());
  auto guest = node->hypervisor(s.host == HostName("compute-1") ? 0 : 1)->Inspect(id);
  REQUIRE(guest.ok());
  CHECK(guest->power_state == PowerState::kRunning);
  REQUIRE(node->compute()->DeleteServer(Ctx(), id).ok());
  WaitServer(*node, id, [](auto& s) { return s.status().IsNotFound(); });
  CHECK(node->hypervisor(0)->List().value().empty());
  CHECK(node->hypervisor(1)->List().value().empty());
}

TEST_CASE("a restarted node resumes: read models, placements and deletes continue") {
  TempDir dir;
  InstanceId first;
  {
    auto node = Node::Start(Options(dir, 1)).value();
    WaitHosts(*node, 1);
    first = CreateOne(*node, "before-restart");
    WaitServer(*node, first, [](auto& s) { return IsStatus(s, "ACTIVE"); });
  }
  auto node = Node::Start(Options(dir, 1)).value();
  CHECK(IsStatus(node->compute()->GetServer(Ctx(), first), "ACTIVE"));
  InstanceId second = CreateOne(*node, "after-restart");
  WaitServer(*node, second, [](auto& s) { return IsStatus(s, "ACTIVE"); });
  REQUIRE(node->compute()->DeleteServer(Ctx(), first).ok());
  WaitServer(*node, first, [](auto& s) { return s.status().IsNotFound(); });
  // The host registered twice with the same capacity: one event.
  int registrations = 0;
  for (const Envelope& e :
       ReadWholeStream(*node->log(), HostStream(HostName("compute"))).value()) {
    registrations += e.type == "host.registered";
  }
  CHECK(registrations == 1);
}

TEST_CASE("bad create requests are refused and append nothing") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 1)).value();
  Seq head = node->log()->Head().value();
  CreateServerRequest req;
  req.name = "x";
  req.flavor_ref = "999";
  req.image_ref = kDemoImageId;
  auto bad_flavor = node->compute()->CreateServers(Ctx(), req);
  CHECK(bad_flavor.status().code() == StatusCode::kInvalidArgument);
  CHECK(bad_flavor.status().message() == "Flavor 999 could not be found.");
  req.flavor_ref = "1";
  req.image_ref = "no-such-image";
  CHECK(node->compute()->CreateServers(Ctx(), req).status().code() ==
        StatusCode::kInvalidArgument);
  req.image_ref = kDemoImageId;
  req.name = "";
  CHECK(node->compute()->CreateServers(Ctx(), req).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(node->compute()->DeleteServer(Ctx(), InstanceId("nope")).IsNotFound());
  // Host registration may land meanwhile; no instance stream was started.
  for (const Envelope& e : node->log()->Read(head.next(), 100).value()) {
    CHECK(StreamKind(e.stream) != "instance");
  }
}

TEST_CASE("another project's server is invisible: 404, not 403") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 1)).value();
  InstanceId id = CreateOne(*node, "private");
  CHECK(node->compute()->GetServer(Ctx("other"), id).status().IsNotFound());
  CHECK(node->compute()->DeleteServer(Ctx("other"), id).IsNotFound());
  CHECK(node->compute()->ListServers(Ctx("other"), {}).value().empty());
  CHECK(node->compute()->ListServers(Ctx("demo"), {}).value().size() == 1);
}

// Counted, not timed: a page of the default order reads the page's index keys
// and records (and one key past them), however many servers the scope holds;
// a sort of the caller's choosing reads them all.
TEST_CASE("a default server list reads only its page, whatever the project holds") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 4)).value();
  CreateServerRequest many;
  many.name = "counted";
  many.flavor_ref = "1";
  many.image_ref = kDemoImageId;
  many.min_count = many.max_count = 60;
  auto created = node->compute()->CreateServers(Ctx(), many);
  REQUIRE(created.ok());
  REQUIRE(node->compute()->ListServers(Ctx(), {}).value().size() == 60);
  RequestContext admin{
      UserId("admin"), ProjectId("admin"), {"admin"}, RequestId("req-c")};
  for (const auto& [ctx, all_tenants] :
       {std::pair{Ctx(), false}, std::pair{admin, true}}) {
    for (int limit : {1, 5, 20}) {
      ListServersQuery q;
      q.all_tenants = all_tenants;
      q.limit = limit;
      ThreadReadCounter page;
      auto listed = node->compute()->ListServers(ctx, q);
      REQUIRE(listed.ok());
      CHECK(listed->size() == static_cast<size_t>(limit));
      INFO("limit " << limit << (all_tenants ? ", all tenants" : ""));
      CHECK(page.reads() <= static_cast<uint64_t>(2 * limit + 4));
      // The second page: from the marker, the same cost.
      q.marker = listed->back().id.str();
      ThreadReadCounter second;
      REQUIRE(node->compute()->ListServers(ctx, q).ok());
      CHECK(second.reads() <= static_cast<uint64_t>(2 * limit + 6));
    }
    ListServersQuery sorted;
    sorted.all_tenants = all_tenants;
    sorted.limit = 5;
    sorted.sort = {{"display_name", true}};
    ThreadReadCounter all;
    REQUIRE(node->compute()->ListServers(ctx, sorted).ok());
    CHECK(all.reads() >= 60);
  }
}

// Counted, not timed: a hypervisor page (2.33) and a hypervisor's show read
// only their hosts (from the hosts read model's id index), however many hosts
// registered; a list without a limit reads them all.
TEST_CASE("a hypervisor page and a hypervisor read only their hosts") {
  TempDir dir;
  auto node = StartRegistered(dir, 40);
  const RequestContext admin = AdminCtx();
  HypervisorFilter page;
  page.limit = 5;
  ThreadReadCounter first;
  auto listed = node->admin()->ListHypervisors(admin, true, page);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 5);
  CHECK(listed->front().id == 1);
  const uint64_t first_reads = first.reads();
  CHECK(first_reads <= 5 * 8 + 8);
  page.marker = std::to_string(listed->back().id);
  ThreadReadCounter second;
  auto next = node->admin()->ListHypervisors(admin, true, page);
  REQUIRE(next.ok());
  REQUIRE(next->size() == 5);
  CHECK(next->front().id == 6);
  CHECK(second.reads() <= first_reads + 8);
  page.marker = next->back().uuid;  // 2.53's marker
  page.marker_is_uuid = true;
  auto third = node->admin()->ListHypervisors(admin, true, page);
  REQUIRE(third.ok());
  CHECK(third->front().id == 11);
  page.marker = "999";
  page.marker_is_uuid = false;
  CHECK(node->admin()->ListHypervisors(admin, true, page).status().code() ==
        StatusCode::kInvalidArgument);
  ThreadReadCounter show;
  auto one =
      node->admin()->GetHypervisor(admin, "17", "os_compute_api:os-hypervisors:show");
  REQUIRE(one.ok());
  CHECK(one->id == 17);
  CHECK(show.reads() <= 12);
  auto by_uuid = node->admin()->GetHypervisor(
      admin, one->uuid, "os_compute_api:os-hypervisors:show", /*by_uuid=*/true);
  REQUIRE(by_uuid.ok());
  CHECK(by_uuid->host.name == one->host.name);
  ThreadReadCounter all;
  REQUIRE(node->admin()->ListHypervisors(admin, true).ok());
  CHECK(all.reads() >= 40);
  CHECK(all.reads() > 4 * first_reads);  // 40 hosts against 5
  // A create's zone check reads the aggregates and a host of the zone, not all.
  ThreadReadCounter zone;
  CHECK(CheckZoneAvailable(*node->store(), "nova").ok());
  CHECK(zone.reads() <= 4);
  CHECK(CheckZoneAvailable(*node->store(), "nowhere").code() ==
        StatusCode::kInvalidArgument);
}

// Counted, not timed: a page of os-simple-tenant-usage (2.40) reads its page
// from the project index (and the servers not active in the period), however
// many servers the project holds.
TEST_CASE("a usage page reads only its page of the project's servers") {
  TempDir dir;
  auto node = StartRegistered(dir, 4);
  const RequestContext admin = AdminCtx();
  CreateServerRequest many;
  many.name = "used";
  many.flavor_ref = "1";
  many.image_ref = kDemoImageId;
  many.min_count = many.max_count = 20;
  REQUIRE(node->compute()->CreateServers(Ctx(), many).ok());
  // Every one settled: launched, or failed (never launched, never counted).
  size_t launched = 0;
  REQUIRE(testing::WaitUntil(
      [&] {
        auto all = node->compute()->ListServers(Ctx(), {});
        if (!all.ok() || all->size() != 20) return false;
        launched = 0;
        for (const InstanceState& s : *all) {
          if (s.launched_at.micros != 0) {
            ++launched;
          } else if (s.vm_state != VmState::kError) {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(60)));
  REQUIRE(launched >= 11);
  const char* policy = "os_compute_api:os-simple-tenant-usage:show";
  ComputeService::ActiveServersQuery q;
  q.start = Timestamp{0};
  q.stop = Timestamp{INT64_MAX};
  q.project = ProjectId("demo");
  q.limit = 5;
  ThreadReadCounter first;
  auto page = node->compute()->ActiveServers(admin, policy, q);
  REQUIRE(page.ok());
  REQUIRE(page->size() == 5);
  CHECK(first.reads() <= 2 * 5 + 4);
  q.marker = page->back().id.str();
  ThreadReadCounter second;
  auto next = node->compute()->ActiveServers(admin, policy, q);
  REQUIRE(next.ok());
  REQUIRE(next->size() == 5);
  CHECK(next->front().id.str() > page->back().id.str());  // id order, after the marker
  CHECK(second.reads() <= 2 * 5 + 6);
  q.marker.reset();
  q.limit = 1000;
  auto all = node->compute()->ActiveServers(admin, policy, q);
  REQUIRE(all.ok());
  CHECK(all->size() == launched);
  CHECK(std::is_sorted(all->begin(), all->end(),
                       [](const InstanceState& a, const InstanceState& b) {
                         return a.id.str() < b.id.str();
                       }));
  // A period that ended before they launched has none of them.
  q.stop = Timestamp{1};
  CHECK(node->compute()->ActiveServers(admin, policy, q)->empty());
}

// A default list (no sort keys, live servers) pages through the newest-first
// index; it must give exactly what sorting every server gives: created_at,
// then id, descending (servers made by one request share created_at).
TEST_CASE("default server lists page through the newest-first index as sorting would") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 4)).value();
  CreateServerRequest many;
  many.name = "batch";
  many.flavor_ref = "1";
  many.image_ref = kDemoImageId;
  many.min_count = many.max_count = 6;
  REQUIRE(node->compute()->CreateServers(Ctx(), many).ok());
  std::vector<InstanceId> singles;
  for (int i = 0; i < 3; ++i)
    singles.push_back(CreateOne(*node, "single-" + std::to_string(i)));
  many.max_count = many.min_count = 2;
  REQUIRE(node->compute()->CreateServers(Ctx("other"), many).ok());
  REQUIRE(node->compute()->DeleteServer(Ctx(), singles[1]).ok());
  WaitServer(*node, singles[1], [](const Result<InstanceState>& s) {
    return !s.ok() && s.status().IsNotFound();
  });
  RequestContext admin{
      UserId("admin"), ProjectId("admin"), {"admin"}, RequestId("req-l")};

  auto ids = [](const std::vector<InstanceState>& v) {
    std::vector<std::string> out;
    for (const InstanceState& s : v) out.push_back(s.id.str());
    return out;
  };
  for (const auto& [ctx, all_tenants, expected] :
       {std::tuple{Ctx(), false, size_t{8}}, std::tuple{admin, true, size_t{10}}}) {
    ListServersQuery sorted;
    sorted.all_tenants = all_tenants;
    sorted.sort = {{"created_at", true}, {"uuid", true}};  // sorts every server
    std::vector<std::string> want =
        ids(node->compute()->ListServers(ctx, sorted).value());
    REQUIRE(want.size() == expected);
    for (int limit : {1, 3, 1000}) {
      ListServersQuery q;
      q.all_tenants = all_tenants;
      q.limit = limit;
      std::vector<std::string> got;
      while (true) {
        auto page = node->compute()->ListServers(ctx, q);
        REQUIRE(page.ok());
        if (page->empty()) break;
        for (const std::string& id : ids(*page)) got.push_back(id);
        q.marker = page->back().id.str();
      }
      INFO("limit " << limit);
      CHECK(got == want);
    }
    // A filter is applied while reading the index.
    ListServersQuery by_name;
    by_name.all_tenants = all_tenants;
    by_name.name = "single";
    sorted.name = "single";
    CHECK(ids(node->compute()->ListServers(ctx, by_name).value()) ==
          ids(node->compute()->ListServers(ctx, sorted).value()));
    CHECK(node->compute()->ListServers(ctx, by_name).value().size() == 2);
  }
  // A status filter reads that status's index, which follows the server.
  WaitServer(*node, singles[0], [](auto& s) { return IsStatus(s, "ACTIVE"); });
  REQUIRE(node->compute()
              ->ServerAction(Ctx(), singles[0], LifecycleAction::kStop, false)
              .ok());
  WaitServer(*node, singles[0], [](auto& s) {
    return s.ok() && s->task_state == TaskState::kNone && ApiStatus(*s) == "SHUTOFF";
  });
  for (const char* status : {"ACTIVE", "SHUTOFF", "ERROR", "BUILD"}) {
    for (bool all_tenants : {false, true}) {
      const RequestContext& ctx = all_tenants ? admin : Ctx();
      ListServersQuery q, sorted;
      q.status = sorted.status = status;
      q.all_tenants = sorted.all_tenants = all_tenants;
      sorted.sort = {{"created_at", true}, {"uuid", true}};
      INFO(status << (all_tenants ? " all tenants" : ""));
      CHECK(ids(node->compute()->ListServers(ctx, q).value()) ==
            ids(node->compute()->ListServers(ctx, sorted).value()));
    }
  }
  // The admin's host filter reads that host's index.
  std::set<std::string> hosts;
  ListServersQuery every;
  every.all_tenants = true;
  for (const InstanceState& s : node->compute()->ListServers(admin, every).value()) {
    if (!s.host.empty()) hosts.insert(s.host.str());
  }
  CHECK(hosts.size() >= 2);
  for (const std::string& host : hosts) {
    for (bool all_tenants : {false, true}) {
      ListServersQuery q, sorted;
      q.host = sorted.host = host;
      q.all_tenants = sorted.all_tenants = all_tenants;
      q.limit = 2;
      sorted.sort = {{"created_at", true}, {"uuid", true}};
      std::vector<std::string> got;
      for (;;) {
        auto page = node->compute()->ListServers(admin, q).value();
        if (page.empty()) break;
        for (const std::string& id : ids(page)) got.push_back(id);
        q.marker = page.back().id.str();
      }
      INFO(host << (all_tenants ? " all tenants" : ""));
      CHECK(got == ids(node->compute()->ListServers(admin, sorted).value()));
    }
  }
  ListServersQuery shutoff;
  shutoff.status = "SHUTOFF";
  CHECK(ids(node->compute()->ListServers(Ctx(), shutoff).value()) ==
        std::vector<std::string>{singles[0].str()});
  // changes-since reads the servers changed since then (deleted ones too).
  {
    auto reader = node->store()->Reader(ServersProjection::kName).value();
    ServersView::ListOptions demo{ProjectId("demo"), /*include_deleted=*/true};
    std::vector<InstanceState> everything = ServersView(reader.get()).List(demo).value();
    std::vector<Timestamp> times;
    for (const InstanceState& s : everything) times.push_back(s.updated_at);
    std::sort(times.begin(), times.end());
    for (Timestamp since : {times.front(), times[times.size() / 2], times.back()}) {
      std::vector<InstanceState> want;
      for (const InstanceState& s : everything) {
        if (s.updated_at >= since) want.push_back(s);
      }
      std::sort(want.begin(), want.end(),
                [](const InstanceState& a, const InstanceState& b) {
                  return std::tie(b.created_at, b.id) < std::tie(a.created_at, a.id);
                });
      ListServersQuery q;
      q.changes_since = since;
      CHECK(ids(node->compute()->ListServers(Ctx(), q).value()) == ids(want));
    }
  }
  // A deleted server, or another project's, is no marker for a default list.
  ListServersQuery q;
  q.marker = singles[1].str();
  CHECK(node->compute()->ListServers(Ctx(), q).status().code() ==
        StatusCode::kInvalidArgument);
  q.marker = node->compute()->ListServers(Ctx("other"), {}).value().front().id.str();
  CHECK(node->compute()->ListServers(Ctx(), q).status().code() ==
        StatusCode::kInvalidArgument);
}

}  // namespace chronova::testing

namespace chronova::testing {

TEST_CASE("lifecycle actions run on libvirt's test driver and are recorded as actions") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 1, "libvirt")).value();
  WaitHosts(*node, 1);
  InstanceId id = CreateOne(*node, "cycle");
  WaitServer(*node, id, [](auto& s) { return IsStatus(s, "ACTIVE"); });
  auto act = [&](LifecycleAction a, bool hard, std::string_view status,
                 PowerState power) {
    Status st = node->compute()->ServerAction(Ctx(), id, a, hard);
    INFO(LifecycleActionName(a) << ": " << st.ToString());
    REQUIRE(st.ok());
    InstanceState s = WaitServer(*node, id, [&](auto& s) {
      return s.ok() && s->task_state == TaskState::kNone && ApiStatus(*s) == status;
    });
    CHECK(s.power_state == power);
  };
  act(LifecycleAction::kStop, false, "SHUTOFF", PowerState::kShutdown);
  // Nova's InstanceInvalidState wording, 409 over HTTP.
  Status again = node->compute()->ServerAction(Ctx(), id, LifecycleAction::kStop, false);
  CHECK(again.code() == StatusCode::kConflict);
  CHECK(again.message() ==
        "Cannot 'stop' instance " + id.str() + " while it is in vm_state stopped");
  act(LifecycleAction::kStart, false, "ACTIVE", PowerState::kRunning);
  act(LifecycleAction::kReboot, false, "ACTIVE", PowerState::kRunning);
  act(LifecycleAction::kReboot, true, "ACTIVE", PowerState::kRunning);
  act(LifecycleAction::kPause, false, "PAUSED", PowerState::kPaused);
  act(LifecycleAction::kUnpause, false, "ACTIVE", PowerState::kRunning);
  act(LifecycleAction::kSuspend, false, "SUSPENDED", PowerState::kShutdown);
  act(LifecycleAction::kResume, false, "ACTIVE", PowerState::kRunning);

  // os-instance-actions: every action with its compute step, newest first.
  auto actions = node->compute()->ListInstanceActions(Ctx(), id).value();
  std::vector<std::string> names;
  for (const InstanceAction& a : actions) names.push_back(a.action);
  CHECK(names == std::vector<std::string>{"resume", "suspend", "unpause", "pause",
                                          "reboot", "reboot", "start", "stop", "create"});
  InstanceAction stop = actions[7];
  REQUIRE(stop.events.size() == 1);
  CHECK(stop.events[0].event == "compute_stop_instance");
  CHECK(stop.events[0].result == "Success");
  CHECK(stop.events[0].host == HostName("compute"));

  // A locked server refuses its owner's actions and deletes, not an admin's.
  REQUIRE(node->compute()->LockServer(Ctx(), id).ok());
  REQUIRE(node->compute()->LockServer(Ctx(), id).ok());  // idempotent
  Status locked = node->compute()->ServerAction(Ctx(), id, LifecycleAction::kStop, false);
  CHECK(locked.code() == StatusCode::kConflict);
  CHECK(locked.message() == "Instance " + id.str() + " is locked");
  CHECK(node->compute()->DeleteServer(Ctx(), id).code() == StatusCode::kConflict);
  REQUIRE(node->compute()->UnlockServer(Ctx(), id).ok());
  REQUIRE(node->compute()->DeleteServer(Ctx(), id).ok());
  WaitServer(*node, id, [](auto& s) { return s.status().IsNotFound(); });
}

TEST_CASE("a failed lifecycle action clears the task and keeps the vm state") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 1)).value();
  WaitHosts(*node, 1);
  InstanceId id = CreateOne(*node, "fails");
  WaitServer(*node, id, [](auto& s) { return IsStatus(s, "ACTIVE"); });
  auto* fake = dynamic_cast<FakeHypervisor*>(node->hypervisor(0));
  REQUIRE(fake != nullptr);
  fake->FailNextAction(Status::Internal("libvirt: pause domain: boom"));
  REQUIRE(node->compute()->ServerAction(Ctx(), id, LifecycleAction::kPause, false).ok());
  CHECK(ApiStatus(node->compute()->GetServer(Ctx(), id).value()) == "ACTIVE");
  WaitServer(*node, id, [](auto& s) {
    return s.ok() && s->task_state == TaskState::kNone && s->vm_state == VmState::kActive;
  });
  CHECK(Types(*node, id).back() == "instance.action_failed");
  auto action = node->compute()->ListInstanceActions(Ctx(), id).value().front();
  CHECK(action.action == "pause");
  CHECK(action.message == "Error");
  REQUIRE(action.events.size() == 1);
  CHECK(action.events[0].result == "Error");
  CHECK(action.events[0].details == "libvirt: pause domain: boom");
}

}  // namespace chronova::testing

namespace chronova::testing {

TEST_CASE("a rebuild recreates the guest from the new image, renamed, keeping SHUTOFF") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 1, "libvirt")).value();
  WaitHosts(*node, 1);
  InstanceId id = CreateOne(*node, "old-name");
  WaitServer(*node, id, [](auto& s) { return IsStatus(s, "ACTIVE"); });

  std::map<std::string, std::string> metadata{{"rebuilt", "yes"}};
  auto rebuilding = node->compute()->RebuildServer(Ctx(), id, kDemoImageId,
                                                   std::string("new-name"), metadata);
  INFO(rebuilding.status().ToString());
  REQUIRE(rebuilding.ok());
  CHECK(ApiStatus(*rebuilding) == "REBUILD");
  CHECK(rebuilding->name == "new-name");
  CHECK(rebuilding->metadata == metadata);
  InstanceState s = WaitServer(*node, id, [](auto& s) { return IsStatus(s, "ACTIVE"); });
  CHECK(s.power_state == PowerState::kRunning);
  CHECK(Types(*node, id).back() == "instance.rebuilt");

  // From SHUTOFF the rebuilt guest stays off, as in Nova.
  REQUIRE(node->compute()->ServerAction(Ctx(), id, LifecycleAction::kStop, false).ok());
  WaitServer(*node, id, [](auto& s) { return IsStatus(s, "SHUTOFF"); });
  REQUIRE(node->compute()
              ->RebuildServer(Ctx(), id, kDemoImageId, std::nullopt, std::nullopt)
              .ok());
  s = WaitServer(*node, id, [](auto& s) { return IsStatus(s, "SHUTOFF"); });
  CHECK(s.power_state == PowerState::kShutdown);
  CHECK(s.name == "new-name");
  CHECK(s.metadata == metadata);  // unchanged when not given

  auto unknown = node->compute()->RebuildServer(
      Ctx(), id, "00000000-0000-0000-0000-000000000000", std::nullopt, std::nullopt);
  CHECK(unknown.status().code() == StatusCode::kInvalidArgument);
  CHECK(unknown.status().message() == "Cannot find image for rebuild");

  auto actions = node->compute()->ListInstanceActions(Ctx(), id).value();
  REQUIRE(actions.size() == 4);
  CHECK(actions[0].action == "rebuild");
  REQUIRE(actions[0].events.size() == 1);
  CHECK(actions[0].events[0].event == "compute_rebuild_instance");
  CHECK(actions[0].events[0].result == "Success");
}

}  // namespace chronova::testing
