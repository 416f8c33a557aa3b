// LibvirtHypervisor on libvirt's in-process test driver. Each test opens
// test:///<tmp>/node.xml, which gives it a fresh simulated host of its own.
#include "agents/compute/libvirt_hypervisor.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "agents/compute/domain_xml.h"
#include "tests/support/test_util.h"

// The driver's header must not drag libvirt into its users.
#if defined(LIBVIR_VERSION_NUMBER)
#error "agents/compute/libvirt_hypervisor.h must not include libvirt headers"
#endif

namespace chronova::testing {
namespace {

constexpr int kNodeCpus = 8;
constexpr int kNodeMemoryKib = 16 * 1024 * 1024;  // 16 GiB

// A simulated host: its node XML lives in a scratch directory.
struct TestHost {
  TempDir dir;
  std::unique_ptr<LibvirtHypervisor> hv;

  TestHost() {
    const std::string node = dir.Sub("node.xml");
    std::ofstream(node) << "<node>\n"
                        << "  <cpu><mhz>2000</mhz><model>x86_64</model><nodes>1</nodes>"
                        << "<sockets>1</sockets><cores>" << kNodeCpus
                        << "</cores><threads>1</threads></cpu>\n"
                        << "  <memory>" << kNodeMemoryKib << "</memory>\n"
                        << "</node>\n";
    LibvirtOptions o;
    o.uri = "test://" + node;  // node is absolute: test:///tmp/...
    o.disk_gb = 250;
    auto r = LibvirtHypervisor::Open(o);
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    hv = std::move(r).value();
  }
};

InstanceId Uuid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "6a1f0c3e-0000-4000-8000-%012d", n);
  return InstanceId(buf);
}

GuestSpec Spec(const InstanceId& id, const std::string& name = "vm") {
  GuestSpec s;
  s.instance_id = id;
  s.name = name;
  s.flavor.id = FlavorId("1");
  s.flavor.name = "m1.tiny";
  s.flavor.vcpus = 1;
  s.flavor.memory_mb = 128;
  s.image_id = ImageId("cirros");
  return s;
}

}  // namespace

TEST_CASE("libvirt: a spawned guest is running, listed, and a second spawn reuses it",
          "[libvirt]") {
  TestHost host;
  const InstanceId id = Uuid(1);
  auto first = host.hv->Spawn(Spec(id));
  INFO(first.status().ToString());
  REQUIRE(first.ok());
  CHECK(first->instance_id == id);
  CHECK(first->domain_name == "instance-" + id.str());
  CHECK(first->power_state == PowerState::kRunning);

  auto inspected = host.hv->Inspect(id);
  REQUIRE(inspected.ok());
  CHECK(inspected->power_state == PowerState::kRunning);

  auto again = host.hv->Spawn(Spec(id));
  INFO(again.status().ToString());
  REQUIRE(again.ok());
  CHECK(again->power_state == PowerState::kRunning);

  auto list = host.hv->List();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 1);
  CHECK(list->front().instance_id == id);
  CHECK(list->front().domain_name == DomainName(id));
  CHECK(list->front().power_state == PowerState::kRunning);
}

TEST_CASE("libvirt: a destroyed guest is NotFound and destroying it again is OK",
          "[libvirt]") {
  TestHost host;
  const InstanceId id = Uuid(2);
  REQUIRE(host.hv->Spawn(Spec(id)).ok());

  Status st = host.hv->Destroy(id);
  INFO(st.ToString());
  REQUIRE(st.ok());
  auto inspected = host.hv->Inspect(id);
  CHECK(inspected.status().IsNotFound());
  CHECK(inspected.status().message().find("libvirt: look up domain instance-" +
                                          id.str()) != std::string::npos);
  CHECK(host.hv->List()->empty());

  CHECK(host.hv->Destroy(id).ok());
  CHECK(host.hv->Destroy(Uuid(999)).ok());  // never existed

  // The instance can be built again afterwards (a rebuild, a retried build).
  auto respawn = host.hv->Spawn(Spec(id));
  INFO(respawn.status().ToString());
  CHECK(respawn.ok());
}

