// libFuzzer target: request bodies as the Compute API parses them — the JSON
// parser (and its printer: what parses must print and parse to the same text),
// then every body schema of api/compute/server_schemas.h.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/compute/server_schemas.h"
#include "api/http/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chronova;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<Json> json = Json::Parse(text);
  if (!json.ok()) return 0;
  const std::string dumped = json->Dump();
  Result<Json> again = Json::Parse(dumped);
  if (!again.ok() || again->Dump() != dumped) __builtin_trap();
  (void)json->PythonRepr();
  (void)json->PythonStr();
  for (bool legacy : {false, true}) {
    CreateServerSchemaOptions options;
    options.legacy_v2 = legacy;
    (void)ParseCreateServerBody(*json, options);
    (void)ParseUpdateServerBody(*json, options);
  }
  (void)ParseRebuildBody(*json);
  (void)ParseRescueBody(*json);
  (void)ParseCreateImageBody(*json);
  (void)ParseMetadataBody(*json, "metadata");
  (void)ParseMetadataBody(*json, "meta");
  return 0;
}
