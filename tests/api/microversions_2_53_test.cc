// The Compute API from microversion 2.53 over real HTTP: what each version
// changes (docs/api.md, "Microversions").
#include <catch2/catch.hpp>

#include "api/http/microversion.h"
#include "api/service/admin_service.h"
#include "tests/support/api_cloud.h"

namespace chronova::testing {
namespace {

constexpr char kAdmin[] = "admin:admin";

}  // namespace

TEST_CASE("microversion 2.53: services and hypervisors are named by uuid") {
  ApiCloud cloud(2);
  const std::string boot = cloud.Boot("on-a-host");

  // Services: integer ids before, uuids from 2.53; the same uuid every time.
  Answer old_list = At(cloud, "2.52", "GET", "/os-services", kAdmin);
  REQUIRE(old_list.status == 200);
  CHECK(Json(old_list.json["services"].items()[0])["id"].is_number());
  Answer list = At(cloud, "2.53", "GET", "/os-services?binary=nova-compute", kAdmin);
  REQUIRE(list.status == 200);
  REQUIRE(list.json["services"].size() == 2);
  Json first = list.json["services"].items()[0];
  const std::string service = first["id"].as_string();
  CHECK(IsUuid(service));
  CHECK(service == ServiceUuid("nova-compute", HostName(first["host"].as_string())));
  CHECK(At(cloud, "2.53", "GET", "/os-services", kAdmin).json["services"].size() > 2);

  // PUT /os-services/{uuid}: disable with a reason, force down, enable.
  Answer disabled = At(cloud, "2.53", "PUT", "/os-services/" + service, kAdmin,
                       R"({"status": "disabled", "disabled_reason": "maint"})");
  INFO(disabled.body);
  REQUIRE(disabled.status == 200);
  CHECK(disabled.json["service"]["id"].as_string() == service);
  CHECK(disabled.json["service"]["status"].as_string() == "disabled");
  CHECK(disabled.json["service"]["disabled_reason"].as_string() == "maint");
  CHECK(disabled.json["service"]["forced_down"].as_bool() == false);
  Answer down = At(cloud, "2.53", "PUT", "/os-services/" + service, kAdmin,
                   R"({"forced_down": true})");
  REQUIRE(down.status == 200);
  CHECK(down.json["service"]["forced_down"].as_bool());
  CHECK(down.json["service"]["state"].as_string() == "down");
  CHECK(down.json["service"]["status"].as_string() == "disabled");
  Answer enabled = At(cloud, "2.53", "PUT", "/os-services/" + service, kAdmin,
                      R"({"status": "enabled", "forced_down": false})");
  REQUIRE(enabled.status == 200);
  CHECK(enabled.json["service"]["status"].as_string() == "enabled");
  CHECK(enabled.json["service"]["disabled_reason"].is_null());
  CHECK_FALSE(enabled.json["service"]["forced_down"].as_bool());

  // Nova's 400s and 404s.
  const std::string missing = "6f8e2a1c-3b4d-4e5f-8a9b-0c1d2e3f4a5b";
  CHECK(At(cloud, "2.53", "PUT", "/os-services/" + missing, kAdmin,
           R"({"status": "enabled"})")
            .status == 404);
  Answer not_uuid = At(cloud, "2.53", "PUT", "/os-services/disable", kAdmin,
                       R"({"status": "enabled"})");
  CHECK(not_uuid.status == 400);
  CHECK(Message(not_uuid) == "Invalid uuid disable");
  Answer nothing = At(cloud, "2.53", "PUT", "/os-services/" + service, kAdmin, "{}");
  CHECK(nothing.status == 400);
  CHECK(Message(nothing).find("No updates were requested") == 0);
  CHECK(At(cloud, "2.53", "PUT", "/os-services/" + service, kAdmin,
           R"({"status": "enabled", "disabled_reason": "x"})")
            .status == 400);
  CHECK(
      At(cloud, "2.53", "PUT", "/os-services/" + service, kAdmin, R"({"status": "off"})")
          .status == 400);
  CHECK(At(cloud, "2.53", "PUT", "/os-services/" + service, kAdmin,
           R"({"host": "h", "binary": "nova-compute"})")
            .status == 400);
  const std::string scheduler = ServiceUuid(
      "nova-scheduler",
      HostName(Json(At(cloud, "2.53", "GET", "/os-services?binary=nova-scheduler", kAdmin)
                        .json["services"]
                        .items()[0])["host"]
                   .as_string()));
  Answer other = At(cloud, "2.53", "PUT", "/os-services/" + scheduler, kAdmin,
                    R"({"status": "disabled"})");
  CHECK(other.status == 400);
  CHECK(Message(other).find("Updating a nova-scheduler service is not supported") == 0);
  // A member may not.
  CHECK(At(cloud, "2.53", "PUT", "/os-services/" + service, ApiCloud::kMemberToken,
           R"({"status": "disabled"})")
            .status == 403);

  // Hypervisors: uuids, the service's uuid, with_servers and the pattern.
  Answer hypers = At(cloud, "2.53", "GET", "/os-hypervisors/detail", kAdmin);
  REQUIRE(hypers.status == 200);
  REQUIRE(hypers.json["hypervisors"].size() == 2);
  for (Json h : hypers.json["hypervisors"].items()) {
    CHECK(IsUuid(h["id"].as_string()));
    CHECK(IsUuid(h["service"]["id"].as_string()));
    CHECK(h.Find("servers") == nullptr);
  }
  Answer with = At(cloud, "2.53", "GET", "/os-hypervisors?with_servers=true", kAdmin);
  REQUIRE(with.status == 200);
  size_t servers = 0;
  for (const Json& h : with.json["hypervisors"].items()) {
    if (const Json* s = h.Find("servers")) servers += s->size();
  }
  CHECK(servers == 1);
  CHECK(At(cloud, "2.53", "GET", "/os-hypervisors?with_servers=maybe", kAdmin).status ==
        400);
  CHECK(At(cloud, "2.53", "GET", "/os-hypervisors?sort=x", kAdmin).status == 400);
  CHECK(At(cloud, "2.52", "GET", "/os-hypervisors?sort=x", kAdmin).status == 200);
  Json first_hyper_json = hypers.json["hypervisors"].items()[0];
  const std::string name = first_hyper_json["hypervisor_hostname"].as_string();
  Answer matched = At(cloud, "2.53", "GET",
                      "/os-hypervisors?hypervisor_hostname_pattern=" + name, kAdmin);
  REQUIRE(matched.status == 200);
  CHECK(matched.json["hypervisors"].size() == 1);
  CHECK(
      At(cloud, "2.53", "GET", "/os-hypervisors?hypervisor_hostname_pattern=nope", kAdmin)
          .status == 404);
  CHECK(At(cloud, "2.53", "GET",
           "/os-hypervisors?hypervisor_hostname_pattern=" + name + "&limit=1", kAdmin)
            .status == 400);
  // Paging by uuid.
  const std::string first_hyper = first_hyper_json["id"].as_string();
  Answer page =
      At(cloud, "2.53", "GET", "/os-hypervisors?limit=1&marker=" + first_hyper, kAdmin);
  REQUIRE(page.status == 200);
  CHECK(page.json["hypervisors"].size() == 1);
  CHECK(Json(page.json["hypervisors"].items()[0])["id"].as_string() != first_hyper);

  // Show and uptime by uuid; an integer id is a 400 now; search and servers are gone.
  Answer shown = At(cloud, "2.53", "GET",
                    "/os-hypervisors/" + first_hyper + "?with_servers=true", kAdmin);
  REQUIRE(shown.status == 200);
  CHECK(shown.json["hypervisor"]["id"].as_string() == first_hyper);
  Answer by_number = At(cloud, "2.53", "GET", "/os-hypervisors/1", kAdmin);
  CHECK(by_number.status == 400);
  CHECK(Message(by_number) == "Invalid uuid 1");
  CHECK(At(cloud, "2.53", "GET", "/os-hypervisors/" + missing, kAdmin).status == 404);
  CHECK(At(cloud, "2.52", "GET", "/os-hypervisors/1", kAdmin).status == 200);
  CHECK(At(cloud, "2.53", "GET", "/os-hypervisors/" + name + "/search", kAdmin).status ==
        404);
  CHECK(At(cloud, "2.52", "GET", "/os-hypervisors/" + name + "/search", kAdmin).status ==
        200);
  CHECK(At(cloud, "2.53", "GET", "/os-hypervisors/" + name + "/servers", kAdmin).status ==
        404);
  CHECK(At(cloud, "2.53", "GET", "/os-hypervisors/1/uptime", kAdmin).status == 400);
}

}  // namespace chronova::testing

