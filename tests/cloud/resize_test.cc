// Resize, confirmResize and revertResize over real HTTP against a whole node
// (RocksDB log, scheduler, conductor, compute hosts): the state flow Nova shows
// (RESIZE, VERIFY_RESIZE, REVERT_RESIZE), the flavor before and after, the
// host claims in os-hypervisors after confirm and after revert, on the same
// host and to another one, Nova's 400s and 409s, os-instance-actions, a
// libvirt test:/// host whose qcow2 overlay really grows, and a compute host
// doing a resize sent twice once.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <ostream>
#include <thread>

#include "agents/bus.h"
#include "agents/compute/compute_agent.h"
#include "agents/compute/fake_hypervisor.h"
#include "agents/compute/libvirt_hypervisor.h"
#include "agents/subjects.h"
#include "api/http/json.h"
#include "projections/projection_store.h"
#include "tests/support/api_cloud.h"
#include "tests/support/node_test_util.h"
#include "tests/support/test_util.h"
#include "tools/http_client.h"

namespace chronova::testing {
namespace {

constexpr char kAdmin[] = "admin:admin";
constexpr char kMember[] = "alice:demo";

// memory_mb_used per hypervisor_hostname: every host of the cloud, exactly
// (a host missing from os-hypervisors is not a host with nothing used).
struct MemoryByHost {
  MemoryByHost() = default;
  MemoryByHost(std::initializer_list<std::pair<const std::string, int64_t>> hosts)
      : by_host(hosts) {}
  bool operator==(const MemoryByHost&) const = default;
  std::map<std::string, int64_t> by_host;
};

// For Catch2's messages: {compute-1: 512, compute-2: 0}.
std::ostream& operator<<(std::ostream& os, const MemoryByHost& m) {
  os << "{";
  for (auto it = m.by_host.begin(); it != m.by_host.end(); ++it)
    os << (it == m.by_host.begin() ? "" : ", ") << it->first << ": " << it->second;
  return os << "}";
}

struct Cloud : ApiCloud {
  explicit Cloud(int hosts, const std::string& hypervisor = "fake")
      : ApiCloud(hosts, hypervisor) {}

