// The Compute API between microversions 2.37 and 2.48 over real HTTP: what each
// version changes (docs/api.md, "Microversions").
#include <catch2/catch.hpp>
#include <set>

#include "api/http/microversion.h"
#include "projections/projection_store.h"
#include "tests/support/api_cloud.h"

namespace chronova::testing {
namespace {

std::string CreateBody(const std::string& name, const std::string& extra) {
  return R"({"server": {"name": ")" + name + R"(", "flavorRef": "1", "imageRef": ")" +
         std::string(kDemoImageId) + "\"" + extra + "}}";
}

}  // namespace

TEST_CASE("microversions 2.37 and 2.42: networks are required, auto or none or a list") {
  ApiCloud cloud;
  Answer missing =
      At(cloud, "2.37", "POST", "/servers", ApiCloud::kMemberToken, CreateBody("n0", ""));
  CHECK(missing.status == 400);
  CHECK(missing.body.find("'networks' is a required property") != std::string::npos);
  // Before 2.37 networks may be left out.
  CHECK(
      At(cloud, "2.36", "POST", "/servers", ApiCloud::kMemberToken, CreateBody("n1", ""))
          .status == 202);
  for (const char* mode : {"auto", "none"}) {
    Answer a = At(cloud, "2.37", "POST", "/servers", ApiCloud::kMemberToken,
                  CreateBody(std::string("n-") + mode,
                             std::string(R"(, "networks": ")") + mode + "\""));
    INFO(a.body);
    CHECK(a.status == 202);
  }
  Answer bad = At(cloud, "2.37", "POST", "/servers", ApiCloud::kMemberToken,
                  CreateBody("n2", R"(, "networks": "some")"));
  CHECK(bad.status == 400);
  CHECK(bad.body.find("is not one of ['none', 'auto']") != std::string::npos);
  // From 2.37 a network's uuid must be a UUID; before, any string.
  const std::string not_uuid = R"(, "networks": [{"uuid": "net-1"}])";
  CHECK(At(cloud, "2.37", "POST", "/servers", ApiCloud::kMemberToken,
           CreateBody("n3", not_uuid))
            .status == 400);
  CHECK(At(cloud, "2.36", "POST", "/servers", ApiCloud::kMemberToken,
           CreateBody("n4", not_uuid))
            .status == 202);
  // A network's tag: 2.32-2.36, gone in 2.37, back in 2.42.
  const std::string tagged =
      R"(, "networks": [{"uuid": "6f8e2a1c-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "tag": "nic1"}])";
  CHECK(At(cloud, "2.36", "POST", "/servers", ApiCloud::kMemberToken,
           CreateBody("n5", tagged))
            .status == 202);
  Answer untagged = At(cloud, "2.37", "POST", "/servers", ApiCloud::kMemberToken,
                       CreateBody("n6", tagged));
  CHECK(untagged.status == 400);
  CHECK(untagged.body.find("'tag' was unexpected") != std::string::npos);
  CHECK(At(cloud, "2.42", "POST", "/servers", ApiCloud::kMemberToken,
           CreateBody("n7", tagged))
            .status == 202);
  CHECK(
      At(cloud, "2.42", "POST", "/servers", ApiCloud::kMemberToken,
         CreateBody(
             "n8",
             R"(, "networks": [{"uuid": "6f8e2a1c-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "tag": "a/b"}])"))
          .status == 400);
}

TEST_CASE("microversions 2.38 and 2.39: an unknown status is 400; no maxImageMeta") {
  ApiCloud cloud;
  Answer empty = At(cloud, "2.37", "GET", "/servers?status=nonsense");
  CHECK(empty.status == 200);
  CHECK(empty.json["servers"].size() == 0);
  Answer refused = At(cloud, "2.38", "GET", "/servers/detail?status=nonsense");
  CHECK(refused.status == 400);
  CHECK(refused.body.find("Invalid status value") != std::string::npos);
  CHECK(At(cloud, "2.38", "GET", "/servers?status=active").status == 200);

  CHECK(At(cloud, "2.38", "GET", "/limits")
            .json["limits"]["absolute"]
            .Contains("maxImageMeta"));
  Json limits = At(cloud, "2.39", "GET", "/limits").json["limits"]["absolute"];
  CHECK_FALSE(limits.Contains("maxImageMeta"));
  CHECK(limits.Contains("maxServerMeta"));
  CHECK(limits.Contains("maxPersonality"));  // until 2.57
}

