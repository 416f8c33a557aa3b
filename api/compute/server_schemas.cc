// Validation follows jsonschema's order (the schema's keywords in order, the
// properties in the schema's order) so the first error reported is the one
// Nova reports. Messages use python3-jsonschema 4.10's wording (Debian 12's).
#include "api/compute/server_schemas.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "api/compute/schema.h"
#include "core/instance_decider.h"
#include "core/utf8.h"

namespace chronova {
namespace {

// The code points of a string (the JSON parser has checked its UTF-8; a bad
// byte would count as U+FFFD).
std::vector<uint32_t> CodePointsOf(const std::string& s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    out.push_back(DecodeUtf8(s, &i, &cp) ? cp : 0xFFFD);
  }
  return out;
}

// Unicode category Zs (the "horizontal" spaces).
bool IsSpaceSeparator(uint32_t cp) {
  return cp == 0x20 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// nova/api/validation/parameter_types.py _is_printable over the range Nova
// builds its regex from (U+0000..U+FFFE): no C* (control, format, surrogate,
// private use) and no Z* but Zs. Unassigned code points are not told apart.
// Nothing beyond U+FFFE is in Nova's range on any Python build, so emoji are
// refused as Nova refuses them (its test_api_validation.py expects U+10000 to
// fail).
bool IsPrintable(uint32_t cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp >= 0xFFFF)
    return false;  // Cc, beyond
  if (cp == 0xAD || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
      (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF) {
    return false;  // Cf
  }
  if (cp >= 0xD800 && cp <= 0xF8FF) return false;  // Cs, Co
  if (cp == 0x2028 || cp == 0x2029) return false;  // Zl, Zp
  return true;
}

}  // namespace

namespace {

constexpr ApiVersion kDescriptionVersion{2, 19};

// `object` without `key`: the properties to check for a version that allows `key`.
Json Without(const Json& object, std::string_view key) {
  Json out = Json::MakeObject();
  for (const auto& [k, v] : object.members()) {
    if (k != key) out[k] = v;
  }
  return out;
}

}  // namespace

MaybeError CheckDescription(const Json& v, DescriptionChange* out, size_t max_len) {
  out->set = true;
  if (v.is_null()) return std::nullopt;
  if (auto e = Error("description", v, TypeMessage(v, {"string", "null"}))) return e;
  if (auto e = Error("description", v, LengthMessage(v, 0, max_len))) return e;
  std::vector<uint32_t> cps = CodePointsOf(v.as_string());
  if (!std::all_of(cps.begin(), cps.end(), IsPrintable)) {
    return Error("description", v,
                 v.PythonRepr() + " does not match the printable characters pattern");
  }
  out->value = v.as_string();
  return std::nullopt;
}

// parameter_types.fqdn (2.74's host and hypervisor_hostname): 1 to 255
// characters of letters, digits, '-', '_' and '.'.
MaybeError CheckFqdn(const std::string& field, const Json& v) {
  if (auto e = Error(field, v, TypeMessage(v, {"string"}))) return e;
  if (auto e = Error(field, v, LengthMessage(v, 1, 255))) return e;
  for (char c : v.as_string()) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
          c == '.')) {
      return Error(field, v, v.PythonRepr() + " does not match '^[a-zA-Z0-9-._]*$'");
    }
  }
  return std::nullopt;
}

MaybeError CheckDiskConfig(const Json& v, std::optional<bool>* auto_disk_config) {
  if (auto e = Error("OS-DCF:diskConfig", v, TypeMessage(v, {"string"}))) return e;
  if (auto e = Error("OS-DCF:diskConfig", v, EnumMessage(v, {"AUTO", "MANUAL"})))
    return e;
  *auto_disk_config = v.as_string() == "AUTO";
  return std::nullopt;
}

