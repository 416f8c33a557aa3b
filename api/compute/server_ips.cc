// /servers/{id}/ips (nova/api/openstack/compute/ips.py).
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"

namespace chronova {
namespace {

class ServerIps final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse ListServerAddresses(const ComputeCall& call) const;
  HttpResponse ShowServerAddresses(const ComputeCall& call) const;
};

// chronova has no networking yet: every server has no addresses, as a Nova
// server without ports.
HttpResponse ServerIps::ListServerAddresses(const ComputeCall& call) const {
  Result<InstanceState> s = options_.service->GetServer(
      call.ctx, InstanceId(call.params[0]), "os_compute_api:ips:index");
  if (!s.ok()) return ErrorResponse(s.status());
  return JsonResponse(200, Json::MakeObject({{"addresses", Json::MakeObject()}}));
}

HttpResponse ServerIps::ShowServerAddresses(const ComputeCall& call) const {
  Result<InstanceState> s = options_.service->GetServer(
      call.ctx, InstanceId(call.params[0]), "os_compute_api:ips:show");
  if (!s.ok()) return ErrorResponse(s.status());
  // ips.py show: no network of this server has that label.
  return FaultResponse(404, "Instance is not a member of specified network");
}

}  // namespace

void AddServerIpsRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const ServerIps>(options);
  routes->Add("GET", "servers/*/ips", Bind(r, &ServerIps::ListServerAddresses));
  routes->Add("GET", "servers/*/ips/*", Bind(r, &ServerIps::ShowServerAddresses));
}

}  // namespace chronova
