// The Compute API between microversions 2.2 and 2.36 over real HTTP: what each
// version changes, and that the version asked for is the one answered
// (docs/api.md, "Microversions").
#include <catch2/catch.hpp>
#include <set>

#include "api/http/microversion.h"
#include "projections/projection_store.h"
#include "tests/support/api_cloud.h"

namespace chronova::testing {

TEST_CASE("microversions: the maximum is answered in both headers; one above is 406") {
  ApiCloud cloud;
  Answer latest = At(cloud, "latest", "GET", "/flavors");
  REQUIRE(latest.status == 200);
  const std::string max = kMaxComputeVersion.ToString();
  CHECK(latest.headers["openstack-api-version"] == "compute " + max);
  CHECK(latest.headers["x-openstack-nova-api-version"] == max);
  const ApiVersion above{kMaxComputeVersion.major, kMaxComputeVersion.minor + 1};
  CHECK(At(cloud, above.ToString(), "GET", "/flavors").status == 406);
  // 2.18: the project in the URL is optional (both forms route).
  CHECK(At(cloud, "2.18", "GET", "/demo/flavors").status == 200);
  CHECK(At(cloud, "2.18", "GET", "/flavors").status == 200);
  Answer doc = cloud.Send("GET", "/");
  CHECK(doc.json["version"]["version"].as_string() == max);
  CHECK(doc.json["version"]["min_version"].as_string() == "2.1");
}

TEST_CASE("microversions 2.2 and 2.10: keypair types, 201/204, another user's keys") {
  ApiCloud cloud;
  // 2.1: no type, 200 and 202.
  Answer old = At(cloud, "2.1", "POST", "/os-keypairs", ApiCloud::kMemberToken,
                  R"({"keypair": {"name": "k21"}})");
  REQUIRE(old.status == 200);
  CHECK(old.json["keypair"].Find("type") == nullptr);
  CHECK(At(cloud, "2.1", "POST", "/os-keypairs", ApiCloud::kMemberToken,
           R"({"keypair": {"name": "t", "type": "ssh"}})")
            .status == 400);
  CHECK(At(cloud, "2.1", "DELETE", "/os-keypairs/k21").status == 202);

  // 2.2: ssh by default, x509 generated as a certificate; 201 and 204.
  Answer ssh = At(cloud, "2.2", "POST", "/os-keypairs", ApiCloud::kMemberToken,
                  R"({"keypair": {"name": "k22"}})");
  REQUIRE(ssh.status == 201);
  CHECK(ssh.json["keypair"]["type"].as_string() == "ssh");
  Answer x509 = At(cloud, "2.2", "POST", "/os-keypairs", ApiCloud::kMemberToken,
                   R"({"keypair": {"name": "win", "type": "x509"}})");
  INFO(x509.body);
  REQUIRE(x509.status == 201);
  Json cert = x509.json["keypair"];
  CHECK(cert["type"].as_string() == "x509");
  CHECK(cert["public_key"].as_string().rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
  CHECK(cert["fingerprint"].as_string().size() == 59);   // SHA-1, colon pairs
  CHECK_FALSE(cert["private_key"].as_string().empty());  // PKCS#12, base64
  // The certificate imports back with the same fingerprint.
  Json import = Json::MakeObject(
      {{"keypair", Json::MakeObject({{"name", "imported"},
                                     {"type", "x509"},
                                     {"public_key", cert["public_key"].as_string()}})}});
  Answer imported =
      At(cloud, "2.2", "POST", "/os-keypairs", ApiCloud::kMemberToken, import.Dump());
  REQUIRE(imported.status == 201);
  CHECK(imported.json["keypair"]["fingerprint"] == cert["fingerprint"]);
  Answer bad =
      At(cloud, "2.2", "POST", "/os-keypairs", ApiCloud::kMemberToken,
         R"({"keypair": {"name": "bad", "type": "x509", "public_key": "nope"}})");
  CHECK(bad.status == 400);
  CHECK(Message(bad).rfind("Keypair data is invalid: failed to generate X509", 0) == 0);
  CHECK(At(cloud, "2.2", "POST", "/os-keypairs", ApiCloud::kMemberToken,
           R"({"keypair": {"name": "t", "type": "rsa"}})")
            .status == 400);
  Answer listed = At(cloud, "2.2", "GET", "/os-keypairs");
  Json first = listed.json["keypairs"].items()[0];
  CHECK(first["keypair"].Find("type") != nullptr);
  CHECK(At(cloud, "2.2", "GET", "/os-keypairs/win").json["keypair"]["type"].as_string() ==
        "x509");
  CHECK(At(cloud, "2.2", "DELETE", "/os-keypairs/k22").status == 204);

  // 2.10: an admin creates, reads and deletes another user's keypair.
  CHECK(At(cloud, "2.9", "POST", "/os-keypairs", ApiCloud::kAdminToken,
           R"({"keypair": {"name": "for-alice", "user_id": "alice"}})")
            .status == 400);
  Answer for_alice = At(cloud, "2.10", "POST", "/os-keypairs", ApiCloud::kAdminToken,
                        R"({"keypair": {"name": "for-alice", "user_id": "alice"}})");
  REQUIRE(for_alice.status == 201);
  CHECK(for_alice.json["keypair"]["user_id"].as_string() == "alice");
  CHECK(At(cloud, "2.10", "GET", "/os-keypairs/for-alice").status == 200);  // alice's own
  CHECK(At(cloud, "2.10", "GET", "/os-keypairs/for-alice?user_id=alice",
           ApiCloud::kAdminToken)
            .status == 200);
  // Before 2.10 the parameter is not looked at: the admin's own keys.
  CHECK(At(cloud, "2.9", "GET", "/os-keypairs/for-alice?user_id=alice",
           ApiCloud::kAdminToken)
            .status == 404);
  CHECK(At(cloud, "2.10", "POST", "/os-keypairs", "bob:demo",
           R"({"keypair": {"name": "x", "user_id": "alice"}})")
            .status == 403);
  CHECK(At(cloud, "2.10", "DELETE", "/os-keypairs/for-alice?user_id=alice",
           ApiCloud::kAdminToken)
            .status == 204);
}

TEST_CASE("microversions 2.3 and 2.9: extended attributes and locked in server views") {
  ApiCloud cloud;
  const std::string id = cloud.Boot("Web_Server 1");
  Answer at21 = At(cloud, "2.1", "GET", "/servers/" + id, ApiCloud::kAdminToken);
  CHECK(at21.json["server"].Find("OS-EXT-SRV-ATTR:hostname") == nullptr);
  CHECK(at21.json["server"].Find("locked") == nullptr);
  Answer at23 = At(cloud, "2.3", "GET", "/servers/" + id, ApiCloud::kAdminToken);
  Json s = at23.json["server"];
  CHECK(s["OS-EXT-SRV-ATTR:hostname"].as_string() == "web-server-1");
  CHECK(s["OS-EXT-SRV-ATTR:reservation_id"].as_string().rfind("r-", 0) == 0);
  CHECK(s["OS-EXT-SRV-ATTR:launch_index"].as_int() == 0);
  CHECK(s["OS-EXT-SRV-ATTR:kernel_id"].as_string().empty());
  CHECK(s["OS-EXT-SRV-ATTR:ramdisk_id"].as_string().empty());
  CHECK(s["OS-EXT-SRV-ATTR:root_device_name"].as_string() == "/dev/vda");
  CHECK(s["OS-EXT-SRV-ATTR:user_data"].is_null());
  // Not for a member (the extended attributes policy).
  CHECK(At(cloud, "2.3", "GET", "/servers/" + id)
            .json["server"]
            .Find("OS-EXT-SRV-ATTR:hostname") == nullptr);

  CHECK(At(cloud, "2.9", "GET", "/servers/" + id).json["server"]["locked"].as_bool() ==
        false);
  REQUIRE(cloud.Action(id, R"({"lock": null})").status == 202);
  Json listed = At(cloud, "2.9", "GET", "/servers/detail").json["servers"].items()[0];
  CHECK(listed["locked"].as_bool() == true);
  Answer updated = At(cloud, "2.9", "PUT", "/servers/" + id, ApiCloud::kAdminToken,
                      R"({"server": {"name": "renamed"}})");
  REQUIRE(updated.status == 200);
  CHECK(updated.json["server"]["locked"].as_bool() == true);
}

TEST_CASE("microversions 2.5 and 2.7: ip6 for everyone, no access to public flavors") {
  ApiCloud cloud;
  cloud.Boot("vm");
  // No server has an address: ip6 matches none once a member may use it.
  CHECK(At(cloud, "2.4", "GET", "/servers?ip6=::1").json["servers"].size() == 1);
  CHECK(At(cloud, "2.5", "GET", "/servers?ip6=::1").json["servers"].size() == 0);
  Answer public_flavor =
      At(cloud, "2.7", "POST", "/flavors/1/action", ApiCloud::kAdminToken,
         R"({"addTenantAccess": {"tenant": "demo"}})");
  CHECK(public_flavor.status == 409);
  CHECK(Message(public_flavor) == "Can not add access to a public flavor.");
}

TEST_CASE("microversion 2.11: forcing a compute service down") {
  ApiCloud cloud(1);
  Answer services = At(cloud, "2.11", "GET", "/os-services", ApiCloud::kAdminToken);
  REQUIRE(services.status == 200);
  std::string host;
  for (Json s : services.json["services"].items()) {
    if (s["binary"].as_string() == "nova-compute") {
      host = s["host"].as_string();
      CHECK(s["forced_down"].as_bool() == false);
      CHECK(s["state"].as_string() == "up");
    }
  }
  REQUIRE_FALSE(host.empty());
  const std::string body =
      R"({"host": ")" + host + R"(", "binary": "nova-compute", "forced_down": true})";
  CHECK(At(cloud, "2.10", "PUT", "/os-services/force-down", ApiCloud::kAdminToken, body)
            .status == 404);
  CHECK(At(cloud, "2.11", "PUT", "/os-services/force-down", ApiCloud::kMemberToken, body)
            .status == 403);
  Answer forced =
      At(cloud, "2.11", "PUT", "/os-services/force-down", ApiCloud::kAdminToken, body);
  REQUIRE(forced.status == 200);
  CHECK(forced.json["service"]["forced_down"].as_bool() == true);
  Answer after =
      At(cloud, "2.11", "GET", "/os-services?binary=nova-compute", ApiCloud::kAdminToken);
  for (Json s : after.json["services"].items()) {
    CHECK(s["forced_down"].as_bool() == true);
    CHECK(s["state"].as_string() == "down");
  }
  // The scheduler places nothing on a forced-down host.
  Answer created =
      cloud.Send("POST", "/servers", ApiCloud::kMemberToken,
                 R"({"server": {"name": "x", "flavorRef": "1", "imageRef": ")" +
                     std::string(kDemoImageId) + R"("}})");
  REQUIRE(created.status == 202);
  Json error = cloud.WaitStatus(created.json["server"]["id"].as_string(), "ERROR");
  CHECK(error["fault"]["message"].as_string().find("No valid host") != std::string::npos);
  // Lifted: boots land again.
  const std::string up =
      R"({"host": ")" + host + R"(", "binary": "nova-compute", "forced_down": false})";
  REQUIRE(At(cloud, "2.11", "PUT", "/os-services/force-down", ApiCloud::kAdminToken, up)
              .status == 200);
  cloud.Boot("after");
  CHECK(At(cloud, "2.11", "PUT", "/os-services/force-down", ApiCloud::kAdminToken,
           R"({"host": ")" + host + R"(", "binary": "nova-compute"})")
            .status == 400);
}

