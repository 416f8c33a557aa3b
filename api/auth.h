// Authentication seam of the HTTP APIs: turns a request's X-Auth-Token (and the
// project id a legacy URL may carry) into the RequestContext every handler
// receives. The API servers call it in exactly one place per request; handlers
// never look at tokens. NoAuthAuthenticator is Nova's noauth2; Identity v3
// tokens will come as another implementation.
#pragma once

#include <string>
#include <vector>

#include "core/request_context.h"
#include "core/status.h"

namespace chronova {

class Authenticator {
 public:
  virtual ~Authenticator() = default;

  // The caller's identity. `project_in_url` is the project id segment of a
  // "/v2.1/{project_id}/..." URL, empty if the URL has none. The returned
  // context has no request id (the server sets it).
  // Errors:
  //   PermissionDenied — not authenticated (no or unknown token): HTTP 401;
  //   InvalidArgument  — the URL's project is not the token's: HTTP 400.
  // Thread-safe.
  virtual Result<RequestContext> Authenticate(const std::string& x_auth_token,
                                              const std::string& project_in_url) = 0;
};

// Nova's noauth2 (nova/api/openstack/auth.py): the token "user:project" names
// the caller ("user" alone means project = user). User "admin" gets the admin
// role; everyone gets member and reader (Keystone's implied roles). A missing
// token is PermissionDenied (Nova would hand out a fake token; chronova answers
// 401 as keystonemiddleware does, so clients re-authenticate).
class NoAuthAuthenticator : public Authenticator {
 public:
  Result<RequestContext> Authenticate(const std::string& x_auth_token,
                                      const std::string& project_in_url) override;
};

// The roles a noauth2 user gets: {"admin", "member", "reader"} for "admin",
// {"member", "reader"} for anyone else.
std::vector<std::string> NoAuthRoles(const std::string& user);

}  // namespace chronova
