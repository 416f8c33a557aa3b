// Small helpers shared by the tests: scratch directories and event builders.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "core/event_codec.h"
#include "core/events.h"
#include "eventstore/event_log.h"
#include "eventstore/rocksdb_event_log.h"

namespace chronova::testing {

// A fresh directory under $TMPDIR, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A RocksDB log at `path` for a test: no fsync per append.
std::unique_ptr<RocksDbEventLog> OpenTestLog(const std::string& path);

// A small event for log tests: an InstanceDeleted whose host names `tag`.
NewEvent TestEvent(const std::string& tag, const std::string& request_id = "req-test");

// Appends one TestEvent with a fresh key and Any expectation; REQUIREs success.
AppendResult AppendOne(EventLog& log, const std::string& stream, const std::string& tag);

// The `host` a TestEvent was made with.
std::string TagOf(const Envelope& env);

// The whole content of a file ("" if it cannot be read).
std::string ReadFile(const std::string& path);

// Reads the whole log from seq 1.
std::vector<Envelope> ReadAll(EventLog& log);

// A TCP port on 127.0.0.1 that nothing listens on right now.
int FreePort();

// An HTTP answer as read off the wire.
struct RawHttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Sends `request` (a whole HTTP/1.1 request, headers and body) to
// 127.0.0.1:`port` on a fresh connection and reads the answer (up to its
// Content-Length, or until the server closes). A send the server cuts short
// (it may answer 413 without reading everything) is not an error.
RawHttpReply RawHttpExchange(int port, const std::string& request, int timeout_s = 20);

}  // namespace chronova::testing
