// Identity v3: tokens (signed, expiring, revocable by an event), password
// hashes, the users file and its seeding, and — over real HTTP on a whole Node
// — Keystone's token API, catalog and admin reads, and the Compute API
// accepting Identity tokens (and refusing forged, expired or revoked ones).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "api/auth/auth.h"
#include "api/auth/password_hash.h"
#include "api/auth/token.h"
#include "api/auth/token_validator.h"
#include "api/http/json.h"
#include "api/identity/identity_directory.h"
#include "api/identity/identity_service.h"
#include "eventstore/rocksdb_event_log.h"
#include "projections/projection_runner.h"
#include "projections/revocations_projection.h"
#include "tests/support/node_test_util.h"
#include "tests/support/test_util.h"
#include "tools/http_client.h"
#include "tools/node.h"

namespace chronova::testing {
namespace {

// A users file with demo (member of demo), admin (admin of admin), alt (member of alt).
IniFile Users() {
  IniFile ini;
  auto add = [&](const std::string& user, const std::string& project,
                 const std::string& roles, const std::string& password) {
    ini.Set("user " + user, "project", project);
    ini.Set("user " + user, "roles", roles);
    ini.Set("user " + user, "password_hash", HashPassword(password, 1000).value());
  };
  add("demo", "demo", "member", "demo-pw");
  add("admin", "admin", "admin", "admin-pw");
  add("alt", "alt", "member", "alt-pw");
  return ini;
}

AuthRequest PasswordAuth(const std::string& user, const std::string& password) {
  AuthRequest r;
  r.methods = {"password"};
  r.user_name = user;
  r.user_domain_name = "Default";
  r.password = password;
  return r;
}

// An IdentityService on a real RocksDB log with the revocations read model, on
// a FakeEnv clock.
struct IdentityFixture {
  FakeEnv env{7};
  TempDir dir;
  std::unique_ptr<RocksDbEventLog> log;
  RevocationsProjection revocations;
  std::unique_ptr<ProjectionStore> store;
  std::unique_ptr<ProjectionRunner> runner;
  IdentityDirectory directory = IdentityDirectory::FromIni(Users()).value();
  TokenSigner signer{std::string(32, 'k')};
  std::unique_ptr<TokenValidator> validator;
  std::unique_ptr<IdentityService> service;

