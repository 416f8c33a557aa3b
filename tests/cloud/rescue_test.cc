// Rescue and unrescue (Nova's os-rescue) over real HTTP against a whole node
// (RocksDB log, scheduler, conductor, compute agents): the API's answers and
// state rules on fake hosts, and on libvirt's test driver with a real image
// cache the rescue guest's definition (disk.rescue first, the disk second), its
// overlay on the rescue image's base, and the original definition restored.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "agents/compute/image_cache.h"
#include "agents/compute/libvirt_hypervisor.h"
#include "agents/compute/subprocess.h"
#include "api/image/image_service.h"
#include "api/http/json.h"
#include "core/event_codec.h"
#include "tests/support/api_cloud.h"
#include "tests/support/node_test_util.h"
#include "tests/support/test_util.h"
#include "tools/http_client.h"

namespace chronova::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kAdmin[] = "admin:admin";
constexpr char kMember[] = "alice:demo";
constexpr char kStranger[] = "bob:other";
constexpr char kUnknownId[] = "6a5c2bd7-0c55-4f6b-9d8e-3c1f2a9b7e40";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A node with one compute host and the HTTP API. "libvirt" hosts run on
// libvirt's test driver; with `disks` they get a real image cache (qemu-img
// overlays under the instances path).
struct RescueCloud : ApiCloud {
  explicit RescueCloud(const std::string& hypervisor = "fake", bool disks = false)
      : ApiCloud(1, hypervisor,
                 [disks](NodeOptions& o) { o.compute.image_cache_on_test_hosts = disks; }) {}

  // Boots a server of `image` (m1.tiny) as the member and waits for ACTIVE.
  std::string Boot(const std::string& image = kDemoImageId) {
    return ApiCloud::Boot("vm", "1", image);
  }

  // An image with `size` bytes of raw data, uploaded through the image service.
  std::string UploadImage(const std::string& name, size_t size, char seed) {
    std::string data(size, '\0');
    for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>(seed + (i * 7) % 23);
    NewImage ni;
    ni.name = name;
    ni.disk_format = "raw";
    ni.container_format = "bare";
    auto created = node->image()->Create(MemberContext(), ni);
    INFO(created.status().ToString());
    REQUIRE(created.ok());
    const std::string incoming = node->image()->IncomingDir() + "/upload-" + name;
    std::ofstream(incoming, std::ios::binary) << data;
    auto up = node->image()->Upload(MemberContext(), created->image.image_id, incoming,
                                    static_cast<int64_t>(size));
    INFO(up.status().ToString());
    REQUIRE(up.ok());
    return created->image.image_id.str();
  }

  // The instance stream's events, as stored.
  std::vector<Envelope> Events(const std::string& id) {
    return ReadWholeStream(*node->log(), InstanceStream(InstanceId(id))).value();
  }
};

std::vector<std::string> ActionNames(RescueCloud& c, const std::string& id) {
  Answer a = c.Send("GET", "/servers/" + id + "/os-instance-actions");
  REQUIRE(a.status == 200);
  std::vector<std::string> names;
  for (const Json& action : a.json["instanceActions"].items()) {
    names.push_back(action.Find("action")->as_string());
  }
  return names;
}

// The <target dev=...> of the disk whose source is `path` in libvirt's XML.
std::string TargetOf(const std::string& xml, const std::string& path) {
  size_t source = xml.find("<source file='" + path + "'/>");
  if (source == std::string::npos) return "";
  size_t dev = xml.find("<target dev='", source);
  if (dev == std::string::npos) return "";
  dev += std::string("<target dev='").size();
  return xml.substr(dev, xml.find('\'', dev) - dev);
}

}  // namespace

