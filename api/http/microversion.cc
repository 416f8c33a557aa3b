#include "api/http/microversion.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace chronova {
namespace {

constexpr char kVersionHeader[] = "OpenStack-API-Version";
constexpr char kLegacyVersionHeader[] = "X-OpenStack-Nova-API-Version";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// What a version number may be: the regex's ([1-9]\d*) and ([1-9]\d*|0).
enum class Zero { kRejected, kAllowed };

// A non-empty run of digits without a leading zero (a lone "0" only if allowed).
bool ParseNumber(std::string_view s, Zero zero, int* out) {
  if (s.empty()) return false;
  int64_t value = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    // Saturate: an absurdly large version is unsupported, not malformed.
    value = std::min<int64_t>(value * 10 + (c - '0'), 1000000000);
  }
  if (s[0] == '0' && !(zero == Zero::kAllowed && s.size() == 1)) return false;
  *out = static_cast<int>(value);
  return true;
}

// microversion_parse.get_version(): the standard header's "compute" entry
// (the header may list several services: "compute 2.1, placement 1.2"; every
// field of that name counts), else the legacy header.
std::optional<std::string> VersionString(const HttpHeaders& headers) {
  for (const std::string& field : headers.FindAll(kVersionHeader)) {
    std::string_view rest = field;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = Trim(rest.substr(0, comma));
      rest =
          comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      size_t space = item.find_first_of(" \t");
      if (space == std::string_view::npos) continue;
      std::string_view service = item.substr(0, space);
      if (service.size() == 7 && EqualsIgnoreCase(service, "compute")) {
        return std::string(Trim(item.substr(space + 1)));
      }
    }
  }
  if (const std::string* legacy = headers.Find(kLegacyVersionHeader)) {
    return std::string(Trim(*legacy));
  }
  return std::nullopt;
}

}  // namespace

Result<ApiVersion> ParseApiVersion(const std::string& text) {
  size_t dot = text.find('.');
  ApiVersion v;
  if (dot == std::string::npos ||
      !ParseNumber(std::string_view(text).substr(0, dot), Zero::kRejected, &v.major) ||
      !ParseNumber(std::string_view(text).substr(dot + 1), Zero::kAllowed, &v.minor)) {
    return Status::InvalidArgument(
        "API Version String " + text +
        " is of invalid format. Must be of format MajorNum.MinorNum.");
  }
  return v;
}

Result<ApiVersion> RequestedApiVersion(const HttpHeaders& headers) {
  std::optional<std::string> text = VersionString(headers);
  if (!text) return kMinComputeVersion;
  if (*text == "latest") return kMaxComputeVersion;
  return ParseApiVersion(*text);
}

std::string UnsupportedVersionMessage(const ApiVersion& v) {
  return "Version " + v.ToString() + " is not supported by the API. Minimum is " +
         kMinComputeVersion.ToString() + " and maximum is " +
         kMaxComputeVersion.ToString() + ".";
}

void AddVersionHeaders(const ApiVersion& v, HttpHeaders& headers) {
  headers.Set(kVersionHeader, "compute " + v.ToString());
  headers.Set(kLegacyVersionHeader, v.ToString());
  headers.Set("Vary", std::string(kVersionHeader) + ", " + kLegacyVersionHeader);
}

}  // namespace chronova
