// api/: the Compute API v2.1 over real HTTP (a ComputeApiServer on a loopback
// port, called with plain sockets) in front of a real ComputeService on a
// RocksDB log. No scheduler runs, so servers stay BUILD and a delete is local.
#include "api/compute_api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>

#include "api/auth.h"
#include "api/compute_api_handler.h"
#include "api/json.h"
#include "api/microversion.h"
#include "api/server_create_schema.h"
#include "eventstore/rocksdb_event_log.h"
#include "projections/catalog_projections.h"
#include "projections/hosts_projection.h"
#include "projections/projection_runner.h"
#include "projections/resource_projections.h"
#include "projections/servers_projection.h"
#include "tests/test_util.h"

namespace chronova::testing {
namespace {

constexpr char kImageId[] = "155d900f-4e14-4e4c-a73d-069cbf4541e6";
constexpr char kDemo[] = "demo:p1";
constexpr char kOther[] = "other:p2";
constexpr char kAdmin[] = "admin:admin";

// A loopback port nobody listens on right now.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  Json parsed;  // the body, if it is JSON
  bool is_json = false;

  const Json& json() const {
    INFO(body);
    REQUIRE(is_json);
    return parsed;
  }
  std::string header(const std::string& name) const {
    auto it = headers.find(Lower(name));
    return it == headers.end() ? "" : it->second;
  }
  bool has_header(const std::string& name) const {
    return headers.count(Lower(name)) > 0;
  }
};

// One HTTP/1.1 exchange over a fresh connection.
Reply Call(int port, const std::string& method, const std::string& target,
           const std::vector<std::pair<std::string, std::string>>& headers = {},
           const std::string& body = "") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  std::string req = method + " " + target +
                    " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\nAccept: application/json\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") {
    req += "Content-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    REQUIRE(n > 0);
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  Reply reply;
  size_t header_end = std::string::npos;
  long content_length = -1;
  char buf[8192];
  for (;;) {
    if (header_end != std::string::npos && content_length >= 0 &&
        raw.size() >= header_end + 4 + static_cast<size_t>(content_length)) {
      break;
    }
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
    if (header_end == std::string::npos &&
        (header_end = raw.find("\r\n\r\n")) != std::string::npos) {
      std::string head = raw.substr(0, header_end);
      size_t line_end = head.find("\r\n");
      std::string status_line = head.substr(0, line_end);
      reply.status = std::stoi(status_line.substr(status_line.find(' ') + 1, 3));
      size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        size_t eol = head.find("\r\n", pos);
        if (eol == std::string::npos) eol = head.size();
        std::string line = head.substr(pos, eol - pos);
        size_t colon = line.find(':');
        if (colon != std::string::npos) {
          std::string value = line.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.erase(0, 1);
          reply.headers[Lower(line.substr(0, colon))] = value;
        }
        pos = eol + 2;
      }
      if (reply.headers.count("content-length")) {
        content_length = std::stol(reply.headers["content-length"]);
      } else if (reply.status == 204 || reply.status == 304) {
        content_length = 0;
      }
    }
  }
  close(fd);
  REQUIRE(header_end != std::string::npos);
  reply.body = raw.substr(header_end + 4);
  if (auto parsed = Json::Parse(reply.body); parsed.ok()) {
    reply.parsed = std::move(parsed).value();
    reply.is_json = true;
  }
  return reply;
}

std::vector<std::pair<std::string, std::string>> Token(const std::string& token) {
  return {{"X-Auth-Token", token}};
}

// A real ComputeService on a RocksDB log with a seeded flavor and image, served
// over HTTP on a free loopback port.
struct ApiFixture {
  FakeEnv env{42};
  TempDir dir;
  std::unique_ptr<RocksDbEventLog> log;
  ServersProjection servers;
  HostsProjection hosts;
  FlavorsProjection flavors;
  ImagesProjection images;
  KeypairsProjection keypairs;
  QuotasProjection quotas;
  std::unique_ptr<ProjectionStore> store;
  std::unique_ptr<ProjectionRunner> runner;
  std::unique_ptr<ComputeService> service;
  NoAuthAuthenticator auth;
  int port = 0;
  ComputeApiServer server;  // last: stops first

