// bench-json: what JSON costs the Compute API — parsing a create-server body
// and checking its schema, and printing and parsing a /servers/detail page —
// so a change of JSON library can be measured (docs/performance.md).
//
// Usage: bench-json [--seconds S]
#include <chrono>
#include <cstdio>
#include <string>

#include "api/compute/server_schemas.h"
#include "api/http/json.h"
#include "tools/flags.h"

namespace chronova {
namespace {

constexpr char kCreateBody[] = R"({"server": {"name": "web-01", "imageRef":
  "70a599e0-31e7-49b7-b260-868f441e862b", "flavorRef": "1", "key_name": "mykey",
  "availability_zone": "nova", "metadata": {"role": "web", "tier": "front",
  "owner": "team-a"}, "min_count": 1, "max_count": 1, "security_groups":
  [{"name": "default"}], "user_data": "IyEvYmluL3NoCmVjaG8gaGVsbG8K"}})";

// One server as Nova's detail view shows it (the shape, not the values).
Json DetailServer(int i) {
  const std::string id = "4f1c3b1a-8a9e-4b7e-9a55-" + std::to_string(100000000000 + i);
  Json links = Json::MakeArray(
      {Json::MakeObject(
           {{"rel", "self"}, {"href", "http://127.0.0.1:8774/v2.1/servers/" + id}}),
       Json::MakeObject(
           {{"rel", "bookmark"}, {"href", "http://127.0.0.1:8774/servers/" + id}})});
  return Json::MakeObject({
      {"id", id},
      {"name", "server-" + std::to_string(i)},
      {"status", "ACTIVE"},
      {"tenant_id", "0c2ef1a1f3b14d0e8a1f2b3c4d5e6f70"},
      {"user_id", "8d0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d"},
      {"metadata", Json::MakeObject({{"role", "web"}, {"tier", "front"}})},
      {"hostId", "7f2a9c1e5b8d4f3a6c0e9b2d7a5f1c8e4b6d0a3f9e2c7b5a1d8f4e6c"},
      {"image", Json::MakeObject(
                    {{"id", "70a599e0-31e7-49b7-b260-868f441e862b"}, {"links", links}})},
      {"flavor", Json::MakeObject({{"id", "1"}, {"links", links}})},
      {"created", "2026-12-06T12:00:00Z"},
      {"updated", "2026-12-06T12:00:05Z"},
      {"addresses", Json::MakeObject()},
      {"accessIPv4", ""},
      {"accessIPv6", ""},
      {"links", links},
      {"OS-DCF:diskConfig", "MANUAL"},
      {"progress", 0},
      {"OS-EXT-AZ:availability_zone", "nova"},
      {"config_drive", ""},
      {"key_name", Json()},
      {"OS-SRV-USG:launched_at", "2026-12-06T12:00:05.000000"},
      {"OS-SRV-USG:terminated_at", Json()},
      {"security_groups", Json::MakeArray({Json::MakeObject({{"name", "default"}})})},
      {"OS-EXT-STS:task_state", Json()},
      {"OS-EXT-STS:vm_state", "active"},
      {"OS-EXT-STS:power_state", 1},
      {"os-extended-volumes:volumes_attached", Json::MakeArray()},
  });
}

template <typename F>
void Measure(const char* what, double seconds, size_t bytes, F f) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  size_t n = 0;
  double elapsed = 0;
  do {
    for (int k = 0; k < 16; ++k, ++n) f();
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  std::printf("%s: %.0f/s, %.1f us each, %.0f MB/s\n", what, n / elapsed,
              elapsed / n * 1e6, bytes * n / elapsed / 1e6);
}

int Run(int argc, char** argv) {
  auto flags = Flags::Parse(argc, argv, {"seconds"}, {});
  if (!flags.ok()) {
    std::fprintf(stderr, "usage: bench-json [--seconds S]\n");
    return 2;
  }
  const double seconds = std::stod(flags->Get("seconds", "2"));
  const std::string body = kCreateBody;
  {
    CreateServerSchemaOptions options;
    Result<ParsedCreateServer> p = ParseCreateServerBody(Json::Parse(body).value(), options);
    if (!p.ok()) {
      std::fprintf(stderr, "bench-json: %s\n", p.status().ToString().c_str());
      return 1;
    }
  }
  Measure("create-server body: parse and check its schema", seconds, body.size(), [&] {
    Result<Json> j = Json::Parse(body);
    CreateServerSchemaOptions options;
    if (!j.ok() || !ParseCreateServerBody(*j, options).ok()) std::abort();
  });
  Json list = Json::MakeArray();
  for (int i = 0; i < 1000; ++i) list.Append(DetailServer(i));
  const Json page = Json::MakeObject({{"servers", std::move(list)}});
  const std::string text = page.Dump();
  Measure("/servers/detail page of 1000: print", seconds, text.size(), [&] {
    if (page.Dump().size() != text.size()) std::abort();
  });
  Measure("/servers/detail page of 1000: parse", seconds, text.size(), [&] {
    if (!Json::Parse(text).ok()) std::abort();
  });
  return 0;
}

}  // namespace
}  // namespace chronova

int main(int argc, char** argv) { return chronova::Run(argc, argv); }
