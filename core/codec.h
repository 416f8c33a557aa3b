// cereal portable-binary helpers. cereal throws on malformed input; these convert
// that into Status::Corruption at the boundary, as STYLE.md asks.
#pragma once

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/common.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <sstream>
#include <string>
#include <string_view>

#include "core/status.h"

namespace chronova {

template <typename T>
std::string EncodePortable(const T& value) {
  std::ostringstream os(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive ar(os);
    ar(value);
  }
  return std::move(os).str();
}

// Decodes `bytes` into *out; Corruption if they are malformed or have trailing bytes.
template <typename T>
Status DecodePortable(std::string_view bytes, T* out) {
  std::istringstream is(std::string(bytes), std::ios::binary);
  try {
    cereal::PortableBinaryInputArchive ar(is);
    ar(*out);
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("undecodable record: ") + e.what());
  }
  if (is.peek() != std::char_traits<char>::eof()) {
    return Status::Corruption("undecodable record: trailing bytes");
  }
  return Status::Ok();
}

}  // namespace chronova
