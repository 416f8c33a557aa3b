// Logger: chronova's one log. Every line is a JSON object on one line
// (docs/operations.md, "Logs"):
//
//   {"time":"2026-12-06T12:00:00.000000Z","level":"warning","role":"conductor",
//    "host":"c1","request_id":"req-...","instance_id":"...","msg":"..."}
//
// with the fields that are known; `role` names the part of chronova that
// speaks (api, scheduler, conductor, compute, nats, projections, chronovad).
// Code logs through its Env (Env::logger()), so a test or the simulation sees
// every line.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.h"

namespace chronova {

enum class LogLevel { kDebug, kInfo, kWarning, kError };
const char* LogLevelName(LogLevel level);

// Where a line comes from and what it is about; empty fields are left out.
struct LogContext {
  std::string_view role;
  std::string_view host;
  std::string_view request_id;
  std::string_view instance_id;
};

class Logger {
 public:
  virtual ~Logger() = default;
  // Writes one line. Thread-safe.
  virtual void Log(Timestamp time, LogLevel level, const LogContext& where,
                   std::string_view message) = 0;
};

// The JSON line of one record, without the newline.
std::string FormatLogLine(Timestamp time, LogLevel level, const LogContext& where,
                          std::string_view message);

// Lines at `min_level` and above to a file descriptor (stderr by default), one
// write(2) each, so lines of concurrent threads and processes do not mix.
class FdLogger : public Logger {
 public:
  explicit FdLogger(int fd = 2, LogLevel min_level = LogLevel::kInfo)
      : fd_(fd), min_level_(min_level) {}
  void Log(Timestamp time, LogLevel level, const LogContext& where,
           std::string_view message) override;

 private:
  const int fd_;
  const LogLevel min_level_;
};

// Keeps every line in memory (tests, the simulation).
class MemoryLogger : public Logger {
 public:
  void Log(Timestamp time, LogLevel level, const LogContext& where,
           std::string_view message) override;
  std::vector<std::string> Lines() const;

 private:
  mutable std::mutex mu_;  // protects lines_
  std::vector<std::string> lines_;
};

}  // namespace chronova
