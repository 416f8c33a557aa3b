// The Compute API's admin views over real HTTP against a whole node (RocksDB
// log, scheduler, conductor, fake compute hosts): os-hypervisors, os-services,
// os-availability-zone, os-hosts and os-aggregates, and the scheduler honouring
// a disabled compute service and an aggregate's availability zone. Also the
// questions the API asks a compute host over the bus (os-getConsoleOutput).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "agents/host_query.h"
#include "api/http/json.h"
#include "projections/projection_store.h"
#include "tests/support/api_cloud.h"
#include "tests/support/node_test_util.h"
#include "tests/support/test_util.h"
#include "tools/http_client.h"

namespace chronova::testing {
namespace {

constexpr const char* kAdmin = ApiCloud::kAdminToken;
constexpr const char* kMember = ApiCloud::kMemberToken;

// A node with two fake compute hosts (compute-1, compute-2) and the HTTP API,
// spoken to as the admin unless a test says otherwise.
struct Cloud : ApiCloud {
  Cloud() : ApiCloud(2) {}

  Answer Send(const std::string& method, const std::string& path,
              const std::string& token = kAdmin, const std::string& body = "") {
    return ApiCloud::Send(method, path, token, body);
  }
  Answer Get(const std::string& path, const std::string& token = kAdmin) {
    return Send("GET", path, token);
  }