TEST_CASE(
    "microversions 2.13, 2.15 and 2.6: server group views, soft policies, consoles") {
  ApiCloud cloud;
  Answer soft = At(cloud, "2.15", "POST", "/os-server-groups", ApiCloud::kMemberToken,
                   R"({"server_group": {"name": "s", "policies": ["soft-affinity"]}})");
  REQUIRE(soft.status == 200);
  CHECK(soft.json["server_group"]["project_id"].as_string() == "demo");
  CHECK(soft.json["server_group"]["user_id"].as_string() == "alice");
  CHECK(At(cloud, "2.14", "POST", "/os-server-groups", ApiCloud::kMemberToken,
           R"({"server_group": {"name": "s", "policies": ["soft-affinity"]}})")
            .status == 400);
  CHECK(At(cloud, "2.12", "GET",
           "/os-server-groups/" + soft.json["server_group"]["id"].as_string())
            .json["server_group"]
            .Find("project_id") == nullptr);

  // 2.6: remote-consoles replaces the console actions.
  const std::string id = cloud.Boot("vnc");
  Answer console = At(cloud, "2.6", "POST", "/servers/" + id + "/remote-consoles",
                      ApiCloud::kMemberToken,
                      R"({"remote_console": {"protocol": "vnc", "type": "novnc"}})");
  INFO(console.body);
  REQUIRE(console.status == 200);
  CHECK(console.json["remote_console"]["protocol"].as_string() == "vnc");
  CHECK(console.json["remote_console"]["url"].as_string().find("token") !=
        std::string::npos);
  CHECK(At(cloud, "2.6", "POST", "/servers/" + id + "/action", ApiCloud::kMemberToken,
           R"({"os-getVNCConsole": {"type": "novnc"}})")
            .status == 404);
  // mks arrives with 2.8 (a libvirt cloud has none: 400).
  CHECK(At(cloud, "2.8", "POST", "/servers/" + id + "/remote-consoles",
           ApiCloud::kMemberToken,
           R"({"remote_console": {"protocol": "mks", "type": "webmks"}})")
            .status == 400);
}