TEST_CASE(
    "os-simple-tenant-usage: each project's hours; 2.40 pages with limit and marker") {
  ApiCloud cloud;
  const std::string a = cloud.Boot("usage-a");
  const std::string b = cloud.Boot("usage-b");
  cloud.DeleteAndWait(b);
  const std::string period = "start=2020-01-01T00:00:00&end=2999-01-01T00:00:00.000000";

  // All projects (admins), detailed.
  Answer all = At(cloud, "2.1", "GET", "/os-simple-tenant-usage?detailed=1&" + period,
                  ApiCloud::kAdminToken);
  INFO(all.body);
  REQUIRE(all.status == 200);
  REQUIRE(all.json["tenant_usages"].size() == 1);
  Json usage = all.json["tenant_usages"].items()[0];
  CHECK(usage.size() == 8);
  CHECK(usage["tenant_id"].as_string() == "demo");
  REQUIRE(usage["server_usages"].size() == 2);  // the deleted one too
  CHECK(usage["total_hours"].as_double() > 0);
  CHECK(usage["start"].as_string() == "2020-01-01T00:00:00.000000");
  std::set<std::string> states;
  for (Json s : usage["server_usages"].items()) {
    CHECK(s.size() == 12);
    CHECK(s["flavor"].as_string() == "m1.tiny");
    CHECK(s["vcpus"].as_int() == 1);
    states.insert(s["state"].as_string());
    if (s["instance_id"].as_string() == b) CHECK_FALSE(s["ended_at"].is_null());
  }
  CHECK(states == std::set<std::string>{"active", "terminated"});
  // Not detailed: no server_usages.
  Answer brief =
      At(cloud, "2.1", "GET", "/os-simple-tenant-usage?" + period, ApiCloud::kAdminToken);
  CHECK(brief.json["tenant_usages"].items()[0].size() == 7);

  // One project: its members may look; the list of all is for admins.
  Answer mine = At(cloud, "2.1", "GET", "/os-simple-tenant-usage/demo?" + period);
  CHECK(mine.status == 200);
  CHECK(mine.json["tenant_usage"]["server_usages"].size() == 2);
  CHECK(At(cloud, "2.1", "GET", "/os-simple-tenant-usage?" + period).status == 403);
  CHECK(At(cloud, "2.1", "GET", "/os-simple-tenant-usage/admin?" + period).status == 403);
  // An empty project id ("/os-simple-tenant-usage/") routes nowhere, as in Nova;
  // nor does any other path with a trailing slash.
  CHECK(
      At(cloud, "2.1", "GET", "/os-simple-tenant-usage/?" + period, ApiCloud::kAdminToken)
          .status == 404);
  CHECK(At(cloud, "2.1", "DELETE", "/images/", ApiCloud::kAdminToken).status == 404);
  CHECK(At(cloud, "2.1", "GET", "/servers/").status == 404);
  CHECK(At(cloud, "2.1", "GET", "/servers").status == 200);
  // A project with no servers: an empty object.
  Answer none = At(cloud, "2.1", "GET", "/os-simple-tenant-usage/nobody?" + period,
                   ApiCloud::kAdminToken);
  CHECK(none.json["tenant_usage"].Dump() == "{}");

  // No period: from now to now, nothing used yet.
  Answer now = At(cloud, "2.1", "GET", "/os-simple-tenant-usage/demo");
  REQUIRE(now.status == 200);
  CHECK(now.json["tenant_usage"]["total_hours"].as_double() == 0);
  // Bad periods.
  Answer reversed =
      At(cloud, "2.1", "GET",
         "/os-simple-tenant-usage/demo?start=2030-01-01T00:00:00&end=2020-01-"
         "01T00:00:00");
  CHECK(reversed.status == 400);
  CHECK(reversed.body.find("The start time cannot occur after the end time") !=
        std::string::npos);
  CHECK(At(cloud, "2.1", "GET", "/os-simple-tenant-usage/demo?start=yesterday").status ==
        400);
  // A period that ends before anything launched: nothing.
  Answer before = At(cloud, "2.1", "GET",
                     "/os-simple-tenant-usage/demo?start=2020-01-01T00:00:00&end=2020-01-"
                     "02T00:00:00");
  CHECK(before.json["tenant_usage"].Dump() == "{}");

  // 2.40: limit and marker page over the servers, with a next link.
  Answer page1 =
      At(cloud, "2.40", "GET", "/os-simple-tenant-usage/demo?limit=1&" + period);
  REQUIRE(page1.status == 200);
  REQUIRE(page1.json["tenant_usage"]["server_usages"].size() == 1);
  REQUIRE(page1.json.Contains("tenant_usage_links"));
  const std::string first =
      Json(page1.json["tenant_usage"]["server_usages"].items()[0])["instance_id"]
          .as_string();
  Answer page2 =
      At(cloud, "2.40", "GET",
         "/os-simple-tenant-usage/demo?limit=1&marker=" + first + "&" + period);
  REQUIRE(page2.json["tenant_usage"]["server_usages"].size() == 1);
  CHECK(Json(page2.json["tenant_usage"]["server_usages"].items()[0])["instance_id"]
            .as_string() != first);
  CHECK(At(cloud, "2.40", "GET", "/os-simple-tenant-usage/demo?marker=nope&" + period)
            .status == 400);
  // Before 2.40 limit is not a parameter: every server, no links.
  Answer old = At(cloud, "2.39", "GET", "/os-simple-tenant-usage/demo?limit=1&" + period);
  CHECK(old.json["tenant_usage"]["server_usages"].size() == 2);
  CHECK_FALSE(old.json.Contains("tenant_usage_links"));
  (void)a;
}

