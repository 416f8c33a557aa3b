// Least privilege on the bus and the log, against a real nats-server: the
// credentials `chronovactl nats-credentials` writes (tools/ctl/nats_credentials.h)
// let each role and compute host do its part and refuse everything else; and
// the log and the bus work over TLS with the CA it makes.
#include <atomic>
#include <cstdlib>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agents/bus.h"
#include "eventstore/jetstream_event_log.h"
#include "tests/support/nats_server.h"
#include "tests/support/test_util.h"
#include "tools/ctl/nats_credentials.h"

namespace chronova {
namespace {

using testing::NatsServer;
using testing::TempDir;
using testing::WaitUntil;

struct Counter {
  std::mutex mu;  // protects subjects
  std::vector<std::string> subjects;
  BusHandler Handler() {
    return [this](const std::string& subject, const std::string&) {
      std::lock_guard<std::mutex> l(mu);
      subjects.push_back(subject);
    };
  }
  size_t size() {
    std::lock_guard<std::mutex> l(mu);
    return subjects.size();
  }
};

// A nats-server with JetStream that admits only the credentials in `creds`.
struct SecuredNats {
  TempDir dir;
  std::string creds = dir.Sub("creds");
  std::unique_ptr<NatsServer> server;

  explicit SecuredNats(bool tls) {
    NatsCredentialsOptions o;
    o.dir = creds;
    o.compute_hosts = {"compute-1", "compute-2"};
    o.tls = tls;
    Status st = WriteNatsCredentials(o);
    INFO(st.ToString());
    REQUIRE(st.ok());
    // nats-server resolves includes relative to the including file.
    std::string extra = "include ../creds/auth.conf\n";
    if (tls) extra += "include ../creds/tls.conf\n";
    server = std::make_unique<NatsServer>(dir.Sub("nats"), extra, tls);
  }