TEST_CASE("microversion 2.16: a server's host_status follows its host's service") {
  ApiCloud cloud(1);
  const std::string id = cloud.Boot("vm");
  auto status = [&] {
    Answer a = At(cloud, "2.16", "GET", "/servers/" + id, ApiCloud::kAdminToken);
    return a.json["server"]["host_status"].as_string();
  };
  CHECK(status() == "UP");
  Json server = At(cloud, "2.16", "GET", "/servers/" + id).json["server"];
  CHECK(server.Find("host_status") == nullptr);  // admins only
  CHECK(At(cloud, "2.15", "GET", "/servers/" + id, ApiCloud::kAdminToken)
            .json["server"]
            .Find("host_status") == nullptr);
  const std::string host =
      server["OS-EXT-SRV-ATTR:host"].is_string()
          ? server["OS-EXT-SRV-ATTR:host"].as_string()
          : At(cloud, "2.16", "GET", "/servers/" + id, ApiCloud::kAdminToken)
                .json["server"]["OS-EXT-SRV-ATTR:host"]
                .as_string();
  const std::string service = R"({"host": ")" + host + R"(", "binary": "nova-compute")";
  REQUIRE(At(cloud, "2.16", "PUT", "/os-services/disable", ApiCloud::kAdminToken,
             service + "}")
              .status == 200);
  CHECK(status() == "MAINTENANCE");
  REQUIRE(At(cloud, "2.16", "PUT", "/os-services/force-down", ApiCloud::kAdminToken,
             service + R"(, "forced_down": true})")
              .status == 200);
  CHECK(status() == "DOWN");
  Answer detail =
      At(cloud, "2.16", "GET", "/servers/detail?all_tenants=1", ApiCloud::kAdminToken);
  REQUIRE(detail.json["servers"].size() == 1);
  Json first = detail.json["servers"].items()[0];
  CHECK(first["host_status"].as_string() == "DOWN");
}

