// The EC2 API's pieces without sockets: the SigV4 verifier against AWS's
// published test vectors (and botocore's signatures of EC2 requests), EC2 ids,
// and the Identity service's EC2 credentials (sealed in the log, listed by
// user, refused to others). tests/e2e/ec2_test.sh drives `aws ec2` and boto3
// against a whole all-in-one.
#include <catch2/catch.hpp>

#include "api/auth/password_hash.h"
#include "api/auth/token.h"
#include "api/auth/token_validator.h"
#include "api/ec2/ec2_api.h"
#include "api/ec2/sigv4.h"
#include "api/identity/identity_directory.h"
#include "api/identity/identity_service.h"
#include "eventstore/rocksdb_event_log.h"
#include "projections/credentials_projection.h"
#include "projections/projection_runner.h"
#include "projections/revocations_projection.h"
#include "tests/support/test_util.h"

namespace chronova::testing {
namespace {

constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kAmzDate[] = "20150830T123600Z";
// 2015-08-30T12:36:00Z
const Timestamp kSignedAt{int64_t{1440938160} * 1000000};

SignedRequest Get(const std::string& path, const std::string& query) {
  return SignedRequest{"GET",
                       path,
                       query,
                       {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kAmzDate}},
                       ""};
}

// The Authorization header AWS's test suite signs `r` with, for `signature`.
void Authorize(SignedRequest& r, const std::string& service, const std::string& signature,
               const std::string& signed_headers = "host;x-amz-date") {
  r.headers.emplace_back("Authorization",
                         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/" +
                             service + "/aws4_request, SignedHeaders=" + signed_headers +
                             ", Signature=" + signature);
}

SigV4Auth Parsed(const SignedRequest& r) {
  ParsedSigV4 p = ParseSigV4(r);
  INFO((p.failure ? p.failure->code + ": " + p.failure->message : ""));
  REQUIRE(p.auth);
  return *p.auth;
}

}  // namespace

