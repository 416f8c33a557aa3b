// api/policy: Nova's default rules, in one place.
#include "api/auth/policy.h"

#include <catch2/catch.hpp>

namespace chronova {
namespace {

RequestContext Caller(const char* user, const char* project,
                      std::vector<std::string> roles) {
  RequestContext ctx;
  ctx.user = UserId(user);
  ctx.project = ProjectId(project);
  ctx.roles = std::move(roles);
  return ctx;
}

TEST_CASE("policy: members act in their own project, admins anywhere") {
  RequestContext member = Caller("u1", "p1", {"member", "reader"});
  RequestContext reader = Caller("u2", "p1", {"reader"});
  RequestContext admin = Caller("a", "p0", {"admin", "member", "reader"});
  const char* create = "os_compute_api:servers:create";

  CHECK(Authorize(member, create).ok());
  CHECK(Authorize(member, create, {ProjectId("p1"), UserId()}).ok());
  CHECK(Authorize(admin, create, {ProjectId("p1"), UserId()}).ok());

  Status other = Authorize(member, create, {ProjectId("p2"), UserId()});
  CHECK(other.code() == StatusCode::kPermissionDenied);
  CHECK(other.message() ==
        "Policy doesn't allow os_compute_api:servers:create to be performed.");

  // The reader role reads but does not write.
  CHECK(Authorize(reader, "os_compute_api:servers:show").ok());
  CHECK(Authorize(reader, create).code() == StatusCode::kPermissionDenied);
}

TEST_CASE("policy: admin-only actions and unknown actions refuse non-admins") {
  RequestContext member = Caller("u1", "p1", {"member", "reader"});
  RequestContext admin = Caller("a", "p0", {"admin"});
  CHECK(Authorize(member, "os_compute_api:servers:index:get_all_tenants").code() ==
        StatusCode::kPermissionDenied);
  CHECK(Authorize(admin, "os_compute_api:servers:index:get_all_tenants").ok());
  CHECK(RuleFor("no:such:action") == PolicyRule::kAdmin);
  CHECK(Authorize(member, "no:such:action").code() == StatusCode::kPermissionDenied);
  CHECK(Authorize(member, "os_compute_api:os-flavor-extra-specs:index").ok());
}

}  // namespace
}  // namespace chronova
