// The EventLog contract: one suite, run unchanged against every implementation
// (tests/support/log_harnesses.h). A new log must pass all of it.
#include <atomic>
#include <catch2/catch.hpp>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/log_harnesses.h"

namespace chronova::testing {
namespace {

AppendRequest Request(const std::string& stream, ExpectedVersion expected,
                      const std::string& key, std::vector<std::string> tags) {
  AppendRequest req;
  req.stream = StreamId(stream);
  req.expected = expected;
  req.key = IdempotencyKey(key);
  for (const auto& t : tags) req.events.push_back(TestEvent(t));
  return req;
}

}  // namespace

TEMPLATE_TEST_CASE("appended events read back in order with dense seqs", "[contract]",
                   CHRONOVA_LOG_HARNESSES) {
  TestType h;
  REQUIRE(h.log().Head().value() == Seq(0));
  for (int i = 0; i < 20; ++i)
    AppendOne(h.log(), "instance/s" + std::to_string(i % 3), "t" + std::to_string(i));
  std::vector<Envelope> all = ReadAll(h.log());
  REQUIRE(all.size() == 20);
  for (size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].seq == Seq(i + 1));
    CHECK(TagOf(all[i]) == "t" + std::to_string(i));
    CHECK(all[i].stream == StreamId("instance/s" + std::to_string(i % 3)));
    CHECK(all[i].version == StreamVersion(i / 3 + 1));
    CHECK(all[i].meta.request_id == RequestId("req-test"));
    CHECK(all[i].meta.actor.roles == std::vector<std::string>{"member"});
  }
  CHECK(h.log().Head().value() == Seq(20));
  auto tail = h.log().Read(Seq(18), 100);
  REQUIRE(tail.ok());
  REQUIRE(tail->size() == 3);
  CHECK(tail->front().seq == Seq(18));
  CHECK(h.log().Read(Seq(21), 100)->empty());
  CHECK(h.log().Read(Seq(1), 5)->size() == 5);
  // ReadInto replaces what the vector held, longer or shorter, with the same events.
  std::vector<Envelope> into(all.rbegin(), all.rend());
  REQUIRE(h.log().ReadInto(Seq(3), 4, &into).ok());
  CHECK(into == std::vector<Envelope>(all.begin() + 2, all.begin() + 6));
  REQUIRE(h.log().ReadInto(Seq(1), 100, &into).ok());
  CHECK(into == all);
  REQUIRE(h.log().ReadInto(Seq(21), 100, &into).ok());
  CHECK(into.empty());
}

TEMPLATE_TEST_CASE("a stale expected version is rejected with Conflict", "[contract]",
                   CHRONOVA_LOG_HARNESSES) {
  TestType h;
  auto first =
      h.log().Append(Request("instance/a", ExpectedVersion::NoStream(), "k1", {"a1"}));
  REQUIRE(first.ok());
  CHECK(first->last_version == StreamVersion(1));
  auto second = h.log().Append(
      Request("instance/a", ExpectedVersion::Exactly(StreamVersion(1)), "k2", {"a2"}));
  REQUIRE(second.ok());
  CHECK(second->last_version == StreamVersion(2));

  auto stale = h.log().Append(
      Request("instance/a", ExpectedVersion::Exactly(StreamVersion(1)), "k3", {"x"}));
  REQUIRE(stale.status().IsConflict());
  auto again =
      h.log().Append(Request("instance/a", ExpectedVersion::NoStream(), "k4", {"x"}));
  REQUIRE(again.status().IsConflict());
  auto ahead = h.log().Append(
      Request("instance/a", ExpectedVersion::Exactly(StreamVersion(7)), "k5", {"x"}));
  REQUIRE(ahead.status().IsConflict());
  // Nothing was written by the rejected appends.
  CHECK(h.log().Head().value() == Seq(2));
  CHECK(h.log().StreamHead(StreamId("instance/a")).value() == StreamVersion(2));
  CHECK(h.log().StreamHead(StreamId("instance/none")).value() == StreamVersion(0));
}

TEMPLATE_TEST_CASE("the same idempotency key twice writes one event", "[contract]",
                   CHRONOVA_LOG_HARNESSES) {
  TestType h;
  auto req = Request("instance/a", ExpectedVersion::NoStream(), "same-key", {"a1"});
  auto first = h.log().Append(req);
  REQUIRE(first.ok());
  CHECK_FALSE(first->duplicate);
  auto retry = h.log().Append(req);  // a retry after a lost acknowledgement
  REQUIRE(retry.ok());
  CHECK(retry->duplicate);
  CHECK(retry->first_seq == first->first_seq);
  CHECK(retry->last_version == first->last_version);
  CHECK(ReadAll(h.log()).size() == 1);
}

