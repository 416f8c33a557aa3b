// TokenValidator: is this Identity v3 token good right now? Checks the
// signature (TokenSigner), the expiry (against the Env clock) and the
// revocations read model — nothing else, so every chronova API process can
// validate tokens from its local state alone.
//
// Thread-safety: Validate may be called concurrently.
#pragma once

#include <string_view>

#include "api/auth/token.h"
#include "core/env.h"
#include "projections/projection_store.h"

namespace chronova {

class TokenValidator {
 public:
  // Borrows all three; they must outlive the validator.
  TokenValidator(const TokenSigner* signer, const ProjectionStore* store, Env* env)
      : signer_(signer), store_(store), env_(env) {}

  // The token's payload. PermissionDenied if it is malformed, forged, expired
  // or revoked; Unavailable/Corruption if the read model cannot be read.
  Result<TokenPayload> Validate(std::string_view token) const;

  const TokenSigner* signer() const { return signer_; }
  Env* env() const { return env_; }

 private:
  const TokenSigner* const signer_;
  const ProjectionStore* const store_;
  Env* const env_;
};

}  // namespace chronova