namespace chronova::testing {
namespace {

std::string Rebuild(const std::string& extra) {
  return std::string(R"({"rebuild": {"imageRef": ")") + kDemoImageId + "\"" + extra +
         "}}";
}

std::string CreateAt(const std::string& name, const std::string& extra) {
  return R"({"server": {"name": ")" + name + R"(", "flavorRef": "1", "imageRef": ")" +
         std::string(kDemoImageId) + R"(", "networks": "none")" + extra + "}}";
}

}  // namespace

TEST_CASE(
    "microversions 2.54, 2.57 and 2.63: a rebuild sets the key, the user data "
    "and the trusted certificates") {
  ApiCloud cloud;
  REQUIRE(cloud
              .Send("POST", "/os-keypairs", ApiCloud::kMemberToken,
                    R"({"keypair": {"name": "k1"}})")
              .status == 200);
  Answer created =
      At(cloud, "2.63", "POST", "/servers", ApiCloud::kMemberToken,
         CreateAt("certs", R"(, "trusted_image_certificates": ["c1", "c2"])"));
  INFO(created.body);
  REQUIRE(created.status == 202);
  const std::string id = created.json["server"]["id"].as_string();
  cloud.WaitStatus(id, "ACTIVE");
  Answer shown = At(cloud, "2.63", "GET", "/servers/" + id);
  CHECK(shown.json["server"]["trusted_image_certificates"].size() == 2);
  CHECK(At(cloud, "2.62", "GET", "/servers/" + id)
            .json["server"]
            .Find("trusted_image_certificates") == nullptr);

  Answer keyed = At(cloud, "2.54", "POST", "/servers/" + id + "/action",
                    ApiCloud::kMemberToken, Rebuild(R"(, "key_name": "k1")"));
  INFO(keyed.body);
  REQUIRE(keyed.status == 202);
  CHECK(keyed.json["server"]["key_name"].as_string() == "k1");
  cloud.WaitStatus(id, "ACTIVE");
  CHECK(At(cloud, "2.54", "POST", "/servers/" + id + "/action", ApiCloud::kMemberToken,
           Rebuild(R"(, "key_name": "nope")"))
            .status == 400);
  // Before 2.54 the key is not part of the rebuild.
  CHECK(At(cloud, "2.53", "POST", "/servers/" + id + "/action", ApiCloud::kMemberToken,
           Rebuild(R"(, "key_name": "k1")"))
            .status == 400);

  Answer data =
      At(cloud, "2.57", "POST", "/servers/" + id + "/action", ApiCloud::kMemberToken,
         Rebuild(R"(, "user_data": "ZWNobyBoaQ==", "key_name": null)"));
  INFO(data.body);
  REQUIRE(data.status == 202);
  CHECK(data.json["server"]["user_data"].as_string() == "ZWNobyBoaQ==");
  CHECK(data.json["server"]["key_name"].is_null());
  cloud.WaitStatus(id, "ACTIVE");
  CHECK(At(cloud, "2.57", "POST", "/servers/" + id + "/action", ApiCloud::kMemberToken,
           Rebuild(R"(, "personality": [])"))
            .status == 400);
  CHECK(At(cloud, "2.57", "POST", "/servers", ApiCloud::kMemberToken,
           CreateAt("p", R"(, "personality": [])"))
            .status == 400);
  Answer uncert =
      At(cloud, "2.63", "POST", "/servers/" + id + "/action", ApiCloud::kMemberToken,
         Rebuild(R"(, "trusted_image_certificates": null)"));
  REQUIRE(uncert.status == 202);
  CHECK(uncert.json["server"]["trusted_image_certificates"].is_null());
  cloud.WaitStatus(id, "ACTIVE");
  Answer after = At(cloud, "2.75", "GET", "/servers/" + id, kAdmin);
  CHECK(after.json["server"]["OS-EXT-SRV-ATTR:user_data"].as_string() == "ZWNobyBoaQ==");
  CHECK(after.json["server"]["key_name"].is_null());
  // 2.75: the rebuild answers the whole server, as a show does.
  Answer full = At(cloud, "2.75", "POST", "/servers/" + id + "/action",
                   ApiCloud::kMemberToken, Rebuild(""));
  REQUIRE(full.status == 202);
  CHECK(full.json["server"].Find("OS-EXT-STS:vm_state") != nullptr);
  CHECK(full.json["server"].Find("OS-EXT-SRV-ATTR:user_data") == nullptr);
}

