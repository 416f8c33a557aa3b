// Keypairs, flavor administration, quotas and limits of the Compute API, over
// real HTTP against a whole Node (RocksDB log, fake compute hosts).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "api/http/json.h"
#include "core/event_codec.h"
#include "projections/projection_store.h"
#include "tests/support/node_test_util.h"
#include "tests/support/test_util.h"
#include "tools/http_client.h"

namespace chronova::testing {
namespace {

constexpr char kEdKey[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ8k7RIxFJSSvpC62EWg/mS9Th9FiFBSYeJvg0OU2OX0 "
    "test@chronova";
// ssh-keygen -l -E md5 of kEdKey.
constexpr char kEdFingerprint[] = "f5:aa:54:f5:b6:3d:2a:11:13:25:87:12:ce:c7:22:44";

struct Reply {
  int status = 0;
  std::string body;
  Json json;
};

struct Cloud {
  TempDir dir;
  std::string host_port;
  std::string version;  // the microversion asked for; empty: none (2.1)
  std::unique_ptr<Node> node;

  Cloud() {
    NodeOptions o = FakeCloudOptions(dir, 1, 64, 262144);
    o.api.quota_defaults.clear();  // Nova's defaults
    host_port = "127.0.0.1:" + std::to_string(FreePort());
    o.api.compute_api_url = "http://" + host_port;
    auto n = Node::Start(o);
    INFO(n.status().ToString());
    REQUIRE(n.ok());
    node = std::move(n).value();
  }

  Reply Send(const std::string& method, const std::string& path, const std::string& token,
             const std::string& body = "") {
    HttpClient client(host_port);
    std::map<std::string, std::string> headers{{"X-Auth-Token", token},
                                               {"Content-Type", "application/json"}};
    if (!version.empty()) headers["OpenStack-API-Version"] = "compute " + version;
    auto r = client.Send(method, "/v2.1" + path, headers, body);
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    Reply out{r->status, r->body, Json()};
    if (auto parsed = Json::Parse(r->body); parsed.ok()) out.json = *parsed;
    return out;
  }
  Reply Get(const std::string& p, const std::string& t = "alice:demo") {
    return Send("GET", p, t);
  }
  Reply Post(const std::string& p, const std::string& b,
             const std::string& t = "alice:demo") {
    return Send("POST", p, t, b);
  }
  Reply Put(const std::string& p, const std::string& b,
            const std::string& t = "admin:admin") {
    return Send("PUT", p, t, b);
  }
  Reply Delete(const std::string& p, const std::string& t = "alice:demo") {
    return Send("DELETE", p, t);
  }
  Reply Boot(const std::string& extra = "", const std::string& token = "alice:demo",
             const std::string& flavor = "1") {
    return Post("/servers",
                std::string(R"({"server": {"name": "vm", "flavorRef": ")") + flavor +
                    R"(", "imageRef": ")" + kDemoImageId + "\"" + extra + "}}",
                token);
  }
};

std::string Message(const Reply& r, const std::string& fault) {
  INFO(r.body);
  const Json* f = r.json.Find(fault);
  REQUIRE(f != nullptr);
  CHECK(f->Find("code")->as_int() == r.status);
  return f->Find("message")->as_string();
}

}  // namespace

TEST_CASE("keypairs: import with Nova's fingerprint, generate once, per user") {
  Cloud c;
  Reply imported = c.Post(
      "/os-keypairs",
      std::string(R"({"keypair": {"name": "ed", "public_key": ")") + kEdKey + "\"}}");
  INFO(imported.body);
  REQUIRE(imported.status == 200);
  const Json& kp = *imported.json.Find("keypair");
  CHECK(kp.Find("fingerprint")->as_string() == kEdFingerprint);
  CHECK(kp.Find("user_id")->as_string() == "alice");
  CHECK(kp.Find("public_key")->as_string() == kEdKey);
  CHECK(kp.Find("private_key") == nullptr);

  Reply generated = c.Post("/os-keypairs", R"({"keypair": {"name": "gen-1"}})");
  REQUIRE(generated.status == 200);
  const Json& g = *generated.json.Find("keypair");
  std::string private_key = g.Find("private_key")->as_string();
  CHECK(private_key.rfind("-----BEGIN RSA PRIVATE KEY-----", 0) == 0);
  CHECK(g.Find("public_key")->as_string().rfind("ssh-rsa ", 0) == 0);
  CHECK(g.Find("fingerprint")->as_string().size() == 47);
  // The private key never reaches the log.
  for (const Envelope& env : c.node->log()->Read(Seq(1), 100000).value()) {
    CHECK(env.payload.find("PRIVATE KEY") == std::string::npos);
    CHECK(env.payload.find(private_key.substr(40, 40)) == std::string::npos);
  }

  Reply list = c.Get("/os-keypairs");
  REQUIRE(list.status == 200);
  REQUIRE(list.json.Find("keypairs")->size() == 2);
  const Json& first = *list.json.Find("keypairs")->items()[0].Find("keypair");
  CHECK(first.Find("name")->as_string() == "ed");
  CHECK(first.size() == 3);  // name, public_key, fingerprint

  // Another user of the same project sees none of alice's keys.
  CHECK(c.Get("/os-keypairs", "bob:demo").json.Find("keypairs")->size() == 0);
  Reply hidden = c.Get("/os-keypairs/ed", "bob:demo");
  CHECK(hidden.status == 404);
  CHECK(Message(hidden, "itemNotFound") == "Keypair ed not found for user bob");
  // Admins look at another user's keys with ?user_id= (microversion 2.10);
  // others may not. Before 2.10 the parameter is ignored, as in Nova.
  CHECK(c.Get("/os-keypairs?user_id=alice", "bob:demo").json.Find("keypairs")->size() ==
        0);
  c.version = "2.10";
  CHECK(
      c.Get("/os-keypairs?user_id=alice", "admin:admin").json.Find("keypairs")->size() ==
      2);
  Reply denied = c.Get("/os-keypairs?user_id=alice", "bob:demo");
  CHECK(denied.status == 403);
  CHECK(Message(denied, "forbidden") ==
        "Policy doesn't allow os_compute_api:os-keypairs:index to be performed.");
  c.version.clear();

  Reply shown = c.Get("/os-keypairs/ed");
  REQUIRE(shown.status == 200);
  CHECK(shown.json.Find("keypair")->Find("deleted")->as_bool() == false);
  CHECK(shown.json.Find("keypair")->Find("created_at")->is_string());

  Reply dup = c.Post("/os-keypairs", R"({"keypair": {"name": "ed"}})");
  CHECK(dup.status == 409);
  CHECK(Message(dup, "conflictingRequest") == "Key pair 'ed' already exists.");

  CHECK(c.Delete("/os-keypairs/ed").status == 202);
  CHECK(c.Get("/os-keypairs/ed").status == 404);
  CHECK(c.Delete("/os-keypairs/ed").status == 404);
}

TEST_CASE("keypairs: bad names and bad public keys are 400") {
  Cloud c;
  Reply bad_name = c.Post("/os-keypairs", R"({"keypair": {"name": "a/b"}})");
  CHECK(bad_name.status == 400);
  CHECK(Message(bad_name, "badRequest").find("Only expected characters") !=
        std::string::npos);
  Reply empty = c.Post("/os-keypairs", R"({"keypair": {"name": ""}})");
  CHECK(empty.status == 400);
  Reply missing = c.Post("/os-keypairs", R"({"keypair": {}})");
  CHECK(missing.status == 400);
  CHECK(Message(missing, "badRequest").find("'name' is a required property") !=
        std::string::npos);
  for (const char* key :
       {"ssh-rsa notbase64!!", "ssh-foo AAAA", "garbage",
        "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIJ8k7RIxFJSSvpC62EWg/mS9Th9FiFBSYeJvg0OU2OX0"}) {
    Reply r = c.Post(
        "/os-keypairs",
        std::string(R"({"keypair": {"name": "k", "public_key": ")") + key + "\"}}");
    INFO(key);
    CHECK(r.status == 400);
    CHECK(Message(r, "badRequest") ==
          "Keypair data is invalid: failed to generate fingerprint");
  }
}

TEST_CASE("server create checks key_name and shows it") {
  Cloud c;
  Reply unknown = c.Boot(R"(, "key_name": "nope")");
  CHECK(unknown.status == 400);
  CHECK(Message(unknown, "badRequest") == "Invalid key_name provided.");
  REQUIRE(c.Post("/os-keypairs", R"({"keypair": {"name": "mine"}})").status == 200);
  // bob cannot boot with alice's key.
  CHECK(c.Boot(R"(, "key_name": "mine")", "bob:demo").status == 400);
  Reply ok = c.Boot(R"(, "key_name": "mine")");
  REQUIRE(ok.status == 202);
  std::string id = ok.json.Find("server")->Find("id")->as_string();
  CHECK(c.Get("/servers/" + id).json.Find("server")->Find("key_name")->as_string() ==
        "mine");
}

TEST_CASE(
    "flavor administration: create, conflicts, private access, extra specs, delete") {
  Cloud c;
  const std::string body =
      R"({"flavor": {"name": "priv.small", "id": "p1", "ram": 1024, "vcpus": 2, "disk": 10,
          "os-flavor-access:is_public": false}})";
  Reply denied = c.Post("/flavors", body);
  CHECK(denied.status == 403);
  CHECK(Message(denied, "forbidden") ==
        "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed.");
  Reply created = c.Post("/flavors", body, "admin:admin");
  INFO(created.body);
  REQUIRE(created.status == 200);
  const Json& f = *created.json.Find("flavor");
  CHECK(f.Find("id")->as_string() == "p1");
  CHECK(f.Find("os-flavor-access:is_public")->as_bool() == false);
  CHECK(f.Find("ram")->as_int() == 1024);

  Reply same_id = c.Post(
      "/flavors",
      R"({"flavor": {"name": "other", "id": "p1", "ram": 1, "vcpus": 1, "disk": 0}})",
      "admin:admin");
  CHECK(same_id.status == 409);
  CHECK(Message(same_id, "conflictingRequest") == "Flavor with ID p1 already exists.");
  Reply same_name = c.Post(
      "/flavors", R"({"flavor": {"name": "m1.tiny", "ram": 1, "vcpus": 1, "disk": 0}})",
      "admin:admin");
  CHECK(same_name.status == 409);
  CHECK(Message(same_name, "conflictingRequest") ==
        "Flavor with name m1.tiny already exists.");
  Reply bad =
      c.Post("/flavors", R"({"flavor": {"name": "x", "ram": 0, "vcpus": 1, "disk": 0}})",
             "admin:admin");
  CHECK(bad.status == 400);
  CHECK(
      Message(bad, "badRequest") ==
      "Invalid input for field/attribute ram. Value: 0. 0 is less than the minimum of 1");
  // An id is generated when none is given.
  Reply auto_id = c.Post(
      "/flavors", R"({"flavor": {"name": "auto", "ram": 64, "vcpus": 1, "disk": 0}})",
      "admin:admin");
  REQUIRE(auto_id.status == 200);
  CHECK(auto_id.json.Find("flavor")->Find("id")->as_string().size() == 36);

  // Private: hidden from projects without access (list, show, boot).
  CHECK(c.Get("/flavors/p1").status == 404);
  auto listed = [&](const std::string& token) {
    Reply r = c.Get("/flavors", token);
    for (const Json& x : r.json.Find("flavors")->items()) {
      if (x.Find("id")->as_string() == "p1") return true;
    }
    return false;
  };
  CHECK_FALSE(listed("alice:demo"));
  // Admins see private flavors when they ask for them (Nova's is_public=None).
  CHECK_FALSE(listed("admin:admin"));
  {
    Reply r = c.Get("/flavors?is_public=None", "admin:admin");
    bool found = false;
    for (const Json& x : r.json.Find("flavors")->items())
      found |= x.Find("id")->as_string() == "p1";
    CHECK(found);
  }
  CHECK(c.Boot("", "alice:demo", "p1").status == 400);

  Reply add = c.Post("/flavors/p1/action", R"({"addTenantAccess": {"tenant": "demo"}})",
                     "admin:admin");
  REQUIRE(add.status == 200);
  CHECK(add.json.Find("flavor_access")->items()[0].Find("tenant_id")->as_string() ==
        "demo");
  Reply again = c.Post("/flavors/p1/action", R"({"addTenantAccess": {"tenant": "demo"}})",
                       "admin:admin");
  CHECK(again.status == 409);
  CHECK(Message(again, "conflictingRequest") ==
        "Flavor access already exists for flavor p1 and project demo combination.");
  CHECK(listed("alice:demo"));
  CHECK(c.Get("/flavors/p1").status == 200);
  CHECK(c.Boot("", "alice:demo", "p1").status == 202);
  CHECK(c.Get("/flavors/p1/os-flavor-access", "admin:admin")
            .json.Find("flavor_access")
            ->size() == 1);
  CHECK(c.Get("/flavors/p1/os-flavor-access").status == 403);
  Reply public_list = c.Get("/flavors/1/os-flavor-access", "admin:admin");
  CHECK(public_list.status == 404);
  CHECK(Message(public_list, "itemNotFound") ==
        "Access list not available for public flavors.");
  CHECK(c.Post("/flavors/p1/action", R"({"removeTenantAccess": {"tenant": "demo"}})",
               "admin:admin")
            .status == 200);
  Reply gone = c.Post("/flavors/p1/action",
                      R"({"removeTenantAccess": {"tenant": "demo"}})", "admin:admin");
  CHECK(gone.status == 404);
  CHECK(Message(gone, "itemNotFound") ==
        "Flavor access not found for p1 / demo combination.");
  CHECK_FALSE(listed("alice:demo"));

  // Extra specs.
  Reply specs = c.Post("/flavors/p1/os-extra_specs",
                       R"({"extra_specs": {"hw:cpu_policy": "dedicated", "k2": "v2"}})",
                       "admin:admin");
  REQUIRE(specs.status == 200);
  CHECK(c.Post("/flavors/p1/os-extra_specs", R"({"extra_specs": {"a": "b"}})").status ==
        403);
  Reply one = c.Get("/flavors/p1/os-extra_specs/k2", "admin:admin");
  REQUIRE(one.status == 200);
  CHECK(one.json.Find("k2")->as_string() == "v2");
  Reply upd = c.Put("/flavors/p1/os-extra_specs/k2", R"({"k2": "v3"})");
  REQUIRE(upd.status == 200);
  CHECK(upd.json.Find("k2")->as_string() == "v3");
  CHECK(c.Put("/flavors/p1/os-extra_specs/k2", R"({"k3": "v3"})").status == 400);
  CHECK(c.Delete("/flavors/p1/os-extra_specs/k2", "admin:admin").status == 200);
  Reply missing = c.Get("/flavors/p1/os-extra_specs/k2", "admin:admin");
  CHECK(missing.status == 404);
  CHECK(Message(missing, "itemNotFound") == "Flavor p1 has no extra specs with key k2.");
  Reply all = c.Get("/flavors/p1/os-extra_specs", "admin:admin");
  CHECK(all.json.Find("extra_specs")->size() == 1);

  CHECK(c.Delete("/flavors/p1").status == 403);
  CHECK(c.Delete("/flavors/p1", "admin:admin").status == 202);
  CHECK(c.Get("/flavors/p1", "admin:admin").status == 404);
  CHECK(c.Delete("/flavors/p1", "admin:admin").status == 404);
  // The id is free again once deleted.
  CHECK(c.Post("/flavors", body, "admin:admin").status == 200);
}

