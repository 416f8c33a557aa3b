#include "core/event_json.h"

#include <array>
#include <cereal/archives/json.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cstdio>
#include <sstream>

namespace chronova {
namespace {

// The bytes a JSON string escapes: control characters, '"' and '\\'.
constexpr std::array<bool, 256> kEscaped = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = true;
  t['"'] = t['\\'] = true;
  return t;
}();

}  // namespace

void AppendJsonQuoted(std::string_view s, std::string* out) {
  out->push_back('"');
  // Runs that need no escape are copied whole (most strings are one run).
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (!kEscaped[c]) continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out->append(buf);
      }
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

std::string JsonQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  AppendJsonQuoted(s, &out);
  return out;
}

std::string EventPayloadJson(const Event& event) {
  std::ostringstream os;
  {
    cereal::JSONOutputArchive ar(os, cereal::JSONOutputArchive::Options::NoIndent());
    std::visit(
        [&](const auto& e) { const_cast<std::decay_t<decltype(e)>&>(e).serialize(ar); },
        event);
  }
  // cereal still breaks lines without indentation; a raw newline can only be
  // layout (newlines inside strings are escaped), so drop them.
  std::string s;
  for (char c : os.str()) {
    if (c != '\n') s.push_back(c);
  }
  return s.empty() ? "{}" : s;
}

std::string EnvelopeJson(const Envelope& env, const Event* event) {
  std::string roles = "[";
  for (size_t i = 0; i < env.meta.actor.roles.size(); ++i) {
    if (i) roles += ",";
    roles += JsonQuote(env.meta.actor.roles[i]);
  }
  roles += "]";
  return "{\"seq\":" + std::to_string(env.seq.value()) +
         ",\"stream\":" + JsonQuote(env.stream.str()) +
         ",\"version\":" + std::to_string(env.version.value()) +
         ",\"type\":" + JsonQuote(env.type) +
         ",\"schema\":" + std::to_string(env.schema) +
         ",\"time\":" + JsonQuote(FormatIso8601(env.meta.time)) +
         ",\"request_id\":" + JsonQuote(env.meta.request_id.str()) +
         ",\"causation\":" + std::to_string(env.meta.causation.value()) +
         ",\"actor\":{\"user\":" + JsonQuote(env.meta.actor.user.str()) +
         ",\"project\":" + JsonQuote(env.meta.actor.project.str()) +
         ",\"roles\":" + roles +
         "},\"payload\":" + (event ? EventPayloadJson(*event) : std::string("null")) +
         "}";
}

}  // namespace chronova
