// The smaller Compute API resources over real HTTP: /extensions,
// os-server-external-events, os-server-password, os-instance_usage_audit_log
// and OS-DCF:diskConfig (docs/api.md).
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>

#include "api/http/microversion.h"
#include "api/image/image_service.h"
#include "core/event_codec.h"
#include "projections/projection_store.h"
#include "tests/support/api_cloud.h"
#include "tests/support/test_util.h"

namespace chronova::testing {

TEST_CASE("extensions: the ones chronova serves, each by its alias") {
  ApiCloud cloud;
  Answer list = cloud.Send("GET", "/extensions");
  REQUIRE(list.status == 200);
  bool hosts = false;
  for (Json e : list.json["extensions"].items()) {
    hosts |= e["name"].as_string() == "Hosts";
    CHECK(e["links"].size() == 0);
    CHECK_FALSE(e["alias"].as_string().empty());
  }
  CHECK(hosts);
  Answer one = cloud.Send("GET", "/extensions/os-keypairs");
  REQUIRE(one.status == 200);
  CHECK(one.json["extension"]["name"].as_string() == "Keypairs");
  // Nothing for what chronova does not serve.
  CHECK(cloud.Send("GET", "/extensions/os-floating-ips").status == 404);
}

TEST_CASE("os-server-external-events: recorded per server, each event answered") {
  ApiCloud cloud;
  const std::string id = cloud.Boot("events");
  const std::string missing = "6f8e2a1c-3b4d-4e5f-8a9b-0c1d2e3f4a5b";
  const std::string body = R"({"events": [
      {"name": "network-changed", "server_uuid": ")" +
                           id + R"("},
      {"name": "network-vif-plugged", "server_uuid": ")" +
                           id + R"(", "tag": "port-1", "status": "in-progress"},
      {"name": "network-vif-plugged", "server_uuid": ")" +
                           missing + R"("}]})";
  CHECK(cloud.Send("POST", "/os-server-external-events", ApiCloud::kMemberToken, body)
            .status == 403);
  Answer a =
      cloud.Send("POST", "/os-server-external-events", ApiCloud::kAdminToken, body);
  INFO(a.body);
  REQUIRE(a.status == 207);  // one of them failed
  std::vector<Json> events = a.json["events"].items();
  REQUIRE(events.size() == 3);
  CHECK(events[0]["code"].as_int() == 200);
  CHECK(events[0]["status"].as_string() == "completed");
  CHECK(events[1]["code"].as_int() == 200);
  CHECK(events[1]["tag"].as_string() == "port-1");
  CHECK(events[2]["code"].as_int() == 404);
  CHECK(events[2]["status"].as_string() == "failed");

  // Both accepted events are on the server's stream, with what was sent.
  std::vector<std::string> recorded;
  for (const Envelope& e : ReadAll(*cloud.node->log())) {
    if (e.type != InstanceExternalEventReceived::kType) continue;
    CHECK(e.stream.str() == "instance/" + id);
    Result<Event> decoded = DecodeEvent(e);
    REQUIRE(decoded.ok());
    const auto& got = std::get<InstanceExternalEventReceived>(*decoded);
    recorded.push_back(got.name + "/" + got.status + "/" + got.tag);
  }
  CHECK(recorded == std::vector<std::string>{"network-changed/completed/",
                                             "network-vif-plugged/in-progress/port-1"});

  // All accepted: 200.
  CHECK(cloud
            .Send("POST", "/os-server-external-events", ApiCloud::kAdminToken,
                  R"({"events": [{"name": "network-changed", "server_uuid": ")" + id +
                      R"("}]})")
            .status == 200);
  // The schema: a known name, a uuid, nothing else, at least one event.
  for (const std::string& bad :
       {std::string(R"({"events": []})"),
        R"({"events": [{"name": "reboot", "server_uuid": ")" + id + R"("}]})",
        std::string(R"({"events": [{"name": "network-changed", "server_uuid": "x"}]})"),
        R"({"events": [{"name": "network-changed", "server_uuid": ")" + id +
            R"(", "extra": 1}]})",
        R"({"events": [{"name": "volume-extended", "server_uuid": ")" + id + R"("}]})"}) {
    INFO(bad);
    CHECK(cloud.Send("POST", "/os-server-external-events", ApiCloud::kAdminToken, bad)
              .status == 400);
  }
  // volume-extended from 2.51, and only with a tag (the volume).
  Answer untagged =
      At(cloud, "2.51", "POST", "/os-server-external-events", ApiCloud::kAdminToken,
         R"({"events": [{"name": "volume-extended", "server_uuid": ")" + id + R"("}]})");
  if (kMaxComputeVersion >= ApiVersion{2, 51}) {
    CHECK(untagged.status == 207);
    CHECK(Json(untagged.json["events"].items()[0])["code"].as_int() == 400);
  } else {
    CHECK(untagged.status == 406);
  }
}

