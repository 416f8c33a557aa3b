// The shape of a Compute API resource: what a handler sees (ComputeCall), the
// route table it adds itself to (ComputeRoutes), and the base class of every
// resource's handlers (ComputeResource). compute_api_handler.cc routes and
// authenticates; each resource file (servers.cc, flavors.cc, ...) holds one
// resource's handlers and an Add*Routes function naming its URLs, as Nova's
// routes.py and one controller per resource.
//
// Thread-safety: handlers are const and may run concurrently.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/compute/compute_api.h"
#include "api/compute/views.h"
#include "api/http/http_message.h"
#include "api/http/microversion.h"
#include "api/http/router.h"
#include "core/request_context.h"

namespace chronova {

// One request in flight, once routed and authenticated.
struct ComputeCall {
  const HttpRequest* http = nullptr;
  RequestContext ctx;
  LinkContext links;
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::string> params;          // the route's "*" segments, in order
  bool legacy_v2 = false;                   // under /v2 rather than /v2.1
  ApiVersion version = kMinComputeVersion;  // negotiated (2.1 under /v2)
};

using ComputeHandler = std::function<HttpResponse(const ComputeCall&)>;
using ComputeRoutes = Router<ComputeHandler>;

// Which of Nova's two list views a list route renders.
enum class ListView { kBasic, kDetail };

class ComputeResource {
 public:
  // Borrows `options`, which must outlive the resource.
  explicit ComputeResource(const ComputeApiOptions& options) : options_(options) {}

 protected:
  // Nova's page size for a "limit" parameter (absent, or capped at max_limit);
  // InvalidArgument with Nova's message for a bad one.
  Result<int> PageLimit(const ComputeCall& call) const;
  // nova/utils.py generate_password.
  std::string NewAdminPassword() const;

  const ComputeApiOptions& options_;
};

// A member function of a shared resource as a route's handler.
template <typename R>
ComputeHandler Bind(std::shared_ptr<const R> self,
                    HttpResponse (R::*method)(const ComputeCall&) const) {
  return [self = std::move(self), method](const ComputeCall& call) {
    return ((*self).*method)(call);
  };
}

// The same for a list route that renders `view`.
template <typename R>
ComputeHandler Bind(std::shared_ptr<const R> self,
                    HttpResponse (R::*method)(const ComputeCall&, ListView) const,
                    ListView view) {
  return [self = std::move(self), method, view](const ComputeCall& call) {
    return ((*self).*method)(call, view);
  };
}

// Each resource's routes, in the order the route table wants them (a literal
// segment before "*" at the same place: "servers/detail" before "servers/*").
void AddServerRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddServerActionRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddServerMetadataRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddServerIpsRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddServerMigrationRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddServerTagRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddInstanceActionRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddHistoryRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddFlavorRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddKeypairRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddServerGroupRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddQuotaRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddImageRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddHypervisorRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddServiceRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddAvailabilityZoneRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddHostRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddAggregateRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddConsoleRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddSimpleTenantUsageRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddServerDiagnosticsRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddServerTopologyRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddExtensionRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddServerExternalEventRoutes(ComputeRoutes* routes,
                                  const ComputeApiOptions& options);
void AddServerPasswordRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddCertificateRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);
void AddInstanceUsageAuditLogRoutes(ComputeRoutes* routes,
                                    const ComputeApiOptions& options);
void AddMigrationRoutes(ComputeRoutes* routes, const ComputeApiOptions& options);

// The body of a console action or of POST /servers/{id}/remote-consoles
// answered: 200 {"<root>": {["protocol",] "type", "url"}}.
HttpResponse ConsoleResponse(const Result<ConsoleUrl>& console, const char* root,
                             bool with_protocol);

}  // namespace chronova
