// Small helpers shared by the tests: scratch directories, event builders and a
// bounded wait.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

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

// A batch as a remote log holds it: `count` TestEvents of `stream` claiming
// versions first_version, first_version + 1, ... (for RocksDbEventLog::Ingest
// and for messages published into JetStream by hand).
std::vector<Envelope> SourceBatch(const std::string& stream, uint64_t first_version,
                                  const std::string& tag, size_t count = 1);

// Appends one TestEvent with a fresh key and Any expectation; REQUIREs success.
AppendResult AppendOne(EventLog& log, const std::string& stream, const std::string& tag);

// Appends `event` to `stream` as alice of project demo (a member), under key
// "k<n>" and request "req-<n>"; REQUIREs success and returns its seq.
Seq AppendAsAlice(EventLog& log, const StreamId& stream, const Event& event, int n);

// The `host` a TestEvent was made with.
std::string TagOf(const Envelope& env);

// The whole content of a file ("" if it cannot be read).
std::string ReadFile(const std::string& path);

// The hex digest `tool` (md5sum, sha512sum, ...) prints for the file at `path`;
// REQUIREs that the tool ran. An oracle independent of chronova's own hashing.
std::string FileDigest(const std::string& tool, const std::string& path);

// Polls `pred` every 10 ms until it holds or `timeout` has passed; returns its
// last value. Only a guard against a test hanging: a test asserts what `pred`
// waited for (a count, a state), never how long it took.
template <typename Pred>
bool WaitUntil(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Plays the scheduler and a compute host: appends instance.scheduled,
// build.started and instance.spawned on `host` to the server's stream (the
// server becomes ACTIVE there); REQUIREs success.
void ActivateOnHost(EventLog& log, Timestamp now, const std::string& instance_id,
                    const std::string& host);

// Reads the whole log from seq 1.
std::vector<Envelope> ReadAll(EventLog& log);

// A TCP port on 127.0.0.1 that nothing listens on right now, below the
// kernel's ephemeral range and never handed out twice in this process.
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