TEMPLATE_TEST_CASE("a multi-event append is one atomic batch of consecutive versions",
                   "[contract]", CHRONOVA_LOG_HARNESSES) {
  TestType h;
  AppendOne(h.log(), "host/h1", "other");
  auto r = h.log().Append(
      Request("instance/m", ExpectedVersion::NoStream(), "batch", {"b1", "b2", "b3"}));
  REQUIRE(r.ok());
  CHECK(r->first_seq == Seq(2));
  CHECK(r->last_seq == Seq(4));
  CHECK(r->last_version == StreamVersion(3));
  auto stream = ReadWholeStream(h.log(), StreamId("instance/m"));
  REQUIRE(stream.ok());
  REQUIRE(stream->size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK((*stream)[i].version == StreamVersion(i + 1));
    CHECK(TagOf((*stream)[i]) == "b" + std::to_string(i + 1));
  }
  // A conflicting batch writes none of its events.
  auto bad = h.log().Append(Request(
      "instance/m", ExpectedVersion::Exactly(StreamVersion(1)), "batch2", {"c1", "c2"}));
  CHECK(bad.status().IsConflict());
  CHECK(h.log().Head().value() == Seq(4));
}

TEMPLATE_TEST_CASE("ReadStream returns one stream's events from a version", "[contract]",
                   CHRONOVA_LOG_HARNESSES) {
  TestType h;
  for (int i = 0; i < 10; ++i) {
    AppendOne(h.log(), i % 2 ? "instance/odd" : "instance/even", "e" + std::to_string(i));
  }
  auto odd = h.log().ReadStream(StreamId("instance/odd"), StreamVersion(3), 100);
  REQUIRE(odd.ok());
  REQUIRE(odd->size() == 3);
  CHECK(TagOf((*odd)[0]) == "e5");
  CHECK((*odd)[0].version == StreamVersion(3));
  CHECK(h.log().ReadStream(StreamId("instance/odd"), StreamVersion(1), 2)->size() == 2);
  CHECK(h.log().ReadStream(StreamId("instance/nope"), StreamVersion(1), 10)->empty());
  // A stream whose name is a prefix of another's sees only its own events.
  AppendOne(h.log(), "instance/od", "short");
  CHECK(ReadWholeStream(h.log(), StreamId("instance/od"))->size() == 1);
}

TEMPLATE_TEST_CASE("subscribe catches up, then follows live appends", "[contract]",
                   CHRONOVA_LOG_HARNESSES) {
  TestType h;
  for (int i = 0; i < 10; ++i) AppendOne(h.log(), "instance/s", "c" + std::to_string(i));
  std::mutex mu;
  std::vector<Envelope> seen;
  auto sub = h.log().Subscribe(Seq(4), [&](const std::vector<Envelope>& batch) {
    std::lock_guard<std::mutex> l(mu);
    for (const auto& e : batch) seen.push_back(e);
    return Status::Ok();
  });
  REQUIRE(WaitUntil([&] {
    std::lock_guard<std::mutex> l(mu);
    return seen.size() == 7;
  }));
  for (int i = 10; i < 15; ++i) AppendOne(h.log(), "instance/s", "c" + std::to_string(i));
  REQUIRE(WaitUntil([&] {
    std::lock_guard<std::mutex> l(mu);
    return seen.size() == 12;
  }));
  std::lock_guard<std::mutex> l(mu);
  for (size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i].seq == Seq(i + 4));
    CHECK(TagOf(seen[i]) == "c" + std::to_string(i + 3));
  }
  CHECK(sub->status().ok());
  CHECK(sub->position() == Seq(15));
}

TEMPLATE_TEST_CASE("a handler error stops the subscription with that error", "[contract]",
                   CHRONOVA_LOG_HARNESSES) {
  TestType h;
  for (int i = 0; i < 3; ++i) AppendOne(h.log(), "instance/s", "x");
  std::atomic<int> calls{0};
  auto sub = h.log().Subscribe(Seq(1), [&](const std::vector<Envelope>&) {
    ++calls;
    return Status::Internal("projection failed");
  });
  REQUIRE(WaitUntil([&] { return !sub->status().ok(); }));
  CHECK(sub->status().message() == "projection failed");
  CHECK(sub->position() == Seq(0));
  CHECK(calls == 1);
}