  IdentityFixture() { Open(); }
  void Open() {
    service.reset();
    validator.reset();
    runner.reset();
    store.reset();
    log.reset();
    log = OpenTestLog(dir.Sub("log"));
    ProjectionStoreOptions so;
    so.path = dir.Sub("store");
    store = ProjectionStore::Open(so, {&revocations}).value();
    runner = std::make_unique<ProjectionRunner>(log.get(), store.get());
    REQUIRE(runner->WaitFor(log->Head().value(), 5000).ok());
    validator = std::make_unique<TokenValidator>(&signer, store.get(), &env);
    IdentityServiceOptions o;
    o.env = &env;
    o.token_expiration_s = 3600;
    service = std::make_unique<IdentityService>(&directory, validator.get(), log.get(),
                                                runner.get(), o);
  }
};

}  // namespace

TEST_CASE("a password hash is salted, verifies the password and nothing else") {
  std::string a = HashPassword("secret", 1000).value();
  std::string b = HashPassword("secret", 1000).value();
  CHECK(a != b);  // per-hash salt
  CHECK(a.rfind("pbkdf2-sha256$1000$", 0) == 0);
  CHECK(a.find("secret") == std::string::npos);
  CHECK(VerifyPassword("secret", a));
  CHECK_FALSE(VerifyPassword("Secret", a));
  CHECK_FALSE(VerifyPassword("secret", "pbkdf2-sha256$1000$bad"));
  CHECK_FALSE(VerifyPassword("secret", ""));
}

TEST_CASE("a signed token round-trips; a tampered or foreign one is refused") {
  TokenSigner signer(std::string(32, 'a'));
  TokenPayload p{UserId("u1"),  ProjectId("p1"), {"member", "reader"},    {"password"},
                 Timestamp{10}, Timestamp{20},   "AUDITAUDITAUDITAUDITAU"};
  std::string token = signer.Sign(p);
  CHECK(signer.Verify(token).value() == p);
  CHECK(TokenSigner(std::string(32, 'b')).Verify(token).status().code() ==
        StatusCode::kPermissionDenied);
  std::string tampered = token;
  tampered[3] = tampered[3] == 'A' ? 'B' : 'A';
  CHECK_FALSE(signer.Verify(tampered).ok());
  CHECK_FALSE(signer.Verify("").ok());
  CHECK_FALSE(signer.Verify("alice:demo").ok());
}

// Found by the token fuzz target (tests/fuzz/regressions/token/): a role list
// whose first role was empty lost its comma when signed, so the token named
// other roles than the ones it was issued with.
TEST_CASE("a signed token keeps an empty role in the list where it stood") {
  TokenSigner signer(std::string(32, 'a'));
  TokenPayload p{UserId("u1"),  ProjectId("p1"), {"", "member"},          {"password"},
                 Timestamp{10}, Timestamp{20},   "AUDITAUDITAUDITAUDITAU"};
  CHECK(signer.Verify(signer.Sign(p)).value() == p);
}

TEST_CASE("ids are stable Keystone-style hex and admin implies member and reader") {
  std::string id = DeriveIdentityId("user", "demo");
  CHECK(id.size() == 32);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(id == DeriveIdentityId("user", "demo"));
  CHECK(id != DeriveIdentityId("project", "demo"));
  CHECK(EffectiveRoles({"admin"}) ==
        std::vector<std::string>{"admin", "member", "reader"});
  CHECK(EffectiveRoles({"member"}) == std::vector<std::string>{"member", "reader"});
}

TEST_CASE("a password token names the user, the project and every implied role") {
  IdentityFixture f;
  IssuedToken t = f.service->Authenticate(PasswordAuth("admin", "admin-pw")).value();
  CHECK(t.payload.user_id.str() == DeriveIdentityId("user", "admin"));
  CHECK(t.payload.project_id.str() == DeriveIdentityId("project", "admin"));
  CHECK(t.payload.roles == std::vector<std::string>{"admin", "member", "reader"});
  CHECK(t.payload.methods == std::vector<std::string>{"password"});
  CHECK(t.payload.expires_at.micros - t.payload.issued_at.micros == 3600LL * 1000000);
  CHECK(f.service->Validate(t.token).value() == t.payload);
}

TEST_CASE("a wrong password or an unknown user is PermissionDenied, the same way") {
  IdentityFixture f;
  auto wrong = f.service->Authenticate(PasswordAuth("demo", "nope"));
  auto unknown = f.service->Authenticate(PasswordAuth("nobody", "demo-pw"));
  CHECK(wrong.status().code() == StatusCode::kPermissionDenied);
  CHECK(unknown.status().code() == StatusCode::kPermissionDenied);
  CHECK(wrong.status().message() == unknown.status().message());
  AuthRequest other_domain = PasswordAuth("demo", "demo-pw");
  other_domain.user_domain_name = "Elsewhere";
  CHECK(f.service->Authenticate(other_domain).status().code() ==
        StatusCode::kPermissionDenied);
  AuthRequest no_domain = PasswordAuth("demo", "demo-pw");
  no_domain.user_domain_name = "";
  CHECK(f.service->Authenticate(no_domain).status().code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("scope by project name with its domain, or by id; another project is refused") {
  IdentityFixture f;
  AuthRequest by_name = PasswordAuth("demo", "demo-pw");
  by_name.project_name = "demo";
  by_name.project_domain_id = "default";
  CHECK(f.service->Authenticate(by_name)->payload.project_id.str() ==
        DeriveIdentityId("project", "demo"));
  AuthRequest by_id = PasswordAuth("demo", "demo-pw");
  by_id.user_name.clear();
  by_id.user_domain_name.clear();
  by_id.user_id = DeriveIdentityId("user", "demo");
  by_id.project_id = DeriveIdentityId("project", "demo");
  CHECK(f.service->Authenticate(by_id).ok());
  AuthRequest other = PasswordAuth("demo", "demo-pw");
  other.project_name = "alt";
  other.project_domain_name = "Default";
  CHECK(f.service->Authenticate(other).status().code() == StatusCode::kPermissionDenied);
}

TEST_CASE("a token expires after the configured lifetime (FakeEnv clock)") {
  IdentityFixture f;
  IssuedToken t = f.service->Authenticate(PasswordAuth("demo", "demo-pw")).value();
  f.env.AdvanceMicros(3599LL * 1000000);
  CHECK(f.service->Validate(t.token).ok());
  f.env.AdvanceMicros(1000000);
  CHECK(f.service->Validate(t.token).status().code() == StatusCode::kPermissionDenied);
}

TEST_CASE("the token method re-issues for the same user without extending the expiry") {
  IdentityFixture f;
  IssuedToken first = f.service->Authenticate(PasswordAuth("demo", "demo-pw")).value();
  f.env.AdvanceMicros(60LL * 1000000);
  AuthRequest r;
  r.methods = {"token"};
  r.token = first.token;
  IssuedToken second = f.service->Authenticate(r).value();
  CHECK(second.payload.user_id == first.payload.user_id);
  CHECK(second.payload.expires_at == first.payload.expires_at);
  CHECK(second.payload.methods == std::vector<std::string>{"token"});
  CHECK(second.audit_ids ==
        std::vector<std::string>{second.payload.audit_id, first.payload.audit_id});
  r.token = "forged";
  CHECK(f.service->Authenticate(r).status().code() == StatusCode::kPermissionDenied);
}

TEST_CASE(
    "a revocation is a token.revoked event; the token stays refused after a restart") {
  IdentityFixture f;
  IssuedToken t = f.service->Authenticate(PasswordAuth("demo", "demo-pw")).value();
  IssuedToken other = f.service->Authenticate(PasswordAuth("demo", "demo-pw")).value();
  RequestContext ctx{t.payload.user_id, t.payload.project_id, t.payload.roles,
                     RequestId("req-revoke")};
  REQUIRE(f.service->Revoke(t.payload, ctx).ok());
  REQUIRE(f.service->Revoke(t.payload, ctx).ok());  // idempotent
  CHECK(f.service->Validate(t.token).status().code() == StatusCode::kPermissionDenied);
  CHECK(f.service->Validate(other.token).ok());
  std::vector<Envelope> events = ReadAll(*f.log);
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == "token.revoked");
  CHECK(events[0].stream.str() == "token/" + t.payload.audit_id);
  CHECK(events[0].payload.find(t.token) == std::string::npos);

  // A fresh read model folded from the log refuses it too.
  std::filesystem::remove_all(f.dir.Sub("store"));
  f.Open();
  CHECK(f.service->Validate(t.token).status().code() == StatusCode::kPermissionDenied);
  CHECK(f.service->Validate(other.token).ok());
}

TEST_CASE("KeystoneAuthenticator gives the token's user, project and roles") {
  IdentityFixture f;
  IssuedToken t = f.service->Authenticate(PasswordAuth("demo", "demo-pw")).value();
  KeystoneAuthenticator auth(f.validator.get());
  RequestContext ctx = auth.Authenticate(t.token, "").value();
  CHECK(ctx.user == t.payload.user_id);
  CHECK(ctx.project == t.payload.project_id);
  CHECK(ctx.roles == std::vector<std::string>{"member", "reader"});
  CHECK(auth.Authenticate("", "").status().code() == StatusCode::kPermissionDenied);
  CHECK(auth.Authenticate("demo:demo", "").status().code() ==
        StatusCode::kPermissionDenied);
  CHECK(auth.Authenticate(t.token, "other").status().code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("the users file is seeded once, mode 0600, hashes only; --password re-hashes") {
  TempDir dir;
  std::string path = dir.Sub("identity/users.ini");
  CHECK(PrepareUsersFile(path, "first").value() == "first");
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::string text = ReadFile(path);
  CHECK(text.find("first") == std::string::npos);
  IdentityDirectory d = IdentityDirectory::Load(path).value();
  CHECK(d.users().size() == 6);
  const IdentityUser* admin2 = d.FindUserByName("admin2");
  REQUIRE(admin2 != nullptr);
  CHECK(admin2->project_name == "admin");
  CHECK(VerifyPassword("first", d.FindUserByName("alt_demo")->password_hash));
  // A later start without a password leaves it alone; with one, re-hashes.
  CHECK(PrepareUsersFile(path, "").value().empty());
  CHECK(ReadFile(path) == text);
  CHECK(PrepareUsersFile(path, "second").value() == "second");
  IdentityDirectory again = IdentityDirectory::Load(path).value();
  CHECK(VerifyPassword("second", again.FindUserByName("demo")->password_hash));
  CHECK_FALSE(VerifyPassword("first", again.FindUserByName("demo")->password_hash));
  CHECK(again.FindUserByName("demo")->id == d.FindUserByName("demo")->id);
}

namespace {

// A whole Node with the Identity and Compute APIs on free ports, keystone auth.
struct IdentityCloud {
  TempDir dir;
  int identity_port = FreePort();
  int compute_port = FreePort();
  int image_port = FreePort();
  std::unique_ptr<Node> node;
  std::unique_ptr<HttpClient> identity;
  std::unique_ptr<HttpClient> compute;

  IdentityCloud() { Start(); }
  void Start() {
    NodeOptions o = FakeCloudOptions(dir, 1, 4, 4096);
    o.api.auth_strategy = "keystone";
    o.api.identity_api_url = "http://127.0.0.1:" + std::to_string(identity_port);
    o.api.compute_api_url = "http://0.0.0.0:" + std::to_string(compute_port);
    o.api.image_api_url = "http://127.0.0.1:" + std::to_string(image_port);
    o.api.identity_password = "secret";
    auto started = Node::Start(o);
    INFO(started.status().ToString());
    REQUIRE(started.ok());
    node = std::move(started).value();
    identity = std::make_unique<HttpClient>("127.0.0.1:" + std::to_string(identity_port));
    compute = std::make_unique<HttpClient>("127.0.0.1:" + std::to_string(compute_port));
  }
  void Stop() {
    identity.reset();
    compute.reset();
    node.reset();
  }

  HttpClientResponse Send(HttpClient& c, const std::string& method,
                          const std::string& path,
                          const std::map<std::string, std::string>& headers,
                          const std::string& body = "") {
    auto r = c.Send(method, path, headers, body);
    INFO(method << " " << path << ": " << r.status().ToString());
    REQUIRE(r.ok());
    return *r;
  }
  HttpClientResponse Issue(const std::string& user, const std::string& password,
                           const std::string& project) {
    std::string body =
        R"({"auth": {"identity": {"methods": ["password"], "password": {"user": )"
        R"({"domain": {"name": "Default"}, "name": ")" +
        user + R"(", "password": ")" + password +
        R"("}}}, "scope": {"project": {"domain": {"name": "Default"}, "name": ")" +
        project + R"("}}}})";
    return Send(*identity, "POST", "/v3/auth/tokens",
                {{"Content-Type", "application/json"}, {"Accept", "application/json"}},
                body);
  }
  std::string Token(const std::string& user, const std::string& project) {
    auto r = Issue(user, "secret", project);
    INFO(r.body);
    REQUIRE(r.status == 201);
    return r.headers.at("x-subject-token");
  }
};

