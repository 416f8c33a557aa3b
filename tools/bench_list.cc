// bench-list: what a server list costs on a big cloud. Opens a log that
// gen-log wrote (servers spread over 13 projects, some deleted), builds the
// read models from it (no compute hosts: nothing is booted), and
// times Compute API lists over HTTP (noauth2):
//
//   all-tenants-N   GET /v2.1/servers/detail?all_tenants=1&limit=N (admin)
//   project-N       GET /v2.1/servers/detail?limit=N (project-0), and page 2
//   *-sorted        the same with sort_key=display_name: sorts the whole scope
//   project-active, project-error  ?status=ACTIVE|ERROR&limit=50 (a status index)
//
//   build/gen-log --state-dir DIR --events N
//   build/bench-list --state-dir DIR [--requests R] [--only NAME]   (one case: profiling)
//
// The default order (created_at, id descending) reads only the page from the
// newest-first index; a sort key of the caller's choosing still sorts every
// server of the scope (docs/performance.md, "Server lists").
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "api/http/json.h"
#include "tools/bench_util.h"
#include "tools/flags.h"
#include "tools/http_client.h"
#include "tools/node.h"

namespace chronova {
namespace {

using Clock = std::chrono::steady_clock;

int Fail(const Status& st) {
  std::fprintf(stderr, "bench-list: %s\n", st.ToString().c_str());
  return 1;
}

struct Timed {
  std::vector<double> ms;
  size_t servers = 0;  // in the last answer
  std::string last_id;
};

Result<Timed> Time(HttpClient& http, const std::string& path, const std::string& token,
                   int requests) {
  Timed t;
  for (int i = 0; i < requests; ++i) {
    auto start = Clock::now();
    auto r = http.Send("GET", path, {{"X-Auth-Token", token}});
    if (!r.ok()) return r.status();
    if (r->status != 200)
      return Status::Internal(path + ": " + std::to_string(r->status));
    t.ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (i + 1 == requests) {
      CHRONOVA_ASSIGN_OR_RETURN(Json body, Json::Parse(r->body));
      const Json* servers = body.Find("servers");
      if (servers == nullptr || !servers->is_array())
        return Status::Internal("no servers");
      t.servers = servers->items().size();
      if (!servers->items().empty()) {
        const Json* id = servers->items().back().Find("id");
        if (id != nullptr && id->is_string()) t.last_id = id->as_string();
      }
    }
  }
  return t;
}

int Run(int argc, char** argv) {
  auto flags = Flags::Parse(argc, argv, {"state-dir", "requests", "only"}, {});
  if (!flags.ok()) return Fail(flags.status());
  if (flags->Get("state-dir").empty()) {
    return Fail(
        Status::InvalidArgument("--state-dir DIR (a log gen-log wrote) is required"));
  }
  const int requests = std::stoi(flags->Get("requests", "20"));
  NodeOptions o;
  o.log.state_dir = flags->Get("state-dir");
  // One process with an in-process bus and no compute hosts: the lists are
  // what is measured; nothing the log holds is scheduled again.
  o.compute.hosts = 0;
  o.instance_build_timeout_s = 0;
  o.seed_catalog = false;
  const std::string host_port = "127.0.0.1:" + std::to_string(bench::FreePort());
  o.api.compute_api_url = "http://" + host_port;
  o.api.auth_strategy = "noauth2";
  o.api.identity_api_url = "";
  o.api.image_api_url = "";
  o.api.ec2_api_url = "";
  auto start = Clock::now();
  auto node = Node::Start(o);
  if (!node.ok()) return Fail(node.status());
  const double startup_s = std::chrono::duration<double>(Clock::now() - start).count();
  const Seq head = (*node)->log()->Head().value();

  HttpClient http(host_port);
  const std::string admin = "admin:admin", member = "bench:project-0";
  struct Case {
    const char* name;
    std::string path;
    const std::string* token;
  };
  const std::string by_name = "&sort_key=display_name&sort_dir=desc";
  std::vector<Case> cases = {
      {"all-tenants-1000", "/v2.1/servers/detail?all_tenants=1&limit=1000", &admin},
      {"all-tenants-50", "/v2.1/servers/detail?all_tenants=1&limit=50", &admin},
      {"all-tenants-50-sorted", "/v2.1/servers/detail?all_tenants=1&limit=50" + by_name,
       &admin},
      {"project-1000", "/v2.1/servers/detail?limit=1000", &member},
      {"project-50", "/v2.1/servers/detail?limit=50", &member},
      {"project-50-sorted", "/v2.1/servers/detail?limit=50" + by_name, &member},
      {"project-active", "/v2.1/servers/detail?status=ACTIVE&limit=50", &member},
      {"project-error", "/v2.1/servers/detail?status=ERROR&limit=50", &member},
      {"project-error-sorted", "/v2.1/servers/detail?status=ERROR&limit=50" + by_name,
       &member},
  };
  std::printf("events=%llu startup_s=%.1f requests=%d\n",
              static_cast<unsigned long long>(head.value()), startup_s, requests);
  for (size_t i = 0; i < cases.size(); ++i) {
    if (flags->Has("only") && flags->Get("only") != cases[i].name) continue;
    auto t = Time(http, cases[i].path, *cases[i].token, requests);
    if (!t.ok()) return Fail(t.status());
    std::printf("%-22s servers=%-5zu p50_ms=%.1f p99_ms=%.1f\n", cases[i].name,
                t->servers, bench::Percentile(t->ms, 0.5),
                bench::Percentile(t->ms, 0.99));
    if (std::string(cases[i].name) == "project" && !t->last_id.empty()) {
      cases.insert(
          cases.begin() + static_cast<long>(i) + 1,
          {"page-2", "/v2.1/servers/detail?limit=1000&marker=" + t->last_id, &member});
    }
  }
  return 0;
}

}  // namespace
}  // namespace chronova

int main(int argc, char** argv) { return chronova::Run(argc, argv); }