TEST_CASE("os-server-password: nothing was posted, so nothing to show or clear") {
  ApiCloud cloud;
  const std::string id = cloud.Boot("pw");
  Answer shown = cloud.Send("GET", "/servers/" + id + "/os-server-password");
  REQUIRE(shown.status == 200);
  CHECK(shown.json["password"].as_string().empty());
  CHECK(cloud.Send("DELETE", "/servers/" + id + "/os-server-password").status == 204);
  CHECK(
      cloud
          .Send("GET", "/servers/6f8e2a1c-3b4d-4e5f-8a9b-0c1d2e3f4a5b/os-server-password")
          .status == 404);
}

TEST_CASE(
    "os-certificates: a certificate for the caller signed by the cloud's CA, recorded "
    "without its key; the root; gone from 2.53") {
  ApiCloud cloud;
  Answer created = cloud.Send("POST", "/os-certificates");
  INFO(created.body);
  REQUIRE(created.status == 200);
  const std::string cert_pem = created.json["certificate"]["data"].as_string();
  const std::string key_pem = created.json["certificate"]["private_key"].as_string();
  CHECK(cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
  CHECK(key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
  Answer root = cloud.Send("GET", "/os-certificates/root");
  INFO(root.body);
  REQUIRE(root.status == 200);
  CHECK(root.json["certificate"]["private_key"].is_null());
  const std::string root_pem = root.json["certificate"]["data"].as_string();

  // The certificate is signed by the root, for the caller, and its key is its own.
  auto load_cert = [](const std::string& pem) {
    BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    return x;
  };
  X509* cert = load_cert(cert_pem);
  X509* ca = load_cert(root_pem);
  REQUIRE(cert != nullptr);
  REQUIRE(ca != nullptr);
  EVP_PKEY* ca_key = X509_get0_pubkey(ca);
  CHECK(X509_verify(cert, ca_key) == 1);
  BIO* kb = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  BIO_free(kb);
  REQUIRE(key != nullptr);
  CHECK(X509_check_private_key(cert, key) == 1);
  char subject[256];
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
  CHECK(std::string(subject).starts_with("/O=demo/CN=alice-"));
  EVP_PKEY_free(key);
  X509_free(cert);
  X509_free(ca);

  // Recorded: the certificate's facts, never its key.
  bool recorded = false;
  for (const Envelope& e : ReadAll(*cloud.node->log())) {
    if (e.type != CertificateIssued::kType) continue;
    recorded = true;
    CHECK(e.payload.find("PRIVATE KEY") == std::string::npos);
    auto issued = std::get<CertificateIssued>(DecodeEvent(e).value());
    CHECK(issued.user_id == UserId("alice"));
    CHECK(issued.subject.starts_with("/O=demo/CN=alice-"));
  }
  CHECK(recorded);

  CHECK(cloud.Send("GET", "/os-certificates/other").status == 501);
  CHECK(At(cloud, "2.52", "GET", "/os-certificates/root").status == 200);
  CHECK(At(cloud, "2.53", "GET", "/os-certificates/root").status == 404);
  CHECK(At(cloud, "2.53", "POST", "/os-certificates").status == 404);
}

TEST_CASE("os-instance_usage_audit_log: no audit runs, every compute host not run") {
  ApiCloud cloud;
  CHECK(cloud.Send("GET", "/os-instance_usage_audit_log").status == 403);
  Answer all = cloud.Send("GET", "/os-instance_usage_audit_log", ApiCloud::kAdminToken);
  INFO(all.body);
  REQUIRE(all.status == 200);
  Json log = all.json["instance_usage_audit_logs"];
  CHECK(log["num_hosts"].as_int() >= 1);
  CHECK(log["num_hosts_not_run"].as_int() == log["num_hosts"].as_int());
  CHECK(log["hosts_not_run"].size() == static_cast<size_t>(log["num_hosts"].as_int()));
  CHECK(log["overall_status"].as_string().find("hosts done. 0 errors.") !=
        std::string::npos);

  Answer before = cloud.Send("GET", "/os-instance_usage_audit_log/2026-03-15%2010:00:00",
                             ApiCloud::kAdminToken);
  REQUIRE(before.status == 200);
  CHECK(before.json["instance_usage_audit_log"]["period_beginning"].as_string() ==
        "2026-02-01 00:00:00");
  CHECK(before.json["instance_usage_audit_log"]["period_ending"].as_string() ==
        "2026-03-01 00:00:00");
  Answer january =
      cloud.Send("GET", "/os-instance_usage_audit_log/2026-01-02%2000:00:00.5",
                 ApiCloud::kAdminToken);
  CHECK(january.json["instance_usage_audit_log"]["period_beginning"].as_string() ==
        "2025-12-01 00:00:00");
  CHECK(cloud.Send("GET", "/os-instance_usage_audit_log/yesterday", ApiCloud::kAdminToken)
            .status == 400);
}

TEST_CASE("OS-DCF:diskConfig: chosen at create, changed by update and rebuild") {
  ApiCloud cloud;
  auto create = [&](const std::string& extra) {
    return cloud.Send("POST", "/servers", ApiCloud::kMemberToken,
                      R"({"server": {"name": "dc", "flavorRef": "1", "imageRef": ")" +
                          std::string(kDemoImageId) + "\"" + extra + "}}");
  };
  Answer automatic = create(R"(, "OS-DCF:diskConfig": "AUTO")");
  REQUIRE(automatic.status == 202);
  CHECK(automatic.json["server"]["OS-DCF:diskConfig"].as_string() == "AUTO");
  const std::string id = automatic.json["server"]["id"].as_string();
  CHECK(cloud.WaitStatus(id, "ACTIVE")["OS-DCF:diskConfig"].as_string() == "AUTO");
  // Not given: the image's auto_disk_config property decides (none: MANUAL).
  Answer manual = create("");
  REQUIRE(manual.status == 202);
  CHECK(manual.json["server"]["OS-DCF:diskConfig"].as_string() == "MANUAL");
  CHECK(create(R"(, "OS-DCF:diskConfig": "SOMETIMES")").status == 400);

  Answer updated = cloud.Send("PUT", "/servers/" + id, ApiCloud::kMemberToken,
                              R"({"server": {"OS-DCF:diskConfig": "MANUAL"}})");
  REQUIRE(updated.status == 200);
  CHECK(updated.json["server"]["OS-DCF:diskConfig"].as_string() == "MANUAL");
  Answer rebuilt =
      cloud.Action(id, R"({"rebuild": {"imageRef": ")" + std::string(kDemoImageId) +
                           R"(", "OS-DCF:diskConfig": "AUTO"}})");
  REQUIRE(rebuilt.status == 202);
  CHECK(rebuilt.json["server"]["OS-DCF:diskConfig"].as_string() == "AUTO");
  CHECK(cloud.WaitStatus(id, "ACTIVE")["OS-DCF:diskConfig"].as_string() == "AUTO");

  // An image that disables automatic disk resizing refuses AUTO.
  REQUIRE(cloud
              .Send("POST", std::string("/images/") + kDemoImageId + "/metadata",
                    ApiCloud::kAdminToken,
                    R"({"metadata": {"auto_disk_config": "Disabled"}})")
              .status == 200);
  Answer refused = create(R"(, "OS-DCF:diskConfig": "AUTO")");
  CHECK(refused.status == 400);
  CHECK(refused.body.find("has automatic disk resize disabled") != std::string::npos);
  CHECK(create("").json["server"]["OS-DCF:diskConfig"].as_string() == "MANUAL");
}

}  // namespace chronova::testing