MaybeError CheckName(const std::string& field, const Json& v, NameRules rules) {
  if (auto e = Error(field, v, TypeMessage(v, {"string"}))) return e;
  if (auto e = Error(field, v, LengthMessage(v, 1, 255))) return e;
  std::vector<uint32_t> cps = CodePointsOf(v.as_string());
  bool ok = std::all_of(cps.begin(), cps.end(), IsPrintable);
  if (rules == NameRules::kLegacy) {
    ok = ok && !std::all_of(cps.begin(), cps.end(), IsSpaceSeparator);
  } else {
    ok = ok && !IsSpaceSeparator(cps.front()) && !IsSpaceSeparator(cps.back());
  }
  if (ok) return std::nullopt;
  SchemaError e{field, v,
                rules == NameRules::kLegacy
                    ? "An invalid 'name' value was provided. The name must be: printable "
                      "characters with at least one non space character"
                    : "An invalid 'name' value was provided. The name must be: printable "
                      "characters. Can not start or end with whitespace.",
                /*verbatim=*/true};
  return e;
}

namespace {

bool IsBase64(const std::string& s) {
  // Python's b64decode (non-validating) drops characters outside the alphabet
  // and then needs whole quanta.
  size_t n = 0;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=')
      ++n;
  }
  return n % 4 == 0;
}

MaybeError CheckIp(const std::string& field, const Json& v, int family,
                   const char* format) {
  if (auto e = Error(field, v, TypeMessage(v, {"string"}))) return e;
  unsigned char buf[16];
  if (inet_pton(family, v.as_string().c_str(), buf) != 1) {
    return Error(field, v, v.PythonRepr() + " is not a " + Quoted(format));
  }
  return std::nullopt;
}

// The address as Nova stores it (netaddr's canonical text, RFC 5952 for IPv6:
// "0:0::babe:220.12.22.2" is "::babe:dc0c:1602"). `text` has passed CheckIp.
std::string CanonicalIp(const std::string& text, int family) {
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(family, text.c_str(), buf) != 1 ||
      inet_ntop(family, buf, out, sizeof(out)) == nullptr) {
    return text;
  }
  return out;
}

}  // namespace

MaybeError CheckMetadata(const std::string& field, const Json& v,
                         std::map<std::string, std::string>* out) {
  if (auto e = Error(field, v, TypeMessage(v, {"object"}))) return e;
  auto key_ok = [](const std::string& k) {
    if (k.empty() || CodePoints(k) > 255) return false;
    for (char c : k) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
            c == ':' || c == '.' || c == ' ')) {
        return false;
      }
    }
    return true;
  };
  for (const auto& [key, value] : v.members()) {
    if (!key_ok(key)) continue;
    if (auto e = Error(key, value, TypeMessage(value, {"string"}))) return e;
    if (auto e = Error(key, value, LengthMessage(value, 0, 255))) return e;
  }
  std::string extras;
  int count = 0;
  for (const auto& [key, value] : v.members()) {
    if (key_ok(key)) {
      (*out)[key] = value.as_string();
      continue;
    }
    if (count++) extras += ", ";
    extras += Json(key).PythonRepr();
  }
  if (count) {
    return Error(field, v,
                 "Additional properties are not allowed (" + extras +
                     (count == 1 ? " was" : " were") + " unexpected)");
  }
  return std::nullopt;
}

