// /servers/{id}/os-server-password (nova/api/openstack/compute/
// server_password.py): the encrypted password a guest posted to the metadata
// service, and its removal. chronova has no metadata service, so no guest can
// post one: show answers "" and clear has nothing to remove (both after the
// server and policy checks Nova makes).
#include "api/compute/common.h"
#include "api/compute/resource.h"

namespace chronova {
namespace {

class ServerPassword final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse Show(const ComputeCall& call) const {
    Result<InstanceState> s = options_.service->GetServer(
        call.ctx, InstanceId(call.params[0]), "os_compute_api:os-server-password:show");
    if (!s.ok()) return ErrorResponse(s.status());
    return JsonResponse(200, Json::MakeObject({{"password", ""}}));
  }

  HttpResponse Clear(const ComputeCall& call) const {
    Result<InstanceState> s = options_.service->GetServer(
        call.ctx, InstanceId(call.params[0]), "os_compute_api:os-server-password:clear");
    if (!s.ok()) return ErrorResponse(s.status());
    return EmptyResponse(204);
  }
};

}  // namespace

void AddServerPasswordRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const ServerPassword>(options);
  routes->Add("GET", "servers/*/os-server-password", Bind(r, &ServerPassword::Show));
  routes->Add("DELETE", "servers/*/os-server-password", Bind(r, &ServerPassword::Clear));
}

}  // namespace chronova
