// /os-availability-zone[/detail] (nova/api/openstack/compute/availability_zone.py).
#include <charconv>

#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"
#include "api/service/admin_service.h"

namespace chronova {
namespace {

class AvailabilityZones final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse ListAvailabilityZones(const ComputeCall& call, ListView view) const;
};

HttpResponse AvailabilityZones::ListAvailabilityZones(const ComputeCall& call,
                                                      ListView view) const {
  bool detail = view == ListView::kDetail;
  Result<std::vector<AvailabilityZoneView>> zones =
      options_.admin->ListAvailabilityZones(call.ctx, detail);
  if (!zones.ok()) return ErrorResponse(zones.status());
  Json list = Json::MakeArray();
  for (const AvailabilityZoneView& z : *zones) {
    Json hosts;  // null unless detail and available
    if (detail && z.available) {
      hosts = Json::MakeObject();
      for (const auto& [host, services] : z.hosts) {
        Json by_binary = Json::MakeObject();
        for (const ServiceView& s : services) {
          by_binary[s.binary] =
              Json::MakeObject({{"available", s.liveness.up},
                                {"active", !s.disabled},
                                {"updated_at", TimeOrNull(s.liveness.last_seen)}});
        }
        hosts[host] = std::move(by_binary);
      }
    }
    list.Append(
        Json::MakeObject({{"zoneName", z.name},
                          {"zoneState", Json::MakeObject({{"available", z.available}})},
                          {"hosts", std::move(hosts)}}));
  }
  return JsonResponse(200, Json::MakeObject({{"availabilityZoneInfo", std::move(list)}}));
}

}  // namespace

void AddAvailabilityZoneRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  if (options.admin == nullptr) return;  // no admin views: 404
  auto r = std::make_shared<const AvailabilityZones>(options);
  routes->Add("GET", "os-availability-zone",
              Bind(r, &AvailabilityZones::ListAvailabilityZones, ListView::kBasic));
  routes->Add("GET", "os-availability-zone/detail",
              Bind(r, &AvailabilityZones::ListAvailabilityZones, ListView::kDetail));
}

}  // namespace chronova
