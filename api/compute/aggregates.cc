// /os-aggregates (nova/api/openstack/compute/aggregates.py): 2.1, and 2.41,
// which shows each aggregate's uuid.
#include <charconv>

#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"
#include "api/service/admin_service.h"

namespace chronova {
namespace {

// Nova's aggregate view; from 2.41 with the uuid.
Json AggregateJson(const AggregateState& a, bool with_hosts_and_metadata,
                   ApiVersion version) {
  std::optional<std::string> az = a.availability_zone();
  Json j = Json::MakeObject(
      {{"id", a.id}, {"name", a.name}, {"availability_zone", az ? Json(*az) : Json()}});
  if (version >= ApiVersion{2, 41}) j["uuid"] = a.uuid;
  if (with_hosts_and_metadata) {
    Json hosts = Json::MakeArray();
    for (const HostName& h : a.hosts) hosts.Append(h.str());
    j["hosts"] = std::move(hosts);
    Json metadata = Json::MakeObject();
    for (const auto& [k, v] : a.metadata) metadata[k] = v;
    j["metadata"] = std::move(metadata);
  }
  j["created_at"] = FormatUsageTime(a.created_at);
  j["updated_at"] = TimeOrNull(a.updated_at);
  j["deleted_at"] = Json();
  j["deleted"] = false;
  return j;
}

// The aggregate id of the path: Nova's validate_integer.
Result<int64_t> AggregateId(const std::string& text) {
  int64_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::InvalidArgument("Invalid input received: id must be an integer");
  }
  return id;
}

class Aggregates final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse ListAggregates(const ComputeCall& call) const;
  HttpResponse CreateAggregate(const ComputeCall& call) const;
  HttpResponse ShowAggregate(const ComputeCall& call) const;
  HttpResponse UpdateAggregate(const ComputeCall& call) const;
  HttpResponse DeleteAggregate(const ComputeCall& call) const;
  HttpResponse AggregateAction(const ComputeCall& call) const;
};

HttpResponse Aggregates::ListAggregates(const ComputeCall& call) const {
  Result<std::vector<AggregateState>> all = options_.admin->ListAggregates(call.ctx);
  if (!all.ok()) return ErrorResponse(all.status());
  Json list = Json::MakeArray();
  for (const AggregateState& a : *all) list.Append(AggregateJson(a, true, call.version));
  return JsonResponse(200, Json::MakeObject({{"aggregates", std::move(list)}}));
}

HttpResponse Aggregates::CreateAggregate(const ComputeCall& call) const {
  if (Status st = Authorize(call.ctx, "os_compute_api:os-aggregates:create"); !st.ok()) {
    return ErrorResponse(st);
  }
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  std::string error = CheckMembers(*body, "", {"aggregate"}, {"aggregate"});
  if (error.empty()) {
    const Json& agg = *body->Find("aggregate");
    error = CheckMembers(agg, "aggregate", {"name"}, {"name", "availability_zone"});
    if (error.empty()) error = CheckString(agg, "aggregate", "name", 1, 255);
    const Json* az = agg.Find("availability_zone");
    if (error.empty() && az != nullptr && !az->is_null()) {
      error = CheckString(agg, "aggregate", "availability_zone", 1, 255);
    }
  }
  if (!error.empty()) return FaultResponse(400, error);
  const Json& agg = *body->Find("aggregate");
  const Json* az = agg.Find("availability_zone");
  Result<AggregateState> created = options_.admin->CreateAggregate(
      call.ctx, agg.Find("name")->as_string(),
      az != nullptr && az->is_string() ? az->as_string() : "");
  if (!created.ok()) return ErrorResponse(created.status());
  return JsonResponse(
      200,
      Json::MakeObject({{"aggregate", AggregateJson(*created, false, call.version)}}));
}

HttpResponse Aggregates::ShowAggregate(const ComputeCall& call) const {
  if (Status st = Authorize(call.ctx, "os_compute_api:os-aggregates:show"); !st.ok()) {
    return ErrorResponse(st);
  }
  Result<int64_t> id = AggregateId(call.params[0]);
  if (!id.ok()) return ErrorResponse(id.status());
  Result<AggregateState> a = options_.admin->GetAggregate(call.ctx, *id);
  if (!a.ok()) return ErrorResponse(a.status());
  return JsonResponse(
      200, Json::MakeObject({{"aggregate", AggregateJson(*a, true, call.version)}}));
}

