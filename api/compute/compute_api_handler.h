// ComputeApiHandler: the Compute API v2.1 as a function from HttpRequest to
// HttpResponse — routing, authentication (one call to the Authenticator per
// request), microversion negotiation, then the resource's handler (one file
// per resource: api/compute/resource.h). No HTTP library is involved, so the
// server adapter (api/http/http_server.cc) stays a thin shell.
//
// Thread-safety: Handle may be called concurrently.
#pragma once

#include <string>
#include <vector>

#include "api/compute/compute_api.h"
#include "api/compute/resource.h"
#include "api/http/http_message.h"
#include "api/http/http_server.h"

namespace chronova {

class ComputeApiHandler {
 public:
  // Borrows options.service, options.authenticator and options.env.
  // REQUIRES: service and authenticator are set.
  explicit ComputeApiHandler(const ComputeApiOptions& options);
  // The routes hold a reference to options_.
  ComputeApiHandler(const ComputeApiHandler&) = delete;
  ComputeApiHandler& operator=(const ComputeApiHandler&) = delete;

  // Never fails: every error becomes Nova's fault body and status. Every
  // response carries the request id ("req-<uuid>") in x-openstack-request-id
  // and X-Compute-Request-Id.
  // A body is read only for a request whose token authenticates: Handle
  // answers the others 401 without it.
  HttpBodyMode BodyMode(const HttpRequest& request) const;
  HttpResponse Handle(const HttpRequest& request) const;

 private:
  HttpResponse Dispatch(const HttpRequest& request, const std::string& request_id) const;
  HttpResponse ServeVersioned(const HttpRequest& request, const std::string& request_id,
                              const std::vector<std::string>& segments) const;

  const ComputeApiOptions options_;
  const ComputeRoutes routes_;
};

}  // namespace chronova
