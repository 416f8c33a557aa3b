// cereal portable-binary helpers. cereal throws on malformed input; these convert
// that into Status::Corruption at the boundary, as STYLE.md asks.
//
// The archives read and write through small stream buffers over the caller's
// bytes (no std::stringstream: constructing one per record, and copying the bytes
// into it, cost more than decoding the record itself during a replay).
#pragma once

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/common.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cstring>
#include <istream>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

#include "core/status.h"

namespace chronova {
namespace codec_internal {

// Reads a string_view in place.
class ViewBuf : public std::streambuf {
 public:
  void Reset(std::string_view bytes) {
    char* p = const_cast<char*>(bytes.data());
    setg(p, p, p + bytes.size());
  }
  bool at_end() const { return gptr() == egptr(); }

 protected:
  std::streamsize xsgetn(char* s, std::streamsize n) override {
    std::streamsize avail = egptr() - gptr();
    if (n > avail) n = avail;
    std::memcpy(s, gptr(), static_cast<size_t>(n));
    gbump(static_cast<int>(n));
    return n;
  }
};

// Appends to a std::string.
class StringBuf : public std::streambuf {
 public:
  void Reset(std::string* out) { out_ = out; }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_->append(s, static_cast<size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) out_->push_back(static_cast<char>(c));
    return traits_type::not_eof(c);
  }

 private:
  std::string* out_ = nullptr;
};

// One stream per thread, reused: constructing a std::istream/ostream initializes
// its locale (several dynamic_casts), which cost as much as decoding a small
// record. `busy` guards against a nested use (a serializer that itself decodes):
// that one gets a fresh stream.
template <typename Stream, typename Buf>
struct Reusable {
  Buf buf;
  Stream stream{&buf};
  bool busy = false;
};

template <typename Stream, typename Buf>
class Lease {
 public:
  Lease() {
    thread_local Reusable<Stream, Buf> reusable;
    if (!reusable.busy) {
      r_ = &reusable;
    } else {
      own_ = std::make_unique<Reusable<Stream, Buf>>();
      r_ = own_.get();
    }
    r_->busy = true;
    r_->stream.clear();
  }
  ~Lease() { r_->busy = false; }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Buf& buf() { return r_->buf; }
  Stream& stream() { return r_->stream; }

 private:
  Reusable<Stream, Buf>* r_;
  std::unique_ptr<Reusable<Stream, Buf>> own_;
};

}  // namespace codec_internal

template <typename T>
std::string EncodePortable(const T& value) {
  std::string out;
  out.reserve(128);
  codec_internal::Lease<std::ostream, codec_internal::StringBuf> lease;
  lease.buf().Reset(&out);
  {
    cereal::PortableBinaryOutputArchive ar(lease.stream());
    ar(value);
  }
  lease.buf().Reset(nullptr);
  return out;
}

// Decodes `bytes` into *out; Corruption if they are malformed or have trailing bytes.
template <typename T>
Status DecodePortable(std::string_view bytes, T* out) {
  codec_internal::Lease<std::istream, codec_internal::ViewBuf> lease;
  lease.buf().Reset(bytes);
  try {
    cereal::PortableBinaryInputArchive ar(lease.stream());
    ar(*out);
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("undecodable record: ") + e.what());
  }
  if (!lease.buf().at_end()) {
    return Status::Corruption("undecodable record: trailing bytes");
  }
  return Status::Ok();
}

}  // namespace chronova