  ApiFixture() {
    RocksDbLogOptions lo;
    lo.path = dir.Sub("log");
    lo.sync = false;
    log = std::move(RocksDbEventLog::Open(lo)).value();
    ProjectionStoreOptions so;
    so.path = dir.Sub("store");
    auto s = ProjectionStore::Open(so, {&servers, &hosts, &flavors, &images, &keypairs, &quotas});
    INFO(s.status().ToString());
    REQUIRE(s.ok());
    store = std::move(s).value();
    runner = std::make_unique<ProjectionRunner>(log.get(), store.get());

    FlavorCreated flavor;
    flavor.flavor = FlavorSpec{
        FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {{"hw:cpu_policy", "shared"}}};
    Seed(StreamId("flavor/1"), flavor);
    ImageRegistered image;
    image.image_id = ImageId(kImageId);
    image.name = "cirros";
    image.size = 12345;
    image.properties = {{"os_distro", "cirros"}};
    Seed(StreamId(std::string("image/") + kImageId), image);
    REQUIRE(runner->WaitFor(log->Head().value(), 5000).ok());

    ComputeServiceOptions cso;
    cso.env = &env;
    service = std::make_unique<ComputeService>(log.get(), store.get(), runner.get(), cso);
    port = FreePort();
    ComputeApiOptions ao;
    ao.listen_url = "http://127.0.0.1:" + std::to_string(port);
    ao.service = service.get();
    ao.authenticator = &auth;
    ao.env = &env;
    Status started = server.Start(ao);
    INFO(started.ToString());
    REQUIRE(started.ok());
  }

  void Seed(const StreamId& stream, const Event& e) {
    AppendRequest req;
    req.stream = stream;
    req.expected = ExpectedVersion::NoStream();
    req.key = IdempotencyKey("seed-" + stream.str());
    EventMeta meta{env.Now(), RequestId("req-seed"), Seq(),
                   Actor{UserId("admin"), ProjectId("admin"), {"admin"}}};
    req.events.push_back(MakeNewEvent(e, meta));
    REQUIRE(log->Append(req).ok());
  }

  Reply Get(const std::string& path, const std::string& token = kDemo) {
    return Call(port, "GET", path, Token(token));
  }
  Reply Post(const std::string& path, const std::string& body,
             const std::string& token = kDemo) {
    return Call(port, "POST", path, Token(token), body);
  }
  Reply Delete(const std::string& path, const std::string& token = kDemo) {
    return Call(port, "DELETE", path, Token(token));
  }
  // Creates a server named `name` and returns its id.
  std::string Create(const std::string& name, const std::string& token = kDemo) {
    Reply r = Post("/v2.1/servers",
                   R"({"server": {"name": ")" + name + R"(", "imageRef": ")" + kImageId +
                       R"(", "flavorRef": "1"}})",
                   token);
    INFO(r.body);
    REQUIRE(r.status == 202);
    Json body = r.json();
    return body.Find("server")->Find("id")->as_string();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }
};

// {"badRequest": {"code": 400, "message": ...}} -> the message, checking the shape.
std::string FaultMessage(const Reply& r, const std::string& name) {
  INFO(r.body);
  const Json& body = r.json();
  REQUIRE(body.size() == 1);
  const Json* fault = body.Find(name);
  REQUIRE(fault != nullptr);
  REQUIRE(fault->Find("code") != nullptr);
  CHECK(fault->Find("code")->as_int() == r.status);
  REQUIRE(fault->Find("message") != nullptr);
  return fault->Find("message")->as_string();
}

bool ListHas(const Json& list, const std::string& id) {
  for (const Json& item : list.items()) {
    if (item.Find("id")->as_string() == id) return true;
  }
  return false;
}

}  // namespace

// ---- pieces without HTTP ------------------------------------------------------