TEST_CASE(
    "microversions 2.41, 2.43, 2.44: aggregate uuids; os-hosts and network actions end") {
  ApiCloud cloud;
  Answer created = At(cloud, "2.41", "POST", "/os-aggregates", ApiCloud::kAdminToken,
                      R"({"aggregate": {"name": "rack9"}})");
  REQUIRE(created.status == 200);
  const std::string uuid = created.json["aggregate"]["uuid"].as_string();
  CHECK(uuid.size() == 36);
  const std::string path =
      "/os-aggregates/" + std::to_string(created.json["aggregate"]["id"].as_int());
  CHECK(At(cloud, "2.41", "GET", path, ApiCloud::kAdminToken)
            .json["aggregate"]["uuid"]
            .as_string() == uuid);
  CHECK_FALSE(At(cloud, "2.40", "GET", path, ApiCloud::kAdminToken)
                  .json["aggregate"]
                  .Contains("uuid"));

  CHECK(At(cloud, "2.42", "GET", "/os-hosts", ApiCloud::kAdminToken).status == 200);
  CHECK(At(cloud, "2.43", "GET", "/os-hosts", ApiCloud::kAdminToken).status == 404);

  const std::string id = cloud.Boot("net-actions");
  const std::string action = "/servers/" + id + "/action";
  const std::string body = R"({"addFloatingIp": {"address": "192.0.2.9"}})";
  CHECK(At(cloud, "2.43", "POST", action, ApiCloud::kMemberToken, body).status == 400);
  CHECK(At(cloud, "2.44", "POST", action, ApiCloud::kMemberToken, body).status == 404);
}

