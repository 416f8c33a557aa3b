#include "tools/ctl/cluster_status.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agents/bus.h"
#include "agents/nats_liveness.h"
#include "agents/subjects.h"
#include "api/http/json.h"
#include "core/env.h"
#include "eventstore/jetstream_names.h"
#include "projections/projection_store.h"
#include "projections/read_models.h"
#include "tools/flags.h"
#include "tools/http_client.h"

namespace chronova {
namespace {

// The roles' members heard on the bus within `listen_ms`: role -> ids.
std::map<std::string, std::set<std::string>> ListenForMembers(Bus& bus, int listen_ms) {
  std::mutex mu;
  std::map<std::string, std::set<std::string>> members;
  std::vector<std::unique_ptr<BusSubscription>> subs;
  for (const char* role : {"api", "scheduler", "conductor"}) {
    auto sub = bus.Subscribe(subjects::Member(role),
                             [&, role](const std::string&, const std::string& id) {
                               if (id.starts_with("leave ")) return;
                               std::lock_guard<std::mutex> l(mu);
                               members[role].insert(id);
                             });
    if (sub.ok()) subs.push_back(std::move(sub).value());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(listen_ms));
  subs.clear();  // no handler runs after this
  return members;
}

std::string Seconds(int64_t micros) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f s", static_cast<double>(micros) / 1e6);
  return buf;
}

const Json* Path(const Json& j, std::initializer_list<const char*> keys) {
  const Json* at = &j;
  for (const char* k : keys) {
    at = at->is_object() ? at->Find(k) : nullptr;
    if (at == nullptr) return nullptr;
  }
  return at;
}

}  // namespace