TEST_CASE("compute API: Json parses, prints and quotes values as Nova's messages do") {
  auto j = Json::Parse(R"({"a": [1, 2.5, "x'y", null, true], "b": {"c": "d"}, "a": 7})");
  REQUIRE(j.ok());
  CHECK(j->Find("a")->as_int() == 7);  // Python keeps the last duplicate
  CHECK(j->Dump() == R"({"a":7,"b":{"c":"d"}})");
  auto k = Json::Parse(R"([1, 2.0, "it's", "q\"", null, false, {"k": "v"}])");
  REQUIRE(k.ok());
  CHECK(k->PythonRepr() == R"([1, 2.0, "it's", 'q"', None, False, {'k': 'v'}])");
  CHECK(Json("a\n\"b").Dump() == R"("a\n\"b")");
  CHECK_FALSE(Json::Parse("{\"a\": 1").ok());
  CHECK_FALSE(Json::Parse("{} x").ok());
  CHECK_FALSE(Json::Parse("\"\xff\"").ok());              // not UTF-8
  CHECK_FALSE(Json::Parse(std::string(1000, '[')).ok());  // deeper than kMaxDepth
}

TEST_CASE("compute API: microversions are parsed from either header, as Nova does") {
  HttpHeaders none;
  CHECK(RequestedApiVersion(none).value() == ApiVersion{2, 1});
  HttpHeaders standard;
  standard.Add("openstack-api-version", "placement 1.2, compute 2.1");
  CHECK(RequestedApiVersion(standard).value() == ApiVersion{2, 1});
  HttpHeaders legacy;
  legacy.Add("X-OpenStack-Nova-API-Version", "2.999");
  ApiVersion v = RequestedApiVersion(legacy).value();
  CHECK(v == ApiVersion{2, 999});
  CHECK_FALSE(IsSupportedVersion(v));
  HttpHeaders latest;
  latest.Add("OpenStack-API-Version", "compute latest");
  CHECK(RequestedApiVersion(latest).value() == kMaxComputeVersion);
  for (const char* bad : {"2", "2.01", "02.1", "x.y", "2.1.1", ""}) {
    CHECK_FALSE(ParseApiVersion(bad).ok());
  }
  CHECK(UnsupportedVersionMessage(v) ==
        "Version 2.999 is not supported by the API. Minimum is 2.1 and maximum is 2.1.");
}

TEST_CASE("compute API: the create-server schema reports errors in Nova's words") {
  auto message = [](const std::string& body) {
    Result<ParsedCreateServer> r = ParseCreateServerBody(Json::Parse(body).value());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    return r.status().message();
  };
  CHECK(message(R"({"server": {"flavorRef": "1", "imageRef": ""}})") ==
        "Invalid input for field/attribute server. Value: {'flavorRef': '1', 'imageRef': "
        "''}. "
        "'name' is a required property");
  CHECK(message(R"({"server": {"name": "a", "imageRef": "x"}})") ==
        "Invalid input for field/attribute imageRef. Value: x. 'x' is not valid under "
        "any of "
        "the given schemas");
  CHECK(message(R"({"server": {"name": 5, "flavorRef": "1"}})") ==
        "Invalid input for field/attribute name. Value: 5. 5 is not of type 'string'");
  CHECK(message(R"({"server": {"name": " a", "flavorRef": "1"}})") ==
        "An invalid 'name' value was provided. The name must be: printable characters. "
        "Can not "
        "start or end with whitespace.");
  CHECK(message(R"({"server": {"name": "a\tb", "flavorRef": "1"}})")
            .find("The name must be: printable characters") != std::string::npos);
  CHECK(
      message(R"({"server": {"name": "a", "flavorRef": "1", "bogus": 1}})") ==
      "Invalid input for field/attribute server. Value: {'name': 'a', 'flavorRef': '1', "
      "'bogus': 1}. Additional properties are not allowed ('bogus' was unexpected)");
  CHECK(message(R"({"server": {"name": "a", "flavorRef": "1", "min_count": 0}})") ==
        "Invalid input for field/attribute min_count. Value: 0. 0 is less than the "
        "minimum of 1");
  CHECK(message(
            R"({"server": {"name": "a", "flavorRef": "1", "min_count": 2, "max_count": 1,
                               "imageRef": "155d900f-4e14-4e4c-a73d-069cbf4541e6"}})") ==
        "min_count must be <= max_count");
  CHECK(message(R"({"server": {"name": "a", "flavorRef": "1"}})") ==
        "Missing imageRef attribute");
  CHECK(message(R"({"servers": {}})") == "'server' is a required property");
  CHECK(message("[]") == "[] is not of type 'object'");

  auto ok = ParseCreateServerBody(Json::Parse(R"({"server": {"name": "vm", "flavorRef": 1,
      "imageRef": "155d900f-4e14-4e4c-a73d-069cbf4541e6", "metadata": {"k": "v"},
      "min_count": "2", "return_reservation_id": "true"},
      "os:scheduler_hints": {"same_host": ["a", "b"]}})")
                                      .value());
  REQUIRE(ok.ok());
  CHECK(ok->request.flavor_ref == "1");
  CHECK(ok->request.min_count == 2);
  CHECK(ok->request.max_count == 2);
  CHECK(ok->request.metadata.at("k") == "v");
  CHECK(ok->request.scheduler_hints.at("same_host") ==
        std::vector<std::string>{"a", "b"});
  CHECK(ok->return_reservation_id);
}