Json Parse(const HttpClientResponse& r) {
  INFO(r.body);
  auto j = Json::Parse(r.body);
  REQUIRE(j.ok());
  return *j;
}

}  // namespace

TEST_CASE("POST /v3/auth/tokens: 201, X-Subject-Token and Keystone's token body") {
  IdentityCloud c;
  auto r = c.Issue("demo", "secret", "demo");
  REQUIRE(r.status == 201);
  CHECK(!r.headers.at("x-subject-token").empty());
  Json t = Parse(r)["token"];
  CHECK(t["methods"] == Json::MakeArray({"password"}));
  CHECK(t["user"]["name"].as_string() == "demo");
  CHECK(t["user"]["id"].as_string() == DeriveIdentityId("user", "demo"));
  CHECK(t["user"]["domain"]["id"].as_string() == "default");
  CHECK(t["user"]["domain"]["name"].as_string() == "Default");
  CHECK(t["user"].Contains("password_expires_at"));
  CHECK(t["project"]["name"].as_string() == "demo");
  CHECK(t["project"]["domain"]["id"].as_string() == "default");
  CHECK(t["is_domain"] == Json(false));
  std::vector<std::string> roles;
  for (Json role : t["roles"].items()) {
    CHECK(role["id"].as_string().size() == 32);
    roles.push_back(role["name"].as_string());
  }
  CHECK(roles == std::vector<std::string>{"member", "reader"});
  // %Y-%m-%dT%H:%M:%S.%fZ
  const std::string expires = t["expires_at"].as_string();
  CHECK(expires.size() == 27);
  CHECK(expires[10] == 'T');
  CHECK(expires.back() == 'Z');
  CHECK(t["issued_at"].as_string().size() == 27);
  CHECK(t["audit_ids"].size() == 1);

  // The catalog: identity, compute (with /v2.1, never 0.0.0.0) and image, each on
  // public, internal and admin in RegionOne.
  std::map<std::string, std::string> urls;
  for (Json service : t["catalog"].items()) {
    CHECK(service["endpoints"].size() == 3);
    for (Json e : service["endpoints"].items()) {
      CHECK(e["region"].as_string() == "RegionOne");
      CHECK(e["region_id"].as_string() == "RegionOne");
      if (e["interface"].as_string() == "public") {
        urls[service["type"].as_string()] = e["url"].as_string();
      }
    }
  }
  CHECK(urls["identity"] ==
        "http://127.0.0.1:" + std::to_string(c.identity_port) + "/v3");
  CHECK(urls["compute"] ==
        "http://127.0.0.1:" + std::to_string(c.compute_port) + "/v2.1");
  CHECK(urls["image"] == "http://127.0.0.1:" + std::to_string(c.image_port));
}