TEST_CASE("quota sets: defaults, update, detail usage, delete reverts") {
  Cloud c;
  Reply shown = c.Get("/os-quota-sets/demo");
  REQUIRE(shown.status == 200);
  const Json& q = *shown.json.Find("quota_set");
  CHECK(q.Find("id")->as_string() == "demo");
  CHECK(q.Find("instances")->as_int() == 10);
  CHECK(q.Find("cores")->as_int() == 20);
  CHECK(q.Find("ram")->as_int() == 51200);
  CHECK(q.Find("key_pairs")->as_int() == 100);
  CHECK(q.Find("metadata_items")->as_int() == 128);
  CHECK(q.Find("injected_files")->as_int() == 5);
  CHECK(c.Get("/os-quota-sets/demo/defaults")
            .json.Find("quota_set")
            ->Find("instances")
            ->as_int() == 10);
  CHECK(c.Get("/os-quota-sets/other").status == 403);

  Reply denied =
      c.Put("/os-quota-sets/demo", R"({"quota_set": {"instances": 2}})", "alice:demo");
  CHECK(denied.status == 403);
  CHECK(Message(denied, "forbidden") ==
        "Policy doesn't allow os_compute_api:os-quota-sets:update to be performed.");
  Reply bad = c.Put("/os-quota-sets/demo", R"({"quota_set": {"instances": -2}})");
  CHECK(bad.status == 400);
  CHECK(Message(bad, "badRequest") ==
        "Invalid input for field/attribute instances. Value: -2. -2 is less than the "
        "minimum of -1");
  Reply updated =
      c.Put("/os-quota-sets/demo", R"({"quota_set": {"instances": "2", "cores": 3}})");
  REQUIRE(updated.status == 200);
  CHECK(updated.json.Find("quota_set")->Find("id") == nullptr);
  CHECK(updated.json.Find("quota_set")->Find("instances")->as_int() == 2);

  REQUIRE(c.Boot().status == 202);  // m1.tiny: 1 vcpu, 512 MB
  Reply detail = c.Get("/os-quota-sets/demo/detail");
  REQUIRE(detail.status == 200);
  const Json& inst = *detail.json.Find("quota_set")->Find("instances");
  CHECK(inst.Find("in_use")->as_int() == 1);
  CHECK(inst.Find("limit")->as_int() == 2);
  CHECK(inst.Find("reserved")->as_int() == 0);
  CHECK(detail.json.Find("quota_set")->Find("ram")->Find("in_use")->as_int() == 512);

  // Not below what is used, unless forced.
  Reply under = c.Put("/os-quota-sets/demo", R"({"quota_set": {"instances": 0}})");
  CHECK(under.status == 400);
  CHECK(Message(under, "badRequest") ==
        "Quota limit 0 for instances must be greater than or equal to already used and "
        "reserved 1.");
  CHECK(c.Put("/os-quota-sets/demo", R"({"quota_set": {"instances": 0, "force": true}})")
            .status == 200);

  CHECK(c.Delete("/os-quota-sets/demo").status == 403);
  CHECK(c.Delete("/os-quota-sets/demo", "admin:admin").status == 202);
  CHECK(
      c.Get("/os-quota-sets/demo").json.Find("quota_set")->Find("instances")->as_int() ==
      10);

  // Quota classes: "default" overrides the configured defaults.
  Reply cls =
      c.Put("/os-quota-class-sets/default", R"({"quota_class_set": {"instances": 7}})");
  REQUIRE(cls.status == 200);
  CHECK(c.Get("/os-quota-sets/demo/defaults")
            .json.Find("quota_set")
            ->Find("instances")
            ->as_int() == 7);
  CHECK(c.Get("/os-quota-class-sets/default", "alice:demo").status == 403);
}

