#include "eventstore/log_keys.h"

namespace chronova::log_keys {

void PutBigEndian64(std::string* dst, uint64_t v) {
  for (int i = 7; i >= 0; --i) dst->push_back(static_cast<char>((v >> (i * 8)) & 0xFF));
}

uint64_t GetBigEndian64(std::string_view src) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(src[i]);
  return v;
}

std::string Event(Seq seq) {
  std::string k(1, kEventPrefix);
  PutBigEndian64(&k, seq.value());
  return k;
}

std::string StreamIndexPrefix(const StreamId& stream) {
  std::string k(1, kStreamIndexPrefix);
  k += stream.str();
  k.push_back('\0');
  return k;
}

std::string StreamIndex(const StreamId& stream, StreamVersion version) {
  std::string k = StreamIndexPrefix(stream);
  PutBigEndian64(&k, version.value());
  return k;
}

std::string StreamHead(const StreamId& stream) {
  return std::string(1, kStreamHeadPrefix) + stream.str();
}

std::string Idempotency(const IdempotencyKey& key) {
  return std::string(1, kIdempotencyPrefix) + key.str();
}

std::string Source(uint64_t position) {
  std::string k(1, kSourcePrefix);
  PutBigEndian64(&k, position);
  return k;
}

std::string StreamSource(const StreamId& stream) {
  return std::string(1, kStreamSourcePrefix) + stream.str();
}

}  // namespace chronova::log_keys