HttpResponse Aggregates::UpdateAggregate(const ComputeCall& call) const {
  if (Status st = Authorize(call.ctx, "os_compute_api:os-aggregates:update"); !st.ok()) {
    return ErrorResponse(st);
  }
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  std::string error = CheckMembers(*body, "", {"aggregate"}, {"aggregate"});
  if (error.empty()) {
    const Json& agg = *body->Find("aggregate");
    error = CheckMembers(agg, "aggregate", {}, {"name", "availability_zone"});
    if (error.empty() && !agg.Contains("name") && !agg.Contains("availability_zone")) {
      error =
          FieldError("aggregate", agg,
                     agg.PythonRepr() + " is not valid under any of the given schemas")
              .message();
    }
    if (error.empty()) error = CheckString(agg, "aggregate", "name", 1, 255);
    const Json* az = agg.Find("availability_zone");
    if (error.empty() && az != nullptr && !az->is_null()) {
      error = CheckString(agg, "aggregate", "availability_zone", 1, 255);
    }
  }
  if (!error.empty()) return FaultResponse(400, error);
  Result<int64_t> id = AggregateId(call.params[0]);
  if (!id.ok()) return ErrorResponse(id.status());
  const Json& agg = *body->Find("aggregate");
  chronova::UpdateAggregate update;
  if (const Json* n = agg.Find("name")) update.name = n->as_string();
  if (const Json* az = agg.Find("availability_zone")) {
    update.availability_zone = az->is_string() ? az->as_string() : "";
  }
  Result<AggregateState> a = options_.admin->UpdateAggregate(call.ctx, *id, update);
  if (!a.ok()) return ErrorResponse(a.status());
  return JsonResponse(
      200, Json::MakeObject({{"aggregate", AggregateJson(*a, true, call.version)}}));
}

HttpResponse Aggregates::DeleteAggregate(const ComputeCall& call) const {
  if (Status st = Authorize(call.ctx, "os_compute_api:os-aggregates:delete"); !st.ok()) {
    return ErrorResponse(st);
  }
  Result<int64_t> id = AggregateId(call.params[0]);
  if (!id.ok()) return ErrorResponse(id.status());
  Status st = options_.admin->DeleteAggregate(call.ctx, *id);
  if (!st.ok()) return ErrorResponse(st);
  HttpResponse r;
  r.status = 200;  // Nova answers 200 with an empty body
  return r;
}

HttpResponse Aggregates::AggregateAction(const ComputeCall& call) const {
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  if (!body->is_object() || body->size() != 1) {
    return FaultResponse(400, "Malformed request body");
  }
  const std::string& action = body->members().front().first;
  const Json& arg = body->members().front().second;
  if (action != "add_host" && action != "remove_host" && action != "set_metadata") {
    return FaultResponse(400, "There is no such action: " + action);
  }
  if (Status st = Authorize(call.ctx, "os_compute_api:os-aggregates:" + action);
      !st.ok()) {
    return ErrorResponse(st);
  }
  std::string error;
  if (action == "set_metadata") {
    error = CheckMembers(arg, action, {"metadata"}, {"metadata"});
    const Json* md = arg.Find("metadata");
    if (error.empty() && !md->is_object()) {
      error = FieldError("set_metadata/metadata", *md, TypeMessage(*md, {"object"}))
                  .message();
    }
    if (error.empty()) {
      for (const auto& [k, v] : md->members()) {
        if (k.empty() || k.size() > 255) {
          error = FieldError("metadata", *md,
                             "Additional properties are not allowed ('" + k +
                                 "' was unexpected)")
                      .message();
        } else if (!v.is_null() && !v.is_string()) {
          error = FieldError("metadata/" + k, v, TypeMessage(v, {"string", "null"}))
                      .message();
        } else if (v.is_string() && v.as_string().size() > 255) {
          error =
              FieldError("metadata/" + k, v, v.PythonRepr() + " is too long").message();
        }
        if (!error.empty()) break;
      }
    }
  } else {
    error = CheckMembers(arg, action, {"host"}, {"host"});
    if (error.empty()) error = CheckString(arg, action, "host", 1, 255);
  }
  if (!error.empty()) return FaultResponse(400, error);
  Result<int64_t> id = AggregateId(call.params[0]);
  if (!id.ok()) return ErrorResponse(id.status());
  Result<AggregateState> a = Status::Internal("unreachable");
  if (action == "set_metadata") {
    chronova::SetAggregateMetadata cmd;
    for (const auto& [k, v] : arg.Find("metadata")->members()) {
      cmd.metadata[k] =
          v.is_null() ? std::nullopt : std::optional<std::string>(v.as_string());
    }
    a = options_.admin->SetAggregateMetadata(call.ctx, *id, cmd);
  } else {
    HostName host(arg.Find("host")->as_string());
    a = action == "add_host" ? options_.admin->AddAggregateHost(call.ctx, *id, host)
                             : options_.admin->RemoveAggregateHost(call.ctx, *id, host);
  }
  if (!a.ok()) return ErrorResponse(a.status());
  return JsonResponse(
      200, Json::MakeObject({{"aggregate", AggregateJson(*a, true, call.version)}}));
}

}  // namespace

void AddAggregateRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  if (options.admin == nullptr) return;  // no admin views: 404
  auto r = std::make_shared<const Aggregates>(options);
  routes->Add("GET", "os-aggregates", Bind(r, &Aggregates::ListAggregates));
  routes->Add("POST", "os-aggregates", Bind(r, &Aggregates::CreateAggregate));
  routes->Add("GET", "os-aggregates/*", Bind(r, &Aggregates::ShowAggregate));
  routes->Add("PUT", "os-aggregates/*", Bind(r, &Aggregates::UpdateAggregate));
  routes->Add("DELETE", "os-aggregates/*", Bind(r, &Aggregates::DeleteAggregate));
  routes->Add("POST", "os-aggregates/*/action", Bind(r, &Aggregates::AggregateAction));
}

}  // namespace chronova
