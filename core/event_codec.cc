#include "core/event_codec.h"

#include "core/codec.h"

namespace chronova {
namespace {

template <size_t I = 0>
Result<Event> DecodeAlternative(const std::string& type, uint32_t schema,
                                std::string_view payload) {
  if constexpr (I == std::variant_size_v<Event>) {
    return Status::Corruption("unknown event type '" + type + "'");
  } else {
    using T = std::variant_alternative_t<I, Event>;
    if (type != T::kType) return DecodeAlternative<I + 1>(type, schema, payload);
    if (schema != T::kSchema) {
      return Status::Corruption("event type '" + type + "' has schema " +
                                std::to_string(schema) + ", this binary knows " +
                                std::to_string(T::kSchema));
    }
    T value;
    CHRONOVA_RETURN_IF_ERROR(DecodePortable(payload, &value));
    return Event(std::move(value));
  }
}

}  // namespace

const char* EventTypeName(const Event& e) {
  return std::visit([](const auto& v) { return std::decay_t<decltype(v)>::kType; }, e);
}

NewEvent MakeNewEvent(const Event& event, const EventMeta& meta) {
  return std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        return NewEvent{T::kType, T::kSchema, meta, EncodePortable(v)};
      },
      event);
}

const UpcasterSet& UpcasterSet::Default() {
  // No schema has been retired yet. When one is, register its upcaster here and
  // keep a fixture of the old bytes under tests/fixtures/.
  static const UpcasterSet* set = new UpcasterSet();
  return *set;
}

Result<Event> DecodeEvent(const Envelope& env, const UpcasterSet& upcasters) {
  uint32_t schema = env.schema;
  std::string payload = env.payload;
  // Upcast step by step to the newest schema we have an upcaster for.
  while (const Upcaster* up = upcasters.Find(env.type, schema)) {
    Result<std::string> next = (*up)(payload);
    if (!next.ok()) {
      return next.status().WithContext("seq " + std::to_string(env.seq.value()) +
                                       ": upcast " + env.type + " schema " +
                                       std::to_string(schema));
    }
    payload = std::move(next).value();
    ++schema;
  }
  Result<Event> ev = DecodeAlternative(env.type, schema, payload);
  if (!ev.ok()) return ev.status().WithContext("seq " + std::to_string(env.seq.value()));
  return ev;
}

}  // namespace chronova
