#include "api/auth/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <charconv>

#include "api/auth/token.h"

namespace chronova {
namespace {

constexpr char kScheme[] = "pbkdf2-sha256";

std::string Derive(const std::string& password, const std::string& salt, int iterations) {
  std::string out(32, '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, EVP_sha256(),
                    static_cast<int>(out.size()),
                    reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace

Result<std::string> HashPassword(const std::string& password, int iterations) {
  CHRONOVA_ASSIGN_OR_RETURN(std::string salt, RandomBytes(16));
  return std::string(kScheme) + "$" + std::to_string(iterations) + "$" +
         Base64UrlEncode(salt) + "$" +
         Base64UrlEncode(Derive(password, salt, iterations));
}

bool VerifyPassword(const std::string& password, const std::string& stored) {
  size_t a = stored.find('$');
  size_t b = a == std::string::npos ? a : stored.find('$', a + 1);
  size_t c = b == std::string::npos ? b : stored.find('$', b + 1);
  if (c == std::string::npos || stored.substr(0, a) != kScheme) return false;
  int iterations = 0;
  auto [ptr, ec] = std::from_chars(stored.data() + a + 1, stored.data() + b, iterations);
  if (ec != std::errc() || ptr != stored.data() + b || iterations < 1 ||
      iterations > 10000000) {
    return false;
  }
  std::string salt, hash;
  if (!Base64UrlDecode(std::string_view(stored).substr(b + 1, c - b - 1), &salt) ||
      !Base64UrlDecode(std::string_view(stored).substr(c + 1), &hash) ||
      hash.size() != 32) {
    return false;
  }
  std::string derived = Derive(password, salt, iterations);
  return CRYPTO_memcmp(derived.data(), hash.data(), hash.size()) == 0;
}

}  // namespace chronova