TEST_CASE(
    "microversions 2.45 and 2.47: createImage answers its id; the flavor is embedded") {
  ApiCloud cloud;
  const std::string id = cloud.Boot("embedded");
  Answer shown = At(cloud, "2.47", "GET", "/servers/" + id);
  REQUIRE(shown.status == 200);
  Json flavor = shown.json["server"]["flavor"];
  CHECK_FALSE(flavor.Contains("id"));
  CHECK(flavor["original_name"].as_string() == "m1.tiny");
  CHECK(flavor["vcpus"].as_int() == 1);
  CHECK(flavor["ram"].as_int() == 512);
  CHECK(flavor["swap"].as_int() == 0);
  CHECK(flavor["extra_specs"].is_object());
  CHECK(At(cloud, "2.46", "GET", "/servers/" + id)
            .json["server"]["flavor"]["id"]
            .as_string() == "1");

  const std::string action = "/servers/" + id + "/action";
  Answer old = At(cloud, "2.44", "POST", action, ApiCloud::kMemberToken,
                  R"({"createImage": {"name": "snap-old"}})");
  REQUIRE(old.status == 202);
  CHECK(old.headers.count("location") == 1);
  cloud.WaitStatus(id, "ACTIVE");
  Answer now = At(cloud, "2.45", "POST", action, ApiCloud::kMemberToken,
                  R"({"createImage": {"name": "snap-new"}})");
  INFO(now.body);
  REQUIRE(now.status == 202);
  CHECK(now.headers.count("location") == 0);
  CHECK(now.json["image_id"].as_string().size() == 36);
}

TEST_CASE("os-server-diagnostics: the host's counters; 2.48 standardizes them") {
  ApiCloud cloud;
  const std::string id = cloud.Boot("diag");
  const std::string path = "/servers/" + id + "/diagnostics";
  CHECK(At(cloud, "2.1", "GET", path).status == 403);  // admins only
  CHECK(At(cloud, "2.1", "GET",
           "/servers/00000000-0000-4000-8000-000000000000/diagnostics",
           ApiCloud::kAdminToken)
            .status == 404);
  Answer legacy = At(cloud, "2.47", "GET", path, ApiCloud::kAdminToken);
  INFO(legacy.body);
  REQUIRE(legacy.status == 200);
  CHECK(legacy.json["memory"].as_int() == 524288);
  CHECK(legacy.json.Contains("cpu0_time"));
  CHECK(legacy.json.Contains("vda_read_req"));
  CHECK(legacy.json.Contains("tap0_rx"));

  Answer standard = At(cloud, "2.48", "GET", path, ApiCloud::kAdminToken);
  INFO(standard.body);
  REQUIRE(standard.status == 200);
  Json d = standard.json;
  CHECK(d["state"].as_string() == "running");
  CHECK(d["driver"].as_string() == "libvirt");
  CHECK(d["num_cpus"].as_int() == 1);
  CHECK(d["num_disks"].as_int() == 1);
  CHECK(d["num_nics"].as_int() == 1);
  CHECK(d["uptime"].as_int() >= 0);
  CHECK(d["memory_details"]["maximum"].as_int() == 512);
  CHECK(d["config_drive"].is_bool());
  CHECK(Json(d["cpu_details"].items()[0])["utilisation"].is_null());
  CHECK(Json(d["nic_details"].items()[0])["mac_address"].as_string() ==
        "01:23:45:67:89:ab");
  CHECK(Json(d["disk_details"].items()[0])["errors_count"].as_int() == 1);

  // Stopped, it is still asked: the state says so.
  REQUIRE(cloud.Action(id, R"({"os-stop": null})").status == 202);
  cloud.WaitStatus(id, "SHUTOFF");
  CHECK(At(cloud, "2.48", "GET", path, ApiCloud::kAdminToken).json["state"].as_string() ==
        "shutdown");
}

