// Shelve, shelveOffload and unshelve, and deferred delete (restore,
// forceDelete, reclaim) end to end over real HTTP: the Compute API records
// the request (and a shelve's image), the conductor routes the work, the
// compute host (libvirt's test driver) snapshots, powers off, removes and
// spawns guests, the scheduler places an offloaded server again, and the host
// claims follow (os-hypervisors).
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

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

// Two compute hosts on libvirt's test driver, the Compute API and the Image
// API on loopback.
struct Cloud : ApiCloud {
  std::unique_ptr<HttpClient> image;

  explicit Cloud(const std::function<void(NodeOptions&)>& tweak = nullptr)
      : Cloud(tweak, FreePort()) {}

  Answer Glance(const std::string& path) {
    return SendTo(*image, "GET", "/v2/images" + path, kMember, "");
  }
  // The member's images named `name`.
  std::vector<Json> ImagesNamed(const std::string& name) {
    Answer a = Glance("?name=" + name);
    REQUIRE(a.status == 200);
    return a.json["images"].items();
  }
  // vcpus_used over every hypervisor (os-hypervisors/statistics).
  int64_t VcpusUsed() {
    Answer stats = Send("GET", "/os-hypervisors/statistics", kAdmin);
    REQUIRE(stats.status == 200);
    return stats.json["hypervisor_statistics"]["vcpus_used"].as_int();
  }
  // The server's instance actions, oldest first.
  std::vector<std::string> Actions(const std::string& id) {
    Answer a = Send("GET", "/servers/" + id + "/os-instance-actions");
    REQUIRE(a.status == 200);
    std::vector<std::string> names;
    for (Json action : a.json["instanceActions"].items())
      names.insert(names.begin(), action["action"].as_string());
    return names;
  }

 private:
  Cloud(const std::function<void(NodeOptions&)>& tweak, int image_port)
      : ApiCloud(2, "libvirt",
                 [&](NodeOptions& o) {
                   o.api.image_api_url = "http://127.0.0.1:" + std::to_string(image_port);
                   if (tweak) tweak(o);
                 }),
        image(std::make_unique<HttpClient>("127.0.0.1:" + std::to_string(image_port))) {}
};

}  // namespace

TEST_CASE(
    "shelve offloads a server into its '<name>-shelved' image and frees its host; "
    "unshelve places it again and deletes the image") {
  Cloud c;
  const std::string id = c.Boot("shelfie");
  CHECK(c.VcpusUsed() == 1);

  Answer shelved = c.Action(id, R"({"shelve": null})");
  INFO(shelved.body);
  REQUIRE(shelved.status == 202);
  CHECK(shelved.body.empty());
  // shelved_offload_time 0 (the default): offloaded with the shelve.
  Json s = c.WaitStatus(id, "SHELVED_OFFLOADED");
  CHECK(s["OS-EXT-STS:vm_state"].as_string() == "shelved_offloaded");
  CHECK(s["OS-EXT-SRV-ATTR:host"].is_null());
  CHECK(s["OS-EXT-SRV-ATTR:hypervisor_hostname"].is_null());
  CHECK(s["OS-EXT-STS:power_state"].as_int() == 0);
  WaitUntil([&] { return c.VcpusUsed() == 0; });
  CHECK(c.VcpusUsed() == 0);

  std::vector<Json> images = c.ImagesNamed("shelfie-shelved");
  REQUIRE(images.size() == 1);
  Json image = images[0];
  CHECK(image["status"].as_string() == "active");
  CHECK(image["image_type"].as_string() == "snapshot");
  CHECK(image["instance_uuid"].as_string() == id);

  // Shelved already: Nova's 409, and no second image.
  Answer again = c.Action(id, R"({"shelve": null})");
  CHECK(again.status == 409);
  CHECK(Message(again) ==
        "Cannot 'shelve' instance " + id + " while it is in vm_state shelved_offloaded");
  CHECK(c.ImagesNamed("shelfie-shelved").size() == 1);
  // Only admins offload, and only a SHELVED server.
  CHECK(c.Action(id, R"({"shelveOffload": null})").status == 403);
  CHECK(c.Action(id, R"({"shelveOffload": null})", kAdmin).status == 409);

  Answer unshelved = c.Action(id, R"({"unshelve": null})");
  INFO(unshelved.body);
  REQUIRE(unshelved.status == 202);
  s = c.WaitStatus(id, "ACTIVE");
  CHECK(s["OS-EXT-STS:power_state"].as_int() == 1);
  CHECK_FALSE(s["OS-EXT-SRV-ATTR:host"].is_null());
  CHECK(c.VcpusUsed() == 1);
  // The image went with the unshelve (after the host reported it).
  WaitUntil([&] { return c.Glance("/" + image["id"].as_string()).status == 404; });
  CHECK(c.Glance("/" + image["id"].as_string()).status == 404);
  CHECK(c.Actions(id) == std::vector<std::string>{"create", "shelve", "unshelve"});
  CHECK(c.Action(id, R"({"unshelve": null})").status == 409);

  // Deleting an offloaded server deletes its image too.
  REQUIRE(c.Action(id, R"({"shelve": null})").status == 202);
  c.WaitStatus(id, "SHELVED_OFFLOADED");
  images = c.ImagesNamed("shelfie-shelved");
  REQUIRE(images.size() == 1);
  c.DeleteAndWait(id);
  CHECK(c.Glance("/" + images[0]["id"].as_string()).status == 404);
  WaitUntil([&] { return c.VcpusUsed() == 0; });
  CHECK(c.VcpusUsed() == 0);
}

