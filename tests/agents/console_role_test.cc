// The console-proxy role as a process of its own (chronovad console-proxy): a
// token the api role issued reaches the proxy through the JetStream log, and
// the proxy asks the compute host (another process) over the NATS bus before
// it relays the guest's screen.
#include <catch2/catch.hpp>

#include "api/service/compute_service.h"
#include "projections/projection_store.h"
#include "tests/support/nats_server.h"
#include "tests/support/node_test_util.h"
#include "tests/support/test_util.h"
#include "tools/ws_client.h"

namespace chronova::testing {

TEST_CASE("a console proxy in a process of its own relays a console the api role opened") {
  TempDir dir;
  NatsServer nats(dir.Sub("nats"));
  auto options = [&](const std::string& name) {
    NodeOptions o = FakeCloudOptions(dir, 1, 8, 8192);
    o.log.state_dir = dir.Sub(name);
    o.log.backend = LogBackend::kJetStream;
    o.log.jetstream.url = nats.url();
    o.bus_url = nats.url();
    o.host = name;
    o.seed_catalog = false;
    o.roles = Roles{false, false, false, false, false};
    return o;
  };
  NodeOptions control = options("control");
  control.roles.api = control.roles.scheduler = control.roles.conductor = true;
  control.seed_catalog = true;
  NodeOptions compute = options("cmp");
  compute.roles.compute = true;
  compute.compute.host_prefix = "cmp";
  NodeOptions console = options("console");
  console.roles.console = true;
  console.console.novnc_listen = "http://127.0.0.1:" + std::to_string(FreePort());

  auto control_node = Node::Start(control);
  REQUIRE(control_node.ok());
  auto compute_node = Node::Start(compute);
  REQUIRE(compute_node.ok());
  auto console_node = Node::Start(console);
  REQUIRE(console_node.ok());
  WaitHosts(**control_node, 1);

  ComputeService& service = *(*control_node)->compute();
  CreateServerRequest req;
  req.name = "remote";
  req.flavor_ref = "1";
  req.image_ref = kDemoImageId;
  auto created = service.CreateServers(MemberContext(), req);
  REQUIRE(created.ok());
  const InstanceId id = created->servers.at(0).id;
  for (int i = 0; i < 500; ++i) {
    auto s = service.GetServer(MemberContext(), id, "os_compute_api:servers:show");
    if (s.ok() && s->vm_state == VmState::kActive) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto console_url = service.GetConsole(MemberContext(), id, "vnc", "novnc");
  INFO(console_url.status().ToString());
  REQUIRE(console_url.ok());
  const std::string token = console_url->url.substr(console_url->url.rfind("%3D") + 3);

  WsClient ws;
  REQUIRE(ws.Upgrade((*console_node)->console_port("novnc"), "/?token=" + token)
              .rfind("HTTP/1.1 101", 0) == 0);
  REQUIRE(ws.Receive() == std::string("RFB 003.008\n"));
  REQUIRE(ws.Send("RFB 003.008\n"));
  REQUIRE(ws.Receive() == std::string("\x01\x01", 2));
  REQUIRE(ws.Send(std::string("\x01", 1)));
  REQUIRE(ws.Receive() == std::string(4, '\0'));
  REQUIRE(ws.Send(std::string("\x01", 1)));
  std::optional<std::string> init = ws.Receive();
  REQUIRE(init.has_value());
  CHECK(init->substr(24) == "instance-" + id.str());

  // A token for nothing is refused there too.
  WsClient bad;
  REQUIRE(bad.Upgrade((*console_node)->console_port("novnc"), "/?token=x")
              .rfind("HTTP/1.1 101", 0) == 0);
  CHECK(bad.ClosedWithoutData());
}

}  // namespace chronova::testing