TEST_CASE("identity errors use Keystone's body: 401 bad credentials, 400 malformed") {
  IdentityCloud c;
  auto wrong = c.Issue("demo", "wrong", "demo");
  CHECK(wrong.status == 401);
  CHECK(Parse(wrong) ==
        Json::Parse(
            R"({"error": {"code": 401, "message": "The request you have made requires )"
            R"(authentication.", "title": "Unauthorized"}})")
            .value());
  auto malformed = c.Send(*c.identity, "POST", "/v3/auth/tokens",
                          {{"Content-Type", "application/json"}}, R"({"auth": {}})");
  CHECK(malformed.status == 400);
  Json e = Parse(malformed)["error"];
  CHECK(e["code"] == Json(400));
  CHECK(e["title"].as_string() == "Bad Request");
  auto garbage = c.Send(*c.identity, "POST", "/v3/auth/tokens", {}, "{");
  CHECK(garbage.status == 400);
}

TEST_CASE("version discovery: GET / is 300 with v3, GET /v3 is 200, no token needed") {
  IdentityCloud c;
  auto root = c.Send(*c.identity, "GET", "/", {});
  CHECK(root.status == 300);
  Json v = Parse(root)["versions"]["values"].items().at(0);
  CHECK(v["id"].as_string() == "v3.14");
  CHECK(v["status"].as_string() == "stable");
  auto v3 = c.Send(*c.identity, "GET", "/v3", {});
  CHECK(v3.status == 200);
  Json link = Parse(v3)["version"]["links"].items().at(0);
  CHECK(link["href"].as_string() ==
        "http://127.0.0.1:" + std::to_string(c.identity_port) + "/v3/");
}

