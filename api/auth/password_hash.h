// Salted password hashes for the identity users file: PBKDF2-HMAC-SHA256 with
// a per-user random salt, stored as "pbkdf2-sha256$<iterations>$<salt>$<hash>"
// (salt and hash base64url). Passwords are never stored or logged in clear.
#pragma once

#include <string>

#include "core/status.h"

namespace chronova {

inline constexpr int kPasswordHashIterations = 100000;

// A fresh salted hash of `password`.
Result<std::string> HashPassword(const std::string& password,
                                 int iterations = kPasswordHashIterations);
// True if `password` matches `stored` (compared in constant time); false for a
// wrong password or a malformed hash.
bool VerifyPassword(const std::string& password, const std::string& stored);

}  // namespace chronova
