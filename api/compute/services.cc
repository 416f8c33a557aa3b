// /os-services (nova/api/openstack/compute/services.py): 2.1, 2.11's
// forced_down (shown, and set with PUT /os-services/force-down), and 2.53's
// uuids (PUT /os-services/{uuid} with status, disabled_reason, forced_down).
#include <charconv>

#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"
#include "api/service/admin_service.h"

namespace chronova {
namespace {

constexpr ApiVersion kForcedDownVersion{2, 11};
constexpr ApiVersion kUuidVersion{2, 53};

Json ServiceJson(const ServiceView& s, ApiVersion version) {
  Json j = Json::MakeObject({{"binary", s.binary},
                             {"host", s.host.str()},
                             {"id", version >= kUuidVersion ? Json(s.uuid) : Json(s.id)},
                             {"zone", s.zone},
                             {"status", s.disabled ? "disabled" : "enabled"},
                             {"state", s.liveness.up ? "up" : "down"},
                             {"updated_at", TimeOrNull(s.liveness.last_seen)},
                             {"disabled_reason", NullIfEmpty(s.disabled_reason)}});
  if (version >= kForcedDownVersion) j["forced_down"] = s.forced_down;
  return j;
}

class Services final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse ListServices(const ComputeCall& call) const;
  HttpResponse UpdateService(const ComputeCall& call) const;
  HttpResponse UpdateServiceByUuid(const ComputeCall& call) const;
};

HttpResponse Services::ListServices(const ComputeCall& call) const {
  if (auto refused = RefuseUnknownQuery(call, {"host", "binary"})) return *refused;
  ServiceFilter filter;
  if (const std::string* h = QueryParam(call.query, "host")) filter.host = *h;
  if (const std::string* b = QueryParam(call.query, "binary")) filter.binary = *b;
  Result<std::vector<ServiceView>> services =
      options_.admin->ListServices(call.ctx, filter);
  if (!services.ok()) return ErrorResponse(services.status());
  Json list = Json::MakeArray();
  for (const ServiceView& s : *services) list.Append(ServiceJson(s, call.version));
  return JsonResponse(200, Json::MakeObject({{"services", std::move(list)}}));
}

HttpResponse Services::UpdateService(const ComputeCall& call) const {
  if (call.version >= kUuidVersion) return UpdateServiceByUuid(call);
  const std::string& action = call.params[0];
  // Policy first, as Nova's controller, then the action, then the body.
  if (Status st = Authorize(call.ctx, "os_compute_api:os-services:update"); !st.ok()) {
    return ErrorResponse(st);
  }
  const bool v211 = call.version >= kForcedDownVersion;
  if (action != "enable" && action != "disable" && action != "disable-log-reason" &&
      !(v211 && action == "force-down")) {
    return FaultResponse(404, "Unknown action");
  }
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  std::string error =
      v211 ? CheckMembers(*body, "", {"host", "binary"},
                          {"host", "binary", "disabled_reason", "forced_down"})
           : CheckMembers(*body, "", {"host", "binary"},
                          {"host", "binary", "disabled_reason"});
  for (const char* name : {"host", "binary", "disabled_reason"}) {
    if (error.empty()) error = CheckString(*body, "", name, 1, 255);
  }
  if (!error.empty()) return FaultResponse(400, error);
  bool forced_down = false;
  if (const Json* f = body->Find("forced_down")) {
    if (auto e = CheckBoolean("forced_down", *f, &forced_down)) {
      return ErrorResponse(ToStatus(*e));
    }
  }
  const std::string host = (*body)["host"].as_string();
  const std::string binary = (*body)["binary"].as_string();
  if (action == "force-down") {
    if (body->Find("forced_down") == nullptr) {
      return FaultResponse(400, "Missing forced_down field");
    }
    Status st = options_.admin->SetServiceForcedDown(call.ctx, HostName(host), binary,
                                                     forced_down);
    if (!st.ok()) return ErrorResponse(st);
    return JsonResponse(
        200, Json::MakeObject(
                 {{"service", Json::MakeObject({{"host", host},
                                                {"binary", binary},
                                                {"forced_down", forced_down}})}}));
  }
  std::string reason;
  if (action == "disable-log-reason") {
    const Json* r = body->Find("disabled_reason");
    if (r == nullptr) return FaultResponse(400, "Missing disabled reason field");
    reason = r->as_string();
  }
  Status st = options_.admin->SetServiceEnabled(call.ctx, HostName(host), binary,
                                                action == "enable", reason);
  if (!st.ok()) return ErrorResponse(st);
  Json service =
      Json::MakeObject({{"host", host},
                        {"binary", binary},
                        {"status", action == "enable" ? "enabled" : "disabled"}});
  if (!reason.empty()) service["disabled_reason"] = reason;
  return JsonResponse(200, Json::MakeObject({{"service", std::move(service)}}));
}

// Nova's update from 2.53: the service is named by its uuid on the path.
HttpResponse Services::UpdateServiceByUuid(const ComputeCall& call) const {
  const std::string& uuid = call.params[0];
  if (!IsUuidLike(uuid)) return FaultResponse(400, "Invalid uuid " + uuid);
  if (Status st = Authorize(call.ctx, "os_compute_api:os-services:update"); !st.ok()) {
    return ErrorResponse(st);
  }
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  std::string error =
      CheckMembers(*body, "", {}, {"status", "disabled_reason", "forced_down"});
  if (error.empty()) error = CheckString(*body, "", "disabled_reason", 1, 255);
  if (!error.empty()) return FaultResponse(400, error);
  ServiceUpdate update;
  if (const Json* status = body->Find("status")) {
    std::string why = EnumMessage(*status, {"enabled", "disabled"});
    if (!why.empty()) return ErrorResponse(FieldError("status", *status, why));
    update.enabled = status->as_string() == "enabled";
  }
  if (const Json* reason = body->Find("disabled_reason")) {
    if (update.enabled == true) {
      return FaultResponse(
          400, "Specifying 'disabled_reason' with status 'enabled' is invalid.");
    }
    // Nova keeps the reason only with status disabled.
    if (update.enabled == false) update.disabled_reason = reason->as_string();
  }
  if (const Json* f = body->Find("forced_down")) {
    bool forced_down = false;
    if (auto e = CheckBoolean("forced_down", *f, &forced_down)) {
      return ErrorResponse(ToStatus(*e));
    }
    update.forced_down = forced_down;
  }
  if (!update.enabled && !update.forced_down) {
    return FaultResponse(400,
                         "No updates were requested. Fields 'status' or 'forced_down' "
                         "should be specified.");
  }
  Result<ServiceView> service =
      options_.admin->UpdateServiceByUuid(call.ctx, uuid, update);
  if (!service.ok()) return ErrorResponse(service.status());
  return JsonResponse(
      200, Json::MakeObject({{"service", ServiceJson(*service, call.version)}}));
}

}  // namespace

void AddServiceRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  if (options.admin == nullptr) return;  // no admin views: 404
  auto r = std::make_shared<const Services>(options);
  routes->Add("GET", "os-services", Bind(r, &Services::ListServices));
  routes->Add("PUT", "os-services/*", Bind(r, &Services::UpdateService));
}

}  // namespace chronova