TEST_CASE("GET and HEAD validate a token, DELETE revokes it; the Compute API follows") {
  IdentityCloud c;
  std::string demo = c.Token("demo", "demo");
  std::string admin = c.Token("admin", "admin");
  auto get = c.Send(*c.identity, "GET", "/v3/auth/tokens",
                    {{"X-Auth-Token", admin}, {"X-Subject-Token", demo}});
  CHECK(get.status == 200);
  CHECK(Parse(get)["token"]["user"]["name"].as_string() == "demo");
  auto head = c.Send(*c.identity, "HEAD", "/v3/auth/tokens",
                     {{"X-Auth-Token", demo}, {"X-Subject-Token", demo}});
  CHECK(head.status == 200);
  // Another member may not look at demo's token.
  std::string alt = c.Token("alt_demo", "alt_demo");
  CHECK(c.Send(*c.identity, "GET", "/v3/auth/tokens",
               {{"X-Auth-Token", alt}, {"X-Subject-Token", demo}})
            .status == 403);

  // The Compute API takes the token: the server belongs to demo's project id.
  auto flavors = c.Send(*c.compute, "GET", "/v2.1/flavors", {{"X-Auth-Token", demo}});
  CHECK(flavors.status == 200);
  auto create =
      c.Send(*c.compute, "POST", "/v2.1/servers",
             {{"X-Auth-Token", demo}, {"Content-Type", "application/json"}},
             std::string(R"({"server": {"name": "vm", "flavorRef": "1", "imageRef": ")") +
                 kDemoImageId + R"("}})");
  REQUIRE(create.status == 202);
  std::string id = Parse(create)["server"]["id"].as_string();
  auto show = c.Send(*c.compute, "GET", "/v2.1/servers/" + id, {{"X-Auth-Token", demo}});
  CHECK(Parse(show)["server"]["tenant_id"].as_string() ==
        DeriveIdentityId("project", "demo"));
  CHECK(Parse(show)["server"]["user_id"].as_string() == DeriveIdentityId("user", "demo"));
  CHECK(
      c.Send(*c.compute, "GET", "/v2.1/servers/" + id, {{"X-Auth-Token", alt}}).status ==
      404);

  auto del = c.Send(*c.identity, "DELETE", "/v3/auth/tokens",
                    {{"X-Auth-Token", demo}, {"X-Subject-Token", demo}});
  CHECK(del.status == 204);
  CHECK(c.Send(*c.identity, "GET", "/v3/auth/tokens",
               {{"X-Auth-Token", admin}, {"X-Subject-Token", demo}})
            .status == 404);
  auto refused = c.Send(*c.compute, "GET", "/v2.1/flavors", {{"X-Auth-Token", demo}});
  CHECK(refused.status == 401);
  CHECK(refused.headers.at("www-authenticate") ==
        "Keystone uri=\"http://127.0.0.1:" + std::to_string(c.identity_port) + "\"");
  CHECK(c.Send(*c.compute, "GET", "/v2.1/flavors", {{"X-Auth-Token", admin}}).status ==
        200);

  // Revocation is an event in the log: it holds across a restart.
  c.Stop();
  c.Start();
  CHECK(c.Send(*c.compute, "GET", "/v2.1/flavors", {{"X-Auth-Token", demo}}).status ==
        401);
  CHECK(c.Send(*c.compute, "GET", "/v2.1/flavors", {{"X-Auth-Token", admin}}).status ==
        200);
}

