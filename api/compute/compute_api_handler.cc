// The Compute API's front door: version documents, the project in the URL,
// authentication, the route table (assembled from each resource's Add*Routes,
// api/compute/resource.h), microversion negotiation and the request id.
#include "api/compute/compute_api_handler.h"

#include <algorithm>
#include <optional>

#include "api/compute/faults.h"
#include "api/http/microversion.h"

namespace chronova {
namespace {

constexpr char kNotAuthenticated[] = "The request you have made requires authentication.";

HttpResponse MethodNotAllowed(const std::string& method) {
  return FaultResponse(405,
                       "The method " + method + " is not allowed for this resource.");
}

bool IsCollection(const std::string& segment) {
  return segment == "servers" || segment == "flavors" || segment == "images" ||
         segment == "os-hypervisors" || segment == "os-services" ||
         segment == "os-availability-zone" || segment == "os-hosts" ||
         segment == "os-aggregates" || segment == "os-keypairs" ||
         segment == "os-server-groups" || segment == "os-quota-sets" ||
         segment == "os-quota-class-sets" || segment == "limits" ||
         segment == "os-console-auth-tokens" || segment == "os-simple-tenant-usage" ||
         segment == "extensions" || segment == "os-server-external-events" ||
         segment == "os-instance_usage_audit_log" || segment == "os-migrations" ||
         segment == "os-certificates" ||
         segment == "chronova";  // chronova's own admin APIs: /chronova/history/...
}

ComputeRoutes AllRoutes(const ComputeApiOptions& options) {
  ComputeRoutes routes;
  AddServerRoutes(&routes, options);
  AddServerActionRoutes(&routes, options);
  AddServerMetadataRoutes(&routes, options);
  AddServerIpsRoutes(&routes, options);
  AddServerMigrationRoutes(&routes, options);
  AddServerTagRoutes(&routes, options);
  AddInstanceActionRoutes(&routes, options);
  AddHistoryRoutes(&routes, options);
  AddFlavorRoutes(&routes, options);
  AddKeypairRoutes(&routes, options);
  AddServerGroupRoutes(&routes, options);
  AddQuotaRoutes(&routes, options);
  AddImageRoutes(&routes, options);
  AddHypervisorRoutes(&routes, options);
  AddServiceRoutes(&routes, options);
  AddAvailabilityZoneRoutes(&routes, options);
  AddSimpleTenantUsageRoutes(&routes, options);
  AddServerDiagnosticsRoutes(&routes, options);
  AddServerTopologyRoutes(&routes, options);
  AddExtensionRoutes(&routes, options);
  AddServerExternalEventRoutes(&routes, options);
  AddServerPasswordRoutes(&routes, options);
  AddCertificateRoutes(&routes, options);
  AddInstanceUsageAuditLogRoutes(&routes, options);
  AddMigrationRoutes(&routes, options);
  AddHostRoutes(&routes, options);
  AddAggregateRoutes(&routes, options);
  AddConsoleRoutes(&routes, options);
  return routes;
}

}  // namespace

ComputeApiHandler::ComputeApiHandler(const ComputeApiOptions& options)
    : options_(options), routes_(AllRoutes(options_)) {}

HttpBodyMode ComputeApiHandler::BodyMode(const HttpRequest& request) const {
  Result<RequestContext> ctx =
      AuthenticateRequest(*options_.authenticator, request.headers);
  if (!ctx.ok() && ctx.status().code() == StatusCode::kPermissionDenied) {
    return HttpBodyMode::kSkip;
  }
  return HttpBodyMode::kMemory;
}

HttpResponse ComputeApiHandler::Handle(const HttpRequest& request) const {
  const std::string request_id = "req-" + options_.env->NewUuid();
  HttpResponse response = Dispatch(request, request_id);
  response.headers.Set("x-openstack-request-id", request_id);
  response.headers.Set("X-Compute-Request-Id", request_id);
  return response;
}

HttpResponse ComputeApiHandler::Dispatch(const HttpRequest& request,
                                         const std::string& request_id) const {
  if (std::max(request.body.size(), request.declared_length) > options_.max_body_bytes) {
    return FaultResponse(413, "Request is too large.");
  }
  std::vector<std::string> segments = SplitPath(request.path);
  if (segments.empty()) {
    // The version list is public and outside microversion control, as in Nova.
    if (request.method != "GET") {
      return MethodNotAllowed(request.method);
    }
    return JsonResponse(200, VersionsDocument(request.base_url));
  }
  if (segments[0] != "v2.1" && segments[0] != "v2") {
    return FaultResponse(404, "The resource could not be found.");
  }
  return ServeVersioned(request, request_id, segments);
}

HttpResponse ComputeApiHandler::ServeVersioned(
    const HttpRequest& request, const std::string& request_id,
    const std::vector<std::string>& segments) const {
  ComputeCall call;
  call.http = &request;
  call.legacy_v2 = segments[0] == "v2";
  const std::string version_url = request.base_url + "/" + segments[0];

  // The legacy v2 API ignores microversion headers and echoes none.
  std::optional<ApiVersion> version;
  auto negotiate = [&]() -> std::optional<HttpResponse> {
    if (call.legacy_v2) return std::nullopt;
    Result<ApiVersion> v = RequestedApiVersion(request.headers);
    if (!v.ok()) return FaultResponse(400, v.status().message());
    if (!IsSupportedVersion(*v)) return FaultResponse(406, UnsupportedVersionMessage(*v));
    version = *v;
    return std::nullopt;
  };
  auto finish = [&](HttpResponse r) {
    if (version) AddVersionHeaders(*version, r.headers);
    return r;
  };

  std::vector<std::string> rest(segments.begin() + 1, segments.end());
  if (rest.empty()) {
    // The version document. chronova serves it without a token (Nova asks for
    // one) so that discovery works before authentication.
    if (request.method != "GET") {
      return MethodNotAllowed(request.method);
    }
    if (auto error = negotiate()) return *error;
    return finish(JsonResponse(
        200, VersionDocument(version_url, call.legacy_v2 ? ComputeVersion::kV20
                                                         : ComputeVersion::kV21)));
  }

  // "/v2.1/{project_id}/servers": older clients put the project in the URL.
  std::string project_in_url;
  if (!IsCollection(rest[0]) && rest.size() >= 2) {
    project_in_url = rest[0];
    rest.erase(rest.begin());
  }

  // The one place a request is authenticated.
  Result<RequestContext> ctx =
      AuthenticateRequest(*options_.authenticator, request.headers, project_in_url);
  if (!ctx.ok()) {
    if (ctx.status().code() == StatusCode::kPermissionDenied) {
      HttpResponse r = FaultResponse(401, kNotAuthenticated);
      std::string auth_url = options_.auth_url.empty()
                                 ? SchemeAndAuthority(request.base_url)
                                 : options_.auth_url;
      r.headers.Set("WWW-Authenticate", "Keystone uri=\"" + auth_url + "\"");
      return r;
    }
    return ErrorResponse(ctx.status());
  }
  call.ctx = std::move(ctx).value();
  call.ctx.request_id = RequestId(request_id);

  // A trailing slash names an empty segment ("/images/" is the image ""):
  // Nova's routes match no such path.
  if (!request.path.empty() && request.path.back() == '/') {
    return FaultResponse(404, "The resource could not be found.");
  }
  RouteMatch<ComputeHandler> route = routes_.Find(request.method, rest);
  if (!route.found()) {
    if (!route.method_not_allowed())
      return FaultResponse(404, "The resource could not be found.");
    HttpResponse r = MethodNotAllowed(request.method);
    r.headers.Set("Allow", route.AllowHeader());
    return r;
  }
  call.params = std::move(route.params);

  if (auto error = negotiate()) return *error;
  call.version = version.value_or(kMinComputeVersion);
  call.query = ParseQuery(request.query);
  call.links.version_url = version_url;
  call.links.bookmark_url = request.base_url;
  call.links.project = project_in_url;
  call.links.image_url = options_.image_url.empty()
                             ? SchemeAndAuthority(request.base_url) + "/image"
                             : options_.image_url;
  HttpResponse r = finish((*route.handler)(call));
  r.route = std::move(route.pattern);
  return r;
}

}  // namespace chronova
