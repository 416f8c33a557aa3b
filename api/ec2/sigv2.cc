// AWS Signature Version 2, the verifying side (api/ec2/sigv4.h).
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>

#include "api/ec2/sigv4.h"
#include "api/service/keypair_crypto.h"
#include "core/types.h"

namespace chronova {

ParsedSigV2 ParseSigV2(const std::map<std::string, std::string>& params) {
  ParsedSigV2 parsed;
  auto get = [&](const char* k) -> const std::string* {
    auto it = params.find(k);
    return it == params.end() ? nullptr : &it->second;
  };
  const std::string* version = get("SignatureVersion");
  if (version == nullptr) return parsed;  // not SigV2
  auto incomplete = [&](const std::string& m) {
    parsed.failure = SigV4Failure{400, "IncompleteSignature", m};
    return parsed;
  };
  if (*version != "2") return incomplete("Only SignatureVersion 2 (or 4) is accepted");
  const std::string* access = get("AWSAccessKeyId");
  const std::string* method = get("SignatureMethod");
  const std::string* signature = get("Signature");
  if (!access || !method || !signature || access->empty()) {
    return incomplete("SigV2 requires AWSAccessKeyId, SignatureMethod and Signature");
  }
  if (*method != "HmacSHA256" && *method != "HmacSHA1") {
    return incomplete("SignatureMethod must be HmacSHA256 or HmacSHA1");
  }
  SigV2Auth auth{*access, *method, *signature, Timestamp{}, false};
  const std::string* timestamp = get("Timestamp");
  const std::string* expires = get("Expires");
  if ((timestamp == nullptr) == (expires == nullptr)) {
    return incomplete("SigV2 requires exactly one of Timestamp and Expires");
  }
  if (!ParseIso8601(timestamp ? *timestamp : *expires, &auth.signed_at)) {
    return incomplete("Timestamp and Expires are ISO 8601 times");
  }
  auth.expires = expires != nullptr;
  parsed.auth = std::move(auth);
  return parsed;
}

std::string SigV2Signature(const std::string& secret, const std::string& algorithm,
                           const std::string& method, const std::string& host,
                           const std::string& path,
                           const std::map<std::string, std::string>& params) {
  std::string to_sign = method + "\n";
  for (char c : host) to_sign.push_back(static_cast<char>(std::tolower(c)));
  to_sign += "\n" + (path.empty() ? std::string("/") : path) + "\n";
  bool first = true;
  for (const auto& [k, v] : params) {  // std::map: sorted by byte order
    if (k == "Signature") continue;
    to_sign += (first ? "" : "&") + UriEncode(k, false) + "=" + UriEncode(v, false);
    first = false;
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(algorithm == "HmacSHA1" ? EVP_sha1() : EVP_sha256(), secret.data(),
       static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(to_sign.data()), to_sign.size(), out, &len);
  return Base64Encode(std::string(reinterpret_cast<const char*>(out), len));
}

std::optional<SigV4Failure> VerifySigV2(const std::string& method,
                                        const std::string& host, const std::string& path,
                                        const std::map<std::string, std::string>& params,
                                        const SigV2Auth& auth, const std::string& secret,
                                        Timestamp now, int64_t max_skew_us) {
  const bool expired = auth.expires
                           ? now.micros > auth.signed_at.micros
                           : std::llabs(now.micros - auth.signed_at.micros) > max_skew_us;
  if (expired) return SigV4Failure{400, "RequestExpired", "Request has expired."};
  const std::string expected =
      SigV2Signature(secret, auth.method, method, host, path, params);
  if (expected.size() != auth.signature.size() ||
      CRYPTO_memcmp(expected.data(), auth.signature.data(), expected.size()) != 0) {
    return SigV4Failure{403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the "
                        "signature you provided."};
  }
  return std::nullopt;
}

}  // namespace chronova
