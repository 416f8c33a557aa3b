#include "api/auth/auth.h"

namespace chronova {

std::vector<std::string> NoAuthRoles(const std::string& user) {
  if (user == "admin") return {"admin", "member", "reader"};
  return {"member", "reader"};
}

namespace {

// nova/api/openstack/wsgi.py Resource._process_stack.
Status CheckProjectInUrl(const std::string& project_in_url, const std::string& project) {
  if (!project_in_url.empty() && project_in_url != project) {
    return Status::InvalidArgument(
        "Malformed request URL: URL's project_id '" + project_in_url +
        "' doesn't match Context's project_id '" + project + "'");
  }
  return Status::Ok();
}

}  // namespace

Result<RequestContext> KeystoneAuthenticator::Authenticate(
    const std::string& x_auth_token, const std::string& project_in_url) {
  if (x_auth_token.empty()) {
    return Status::PermissionDenied("The request you have made requires authentication.");
  }
  CHRONOVA_ASSIGN_OR_RETURN(TokenPayload p, validator_->Validate(x_auth_token));
  if (p.project_id.str().empty()) {
    return Status::PermissionDenied("The request you have made requires authentication.");
  }
  CHRONOVA_RETURN_IF_ERROR(CheckProjectInUrl(project_in_url, p.project_id.str()));
  RequestContext ctx;
  ctx.user = p.user_id;
  ctx.project = p.project_id;
  ctx.roles = std::move(p.roles);
  return ctx;
}

Result<RequestContext> NoAuthAuthenticator::Authenticate(
    const std::string& x_auth_token, const std::string& project_in_url) {
  if (x_auth_token.empty()) {
    return Status::PermissionDenied("The request you have made requires authentication.");
  }
  // nova/api/openstack/auth.py: token.partition(':'); project defaults to the user.
  size_t colon = x_auth_token.find(':');
  std::string user = x_auth_token.substr(0, colon);
  std::string project = colon == std::string::npos ? "" : x_auth_token.substr(colon + 1);
  if (project.empty()) project = user;
  if (user.empty()) {
    return Status::PermissionDenied("The request you have made requires authentication.");
  }
  CHRONOVA_RETURN_IF_ERROR(CheckProjectInUrl(project_in_url, project));
  RequestContext ctx;
  ctx.user = UserId(user);
  ctx.project = ProjectId(project);
  ctx.roles = NoAuthRoles(user);
  return ctx;
}

Result<RequestContext> AuthenticateRequest(Authenticator& authenticator,
                                           const HttpHeaders& headers,
                                           const std::string& project_in_url) {
  const std::string* token = headers.Find("X-Auth-Token");
  return authenticator.Authenticate(token ? *token : "", project_in_url);
}

}  // namespace chronova
