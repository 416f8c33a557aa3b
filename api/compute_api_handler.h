// ComputeApiHandler: the Compute API v2.1 as a function from HttpRequest to
// HttpResponse — routing, authentication (one call to the Authenticator per
// request), microversion negotiation, body validation, the calls into
// ComputeService and Nova's views and faults. No HTTP library is involved, so
// the server adapter (http_server.cc) stays a thin shell.
//
// Thread-safety: Handle may be called concurrently.
#pragma once

#include <string>
#include <vector>

#include "api/compute_api.h"
#include "api/http_message.h"
#include "api/http_server.h"
#include "api/json.h"
#include "api/microversion.h"
#include "api/nova_views.h"

namespace chronova {

class ComputeApiHandler {
 public:
  // Borrows options.service, options.authenticator and options.env.
  // REQUIRES: service and authenticator are set.
  explicit ComputeApiHandler(const ComputeApiOptions& options);

  // Never fails: every error becomes Nova's fault body and status. Every
  // response carries the request id ("req-<uuid>") in x-openstack-request-id
  // and X-Compute-Request-Id.
  // A body is read only for a request whose token authenticates: Handle
  // answers the others 401 without it.
  HttpBodyMode BodyMode(const HttpRequest& request) const;
  HttpResponse Handle(const HttpRequest& request) const;

 private:
  // Which of Nova's two list views a list route renders.
  enum class ListView { kBasic, kDetail };
  // One request in flight, once routed and authenticated.
  struct Call {
    const HttpRequest* http = nullptr;
    RequestContext ctx;
    LinkContext links;
    std::vector<std::pair<std::string, std::string>> query;
    std::vector<std::string> params;  // the route's variable segments
    ListView view = ListView::kBasic;
    bool legacy_v2 = false;
  };
  using Method = HttpResponse (ComputeApiHandler::*)(const Call&) const;
  struct Route {
    const char* method;
    std::vector<std::string> pattern;  // "*" matches one segment
    Method handler;
    ListView view = ListView::kBasic;
  };

  HttpResponse Dispatch(const HttpRequest& request, const std::string& request_id) const;
  HttpResponse ServeVersioned(const HttpRequest& request, const std::string& request_id,
                              const std::vector<std::string>& segments) const;

