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

// Writes `n` as exactly `width` digits, most significant first.
void PutDigits(char* at, int64_t n, int width) {
  for (int i = width - 1; i >= 0; --i, n /= 10) at[i] = static_cast<char>('0' + n % 10);
}

// "YYYY-MM-DDTHH:MM:SS" into buf[0..19); every list shows several times per
// server, so no snprintf. Years outside 0..9999 fall back to snprintf.
bool PutSeconds(Timestamp t, char* buf) {
  std::tm tm = ToTm(t);
  int year = tm.tm_year + 1900;
  if (year < 0 || year > 9999) return false;
  PutDigits(buf, year, 4);
  buf[4] = '-';
  PutDigits(buf + 5, tm.tm_mon + 1, 2);
  buf[7] = '-';
  PutDigits(buf + 8, tm.tm_mday, 2);
  buf[10] = 'T';
  PutDigits(buf + 11, tm.tm_hour, 2);
  buf[13] = ':';
  PutDigits(buf + 14, tm.tm_min, 2);
  buf[16] = ':';
  PutDigits(buf + 17, tm.tm_sec, 2);
  return true;
}

}  // namespace

std::string FormatIso8601(Timestamp t) {
  int64_t frac = ((t.micros % 1000000) + 1000000) % 1000000;
  char buf[64];
  if (!PutSeconds(t, buf)) {
    std::tm tm = ToTm(t);
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                  tm.tm_sec, static_cast<long long>(frac));
    return buf;
  }
  buf[19] = '.';
  PutDigits(buf + 20, frac, 6);
  buf[26] = 'Z';
  return std::string(buf, 27);
}

std::string FormatIso8601Seconds(Timestamp t) {
  char buf[64];
  if (!PutSeconds(t, buf)) {
    std::tm tm = ToTm(t);
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
  }
  buf[19] = 'Z';
  return std::string(buf, 20);
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
