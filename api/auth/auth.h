// Authentication seam of the HTTP APIs: turns a request's X-Auth-Token (and the
// project id a legacy URL may carry) into the RequestContext every handler
// receives. The API servers call it in exactly one place per request; handlers
// never look at tokens. KeystoneAuthenticator takes chronova's Identity v3
// tokens (Nova's [api] auth_strategy = keystone, the default);
// NoAuthAuthenticator is Nova's noauth2.
#pragma once

#include <string>
#include <vector>

#include "api/http/http_message.h"
#include "api/auth/token_validator.h"
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

// `authenticator`'s verdict on the request's X-Auth-Token header (empty when
// absent): the one way the API handlers read a token.
Result<RequestContext> AuthenticateRequest(Authenticator& authenticator,
                                           const HttpHeaders& headers,
                                           const std::string& project_in_url = "");

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

// Identity v3 tokens (api/auth/token.h) as keystonemiddleware would check them: a
// valid signature, not expired, not revoked (TokenValidator). The context gets
// the token's user id, project id and roles (implied roles included). A token
// without a project scope is refused (Nova needs a project).
class KeystoneAuthenticator : public Authenticator {
 public:
  // Borrows `validator`.
  explicit KeystoneAuthenticator(const TokenValidator* validator)
      : validator_(validator) {}
  Result<RequestContext> Authenticate(const std::string& x_auth_token,
                                      const std::string& project_in_url) override;

 private:
  const TokenValidator* const validator_;
};

// The roles a noauth2 user gets: {"admin", "member", "reader"} for "admin",
// {"member", "reader"} for anyone else.
std::vector<std::string> NoAuthRoles(const std::string& user);

}  // namespace chronova
