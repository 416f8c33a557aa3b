// /os-hypervisors (nova/api/openstack/compute/hypervisors.py at microversion
// 2.1): admins only.
#include <charconv>

#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"
#include "api/service/admin_service.h"

namespace chronova {
namespace {

Json HypervisorJson(const HypervisorView& v, bool detail, ApiVersion version) {
  const HostState& h = v.host;
  Json j = Json::MakeObject({{"id", v.id},
                             {"hypervisor_hostname", h.hypervisor_hostname},
                             {"state", v.service.liveness.up ? "up" : "down"},
                             {"status", h.disabled ? "disabled" : "enabled"}});
  if (detail) {
    j["hypervisor_type"] = h.hypervisor_type;
    j["hypervisor_version"] = Json();  // filled by the caller (options)
    j["host_ip"] = Json();
    j["service"] =
        Json::MakeObject({{"id", v.service.id},
                          {"host", h.name.str()},
                          {"disabled_reason", NullIfEmpty(h.disabled_reason)}});
    int64_t free_disk = h.disk_gb - h.used.disk_gb;
    j["vcpus"] = h.vcpus;
    j["memory_mb"] = h.memory_mb;
    j["local_gb"] = h.disk_gb;
    j["vcpus_used"] = h.used.vcpus;
    j["memory_mb_used"] = h.used.memory_mb;
    j["local_gb_used"] = h.used.disk_gb;
    j["free_ram_mb"] = h.memory_mb - h.used.memory_mb;
    j["free_disk_gb"] = free_disk;
    j["current_workload"] = 0;
    j["running_vms"] = v.running_vms;
    j["disk_available_least"] = free_disk;
    // A string before 2.28, as Nova stores it; the object itself from 2.28.
    Json cpu_info = Json::MakeObject({{"arch", "x86_64"}});
    j["cpu_info"] = version >= ApiVersion{2, 28} ? cpu_info : Json(cpu_info.Dump());
  }
  if (!v.servers.empty()) {
    Json servers = Json::MakeArray();
    for (const InstanceState& s : v.servers) {
      servers.Append(Json::MakeObject({{"name", s.name}, {"uuid", s.id.str()}}));
    }
    j["servers"] = std::move(servers);
  }
  return j;
}

class Hypervisors final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse RenderHypervisors(const Result<std::vector<HypervisorView>>& views,
                                 bool detail, ApiVersion version) const;
  HttpResponse ListHypervisors(const ComputeCall& call, ListView view) const;
  HttpResponse ShowHypervisor(const ComputeCall& call) const;
  HttpResponse HypervisorUptime(const ComputeCall& call) const;
  HttpResponse SearchHypervisors(const ComputeCall& call) const;
  HttpResponse HypervisorServers(const ComputeCall& call) const;
  HttpResponse HypervisorStatistics(const ComputeCall& call) const;
};

HttpResponse Hypervisors::RenderHypervisors(
    const Result<std::vector<HypervisorView>>& views, bool detail,
    ApiVersion version) const {
  if (!views.ok()) return ErrorResponse(views.status());
  Json list = Json::MakeArray();
  for (const HypervisorView& v : *views) {
    Json j = HypervisorJson(v, detail, version);
    if (detail) {
      j["hypervisor_version"] = options_.admin->options().hypervisor_version;
      j["host_ip"] = options_.admin->options().host_ip;
    }
    list.Append(std::move(j));
  }
  return JsonResponse(200, Json::MakeObject({{"hypervisors", std::move(list)}}));
}

HttpResponse Hypervisors::ListHypervisors(const ComputeCall& call, ListView view) const {
  bool detail = view == ListView::kDetail;
  Result<std::vector<HypervisorView>> views =
      options_.admin->ListHypervisors(call.ctx, detail);
  if (call.version < ApiVersion{2, 33}) {
    return RenderHypervisors(views, detail, call.version);
  }
  // 2.33: limit and marker (a hypervisor id), with hypervisors_links.
  if (!views.ok()) return ErrorResponse(views.status());
  Result<int> limit = PageLimit(call);
  if (!limit.ok()) return ErrorResponse(limit.status());
  std::vector<const HypervisorView*> items;
  for (const HypervisorView& v : *views) items.push_back(&v);
  return PagedList(
      "hypervisors", detail ? "os-hypervisors/detail" : "os-hypervisors", call.links,
      call.query, items, *limit,
      [](const HypervisorView& v) { return std::to_string(v.id); },
      [&](const HypervisorView& v) {
        Json j = HypervisorJson(v, detail, call.version);
        if (detail) {
          j["hypervisor_version"] = options_.admin->options().hypervisor_version;
          j["host_ip"] = options_.admin->options().host_ip;
        }
        return j;
      });
}

HttpResponse Hypervisors::ShowHypervisor(const ComputeCall& call) const {
  Result<HypervisorView> v = options_.admin->GetHypervisor(
      call.ctx, call.params[0], "os_compute_api:os-hypervisors:show");
  if (!v.ok()) return ErrorResponse(v.status());
  Json j = HypervisorJson(*v, true, call.version);
  j["hypervisor_version"] = options_.admin->options().hypervisor_version;
  j["host_ip"] = options_.admin->options().host_ip;
  return JsonResponse(200, Json::MakeObject({{"hypervisor", std::move(j)}}));
}

HttpResponse Hypervisors::HypervisorUptime(const ComputeCall& call) const {
  Result<HypervisorView> v = options_.admin->GetHypervisor(
      call.ctx, call.params[0], "os_compute_api:os-hypervisors:uptime");
  if (!v.ok()) return ErrorResponse(v.status());
  const auto& ask = options_.admin->options().host_uptime;
  if (!ask) return NotSupportedResponse();  // Nova's answer without get_host_uptime
  Result<std::string> uptime = ask(v->host.name);
  if (!uptime.ok()) {
    // Nova: ComputeServiceUnavailable (the host does not answer) is a 400.
    if (uptime.status().code() == StatusCode::kUnavailable) {
      return FaultResponse(400, "Compute service of " + v->host.name.str() +
                                    " is unavailable at this time.");
    }
    return ErrorResponse(uptime.status());
  }
  Json j = HypervisorJson(*v, false, call.version);
  j["uptime"] = *uptime;
  return JsonResponse(200, Json::MakeObject({{"hypervisor", std::move(j)}}));
}

HttpResponse Hypervisors::SearchHypervisors(const ComputeCall& call) const {
  return RenderHypervisors(
      options_.admin->SearchHypervisors(call.ctx, call.params[0], false), false,
      call.version);
}

HttpResponse Hypervisors::HypervisorServers(const ComputeCall& call) const {
  return RenderHypervisors(
      options_.admin->SearchHypervisors(call.ctx, call.params[0], true), false,
      call.version);
}

HttpResponse Hypervisors::HypervisorStatistics(const ComputeCall& call) const {
  Result<chronova::HypervisorStatistics> s = options_.admin->HypervisorStats(call.ctx);
  if (!s.ok()) return ErrorResponse(s.status());
  return JsonResponse(
      200, Json::MakeObject(
               {{"hypervisor_statistics",
                 Json::MakeObject({{"count", s->count},
                                   {"vcpus_used", s->vcpus_used},
                                   {"local_gb_used", s->local_gb_used},
                                   {"memory_mb", s->memory_mb},
                                   {"current_workload", s->current_workload},
                                   {"vcpus", s->vcpus},
                                   {"running_vms", s->running_vms},
                                   {"free_disk_gb", s->free_disk_gb},
                                   {"disk_available_least", s->disk_available_least},
                                   {"local_gb", s->local_gb},
                                   {"free_ram_mb", s->free_ram_mb},
                                   {"memory_mb_used", s->memory_mb_used}})}}));
}

}  // namespace

void AddHypervisorRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  if (options.admin == nullptr) return;  // no admin views: 404
  auto r = std::make_shared<const Hypervisors>(options);
  routes->Add("GET", "os-hypervisors",
              Bind(r, &Hypervisors::ListHypervisors, ListView::kBasic));
  routes->Add("GET", "os-hypervisors/detail",
              Bind(r, &Hypervisors::ListHypervisors, ListView::kDetail));
  routes->Add("GET", "os-hypervisors/statistics",
              Bind(r, &Hypervisors::HypervisorStatistics));
  routes->Add("GET", "os-hypervisors/*", Bind(r, &Hypervisors::ShowHypervisor));
  routes->Add("GET", "os-hypervisors/*/uptime", Bind(r, &Hypervisors::HypervisorUptime));
  routes->Add("GET", "os-hypervisors/*/search", Bind(r, &Hypervisors::SearchHypervisors));
  routes->Add("GET", "os-hypervisors/*/servers",
              Bind(r, &Hypervisors::HypervisorServers));
}

}  // namespace chronova