namespace chronova::testing {

TEST_CASE("createBackup: backups of a type beyond the rotation go, oldest first") {
  ApiCloud cloud;
  const std::string id = cloud.Boot("backed-up");
  const std::string action = "/servers/" + id + "/action";
  auto backup = [&](const std::string& name, const std::string& version) {
    Answer a = At(cloud, version, "POST", action, ApiCloud::kMemberToken,
                  R"({"createBackup": {"name": ")" + name +
                      R"(", "backup_type": "daily", "rotation": 2}})");
    INFO(a.body);
    REQUIRE(a.status == 202);
    cloud.WaitStatus(id, "ACTIVE");
    return a;
  };
  // Another project's image that claims to be one of this server's backups:
  // never counted, never deleted.
  NewImage planted;
  planted.name = "planted";
  planted.properties = {
      {"image_type", "backup"}, {"backup_type", "daily"}, {"instance_uuid", id}};
  Result<ImageRecord> other =
      cloud.node->image()->Create(MemberContext("mallory", "elsewhere"), planted);
  REQUIRE(other.ok());
  Answer first = backup("b1", "2.1");
  REQUIRE(first.headers.count("location") == 1);
  const std::string& location = first.headers.at("location");
  const std::string b1 = location.substr(location.rfind('/') + 1);
  const std::string b2 = backup("b2", "2.45").json["image_id"].as_string();
  Answer image = cloud.Send("GET", "/images/" + b1);
  REQUIRE(image.status == 200);
  CHECK(image.json["image"]["metadata"]["image_type"].as_string() == "backup");
  CHECK(image.json["image"]["metadata"]["backup_type"].as_string() == "daily");
  CHECK(image.json["image"]["metadata"]["instance_uuid"].as_string() == id);
  const std::string b3 = backup("b3", "2.45").json["image_id"].as_string();
  // The third upload rotated the first away; two stay.
  CHECK(cloud.Send("GET", "/images/" + b1).status == 404);
  CHECK(cloud.Send("GET", "/images/" + b2).status == 200);
  CHECK(cloud.Send("GET", "/images/" + b3).status == 200);
  // A snapshot is not a backup: never rotated.
  Answer snap = At(cloud, "2.45", "POST", action, ApiCloud::kMemberToken,
                   R"({"createImage": {"name": "snap"}})");
  REQUIRE(snap.status == 202);
  cloud.WaitStatus(id, "ACTIVE");
  backup("b4", "2.45");
  CHECK(cloud.Send("GET", "/images/" + b2).status == 404);
  CHECK(cloud.Send("GET", "/images/" + snap.json["image_id"].as_string()).status == 200);
  REQUIRE(cloud.node->image()
              ->Get(MemberContext("mallory", "elsewhere"), other->image.image_id)
              .ok());
  // Nova's schema: the three are required, rotation a non-negative integer.
  CHECK(cloud.Action(id, R"({"createBackup": {"name": "x", "backup_type": "daily"}})")
            .status == 400);
  CHECK(cloud
            .Action(id, R"({"createBackup": {"name": "x", "backup_type": "daily",
                                              "rotation": -1}})")
            .status == 400);
  CHECK(cloud
            .Action(id, R"({"createBackup": {"name": "x", "backup_type": "daily",
                                              "rotation": 1, "extra": 1}})")
            .status == 400);
  Answer actions = cloud.Send("GET", "/servers/" + id + "/os-instance-actions");
  bool listed = false;
  for (Json a : actions.json["instanceActions"].items()) {
    listed |= a["action"].as_string() == "createBackup";
  }
  CHECK(listed);
}

}  // namespace chronova::testing

