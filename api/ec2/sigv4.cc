#include "api/ec2/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "core/utf8.h"

namespace chronova {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Splits `s` on `sep` (every piece kept, empty ones too).
std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    out.push_back(
        s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

bool IsHex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool AllDigits(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// YYYYMMDDTHHMMSSZ as a time; false if malformed.
bool ParseAmzDate(const std::string& s, Timestamp* out) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z' || !AllDigits(s.substr(0, 8)) ||
      !AllDigits(s.substr(9, 6))) {
    return false;
  }
  std::tm tm{};
  tm.tm_year = std::stoi(s.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(s.substr(4, 2)) - 1;
  tm.tm_mday = std::stoi(s.substr(6, 2));
  tm.tm_hour = std::stoi(s.substr(9, 2));
  tm.tm_min = std::stoi(s.substr(11, 2));
  tm.tm_sec = std::stoi(s.substr(13, 2));
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return false;
  }
  *out = Timestamp{static_cast<int64_t>(timegm(&tm)) * 1000000};
  return true;
}

// The query's parameters, decoded; false if one is malformed.
bool QueryParams(const std::string& query,
                 std::vector<std::pair<std::string, std::string>>* out) {
  if (query.empty()) return true;
  for (const std::string& pair : Split(query, '&')) {
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string k, v;
    if (!UriDecode(pair.substr(0, eq), &k)) return false;
    if (eq != std::string::npos && !UriDecode(pair.substr(eq + 1), &v)) return false;
    out->emplace_back(std::move(k), std::move(v));
  }
  return true;
}

const std::string* Header(const SignedRequest& r, const std::string& lower_name) {
  for (const auto& [name, value] : r.headers) {
    if (Lower(name) == lower_name) return &value;
  }
  return nullptr;
}

SigV4Failure Incomplete(const std::string& message) {
  return SigV4Failure{400, "IncompleteSignature", message};
}

// Credential=AK/DATE/REGION/SERVICE/aws4_request into `auth`.
std::optional<SigV4Failure> ParseCredential(const std::string& credential,
                                            SigV4Auth* auth) {
  std::vector<std::string> parts = Split(credential, '/');
  if (parts.size() != 5 || parts[0].empty() || parts[4] != "aws4_request" ||
      parts[1].size() != 8 || !AllDigits(parts[1]) || parts[2].empty() ||
      parts[3].empty()) {
    return Incomplete(
        "Credential must have the form "
        "<access key>/<date>/<region>/<service>/aws4_request");
  }
  auth->access_key = parts[0];
  auth->date = parts[1];
  auth->region = parts[2];
  auth->service = parts[3];
  return std::nullopt;
}

std::optional<SigV4Failure> CheckParsed(const SigV4Auth& auth) {
  if (auth.signed_headers.empty() ||
      std::find(auth.signed_headers.begin(), auth.signed_headers.end(), "host") ==
          auth.signed_headers.end()) {
    return Incomplete("SignedHeaders must include host");
  }
  if (!IsHex64(auth.signature)) {
    return Incomplete("Signature must be 64 lowercase hexadecimal digits");
  }
  if (auth.amz_date.empty()) {
    return Incomplete("Authorization header requires existence of a 'X-Amz-Date' header");
  }
  return std::nullopt;
}

}  // namespace

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return LowerHex(std::string(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

std::string HmacSha256(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string UriEncode(const std::string& s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool UriDecode(const std::string& s, std::string* out) {
  out->clear();
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out->push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return false;
    int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

ParsedSigV4 ParseSigV4(const SignedRequest& request) {
  ParsedSigV4 parsed;
  SigV4Auth auth;
  const std::string* authorization = Header(request, "authorization");
  std::vector<std::pair<std::string, std::string>> query;
  if (!QueryParams(request.query, &query)) {
    parsed.failure = Incomplete("The query string is malformed");
    return parsed;
  }
  auto query_param = [&](const char* name) -> const std::string* {
    for (const auto& [k, v] : query) {
      if (k == name) return &v;
    }
    return nullptr;
  };
  if (authorization != nullptr) {
    const std::string kAlgorithm = "AWS4-HMAC-SHA256 ";
    if (!authorization->starts_with(kAlgorithm)) {
      parsed.failure = Incomplete("Unsupported Authorization algorithm");
      return parsed;
    }
    bool credential = false, signed_headers = false, signature = false;
    for (const std::string& raw : Split(authorization->substr(kAlgorithm.size()), ',')) {
      std::string part = Trim(raw);
      size_t eq = part.find('=');
      if (eq == std::string::npos) continue;
      std::string key = part.substr(0, eq), value = part.substr(eq + 1);
      if (key == "Credential") {
        if (auto f = ParseCredential(value, &auth)) {
          parsed.failure = f;
          return parsed;
        }
        credential = true;
      } else if (key == "SignedHeaders") {
        auth.signed_headers = Split(value, ';');
        signed_headers = true;
      } else if (key == "Signature") {
        auth.signature = value;
        signature = true;
      }
    }
    if (!credential || !signed_headers || !signature) {
      parsed.failure = Incomplete(
          "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
          "parameters");
      return parsed;
    }
    if (const std::string* d = Header(request, "x-amz-date")) auth.amz_date = Trim(*d);
  } else if (const std::string* algorithm = query_param("X-Amz-Algorithm")) {
    if (*algorithm != "AWS4-HMAC-SHA256") {
      parsed.failure = Incomplete("Unsupported X-Amz-Algorithm");
      return parsed;
    }
    const std::string* credential = query_param("X-Amz-Credential");
    const std::string* headers = query_param("X-Amz-SignedHeaders");
    const std::string* signature = query_param("X-Amz-Signature");
    const std::string* date = query_param("X-Amz-Date");
    if (!credential || !headers || !signature || !date) {
      parsed.failure = Incomplete(
          "A presigned request requires X-Amz-Credential, X-Amz-SignedHeaders, "
          "X-Amz-Signature and X-Amz-Date");
      return parsed;
    }
    if (auto f = ParseCredential(*credential, &auth)) {
      parsed.failure = f;
      return parsed;
    }
    auth.signed_headers = Split(*headers, ';');
    auth.signature = *signature;
    auth.amz_date = *date;
    auth.presigned = true;
  } else {
    parsed.failure = SigV4Failure{401, "MissingAuthenticationToken",
                                  "Request is missing Authentication Token"};
    return parsed;
  }
  if (auto f = CheckParsed(auth)) {
    parsed.failure = f;
    return parsed;
  }
  parsed.auth = std::move(auth);
  return parsed;
}

std::string CanonicalRequest(const SignedRequest& request, const SigV4Auth& auth) {
  std::string out = request.method + "\n";
  // Services other than S3 encode the path once more than it was sent.
  out += UriEncode(request.path.empty() ? "/" : request.path, /*keep_slash=*/true) + "\n";
  std::vector<std::pair<std::string, std::string>> query;
  QueryParams(request.query, &query);
  std::vector<std::pair<std::string, std::string>> encoded;
  for (const auto& [k, v] : query) {
    if (auth.presigned && k == "X-Amz-Signature") continue;
    encoded.emplace_back(UriEncode(k, false), UriEncode(v, false));
  }
  std::sort(encoded.begin(), encoded.end());
  for (size_t i = 0; i < encoded.size(); ++i) {
    out += (i ? "&" : "") + encoded[i].first + "=" + encoded[i].second;
  }
  out += "\n";
  for (const std::string& name : auth.signed_headers) {
    std::string joined;
    bool any = false;
    for (const auto& [header, value] : request.headers) {
      if (Lower(header) != name) continue;
      // Trimmed, and runs of spaces inside collapsed to one.
      std::string v;
      for (char c : Trim(value)) {
        if (c == ' ' && !v.empty() && v.back() == ' ') continue;
        v.push_back(c);
      }
      joined += (any ? "," : "") + v;
      any = true;
    }
    out += name + ":" + joined + "\n";
  }
  out += "\n";
  for (size_t i = 0; i < auth.signed_headers.size(); ++i) {
    out += (i ? ";" : "") + auth.signed_headers[i];
  }
  out += "\n";
  const std::string* content_sha = Header(request, "x-amz-content-sha256");
  out += content_sha != nullptr ? Trim(*content_sha) : Sha256Hex(request.body);
  return out;
}

std::string StringToSign(const SigV4Auth& auth, const std::string& canonical_request) {
  return "AWS4-HMAC-SHA256\n" + auth.amz_date + "\n" + auth.date + "/" + auth.region +
         "/" + auth.service + "/aws4_request\n" + Sha256Hex(canonical_request);
}

std::string SigV4Signature(const std::string& secret, const SigV4Auth& auth,
                           const std::string& string_to_sign) {
  std::string key = HmacSha256("AWS4" + secret, auth.date);
  key = HmacSha256(key, auth.region);
  key = HmacSha256(key, auth.service);
  key = HmacSha256(key, "aws4_request");
  return LowerHex(HmacSha256(key, string_to_sign));
}

std::optional<SigV4Failure> VerifySigV4(const SignedRequest& request,
                                        const SigV4Auth& auth, const std::string& secret,
                                        Timestamp now, int64_t max_skew_us) {
  Timestamp signed_at;
  if (!ParseAmzDate(auth.amz_date, &signed_at)) {
    return Incomplete("X-Amz-Date must have the form YYYYMMDDTHHMMSSZ");
  }
  if (std::llabs(now.micros - signed_at.micros) > max_skew_us) {
    return SigV4Failure{400, "RequestExpired",
                        "Request has expired. Timestamp date is " + auth.amz_date};
  }
  const std::string expected =
      SigV4Signature(secret, auth, StringToSign(auth, CanonicalRequest(request, auth)));
  const bool same =
      expected.size() == auth.signature.size() &&
      CRYPTO_memcmp(expected.data(), auth.signature.data(), expected.size()) == 0;
  // The credential's date must be the signing date's.
  if (!same || !auth.amz_date.starts_with(auth.date)) {
    return SigV4Failure{403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the "
                        "signature you provided. Check your AWS Secret Access Key and "
                        "signing method. Consult the service documentation for details."};
  }
  return std::nullopt;
}

}  // namespace chronova
