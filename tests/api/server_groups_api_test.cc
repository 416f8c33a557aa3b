// Server groups over real HTTP against a whole node: os-server-groups at
// microversion 2.1 with Nova's bodies and errors, the server_groups and
// server_group_members quotas, and members placed by the group's policy on
// fake hosts (docs/api.md, "Server groups").
#include <catch2/catch.hpp>
#include <set>

#include "projections/projection_store.h"
#include "tests/support/api_cloud.h"

namespace chronova::testing {
namespace {

// Creates a group as `token`; returns the answer.
Answer CreateGroup(ApiCloud& cloud, const std::string& name, const std::string& policy,
                   const std::string& token = ApiCloud::kMemberToken) {
  return cloud.Send("POST", "/os-server-groups", token,
                    R"({"server_group": {"name": ")" + name + R"(", "policies": [")" +
                        policy + R"("]}})");
}

// Boots a member of `group`; returns the answer of POST /servers.
Answer BootMember(ApiCloud& cloud, const std::string& group, const std::string& name) {
  return cloud.Send("POST", "/servers", ApiCloud::kMemberToken,
                    R"({"server": {"name": ")" + name +
                        R"(", "flavorRef": "1", "imageRef": ")" + kDemoImageId +
                        R"("}, "os:scheduler_hints": {"group": ")" + group + R"("}})");
}

