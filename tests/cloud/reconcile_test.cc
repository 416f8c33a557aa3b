// Restart safety and power-state drift (issue 5, item 4): a compute agent that
// comes back reconciles its guests with the log; libvirt lifecycle events become
// instance.power_state_changed; a build that never finishes fails. The whole
// control plane in one process on the real RocksDB log and libvirt's test:///
// driver; "outside" acts on the guests through the driver (or a libvirt
// connection of the test's own), never through the agent.
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "agents/compute/compute_agent.h"
#include "agents/compute/hypervisor.h"
#include "api/service/compute_service.h"
#include "core/event_codec.h"
#include "projections/hosts_projection.h"
#include "projections/instance_actions_projection.h"
#include "tests/support/node_test_util.h"
#include "tests/support/test_util.h"
#include "tools/node.h"

namespace chronova::testing {
namespace {

RequestContext Admin() {
  return RequestContext{UserId("admin"),
                        ProjectId("admin"),
                        {"admin", "member", "reader"},
                        RequestId("req-" + Env::Default()->NewUuid())};
}

NodeOptions LibvirtCloud(const TempDir& dir) {
  NodeOptions o = FakeCloudOptions(dir, 1, 4, 4096);
  o.compute.hypervisor = "libvirt";  // a test:/// host of its own
  return o;
}

// Polls until `pred(server)` holds, for up to `seconds`; returns the server
// (empty if it is gone).
template <typename Pred>
InstanceState WaitServer(Node& node, const InstanceId& id, Pred pred, int seconds = 10) {
  Result<InstanceState> s = Status::Internal("not polled");
  for (int i = 0; i < seconds * 100; ++i) {
    s = node.compute()->GetServer(Admin(), id);
    if (pred(s)) return s.ok() ? *s : InstanceState{};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  INFO("last: " << (s.ok() ? std::string(ApiStatus(*s)) + " power " +
                                 std::to_string(static_cast<int>(s->power_state))
                           : s.status().ToString()));
  FAIL("server " << id.str() << " never reached the expected state");
  return {};
}

auto HasStatus(std::string_view status) {
  return [status](const Result<InstanceState>& s) {
    return s.ok() && ApiStatus(*s) == status;
  };
}

InstanceId CreateOne(Node& node, const std::string& name) {
  CreateServerRequest req;
  req.name = name;
  req.flavor_ref = "1";
  req.image_ref = kDemoImageId;
  auto r = node.compute()->CreateServers(MemberContext(), req);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  REQUIRE(r->servers.size() == 1);
  return r->servers[0].id;
}

std::vector<Envelope> Stream(Node& node, const InstanceId& id) {
  return ReadWholeStream(*node.log(), InstanceStream(id)).value();
}

size_t CountType(const std::vector<Envelope>& events, std::string_view type) {
  return std::count_if(events.begin(), events.end(),
                       [&](const Envelope& e) { return e.type == type; });
}

// The payload of the last instance.power_state_changed of `id`.
InstancePowerStateChanged LastPowerChange(Node& node, const InstanceId& id) {
  auto events = Stream(node, id);
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if (it->type != InstancePowerStateChanged::kType) continue;
    return std::get<InstancePowerStateChanged>(DecodeEvent(*it).value());
  }
  FAIL("no instance.power_state_changed for " << id.str());
  return {};
}

std::vector<InstanceId> Guests(Hypervisor* h) {
  std::vector<InstanceId> out;
  for (const GuestInfo& g : h->List().value()) out.push_back(g.instance_id);
  return out;
}

// What the host "compute" has claimed, waiting up to 5 s for it to be nothing.
Claim UsedOnceReleased(Node& node) {
  Claim used;
  for (int i = 0; i < 500; ++i) {
    auto reader = node.store()->Reader(HostsProjection::kName).value();
    used = HostsView(reader.get()).Get(HostName("compute")).value()->used;
    if (used == Claim{}) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return used;
}

GuestSpec SpecOf(const InstanceId& id) {
  GuestSpec spec;
  spec.instance_id = id;
  spec.name = "survivor";
  spec.flavor = FlavorSpec{FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {}};
  return spec;
}

}  // namespace

TEST_CASE(
    "a guest stopped behind the agent's back while it was down is SHUTOFF after the "
    "agent restarts, with instance.power_state_changed") {
  TempDir dir;
  auto node = Node::Start(LibvirtCloud(dir)).value();
  WaitHosts(*node, 1);
  InstanceId id = CreateOne(*node, "drift");
  WaitServer(*node, id, HasStatus("ACTIVE"));

  node->compute_agent(0)->Stop();
  // While the agent is away the guest goes down: no lifecycle event reaches anyone.
  REQUIRE(node->hypervisor(0)->Perform(id, LifecycleAction::kStop, false).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(ApiStatus(node->compute()->GetServer(Admin(), id).value()) == "ACTIVE");

  REQUIRE(node->compute_agent(0)->Start().ok());
  InstanceState s = WaitServer(*node, id, HasStatus("SHUTOFF"));
  CHECK(s.vm_state == VmState::kStopped);
  CHECK(s.power_state == PowerState::kShutdown);
  CHECK(s.task_state == TaskState::kNone);
  InstancePowerStateChanged change = LastPowerChange(*node, id);
  CHECK(change.host == HostName("compute"));
  CHECK(change.power_state == static_cast<int32_t>(PowerState::kShutdown));
  CHECK(change.reason == "compute host restart");
  // Recorded once: the same report again is no news.
  CHECK(CountType(Stream(*node, id), InstancePowerStateChanged::kType) == 1);

  // os-instance-actions shows the sync, by the system (no user), on the host.
  auto actions = node->compute()->ListInstanceActions(Admin(), id).value();
  REQUIRE_FALSE(actions.empty());
  const InstanceAction& sync = actions.front();  // newest first
  CHECK(sync.action == kActionSyncPowerState);
  CHECK(sync.user_id.empty());
  REQUIRE(sync.events.size() == 1);
  CHECK(sync.events[0].event == "compute_sync_instance_power_state");
  CHECK(sync.events[0].result == kResultSuccess);
  CHECK(sync.events[0].host == HostName("compute"));

  // The stopped server starts again like any other.
  REQUIRE(node->compute()
              ->ServerAction(MemberContext(), id, LifecycleAction::kStart, false)
              .ok());
  WaitServer(*node, id, HasStatus("ACTIVE"));
  CHECK(node->hypervisor(0)->Inspect(id).value().power_state == PowerState::kRunning);
}

TEST_CASE(
    "when the agent restarts, guests the log does not place there are destroyed and "
    "a delete lost meanwhile is carried out") {
  TempDir dir;
  auto node = Node::Start(LibvirtCloud(dir)).value();
  WaitHosts(*node, 1);
  Hypervisor* hv = node->hypervisor(0);
  InstanceId deleted = CreateOne(*node, "deleted");
  InstanceId deleting = CreateOne(*node, "deleting");
  InstanceId kept = CreateOne(*node, "kept");
  for (const InstanceId& id : {deleted, deleting, kept})
    WaitServer(*node, id, HasStatus("ACTIVE"));
  REQUIRE(node->compute()->DeleteServer(MemberContext(), deleted).ok());
  WaitServer(*node, deleted, [](auto& s) { return s.status().IsNotFound(); });

  node->compute_agent(0)->Stop();
  // The deleted instance's guest is back (a host restored from a backup), a
  // guest no instance ever had appears, and a delete is asked for meanwhile.
  REQUIRE(hv->Spawn(SpecOf(deleted)).ok());
  InstanceId stranger(Env::Default()->NewUuid());
  REQUIRE(hv->Spawn(SpecOf(stranger)).ok());
  REQUIRE(node->compute()->DeleteServer(MemberContext(), deleting).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(node->compute()->GetServer(Admin(), deleting).value().task_state ==
        TaskState::kDeleting);
  CHECK(Guests(hv).size() == 4);

  REQUIRE(node->compute_agent(0)->Start().ok());
  WaitServer(*node, deleting, [](auto& s) { return s.status().IsNotFound(); });
  std::vector<InstanceId> guests;
  for (int i = 0; i < 500; ++i) {
    guests = Guests(hv);
    if (guests.size() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(guests == std::vector<InstanceId>{kept});
  // Reaping writes nothing to a deleted instance's history.
  CHECK(Stream(*node, deleted).back().type == InstanceDeleted::kType);
  CHECK(ApiStatus(node->compute()->GetServer(Admin(), kept).value()) == "ACTIVE");
}

TEST_CASE("an instance whose agent was down when its build was sent ends ACTIVE") {
  TempDir dir;
  auto node = Node::Start(LibvirtCloud(dir)).value();
  WaitHosts(*node, 1);
  node->compute_agent(0)->Stop();
  // Placed on the host (it heartbeated moments ago), but the build work is lost.
  InstanceId id = CreateOne(*node, "mid-build");
  WaitServer(*node, id, [](auto& s) { return s.ok() && !s->host.empty(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(ApiStatus(node->compute()->GetServer(Admin(), id).value()) == "BUILD");

  REQUIRE(node->compute_agent(0)->Start().ok());
  InstanceState s = WaitServer(*node, id, HasStatus("ACTIVE"));
  CHECK(s.power_state == PowerState::kRunning);
  auto events = Stream(*node, id);
  CHECK(CountType(events, BuildStarted::kType) == 1);
  CHECK(CountType(events, InstanceSpawned::kType) == 1);
  CHECK(Guests(node->hypervisor(0)) == std::vector<InstanceId>{id});
}

TEST_CASE(
    "an instance whose agent died after spawning its guest, before reporting it, ends "
    "ACTIVE with one guest") {
  TempDir dir;
  auto node = Node::Start(LibvirtCloud(dir)).value();
  WaitHosts(*node, 1);
  node->compute_agent(0)->Stop();
  InstanceId id = CreateOne(*node, "half-built");
  InstanceState s =
      WaitServer(*node, id, [](auto& s) { return s.ok() && !s->host.empty(); });
  // What the dead agent got done: build.started recorded, the guest running.
  AppendRequest started;
  started.stream = InstanceStream(id);
  started.expected = ExpectedVersion::Exactly(s.version);
  started.key = IdempotencyKey("started-" + id.str());
  EventMeta meta{Env::Default()->Now(), s.task_request_id, s.task_seq, Actor{}};
  started.events.push_back(MakeNewEvent(BuildStarted{HostName("compute")}, meta));
  REQUIRE(node->log()->Append(started).ok());
  REQUIRE(node->hypervisor(0)->Spawn(SpecOf(id)).ok());

  REQUIRE(node->compute_agent(0)->Start().ok());
  s = WaitServer(*node, id, HasStatus("ACTIVE"));
  CHECK(s.power_state == PowerState::kRunning);
  auto events = Stream(*node, id);
  CHECK(CountType(events, BuildStarted::kType) == 1);
  CHECK(CountType(events, InstanceSpawned::kType) == 1);
  CHECK(CountType(events, InstancePowerStateChanged::kType) == 0);  // building: no drift
  CHECK(Guests(node->hypervisor(0)) == std::vector<InstanceId>{id});
}

TEST_CASE(
    "the periodic power-state sync finds drift a driver without events cannot "
    "report") {
  TempDir dir;
  NodeOptions o = FakeCloudOptions(dir, 1, 4, 4096);  // the fake driver: no events
  o.compute.sync_power_state_interval_s = 1;
  auto node = Node::Start(o).value();
  WaitHosts(*node, 1);
  InstanceId id = CreateOne(*node, "quiet");
  WaitServer(*node, id, HasStatus("ACTIVE"));
  REQUIRE(node->hypervisor(0)->Perform(id, LifecycleAction::kStop, false).ok());
  InstanceState s = WaitServer(*node, id, HasStatus("SHUTOFF"), 5);
  CHECK(s.power_state == PowerState::kShutdown);
  CHECK(LastPowerChange(*node, id).reason == "periodic power-state sync");
  // A guest that is gone altogether: power_state NOSTATE, the vm_state stays
  // (Nova ignores a missing guest).
  REQUIRE(node->hypervisor(0)->Destroy(id).ok());
  s = WaitServer(
      *node, id, [](auto& s) { return s.ok() && s->power_state == PowerState::kNoState; },
      5);
  CHECK(ApiStatus(s) == "SHUTOFF");
  CHECK(LastPowerChange(*node, id).reason == "periodic power-state sync: no guest");
}

TEST_CASE(
    "a server whose host is down is deleted at once, without it, and its guest is "
    "reaped when the host comes back") {
  TempDir dir;
  NodeOptions o = LibvirtCloud(dir);
  o.compute.report_interval_us = 100000;    // heartbeats every 0.1 s
  o.service_down_time_us = 500000;  // down after 0.5 s of silence
  auto node = Node::Start(o).value();
  WaitHosts(*node, 1);
  Hypervisor* hv = node->hypervisor(0);
  InstanceId id = CreateOne(*node, "stranded");
  WaitServer(*node, id, HasStatus("ACTIVE"));

  node->compute_agent(0)->Stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(900));  // the host is down
  REQUIRE(node->compute()->DeleteServer(MemberContext(), id).ok());
  WaitServer(
      *node, id, [](auto& s) { return s.status().IsNotFound(); }, 5);
  auto events = Stream(*node, id);
  REQUIRE(events.back().type == InstanceDeleted::kType);
  CHECK(std::get<InstanceDeleted>(DecodeEvent(events.back()).value()).host ==
        HostName("compute"));
  CHECK(events.back().meta.causation == events[events.size() - 2].seq);  // the request
  CHECK(events[events.size() - 2].type == InstanceDeleteRequested::kType);
  CHECK(UsedOnceReleased(*node) == Claim{});
  CHECK(Guests(hv) == std::vector<InstanceId>{id});  // nobody told the host

  REQUIRE(node->compute_agent(0)->Start().ok());
  std::vector<InstanceId> guests;
  for (int i = 0; i < 500 && !(guests = Guests(hv)).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(guests.empty());
  CHECK(CountType(Stream(*node, id), InstanceDeleted::kType) == 1);
}

TEST_CASE(
    "an instance whose host never comes back fails its build after "
    "instance_build_timeout, with a reason, and gives its claim back") {
  TempDir dir;
  NodeOptions o = LibvirtCloud(dir);
  o.instance_build_timeout_s = 1;
  auto node = Node::Start(o).value();
  WaitHosts(*node, 1);
  node->compute_agent(0)->Stop();
  InstanceId id = CreateOne(*node, "orphaned-build");
  // The conductor's sweep runs every 5 s.
  InstanceState s = WaitServer(*node, id, HasStatus("ERROR"), 20);
  REQUIRE(s.has_fault);
  CHECK(s.fault.message == "Instance build timed out. Set to error state.");
  auto events = Stream(*node, id);
  CHECK(events.back().type == InstanceBuildFailed::kType);
  CHECK(events.back().meta.request_id == events.front().meta.request_id);
  CHECK(UsedOnceReleased(*node) == Claim{});
}

TEST_CASE(
    "a live lifecycle event (virDomainDestroy from outside) is recorded as it "
    "happens, and a stopped guest started from outside is stopped again") {
  TempDir dir;
  NodeOptions o = LibvirtCloud(dir);
  // One libvirt host shared by every connection of this process, so the test
  // can act on the guest through a connection of its own.
  o.compute.libvirt_uri = "test:///default";
  // No periodic power-state sync: only the lifecycle event can tell the
  // control plane that the guest went down.
  o.compute.sync_power_state_interval_s = 0;
  auto node = Node::Start(o).value();
  WaitHosts(*node, 1);
  InstanceId id = CreateOne(*node, "live");
  WaitServer(*node, id, HasStatus("ACTIVE"));
  REQUIRE(CountType(Stream(*node, id), InstancePowerStateChanged::kType) == 0);

  virConnectPtr conn = virConnectOpen("test:///default");
  REQUIRE(conn != nullptr);
  virDomainPtr dom = virDomainLookupByName(conn, DomainName(id).c_str());
  REQUIRE(dom != nullptr);
  REQUIRE(virDomainDestroy(dom) == 0);
  InstanceState s = WaitServer(*node, id, HasStatus("SHUTOFF"));
  CHECK(s.power_state == PowerState::kShutdown);
  CHECK(CountType(Stream(*node, id), InstancePowerStateChanged::kType) == 1);
  InstancePowerStateChanged change = LastPowerChange(*node, id);
  CHECK(change.host == HostName("compute"));
  CHECK(change.power_state == static_cast<int32_t>(PowerState::kShutdown));
  CHECK(change.reason == "lifecycle event");

  // Nova's force_stop: a stopped instance whose guest runs is stopped again.
  REQUIRE(virDomainCreate(dom) == 0);
  for (int i = 0; i < 500; ++i) {
    if (CountType(Stream(*node, id), InstanceActionCompleted::kType) == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  s = WaitServer(*node, id, [](auto& s) {
    return s.ok() && ApiStatus(*s) == "SHUTOFF" && s->task_state == TaskState::kNone &&
           s->power_state == PowerState::kShutdown;
  });
  int state = 0, reason = 0;
  REQUIRE(virDomainGetState(dom, &state, &reason, 0) == 0);
  CHECK(state == VIR_DOMAIN_SHUTOFF);
  auto events = Stream(*node, id);
  CHECK(CountType(events, InstancePowerStateChanged::kType) == 2);
  CHECK(CountType(events, InstanceActionCompleted::kType) == 1);
  // The forced stop is a step of the sync action that asked for it.
  auto actions = node->compute()->ListInstanceActions(Admin(), id).value();
  REQUIRE_FALSE(actions.empty());
  CHECK(actions.front().action == kActionSyncPowerState);
  CHECK(actions.front().events.size() == 2);
  virDomainFree(dom);
  virConnectClose(conn);
}

}  // namespace chronova::testing
