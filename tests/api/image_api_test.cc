// api/: the Image API v2 (Glance) over real HTTP on a loopback port, in front
// of a real ImageService on a RocksDB log, next to the Compute API on the same
// read models (its /v2.1/images proxy and server create's image check).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <thread>

#include "api/auth/auth.h"
#include "api/compute/compute_api.h"
#include "api/http/json.h"
#include "api/image/image_handler.h"
#include "eventstore/rocksdb_event_log.h"
#include "projections/aggregates_projection.h"
#include "projections/catalog_projections.h"
#include "projections/hosts_projection.h"
#include "projections/projection_runner.h"
#include "projections/resource_projections.h"
#include "projections/servers_projection.h"
#include "tests/support/test_util.h"

namespace chronova::testing {
namespace {

constexpr char kDemo[] = "alice:demo";
constexpr char kOther[] = "bob:other";
constexpr char kAdmin[] = "admin:admin";
constexpr char kPatch[] = "application/openstack-images-v2.1-json-patch";

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  Json json() const {
    auto parsed = Json::Parse(body);
    INFO(body);
    REQUIRE(parsed.ok());
    return std::move(parsed).value();
  }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// One HTTP/1.1 exchange on a fresh connection; `token` empty sends none.
Reply Call(int port, const std::string& method, const std::string& target,
           const std::string& token, const std::string& content_type = "",
           const std::string& body = "") {
  std::string req = method + " " + target +
                    " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\nAccept: application/json\r\n";
  if (!token.empty()) req += "X-Auth-Token: " + token + "\r\n";
  if (!content_type.empty()) req += "Content-Type: " + content_type + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  RawHttpReply raw = RawHttpExchange(port, req, 20);
  Reply reply;
  reply.status = raw.status;
  reply.headers = std::move(raw.headers);
  reply.body = std::move(raw.body);
  return reply;
}

std::string Digest(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    char b[3];
    std::snprintf(b, sizeof(b), "%02x", out[i]);
    hex += b;
  }
  return hex;
}

// Deterministic bytes that are not all alike.
std::string Bytes(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    s[i] = static_cast<char>(seed >> 24);
  }
  return s;
}

std::vector<std::string> Ids(const Json& list) {
  std::vector<std::string> ids;
  for (const Json& i : list.items()) ids.push_back(i.Find("id")->as_string());
  return ids;
}

// A real log, the read models, ImageService behind the Image API and
// ComputeService behind the Compute API, each on its own free port.
struct ImageFixture {
  FakeEnv env{7};
  TempDir dir;
  std::unique_ptr<RocksDbEventLog> log;
  ServersProjection servers;
  HostsProjection hosts;
  FlavorsProjection flavors;
  ImagesProjection images;
  AggregatesProjection aggregates;
  KeypairsProjection keypairs;
  QuotasProjection quotas;
  std::unique_ptr<ProjectionStore> store;
  std::unique_ptr<ProjectionRunner> runner;
  std::unique_ptr<ImageService> image_service;
  std::unique_ptr<ComputeService> compute_service;
  NoAuthAuthenticator auth;
  int port = 0;
  int compute_port = 0;
  ComputeApiServer compute;  // last two: stop first
  ImageApiServer server;

  explicit ImageFixture(uint64_t max_image_size = uint64_t{1} << 30) {
    log = OpenTestLog(dir.Sub("log"));
    ProjectionStoreOptions so;
    so.path = dir.Sub("store");
    store = std::move(ProjectionStore::Open(so, {&servers, &hosts, &flavors, &images,
                                                 &aggregates, &keypairs, &quotas}))
                .value();
    runner = std::make_unique<ProjectionRunner>(log.get(), store.get());
    FlavorCreated flavor;
    flavor.flavor = FlavorSpec{FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {}};
    AppendRequest req;
    req.stream = StreamId("flavor/1");
    req.expected = ExpectedVersion::NoStream();
    req.key = IdempotencyKey("seed-flavor");
    req.events.push_back(MakeNewEvent(flavor, EventMeta{}));
    REQUIRE(log->Append(req).ok());

    ImageServiceOptions io;
    io.env = &env;
    io.blob_dir = dir.Sub("images");
    io.max_image_size = max_image_size;
    image_service =
        std::make_unique<ImageService>(log.get(), store.get(), runner.get(), io);
    port = FreePort();
    ImageApiOptions ao;
    ao.listen_url = "http://127.0.0.1:" + std::to_string(port);
    ao.service = image_service.get();
    ao.authenticator = &auth;
    ao.env = &env;
    Status started = server.Start(ao);
    INFO(started.ToString());
    REQUIRE(started.ok());

    ComputeServiceOptions cso;
    cso.env = &env;
    compute_service =
        std::make_unique<ComputeService>(log.get(), store.get(), runner.get(), cso);
    compute_port = FreePort();
    ComputeApiOptions co;
    co.listen_url = "http://127.0.0.1:" + std::to_string(compute_port);
    co.service = compute_service.get();
    co.images = image_service.get();
    co.authenticator = &auth;
    co.env = &env;
    REQUIRE(compute.Start(co).ok());
  }