TEST_CASE("microversions 2.55, 2.61 and 2.75: flavor descriptions, extra specs, swap") {
  ApiCloud cloud;
  Answer made = At(cloud, "2.55", "POST", "/flavors", kAdmin,
                   R"({"flavor": {"name": "described", "ram": 64, "vcpus": 1, "disk": 0,
                       "description": "for tests"}})");
  INFO(made.body);
  REQUIRE(made.status == 200);
  const std::string id = made.json["flavor"]["id"].as_string();
  CHECK(made.json["flavor"]["description"].as_string() == "for tests");
  CHECK(At(cloud, "2.54", "POST", "/flavors", kAdmin,
           R"({"flavor": {"name": "d2", "ram": 64, "vcpus": 1, "disk": 0,
               "description": "x"}})")
            .status == 400);
  Answer updated = At(cloud, "2.55", "PUT", "/flavors/" + id, kAdmin,
                      R"({"flavor": {"description": "changed"}})");
  REQUIRE(updated.status == 200);
  CHECK(updated.json["flavor"]["description"].as_string() == "changed");
  CHECK(At(cloud, "2.55", "GET", "/flavors/" + id)
            .json["flavor"]["description"]
            .as_string() == "changed");
  CHECK(At(cloud, "2.54", "PUT", "/flavors/" + id, kAdmin,
           R"({"flavor": {"description": "x"}})")
            .status == 404);
  CHECK(At(cloud, "2.55", "PUT", "/flavors/" + id, ApiCloud::kMemberToken,
           R"({"flavor": {"description": "x"}})")
            .status == 403);
  CHECK(At(cloud, "2.55", "PUT", "/flavors/" + id, kAdmin, R"({"flavor": {}})").status ==
        400);
  CHECK(At(cloud, "2.55", "PUT", "/flavors/nope", kAdmin,
           R"({"flavor": {"description": null}})")
            .status == 404);
  bool listed = false;
  Answer flavors = At(cloud, "2.55", "GET", "/flavors");
  for (Json f : flavors.json["flavors"].items()) {
    if (f["id"].as_string() == id) listed = f["description"].as_string() == "changed";
  }
  CHECK(listed);
  // 2.61: extra_specs in the detail views, for whom the policy allows.
  REQUIRE(cloud
              .Send("POST", "/flavors/" + id + "/os-extra_specs", kAdmin,
                    R"({"extra_specs": {"hw:cpu_policy": "shared"}})")
              .status == 200);
  Answer with = At(cloud, "2.61", "GET", "/flavors/" + id, kAdmin);
  CHECK(with.json["flavor"]["extra_specs"]["hw:cpu_policy"].as_string() == "shared");
  CHECK(At(cloud, "2.60", "GET", "/flavors/" + id, kAdmin)
            .json["flavor"]
            .Find("extra_specs") == nullptr);
  CHECK(At(cloud, "2.74", "GET", "/flavors/" + id).json["flavor"]["swap"].as_string() ==
        "");
  CHECK(At(cloud, "2.75", "GET", "/flavors/" + id).json["flavor"]["swap"].as_int() == 0);
  CHECK(At(cloud, "2.75", "GET", "/flavors?bogus=1").status == 400);
  CHECK(At(cloud, "2.74", "GET", "/flavors?bogus=1").status == 200);
}

