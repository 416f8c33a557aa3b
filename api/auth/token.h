// Identity v3 tokens as chronova issues them: a compact payload (who, which
// project, which roles, how authenticated, when, audit id) signed with
// HMAC-SHA256, base64url-encoded. Any process holding the key validates a token
// without a lookup; revocation is the one thing that needs state (the
// revocations read model, projections/revocations_projection.h).
//
// Wire form: base64url(payload) "." base64url(hmac(key, payload)), where the
// payload is "1|user|project|role,role|method,method|issued_us|expires_us|audit".
//
// Thread-safety: a TokenSigner is immutable after construction; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace chronova {

struct TokenPayload {
  UserId user_id;
  ProjectId project_id;              // empty: an unscoped token
  std::vector<std::string> roles;    // names, implied roles included
  std::vector<std::string> methods;  // "password", "token"
  Timestamp issued_at;
  Timestamp expires_at;
  std::string audit_id;  // 22 base64url characters (16 random bytes)
  bool operator==(const TokenPayload&) const = default;
};

class TokenSigner {
 public:
  // REQUIRES: key.size() >= 32.
  explicit TokenSigner(std::string key) : key_(std::move(key)) {}

  std::string Sign(const TokenPayload& payload) const;
  // The payload of a token this key signed. PermissionDenied for anything
  // else (malformed, forged, signed with another key). Expiry is not checked.
  Result<TokenPayload> Verify(std::string_view token) const;
  // 32 bytes for another use of this key, named by `purpose` (HMAC-SHA256 of
  // it under the key): processes sharing the token key share these too.
  std::string DeriveKey(std::string_view purpose) const;

 private:
  const std::string key_;
};

// RFC 4648 §5 without padding.
std::string Base64UrlEncode(std::string_view bytes);
// false for characters outside the alphabet or an impossible length.
bool Base64UrlDecode(std::string_view text, std::string* out);
// `n` bytes from OpenSSL's RAND_bytes.
Result<std::string> RandomBytes(size_t n);
// A fresh audit id: 16 random bytes, base64url (Keystone's form).
Result<std::string> NewAuditId();

// Loads the token key from `path`, or creates it (32 random bytes, mode 0600,
// parent directories included) if the file does not exist.
Result<std::string> LoadOrCreateTokenKey(const std::string& path);

}  // namespace chronova