  NatsAuth As(const std::string& name) const {
    NatsAuth a;
    a.nkey_seed_file = creds + "/" + name + ".nk";
    a.inbox_prefix = "_INBOX." + name;
    if (server->url().starts_with("tls://")) a.ca_file = creds + "/ca.pem";
    return a;
  }
  std::unique_ptr<Bus> Connect(const std::string& name) const {
    auto bus = NewNatsBus(server->url(), As(name));
    INFO(name << ": " << bus.status().ToString());
    REQUIRE(bus.ok());
    return std::move(bus).value();
  }
  Result<std::unique_ptr<JetStreamEventLog>> Log(const std::string& name,
                                                 const std::string& mirror) const {
    JetStreamLogOptions o;
    o.url = server->url();
    o.auth = As(name);
    o.mirror_path = mirror;
    o.operation_timeout_ms = 3000;
    return JetStreamEventLog::Open(o);
  }
};

// Waits long enough for a message that should not come.
void Settle() { std::this_thread::sleep_for(std::chrono::milliseconds(300)); }

TEST_CASE("nkeys are encoded as nats-server expects: U... public keys, SU... seeds",
          "[nats][credentials]") {
  auto a = NewUserNkey();
  auto b = NewUserNkey();
  REQUIRE((a.ok() && b.ok()));
  CHECK(a->public_key.size() == 56);
  CHECK(a->public_key[0] == 'U');
  CHECK(a->seed.size() == 58);
  CHECK(a->seed.substr(0, 2) == "SU");
  CHECK(a->public_key != b->public_key);
  // nats-server accepting these keys is what the tests below prove.
}

// libnats 3.4.1 sends an empty signature when its first byte is zero (1 in
// 256 nonces); the signer chronova installs refuses those and ConnectNats
// connects again with a new nonce (eventstore/nats_connect.h).
TEST_CASE("an nkey credential connects every time (1000 connects and none refused)",
          "[nats][credentials]") {
  SecuredNats nats(/*tls=*/false);
  int refused = 0;
  for (int i = 0; i < 1000; ++i) {
    auto bus = NewNatsBus(nats.server->url(), nats.As(i % 2 ? "api" : "compute-1"));
    if (!bus.ok()) {
      UNSCOPED_INFO(bus.status().ToString());
      ++refused;
    }
  }
  CHECK(refused == 0);
}

TEST_CASE("running nats-credentials again keeps every key and the CA, and adds hosts",
          "[nats][credentials]") {
  TempDir dir;
  NatsCredentialsOptions o;
  o.dir = dir.Sub("creds");
  o.compute_hosts = {"compute-1"};
  o.tls = true;
  REQUIRE(WriteNatsCredentials(o).ok());
  const std::string ca = testing::ReadFile(o.dir + "/ca.pem");
  const std::string api_seed = testing::ReadFile(o.dir + "/api.nk");
  const std::string host_seed = testing::ReadFile(o.dir + "/compute-1.nk");
  REQUIRE(!ca.empty());
  o.compute_hosts = {"compute-1", "compute-2"};
  o.server_names = {"nats.example.org"};
  REQUIRE(WriteNatsCredentials(o).ok());
  CHECK(testing::ReadFile(o.dir + "/ca.pem") == ca);
  CHECK(testing::ReadFile(o.dir + "/api.nk") == api_seed);
  CHECK(testing::ReadFile(o.dir + "/compute-1.nk") == host_seed);
  CHECK(!testing::ReadFile(o.dir + "/compute-2.nk").empty());
  CHECK(testing::ReadFile(o.dir + "/auth.conf").find("# compute-2 (compute host)") !=
        std::string::npos);
  // The new server certificate is signed by the CA kept, and names the host.
  const std::string verify = "openssl verify -CAfile " + o.dir + "/ca.pem " + o.dir +
                             "/server.pem >/dev/null 2>&1";
  CHECK(std::system(verify.c_str()) == 0);
  const std::string names = "openssl x509 -noout -ext subjectAltName -in " + o.dir +
                            "/server.pem | grep -q nats.example.org";
  CHECK(std::system(names.c_str()) == 0);
}

TEST_CASE("a compute host may report only for itself and read only its own work",
          "[nats][credentials]") {
  SecuredNats nats(/*tls=*/false);
  auto compute1 = nats.Connect("compute-1");
  auto conductor = nats.Connect("conductor");
  Counter reports, work1, stolen_work, replies;
  auto r = conductor->Subscribe("report.>", reports.Handler());
  REQUIRE(r.ok());
  auto w1 = compute1->Subscribe("work.compute-1", work1.Handler());
  REQUIRE(w1.ok());
  // Refused by the server (reported asynchronously): nothing is delivered.
  auto w2 = compute1->Subscribe("work.compute-2", stolen_work.Handler());
  auto rep = compute1->Subscribe("reply.api.>", replies.Handler());

  REQUIRE(compute1->Publish("report.compute-1", "mine").ok());
  (void)compute1->Publish("report.compute-2", "forged");  // refused by the server
  REQUIRE(conductor->Publish("work.compute-1", "build").ok());
  REQUIRE(conductor->Publish("work.compute-2", "build").ok());
  REQUIRE(WaitUntil([&] { return reports.size() == 1 && work1.size() == 1; }));
  auto api = nats.Connect("api");
  REQUIRE(api->Publish("query.compute-2", "q").ok());
  // A reply another host sends to the api: the api's, not compute-1's.
  auto compute2 = nats.Connect("compute-2");
  REQUIRE(compute2->Publish("reply.api.x.1", "answer").ok());
  Settle();
  CHECK(reports.size() == 1);
  {
    std::lock_guard<std::mutex> l(reports.mu);
    CHECK(reports.subjects == std::vector<std::string>{"report.compute-1"});
  }
  CHECK(stolen_work.size() == 0);
  CHECK(replies.size() == 0);
}

TEST_CASE("only api, scheduler and conductor may append to the log",
          "[nats][credentials]") {
  SecuredNats nats(/*tls=*/false);
  TempDir mirrors;
  // A compute host has no JetStream API: it cannot even open the log.
  auto compute_log = nats.Log("compute-1", mirrors.Sub("compute"));
  CHECK_FALSE(compute_log.ok());

  for (const char* role : {"api", "scheduler", "conductor"}) {
    auto log = nats.Log(role, mirrors.Sub(role));
    INFO(role << ": " << log.status().ToString());
    REQUIRE(log.ok());
    AppendResult r = testing::AppendOne(**log, std::string("instance/by-") + role, role);
    CHECK(r.last_seq.value() >= 1);
  }
  auto admin = nats.Log("admin", mirrors.Sub("admin"));
  REQUIRE(admin.ok());
  const Seq head = (*admin)->Head().value();
  CHECK(head.value() == 3);
  // Publishing straight into the stream's subjects, as a compute host: refused.
  auto compute1 = nats.Connect("compute-1");
  (void)compute1->Publish("ev.instance.forged", "not an event");
  Settle();
  CHECK((*admin)->Head().value() == head);
}

TEST_CASE("a role cannot read another role's inbox or a host's work",
          "[nats][credentials]") {
  SecuredNats nats(/*tls=*/false);
  auto scheduler = nats.Connect("scheduler");
  auto conductor = nats.Connect("conductor");
  Counter inbox, work;
  auto a = scheduler->Subscribe("_INBOX.api.>", inbox.Handler());
  auto b = scheduler->Subscribe("work.>", work.Handler());
  auto admin = nats.Connect("admin");
  REQUIRE(admin->Publish("_INBOX.api.abc", "secret").ok());
  REQUIRE(conductor->Publish("work.compute-1", "build").ok());
  Settle();
  CHECK(inbox.size() == 0);
  CHECK(work.size() == 0);
}

TEST_CASE("a client without a credential, or with an unknown one, is refused",
          "[nats][credentials]") {
  SecuredNats nats(/*tls=*/false);
  CHECK_FALSE(NewNatsBus(nats.server->url()).ok());
  NatsCredentialsOptions other;
  TempDir elsewhere;
  other.dir = elsewhere.Sub("creds");
  REQUIRE(WriteNatsCredentials(other).ok());
  NatsAuth stranger;
  stranger.nkey_seed_file = other.dir + "/admin.nk";
  CHECK_FALSE(NewNatsBus(nats.server->url(), stranger).ok());
}

TEST_CASE("the log and the bus work over TLS with the CA nats-credentials makes",
          "[nats][credentials]") {
  SecuredNats nats(/*tls=*/true);
  REQUIRE(nats.server->url().starts_with("tls://"));
  TempDir mirrors;
  auto log = nats.Log("api", mirrors.Sub("api"));
  INFO(log.status().ToString());
  REQUIRE(log.ok());
  testing::AppendOne(**log, "instance/over-tls", "tls");
  CHECK((*log)->Head().value().value() == 1);
  auto conductor = nats.Connect("conductor");
  auto compute1 = nats.Connect("compute-1");
  Counter work;
  auto sub = compute1->Subscribe("work.compute-1", work.Handler());
  REQUIRE(sub.ok());
  REQUIRE(conductor->Publish("work.compute-1", "build").ok());
  REQUIRE(WaitUntil([&] { return work.size() == 1; }));
  // Without the CA the server's certificate is not trusted.
  NatsAuth no_ca = nats.As("compute-1");
  no_ca.ca_file.clear();
  CHECK_FALSE(NewNatsBus(nats.server->url(), no_ca).ok());
}

}  // namespace
}  // namespace chronova
