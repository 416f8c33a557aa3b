// Turns typed events into envelopes' payloads and back. Decoding runs old schemas
// through upcasters first, so readers only ever see the current struct.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>

#include "core/envelope.h"
#include "core/events.h"
#include "core/status.h"

namespace chronova {

// Encodes `event` under its current type name and schema.
NewEvent MakeNewEvent(const Event& event, const EventMeta& meta);

// Rewrites one old-schema payload into the next schema's bytes.
// REQUIRES: the result is the encoding of schema `from + 1`.
using Upcaster = std::function<Result<std::string>(std::string_view old_payload)>;

// Upcasters keyed by (type, from_schema). Immutable once built; thread-safe to read.
class UpcasterSet {
 public:
  void Add(std::string type, uint32_t from_schema, Upcaster fn) {
    fns_[{std::move(type), from_schema}] = std::move(fn);
  }
  const Upcaster* Find(const std::string& type, uint32_t schema) const {
    // A handful of retired schemas: a scan comparing the schema first costs less
    // than building a key for every decoded event.
    for (const auto& [key, fn] : fns_) {
      if (key.second == schema && key.first == type) return &fn;
    }
    return nullptr;
  }
  // The upcasters for every schema chronova has retired.
  static const UpcasterSet& Default();

 private:
  std::map<std::pair<std::string, uint32_t>, Upcaster> fns_;
};

// Decodes an envelope's payload into its typed event. Corruption naming the seq
// for an unknown type, an unknown schema (newer than this binary, or old without an
// upcaster) or undecodable bytes: never silently skipped.
Result<Event> DecodeEvent(const Envelope& env,
                          const UpcasterSet& upcasters = UpcasterSet::Default());
// DecodeEvent into *out, in place if *out holds an event of the same type (a
// reader decoding batch after batch reuses their memory). *out is unspecified
// after an error.
Status DecodeEventInto(const Envelope& env, const UpcasterSet& upcasters, Event* out);

}  // namespace chronova
