// libFuzzer target: the token parser. Half the inputs are tokens as a client
// sends them (base64url, a dot, a MAC); the other half are payloads signed
// with the key, so the fields' parser behind the MAC check is reached too.
// A token that verifies must sign back to itself.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "api/auth/token.h"

namespace {

const std::string kKey(32, 'k');

std::string Mac(std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kKey.data(), static_cast<int>(kKey.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chronova;
  if (size < 1) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const TokenSigner signer(kKey);
  std::string token = (data[0] & 1)
                          ? std::string(rest)
                          : Base64UrlEncode(rest) + "." + Base64UrlEncode(Mac(rest));
  Result<TokenPayload> p = signer.Verify(token);
  if (p.ok()) {
    Result<TokenPayload> again = signer.Verify(signer.Sign(*p));
    if (!again.ok() || !(*again == *p)) __builtin_trap();
  }
  std::string decoded;
  (void)Base64UrlDecode(rest, &decoded);
  return 0;
}
