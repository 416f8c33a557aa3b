// Opens a RocksDB database as its writer, or as a read-only secondary next to a
// running writer (chronovactl beside chronovad). Shared by the event log and the
// projection store, the two modules allowed to include RocksDB.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <filesystem>
#include <memory>
#include <string>

#include "eventstore/rocks_status.h"

namespace chronova {

struct RocksOpenOptions {
  std::string path;
  bool read_only = false;
  std::string secondary_path;  // REQUIRED when read_only
  std::string what;            // for error context: "log", "projections"
};

// `base` carries tuning; create_if_missing and max_open_files are set here.
inline Result<std::unique_ptr<rocksdb::DB>> OpenRocks(const RocksOpenOptions& o,
                                                      rocksdb::Options base) {
  rocksdb::DB* db = nullptr;
  rocksdb::Status s;
  std::error_code ec;
  if (o.read_only) {
    if (o.secondary_path.empty()) {
      return Status::InvalidArgument("read-only " + o.what + " needs a secondary_path");
    }
    std::filesystem::create_directories(o.secondary_path, ec);
    base.create_if_missing = false;
    base.max_open_files = -1;  // required for secondaries
    s = rocksdb::DB::OpenAsSecondary(base, o.path, o.secondary_path, &db);
  } else {
    std::filesystem::create_directories(o.path, ec);
    base.create_if_missing = true;
    s = rocksdb::DB::Open(base, o.path, &db);
  }
  CHRONOVA_RETURN_IF_ERROR(FromRocks(s, "open " + o.what + " " + o.path));
  return std::unique_ptr<rocksdb::DB>(db);
}

}  // namespace chronova