  HttpResponse CreateServer(const Call& call) const;
  HttpResponse ListServers(const Call& call) const;
  HttpResponse ShowServer(const Call& call) const;
  HttpResponse DeleteServer(const Call& call) const;
  // POST /servers/{id}/action: the body's one key names the action.
  HttpResponse ServerAction(const Call& call) const;
  // The rebuild action: 202 with the server's detail view (and adminPass).
  HttpResponse ConsoleOutput(const Call& call, const Json& args) const;
  HttpResponse RebuildServer(const Call& call, const Json& body) const;
  // The rescue action: 200 with {"adminPass": ...} (or {} when
  // enable_instance_password is off), as Nova.
  HttpResponse RescueServer(const Call& call, const Json& body) const;
  // The createImage action: 202 with the new image's URL in Location.
  HttpResponse CreateServerImage(const Call& call, const Json& body) const;
  HttpResponse UpdateServer(const Call& call) const;
  HttpResponse ListServerMetadata(const Call& call) const;
  HttpResponse ShowServerMetadataItem(const Call& call) const;
  HttpResponse MergeServerMetadata(const Call& call) const;
  HttpResponse ReplaceServerMetadata(const Call& call) const;
  HttpResponse SetServerMetadataItem(const Call& call) const;
  // The three writes above and below; `kind` a MetadataWrite (merge, replace,
  // one item).
  HttpResponse WriteServerMetadata(const Call& call, int kind) const;
  HttpResponse WriteImageMetadata(const Call& call, int kind) const;
  HttpResponse DeleteServerMetadataItem(const Call& call) const;
  HttpResponse ListServerAddresses(const Call& call) const;
  HttpResponse ShowServerAddresses(const Call& call) const;
  HttpResponse ListServersHistory(const Call& call) const;
  HttpResponse ShowServerHistory(const Call& call) const;
  HttpResponse ListInstanceActions(const Call& call) const;
  HttpResponse ShowInstanceAction(const Call& call) const;
  HttpResponse ListFlavors(const Call& call) const;
  HttpResponse ShowFlavor(const Call& call) const;
  HttpResponse ShowFlavorExtraSpecs(const Call& call) const;
  HttpResponse ListKeypairs(const Call& call) const;
  HttpResponse CreateKeypair(const Call& call) const;
  HttpResponse ShowKeypair(const Call& call) const;
  HttpResponse DeleteKeypair(const Call& call) const;
  HttpResponse CreateFlavor(const Call& call) const;
  HttpResponse DeleteFlavor(const Call& call) const;
  HttpResponse ListFlavorAccess(const Call& call) const;
  HttpResponse FlavorAction(const Call& call) const;
  HttpResponse CreateFlavorExtraSpecs(const Call& call) const;
  HttpResponse ShowFlavorExtraSpec(const Call& call) const;
  HttpResponse UpdateFlavorExtraSpec(const Call& call) const;
  HttpResponse DeleteFlavorExtraSpec(const Call& call) const;
  HttpResponse ShowQuotas(const Call& call) const;
  HttpResponse ShowQuotasDetail(const Call& call) const;
  HttpResponse ShowQuotaDefaults(const Call& call) const;
  HttpResponse UpdateQuotas(const Call& call) const;
  HttpResponse DeleteQuotas(const Call& call) const;
  HttpResponse ShowQuotaClass(const Call& call) const;
  HttpResponse UpdateQuotaClass(const Call& call) const;
  HttpResponse ShowLimits(const Call& call) const;
  HttpResponse ListImages(const Call& call) const;
  HttpResponse ShowImage(const Call& call) const;
  HttpResponse DeleteImage(const Call& call) const;
  // Nova's image-metadata proxy (up to microversion 2.38): an image's custom
  // properties, read and changed through the Image API's service.
  HttpResponse ListImageMetadata(const Call& call) const;
  HttpResponse ShowImageMetadataItem(const Call& call) const;
  HttpResponse MergeImageMetadata(const Call& call) const;
  HttpResponse ReplaceImageMetadata(const Call& call) const;
  HttpResponse SetImageMetadataItem(const Call& call) const;
  HttpResponse DeleteImageMetadataItem(const Call& call) const;
  Result<ImageRecord> GetImageForMetadata(const Call& call) const;
  Result<ImageRecord> ChangeImageMetadata(const Call& call,
                                          const MetadataChange& change) const;
  // Admin views (api/admin_api_handler.cc).
  HttpResponse RenderHypervisors(const Result<std::vector<HypervisorView>>& views,
                                 bool detail) const;
  HttpResponse ListHypervisors(const Call& call) const;
  HttpResponse ShowHypervisor(const Call& call) const;
  HttpResponse HypervisorUptime(const Call& call) const;
  HttpResponse SearchHypervisors(const Call& call) const;
  HttpResponse HypervisorServers(const Call& call) const;
  HttpResponse HypervisorStatistics(const Call& call) const;
  HttpResponse ListServices(const Call& call) const;
  HttpResponse UpdateService(const Call& call) const;
  HttpResponse ListAvailabilityZones(const Call& call) const;
  HttpResponse ListHosts(const Call& call) const;
  HttpResponse ShowHost(const Call& call) const;
  HttpResponse UpdateHost(const Call& call) const;
  HttpResponse HostPowerAction(const Call& call) const;
  HttpResponse ListAggregates(const Call& call) const;
  HttpResponse CreateAggregate(const Call& call) const;
  HttpResponse ShowAggregate(const Call& call) const;
  HttpResponse UpdateAggregate(const Call& call) const;
  HttpResponse DeleteAggregate(const Call& call) const;
  HttpResponse AggregateAction(const Call& call) const;

  // Nova's page size for a "limit" parameter (absent, or capped at max_limit);
  // InvalidArgument with Nova's message for a bad one.
  Result<int> PageLimit(const Call& call) const;
  std::string NewAdminPassword() const;

  const ComputeApiOptions options_;
  const std::vector<Route> routes_;
};

}  // namespace chronova
