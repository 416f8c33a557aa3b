// /os-hypervisors (nova/api/openstack/compute/hypervisors.py): admins only.
// 2.28 cpu_info as an object, 2.33 paging, 2.53 uuids for ids with
// hypervisor_hostname_pattern and with_servers (the search and servers routes
// are gone), 2.75 an empty "servers" when asked for.
#include <charconv>

#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"
#include "api/service/admin_service.h"

namespace chronova {
namespace {

constexpr ApiVersion kUuidVersion{2, 53};

Json HypervisorJson(const HypervisorView& v, bool detail, ApiVersion version,
                    bool with_servers = false) {
  const HostState& h = v.host;
  const bool uuids = version >= kUuidVersion;
  Json j = Json::MakeObject({{"id", uuids ? Json(v.uuid) : Json(v.id)},
                             {"hypervisor_hostname", h.hypervisor_hostname},
                             {"state", v.service.liveness.up ? "up" : "down"},
                             {"status", h.disabled ? "disabled" : "enabled"}});
  if (detail) {
    j["hypervisor_type"] = h.hypervisor_type;
    j["hypervisor_version"] = Json();  // filled by the caller (options)
    j["host_ip"] = Json();
    j["service"] =
        Json::MakeObject({{"id", uuids ? Json(v.service.uuid) : Json(v.service.id)},
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
  if (!v.servers.empty() || (with_servers && version >= ApiVersion{2, 75})) {
    Json servers = Json::MakeArray();
    for (const InstanceState& s : v.servers) {
      servers.Append(Json::MakeObject({{"name", s.name}, {"uuid", s.id.str()}}));
    }
    j["servers"] = std::move(servers);
  }
  return j;
}

// ?with_servers= (2.53): parameter_types.boolean; false when absent.
Result<bool> WithServers(const ComputeCall& call) {
  bool with_servers = false;
  if (const std::string* w = QueryParam(call.query, "with_servers")) {
    if (auto e = CheckBoolean("with_servers", Json(*w), &with_servers)) {
      return Status::InvalidArgument("Invalid input for query parameters with_servers. " +
                                     e->message);
    }
  }
  return with_servers;
}

// From 2.53 a hypervisor is named by its uuid: Nova's 400 for anything else.
std::optional<HttpResponse> RefuseBadId(const ComputeCall& call) {
  if (call.version >= kUuidVersion && !IsUuidLike(call.params[0])) {
    return FaultResponse(400, "Invalid uuid " + call.params[0]);
  }
  return std::nullopt;
}

class Hypervisors final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse RenderHypervisors(const Result<std::vector<HypervisorView>>& views,
                                 bool detail, ApiVersion version,
                                 bool with_servers = false) const;
  HttpResponse ListHypervisors(const ComputeCall& call, ListView view) const;
  HttpResponse ShowHypervisor(const ComputeCall& call) const;
  HttpResponse HypervisorUptime(const ComputeCall& call) const;
  HttpResponse SearchHypervisors(const ComputeCall& call) const;
  HttpResponse HypervisorServers(const ComputeCall& call) const;
  HttpResponse HypervisorStatistics(const ComputeCall& call) const;
  // `j` with what the detail view adds from the options.
  Json Detailed(Json j, bool detail) const;
};

HttpResponse Hypervisors::RenderHypervisors(
    const Result<std::vector<HypervisorView>>& views, bool detail, ApiVersion version,
    bool with_servers) const {
  if (!views.ok()) return ErrorResponse(views.status());
  Json list = Json::MakeArray();
  for (const HypervisorView& v : *views) {
    list.Append(Detailed(HypervisorJson(v, detail, version, with_servers), detail));
  }
  return JsonResponse(200, Json::MakeObject({{"hypervisors", std::move(list)}}));
}

HttpResponse Hypervisors::ListHypervisors(const ComputeCall& call, ListView view) const {
  bool detail = view == ListView::kDetail;
  HypervisorFilter filter;
  if (call.version >= kUuidVersion) {
    if (auto refused = RefuseUnknownQuery(
            call, {"limit", "marker", "hypervisor_hostname_pattern", "with_servers"},
            kUuidVersion)) {
      return *refused;
    }
    Result<bool> with_servers = WithServers(call);
    if (!with_servers.ok()) return ErrorResponse(with_servers.status());
    filter.with_servers = *with_servers;
    if (const std::string* p = QueryParam(call.query, "hypervisor_hostname_pattern")) {
      if (QueryParam(call.query, "limit") || QueryParam(call.query, "marker")) {
        return FaultResponse(400,
                             "Paging over hypervisors with the "
                             "hypervisor_hostname_pattern query parameter is not "
                             "supported.");
      }
      filter.pattern = *p;
    }
  }
  if (call.version < ApiVersion{2, 33} || filter.pattern) {
    return RenderHypervisors(options_.admin->ListHypervisors(call.ctx, detail, filter),
                             detail, call.version, filter.with_servers);
  }
  // 2.33: limit and marker (a hypervisor id; from 2.53 its uuid), with
  // hypervisors_links. The service reads only the page's hosts.
  Result<int> limit = PageLimit(call);
  if (!limit.ok()) return ErrorResponse(limit.status());
  filter.limit = *limit;
  if (const std::string* marker = QueryParam(call.query, "marker"))
    filter.marker = *marker;
  filter.marker_is_uuid = call.version >= kUuidVersion;
  Result<std::vector<HypervisorView>> page =
      options_.admin->ListHypervisors(call.ctx, detail, filter);
  if (!page.ok()) return ErrorResponse(page.status());
  auto id_of = [&](const HypervisorView& v) {
    return call.version >= kUuidVersion ? v.uuid : std::to_string(v.id);
  };
  Json list = Json::MakeArray();
  for (const HypervisorView& v : *page) {
    list.Append(
        Detailed(HypervisorJson(v, detail, call.version, filter.with_servers), detail));
  }
  Json body = Json::MakeObject({{"hypervisors", std::move(list)}});
  Json next = NextLinks(call.links, detail ? "os-hypervisors/detail" : "os-hypervisors",
                        call.query, page->size(), static_cast<size_t>(*limit),
                        page->empty() ? "" : id_of(page->back()));
  if (next.size() > 0) body["hypervisors_links"] = std::move(next);
  return JsonResponse(200, body);
}

Json Hypervisors::Detailed(Json j, bool detail) const {
  if (detail) {
    j["hypervisor_version"] = options_.admin->options().hypervisor_version;
    j["host_ip"] = options_.admin->options().host_ip;
  }
  return j;
}

HttpResponse Hypervisors::ShowHypervisor(const ComputeCall& call) const {
  // Nova: the policy, then the id.
  if (Status st = Authorize(call.ctx, "os_compute_api:os-hypervisors:show"); !st.ok()) {
    return ErrorResponse(st);
  }
  if (auto refused = RefuseBadId(call)) return *refused;
  bool with_servers = false;
  if (call.version >= kUuidVersion) {
    if (auto refused = RefuseUnknownQuery(call, {"with_servers"}, kUuidVersion)) {
      return *refused;
    }
    Result<bool> w = WithServers(call);
    if (!w.ok()) return ErrorResponse(w.status());
    with_servers = *w;
  }
  Result<HypervisorView> v = options_.admin->GetHypervisor(
      call.ctx, call.params[0], "os_compute_api:os-hypervisors:show",
      call.version >= kUuidVersion, with_servers);
  if (!v.ok()) return ErrorResponse(v.status());
  Json j = Detailed(HypervisorJson(*v, true, call.version, with_servers), true);
  return JsonResponse(200, Json::MakeObject({{"hypervisor", std::move(j)}}));
}

HttpResponse Hypervisors::HypervisorUptime(const ComputeCall& call) const {
  if (Status st = Authorize(call.ctx, "os_compute_api:os-hypervisors:uptime"); !st.ok()) {
    return ErrorResponse(st);
  }
  if (auto refused = RefuseBadId(call)) return *refused;
  Result<HypervisorView> v = options_.admin->GetHypervisor(
      call.ctx, call.params[0], "os_compute_api:os-hypervisors:uptime",
      call.version >= kUuidVersion);
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
  routes->Add("GET", "os-hypervisors/*/search",
              UpTo({2, 52}, Bind(r, &Hypervisors::SearchHypervisors)));
  routes->Add("GET", "os-hypervisors/*/servers",
              UpTo({2, 52}, Bind(r, &Hypervisors::HypervisorServers)));
}

}  // namespace chronova
