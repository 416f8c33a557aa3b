// MemoryEventLog's injected faults (the contract it shares with the other logs
// is tests/eventstore/event_log_contract_test.cc).
#include "eventstore/memory_event_log.h"

#include <catch2/catch.hpp>

#include "tests/support/test_util.h"

namespace chronova::testing {

namespace {

AppendRequest OneEvent(const std::string& key) {
  AppendRequest req;
  req.stream = StreamId("instance/i-1");
  req.key = IdempotencyKey(key);
  req.events.push_back(NewEvent{"instance.locked", 1, EventMeta{}, ""});
  return req;
}

}  // namespace

TEST_CASE("memory log: an append refused before it is written writes nothing") {
  MemoryLogStore store;
  MemoryEventLog log(&store);
  store.set_before_append(
      [](const AppendRequest&) { return Status::Unavailable("down"); });
  CHECK(log.Append(OneEvent("k1")).status().code() == StatusCode::kUnavailable);
  CHECK(log.Head().value() == Seq(0));
  store.set_before_append(nullptr);
  CHECK(log.Append(OneEvent("k1")).value().first_seq == Seq(1));
}

TEST_CASE("memory log: an append whose answer is lost is found by its retry") {
  MemoryLogStore store;
  MemoryEventLog log(&store);
  store.set_after_append([](const AppendRequest&, const AppendResult&) {
    return Status::Unavailable("lost");
  });
  CHECK(log.Append(OneEvent("k1")).status().code() == StatusCode::kUnavailable);
  CHECK(log.Head().value() == Seq(1));
  store.set_after_append(nullptr);
  AppendResult retry = log.Append(OneEvent("k1")).value();
  CHECK(retry.duplicate);
  CHECK(retry.first_seq == Seq(1));
  CHECK(log.Head().value() == Seq(1));
}

TEST_CASE("memory log: a log opened again on the same store finds every event") {
  MemoryLogStore store;
  {
    MemoryEventLog log(&store);
    REQUIRE(log.Append(OneEvent("k1")).ok());
    REQUIRE(log.Append(OneEvent("k2")).ok());
  }
  MemoryEventLog again(&store);
  CHECK(again.Head().value() == Seq(2));
  CHECK(again.StreamHead(StreamId("instance/i-1")).value() == StreamVersion(2));
}

}  // namespace chronova::testing
