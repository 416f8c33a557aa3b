// ApiCloud: a whole node on loopback for Compute API tests over real HTTP
// (RocksDB log, scheduler, conductor, compute hosts on the fake driver or
// libvirt's test driver), and a client that speaks to it as the seeded users
// do ("user:project" tokens, as the other API tests use).
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "api/http/json.h"
#include "tests/support/node_test_util.h"
#include "tests/support/test_util.h"
#include "tools/http_client.h"

namespace chronova::testing {

struct Answer {
  int status = 0;
  std::map<std::string, std::string> headers;
  Json json;  // null unless the body is JSON
  std::string body;
};

// The message of a Nova fault body ({"badRequest": {"message": ...}}), or "".
inline std::string Message(const Answer& a) {
  for (const auto& [k, v] : a.json.members()) {
    if (const Json* m = v.Find("message")) return m->as_string();
  }
  return "";
}

struct ApiCloud {
  static constexpr char kAdminToken[] = "admin:admin";
  static constexpr char kMemberToken[] = "alice:demo";

  TempDir dir;
  int port = FreePort();
  std::unique_ptr<Node> node;
  std::unique_ptr<HttpClient> http;

  // `hosts` compute hosts (8 vCPUs, 8 GiB each) on `hypervisor` ("fake" or
  // "libvirt"), the seeded catalog, the Compute API; `tweak` may change the
  // options before the node starts.
  explicit ApiCloud(int hosts = 1, const std::string& hypervisor = "fake",
                    const std::function<void(NodeOptions&)>& tweak = nullptr) {
    NodeOptions o = FakeCloudOptions(dir, hosts, 8, 8192);
    o.compute.hypervisor = hypervisor;
    o.seed_catalog = true;
    o.api.compute_api_url = "http://127.0.0.1:" + std::to_string(port);
    if (tweak) tweak(o);
    auto started = Node::Start(o);
    INFO(started.status().ToString());
    REQUIRE(started.ok());
    node = std::move(started).value();
    WaitHosts(*node, static_cast<size_t>(hosts));
    http = std::make_unique<HttpClient>("127.0.0.1:" + std::to_string(port));
  }

  // `method` on /v2.1`path`; REQUIREs that the exchange itself worked.
  Answer Send(const std::string& method, const std::string& path,
              const std::string& token = kMemberToken, const std::string& body = "") {
    return SendTo(*http, method, "/v2.1" + path, token, body);
  }
  // `method` on `path` of any of the node's APIs, with a JSON body if any.
  static Answer SendTo(HttpClient& client, const std::string& method,
                       const std::string& path, const std::string& token,
                       const std::string& body) {
    std::map<std::string, std::string> headers{{"X-Auth-Token", token}};
    if (!body.empty()) headers["Content-Type"] = "application/json";
    auto r = client.Send(method, path, headers, body);
    INFO(method << " " << path << ": " << r.status().ToString());
    REQUIRE(r.ok());
    Answer a{r->status, r->headers, Json(), r->body};
    if (!r->body.empty()) {
      auto parsed = Json::Parse(r->body);
      if (parsed.ok()) a.json = std::move(parsed).value();
    }
    return a;
  }
  Answer Action(const std::string& id, const std::string& body,
                const std::string& token = kMemberToken) {
    return Send("POST", "/servers/" + id + "/action", token, body);
  }

  // The admin's view of the server once its status is `status` with no task
  // in progress (20 s at most).
  Json WaitStatus(const std::string& id, const std::string& status) {
    Json last;
    for (int i = 0; i < 2000; ++i) {
      Answer s = Send("GET", "/servers/" + id, kAdminToken);
      if (s.status == 200) {
        last = s.json["server"];
        if (last["status"].as_string() == status &&
            last["OS-EXT-STS:task_state"].is_null())
          return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("server " << id << " never reached " << status << "; last " << last.Dump());
    return Json();
  }

  // Deletes the member's server and waits (5 s at most) until it is gone.
  void DeleteAndWait(const std::string& id) {
    REQUIRE(Send("DELETE", "/servers/" + id).status == 204);
    for (int i = 0; i < 500; ++i) {
      if (Send("GET", "/servers/" + id).status == 404) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("server " << id << " was not deleted within 5 s");
  }

  // Boots a server as the member and waits for ACTIVE; returns its id.
  std::string Boot(const std::string& name, const std::string& flavor = "1",
                   const std::string& image = kDemoImageId) {
    Json server =
        Json::MakeObject({{"name", name}, {"flavorRef", flavor}, {"imageRef", image}});
    Answer created = Send("POST", "/servers", kMemberToken,
                          Json::MakeObject({{"server", server}}).Dump());
    INFO(created.body);
    REQUIRE(created.status == 202);
    std::string id = created.json["server"]["id"].as_string();
    WaitStatus(id, "ACTIVE");
    return id;
  }
};

// `method` on /v2.1`path` at microversion `version` (both headers' new form).
inline Answer At(ApiCloud& cloud, const std::string& version, const std::string& method,
                 const std::string& path,
                 const std::string& token = ApiCloud::kMemberToken,
                 const std::string& body = "") {
  std::map<std::string, std::string> headers{
      {"X-Auth-Token", token}, {"OpenStack-API-Version", "compute " + version}};
  if (!body.empty()) headers["Content-Type"] = "application/json";
  auto r = cloud.http->Send(method, "/v2.1" + path, headers, body);
  INFO(method << " " << path << ": " << r.status().ToString());
  REQUIRE(r.ok());
  Answer a{r->status, r->headers, Json(), r->body};
  if (auto parsed = Json::Parse(r->body); parsed.ok()) a.json = std::move(parsed).value();
  return a;
}

}  // namespace chronova::testing