  // memory_mb_used per hypervisor_hostname, from os-hypervisors/detail.
  MemoryByHost MemoryUsed() {
    Answer detail = Send("GET", "/os-hypervisors/detail", kAdmin);
    REQUIRE(detail.status == 200);
    MemoryByHost used;
    for (Json h : detail.json["hypervisors"].items())
      used.by_host[h["hypervisor_hostname"].as_string()] = h["memory_mb_used"].as_int();
    return used;
  }
  // Waits (10 s at most) until os-hypervisors shows exactly `want`; returns the
  // last answer, for the caller to CHECK.
  MemoryByHost WaitMemoryUsed(const MemoryByHost& want) {
    MemoryByHost used;
    WaitUntil([&] { return (used = MemoryUsed()) == want; });
    return used;
  }
};

std::string Resize(const std::string& flavor) {
  return "{\"resize\": {\"flavorRef\": \"" + flavor + "\"}}";
}

std::string HostOf(Json server) { return server["OS-EXT-SRV-ATTR:host"].as_string(); }

}  // namespace

TEST_CASE(
    "resize on the same host: VERIFY_RESIZE with the new flavor, confirm to ACTIVE") {
  Cloud c(1);
  const std::string id = c.Boot("web");
  const std::string host = HostOf(c.WaitStatus(id, "ACTIVE"));
  CHECK(c.MemoryUsed() == MemoryByHost{{host, 512}});

  CHECK(c.Action(id, R"({"resize": {"flavorRef": "2", "OS-DCF:diskConfig": "auto"}})")
            .status == 400);
  // The disk config may change with the resize (recorded with its request).
  Answer resized =
      c.Action(id, R"({"resize": {"flavorRef": "2", "OS-DCF:diskConfig": "AUTO"}})");
  INFO(resized.body);
  REQUIRE(resized.status == 202);
  CHECK(resized.body.empty());
  Json s = c.WaitStatus(id, "VERIFY_RESIZE");
  CHECK(s["OS-EXT-STS:vm_state"].as_string() == "resized");
  CHECK(s["OS-DCF:diskConfig"].as_string() == "AUTO");
  CHECK(s["flavor"]["id"].as_string() == "2");
  CHECK(HostOf(s) == host);
  // Both flavors are held on the host until the resize is confirmed.
  CHECK(c.MemoryUsed() == MemoryByHost{{host, 512 + 2048}});

  // A second resize, or a revert's twin, must wait.
  CHECK(c.Action(id, Resize("3")).status == 409);

  Answer confirmed = c.Action(id, "{\"confirmResize\": null}");
  INFO(confirmed.body);
  REQUIRE(confirmed.status == 204);
  s = c.WaitStatus(id, "ACTIVE");
  CHECK(s["flavor"]["id"].as_string() == "2");
  CHECK(c.WaitMemoryUsed({{host, 2048}}) == MemoryByHost{{host, 2048}});

  // os-migrations (admins): the resize, confirmed, from flavor 1 to 2.
  CHECK(c.Send("GET", "/os-migrations").status == 403);
  Answer migrations = c.Send("GET", "/os-migrations", kAdmin);
  INFO(migrations.body);
  REQUIRE(migrations.status == 200);
  REQUIRE(migrations.json["migrations"].size() == 1);
  Json m = migrations.json["migrations"].items()[0];
  CHECK(m["instance_uuid"].as_string() == id);
  CHECK(m["status"].as_string() == "confirmed");
  CHECK(m["old_instance_type_id"].as_int() == 1);
  CHECK(m["new_instance_type_id"].as_int() == 2);
  CHECK(m["source_compute"].as_string() == host);
  CHECK(m["dest_compute"].as_string() == host);
  CHECK_FALSE(m["updated_at"].is_null());
  CHECK_FALSE(m.Contains("migration_type"));  // from 2.23
  Answer typed = c.Send("GET", "/os-migrations?status=confirmed", kAdmin);
  CHECK(typed.json["migrations"].size() == 1);
  CHECK(c.Send("GET", "/os-migrations?status=error", kAdmin).json["migrations"].size() ==
        0);
  CHECK(c.Send("GET", "/os-migrations?instance_uuid=" + id, kAdmin)
            .json["migrations"]
            .size() == 1);
  CHECK(c.Send("GET", "/os-migrations?host=" + host, kAdmin).json["migrations"].size() ==
        1);
  CHECK(
      c.Send("GET", "/os-migrations?host=elsewhere", kAdmin).json["migrations"].size() ==
      0);

  // os-instance-actions: create, resize, confirmResize (newest first).
  Answer actions = c.Send("GET", "/servers/" + id + "/os-instance-actions");
  REQUIRE(actions.status == 200);
  std::vector<std::string> names;
  for (Json a : actions.json["instanceActions"].items())
    names.push_back(a["action"].as_string());
  CHECK(names == std::vector<std::string>{"confirmResize", "resize", "create"});

  // Nothing to confirm or revert any more.
  Answer again = c.Action(id, "{\"confirmResize\": null}");
  CHECK(again.status == 409);
  CHECK(Message(again) ==
        "Cannot 'confirmResize' instance " + id + " while it is in vm_state active");
  CHECK(c.Action(id, "{\"revertResize\": null}").status == 409);
}

TEST_CASE("resize to another host and revert: the old flavor and host come back") {
  Cloud c(2);
  const std::string id = c.Boot("db");
  const std::string source = HostOf(c.WaitStatus(id, "ACTIVE"));

  REQUIRE(c.Action(id, Resize("2")).status == 202);
  Json s = c.WaitStatus(id, "VERIFY_RESIZE");
  const std::string dest = HostOf(s);
  // The other host has more free RAM (the scheduler's spread weigher).
  REQUIRE(dest != source);
  CHECK(s["flavor"]["id"].as_string() == "2");
  CHECK(c.MemoryUsed() == MemoryByHost{{source, 512}, {dest, 2048}});

  Answer reverted = c.Action(id, "{\"revertResize\": null}");
  INFO(reverted.body);
  REQUIRE(reverted.status == 202);
  s = c.WaitStatus(id, "ACTIVE");
  CHECK(HostOf(s) == source);
  CHECK(s["flavor"]["id"].as_string() == "1");
  const MemoryByHost reverted_used{{source, 512}, {dest, 0}};
  CHECK(c.WaitMemoryUsed(reverted_used) == reverted_used);

  Answer actions = c.Send("GET", "/servers/" + id + "/os-instance-actions");
  REQUIRE(actions.status == 200);
  REQUIRE(actions.json["instanceActions"].size() == 3);
  CHECK(actions.json["instanceActions"].mutable_items()[0]["action"].as_string() ==
        "revertResize");

  // The migration was reverted, between two hosts.
  Json reverted_m =
      c.Send("GET", "/os-migrations", kAdmin).json["migrations"].items().at(0);
  CHECK(reverted_m["status"].as_string() == "reverted");
  CHECK(reverted_m["source_compute"].as_string() == source);
  CHECK(reverted_m["dest_compute"].as_string() == dest);

  // Resized again and confirmed: only the destination holds the server.
  REQUIRE(c.Action(id, Resize("2")).status == 202);
  s = c.WaitStatus(id, "VERIFY_RESIZE");
  const std::string dest2 = HostOf(s);
  REQUIRE((dest2 == source || dest2 == dest));
  REQUIRE(c.Action(id, "{\"confirmResize\": null}").status == 204);
  c.WaitStatus(id, "ACTIVE");
  MemoryByHost confirmed_used{{source, 0}, {dest, 0}};
  confirmed_used.by_host[dest2] = 2048;
  CHECK(c.WaitMemoryUsed(confirmed_used) == confirmed_used);
}

TEST_CASE("deleting a server awaiting resize confirmation frees both hosts") {
  Cloud c(2);
  const std::string id = c.Boot("gone");
  const std::string source = HostOf(c.WaitStatus(id, "ACTIVE"));
  REQUIRE(c.Action(id, Resize("2")).status == 202);
  const std::string dest = HostOf(c.WaitStatus(id, "VERIFY_RESIZE"));
  REQUIRE(dest != source);
  // Both hosts hold a claim: the source the old flavor, the destination the new.
  CHECK(c.MemoryUsed() == MemoryByHost{{source, 512}, {dest, 2048}});
  REQUIRE(c.Send("DELETE", "/servers/" + id).status == 204);
  const MemoryByHost freed{{source, 0}, {dest, 0}};
  CHECK(c.WaitMemoryUsed(freed) == freed);
}

TEST_CASE("a stopped server resizes and stays SHUTOFF after confirm") {
  Cloud c(1);
  const std::string id = c.Boot("cold");
  REQUIRE(c.Action(id, "{\"os-stop\": null}").status == 202);
  c.WaitStatus(id, "SHUTOFF");
  REQUIRE(c.Action(id, Resize("2")).status == 202);
  Json s = c.WaitStatus(id, "VERIFY_RESIZE");
  CHECK(s["OS-EXT-STS:power_state"].as_int() == 4);
  REQUIRE(c.Action(id, "{\"confirmResize\": null}").status == 204);
  s = c.WaitStatus(id, "SHUTOFF");
  CHECK(s["flavor"]["id"].as_string() == "2");
}

TEST_CASE("resize is refused with Nova's 400s and 409s and claims nothing") {
  Cloud c(1);
  const std::string id = c.Boot("small", "2");
  const std::string host = HostOf(c.WaitStatus(id, "ACTIVE"));

  Answer same = c.Action(id, Resize("2"));
  CHECK(same.status == 400);
  CHECK(Message(same) == "When resizing, instances must change flavor!");
  Answer unknown = c.Action(id, Resize("999"));
  CHECK(unknown.status == 400);
  CHECK(Message(unknown) == "Flavor 999 could not be found.");
  Answer down = c.Action(id, Resize("1"));  // 20 GB root disk to 1 GB
  CHECK(down.status == 400);
  CHECK(Message(down) ==
        "Server disk was unable to be resized because: Unable to resize disk down.");
  Answer too_big = c.Action(id, Resize("5"));  // 16 GB RAM on an 8 GB (x1.5) host
  CHECK(too_big.status == 400);
  CHECK(Message(too_big) ==
        "No valid host was found. There are not enough hosts available.");
  Answer no_ref = c.Action(id, "{\"resize\": {}}");
  CHECK(no_ref.status == 400);
  Answer extra = c.Action(id, "{\"resize\": {\"flavorRef\": \"3\", \"x\": 1}}");
  CHECK(extra.status == 400);
  CHECK(c.Action(id, "{\"confirmResize\": null}").status == 409);
  CHECK(c.Action(id, "{\"revertResize\": null}").status == 409);
  CHECK(c.Action("no-such-server", Resize("3")).status == 404);
  CHECK(c.MemoryUsed() == MemoryByHost{{host, 2048}});

  // A locked server: 409 for its owner.
  REQUIRE(c.Action(id, "{\"lock\": null}").status == 202);
  Answer locked = c.Action(id, Resize("3"));
  CHECK(locked.status == 409);
  CHECK(c.MemoryUsed() == MemoryByHost{{host, 2048}});
}

TEST_CASE("resize on libvirt's test driver: the domain is redefined and reverted") {
  Cloud c(1, "libvirt");
  const std::string id = c.Boot("vm");
  REQUIRE(c.Action(id, Resize("3")).status == 202);
  Json s = c.WaitStatus(id, "VERIFY_RESIZE");
  CHECK(s["flavor"]["id"].as_string() == "3");
  REQUIRE(c.Action(id, "{\"revertResize\": null}").status == 202);
  s = c.WaitStatus(id, "ACTIVE");
  CHECK(s["flavor"]["id"].as_string() == "1");
  CHECK(s["OS-EXT-STS:power_state"].as_int() == 1);
}

namespace {

std::string Run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  REQUIRE(::pclose(p) == 0);
  return out;
}

// The vcpus of the guest's persistent definition; -1 if there is none.
int VcpusOf(LibvirtHypervisor& hv, const GuestSpec& guest) {
  Result<std::string> xml = hv.DefinedXml(guest.instance_id);
  if (!xml.ok()) return -1;
  const size_t close = xml->find("</vcpu>");
  const size_t open = xml->rfind('>', close);
  if (close == std::string::npos || open == std::string::npos) return -1;
  return std::stoi(xml->substr(open + 1, close - open - 1));
}

}  // namespace