TEST_CASE("microversions 2.58, 2.59, 2.62 and 2.66: actions and migrations are paged") {
  ApiCloud cloud(2);
  const std::string id = cloud.Boot("paged");
  for (const char* action : {R"({"os-stop": null})", R"({"os-start": null})"}) {
    REQUIRE(cloud.Action(id, action).status == 202);
    cloud.WaitStatus(
        id, std::string(action).find("stop") != std::string::npos ? "SHUTOFF" : "ACTIVE");
  }
  const std::string base = "/servers/" + id + "/os-instance-actions";
  Answer all = At(cloud, "2.58", "GET", base);
  REQUIRE(all.status == 200);
  REQUIRE(all.json["instanceActions"].size() == 3);
  Json newest = all.json["instanceActions"].items()[0];
  CHECK(newest["action"].as_string() == "start");
  CHECK(newest["updated_at"].is_string());
  Answer page = At(cloud, "2.58", "GET", base + "?limit=2");
  CHECK(page.json["instanceActions"].size() == 2);
  REQUIRE(page.json.Find("links") != nullptr);
  Json second = page.json["instanceActions"].items()[1];
  Answer rest =
      At(cloud, "2.58", "GET", base + "?marker=" + second["request_id"].as_string());
  REQUIRE(rest.json["instanceActions"].size() == 1);
  CHECK(Json(rest.json["instanceActions"].items()[0])["action"].as_string() == "create");
  CHECK(At(cloud, "2.58", "GET", base + "?marker=req-nope").status == 400);
  CHECK(At(cloud, "2.58", "GET", base + "?changes-since=2999-01-01T00:00:00Z")
            .json["instanceActions"]
            .size() == 0);
  CHECK(At(cloud, "2.58", "GET", base + "?bogus=1").status == 400);
  CHECK(At(cloud, "2.58", "GET", base + "?changes-before=2000-01-01T00:00:00Z").status ==
        400);
  CHECK(At(cloud, "2.66", "GET", base + "?changes-before=2000-01-01T00:00:00Z")
            .json["instanceActions"]
            .size() == 0);
  CHECK(
      At(cloud, "2.66", "GET",
         base + "?changes-since=2020-01-02T00:00:00Z&changes-before=2020-01-01T00:00:00Z")
          .status == 400);
  // 2.62: the events name their host's hostId (and the host, for admins).
  const std::string request = newest["request_id"].as_string();
  Answer event = At(cloud, "2.62", "GET", base + "/" + request, kAdmin);
  Json e = event.json["instanceAction"]["events"].items()[0];
  CHECK(!e["hostId"].as_string().empty());
  CHECK(!e["host"].as_string().empty());
  Json member_event = At(cloud, "2.62", "GET", base + "/" + request)
                          .json["instanceAction"]["events"]
                          .items()[0];
  CHECK(member_event.Find("host") == nullptr);
  CHECK(member_event.Find("hostId") != nullptr);

  // 2.59: migrations show their uuid and page by it.
  REQUIRE(cloud.Action(id, R"({"resize": {"flavorRef": "2"}})").status == 202);
  cloud.WaitStatus(id, "VERIFY_RESIZE");
  Answer migrations = At(cloud, "2.59", "GET", "/os-migrations", kAdmin);
  REQUIRE(migrations.status == 200);
  REQUIRE(migrations.json["migrations"].size() == 1);
  Json m = migrations.json["migrations"].items()[0];
  CHECK(IsUuid(m["uuid"].as_string()));
  CHECK(At(cloud, "2.59", "GET", "/os-migrations?marker=" + m["uuid"].as_string(), kAdmin)
            .json["migrations"]
            .size() == 0);
  Answer no_marker = At(cloud, "2.59", "GET", "/os-migrations?marker=nope", kAdmin);
  CHECK(no_marker.status == 400);
  CHECK(Message(no_marker) == "Marker nope could not be found.");
  CHECK(At(cloud, "2.59", "GET", "/os-migrations?bogus=1", kAdmin).status == 400);
  CHECK(At(cloud, "2.58", "GET", "/os-migrations", kAdmin)
            .json["migrations"]
            .items()[0]
            .Find("uuid") == nullptr);
}

