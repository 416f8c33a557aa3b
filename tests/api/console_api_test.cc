// Consoles end to end on one node: the console actions and their errors, the
// token as an event and in the read model, and the console proxies relaying to
// the fake hosts' consoles over a real websocket (docs/api.md, "Consoles").
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "agents/compute/fake_console.h"
#include "agents/console/console_proxy.h"
#include "api/service/compute_service.h"
#include "core/event_codec.h"
#include "projections/console_tokens_projection.h"
#include "projections/projection_store.h"
#include "tests/support/api_cloud.h"
#include "tools/ws_client.h"

namespace chronova::testing {
namespace {

constexpr char kRfb38[] = "RFB 003.008\n";

// A cloud with the noVNC and serial proxies on free ports; `ttl_s` is the
// tokens' lifetime.
ApiCloud ConsoleCloud(int ttl_s = 600, bool enforce_timeout = false) {
  return ApiCloud(1, "fake", [&](NodeOptions& o) {
    o.console.novnc_listen = "http://127.0.0.1:" + std::to_string(FreePort());
    o.console.serial_listen = "http://127.0.0.1:" + std::to_string(FreePort());
    o.console.enforce_session_timeout = enforce_timeout;
    o.api.consoles.serial_enabled = true;
    o.api.consoles.token_ttl_s = ttl_s;
    o.api.consoles.novncproxy_base_url = "http://127.0.0.1:6080/vnc_auto.html";
  });
}

// The token in a console URL (?path=%3Ftoken%3D<t> or ?token=<t>).
std::string TokenOf(const std::string& url) {
  for (const std::string marker : {"%3Ftoken%3D", "token="}) {
    size_t at = url.find(marker);
    if (at != std::string::npos) return url.substr(at + marker.size());
  }
  return "";
}

std::string VncToken(ApiCloud& cloud, const std::string& id) {
  Answer a = cloud.Action(id, R"({"os-getVNCConsole": {"type": "novnc"}})");
  INFO(a.body);
  REQUIRE(a.status == 200);
  return TokenOf(a.json["console"]["url"].as_string());
}

// Tempest's test_novnc on the wire: version, security types, None, result,
// ClientInit, then a ServerInit naming the guest.
void ExpectRfbSession(WsClient& ws, const std::string& guest_name) {
  REQUIRE(ws.Receive() == std::string(kRfb38));
  REQUIRE(ws.Send(kRfb38));
  std::optional<std::string> types = ws.Receive();
  REQUIRE(types.has_value());
  CHECK(*types == std::string("\x01\x01", 2));
  REQUIRE(ws.Send(std::string("\x01", 1)));
  CHECK(ws.Receive() == std::string(4, '\0'));
  REQUIRE(ws.Send(std::string("\x01", 1)));  // ClientInit: shared
  std::optional<std::string> init = ws.Receive();
  REQUIRE(init.has_value());
  REQUIRE(init->size() > 24);
  const uint32_t name_len = (uint32_t{static_cast<unsigned char>((*init)[20])} << 24) |
                            (uint32_t{static_cast<unsigned char>((*init)[21])} << 16) |
                            (uint32_t{static_cast<unsigned char>((*init)[22])} << 8) |
                            static_cast<unsigned char>((*init)[23]);
  CHECK(init->size() == name_len + 24);
  CHECK(init->substr(24) == guest_name);
  // A full update request: the fake screen comes back, 320x200 raw pixels.
  std::string request("\x03\x00\x00\x00\x00\x00\x01\x40\x00\xc8", 10);
  REQUIRE(ws.Send(request));
  size_t got = 0;
  while (got < 320 * 200 * 4) {
    std::optional<std::string> chunk = ws.Receive();
    REQUIRE(chunk.has_value());
    got += chunk->size();
  }
  CHECK(got == 320 * 200 * 4 + 16);
}

}  // namespace

TEST_CASE("consoles: a noVNC URL's token opens the guest's screen through the proxy") {
  ApiCloud cloud = ConsoleCloud();
  const std::string id = cloud.Boot("vnc");
  Answer a = cloud.Action(id, R"({"os-getVNCConsole": {"type": "novnc"}})");
  REQUIRE(a.status == 200);
  const std::string url = a.json["console"]["url"].as_string();
  CHECK(a.json["console"]["type"].as_string() == "novnc");
  CHECK(url.rfind("http://127.0.0.1:6080/vnc_auto.html?path=%3Ftoken%3D", 0) == 0);
  const std::string token = TokenOf(url);
  REQUIRE(token.size() == 36);

  WsClient ws;
  const int port = cloud.node->console_port("novnc");
  REQUIRE(port > 0);
  std::string head = ws.Upgrade(port, "/?token=" + token,
                                "Sec-WebSocket-Protocol: binary\r\nCookie: path=x\r\n");
  INFO(head);
  REQUIRE(head.rfind("HTTP/1.1 101 Switching Protocols", 0) == 0);
  CHECK(head.find("Sec-WebSocket-Protocol: binary") != std::string::npos);
  ExpectRfbSession(ws, "instance-" + id);

  // The token, the cookie form spice-html5 uses, and a second session at once.
  WsClient cookie;
  REQUIRE(cookie.Upgrade(port, "/", "Cookie: a=b; token=" + token + "\r\n")
              .rfind("HTTP/1.1 101", 0) == 0);
  ExpectRfbSession(cookie, "instance-" + id);

  SECTION("noVNC's pages are served, and nothing outside them") {
    auto client = std::make_unique<HttpClient>("127.0.0.1:" + std::to_string(port));
    auto page = client->Send("GET", "/vnc_auto.html", {}, "");
    REQUIRE(page.ok());
    if (std::filesystem::exists("/usr/share/novnc/vnc.html")) {
      CHECK(page->status == 200);
      CHECK(page->body.find("noVNC") != std::string::npos);
      CHECK(page->body.find("<script") != std::string::npos);
    }
    for (const char* bad : {"/../../etc/passwd", "/%2e%2e/etc/passwd", "/.hidden", "/"}) {
      auto r = client->Send("GET", bad, {}, "");
      REQUIRE(r.ok());
      CHECK(r->status == 404);
    }
    auto post = client->Send("POST", "/vnc.html", {}, "");
    REQUIRE(post.ok());
    CHECK(post->status == 405);
  }
}

TEST_CASE(
    "consoles: the token is an event holding only its hash, and the read model finds "
    "it") {
  ApiCloud cloud = ConsoleCloud();
  const std::string id = cloud.Boot("audit");
  const std::string token = VncToken(cloud, id);
  auto events = cloud.node->log()->ReadStream(InstanceStream(InstanceId(id)),
                                              StreamVersion(1), 1000);
  REQUIRE(events.ok());
  int authorized = 0;
  bool spawned = false;
  for (const Envelope& env : *events) {
    CHECK(env.payload.find(token) == std::string::npos);  // never the token itself
    if (env.type == InstanceSpawned::kType) {
      // The consoles the guest started with are recorded with it.
      Event e = DecodeEvent(env).value();
      CHECK(std::get<InstanceSpawned>(e).consoles ==
            std::map<std::string, std::string>{
                {"serial", "on demand"}, {"spice", "on demand"}, {"vnc", "on demand"}});
      spawned = true;
    }
    if (env.type != InstanceConsoleAuthorized::kType) continue;
    ++authorized;
    Event e = DecodeEvent(env).value();
    const auto& a = std::get<InstanceConsoleAuthorized>(e);
    CHECK(a.token_hash == HashConsoleToken(token));
    CHECK(a.console_type == "novnc");
    CHECK(a.compute_host.str() == "compute");
    CHECK(a.console_host == "127.0.0.1");
    CHECK(a.port > 0);
    // [consoleauth] token_ttl from when the API issued it (just before the append).
    const int64_t ttl_us = a.expires_at.micros - env.meta.time.micros;
    CHECK(ttl_us <= int64_t{600} * 1000000);
    CHECK(ttl_us > int64_t{599} * 1000000);
    CHECK(env.meta.actor.user.str() == "alice");
  }
  CHECK(authorized == 1);
  CHECK(spawned);
  // SHA-256 of "abc", as every implementation has it.
  CHECK(HashConsoleToken("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  // The admin's view of it (os-console-auth-tokens): at 2.1 only RDP tokens
  // are shown (Nova's 401); members may not ask; unknown tokens are 404.
  Answer shown =
      cloud.Send("GET", "/os-console-auth-tokens/" + token, ApiCloud::kAdminToken);
  CHECK(shown.status == 401);
  CHECK(Message(shown) == "The requested console type details are not accessible");
  CHECK(cloud.Send("GET", "/os-console-auth-tokens/" + token).status == 403);
  Answer unknown =
      cloud.Send("GET", "/os-console-auth-tokens/nonsense", ApiCloud::kAdminToken);
  CHECK(unknown.status == 404);
  CHECK(Message(unknown) == "Token not found");
  auto found = cloud.node->compute()->ShowConsoleToken(
      RequestContext{UserId("admin"), ProjectId("admin"), {"admin"}, RequestId("req-1")},
      token);
  REQUIRE(found.ok());
  CHECK(found->instance_id.str() == id);
  CHECK(found->request_id.str().rfind("req-", 0) == 0);
}

TEST_CASE(
    "consoles: bad, revoked and expired tokens get the websocket closed, nothing "
    "relayed") {
  ApiCloud cloud = ConsoleCloud(/*ttl_s=*/2);
  const int port = cloud.node->console_port("novnc");
  const std::string id = cloud.Boot("gone");
  const std::string kept = cloud.Boot("kept");

  SECTION("an unknown token, or none") {
    for (const std::string target : {"/?token=0d3f-not-a-token", "/"}) {
      WsClient ws;
      REQUIRE(ws.Upgrade(port, target).rfind("HTTP/1.1 101", 0) == 0);
      CHECK(ws.ClosedWithoutData());
    }
  }
  SECTION("a serial token at the noVNC proxy") {
    Answer serial = cloud.Action(id, R"({"os-getSerialConsole": {"type": "serial"}})");
    REQUIRE(serial.status == 200);
    CHECK(serial.json["console"]["url"].as_string().rfind("ws://127.0.0.1:", 0) == 0);
    WsClient ws;
    REQUIRE(
        ws.Upgrade(port, "/?token=" + TokenOf(serial.json["console"]["url"].as_string()))
            .rfind("HTTP/1.1 101", 0) == 0);
    CHECK(ws.ClosedWithoutData());
  }
  SECTION("the server's tokens go with it") {
    const std::string token = VncToken(cloud, id);
    cloud.DeleteAndWait(id);
    auto reader = cloud.node->store()->Reader(ConsoleTokensProjection::kName).value();
    CHECK(ConsoleTokensView(reader.get()).OfInstance(InstanceId(id)).value().empty());
    WsClient ws;
    REQUIRE(ws.Upgrade(port, "/?token=" + token).rfind("HTTP/1.1 101", 0) == 0);
    CHECK(ws.ClosedWithoutData());
  }
  SECTION("an expired token, which later events prune from the read model") {
    const std::string token = VncToken(cloud, kept);
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    WsClient ws;
    REQUIRE(ws.Upgrade(port, "/?token=" + token).rfind("HTTP/1.1 101", 0) == 0);
    CHECK(ws.ClosedWithoutData());
    // Any later event of an instance moves the read model's clock on.
    REQUIRE(cloud.Action(kept, R"({"lock": null})").status == 202);
    auto reader = cloud.node->store()->Reader(ConsoleTokensProjection::kName).value();
    CHECK(ConsoleTokensView(reader.get()).OfInstance(InstanceId(kept)).value().empty());
  }
}

TEST_CASE(
    "consoles: the proxy checks Origin against the request's host and allowed_origins") {
  CHECK(ConsoleOriginAllowed("", "a:6080", "", "http", {}));
  CHECK(ConsoleOriginAllowed("http://a:6080", "a:6080", "", "http", {}));
  CHECK(ConsoleOriginAllowed("http://A", "a", "", "http", {}));
  CHECK(ConsoleOriginAllowed("http://[::1]:8", "[::1]:6080", "", "http", {}));
  CHECK(ConsoleOriginAllowed("http://b", "a:6080", "", "http", {"b"}));
  CHECK(ConsoleOriginAllowed("ws://a", "a:6083", "", "ws", {}));
  CHECK(ConsoleOriginAllowed("http://a", "a:6083", "", "ws", {}));
  CHECK(ConsoleOriginAllowed("http://a", "a", "https", "https", {}));  // behind TLS
  CHECK_FALSE(ConsoleOriginAllowed("http://evil", "a:6080", "", "http", {"b"}));
  CHECK_FALSE(ConsoleOriginAllowed("https://a", "a:6080", "", "http", {}));
  CHECK_FALSE(ConsoleOriginAllowed("http://a", "a:6080", "", "https", {}));
  CHECK_FALSE(ConsoleOriginAllowed("null", "a:6080", "", "http", {}));
  CHECK_FALSE(ConsoleOriginAllowed("http://", "a:6080", "", "http", {}));

  CHECK(ConsoleTokenOf("/?token=abc", "") == "abc");
  CHECK(ConsoleTokenOf("/?x=1&token=a%2Db", "") == "a-b");
  CHECK(ConsoleTokenOf("/", "path=1; token=\"xyz\"") == "xyz");
  CHECK(ConsoleTokenOf("/?token=", "") == "");

  ApiCloud cloud = ConsoleCloud();
  const std::string id = cloud.Boot("origin");
  const std::string token = VncToken(cloud, id);
  WsClient evil;
  std::string head = evil.Upgrade(cloud.node->console_port("novnc"), "/?token=" + token,
                                  "Origin: http://evil.example\r\n");
  CHECK(head.rfind("HTTP/1.1 403", 0) == 0);
  WsClient good;
  REQUIRE(good.Upgrade(cloud.node->console_port("novnc"), "/?token=" + token,
                       "Origin: http://127.0.0.1:1234\r\n")
              .rfind("HTTP/1.1 101", 0) == 0);
  ExpectRfbSession(good, "instance-" + id);
}

TEST_CASE("consoles: a serial console relays the guest's bytes both ways") {
  ApiCloud cloud = ConsoleCloud();
  const std::string id = cloud.Boot("serial");
  Answer a = cloud.Action(id, R"({"os-getSerialConsole": {"type": "serial"}})");
  REQUIRE(a.status == 200);
  const std::string url = a.json["console"]["url"].as_string();
  CHECK(url.find("/?token=") != std::string::npos);
  WsClient ws;
  REQUIRE(ws.Upgrade(cloud.node->console_port("serial"), "/?token=" + TokenOf(url))
              .rfind("HTTP/1.1 101", 0) == 0);
  std::string seen;
  while (seen.find("\r\n") == std::string::npos) {
    std::optional<std::string> m = ws.Receive();
    REQUIRE(m.has_value());
    seen += *m;
  }
  CHECK(seen == "chronova fake serial console of instance-" + id + "\r\n");
  REQUIRE(ws.Send("root\n"));
  std::string echoed;
  while (echoed.size() < 5) {
    std::optional<std::string> m = ws.Receive();
    REQUIRE(m.has_value());
    echoed += *m;
  }
  CHECK(echoed == "root\n");
}

TEST_CASE(
    "consoles: with enforce_session_timeout a session ends when its token expires") {
  ApiCloud cloud = ConsoleCloud(/*ttl_s=*/2, /*enforce_timeout=*/true);
  const std::string id = cloud.Boot("timed");
  const std::string token = VncToken(cloud, id);
  WsClient ws;
  const auto issued = std::chrono::steady_clock::now();
  REQUIRE(ws.Upgrade(cloud.node->console_port("novnc"), "/?token=" + token)
              .rfind("HTTP/1.1 101", 0) == 0);
  ExpectRfbSession(ws, "instance-" + id);
  CHECK_FALSE(ws.Receive(5000).has_value());  // nothing more: closed at expiry
  const auto lasted = std::chrono::steady_clock::now() - issued;
  CHECK(lasted > std::chrono::milliseconds(1500));
  CHECK(lasted < std::chrono::milliseconds(3500));
}

TEST_CASE("consoles: the console actions answer as Nova's remote_consoles.py") {
  ApiCloud cloud = ConsoleCloud();
  const std::string id = cloud.Boot("errors");
  struct Case {
    const char* body;
    int status;
    const char* message;
  };
  const Case cases[] = {
      {R"({"os-getVNCConsole": {"type": "xvpvnc"}})", 400, "Invalid console type xvpvnc"},
      {R"({"os-getSPICEConsole": {"type": "spice-html5"}})", 400,
       "Unavailable console type spice-html5."},
      {R"({"os-getRDPConsole": {"type": "rdp-html5"}})", 400,
       "Unavailable console type rdp-html5."},
      {R"({"os-getVNCConsole": {}})", 400,
       "Invalid input for field/attribute os-getVNCConsole. Value: {}. 'type' is a "
       "required property"},
      {R"({"os-getVNCConsole": {"type": "spice-html5"}})", 400,
       "Invalid input for field/attribute type. Value: spice-html5. 'spice-html5' is not "
       "one of ['novnc', 'xvpvnc']"},
      {R"({"os-getVNCConsole": {"type": "novnc", "x": 1}})", 400,
       "Additional properties are not allowed ('x' was unexpected)"},
      {R"({"os-getSerialConsole": {"type": 7}})", 400,
       "Invalid input for field/attribute type. Value: 7. 7 is not of type 'string'"},
  };
  for (const Case& c : cases) {
    Answer a = cloud.Action(id, c.body);
    INFO(c.body << " -> " << a.body);
    CHECK(a.status == c.status);
    CHECK(Message(a) == c.message);
  }
  Answer missing = cloud.Action("6b1a3a5e-0000-4000-8000-000000000000",
                                R"({"os-getVNCConsole": {"type": "novnc"}})");
  CHECK(missing.status == 404);
  // Another project's server is not found either.
  Answer other =
      cloud.Action(id, R"({"os-getVNCConsole": {"type": "novnc"}})", "bob:other");
  CHECK(other.status == 404);
  // Remote consoles are a 2.6 API: not there at 2.1.
  CHECK(cloud
            .Send("POST", "/servers/" + id + "/remote-consoles", ApiCloud::kMemberToken,
                  R"({"remote_console": {"protocol": "vnc", "type": "novnc"}})")
            .status == 404);

  // A server that never got a host (no valid host: too big for the host).
  Json server = Json::MakeObject(
      {{"name", "huge"}, {"flavorRef", "5"}, {"imageRef", kDemoImageId}});
  Answer created = cloud.Send("POST", "/servers", ApiCloud::kMemberToken,
                              Json::MakeObject({{"server", server}}).Dump());
  REQUIRE(created.status == 202);
  const std::string huge = created.json["server"]["id"].as_string();
  cloud.WaitStatus(huge, "ERROR");
  Answer not_ready = cloud.Action(huge, R"({"os-getVNCConsole": {"type": "novnc"}})");
  CHECK(not_ready.status == 409);
  CHECK(Message(not_ready) == "Instance " + huge + " is not ready");
}

TEST_CASE("consoles: the fake VNC server speaks RFB 3.8 with security type None") {
  FakeConsoles consoles;
  const InstanceId id("11111111-2222-4333-8444-555555555555");
  auto endpoint = consoles.Open(id, "guest-name", "vnc");
  REQUIRE(endpoint.ok());
  CHECK(consoles.Open(id, "guest-name", "vnc")->port == endpoint->port);  // one per guest
  CHECK(consoles.Open(id, "guest-name", "rdp").status().code() ==
        StatusCode::kInvalidArgument);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(endpoint->port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  auto read = [fd](size_t n) {
    std::string s(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::recv(fd, s.data() + got, n - got, 0);
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    s.resize(got);
    return s;
  };
  CHECK(read(12) == kRfb38);
  REQUIRE(::send(fd, kRfb38, 12, 0) == 12);
  CHECK(read(2) == std::string("\x01\x01", 2));
  REQUIRE(::send(fd, "\x01", 1, 0) == 1);
  CHECK(read(4) == std::string(4, '\0'));
  REQUIRE(::send(fd, "\x01", 1, 0) == 1);
  std::string init = read(24 + 10);
  CHECK(init.substr(24) == "guest-name");
  consoles.Close(id);  // the guest went: its connections close
  CHECK(read(1).empty());
  ::close(fd);
}

}  // namespace chronova::testing

namespace chronova::testing {

TEST_CASE("consoles: a SPICE console's URL, page and relay") {
  ApiCloud cloud(1, "fake", [](NodeOptions& o) {
    o.console.spice_listen = "http://127.0.0.1:" + std::to_string(FreePort());
    o.api.consoles.spice_enabled = true;
  });
  const std::string id = cloud.Boot("spice");
  Answer a = cloud.Action(id, R"({"os-getSPICEConsole": {"type": "spice-html5"}})");
  REQUIRE(a.status == 200);
  const std::string url = a.json["console"]["url"].as_string();
  CHECK(url.rfind("http://127.0.0.1:6082/spice_auto.html?token=", 0) == 0);
  const int port = cloud.node->console_port("spice");
  REQUIRE(port > 0);
  if (std::filesystem::exists("/usr/share/spice-html5/spice_auto.html")) {
    HttpClient client("127.0.0.1:" + std::to_string(port));
    auto page = client.Send("GET", "/spice_auto.html", {}, "");
    REQUIRE(page.ok());
    CHECK(page->status == 200);
    CHECK(page->body.find("<script") != std::string::npos);
  }
  // spice-html5 sends the token as a cookie; the fake host's SPICE socket
  // echoes what it is sent.
  WsClient ws;
  REQUIRE(ws.Upgrade(port, "/", "Cookie: token=" + TokenOf(url) + "\r\n")
              .rfind("HTTP/1.1 101", 0) == 0);
  REQUIRE(ws.Send("REDQ"));
  CHECK(ws.Receive() == std::string("REDQ"));
  // A VNC token opens nothing here.
  WsClient vnc;
  REQUIRE(vnc.Upgrade(port, "/?token=" + VncToken(cloud, id)).rfind("HTTP/1.1 101", 0) ==
          0);
  CHECK(vnc.ClosedWithoutData());
}

TEST_CASE("consoles: the proxy bounds what a client can make it hold") {
  FakeConsoles consoles;
  const InstanceId id("11111111-2222-4333-8444-666666666666");
  const int vnc_port = consoles.Open(id, "bounded", "vnc")->port;
  ConsoleProxy proxy;
  ConsoleProxyOptions o;
  o.listen_url = "http://127.0.0.1:" + std::to_string(FreePort());
  o.max_sessions = 1;
  o.request_timeout_ms = 500;
  o.authorize = [vnc_port](const std::string& token) -> Result<ConsoleTarget> {
    if (token != "good") return Status::NotFound("no such token");
    return ConsoleTarget{"127.0.0.1", vnc_port, "", Timestamp{int64_t{1} << 62}};
  };
  REQUIRE(proxy.Start(o).ok());

  SECTION("a request that never ends is dropped after the request timeout") {
    WsClient slow;
    const auto start = std::chrono::steady_clock::now();
    // The upgrade's head never ends (no blank line).
    std::string head = slow.Upgrade(proxy.port(), "/?token=good", "X-Slow: 1");
    CHECK(head.empty());
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  }
  SECTION("headers past 8 KiB are refused") {
    WsClient big;
    std::string head = big.Upgrade(proxy.port(), "/?token=good",
                                   "X-Big: " + std::string(9000, 'a') + "\r\n");
    CHECK(head.rfind("HTTP/1.1 101", 0) != 0);
  }
  SECTION("sessions past max_sessions get 503, and the first one still works") {
    WsClient first;
    REQUIRE(first.Upgrade(proxy.port(), "/?token=good").rfind("HTTP/1.1 101", 0) == 0);
    REQUIRE(first.Receive() == std::string(kRfb38));
    WsClient second;
    CHECK(second.Upgrade(proxy.port(), "/?token=good").rfind("HTTP/1.1 503", 0) == 0);
    REQUIRE(first.Send(kRfb38));
    CHECK(first.Receive() == std::string("\x01\x01", 2));
  }
  SECTION("a client that stops in the RFB handshake is cut off") {
    WsClient stalled;
    REQUIRE(stalled.Upgrade(proxy.port(), "/?token=good").rfind("HTTP/1.1 101", 0) == 0);
    REQUIRE(stalled.Receive() == std::string(kRfb38));
    // No version back: the handshake times out and the session closes.
    CHECK(stalled.ClosedWithoutData(3000));
  }
  proxy.Stop();
}

}  // namespace chronova::testing
