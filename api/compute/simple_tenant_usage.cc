// /os-simple-tenant-usage (nova/api/openstack/compute/simple_tenant_usage.py):
// each project's server-hours, vCPU-, memory- and disk-hours over a period,
// from the servers read model (deleted servers included). 2.40 pages it with
// limit and marker; 2.75 refuses unknown query parameters.
#include <algorithm>
#include <map>

#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/views.h"
#include "api/service/compute_service.h"

namespace chronova {
namespace {

constexpr ApiVersion kPagedVersion{2, 40};

// The start and end of the period: Nova's formats "%Y-%m-%dT%H:%M:%S",
// "%Y-%m-%dT%H:%M:%S.%f" and "%Y-%m-%d %H:%M:%S.%f", naive UTC; absent or
// empty is now.
Result<Timestamp> ParseUsageTime(const std::string* text, Timestamp now) {
  if (text == nullptr || text->empty()) return now;
  std::string t = *text;
  const bool fraction = t.size() > 19 && t[19] == '.';
  if (t.size() > 10 && t[10] == ' ' && fraction) t[10] = 'T';
  Timestamp out;
  const bool plain = t.find_first_of("Zz+", 10) == std::string::npos &&
                     t.find('-', 10) == std::string::npos;
  if (t.size() < 19 || t[10] != 'T' || !plain || !ParseIso8601(t, &out)) {
    return Status::InvalidArgument(
        "Invalid datetime string: Datetime is in invalid format");
  }
  return out;
}

struct Period {
  Timestamp start;
  Timestamp stop;
  bool detailed = false;
};

// Nova's _get_datetime_range, with the stop cut to now.
Result<Period> PeriodOf(const ComputeCall& call, Timestamp now) {
  Period p;
  CHRONOVA_ASSIGN_OR_RETURN(p.start,
                            ParseUsageTime(QueryParam(call.query, "start"), now));
  // An absent end is now too, read a moment after the start as Nova's two
  // utcnow() calls are: no period at all is an empty one, not a reversed one.
  CHRONOVA_ASSIGN_OR_RETURN(
      p.stop, ParseUsageTime(QueryParam(call.query, "end"), Timestamp{now.micros + 1}));
  if (!(p.start < p.stop)) {
    return Status::InvalidArgument(
        "Invalid start time. The start time cannot occur after the end time.");
  }
  const std::string* detailed = QueryParam(call.query, "detailed");
  p.detailed = detailed != nullptr && *detailed == "1";
  if (now < p.stop) p.stop = now;
  return p;
}

// Nova's _hours_for: the hours in the period between launch and termination.
double HoursIn(const InstanceState& s, const Period& p) {
  if (s.launched_at.micros == 0) return 0;
  if (s.terminated_at.micros != 0 && s.terminated_at < p.start) return 0;
  if (p.stop < s.launched_at) return 0;
  const Timestamp start = std::max(s.launched_at, p.start);
  const Timestamp stop =
      s.terminated_at.micros != 0 ? std::min(p.stop, s.terminated_at) : p.stop;
  return static_cast<double>(stop.micros - start.micros) / 3.6e9;
}

Json ServerUsage(const InstanceState& s, double hours, Timestamp now) {
  const bool terminated = s.terminated_at.micros != 0;
  const Timestamp until = terminated ? s.terminated_at : now;
  return Json::MakeObject({
      {"ended_at", TimeOrNull(s.terminated_at)},
      {"flavor", s.flavor.name},
      {"hours", hours},
      {"instance_id", s.id.str()},
      {"local_gb", static_cast<int64_t>(s.flavor.root_gb + s.flavor.ephemeral_gb)},
      {"memory_mb", static_cast<int64_t>(s.flavor.memory_mb)},
      {"name", s.name},
      {"started_at", FormatUsageTime(s.launched_at)},
      {"state", terminated ? "terminated" : std::string(VmStateName(s.vm_state))},
      {"tenant_id", s.project_id.str()},
      {"uptime", (until.micros - s.launched_at.micros) / 1000000},
      {"vcpus", static_cast<int64_t>(s.flavor.vcpus)},
  });
}

// Nova's _tenant_usages_for_period: one summary per project, in the order the
// servers came.
Json TenantUsages(const std::vector<InstanceState>& servers, const Period& p,
                  Timestamp now, bool detailed) {
  Json out = Json::MakeArray();
  std::map<std::string, size_t> index;
  for (const InstanceState& s : servers) {
    const double hours = HoursIn(s, p);
    const std::string project = s.project_id.str();
    auto [it, added] = index.emplace(project, out.size());
    if (added) {
      Json summary = Json::MakeObject({{"tenant_id", project}});
      if (detailed) summary["server_usages"] = Json::MakeArray();
      summary["total_local_gb_usage"] = 0.0;
      summary["total_vcpus_usage"] = 0.0;
      summary["total_memory_mb_usage"] = 0.0;
      summary["total_hours"] = 0.0;
      summary["start"] = FormatUsageTime(p.start);
      summary["stop"] = FormatUsageTime(p.stop);
      out.Append(std::move(summary));
    }
    Json& summary = out.mutable_items()[it->second];
    auto add = [&](const char* key, double v) {
      summary[key] = summary[key].as_double() + v;
    };
    add("total_local_gb_usage", (s.flavor.root_gb + s.flavor.ephemeral_gb) * hours);
    add("total_vcpus_usage", s.flavor.vcpus * hours);
    add("total_memory_mb_usage", s.flavor.memory_mb * hours);
    add("total_hours", hours);
    if (detailed) summary["server_usages"].Append(ServerUsage(s, hours, now));
  }
  return out;
}

class SimpleTenantUsage final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse List(const ComputeCall& call) const { return Usage(call, nullptr); }
  HttpResponse Show(const ComputeCall& call) const {
    return Usage(call, &call.params[0]);
  }