  Reply Get(const std::string& path, const std::string& token = kDemo) {
    return Call(port, "GET", path, token);
  }
  Reply Post(const std::string& body, const std::string& token = kDemo) {
    return Call(port, "POST", "/v2/images", token, "application/json", body);
  }
  Reply Patch(const std::string& id, const std::string& body,
              const std::string& token = kDemo) {
    return Call(port, "PATCH", "/v2/images/" + id, token, kPatch, body);
  }
  Reply Put(const std::string& id, const std::string& data,
            const std::string& token = kDemo) {
    return Call(port, "PUT", "/v2/images/" + id + "/file", token,
                "application/octet-stream", data);
  }
  Reply Delete(const std::string& id, const std::string& token = kDemo) {
    return Call(port, "DELETE", "/v2/images/" + id, token);
  }
  // Creates an image (raw/bare unless the body says otherwise); returns its id.
  std::string Create(const std::string& fields = R"("name": "img")",
                     const std::string& token = kDemo) {
    Reply r = Post(
        R"({"disk_format": "raw", "container_format": "bare", )" + fields + "}", token);
    INFO(r.body);
    REQUIRE(r.status == 201);
    return r.json().Find("id")->as_string();
  }
  std::string BlobPath(const std::string& id) const {
    return dir.Sub("images") + "/" + id;
  }
  size_t IncomingFiles() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e :
         std::filesystem::directory_iterator(dir.Sub("images") + "/.incoming")) {
      ++n;
    }
    return n;
  }
};

}  // namespace

TEST_CASE("image API: the version list is public, 300 at the root and 200 at /versions") {
  ImageFixture f;
  Reply root = Call(f.port, "GET", "/", "");
  CHECK(root.status == 300);
  const Json versions = root.json();
  const Json& first = versions.Find("versions")->items().front();
  CHECK(first.Find("status")->as_string() == "CURRENT");
  CHECK(first.Find("id")->as_string().rfind("v2.", 0) == 0);
  CHECK(first.Find("links")->items()[0].Find("href")->as_string() ==
        "http://127.0.0.1:" + std::to_string(f.port) + "/v2/");
  CHECK(Call(f.port, "GET", "/versions", "").status == 200);
  Reply unauthenticated = Call(f.port, "GET", "/v2/images", "");
  CHECK(unauthenticated.status == 401);
  CHECK(unauthenticated.header("www-authenticate").find("Keystone uri=") == 0);
}

TEST_CASE(
    "image API: create is queued, upload makes it active with size, md5 and sha512") {
  ImageFixture f;
  Reply created = f.Post(
      R"({"name": "cirros", "disk_format": "qcow2", "container_format": "bare",
          "min_ram": 64, "tags": ["x", "y", "x"], "os_distro": "cirros",
          "id": "11111111-2222-3333-4444-555555555555"})");
  INFO(created.body);
  REQUIRE(created.status == 201);
  Json image = created.json();
  const std::string id = "11111111-2222-3333-4444-555555555555";
  CHECK(image.Find("id")->as_string() == id);
  CHECK(image.Find("status")->as_string() == "queued");
  CHECK(image.Find("visibility")->as_string() == "shared");
  CHECK(image.Find("owner")->as_string() == "demo");
  CHECK(image.Find("size")->is_null());
  CHECK(image.Find("checksum")->is_null());
  CHECK(image.Find("os_distro")->as_string() == "cirros");
  CHECK(image.Find("min_ram")->as_int() == 64);
  CHECK(image.Find("protected")->as_bool() == false);
  CHECK(image.Find("tags")->size() == 2);
  CHECK(image.Find("self")->as_string() == "/v2/images/" + id);
  CHECK(image.Find("file")->as_string() == "/v2/images/" + id + "/file");
  CHECK(image.Find("schema")->as_string() == "/v2/schemas/image");
  CHECK(image.Find("created_at")->as_string().size() == 20);  // 2026-01-01T00:00:00Z
  // Nothing to download yet.
  CHECK(f.Get("/v2/images/" + id + "/file").status == 204);
  // The same id again is a conflict.
  CHECK(f.Post(R"({"id": "11111111-2222-3333-4444-555555555555"})").status == 409);

  const std::string data = Bytes(3 * 1024 * 1024 + 17, 1);  // > one 1 MiB chunk
  Reply put = f.Put(id, data);
  INFO(put.body);
  REQUIRE(put.status == 204);
  Json active = f.Get("/v2/images/" + id).json();
  CHECK(active.Find("status")->as_string() == "active");
  CHECK(active.Find("size")->as_int() == static_cast<int64_t>(data.size()));
  CHECK(active.Find("checksum")->as_string() == Digest(EVP_md5(), data));
  CHECK(active.Find("os_hash_algo")->as_string() == "sha512");
  CHECK(active.Find("os_hash_value")->as_string() == Digest(EVP_sha512(), data));

  Reply download = f.Get("/v2/images/" + id + "/file");
  CHECK(download.status == 200);
  CHECK(download.header("content-type") == "application/octet-stream");
  CHECK(download.header("content-md5") == Digest(EVP_md5(), data));
  CHECK(download.body == data);
  CHECK(ReadFile(f.BlobPath(id)) == data);
  CHECK(f.IncomingFiles() == 0);

  // The agents' interface: the blob's path and checksums.
  Result<ImageBlob> blob = f.image_service->Open(ImageId(id));
  REQUIRE(blob.ok());
  CHECK(blob->path == f.BlobPath(id));
  CHECK(blob->checksum == Digest(EVP_md5(), data));
  CHECK(blob->size == static_cast<int64_t>(data.size()));

  // The log holds the facts, in order.
  std::vector<std::string> types;
  for (const Envelope& e : ReadWholeStream(*f.log, StreamId("image/" + id)).value()) {
    types.push_back(e.type);
  }
  CHECK(types == std::vector<std::string>{"image.created", "image.upload_started",
                                          "image.activated"});
}