TEST_CASE(
    "rescue answers 200 with the adminPass, the server goes RESCUE, and unrescue brings "
    "it back ACTIVE") {
  RescueCloud c;
  const std::string id = c.Boot();

  Answer rescued = c.Action(id, R"({"rescue": {"adminPass": "Sup3rSecret"}})");
  INFO(rescued.body);
  REQUIRE(rescued.status == 200);
  CHECK(rescued.json.Dump() == R"({"adminPass":"Sup3rSecret"})");
  Json server = c.WaitStatus(id, "RESCUE");
  CHECK(server["OS-EXT-STS:vm_state"].as_string() == "rescued");
  CHECK(server["OS-EXT-STS:power_state"].as_int() == 1);

  // Nova's state rules: only a rescued server unrescues, and it takes nothing else.
  Answer again = c.Action(id, R"({"rescue": null})");
  CHECK(again.status == 409);
  CHECK(Message(again) ==
        "Cannot 'rescue' instance " + id + " while it is in vm_state rescued");
  CHECK(c.Action(id, R"({"os-stop": null})").status == 409);

  Answer unrescued = c.Action(id, R"({"unrescue": null})");
  CHECK(unrescued.status == 202);
  CHECK(unrescued.body.empty());
  server = c.WaitStatus(id, "ACTIVE");
  CHECK(server["OS-EXT-STS:vm_state"].as_string() == "active");
  Answer twice = c.Action(id, R"({"unrescue": null})");
  CHECK(twice.status == 409);
  CHECK(Message(twice) ==
        "Cannot 'unrescue' instance " + id + " while it is in vm_state active");

  // Without a password one is generated, and given once.
  Answer generated = c.Action(id, R"({"rescue": null})");
  REQUIRE(generated.status == 200);
  CHECK(generated.json["adminPass"].as_string().size() >= 8);
  c.WaitStatus(id, "RESCUE");
  REQUIRE(c.Action(id, R"({"unrescue": null})").status == 202);
  c.WaitStatus(id, "ACTIVE");

  CHECK(ActionNames(c, id) ==
        std::vector<std::string>{"unrescue", "rescue", "unrescue", "rescue", "create"});
  Answer first = c.Send("GET", "/servers/" + id + "/os-instance-actions", kAdmin);
  REQUIRE(first.json["instanceActions"].items().size() == 5);
  std::string rescue_request =
      first.json["instanceActions"].items()[3].Find("request_id")->as_string();
  Answer detail =
      c.Send("GET", "/servers/" + id + "/os-instance-actions/" + rescue_request, kAdmin);
  REQUIRE(detail.status == 200);
  Json& action = detail.json["instanceAction"];
  CHECK(action["action"].as_string() == "rescue");
  REQUIRE(action["events"].items().size() == 1);
  const Json& step = action["events"].items()[0];
  CHECK(step.Find("event")->as_string() == "compute_rescue_instance");
  CHECK(step.Find("result")->as_string() == "Success");

  // The log holds the rescue as facts, never its password.
  std::vector<std::string> types;
  for (const Envelope& e : c.Events(id)) {
    types.push_back(e.type);
    CHECK(e.payload.find("Sup3rSecret") == std::string::npos);
  }
  CHECK(std::count(types.begin(), types.end(), "instance.rescue_requested") == 2);
  CHECK(types.back() == "instance.action_completed");
}