TEST_CASE(
    "microversions 2.71, 2.73, 2.74, 2.75 and 2.78: groups, lock reasons, a "
    "requested host, strict queries, topology") {
  ApiCloud cloud(2);
  Answer group = At(cloud, "2.64", "POST", "/os-server-groups", ApiCloud::kMemberToken,
                    R"({"server_group": {"name": "g", "policy": "anti-affinity"}})");
  REQUIRE(group.status == 200);
  const std::string gid = group.json["server_group"]["id"].as_string();
  Answer created = At(
      cloud, "2.71", "POST", "/servers", ApiCloud::kMemberToken,
      R"({"server": {"name": "grouped", "flavorRef": "1", "imageRef": ")" +
          std::string(kDemoImageId) +
          R"(", "networks": "none"}, "os:scheduler_hints": {"group": ")" + gid + "\"}}");
  REQUIRE(created.status == 202);
  const std::string id = created.json["server"]["id"].as_string();
  cloud.WaitStatus(id, "ACTIVE");
  Answer shown = At(cloud, "2.71", "GET", "/servers/" + id);
  REQUIRE(shown.json["server"]["server_groups"].size() == 1);
  CHECK(Json(shown.json["server"]["server_groups"].items()[0]).as_string() == gid);
  CHECK(At(cloud, "2.70", "GET", "/servers/" + id).json["server"].Find("server_groups") ==
        nullptr);
  Answer renamed = At(cloud, "2.71", "PUT", "/servers/" + id, ApiCloud::kMemberToken,
                      R"({"server": {"name": "renamed"}})");
  CHECK(renamed.json["server"]["server_groups"].size() == 1);

  // 2.73: a lock may say why; the list filters on it.
  CHECK(At(cloud, "2.73", "POST", "/servers/" + id + "/action", ApiCloud::kMemberToken,
           R"({"lock": {"locked_reason": "maintenance"}})")
            .status == 202);
  Answer locked = At(cloud, "2.73", "GET", "/servers/" + id);
  CHECK(locked.json["server"]["locked"].as_bool());
  CHECK(locked.json["server"]["locked_reason"].as_string() == "maintenance");
  CHECK(At(cloud, "2.73", "GET", "/servers?locked=true").json["servers"].size() == 1);
  CHECK(At(cloud, "2.73", "GET", "/servers?locked=false").json["servers"].size() == 0);
  CHECK(At(cloud, "2.73", "GET", "/servers?locked=maybe").status == 400);
  CHECK(At(cloud, "2.73", "POST", "/servers/" + id + "/action", ApiCloud::kMemberToken,
           R"({"lock": {"reason": "x"}})")
            .status == 400);
  CHECK(cloud.Action(id, R"({"unlock": null})").status == 202);
  CHECK(At(cloud, "2.73", "GET", "/servers/" + id)
            .json["server"]["locked_reason"]
            .is_null());

  // 2.74: an admin's requested host is where the server goes.
  Json hypers = At(cloud, "2.53", "GET", "/os-hypervisors/detail", kAdmin).json;
  for (Json h : hypers["hypervisors"].items()) {
    const std::string host = h["service"]["host"].as_string();
    for (int i = 0; i < 2; ++i) {
      Answer placed = At(cloud, "2.74", "POST", "/servers", kAdmin,
                         CreateAt("placed", R"(, "host": ")" + host + "\""));
      INFO(placed.body);
      REQUIRE(placed.status == 202);
      Json s = cloud.WaitStatus(placed.json["server"]["id"].as_string(), "ACTIVE");
      CHECK(s["OS-EXT-SRV-ATTR:host"].as_string() == host);
    }
  }
  CHECK(At(cloud, "2.74", "POST", "/servers", kAdmin,
           CreateAt("nowhere", R"(, "host": "no-such-host")"))
            .status == 400);
  CHECK(At(cloud, "2.74", "POST", "/servers", ApiCloud::kMemberToken,
           CreateAt("mine", R"(, "host": "no-such-host")"))
            .status == 403);
  CHECK(At(cloud, "2.73", "POST", "/servers", kAdmin, CreateAt("old", R"(, "host": "h")"))
            .status == 400);

  // 2.75: unknown query parameters are refused.
  CHECK(At(cloud, "2.75", "GET", "/servers?bogus=1").status == 400);
  CHECK(At(cloud, "2.74", "GET", "/servers?bogus=1").status == 200);
  CHECK(At(cloud, "2.75", "GET", "/servers?sort_key=vcpus").status == 400);
  CHECK(At(cloud, "2.75", "GET", "/os-keypairs?bogus=1").status == 400);
  CHECK(At(cloud, "2.75", "GET", "/limits?bogus=1").status == 400);
  // 2.75: an empty servers list where a hypervisor has none.
  Answer with_servers =
      At(cloud, "2.75", "GET", "/os-hypervisors?with_servers=1", kAdmin);
  for (Json h : with_servers.json["hypervisors"].items()) {
    CHECK(h.Find("servers") != nullptr);
  }

  // 2.78: the server's NUMA topology: none.
  Answer topology = At(cloud, "2.78", "GET", "/servers/" + id + "/topology");
  REQUIRE(topology.status == 200);
  CHECK(topology.json["nodes"].size() == 0);
  CHECK(topology.json["pagesize_kb"].is_null());
  CHECK(At(cloud, "2.77", "GET", "/servers/" + id + "/topology").status == 404);
  CHECK(
      At(cloud, "latest", "GET", "/servers/" + id).headers.at("openstack-api-version") ==
      "compute 2.79");
}

