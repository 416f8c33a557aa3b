#include "projections/credentials_projection.h"

#include <openssl/sha.h>

#include "projections/records.h"

namespace chronova {
namespace {

std::string IdKey(std::string_view id) { return "id/" + std::string(id); }
std::string UserPrefix(const UserId& u) { return "user/" + u.str() + "/"; }

}  // namespace

std::string Ec2CredentialId(const std::string& access) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(access.data()), access.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

Status CredentialsProjection::Apply(const Envelope& env, const Event& event,
                                    ReadModelWriter& w) {
  if (StreamKind(env.stream) != "credential") return Status::Ok();
  const std::string id(StreamKey(env.stream));
  if (const auto* c = std::get_if<CredentialCreated>(&event)) {
    CredentialRecord r{c->credential_id, c->user_id,       c->project_id, c->type,
                       c->access,        c->sealed_secret, env.meta.time};
    PutRecord(w, IdKey(id), r);
    PutRecord(w, UserPrefix(c->user_id) + id, r);
  } else if (std::holds_alternative<CredentialDeleted>(event)) {
    CHRONOVA_ASSIGN_OR_RETURN(std::optional<CredentialRecord> r,
                              GetRecord<CredentialRecord>(w, IdKey(id)));
    if (!r) return Status::Ok();
    w.Delete(IdKey(id));
    w.Delete(UserPrefix(r->user_id) + id);
  }
  return Status::Ok();
}

Result<std::optional<CredentialRecord>> CredentialsView::Get(
    const std::string& credential_id) const {
  return GetRecord<CredentialRecord>(*reader_, IdKey(credential_id));
}

Result<std::vector<CredentialRecord>> CredentialsView::List(const UserId& user) const {
  if (!user.empty()) return ScanRecords<CredentialRecord>(*reader_, UserPrefix(user));
  return ScanRecords<CredentialRecord>(*reader_, "id/");
}

}  // namespace chronova
