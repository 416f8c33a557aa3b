#include "eventstore/log_factory.h"

#include "eventstore/metered_event_log.h"
#include "eventstore/rocksdb_event_log.h"

namespace chronova {

Result<LogBackend> ParseLogBackend(const std::string& name) {
  if (name == "rocksdb") return LogBackend::kRocksDb;
  if (name == "jetstream") return LogBackend::kJetStream;
  return Status::InvalidArgument("unknown log backend '" + name +
                                 "' (expected rocksdb or jetstream)");
}

Result<std::unique_ptr<EventLog>> OpenEventLog(const LogConfig& config) {
  if (config.backend == LogBackend::kJetStream) {
    JetStreamLogOptions o = config.jetstream;
    if (o.mirror_path.empty()) o.mirror_path = config.state_dir + "/mirror";
    CHRONOVA_ASSIGN_OR_RETURN(auto log, JetStreamEventLog::Open(o));
    return std::unique_ptr<EventLog>(
        std::make_unique<MeteredEventLog>(std::move(log), "jetstream"));
  }
  RocksDbLogOptions o;
  o.path = config.state_dir + "/log";
  o.sync = config.sync;
  o.read_only = config.read_only;
  o.secondary_path = config.secondary_path;
  CHRONOVA_ASSIGN_OR_RETURN(auto log, RocksDbEventLog::Open(o));
  if (config.read_only) return std::unique_ptr<EventLog>(std::move(log));
  return std::unique_ptr<EventLog>(
      std::make_unique<MeteredEventLog>(std::move(log), "rocksdb"));
}

}  // namespace chronova