TEST_CASE("cold migrate (2.56 with a host): the server moves with its own flavor") {
  ApiCloud cloud(2);
  const std::string id = cloud.Boot("mover");
  const std::string from =
      cloud.WaitStatus(id, "ACTIVE")["OS-EXT-SRV-ATTR:host"].as_string();
  CHECK(cloud.Action(id, R"({"migrate": null})").status == 403);  // admins only
  CHECK(cloud
            .Send("POST", "/servers/6f8e2a1c-3b4d-4e5f-8a9b-0c1d2e3f4a5b/action", kAdmin,
                  R"({"migrate": null})")
            .status == 404);
  Answer same = At(cloud, "2.56", "POST", "/servers/" + id + "/action", kAdmin,
                   R"({"migrate": {"host": ")" + from + "\"}}");
  CHECK(same.status == 400);
  CHECK(Message(same) == "Cannot migrate to the host where the server exists.");
  CHECK(At(cloud, "2.56", "POST", "/servers/" + id + "/action", kAdmin,
           R"({"migrate": {"host": "nowhere"}})")
            .status == 400);
  // Admins only (a lock does not stop an admin; the state below does).
  REQUIRE(cloud.Action(id, R"({"lock": null})").status == 202);
  CHECK(At(cloud, "2.56", "POST", "/servers/" + id + "/action", ApiCloud::kMemberToken,
           R"({"migrate": {"host": "nowhere"}})")
            .status == 403);
  REQUIRE(cloud.Action(id, R"({"unlock": null})").status == 202);
  REQUIRE(cloud.Action(id, R"({"os-stop": null})").status == 202);
  cloud.WaitStatus(id, "SHUTOFF");
  REQUIRE(cloud.Action(id, R"({"pause": null})").status == 409);
  REQUIRE(cloud.Action(id, R"({"os-start": null})").status == 202);
  cloud.WaitStatus(id, "ACTIVE");
  REQUIRE(cloud.Action(id, R"({"pause": null})").status == 202);
  cloud.WaitStatus(id, "PAUSED");
  Answer paused = At(cloud, "2.56", "POST", "/servers/" + id + "/action", kAdmin,
                     R"({"migrate": {"host": "nowhere"}})");
  CHECK(paused.status == 409);
  CHECK(Message(paused) ==
        "Cannot 'migrate' instance " + id + " while it is in vm_state paused");
  REQUIRE(cloud.Action(id, R"({"unpause": null})").status == 202);
  cloud.WaitStatus(id, "ACTIVE");
  CHECK(At(cloud, "2.56", "POST", "/servers/" + id + "/action", kAdmin,
           R"({"migrate": {"host": null}})")
            .status == 202);  // null: the scheduler chooses
  Json moved = cloud.WaitStatus(id, "VERIFY_RESIZE");
  CHECK(At(cloud, "2.55", "POST", "/servers/" + id + "/action", kAdmin,
           R"({"migrate": {"host": "nowhere"}})")
            .status == 409);  // before 2.56 the body is not read; it is resizing
  CHECK(moved["OS-EXT-SRV-ATTR:host"].as_string() != from);
  CHECK(moved["flavor"]["id"].as_string() == "1");
  REQUIRE(cloud.Action(id, R"({"confirmResize": null})", kAdmin).status == 204);
  cloud.WaitStatus(id, "ACTIVE");
  Answer migrations = At(cloud, "2.59", "GET", "/os-migrations", kAdmin);
  REQUIRE(migrations.json["migrations"].size() == 1);
  Json m = migrations.json["migrations"].items()[0];
  CHECK(m["migration_type"].as_string() == "migration");
  CHECK(m["status"].as_string() == "confirmed");
  Answer actions = cloud.Send("GET", "/servers/" + id + "/os-instance-actions", kAdmin);
  bool migrate_listed = false;
  for (Json a : actions.json["instanceActions"].items()) {
    migrate_listed |= a["action"].as_string() == "migrate";
  }
  CHECK(migrate_listed);
}

