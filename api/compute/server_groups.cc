// /os-server-groups (nova/api/openstack/compute/server_groups.py): the views
// and schemas of microversions 2.1, 2.13 (project_id, user_id), 2.15 (the soft
// policies) and 2.64 (policy and rules instead of policies and metadata).
#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"
#include "api/compute/server_schemas.h"
#include "core/server_group_state.h"

namespace chronova {
namespace {

constexpr ApiVersion kGroupProjectVersion{2, 13};
constexpr ApiVersion kSoftPolicyVersion{2, 15};
constexpr ApiVersion kGroupPolicyVersion{2, 64};

Json ServerGroupView(const ServerGroupInfo& info, ApiVersion version) {
  const ServerGroup& g = info.group;
  Json v = Json::MakeObject({{"id", g.id}, {"name", g.name}});
  if (version >= kGroupPolicyVersion) {
    v["policy"] = g.policy;
    Json rules = Json::MakeObject();
    if (g.max_server_per_host > 0) rules["max_server_per_host"] = g.max_server_per_host;
    v["rules"] = std::move(rules);
  } else {
    v["policies"] = Json::MakeArray({Json(g.policy)});
    v["metadata"] = Json::MakeObject();
  }
  Json members = Json::MakeArray();
  for (const InstanceId& m : info.members) members.Append(m.str());
  v["members"] = std::move(members);
  if (version >= kGroupProjectVersion) {
    v["project_id"] = g.project_id.str();
    v["user_id"] = g.user_id.str();
  }
  return v;
}

// The policy of a create body: schemas/server_groups.py create (2.1),
// create_v215 and create_v264, with jsonschema's words.
Result<CreateServerGroupRequest> ParseCreate(const Json& body, ApiVersion version) {
  CHRONOVA_ASSIGN_OR_RETURN(const Json* sg, RootObject(body, "server_group"));
  const bool v264 = version >= kGroupPolicyVersion;
  std::vector<std::string_view> policies = {kAntiAffinity, kAffinity};
  if (version >= kSoftPolicyVersion) {
    policies.push_back(kSoftAntiAffinity);
    policies.push_back(kSoftAffinity);
  }
  std::string error = v264 ? CheckMembers(*sg, "server_group", {"name", "policy"},
                                          {"name", "policy", "rules"})
                           : CheckMembers(*sg, "server_group", {"name", "policies"},
                                          {"name", "policies"});
  if (!error.empty()) return Status::InvalidArgument(error);
  if (auto e = CheckName("name", *sg->Find("name"), NameRules::kStrict)) {
    return ToStatus(*e);
  }
  auto one_of = [&](const std::string& field, const Json& v) -> Status {
    if (auto e = Error(field, v, TypeMessage(v, {"string"}))) return ToStatus(*e);
    for (std::string_view p : policies) {
      if (v.as_string() == p) return Status::Ok();
    }
    std::string choices;
    for (std::string_view p : policies) {
      choices += (choices.empty() ? "" : ", ") + Quoted(p);
    }
    return FieldError(field, v, v.PythonRepr() + " is not one of [" + choices + "]");
  };
  CreateServerGroupRequest req;
  req.name = sg->Find("name")->as_string();
  if (v264) {
    const Json& policy = *sg->Find("policy");
    CHRONOVA_RETURN_IF_ERROR(one_of("policy", policy));
    req.policy = policy.as_string();
    if (const Json* rules = sg->Find("rules")) {
      if (auto e = Error("rules", *rules, TypeMessage(*rules, {"object"}))) {
        return ToStatus(*e);
      }
      CHRONOVA_RETURN_IF_ERROR(NoOtherProperties(*rules, {"max_server_per_host"}));
      if (const Json* max = rules->Find("max_server_per_host")) {
        int n = 0;
        if (auto e = CheckPositiveInteger("max_server_per_host", *max, &n)) {
          return ToStatus(*e);
        }
        req.max_server_per_host = n;
      }
      if (req.policy != kAntiAffinity && rules->size() > 0) {
        return Status::InvalidArgument("Only anti-affinity policy supports rules.");
      }
    }
    return req;
  }
  const Json& list = *sg->Find("policies");
  if (auto e = Error("policies", list, TypeMessage(list, {"array"}))) return ToStatus(*e);
  if (list.size() == 0) return FieldError("policies", list, "[] is too short");
  CHRONOVA_RETURN_IF_ERROR(one_of("policies", list.items()[0]));
  if (list.size() > 1) {
    if (list.items()[1] == list.items()[0]) {
      return FieldError("policies", list, list.PythonRepr() + " has non-unique elements");
    }
    return FieldError("policies", list, list.PythonRepr() + " is too long");
  }
  req.policy = list.items()[0].as_string();
  return req;
}

// Nova's common.limited: offset and limit (non-negative integers; limit
// capped at max_limit).
Result<std::pair<size_t, size_t>> OffsetLimit(const ComputeCall& call, int max_limit) {
  auto number = [&](const char* name, int64_t fallback) -> Result<int64_t> {
    const std::string* text = QueryParam(call.query, name);
    if (text == nullptr) return fallback;
    int64_t value = 0;
    if (!ParsePythonInt(*text, &value) || value < 0) {
      return Status::InvalidArgument(std::string("Invalid input for query parameters ") +
                                     name + ". Value: " + *text + ". '" + *text +
                                     "' does not match '^[0-9]*$'");
    }
    return value;
  };
  CHRONOVA_ASSIGN_OR_RETURN(int64_t offset, number("offset", 0));
  CHRONOVA_ASSIGN_OR_RETURN(int64_t limit, number("limit", max_limit));
  return std::make_pair(static_cast<size_t>(offset),
                        static_cast<size_t>(std::min<int64_t>(limit, max_limit)));
}

class ServerGroups final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse List(const ComputeCall& call) const;
  HttpResponse Create(const ComputeCall& call) const;
  HttpResponse Show(const ComputeCall& call) const;
  HttpResponse Delete(const ComputeCall& call) const;
};

HttpResponse ServerGroups::List(const ComputeCall& call) const {
  if (auto refused = RefuseUnknownQuery(call, {"all_projects", "limit", "offset"})) {
    return *refused;
  }
  Result<std::pair<size_t, size_t>> page = OffsetLimit(call, options_.max_limit);
  if (!page.ok()) return ErrorResponse(page.status());
  Result<std::vector<ServerGroupInfo>> all = options_.service->ListServerGroups(
      call.ctx, QueryParam(call.query, "all_projects") != nullptr);
  if (!all.ok()) return ErrorResponse(all.status());
  const auto [offset, limit] = *page;
  Json list = Json::MakeArray();
  for (size_t i = offset; i < all->size() && i < offset + limit; ++i) {
    list.Append(ServerGroupView((*all)[i], call.version));
  }
  return JsonResponse(200, Json::MakeObject({{"server_groups", std::move(list)}}));
}

HttpResponse ServerGroups::Create(const ComputeCall& call) const {
  // Authorized before the body is read.
  if (Status st = Authorize(call.ctx, "os_compute_api:os-server-groups:create");
      !st.ok()) {
    return ErrorResponse(st);
  }
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  Result<CreateServerGroupRequest> req = ParseCreate(*body, call.version);
  if (!req.ok()) return ErrorResponse(req.status());
  Result<ServerGroupInfo> created = options_.service->CreateServerGroup(call.ctx, *req);
  if (!created.ok()) return ErrorResponse(created.status());
  return JsonResponse(
      200, Json::MakeObject({{"server_group", ServerGroupView(*created, call.version)}}));
}

HttpResponse ServerGroups::Show(const ComputeCall& call) const {
  Result<ServerGroupInfo> g = options_.service->GetServerGroup(call.ctx, call.params[0]);
  if (!g.ok()) return ErrorResponse(g.status());
  return JsonResponse(
      200, Json::MakeObject({{"server_group", ServerGroupView(*g, call.version)}}));
}

HttpResponse ServerGroups::Delete(const ComputeCall& call) const {
  Status st = options_.service->DeleteServerGroup(call.ctx, call.params[0]);
  if (!st.ok()) return ErrorResponse(st);
  return EmptyResponse(204);
}

}  // namespace

void AddServerGroupRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const ServerGroups>(options);
  routes->Add("GET", "os-server-groups", Bind(r, &ServerGroups::List));
  routes->Add("POST", "os-server-groups", Bind(r, &ServerGroups::Create));
  routes->Add("GET", "os-server-groups/*", Bind(r, &ServerGroups::Show));
  routes->Add("DELETE", "os-server-groups/*", Bind(r, &ServerGroups::Delete));
}

}  // namespace chronova