TEST_CASE(
    "microversion 2.17: trigger_crash_dump reaches the host, as an instance action") {
  ApiCloud cloud;
  const std::string id = cloud.Boot("vm");
  const std::string body = R"({"trigger_crash_dump": null})";
  CHECK(At(cloud, "2.16", "POST", "/servers/" + id + "/action", ApiCloud::kMemberToken,
           body)
            .status == 404);
  CHECK(At(cloud, "2.17", "POST", "/servers/" + id + "/action", ApiCloud::kMemberToken,
           R"({"trigger_crash_dump": {}})")
            .status == 400);
  REQUIRE(At(cloud, "2.17", "POST", "/servers/" + id + "/action", ApiCloud::kMemberToken,
             body)
              .status == 202);
  // The action, with the host's step once it reported.
  Json step;
  for (int i = 0; i < 500 && step.is_null(); ++i) {
    Answer actions = At(cloud, "2.17", "GET", "/servers/" + id + "/os-instance-actions",
                        ApiCloud::kAdminToken);
    for (Json a : actions.json["instanceActions"].items()) {
      if (a["action"].as_string() != "trigger_crash_dump") continue;
      Answer detail =
          At(cloud, "2.17", "GET",
             "/servers/" + id + "/os-instance-actions/" + a["request_id"].as_string(),
             ApiCloud::kAdminToken);
      Json events = detail.json["instanceAction"]["events"];
      if (events.size() == 0) continue;
      Json first = events.items()[0];
      if (first["result"].is_string()) step = first;
    }
    if (step.is_null()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE_FALSE(step.is_null());
  CHECK(step["event"].as_string() == "compute_trigger_crash_dump");
  CHECK(step["result"].as_string() == "Success");
  // Nova's state rules: not while stopped, not while locked.
  REQUIRE(cloud.Action(id, R"({"os-stop": null})").status == 202);
  cloud.WaitStatus(id, "SHUTOFF");
  Answer stopped = At(cloud, "2.17", "POST", "/servers/" + id + "/action",
                      ApiCloud::kMemberToken, body);
  CHECK(stopped.status == 409);
  CHECK(Message(stopped) == "Cannot 'trigger_crash_dump' instance " + id +
                                " while it is in vm_state stopped");
}

TEST_CASE("microversion 2.19: a server's description on create, update and rebuild") {
  ApiCloud cloud;
  auto create = [&](const std::string& version, const std::string& extra) {
    return At(cloud, version, "POST", "/servers", ApiCloud::kMemberToken,
              R"({"server": {"name": "web", "flavorRef": "1", "imageRef": ")" +
                  std::string(kDemoImageId) + "\"" + extra + "}}");
  };
  auto description = [&](const std::string& id) {
    return At(cloud, "2.19", "GET", "/servers/" + id).json["server"]["description"];
  };
  // Before 2.19 a description is an unknown property; the server is
  // described by its name, as Nova records it.
  CHECK(create("2.18", R"(, "description": "x")").status == 400);
  Answer old = create("2.18", "");
  REQUIRE(old.status == 202);
  const std::string old_id = old.json["server"]["id"].as_string();
  CHECK(description(old_id).as_string() == "web");
  CHECK(
      At(cloud, "2.18", "GET", "/servers/" + old_id).json["server"].Find("description") ==
      nullptr);

  Answer none = create("2.19", "");
  REQUIRE(none.status == 202);
  CHECK(description(none.json["server"]["id"].as_string()).is_null());
  Answer made = create("2.19", R"(, "description": "the front end")");
  REQUIRE(made.status == 202);
  const std::string id = made.json["server"]["id"].as_string();
  CHECK(description(id).as_string() == "the front end");
  CHECK(create("2.19", R"(, "description": ")" + std::string(256, 'x') + "\"").status ==
        400);
  CHECK(create("2.19", R"(, "description": "tab\there")").status == 400);
  CHECK(create("2.19", R"(, "description": 5)").status == 400);

  cloud.WaitStatus(id, "ACTIVE");
  Answer updated = At(cloud, "2.19", "PUT", "/servers/" + id, ApiCloud::kMemberToken,
                      R"({"server": {"description": "renamed"}})");
  REQUIRE(updated.status == 200);
  CHECK(updated.json["server"]["description"].as_string() == "renamed");
  CHECK(At(cloud, "2.18", "PUT", "/servers/" + id, ApiCloud::kMemberToken,
           R"({"server": {"description": "no"}})")
            .status == 400);
  Answer cleared = At(cloud, "2.19", "PUT", "/servers/" + id, ApiCloud::kMemberToken,
                      R"({"server": {"description": null}})");
  CHECK(cleared.json["server"]["description"].is_null());

  Answer rebuilt =
      At(cloud, "2.19", "POST", "/servers/" + id + "/action", ApiCloud::kMemberToken,
         R"({"rebuild": {"imageRef": ")" + std::string(kDemoImageId) +
             R"(", "description": "rebuilt"}})");
  INFO(rebuilt.body);
  REQUIRE(rebuilt.status == 202);
  CHECK(rebuilt.json["server"]["description"].as_string() == "rebuilt");
  cloud.WaitStatus(id, "ACTIVE");
  CHECK(description(id).as_string() == "rebuilt");
}