// ---- over HTTP ----------------------------------------------------------------

TEST_CASE("compute API: it serves Nova's version documents") {
  ApiFixture f;
  Reply root = Call(f.port, "GET", "/");
  REQUIRE(root.status == 200);
  Json versions = *root.json().Find("versions");
  REQUIRE(versions.size() == 2);
  CHECK(versions.items()[0].Find("id")->as_string() == "v2.0");
  const Json& v21 = versions.items()[1];
  CHECK(v21.Find("id")->as_string() == "v2.1");
  CHECK(v21.Find("status")->as_string() == "CURRENT");
  CHECK(v21.Find("version")->as_string() == "2.1");
  CHECK(v21.Find("min_version")->as_string() == "2.1");
  CHECK(v21.Find("links")->items()[0].Find("href")->as_string() == f.Url("/v2.1/"));

  for (const char* path : {"/v2.1", "/v2.1/"}) {
    Reply r = Call(f.port, "GET", path);
    INFO(path);
    REQUIRE(r.status == 200);
    const Json& v = *r.json().Find("version");
    CHECK(v.Find("id")->as_string() == "v2.1");
    CHECK(v.Find("version")->as_string() == "2.1");
    CHECK(v.Find("links")->items()[0].Find("href")->as_string() == f.Url("/v2.1/"));
    CHECK(v.Find("media-types")->size() == 1);
    CHECK(r.header("X-OpenStack-Nova-API-Version") == "2.1");
  }
}

TEST_CASE("compute API: flavors are listed, shown and expose their extra specs") {
  ApiFixture f;
  Reply list = f.Get("/v2.1/flavors");
  REQUIRE(list.status == 200);
  CHECK(list.header("Content-Type").find("application/json") == 0);
  const Json& flavors = *list.json().Find("flavors");
  REQUIRE(flavors.size() == 1);
  const Json& basic = flavors.items()[0];
  CHECK(basic.size() == 3);  // id, name, links
  CHECK(basic.Find("id")->as_string() == "1");
  CHECK(basic.Find("name")->as_string() == "m1.tiny");
  CHECK(basic.Find("links")->items()[0].Find("href")->as_string() ==
        f.Url("/v2.1/flavors/1"));
  CHECK(basic.Find("links")->items()[1].Find("href")->as_string() == f.Url("/flavors/1"));

  Reply detail = f.Get("/v2.1/flavors/detail?is_public=None");
  REQUIRE(detail.status == 200);
  const Json& d = detail.json().Find("flavors")->items()[0];
  CHECK(d.Find("ram")->as_int() == 512);
  CHECK(d.Find("vcpus")->as_int() == 1);
  CHECK(d.Find("disk")->as_int() == 1);
  CHECK(d.Find("swap")->as_string() == "");
  CHECK(d.Find("OS-FLV-EXT-DATA:ephemeral")->as_int() == 0);
  CHECK(d.Find("os-flavor-access:is_public")->as_bool());
  CHECK(d.Find("rxtx_factor")->as_double() == 1.0);

  Reply show = f.Get("/v2.1/flavors/1");
  REQUIRE(show.status == 200);
  CHECK(show.json().Find("flavor")->Find("name")->as_string() == "m1.tiny");

  Reply specs = f.Get("/v2.1/flavors/1/os-extra_specs");
  REQUIRE(specs.status == 200);
  CHECK(specs.json().Dump() == R"({"extra_specs":{"hw:cpu_policy":"shared"}})");

  Reply missing = f.Get("/v2.1/flavors/42");
  REQUIRE(missing.status == 404);
  CHECK(FaultMessage(missing, "itemNotFound") == "Flavor 42 could not be found.");
  CHECK(f.Get("/v2.1/flavors/42/os-extra_specs").status == 404);
  CHECK(f.Get("/v2.1/flavors?limit=x").status == 400);
}