 private:
  // All projects (`project` null; admins) or one.
  HttpResponse Usage(const ComputeCall& call, const std::string* project) const;
};

HttpResponse SimpleTenantUsage::Usage(const ComputeCall& call,
                                      const std::string* project) const {
  const bool paged = call.version >= kPagedVersion;
  const std::optional<HttpResponse> refused =
      project == nullptr
          ? RefuseUnknownQuery(call, {"start", "end", "detailed", "limit", "marker"})
          : RefuseUnknownQuery(call, {"start", "end", "limit", "marker"});
  if (refused) return *refused;
  const char* policy = project == nullptr ? "os_compute_api:os-simple-tenant-usage:list"
                                          : "os_compute_api:os-simple-tenant-usage:show";
  // Nova checks the policy before the period (ActiveServers checks it again).
  const ProjectId target(project ? *project : "");
  if (Status denied = Authorize(call.ctx, policy, {target, UserId()}); !denied.ok()) {
    return ErrorResponse(denied);
  }
  const Timestamp now = options_.env->Now();
  Result<Period> period = PeriodOf(call, now);
  if (!period.ok()) return ErrorResponse(period.status());
  ComputeService::ActiveServersQuery q;
  q.start = period->start;
  q.stop = period->stop;
  if (project != nullptr) q.project = ProjectId(*project);
  q.limit = static_cast<size_t>(options_.max_limit);
  if (paged) {
    Result<int> limit = PageLimit(call);
    if (!limit.ok()) return ErrorResponse(limit.status());
    q.limit = static_cast<size_t>(*limit);
    if (const std::string* marker = QueryParam(call.query, "marker")) q.marker = *marker;
  }
  Result<std::vector<InstanceState>> servers =
      options_.service->ActiveServers(call.ctx, policy, q);
  if (!servers.ok()) return ErrorResponse(servers.status());
  const bool detailed = project != nullptr || period->detailed;
  Json usages = TenantUsages(*servers, *period, now, detailed);
  const std::string collection = project ? "tenant_usage" : "tenant_usages";
  Json body = Json::MakeObject();
  if (project == nullptr) {
    body[collection] = std::move(usages);
  } else {
    body[collection] = usages.size() > 0 ? Json(usages.items()[0]) : Json::MakeObject();
  }
  if (paged) {
    const std::string path =
        project ? "os-simple-tenant-usage/" + *project : "os-simple-tenant-usage";
    Json next = NextLinks(call.links, path, call.query, servers->size(), q.limit,
                          servers->empty() ? "" : servers->back().id.str());
    if (next.size() > 0) body[collection + "_links"] = std::move(next);
  }
  return JsonResponse(200, body);
}

}  // namespace

void AddSimpleTenantUsageRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const SimpleTenantUsage>(options);
  routes->Add("GET", "os-simple-tenant-usage", Bind(r, &SimpleTenantUsage::List));
  routes->Add("GET", "os-simple-tenant-usage/*", Bind(r, &SimpleTenantUsage::Show));
}

}  // namespace chronova
