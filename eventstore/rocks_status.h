// Converts RocksDB's Status into chronova's, with context. Only for eventstore/
// and projections/, the two modules allowed to include RocksDB.
#pragma once

#include <rocksdb/status.h>

#include <string>

#include "core/status.h"

namespace chronova {

inline Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  if (s.ok()) return Status::Ok();
  std::string msg = "rocksdb: " + context + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return Status::Unavailable(msg);
  }
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  return Status::Internal(msg);
}

}  // namespace chronova
