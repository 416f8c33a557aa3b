// bench-boot: boots N servers over the Compute API (HTTP, noauth2) with C client
// threads on M fake compute hosts, all in this process, and prints servers/s,
// p50/p99 time-to-ACTIVE (POST sent → instance.spawned appended), events
// appended/s, GET /servers/detail latency and peak RSS.
//
//   build/bench-boot [--servers N] [--concurrency C] [--hosts M]
//                    [--log rocksdb|jetstream] [--nats-url URL] [--nats-replicas 1|3]
//                    [--nats-stream NAME] [--sync] [--state-dir DIR]
//                    [--workers W]   (scheduler and conductor workers each)
//                    [--quota-limits] (finite limits far above the run, so every
//                                      create is checked against its quota)
//
// Against a running cluster (tools/cluster.sh up --auth noauth2) instead:
//   build/bench-boot --api HOST:PORT,HOST:PORT --nats-url URLS [--servers N]
//                    [--concurrency C]
// boots through those Compute APIs (clients spread over them) and follows the
// cluster's log for instance.spawned; nothing runs in this process but a log
// mirror.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

#include "core/event_codec.h"
#include "projections/hosts_projection.h"
#include "projections/projection_store.h"
#include "tools/bench_util.h"
#include "tools/flags.h"
#include "tools/http_client.h"
#include "tools/node.h"

