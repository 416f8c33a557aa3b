#include "api/auth/token_validator.h"

#include "projections/revocations_projection.h"

namespace chronova {

Result<TokenPayload> TokenValidator::Validate(std::string_view token) const {
  CHRONOVA_ASSIGN_OR_RETURN(TokenPayload p, signer_->Verify(token));
  const Status refused =
      Status::PermissionDenied("The request you have made requires authentication.");
  if (env_->Now() >= p.expires_at) return refused;
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(RevocationsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(auto revoked, RevocationsView(reader.get()).Get(p.audit_id));
  if (revoked.has_value()) return refused;
  return p;
}

}  // namespace chronova
