// /os-quota-sets, /os-quota-class-sets and /limits (nova/api/openstack/compute/
// {quota_sets,quota_classes,limits}.py): 2.1; 2.36, which drops the network
// resources (fixed_ips, floating_ips, security_groups, security_group_rules)
// from quota sets and limits; 2.39, which drops maxImageMeta from limits;
// 2.50, when quota classes show the server group quotas and drop the network
// ones; and 2.57, which drops the personality file quotas and limits.
#include <optional>

#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"
#include "api/service/quotas.h"

namespace chronova {
namespace {

constexpr ApiVersion kWithoutNetworkQuotas{2, 36};
constexpr ApiVersion kWithoutImageMetaLimit{2, 39};
constexpr ApiVersion kQuotaClassesRevised{2, 50};
constexpr ApiVersion kWithoutFileQuotas{2, 57};

// Nova's FILTERED_QUOTAS_2_36 (and quota classes' FILTERED_QUOTAS_2_50).
bool IsNetworkQuota(const std::string& r) {
  return r == "fixed_ips" || r == "floating_ips" || r == "security_groups" ||
         r == "security_group_rules";
}

// What FILTERED_QUOTAS_2_57 adds: personality files are gone.
bool IsFileQuota(const std::string& r) {
  return r == "injected_files" || r == "injected_file_content_bytes" ||
         r == "injected_file_path_bytes";
}

enum class QuotaSetKind { kProject, kClass };

// The resources a quota set body may name at `version`.
std::vector<std::string> QuotaNamesAt(ApiVersion version,
                                      QuotaSetKind kind = QuotaSetKind::kProject) {
  const ApiVersion network_gone =
      kind == QuotaSetKind::kProject ? kWithoutNetworkQuotas : kQuotaClassesRevised;
  std::vector<std::string> out;
  for (const std::string& r : QuotaResourceNames()) {
    if (version >= network_gone && IsNetworkQuota(r)) continue;
    if (version >= kWithoutFileQuotas && IsFileQuota(r)) continue;
    out.push_back(r);
  }
  return out;
}

// The resources a quota set shows at `version`: a quota class shows no
// server group quotas before 2.50.
std::vector<std::string> ShownQuotaNamesAt(ApiVersion version,
                                           QuotaSetKind kind = QuotaSetKind::kProject) {
  std::vector<std::string> out = QuotaNamesAt(version, kind);
  if (kind == QuotaSetKind::kClass && version < kQuotaClassesRevised) {
    std::erase_if(out, [](const std::string& r) {
      return r == "server_groups" || r == "server_group_members";
    });
  }
  return out;
}

// A quota_set / quota_class_set body: resource -> limit (common_quota), of
// the resources `names`.
Result<std::map<std::string, int64_t>> ParseQuotaLimits(
    const Json& set, bool* force,
    const std::vector<std::string>& names = QuotaResourceNames()) {
  std::map<std::string, int64_t> out;
  for (const auto& [k, v] : set.members()) {
    if (k == "force" && force != nullptr) {
      bool b = false;
      if (v.is_bool()) {
        b = v.as_bool();
      } else if (v.is_string() && ParseStrictBool(v.as_string())) {
        b = *ParseStrictBool(v.as_string());
      } else {
        return FieldError("force", v,
                          v.PythonRepr() + " is not of type 'boolean', 'string'");
      }
      *force = b;
      continue;
    }
    if (k == "networks")
      return Status::InvalidArgument("The networks quota has been removed");
    if (std::find(names.begin(), names.end(), k) == names.end()) {
      return Status::InvalidArgument("Additional properties are not allowed ('" + k +
                                     "' was unexpected)");
    }
    int64_t n = 0;
    if (v.is_int()) {
      n = v.as_int();
    } else if (v.is_string()) {
      if (!ParsePythonInt(v.as_string(), &n) ||
          v.as_string().find(' ') != std::string::npos)
        return FieldError(k, v, v.PythonRepr() + " does not match '^-?[0-9]+$'");
    } else {
      return FieldError(k, v, v.PythonRepr() + " is not of type 'integer', 'string'");
    }
    if (n < -1)
      return FieldError(k, v, v.PythonStr() + " is less than the minimum of -1");
    if (n > 0x7FFFFFFF) {
      return FieldError(k, v,
                        v.PythonStr() + " is greater than the maximum of 2147483647");
    }
    out[k] = n;
  }
  return out;
}

Json QuotaSetView(const std::string& id, const std::map<std::string, int64_t>& limits,
                  ApiVersion version, QuotaSetKind kind = QuotaSetKind::kProject) {
  Json set = Json::MakeObject();
  if (!id.empty()) set["id"] = id;
  for (const std::string& r : ShownQuotaNamesAt(version, kind)) {
    auto it = limits.find(r);
    if (it != limits.end()) set[r] = it->second;
  }
  return set;
}

class Quotas final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse ShowQuotas(const ComputeCall& call) const;
  HttpResponse ShowQuotasDetail(const ComputeCall& call) const;
  HttpResponse ShowQuotaDefaults(const ComputeCall& call) const;
  HttpResponse UpdateQuotas(const ComputeCall& call) const;
  HttpResponse DeleteQuotas(const ComputeCall& call) const;
  HttpResponse ShowQuotaClass(const ComputeCall& call) const;
  HttpResponse UpdateQuotaClass(const ComputeCall& call) const;
  HttpResponse ShowLimits(const ComputeCall& call) const;
};

HttpResponse Quotas::ShowQuotas(const ComputeCall& call) const {
  if (auto refused = RefuseUnknownQuery(call, {"user_id"})) return *refused;
  const std::string& project = call.params[0];
  Result<std::map<std::string, QuotaValue>> q = options_.service->GetQuotas(
      call.ctx, ProjectId(project), UserParam(call.query), /*usages=*/false);
  if (!q.ok()) return ErrorResponse(q.status());
  std::map<std::string, int64_t> limits;
  for (const auto& [k, v] : *q) limits[k] = v.limit;
  return JsonResponse(
      200,
      Json::MakeObject({{"quota_set", QuotaSetView(project, limits, call.version)}}));
}

HttpResponse Quotas::ShowQuotasDetail(const ComputeCall& call) const {
  if (auto refused = RefuseUnknownQuery(call, {"user_id"})) return *refused;
  const std::string& project = call.params[0];
  Result<std::map<std::string, QuotaValue>> q = options_.service->GetQuotas(
      call.ctx, ProjectId(project), UserParam(call.query), /*usages=*/true);
  if (!q.ok()) return ErrorResponse(q.status());
  Json set = Json::MakeObject({{"id", project}});
  for (const std::string& r : QuotaNamesAt(call.version)) {
    auto it = q->find(r);
    if (it == q->end()) continue;
    set[r] = Json::MakeObject({{"in_use", it->second.in_use},
                               {"limit", it->second.limit},
                               {"reserved", it->second.reserved}});
  }
  return JsonResponse(200, Json::MakeObject({{"quota_set", std::move(set)}}));
}

HttpResponse Quotas::ShowQuotaDefaults(const ComputeCall& call) const {
  const std::string& project = call.params[0];
  Result<std::map<std::string, int64_t>> d =
      options_.service->DefaultQuotas(call.ctx, ProjectId(project));
  if (!d.ok()) return ErrorResponse(d.status());
  return JsonResponse(
      200, Json::MakeObject({{"quota_set", QuotaSetView(project, *d, call.version)}}));
}

HttpResponse Quotas::UpdateQuotas(const ComputeCall& call) const {
  if (auto refused = RefuseUnknownQuery(call, {"user_id"})) return *refused;
  const ProjectId project(call.params[0]);
  Status denied =
      Authorize(call.ctx, "os_compute_api:os-quota-sets:update", {project, {}});
  if (!denied.ok()) return ErrorResponse(denied);
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  Result<const Json*> root = RootObject(*body, "quota_set");
  if (!root.ok()) return ErrorResponse(root.status());
  bool force = false;
  Result<std::map<std::string, int64_t>> limits =
      ParseQuotaLimits(**root, &force, QuotaNamesAt(call.version));
  if (!limits.ok()) return ErrorResponse(limits.status());
  Result<std::map<std::string, int64_t>> after = options_.service->UpdateQuotas(
      call.ctx, project, UserParam(call.query), *limits, force);
  if (!after.ok()) return ErrorResponse(after.status());
  return JsonResponse(
      200, Json::MakeObject({{"quota_set", QuotaSetView("", *after, call.version)}}));
}

HttpResponse Quotas::DeleteQuotas(const ComputeCall& call) const {
  if (auto refused = RefuseUnknownQuery(call, {"user_id"})) return *refused;
  Status s = options_.service->DeleteQuotas(call.ctx, ProjectId(call.params[0]),
                                            UserParam(call.query));
  if (!s.ok()) return ErrorResponse(s);
  return EmptyResponse(202);
}

HttpResponse Quotas::ShowQuotaClass(const ComputeCall& call) const {
  Result<std::map<std::string, int64_t>> c =
      options_.service->GetQuotaClass(call.ctx, call.params[0]);
  if (!c.ok()) return ErrorResponse(c.status());
  return JsonResponse(
      200,
      Json::MakeObject({{"quota_class_set", QuotaSetView(call.params[0], *c, call.version,
                                                         QuotaSetKind::kClass)}}));
}

HttpResponse Quotas::UpdateQuotaClass(const ComputeCall& call) const {
  Status denied = Authorize(call.ctx, "os_compute_api:os-quota-class-sets:update");
  if (!denied.ok()) return ErrorResponse(denied);
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  Result<const Json*> root = RootObject(*body, "quota_class_set");
  if (!root.ok()) return ErrorResponse(root.status());
  Result<std::map<std::string, int64_t>> limits =
      ParseQuotaLimits(**root, nullptr, QuotaNamesAt(call.version, QuotaSetKind::kClass));
  if (!limits.ok()) return ErrorResponse(limits.status());
  Result<std::map<std::string, int64_t>> after =
      options_.service->UpdateQuotaClass(call.ctx, call.params[0], *limits);
  if (!after.ok()) return ErrorResponse(after.status());
  return JsonResponse(
      200, Json::MakeObject({{"quota_class_set", QuotaSetView("", *after, call.version,
                                                              QuotaSetKind::kClass)}}));
}

HttpResponse Quotas::ShowLimits(const ComputeCall& call) const {
  if (auto refused = RefuseUnknownQuery(call, {"tenant_id"})) return *refused;
  std::optional<ProjectId> tenant;
  if (const std::string* t = QueryParam(call.query, "tenant_id")) tenant = ProjectId(*t);
  Result<std::map<std::string, QuotaValue>> q =
      options_.service->GetLimits(call.ctx, tenant);
  if (!q.ok()) return ErrorResponse(q.status());
  auto limit = [&](const char* r) { return q->count(r) ? q->at(r).limit : -1; };
  auto used = [&](const char* r) { return q->count(r) ? q->at(r).in_use : 0; };
  Json absolute = Json::MakeObject({
      {"maxImageMeta", limit("metadata_items")},
      {"maxPersonality", limit("injected_files")},
      {"maxPersonalitySize", limit("injected_file_content_bytes")},
      {"maxSecurityGroupRules", limit("security_group_rules")},
      {"maxSecurityGroups", limit("security_groups")},
      {"maxServerGroupMembers", limit("server_group_members")},
      {"maxServerGroups", limit("server_groups")},
      {"maxServerMeta", limit("metadata_items")},
      {"maxTotalCores", limit("cores")},
      {"maxTotalFloatingIps", limit("floating_ips")},
      {"maxTotalInstances", limit("instances")},
      {"maxTotalKeypairs", limit("key_pairs")},
      {"maxTotalRAMSize", limit("ram")},
      {"totalCoresUsed", used("cores")},
      {"totalFloatingIpsUsed", 0},
      {"totalInstancesUsed", used("instances")},
      {"totalRAMUsed", used("ram")},
      {"totalSecurityGroupsUsed", 0},
      {"totalServerGroupsUsed", used("server_groups")},
  });
  if (call.version >= kWithoutNetworkQuotas) {
    // Nova's FILTERED_LIMITS_2_36.
    std::erase_if(absolute.mutable_members(), [](const auto& member) {
      return member.first == "maxSecurityGroupRules" ||
             member.first == "maxSecurityGroups" ||
             member.first == "maxTotalFloatingIps" ||
             member.first == "totalFloatingIpsUsed" ||
             member.first == "totalSecurityGroupsUsed";
    });
  }
  if (call.version >= kWithoutImageMetaLimit) {
    std::erase_if(absolute.mutable_members(),
                  [](const auto& member) { return member.first == "maxImageMeta"; });
  }
  if (call.version >= kWithoutFileQuotas) {
    // FILTERED_LIMITS_2_57.
    std::erase_if(absolute.mutable_members(), [](const auto& member) {
      return member.first == "maxPersonality" || member.first == "maxPersonalitySize";
    });
  }
  return JsonResponse(
      200, Json::MakeObject(
               {{"limits", Json::MakeObject({{"rate", Json::MakeArray()},
                                             {"absolute", std::move(absolute)}})}}));
}

}  // namespace

void AddQuotaRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const Quotas>(options);
  routes->Add("GET", "os-quota-sets/*", Bind(r, &Quotas::ShowQuotas));
  routes->Add("GET", "os-quota-sets/*/detail", Bind(r, &Quotas::ShowQuotasDetail));
  routes->Add("GET", "os-quota-sets/*/defaults", Bind(r, &Quotas::ShowQuotaDefaults));
  routes->Add("PUT", "os-quota-sets/*", Bind(r, &Quotas::UpdateQuotas));
  routes->Add("DELETE", "os-quota-sets/*", Bind(r, &Quotas::DeleteQuotas));
  routes->Add("GET", "os-quota-class-sets/*", Bind(r, &Quotas::ShowQuotaClass));
  routes->Add("PUT", "os-quota-class-sets/*", Bind(r, &Quotas::UpdateQuotaClass));
  routes->Add("GET", "limits", Bind(r, &Quotas::ShowLimits));
}

}  // namespace chronova