TEST_CASE("SigV4: AWS's published vectors verify, and their canonical requests match") {
  struct Vector {
    std::string path, query, signature;
  };
  // aws-sig-v4-test-suite: get-vanilla, get-vanilla-query-order-key-case,
  // get-vanilla-query-order-value.
  for (const Vector& v :
       {Vector{"/", "",
               "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
        Vector{"/", "Param2=value2&Param1=value1",
               "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
        Vector{"/", "Param1=value2&Param1=Value1",
               "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"}}) {
    SignedRequest r = Get(v.path, v.query);
    Authorize(r, "service", v.signature);
    SigV4Auth auth = Parsed(r);
    CHECK(auth.access_key == "AKIDEXAMPLE");
    CHECK(auth.region == "us-east-1");
    CHECK(auth.service == "service");
    CHECK(SigV4Signature(kSecret, auth, StringToSign(auth, CanonicalRequest(r, auth))) ==
          v.signature);
    CHECK_FALSE(VerifySigV4(r, auth, kSecret, kSignedAt).has_value());
  }
  SignedRequest r = Get("/", "Param2=value2&Param1=value1");
  Authorize(r, "service", std::string(64, '0'));
  CHECK(CanonicalRequest(r, Parsed(r)) ==
        "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
        "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE(
    "SigV4: an EC2 POST as botocore signs it verifies; the path is encoded once more") {
  // botocore 1.29 (awscli 2.9), POST / with a form body, signed at kAmzDate.
  SignedRequest r{"POST",
                  "/",
                  "",
                  {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                   {"X-Amz-Date", kAmzDate},
                   {"Host", "127.0.0.1:8788"}},
                  "Action=DescribeRegions&Version=2016-11-15"};
  Authorize(r, "ec2", "e8c6a9227d4ca47d292a213c46c9422a28cb19a7c4a2e8f1b940c21c71ada7d5",
            "content-type;host;x-amz-date");
  SigV4Auth auth = Parsed(r);
  CHECK_FALSE(VerifySigV4(r, auth, kSecret, kSignedAt).has_value());
  // Another body, secret or host: not ours.
  SignedRequest other = r;
  other.body = "Action=DescribeRegions&Version=2016-11-16";
  auto refused = VerifySigV4(other, auth, kSecret, kSignedAt);
  REQUIRE(refused);
  CHECK(refused->code == "SignatureDoesNotMatch");
  CHECK(refused->http_status == 403);
  CHECK(VerifySigV4(r, auth, "another secret", kSignedAt));
  other = r;
  other.headers[2].second = "127.0.0.1:8789";
  CHECK(VerifySigV4(other, auth, kSecret, kSignedAt));
  // botocore's canonical path for "/example%20space/" is "/example%2520space/".
  SignedRequest spaced = Get("/example%20space/", "");
  Authorize(spaced, "service",
            "446b817944c553435b35e813c261ff4e161fff982d1bacdef1c87f6785dd1662");
  CHECK_FALSE(VerifySigV4(spaced, Parsed(spaced), kSecret, kSignedAt).has_value());
}

TEST_CASE(
    "SigV4: outside 15 minutes a request has expired; malformed ones are incomplete") {
  SignedRequest r = Get("/", "");
  Authorize(r, "service",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  SigV4Auth auth = Parsed(r);
  const int64_t minute = int64_t{60} * 1000000;
  CHECK_FALSE(VerifySigV4(r, auth, kSecret, Timestamp{kSignedAt.micros + 14 * minute}));
  auto late = VerifySigV4(r, auth, kSecret, Timestamp{kSignedAt.micros + 16 * minute});
  REQUIRE(late);
  CHECK(late->code == "RequestExpired");
  CHECK(late->http_status == 400);
  CHECK(VerifySigV4(r, auth, kSecret, Timestamp{kSignedAt.micros - 16 * minute}));

  // No signature at all, another algorithm, a short signature, no host.
  ParsedSigV4 none = ParseSigV4(Get("/", ""));
  REQUIRE(none.failure);
  CHECK(none.failure->code == "MissingAuthenticationToken");
  CHECK(none.failure->http_status == 401);
  for (const std::string& header :
       {std::string("AWS AKIDEXAMPLE:c2lnbmF0dXJl"),
        std::string("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                    "aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"),
        std::string("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                    "aws4_request, SignedHeaders=x-amz-date, Signature=" +
                    std::string(64, 'a')),
        std::string("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2015/us-east-1/service/"
                    "aws4_request, SignedHeaders=host, Signature=" +
                    std::string(64, 'a')),
        std::string("AWS4-HMAC-SHA256 SignedHeaders=host")}) {
    SignedRequest bad = Get("/", "");
    bad.headers.emplace_back("Authorization", header);
    ParsedSigV4 p = ParseSigV4(bad);
    INFO(header);
    REQUIRE(p.failure);
    CHECK(p.failure->code == "IncompleteSignature");
  }
}

TEST_CASE("SigV4: a presigned URL's X-Amz-* parameters verify without its signature") {
  SignedRequest r = Get("/", "");
  r.headers.pop_back();  // the date travels in the query
  r.query =
      "Action=DescribeRegions&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
      "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fec2%2Faws4_request&X-Amz-Date=" +
      std::string(kAmzDate) + "&X-Amz-SignedHeaders=host";
  ParsedSigV4 unsigned_yet = ParseSigV4(r);
  REQUIRE(unsigned_yet.failure);  // no X-Amz-Signature
  SigV4Auth auth;
  auth.access_key = "AKIDEXAMPLE";
  auth.date = "20150830";
  auth.region = "us-east-1";
  auth.service = "ec2";
  auth.signed_headers = {"host"};
  auth.amz_date = kAmzDate;
  auth.presigned = true;
  const std::string signature =
      SigV4Signature(kSecret, auth, StringToSign(auth, CanonicalRequest(r, auth)));
  r.query += "&X-Amz-Signature=" + signature;
  SigV4Auth parsed = Parsed(r);
  CHECK(parsed.presigned);
  CHECK(parsed.signature == signature);
  CHECK_FALSE(VerifySigV4(r, parsed, kSecret, kSignedAt).has_value());
}

TEST_CASE("SigV2: botocore's signature of an EC2 request verifies; the rest is refused") {
  std::map<std::string, std::string> params = {
      {"Action", "DescribeRegions"},
      {"Version", "2016-11-15"},
      {"Filter.1.Name", "region-name"},
      {"Filter.1.Value.1", "Region One~"},
      {"AWSAccessKeyId", "AKIDEXAMPLE"},
      {"SignatureVersion", "2"},
      {"SignatureMethod", "HmacSHA256"},
      {"Timestamp", "2015-08-30T12:36:00Z"},
      // botocore 1.29's SigV2Auth.calc_signature for POST http://127.0.0.1:8788/.
      {"Signature", "2o0GziB6H77d79wLJMpxfOjI/l93IJ5qJu578KVTLtk="}};
  ParsedSigV2 parsed = ParseSigV2(params);
  REQUIRE(parsed.auth);
  CHECK(parsed.auth->access_key == "AKIDEXAMPLE");
  CHECK(parsed.auth->signed_at == kSignedAt);
  CHECK_FALSE(VerifySigV2("POST", "127.0.0.1:8788", "/", params, *parsed.auth, kSecret,
                          kSignedAt));
  auto wrong = VerifySigV2("POST", "127.0.0.1:8789", "/", params, *parsed.auth, kSecret,
                           kSignedAt);
  REQUIRE(wrong);
  CHECK(wrong->code == "SignatureDoesNotMatch");
  auto late = VerifySigV2("POST", "127.0.0.1:8788", "/", params, *parsed.auth, kSecret,
                          Timestamp{kSignedAt.micros + int64_t{16} * 60 * 1000000});
  REQUIRE(late);
  CHECK(late->code == "RequestExpired");
  // Not SigV2 at all: nothing parsed, nothing refused.
  ParsedSigV2 none = ParseSigV2({{"Action", "DescribeRegions"}});
  CHECK_FALSE(none.auth);
  CHECK_FALSE(none.failure);
  params["SignatureVersion"] = "1";
  CHECK(ParseSigV2(params).failure->code == "IncompleteSignature");
}

TEST_CASE("EC2 ids are the uuid's first 17 hex digits, and name a uuid prefix back") {
  const std::string uuid = "3f2b7c3e-1d4a-4e8b-9c6d-0a1b2c3d4e5f";
  CHECK(Ec2IdOf("i", uuid) == "i-3f2b7c3e1d4a4e8b9");
  CHECK(Ec2IdOf("ami", uuid) == "ami-3f2b7c3e1d4a4e8b9");
  CHECK(UuidPrefixOf("i", "i-3f2b7c3e1d4a4e8b9") == "3f2b7c3e-1d4a-4e8b-9");
  CHECK(uuid.starts_with(UuidPrefixOf("i", Ec2IdOf("i", uuid))));
  CHECK(UuidPrefixOf("i", "ami-3f2b7c3e1d4a4e8b9").empty());
  CHECK(UuidPrefixOf("i", "i-3F2B7C3E1D4A4E8B9").empty());  // AWS ids are lowercase
  CHECK(UuidPrefixOf("i", "i-3f2b7c3e") == "3f2b7c3e");  // an 8-digit id
  CHECK(UuidPrefixOf("i", "i-3f2b7c3e1").empty());
  CHECK(UuidPrefixOf("i", "i-3f2b7c3e1d4a4e8b9/../x").empty());
  CHECK(XmlLeaf("message", "<a & \"b\">") ==
        "<message>&lt;a &amp; &quot;b&quot;&gt;</message>");
}

namespace {

struct CredentialFixture {
  FakeEnv env{7};
  TempDir dir;
  std::unique_ptr<RocksDbEventLog> log = OpenTestLog(dir.Sub("log"));
  RevocationsProjection revocations;
  CredentialsProjection credentials;
  std::unique_ptr<ProjectionStore> store;
  std::unique_ptr<ProjectionRunner> runner;
  IdentityDirectory directory;
  TokenSigner signer{std::string(32, 'k')};
  std::unique_ptr<TokenValidator> validator;
  std::unique_ptr<IdentityService> service;

  CredentialFixture() {
    IniFile ini;
    for (const auto& [user, project, roles] :
         {std::tuple<std::string, std::string, std::string>{"demo", "demo", "member"},
          {"alt", "alt", "member"},
          {"admin", "admin", "admin"}}) {
      ini.Set("user " + user, "project", project);
      ini.Set("user " + user, "roles", roles);
      ini.Set("user " + user, "password_hash", HashPassword("pw", 1000).value());
    }
    directory = IdentityDirectory::FromIni(ini).value();
    ProjectionStoreOptions so;
    so.path = dir.Sub("store");
    store = ProjectionStore::Open(so, {&revocations, &credentials}).value();
    runner = std::make_unique<ProjectionRunner>(log.get(), store.get());
    validator = std::make_unique<TokenValidator>(&signer, store.get(), &env);
    IdentityServiceOptions o;
    o.env = &env;
    service = std::make_unique<IdentityService>(&directory, validator.get(), log.get(),
                                                runner.get(), o);
  }
  RequestContext As(const std::string& name) {
    const IdentityUser* u = directory.FindUserByName(name);
    REQUIRE(u != nullptr);
    RequestContext ctx;
    ctx.user = u->id;
    ctx.project = u->project_id;
    ctx.roles = EffectiveRoles(u->roles);
    ctx.request_id = RequestId("req-" + env.NewUuid());
    return ctx;
  }
};

}  // namespace

TEST_CASE(
    "EC2 credentials: recorded with the secret sealed, listed for their user, found by "
    "access key, deleted for good") {
  CredentialFixture f;
  RequestContext demo = f.As("demo");
  auto created = f.service->CreateEc2Credential(demo, demo.user, demo.project);
  REQUIRE(created.ok());
  CHECK(created->access.size() == 32);
  CHECK(created->secret.size() == 32);
  CHECK(created->credential_id == Ec2CredentialId(created->access));

  // The log holds the access key but never the secret in the clear.
  std::vector<Envelope> events =
      ReadWholeStream(*f.log, StreamId("credential/" + created->credential_id)).value();
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == "credential.created");
  CHECK(events[0].payload.find(created->access) != std::string::npos);
  CHECK(events[0].payload.find(created->secret) == std::string::npos);

  auto principal = f.service->FindEc2Access(created->access);
  REQUIRE(principal.ok());
  CHECK(principal->credential.secret == created->secret);
  CHECK(principal->context.user == demo.user);
  CHECK(principal->context.project == demo.project);
  CHECK(principal->context.HasRole("member"));
  CHECK(f.service->FindEc2Access("unknown").status().IsNotFound());

  // Another user neither lists, sees nor deletes it; an admin does.
  RequestContext alt = f.As("alt");
  CHECK(f.service->ListEc2Credentials(alt, demo.user).status().code() ==
        StatusCode::kPermissionDenied);
  CHECK(f.service->GetEc2Credential(alt, created->credential_id).status().IsNotFound());
  CHECK(f.service->DeleteEc2Credential(alt, created->credential_id).IsNotFound());
  CHECK(f.service->CreateEc2Credential(alt, demo.user, demo.project).status().code() ==
        StatusCode::kPermissionDenied);
  // Only in the user's own project.
  CHECK(f.service->CreateEc2Credential(demo, demo.user, alt.project).status().code() ==
        StatusCode::kInvalidArgument);
  RequestContext admin = f.As("admin");
  auto all = f.service->ListEc2Credentials(admin, UserId());
  REQUIRE(all.ok());
  CHECK(all->size() == 1);
  auto mine = f.service->ListEc2Credentials(demo, demo.user);
  REQUIRE(mine.ok());
  REQUIRE(mine->size() == 1);
  CHECK(mine->front().secret == created->secret);

  // An access key is never taken twice (a new request; the same one retried
  // is answered as it was).
  CHECK(f.service
            ->CreateEc2Credential(demo, demo.user, demo.project, created->access,
                                  created->secret)
            .ok());
  CHECK(f.service
            ->CreateEc2Credential(f.As("demo"), demo.user, demo.project, created->access,
                                  "x")
            .status()
            .IsConflict());
  REQUIRE(f.service->DeleteEc2Credential(demo, created->credential_id).ok());
  CHECK(f.service->FindEc2Access(created->access).status().IsNotFound());
  CHECK(f.service->ListEc2Credentials(demo, demo.user)->empty());
  CHECK(f.service
            ->CreateEc2Credential(f.As("demo"), demo.user, demo.project, created->access,
                                  "x")
            .status()
            .IsConflict());
}

}  // namespace chronova::testing