// The member's final status (ACTIVE or ERROR) and, if placed, its host.
std::pair<std::string, std::string> Settle(ApiCloud& cloud, const std::string& id) {
  for (int i = 0; i < 2000; ++i) {
    Answer s = cloud.Send("GET", "/servers/" + id, ApiCloud::kAdminToken);
    Json server = s.json["server"];
    const std::string status = server["status"].as_string();
    if ((status == "ACTIVE" || status == "ERROR") &&
        server["OS-EXT-STS:task_state"].is_null()) {
      Json host = server["OS-EXT-SRV-ATTR:host"];
      return {status, host.is_string() ? host.as_string() : ""};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("server " << id << " never settled");
  return {};
}

std::set<std::string> Members(ApiCloud& cloud, const std::string& group) {
  Answer a = cloud.Send("GET", "/os-server-groups/" + group);
  REQUIRE(a.status == 200);
  std::set<std::string> out;
  for (const Json& m : a.json["server_group"]["members"].items())
    out.insert(m.as_string());
  return out;
}

}  // namespace

TEST_CASE("server groups: create, show, list and delete as Nova answers at 2.1") {
  ApiCloud cloud;
  Answer created = CreateGroup(cloud, "web", "anti-affinity");
  INFO(created.body);
  REQUIRE(created.status == 200);
  Json g = created.json["server_group"];
  const std::string id = g["id"].as_string();
  CHECK(id.size() == 36);
  CHECK(g["name"].as_string() == "web");
  CHECK(g["policies"].Dump() == R"(["anti-affinity"])");
  CHECK(g["members"].Dump() == "[]");
  CHECK(g["metadata"].Dump() == "{}");
  CHECK(g.Find("project_id") == nullptr);  // 2.13
  CHECK(g.Find("policy") == nullptr);      // 2.64

  Answer shown = cloud.Send("GET", "/os-server-groups/" + id);
  REQUIRE(shown.status == 200);
  CHECK(shown.json["server_group"] == g);

  // The same name twice is two groups (Nova does not mind).
  REQUIRE(CreateGroup(cloud, "web", "affinity").status == 200);
  Answer other = CreateGroup(cloud, "theirs", "affinity", "bob:other");
  REQUIRE(other.status == 200);
  const std::string theirs = other.json["server_group"]["id"].as_string();

  Answer listed = cloud.Send("GET", "/os-server-groups");
  REQUIRE(listed.status == 200);
  CHECK(listed.json["server_groups"].size() == 2);  // not another project's
  // all_projects is the admin's; a member gets its own list, not an error.
  CHECK(cloud.Send("GET", "/os-server-groups?all_projects=True")
            .json["server_groups"]
            .size() == 2);
  CHECK(cloud.Send("GET", "/os-server-groups?all_projects=True", ApiCloud::kAdminToken)
            .json["server_groups"]
            .size() == 3);
  // Nova's limit/offset paging.
  Answer paged = cloud.Send("GET", "/os-server-groups?limit=1&offset=1");
  REQUIRE(paged.json["server_groups"].size() == 1);
  CHECK(cloud.Send("GET", "/os-server-groups?limit=-1").status == 400);

  // Another project's group: 403 by policy; an unknown one 404.
  CHECK(cloud.Send("GET", "/os-server-groups/" + theirs).status == 403);
  CHECK(cloud.Send("DELETE", "/os-server-groups/" + theirs).status == 403);
  CHECK(cloud.Send("GET", "/os-server-groups/" + theirs, ApiCloud::kAdminToken).status ==
        200);

  REQUIRE(cloud.Send("DELETE", "/os-server-groups/" + id).status == 204);
  Answer gone = cloud.Send("GET", "/os-server-groups/" + id);
  CHECK(gone.status == 404);
  CHECK(Message(gone) == "Instance group " + id + " could not be found.");
  CHECK(cloud.Send("DELETE", "/os-server-groups/" + id).status == 404);
  CHECK(cloud.Send("GET", "/os-server-groups").json["server_groups"].size() == 1);

  // Recorded as events on the project's stream.
  auto history = cloud.node->log()->ReadStream(ServerGroupsStream(ProjectId("demo")),
                                               StreamVersion(1), 10);
  REQUIRE(history.ok());
  REQUIRE(history->size() == 3);
  CHECK((*history)[0].type == std::string(ServerGroupCreated::kType));
  CHECK((*history)[2].type == std::string(ServerGroupDeleted::kType));
}

TEST_CASE("server groups: bodies are checked against Nova's 2.1 schema") {
  ApiCloud cloud;
  auto post = [&](const std::string& body) {
    Answer a = cloud.Send("POST", "/os-server-groups", ApiCloud::kMemberToken, body);
    INFO(body << " -> " << a.body);
    CHECK(a.status == 400);
    return Message(a);
  };
  CHECK(post(R"({"server_group": {"name": "x"}})").find("'policies' is a required") !=
        std::string::npos);
  // The soft policies come with 2.15.
  CHECK(post(R"({"server_group": {"name": "x", "policies": ["soft-affinity"]}})")
            .find("is not one of ['anti-affinity', 'affinity']") != std::string::npos);
  post(R"({"server_group": {"name": "x", "policies": []}})");
  post(R"({"server_group": {"name": "x", "policies": ["affinity", "anti-affinity"]}})");
  post(R"({"server_group": {"name": "x", "policies": ["affinity", "affinity"]}})");
  post(R"({"server_group": {"name": "x", "policies": "affinity"}})");
  post(R"({"server_group": {"name": " x", "policies": ["affinity"]}})");
  post(R"({"server_group": {"name": "", "policies": ["affinity"]}})");
  // 2.64's shape is unknown at 2.1.
  post(R"({"server_group": {"name": "x", "policy": "affinity"}})");
  post(R"({"server_group": {"name": "x", "policies": ["affinity"], "rules": {}}})");
  post(R"({"group": {"name": "x", "policies": ["affinity"]}})");
  // Nothing was recorded for any of them.
  CHECK(cloud.Send("GET", "/os-server-groups").json["server_groups"].size() == 0);
}

TEST_CASE("server groups: the server_groups and server_group_members quotas") {
  ApiCloud cloud(2);
  REQUIRE(cloud
              .Send("PUT", "/os-quota-sets/demo", ApiCloud::kAdminToken,
                    R"({"quota_set": {"server_groups": 1, "server_group_members": 1}})")
              .status == 200);
  Answer first = CreateGroup(cloud, "one", "affinity");
  REQUIRE(first.status == 200);
  Answer second = CreateGroup(cloud, "two", "affinity");
  CHECK(second.status == 403);
  CHECK(Message(second) == "Quota exceeded, too many server groups.");
  Answer detail = cloud.Send("GET", "/os-quota-sets/demo/detail", ApiCloud::kAdminToken);
  CHECK(detail.json["quota_set"]["server_groups"]["in_use"].as_int() == 1);
  CHECK(cloud.Send("GET", "/limits")
            .json["limits"]["absolute"]["totalServerGroupsUsed"]
            .as_int() == 1);

  const std::string group = first.json["server_group"]["id"].as_string();
  Answer member = BootMember(cloud, group, "m1");
  REQUIRE(member.status == 202);
  Answer over = BootMember(cloud, group, "m2");
  CHECK(over.status == 403);
  CHECK(Message(over) == "Quota exceeded, too many servers in group");
  // Another project's group is not there for a member of this one.
  Answer theirs =
      cloud.Send("POST", "/servers", "bob:other",
                 R"({"server": {"name": "x", "flavorRef": "1", "imageRef": ")" +
                     std::string(kDemoImageId) +
                     R"("}, "os:scheduler_hints": {"group": ")" + group + R"("}})");
  CHECK(theirs.status == 400);
  CHECK(Message(theirs) == "Instance group " + group + " could not be found.");
  // A group that does not exist is Nova's 400.
  Answer unknown = BootMember(cloud, "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d", "m3");
  CHECK(unknown.status == 400);
  CHECK(Message(unknown) ==
        "Instance group 9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d could not be found.");
}