TEST_CASE(
    "image API: uploads are refused unless the image is queued, formatted and small") {
  ImageFixture f(1000);
  const std::string id = f.Create();
  REQUIRE(f.Put(id, "abc").status == 204);
  Reply again = f.Put(id, "def");
  CHECK(again.status == 409);
  CHECK(again.json().Find("message")->as_string() ==
        "Image status transition from active to saving is not allowed");
  CHECK(f.Get("/v2/images/" + id + "/file").body == "abc");

  Reply bare = f.Post(R"({"name": "no formats"})");
  const std::string unformatted = bare.json().Find("id")->as_string();
  CHECK(f.Put(unformatted, "abc").status == 400);

  const std::string big = f.Create();
  Reply too_large = f.Put(big, std::string(1001, 'x'));
  CHECK(too_large.status == 413);
  Json still = f.Get("/v2/images/" + big).json();
  CHECK(still.Find("status")->as_string() == "queued");
  CHECK_FALSE(std::filesystem::exists(f.BlobPath(big)));
  CHECK(f.IncomingFiles() == 0);
  CHECK(f.Put(big, std::string(1000, 'x')).status == 204);  // the limit itself is fine

  // A client that goes away mid-upload leaves the image queued, with no data
  // and no temporary file.
  const std::string cut = f.Create();
  {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(f.port));
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    std::string req = "PUT /v2/images/" + cut +
                      "/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + kDemo +
                      "\r\nContent-Type: application/octet-stream\r\n"
                      "Content-Length: 900\r\n\r\n" +
                      std::string(300, 'x');
    REQUIRE(send(fd, req.data(), req.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(req.size()));
    // The server is now streaming the body and waits for the rest: its
    // temporary file exists until the client goes away.
    for (int i = 0; i < 1000 && f.IncomingFiles() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(f.IncomingFiles() == 1);
    close(fd);
  }
  for (int i = 0; i < 1000 && f.IncomingFiles() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(f.IncomingFiles() == 0);
  CHECK(f.Get("/v2/images/" + cut).json().Find("status")->as_string() == "queued");
  CHECK_FALSE(std::filesystem::exists(f.BlobPath(cut)));
  CHECK(f.Put(cut, "whole").status == 204);  // and can be uploaded again

  const std::string other = f.Create();
  CHECK(Call(f.port, "PUT", "/v2/images/" + other + "/file", "",
             "application/octet-stream", "abc")
            .status == 401);
  CHECK(Call(f.port, "PUT", "/v2/images/" + other + "/file", kDemo, "text/plain", "abc")
            .status == 415);
  CHECK(f.Put(other, "abc", kOther).status == 404);  // not theirs, not visible
  CHECK(f.Get("/v2/images/" + other).json().Find("status")->as_string() == "queued");
}

TEST_CASE("image API: lists filter, sort and page with Glance's next link") {
  ImageFixture f;
  std::vector<std::string> ids;
  for (const char* name : {"c", "a", "e", "b", "d"}) {
    ids.push_back(f.Create(std::string(R"("name": ")") + name + "\""));
    f.env.AdvanceMicros(1000000);
  }
  f.Create(R"("name": "theirs")", kOther);
  REQUIRE(f.Put(ids[0], "data").status == 204);

  Json all = f.Get("/v2/images").json();
  CHECK(all.Find("first")->as_string() == "/v2/images");
  CHECK(all.Find("schema")->as_string() == "/v2/schemas/images");
  CHECK(all.Find("next") == nullptr);
  // Newest first by default.
  CHECK(Ids(*all.Find("images")) ==
        std::vector<std::string>{ids[4], ids[3], ids[2], ids[1], ids[0]});

  CHECK(Ids(*f.Get("/v2/images?name=e").json().Find("images")) ==
        std::vector<std::string>{ids[2]});
  CHECK(Ids(*f.Get("/v2/images?status=active").json().Find("images")) ==
        std::vector<std::string>{ids[0]});
  CHECK(f.Get("/v2/images?owner=other").json().Find("images")->size() == 0);
  CHECK(f.Get("/v2/images?visibility=private").json().Find("images")->size() == 0);
  CHECK(f.Get("/v2/images?visibility=shared").json().Find("images")->size() == 5);
  CHECK(f.Get("/v2/images", kAdmin).json().Find("images")->size() == 6);

  auto names = [](const Json& body) {
    std::string out;
    for (const Json& i : body.Find("images")->items()) out += i.Find("name")->as_string();
    return out;
  };
  CHECK(names(f.Get("/v2/images?sort=name:asc").json()) == "abcde");
  CHECK(names(f.Get("/v2/images?sort_key=name&sort_dir=desc").json()) == "edcba");
  CHECK(names(f.Get("/v2/images?sort_key=name&sort_dir=asc").json()) == "abcde");

  // Pages of two, following "next" until it is gone.
  std::string url = "/v2/images?sort=name:asc&limit=2";
  std::string seen;
  int pages = 0;
  while (true) {
    Json page = f.Get(url).json();
    seen += names(page);
    ++pages;
    const Json* next = page.Find("next");
    if (next == nullptr) break;
    CHECK(next->as_string().find("marker=") != std::string::npos);
    url = next->as_string();
    REQUIRE(pages < 10);
  }
  CHECK(seen == "abcde");
  CHECK(pages == 3);

  CHECK(f.Get("/v2/images?sort_key=nope").status == 400);
  CHECK(f.Get("/v2/images?sort_dir=sideways").status == 400);
  CHECK(f.Get("/v2/images?sort=name&sort_key=name").status == 400);
  CHECK(f.Get("/v2/images?limit=-1").status == 400);
  CHECK(f.Get("/v2/images?limit=x").status == 400);
  CHECK(f.Get("/v2/images?marker=nope").status == 400);
  CHECK(f.Get("/v2/images?status=bogus").status == 400);
}

TEST_CASE("image API: PATCH adds, replaces and removes metadata as a JSON patch") {
  ImageFixture f;
  const std::string id = f.Create(R"("name": "before", "os_distro": "cirros")");
  Reply r = f.Patch(id, R"([{"op": "replace", "path": "/name", "value": "after"},
                            {"op": "add", "path": "/hw_disk_bus", "value": "virtio"},
                            {"op": "remove", "path": "/os_distro"},
                            {"op": "add", "path": "/min_disk", "value": 2},
                            {"op": "replace", "path": "/tags", "value": ["t"]},
                            {"op": "add", "path": "/protected", "value": true}])");
  INFO(r.body);
  REQUIRE(r.status == 200);
  Json image = r.json();
  CHECK(image.Find("name")->as_string() == "after");
  CHECK(image.Find("hw_disk_bus")->as_string() == "virtio");
  CHECK(image.Find("os_distro") == nullptr);
  CHECK(image.Find("min_disk")->as_int() == 2);
  CHECK(image.Find("tags")->items()[0].as_string() == "t");
  CHECK(image.Find("protected")->as_bool());
  // What GET shows afterwards is what PATCH answered.
  CHECK(f.Get("/v2/images/" + id).json().Find("name")->as_string() == "after");

  CHECK(f.Patch(id, R"([{"op": "replace", "path": "/nope", "value": "x"}])").status ==
        409);
  CHECK(f.Patch(id, R"([{"op": "remove", "path": "/nope"}])").status == 409);
  CHECK(f.Patch(id, R"([{"op": "replace", "path": "/status", "value": "active"}])")
            .status == 403);
  CHECK(f.Patch(id, R"([{"op": "replace", "path": "/visibility", "value": "public"}])")
            .status == 403);  // publicize_image is for admins
  CHECK(f.Patch(id, R"([{"op": "replace", "path": "/visibility", "value": "public"}])",
                kAdmin)
            .status == 200);
  CHECK(f.Patch(id, R"([{"op": "replace", "path": "/name", "value": "x"}])", kOther)
            .status == 403);  // visible (public) but not theirs
  CHECK(Call(f.port, "PATCH", "/v2/images/" + id, kDemo, "application/json",
             R"([{"op": "replace", "path": "/name", "value": "x"}])")
            .status == 415);
  CHECK(f.Patch(id, R"({"op": "replace"})").status == 400);
  // A failed patch changed nothing.
  CHECK(f.Get("/v2/images/" + id).json().Find("name")->as_string() == "after");
}

TEST_CASE(
    "image API: delete removes the record and the data, but not of a protected image") {
  ImageFixture f;
  const std::string id = f.Create();
  REQUIRE(f.Put(id, "bytes").status == 204);
  REQUIRE(std::filesystem::exists(f.BlobPath(id)));
  CHECK(f.Delete(id, kOther).status == 404);
  Reply deleted = f.Delete(id);
  CHECK(deleted.status == 204);
  CHECK(f.Get("/v2/images/" + id).status == 404);
  CHECK_FALSE(std::filesystem::exists(f.BlobPath(id)));
  CHECK(f.Get("/v2/images").json().Find("images")->size() == 0);
  CHECK(f.Delete(id).status == 404);

  const std::string kept = f.Create(R"("name": "kept", "protected": true)");
  Reply refused = f.Delete(kept);
  CHECK(refused.status == 403);
  CHECK(refused.json().Find("message")->as_string() ==
        "Image " + kept + " is protected and cannot be deleted.");
  REQUIRE(f.Patch(kept, R"([{"op": "replace", "path": "/protected", "value": false}])")
              .status == 200);
  CHECK(f.Delete(kept).status == 204);
}

TEST_CASE(
    "image API: the Compute API's image metadata reads and changes the image's "
    "properties") {
  ImageFixture f;
  const std::string id = f.Create(R"("name": "meta", "os_distro": "cirros")");
  const std::string base = "/v2.1/images/" + id + "/metadata";
  auto call = [&](const char* method, const std::string& path, const std::string& body) {
    return Call(f.compute_port, method, path, kDemo, "application/json", body);
  };
  auto metadata = [&] {
    Reply r = Call(f.compute_port, "GET", base, kDemo);
    REQUIRE(r.status == 200);
    return r.json().Find("metadata")->Dump();
  };
  CHECK(metadata() == R"({"os_distro":"cirros"})");

  Reply merged = call("POST", base, R"({"metadata": {"os_version": "1", "a": "b"}})");
  CHECK(merged.status == 200);
  CHECK(merged.json().Find("metadata")->Dump() ==
        R"({"a":"b","os_distro":"cirros","os_version":"1"})");
  Reply replaced = call("PUT", base, R"({"metadata": {"os_version": "2"}})");
  CHECK(replaced.status == 200);
  CHECK(metadata() == R"({"os_version":"2"})");
  // The Image API sees the same properties: one model.
  Json image = f.Get("/v2/images/" + id).json();
  CHECK(image.Find("os_version")->as_string() == "2");
  CHECK(image.Find("os_distro") == nullptr);
  CHECK(image.Find("name")->as_string() == "meta");  // core attributes untouched

  Reply item = call("PUT", base + "/arch", R"({"meta": {"arch": "x86_64"}})");
  CHECK(item.status == 200);
  CHECK(item.json().Find("meta")->Dump() == R"({"arch":"x86_64"})");
  Reply shown = Call(f.compute_port, "GET", base + "/arch", kDemo);
  CHECK(shown.json().Find("meta")->Dump() == R"({"arch":"x86_64"})");
  CHECK(call("PUT", base + "/arch", R"({"meta": {"other": "x"}})").status == 400);
  CHECK(call("PUT", base + "/arch", R"({"meta": {"arch": "x", "b": "y"}})").status ==
        400);
  CHECK(Call(f.compute_port, "DELETE", base + "/arch", kDemo).status == 204);
  Reply gone = Call(f.compute_port, "DELETE", base + "/arch", kDemo);
  CHECK(gone.status == 404);
  CHECK(gone.json().Find("itemNotFound")->Find("message")->as_string() ==
        "Invalid metadata key");
  CHECK(Call(f.compute_port, "GET", base + "/arch", kDemo).status == 404);
  CHECK(metadata() == R"({"os_version":"2"})");

  // Past the 128-item limit servers have too: 403, and nothing changed.
  std::string many = R"({"metadata": {)";
  for (int i = 0; i < 128; ++i)
    many += (i ? "," : "") + ("\"k" + std::to_string(i) + "\": \"v\"");
  many += "}}";
  Reply over = call("POST", base, many);
  CHECK(over.status == 403);
  CHECK(over.json().Find("forbidden")->Find("message")->as_string() ==
        "Image metadata limit exceeded");
  CHECK(metadata() == R"({"os_version":"2"})");
  // Another project's image: it cannot see it, nor change it.
  CHECK(Call(f.compute_port, "GET", base, kOther).status == 404);
  CHECK(Call(f.compute_port, "GET", "/v2.1/images/nope/metadata", kDemo).status == 404);
}

TEST_CASE("image API: a private image is invisible to other projects") {
  ImageFixture f;
  const std::string mine = f.Create(R"("name": "mine", "visibility": "private")");
  Reply theirs = f.Get("/v2/images/" + mine, kOther);
  CHECK(theirs.status == 404);
  CHECK(theirs.json().Find("message")->as_string() == "No image found with ID " + mine);
  CHECK(f.Get("/v2/images", kOther).json().Find("images")->size() == 0);
  CHECK(f.Get("/v2/images/" + mine + "/file", kOther).status == 404);
  CHECK(f.Get("/v2/images/" + mine, kAdmin).status == 200);
  // The Compute API neither shows nor boots it for them either.
  REQUIRE(f.Put(mine, "disk").status == 204);
  CHECK(Call(f.compute_port, "GET", "/v2.1/images/" + mine, kOther).status == 404);
  Reply boot = Call(
      f.compute_port, "POST", "/v2.1/servers", kOther, "application/json",
      R"({"server": {"name": "vm", "flavorRef": "1", "imageRef": ")" + mine + R"("}})");
  CHECK(boot.status == 400);
  CHECK(boot.body.find("Can not find requested image") != std::string::npos);

  CHECK(f.Post(R"({"name": "pub", "visibility": "public"})").status == 403);
  const std::string pub = f.Create(R"("name": "pub", "visibility": "public")", kAdmin);
  const std::string community = f.Create(R"("name": "c", "visibility": "community")");
  CHECK(f.Get("/v2/images/" + pub, kOther).status == 200);
  CHECK(f.Get("/v2/images/" + community, kOther).status == 200);
  // Community images are listed only when asked for.
  CHECK(Ids(*f.Get("/v2/images", kOther).json().Find("images")) ==
        std::vector<std::string>{pub});
  CHECK(Ids(*f.Get("/v2/images?visibility=community", kOther).json().Find("images")) ==
        std::vector<std::string>{community});
  CHECK(f.Post(R"({"name": "x", "status": "active"})").status == 403);
  CHECK(f.Post(R"({"name": "x", "owner": "other"})").status == 403);
  CHECK(f.Post(R"({"name": "x", "disk_format": "floppy"})").status == 400);
  CHECK(f.Post(R"({"name": "x", "min_ram": -1})").status == 400);
  CHECK(f.Post(R"({"name": "x", "id": "not-a-uuid"})").status == 400);
}

TEST_CASE("image API: the Compute API proxies new images and boots only active ones") {
  ImageFixture f;
  const std::string id = f.Create(R"("name": "boot-me", "visibility": "public")", kAdmin);
  Reply proxied = Call(f.compute_port, "GET", "/v2.1/images/" + id, kDemo);
  REQUIRE(proxied.status == 200);
  CHECK(proxied.json().Find("image")->Find("status")->as_string() == "SAVING");
  Reply listed = Call(f.compute_port, "GET", "/v2.1/images/detail", kDemo);
  CHECK(Ids(*listed.json().Find("images")) == std::vector<std::string>{id});

  const std::string boot =
      R"({"server": {"name": "vm", "flavorRef": "1", "imageRef": ")" + id + R"("}})";
  Reply refused =
      Call(f.compute_port, "POST", "/v2.1/servers", kDemo, "application/json", boot);
  CHECK(refused.status == 400);
  CHECK(refused.json().Find("badRequest")->Find("message")->as_string() ==
        "Image " + id + " is not active.");

  REQUIRE(f.Put(id, "disk", kAdmin).status == 204);
  Json active = Call(f.compute_port, "GET", "/v2.1/images/" + id, kDemo).json();
  CHECK(active.Find("image")->Find("status")->as_string() == "ACTIVE");
  CHECK(active.Find("image")->Find("OS-EXT-IMG-SIZE:size")->as_int() == 4);
  CHECK(Call(f.compute_port, "POST", "/v2.1/servers", kDemo, "application/json", boot)
            .status == 202);

  REQUIRE(f.Delete(id, kAdmin).status == 204);
  CHECK(Call(f.compute_port, "GET", "/v2.1/images/" + id, kDemo).status == 404);
}

namespace {

// The message of a Nova fault body ({"badRequest": {"message": ...}}).
std::string NovaMessage(const Reply& r) {
  const Json body = r.json();
  for (const auto& [kind, fault] : body.members()) {
    if (const Json* m = fault.Find("message")) return m->as_string();
  }
  return "";
}

// A server of `token`'s caller booted from `image`; the test plays the
// scheduler and a compute host, so it is ACTIVE on "hv1". Returns its id.
std::string ActiveServer(ImageFixture& f, const std::string& token,
                         const std::string& image) {
  Reply boot = Call(
      f.compute_port, "POST", "/v2.1/servers", token, "application/json",
      R"({"server": {"name": "vm", "flavorRef": "1", "imageRef": ")" + image + R"("}})");
  INFO(boot.body);
  REQUIRE(boot.status == 202);
  const std::string id = boot.json().Find("server")->Find("id")->as_string();
  testing::ActivateOnHost(*f.log, f.env.Now(), id, "hv1");
  REQUIRE(f.runner->WaitFor(f.log->Head().value(), 5000).ok());
  return id;
}

size_t ServerEvents(ImageFixture& f, const std::string& id) {
  return ReadWholeStream(*f.log, InstanceStream(InstanceId(id))).value().size();
}

}  // namespace

TEST_CASE(
    "compute API: an image the caller cannot GET is refused by create, rebuild and "
    "rescue exactly as a missing one, appending nothing") {
  ImageFixture f;
  const std::string missing = "6a5c2bd7-0c55-4f6b-9d8e-3c1f2a9b7e40";
  // alice's private image, active, which bob cannot see in the Image API.
  const std::string hidden = f.Create(R"("name": "mine", "visibility": "private")");
  REQUIRE(f.Put(hidden, "disk").status == 204);
  REQUIRE(f.Get("/v2/images/" + hidden, kOther).status == 404);
  const std::string pub = f.Create(R"("name": "pub", "visibility": "public")", kAdmin);
  REQUIRE(f.Put(pub, "disk", kAdmin).status == 204);
  const std::string id = ActiveServer(f, kOther, pub);
  const std::string action = "/v2.1/servers/" + id + "/action";
  const size_t events = ServerEvents(f, id);

  auto post = [&](const std::string& path, const std::string& body) {
    return Call(f.compute_port, "POST", path, kOther, "application/json", body);
  };
  for (const std::string& image : {hidden, missing}) {
    INFO("image " << image);
    Reply create = post("/v2.1/servers", R"({"server": {"name": "vm", "flavorRef": "1", )"
                                         R"("imageRef": ")" +
                                             image + R"("}})");
    CHECK(create.status == 400);
    CHECK(NovaMessage(create) == "Can not find requested image");
    Reply rebuild = post(action, R"({"rebuild": {"imageRef": ")" + image + R"("}})");
    CHECK(rebuild.status == 400);
    CHECK(NovaMessage(rebuild) == "Cannot find image for rebuild");
    Reply rescue =
        post(action, R"({"rescue": {"rescue_image_ref": ")" + image + R"("}})");
    CHECK(rescue.status == 400);
    CHECK(NovaMessage(rescue) ==
          "Requested rescue image '" + image + "' is not supported");
  }
  CHECK(ServerEvents(f, id) == events);
  Reply server = Call(f.compute_port, "GET", "/v2.1/servers/" + id, kOther);
  CHECK(server.json().Find("server")->Find("status")->as_string() == "ACTIVE");
  CHECK(server.json().Find("server")->Find("image")->Find("id")->as_string() == pub);

  // Images it can see are taken: a community image, and (admins see all) the
  // private one for the admin.
  const std::string community = f.Create(R"("name": "c", "visibility": "community")");
  REQUIRE(f.Put(community, "disk").status == 204);
  CHECK(post(action, R"({"rescue": {"rescue_image_ref": ")" + community + R"("}})")
            .status == 200);
  const std::string other = ActiveServer(f, kOther, pub);
  CHECK(Call(f.compute_port, "POST", "/v2.1/servers/" + other + "/action", kAdmin,
             "application/json", R"({"rebuild": {"imageRef": ")" + hidden + R"("}})")
            .status == 202);
}

