// createImage (server snapshots) end to end over real HTTP: the Compute API
// creates the image record and the snapshot request, the conductor routes the
// work, the compute host (libvirt's test driver, or the fake driver where a
// failure is injected) writes a real qcow2 with qemu-img and uploads it into
// the image service, and the Image API shows the image active.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "agents/compute/compute_agent.h"
#include "agents/compute/fake_hypervisor.h"
#include "api/image/image_service.h"
#include "api/http/json.h"
#include "core/image_state.h"
#include "tests/support/api_cloud.h"
#include "tests/support/node_test_util.h"
#include "tests/support/test_util.h"
#include "tools/http_client.h"

namespace chronova::testing {
namespace {

constexpr const char* kAdmin = ApiCloud::kAdminToken;
constexpr const char* kMember = ApiCloud::kMemberToken;

// A node with one compute host, the Compute API and the Image API on loopback.
struct Cloud : ApiCloud {
  int image_port = 0;
  std::unique_ptr<HttpClient> image;

  explicit Cloud(const std::string& hypervisor) : Cloud(hypervisor, FreePort()) {}

  Answer Nova(const std::string& method, const std::string& path,
              const std::string& token = kMember, const std::string& body = "") {
    return Send(method, path, token, body);
  }
  Answer Glance(const std::string& path, const std::string& token = kMember) {
    return SendTo(*image, "GET", "/v2/images" + path, token, "");
  }
  Answer Action(const std::string& id, const Json& body,
                const std::string& token = kMember) {
    return ApiCloud::Action(id, body.Dump(), token);
  }