TEST_CASE("the Compute API refuses forged and noauth2 tokens with 401") {
  IdentityCloud c;
  std::string demo = c.Token("demo", "demo");
  std::string forged = demo;
  forged[forged.size() - 2] = forged[forged.size() - 2] == 'A' ? 'B' : 'A';
  for (const std::string& bad :
       {forged, std::string("demo:demo"), std::string("admin:admin")}) {
    auto r = c.Send(*c.compute, "GET", "/v2.1/servers", {{"X-Auth-Token", bad}});
    CHECK(r.status == 401);
    CHECK(Parse(r)["unauthorized"]["code"] == Json(401));
  }
  CHECK(c.Send(*c.compute, "GET", "/v2.1/servers", {}).status == 401);
}

TEST_CASE("admin reads users, projects, roles, assignments, domains; members may not") {
  IdentityCloud c;
  std::string admin = c.Token("admin", "admin");
  std::string demo = c.Token("demo", "demo");
  auto users = c.Send(*c.identity, "GET", "/v3/users", {{"X-Auth-Token", admin}});
  REQUIRE(users.status == 200);
  std::vector<std::string> names;
  Json user_list = Parse(users)["users"];
  for (Json u : user_list.items()) names.push_back(u["name"].as_string());
  CHECK(names == std::vector<std::string>{"admin", "admin2", "alt_demo", "alt_demo2",
                                          "demo", "demo2"});
  CHECK(c.Send(*c.identity, "GET", "/v3/users", {{"X-Auth-Token", demo}}).status == 403);
  std::string demo_id = DeriveIdentityId("user", "demo");
  CHECK(c.Send(*c.identity, "GET", "/v3/users/" + demo_id, {{"X-Auth-Token", demo}})
            .status == 200);
  CHECK(c.Send(*c.identity, "GET", "/v3/users/nope", {{"X-Auth-Token", admin}}).status ==
        404);
  auto projects = c.Send(*c.identity, "GET", "/v3/projects", {{"X-Auth-Token", admin}});
  CHECK(Parse(projects)["projects"].size() ==
        5);  // admin, alt_demo, alt_demo2, demo, demo2
  CHECK(c.Send(*c.identity, "GET", "/v3/projects/" + DeriveIdentityId("project", "demo"),
               {{"X-Auth-Token", demo}})
            .status == 200);
  CHECK(Parse(c.Send(*c.identity, "GET", "/v3/roles", {{"X-Auth-Token", admin}}))["roles"]
            .size() == 3);
  auto assignments = c.Send(*c.identity, "GET", "/v3/role_assignments?user.id=" + demo_id,
                            {{"X-Auth-Token", admin}});
  Json a = Parse(assignments)["role_assignments"];
  REQUIRE(a.size() == 1);
  Json assignment = a.items()[0];
  CHECK(assignment["scope"]["project"]["id"].as_string() ==
        DeriveIdentityId("project", "demo"));
  CHECK(Parse(c.Send(*c.identity, "GET", "/v3/domains/default",
                     {{"X-Auth-Token", admin}}))["domain"]["name"]
            .as_string() == "Default");
  auto catalog = c.Send(*c.identity, "GET", "/v3/auth/catalog", {{"X-Auth-Token", demo}});
  CHECK(Parse(catalog)["catalog"].size() == 3);
  auto mine = c.Send(*c.identity, "GET", "/v3/auth/projects", {{"X-Auth-Token", demo}});
  Json first = Parse(mine)["projects"].items().at(0);
  CHECK(first["name"].as_string() == "demo");
  CHECK(c.Send(*c.identity, "GET", "/v3/users", {}).status == 401);
}

