// Json parsing goes through RapidJSON's iterative SAX reader (RapidJSON already
// comes with cereal), so no input can recurse deeper than kMaxDepth here.
#include "api/http/json.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/event_json.h"
#include "core/utf8.h"

namespace chronova {
namespace {

// Shortest text that reads back as `d` ("0.5", "1e+300").
std::string FormatDouble(double d) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  if (ec != std::errc()) return "0";
  return std::string(buf, end);
}

// Python's repr() of a str: single quotes unless the text holds a single quote
// and no double quote.
std::string PythonStringRepr(const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", u);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  out.push_back(quote);
  return out;
}

// How a value is spelled: JSON, or Python's repr() of the decoded value.
struct Syntax {
  const char* null_word;
  const char* true_word;
  const char* false_word;
  const char* item_separator;  // between array items and object members
  const char* key_separator;   // between a key and its value
  void (*quote)(const std::string&, std::string*);  // appends the quoted text
  std::string (*number)(double);
};

void JsonString(const std::string& s, std::string* out) { AppendJsonQuoted(s, out); }

void PythonString(const std::string& s, std::string* out) { *out += PythonStringRepr(s); }

// JSON has no NaN or infinity; null is what Python's strict encoders give. A
// float keeps its ".0" ("2.0", "-0.0"), as json.dumps writes it, so it reads
// back as a float.
std::string JsonNumber(double d) {
  if (!std::isfinite(d)) return "null";
  std::string s = FormatDouble(d);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// Python's float repr: "nan", "inf", and a ".0" on integral values.
std::string PythonNumber(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  std::string s = FormatDouble(d);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

constexpr Syntax kJson{"null", "true", "false", ",", ":", &JsonString, &JsonNumber};
constexpr Syntax kPython{"None", "True",        "False",      ", ",
                         ": ",   &PythonString, &PythonNumber};

void Write(const Json& v, const Syntax& syntax, std::string& out) {
  switch (v.type()) {
    case Json::Type::kNull:
      out += syntax.null_word;
      break;
    case Json::Type::kBool:
      out += v.as_bool() ? syntax.true_word : syntax.false_word;
      break;
    case Json::Type::kInt:
      out += std::to_string(v.as_int());
      break;
    case Json::Type::kDouble:
      out += syntax.number(v.as_double());
      break;
    case Json::Type::kString:
      syntax.quote(v.as_string(), &out);
      break;
    case Json::Type::kArray: {
      out.push_back('[');
      for (size_t i = 0; i < v.items().size(); ++i) {
        if (i > 0) out += syntax.item_separator;
        Write(v.items()[i], syntax, out);
      }
      out.push_back(']');
      break;
    }
    case Json::Type::kObject: {
      out.push_back('{');
      for (size_t i = 0; i < v.members().size(); ++i) {
        if (i > 0) out += syntax.item_separator;
        syntax.quote(v.members()[i].first, &out);
        out += syntax.key_separator;
        Write(v.members()[i].second, syntax, out);
      }
      out.push_back('}');
      break;
    }
  }
}

// Builds a Json from RapidJSON's SAX events with an explicit stack.
class Builder {
 public:
  bool Null() { return Put(Json()); }
  bool Bool(bool b) { return Put(Json(b)); }
  // Numbers come as their text (kParseNumbersAsStringsFlag) and are converted
  // here with std::from_chars, which rounds correctly: what Dump prints reads
  // back as the same value (RapidJSON's own conversion did not round-trip a
  // long integer, and its full-precision one has undefined behaviour on "0e80";
  // both found by the request-body fuzz target).
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    const char* end = s + n;
    if (std::find_if(s, end, [](char c) { return c == '.' || c == 'e' || c == 'E'; }) ==
        end) {
      int64_t i = 0;
      auto [ptr, ec] = std::from_chars(s, end, i);
      if (ec == std::errc() && ptr == end) return Put(Json(i));
      // Beyond int64: keep the magnitude as a double, as Python would keep the int.
    }
    double d = 0;
    auto [ptr, ec] = std::from_chars(s, end, d);
    if (ptr != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
      return false;
    }
    if (ec == std::errc::result_out_of_range) {
      // Too small is (nearly) zero; too big ("1e400") is refused, as RapidJSON did.
      d = std::strtod(std::string(s, n).c_str(), nullptr);
      if (std::isinf(d)) return false;
    }
    return Put(Json(d));
  }
  // Not called: numbers arrive as RawNumber.
  bool Int(int) { return false; }
  bool Uint(unsigned) { return false; }
  bool Int64(int64_t) { return false; }
  bool Uint64(uint64_t) { return false; }
  bool Double(double) { return false; }
  // RapidJSON checks the UTF-8 of the text, not what a \u escape makes: a
  // lone surrogate ("\udddd") would become bytes that are not UTF-8, which no
  // client can read back (found by the request-body fuzz target). Refused.
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (!IsUtf8(std::string_view(s, n))) return false;
    return Put(Json(std::string(s, n)));
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (!IsUtf8(std::string_view(s, n))) return false;
    key_.assign(s, n);
    return true;
  }
  bool StartObject() { return Open(Json::MakeObject()); }
  bool EndObject(rapidjson::SizeType) { return Close(); }
  bool StartArray() { return Open(Json::MakeArray()); }
  bool EndArray(rapidjson::SizeType) { return Close(); }

  bool too_deep() const { return too_deep_; }
  Json Take() { return std::move(root_); }

 private:
  // Stores `v` in the innermost open container (or as the root).
  Json* Store(Json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json* parent = stack_.back();
    if (parent->is_array()) {
      parent->mutable_items().push_back(std::move(v));
      return &parent->mutable_items().back();
    }
    // Python's json keeps the last of duplicate keys.
    Json& slot = (*parent)[key_];
    slot = std::move(v);
    return &slot;
  }
  bool Put(Json v) {
    Store(std::move(v));
    return true;
  }
  bool Open(Json container) {
    if (static_cast<int>(stack_.size()) >= Json::kMaxDepth) {
      too_deep_ = true;
      return false;
    }
    stack_.push_back(Store(std::move(container)));
    return true;
  }
  bool Close() {
    stack_.pop_back();
    return true;
  }

  Json root_;
  // Open containers, innermost last. Pointers stay valid: a container is only
  // appended to while it is the innermost one, and its parent is never touched
  // until it is closed.
  std::vector<Json*> stack_;
  std::string key_;
  bool too_deep_ = false;
};

}  // namespace