namespace chronova {
namespace {

using Clock = std::chrono::steady_clock;

int Fail(const Status& st) {
  std::fprintf(stderr, "bench-boot: %s\n", st.ToString().c_str());
  return 1;
}

using bench::FreePort;
using bench::Percentile;

int Run(int argc, char** argv) {
  auto flags =
      Flags::Parse(argc, argv,
                   {"servers", "concurrency", "hosts", "log", "nats-url", "nats-replicas",
                    "state-dir", "workers", "api", "nats-stream"},
                   {"sync", "quota-limits"});
  if (!flags.ok()) return Fail(flags.status());
  int servers = std::stoi(flags->Get("servers", "2000"));
  int concurrency = std::stoi(flags->Get("concurrency", "16"));
  int hosts = std::stoi(flags->Get("hosts", "1000"));

  std::string dir = flags->Get("state-dir");
  bool scratch = dir.empty();
  if (scratch) {
    std::string tmpl =
        std::filesystem::temp_directory_path().string() + "/bench-boot-XXXXXX";
    dir = mkdtemp(tmpl.data());
  }
  NodeOptions o;
  o.log.state_dir = dir;
  o.log.sync = flags->Has("sync");
  auto backend = ParseLogBackend(flags->Get("log", "rocksdb"));
  if (!backend.ok()) return Fail(backend.status());
  o.log.backend = *backend;
  o.log.jetstream.url = flags->Get("nats-url", o.log.jetstream.url);
  o.log.jetstream.replicas = std::stoi(flags->Get("nats-replicas", "1"));
  o.log.jetstream.stream_name = flags->Get("nats-stream", o.log.jetstream.stream_name);
  o.compute.hosts = hosts;
  o.scheduler_workers = o.conductor_workers = std::stoi(flags->Get("workers", "4"));
  o.compute.hypervisor = "fake";
  o.compute.host_vcpus = 64;
  // A benchmark boots far more than Nova's default quota allows: no limits,
  // or (--quota-limits) limits it never reaches, so every create is checked
  // and admitted as under a real quota.
  o.api.quota_defaults = {{"instances", -1}, {"cores", -1}, {"ram", -1}};
  if (flags->Has("quota-limits")) {
    o.api.quota_defaults = {
        {"instances", 1000000000}, {"cores", 1000000000}, {"ram", int64_t{1} << 50}};
  }
  o.compute.host_memory_mb = 262144;
  o.compute.host_disk_gb = 4000;
  // The Compute APIs the clients use: this process's, or a cluster's.
  std::vector<std::string> apis;
  const bool external = flags->Has("api");
  for (size_t b = 0, e; external && b <= flags->Get("api").size(); b = e + 1) {
    const std::string list = flags->Get("api");
    e = list.find(',', b);
    if (e == std::string::npos) e = list.size();
    std::string api = list.substr(b, e - b);
    if (api.starts_with("http://")) api = api.substr(7);
    if (api.find('/') != std::string::npos) api = api.substr(0, api.find('/'));
    if (!api.empty()) apis.push_back(api);
  }
  if (external && (apis.empty() || *backend != LogBackend::kJetStream)) {
    return Fail(
        Status::InvalidArgument("--api needs host:port list and --log jetstream"));
  }
  int port = FreePort();
  std::string host_port = external ? apis[0] : "127.0.0.1:" + std::to_string(port);
  if (!external) apis.push_back(host_port);
  o.api.compute_api_url = "http://" + host_port;
  // The benchmark measures the boot path, not token checks: noauth2, no identity API.
  o.api.auth_strategy = "noauth2";
  o.api.identity_api_url = "";
  o.api.image_api_url = "";
  o.api.ec2_api_url = "";

  auto t_boot = Clock::now();
  std::unique_ptr<Node> node;
  std::unique_ptr<EventLog> cluster_log;  // external: the cluster's, followed here
  EventLog* log = nullptr;
  if (external) {
    o.log.jetstream.mirror_path = dir + "/mirror";
    auto opened = OpenEventLog(o.log);
    if (!opened.ok()) return Fail(opened.status());
    cluster_log = std::move(opened).value();
    log = cluster_log.get();
    // Unlimited quota for the benchmark's project (the cluster runs noauth2).
    HttpClient admin(apis[0]);
    auto r = admin.Send(
        "PUT", "/v2.1/os-quota-sets/bench",
        {{"X-Auth-Token", "admin:admin"}, {"Content-Type", "application/json"}},
        "{\"quota_set\": {\"instances\": -1, \"cores\": -1, \"ram\": -1}}");
    if (!r.ok() || r->status != 200)
      return Fail(r.ok() ? Status::Internal("quota: " + r->body) : r.status());
  } else {
    auto started = Node::Start(o);
    if (!started.ok()) return Fail(started.status());
    node = std::move(started).value();
    log = node->log();
    // Wait until every compute host's registration is in the read models.
    for (int i = 0; i < 6000; ++i) {
      auto reader = node->store()->Reader(HostsProjection::kName);
      if (reader.ok() &&
          HostsView(reader->get()).List().value().size() >= static_cast<size_t>(hosts))
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  double startup_s = std::chrono::duration<double>(Clock::now() - t_boot).count();

  std::mutex mu;  // protects posted, spawned
  std::map<std::string, Clock::time_point> posted, spawned;
  Seq head0 = log->Head().value();
  auto sub = log->Subscribe(head0.next(), [&](const std::vector<Envelope>& batch) {
    auto now = Clock::now();
    std::lock_guard<std::mutex> l(mu);
    for (const Envelope& e : batch) {
      if (e.type == InstanceSpawned::kType)
        spawned[std::string(StreamKey(e.stream))] = now;
    }
    return Status::Ok();
  });

  const std::map<std::string, std::string> headers{{"X-Auth-Token", "bench:bench"},
                                                   {"Content-Type", "application/json"},
                                                   {"Accept", "application/json"}};
  std::atomic<int> next{0}, failures{0};
  std::string first_error;
  auto t0 = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < concurrency; ++c) {
    clients.emplace_back([&, c] {
      HttpClient http(apis[static_cast<size_t>(c) % apis.size()]);
      static const std::regex kId("\"id\"\\s*:\\s*\"([0-9a-f-]{36})\"");
      for (int n; (n = next++) < servers;) {
        std::string body = "{\"server\": {\"name\": \"bench-" + std::to_string(n) +
                           "\", \"flavorRef\": \"1\", \"imageRef\": \"" + kDemoImageId +
                           "\"}}";
        auto sent = Clock::now();
        auto r = http.Send("POST", "/v2.1/servers", headers, body);
        std::smatch m;
        if (!r.ok() || r->status != 202 || !std::regex_search(r->body, m, kId)) {
          std::lock_guard<std::mutex> l(mu);
          if (failures++ == 0) {
            first_error = r.ok() ? std::to_string(r->status) + " " + r->body
                                 : r.status().ToString();
          }
          continue;
        }
        std::lock_guard<std::mutex> l(mu);
        posted[m[1]] = sent;
      }
    });
  }
  for (auto& t : clients) t.join();
  double post_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (failures > 0) {
    std::fprintf(stderr, "bench-boot: %d POSTs failed; first: %s\n", failures.load(),
                 first_error.c_str());
  }
  // Wait for every accepted server to be ACTIVE (60 s at most).
  for (int i = 0; i < 6000; ++i) {
    {
      std::lock_guard<std::mutex> l(mu);
      size_t done = 0;
      for (const auto& [id, t] : posted) done += spawned.count(id);
      if (done == posted.size()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::vector<double> latencies_ms;
  Clock::time_point last = t0;
  {
    std::lock_guard<std::mutex> l(mu);
    for (const auto& [id, t] : posted) {
      auto it = spawned.find(id);
      if (it == spawned.end()) continue;
      latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(it->second - t).count());
      last = std::max(last, it->second);
    }
  }
  double total_s = std::chrono::duration<double>(last - t0).count();
  Seq head1 = log->Head().value();

  // GET /servers/detail?limit=50, as Nova's comparison figure.
  HttpClient http(host_port);
  std::vector<double> detail_ms;
  for (int i = 0; i < 20; ++i) {
    auto s = Clock::now();
    auto r = http.Send("GET", "/v2.1/servers/detail?limit=50", headers);
    if (r.ok() && r->status == 200) {
      detail_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - s).count());
    }
  }
  sub.reset();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf(
      "log=%s%s sync=%s hosts=%d servers=%zu/%d concurrency=%d startup_s=%.2f "
      "post_s=%.2f "
      "total_s=%.2f servers_per_s=%.0f active_p50_ms=%.1f active_p99_ms=%.1f "
      "events_per_s=%.0f detail50_p50_ms=%.1f peak_rss_mb=%.0f\n",
      flags->Get("log", "rocksdb").c_str(),
      external ? (" cluster apis=" + std::to_string(apis.size())).c_str() : "",
      o.log.sync ? "on" : "off", hosts, latencies_ms.size(), servers, concurrency,
      startup_s, post_s, total_s, latencies_ms.size() / std::max(total_s, 1e-9),
      Percentile(latencies_ms, 0.5), Percentile(latencies_ms, 0.99),
      (head1.value() - head0.value()) / std::max(total_s, 1e-9),
      Percentile(detail_ms, 0.5), ru.ru_maxrss / 1024.0);
  node.reset();
  cluster_log.reset();
  if (scratch) std::filesystem::remove_all(dir);
  return latencies_ms.size() == static_cast<size_t>(servers) ? 0 : 1;
}

}  // namespace
}  // namespace chronova

int main(int argc, char** argv) { return chronova::Run(argc, argv); }