  // Boots a server (m1.tiny) in `zone` (empty: any) and waits until it is
  // ACTIVE or ERROR; returns the admin's detail view.
  Json Boot(const std::string& name, const std::string& zone = "") {
    Json server = Json::MakeObject(
        {{"name", name}, {"flavorRef", "1"}, {"imageRef", kDemoImageId}});
    if (!zone.empty()) server["availability_zone"] = zone;
    Answer created =
        Send("POST", "/servers", kAdmin, Json::MakeObject({{"server", server}}).Dump());
    INFO(created.body);
    REQUIRE(created.status == 202);
    std::string id = created.json["server"]["id"].as_string();
    for (int i = 0; i < 1000; ++i) {
      Answer s = Get("/servers/" + id);
      std::string status = s.json["server"]["status"].as_string();
      if (status == "ACTIVE" || status == "ERROR") return s.json["server"];
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("server " << id << " did not leave BUILD");
    return Json();
  }
};

std::string HostOf(const Json& server) {
  const Json* h = server.Find("OS-EXT-SRV-ATTR:host");
  return h && h->is_string() ? h->as_string() : "";
}

}  // namespace

TEST_CASE("os-hypervisors shows each compute host with an integer id, usage and state") {
  Cloud c;
  Json server = c.Boot("web");
  REQUIRE(server["status"].as_string() == "ACTIVE");
  const std::string host = HostOf(server);

  Answer list = c.Get("/os-hypervisors");
  REQUIRE(list.status == 200);
  Json hs = list.json["hypervisors"];
  REQUIRE(hs.size() == 2);
  CHECK(hs.mutable_items()[0]["id"].as_int() == 1);  // registration order
  CHECK(hs.mutable_items()[1]["id"].as_int() == 2);
  for (Json h : hs.items()) {
    CHECK(h.size() == 4);
    CHECK(h["state"].as_string() == "up");
    CHECK(h["status"].as_string() == "enabled");
  }

  Answer detail = c.Get("/os-hypervisors/detail");
  REQUIRE(detail.status == 200);
  int64_t running = 0, used_mb = 0;
  for (Json h : detail.json["hypervisors"].items()) {
    CHECK(h["vcpus"].as_int() == 8);
    CHECK(h["memory_mb"].as_int() == 8192);
    CHECK(h["hypervisor_type"].is_string());
    CHECK(h["hypervisor_version"].is_int());
    CHECK(h["host_ip"].as_string() == "127.0.0.1");
    CHECK(h["cpu_info"].is_string());
    CHECK(h["service"]["host"].as_string() == h["hypervisor_hostname"].as_string());
    CHECK(h["service"]["disabled_reason"].is_null());
    CHECK(h["free_ram_mb"].as_int() ==
          h["memory_mb"].as_int() - h["memory_mb_used"].as_int());
    running += h["running_vms"].as_int();
    used_mb += h["memory_mb_used"].as_int();
  }
  CHECK(running == 1);
  CHECK(used_mb == 512);

  Answer show = c.Get("/os-hypervisors/1");
  REQUIRE(show.status == 200);
  CHECK(show.json["hypervisor"]["id"].as_int() == 1);
  CHECK(show.json["hypervisor"].Contains("running_vms"));
  Answer missing = c.Get("/os-hypervisors/99");
  CHECK(missing.status == 404);
  CHECK(Message(missing) == "Hypervisor with ID '99' could not be found.");
  CHECK(c.Get("/os-hypervisors/abc").status == 404);
  // The host's own `uptime`, asked of it over the bus (admins only).
  Answer uptime = c.Get("/os-hypervisors/1/uptime");
  INFO(uptime.body);
  REQUIRE(uptime.status == 200);
  CHECK(uptime.json["hypervisor"]["id"].as_int() == 1);
  CHECK(uptime.json["hypervisor"]["uptime"].as_string().find("load average") !=
        std::string::npos);
  CHECK(c.Get("/os-hypervisors/1/uptime", kMember).status == 403);
  CHECK(c.Get("/os-hypervisors/99/uptime").status == 404);

  Answer stats = c.Get("/os-hypervisors/statistics");
  REQUIRE(stats.status == 200);
  Json s = stats.json["hypervisor_statistics"];
  CHECK(s["count"].as_int() == 2);
  CHECK(s["vcpus"].as_int() == 16);
  CHECK(s["vcpus_used"].as_int() == 1);
  CHECK(s["running_vms"].as_int() == 1);
  CHECK(s["free_ram_mb"].as_int() == 2 * 8192 - 512);

  Answer search = c.Get("/os-hypervisors/compute/search");
  REQUIRE(search.status == 200);
  CHECK(search.json["hypervisors"].size() == 2);
  Answer servers = c.Get("/os-hypervisors/" + host + "/servers");
  REQUIRE(servers.status == 200);
  REQUIRE(servers.json["hypervisors"].size() == 1);
  Json on = servers.json["hypervisors"].mutable_items()[0]["servers"];
  REQUIRE(on.size() == 1);
  CHECK(on.mutable_items()[0]["uuid"].as_string() == server["id"].as_string());
  CHECK(on.mutable_items()[0]["name"].as_string() == "web");
  Answer none = c.Get("/os-hypervisors/nosuch/search");
  CHECK(none.status == 404);
  CHECK(Message(none) == "No hypervisor matching 'nosuch' could be found.");

  Answer member = c.Get("/os-hypervisors", kMember);
  CHECK(member.status == 403);
  CHECK(Message(member) ==
        "Policy doesn't allow os_compute_api:os-hypervisors:list to be performed.");
}

TEST_CASE(
    "disabling a compute service is an event and the scheduler places nothing on it") {
  Cloud c;
  Answer list = c.Get("/os-services");
  REQUIRE(list.status == 200);
  Json services = list.json["services"];
  REQUIRE(services.size() == 4);
  CHECK(services.mutable_items()[0]["binary"].as_string() == "nova-scheduler");
  CHECK(services.mutable_items()[0]["zone"].as_string() == "internal");
  CHECK(services.mutable_items()[1]["binary"].as_string() == "nova-conductor");
  CHECK(services.mutable_items()[2]["binary"].as_string() == "nova-compute");
  CHECK(services.mutable_items()[2]["id"].as_int() == 3);
  CHECK(services.mutable_items()[2]["zone"].as_string() == "nova");
  CHECK(services.mutable_items()[2]["state"].as_string() == "up");
  CHECK(services.mutable_items()[2]["status"].as_string() == "enabled");
  CHECK(c.Get("/os-services?binary=nova-compute").json["services"].size() == 2);
  CHECK(
      c.Get("/os-services?host=compute-2&binary=nova-compute").json["services"].size() ==
      1);

  Answer disabled = c.Send(
      "PUT", "/os-services/disable-log-reason", kAdmin,
      R"({"host": "compute-1", "binary": "nova-compute", "disabled_reason": "maintenance"})");
  REQUIRE(disabled.status == 200);
  CHECK(disabled.json["service"]["status"].as_string() == "disabled");
  CHECK(disabled.json["service"]["disabled_reason"].as_string() == "maintenance");
  Json svc = c.Get("/os-services?host=compute-1").json["services"].mutable_items()[0];
  CHECK(svc["status"].as_string() == "disabled");
  CHECK(svc["disabled_reason"].as_string() == "maintenance");
  CHECK(c.Get("/os-hypervisors")
            .json["hypervisors"]
            .mutable_items()[0]["status"]
            .as_string() == "disabled");
  auto stream =
      c.node->log()->ReadStream(HostStream(HostName("compute-1")), StreamVersion(1), 100);
  REQUIRE(stream.ok());
  CHECK(stream->back().type == "host.service_disabled");

  // Nova's ComputeFilter: every new server goes to compute-2.
  for (int i = 0; i < 3; ++i)
    CHECK(HostOf(c.Boot("vm" + std::to_string(i))) == "compute-2");

  Answer enabled = c.Send("PUT", "/os-services/enable", kAdmin,
                          R"({"host": "compute-1", "binary": "nova-compute"})");
  REQUIRE(enabled.status == 200);
  CHECK(enabled.json["service"]["status"].as_string() == "enabled");
  CHECK_FALSE(enabled.json["service"].Contains("disabled_reason"));
  // compute-1 has the most free RAM now: the spreading weigher picks it.
  CHECK(HostOf(c.Boot("after")) == "compute-1");

  Answer scheduler = c.Send("PUT", "/os-services/disable", kAdmin,
                            R"({"host": "compute", "binary": "nova-scheduler"})");
  CHECK(scheduler.status == 400);
  CHECK(Message(scheduler) ==
        "Updating a nova-scheduler service is not supported. Only nova-compute services "
        "can be updated.");
  Answer unknown = c.Send("PUT", "/os-services/disable", kAdmin,
                          R"({"host": "nowhere", "binary": "nova-compute"})");
  CHECK(unknown.status == 404);
  CHECK(Message(unknown) == "Could not find binary nova-compute on host nowhere.");
  Answer missing =
      c.Send("PUT", "/os-services/disable", kAdmin, R"({"host": "compute-1"})");
  CHECK(missing.status == 400);
  CHECK(Message(missing) == "'binary' is a required property");
  CHECK(c.Send("PUT", "/os-services/frobnicate", kAdmin,
               R"({"host": "compute-1", "binary": "nova-compute"})")
            .status == 404);
  CHECK(c.Get("/os-services", kMember).status == 403);
  CHECK(c.Send("PUT", "/os-services/disable", kMember,
               R"({"host": "compute-1", "binary": "nova-compute"})")
            .status == 403);
}

TEST_CASE("os-aggregates: events, Nova's conflicts, and the zone the scheduler honours") {
  Cloud c;
  Answer created =
      c.Send("POST", "/os-aggregates", kAdmin,
             R"({"aggregate": {"name": "rack1", "availability_zone": "az1"}})");
  REQUIRE(created.status == 200);
  Json agg = created.json["aggregate"];
  CHECK(agg["id"].as_int() == 1);
  CHECK(agg["name"].as_string() == "rack1");
  CHECK(agg["availability_zone"].as_string() == "az1");
  CHECK(agg["deleted"].as_bool() == false);
  CHECK(agg["updated_at"].is_null());
  CHECK_FALSE(agg.Contains("hosts"));

  Answer dup =
      c.Send("POST", "/os-aggregates", kAdmin, R"({"aggregate": {"name": "rack1"}})");
  CHECK(dup.status == 409);
  CHECK(Message(dup) == "Aggregate rack1 already exists.");
  Answer bad = c.Send("POST", "/os-aggregates", kAdmin, R"({"aggregate": {}})");
  CHECK(bad.status == 400);
  CHECK(Message(bad).find("'name' is a required property") != std::string::npos);

  Answer added = c.Send("POST", "/os-aggregates/1/action", kAdmin,
                        R"({"add_host": {"host": "compute-1"}})");
  REQUIRE(added.status == 200);
  CHECK(added.json["aggregate"]["hosts"].mutable_items()[0].as_string() == "compute-1");
  CHECK(added.json["aggregate"]["metadata"]["availability_zone"].as_string() == "az1");
  Answer again = c.Send("POST", "/os-aggregates/1/action", kAdmin,
                        R"({"add_host": {"host": "compute-1"}})");
  CHECK(again.status == 409);
  CHECK(Message(again) == "Aggregate 1 already has host compute-1.");
  Answer nohost = c.Send("POST", "/os-aggregates/1/action", kAdmin,
                         R"({"add_host": {"host": "nowhere"}})");
  CHECK(nohost.status == 404);
  CHECK(Message(nohost) == "Compute host nowhere could not be found.");

  // A second zone may not take a host that is already in az1.
  Answer second =
      c.Send("POST", "/os-aggregates", kAdmin,
             R"({"aggregate": {"name": "rack2", "availability_zone": "az2"}})");
  REQUIRE(second.status == 200);
  Answer clash = c.Send("POST", "/os-aggregates/2/action", kAdmin,
                        R"({"add_host": {"host": "compute-1"}})");
  CHECK(clash.status == 409);
  CHECK(Message(clash) ==
        "Cannot add host to aggregate 2. Reason: One or more hosts already in "
        "availability zone(s) ['az1'].");

  // The zone is the host's for os-availability-zone, os-services and the scheduler.
  Answer zones = c.Get("/os-availability-zone", kMember);
  REQUIRE(zones.status == 200);
  Json info = zones.json["availabilityZoneInfo"];
  REQUIRE(info.size() == 2);
  CHECK(info.mutable_items()[0]["zoneName"].as_string() == "az1");
  CHECK(info.mutable_items()[0]["zoneState"]["available"].as_bool());
  CHECK(info.mutable_items()[0]["hosts"].is_null());
  CHECK(info.mutable_items()[1]["zoneName"].as_string() == "nova");
  Answer zdetail = c.Get("/os-availability-zone/detail");
  REQUIRE(zdetail.status == 200);
  Json dinfo = zdetail.json["availabilityZoneInfo"];
  REQUIRE(dinfo.size() == 3);  // az1, internal, nova
  CHECK(dinfo.mutable_items()[0]["hosts"]["compute-1"]["nova-compute"]["available"]
            .as_bool());
  CHECK(
      dinfo.mutable_items()[0]["hosts"]["compute-1"]["nova-compute"]["active"].as_bool());
  CHECK(dinfo.mutable_items()[1]["zoneName"].as_string() == "internal");
  CHECK(dinfo.mutable_items()[1]["hosts"]["compute"].Contains("nova-scheduler"));
  CHECK(c.Get("/os-availability-zone/detail", kMember).status == 403);
  CHECK(c.Get("/os-services?host=compute-1")
            .json["services"]
            .mutable_items()[0]["zone"]
            .as_string() == "az1");

  CHECK(HostOf(c.Boot("in-az1", "az1")) == "compute-1");
  CHECK(HostOf(c.Boot("in-nova", "nova")) == "compute-2");
  // az2 has no hosts: Nova refuses a zone no enabled compute service is in.
  Answer nowhere = c.Send(
      "POST", "/servers", kAdmin,
      R"({"server": {"name": "in-az2", "flavorRef": "1", "availability_zone": "az2",)"
      R"( "imageRef": ")" +
          std::string(kDemoImageId) + R"("}})");
  CHECK(nowhere.status == 400);
  CHECK(Message(nowhere) == "The requested availability zone is not available");

  Answer md = c.Send("POST", "/os-aggregates/1/action", kAdmin,
                     R"({"set_metadata": {"metadata": {"ssd": "true", "gone": null}}})");
  REQUIRE(md.status == 200);
  CHECK(md.json["aggregate"]["metadata"]["ssd"].as_string() == "true");
  CHECK(md.json["aggregate"]["updated_at"].is_string());
  Answer renamed =
      c.Send("PUT", "/os-aggregates/1", kAdmin, R"({"aggregate": {"name": "rack-one"}})");
  REQUIRE(renamed.status == 200);
  CHECK(renamed.json["aggregate"]["name"].as_string() == "rack-one");
  CHECK(renamed.json["aggregate"]["availability_zone"].as_string() == "az1");
  Answer taken =
      c.Send("PUT", "/os-aggregates/1", kAdmin, R"({"aggregate": {"name": "rack2"}})");
  CHECK(taken.status == 409);

  Answer busy = c.Send("DELETE", "/os-aggregates/1");
  CHECK(busy.status == 400);
  CHECK(Message(busy) ==
        "Cannot remove host from aggregate 1. Reason: Host aggregate is not empty.");
  Answer removed = c.Send("POST", "/os-aggregates/1/action", kAdmin,
                          R"({"remove_host": {"host": "compute-1"}})");
  REQUIRE(removed.status == 200);
  CHECK(removed.json["aggregate"]["hosts"].size() == 0);
  Answer not_in = c.Send("POST", "/os-aggregates/1/action", kAdmin,
                         R"({"remove_host": {"host": "compute-1"}})");
  CHECK(not_in.status == 404);
  CHECK(Message(not_in) == "Cannot remove host compute-1 in aggregate 1");

  Answer listed = c.Get("/os-aggregates");
  REQUIRE(listed.status == 200);
  CHECK(listed.json["aggregates"].size() == 2);
  CHECK(c.Send("DELETE", "/os-aggregates/1").status == 200);
  Answer gone = c.Get("/os-aggregates/1");
  CHECK(gone.status == 404);
  CHECK(Message(gone) == "Aggregate 1 could not be found.");
  CHECK(c.Get("/os-aggregates/x").status == 400);
  // Ids are never reused.
  Answer third =
      c.Send("POST", "/os-aggregates", kAdmin, R"({"aggregate": {"name": "rack3"}})");
  REQUIRE(third.status == 200);
  CHECK(third.json["aggregate"]["id"].as_int() == 3);

  Answer member = c.Get("/os-aggregates", kMember);
  CHECK(member.status == 403);
  CHECK(Message(member) ==
        "Policy doesn't allow os_compute_api:os-aggregates:index to be performed.");
  CHECK(c.Send("POST", "/os-aggregates", kMember, R"({"aggregate": {"name": "x"}})")
            .status == 403);
}