TEST_CASE("cold migrate keeps a member of an anti-affinity group off its peers' hosts") {
  ApiCloud cloud(2);
  Answer group = At(cloud, "2.64", "POST", "/os-server-groups", ApiCloud::kMemberToken,
                    R"({"server_group": {"name": "apart", "policy": "anti-affinity"}})");
  REQUIRE(group.status == 200);
  const std::string gid = group.json["server_group"]["id"].as_string();
  std::vector<std::string> ids;
  for (const char* name : {"a1", "a2"}) {
    Answer created =
        cloud.Send("POST", "/servers", ApiCloud::kMemberToken,
                   R"({"server": {"name": ")" + std::string(name) +
                       R"(", "flavorRef": "1", "imageRef": ")" + kDemoImageId +
                       R"("}, "os:scheduler_hints": {"group": ")" + gid + "\"}}");
    REQUIRE(created.status == 202);
    ids.push_back(created.json["server"]["id"].as_string());
    cloud.WaitStatus(ids.back(), "ACTIVE");
  }
  // Two hosts, one member on each: the only other host holds the peer.
  Answer moved = cloud.Action(ids[0], R"({"migrate": null})", kAdmin);
  CHECK(moved.status == 400);
  CHECK(Message(moved).find("No valid host was found") == 0);
  CHECK(cloud.WaitStatus(ids[0], "ACTIVE")["OS-EXT-STS:task_state"].is_null());
}

}  // namespace chronova::testing