TEST_CASE("server groups: members are placed by the policy and leave when deleted") {
  ApiCloud cloud(2);
  Answer anti = CreateGroup(cloud, "spread", "anti-affinity");
  REQUIRE(anti.status == 200);
  const std::string spread = anti.json["server_group"]["id"].as_string();
  std::vector<std::string> ids;
  for (const char* name : {"a", "b", "c"}) {
    Answer a = BootMember(cloud, spread, name);
    REQUIRE(a.status == 202);
    ids.push_back(a.json["server"]["id"].as_string());
  }
  std::set<std::string> hosts;
  int errors = 0;
  for (const std::string& id : ids) {
    auto [status, host] = Settle(cloud, id);
    if (status == "ERROR") {
      ++errors;
    } else {
      hosts.insert(host);
    }
  }
  CHECK(hosts.size() == 2);  // one per host
  CHECK(errors == 1);        // the third had nowhere to go: NoValidHost
  CHECK(Members(cloud, spread).size() == 3);

  // A deleted member leaves the group and frees its host for the next one.
  std::string placed;
  for (const std::string& id : ids) {
    if (Settle(cloud, id).first == "ACTIVE") placed = id;
  }
  REQUIRE(cloud.Send("DELETE", "/servers/" + placed).status == 204);
  for (int i = 0; i < 500 && Members(cloud, spread).contains(placed); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK_FALSE(Members(cloud, spread).contains(placed));
  Answer again = BootMember(cloud, spread, "d");
  REQUIRE(again.status == 202);
  CHECK(Settle(cloud, again.json["server"]["id"].as_string()).first == "ACTIVE");

  // Affinity: every member on the first one's host.
  Answer aff = CreateGroup(cloud, "together", "affinity");
  const std::string together = aff.json["server_group"]["id"].as_string();
  std::set<std::string> affinity_hosts;
  for (const char* name : {"x", "y", "z"}) {
    Answer a = BootMember(cloud, together, name);
    REQUIRE(a.status == 202);
    auto [status, host] = Settle(cloud, a.json["server"]["id"].as_string());
    CHECK(status == "ACTIVE");
    affinity_hosts.insert(host);
  }
  CHECK(affinity_hosts.size() == 1);
}

}  // namespace chronova::testing