TEST_CASE("os-hosts lists service hosts and shows a host's resource rows") {
  Cloud c;
  Json server = c.Boot("web");
  const std::string host = HostOf(server);
  Answer list = c.Get("/os-hosts");
  REQUIRE(list.status == 200);
  Json hosts = list.json["hosts"];
  REQUIRE(hosts.size() == 4);
  CHECK(hosts.mutable_items()[0]["service"].as_string() == "scheduler");
  CHECK(hosts.mutable_items()[0]["zone"].as_string() == "internal");
  CHECK(hosts.mutable_items()[2]["service"].as_string() == "compute");
  CHECK(hosts.mutable_items()[2]["zone"].as_string() == "nova");
  CHECK(c.Get("/os-hosts?zone=nova").json["hosts"].size() == 2);

  Answer show = c.Get("/os-hosts/" + host);
  REQUIRE(show.status == 200);
  Json rows = show.json["host"];
  REQUIRE(rows.size() == 4);
  CHECK(rows.mutable_items()[0]["resource"]["project"].as_string() == "(total)");
  CHECK(rows.mutable_items()[0]["resource"]["cpu"].as_int() == 8);
  CHECK(rows.mutable_items()[1]["resource"]["project"].as_string() == "(used_now)");
  CHECK(rows.mutable_items()[1]["resource"]["memory_mb"].as_int() == 512);
  CHECK(rows.mutable_items()[2]["resource"]["project"].as_string() == "(used_max)");
  CHECK(rows.mutable_items()[3]["resource"]["project"].as_string() == "admin");
  CHECK(rows.mutable_items()[3]["resource"]["disk_gb"].as_int() == 1);

  Answer missing = c.Get("/os-hosts/nowhere");
  CHECK(missing.status == 404);
  CHECK(Message(missing) == "Host 'nowhere' is not mapped to any cell");
  CHECK(c.Get("/os-hosts/" + host + "/reboot").status == 501);
  CHECK(c.Send("PUT", "/os-hosts/" + host, kAdmin, R"({"status": "disable"})").status ==
        501);
  CHECK(c.Send("PUT", "/os-hosts/" + host, kAdmin, R"({"status": "off"})").status == 400);
  CHECK(c.Get("/os-hosts", kMember).status == 403);
}

}  // namespace chronova::testing

