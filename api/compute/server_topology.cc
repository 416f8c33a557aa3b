// GET /servers/{id}/topology (2.78, nova/api/openstack/compute/
// server_topology.py): the guest's NUMA nodes. chronova's guests have no NUMA
// topology (no flavor asks for one: hw:numa_nodes is not honoured), so the
// answer is Nova's for such an instance: no nodes and no page size.
#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"

namespace chronova {
namespace {

class ServerTopology final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse Show(const ComputeCall& call) const {
    if (call.version < ApiVersion{2, 78}) return NoMethodForVersion();
    Result<InstanceState> s =
        options_.service->GetServer(call.ctx, InstanceId(call.params[0]));
    if (!s.ok()) return ErrorResponse(s.status());
    if (Status st = Authorize(call.ctx, "compute:server:topology:index",
                              PolicyTarget{s->project_id, UserId()});
        !st.ok()) {
      return ErrorResponse(st);
    }
    // The host's side (host_node, cpu_pinning, siblings) would be shown to
    // whom compute:server:topology:host:index allows; with no nodes there is
    // none to show.
    return JsonResponse(
        200, Json::MakeObject({{"nodes", Json::MakeArray()}, {"pagesize_kb", Json()}}));
  }
};

}  // namespace

void AddServerTopologyRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const ServerTopology>(options);
  routes->Add("GET", "servers/*/topology", Bind(r, &ServerTopology::Show));
}

}  // namespace chronova