Json Json::MakeArray(Array items) {
  Json j;
  j.type_ = Type::kArray;
  j.array_ = std::move(items);
  return j;
}

Json Json::MakeArray(std::initializer_list<JsonItemInit> items) {
  Json j;
  j.type_ = Type::kArray;
  j.array_.reserve(items.size());
  for (const JsonItemInit& i : items) j.array_.push_back(std::move(i.value));
  return j;
}

Json Json::MakeObject(std::initializer_list<JsonMemberInit> members) {
  Json j;
  j.type_ = Type::kObject;
  j.object_.reserve(members.size());
  for (const JsonMemberInit& m : members)
    j.object_.emplace_back(std::move(m.key), std::move(m.value));
  return j;
}

Json Json::MakeObject(Object members) {
  Json j;
  j.type_ = Type::kObject;
  j.object_ = std::move(members);
  return j;
}

Json& Json::operator[](std::string_view key) {
  if (type_ == Type::kNull) type_ = Type::kObject;
  for (auto& [k, v] : object_) {
    if (k == key) return v;
  }
  object_.emplace_back(std::string(key), Json());
  return object_.back().second;
}

const Json* Json::Find(std::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (const auto& [k, v] : object_) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Json::Append(Json value) {
  if (type_ == Type::kNull) type_ = Type::kArray;
  array_.push_back(std::move(value));
}

size_t Json::size() const {
  if (type_ == Type::kArray) return array_.size();
  if (type_ == Type::kObject) return object_.size();
  return 0;
}

std::string Json::Dump() const {
  std::string out;
  Write(*this, kJson, out);
  return out;
}

void Json::AppendTo(std::string* out) const { Write(*this, kJson, *out); }

std::string Json::PythonRepr() const {
  std::string out;
  Write(*this, kPython, out);
  return out;
}

std::string Json::PythonStr() const { return is_string() ? string_ : PythonRepr(); }

Result<Json> Json::Parse(std::string_view text) {
  // RapidJSON's streams take a NUL byte for the end of the text, which would
  // let "document\0anything" through; JSON has no raw NUL anywhere.
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return Status::InvalidArgument("JSON: a NUL byte at offset " + std::to_string(nul));
  }
  Builder builder;
  rapidjson::Reader reader;
  rapidjson::MemoryStream in(text.data(), text.size());
  // Without kParseStopWhenDoneFlag, text after the document is an error.
  constexpr unsigned kFlags = rapidjson::kParseIterativeFlag |
                              rapidjson::kParseValidateEncodingFlag |
                              rapidjson::kParseNumbersAsStringsFlag;
  rapidjson::ParseResult r = reader.Parse<kFlags>(in, builder);
  if (builder.too_deep()) {
    return Status::InvalidArgument("JSON nested deeper than " +
                                   std::to_string(kMaxDepth));
  }
  if (r.IsError()) {
    return Status::InvalidArgument(std::string("JSON: ") +
                                   rapidjson::GetParseError_En(r.Code()) + " at offset " +
                                   std::to_string(r.Offset()));
  }
  return builder.Take();
}

bool Json::operator==(const Json& other) const {
  if (is_number() && other.is_number()) {
    if (is_int() && other.is_int()) return int_ == other.int_;
    return as_double() == other.as_double();
  }
  if (type_ != other.type_) return false;
  switch (type_) {
    case Type::kNull:
      return true;
    case Type::kBool:
      return bool_ == other.bool_;
    case Type::kString:
      return string_ == other.string_;
    case Type::kArray:
      return array_ == other.array_;
    case Type::kObject:
      return object_ == other.object_;
    default:
      return false;
  }
}

}  // namespace chronova
