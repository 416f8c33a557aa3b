// Env's timers, threads and log (core/env.h, core/periodic_task.h,
// core/logger.h), and the event lists core/events.h is built from.
#include "core/env.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/events.h"
#include "core/periodic_task.h"

namespace chronova::testing {

TEST_CASE("a FakeEnv runs scheduled functions in time order as its clock passes them") {
  FakeEnv env(1);
  const int64_t start = env.Now().micros;
  std::vector<std::string> ran;
  std::vector<int64_t> at;
  env.Schedule(300, [&] {
    ran.push_back("c");
    at.push_back(env.Now().micros - start);
  });
  env.Schedule(100, [&] {
    ran.push_back("a");
    at.push_back(env.Now().micros - start);
  });
  env.Schedule(100, [&] {
    ran.push_back("b");
    at.push_back(env.Now().micros - start);
  });
  const uint64_t cancelled = env.Schedule(200, [&] { ran.push_back("x"); });
  CHECK(env.Cancel(cancelled));
  CHECK_FALSE(env.Cancel(cancelled));
  env.AdvanceMicros(99);
  CHECK(ran.empty());
  env.AdvanceMicros(250);
  CHECK(ran == std::vector<std::string>{"a", "b", "c"});
  CHECK(at == std::vector<int64_t>{100, 100, 300});
  CHECK(env.Now().micros - start == 349);
}

TEST_CASE("a function scheduled by a scheduled function runs within the same advance") {
  FakeEnv env(1);
  int runs = 0;
  std::function<void()> again = [&] {
    if (++runs < 5) env.Schedule(10, again);
  };
  env.Schedule(10, again);
  env.AdvanceMicros(1000);
  CHECK(runs == 5);
}

TEST_CASE("a periodic task runs every interval of the Env's clock and not after Stop") {
  FakeEnv env(1);
  int runs = 0;
  PeriodicTask task(&env, 1000, [&] { ++runs; });
  env.AdvanceMicros(999);
  CHECK(runs == 0);
  env.AdvanceMicros(1);
  CHECK(runs == 1);
  env.AdvanceMicros(5000);
  CHECK(runs == 6);
  task.Stop();
  env.AdvanceMicros(5000);
  CHECK(runs == 6);
  task.Stop();  // idempotent
}

TEST_CASE(
    "aligned periodic tasks run together, at the clock's multiples of the interval") {
  FakeEnv env(1);
  env.AdvanceMicros(250);  // started at different times ...
  std::vector<int64_t> a, b;
  PeriodicTask first(
      &env, 1000, [&] { a.push_back(env.Now().micros); }, PeriodicTask::Phase::kAligned);
  env.AdvanceMicros(400);
  PeriodicTask second(
      &env, 1000, [&] { b.push_back(env.Now().micros); }, PeriodicTask::Phase::kAligned);
  env.AdvanceMicros(3000);
  // ... they run at the same instants, each a multiple of the interval.
  REQUIRE(a.size() >= 3);
  CHECK(a == b);
  for (int64_t t : a) CHECK(t % 1000 == 0);
  // With an offset: the multiples shifted by it.
  std::vector<int64_t> c;
  PeriodicTask shifted(
      &env, 1000, [&] { c.push_back(env.Now().micros); }, PeriodicTask::Phase::kAligned,
      300);
  env.AdvanceMicros(2000);
  REQUIRE_FALSE(c.empty());
  for (int64_t t : c) CHECK(t % 1000 == 300);
}

TEST_CASE(
    "a periodic task on the real timers runs, and Stop waits for a run in progress") {
  std::atomic<int> runs{0};
  std::atomic<bool> inside{false};
  bool overlapped = false;
  {
    PeriodicTask task(Env::Default(), 1000, [&] {
      inside = true;
      Env::Default()->SleepForMicros(2000);
      ++runs;
      inside = false;
    });
    for (int i = 0; i < 2000 && runs.load() < 3; ++i)
      Env::Default()->SleepForMicros(1000);
    task.Stop();
    overlapped = inside.load();
  }
  CHECK(runs.load() >= 3);
  CHECK_FALSE(overlapped);
}

TEST_CASE("a thread started by the Env runs its function") {
  std::atomic<bool> ran{false};
  std::thread t = Env::Default()->StartThread("test-thread", [&] { ran = true; });
  t.join();
  CHECK(ran.load());
}

TEST_CASE(
    "a task queue runs its tasks one at a time, in order, off the poster's thread") {
  std::mutex mu;  // protects ran, threads
  std::vector<int> ran;
  std::set<std::thread::id> threads;
  std::atomic<int> running{0}, most{0};
  {
    auto queue = Env::Default()->NewTaskQueue("test-queue");
    for (int i = 0; i < 200; ++i) {
      queue->Post([&, i] {
        most = std::max(most.load(), ++running);
        {
          std::lock_guard<std::mutex> l(mu);
          ran.push_back(i);
          threads.insert(std::this_thread::get_id());
        }
        --running;
      });
    }
    std::atomic<bool> done{false};
    queue->Post([&] { done = true; });
    while (!done) std::this_thread::yield();
  }
  REQUIRE(ran.size() == 200);
  for (int i = 0; i < 200; ++i) CHECK(ran[i] == i);
  CHECK(most == 1);
  CHECK(threads.size() == 1);
  CHECK_FALSE(threads.contains(std::this_thread::get_id()));
}

TEST_CASE("destroying a task queue waits for the running task and drops the rest") {
  std::atomic<bool> started{false}, release{false};
  std::atomic<int> ran{0};
  auto queue = Env::Default()->NewTaskQueue("test-queue");
  queue->Post([&] {
    started = true;
    while (!release) std::this_thread::yield();
    ++ran;
  });
  for (int i = 0; i < 10; ++i) queue->Post([&] { ++ran; });
  while (!started) std::this_thread::yield();
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    release = true;
  });
  queue.reset();  // returns once the running task is done
  CHECK(ran == 1);
  releaser.join();
}