TEST_CASE(
    "compute API: create, rebuild and rescue refuse an image that is not active, as "
    "Nova's ImageNotActive") {
  ImageFixture f;
  const std::string pub = f.Create(R"("name": "pub", "visibility": "public")", kAdmin);
  REQUIRE(f.Put(pub, "disk", kAdmin).status == 204);
  const std::string id = ActiveServer(f, kDemo, pub);
  const std::string action = "/v2.1/servers/" + id + "/action";
  const size_t events = ServerEvents(f, id);
  // The caller's own image, queued: no data was uploaded.
  const std::string queued = f.Create(R"("name": "empty")");
  auto post = [&](const std::string& path, const std::string& body) {
    return Call(f.compute_port, "POST", path, kDemo, "application/json", body);
  };
  Reply create = post("/v2.1/servers", R"({"server": {"name": "vm", "flavorRef": "1", )"
                                       R"("imageRef": ")" +
                                           queued + R"("}})");
  CHECK(create.status == 400);
  CHECK(NovaMessage(create) == "Image " + queued + " is not active.");
  Reply rebuild = post(action, R"({"rebuild": {"imageRef": ")" + queued + R"("}})");
  CHECK(rebuild.status == 400);
  CHECK(NovaMessage(rebuild) == "Image " + queued + " is not active.");
  Reply rescue = post(action, R"({"rescue": {"rescue_image_ref": ")" + queued + R"("}})");
  CHECK(rescue.status == 400);
  CHECK(NovaMessage(rescue) ==
        "Requested rescue image '" + queued + "' is not supported");
  CHECK(ServerEvents(f, id) == events);
}

