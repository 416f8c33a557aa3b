// Policy: who may do what, in one place. Nova's default rules
// (nova/policies/*.py, with [oslo_policy] enforce_scope = False and the new
// defaults): each API action names a rule, and Authorize checks a request
// against it. Handlers and services call Authorize with Nova's policy name;
// nothing else in chronova inspects roles to allow or refuse an action.
//
// Project isolation that Nova expresses as "not found" (another project's
// server is 404, not 403) stays with the lookups: a rule here says whether
// the caller may attempt the action on a target they can see.
#pragma once

#include <string_view>

#include "core/request_context.h"
#include "core/status.h"
#include "core/types.h"

namespace chronova {

enum class PolicyRule {
  kAnyone,                // any authenticated caller ("@")
  kProjectReaderOrAdmin,  // admin, or role reader in the target's project
  kProjectMemberOrAdmin,  // admin, or role member in the target's project
  kUserOrAdmin,           // admin, or the target's own user (keypairs)
  kAdmin,                 // role admin
};

// What an action is performed on. Empty fields match the caller's own
// project/user (an action on "my" collection).
struct PolicyTarget {
  ProjectId project;
  UserId user;
};

// The rule of a Nova policy name such as "os_compute_api:servers:create".
// Unknown names get kAdmin: an action nobody listed is not open by accident.
PolicyRule RuleFor(std::string_view action);

// OK if `ctx` may perform `action` on `target`; otherwise PermissionDenied
// with Nova's message "Policy doesn't allow <action> to be performed." (403).
Status Authorize(const RequestContext& ctx, std::string_view action,
                 const PolicyTarget& target = PolicyTarget());

}  // namespace chronova