TEST_CASE("compute API: images are shown through Nova's image proxy view") {
  ApiFixture f;
  Reply list = f.Get("/v2.1/images");
  REQUIRE(list.status == 200);
  const Json& basic = list.json().Find("images")->items()[0];
  CHECK(basic.Find("id")->as_string() == kImageId);
  CHECK(basic.Find("links")->size() == 3);  // self, bookmark, alternate
  CHECK(basic.Find("links")->items()[2].Find("type")->as_string() ==
        "application/vnd.openstack.image");

  Reply show = f.Get(std::string("/v2.1/images/") + kImageId);
  REQUIRE(show.status == 200);
  const Json& image = *show.json().Find("image");
  CHECK(image.Find("status")->as_string() == "ACTIVE");
  CHECK(image.Find("progress")->as_int() == 100);
  CHECK(image.Find("OS-EXT-IMG-SIZE:size")->as_int() == 12345);
  CHECK(image.Find("metadata")->Find("os_distro")->as_string() == "cirros");
  CHECK(image.Find("minRam")->as_int() == 0);
  CHECK(f.Get("/v2.1/images/detail").json().Find("images")->size() == 1);

  Reply missing = f.Get("/v2.1/images/00000000-0000-0000-0000-000000000000");
  REQUIRE(missing.status == 404);
  CHECK(FaultMessage(missing, "itemNotFound") == "Image not found.");
}

TEST_CASE("compute API: a created server is BUILD at once, listed, shown and deleted") {
  ApiFixture f;
  Reply created =
      f.Post("/v2.1/servers", R"({"server": {"name": "vm1", "imageRef": ")" +
                                  std::string(kImageId) +
                                  R"(", "flavorRef": "1", "metadata": {"k": "v"}}})");
  INFO(created.body);
  REQUIRE(created.status == 202);
  const Json& s = *created.json().Find("server");
  const std::string id = s.Find("id")->as_string();
  CHECK(IsUuid(id));
  CHECK(s.Find("OS-DCF:diskConfig")->as_string() == "MANUAL");
  CHECK(s.Find("security_groups")->Dump() == R"([{"name":"default"}])");
  CHECK(s.Find("adminPass")->as_string().size() == 12);
  CHECK(s.Find("links")->items()[0].Find("href")->as_string() ==
        f.Url("/v2.1/servers/" + id));
  CHECK(created.header("Location") == f.Url("/v2.1/servers/" + id));

  // Read-your-writes: the server is visible at once.
  Reply show = f.Get("/v2.1/servers/" + id);
  REQUIRE(show.status == 200);
  const Json& d = *show.json().Find("server");
  CHECK(d.Find("status")->as_string() == "BUILD");
  CHECK(d.Find("name")->as_string() == "vm1");
  CHECK(d.Find("tenant_id")->as_string() == "p1");
  CHECK(d.Find("user_id")->as_string() == "demo");
  CHECK(d.Find("hostId")->as_string() == "");
  CHECK(d.Find("metadata")->Dump() == R"({"k":"v"})");
  CHECK(d.Find("image")->Find("id")->as_string() == kImageId);
  CHECK(d.Find("flavor")->Find("id")->as_string() == "1");
  CHECK(d.Find("flavor")->Find("links")->items()[0].Find("href")->as_string() ==
        f.Url("/flavors/1"));
  CHECK(d.Find("created")->as_string().size() == 20);  // YYYY-MM-DDTHH:MM:SSZ
  CHECK(d.Find("addresses")->Dump() == "{}");
  CHECK(d.Find("progress")->as_int() == 0);
  CHECK(d.Find("key_name")->is_null());
  CHECK(d.Find("OS-SRV-USG:launched_at")->is_null());
  CHECK(d.Find("OS-EXT-STS:vm_state")->as_string() == "building");
  CHECK(d.Find("OS-EXT-STS:power_state")->as_int() == 0);
  CHECK(d.Find("os-extended-volumes:volumes_attached")->Dump() == "[]");
  CHECK_FALSE(d.Contains("fault"));
  CHECK_FALSE(d.Contains("OS-EXT-SRV-ATTR:host"));  // admins only
  Reply as_admin = f.Get("/v2.1/servers/" + id, kAdmin);
  REQUIRE(as_admin.status == 200);
  CHECK(as_admin.json().Find("server")->Find("OS-EXT-SRV-ATTR:host")->is_null());

  Reply index = f.Get("/v2.1/servers");
  REQUIRE(index.status == 200);
  const Json& servers = *index.json().Find("servers");
  REQUIRE(servers.size() == 1);
  CHECK(servers.items()[0].size() == 3);  // id, name, links
  CHECK(ListHas(servers, id));
  Reply detail = f.Get("/v2.1/servers/detail?status=build");
  REQUIRE(detail.status == 200);
  CHECK(detail.json().Find("servers")->items()[0].Find("status")->as_string() == "BUILD");
  CHECK(f.Get("/v2.1/servers/detail?status=ACTIVE").json().Find("servers")->size() == 0);
  CHECK(f.Get("/v2.1/servers?name=vm").json().Find("servers")->size() == 1);
  CHECK(f.Get("/v2.1/servers?name=nope").json().Find("servers")->size() == 0);

  Reply deleted = f.Delete("/v2.1/servers/" + id);
  CHECK(deleted.status == 204);
  CHECK(deleted.body.empty());
  Reply gone = f.Get("/v2.1/servers/" + id);
  REQUIRE(gone.status == 404);
  CHECK(FaultMessage(gone, "itemNotFound") == "Instance " + id + " could not be found.");
  CHECK(f.Get("/v2.1/servers").json().Find("servers")->size() == 0);
  CHECK(f.Delete("/v2.1/servers/" + id).status == 404);
}

