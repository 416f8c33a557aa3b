// Every RocksDB key the event log writes, built in one place (like leveldb's
// db/filename.h). Integers are big-endian so keys sort in numeric order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/types.h"

namespace chronova::log_keys {

// 'e' + be64(seq) -> crc32c(le32) + EncodeEnvelope
inline constexpr char kEventPrefix = 'e';
// 's' + stream + '\0' + be64(version) -> be64(seq)
inline constexpr char kStreamIndexPrefix = 's';
// 'v' + stream -> be64(current version)
inline constexpr char kStreamHeadPrefix = 'v';
// 'k' + idempotency key -> be64(first seq) be64(last seq) be64(last version)
inline constexpr char kIdempotencyPrefix = 'k';
// 'x' + be64(source position) -> be64(first seq) be64(last seq): where a replicated
// batch (a JetStream message) landed in a local mirror.
inline constexpr char kSourcePrefix = 'x';
// 'w' + stream -> be64(source position) of the stream's last replicated batch
// (in a JetStream mirror: the JetStream sequence of the subject's last message).
inline constexpr char kStreamSourcePrefix = 'w';
// The mirror's last ingested source position.
inline constexpr std::string_view kSourceApplied = "m:source_applied";

void PutBigEndian64(std::string* dst, uint64_t v);
uint64_t GetBigEndian64(std::string_view src);  // REQUIRES: src.size() >= 8

std::string Event(Seq seq);
std::string StreamIndex(const StreamId& stream, StreamVersion version);
std::string StreamIndexPrefix(const StreamId& stream);
std::string StreamHead(const StreamId& stream);
std::string Idempotency(const IdempotencyKey& key);
std::string Source(uint64_t position);
std::string StreamSource(const StreamId& stream);

}  // namespace chronova::log_keys
