#include "api/compute/schema.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <vector>

namespace chronova {

bool HasType(const Json& v, std::string_view type) {
  if (type == "string") return v.is_string();
  if (type == "integer") return v.is_int();
  if (type == "number") return v.is_number();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "boolean") return v.is_bool();
  if (type == "null") return v.is_null();
  return false;
}

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// "<instance> is not of type 'string', 'integer'", or "" if `v` has one of `types`.
std::string TypeMessage(const Json& v, std::initializer_list<std::string_view> types) {
  std::string names;
  for (std::string_view t : types) {
    if (HasType(v, t)) return "";
    if (!names.empty()) names += ", ";
    names += Quoted(t);
  }
  return v.PythonRepr() + " is not of type " + names;
}

// Python's len() of a UTF-8 string: code points.
size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string LengthMessage(const Json& v, size_t min_len, size_t max_len) {
  size_t n = CodePoints(v.as_string());
  if (n < min_len) return v.PythonRepr() + " is too short";
  if (n > max_len) return v.PythonRepr() + " is too long";
  return "";
}

Status ToStatus(const SchemaError& e) {
  if (e.verbatim || e.field.empty()) return Status::InvalidArgument(e.message);
  return Status::InvalidArgument("Invalid input for field/attribute " + e.field +
                                 ". Value: " + e.value.PythonStr() + ". " + e.message);
}

MaybeError Error(const std::string& field, const Json& value, std::string message) {
  if (message.empty()) return std::nullopt;
  return SchemaError{field, value, std::move(message)};
}

std::string EnumMessage(const Json& v, std::initializer_list<std::string_view> choices) {
  std::string list;
  for (std::string_view c : choices) {
    if (v.is_string() && v.as_string() == c) return "";
    list += (list.empty() ? "" : ", ") + Quoted(c);
  }
  return v.PythonRepr() + " is not one of [" + list + "]";
}

bool IsUuidLike(const std::string& s) {
  std::string_view v = s;
  if (v.substr(0, 9) == "urn:uuid:") v.remove_prefix(9);
  std::string hex;
  for (char c : v) {
    if (c == '-' || c == '{' || c == '}') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    hex.push_back(c);
  }
  return hex.size() == 32;
}

std::string TagMessage(const Json& tag) {
  if (!tag.is_string()) return tag.PythonRepr() + " is not of type 'string'";
  const std::string& t = tag.as_string();
  if (t.empty()) return "'' is too short";
  if (CodePoints(t) > 60) return tag.PythonRepr() + " is too long";
  if (t.find_first_of(",/") != std::string::npos) {
    return tag.PythonRepr() + " does not match '^[^,/]*$'";
  }
  return "";
}

std::string RequiredMessage(std::string_view key) {
  return Quoted(key) + " is a required property";
}

Status FieldError(const std::string& field, const Json& value, const std::string& why) {
  return ToStatus(SchemaError{field, value, why});
}

// "Additional properties are not allowed ('a', 'b' were unexpected)", or "".
std::string AdditionalPropertiesMessage(const Json& object,
                                        std::initializer_list<std::string_view> allowed) {
  return AdditionalPropertiesMessage(
      object, std::vector<std::string_view>(allowed.begin(), allowed.end()));
}

std::string AdditionalPropertiesMessage(const Json& object,
                                        const std::vector<std::string_view>& allowed) {
  std::string extras;
  int count = 0;
  for (const auto& [key, value] : object.members()) {
    bool known = false;
    for (std::string_view a : allowed) known |= key == a;
    if (known) continue;
    if (count++) extras += ", ";
    extras += Json(key).PythonRepr();
  }
  if (count == 0) return "";
  return "Additional properties are not allowed (" + extras +
         (count == 1 ? " was" : " were") + " unexpected)";
}

// parameter_types.metadata: string keys of [a-zA-Z0-9-_:. ]{1,255}, string

Result<const Json*> RootObject(const Json& body, const std::string& root) {
  if (!body.is_object() || !body.Contains(root)) {
    return FieldError(root, body, RequiredMessage(root));
  }
  for (const auto& [k, v] : body.members()) {
    if (k != root) {
      return Status::InvalidArgument("Additional properties are not allowed ('" + k +
                                     "' was unexpected)");
    }
  }
  const Json* inner = body.Find(root);
  if (!inner->is_object())
    return FieldError(root, *inner, TypeMessage(*inner, {"object"}));
  return inner;
}

