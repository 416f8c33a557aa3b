// libFuzzer target: the records the read models store and the messages agents
// send, decoded from arbitrary bytes (DecodePortable): Corruption, never a
// crash or an allocation the bytes do not pay for.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agents/messages.h"
#include "core/aggregate_state.h"
#include "core/codec.h"
#include "core/host_state.h"
#include "core/image_state.h"
#include "core/instance_state.h"

namespace {

template <typename T>
void Decode(std::string_view bytes) {
  T value;
  if (chronova::DecodePortable(bytes, &value).ok()) {
    T again;
    if (!chronova::DecodePortable(chronova::EncodePortable(value), &again).ok()) {
      __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chronova;
  if (size < 1) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0:
      return Decode<InstanceState>(bytes), 0;
    case 1:
      return Decode<HostState>(bytes), 0;
    case 2:
      return Decode<ImageState>(bytes), 0;
    case 3:
      return Decode<AggregateState>(bytes), 0;
    case 4:
      return Decode<Work>(bytes), 0;
    case 5:
      return Decode<Report>(bytes), 0;
    case 6:
      return Decode<GuestInventory>(bytes), 0;
    default:
      return Decode<HostQuery>(bytes), 0;
  }
}
