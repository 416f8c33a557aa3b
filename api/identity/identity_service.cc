#include "api/identity/identity_service.h"

#include <algorithm>

#include "api/auth/password_hash.h"
#include "core/event_codec.h"

namespace chronova {
namespace {

constexpr char kUnauthorized[] = "The request you have made requires authentication.";

bool IsDefaultDomain(const std::string& id, const std::string& name) {
  return (id.empty() || id == kDefaultDomainId) &&
         (name.empty() || name == kDefaultDomainName);
}

bool HasMethod(const AuthRequest& r, const std::string& m) {
  return std::find(r.methods.begin(), r.methods.end(), m) != r.methods.end();
}

}  // namespace

IdentityService::IdentityService(const IdentityDirectory* directory,
                                 const TokenValidator* validator, EventLog* log,
                                 const ProjectionRunner* runner,
                                 IdentityServiceOptions options)
    : directory_(directory),
      validator_(validator),
      log_(log),
      runner_(runner),
      options_(std::move(options)) {}

Result<const IdentityUser*> IdentityService::PasswordUser(const AuthRequest& r) const {
  const IdentityUser* user = nullptr;
  if (!r.user_id.empty()) {
    user = directory_->FindUser(UserId(r.user_id));
  } else if (!r.user_name.empty()) {
    if (r.user_domain_id.empty() && r.user_domain_name.empty()) {
      return Status::InvalidArgument(
          "Expecting to find domain in user. The server could not comply with the "
          "request since it is either malformed or otherwise incorrect. The client is "
          "assumed to be in error.");
    }
    if (IsDefaultDomain(r.user_domain_id, r.user_domain_name)) {
      user = directory_->FindUserByName(r.user_name);
    }
  } else {
    return Status::InvalidArgument(
        "Invalid input for field 'identity/password/user': "
        "'id' or 'name' is required");
  }
  // One answer for an unknown user and a wrong password (no user enumeration);
  // the hash is checked either way.
  static const std::string kDummy =
      "pbkdf2-sha256$100000$AAAAAAAAAAAAAAAAAAAAAA$"
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  bool ok = VerifyPassword(r.password, user ? user->password_hash : kDummy);
  if (user == nullptr || !ok) return Status::PermissionDenied(kUnauthorized);
  return user;
}

Result<IssuedToken> IdentityService::Authenticate(const AuthRequest& r) const {
  const bool password = HasMethod(r, "password");
  const bool token = HasMethod(r, "token");
  if (!password && !token) {
    return Status::InvalidArgument(
        "Invalid input for field 'identity/methods': "
        "expected 'password' or 'token'");
  }
  IssuedToken out;
  TokenPayload& p = out.payload;
  const IdentityUser* user = nullptr;
  Timestamp now = options_.env->Now();
  p.issued_at = now;
  p.expires_at = Timestamp{now.micros + options_.token_expiration_s * 1000000};
  std::string parent_audit;
  if (password) {
    CHRONOVA_ASSIGN_OR_RETURN(user, PasswordUser(r));
    p.methods.push_back("password");
  } else {
    if (r.token.empty()) {
      return Status::InvalidArgument(
          "Invalid input for field 'identity/token/id': 'id' is a required property");
    }
    CHRONOVA_ASSIGN_OR_RETURN(TokenPayload parent, validator_->Validate(r.token));
    user = directory_->FindUser(parent.user_id);
    if (user == nullptr) return Status::PermissionDenied(kUnauthorized);
    p.methods.push_back("token");
    p.expires_at = parent.expires_at;  // a token cannot extend its own life
    parent_audit = parent.audit_id;
  }
  p.user_id = user->id;
  if (r.unscoped) return Issue(std::move(out), parent_audit);

  // Scope: the named project, or the user's own.
  const IdentityProject* project = nullptr;
  if (!r.project_id.empty()) {
    project = directory_->FindProject(ProjectId(r.project_id));
  } else if (!r.project_name.empty()) {
    if (r.project_domain_id.empty() && r.project_domain_name.empty()) {
      return Status::InvalidArgument(
          "Expecting to find domain in project. The server could not comply with the "
          "request since it is either malformed or otherwise incorrect. The client is "
          "assumed to be in error.");
    }
    if (IsDefaultDomain(r.project_domain_id, r.project_domain_name)) {
      project = directory_->FindProjectByName(r.project_name);
    }
  } else {
    project = directory_->FindProject(user->project_id);
  }
  if (project == nullptr || project->id != user->project_id) {
    // Keystone: "No project found" style refusals are 401 for auth requests.
    return Status::PermissionDenied(kUnauthorized);
  }
  p.project_id = project->id;
  p.roles = EffectiveRoles(user->roles);
  return Issue(std::move(out), parent_audit);
}

Result<IssuedToken> IdentityService::Issue(IssuedToken out,
                                           const std::string& parent_audit) const {
  CHRONOVA_ASSIGN_OR_RETURN(out.payload.audit_id, NewAuditId());
  out.token = validator_->signer()->Sign(out.payload);
  out.audit_ids = {out.payload.audit_id};
  if (!parent_audit.empty()) out.audit_ids.push_back(parent_audit);
  return out;
}

Status IdentityService::Revoke(const TokenPayload& subject,
                               const RequestContext& caller) const {
  TokenRevoked e;
  e.audit_id = subject.audit_id;
  e.user_id = subject.user_id;
  e.expires_at = subject.expires_at;
  AppendRequest req;
  req.stream = StreamId("token/" + subject.audit_id);
  req.expected = ExpectedVersion::NoStream();
  req.key = IdempotencyKey("revoke-" + subject.audit_id);
  req.events.push_back(MakeNewEvent(e, caller.Meta(options_.env->Now())));
  Result<AppendResult> appended = log_->Append(req);
  if (!appended.ok()) {
    if (appended.status().IsConflict()) return Status::Ok();  // revoked before
    return appended.status();
  }
  return runner_->WaitFor(appended->last_seq, options_.wait_timeout_ms);
}

}  // namespace chronova
