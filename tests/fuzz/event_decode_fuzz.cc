// libFuzzer target: what the logs read back — an envelope's bytes
// (DecodeEnvelope), and an event's payload under every event type and schema
// (DecodeEvent with its upcasters). Nothing may crash, hang or allocate without
// bound: bad bytes are Corruption.
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "core/event_codec.h"

namespace {

template <size_t... I>
const char* TypeAt(size_t i, std::index_sequence<I...>) {
  static const char* kTypes[] = {
      std::variant_alternative_t<I, chronova::Event>::kType...};
  return kTypes[i % sizeof...(I)];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chronova;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Envelope env;
  if (DecodeEnvelope(bytes, &env).ok()) {
    // What decodes must encode back to a decodable envelope.
    Envelope again;
    if (!DecodeEnvelope(EncodeEnvelope(env), &again).ok() || !(again == env))
      __builtin_trap();
    (void)DecodeEvent(env);
  }
  if (size < 2) return 0;
  Envelope e;
  e.type = TypeAt(data[0], std::make_index_sequence<std::variant_size_v<Event>>());
  e.schema = 1 + data[1] % 3;
  e.payload = std::string(bytes.substr(2));
  Result<Event> event = DecodeEvent(e);
  if (event.ok()) (void)EventTypeName(*event);
  return 0;
}
