#include "core/types.h"

#include <cstdio>
#include <ctime>

namespace chronova {
namespace {

std::tm ToTm(Timestamp t) {
  std::time_t secs = static_cast<std::time_t>(
      t.micros >= 0 ? t.micros / 1000000 : (t.micros - 999999) / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

}  // namespace

std::string FormatIso8601(Timestamp t) {
  std::tm tm = ToTm(t);
  int64_t frac = ((t.micros % 1000000) + 1000000) % 1000000;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                tm.tm_sec, static_cast<long long>(frac));
  return buf;
}

std::string FormatIso8601Seconds(Timestamp t) {
  std::tm tm = ToTm(t);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

bool ParseIso8601(const std::string& text, Timestamp* out) {
  int y, mo, d, h, mi, s, consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s,
                  &consumed) != 6) {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
  std::string rest = text.substr(consumed);
  int64_t frac = 0;
  if (!rest.empty() && rest[0] == '.') {
    size_t i = 1;
    int digits = 0;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
      if (digits < 6) frac = frac * 10 + (rest[i] - '0'), ++digits;
      ++i;
    }
    if (i == 1) return false;
    while (digits < 6) frac *= 10, ++digits;
    rest = rest.substr(i);
  }
  if (!(rest.empty() || rest == "Z" || rest == "+00:00" || rest == "+0000")) return false;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  out->micros = static_cast<int64_t>(timegm(&tm)) * 1000000 + frac;
  return true;
}

}  // namespace chronova
