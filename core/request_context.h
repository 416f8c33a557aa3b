// Who is calling and under which request id: the one seam between authentication
// (noauth2 today, Identity v3 tokens next) and everything that decides. Built once
// per API request; never parsed again downstream.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "core/envelope.h"
#include "core/types.h"

namespace chronova {

struct RequestContext {
  UserId user;
  ProjectId project;
  std::vector<std::string> roles;
  RequestId request_id;  // "req-<uuid>", echoed as x-openstack-request-id

  bool HasRole(const std::string& role) const {
    return std::find(roles.begin(), roles.end(), role) != roles.end();
  }
  bool IsAdmin() const { return HasRole("admin"); }
  // The event metadata for facts this request causes.
  EventMeta Meta(Timestamp now) const {
    return EventMeta{now, request_id, Seq(), Actor{user, project, roles}};
  }
};

}  // namespace chronova
