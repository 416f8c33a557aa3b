// The token revocations read model (token/<audit_id> streams): which Identity v3
// tokens were revoked before their expiry. Every API process that validates
// tokens consults it, so a DELETE /v3/auth/tokens on one node is honoured by all
// of them once their read models include the token.revoked event.
#pragma once

#include <optional>
#include <string>

#include "core/events.h"
#include "projections/projection.h"

namespace chronova {

struct RevocationRecord {
  std::string audit_id;
  UserId user_id;
  Timestamp expires_at;  // the revoked token's expiry
  Timestamp revoked_at;  // the event's time
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(audit_id), CEREAL_NVP(user_id), CEREAL_NVP(expires_at),
       CEREAL_NVP(revoked_at));
  }
};

class RevocationsProjection : public Projection {
 public:
  static constexpr std::string_view kName = "revocations";
  std::string_view Name() const override { return kName; }
  Status Apply(const Envelope& env, const Event& event, ReadModelWriter& w) override;
};

// Queries over the revocations read model. Borrows the reader.
class RevocationsView {
 public:
  explicit RevocationsView(const ReadModelReader* reader) : reader_(reader) {}
  // nullopt if no token with this audit id was revoked.
  Result<std::optional<RevocationRecord>> Get(const std::string& audit_id) const;

 private:
  const ReadModelReader* reader_;
};

}  // namespace chronova