TEST_CASE("compute API: a rebuild checks the server's state before its image, as Nova") {
  ImageFixture f;
  const std::string pub = f.Create(R"("name": "pub", "visibility": "public")", kAdmin);
  REQUIRE(f.Put(pub, "disk", kAdmin).status == 204);
  const std::string id = ActiveServer(f, kDemo, pub);
  const std::string action = "/v2.1/servers/" + id + "/action";
  REQUIRE(
      Call(f.compute_port, "POST", action, kDemo, "application/json", R"({"lock": null})")
          .status == 202);
  Reply locked =
      Call(f.compute_port, "POST", action, kDemo, "application/json",
           R"({"rebuild": {"imageRef": "6a5c2bd7-0c55-4f6b-9d8e-3c1f2a9b7e40"}})");
  CHECK(locked.status == 409);
  CHECK(NovaMessage(locked) == "Instance " + id + " is locked");
  Reply unknown_server = Call(
      f.compute_port, "POST", "/v2.1/servers/6a5c2bd7-0c55-4f6b-9d8e-3c1f2a9b7e41/action",
      kDemo, "application/json",
      R"({"rebuild": {"imageRef": "6a5c2bd7-0c55-4f6b-9d8e-3c1f2a9b7e40"}})");
  CHECK(unknown_server.status == 404);
}

