// Nova's JSON answers and faults, shared by the Compute API's resources
// (api/compute/*.cc).
#pragma once

#include <string>

#include "api/compute/views.h"
#include "api/http/http_message.h"
#include "api/http/json.h"
#include "api/http/json_response.h"
#include "core/status.h"

namespace chronova {

inline HttpResponse FaultResponse(int code, const std::string& message) {
  return JsonResponse(code, FaultBody(code, message));
}

// 501 for what chronova (like Nova's libvirt driver) does not do.
inline HttpResponse NotSupportedResponse() {
  return FaultResponse(501, "The requested functionality is not supported.");
}

inline int HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kConflict:
      return 409;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kUnimplemented:
      return 501;
    default:
      return 500;
  }
}

inline HttpResponse ErrorResponse(const Status& s) {
  int code = HttpStatusFor(s);
  if (code == 500) {
    // Nova's FaultWrapper wording for anything unexpected.
    return FaultResponse(500,
                         "Unexpected API Error. Please report this at "
                         "http://bugs.launchpad.net/nova/ and attach the Nova API log if "
                         "possible.\n" +
                             s.ToString());
  }
  if (code == 501)
    return NotSupportedResponse();  // Nova's words, whatever the driver said
  return FaultResponse(code, s.message());
}

}  // namespace chronova
