// The credentials read model (credential/<id> streams): Identity v3
// credentials by id and by user, as Keystone lists them. The EC2 API finds a
// signed request's credential here by its access key (the id is its hex
// SHA-256); a deleted credential is gone from it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/events.h"
#include "projections/projection.h"

namespace chronova {

struct CredentialRecord {
  std::string credential_id;
  UserId user_id;
  ProjectId project_id;
  std::string type;  // "ec2"
  std::string access;
  std::string sealed_secret;  // api/identity/credential_seal.h opens it
  Timestamp created_at;
  bool operator==(const CredentialRecord&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(credential_id), CEREAL_NVP(user_id), CEREAL_NVP(project_id),
       CEREAL_NVP(type), CEREAL_NVP(access), CEREAL_NVP(sealed_secret),
       CEREAL_NVP(created_at));
  }
};

class CredentialsProjection : public Projection {
 public:
  static constexpr std::string_view kName = "credentials";
  std::string_view Name() const override { return kName; }
  Status Apply(const Envelope& env, const Event& event, ReadModelWriter& w) override;
};

// Queries over the credentials read model. Borrows the reader.
class CredentialsView {
 public:
  explicit CredentialsView(const ReadModelReader* reader) : reader_(reader) {}
  // nullopt if there is no such (live) credential.
  Result<std::optional<CredentialRecord>> Get(const std::string& credential_id) const;
  // `user`'s credentials (every user's if empty), in id order.
  Result<std::vector<CredentialRecord>> List(const UserId& user) const;

 private:
  const ReadModelReader* reader_;
};

// The id Keystone gives an EC2 credential: hex SHA-256 of its access key.
std::string Ec2CredentialId(const std::string& access);

}  // namespace chronova