TEST_CASE("server create enforces instances, cores and ram with Nova's 403") {
  Cloud c;
  REQUIRE(c.Put("/os-quota-sets/demo", R"({"quota_set": {"instances": 3}})").status ==
          200);
  for (int i = 0; i < 3; ++i) REQUIRE(c.Boot().status == 202);
  Reply over = c.Boot();
  CHECK(over.status == 403);
  CHECK(Message(over, "forbidden") ==
        "Quota exceeded for instances: Requested 1, but already used 3 of 3 instances");
  // Another project is not affected.
  CHECK(c.Boot("", "carol:other").status == 202);

  // min/max: as many as fit (>= min_count), else 403 naming the range.
  REQUIRE(c.Put("/os-quota-sets/other", R"({"quota_set": {"instances": 4}})").status ==
          200);
  Reply some =
      c.Boot(R"(, "min_count": 2, "max_count": 5, "return_reservation_id": true)",
             "carol:other");
  REQUIRE(some.status == 202);
  Reply detail = c.Get("/os-quota-sets/other/detail", "carol:other");
  CHECK(detail.json.Find("quota_set")->Find("instances")->Find("in_use")->as_int() == 4);
  Reply none = c.Boot(R"(, "min_count": 1, "max_count": 2)", "carol:other");
  CHECK(none.status == 403);
  CHECK(Message(none, "forbidden") ==
        "Quota exceeded for instances: Requested 1-2, but already used 4 of 4 instances");

  // Cores and RAM, reported together and sorted as Nova does.
  REQUIRE(c.Put("/os-quota-sets/third", R"({"quota_set": {"cores": 0, "ram": 256}})")
              .status == 200);
  Reply both = c.Boot("", "dave:third");
  CHECK(both.status == 403);
  CHECK(
      Message(both, "forbidden") ==
      "Quota exceeded for cores, ram: Requested 1, 512, but already used 0, 0 of 0, 256 "
      "cores, ram");

  // A deleted server frees its quota.
  Reply list = c.Get("/servers");
  std::string victim = list.json.Find("servers")->items()[0].Find("id")->as_string();
  REQUIRE(c.Delete("/servers/" + victim).status == 204);
  bool freed = false;
  for (int i = 0; i < 500 && !freed; ++i) {
    freed = c.Get("/os-quota-sets/demo/detail")
                .json.Find("quota_set")
                ->Find("instances")
                ->Find("in_use")
                ->as_int() == 2;
    if (!freed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(freed);
  CHECK(c.Boot().status == 202);
}

namespace {

// POST /servers of one m1.tiny on a connection of its own: the status, or 0
// if the request failed.
int CreateOn(const std::string& host_port, const std::string& token) {
  HttpClient client(host_port);
  auto r = client.Send(
      "POST", "/v2.1/servers",
      {{"X-Auth-Token", token}, {"Content-Type", "application/json"}},
      std::string(R"({"server": {"name": "r", "flavorRef": "1", "imageRef": ")") +
          kDemoImageId + "\"}}");
  return r.ok() ? r->status : 0;
}

}  // namespace

TEST_CASE("two concurrent creates cannot both take the last quota slot") {
  Cloud c;
  for (int round = 0; round < 5; ++round) {
    const std::string project = "race" + std::to_string(round);
    REQUIRE(
        c.Put("/os-quota-sets/" + project, R"({"quota_set": {"instances": 1}})").status ==
        200);
    std::atomic<int> accepted{0}, refused{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        const int status = CreateOn(c.host_port, "u" + std::to_string(t) + ":" + project);
        ++(status == 202 ? accepted : status == 403 ? refused : other);
      });
    }
    for (auto& t : threads) t.join();
    CHECK(accepted == 1);
    CHECK(refused == 3);
    CHECK(other == 0);
  }
}