TEST_CASE("log lines are one JSON object each, with the fields that are known") {
  FakeEnv env(1);
  MemoryLogger logger;
  env.set_logger(&logger);
  env.Warn({.role = "conductor", .host = "c1", .instance_id = "i-1"},
           "reaping \"x\"\nnow");
  env.Info({.role = "api"}, "ready");
  const std::vector<std::string> lines = logger.Lines();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] ==
        "{\"time\":\"2026-01-01T00:00:00.000000Z\",\"level\":\"warning\","
        "\"role\":\"conductor\",\"host\":\"c1\",\"instance_id\":\"i-1\","
        "\"msg\":\"reaping \\\"x\\\"\\nnow\"}");
  CHECK(lines[1] ==
        "{\"time\":\"2026-01-01T00:00:00.000000Z\",\"level\":\"info\",\"role\":\"api\","
        "\"msg\":\"ready\"}");
}

TEST_CASE("an event is an instance event exactly when it is declared among them") {
  CHECK(kIsInstanceEvent<InstanceRequested>);
  CHECK(kIsInstanceEvent<InstanceResizeReverted>);
  CHECK_FALSE(kIsInstanceEvent<HostRegistered>);
  CHECK_FALSE(kIsInstanceEvent<ImageCreated>);
  CHECK_FALSE(kIsInstanceEvent<FlavorSpec>);
  // Every event type belongs to exactly one kind of stream.
  size_t kinds = 0;
  std::apply(
      [&](auto... lists) {
        ((kinds += std::variant_size_v<EventVariant<decltype(lists)>>), ...);
      },
      std::tuple<InstanceEvents, HostEvents, FlavorEvents, KeypairEvents, QuotaEvents,
                 ImageEvents, TokenEvents, AggregateEvents, ServerGroupEvents,
                 CredentialEvents, CertificateEvents>{});
  CHECK(kinds == std::variant_size_v<Event>);
  CHECK(std::variant_size_v<EventVariant<InstanceEvents>> == 47);
}

}  // namespace chronova::testing