TEST_CASE(
    "rescue works from SHUTOFF, is 409 when locked, 404 for unknown or foreign servers "
    "and 400 for bad bodies, appending nothing") {
  RescueCloud c;
  const std::string id = c.Boot();
  REQUIRE(c.Action(id, R"({"os-stop": null})").status == 202);
  c.WaitStatus(id, "SHUTOFF");
  REQUIRE(c.Action(id, R"({"rescue": {}})").status == 200);
  Json server = c.WaitStatus(id, "RESCUE");
  CHECK(server["OS-EXT-STS:power_state"].as_int() == 1);  // the rescue guest runs
  REQUIRE(c.Action(id, R"({"unrescue": null})").status == 202);
  c.WaitStatus(id, "ACTIVE");  // as Nova: unrescue always ends active

  REQUIRE(c.Action(id, R"({"lock": null})").status == 202);
  Answer locked = c.Action(id, R"({"rescue": null})");
  CHECK(locked.status == 409);
  CHECK(Message(locked) == "Instance " + id + " is locked");
  REQUIRE(c.Action(id, R"({"unlock": null})").status == 202);

  CHECK(c.Action(kUnknownId, R"({"rescue": null})").status == 404);
  CHECK(c.Action(kUnknownId, R"({"unrescue": null})").status == 404);
  CHECK(c.Action(id, R"({"rescue": null})", kStranger).status == 404);
  CHECK(c.Action(id, R"({"unrescue": null})", kStranger).status == 404);

  const size_t events = c.Events(id).size();
  const std::pair<const char*, const char*> bad[] = {
      {R"({"rescue": "now"})",
       "Invalid input for field/attribute rescue. Value: now. 'now' is not of type "
       "'object', 'null'"},
      {R"({"rescue": {"bogus": 1}})",
       "Invalid input for field/attribute rescue. Value: {'bogus': 1}. Additional "
       "properties are not allowed ('bogus' was unexpected)"},
      {R"({"rescue": {"adminPass": 5}})",
       "Invalid input for field/attribute adminPass. Value: 5. 5 is not of type "
       "'string'"},
      {R"({"rescue": {"rescue_image_ref": "cirros"}})",
       "Invalid input for field/attribute rescue_image_ref. Value: cirros. 'cirros' is "
       "not a 'uuid'"},
      {R"({"rescue": {"rescue_image_ref": "6a5c2bd7-0c55-4f6b-9d8e-3c1f2a9b7e40"}})",
       "Requested rescue image '6a5c2bd7-0c55-4f6b-9d8e-3c1f2a9b7e40' is not "
       "supported"},
  };
  for (const auto& [body, message] : bad) {
    Answer a = c.Action(id, body);
    INFO(body << " -> " << a.body);
    CHECK(a.status == 400);
    CHECK(Message(a) == message);
  }
  CHECK(c.Events(id).size() == events);
  CHECK(c.WaitStatus(id, "ACTIVE")["OS-EXT-STS:vm_state"].as_string() == "active");
}

TEST_CASE("a rescue starts only with instance.rescue_requested, which names its image") {
  InstanceState s;
  s.exists = true;
  s.id = InstanceId("i-1");
  s.host = HostName("hv1");
  s.vm_state = VmState::kActive;
  CHECK(CheckTransition(s, InstanceActionRequested{"rescue", false}).IsConflict());
  CHECK(CheckTransition(s, InstanceActionRequested{"unrescue", false}).IsConflict());
  REQUIRE(CheckTransition(s, InstanceRescueRequested{ImageId("img")}).ok());
  Envelope env;
  env.version = StreamVersion(2);
  env.seq = Seq(7);
  ApplyEvent(s, env, InstanceRescueRequested{ImageId("img")});
  CHECK(s.task_state == TaskState::kRescuing);
  CHECK(s.rescue_image_id == ImageId("img"));
  CHECK(ApiStatus(s) == "ACTIVE");  // Nova shows ACTIVE while rescuing
  CHECK(CheckTransition(s, InstanceActionCompleted{HostName("hv1"), "rescue", 1}).ok());
  ApplyEvent(s, env, InstanceActionCompleted{HostName("hv1"), "rescue", 1});
  CHECK(ApiStatus(s) == "RESCUE");
  CHECK(CheckTransition(s, InstanceActionRequested{"unrescue", false}).ok());
  CHECK(CheckTransition(s, InstanceRescueRequested{ImageId()}).IsConflict());
}

