#include "api/http/json_writer.h"

#include <charconv>

#include "core/event_json.h"
#include "core/utf8.h"

namespace chronova {
namespace {

// `s` quoted; invalid UTF-8 (a stored string no schema checked) becomes
// U+FFFD, so that an answer is always JSON a client (and Json::Parse) reads.
void AppendString(std::string_view s, std::string* out) {
  if (IsUtf8(s)) return AppendJsonQuoted(s, out);
  std::string fixed;
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    char32_t cp;
    if (DecodeUtf8(s, &i, &cp)) {
      fixed.append(s.substr(start, i - start));
    } else {
      fixed += "\xEF\xBF\xBD";
    }
  }
  AppendJsonQuoted(fixed, out);
}

}  // namespace

void JsonWriter::Separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (first_.empty()) return;
  if (!first_.back()) out_.push_back(',');
  first_.back() = false;
}

void JsonWriter::Open(char c) {
  Separate();
  out_.push_back(c);
  first_.push_back(true);
}

void JsonWriter::Close(char c) {
  out_.push_back(c);
  first_.pop_back();
}

JsonWriter& JsonWriter::BeginObject() {
  Open('{');
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  Close('}');
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  Open('[');
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  Close(']');
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  Separate();
  AppendString(key, &out_);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view s) {
  Separate();
  AppendString(s, &out_);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t n) {
  Separate();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  out_.append(buf, end);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool b) {
  Separate();
  out_ += b ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::Null() {
  Separate();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::StringOrNull(std::string_view s) {
  return s.empty() ? Null() : String(s);
}

JsonWriter& JsonWriter::Value(const Json& v) {
  Separate();
  v.AppendTo(&out_);
  return *this;
}

}  // namespace chronova
