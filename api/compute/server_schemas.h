// The body of POST /servers, checked as Nova checks it: its JSON schema
// (nova/api/openstack/compute/schemas/servers.py `create`, microversion 2.1)
// with jsonschema's error wording, then the controller's own checks
// (min_count <= max_count, imageRef present). Nothing here looks at the read
// models: unknown flavors and images are ComputeService's business.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "api/compute/schema.h"
#include "api/http/json.h"
#include "api/http/microversion.h"
#include "api/service/compute_service.h"
#include "core/status.h"

namespace chronova {

// Which of Nova's name schemas applies.
enum class NameRules {
  kStrict,  // parameter_types.name: no leading or trailing space
  kLegacy,  // name_with_leading_trailing_spaces (legacy v2): one non-space character
};

// parameter_types.description: null, or at most `max_len` printable
// characters (spaces anywhere); 65535 for a flavor's (2.55).
MaybeError CheckDescription(const Json& v, DescriptionChange* out, size_t max_len = 255);

// parameter_types.metadata: an object of 1-255 character keys and 0-255
// character string values; stores them.
MaybeError CheckMetadata(const std::string& field, const Json& v,
                         std::map<std::string, std::string>* out);

// parameter_types.fqdn (2.74's host and hypervisor_hostname, 2.56's migrate
// host): 1 to 255 letters, digits, '-', '_' and '.'.
MaybeError CheckFqdn(const std::string& field, const Json& v);

// parameter_types.disk_config: "AUTO" (true) or "MANUAL" (false).
MaybeError CheckDiskConfig(const Json& v, std::optional<bool>* auto_disk_config);

// A name: string, 1..255 characters, printable, as `rules` say (jsonschema's
// words otherwise).
MaybeError CheckName(const std::string& field, const Json& v, NameRules rules);

struct ParsedCreateServer {
  CreateServerRequest request;
  Json security_groups;    // as the request gave it; null if absent
  std::string admin_pass;  // as the request gave it; empty if absent
  bool return_reservation_id = false;
  // "none" or "auto" (2.37), "list" for a list of networks, "" if absent.
  // chronova has no network service: none of them allocates anything.
  std::string networks;
};

struct CreateServerSchemaOptions {
  // The legacy v2 API (/v2): unknown properties are dropped instead of
  // rejected, and names may carry leading/trailing spaces (they are stripped).
  bool legacy_v2 = false;
  // The negotiated microversion: "description" from 2.19.
  ApiVersion version = kMinComputeVersion;
};

// InvalidArgument with Nova's message, e.g. "Invalid input for field/attribute
// server. Value: {'flavorRef': '1'}. 'name' is a required property".
Result<ParsedCreateServer> ParseCreateServerBody(
    const Json& body,
    const CreateServerSchemaOptions& options = CreateServerSchemaOptions());

// The body of the rebuild action (schemas/servers.py `base_rebuild`, 2.1).
struct ParsedRebuild {
  std::string image_ref;
  std::optional<std::string> name;
  std::optional<std::map<std::string, std::string>> metadata;
  std::string admin_pass;                // as the request gave it; empty if absent
  DescriptionChange description;         // 2.19
  std::optional<bool> auto_disk_config;  // OS-DCF:diskConfig, if given
  RebuildChanges changes;                // 2.54 key_name, 2.57 user_data, 2.63 certs
};
// `body` is the whole action body {"rebuild": {...}}; InvalidArgument with
// Nova's message otherwise.
Result<ParsedRebuild> ParseRebuildBody(const Json& body,
                                       ApiVersion version = kMinComputeVersion);
// The body of the rescue action (schemas/rescue.py): {"rescue": null} or
// {"rescue": {"adminPass": "...", "rescue_image_ref": "<image uuid>"}}.
struct ParsedRescue {
  std::string admin_pass;        // empty if absent
  std::string rescue_image_ref;  // empty if absent: the instance's own image
};
// `body` is the whole action body; InvalidArgument with Nova's message otherwise.
Result<ParsedRescue> ParseRescueBody(const Json& body);

// The body of the createImage action (schemas/servers.py `create_image`, 2.1).
struct ParsedCreateImage {
  std::string name;
  std::map<std::string, std::string> metadata;
};
// `body` is the whole action body {"createImage": {...}}; InvalidArgument with
// Nova's message otherwise.
Result<ParsedCreateImage> ParseCreateImageBody(const Json& body);
// PUT /servers/{id} at 2.1 (schemas/servers.py update), in the same words.
Result<UpdateServerRequest> ParseUpdateServerBody(
    const Json& body,
    const CreateServerSchemaOptions& options = CreateServerSchemaOptions());

// The server-metadata bodies: `field` "metadata" (POST, PUT all) or "meta"
// (PUT one key: exactly one item). Keys and values as parameter_types.metadata.
Result<std::map<std::string, std::string>> ParseMetadataBody(const Json& body,
                                                             const std::string& field);

// oslo's bool_from_string(strict=True): nullopt for anything it rejects.
std::optional<bool> ParseStrictBool(const std::string& s);

}  // namespace chronova
