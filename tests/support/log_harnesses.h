// The EventLog implementations the contract suite runs against. A harness owns
// one log and whatever it needs (a directory, a nats-server) and can restart it.
#pragma once

#include <memory>

#include "eventstore/jetstream_event_log.h"
#include "eventstore/memory_event_log.h"
#include "eventstore/rocksdb_event_log.h"
#include "tests/support/nats_server.h"
#include "tests/support/test_util.h"

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

// The lower-case namespace puts "jetstream" into the generated test names, so
// `ctest -R jetstream` selects the contract suite run against this harness.
namespace jetstream {

// The replicated log against a real single-node nats-server; Restart closes the
// log, restarts nats-server (same ports and store) and reopens the log on the
// same mirror directory.
class JetStreamHarness {
 public:
  static constexpr const char* kName = "jetstream";
  JetStreamHarness() : server_(dir_.Sub("nats")) { Open(); }
  EventLog& log() { return *log_; }
  NatsServer& server() { return server_; }
  void Restart() {
    log_.reset();
    server_.Restart();
    Open();
  }

 private:
  void Open() {
    JetStreamLogOptions o;
    o.url = server_.url();
    o.mirror_path = dir_.Sub("mirror");
    o.operation_timeout_ms = 10000;
    auto r = JetStreamEventLog::Open(o);
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    log_ = std::move(r).value();
  }
  TempDir dir_;
  NatsServer server_;
  std::unique_ptr<EventLog> log_;
};

}  // namespace jetstream

namespace memory {

// The in-memory log; Restart opens a new log on the same store (a process that
// restarted against a log that kept running).
class MemoryHarness {
 public:
  static constexpr const char* kName = "memory";
  MemoryHarness() { Open(); }
  EventLog& log() { return *log_; }
  void Restart() {
    log_.reset();
    Open();
  }

 private:
  void Open() { log_ = std::make_unique<MemoryEventLog>(&store_); }
  MemoryLogStore store_;
  std::unique_ptr<EventLog> log_;
};

}  // namespace memory
}  // namespace chronova::testing

#define CHRONOVA_LOG_HARNESSES                                                       \
  chronova::testing::RocksDbHarness, chronova::testing::jetstream::JetStreamHarness, \
      chronova::testing::memory::MemoryHarness