  // Polls GET /servers/{id} until `pred(server)` holds (20 s).
  template <typename Pred>
  Json WaitServer(const std::string& id, Pred pred) {
    Json last;
    for (int i = 0; i < 2000; ++i) {
      Answer s = Nova("GET", "/servers/" + id);
      if (s.status == 200) {
        last = s.json["server"];
        if (pred(last)) return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("server " << id << " never reached the expected state; last " << last.Dump());
    return Json();
  }

  // Polls the Image API until the image has `status` (20 s), or is gone when
  // `status` is empty.
  Json WaitImage(const std::string& id, const std::string& status) {
    Answer last;
    for (int i = 0; i < 2000; ++i) {
      last = Glance("/" + id);
      if (status.empty()
              ? last.status == 404
              : last.status == 200 && last.json["status"].as_string() == status)
        return last.json;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("image " << id << " never reached '" << status << "'; last " << last.status
                  << " " << last.body);
    return Json();
  }

 private:
  Cloud(const std::string& hypervisor, int free_port)
      : ApiCloud(1, hypervisor,
                 [free_port](NodeOptions& o) {
                   o.api.image_api_url = "http://127.0.0.1:" + std::to_string(free_port);
                 }),
        image_port(free_port),
        image(std::make_unique<HttpClient>("127.0.0.1:" + std::to_string(free_port))) {}
};

// The server's latest instance action, CHECKed to be a createImage that failed.
Json LatestActionIsFailedCreateImage(Cloud& c, const std::string& id) {
  Answer actions = c.Nova("GET", "/servers/" + id + "/os-instance-actions");
  Json latest = actions.json["instanceActions"].items()[0];
  CHECK(latest["action"].as_string() == "createImage");
  CHECK(latest["message"].as_string() == "Error");
  return latest;
}

Json CreateImageBody(const std::string& name, const Json& metadata = Json()) {
  Json entity = Json::MakeObject({{"name", name}});
  if (!metadata.is_null()) entity["metadata"] = metadata;
  return Json::MakeObject({{"createImage", entity}});
}

bool Idle(Json s) { return s["OS-EXT-STS:task_state"].is_null(); }

std::string ImageIdOf(const Answer& a) {
  auto it = a.headers.find("location");
  REQUIRE(it != a.headers.end());
  return it->second.substr(it->second.find_last_of('/') + 1);
}

// `qemu-img info --output=json` of a file (test-only shell use).
std::string QemuImgInfo(const std::string& path) {
  FILE* p = ::popen(("qemu-img info --output=json " + path + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  INFO(out);
  REQUIRE(::pclose(p) == 0);
  return out;
}

}  // namespace

TEST_CASE(
    "createImage snapshots a server on libvirt's test driver into an active qcow2 image "
    "with Nova's snapshot properties") {
  Cloud c("libvirt");
  const std::string id = c.Boot("snapme");

  Answer a =
      c.Action(id, CreateImageBody("snap-1", Json::MakeObject({{"purpose", "test"}})));
  INFO(a.body);
  REQUIRE(a.status == 202);
  CHECK(a.body.empty());
  const std::string image_id = ImageIdOf(a);
  CHECK(a.headers["location"] ==
        "http://127.0.0.1:" + std::to_string(c.image_port) + "/v2/images/" + image_id);

  // The record exists at once, owned by the server's project.
  Answer first = c.Glance("/" + image_id);
  REQUIRE(first.status == 200);
  CHECK(first.json["name"].as_string() == "snap-1");
  CHECK(first.json["owner"].as_string() == "demo");
  CHECK(first.json["visibility"].as_string() == "private");

  Json image = c.WaitImage(image_id, "active");
  CHECK(image["disk_format"].as_string() == "qcow2");
  CHECK(image["container_format"].as_string() == "bare");
  CHECK(image["image_type"].as_string() == "snapshot");
  CHECK(image["instance_uuid"].as_string() == id);
  CHECK(image["base_image_ref"].as_string() == kDemoImageId);
  CHECK(image["user_id"].as_string() == "alice");
  CHECK(image["purpose"].as_string() == "test");
  CHECK(image["min_disk"].as_int() == 1);  // m1.tiny's root disk
  CHECK(image["os_hash_algo"].as_string() == "sha512");

  // A real qcow2 of the flavor's 1 GiB root disk in the blob store, and the
  // image's size and hashes are those of exactly these bytes.
  auto blob = c.node->image()->Open(ImageId(image_id));
  INFO(blob.status().ToString());
  REQUIRE(blob.ok());
  CHECK(image["size"].as_int() ==
        static_cast<int64_t>(std::filesystem::file_size(blob->path)));
  CHECK(image["checksum"].as_string() == FileDigest("md5sum", blob->path));
  CHECK(image["os_hash_value"].as_string() == FileDigest("sha512sum", blob->path));
  const std::string info = QemuImgInfo(blob->path);
  CHECK(info.find("\"format\": \"qcow2\"") != std::string::npos);
  CHECK(info.find("\"virtual-size\": 1073741824") != std::string::npos);

  // The server is back to ACTIVE with no task; the action is listed with its step.
  Json server = c.WaitServer(id, Idle);
  CHECK(server["status"].as_string() == "ACTIVE");
  Answer actions = c.Nova("GET", "/servers/" + id + "/os-instance-actions");
  REQUIRE(actions.status == 200);
  REQUIRE(actions.json["instanceActions"].size() == 2);
  Json latest = actions.json["instanceActions"].items()[0];
  CHECK(latest["action"].as_string() == "createImage");
  const std::string request_id = latest["request_id"].as_string();
  Answer shown =
      c.Nova("GET", "/servers/" + id + "/os-instance-actions/" + request_id, kAdmin);
  REQUIRE(shown.status == 200);
  REQUIRE(shown.json["instanceAction"]["events"].size() == 1);
  Json step = shown.json["instanceAction"]["events"].items()[0];
  CHECK(step["event"].as_string() == "compute_snapshot_instance");
  CHECK(step["result"].as_string() == "Success");

  // Nova's image proxy lists it with its server.
  Answer proxied = c.Nova("GET", "/images/" + image_id);
  REQUIRE(proxied.status == 200);
  CHECK(proxied.json["image"]["status"].as_string() == "ACTIVE");

  // A stopped server snapshots too, and stays SHUTOFF.
  REQUIRE(c.Action(id, Json::MakeObject({{"os-stop", Json()}})).status == 202);
  c.WaitServer(id, [](Json s) { return s["status"].as_string() == "SHUTOFF"; });
  Answer second = c.Action(id, CreateImageBody("snap-2"));
  REQUIRE(second.status == 202);
  c.WaitImage(ImageIdOf(second), "active");
  server = c.WaitServer(id, Idle);
  CHECK(server["status"].as_string() == "SHUTOFF");

  // The image proxy filters snapshots by server and deletes them, data and all.
  Answer listed = c.Nova("GET", "/images?server=" + id);
  REQUIRE(listed.status == 200);
  CHECK(listed.json["images"].size() == 2);
  CHECK(c.Nova("GET", "/images?server=" + image_id).json["images"].size() == 0);
  CHECK(c.Nova("DELETE", "/images/" + image_id).status == 204);
  CHECK(c.Glance("/" + image_id).status == 404);
  CHECK(c.Nova("DELETE", "/images/" + image_id).status == 404);
  CHECK_FALSE(std::filesystem::exists(blob->path));
}

TEST_CASE("createImage is refused with Nova's 400, 404 and 409 and leaves no image") {
  Cloud c("libvirt");
  const std::string id = c.Boot("refused");
  const size_t images_before = c.Glance("").json["images"].size();

  Answer unknown = c.Action("6a1f0c3e-0000-4000-8000-000000000000", CreateImageBody("x"));
  CHECK(unknown.status == 404);
  Answer no_name = c.Action(id, Json::MakeObject({{"createImage", Json::MakeObject()}}));
  CHECK(no_name.status == 400);
  CHECK(Message(no_name) ==
        "Invalid input for field/attribute createImage. Value: {}. 'name' is a required "
        "property");
  Answer long_name = c.Action(id, CreateImageBody(std::string(256, 'a')));
  CHECK(long_name.status == 400);
  Answer bad_meta =
      c.Action(id, CreateImageBody("x", Json::MakeObject({{"k", Json::MakeArray()}})));
  CHECK(bad_meta.status == 400);
  Answer extra = c.Action(
      id,
      Json::MakeObject({{"createImage", Json::MakeObject({{"name", "x"}, {"y", 1}})}}));
  CHECK(extra.status == 400);
  // Another project's server does not exist for the caller.
  CHECK(c.Action(id, CreateImageBody("x"), "mallory:other").status == 404);

  // A server in ERROR: Nova's InstanceInvalidState, worded for createImage.
  REQUIRE(c.Action(id,
                   Json::MakeObject(
                       {{"os-resetState", Json::MakeObject({{"state", "error"}})}}),
                   kAdmin)
              .status == 202);
  Answer conflict = c.Action(id, CreateImageBody("x"));
  CHECK(conflict.status == 409);
  CHECK(Message(conflict) ==
        "Cannot 'createImage' instance " + id + " while it is in vm_state error");
  CHECK(c.Glance("").json["images"].size() == images_before);
}

TEST_CASE("a failed snapshot deletes its image and leaves the server usable") {
  Cloud c("fake");
  const std::string id = c.Boot("fails");
  auto* fake = dynamic_cast<FakeHypervisor*>(c.node->hypervisor(0));
  REQUIRE(fake != nullptr);
  fake->FailNextSnapshot(Status::Internal("qemu-img: disk on fire"));

  Answer a = c.Action(id, CreateImageBody("doomed"));
  REQUIRE(a.status == 202);
  const std::string image_id = ImageIdOf(a);
  c.WaitImage(image_id, "");  // deleted
  Json server = c.WaitServer(id, Idle);
  CHECK(server["status"].as_string() == "ACTIVE");
  Json latest = LatestActionIsFailedCreateImage(c, id);
  Answer shown = c.Nova(
      "GET",
      "/servers/" + id + "/os-instance-actions/" + latest["request_id"].as_string(),
      kAdmin);
  Json step = shown.json["instanceAction"]["events"].items()[0];
  CHECK(step["event"].as_string() == "compute_snapshot_instance");
  CHECK(step["result"].as_string() == "Error");

  // The next snapshot works (the fake writes a small file).
  Answer again = c.Action(id, CreateImageBody("works"));
  REQUIRE(again.status == 202);
  Json image = c.WaitImage(ImageIdOf(again), "active");
  CHECK(image["size"].as_int() > 0);
  CHECK(c.WaitServer(id, Idle)["status"].as_string() == "ACTIVE");
}

}  // namespace chronova::testing

namespace chronova::testing {

TEST_CASE(
    "a snapshot whose upload a crash cut off fails when its work is re-sent, and the "
    "server does not stay in image_snapshot") {
  Cloud c("fake");
  const std::string id = c.Boot("cut-off");
  ComputeAgent* agent = c.node->compute_agent(0);
  agent->Stop();  // the host is down: the snapshot work goes nowhere
  Answer a = c.Action(id, CreateImageBody("cut"));
  REQUIRE(a.status == 202);
  const std::string image_id = ImageIdOf(a);
  // What a crash in the middle of the upload leaves: the upload began (the
  // image is saving) and never ended.
  AppendRequest req;
  req.stream = ImageStream(ImageId(image_id));
  req.key = IdempotencyKey("test-cut-off-upload");
  req.events.push_back(MakeNewEvent(ImageUploadStarted{}, EventMeta{}));
  REQUIRE(c.node->log()->Append(req).ok());
  c.WaitImage(image_id, "saving");

  REQUIRE(agent->Start().ok());  // the conductor re-sends the snapshot work
  c.WaitImage(image_id, "");     // the half-uploaded image is deleted
  Json server = c.WaitServer(id, Idle);
  CHECK(server["status"].as_string() == "ACTIVE");
  LatestActionIsFailedCreateImage(c, id);
}

}  // namespace chronova::testing
