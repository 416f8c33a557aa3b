// Compute API microversions (nova/api/openstack/api_version_request.py and
// wsgi.py): which version a request asks for, from `OpenStack-API-Version:
// compute X.Y` or the legacy `X-OpenStack-Nova-API-Version: X.Y`, and the
// headers that echo the negotiated version back.
#pragma once

#include <compare>
#include <string>

#include "api/http/http_message.h"
#include "core/status.h"

namespace chronova {

struct ApiVersion {
  int major = 0;
  int minor = 0;
  auto operator<=>(const ApiVersion&) const = default;
  std::string ToString() const {
    return std::to_string(major) + "." + std::to_string(minor);
  }
};

// The oldest and newest microversions chronova implements. The maximum moves
// only when every behaviour change up to it is implemented (2.2 changes keypair
// responses, 2.3 adds server attributes ...): claiming more would make clients
// expect fields and status codes we do not produce.
inline constexpr ApiVersion kMinComputeVersion{2, 1};
inline constexpr ApiVersion kMaxComputeVersion{2, 79};

// Parses "X.Y" exactly as Nova does (^([1-9]\d*)\.([1-9]\d*|0)$).
// InvalidArgument, with Nova's message, otherwise.
Result<ApiVersion> ParseApiVersion(const std::string& text);

// The version a request asks for: the compute entry of OpenStack-API-Version if
// present, else X-OpenStack-Nova-API-Version, else kMinComputeVersion (Nova's
// default); "latest" is kMaxComputeVersion. The result may lie outside
// [kMinComputeVersion, kMaxComputeVersion]: see UnsupportedVersionMessage.
// InvalidArgument (HTTP 400) for a malformed version string.
Result<ApiVersion> RequestedApiVersion(const HttpHeaders& headers);

// Nova's 406 message: "Version 2.999 is not supported by the API. Minimum is
// 2.1 and maximum is 2.1."
std::string UnsupportedVersionMessage(const ApiVersion& v);
inline bool IsSupportedVersion(const ApiVersion& v) {
  return v >= kMinComputeVersion && v <= kMaxComputeVersion;
}

// OpenStack-API-Version, X-OpenStack-Nova-API-Version and Vary, as Nova sets
// them on every versioned response.
void AddVersionHeaders(const ApiVersion& v, HttpHeaders& headers);

}  // namespace chronova