TEST_CASE(
    "libvirt: a server name with XML special characters is escaped and still defines",
    "[libvirt]") {
  TestHost host;
  const InstanceId id = Uuid(3);
  GuestSpec spec = Spec(id, "<b>&\"'</b> \x01 caf\xc3\xa9 \xff");
  spec.flavor.name = "m1.<odd>&'";
  spec.instance_dir = host.dir.Sub("instances/" + id.str());
  auto r = host.hv->Spawn(spec);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(r->power_state == PowerState::kRunning);

  const std::string xml = ReadFile(spec.instance_dir + "/libvirt.xml");
  INFO(xml);
  CHECK(xml == host.hv->DomainXml(spec));
  CHECK(xml.find("<chronova:name>&lt;b&gt;&amp;&quot;&apos;&lt;/b&gt; ? caf\xc3\xa9 ?"
                 "</chronova:name>") != std::string::npos);
  CHECK(xml.find("name='m1.&lt;odd&gt;&amp;&apos;'") != std::string::npos);
  CHECK(xml.find("<b>") == std::string::npos);
  CHECK(xml.find("<domain type='test'>") != std::string::npos);
  CHECK(xml.find("<uuid>" + id.str() + "</uuid>") != std::string::npos);
  CHECK(xml.find("<memory unit='KiB'>131072</memory>") != std::string::npos);
  CHECK(xml.find("<source path='" + spec.instance_dir + "/console.log' append='on'/>") !=
        std::string::npos);
  CHECK(xml.find("<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>") !=
        std::string::npos);
}

TEST_CASE(
    "libvirt: the domain XML has a qcow2 virtio disk only when a disk path is given",
    "[libvirt]") {
  TestHost host;
  GuestSpec spec = Spec(Uuid(4));
  CHECK(host.hv->DomainXml(spec).find("<disk") == std::string::npos);
  CHECK(host.hv->DomainXml(spec).find("<serial") == std::string::npos);
  spec.disk_path = host.dir.Sub("disk & co.qcow2");
  const std::string xml = host.hv->DomainXml(spec);
  CHECK(xml.find("<driver name='qemu' type='qcow2'/>") != std::string::npos);
  CHECK(xml.find("<source file='" + host.dir.path() + "/disk &amp; co.qcow2'/>") !=
        std::string::npos);
  CHECK(xml.find("<target dev='vda' bus='virtio'/>") != std::string::npos);
  // The test driver does not open disks, so the guest still starts.
  auto r = host.hv->Spawn(spec);
  INFO(r.status().ToString());
  CHECK(r.ok());
}

TEST_CASE("libvirt: capacity reports the node's cpus and memory", "[libvirt]") {
  TestHost host;
  auto cap = host.hv->Capacity();
  INFO(cap.status().ToString());
  REQUIRE(cap.ok());
  CHECK(cap->vcpus == kNodeCpus);
  CHECK(cap->memory_mb == kNodeMemoryKib / 1024);
  CHECK(cap->disk_gb == 250);
  CHECK(cap->hypervisor_type == "test");
}

TEST_CASE("libvirt: concurrent spawns from 4 threads of 10 guests each all succeed",
          "[libvirt]") {
  TestHost host;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10;
  std::vector<std::string> errors[kThreads];
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = host.hv->Spawn(Spec(Uuid(100 + t * kPerThread + i)));
        if (!r.ok()) errors[t].push_back(r.status().ToString());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& errs : errors) {
    for (const auto& e : errs) FAIL_CHECK(e);
  }
  auto list = host.hv->List();
  REQUIRE(list.ok());
  CHECK(list->size() == static_cast<size_t>(kThreads * kPerThread));
  for (const GuestInfo& g : *list) CHECK(g.power_state == PowerState::kRunning);
}

TEST_CASE("libvirt: concurrent spawns of one instance define it once", "[libvirt]") {
  TestHost host;
  const InstanceId id = Uuid(5);
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::vector<std::string> errors[4];
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto r = host.hv->Spawn(Spec(id));
      if (!r.ok()) errors[t].push_back(r.status().ToString());
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& errs : errors) {
    for (const auto& e : errs) FAIL_CHECK(e);
  }
  CHECK(host.hv->List()->size() == 1);
}