int PrintClusterStatus(const ClusterStatusOptions& o, EventLog& log) {
  int rc = 0;
  // Roles that announce themselves.
  auto bus = NewNatsBus(o.nats_urls, o.auth);
  if (!bus.ok()) {
    std::printf("bus: %s\n", bus.status().ToString().c_str());
    return 1;
  }
  auto members = ListenForMembers(**bus, o.listen_ms);
  std::printf("roles (announced within %.1f s):\n", o.listen_ms / 1000.0);
  for (const char* role : {"api", "scheduler", "conductor"}) {
    const auto& ids = members[role];
    std::string list;
    for (const std::string& id : ids) list += (list.empty() ? "" : ", ") + id;
    std::printf("  %-10s %zu up%s%s\n", role, ids.size(), ids.empty() ? "" : ": ",
                list.c_str());
    if (ids.empty()) rc = 1;
  }

  // Compute hosts by their last heartbeat.
  auto liveness = LivenessStore::Open(o.nats_urls, o.auth, o.stream, /*replicas=*/0);
  if (!liveness.ok()) {
    std::printf("compute hosts: %s\n", liveness.status().ToString().c_str());
    rc = 1;
  } else if (auto beats = (*liveness)->LastHeartbeats(); !beats.ok()) {
    std::printf("compute hosts: %s\n", beats.status().ToString().c_str());
    rc = 1;
  } else {
    const Timestamp now = Env::Default()->Now();
    size_t up = 0;
    for (const auto& [host, seen] : *beats)
      up += now.micros - seen.micros <= o.service_down_time_s * 1000000 ? 1 : 0;
    std::printf("compute hosts: %zu up, %zu down\n", up, beats->size() - up);
    for (const auto& [host, seen] : *beats) {
      const int64_t ago = now.micros - seen.micros;
      const bool is_up = ago <= o.service_down_time_s * 1000000;
      std::printf("  %-24s %-4s last heartbeat %s ago\n", host.str().c_str(),
                  is_up ? "up" : "DOWN", Seconds(ago).c_str());
      if (!is_up) rc = 1;
    }
  }

  // NATS nodes and the log's replicas.
  if (!o.nats_http.empty()) std::printf("nats nodes:\n");
  Json leader_view;  // the stream as its leader reports it
  std::vector<std::string> node_names;
  std::set<std::string> meta_members;  // the meta leader's group, as it reports it
  for (const std::string& node : o.nats_http) {
    HttpClient http(node);
    auto varz = http.Send("GET", "/varz", {});
    auto jsz = http.Send("GET", "/jsz?streams=true", {});
    if (!varz.ok() || varz->status != 200 || !jsz.ok() || jsz->status != 200) {
      std::printf("  %-22s DOWN\n", node.c_str());
      rc = 1;
      continue;
    }
    auto v = Json::Parse(varz->body);
    auto j = Json::Parse(jsz->body);
    if (!v.ok() || !j.ok()) {
      std::printf("  %-22s unreadable monitoring answer\n", node.c_str());
      rc = 1;
      continue;
    }
    const Json* name = Path(*v, {"server_name"});
    const Json* version = Path(*v, {"version"});
    const Json* leader = Path(*j, {"meta_cluster", "leader"});
    std::printf("  %-22s up  %s (nats-server %s), meta leader %s\n", node.c_str(),
                name && name->is_string() ? name->as_string().c_str() : "?",
                version && version->is_string() ? version->as_string().c_str() : "?",
                leader && leader->is_string() ? leader->as_string().c_str() : "none");
    if (name && name->is_string()) {
      node_names.push_back(name->as_string());
      if (leader && leader->is_string() && leader->as_string() == name->as_string()) {
        meta_members.insert(name->as_string());
        if (const Json* reps = Path(*j, {"meta_cluster", "replicas"});
            reps && reps->is_array()) {
          for (const Json& r : reps->items()) {
            if (const Json* rn = Path(r, {"name"}); rn && rn->is_string()) {
              meta_members.insert(rn->as_string());
            }
          }
        }
      }
    }
    // The stream as this node sees it; its leader's view has the replicas' lag.
    const Json* accounts = Path(*j, {"account_details"});
    if (accounts == nullptr || !accounts->is_array()) continue;
    for (const Json& account : accounts->items()) {
      const Json* streams = Path(account, {"stream_detail"});
      if (streams == nullptr || !streams->is_array()) continue;
      for (const Json& st : streams->items()) {
        const Json* sname = Path(st, {"name"});
        const Json* sleader = Path(st, {"cluster", "leader"});
        if (sname && sname->is_string() && sname->as_string() == o.stream && name &&
            name->is_string() && sleader && sleader->is_string() &&
            sleader->as_string() == name->as_string()) {
          leader_view = st;
        }
      }
    }
  }
  // A node up but outside the meta group cannot hold a replica: nats-server
  // 2.10 can form a fresh cluster without one (docs/operations.md).
  if (!meta_members.empty()) {
    for (const std::string& n : node_names) {
      if (meta_members.count(n) == 0) {
        std::printf(
            "  %s is not in the JetStream meta group: restart it (docs/operations.md)\n",
            n.c_str());
        rc = 1;
      }
    }
  }
  if (!leader_view.is_null()) {
    const Json* sleader = Path(leader_view, {"cluster", "leader"});
    const Json* last = Path(leader_view, {"state", "last_seq"});
    std::string peers = sleader->as_string() + " (leader)";
    if (const Json* reps = Path(leader_view, {"cluster", "replicas"});
        reps && reps->is_array()) {
      for (const Json& r : reps->items()) {
        const Json* rn = Path(r, {"name"});
        const Json* cur = Path(r, {"current"});
        const Json* lag = Path(r, {"lag"});
        const bool current = cur && cur->is_bool() && cur->as_bool();
        peers += ", " + (rn && rn->is_string() ? rn->as_string() : "?") +
                 (current ? " (current" : " (BEHIND") +
                 (lag && lag->is_int() ? ", lag " + std::to_string(lag->as_int()) : "") +
                 ")";
        if (!current) rc = 1;
      }
    }
    std::printf("stream %s: last seq %lld; replicas %s\n", o.stream.c_str(),
                last && last->is_int() ? static_cast<long long>(last->as_int()) : -1LL,
                peers.c_str());
  } else if (!o.nats_http.empty()) {
    std::printf("stream %s: no node reports itself its leader\n", o.stream.c_str());
    rc = 1;
  }

  // Each process's read models against the log's head.
  if (!o.state_dirs.empty()) {
    auto head = log.Head();
    std::printf("read models (log head %s):\n",
                head.ok() ? std::to_string(head->value()).c_str() : "unknown");
    namespace fs = std::filesystem;
    std::error_code ec;
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(o.state_dirs, ec))
      dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    for (const fs::path& dir : dirs) {
      const fs::path store = dir / "projections";
      if (!fs::exists(store / "CURRENT")) continue;
      const std::string secondary =
          (fs::temp_directory_path() / ("chronovactl-status-" + std::to_string(getpid()) +
                                        "-" + dir.filename().string()))
              .string();
      {
        ReadModels models;
        ProjectionStoreOptions so;
        so.path = store.string();
        so.read_only = true;
        so.secondary_path = secondary;
        auto opened = ProjectionStore::Open(so, models.All());
        if (!opened.ok()) {
          std::printf("  %-16s %s\n", dir.filename().c_str(),
                      opened.status().ToString().c_str());
        } else {
          const uint64_t at = (*opened)->checkpoint().value();
          std::printf("  %-16s at seq %llu, lag %lld\n", dir.filename().c_str(),
                      static_cast<unsigned long long>(at),
                      head.ok() ? static_cast<long long>(head->value()) -
                                      static_cast<long long>(at)
                                : -1LL);
        }
      }  // closed before its secondary's files go
      fs::remove_all(secondary, ec);
    }
  }
  return rc;
}

int ClusterStatusCommand(const Flags& flags, const JetStreamLogOptions& js,
                         EventLog& log) {
  if (flags.positional().size() != 2 || flags.positional()[1] != "status") {
    std::fprintf(stderr,
                 "chronovactl: usage: cluster status [--nats-http H:P,...] "
                 "[--state-dirs DIR] [--service-down-time S]\n");
    return 2;
  }
  ClusterStatusOptions o;
  o.nats_urls = js.url;
  o.auth = js.auth;
  o.stream = js.stream_name;
  o.nats_http = jetstream_names::ServerUrls(flags.Get("nats-http", ""));
  o.state_dirs = flags.Get("state-dirs", "");
  const std::string down = flags.Get("service-down-time", "60");
  if (down.empty() || down.size() > 9 ||
      down.find_first_not_of("0123456789") != std::string::npos) {
    std::fprintf(stderr, "chronovactl: --service-down-time must be seconds\n");
    return 2;
  }
  o.service_down_time_s = std::stoll(down);
  return PrintClusterStatus(o, log);
}

}  // namespace chronova