TEST_CASE("microversion 2.21: the actions of a deleted server") {
  ApiCloud cloud;
  const std::string id = cloud.Boot("gone");
  cloud.DeleteAndWait(id);
  CHECK(At(cloud, "2.20", "GET", "/servers/" + id + "/os-instance-actions").status ==
        404);
  Answer actions = At(cloud, "2.21", "GET", "/servers/" + id + "/os-instance-actions");
  REQUIRE(actions.status == 200);
  CHECK(actions.json["instanceActions"].size() == 2);  // create, delete
  Json first = actions.json["instanceActions"].items()[0];
  CHECK(first["action"].as_string() == "delete");
  CHECK(At(cloud, "2.21", "GET",
           "/servers/" + id + "/os-instance-actions/" + first["request_id"].as_string())
            .status == 200);
  // Still only for the server's project.
  CHECK(At(cloud, "2.21", "GET", "/servers/" + id + "/os-instance-actions", "bob:other")
            .status == 404);
}

TEST_CASE("microversions 2.22 to 2.24: a server's live migrations (there are none)") {
  ApiCloud cloud;
  const std::string id = cloud.Boot("vm");
  const std::string base = "/servers/" + id + "/migrations";
  CHECK(At(cloud, "2.22", "GET", base, ApiCloud::kAdminToken).status == 404);
  Answer list = At(cloud, "2.23", "GET", base, ApiCloud::kAdminToken);
  REQUIRE(list.status == 200);
  CHECK(list.json["migrations"].Dump() == "[]");
  CHECK(At(cloud, "2.23", "GET", base).status == 403);  // admins only
  Answer show = At(cloud, "2.23", "GET", base + "/7", ApiCloud::kAdminToken);
  CHECK(show.status == 404);
  CHECK(Message(show) ==
        "In-progress live migration 7 is not found for server " + id + ".");
  Answer force = At(cloud, "2.22", "POST", base + "/7/action", ApiCloud::kAdminToken,
                    R"({"force_complete": null})");
  CHECK(force.status == 409);
  CHECK(Message(force) ==
        "Cannot 'force_complete' instance " + id + " while it is in task_state None");
  CHECK(At(cloud, "2.22", "POST", base + "/7/action", ApiCloud::kAdminToken,
           R"({"force_complete": 1})")
            .status == 400);
  CHECK(At(cloud, "2.23", "DELETE", base + "/7", ApiCloud::kAdminToken).status == 404);
  Answer abort = At(cloud, "2.24", "DELETE", base + "/7", ApiCloud::kAdminToken);
  CHECK(abort.status == 409);
  CHECK(Message(abort) == "Cannot 'abort live migration' instance " + id +
                              " while it is in task_state None");
  CHECK(At(cloud, "2.24", "GET", "/servers/no-such/migrations", ApiCloud::kAdminToken)
            .status == 404);
}

