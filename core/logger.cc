#include "core/logger.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace chronova {
namespace {

// A JSON string literal of `s` (UTF-8 passed through, controls escaped).
void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned char>(c));
          *out += buf;
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void AppendField(std::string* out, const char* name, std::string_view value) {
  if (value.empty()) return;
  *out += ",\"";
  *out += name;
  *out += "\":";
  AppendQuoted(out, value);
}

}  // namespace

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string FormatLogLine(Timestamp time, LogLevel level, const LogContext& where,
                          std::string_view message) {
  std::string line = "{\"time\":";
  AppendQuoted(&line, FormatIso8601(time));
  AppendField(&line, "level", LogLevelName(level));
  AppendField(&line, "role", where.role);
  AppendField(&line, "host", where.host);
  AppendField(&line, "request_id", where.request_id);
  AppendField(&line, "instance_id", where.instance_id);
  line += ",\"msg\":";
  AppendQuoted(&line, message);
  line.push_back('}');
  return line;
}

void FdLogger::Log(Timestamp time, LogLevel level, const LogContext& where,
                   std::string_view message) {
  if (level < min_level_) return;
  std::string line = FormatLogLine(time, level, where, message);
  line.push_back('\n');
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to log that logging failed
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void MemoryLogger::Log(Timestamp time, LogLevel level, const LogContext& where,
                       std::string_view message) {
  std::string line = FormatLogLine(time, level, where, message);
  std::lock_guard<std::mutex> l(mu_);
  lines_.push_back(std::move(line));
}

std::vector<std::string> MemoryLogger::Lines() const {
  std::lock_guard<std::mutex> l(mu_);
  return lines_;
}

}  // namespace chronova
