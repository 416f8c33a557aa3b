#include "core/event_json.h"

#include <cereal/archives/json.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cstdio>
#include <sstream>

namespace chronova {

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
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