TEST_CASE("compute API: a full page of servers carries Nova's next link") {
  ApiFixture f;
  std::string first = f.Create("a");
  f.env.AdvanceMicros(1000000);
  std::string second = f.Create("b");
  Reply page = f.Get("/v2.1/servers?limit=1");
  REQUIRE(page.status == 200);
  Json body = page.json();
  REQUIRE(body.Find("servers")->size() == 1);
  const std::string last = body.Find("servers")->items()[0].Find("id")->as_string();
  CHECK(last == second);  // newest first
  REQUIRE(body.Contains("servers_links"));
  CHECK(body.Find("servers_links")->items()[0].Find("href")->as_string() ==
        f.Url("/v2.1/servers?limit=1&marker=" + last));
  Reply next = f.Get("/v2.1/servers?limit=1&marker=" + last);
  REQUIRE(next.status == 200);
  CHECK(next.json().Find("servers")->items()[0].Find("id")->as_string() == first);
  Reply bad_marker = f.Get("/v2.1/servers?marker=nope");
  REQUIRE(bad_marker.status == 400);
  CHECK(FaultMessage(bad_marker, "badRequest") == "marker [nope] not found");
  Reply bad_limit = f.Get("/v2.1/servers?limit=-1");
  REQUIRE(bad_limit.status == 400);
  CHECK(FaultMessage(bad_limit, "badRequest") ==
        "Invalid input received: limit must be >= 0");
}

TEST_CASE("compute API: return_reservation_id answers with the reservation only") {
  ApiFixture f;
  Reply r = f.Post("/v2.1/servers", R"({"server": {"name": "many", "imageRef": ")" +
                                        std::string(kImageId) +
                                        R"(", "flavorRef": "1", "min_count": 2,
                                        "return_reservation_id": true}})");
  INFO(r.body);
  REQUIRE(r.status == 202);
  Json body = r.json();
  CHECK(body.size() == 1);
  CHECK(body.Find("reservation_id")->as_string().rfind("r-", 0) == 0);
  CHECK(f.Get("/v2.1/servers").json().Find("servers")->size() == 2);
}