TEST_CASE(
    "with shelved_offload_time -1 a shelved server keeps its host until an admin "
    "offloads it; 2.77 unshelves an offloaded server into a zone") {
  Cloud c([](NodeOptions& o) { o.shelved_offload_time_s = -1; });
  const std::string id = c.Boot("keeper");
  const std::string host = c.WaitStatus(id, "ACTIVE")["OS-EXT-SRV-ATTR:host"].as_string();

  REQUIRE(c.Action(id, R"({"shelve": null})").status == 202);
  Json s = c.WaitStatus(id, "SHELVED");
  CHECK(s["OS-EXT-SRV-ATTR:host"].as_string() == host);
  CHECK(s["OS-EXT-STS:power_state"].as_int() == 4);
  CHECK(c.VcpusUsed() == 1);  // the host keeps its claim

  // A zone is for an offloaded server only (Nova's _check_offloaded).
  Answer zoned = At(c, "2.77", "POST", "/servers/" + id + "/action", kMember,
                    R"({"unshelve": {"availability_zone": "nova"}})");
  CHECK(zoned.status == 409);
  CHECK(Message(zoned) ==
        "Specifying an availability zone or a host when unshelving "
        "server \"" +
            id +
            "\" with status \"shelved\" is not supported. The server "
            "status must be SHELVED_OFFLOADED.");
  // Before 2.77 the body is not looked at; from it, only a zone may be given.
  CHECK(
      At(c, "2.77", "POST", "/servers/" + id + "/action", kMember, R"({"unshelve": {}})")
          .status == 400);
  CHECK(At(c, "2.77", "POST", "/servers/" + id + "/action", kMember,
           R"({"unshelve": {"availability_zone": "nova", "host": "x"}})")
            .status == 400);

  // Unshelved where it is: started again on the same host.
  REQUIRE(c.Action(id, R"({"unshelve": {"availability_zone": "ignored"}})").status ==
          202);
  s = c.WaitStatus(id, "ACTIVE");
  CHECK(s["OS-EXT-SRV-ATTR:host"].as_string() == host);
  CHECK(s["OS-EXT-STS:power_state"].as_int() == 1);
  WaitUntil([&] { return c.ImagesNamed("keeper-shelved").empty(); });
  CHECK(c.ImagesNamed("keeper-shelved").empty());

  REQUIRE(c.Action(id, R"({"shelve": null})").status == 202);
  c.WaitStatus(id, "SHELVED");
  REQUIRE(c.Action(id, R"({"shelveOffload": null})", kAdmin).status == 202);
  s = c.WaitStatus(id, "SHELVED_OFFLOADED");
  CHECK(s["OS-EXT-SRV-ATTR:host"].is_null());
  WaitUntil([&] { return c.VcpusUsed() == 0; });
  CHECK(c.VcpusUsed() == 0);

  Answer nowhere = At(c, "2.77", "POST", "/servers/" + id + "/action", kMember,
                      R"({"unshelve": {"availability_zone": "nowhere"}})");
  CHECK(nowhere.status == 400);
  CHECK(Message(nowhere) == "The requested availability zone is not available");
  REQUIRE(At(c, "2.77", "POST", "/servers/" + id + "/action", kMember,
             R"({"unshelve": {"availability_zone": "nova"}})")
              .status == 202);
  s = c.WaitStatus(id, "ACTIVE");
  CHECK(s["OS-EXT-AZ:availability_zone"].as_string() == "nova");
  CHECK(c.VcpusUsed() == 1);
  CHECK(c.Actions(id) == std::vector<std::string>{"create", "shelve", "unshelve",
                                                  "shelve", "shelveOffload", "unshelve"});
}

