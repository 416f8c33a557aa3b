// The Bus over core NATS against a real nats-server: delivery by subject and
// wildcard, reconnection after the server restarts, and host queries
// (request/reply over the bus).
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "agents/bus.h"
#include "agents/heartbeat_monitor.h"
#include "agents/host_query.h"
#include "agents/messages.h"
#include "agents/nats_liveness.h"
#include "agents/subjects.h"
#include "core/codec.h"
#include "tests/support/nats_server.h"
#include "tests/support/test_util.h"

namespace chronova {
namespace {

using testing::NatsServer;
using testing::TempDir;
using testing::WaitUntil;

// Collects what a subscription receives.
struct Inbox {
  std::mutex mu;  // protects got
  std::vector<std::pair<std::string, std::string>> got;
  BusHandler Handler() {
    return [this](const std::string& subject, const std::string& payload) {
      std::lock_guard<std::mutex> l(mu);
      got.emplace_back(subject, payload);
    };
  }
  size_t size() {
    std::lock_guard<std::mutex> l(mu);
    return got.size();
  }
  std::vector<std::pair<std::string, std::string>> Copy() {
    std::lock_guard<std::mutex> l(mu);
    return got;
  }
};

TEST_CASE("the NATS bus delivers by exact subject and by a '.>' prefix, in publish order",
          "[nats]") {
  TempDir dir;
  NatsServer nats(dir.Sub("nats"));
  auto bus = NewNatsBus(nats.url());
  REQUIRE(bus.ok());
  Inbox exact, all, other;
  auto s1 = (*bus)->Subscribe("report.h1", exact.Handler());
  auto s2 = (*bus)->Subscribe("report.>", all.Handler());
  auto s3 = (*bus)->Subscribe("work.h1", other.Handler());
  REQUIRE((s1.ok() && s2.ok() && s3.ok()));
  for (int i = 0; i < 50; ++i) {
    REQUIRE((*bus)->Publish(i % 2 ? "report.h1" : "report.h2", std::to_string(i)).ok());
  }
  REQUIRE(WaitUntil([&] { return exact.size() == 25 && all.size() == 50; }));
  auto got = all.Copy();
  for (int i = 0; i < 50; ++i) {
    CHECK(got[static_cast<size_t>(i)].second == std::to_string(i));
    CHECK(got[static_cast<size_t>(i)].first == (i % 2 ? "report.h1" : "report.h2"));
  }
  CHECK(other.size() == 0);
}

TEST_CASE("the NATS bus takes a cluster's list of servers and delivers across its nodes",
          "[nats][cluster]") {
  TempDir dir;
  testing::NatsCluster cluster(dir.Sub("cluster"), 3);
  // One client given the whole list (as --nats-url takes it), one given a node.
  auto listed = NewNatsBus(cluster.node(0).url() + ", " + cluster.node(1).url() + "," +
                           cluster.node(2).url());
  auto single = NewNatsBus(cluster.node(2).url());
  INFO(listed.status().ToString());
  REQUIRE((listed.ok() && single.ok()));
  Inbox inbox;
  auto sub = (*single)->Subscribe("work.>", inbox.Handler());
  REQUIRE(sub.ok());
  // Interest crosses the cluster's routes shortly after the subscription.
  REQUIRE(WaitUntil([&] {
    (*listed)->Publish("work.h1", "hello");
    return inbox.size() > 0;
  }));
  CHECK(inbox.Copy().front() ==
        std::make_pair(std::string("work.h1"), std::string("hello")));
}

TEST_CASE("JetStream keeps each host's last heartbeat for a process that starts later",
          "[nats]") {
  TempDir dir;
  NatsServer nats(dir.Sub("nats"));
  // The first process with the log creates the stream; the hosts publish on
  // the bus as ever.
  auto first = LivenessStore::Open(nats.url(), {}, "CHRONOVA", 1);
  INFO(first.status().ToString());
  REQUIRE(first.ok());
  auto bus = NewNatsBus(nats.url());
  REQUIRE(bus.ok());
  const Timestamp before = Env::Default()->Now();
  for (const char* host : {"compute-a", "compute-b", "compute-a"}) {
    Heartbeat hb{HostName(host), Env::Default()->Now()};
    REQUIRE((*bus)->Publish(subjects::Heartbeat(HostName(host)), EncodePortable(hb)).ok());
  }
  // A process started later reads them back: one (the last) per host.
  auto later = LivenessStore::Open(nats.url(), {}, "CHRONOVA", 1);
  REQUIRE(later.ok());
  std::map<HostName, Timestamp> seen;
  REQUIRE(WaitUntil([&] {
    auto got = (*later)->LastHeartbeats();
    if (got.ok()) seen = *got;
    return seen.size() == 2;
  }));
  for (const auto& [host, at] : seen) {
    INFO(host.str());
    CHECK(at.micros >= before.micros - 1000000);  // the server's clock, same machine
    CHECK(at.micros <= Env::Default()->Now().micros + 1000000);
  }

  // A monitor that knows a host's heartbeat is long past counts it down at
  // once, instead of presuming it up for one service_down_time.
  HeartbeatMonitorOptions o;
  o.service_down_time_us = 60000000;
  o.known[HostName("compute-a")] = Timestamp{Env::Default()->Now().micros - 120000000};
  HeartbeatMonitor monitor(bus->get(), o);
  REQUIRE(monitor.Start().ok());
  CHECK_FALSE(monitor.Get(HostName("compute-a")).up);
  CHECK(monitor.Get(HostName("compute-b")).up);  // unknown: presumed up
}

TEST_CASE("the NATS bus reconnects after nats-server restarts and delivers again",
          "[nats]") {
  TempDir dir;
  NatsServer nats(dir.Sub("nats"));
  auto bus = NewNatsBus(nats.url());
  REQUIRE(bus.ok());
  Inbox inbox;
  auto sub = (*bus)->Subscribe("heartbeat.>", inbox.Handler());
  REQUIRE(sub.ok());
  REQUIRE((*bus)->Publish("heartbeat.h1", "before").ok());
  REQUIRE(WaitUntil([&] { return inbox.size() == 1; }));

  nats.Restart();
  // At most once: what was published while the server was away may be lost,
  // but once the client has reconnected (and re-subscribed), messages flow.
  int sent = 0;
  bool delivered = WaitUntil(
      [&] {
        (*bus)->Publish("heartbeat.h1", "after-" + std::to_string(sent++));
        return inbox.size() > 1;
      },
      std::chrono::seconds(30));
  REQUIRE(delivered);
  auto got = inbox.Copy();
  CHECK(got.front().second == "before");
  CHECK(got.back().second.rfind("after-", 0) == 0);
}

TEST_CASE(
    "a host query over NATS gets the host's answer, and Unavailable when no host answers",
    "[nats]") {
  TempDir dir;
  NatsServer nats(dir.Sub("nats"));
  auto host_bus = NewNatsBus(nats.url());
  auto client_bus = NewNatsBus(nats.url());
  REQUIRE((host_bus.ok() && client_bus.ok()));
  Bus* host_side = host_bus->get();
  // A compute host that answers console queries with the instance's id.
  std::atomic<int> asked{0};
  auto host = host_side->Subscribe(
      subjects::Query(HostName("h1")),
      [&](const std::string&, const std::string& payload) {
        ++asked;
        HostQuery q;
        if (!DecodePortable(payload, &q).ok()) return;
        HostQueryReply reply =
            q.length == 0
                ? MakeHostQueryReply(Status::NotFound("no console"))
                : MakeHostQueryReply(Status::Ok(), "console of " + q.instance_id.str());
        host_side->Publish(q.reply_to, EncodePortable(reply));
      });
  REQUIRE(host.ok());

  HostQueryClient client(client_bus->get(), "client-1");
  HostQuery q;
  q.instance_id = InstanceId("i-1");
  q.length = 10;
  Result<std::string> answer = client.Ask(HostName("h1"), q, 10000);
  REQUIRE(answer.ok());
  CHECK(*answer == "console of i-1");
  q.length = 0;
  Result<std::string> refused = client.Ask(HostName("h1"), q, 10000);
  CHECK(refused.status().IsNotFound());
  CHECK(refused.status().message() == "no console");
  CHECK(asked.load() == 2);

  Result<std::string> nobody = client.Ask(HostName("h2"), q, 300);
  CHECK(nobody.status().code() == StatusCode::kUnavailable);
}

}  // namespace
}  // namespace chronova
