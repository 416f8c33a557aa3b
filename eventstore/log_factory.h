// Opens the EventLog a configuration names: the embedded RocksDB log under the
// state directory, or the JetStream log (with its local mirror there).
#pragma once

#include <memory>
#include <string>

#include "eventstore/event_log.h"
#include "eventstore/jetstream_event_log.h"

namespace chronova {

enum class LogBackend { kRocksDb, kJetStream };

struct LogConfig {
  LogBackend backend = LogBackend::kRocksDb;
  std::string state_dir;  // the RocksDB log lives in <state_dir>/log
  // RocksDB: fsync each group commit (survives power loss, not only crashes).
  bool sync = true;
  JetStreamLogOptions jetstream;  // mirror_path defaults to <state_dir>/mirror
  // Open the RocksDB log as a read-only secondary (operator tools next to a
  // running daemon). Ignored for JetStream, whose mirror is private anyway.
  bool read_only = false;
  std::string secondary_path;
};

// "rocksdb" or "jetstream"; InvalidArgument otherwise.
Result<LogBackend> ParseLogBackend(const std::string& name);

Result<std::unique_ptr<EventLog>> OpenEventLog(const LogConfig& config);

}  // namespace chronova