namespace chronova::testing {

TEST_CASE("os-getConsoleOutput asks the server's host and tails its console log") {
  Cloud c;
  Json server = c.Boot("console");
  REQUIRE(server["status"].as_string() == "ACTIVE");
  const std::string path = "/servers/" + server["id"].as_string() + "/action";
  auto ask = [&](const std::string& args, const std::string& token = kAdmin) {
    return c.Send("POST", path, token, R"({"os-getConsoleOutput": )" + args + "}");
  };
  // The fake driver's console, as Nova's fake driver has it.
  Answer all = ask("{}");
  REQUIRE(all.status == 200);
  CHECK(all.json["output"].as_string() == "FAKE CONSOLE OUTPUT\nANOTHER\nLAST LINE");
  CHECK(ask(R"({"length": -1})").json["output"].as_string() ==
        "FAKE CONSOLE OUTPUT\nANOTHER\nLAST LINE");
  CHECK(ask(R"({"length": null})").json["output"].as_string() ==
        "FAKE CONSOLE OUTPUT\nANOTHER\nLAST LINE");
  CHECK(ask(R"({"length": 1})").json["output"].as_string() == "LAST LINE");
  CHECK(ask(R"({"length": "2"})").json["output"].as_string() == "ANOTHER\nLAST LINE");
  CHECK(ask(R"({"length": 0})").json["output"].as_string().empty());
  CHECK(ask(R"({"length": 50})").json["output"].as_string() ==
        "FAKE CONSOLE OUTPUT\nANOTHER\nLAST LINE");

  // Nova's schema and errors.
  Answer negative = ask(R"({"length": -2})");
  CHECK(negative.status == 400);
  CHECK(Message(negative) ==
        "Invalid input for field/attribute length. Value: -2. -2 is less than the "
        "minimum of -1");
  CHECK(ask(R"({"length": "x"})").status == 400);
  CHECK(ask(R"({"length": 1.5})").status == 400);
  CHECK(ask(R"({"lines": 3})").status == 400);
  CHECK(ask("[]").status == 400);
  CHECK(c.Send("POST", "/servers/00000000-0000-4000-8000-000000000000/action", kAdmin,
               R"({"os-getConsoleOutput": {}})")
            .status == 404);
  // Another project's member does not see the server at all.
  CHECK(ask("{}", kMember).status == 404);
}

TEST_CASE("a host query nobody answers is Unavailable after its timeout") {
  std::unique_ptr<Bus> bus = NewInProcessBus();
  HostQueryClient client(bus.get(), "test-client");
  HostQuery q;
  q.instance_id = InstanceId("6a1f0c3e-0000-4000-8000-000000000001");
  auto start = std::chrono::steady_clock::now();
  Result<std::string> r = client.Ask(HostName("nowhere"), q, 200);
  CHECK(r.status().IsUnavailable());
  CHECK(r.status().message() == "Compute host nowhere did not answer within 200 ms");
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(200));
}

TEST_CASE("TailLines keeps the last N lines as Nova's compute manager does") {
  CHECK(TailLines("a\nb\nc", -1) == "a\nb\nc");
  CHECK(TailLines("a\nb\nc", 0).empty());
  CHECK(TailLines("a\nb\nc", 1) == "c");
  CHECK(TailLines("a\nb\nc", 2) == "b\nc");
  CHECK(TailLines("a\nb\nc", 3) == "a\nb\nc");
  CHECK(TailLines("a\nb\nc", 9) == "a\nb\nc");
  // A trailing newline makes an empty last line, as Python's split gives.
  CHECK(TailLines("a\nb\n", 1).empty());
  CHECK(TailLines("a\nb\n", 2) == "b\n");
  CHECK(TailLines("", 2).empty());
}

}  // namespace chronova::testing
