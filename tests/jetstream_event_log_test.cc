// Behaviours of JetStreamEventLog beyond the shared contract: several nodes on
// one stream, mirrors rebuilt from JetStream, retries across a nats-server
// restart, and the subject names (eventstore/jetstream_names.h).
#include "eventstore/jetstream_event_log.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <thread>

#include "eventstore/jetstream_names.h"
#include "tests/nats_server.h"
#include "tests/test_util.h"

namespace chronova::testing {
namespace {

std::unique_ptr<JetStreamEventLog> OpenLog(const std::string &url,
                                           const std::string &mirror,
                                           int timeout_ms = 10000) {
  JetStreamLogOptions o;
  o.url = url;
  o.mirror_path = mirror;
  o.operation_timeout_ms = timeout_ms;
  auto r = JetStreamEventLog::Open(o);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

AppendRequest KeyedRequest(const std::string &stream, const std::string &key,
                           const std::string &tag) {
  AppendRequest req;
  req.stream = StreamId(stream);
  req.key = IdempotencyKey(key);
  req.events.push_back(TestEvent(tag));
  return req;
}

}  // namespace

TEST_CASE(
    "jetstream: every node assigns the same seqs, and a fresh mirror "
    "rebuilds them",
    "[jetstream]") {
  TempDir dir;
  NatsServer server(dir.Sub("nats"));
  auto a = OpenLog(server.url(), dir.Sub("mirror-a"));
  auto b = OpenLog(server.url(), dir.Sub("mirror-b"));
  for (int i = 0; i < 12; ++i) {
    EventLog &writer = i % 2 ? static_cast<EventLog &>(*a) : static_cast<EventLog &>(*b);
    AppendOne(writer, "instance/n" + std::to_string(i % 4), "w" + std::to_string(i));
  }
  auto batch = a->Append([] {
    AppendRequest req = KeyedRequest("host/h1", "batch", "b0");
    req.events.push_back(TestEvent("b1"));
    return req;
  }());
  REQUIRE(batch.ok());
  CHECK(batch->first_seq == Seq(13));
  CHECK(batch->last_seq == Seq(14));

  // Reads serve each node's mirror; Head() syncs it with the whole stream.
  REQUIRE(b->Head().value() == Seq(14));
  std::vector<Envelope> from_a = ReadAll(*a);
  std::vector<Envelope> from_b = ReadAll(*b);
  REQUIRE(from_a.size() == 14);
  CHECK(from_a == from_b);
  CHECK(b->StreamHead(StreamId("host/h1")).value() == StreamVersion(2));

  b.reset();
  auto c = OpenLog(server.url(), dir.Sub("mirror-c"));  // an empty mirror
  CHECK(c->Head().value() == Seq(14));
  CHECK(ReadAll(*c) == from_a);
  // A retry on another node is recognised as the same append.
  auto dup = c->Append(KeyedRequest("host/h1", "batch", "b0"));
  REQUIRE(dup.ok());
  CHECK(dup->duplicate);
  CHECK(dup->first_seq == Seq(13));
  CHECK(dup->last_version == StreamVersion(2));
}

TEST_CASE(
    "jetstream: a retry with the same key after a nats-server restart "
    "returns the original append",
    "[jetstream]") {
  TempDir dir;
  NatsServer server(dir.Sub("nats"));
  auto log = OpenLog(server.url(), dir.Sub("mirror"));
  AppendOne(*log, "instance/x", "before");
  AppendRequest req = KeyedRequest("instance/y", "restart-key", "y1");
  req.expected = ExpectedVersion::NoStream();
  auto first = log->Append(req);
  REQUIRE(first.ok());

  server.Restart();  // the log stays open: it reconnects by itself

  auto retry = log->Append(req);
  INFO(retry.status().ToString());
  REQUIRE(retry.ok());
  CHECK(retry->duplicate);
  CHECK(retry->first_seq == first->first_seq);
  AppendResult next = AppendOne(*log, "instance/x", "after");
  CHECK(next.first_seq == Seq(3));
  CHECK(ReadAll(*log).size() == 3);
}

TEST_CASE("jetstream: an append while nats-server is down succeeds once it is back",
          "[jetstream]") {
  TempDir dir;
  NatsServer server(dir.Sub("nats"));
  auto log = OpenLog(server.url(), dir.Sub("mirror"));
  AppendOne(*log, "instance/d", "d0");
  std::mutex mu;
  std::vector<Envelope> seen;
  auto sub = log->Subscribe(Seq(1), [&](const std::vector<Envelope> &batch) {
    std::lock_guard<std::mutex> l(mu);
    seen.insert(seen.end(), batch.begin(), batch.end());
    return Status::Ok();
  });

  server.Stop();
  std::thread restarter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    server.Start();
  });
  auto r = log->Append(KeyedRequest("instance/d", "while-down", "d1"));
  restarter.join();
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK_FALSE(r->duplicate);
  CHECK(r->first_seq == Seq(2));
  CHECK(r->last_version == StreamVersion(2));
  // The subscription, fed by the mirror, saw both events exactly once.
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (seen.size() >= 2) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard<std::mutex> l(mu);
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].seq == Seq(2));
}

TEST_CASE(
    "jetstream: Open against a dead server answers Unavailable within "
    "its timeout",
    "[jetstream]") {
  TempDir dir;
  std::string url;
  {
    NatsServer server(dir.Sub("nats"));  // learn a port, then leave it dead
    url = server.url();
  }
  JetStreamLogOptions o;
  o.url = url;
  o.mirror_path = dir.Sub("mirror");
  o.operation_timeout_ms = 1000;
  auto start = std::chrono::steady_clock::now();
  auto r = JetStreamEventLog::Open(o);
  auto took = std::chrono::steady_clock::now() - start;
  INFO(r.status().ToString());
  CHECK(r.status().IsUnavailable());
  CHECK(took < std::chrono::seconds(5));
}

TEST_CASE("jetstream: stream ids map to distinct single-token NATS subjects",
          "[jetstream]") {
  using jetstream_names::EventSubject;
  CHECK(EventSubject(StreamId("instance/6f1c-aa")) == "ev.instance.6f1c-aa");
  CHECK(EventSubject(StreamId("host/compute-1.example.org")) ==
        "ev.host.compute-1%2Eexample%2Eorg");
  CHECK(EventSubject(StreamId("flavor/a*b>c d%e\n")) == "ev.flavor.a%2Ab%3Ec%20d%25e%0A");
  CHECK(EventSubject(StreamId("flavor/>")) == "ev.flavor.%3E");
  CHECK(EventSubject(StreamId("flavor/\xC3\xA9")) == "ev.flavor.%C3%A9");
  CHECK(EventSubject(StreamId("a/b/c")) == "ev.a.b/c");
  std::set<std::string> subjects;
  for (const char *s : {"instance", "instance/", "instance/%", "instance/%25",
                        "instance/.", "instance/%2E", "inst.ance/x", "inst/ance.x"}) {
    subjects.insert(EventSubject(StreamId(s)));
  }
  CHECK(subjects.size() == 8);
  CHECK(jetstream_names::MsgId(IdempotencyKey("k\r\nNats-Expected-Stream: X")) ==
        "k%0D%0ANats-Expected-Stream:%20X");
}

}  // namespace chronova::testing
