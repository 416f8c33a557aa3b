// IdentityService's credentials (Keystone's /v3/credentials and the OS-EC2
// extension): recorded on credential/<id> streams, listed from the
// credentials read model, secrets sealed in the log.
#include <openssl/evp.h>

#include "api/auth/token.h"
#include "api/identity/identity_service.h"
#include "core/event_codec.h"
#include "projections/credentials_projection.h"

namespace chronova {
namespace {

constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

bool MayManage(const RequestContext& caller, const UserId& user) {
  return caller.IsAdmin() || caller.user == user;
}

// Keystone's OS-EC2 access keys and secrets: 32 hexadecimal characters.
Result<std::string> RandomHex() {
  CHRONOVA_ASSIGN_OR_RETURN(std::string bytes, RandomBytes(16));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace

Result<std::string> IdentityService::Seal(const std::string& secret) const {
  const std::string key = validator_->signer()->DeriveKey("chronova credential seal v1");
  CHRONOVA_ASSIGN_OR_RETURN(std::string nonce, RandomBytes(kNonceBytes));
  std::string out = nonce;
  out.resize(kNonceBytes + secret.size() + kTagBytes);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok =
      ctx != nullptr &&
      EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()),
                         reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
      EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(&out[kNonceBytes]), &len,
                        reinterpret_cast<const unsigned char*>(secret.data()),
                        static_cast<int>(secret.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx, nullptr, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          &out[kNonceBytes + secret.size()]) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return Status::Internal("sealing a credential failed");
  return Base64UrlEncode(out);
}

Result<std::string> IdentityService::Unseal(const std::string& sealed) const {
  const Status refused = Status::PermissionDenied("the credential does not open");
  std::string raw;
  if (!Base64UrlDecode(sealed, &raw) || raw.size() < kNonceBytes + kTagBytes) {
    return refused;
  }
  const std::string key = validator_->signer()->DeriveKey("chronova credential seal v1");
  const size_t n = raw.size() - kNonceBytes - kTagBytes;
  std::string out(n, '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  unsigned char scratch[1];
  bool ok =
      ctx != nullptr &&
      EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()),
                         reinterpret_cast<const unsigned char*>(raw.data())) == 1 &&
      EVP_DecryptUpdate(ctx, n ? reinterpret_cast<unsigned char*>(out.data()) : scratch,
                        &len, reinterpret_cast<const unsigned char*>(&raw[kNonceBytes]),
                        static_cast<int>(n)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagBytes, &raw[kNonceBytes + n]) ==
          1 &&
      EVP_DecryptFinal_ex(ctx, scratch, &len) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return refused;
  return out;
}

Result<IdentityService::Ec2Credential> IdentityService::Opened(
    const CredentialRecord& r) const {
  CHRONOVA_ASSIGN_OR_RETURN(std::string secret, Unseal(r.sealed_secret));
  return Ec2Credential{r.credential_id, r.user_id, r.project_id, r.access,
                       std::move(secret)};
}

Result<IdentityService::Ec2Credential> IdentityService::CreateEc2Credential(
    const RequestContext& caller, const UserId& user, const ProjectId& project,
    std::string access, std::string secret) const {
  if (!MayManage(caller, user)) {
    return Status::PermissionDenied(
        "You are not authorized to perform the requested action: "
        "identity:ec2_create_credential.");
  }
  const IdentityUser* u = directory_->FindUser(user);
  if (u == nullptr) return Status::NotFound("Could not find user: " + user.str() + ".");
  if (u->project_id != project) {
    return Status::InvalidArgument("User " + user.str() + " has no role on project " +
                                   project.str() + ".");
  }
  if (access.empty()) {
    CHRONOVA_ASSIGN_OR_RETURN(access, RandomHex());
  }
  if (secret.empty()) {
    CHRONOVA_ASSIGN_OR_RETURN(secret, RandomHex());
  }
  if (access.size() > 128 || secret.size() > 128) {
    return Status::InvalidArgument("access and secret are at most 128 characters");
  }
  CredentialCreated e;
  e.credential_id = Ec2CredentialId(access);
  e.user_id = user;
  e.project_id = project;
  e.type = "ec2";
  e.access = access;
  CHRONOVA_ASSIGN_OR_RETURN(e.sealed_secret, Seal(secret));
  AppendRequest req;
  req.stream = StreamId("credential/" + e.credential_id);
  // A deleted credential's access key is not reused either.
  req.expected = ExpectedVersion::NoStream();
  req.key =
      IdempotencyKey("credential-" + caller.request_id.str() + "-" + e.credential_id);
  req.events.push_back(MakeNewEvent(e, caller.Meta(options_.env->Now())));
  Result<AppendResult> appended = log_->Append(req);
  if (!appended.ok()) {
    if (appended.status().IsConflict()) {
      return Status::Conflict(
          "Conflict occurred attempting to store credential - "
          "Duplicate entry.");
    }
    return appended.status();
  }
  CHRONOVA_RETURN_IF_ERROR(
      runner_->WaitFor(appended->last_seq, options_.wait_timeout_ms));
  return Ec2Credential{e.credential_id, user, project, access, secret};
}

Result<std::vector<IdentityService::Ec2Credential>> IdentityService::ListEc2Credentials(
    const RequestContext& caller, const UserId& user) const {
  if (user.empty() ? !caller.IsAdmin() : !MayManage(caller, user)) {
    return Status::PermissionDenied(
        "You are not authorized to perform the requested action: "
        "identity:ec2_list_credentials.");
  }
  CHRONOVA_ASSIGN_OR_RETURN(auto reader,
                            runner_->store()->Reader(CredentialsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<CredentialRecord> records,
                            CredentialsView(reader.get()).List(user));
  std::vector<Ec2Credential> out;
  for (const CredentialRecord& r : records) {
    CHRONOVA_ASSIGN_OR_RETURN(Ec2Credential c, Opened(r));
    out.push_back(std::move(c));
  }
  return out;
}

Result<IdentityService::Ec2Credential> IdentityService::GetEc2Credential(
    const RequestContext& caller, const std::string& credential_id) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader,
                            runner_->store()->Reader(CredentialsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<CredentialRecord> r,
                            CredentialsView(reader.get()).Get(credential_id));
  // Another user's credential is not found (no enumeration).
  if (!r || !MayManage(caller, r->user_id)) {
    return Status::NotFound("Could not find credential: " + credential_id + ".");
  }
  return Opened(*r);
}

Status IdentityService::DeleteEc2Credential(const RequestContext& caller,
                                            const std::string& credential_id) const {
  CHRONOVA_RETURN_IF_ERROR(GetEc2Credential(caller, credential_id).status());
  AppendRequest req;
  req.stream = StreamId("credential/" + credential_id);
  req.expected = ExpectedVersion::Exactly(StreamVersion(1));
  req.key = IdempotencyKey("credential-delete-" + caller.request_id.str() + "-" +
                           credential_id);
  req.events.push_back(
      MakeNewEvent(CredentialDeleted{}, caller.Meta(options_.env->Now())));
  Result<AppendResult> appended = log_->Append(req);
  if (!appended.ok()) {
    if (appended.status().IsConflict()) {  // deleted meanwhile
      return Status::NotFound("Could not find credential: " + credential_id + ".");
    }
    return appended.status();
  }
  return runner_->WaitFor(appended->last_seq, options_.wait_timeout_ms);
}

Result<IdentityService::Ec2Principal> IdentityService::FindEc2Access(
    const std::string& access) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader,
                            runner_->store()->Reader(CredentialsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<CredentialRecord> r,
                            CredentialsView(reader.get()).Get(Ec2CredentialId(access)));
  if (!r || r->access != access) return Status::NotFound("no such access key");
  CHRONOVA_ASSIGN_OR_RETURN(Ec2Credential c, Opened(*r));
  Ec2Principal p;
  p.context.user = c.user_id;
  p.context.project = c.project_id;
  if (const IdentityUser* u = directory_->FindUser(c.user_id)) {
    p.context.roles = EffectiveRoles(u->roles);
  }
  p.credential = std::move(c);
  return p;
}

}  // namespace chronova