TEST_CASE("libvirt: a flavor without vcpus or memory is rejected with InvalidArgument",
          "[libvirt]") {
  TestHost host;
  GuestSpec spec = Spec(Uuid(6));
  spec.flavor.memory_mb = 0;
  CHECK(host.hv->Spawn(spec).status().code() == StatusCode::kInvalidArgument);
  spec = Spec(Uuid(6));
  spec.flavor.vcpus = 0;
  CHECK(host.hv->Spawn(spec).status().code() == StatusCode::kInvalidArgument);
  CHECK(host.hv->List()->empty());
}

TEST_CASE("libvirt: domains not named instance-<uuid> are not listed", "[libvirt]") {
  // test:///default comes with one running domain named "test".
  LibvirtOptions o;
  o.uri = "test:///default";
  auto hv = LibvirtHypervisor::Open(o);
  REQUIRE(hv.ok());
  auto list = (*hv)->List();
  REQUIRE(list.ok());
  CHECK(list->empty());
}

TEST_CASE("libvirt: opening an unreachable URI returns Unavailable with context",
          "[libvirt]") {
  LibvirtOptions o;
  o.uri = "qemu+tcp://127.0.0.1:1/system";  // nothing listens on port 1
  auto r = LibvirtHypervisor::Open(o);
  REQUIRE_FALSE(r.ok());
  INFO(r.status().ToString());
  CHECK(r.status().IsUnavailable());
  CHECK(r.status().message().rfind("libvirt: connect to qemu+tcp://127.0.0.1:1/system: ",
                                   0) == 0);

  TempDir dir;
  o.uri = "test://" + dir.Sub("missing-node.xml");
  auto missing = LibvirtHypervisor::Open(o);
  CHECK(missing.status().IsUnavailable());
}

