// IdentityService: Identity v3 (Keystone) semantics without HTTP — password and
// token authentication, project scoping, token validation and revocation. Users
// and projects come from the IdentityDirectory (the users file); tokens are
// signed (api/auth/token.h), never stored; a revocation is a token.revoked event that
// the revocations read model folds, so every node refuses the token.
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/auth/token_validator.h"
#include "api/identity/identity_directory.h"
#include "core/env.h"
#include "core/request_context.h"
#include "eventstore/event_log.h"
#include "projections/projection_runner.h"

namespace chronova {

struct CredentialRecord;  // projections/credentials_projection.h

struct IdentityServiceOptions {
  Env* env = Env::Default();  // clock (issued_at/expires_at), audit ids
  // Keystone's [token] expiration: a token's lifetime in seconds.
  int64_t token_expiration_s = 3600;
  // How long a revocation waits for the read models to include it.
  int wait_timeout_ms = 10000;
};

// A POST /v3/auth/tokens body, decoded. Empty strings are absent fields.
struct AuthRequest {
  std::vector<std::string> methods;  // "password" and/or "token"
  // identity.password.user
  std::string user_id;
  std::string user_name;
  std::string user_domain_id;
  std::string user_domain_name;
  std::string password;
  // identity.token.id
  std::string token;
  // "scope": "unscoped": a token with no project (hence no roles and no
  // catalog), whatever the user's default project.
  bool unscoped = false;
  // scope.project; none given (and not unscoped): the user's default project,
  // as Keystone scopes a request without scope to default_project_id.
  std::string project_id;
  std::string project_name;
  std::string project_domain_id;
  std::string project_domain_name;
};

struct IssuedToken {
  std::string token;  // the X-Subject-Token value
  TokenPayload payload;
  std::vector<std::string> audit_ids;  // this token's, then its parent's (token method)
};

class IdentityService {
 public:
  // Borrows everything; it must outlive the service.
  IdentityService(const IdentityDirectory* directory, const TokenValidator* validator,
                  EventLog* log, const ProjectionRunner* runner,
                  IdentityServiceOptions options);

  // A new token, project-scoped unless the request is unscoped (then it has
  // no project and no roles; the Compute and Image APIs refuse it with 401).
  // PermissionDenied (HTTP 401) for an unknown user, a wrong
  // password, an invalid token or a project the user has no role on;
  // InvalidArgument (400) for a request that names no usable method.
  Result<IssuedToken> Authenticate(const AuthRequest& request) const;

  // See TokenValidator::Validate.
  Result<TokenPayload> Validate(std::string_view token) const {
    return validator_->Validate(token);
  }

  // Appends token.revoked for `subject` (idempotent: revoking twice is OK) and
  // waits until the read models include it, so the token is refused at once.
  Status Revoke(const TokenPayload& subject, const RequestContext& caller) const;

  // ---- credentials (Keystone's /v3/credentials and OS-EC2) ----
  // An EC2 credential: its access key and secret, for a user in a project.
  struct Ec2Credential {
    std::string credential_id;  // hex SHA-256 of `access`
    UserId user_id;
    ProjectId project_id;
    std::string access;
    std::string secret;
  };
  // A new EC2 credential for `user` in `project` (given access and secret,
  // or fresh random ones), recorded as credential.created with the secret
  // sealed. PermissionDenied unless the caller is `user` or an admin; NotFound
  // for an unknown user; InvalidArgument for a project the user has no role
  // on; Conflict for an access key in use.
  Result<Ec2Credential> CreateEc2Credential(const RequestContext& caller,
                                            const UserId& user, const ProjectId& project,
                                            std::string access = "",
                                            std::string secret = "") const;
  // `user`'s EC2 credentials (every user's for an admin asking with an empty
  // user), secrets opened. PermissionDenied as above.
  Result<std::vector<Ec2Credential>> ListEc2Credentials(const RequestContext& caller,
                                                        const UserId& user) const;
  // The credential with this id, if the caller may see it (NotFound otherwise).
  Result<Ec2Credential> GetEc2Credential(const RequestContext& caller,
                                         const std::string& credential_id) const;
  // Deletes it (credential.deleted); NotFound as GetEc2Credential.
  Status DeleteEc2Credential(const RequestContext& caller,
                             const std::string& credential_id) const;
  // For a signed EC2 request: the credential of `access` with its secret and
  // the request context its user acts with (the roles of the directory).
  // NotFound for an unknown (or deleted) access key.
  struct Ec2Principal {
    Ec2Credential credential;
    RequestContext context;
  };
  Result<Ec2Principal> FindEc2Access(const std::string& access) const;

  const IdentityDirectory& directory() const { return *directory_; }
  int64_t token_expiration_s() const { return options_.token_expiration_s; }

 private:
  Result<const IdentityUser*> PasswordUser(const AuthRequest& r) const;
  // Signs `out.payload` with a fresh audit id; `parent_audit` (the token
  // method's parent, if any) follows it in audit_ids.
  Result<IssuedToken> Issue(IssuedToken out, const std::string& parent_audit) const;
  // A stored credential with its secret opened.
  Result<Ec2Credential> Opened(const CredentialRecord& r) const;
  // AES-256-GCM under the token key's "credential seal" key: base64url(nonce
  // | ciphertext | tag), and back (PermissionDenied if it does not open).
  Result<std::string> Seal(const std::string& secret) const;
  Result<std::string> Unseal(const std::string& sealed) const;

  const IdentityDirectory* const directory_;
  const TokenValidator* const validator_;
  EventLog* const log_;
  const ProjectionRunner* const runner_;
  const IdentityServiceOptions options_;
};

}  // namespace chronova
