// /metrics of a running node (tools/node.cc, docs/operations.md "Metrics"):
// what an operator's Prometheus scrapes, after real requests and a boot.
#include <catch2/catch.hpp>
#include <string>

#include "projections/projection_store.h"
#include "tests/support/api_cloud.h"

namespace chronova::testing {
namespace {

// The value of the series `series` (name and labels, as rendered), or -1.
double Value(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE(
    "/metrics counts requests by route pattern and status, boots, appends and lag") {
  const int metrics_port = FreePort();
  ApiCloud c(1, "fake", [&](NodeOptions& o) {
    o.metrics_url = "http://127.0.0.1:" + std::to_string(metrics_port);
  });
  HttpClient scrape("127.0.0.1:" + std::to_string(metrics_port));
  auto get = [&](const std::string& path) {
    auto r = scrape.Send("GET", path, {}, "");
    REQUIRE(r.ok());
    return *r;
  };
  const std::string before = get("/metrics").body;
  const double active_before =
      std::max(0.0, Value(before, "chronova_boots_total{outcome=\"active\"}"));

  const std::string id = c.Boot("measured");
  CHECK(c.Send("GET", "/servers/" + id).status == 200);
  CHECK(c.Send("GET", "/no-such-collection").status == 404);

  auto metrics = get("/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.headers["content-type"].starts_with("text/plain; version=0.0.4"));
  const std::string& text = metrics.body;
  INFO(text);
  // Labelled by the route's pattern: the server's id is in no series.
  CHECK(Value(text,
              "chronova_http_request_duration_seconds_count{api=\"compute\","
              "method=\"POST\",route=\"servers\",status=\"202\"}") >= 1);
  CHECK(Value(text,
              "chronova_http_request_duration_seconds_count{api=\"compute\","
              "method=\"GET\",route=\"servers/*\",status=\"200\"}") >= 2);
  CHECK(Value(text,
              "chronova_http_request_duration_seconds_count{api=\"compute\","
              "method=\"GET\",route=\"none\",status=\"404\"}") >= 1);
  CHECK(text.find(id) == std::string::npos);
  CHECK(Value(text, "chronova_http_connections_total{api=\"compute\"}") >= 1);
  CHECK(Value(text, "chronova_boots_total{outcome=\"active\"}") >= active_before + 1);
  CHECK(Value(text, "chronova_event_appends_total{log=\"rocksdb\",outcome=\"ok\"}") >= 5);
  CHECK(Value(text, "chronova_event_append_duration_seconds_count{log=\"rocksdb\"}") >=
        5);
  CHECK(Value(text, "chronova_compute_work_duration_seconds_count{kind=\"build\"}") >= 1);
  CHECK(Value(text, "chronova_projection_lag_events") >= 0);
  CHECK(Value(text, "chronova_projection_lag_seconds") >= 0);
  CHECK(Value(text, "chronova_queue_depth{queue=\"sched-worker\"}") >= 0);
  CHECK(Value(text, "chronova_compute_work_in_flight") >= 0);

  CHECK(get("/").status == 404);
  auto post = scrape.Send("POST", "/metrics", {}, "");
  REQUIRE(post.ok());
  CHECK(post->status == 405);
}

}  // namespace chronova::testing
