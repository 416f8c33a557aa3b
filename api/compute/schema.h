// Nova's request validation, in jsonschema's words: the one place that
// writes "Invalid input for field/attribute <field>. Value: <value>. <why>"
// and its kin, for every Compute API body and query (server_schemas.cc,
// server_actions.cc, flavors.cc, ...). Validation follows jsonschema's order
// (the schema's keywords in order, properties in the schema's order) so the
// first error reported is the one Nova reports. Messages use
// python3-jsonschema 4.10's wording (Debian 12's).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http/json.h"
#include "core/status.h"

namespace chronova {

// ---- jsonschema's vocabulary ------------------------------------------------

// Whether `v` is of JSON schema type `type` ("string", "integer", "number",
// "object", "array", "boolean", "null").
bool HasType(const Json& v, std::string_view type);
// "'s'"
std::string Quoted(std::string_view s);
// "<instance> is not of type 'string', 'integer'", or "" if `v` has one of `types`.
std::string TypeMessage(const Json& v, std::initializer_list<std::string_view> types);
// Python's len() of a UTF-8 string: code points.
size_t CodePoints(const std::string& s);
// "<instance> is too short" / "is too long" for a string, or "".
std::string LengthMessage(const Json& v, size_t min_len, size_t max_len);
// "<instance> is not one of ['a', 'b']", or "" if `v` is one of the strings.
std::string EnumMessage(const Json& v, std::initializer_list<std::string_view> choices);
// oslo uuidutils.is_uuid_like (jsonschema's "uuid" format in Nova): 32 hex
// digits once dashes, braces and an "urn:uuid:" prefix are gone.
bool IsUuidLike(const std::string& s);
// parameter_types.tag (a server tag, a device tag): 1 to 60 characters, no
// ',' or '/'; jsonschema's words, or "".
std::string TagMessage(const Json& tag);
// "'<key>' is a required property"
std::string RequiredMessage(std::string_view key);
// "Additional properties are not allowed ('a', 'b' were unexpected)", or "".
std::string AdditionalPropertiesMessage(const Json& object,
                                        std::initializer_list<std::string_view> allowed);
std::string AdditionalPropertiesMessage(const Json& object,
                                        const std::vector<std::string_view>& allowed);

// The error of one value at a path. `field` is the path's last element, as
// Nova's validator shows it; empty for errors about the whole body.
struct SchemaError {
  std::string field;
  Json value;
  std::string message;
  // Set when a format checker explains itself (InvalidName): shown verbatim.
  bool verbatim = false;
};

// InvalidArgument: "Invalid input for field/attribute <field>. Value: <value>.
// <message>" (the message alone when verbatim or about the whole body).
Status ToStatus(const SchemaError& e);

using MaybeError = std::optional<SchemaError>;

// An error for `field` if `message` is not empty (the *Message helpers answer
// "" when the value is fine).
MaybeError Error(const std::string& field, const Json& value, std::string message);

// The same as a Status: InvalidArgument with Nova's words.
Status FieldError(const std::string& field, const Json& value, const std::string& why);

// ---- common checks ------------------------------------------------------------

// {"<root>": {...}} with only `root` in it; the inner object.
Result<const Json*> RootObject(const Json& body, const std::string& root);
// Every member of `object` is one of `allowed`; jsonschema's words otherwise.
Status NoOtherProperties(const Json& object,
                         std::initializer_list<std::string_view> allowed);
// One optional string member `name` of `obj` (at path `parent`, "" for the
// root), min_len..max_len bytes; the whole message or "" if fine.
std::string CheckString(const Json& obj, const std::string& parent,
                        const std::string& name, size_t min_len, size_t max_len);
// Required and allowed members of a body object at `parent`; the whole message
// or "" if fine.
std::string CheckMembers(const Json& obj, const std::string& parent,
                         std::initializer_list<const char*> required,
                         std::initializer_list<const char*> allowed);
// parameter_types.boolean; on success stores the value.
MaybeError CheckBoolean(const std::string& field, const Json& v, bool* out);
// parameter_types.positive_integer: an integer, or a string of digits, >= 1
// (larger values are cut to INT32_MAX).
MaybeError CheckPositiveInteger(const std::string& field, const Json& v, int* out);
// parameter_types.non_negative_integer: the same, >= 0.
MaybeError CheckNonNegativeInteger(const std::string& field, const Json& v, int* out);

}  // namespace chronova