// Concurrent creates of one project are admitted in batches (one append for
// all the creates queued meanwhile): each decision must count the ones
// decided before it in the same batch, the project's and its user's.
TEST_CASE("concurrent creates fill the project's and a user's quota exactly") {
  Cloud c;
  const std::string project = "crowd";
  REQUIRE(
      c.Put("/os-quota-sets/" + project, R"({"quota_set": {"instances": 6}})").status ==
      200);
  REQUIRE(c.Put("/os-quota-sets/" + project + "?user_id=u0",
                R"({"quota_set": {"instances": 2}})")
              .status == 200);
  std::atomic<int> accepted{0}, refused{0}, other{0}, accepted_u0{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      const std::string user = t % 2 == 0 ? "u0" : "u" + std::to_string(t);
      const int status = CreateOn(c.host_port, user + ":" + project);
      ++(status == 202 ? accepted : status == 403 ? refused : other);
      if (status == 202 && user == "u0") ++accepted_u0;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(accepted == 6);
  CHECK(refused == 10);
  CHECK(other == 0);
  CHECK(accepted_u0 <= 2);
  Reply usage = c.Get("/os-quota-sets/" + project + "/detail", "admin:admin");
  REQUIRE(usage.status == 200);
  const Json& instances = *usage.json.Find("quota_set")->Find("instances");
  CHECK(instances.Find("in_use")->as_int() + instances.Find("reserved")->as_int() == 6);
}

TEST_CASE("keypair quota is per user and refuses with Nova's 403") {
  Cloud c;
  REQUIRE(c.Put("/os-quota-sets/demo", R"({"quota_set": {"key_pairs": 1}})").status ==
          200);
  REQUIRE(c.Post("/os-keypairs", R"({"keypair": {"name": "one"}})").status == 200);
  Reply over = c.Post("/os-keypairs", R"({"keypair": {"name": "two"}})");
  CHECK(over.status == 403);
  CHECK(Message(over, "forbidden") == "Quota exceeded, too many key pairs.");
}

TEST_CASE("GET /limits shows absolute limits with usage and an empty rate list") {
  Cloud c;
  REQUIRE(c.Boot().status == 202);
  Reply r = c.Get("/limits");
  REQUIRE(r.status == 200);
  const Json& limits = *r.json.Find("limits");
  CHECK(limits.Find("rate")->is_array());
  CHECK(limits.Find("rate")->size() == 0);
  const Json& abs = *limits.Find("absolute");
  CHECK(abs.Find("maxTotalInstances")->as_int() == 10);
  CHECK(abs.Find("maxTotalCores")->as_int() == 20);
  CHECK(abs.Find("maxTotalRAMSize")->as_int() == 51200);
  CHECK(abs.Find("maxTotalKeypairs")->as_int() == 100);
  CHECK(abs.Find("maxServerMeta")->as_int() == 128);
  CHECK(abs.Find("totalInstancesUsed")->as_int() == 1);
  CHECK(abs.Find("totalCoresUsed")->as_int() == 1);
  CHECK(abs.Find("totalRAMUsed")->as_int() == 512);
  // Another project's limits: admins only; anyone else naming a tenant_id
  // gets Nova's 403 (limits.py checks other_project), not their own limits.
  CHECK(c.Get("/limits?tenant_id=demo", "admin:admin")
            .json.Find("limits")
            ->Find("absolute")
            ->Find("totalInstancesUsed")
            ->as_int() == 1);
  Reply other = c.Get("/limits?tenant_id=demo", "eve:else");
  CHECK(other.status == 403);
  CHECK(Message(other, "forbidden") ==
        "Policy doesn't allow os_compute_api:limits:other_project to be performed.");
}

}  // namespace chronova::testing