TEST_CASE("libvirt: an unknown virt_type is rejected with InvalidArgument", "[libvirt]") {
  LibvirtOptions o;
  o.uri = "test:///default";
  o.virt_type = "xen";
  CHECK(LibvirtHypervisor::Open(o).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("libvirt: console output is the tail of the guest's serial log file",
          "[libvirt]") {
  TestHost host;
  const InstanceId id = Uuid(40);
  GuestSpec spec = Spec(id);
  spec.instance_dir = host.dir.Sub("instances/" + id.str() + " & <odd>");
  REQUIRE(host.hv->Spawn(spec).ok());
  // QEMU has not written the log yet: empty, as Nova's driver answers.
  Result<std::string> empty = host.hv->ConsoleOutput(id);
  INFO(empty.status().ToString());
  REQUIRE(empty.ok());
  CHECK(empty->empty());

  std::string log;
  for (int i = 0; i < 20000; ++i) log += "line " + std::to_string(i) + "\n";
  REQUIRE(log.size() > Hypervisor::kMaxConsoleBytes);
  std::ofstream(spec.instance_dir + "/console.log") << log;
  Result<std::string> out = host.hv->ConsoleOutput(id);
  REQUIRE(out.ok());
  CHECK(out->size() == Hypervisor::kMaxConsoleBytes);
  CHECK(*out == log.substr(log.size() - Hypervisor::kMaxConsoleBytes));

  // A guest without a serial log (the simulated hosts') has no console.
  const InstanceId bare = Uuid(41);
  REQUIRE(host.hv->Spawn(Spec(bare)).ok());
  Result<std::string> none = host.hv->ConsoleOutput(bare);
  CHECK(none.status().IsNotFound());
  CHECK(none.status().message() == "Guest does not have a console available.");
  CHECK(host.hv->ConsoleOutput(Uuid(42)).status().IsNotFound());
}

namespace {

// Runs a shell command line (test-only) and returns its stdout; REQUIREs exit 0.
std::string Run(const std::string& cmd) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int rc = ::pclose(p);
  INFO(cmd << "\n" << out);
  REQUIRE(rc == 0);
  return out;
}

}  // namespace

TEST_CASE(
    "libvirt: a snapshot of a guest on a qcow2 overlay is a flattened qcow2 with no "
    "backing file, and the guest keeps running",
    "[libvirt]") {
  TestHost host;
  // A raw base with recognisable data, and an overlay backed by it.
  const std::string base = host.dir.Sub("base.raw");
  const std::string overlay = host.dir.Sub("disk");
  {
    std::ofstream f(base, std::ios::binary);
    std::string block(64 * 1024, 'x');
    for (int i = 0; i < 16; ++i) f << block;
  }
  Run("qemu-img create -q -f qcow2 -b " + base + " -F raw " + overlay);
  GuestSpec spec = Spec(Uuid(40));
  spec.disk_path = overlay;
  auto guest = host.hv->Spawn(spec);
  INFO(guest.status().ToString());
  REQUIRE(guest.ok());

  const std::string out = host.dir.Sub("snap.qcow2");
  Status st = host.hv->Snapshot(spec, out);
  INFO(st.ToString());
  REQUIRE(st.ok());
  const std::string info = Run("qemu-img info --output=json " + out);
  CHECK(info.find("\"format\": \"qcow2\"") != std::string::npos);
  CHECK(info.find("backing-filename") == std::string::npos);
  // The same guest-visible bytes as the overlay over its base.
  Run("qemu-img compare -q " + overlay + " " + out);
  CHECK(host.hv->Inspect(spec.instance_id)->power_state == PowerState::kRunning);

  // A paused guest is snapshotted as it is and stays paused.
  REQUIRE(host.hv->Perform(spec.instance_id, LifecycleAction::kPause, false).ok());
  const std::string out2 = host.dir.Sub("snap2.qcow2");
  REQUIRE(host.hv->Snapshot(spec, out2).ok());
  CHECK(host.hv->Inspect(spec.instance_id)->power_state == PowerState::kPaused);
}

TEST_CASE(
    "libvirt: a guest without a disk snapshots to an empty qcow2 of its flavor's root "
    "disk; a missing guest or a failing qemu-img is an error with context",
    "[libvirt]") {
  TestHost host;
  GuestSpec spec = Spec(Uuid(41));
  spec.flavor.root_gb = 2;
  REQUIRE(host.hv->Spawn(spec).ok());
  const std::string out = host.dir.Sub("empty.qcow2");
  Status st = host.hv->Snapshot(spec, out);
  INFO(st.ToString());
  REQUIRE(st.ok());
  const std::string info = Run("qemu-img info --output=json " + out);
  CHECK(info.find("\"format\": \"qcow2\"") != std::string::npos);
  CHECK(info.find("\"virtual-size\": 2147483648") != std::string::npos);

  CHECK(host.hv->Snapshot(Spec(Uuid(42)), host.dir.Sub("none.qcow2")).IsNotFound());

  // A disk that is not there: qemu-img's own words come back, with the domain.
  GuestSpec broken = Spec(Uuid(43));
  broken.disk_path = host.dir.Sub("missing-disk");
  REQUIRE(host.hv->Spawn(broken).ok());
  Status failed = host.hv->Snapshot(broken, host.dir.Sub("broken.qcow2"));
  CHECK_FALSE(failed.ok());
  CHECK(failed.message().find("libvirt: snapshot instance-" + Uuid(43).str()) == 0);
  CHECK(failed.message().find("missing-disk") != std::string::npos);
  CHECK(host.hv->Inspect(broken.instance_id)->power_state == PowerState::kRunning);
}

TEST_CASE("libvirt: a suspended guest (managed save) is destroyed with its saved state",
          "[libvirt]") {
  TestHost host;
  const InstanceId id = Uuid(50);
  REQUIRE(host.hv->Spawn(Spec(id)).ok());
  auto suspended = host.hv->Perform(id, LifecycleAction::kSuspend, false);
  INFO(suspended.status().ToString());
  REQUIRE(suspended.ok());
  CHECK(suspended->power_state == PowerState::kShutdown);
  Status st = host.hv->Destroy(id);
  INFO(st.ToString());
  CHECK(st.ok());
  CHECK(host.hv->Inspect(id).status().IsNotFound());
  CHECK(host.hv->Destroy(id).ok());
}

}  // namespace chronova::testing

