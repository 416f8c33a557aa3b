#include "api/auth/policy.h"

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
    // Keystone's (keystone/common/policies/*.py, project scope, no system scope).
    {"identity:get_domain", PolicyRule::kAdmin},
    {"identity:get_project", PolicyRule::kProjectReaderOrAdmin},
    {"identity:get_user", PolicyRule::kUserOrAdmin},
    {"identity:list_domains", PolicyRule::kAdmin},
    {"identity:list_projects", PolicyRule::kAdmin},
    {"identity:list_role_assignments", PolicyRule::kAdmin},
    {"identity:list_roles", PolicyRule::kAdmin},
    {"identity:list_users", PolicyRule::kAdmin},
    {"identity:revoke_token", PolicyRule::kUserOrAdmin},
    {"identity:validate_token", PolicyRule::kUserOrAdmin},
    // Glance's defaults (glance/policies/image.py), under "glance:". Seeing an
    // image at all is the lookup's business (private images are 404).
    {"glance:add_image", PolicyRule::kProjectMemberOrAdmin},
    {"glance:communitize_image", PolicyRule::kProjectMemberOrAdmin},
    {"glance:delete_image", PolicyRule::kProjectMemberOrAdmin},
    {"glance:download_image", PolicyRule::kAnyone},
    {"glance:get_image", PolicyRule::kAnyone},
    {"glance:get_images", PolicyRule::kAnyone},
    {"glance:modify_image", PolicyRule::kProjectMemberOrAdmin},
    {"glance:publicize_image", PolicyRule::kAdmin},
    {"glance:upload_image", PolicyRule::kProjectMemberOrAdmin},
    {"compute:server:topology:index", PolicyRule::kProjectReaderOrAdmin},
    {"compute:servers:create:requested_destination", PolicyRule::kAdmin},
    {"os_compute_api:extensions", PolicyRule::kAnyone},
    {"os_compute_api:ips:index", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:ips:show", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:limits", PolicyRule::kAnyone},
    {"os_compute_api:limits:other_project", PolicyRule::kAdmin},
    {"os_compute_api:os-admin-actions:reset_state", PolicyRule::kAdmin},
    {"os_compute_api:os-admin-password", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-migrate-server:migrate", PolicyRule::kAdmin},
    {"os_compute_api:os-create-backup", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-aggregates:add_host", PolicyRule::kAdmin},
    {"os_compute_api:os-aggregates:create", PolicyRule::kAdmin},
    {"os_compute_api:os-aggregates:delete", PolicyRule::kAdmin},
    {"os_compute_api:os-aggregates:index", PolicyRule::kAdmin},
    {"os_compute_api:os-aggregates:remove_host", PolicyRule::kAdmin},
    {"os_compute_api:os-aggregates:set_metadata", PolicyRule::kAdmin},
    {"os_compute_api:os-aggregates:show", PolicyRule::kAdmin},
    {"os_compute_api:os-aggregates:update", PolicyRule::kAdmin},
    {"os_compute_api:os-availability-zone:detail", PolicyRule::kAdmin},
    {"os_compute_api:os-availability-zone:list", PolicyRule::kAnyone},
    {"os_compute_api:os-console-auth-tokens", PolicyRule::kAdmin},
    {"os_compute_api:os-console-output", PolicyRule::kProjectMemberOrAdmin},
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
    {"os_compute_api:os-flavor-manage:update", PolicyRule::kAdmin},
    {"os_compute_api:os-hosts:list", PolicyRule::kAdmin},
    {"os_compute_api:os-hosts:reboot", PolicyRule::kAdmin},
    {"os_compute_api:os-hosts:show", PolicyRule::kAdmin},
    {"os_compute_api:os-hosts:shutdown", PolicyRule::kAdmin},
    {"os_compute_api:os-hosts:start", PolicyRule::kAdmin},
    {"os_compute_api:os-hosts:update", PolicyRule::kAdmin},
    {"os_compute_api:os-hypervisors:list", PolicyRule::kAdmin},
    {"os_compute_api:os-hypervisors:list-detail", PolicyRule::kAdmin},
    {"os_compute_api:os-hypervisors:search", PolicyRule::kAdmin},
    {"os_compute_api:os-hypervisors:servers", PolicyRule::kAdmin},
    {"os_compute_api:os-hypervisors:show", PolicyRule::kAdmin},
    {"os_compute_api:os-hypervisors:statistics", PolicyRule::kAdmin},
    {"os_compute_api:os-hypervisors:uptime", PolicyRule::kAdmin},
    {"os_compute_api:os-instance-actions:events", PolicyRule::kAdmin},
    {"os_compute_api:os-instance-actions:list", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:os-instance-actions:show", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:os-instance-usage-audit-log:list", PolicyRule::kAdmin},
    {"os_compute_api:os-instance-usage-audit-log:show", PolicyRule::kAdmin},
    {"os_compute_api:os-keypairs:create", PolicyRule::kUserOrAdmin},
    {"os_compute_api:os-keypairs:delete", PolicyRule::kUserOrAdmin},
    {"os_compute_api:os-keypairs:index", PolicyRule::kUserOrAdmin},
    {"os_compute_api:os-keypairs:show", PolicyRule::kUserOrAdmin},
    {"os_compute_api:os-lock-server:lock", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-lock-server:unlock", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-lock-server:unlock:unlock_override", PolicyRule::kAdmin},
    {"os_compute_api:os-migrations:index", PolicyRule::kAdmin},
    {"os_compute_api:os-pause-server:pause", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-pause-server:unpause", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-quota-class-sets:show", PolicyRule::kAdmin},
    {"os_compute_api:os-quota-class-sets:update", PolicyRule::kAdmin},
    {"os_compute_api:os-quota-sets:defaults", PolicyRule::kAnyone},
    {"os_compute_api:os-quota-sets:delete", PolicyRule::kAdmin},
    {"os_compute_api:os-quota-sets:detail", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:os-quota-sets:show", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:os-quota-sets:update", PolicyRule::kAdmin},
    {"os_compute_api:os-remote-consoles", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-rescue", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-server-diagnostics", PolicyRule::kAdmin},
    {"os_compute_api:os-server-external-events:create", PolicyRule::kAdmin},
    {"os_compute_api:os-server-groups:create", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-server-groups:delete", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-server-groups:index", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:os-server-groups:index:all_projects", PolicyRule::kAdmin},
    {"os_compute_api:os-server-groups:show", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:os-server-password:clear", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-server-password:show", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:os-server-tags:delete", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-server-tags:delete_all", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-server-tags:index", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:os-server-tags:show", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:os-server-tags:update", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-server-tags:update_all", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-services:delete", PolicyRule::kAdmin},
    {"os_compute_api:os-services:list", PolicyRule::kAdmin},
    {"os_compute_api:os-services:update", PolicyRule::kAdmin},
    {"os_compute_api:os-simple-tenant-usage:list", PolicyRule::kAdmin},
    {"os_compute_api:os-simple-tenant-usage:show", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:os-certificates:create", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-certificates:show", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:os-shelve:shelve", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-shelve:shelve_offload", PolicyRule::kAdmin},
    {"os_compute_api:os-shelve:unshelve", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-suspend-server:resume", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-suspend-server:suspend", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-unrescue", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:server-metadata:create", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:server-metadata:delete", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:server-metadata:index", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:server-metadata:show", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:server-metadata:update", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:server-metadata:update_all", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:servers:confirm_resize", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:servers:create", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:servers:create:trusted_certs", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:servers:create_image", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:servers:delete", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-deferred-delete:force", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:os-deferred-delete:restore", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:servers:detail", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:servers:detail:get_all_tenants", PolicyRule::kAdmin},
    {"os_compute_api:servers:index", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:servers:index:get_all_tenants", PolicyRule::kAdmin},
    {"os_compute_api:servers:migrations:delete", PolicyRule::kAdmin},
    {"os_compute_api:servers:migrations:force_complete", PolicyRule::kAdmin},
    {"os_compute_api:servers:migrations:index", PolicyRule::kAdmin},
    {"os_compute_api:servers:migrations:show", PolicyRule::kAdmin},
    {"os_compute_api:servers:reboot", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:servers:rebuild", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:servers:rebuild:trusted_certs", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:servers:resize", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:servers:revert_resize", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:servers:show", PolicyRule::kProjectReaderOrAdmin},
    {"os_compute_api:servers:show:host_status", PolicyRule::kAdmin},
    {"os_compute_api:servers:start", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:servers:stop", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:servers:trigger_crash_dump", PolicyRule::kProjectMemberOrAdmin},
    {"os_compute_api:servers:update", PolicyRule::kProjectMemberOrAdmin},
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