TEST_CASE("compute API: bad create requests get Nova's 400 and append nothing") {
  ApiFixture f;
  const Seq head = f.log->Head().value();
  const std::string image = kImageId;
  struct Case {
    std::string body;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {"{not json", "Malformed request body"},
      {"", "None is not of type 'object'"},
      {R"({"server": {"imageRef": ")" + image + R"(", "flavorRef": "1"}})",
       "'name' is a required property"},
      {R"({"server": {"name": "x", "imageRef": ")" + image + R"("}})",
       "'flavorRef' is a required property"},
      {R"({"server": {"name": "x", "flavorRef": "1"}})", "Missing imageRef attribute"},
      {R"({"server": {"name": "x", "imageRef": ")" + image + R"(", "flavorRef": "99"}})",
       "Flavor 99 could not be found."},
      {R"({"server": {"name": "x", "imageRef": "00000000-0000-0000-0000-000000000000",
          "flavorRef": "1"}})",
       "Can not find requested image"},
      {R"({"server": {"name": "x", "imageRef": ")" + image +
           R"(", "flavorRef": "1"}, "x": 1})",
       "Additional properties are not allowed ('x' was unexpected)"},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    Reply r = f.Post("/v2.1/servers", c.body);
    REQUIRE(r.status == 400);
    std::string message = FaultMessage(r, "badRequest");
    INFO(message);
    CHECK(message.find(c.message_part) != std::string::npos);
  }
  Reply missing_name = f.Post("/v2.1/servers", cases[2].body);
  CHECK(FaultMessage(missing_name, "badRequest")
            .rfind("Invalid input for field/attribute server. Value: {", 0) == 0);
  CHECK(f.log->Head().value() == head);
}

TEST_CASE("compute API: another project's server is not found") {
  ApiFixture f;
  const std::string id = f.Create("mine");
  Reply r = f.Get("/v2.1/servers/" + id, kOther);
  REQUIRE(r.status == 404);
  CHECK(FaultMessage(r, "itemNotFound") == "Instance " + id + " could not be found.");
  CHECK(f.Delete("/v2.1/servers/" + id, kOther).status == 404);
  CHECK(f.Get("/v2.1/servers", kOther).json().Find("servers")->size() == 0);
  CHECK(f.Get("/v2.1/servers?all_tenants=1", kOther).json().Find("servers")->size() == 0);
  // An admin sees every project's servers when asking for all tenants.
  CHECK(f.Get("/v2.1/servers?all_tenants", kAdmin).json().Find("servers")->size() == 1);
  CHECK(f.Get("/v2.1/servers/" + id).status == 200);

  Reply unknown = f.Get("/v2.1/servers/00000000-0000-0000-0000-000000000000");
  REQUIRE(unknown.status == 404);
  CHECK(FaultMessage(unknown, "itemNotFound") ==
        "Instance 00000000-0000-0000-0000-000000000000 could not be found.");
}

TEST_CASE("compute API: a request without a token is unauthorized") {
  ApiFixture f;
  Reply r = Call(f.port, "GET", "/v2.1/servers");
  REQUIRE(r.status == 401);
  CHECK(FaultMessage(r, "unauthorized") ==
        "The request you have made requires authentication.");
  CHECK(r.header("WWW-Authenticate").rfind("Keystone uri=", 0) == 0);
  CHECK(r.header("x-openstack-request-id").rfind("req-", 0) == 0);
  CHECK(Call(f.port, "POST", "/v2.1/servers", {}, "{}").status == 401);
  CHECK(f.log->Head().value() == Seq(2));  // the two seeded events only
}

TEST_CASE("compute API: the project id may come in the URL, and must be the token's") {
  ApiFixture f;
  const std::string id = f.Create("vm");
  Reply r = f.Get("/v2.1/p1/servers");
  REQUIRE(r.status == 200);
  const Json& links = *r.json().Find("servers")->items()[0].Find("links");
  CHECK(links.items()[0].Find("href")->as_string() == f.Url("/v2.1/p1/servers/" + id));
  CHECK(links.items()[1].Find("href")->as_string() == f.Url("/p1/servers/" + id));
  Reply mismatch = f.Get("/v2.1/p2/servers");
  REQUIRE(mismatch.status == 400);
  CHECK(FaultMessage(mismatch, "badRequest") ==
        "Malformed request URL: URL's project_id 'p2' doesn't match Context's project_id "
        "'p1'");
}

