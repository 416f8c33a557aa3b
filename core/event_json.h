// JSON renderings of events for people and tools (chronovactl --json, the admin
// history API). Field names are the event structs' own (cereal NVPs); this is a
// view, not a storage format.
#pragma once

#include <string>
#include <string_view>

#include "core/envelope.h"
#include "core/events.h"

namespace chronova {

// {"host": "...", ...} for one event payload.
std::string EventPayloadJson(const Event& event);
// {"seq":..,"stream":..,"version":..,"type":..,"schema":..,"time":..,
//  "request_id":..,"causation":..,"actor":{..},"payload":{..}}.
// `event` may be null (undecodable payload): "payload" is then null.
std::string EnvelopeJson(const Envelope& env, const Event* event);
// `s` as a JSON string, quotes included, appended to *out.
void AppendJsonQuoted(std::string_view s, std::string* out);
// `s` as a JSON string literal, quotes included.
std::string JsonQuote(std::string_view s);

}  // namespace chronova
