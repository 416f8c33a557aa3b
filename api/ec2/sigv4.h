// AWS Signature Version 4, the verifying side: how the EC2 API checks that a
// request was signed with the secret of the access key it names. Pure
// functions of the request as received (no HTTP library), so AWS's published
// test vectors run against them directly.
//
// A request is accepted only if its own signed headers (always including
// host), the SHA-256 of its body as received, its path and query, and its
// x-amz-date within `max_skew` of our clock give the signature it carries
// (compared in constant time). The secret is looked up by the caller from the
// access key ParseSigV4 returns.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/types.h"

namespace chronova {

// The parts of an HTTP request a signature covers, as they arrived.
struct SignedRequest {
  std::string method;  // "POST"
  std::string path;    // the raw path, percent-encoding as sent ("/")
  std::string query;   // the raw query string after '?', "" if none
  // Every header as received (names in any case; a repeated one repeated).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// What the Authorization header (or a presigned URL's X-Amz-* parameters)
// says: AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/aws4_request,
// SignedHeaders=a;b, Signature=hex.
struct SigV4Auth {
  std::string access_key;
  std::string date;                         // YYYYMMDD (the credential scope's)
  std::string region;                       // "us-east-1"
  std::string service;                      // "ec2"
  std::vector<std::string> signed_headers;  // lowercase, as listed
  std::string signature;                    // 64 lowercase hex digits
  std::string amz_date;                     // YYYYMMDDTHHMMSSZ
  bool presigned = false;                   // from the query string
};

// Why a request is refused, with AWS's error code (EC2's error shape).
struct SigV4Failure {
  int http_status = 400;
  std::string code;  // MissingAuthenticationToken, IncompleteSignature, ...
  std::string message;
};

// The request's SigV4 authorization, or why it has none that can be checked:
// MissingAuthenticationToken (401) without one, IncompleteSignature (400)
// for a malformed one (or another algorithm: the caller tries SigV2 first).
struct ParsedSigV4 {
  std::optional<SigV4Auth> auth;
  std::optional<SigV4Failure> failure;
};
ParsedSigV4 ParseSigV4(const SignedRequest& request);

// The canonical request (AWS's step 1) for `auth`'s signed headers.
std::string CanonicalRequest(const SignedRequest& request, const SigV4Auth& auth);
// The string to sign (step 2).
std::string StringToSign(const SigV4Auth& auth, const std::string& canonical_request);
// The signature (steps 3 and 4): hex HMAC-SHA256 under the key derived from
// `secret` and the credential scope.
std::string SigV4Signature(const std::string& secret, const SigV4Auth& auth,
                           const std::string& string_to_sign);

// nullopt if `request` carries `auth`'s signature under `secret` and was
// signed within `max_skew_us` of `now`; else RequestExpired (400) or
// SignatureDoesNotMatch (403), as EC2 answers.
std::optional<SigV4Failure> VerifySigV4(const SignedRequest& request,
                                        const SigV4Auth& auth, const std::string& secret,
                                        Timestamp now,
                                        int64_t max_skew_us = int64_t{900} * 1000000);

// AWS Signature Version 2 (old EC2 tools): the request's parameters carry
// AWSAccessKeyId, SignatureVersion=2, SignatureMethod (HmacSHA256 or
// HmacSHA1), Timestamp (or Expires) and Signature, the base64 HMAC of
// "METHOD\nhost\npath\n" + the other parameters sorted and percent-encoded.
// `params` are the decoded query and form parameters together.
struct SigV2Auth {
  std::string access_key;
  std::string method;     // "HmacSHA256" or "HmacSHA1"
  std::string signature;  // base64
  Timestamp signed_at;    // Timestamp, or Expires less max_skew
  bool expires = false;   // given as Expires (valid until then)
};
// nullopt in *auth's place (and no failure) when the request is not SigV2.
struct ParsedSigV2 {
  std::optional<SigV2Auth> auth;
  std::optional<SigV4Failure> failure;
};
ParsedSigV2 ParseSigV2(const std::map<std::string, std::string>& params);
// The SigV2 signature of a request (base64).
std::string SigV2Signature(const std::string& secret, const std::string& algorithm,
                           const std::string& method, const std::string& host,
                           const std::string& path,
                           const std::map<std::string, std::string>& params);
// As VerifySigV4, for a SigV2 request (`host` as the Host header gave it).
std::optional<SigV4Failure> VerifySigV2(const std::string& method,
                                        const std::string& host, const std::string& path,
                                        const std::map<std::string, std::string>& params,
                                        const SigV2Auth& auth, const std::string& secret,
                                        Timestamp now,
                                        int64_t max_skew_us = int64_t{900} * 1000000);

// Hex SHA-256 / HMAC-SHA256 helpers (lowercase hex).
std::string Sha256Hex(const std::string& data);
std::string HmacSha256(const std::string& key, const std::string& data);  // raw bytes
// RFC 3986 percent-encoding of everything but unreserved characters (and '/'
// when `keep_slash`), uppercase hex, as SigV4 canonicalizes.
std::string UriEncode(const std::string& s, bool keep_slash);
// Percent-decoding ('+' stays '+'); false for a malformed escape.
bool UriDecode(const std::string& s, std::string* out);

}  // namespace chronova