TEST_CASE(
    "libvirt: a same-host resize grows the qcow2 overlay and redefines the domain; a "
    "revert restores the definition before that resize and keeps the disk",
    "[libvirt]") {
  TempDir dir;
  const std::string node = dir.Sub("node.xml");
  std::ofstream(node) << "<node><cpu><mhz>2000</mhz><model>x86_64</model><nodes>1</nodes>"
                      << "<sockets>1</sockets><cores>8</cores><threads>1</threads></cpu>"
                      << "<memory>16777216</memory></node>\n";
  LibvirtOptions o;
  o.uri = "test://" + node;
  auto opened = LibvirtHypervisor::Open(o);
  REQUIRE(opened.ok());
  auto& hv = *opened;

  const std::string base = dir.Sub("base.raw");
  Run("qemu-img create -q -f raw " + base + " 64M");
  const std::string inst = dir.Sub("inst");
  std::filesystem::create_directories(inst);
  const std::string disk = inst + "/disk";
  Run("qemu-img create -q -f qcow2 -b " + base + " -F raw " + disk + " 1G");

  GuestSpec spec;
  spec.instance_id = InstanceId("6a1f0c3e-0000-4000-8000-000000000077");
  spec.name = "vm";
  spec.flavor = FlavorSpec{FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {}};
  spec.image_id = ImageId("img");
  spec.disk_path = disk;
  spec.instance_dir = inst;
  REQUIRE(hv->Spawn(spec).ok());
  const std::string old_xml = ReadFile(inst + "/libvirt.xml");
  CHECK(old_xml.find(">1</vcpu>") != std::string::npos);

  GuestSpec bigger = spec;
  bigger.flavor = FlavorSpec{FlavorId("3"), "m1.medium", 2, 4096, 3, 0, 0, {}};
  bigger.resize_request = Seq(10);
  auto resized = hv->Resize(bigger, false);
  INFO(resized.status().ToString());
  REQUIRE(resized.ok());
  CHECK(resized->power_state == PowerState::kRunning);
  CHECK(Run("qemu-img info --output=json " + disk).find("\"virtual-size\": 3221225472") !=
        std::string::npos);
  const std::string new_xml = ReadFile(inst + "/libvirt.xml");
  CHECK(new_xml.find(">2</vcpu>") != std::string::npos);
  CHECK(std::filesystem::exists(inst + "/libvirt.xml.resize"));
  // A re-sent resize is harmless.
  REQUIRE(hv->Resize(bigger, false).ok());

  auto reverted = hv->RevertResize(spec, true);
  INFO(reverted.status().ToString());
  REQUIRE(reverted.ok());
  CHECK(reverted->power_state == PowerState::kShutdown);
  CHECK(ReadFile(inst + "/libvirt.xml").find(">1</vcpu>") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(inst + "/libvirt.xml.resize"));
  // The disk is never shrunk.
  CHECK(Run("qemu-img info --output=json " + disk).find("\"virtual-size\": 3221225472") !=
        std::string::npos);
  GuestSpec missing;
  missing.instance_id = InstanceId("6a1f0c3e-0000-4000-8000-000000000078");
  CHECK_FALSE(hv->Resize(missing, false).status().ok());

  // A resize confirmed on the same host (the host is told nothing), then another:
  // reverting the second puts back the first one's flavor, not the original.
  // The same with the definition kept in memory (a guest without a directory).
  GuestSpec dirless = spec;
  dirless.instance_id = InstanceId("6a1f0c3e-0000-4000-8000-000000000079");
  dirless.instance_dir.clear();
  dirless.disk_path.clear();
  REQUIRE(hv->Spawn(dirless).ok());
  for (GuestSpec* guest : {&spec, &dirless}) {
    INFO(guest->instance_id.str());
    GuestSpec medium = *guest;
    medium.flavor = bigger.flavor;
    medium.resize_request = Seq(20);
    REQUIRE(hv->Resize(medium, false).ok());
    GuestSpec large = *guest;
    large.flavor = FlavorSpec{FlavorId("4"), "m1.large", 4, 8192, 3, 0, 0, {}};
    large.resize_request = Seq(30);
    REQUIRE(hv->Resize(large, false).ok());
    REQUIRE(hv->Resize(large, false).ok());  // re-sent
    CHECK(VcpusOf(*hv, *guest) == 4);
    REQUIRE(hv->RevertResize(medium, false).ok());
    CHECK(VcpusOf(*hv, *guest) == 2);
  }
  CHECK(ReadFile(inst + "/libvirt.xml").find(">2</vcpu>") != std::string::npos);

  // A definition kept without a tag (by an older chronova, for the resize now
  // re-sent) is that resize's: kept, and tagged.
  GuestSpec large = spec;
  large.flavor = FlavorSpec{FlavorId("4"), "m1.large", 4, 8192, 3, 0, 0, {}};
  large.resize_request = Seq(40);
  {
    std::ofstream(inst + "/libvirt.xml.resize")
        << hv->DefinedXml(spec.instance_id).value();
  }
  REQUIRE(hv->Resize(large, false).ok());
  CHECK(VcpusOf(*hv, spec) == 4);
  CHECK(ReadFile(inst + "/libvirt.xml.resize")
            .starts_with("<!-- chronova: kept by resize 40 -->\n"));
  REQUIRE(hv->RevertResize(spec, false).ok());
  CHECK(VcpusOf(*hv, spec) == 2);
  CHECK_FALSE(std::filesystem::exists(inst + "/libvirt.xml.resize"));
}

}  // namespace chronova::testing