TEMPLATE_TEST_CASE("events survive a restart of the log", "[contract]",
                   CHRONOVA_LOG_HARNESSES) {
  TestType h;
  for (int i = 0; i < 5; ++i) AppendOne(h.log(), "instance/r", "r" + std::to_string(i));
  auto keyed =
      h.log().Append(Request("instance/k", ExpectedVersion::NoStream(), "keep", {"k"}));
  REQUIRE(keyed.ok());
  h.Restart();
  std::vector<Envelope> all = ReadAll(h.log());
  REQUIRE(all.size() == 6);
  CHECK(TagOf(all[4]) == "r4");
  CHECK(h.log().StreamHead(StreamId("instance/r")).value() == StreamVersion(5));
  // Versions continue, and the idempotency key is still remembered.
  auto next = h.log().Append(
      Request("instance/r", ExpectedVersion::Exactly(StreamVersion(5)), "after", {"r5"}));
  REQUIRE(next.ok());
  CHECK(next->first_seq == Seq(7));
  auto dup =
      h.log().Append(Request("instance/k", ExpectedVersion::NoStream(), "keep", {"k"}));
  REQUIRE(dup.ok());
  CHECK(dup->duplicate);
  CHECK(h.log().Head().value() == Seq(7));
}

TEMPLATE_TEST_CASE("concurrent deciders on one stream never lose or duplicate an event",
                   "[contract]", CHRONOVA_LOG_HARNESSES) {
  TestType h;
  const StreamId stream("host/contended");
  constexpr int kThreads = 4, kPerThread = 15;
  // Every writer reads the stream's head before any of them appends, so their
  // first decisions race on one version: exactly one wins, the others must get
  // Conflict, reload and decide again. The rest of the run contends freely.
  std::latch all_decided(kThreads);
  std::atomic<int> first_wins{0}, first_conflicts{0};
  std::atomic<int> conflicts{0};
  std::mutex mu;  // protects errors (Catch2's macros are not thread-safe)
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      bool first = true;
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
        while (true) {  // reload, decide, append with the expected version
          Result<StreamVersion> v = h.log().StreamHead(stream);
          if (first) all_decided.arrive_and_wait();
          Result<AppendResult> r =
              v.ok() ? h.log().Append(Request(stream.str(), ExpectedVersion::Exactly(*v),
                                              key, {key}))
                     : Result<AppendResult>(v.status());
          if (first) {
            first = false;
            if (r.ok()) ++first_wins;
            if (r.status().IsConflict()) ++first_conflicts;
          }
          if (r.ok()) break;
          if (!r.status().IsConflict()) {
            std::lock_guard<std::mutex> l(mu);
            errors.push_back(r.status().ToString());
            return;
          }
          ++conflicts;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& e : errors) FAIL_CHECK(e);
  // There was contention, and the log refused every stale decision.
  CHECK(first_wins == 1);
  CHECK(first_conflicts == kThreads - 1);
  CHECK(conflicts >= kThreads - 1);
  // Nothing was lost or written twice.
  auto events = ReadWholeStream(h.log(), stream);
  REQUIRE(events.ok());
  REQUIRE(events->size() == kThreads * kPerThread);
  std::set<std::string> tags;
  for (size_t i = 0; i < events->size(); ++i) {
    CHECK((*events)[i].version == StreamVersion(i + 1));
    tags.insert(TagOf((*events)[i]));
  }
  CHECK(tags.size() == kThreads * kPerThread);
  CHECK(h.log().StreamHead(stream).value() == StreamVersion(kThreads * kPerThread));
}

TEMPLATE_TEST_CASE("malformed appends are rejected and write nothing", "[contract]",
                   CHRONOVA_LOG_HARNESSES) {
  TestType h;
  auto no_events = Request("instance/a", ExpectedVersion::Any(), "k", {});
  CHECK(h.log().Append(no_events).status().code() == StatusCode::kInvalidArgument);
  auto no_key = Request("instance/a", ExpectedVersion::Any(), "", {"x"});
  CHECK(h.log().Append(no_key).status().code() == StatusCode::kInvalidArgument);
  auto no_stream = Request("", ExpectedVersion::Any(), "k2", {"x"});
  CHECK(h.log().Append(no_stream).status().code() == StatusCode::kInvalidArgument);
  std::vector<std::string> many(kMaxEventsPerAppend + 1, "x");
  CHECK(h.log()
            .Append(Request("instance/a", ExpectedVersion::Any(), "k3", many))
            .status()
            .code() == StatusCode::kInvalidArgument);
  CHECK(h.log().Head().value() == Seq(0));
}

}  // namespace chronova::testing