TEST_CASE(
    "image API: control characters in a property name or value are refused with 400 on "
    "create and patch, and nothing changes") {
  ImageFixture f;
  auto message = [](const Reply& r) { return r.json().Find("message")->as_string(); };
  const std::pair<const char*, const char*> bad_creates[] = {
      {R"({"name": "x", "os_\u0007bell": "v"})",
       "Property names can't contain control characters."},
      {R"({"name": "x", "os_distro": "cirros\u0000"})",
       "Property os_distro can't contain control characters."},
      {R"({"name": "x", "os_distro": "a\nb"})",
       "Property os_distro can't contain control characters."},
      {R"({"name": "x", "os_distro": "\u001b[2J"})",
       "Property os_distro can't contain control characters."},
      {R"({"name": "x", "os_distro": "\u007f"})",
       "Property os_distro can't contain control characters."},
      {R"({"name": "x", "os_distro": "\u0085"})",  // C1: NEXT LINE
       "Property os_distro can't contain control characters."},
  };
  for (const auto& [body, expected] : bad_creates) {
    INFO(body);
    Reply r = f.Post(body);
    CHECK(r.status == 400);
    CHECK(message(r) == expected);
    CHECK(r.json().Find("code")->as_string() == "400 Bad Request");
  }
  CHECK(f.Get("/v2/images").json().Find("images")->size() == 0);

  const std::string id = f.Create(R"("name": "img", "os_distro": "caf\u00e9 \u263a")");
  Reply bad_value =
      f.Patch(id, R"([{"op": "add", "path": "/hw_disk_bus", "value": "virtio\r\n"}])");
  CHECK(bad_value.status == 400);
  CHECK(message(bad_value) == "Property hw_disk_bus can't contain control characters.");
  Reply bad_key =
      f.Patch(id, R"([{"op": "add", "path": "/hw\u0000bus", "value": "virtio"}])");
  CHECK(bad_key.status == 400);
  CHECK(message(bad_key) == "Property names can't contain control characters.");
  // The Compute API's image metadata go through the same patch.
  Reply proxied = Call(f.compute_port, "POST", "/v2.1/images/" + id + "/metadata", kDemo,
                       "application/json", R"({"metadata": {"os_distro": "\u0001"}})");
  CHECK(proxied.status == 400);
  Json image = f.Get("/v2/images/" + id).json();
  CHECK(image.Find("os_distro")->as_string() == "caf\u00e9 \u263a");
  CHECK(image.Find("hw_disk_bus") == nullptr);
}

}  // namespace chronova::testing
