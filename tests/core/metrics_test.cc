// The metrics registry (core/metrics.h): what /metrics renders, in Prometheus'
// text format.
#include "core/metrics.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "core/env.h"

namespace chronova::testing {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("metrics render counters with their help, type and escaped labels") {
  MetricsRegistry m;
  m.CounterFor("x_total", "Things.\nCounted.", {{"kind", "a\"b\\c\nd"}}).Inc(3);
  m.CounterFor("x_total", "Things.\nCounted.", {{"kind", "plain"}}).Inc();
  // The same name and labels are the same counter.
  m.CounterFor("x_total", "Things.\nCounted.", {{"kind", "plain"}}).Inc();
  const std::string text = m.Render();
  CHECK(Has(text, "# HELP x_total Things.\\nCounted."));
  CHECK(Has(text, "# TYPE x_total counter"));
  CHECK(Has(text, "x_total{kind=\"a\\\"b\\\\c\\nd\"} 3"));
  CHECK(Has(text, "x_total{kind=\"plain\"} 2"));
}

TEST_CASE("a histogram renders cumulative buckets, +Inf, sum and count") {
  MetricsRegistry m;
  MetricHistogram& h =
      m.HistogramFor("lat_seconds", "Latency.", {{"route", "servers"}}, {0.01, 0.1, 1});
  h.Observe(0.005);
  h.Observe(0.01);  // on a bound: counted in it (le)
  h.Observe(0.5);
  h.Observe(7);
  const std::string text = m.Render();
  CHECK(Has(text, "# TYPE lat_seconds histogram"));
  CHECK(Has(text, "lat_seconds_bucket{route=\"servers\",le=\"0.01\"} 2"));
  CHECK(Has(text, "lat_seconds_bucket{route=\"servers\",le=\"0.10000000000000001\"} 2"));
  CHECK(Has(text, "lat_seconds_bucket{route=\"servers\",le=\"1\"} 3"));
  CHECK(Has(text, "lat_seconds_bucket{route=\"servers\",le=\"+Inf\"} 4"));
  CHECK(Has(text, "lat_seconds_sum{route=\"servers\"} 7.5149999999999997"));
  CHECK(Has(text, "lat_seconds_count{route=\"servers\"} 4"));
}

TEST_CASE(
    "gauges with the same labels render as their sum, and leave when unregistered") {
  MetricsRegistry m;
  double a = 2, b = 5;
  GaugeRegistration ga =
      m.AddGauge("depth", "Queued.", {{"queue", "q"}}, [&] { return a; });
  {
    GaugeRegistration gb =
        m.AddGauge("depth", "Queued.", {{"queue", "q"}}, [&] { return b; });
    GaugeRegistration other =
        m.AddGauge("depth", "Queued.", {{"queue", "r"}}, [&] { return 1.0; });
    const std::string text = m.Render();
    CHECK(Has(text, "# TYPE depth gauge"));
    CHECK(Has(text, "depth{queue=\"q\"} 7"));
    CHECK(Has(text, "depth{queue=\"r\"} 1"));
  }
  b = 1000;  // gb is gone: never read again
  std::string text = m.Render();
  CHECK(Has(text, "depth{queue=\"q\"} 2"));
  CHECK(text.find("queue=\"r\"") == std::string::npos);
  // Moved, it still unregisters once.
  GaugeRegistration moved = std::move(ga);
  moved.Reset();
  text = m.Render();
  CHECK(text.find("depth") == std::string::npos);
}

TEST_CASE("a task queue's depth is a gauge named after the queue") {
  // The real Env's queues register with the process's registry.
  std::unique_ptr<TaskQueue> q = Env::Default()->NewTaskQueue("metrics-test-q");
  std::atomic<bool> release{false};
  std::atomic<bool> started{false};
  q->Post([&] {
    started = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  q->Post([] {});
  q->Post([] {});
  CHECK(Has(MetricsRegistry::Default().Render(),
            "chronova_queue_depth{queue=\"metrics-test-q\"} 2"));
  release = true;
  q.reset();
  CHECK(MetricsRegistry::Default().Render().find("metrics-test-q") == std::string::npos);
}

}  // namespace chronova::testing
