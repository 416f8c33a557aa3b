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
