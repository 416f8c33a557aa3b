// cereal portable-binary helpers. cereal throws on malformed input; these convert
// that into Status::Corruption at the boundary, as STYLE.md asks.
//
// The bytes are cereal's portable binary format as PortableBinaryOutputArchive
// writes it on a little-endian machine: one byte 1 ("little endian"), then every
// value's bytes, strings and containers as a 64-bit size and their elements. Two
// small archives of our own write that straight into a std::string and read it
// straight from memory: cereal's own go through a std::streambuf per value (a
// virtual call, a bounds check, an endianness test), which cost more than the
// rest of decoding a record during a replay. tests/core/core_test.cc holds them to
// cereal's bytes. Records whose first byte says big-endian are refused (nothing
// writes them), and so is a size beyond the bytes left: no record holds a
// container of empty structs (which would take no bytes per element).
#pragma once

#include <bit>
#include <cereal/cereal.hpp>
#include <cereal/types/common.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/status.h"
#include "core/types.h"

namespace chronova {
namespace codec_internal {

static_assert(std::endian::native == std::endian::little,
              "the record format is little-endian portable binary");

class FastOutputArchive
    : public cereal::OutputArchive<FastOutputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit FastOutputArchive(std::string* out) : OutputArchive(this), out_(out) {
    const std::uint8_t little = 1;
    saveBinary<1>(&little, 1);
  }
  template <std::streamsize DataSize>
  void saveBinary(const void* data, std::streamsize size) {
    out_->append(static_cast<const char*>(data), static_cast<size_t>(size));
  }

 private:
  std::string* out_;
};

class FastInputArchive
    : public cereal::InputArchive<FastInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit FastInputArchive(std::string_view bytes)
      : InputArchive(this), next_(bytes.data()), end_(bytes.data() + bytes.size()) {
    std::uint8_t little = 0;
    loadBinary<1>(&little, 1);
    if (little != 1) throw cereal::Exception("not little-endian portable binary");
  }
  template <std::streamsize DataSize>
  void loadBinary(void* data, std::streamsize size) {
    if (size == 0) return;  // an empty string's data() may be null
    if (size < 0 || end_ - next_ < size) {
      throw cereal::Exception("Failed to read " + std::to_string(size) +
                              " bytes: the record ends");
    }
    std::memcpy(data, next_, static_cast<size_t>(size));
    next_ += size;
  }
  bool at_end() const { return next_ == end_; }
  uint64_t remaining() const { return static_cast<uint64_t>(end_ - next_); }

 private:
  const char* next_;
  const char* end_;
};

// What cereal's portable binary archives define for themselves.
template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_SAVE_FUNCTION_NAME(FastOutputArchive& ar,
                                                                    const T& t) {
  static_assert(!std::is_floating_point_v<T> || std::numeric_limits<T>::is_iec559);
  ar.template saveBinary<sizeof(T)>(std::addressof(t), sizeof(t));
}
template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(FastInputArchive& ar,
                                                                    T& t) {
  static_assert(!std::is_floating_point_v<T> || std::numeric_limits<T>::is_iec559);
  ar.template loadBinary<sizeof(T)>(std::addressof(t), sizeof(t));
}
// A bool is one byte, 0 or 1; any other value is corrupt (loading it into a
// bool would be undefined behaviour).
inline void CEREAL_LOAD_FUNCTION_NAME(FastInputArchive& ar, bool& b) {
  std::uint8_t v = 0;
  ar.template loadBinary<1>(&v, 1);
  if (v > 1) throw cereal::Exception("a bool of value " + std::to_string(v));
  b = v == 1;
}
template <class Archive, class T>
CEREAL_ARCHIVE_RESTRICT(FastInputArchive, FastOutputArchive)
CEREAL_SERIALIZE_FUNCTION_NAME(Archive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(FastOutputArchive& ar, const cereal::SizeTag<T>& t) {
  ar(t.size);
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(FastInputArchive& ar, cereal::SizeTag<T>& t) {
  ar(t.size);
  // Every element of our records takes at least a byte: a size beyond the
  // record is corrupt, and is refused before anything that size is allocated.
  if (static_cast<uint64_t>(t.size) > ar.remaining()) {
    throw cereal::Exception("a size of " + std::to_string(t.size) +
                            " elements beyond the record");
  }
}
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(FastOutputArchive& ar, const cereal::BinaryData<T>& bd) {
  using TT = std::remove_pointer_t<T>;
  static_assert(!std::is_floating_point_v<TT> || std::numeric_limits<TT>::is_iec559);
  ar.template saveBinary<sizeof(TT)>(bd.data, static_cast<std::streamsize>(bd.size));
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(FastInputArchive& ar, cereal::BinaryData<T>& bd) {
  using TT = std::remove_pointer_t<T>;
  static_assert(!std::is_floating_point_v<TT> || std::numeric_limits<TT>::is_iec559);
  ar.template loadBinary<sizeof(TT)>(bd.data, static_cast<std::streamsize>(bd.size));
}

// StringIds as their bare string (the same bytes as their save_minimal), written
// and read in place: save_minimal and load_minimal, which JSON needs, would copy
// every id through a temporary string.
template <class Tag>
void CEREAL_SAVE_FUNCTION_NAME(FastOutputArchive& ar, const StringId<Tag>& id) {
  ar(id.str());
}
template <class Tag>
void CEREAL_LOAD_FUNCTION_NAME(FastInputArchive& ar, StringId<Tag>& id) {
  ar(id.mutable_str());
}

}  // namespace codec_internal

// Appends the encoding of `value` to *out (a buffer reused record after record
// grows once, not for every record).
template <typename T>
void EncodePortableInto(const T& value, std::string* out) {
  codec_internal::FastOutputArchive ar(out);
  ar(value);
}

template <typename T>
std::string EncodePortable(const T& value) {
  std::string out;
  out.reserve(128);
  EncodePortableInto(value, &out);
  return out;
}

// Decodes `bytes` into *out; Corruption if they are malformed or have trailing bytes.
template <typename T>
Status DecodePortable(std::string_view bytes, T* out) {
  try {
    codec_internal::FastInputArchive ar(bytes);
    ar(*out);
    if (!ar.at_end()) return Status::Corruption("undecodable record: trailing bytes");
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("undecodable record: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace chronova

CEREAL_SETUP_ARCHIVE_TRAITS(chronova::codec_internal::FastInputArchive,
                            chronova::codec_internal::FastOutputArchive)

namespace cereal {
// The fast archives use the non-member load and save above for StringIds.
template <class Tag>
struct specialize<chronova::codec_internal::FastInputArchive, chronova::StringId<Tag>,
                  specialization::non_member_load_save> {};
template <class Tag>
struct specialize<chronova::codec_internal::FastOutputArchive, chronova::StringId<Tag>,
                  specialization::non_member_load_save> {};
}  // namespace cereal
