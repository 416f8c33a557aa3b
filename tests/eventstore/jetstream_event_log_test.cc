// Behaviours of JetStreamEventLog beyond the shared contract: several nodes on
// one stream, mirrors rebuilt from JetStream, retries across a nats-server
// restart, and the subject names (eventstore/jetstream_names.h).
#include "eventstore/jetstream_event_log.h"

#include <nats/nats.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "core/codec.h"
#include "eventstore/jetstream_names.h"
#include "tests/support/nats_server.h"
#include "tests/support/test_util.h"

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

// Publishes `batch` straight into the stream, with the version header and no
// expectation, as a clustered JetStream may store a writer that lost a race.
void PublishRaw(const std::string &url, const std::vector<Envelope> &batch) {
  natsConnection *nc = nullptr;
  REQUIRE(natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK);
  jsCtx *js = nullptr;
  REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
  const std::string subject = jetstream_names::EventSubject(batch.front().stream);
  const std::string data = EncodePortable(batch);
  natsMsg *msg = nullptr;
  REQUIRE(natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(),
                         static_cast<int>(data.size())) == NATS_OK);
  const std::string version = std::to_string(batch.back().version.value());
  REQUIRE(natsMsgHeader_Set(msg, jetstream_names::kVersionHeader, version.c_str()) ==
          NATS_OK);
  jsPubAck *ack = nullptr;
  REQUIRE(js_PublishMsg(&ack, js, msg, nullptr, nullptr) == NATS_OK);
  jsPubAck_Destroy(ack);
  natsMsg_Destroy(msg);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
}

}  // namespace

TEST_CASE(
    "jetstream: two messages claiming one stream version are folded alike on every "
    "node: the first wins, the other is ignored, and appends go on from the winner",
    "[jetstream]") {
  TempDir dir;
  NatsServer server(dir.Sub("nats"));
  auto a = OpenLog(server.url(), dir.Sub("mirror-a"));
  AppendRequest first = KeyedRequest("instance/x", "x-1", "x1");
  first.expected = ExpectedVersion::NoStream();
  REQUIRE(a->Append(first).ok());
  // A writer that read version 0 too, and whose two events the server stored.
  PublishRaw(server.url(), SourceBatch("instance/x", 1, "lost", 2));
  AppendOne(*a, "instance/y", "y1");

  auto b = OpenLog(server.url(), dir.Sub("mirror-b"));
  REQUIRE(a->Head().value() == Seq(2));
  REQUIRE(b->Head().value() == Seq(2));
  CHECK(ReadAll(*a) == ReadAll(*b));
  CHECK(b->StreamHead(StreamId("instance/x")).value() == StreamVersion(1));
  // The subject's last message is the ignored one (its header says version 2):
  // an append decided on the fold's version 1 still goes through, on both nodes.
  AppendRequest next = KeyedRequest("instance/x", "x-2", "x2");
  next.expected = ExpectedVersion::Exactly(StreamVersion(1));
  Result<AppendResult> appended = b->Append(next);
  INFO(appended.status().ToString());
  REQUIRE(appended.ok());
  CHECK(appended->last_version == StreamVersion(2));
  CHECK(appended->first_seq == Seq(3));
  REQUIRE(a->Head().value() == Seq(3));
  std::vector<Envelope> events = ReadAll(*a);
  CHECK(events == ReadAll(*b));
  CHECK(TagOf(events.back()) == "x2");
}

TEST_CASE(
    "jetstream R3: racing writers on a 3-node cluster lose nothing, store no version "
    "twice, and every node folds the same log",
    "[jetstream][cluster]") {
  TempDir dir;
  NatsCluster cluster(dir.Sub("cluster"), 3);
  std::vector<std::unique_ptr<JetStreamEventLog>> logs;
  for (size_t i = 0; i < cluster.size(); ++i) {
    JetStreamLogOptions o;
    o.url = cluster.node(i).url();
    o.replicas = 3;
    o.mirror_path = dir.Sub("mirror-" + std::to_string(i));
    o.operation_timeout_ms = 30000;
    auto r = JetStreamEventLog::Open(o);
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    logs.push_back(std::move(r).value());
  }
  // 12 writers (4 on each node) decide on 3 streams from their own node's
  // mirror and append with the version they read, as commands do.
  constexpr int kWriters = 12, kAppendsEach = 20, kStreams = 3;
  std::mutex mu;  // protects accepted and failures
  std::map<std::string, std::vector<uint64_t>> accepted;  // stream -> versions
  std::vector<std::string> failures;
  std::atomic<int> conflicts{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      EventLog &log = *logs[static_cast<size_t>(w % 3)];
      for (int i = 0; i < kAppendsEach; ++i) {
        const std::string stream = "host/h" + std::to_string((w + i) % kStreams);
        for (int attempt = 0;; ++attempt) {
          Result<StreamVersion> head = log.StreamHead(StreamId(stream));
          AppendRequest req =
              KeyedRequest(stream, "w" + std::to_string(w) + "-" + std::to_string(i),
                           "w" + std::to_string(w));
          req.expected = head.ok() && head->value() > 0 ? ExpectedVersion::Exactly(*head)
                                                        : ExpectedVersion::NoStream();
          Result<AppendResult> r = log.Append(req);
          if (r.ok()) {
            std::lock_guard<std::mutex> l(mu);
            accepted[stream].push_back(r->last_version.value());
            break;
          }
          if ((r.status().IsConflict() || r.status().IsUnavailable()) && attempt < 200) {
            ++conflicts;
            continue;
          }
          std::lock_guard<std::mutex> l(mu);
          failures.push_back(r.status().ToString());
          break;
        }
      }
    });
  }
  for (auto &t : writers) t.join();
  INFO("first failures: " << (failures.empty() ? "" : failures.front()));
  REQUIRE(failures.empty());

  // Every node's fold: healthy, identical, dense versions, each accepted
  // append exactly once at the version it was acknowledged with.
  std::vector<std::vector<Envelope>> folded;
  for (auto &log : logs) {
    Result<Seq> head = log->Head();
    INFO(head.status().ToString());
    REQUIRE(head.ok());
    CHECK(head->value() == uint64_t{kWriters} * kAppendsEach);
    folded.push_back(ReadAll(*log));
  }
  CHECK(folded[0] == folded[1]);
  CHECK(folded[0] == folded[2]);
  std::map<std::string, std::vector<uint64_t>> versions;
  for (const Envelope &e : folded[0])
    versions[e.stream.str()].push_back(e.version.value());
  for (auto &[stream, acked] : accepted) {
    std::sort(acked.begin(), acked.end());
    std::vector<uint64_t> dense(acked.size());
    std::iota(dense.begin(), dense.end(), 1);
    CHECK(acked == dense);  // no version acknowledged twice, none skipped
    CHECK(versions[stream] == dense);
  }
  CHECK(conflicts.load() > 0);  // the writers really raced
}

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
