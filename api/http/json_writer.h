// JsonWriter: compact JSON text written straight into a string, for answers
// whose size the caller chose (a page of 1,000 detailed servers). Building a
// Json tree for such a page and dumping it cost most of the request
// (docs/performance.md, "Server lists"); this writes the same bytes without
// a tree. Separators are placed by the writer: a value after a value gets a
// comma, a value after a key does not. Strings that are not UTF-8 are written
// with U+FFFD for each bad byte: the text is always valid JSON.
//
//   std::string out;
//   JsonWriter w(out);
//   w.BeginObject().Key("servers").BeginArray();
//   ...
//   w.EndArray().EndObject();
//
// Thread-safety: none; one writer per answer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "api/http/json.h"

namespace chronova {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  // An object's member name; the next call writes its value.
  JsonWriter& Key(std::string_view key);

  JsonWriter& String(std::string_view s);
  JsonWriter& Int(int64_t n);
  JsonWriter& Bool(bool b);
  JsonWriter& Null();
  // A string, or null when it is empty (Nova's "x or None").
  JsonWriter& StringOrNull(std::string_view s);
  // A value already built as a tree.
  JsonWriter& Value(const Json& v);

  // Key(key) then the value.
  JsonWriter& Field(std::string_view key, std::string_view s) {
    return Key(key).String(s);
  }
  JsonWriter& Field(std::string_view key, const char* s) { return Key(key).String(s); }
  JsonWriter& Field(std::string_view key, const std::string& s) {
    return Key(key).String(s);
  }
  JsonWriter& Field(std::string_view key, bool b) { return Key(key).Bool(b); }
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  JsonWriter& Field(std::string_view key, T n) {
    return Key(key).Int(static_cast<int64_t>(n));
  }
  JsonWriter& Field(std::string_view key, const Json& v) { return Key(key).Value(v); }

 private:
  // A comma before any value but the first of its container and one after a key.
  void Separate();
  void Open(char c);
  void Close(char c);

  std::string& out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace chronova