TEST_CASE(
    "with reclaim_instance_interval a DELETE soft-deletes: restore brings the server "
    "back, forceDelete deletes it") {
  Cloud c([](NodeOptions& o) { o.reclaim_instance_interval_s = 3600; });
  const std::string id = c.Boot("undo-me");

  REQUIRE(c.Send("DELETE", "/servers/" + id).status == 204);
  Json s = c.WaitStatus(id, "SOFT_DELETED");
  CHECK(s["OS-EXT-STS:vm_state"].as_string() == "soft-delete");
  CHECK(s["OS-EXT-STS:power_state"].as_int() == 4);
  CHECK(c.VcpusUsed() == 1);  // the host keeps the guest until it is reclaimed

  REQUIRE(c.Action(id, R"({"restore": null})").status == 202);
  s = c.WaitStatus(id, "ACTIVE");
  CHECK(s["OS-EXT-STS:power_state"].as_int() == 1);
  CHECK(c.Action(id, R"({"restore": null})").status == 409);

  REQUIRE(c.Send("DELETE", "/servers/" + id).status == 204);
  c.WaitStatus(id, "SOFT_DELETED");
  REQUIRE(c.Action(id, R"({"forceDelete": null})").status == 202);
  WaitUntil([&] { return c.Send("GET", "/servers/" + id).status == 404; });
  CHECK(c.Send("GET", "/servers/" + id).status == 404);
  WaitUntil([&] { return c.VcpusUsed() == 0; });
  CHECK(c.VcpusUsed() == 0);
}

TEST_CASE("a SOFT_DELETED server is reclaimed after reclaim_instance_interval") {
  Cloud c([](NodeOptions& o) { o.reclaim_instance_interval_s = 1; });
  const std::string id = c.Boot("reclaimed");
  REQUIRE(c.Send("DELETE", "/servers/" + id).status == 204);
  c.WaitStatus(id, "SOFT_DELETED");
  // The conductor's sweep (every 5 s) deletes it once it is a second old.
  bool gone = false;
  for (int i = 0; i < 300 && !gone; ++i) {
    gone = c.Send("GET", "/servers/" + id).status == 404;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(gone);
  WaitUntil([&] { return c.VcpusUsed() == 0; });
  CHECK(c.VcpusUsed() == 0);
  std::vector<std::string> actions;
  Answer a = At(c, "2.21", "GET", "/servers/" + id + "/os-instance-actions");
  REQUIRE(a.status == 200);
  for (Json action : a.json["instanceActions"].items())
    actions.push_back(action["action"].as_string());
  CHECK(actions == std::vector<std::string>{"delete", "delete", "create"});
}

}  // namespace chronova::testing