TEST_CASE("microversion 2.26: server tags, in views and list filters") {
  ApiCloud cloud;
  const std::string a = cloud.Boot("a");
  const std::string b = cloud.Boot("b");
  const std::string tags_a = "/servers/" + a + "/tags";
  CHECK(At(cloud, "2.25", "GET", tags_a).status == 404);
  Answer empty = At(cloud, "2.26", "GET", tags_a);
  REQUIRE(empty.status == 200);
  CHECK(empty.json["tags"].Dump() == "[]");

  Answer put = At(cloud, "2.26", "PUT", tags_a, ApiCloud::kMemberToken,
                  R"({"tags": ["web", "prod", "web"]})");
  REQUIRE(put.status == 200);
  CHECK(put.json["tags"].Dump() == R"(["prod","web"])");
  Answer added = At(cloud, "2.26", "PUT", tags_a + "/blue");
  CHECK(added.status == 201);
  CHECK(added.headers["location"].find("/servers/" + a + "/tags/blue") !=
        std::string::npos);
  CHECK(At(cloud, "2.26", "PUT", tags_a + "/blue").status == 204);  // already there
  CHECK(At(cloud, "2.26", "PUT", tags_a + "/a,b").status == 400);
  CHECK(At(cloud, "2.26", "GET", tags_a + "/blue").status == 204);
  Answer missing = At(cloud, "2.26", "GET", tags_a + "/green");
  CHECK(missing.status == 404);
  CHECK(Message(missing) == "Server " + a + " has no tag 'green'");
  CHECK(At(cloud, "2.26", "PUT", tags_a, ApiCloud::kMemberToken, R"({"tags": ["x/y"]})")
            .status == 400);
  CHECK(
      At(cloud, "2.26", "PUT", tags_a, ApiCloud::kMemberToken, R"({"tag": []})").status ==
      400);
  // A reader may look but not change; another project sees no server.
  CHECK(At(cloud, "2.26", "GET", tags_a, "bob:other").status == 404);

  // The views show them; lists filter by them.
  Json shown = At(cloud, "2.26", "GET", "/servers/" + a).json["server"];
  CHECK(shown["tags"].Dump() == R"(["blue","prod","web"])");
  REQUIRE(At(cloud, "2.26", "PUT", "/servers/" + b + "/tags/prod").status == 201);
  auto names = [&](const std::string& query) {
    std::set<std::string> out;
    Answer l = At(cloud, "2.26", "GET", "/servers?" + query);
    for (Json s : l.json["servers"].items()) out.insert(s["name"].as_string());
    return out;
  };
  CHECK(names("tags=prod") == std::set<std::string>{"a", "b"});
  CHECK(names("tags=prod,web") == std::set<std::string>{"a"});
  CHECK(names("tags-any=web,nothing") == std::set<std::string>{"a"});
  CHECK(names("not-tags=prod,web") == std::set<std::string>{"b"});
  CHECK(names("not-tags-any=blue") == std::set<std::string>{"b"});

  // One at a time and all at once; 50 at most.
  REQUIRE(At(cloud, "2.26", "DELETE", tags_a + "/blue").status == 204);
  Answer gone = At(cloud, "2.26", "DELETE", tags_a + "/blue");
  CHECK(gone.status == 404);
  CHECK(Message(gone) == "Instance " + a + " has no tag 'blue'");
  REQUIRE(At(cloud, "2.26", "DELETE", tags_a).status == 204);
  CHECK(At(cloud, "2.26", "GET", tags_a).json["tags"].Dump() == "[]");
  Json many = Json::MakeArray();
  for (int i = 0; i < 51; ++i) many.Append("t" + std::to_string(i));
  CHECK(At(cloud, "2.26", "PUT", tags_a, ApiCloud::kMemberToken,
           Json::MakeObject({{"tags", many}}).Dump())
            .status == 400);
  // Not while the server is in another state (rescued).
  REQUIRE(cloud.Action(b, R"({"rescue": null})").status == 200);
  cloud.WaitStatus(b, "RESCUE");
  Answer rescued = At(cloud, "2.26", "PUT", "/servers/" + b + "/tags/x");
  CHECK(rescued.status == 409);
  CHECK(Message(rescued) ==
        "Cannot 'update tag' instance " + b + " while it is in vm_state rescued");
  // Recorded in the server's stream.
  auto history =
      cloud.node->log()->ReadStream(InstanceStream(InstanceId(a)), StreamVersion(1), 100);
  REQUIRE(history.ok());
  size_t tag_events = 0;
  for (const Envelope& e : *history)
    tag_events += e.type == InstanceTagsSet::kType ? 1 : 0;
  CHECK(tag_events == 4);
}