namespace chronova::testing {

TEST_CASE("changePassword: Nova's libvirt answer for a guest without the agent") {
  ApiCloud cloud;
  const std::string id = cloud.Boot("no-agent");
  const std::string change = R"({"changePassword": {"adminPass": "s3cret"}})";
  Answer active = cloud.Action(id, change);
  CHECK(active.status == 409);
  CHECK(Message(active) == "QEMU guest agent is not enabled");
  CHECK(cloud.Action(id, R"({"changePassword": {}})").status == 400);
  CHECK(cloud.Action(id, R"({"changePassword": {"adminPass": 1}})").status == 400);
  CHECK(cloud.Action(id, R"({"changePassword": {"adminPass": "x", "more": 1}})").status ==
        400);
  CHECK(cloud
            .Send("POST", "/servers/6f8e2a1c-3b4d-4e5f-8a9b-0c1d2e3f4a5b/action",
                  ApiCloud::kMemberToken, change)
            .status == 404);
  REQUIRE(cloud.Action(id, R"({"os-stop": null})").status == 202);
  cloud.WaitStatus(id, "SHUTOFF");
  Answer stopped = cloud.Action(id, change);
  CHECK(stopped.status == 409);
  CHECK(Message(stopped) ==
        "Cannot 'changePassword' instance " + id + " while it is in vm_state stopped");
  REQUIRE(cloud.Action(id, R"({"lock": null})", ApiCloud::kAdminToken).status == 202);
  CHECK(Message(cloud.Action(id, change)) == "Instance " + id + " is locked");
}

}  // namespace chronova::testing