TEST_CASE(
    "libvirt: rescue boots disk.rescue (an overlay of the rescue image) as vda with the "
    "disk as vdb, and unrescue restores the original definition and removes disk.rescue",
    "[libvirt]") {
  RescueCloud c("libvirt", /*disks=*/true);
  const std::string image = c.UploadImage("own", 1 << 20, 'a');
  const std::string rescue_image = c.UploadImage("rescue", 1 << 20, 'k');
  const std::string id = c.Boot(image);
  auto* libvirt = dynamic_cast<LibvirtHypervisor*>(c.node->hypervisor(0));
  REQUIRE(libvirt != nullptr);
  const std::string instances = c.node->instances_path(0);
  const std::string inst_dir = instances + "/" + id;
  const std::string disk = inst_dir + "/disk";
  const std::string rescue_disk = inst_dir + "/disk.rescue";
  const std::string original = libvirt->DefinedXml(InstanceId(id)).value();
  CHECK(TargetOf(original, disk) == "vda");
  CHECK(original.find("disk.rescue") == std::string::npos);

  Answer rescued =
      c.Action(id, R"({"rescue": {"rescue_image_ref": ")" + rescue_image + R"("}})");
  INFO(rescued.body);
  REQUIRE(rescued.status == 200);
  c.WaitStatus(id, "RESCUE");
  const std::string rescue_xml = libvirt->DefinedXml(InstanceId(id)).value();
  CHECK(TargetOf(rescue_xml, rescue_disk) == "vda");
  CHECK(TargetOf(rescue_xml, disk) == "vdb");
  CHECK(rescue_xml.find(rescue_disk) < rescue_xml.find("<source file='" + disk + "'/>"));
  CHECK(libvirt->Inspect(InstanceId(id)).value().power_state == PowerState::kRunning);
  // disk.rescue is a qcow2 overlay on the rescue image's base, in the shared cache;
  // the guest's own disk is untouched.
  ImageCache cache(instances, nullptr, ImageCacheOptions{});
  CHECK(Qcow2BackingFile(rescue_disk).value() == cache.BasePath(ImageId(rescue_image)));
  CHECK(Qcow2BackingFile(disk).value() == cache.BasePath(ImageId(image)));
  CHECK(ReadAll(inst_dir + "/unrescue.xml") == original);
  // The image cache manager keeps the rescue image's base while disk.rescue uses it.
  ImageCacheOptions aging;
  aging.remove_unused_original_minimum_age_s = 0;
  ImageCache manager(instances, nullptr, aging);
  REQUIRE(manager.Age().ok());
  CHECK(fs::exists(cache.BasePath(ImageId(rescue_image))));

  REQUIRE(c.Action(id, R"({"unrescue": null})").status == 202);
  c.WaitStatus(id, "ACTIVE");
  CHECK(libvirt->DefinedXml(InstanceId(id)).value() == original);
  CHECK(libvirt->Inspect(InstanceId(id)).value().power_state == PowerState::kRunning);
  CHECK_FALSE(fs::exists(rescue_disk));
  CHECK_FALSE(fs::exists(inst_dir + "/unrescue.xml"));
  CHECK(fs::exists(disk));
  REQUIRE(manager.Age().ok());  // unused now
  CHECK_FALSE(fs::exists(cache.BasePath(ImageId(rescue_image))));
  CHECK(fs::exists(cache.BasePath(ImageId(image))));

  // Without a rescue image the instance's own image is the rescue disk's base.
  REQUIRE(c.Action(id, R"({"rescue": null})").status == 200);
  c.WaitStatus(id, "RESCUE");
  CHECK(Qcow2BackingFile(rescue_disk).value() == cache.BasePath(ImageId(image)));
  // A rescued server deletes like any other: its directory goes with it.
  REQUIRE(c.Send("DELETE", "/servers/" + id).status == 204);
  for (int i = 0; i < 500 && fs::exists(inst_dir); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK_FALSE(fs::exists(inst_dir));
}

TEST_CASE(
    "libvirt: on a test:/// host without disks rescue and unrescue restart the guest",
    "[libvirt]") {
  RescueCloud c("libvirt");
  const std::string id = c.Boot();
  auto* libvirt = dynamic_cast<LibvirtHypervisor*>(c.node->hypervisor(0));
  REQUIRE(libvirt != nullptr);
  const std::string original = libvirt->DefinedXml(InstanceId(id)).value();
  REQUIRE(c.Action(id, R"({"rescue": null})").status == 200);
  c.WaitStatus(id, "RESCUE");
  CHECK(libvirt->Inspect(InstanceId(id)).value().power_state == PowerState::kRunning);
  REQUIRE(c.Action(id, R"({"unrescue": null})").status == 202);
  c.WaitStatus(id, "ACTIVE");
  CHECK(libvirt->DefinedXml(InstanceId(id)).value() == original);
  CHECK(libvirt->Inspect(InstanceId(id)).value().power_state == PowerState::kRunning);
}

}  // namespace chronova::testing