namespace chronova {

TEST_CASE("libvirt: a domain's consoles are read from its live XML", "[libvirt]") {
  // As libvirt writes a running QEMU domain (autoport filled in).
  const std::string xml =
      "<domain type='qemu'><devices>\n"
      "<serial type='tcp'>\n"
      "  <source mode='bind' host='127.0.0.1' service='10042'/>\n"
      "  <protocol type='raw'/>\n"
      "  <log file='/var/lib/i/abc/console.log' append='on'/>\n"
      "  <target type='isa-serial' port='0'/>\n"
      "</serial>\n"
      "<graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1'>\n"
      "  <listen type='address' address='127.0.0.1'/>\n"
      "</graphics>\n"
      "<graphics type='spice' port='5902' autoport='yes' listen='0.0.0.0'/>\n"
      "</devices></domain>\n";
  DomainConsole vnc = ConsoleOf(xml, "vnc");
  CHECK(vnc.host == "127.0.0.1");
  CHECK(vnc.port == 5901);
  DomainConsole spice = ConsoleOf(xml, "spice");
  CHECK(spice.port == 5902);
  CHECK(spice.host == "127.0.0.1");  // a wildcard listen is reached on loopback
  DomainConsole serial = ConsoleOf(xml, "serial");
  CHECK(serial.port == 10042);
  CHECK(serial.host == "127.0.0.1");
  CHECK(SerialLogPath(xml) == "/var/lib/i/abc/console.log");
  // Not started yet (port -1), or no such device: no console.
  CHECK(ConsoleOf("<graphics type='vnc' port='-1' autoport='yes'/>", "vnc").port == 0);
  CHECK(ConsoleOf("<graphics type='vnc' port='5900'/>", "spice").port == 0);
  CHECK(ConsoleOf(xml, "rdp").port == 0);
  CHECK(SerialLogPath("<serial type='file'><source path='/x/console.log'/></serial>") ==
        "/x/console.log");
}

}  // namespace chronova

namespace chronova::testing {

TEST_CASE("libvirt: diagnostics read the domain's state, memory, vCPUs and disks",
          "[libvirt]") {
  TestHost host;
  const InstanceId id = Uuid(40);
  GuestSpec spec = Spec(id);
  spec.flavor.vcpus = 2;
  REQUIRE(host.hv->Spawn(spec).ok());
  Result<GuestDiagnostics> d = host.hv->Diagnostics(id);
  INFO(d.status().ToString());
  REQUIRE(d.ok());
  CHECK(d->state == "running");
  CHECK(d->driver == "libvirt");
  CHECK(d->hypervisor == "test");
  CHECK(d->memory_max_kib == 128 * 1024);
  REQUIRE(d->cpus.size() == 2);
  CHECK(d->cpus[1].id == 1);
  // What the domain's XML names is what is counted.
  Result<std::string> xml = host.hv->DefinedXml(id);
  REQUIRE(xml.ok());
  CHECK(d->disks.size() == DevicesOf(*xml).disks.size());
  CHECK(d->nics.size() == DevicesOf(*xml).nics.size());

  CHECK(host.hv->Diagnostics(Uuid(41)).status().IsNotFound());
}

TEST_CASE("domain XML: the devices diagnostics read, in order") {
  const std::string xml =
      "<domain><devices>"
      "<disk type='file' device='disk'><source file='/a'/><target dev='vda' "
      "bus='virtio'/>"
      "</disk><disk type='file' device='cdrom'><target dev='hdc'/></disk>"
      "<interface type='bridge'><mac address='fa:16:3e:00:00:01'/>"
      "<target dev='tap1'/></interface>"
      "<interface type='user'><mac address='fa:16:3e:00:00:02'/></interface>"
      "<diskette/></devices></domain>";
  DomainDevices d = DevicesOf(xml);
  CHECK(d.disks == std::vector<std::string>{"vda", "hdc"});
  REQUIRE(d.nics.size() == 2);
  CHECK(d.nics[0].mac_address == "fa:16:3e:00:00:01");
  CHECK(d.nics[0].device == "tap1");
  CHECK(d.nics[1].mac_address == "fa:16:3e:00:00:02");
  CHECK(d.nics[1].device.empty());
}

}  // namespace chronova::testing