TEST_CASE("microversions 2.28 and 2.31: cpu_info as an object, any console's token") {
  ApiCloud cloud;
  Answer list = At(cloud, "2.27", "GET", "/os-hypervisors/detail", ApiCloud::kAdminToken);
  REQUIRE(list.status == 200);
  Json before = list.json["hypervisors"].items()[0];
  CHECK(before["cpu_info"].is_string());
  Answer after =
      At(cloud, "2.28", "GET", "/os-hypervisors/detail", ApiCloud::kAdminToken);
  Json hypervisor = after.json["hypervisors"].items()[0];
  CHECK(hypervisor["cpu_info"].is_object());

  const std::string id = cloud.Boot("vnc");
  Answer console = At(cloud, "2.31", "POST", "/servers/" + id + "/remote-consoles",
                      ApiCloud::kMemberToken,
                      R"({"remote_console": {"protocol": "vnc", "type": "novnc"}})");
  REQUIRE(console.status == 200);
  const std::string url = console.json["remote_console"]["url"].as_string();
  const std::string token = url.substr(url.find("%3Ftoken%3D") + 11);
  // Before 2.31 only RDP tokens are shown; from 2.31 every kind.
  CHECK(
      At(cloud, "2.30", "GET", "/os-console-auth-tokens/" + token, ApiCloud::kAdminToken)
          .status == 401);
  Answer shown =
      At(cloud, "2.31", "GET", "/os-console-auth-tokens/" + token, ApiCloud::kAdminToken);
  INFO(shown.body);
  REQUIRE(shown.status == 200);
  CHECK(shown.json["console"]["instance_uuid"].as_string() == id);
  CHECK(shown.json["console"]["port"].as_int() > 0);
  CHECK(At(cloud, "2.31", "GET", "/os-console-auth-tokens/" + token).status == 403);
}

