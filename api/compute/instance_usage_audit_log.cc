// /os-instance_usage_audit_log (nova/api/openstack/compute/
// instance_usage_audit_log.py): how far each compute host got with the
// periodic usage audit of the last completed month. Nova runs that audit only
// with [DEFAULT]instance_usage_audit; chronova runs none (every period's usage
// can be computed from the log at any time: os-simple-tenant-usage), so every
// compute host is listed as not run, as Nova lists them with the audit off.
#include <cstdio>
#include <ctime>

#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/service/admin_service.h"

namespace chronova {
namespace {

// Nova's last_completed_audit_period (unit "month") before `before`: the
// first of the previous month to the first of `before`'s month, as str() of a
// naive datetime.
std::pair<std::string, std::string> LastCompletedMonth(Timestamp before) {
  const time_t secs = static_cast<time_t>(before.micros / 1000000);
  std::tm t{};
  gmtime_r(&secs, &t);
  int year = t.tm_year + 1900, month = t.tm_mon + 1;
  int prev_year = month == 1 ? year - 1 : year, prev_month = month == 1 ? 12 : month - 1;
  char begin[32], end[32];
  std::snprintf(begin, sizeof(begin), "%04d-%02d-01 00:00:00", prev_year, prev_month);
  std::snprintf(end, sizeof(end), "%04d-%02d-01 00:00:00", year, month);
  return {begin, end};
}

// "%Y-%m-%d %H:%M:%S[.%f]", as Nova parses the show id.
bool ParseBefore(const std::string& text, Timestamp* out) {
  if (text.size() < 19 || text[10] != ' ') return false;
  std::string iso = text;
  iso[10] = 'T';
  if (iso.find_first_of("Zz+", 10) != std::string::npos) return false;
  return ParseIso8601(iso, out);
}

class InstanceUsageAuditLog final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse List(const ComputeCall& call) const {
    if (Status st =
            Authorize(call.ctx, "os_compute_api:os-instance-usage-audit-log:list");
        !st.ok()) {
      return ErrorResponse(st);
    }
    return Answer(call, "instance_usage_audit_logs", options_.env->Now());
  }

  HttpResponse Show(const ComputeCall& call) const {
    if (Status st =
            Authorize(call.ctx, "os_compute_api:os-instance-usage-audit-log:show");
        !st.ok()) {
      return ErrorResponse(st);
    }
    Timestamp before;
    if (!ParseBefore(call.params[0], &before)) {
      return FaultResponse(400, "Invalid timestamp for date " + call.params[0]);
    }
    return Answer(call, "instance_usage_audit_log", before);
  }

 private:
  HttpResponse Answer(const ComputeCall& call, const char* key, Timestamp before) const {
    ServiceFilter filter;
    filter.binary = "nova-compute";
    Result<std::vector<ServiceView>> computes =
        options_.admin->ListServices(call.ctx, filter);
    if (!computes.ok()) return ErrorResponse(computes.status());
    Json not_run = Json::MakeArray();
    for (const ServiceView& s : *computes) not_run.Append(s.host.str());
    const int64_t hosts = static_cast<int64_t>(computes->size());
    const auto [begin, end] = LastCompletedMonth(before);
    Json log = Json::MakeObject({
        {"period_beginning", begin},
        {"period_ending", end},
        {"num_hosts", hosts},
        {"num_hosts_done", 0},
        {"num_hosts_running", 0},
        {"num_hosts_not_run", hosts},
        {"hosts_not_run", std::move(not_run)},
        {"total_instances", 0},
        {"total_errors", 0},
        {"overall_status",
         (hosts == 0 ? std::string("ALL") : "0 of " + std::to_string(hosts)) +
             " hosts done. 0 errors."},
        {"log", Json::MakeObject()},
    });
    return JsonResponse(200, Json::MakeObject({{key, std::move(log)}}));
  }
};

}  // namespace

void AddInstanceUsageAuditLogRoutes(ComputeRoutes* routes,
                                    const ComputeApiOptions& options) {
  if (options.admin == nullptr) return;  // no admin views: 404
  auto r = std::make_shared<const InstanceUsageAuditLog>(options);
  routes->Add("GET", "os-instance_usage_audit_log",
              Bind(r, &InstanceUsageAuditLog::List));
  routes->Add("GET", "os-instance_usage_audit_log/*",
              Bind(r, &InstanceUsageAuditLog::Show));
}

}  // namespace chronova