Status NoOtherProperties(const Json& object,
                         std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : object.members()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      return Status::InvalidArgument("Additional properties are not allowed ('" + k +
                                     "' was unexpected)");
    }
  }
  return Status::Ok();
}

std::string CheckString(const Json& obj, const std::string& parent,
                        const std::string& name, size_t min_len, size_t max_len) {
  const Json* v = obj.Find(name);
  if (v == nullptr) return "";
  std::string field = parent.empty() ? name : parent + "/" + name;
  std::string why;
  if (!v->is_string()) {
    why = TypeMessage(*v, {"string"});
  } else if (v->as_string().size() < min_len) {
    why = v->PythonRepr() + (min_len == 1 ? " should be non-empty" : " is too short");
  } else if (v->as_string().size() > max_len) {
    why = v->PythonRepr() + " is too long";
  }
  return why.empty() ? "" : ToStatus(SchemaError{field, *v, why}).message();
}

std::string CheckMembers(const Json& obj, const std::string& parent,
                         std::initializer_list<const char*> required,
                         std::initializer_list<const char*> allowed) {
  auto at = [&](const std::string& why) {
    return parent.empty() ? why : ToStatus(SchemaError{parent, obj, why}).message();
  };
  if (!obj.is_object()) return at(TypeMessage(obj, {"object"}));
  for (const char* r : required) {
    if (!obj.Contains(r)) return at(RequiredMessage(r));
  }
  std::string extras;
  size_t n = 0;
  for (const auto& [k, v] : obj.members()) {
    bool ok = false;
    for (const char* a : allowed) ok |= k == a;
    if (ok) continue;
    extras += (n++ ? ", '" : "'") + k + "'";
  }
  if (n == 0) return "";
  return at("Additional properties are not allowed (" + extras +
            (n == 1 ? " was unexpected)" : " were unexpected)"));
}

constexpr const char* kBooleanEnum =
    "[True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', False, "
    "'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']";

// parameter_types.boolean; on success stores the value.
MaybeError CheckBoolean(const std::string& field, const Json& v, bool* out) {
  if (auto e = Error(field, v, TypeMessage(v, {"boolean", "string"}))) return e;
  if (v.is_bool()) {
    *out = v.as_bool();
    return std::nullopt;
  }
  static const char* kTrue[] = {"True", "TRUE", "true", "1",   "ON",
                                "On",   "on",   "YES",  "Yes", "yes"};
  static const char* kFalse[] = {"False", "FALSE", "false", "0",  "OFF",
                                 "Off",   "off",   "NO",    "No", "no"};
  for (const char* t : kTrue) {
    if (v.as_string() == t) {
      *out = true;
      return std::nullopt;
    }
  }
  for (const char* f : kFalse) {
    if (v.as_string() == f) {
      *out = false;
      return std::nullopt;
    }
  }
  return Error(field, v, v.PythonRepr() + " is not one of " + kBooleanEnum);
}

// parameter_types.positive_integer: an integer, or a string of digits, >= 1.
namespace {

// parameter_types' integer-or-digits types with `minimum` (0 or 1).
MaybeError CheckIntegerAtLeast(const std::string& field, const Json& v, int minimum,
                               int* out) {
  const std::string below = " is less than the minimum of " + std::to_string(minimum);
  if (auto e = Error(field, v, TypeMessage(v, {"integer", "string"}))) return e;
  int64_t value = 0;
  if (v.is_string()) {
    const std::string& s = v.as_string();
    for (char c : s) {
      if (!std::isdigit(static_cast<unsigned char>(c))) {
        return Error(field, v, v.PythonRepr() + " does not match '^[0-9]*$'");
      }
      value = std::min<int64_t>(value * 10 + (c - '0'), INT32_MAX);
    }
    if (!s.empty() && value < minimum) return Error(field, v, v.PythonRepr() + below);
    if (s.empty()) return Error(field, v, v.PythonRepr() + " is too short");
  } else {
    value = v.as_int();
    if (value < minimum) return Error(field, v, v.PythonRepr() + below);
    value = std::min<int64_t>(value, INT32_MAX);
  }
  *out = static_cast<int>(value);
  return std::nullopt;
}

}  // namespace

MaybeError CheckPositiveInteger(const std::string& field, const Json& v, int* out) {
  return CheckIntegerAtLeast(field, v, 1, out);
}

MaybeError CheckNonNegativeInteger(const std::string& field, const Json& v, int* out) {
  return CheckIntegerAtLeast(field, v, 0, out);
}

}  // namespace chronova