TEST_CASE(
    "compute API: microversions are negotiated and echoed, unsupported ones are 406") {
  ApiFixture f;
  Reply plain = f.Get("/v2.1/flavors");
  CHECK(plain.header("OpenStack-API-Version") == "compute 2.1");
  CHECK(plain.header("X-OpenStack-Nova-API-Version") == "2.1");
  CHECK(plain.header("Vary").find("OpenStack-API-Version") != std::string::npos);
  CHECK(plain.header("Vary").find("X-OpenStack-Nova-API-Version") != std::string::npos);

  Reply latest =
      Call(f.port, "GET", "/v2.1/flavors",
           {{"X-Auth-Token", kDemo}, {"OpenStack-API-Version", "compute latest"}});
  REQUIRE(latest.status == 200);
  CHECK(latest.header("OpenStack-API-Version") == "compute 2.1");

  Reply too_new =
      Call(f.port, "GET", "/v2.1/flavors",
           {{"X-Auth-Token", kDemo}, {"X-OpenStack-Nova-API-Version", "2.999"}});
  REQUIRE(too_new.status == 406);
  CHECK(FaultMessage(too_new, "computeFault") ==
        "Version 2.999 is not supported by the API. Minimum is 2.1 and maximum is 2.1.");

  Reply malformed =
      Call(f.port, "GET", "/v2.1/flavors",
           {{"X-Auth-Token", kDemo}, {"OpenStack-API-Version", "compute 2.x"}});
  REQUIRE(malformed.status == 400);
  CHECK(FaultMessage(malformed, "badRequest") ==
        "API Version String 2.x is of invalid format. Must be of format "
        "MajorNum.MinorNum.");
}

TEST_CASE("compute API: every response carries its request id") {
  ApiFixture f;
  Reply a = f.Get("/v2.1/flavors");
  Reply b = f.Get("/v2.1/servers/nope");
  for (const Reply* r : {&a, &b}) {
    std::string id = r->header("x-openstack-request-id");
    CHECK(id.rfind("req-", 0) == 0);
    CHECK(IsUuid(id.substr(4)));
    CHECK(r->header("X-Compute-Request-Id") == id);
  }
  CHECK(a.header("x-openstack-request-id") != b.header("x-openstack-request-id"));
}

TEST_CASE("compute API: unknown routes are 404 and unsupported methods 405") {
  ApiFixture f;
  Reply unknown = f.Get("/v2.1/os-nothing");
  REQUIRE(unknown.status == 404);
  CHECK(FaultMessage(unknown, "itemNotFound") == "The resource could not be found.");
  CHECK(f.Get("/v3/servers").status == 404);
  Reply method = Call(f.port, "PUT", "/v2.1/flavors", {{"X-Auth-Token", kDemo}}, "{}");
  REQUIRE(method.status == 405);
  CHECK(FaultMessage(method, "badMethod") ==
        "The method PUT is not allowed for this resource.");
  CHECK(method.header("Allow") == "GET, POST");  // POST /flavors creates one
}

TEST_CASE("compute API: a server on a port someone else holds fails with Unavailable") {
  ApiFixture f;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int port = FreePort();
  addr.sin_port = htons(static_cast<uint16_t>(port));
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(listen(fd, 1) == 0);
  ComputeApiServer second;
  ComputeApiOptions o;
  o.listen_url = "http://127.0.0.1:" + std::to_string(port);
  o.service = f.service.get();
  o.authenticator = &f.auth;
  Status s = second.Start(o);
  close(fd);
  INFO(s.ToString());
  CHECK(s.code() == StatusCode::kUnavailable);
}

TEST_CASE("compute API: a body over Nova's size limit is refused with 413 unread") {
  ApiFixture f;
  ComputeApiOptions o;
  o.service = f.service.get();
  o.authenticator = &f.auth;
  o.env = &f.env;
  ComputeApiHandler handler(o);
  HttpRequest req;
  req.method = "POST";
  req.path = "/v2.1/servers";
  req.headers.Add("X-Auth-Token", kDemo);
  req.base_url = "http://127.0.0.1:8774";
  req.declared_length = o.max_body_bytes + 1;  // the adapter did not read it
  HttpResponse r = handler.Handle(req);
  CHECK(r.status == 413);
  CHECK(r.body == R"({"overLimit":{"code":413,"message":"Request is too large."}})");
  CHECK(r.headers.Find("x-openstack-request-id") != nullptr);
  CHECK(f.log->Head().value() == Seq(2));
}

}  // namespace chronova::testing
