// The events of token/<audit_id> streams (docs/events.md). Adding one: a struct
// here with a frozen kType and kSchema, and its name in TokenEvents below;
// core/events.h gathers every list into Event.
#pragma once

#include <cereal/cereal.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/events/event_list.h"
#include "core/types.h"

namespace chronova {

// An Identity v3 token was revoked (DELETE /v3/auth/tokens). Tokens are signed,
// not stored: this fact, folded into the revocations read model, is what makes
// every API process refuse the token (and every token sharing its audit id)
// until it would have expired anyway. Never carries the token itself.
struct TokenRevoked {
  static constexpr const char* kType = "token.revoked";
  static constexpr uint32_t kSchema = 1;
  std::string audit_id;  // the token's audit id (22 base64url characters)
  UserId user_id;        // whose token it was
  Timestamp expires_at;  // the token's own expiry: the revocation matters until then
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(audit_id), CEREAL_NVP(user_id), CEREAL_NVP(expires_at));
  }
};

// Every event of token/<audit_id> streams.
using TokenEvents = EventList<TokenRevoked>;

}  // namespace chronova
