#include "api/policy.h"

#include <string>
#include <utility>

namespace chronova {

namespace {

struct Entry {
  std::string_view action;
  PolicyRule rule;
};

// Nova's defaults. Keep sorted by name; add an entry with every new action.
constexpr Entry kRules[] = {
    {"chronova:history", PolicyRule::kAdmin},
    {"os_compute_api:limits", PolicyRule::kAnyone},
    {"os_compute_api:limits:other_project", PolicyRule::kAdmin},
    {"os_compute_api:os-flavor-access", PolicyRule::kAdmin},
    {"os_compute_api:os-flavor-access:add_tenant_access", PolicyRule::kAdmin},
    {"os_compute_api:os-flavor-access:remove_tenant_access", PolicyRule::kAdmin},
    {"os_compute_api:os-flavor-extra-specs:create", PolicyRule::kAdmin},
    {"os_compute_api:os-flavor-extra-specs:delete", PolicyRule::kAdmin},
    {"os_compute_api:os-flavor-extra-specs:index", PolicyRule::kAnyone},
    {"os_compute_api:os-flavor-extra-specs:show", PolicyRule::kAnyone},
    {"os_compute_api:os-flavor-extra-specs:update", PolicyRule::kAdmin},
    {"os_compute_api:os-flavor-manage:create", PolicyRule::kAdmin},
    {"os_compute_api:os-flavor-manage:delete", PolicyRule::kAdmin},
    {"os_compute_api:os-instance-actions:events", PolicyRule::kAdmin},
    {"os_compute_api:os-instance-actions:list", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:os-instance-actions:show", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:os-keypairs:create", PolicyRule::kUserOrAdmin},
    {"os_compute_api:os-keypairs:delete", PolicyRule::kUserOrAdmin},
    {"os_compute_api:os-keypairs:index", PolicyRule::kUserOrAdmin},
    {"os_compute_api:os-keypairs:show", PolicyRule::kUserOrAdmin},
    {"os_compute_api:os-quota-class-sets:show", PolicyRule::kAdmin},
    {"os_compute_api:os-quota-class-sets:update", PolicyRule::kAdmin},
    {"os_compute_api:os-quota-sets:defaults", PolicyRule::kAnyone},
    {"os_compute_api:os-quota-sets:delete", PolicyRule::kAdmin},
    {"os_compute_api:os-quota-sets:detail", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:os-quota-sets:show", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:os-quota-sets:update", PolicyRule::kAdmin},
    {"os_compute_api:servers:create", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:servers:delete", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:servers:detail", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:servers:detail:get_all_tenants", PolicyRule::kAdmin},
    {"os_compute_api:servers:index", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:servers:index:get_all_tenants", PolicyRule::kAdmin},
    {"os_compute_api:servers:show", PolicyRule::kProjectReaderOrAdmin},
};

}  // namespace

PolicyRule RuleFor(std::string_view action) {
  for (const Entry& e : kRules) {
    if (e.action == action) return e.rule;
  }
  return PolicyRule::kAdmin;
}

Status Authorize(const RequestContext& ctx, std::string_view action,
                 const PolicyTarget& target) {
  const ProjectId& project = target.project.empty() ? ctx.project : target.project;
  const UserId& user = target.user.empty() ? ctx.user : target.user;
  bool allowed = false;
  switch (RuleFor(action)) {
    case PolicyRule::kAnyone:
      allowed = true;
      break;
    case PolicyRule::kProjectReaderOrAdmin:
      allowed = ctx.IsAdmin() || (ctx.HasRole("reader") && project == ctx.project);
      break;
    case PolicyRule::kProjectMemberOrAdmin:
      allowed = ctx.IsAdmin() || (ctx.HasRole("member") && project == ctx.project);
      break;
    case PolicyRule::kUserOrAdmin:
      allowed = ctx.IsAdmin() || user == ctx.user;
      break;
    case PolicyRule::kAdmin:
      allowed = ctx.IsAdmin();
      break;
  }
  if (allowed) return Status::Ok();
  return Status::PermissionDenied("Policy doesn't allow " + std::string(action) +
                                  " to be performed.");
}

}  // namespace chronova