namespace {

// os:scheduler_hints: an object (Nova lets unknown hints through). Values are
// kept as lists of strings: a string is one item; anything else its JSON text.
MaybeError CheckHints(const std::string& field, const Json& v,
                      std::map<std::string, std::vector<std::string>>* out) {
  if (auto e = Error(field, v, TypeMessage(v, {"object"}))) return e;
  if (const Json* group = v.Find("group")) {
    if (auto e = Error("group", *group, TypeMessage(*group, {"string"}))) return e;
    if (!IsUuidLike(group->as_string())) {
      return Error("group", *group, group->PythonRepr() + " is not a 'uuid'");
    }
  }
  for (const auto& [key, value] : v.members()) {
    std::vector<std::string>& items = (*out)[key];
    if (value.is_string()) {
      items.push_back(value.as_string());
    } else if (value.is_array()) {
      for (const Json& item : value.items()) {
        items.push_back(item.is_string() ? item.as_string() : item.Dump());
      }
    } else {
      items.push_back(value.Dump());
    }
  }
  return std::nullopt;
}

constexpr ApiVersion kNetworkTagVersion{2, 32};
constexpr ApiVersion kNetworksRequiredVersion{2, 37};
constexpr ApiVersion kNetworkTagAgainVersion{2, 42};
constexpr ApiVersion kTagsAtCreateVersion{2, 52};
constexpr ApiVersion kRebuildKeyNameVersion{2, 54};
constexpr ApiVersion kNoPersonalityVersion{2, 57};
constexpr ApiVersion kTrustedCertsVersion{2, 63};
constexpr ApiVersion kHostAtCreateVersion{2, 74};

// One item of server.networks: {fixed_ip, port, uuid[, tag]} and nothing else.
// From 2.37 `uuid` must be a UUID.
MaybeError CheckNetworkItem(const std::string& index, const Json& item,
                            const CreateServerSchemaOptions& options) {
  if (auto e = Error(index, item, TypeMessage(item, {"object"}))) return e;
  if (const Json* ip = item.Find("fixed_ip")) {
    if (auto e = Error("fixed_ip", *ip, TypeMessage(*ip, {"string"}))) return e;
    unsigned char buf[16];
    const std::string& text = ip->as_string();
    if (inet_pton(AF_INET, text.c_str(), buf) != 1 &&
        inet_pton(AF_INET6, text.c_str(), buf) != 1) {
      return Error("fixed_ip", *ip, ip->PythonRepr() + " is not a 'ipv4'");
    }
  }
  if (const Json* port = item.Find("port"); port != nullptr && !port->is_null()) {
    if (auto e = Error("port", *port, TypeMessage(*port, {"string", "null"}))) return e;
    if (!IsUuidLike(port->as_string())) {
      return Error("port", *port, port->PythonRepr() + " is not a 'uuid'");
    }
  }
  if (const Json* uuid = item.Find("uuid")) {
    if (auto e = Error("uuid", *uuid, TypeMessage(*uuid, {"string"}))) return e;
    if (options.version >= kNetworksRequiredVersion && !IsUuidLike(uuid->as_string())) {
      return Error("uuid", *uuid, uuid->PythonRepr() + " is not a 'uuid'");
    }
  }
  const bool tagged = (options.version >= kNetworkTagVersion &&
                       options.version < kNetworksRequiredVersion) ||
                      options.version >= kNetworkTagAgainVersion;
  if (const Json* tag = item.Find("tag"); tag != nullptr && tagged) {
    if (auto e = Error("tag", *tag, TagMessage(*tag))) return e;
  }
  if (options.legacy_v2) return std::nullopt;
  return tagged ? Error(index, item,
                        AdditionalPropertiesMessage(item,
                                                    {"fixed_ip", "port", "uuid", "tag"}))
                : Error(index, item,
                        AdditionalPropertiesMessage(item, {"fixed_ip", "port", "uuid"}));
}

// server.networks: a list of network items; from 2.37 also "none" or "auto".
// chronova has no network service (docs/api.md, "Microversions"): "auto"
// allocates nothing, as "none", and listed networks are not used.
MaybeError CheckNetworks(const Json& v, const CreateServerSchemaOptions& options) {
  if (options.version >= kNetworksRequiredVersion && v.is_string()) {
    return Error("networks", v, EnumMessage(v, {"none", "auto"}));
  }
  if (auto e = Error("networks", v, TypeMessage(v, {"array"}))) return e;
  size_t i = 0;
  for (const Json& item : v.items()) {
    if (auto e = CheckNetworkItem(std::to_string(i++), item, options)) return e;
  }
  return std::nullopt;
}

// server.tags (2.52): at most 50 server tags.
MaybeError CheckCreateTags(const Json& v, std::vector<std::string>* out) {
  if (auto e = Error("tags", v, TypeMessage(v, {"array"}))) return e;
  for (const Json& tag : v.items()) {
    if (auto e = Error("tags", tag, TagMessage(tag))) return e;
  }
  if (v.size() > kMaxTagsPerServer) {
    return Error("tags", v, v.PythonRepr() + " is too long");
  }
  for (const Json& tag : v.items()) out->push_back(tag.as_string());
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  return std::nullopt;
}

// parameter_types.trusted_certs (2.63): null, or 1 to 50 distinct non-empty
// strings of at most 255 characters.
MaybeError CheckTrustedCerts(const Json& v, std::vector<std::string>* out) {
  const std::string field = "trusted_image_certificates";
  if (v.is_null()) return std::nullopt;
  if (auto e = Error(field, v, TypeMessage(v, {"array", "null"}))) return e;
  if (v.size() < 1) return Error(field, v, "[] is too short");
  if (v.size() > 50) return Error(field, v, v.PythonRepr() + " is too long");
  std::vector<std::string> seen;
  for (const Json& cert : v.items()) {
    if (auto e = Error(field, cert, TypeMessage(cert, {"string"}))) return e;
    if (auto e = Error(field, cert, LengthMessage(cert, 1, 255))) return e;
    if (std::find(seen.begin(), seen.end(), cert.as_string()) != seen.end()) {
      return Error(field, v, v.PythonRepr() + " has non-unique elements");
    }
    seen.push_back(cert.as_string());
  }
  *out = std::move(seen);
  return std::nullopt;
}

std::string Strip(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// The "server" object: its properties in the schema's order, then required,
// then additionalProperties.
MaybeError CheckServer(const Json& server, const CreateServerSchemaOptions& options,
                       ParsedCreateServer* out) {
  if (auto e = Error("server", server, TypeMessage(server, {"object"}))) return e;
  CreateServerRequest& req = out->request;
  const bool relaxed = options.legacy_v2;
  const NameRules name_rules = relaxed ? NameRules::kLegacy : NameRules::kStrict;

  if (const Json* v = server.Find("name")) {
    if (auto e = CheckName("name", *v, name_rules)) return e;
    req.name = relaxed ? Strip(v->as_string()) : v->as_string();
  }
  if (const Json* v = server.Find("imageRef")) {
    bool ok = v->is_string() && (v->as_string().empty() || IsUuidLike(v->as_string()));
    if (!ok)
      return Error("imageRef", *v,
                   v->PythonRepr() + " is not valid under any of the given schemas");
    req.image_ref = v->as_string();
  }
  if (const Json* v = server.Find("flavorRef")) {
    if (auto e = Error("flavorRef", *v, TypeMessage(*v, {"string", "integer"}))) return e;
    if (v->is_string()) {
      if (auto e = Error("flavorRef", *v, LengthMessage(*v, 1, SIZE_MAX))) return e;
      req.flavor_ref = v->as_string();
    } else {
      req.flavor_ref = std::to_string(v->as_int());
    }
  }
  if (const Json* v = server.Find("adminPass")) {
    if (auto e = Error("adminPass", *v, TypeMessage(*v, {"string"}))) return e;
    out->admin_pass = v->as_string();
  }
  if (const Json* v = server.Find("metadata")) {
    if (auto e = CheckMetadata("metadata", *v, &req.metadata)) return e;
  }
  if (const Json* v = server.Find("networks")) {
    if (auto e = CheckNetworks(*v, options)) return e;
    out->networks = v->is_string() ? v->as_string() : "list";
  }
  if (const Json* v = server.Find("OS-DCF:diskConfig")) {
    if (auto e = CheckDiskConfig(*v, &req.auto_disk_config)) return e;
  }
  if (const Json* v = server.Find("accessIPv4")) {
    if (auto e = CheckIp("accessIPv4", *v, AF_INET, "ipv4")) return e;
    req.access_ipv4 = CanonicalIp(v->as_string(), AF_INET);
  }
  if (const Json* v = server.Find("accessIPv6")) {
    if (auto e = CheckIp("accessIPv6", *v, AF_INET6, "ipv6")) return e;
    req.access_ipv6 = CanonicalIp(v->as_string(), AF_INET6);
  }
  if (const Json* v = server.Find("personality");
      v != nullptr && options.version < kNoPersonalityVersion) {
    if (auto e = Error("personality", *v, TypeMessage(*v, {"array"}))) return e;
  }
  if (const Json* v = server.Find("availability_zone")) {
    if (auto e = CheckName("availability_zone", *v, name_rules)) return e;
    req.availability_zone = relaxed ? Strip(v->as_string()) : v->as_string();
  }
  for (const char* bdm : {"block_device_mapping", "block_device_mapping_v2"}) {
    if (const Json* v = server.Find(bdm)) {
      if (auto e = Error(bdm, *v, TypeMessage(*v, {"array"}))) return e;
    }
  }
  if (const Json* v = server.Find("config_drive")) {
    bool ignored = false;
    if (auto e = CheckBoolean("config_drive", *v, &ignored)) return e;
  }
  if (const Json* v = server.Find("key_name")) {
    if (auto e = CheckName("key_name", *v, name_rules)) return e;
    req.key_name = v->as_string();
  }
  if (const Json* v = server.Find("min_count")) {
    if (auto e = CheckPositiveInteger("min_count", *v, &req.min_count)) return e;
  }
  if (const Json* v = server.Find("max_count")) {
    if (auto e = CheckPositiveInteger("max_count", *v, &req.max_count)) return e;
  } else {
    req.max_count = req.min_count;  // Nova: max_count defaults to min_count
  }
  if (const Json* v = server.Find("return_reservation_id")) {
    if (auto e = CheckBoolean("return_reservation_id", *v, &out->return_reservation_id))
      return e;
  }
  if (const Json* v = server.Find("security_groups")) {
    if (auto e = Error("security_groups", *v, TypeMessage(*v, {"array"}))) return e;
    for (const Json& item : v->items()) {
      if (auto e = Error("0", item, TypeMessage(item, {"object"}))) return e;
      if (const Json* name = item.Find("name")) {
        if (auto e = CheckName("name", *name, name_rules)) return e;
      }
      if (auto e = Error("0", item, AdditionalPropertiesMessage(item, {"name"})))
        return e;
    }
    out->security_groups = *v;
  }
  if (const Json* v = server.Find("user_data")) {
    if (!(relaxed && v->is_null())) {
      if (auto e = Error("user_data", *v, TypeMessage(*v, {"string"}))) return e;
      if (!IsBase64(v->as_string())) {
        return Error("user_data", *v, v->PythonRepr() + " is not a 'base64'");
      }
      if (auto e = Error("user_data", *v, LengthMessage(*v, 0, 65535))) return e;
      req.user_data = v->as_string();
    }
  }

  // The properties this version's schema names; additionalProperties: false
  // refuses the rest.
  std::vector<std::string_view> allowed = {"name",
                                           "imageRef",
                                           "flavorRef",
                                           "adminPass",
                                           "metadata",
                                           "networks",
                                           "OS-DCF:diskConfig",
                                           "accessIPv4",
                                           "accessIPv6",
                                           "availability_zone",
                                           "block_device_mapping",
                                           "block_device_mapping_v2",
                                           "config_drive",
                                           "key_name",
                                           "min_count",
                                           "max_count",
                                           "return_reservation_id",
                                           "security_groups",
                                           "user_data"};
  if (options.version < kNoPersonalityVersion) allowed.push_back("personality");
  if (options.version >= kDescriptionVersion) {
    allowed.push_back("description");
    // Nova records null when a 2.19 request gives none.
    req.description.set = true;
    if (const Json* v = server.Find("description")) {
      if (auto e = CheckDescription(*v, &req.description)) return e;
    }
  }
  if (options.version >= kTagsAtCreateVersion) {
    allowed.push_back("tags");
    if (const Json* v = server.Find("tags")) {
      if (auto e = CheckCreateTags(*v, &req.tags)) return e;
    }
  }
  if (options.version >= kTrustedCertsVersion) {
    allowed.push_back("trusted_image_certificates");
    if (const Json* v = server.Find("trusted_image_certificates")) {
      if (auto e = CheckTrustedCerts(*v, &req.trusted_certs)) return e;
    }
  }
  if (options.version >= kHostAtCreateVersion) {
    for (const char* field : {"host", "hypervisor_hostname"}) {
      allowed.push_back(field);
      if (const Json* v = server.Find(field)) {
        if (auto e = CheckFqdn(field, *v)) return e;
      }
    }
    if (const Json* v = server.Find("host")) req.host = v->as_string();
    if (const Json* v = server.Find("hypervisor_hostname")) {
      req.hypervisor_hostname = v->as_string();
    }
  }
  const bool networks_required =
      !options.legacy_v2 && options.version >= kNetworksRequiredVersion;
  for (const char* required : {"name", "flavorRef", "networks"}) {
    if (!server.Contains(required) &&
        (std::string_view(required) != "networks" || networks_required)) {
      return Error("server", server, Quoted(required) + " is a required property");
    }
  }
  if (!options.legacy_v2) {
    std::string extra = AdditionalPropertiesMessage(server, allowed);
    if (auto e = Error("server", server, extra)) return e;
  }
  return std::nullopt;
}

}  // namespace

Result<UpdateServerRequest> ParseUpdateServerBody(
    const Json& body, const CreateServerSchemaOptions& options) {
  // nova/api/openstack/compute/schemas/servers.py update (2.1): {"server":
  // {name, accessIPv4, accessIPv6, OS-DCF:diskConfig}}, nothing else.
  UpdateServerRequest out;
  if (auto e = Error("", body, TypeMessage(body, {"object"}))) return ToStatus(*e);
  const Json* server = body.Find("server");
  if (server != nullptr) {
    if (auto e = Error("server", *server, TypeMessage(*server, {"object"})))
      return ToStatus(*e);
    const bool relaxed = options.legacy_v2;
    if (const Json* v = server->Find("name")) {
      if (auto e =
              CheckName("name", *v, relaxed ? NameRules::kLegacy : NameRules::kStrict))
        return ToStatus(*e);
      out.name = relaxed ? Strip(v->as_string()) : v->as_string();
    }
    if (const Json* v = server->Find("accessIPv4")) {
      if (auto e = CheckIp("accessIPv4", *v, AF_INET, "ipv4")) return ToStatus(*e);
      out.access_ipv4 = CanonicalIp(v->as_string(), AF_INET);
    }
    if (const Json* v = server->Find("accessIPv6")) {
      if (auto e = CheckIp("accessIPv6", *v, AF_INET6, "ipv6")) return ToStatus(*e);
      out.access_ipv6 = CanonicalIp(v->as_string(), AF_INET6);
    }
    if (const Json* v = server->Find("OS-DCF:diskConfig")) {
      if (auto e = CheckDiskConfig(*v, &out.auto_disk_config)) return ToStatus(*e);
    }
    const bool described = options.version >= kDescriptionVersion;
    if (const Json* v = server->Find("description"); v != nullptr && described) {
      if (auto e = CheckDescription(*v, &out.description)) return ToStatus(*e);
    }
    if (!relaxed) {
      std::string extra = AdditionalPropertiesMessage(
          described ? Without(*server, "description") : *server,
          {"name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"});
      if (auto e = Error("server", *server, extra)) return ToStatus(*e);
    }
  }
  if (server == nullptr)
    return Status::InvalidArgument("'server' is a required property");
  if (!options.legacy_v2) {
    std::string extra = AdditionalPropertiesMessage(body, {"server"});
    if (!extra.empty()) return Status::InvalidArgument(extra);
  }
  return out;
}

Result<std::map<std::string, std::string>> ParseMetadataBody(const Json& body,
                                                             const std::string& field) {
  // nova/api/openstack/compute/schemas/server_metadata.py: {"metadata": {...}}
  // for create/update_all, {"meta": {one item}} for update.
  std::map<std::string, std::string> out;
  if (auto e = Error("", body, TypeMessage(body, {"object"}))) return ToStatus(*e);
  if (const Json* v = body.Find(field)) {
    if (auto e = CheckMetadata(field, *v, &out)) return ToStatus(*e);
    if (field == "meta" && v->size() != 1) {
      return ToStatus(
          *Error(field, *v,
                 v->PythonStr() + (v->size() == 0 ? " does not have enough properties"
                                                  : " has too many properties")));
    }
  } else {
    return Status::InvalidArgument(Quoted(field) + " is a required property");
  }
  std::string extra = AdditionalPropertiesMessage(body, {field});
  if (!extra.empty()) return Status::InvalidArgument(extra);
  return out;
}

std::optional<bool> ParseStrictBool(const std::string& s) {
  std::string l;
  for (char c : Strip(s))
    l.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (const char* t : {"1", "t", "true", "on", "y", "yes"}) {
    if (l == t) return true;
  }
  for (const char* f : {"0", "f", "false", "off", "n", "no"}) {
    if (l == f) return false;
  }
  return std::nullopt;
}

Result<ParsedRebuild> ParseRebuildBody(const Json& body, ApiVersion version) {
  ParsedRebuild out;
  const Json* rebuild = body.Find("rebuild");
  if (rebuild == nullptr)
    return Status::InvalidArgument("'rebuild' is a required property");
  auto check = [&]() -> MaybeError {
    if (auto e = Error("rebuild", *rebuild, TypeMessage(*rebuild, {"object"}))) return e;
    if (const Json* v = rebuild->Find("name")) {
      if (auto e = CheckName("name", *v, NameRules::kStrict)) return e;
      out.name = v->as_string();
    }
    if (const Json* v = rebuild->Find("imageRef")) {
      if (!v->is_string() || !IsUuidLike(v->as_string())) {
        return Error("imageRef", *v,
                     v->PythonRepr() + " is not valid under any of the given schemas");
      }
      out.image_ref = v->as_string();
    }
    if (const Json* v = rebuild->Find("adminPass")) {
      if (auto e = Error("adminPass", *v, TypeMessage(*v, {"string"}))) return e;
      out.admin_pass = v->as_string();
    }
    if (const Json* v = rebuild->Find("metadata")) {
      std::map<std::string, std::string> metadata;
      if (auto e = CheckMetadata("metadata", *v, &metadata)) return e;
      out.metadata = std::move(metadata);
    }
    if (const Json* v = rebuild->Find("preserve_ephemeral")) {
      bool ignored = false;
      if (auto e = CheckBoolean("preserve_ephemeral", *v, &ignored)) return e;
    }
    if (const Json* v = rebuild->Find("OS-DCF:diskConfig")) {
      if (auto e = CheckDiskConfig(*v, &out.auto_disk_config)) return e;
    }
    if (const Json* v = rebuild->Find("accessIPv4")) {
      if (auto e = CheckIp("accessIPv4", *v, AF_INET, "ipv4")) return e;
    }
    if (const Json* v = rebuild->Find("accessIPv6")) {
      if (auto e = CheckIp("accessIPv6", *v, AF_INET6, "ipv6")) return e;
    }
    std::vector<std::string_view> allowed = {
        "name",       "imageRef",           "adminPass",
        "metadata",   "preserve_ephemeral", "OS-DCF:diskConfig",
        "accessIPv4", "accessIPv6"};
    if (version < kNoPersonalityVersion) {
      allowed.push_back("personality");
      if (const Json* v = rebuild->Find("personality")) {
        if (auto e = Error("personality", *v, TypeMessage(*v, {"array"}))) return e;
      }
    }
    if (!rebuild->Contains("imageRef")) {
      return Error("rebuild", *rebuild, "'imageRef' is a required property");
    }
    if (version >= kDescriptionVersion) {
      allowed.push_back("description");
      if (const Json* v = rebuild->Find("description")) {
        if (auto e = CheckDescription(*v, &out.description)) return e;
      }
    }
    if (version >= kRebuildKeyNameVersion) {  // parameter_types.name_or_none
      allowed.push_back("key_name");
      if (const Json* v = rebuild->Find("key_name")) {
        if (!v->is_null()) {
          if (auto e = CheckName("key_name", *v, NameRules::kStrict)) return e;
        }
        out.changes.key_name = v->is_null() ? "" : v->as_string();
      }
    }
    if (version >= kNoPersonalityVersion) {
      allowed.push_back("user_data");
      if (const Json* v = rebuild->Find("user_data")) {
        if (!v->is_null()) {
          if (auto e = Error("user_data", *v, TypeMessage(*v, {"string", "null"}))) {
            return e;
          }
          if (!IsBase64(v->as_string())) {
            return Error("user_data", *v, v->PythonRepr() + " is not a 'base64'");
          }
          if (auto e = Error("user_data", *v, LengthMessage(*v, 0, 65535))) return e;
        }
        out.changes.user_data = v->is_null() ? "" : v->as_string();
      }
    }
    if (version >= kTrustedCertsVersion) {
      allowed.push_back("trusted_image_certificates");
      if (const Json* v = rebuild->Find("trusted_image_certificates")) {
        std::vector<std::string> certs;
        if (auto e = CheckTrustedCerts(*v, &certs)) return e;
        out.changes.trusted_certs = std::move(certs);  // null: none
      }
    }
    return Error("rebuild", *rebuild, AdditionalPropertiesMessage(*rebuild, allowed));
  };
  if (auto e = check()) return ToStatus(*e);
  return out;
}

Result<ParsedCreateImage> ParseCreateImageBody(const Json& body) {
  ParsedCreateImage out;
  const Json* entity = body.Find("createImage");
  if (entity == nullptr)
    return Status::InvalidArgument("'createImage' is a required property");
  auto check = [&]() -> MaybeError {
    if (auto e = Error("createImage", *entity, TypeMessage(*entity, {"object"}))) {
      return e;
    }
    if (const Json* v = entity->Find("name")) {
      if (auto e = CheckName("name", *v, NameRules::kStrict)) return e;
      out.name = v->as_string();
    }
    if (const Json* v = entity->Find("metadata")) {
      if (auto e = CheckMetadata("metadata", *v, &out.metadata)) return e;
    }
    if (!entity->Contains("name")) {
      return Error("createImage", *entity, "'name' is a required property");
    }
    return Error("createImage", *entity,
                 AdditionalPropertiesMessage(*entity, {"name", "metadata"}));
  };
  if (auto e = check()) return ToStatus(*e);
  return out;
}

Result<ParsedRescue> ParseRescueBody(const Json& body) {
  ParsedRescue out;
  const Json* rescue = body.Find("rescue");
  if (rescue == nullptr)
    return Status::InvalidArgument("'rescue' is a required property");
  auto check = [&]() -> MaybeError {
    if (rescue->is_null()) return std::nullopt;
    if (auto e = Error("rescue", *rescue, TypeMessage(*rescue, {"object", "null"})))
      return e;
    if (const Json* v = rescue->Find("adminPass")) {
      if (auto e = Error("adminPass", *v, TypeMessage(*v, {"string"}))) return e;
      out.admin_pass = v->as_string();
    }
    if (const Json* v = rescue->Find("rescue_image_ref")) {
      if (auto e = Error("rescue_image_ref", *v, TypeMessage(*v, {"string"}))) return e;
      if (!IsUuidLike(v->as_string())) {
        return Error("rescue_image_ref", *v, v->PythonRepr() + " is not a 'uuid'");
      }
      out.rescue_image_ref = v->as_string();
    }
    std::string extra =
        AdditionalPropertiesMessage(*rescue, {"adminPass", "rescue_image_ref"});
    return Error("rescue", *rescue, extra);
  };
  if (auto e = check()) return ToStatus(*e);
  return out;
}

Result<ParsedCreateServer> ParseCreateServerBody(
    const Json& body, const CreateServerSchemaOptions& options) {
  ParsedCreateServer out;
  if (auto e = Error("", body, TypeMessage(body, {"object"}))) return ToStatus(*e);
  if (const Json* server = body.Find("server")) {
    if (auto e = CheckServer(*server, options, &out)) return ToStatus(*e);
  }
  for (const char* hints_key : {"os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"}) {
    if (const Json* hints = body.Find(hints_key)) {
      std::map<std::string, std::vector<std::string>> parsed;
      if (auto e = CheckHints(hints_key, *hints, &parsed)) return ToStatus(*e);
      // Nova reads os:scheduler_hints first and the old name only without it.
      if (out.request.scheduler_hints.empty())
        out.request.scheduler_hints = std::move(parsed);
    }
  }
  if (!body.Contains("server"))
    return Status::InvalidArgument("'server' is a required property");
  if (!options.legacy_v2) {
    std::string extra = AdditionalPropertiesMessage(
        body, {"server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"});
    if (!extra.empty()) return Status::InvalidArgument(extra);
  }

  // nova/api/openstack/compute/servers.py create(), after the schema.
  if (out.request.min_count > out.request.max_count) {
    return Status::InvalidArgument("min_count must be <= max_count");
  }
  if (out.request.image_ref.empty())
    return Status::InvalidArgument("Missing imageRef attribute");
  return out;
}

}  // namespace chronova
