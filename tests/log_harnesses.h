// The EventLog implementations the contract suite runs against. A harness owns
// one log and whatever it needs (a directory, a nats-server) and can restart it.
#pragma once

#include <memory>

#include "eventstore/rocksdb_event_log.h"
#include "tests/test_util.h"

namespace chronova::testing {

// The embedded log; Restart closes and reopens the RocksDB directory.
class RocksDbHarness {
 public:
  static constexpr const char* kName = "rocksdb";
  RocksDbHarness() { Open(); }
  EventLog& log() { return *log_; }
  void Restart() {
    log_.reset();
    Open();
  }

 private:
  void Open() {
    RocksDbLogOptions o;
    o.path = dir_.Sub("log");
    o.sync = false;
    auto r = RocksDbEventLog::Open(o);
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    log_ = std::move(r).value();
  }
  TempDir dir_;
  std::unique_ptr<EventLog> log_;
};

}  // namespace chronova::testing

#define CHRONOVA_LOG_HARNESSES chronova::testing::RocksDbHarness
