// CRC-32C (Castagnoli) of a byte string: the checksum in front of every record
// the RocksDB log stores, so a flipped bit is reported as Corruption, not decoded.
#pragma once

#include <cstdint>
#include <string_view>

namespace chronova {

uint32_t Crc32c(std::string_view data);

}  // namespace chronova
