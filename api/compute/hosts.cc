// /os-hosts (nova/api/openstack/compute/hosts.py), microversions 2.1 to 2.42.
#include <charconv>

#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"
#include "api/service/admin_service.h"

namespace chronova {
namespace {

class Hosts final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse ListHosts(const ComputeCall& call) const;
  HttpResponse ShowHost(const ComputeCall& call) const;
  HttpResponse UpdateHost(const ComputeCall& call) const;
  HttpResponse HostPowerAction(const ComputeCall& call) const;
};

HttpResponse Hosts::ListHosts(const ComputeCall& call) const {
  std::optional<std::string> zone;
  if (const std::string* z = QueryParam(call.query, "zone")) zone = *z;
  Result<std::vector<ServiceView>> hosts = options_.admin->ListHosts(call.ctx, zone);
  if (!hosts.ok()) return ErrorResponse(hosts.status());
  Json list = Json::MakeArray();
  for (const ServiceView& s : *hosts) {
    list.Append(Json::MakeObject(
        {{"host_name", s.host.str()}, {"service", s.binary}, {"zone", s.zone}}));
  }
  return JsonResponse(200, Json::MakeObject({{"hosts", std::move(list)}}));
}

HttpResponse Hosts::ShowHost(const ComputeCall& call) const {
  const std::string& host = call.params[0];
  Result<std::vector<HostResourceRow>> rows =
      options_.admin->ShowHost(call.ctx, HostName(host));
  if (!rows.ok()) return ErrorResponse(rows.status());
  Json list = Json::MakeArray();
  for (const HostResourceRow& r : *rows) {
    list.Append(
        Json::MakeObject({{"resource", Json::MakeObject({{"host", host},
                                                         {"project", r.project},
                                                         {"cpu", r.cpu},
                                                         {"memory_mb", r.memory_mb},
                                                         {"disk_gb", r.disk_gb}})}}));
  }
  return JsonResponse(200, Json::MakeObject({{"host", std::move(list)}}));
}

HttpResponse Hosts::UpdateHost(const ComputeCall& call) const {
  if (Status st = Authorize(call.ctx, "os_compute_api:os-hosts:update"); !st.ok()) {
    return ErrorResponse(st);
  }
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  std::string error = CheckMembers(*body, "", {}, {"status", "maintenance_mode"});
  for (const char* name : {"status", "maintenance_mode"}) {
    const Json* v = body->Find(name);
    if (!error.empty() || v == nullptr) continue;
    bool valid =
        v->is_string() && (v->as_string() == "enable" || v->as_string() == "disable" ||
                           v->as_string() == "Enable" || v->as_string() == "Disable" ||
                           v->as_string() == "ENABLE" || v->as_string() == "DISABLE");
    if (!valid) {
      error = FieldError(name, *v,
                         v->PythonRepr() +
                             " is not one of ['enable', 'disable', 'Enable', 'Disable', "
                             "'ENABLE', 'DISABLE']")
                  .message();
    }
  }
  if (!error.empty()) return FaultResponse(400, error);
  Status st = options_.admin->CheckHost(call.ctx, HostName(call.params[0]),
                                        "os_compute_api:os-hosts:update");
  if (!st.ok()) return ErrorResponse(st);
  if (!body->Contains("status") && !body->Contains("maintenance_mode")) {
    return JsonResponse(200, Json::MakeObject({{"host", call.params[0]}}));
  }
  // The libvirt driver implements neither set_host_enabled nor maintenance mode.
  return NotSupportedResponse();
}

HttpResponse Hosts::HostPowerAction(const ComputeCall& call) const {
  std::string policy = "os_compute_api:os-hosts:reboot";
  const std::string& path = call.http->path;
  if (path.size() >= 9 && path.compare(path.size() - 9, 9, "/shutdown") == 0) {
    policy = "os_compute_api:os-hosts:shutdown";
  } else if (path.size() >= 8 && path.compare(path.size() - 8, 8, "/startup") == 0) {
    policy = "os_compute_api:os-hosts:start";
  }
  Status st =
      options_.admin->CheckHost(call.ctx, HostName(call.params[0]), policy.c_str());
  if (!st.ok()) return ErrorResponse(st);
  // host_power_action is not implemented by the libvirt driver.
  return NotSupportedResponse();
}

}  // namespace

void AddHostRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  if (options.admin == nullptr) return;  // no admin views: 404
  auto r = std::make_shared<const Hosts>(options);
  // 2.43 retires os-hosts (os-hypervisors and os-services replace it).
  constexpr ApiVersion kLast{2, 42};
  routes->Add("GET", "os-hosts", UpTo(kLast, Bind(r, &Hosts::ListHosts)));
  routes->Add("GET", "os-hosts/*", UpTo(kLast, Bind(r, &Hosts::ShowHost)));
  routes->Add("PUT", "os-hosts/*", UpTo(kLast, Bind(r, &Hosts::UpdateHost)));
  for (const char* action : {"reboot", "shutdown", "startup"}) {
    routes->Add("GET", std::string("os-hosts/*/") + action,
                UpTo(kLast, Bind(r, &Hosts::HostPowerAction)));
  }
}

}  // namespace chronova