namespace chronova::testing {
namespace {

// A driver that counts the resizes and reverts it is asked for.
class CountingHypervisor : public FakeHypervisor {
 public:
  CountingHypervisor() : FakeHypervisor(HostCapacity{8, 8192, 100, "fake"}) {}
  Result<GuestInfo> Resize(const GuestSpec& spec, bool keep_stopped) override {
    ++resizes;
    return FakeHypervisor::Resize(spec, keep_stopped);
  }
  Result<GuestInfo> RevertResize(const GuestSpec& spec, bool keep_stopped) override {
    ++reverts;
    return FakeHypervisor::RevertResize(spec, keep_stopped);
  }
  std::atomic<int> resizes{0};
  std::atomic<int> reverts{0};
};

}  // namespace

TEST_CASE(
    "a compute host answers work sent again with the reports it made, and does it once") {
  // The conductor sends work again when it waited longer than resend_after_us,
  // which a resize stopping a guest that ignores ACPI (60 s) does: done twice, the
  // second resize would stop the guest the first just started, and a revert
  // queued behind would wait another minute each time.
  CountingHypervisor hv;
  auto bus = NewInProcessBus();
  const HostName host("h1");
  std::mutex mu;  // protects reports
  std::vector<Report> reports;
  auto sub = bus->Subscribe(subjects::Report(host),
                            [&](const std::string&, const std::string& payload) {
                              Report r;
                              if (!DecodePortable(payload, &r).ok()) return;
                              std::lock_guard<std::mutex> l(mu);
                              reports.push_back(r);
                            })
                 .value();
  ComputeAgentOptions o;
  o.host = host;
  o.sync_power_state_interval_us = 0;
  ComputeAgent agent(&hv, bus.get(), o);
  GuestSpec spec;
  spec.instance_id = InstanceId("i-resized");
  spec.flavor = FlavorSpec{FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {}};
  REQUIRE(hv.Spawn(spec).ok());
  REQUIRE(agent.Start().ok());

  // The reports of `type` so far.
  auto of_type = [&](const std::string& type) {
    std::lock_guard<std::mutex> l(mu);
    std::vector<Report> out;
    for (const Report& r : reports) {
      if (r.type == type) out.push_back(r);
    }
    return out;
  };
  auto wait_for = [&](const std::string& type, size_t n) {
    for (int i = 0; i < 500 && of_type(type).size() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(of_type(type).size() == n);
  };
  auto send = [&](const Work& w) {
    REQUIRE(bus->Publish(subjects::Work(host), EncodePortable(w)).ok());
  };

  ResizeWork resize;
  resize.origin.instance_id = spec.instance_id;
  resize.origin.causation = Seq(40);
  resize.origin.request_id = RequestId("req-resize");
  resize.guest.flavor = FlavorSpec{FlavorId("2"), "m1.small", 1, 2048, 20, 0, 0, {}};
  resize.source_host = host;
  send(resize);
  send(resize);  // sent again before the first was done
  wait_for(InstanceResizeFinished::kType, 2);
  CHECK(hv.resizes == 1);
  const std::vector<Report> finished = of_type(InstanceResizeFinished::kType);
  CHECK(finished[0].causation == Seq(40));
  CHECK(finished[1].payload == finished[0].payload);
  CHECK(finished[1].request_id == finished[0].request_id);

  // Other work for the instance is done, once each.
  ResizeRevertWork revert{resize.origin, resize.guest, resize.source_host, false};
  revert.origin.causation = Seq(45);
  revert.guest.flavor = spec.flavor;
  send(revert);
  send(revert);
  wait_for(InstanceResizeReverted::kType, 2);
  CHECK(hv.reverts == 1);
  resize.origin.causation = Seq(50);  // another resize request
  send(resize);
  wait_for(InstanceResizeFinished::kType, 3);
  CHECK(hv.resizes == 2);
  agent.Stop();
}

}  // namespace chronova::testing
