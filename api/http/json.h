// Json: a small JSON value for the API layer. Request bodies are parsed into it
// and Nova's views are built with it, without pulling an HTTP library's headers
// into every translation unit. Objects keep their members in insertion order, so
// responses read in the order Nova writes them.
//
// Thread-safety: a const Json may be read from any thread; mutation needs
// external synchronization, as for any value type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/status.h"

namespace chronova {

struct JsonItemInit;
struct JsonMemberInit;

class Json {
 public:
  enum class Type { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  using Array = std::vector<Json>;
  using Member = std::pair<std::string, Json>;
  using Object = std::vector<Member>;

  Json() = default;        // null
  Json(std::nullptr_t) {}  // NOLINT: implicit by design, as the literals below
  Json(bool b) : type_(Type::kBool), bool_(b) {}  // NOLINT
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Json(T v) : type_(Type::kInt), int_(static_cast<int64_t>(v)) {}       // NOLINT
  Json(double d) : type_(Type::kDouble), double_(d) {}                  // NOLINT
  Json(const char* s) : type_(Type::kString), string_(s) {}             // NOLINT
  Json(std::string s) : type_(Type::kString), string_(std::move(s)) {}  // NOLINT
  Json(std::string_view s) : type_(Type::kString), string_(s) {}        // NOLINT

  static Json MakeArray(std::initializer_list<JsonItemInit> items = {});
  static Json MakeObject(std::initializer_list<JsonMemberInit> members = {});
  static Json MakeArray(Array items);
  static Json MakeObject(Object members);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_int() const { return type_ == Type::kInt; }
  bool is_number() const { return type_ == Type::kInt || type_ == Type::kDouble; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // REQUIRES: the matching is_*().
  bool as_bool() const { return bool_; }
  int64_t as_int() const { return int_; }
  double as_double() const {
    return type_ == Type::kInt ? static_cast<double>(int_) : double_;
  }
  const std::string& as_string() const { return string_; }
  const Array& items() const { return array_; }
  const Object& members() const { return object_; }
  // REQUIRES: is_array() / is_object().
  Array& mutable_items() { return array_; }
  Object& mutable_members() { return object_; }

  // Object access. A null value becomes an empty object first; the key is
  // added (as null) if absent. REQUIRES: is_object() or is_null().
  Json& operator[](std::string_view key);
  // The member named `key`, or nullptr if absent or if this is not an object.
  const Json* Find(std::string_view key) const;
  bool Contains(std::string_view key) const { return Find(key) != nullptr; }
  // Appends to an array (a null value becomes an empty array first).
  // REQUIRES: is_array() or is_null().
  void Append(Json value);
  // Number of items or members; 0 for scalars.
  size_t size() const;

  // Compact JSON text (UTF-8 passed through, control characters escaped).
  std::string Dump() const;
  // The same text, appended to *out.
  void AppendTo(std::string* out) const;
  // How Python's repr() shows the decoded value ({'a': 1, 'b': None}); Nova's
  // validation messages quote values this way.
  std::string PythonRepr() const;
  // Python's str(): a string as is, anything else as PythonRepr().
  std::string PythonStr() const;

  // Parses one JSON document (UTF-8 validated, nesting limited to kMaxDepth).
  // InvalidArgument, with the offset, for malformed text.
  static Result<Json> Parse(std::string_view text);
  static constexpr int kMaxDepth = 64;

  bool operator==(const Json& other) const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  Array array_;
  Object object_;
};

// An item or member of Json::MakeArray's or Json::MakeObject's braced list. A
// list's elements are const; the value is mutable so that it is moved out
// rather than copied (a view's nested links were copied deep at every level).
struct JsonItemInit {
  template <typename T,
            std::enable_if_t<!std::is_same_v<std::decay_t<T>, JsonItemInit>, int> = 0>
  JsonItemInit(T&& v) : value(std::forward<T>(v)) {}  // NOLINT: a list element
  mutable Json value;
};

struct JsonMemberInit {
  template <typename T>
  JsonMemberInit(std::string_view k, T&& v)  // NOLINT: a list element
      : key(k), value(std::forward<T>(v)) {}
  JsonMemberInit(std::string_view k, Json v) : key(k), value(std::move(v)) {}
  mutable std::string key;
  mutable Json value;
};

}  // namespace chronova