TEST_CASE("microversions 2.33 and 2.35: hypervisors and keypairs in pages") {
  ApiCloud cloud(3);
  Answer first =
      At(cloud, "2.33", "GET", "/os-hypervisors?limit=2", ApiCloud::kAdminToken);
  REQUIRE(first.status == 200);
  REQUIRE(first.json["hypervisors"].size() == 2);
  Json next = first.json["hypervisors_links"].items()[0];
  CHECK(next["rel"].as_string() == "next");
  Json last = first.json["hypervisors"].items()[1];
  const std::string marker = std::to_string(last["id"].as_int());
  Answer rest = At(cloud, "2.33", "GET", "/os-hypervisors/detail?marker=" + marker,
                   ApiCloud::kAdminToken);
  REQUIRE(rest.status == 200);
  CHECK(rest.json["hypervisors"].size() == 1);
  CHECK(rest.json.Find("hypervisors_links") == nullptr);
  CHECK(At(cloud, "2.33", "GET", "/os-hypervisors?marker=999", ApiCloud::kAdminToken)
            .status == 400);
  // Before 2.33 the parameters are not looked at.
  CHECK(At(cloud, "2.32", "GET", "/os-hypervisors?limit=1", ApiCloud::kAdminToken)
            .json["hypervisors"]
            .size() == 3);

  for (const char* name : {"k1", "k2", "k3"}) {
    REQUIRE(At(cloud, "2.35", "POST", "/os-keypairs", ApiCloud::kMemberToken,
               std::string(R"({"keypair": {"name": ")") + name + "\"}}")
                .status == 201);
  }
  Answer page = At(cloud, "2.35", "GET", "/os-keypairs?limit=2");
  REQUIRE(page.json["keypairs"].size() == 2);
  CHECK(page.json.Find("keypairs_links") != nullptr);
  Answer after = At(cloud, "2.35", "GET", "/os-keypairs?marker=k2");
  REQUIRE(after.json["keypairs"].size() == 1);
  Json only = after.json["keypairs"].items()[0];
  CHECK(only["keypair"]["name"].as_string() == "k3");
  CHECK(At(cloud, "2.35", "GET", "/os-keypairs?marker=nope").status == 400);
  CHECK(At(cloud, "2.34", "GET", "/os-keypairs?limit=1").json["keypairs"].size() == 3);
}

TEST_CASE("microversion 2.36: no image proxy, no network quotas or limits") {
  ApiCloud cloud;
  CHECK(At(cloud, "2.35", "GET", "/images").status == 200);
  CHECK(At(cloud, "2.36", "GET", "/images").status == 404);
  CHECK(At(cloud, "2.36", "GET", std::string("/images/") + kDemoImageId).status == 404);
  Json before = At(cloud, "2.35", "GET", "/os-quota-sets/demo").json["quota_set"];
  CHECK(before.Find("floating_ips") != nullptr);
  Json after = At(cloud, "2.36", "GET", "/os-quota-sets/demo").json["quota_set"];
  for (const char* gone :
       {"fixed_ips", "floating_ips", "security_groups", "security_group_rules"}) {
    INFO(gone);
    CHECK(after.Find(gone) == nullptr);
  }
  CHECK(after.Find("instances") != nullptr);
  Json detail =
      At(cloud, "2.36", "GET", "/os-quota-sets/demo/detail", ApiCloud::kAdminToken)
          .json["quota_set"];
  CHECK(detail.Find("security_groups") == nullptr);
  CHECK(At(cloud, "2.36", "PUT", "/os-quota-sets/demo", ApiCloud::kAdminToken,
           R"({"quota_set": {"floating_ips": 3}})")
            .status == 400);
  CHECK(At(cloud, "2.35", "PUT", "/os-quota-sets/demo", ApiCloud::kAdminToken,
           R"({"quota_set": {"floating_ips": 3}})")
            .status == 200);
  Json limits = At(cloud, "2.36", "GET", "/limits").json["limits"]["absolute"];
  CHECK(limits.Find("maxSecurityGroups") == nullptr);
  CHECK(limits.Find("totalFloatingIpsUsed") == nullptr);
  CHECK(limits.Find("maxTotalInstances") != nullptr);
}

}  // namespace chronova::testing