TEST_CASE("microversions 2.51 and 2.52: action events for owners; tags at create") {
  ApiCloud cloud;
  Answer created =
      At(cloud, "2.52", "POST", "/servers", ApiCloud::kMemberToken,
         CreateBody("tagged", R"(, "networks": "none", "tags": ["web", "prod", "web"])"));
  INFO(created.body);
  REQUIRE(created.status == 202);
  const std::string id = created.json["server"]["id"].as_string();
  cloud.WaitStatus(id, "ACTIVE");
  Answer shown = At(cloud, "2.52", "GET", "/servers/" + id);
  CHECK(shown.json["server"]["tags"].Dump() == R"(["prod","web"])");
  CHECK(At(cloud, "2.52", "GET", "/servers?tags=prod").json["servers"].size() == 1);
  // Before 2.52 "tags" is an unknown property; bad tags are refused.
  CHECK(At(cloud, "2.51", "POST", "/servers", ApiCloud::kMemberToken,
           CreateBody("t2", R"(, "networks": "none", "tags": ["a"])"))
            .status == 400);
  CHECK(At(cloud, "2.52", "POST", "/servers", ApiCloud::kMemberToken,
           CreateBody("t3", R"(, "networks": "none", "tags": ["a/b"])"))
            .status == 400);
  std::string many;
  for (int i = 0; i < 51; ++i) many += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  CHECK(At(cloud, "2.52", "POST", "/servers", ApiCloud::kMemberToken,
           CreateBody("t4", R"(, "networks": "none", "tags": [)" + many + "]"))
            .status == 400);

  // The create action's events: the owner sees them from 2.51, without tracebacks.
  Answer actions = At(cloud, "2.51", "GET", "/servers/" + id + "/os-instance-actions");
  REQUIRE(actions.status == 200);
  const std::string req =
      Json(actions.json["instanceActions"].items()[0])["request_id"].as_string();
  const std::string path = "/servers/" + id + "/os-instance-actions/" + req;
  CHECK_FALSE(At(cloud, "2.50", "GET", path).json["instanceAction"].Contains("events"));
  Json owner = At(cloud, "2.51", "GET", path).json["instanceAction"];
  REQUIRE(owner.Contains("events"));
  REQUIRE(owner["events"].size() > 0);
  CHECK_FALSE(Json(owner["events"].items()[0]).Contains("traceback"));
  Json admin =
      At(cloud, "2.1", "GET", path, ApiCloud::kAdminToken).json["instanceAction"];
  REQUIRE(admin["events"].size() > 0);
  CHECK(Json(admin["events"].items()[0]).Contains("traceback"));
}

TEST_CASE("quota classes show no server group quotas before 2.50") {
  ApiCloud cloud;
  Json set =
      At(cloud, "2.47", "GET", "/os-quota-class-sets/default", ApiCloud::kAdminToken)
          .json;
  REQUIRE(set.Contains("quota_class_set"));
  CHECK_FALSE(set["quota_class_set"].Contains("server_groups"));
  CHECK_FALSE(set["quota_class_set"].Contains("server_group_members"));
  CHECK(set["quota_class_set"].Contains("instances"));
  // Quota classes keep the network quotas until 2.50.
  CHECK(set["quota_class_set"].Contains("floating_ips"));
  Json revised =
      At(cloud, "2.50", "GET", "/os-quota-class-sets/default", ApiCloud::kAdminToken)
          .json;
  CHECK(revised["quota_class_set"].Contains("server_groups"));
  CHECK(revised["quota_class_set"].Contains("server_group_members"));
  CHECK_FALSE(revised["quota_class_set"].Contains("floating_ips"));
  CHECK(revised["quota_class_set"].Contains("injected_files"));  // until 2.57
  // 2.50's update refuses what it no longer shows.
  CHECK(At(cloud, "2.50", "PUT", "/os-quota-class-sets/default", ApiCloud::kAdminToken,
           R"({"quota_class_set": {"floating_ips": 5}})")
            .status == 400);
  CHECK(At(cloud, "2.50", "PUT", "/os-quota-class-sets/default", ApiCloud::kAdminToken,
           R"({"quota_class_set": {"server_groups": 12}})")
            .json["quota_class_set"]["server_groups"]
            .as_int() == 12);
}

}  // namespace chronova::testing