TEST_CASE("the all-in-one writes an openrc for demo and, with an argument, admin") {
  IdentityCloud c;
  std::string openrc = c.dir.Sub("state") + "/openrc";
  struct stat st {};
  REQUIRE(stat(openrc.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto env_of = [&](const std::string& arg) {
    std::string cmd = "bash -c '. " + openrc + " " + arg +
                      " && echo $OS_USERNAME/$OS_PROJECT_NAME/$OS_PASSWORD/$OS_AUTH_URL'";
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[512] = {};
    size_t n = fread(buf, 1, sizeof(buf) - 1, p);
    pclose(p);
    return std::string(buf, n);
  };
  std::string url = "http://127.0.0.1:" + std::to_string(c.identity_port) + "/v3\n";
  CHECK(env_of("") == "demo/demo/secret/" + url);
  CHECK(env_of("admin") == "admin/admin/secret/" + url);
  CHECK(env_of("alt_demo") == "alt_demo/alt_demo/secret/" + url);
  CHECK(ReadFile(c.dir.Sub("state") + "/identity/users.ini").find("secret") ==
        std::string::npos);
}

TEST_CASE(
    "an unscoped request gets a token with no project and no roles; without a scope the "
    "user's default project is the scope") {
  IdentityFixture f;
  AuthRequest unscoped = PasswordAuth("demo", "demo-pw");
  unscoped.unscoped = true;
  IssuedToken t = f.service->Authenticate(unscoped).value();
  CHECK(t.payload.project_id.str().empty());
  CHECK(t.payload.roles.empty());
  CHECK(f.service->Validate(t.token).value().project_id.str().empty());
  // Rescoping it with the token method and no scope goes back to the default.
  AuthRequest rescope;
  rescope.methods = {"token"};
  rescope.token = t.token;
  CHECK(f.service->Authenticate(rescope).value().payload.project_id ==
        ProjectId(DeriveIdentityId("project", "demo")));
  IssuedToken scoped = f.service->Authenticate(PasswordAuth("demo", "demo-pw")).value();
  CHECK(scoped.payload.project_id == ProjectId(DeriveIdentityId("project", "demo")));
  // Nova needs a project: the Compute and Image APIs' authenticator refuses it.
  KeystoneAuthenticator auth(f.validator.get());
  CHECK(auth.Authenticate(t.token, "").status().code() == StatusCode::kPermissionDenied);
  CHECK(auth.Authenticate(scoped.token, "").ok());
}

TEST_CASE(
    "POST /v3/auth/tokens with \"scope\": \"unscoped\" answers Keystone's unscoped "
    "token (no project, roles or catalog), which the Compute and Image APIs refuse with "
    "401") {
  IdentityCloud c;
  const std::string body =
      R"({"auth": {"identity": {"methods": ["password"], "password": {"user": )"
      R"({"domain": {"name": "Default"}, "name": "demo", "password": "secret"}}}, )"
      R"("scope": "unscoped"}})";
  auto r = c.Send(*c.identity, "POST", "/v3/auth/tokens",
                  {{"Content-Type", "application/json"}}, body);
  REQUIRE(r.status == 201);
  Json t = Parse(r)["token"];
  CHECK(t["user"]["name"].as_string() == "demo");
  CHECK_FALSE(t.Contains("project"));
  CHECK_FALSE(t.Contains("roles"));
  CHECK_FALSE(t.Contains("catalog"));
  const std::string token = r.headers.at("x-subject-token");
  auto compute = c.Send(*c.compute, "GET", "/v2.1/servers", {{"X-Auth-Token", token}});
  CHECK(compute.status == 401);
  CHECK(Parse(compute)["unauthorized"]["code"] == Json(401));
  HttpClient image("127.0.0.1:" + std::to_string(c.image_port));
  CHECK(c.Send(image, "GET", "/v2/images", {{"X-Auth-Token", token}}).status == 401);

  // Without a scope: the user's default project, as Keystone does.
  const std::string no_scope =
      R"({"auth": {"identity": {"methods": ["password"], "password": {"user": )"
      R"({"domain": {"name": "Default"}, "name": "demo", "password": "secret"}}}}})";
  auto d = c.Send(*c.identity, "POST", "/v3/auth/tokens",
                  {{"Content-Type", "application/json"}}, no_scope);
  REQUIRE(d.status == 201);
  CHECK(Parse(d)["token"]["project"]["name"].as_string() == "demo");
  CHECK(c.Send(*c.compute, "GET", "/v2.1/servers",
               {{"X-Auth-Token", d.headers.at("x-subject-token")}})
            .status == 200);
}

}  // namespace chronova::testing
