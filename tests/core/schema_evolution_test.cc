// Schema evolution: a log written by an older chronova (tests/fixtures/events.log,
// checked in, holding host.registered at its retired schema 1) must replay
// through the upcasters to exactly the read models of the same history written
// today; and every event's stored shape is locked: changing a struct without a
// new schema number and an upcaster makes the old bytes undecodable here.
//
// A normal run only reads the fixture and compares. Rewriting it (only when adding
// an event type) is a step of its own that writes and checks nothing else:
//   CHRONOVA_WRITE_FIXTURES=1 build/tests/chronova_tests '[write-fixtures]'
// then run the tests again to compare against what was written.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <set>

#include "core/codec.h"
#include "core/event_codec.h"
#include "eventstore/rocksdb_event_log.h"
#include "projections/credentials_projection.h"
#include "projections/hosts_projection.h"
#include "projections/projection_runner.h"
#include "projections/read_models.h"
#include "tests/support/test_util.h"

namespace chronova::testing {
namespace {

const char* kFixture = CHRONOVA_SOURCE_DIR "/tests/fixtures/events.log";

// host.registered as schema 1 wrote it (frozen, like the upcaster's copy).
struct HostRegisteredV1 {
  HostName host;
  int32_t vcpus = 0, memory_mb = 0, disk_gb = 0;
  std::string availability_zone, hypervisor_type;
  double cpu_allocation_ratio = 0, ram_allocation_ratio = 0, disk_allocation_ratio = 0;
  template <class A>
  void serialize(A& ar) {
    ar(host, vcpus, memory_mb, disk_gb, availability_zone, hypervisor_type,
       cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio);
  }
};

// instance.spawned as schema 1 wrote it (frozen, like the upcaster's copy).
struct InstanceSpawnedV1 {
  HostName host;
  std::string hypervisor_name;
  template <class A>
  void serialize(A& ar) {
    ar(host, hypervisor_name);
  }
};

// instance.updated as schema 1 wrote it (before the description).
struct InstanceUpdatedV1 {
  bool has_name = false;
  std::string name;
  bool has_access_ipv4 = false;
  std::string access_ipv4;
  bool has_access_ipv6 = false;
  std::string access_ipv6;
  template <class A>
  void serialize(A& ar) {
    ar(has_name, name, has_access_ipv4, access_ipv4, has_access_ipv6, access_ipv6);
  }
};

// instance.updated as schema 2 wrote it (before key name, user data, certificates).
struct InstanceUpdatedV2 {
  bool has_name = false;
  std::string name;
  bool has_access_ipv4 = false;
  std::string access_ipv4;
  bool has_access_ipv6 = false;
  std::string access_ipv6;
  bool has_description = false;
  bool description_null = false;
  std::string description;
  template <class A>
  void serialize(A& ar) {
    ar(has_name, name, has_access_ipv4, access_ipv4, has_access_ipv6, access_ipv6,
       has_description, description_null, description);
  }
};

// instance.requested as schema 1 wrote it (before the requested host and node).
struct InstanceRequestedV1 {
  InstanceId instance_id;
  std::string name;
  ProjectId project_id;
  UserId user_id;
  FlavorSpec flavor;
  ImageId image_id;
  std::string availability_zone, key_name;
  std::map<std::string, std::string> metadata;
  std::string user_data, reservation_id;
  int32_t launch_index = 0;
  std::map<std::string, std::vector<std::string>> scheduler_hints;
  template <class A>
  void serialize(A& ar) {
    ar(instance_id, name, project_id, user_id, flavor, image_id, availability_zone,
       key_name, metadata, user_data, reservation_id, launch_index, scheduler_hints);
  }
};

// instance.resize_requested as schema 1 wrote it (before migration_type).
struct InstanceResizeRequestedV1 {
  std::string migration_id;
  FlavorSpec flavor;
  HostName source_host, dest_host;
  template <class A>
  void serialize(A& ar) {
    ar(migration_id, flavor, source_host, dest_host);
  }
};

// instance.resize_requested as schema 2 wrote it (before confirm_when_finished).
struct InstanceResizeRequestedV2 {
  std::string migration_id;
  FlavorSpec flavor;
  HostName source_host, dest_host;
  std::string migration_type;
  template <class A>
  void serialize(A& ar) {
    ar(migration_id, flavor, source_host, dest_host, migration_type);
  }
};

// instance.snapshot_requested as schema 1 wrote it (before backups).
struct InstanceSnapshotRequestedV1 {
  ImageId image_id;
  std::string name;
  template <class A>
  void serialize(A& ar) {
    ar(image_id, name);
  }
};

// instance.locked as schema 1 wrote it (before the reason).
struct InstanceLockedV1 {
  bool by_admin = false;
  template <class A>
  void serialize(A& ar) {
    ar(by_admin);
  }
};

// aggregate.created as schema 1 wrote it (before the uuid).
struct AggregateCreatedV1 {
  int64_t aggregate_id = 0;
  std::string name;
  std::string availability_zone;
  template <class A>
  void serialize(A& ar) {
    ar(aggregate_id, name, availability_zone);
  }
};

// The scripted history of the fixture: every event type at least once.
std::vector<Envelope> History() {
  std::vector<Envelope> out;
  std::map<std::string, uint64_t> versions;
  int64_t t = 1767225600000000;
  auto add = [&](const std::string& stream, std::string type, uint32_t schema,
                 std::string payload) {
    EventMeta meta{Timestamp{t += 1000}, RequestId("req-fixture"), Seq(),
                   Actor{UserId("alice"), ProjectId("demo"), {"member"}}};
    out.push_back(Envelope{Seq(out.size() + 1), StreamId(stream),
                           StreamVersion(++versions[stream]), std::move(type), schema,
                           meta, std::move(payload)});
  };
  auto ev = [&](const std::string& stream, const Event& e) {
    NewEvent ne = MakeNewEvent(e, EventMeta{});
    add(stream, ne.type, ne.schema, ne.payload);
  };
  HostRegisteredV1 old{HostName("hv1"), 8, 16384, 200, "nova", "QEMU", 16.0, 1.5, 1.0};
  add("host/hv1", "host.registered", 1, EncodePortable(old));
  FlavorSpec tiny{
      FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {{"hw:cpu_policy", "shared"}}};
  ev("flavor/1", FlavorCreated{tiny, true, "tiny"});
  ImageRegistered image;
  image.image_id = ImageId("img-1");
  image.name = "cirros";
  ev("image/img-1", image);
  ImageCreated created;
  created.image_id = ImageId("img-2");
  created.name = "uploaded";
  created.disk_format = "raw";
  created.container_format = "bare";
  created.owner = ProjectId("demo");
  created.tags = {"a"};
  created.properties = {{"os_distro", "cirros"}};
  ev("image/img-2", created);
  ev("image/img-2", ImageUploadStarted{});
  ev("image/img-2", ImageUploadFailed{"disk full"});
  ev("image/img-2", ImageUploadStarted{});
  ev("image/img-2", ImageActivated{5, "md5", "sha512", "sha"});
  ImageUpdated updated;
  updated.name = "renamed";
  updated.visibility = "private";
  updated.tags = {"a", "b"};
  ev("image/img-2", updated);
  ev("image/img-2", ImageDeleted{});
  for (const char* id : {"i-ok", "i-nohost", "i-fail"}) {
    InstanceRequested r;
    r.instance_id = InstanceId(id);
    r.name = std::string("vm-") + id;
    r.project_id = ProjectId("demo");
    r.user_id = UserId("alice");
    r.flavor = tiny;
    r.image_id = ImageId("img-1");
    r.metadata = {{"role", "web"}};
    ev(std::string("instance/") + id, r);
  }
  {
    InstanceRequestedV1 v1;
    v1.instance_id = InstanceId("i-v1");
    v1.name = "vm-v1";
    v1.project_id = ProjectId("demo");
    v1.user_id = UserId("alice");
    v1.flavor = tiny;
    v1.image_id = ImageId("img-1");
    v1.scheduler_hints = {{"group", {"g-0"}}};
    add("instance/i-v1", "instance.requested", 1, EncodePortable(v1));
  }
  ev("instance/i-nohost", InstanceSchedulingFailed{"No valid host was found. "});
  for (const char* id : {"i-ok", "i-fail"}) {
    ev("host/hv1", HostResourcesClaimed{InstanceId(id), 1, 512, 1});
    ev(std::string("instance/") + id, InstanceScheduled{HostName("hv1")});
    ev(std::string("instance/") + id, BuildStarted{HostName("hv1")});
  }
  add("instance/i-ok", "instance.spawned", 1,
      EncodePortable(InstanceSpawnedV1{HostName("hv1"), "instance-i-ok"}));
  add("instance/i-ok", "instance.updated", 1,
      EncodePortable(
          InstanceUpdatedV1{true, "vm-renamed", true, "192.0.2.7", false, ""}));
  add("instance/i-ok", "instance.updated", 2,
      EncodePortable(
          InstanceUpdatedV2{false, "", false, "", false, "", true, false, "web"}));
  ev("instance/i-ok", InstanceMetadataChanged{{{"tier", "gold"}}, {"role"}});
  ev("instance/i-fail", InstanceBuildFailed{HostName("hv1"), "libvirt: boom"});
  ev("host/hv1", HostResourcesReleased{InstanceId("i-fail")});
  add("instance/i-ok", "instance.locked", 1, EncodePortable(InstanceLockedV1{false}));
  ev("instance/i-ok", InstanceActionRequested{"stop", false});
  ev("instance/i-ok", InstanceActionCompleted{HostName("hv1"), "stop", 4});
  ev("instance/i-ok", InstanceActionRequested{"start", false});
  ev("instance/i-ok", InstanceActionFailed{HostName("hv1"), "start", "libvirt: no"});
  ev("instance/i-ok", InstanceUnlocked{});
  ev("instance/i-ok", InstanceStateReset{"error"});
  ev("instance/i-ok", InstanceStateReset{"active"});
  add("instance/i-ok", "instance.snapshot_requested", 1,
      EncodePortable(InstanceSnapshotRequestedV1{ImageId("img-snap-1"), "snap-1"}));
  ev("instance/i-ok", InstanceSnapshotCompleted{HostName("hv1"), ImageId("img-snap-1")});
  ev("instance/i-ok",
     InstanceSnapshotRequested{ImageId("img-snap-2"), "snap-2", true, "daily", 2});
  ev("instance/i-ok",
     InstanceSnapshotFailed{HostName("hv1"), ImageId("img-snap-2"), "qemu-img: no"});
  ev("instance/i-ok",
     InstanceRebuildRequested{ImageId("img-1"), "vm-new", true, {{"a", "b"}}});
  ev("instance/i-ok", InstanceRebuilt{HostName("hv1"), 1});
  ev("instance/i-ok", InstanceRescueRequested{ImageId("img-1")});
  ev("instance/i-ok", InstanceActionCompleted{HostName("hv1"), "rescue", 1});
  ev("instance/i-ok", InstanceActionRequested{"unrescue", false});
  ev("instance/i-ok", InstanceActionCompleted{HostName("hv1"), "unrescue", 1});
  {
    const FlavorSpec small{FlavorId("2"), "m1.small", 1, 2048, 20, 0, 0, {}};
    add("instance/i-ok", "instance.resize_requested", 1,
        EncodePortable(
            InstanceResizeRequestedV1{"mig-1", small, HostName("hv1"), HostName("hv1")}));
    ev("instance/i-ok", InstanceResizeFailed{HostName("hv1"), "qemu-img: no"});
    add("instance/i-ok", "instance.resize_requested", 2,
        EncodePortable(InstanceResizeRequestedV2{"mig-2", small, HostName("hv1"),
                                                 HostName("hv1"), "resize"}));
    ev("instance/i-ok", InstanceResizeFinished{HostName("hv1"), 1});
    ev("instance/i-ok", InstanceResizeRevertRequested{});
    ev("instance/i-ok", InstanceResizeReverted{HostName("hv1"), 1});
    ev("instance/i-ok", InstanceResizeRequested{"mig-3", small, HostName("hv1"),
                                                HostName("hv1"), "resize", true});
    ev("instance/i-ok", InstanceResizeFinished{HostName("hv1"), 1});
    ev("instance/i-ok", InstanceResizeConfirmed{});
  }
  ev("instance/i-ok",
     InstanceConsoleAuthorized{
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "novnc",
         HostName("hv1"), "127.0.0.1", 5900, "", Timestamp{1700000600000000}});
  ev("instance/i-fail", InstanceRebuildRequested{ImageId("img-1"), "", false, {}});
  ev("instance/i-fail", InstanceRebuildFailed{HostName("hv1"), "libvirt: no disk"});
  ev("instance/i-ok", InstanceDeleteRequested{});
  ev("instance/i-ok", InstanceDeleted{HostName("hv1")});
  ev("host/hv1", HostResourcesReleased{InstanceId("i-ok")});
  ev("flavor/1", FlavorAccessAdded{ProjectId("demo")});
  ev("flavor/1", FlavorExtraSpecsSet{{{"hw:mem_page_size", "large"}}});
  ev("flavor/1", FlavorExtraSpecDeleted{"hw:mem_page_size"});
  ev("flavor/1", FlavorDescriptionSet{"the smallest"});
  ev("flavor/1", FlavorAccessRemoved{ProjectId("demo")});
  ev("flavor/1", FlavorDeleted{});
  ev("token/aud-1", TokenRevoked{"aud-1", UserId("u-1"), Timestamp{1767229200000000}});
  ev("host/hv1", HostServiceDisabled{"maintenance"});
  ev("host/hv1", HostServiceEnabled{});
  add("aggregate/1", "aggregate.created", 1,
      EncodePortable(AggregateCreatedV1{1, "rack1", "az1"}));
  ev("aggregate/1", AggregateUpdated{"rack-one", "az1"});
  ev("aggregate/1", AggregateMetadataSet{{{"ssd", "true"}}, {}});
  ev("aggregate/1", AggregateHostAdded{HostName("hv1")});
  ev("aggregate/1", AggregateHostRemoved{HostName("hv1")});
  ev("aggregate/1", AggregateDeleted{});
  ev("keypair/alice",
     KeypairCreated{UserId("alice"), "k1", "ssh", "ssh-ed25519 AAAA k", "f5:aa"});
  ev("keypair/alice", KeypairTagsSet{"k1", {{"env", "prod"}}});
  ev("keypair/alice", KeypairDeleted{"k1"});
  ev("quota/demo", QuotaLimitsSet{ProjectId("demo"), UserId(), {{"instances", 5}}});
  ev("quota/demo", QuotaLimitsDeleted{ProjectId("demo"), UserId()});
  ev("quota-class/default", QuotaClassSet{"default", {{"cores", 40}}});
  ev("quota-usage/demo",
     QuotaUsageReserved{
         ProjectId("demo"), UserId("alice"), {InstanceId("i-ok")}, 1, 512});
  ev("instance/i-fail",
     InstancePowerStateChanged{HostName("hv1"), 4, "compute host restart"});
  ev("server-groups/demo",
     ServerGroupCreated{"g-1", "web", UserId("alice"), "anti-affinity", 2});
  ev("server-groups/demo",
     ServerGroupMemberScheduled{"g-1", InstanceId("i-ok"), HostName("hv1")});
  ev("server-groups/demo", ServerGroupDeleted{"g-1"});
  ev("instance/i-ok", InstanceTagsSet{{"prod", "web"}});
  ev("instance/i-fail", InstanceCrashDumpRequested{});
  ev("instance/i-fail", InstanceCrashDumpFinished{HostName("hv1"), ""});
  ev("host/hv1", HostForcedDownSet{true});
  ev("host/hv1", HostForcedDownSet{false});
  ev("instance/i-ok", InstanceExternalEventReceived{"network-changed", "completed", ""});
  ev("instance/i-ok", InstanceDiskConfigSet{true});
  ev("aggregate/2",
     AggregateCreated{2, "rack2", "", "5f2b7c3e-1d4a-4e8b-9c6d-0a1b2c3d4e5f"});
  {
    InstanceUpdated rebuilt;
    rebuilt.has_key_name = true;
    rebuilt.key_name = "k1";
    rebuilt.has_user_data = true;
    rebuilt.user_data = "ZWNobyBoaQ==";
    rebuilt.has_trusted_certs = true;
    rebuilt.trusted_certs = {"cert-1"};
    ev("instance/i-fail", rebuilt);
  }
  ev("instance/i-fail", InstanceLocked{true, "maintenance"});
  {
    // Shelve, unshelve and deferred delete (one instance.spawned stays in the
    // log, of schema 1: a state reset makes this one active).
    InstanceRequested r;
    r.instance_id = InstanceId("i-shelf");
    r.name = "vm-shelf";
    r.project_id = ProjectId("demo");
    r.user_id = UserId("alice");
    r.flavor = tiny;
    r.image_id = ImageId("img-1");
    const std::string i = "instance/i-shelf";
    const HostName hv1("hv1");
    ev(i, r);
    ev("host/hv1", HostResourcesClaimed{r.instance_id, 1, 512, 1});
    ev(i, InstanceScheduled{hv1});
    ev(i, InstanceStateReset{"active"});
    ev(i, InstanceShelveRequested{ImageId("img-shelf-1"), true});
    ev(i, InstanceShelved{hv1, true, 0});
    ev("host/hv1", HostResourcesReleased{r.instance_id});
    ev(i, InstanceUnshelveRequested{true, "az1"});
    ev(i, InstanceSchedulingFailed{"No valid host was found. "});
    ev(i, InstanceUnshelveRequested{false, ""});
    ev("host/hv1", HostResourcesClaimed{r.instance_id, 1, 512, 1});
    ev(i, InstanceScheduled{hv1});
    ev(i, InstanceUnshelveFailed{hv1, "libvirt: no"});
    ev("host/hv1", HostResourcesReleased{r.instance_id});
    ev(i, InstanceUnshelveRequested{false, ""});
    ev("host/hv1", HostResourcesClaimed{r.instance_id, 1, 512, 1});
    ev(i, InstanceScheduled{hv1});
    ev(i, InstanceUnshelved{hv1, 1, "instance-i-shelf", {{"vnc", "127.0.0.1:5901"}}});
    ev(i, InstanceShelveRequested{ImageId("img-shelf-2"), false});
    ev(i, InstanceShelveFailed{hv1, 1, "qemu-img: no"});
    ev(i, InstanceShelveRequested{ImageId("img-shelf-3"), false});
    ev(i, InstanceShelved{hv1, false, 4});
    ev(i, InstanceUnshelveRequested{false, ""});
    ev(i, InstanceUnshelved{hv1, 1, "", {}});
    ev(i, InstanceSoftDeleteRequested{});
    ev(i, InstanceSoftDeleted{hv1, 4});
    ev(i, InstanceRestoreRequested{});
    ev(i, InstanceRestored{hv1, 1});
    ev(i, InstanceShelveRequested{ImageId("img-shelf-4"), false});
    ev(i, InstanceShelved{hv1, false, 4});
    ev(i, InstanceShelveOffloadRequested{});
    ev(i, InstanceShelved{hv1, true, 0});
    ev("host/hv1", HostResourcesReleased{r.instance_id});
  }
  {
    const std::string id = Ec2CredentialId("ak-1");
    ev("credential/" + id, CredentialCreated{id, UserId("alice"), ProjectId("demo"),
                                             "ec2", "ak-1", "c2VhbGVkLXNlY3JldA"});
    ev("credential/" + id, CredentialDeleted{});
  }
  ev("certificate/5e2f",
     CertificateIssued{"5e2f", UserId("alice"), ProjectId("demo"), "/O=demo/CN=alice-1",
                       "9c1d", Timestamp{1700000000000000}, Timestamp{1731536000000000}});
  return out;
}

std::vector<Envelope> LoadFixture() {
  std::vector<Envelope> events;
  Status st = DecodePortable(ReadFile(kFixture), &events);
  INFO(st.ToString());
  REQUIRE(st.ok());
  REQUIRE_FALSE(events.empty());
  return events;
}

// Folds `events` (stored as they are) into fresh read models; returns the digest.
std::string Replay(const TempDir& dir, const std::string& name,
                   std::vector<Envelope> events,
                   std::optional<HostState>* host = nullptr) {
  auto log = OpenTestLog(dir.Sub(name + "-log"));
  REQUIRE(log->Ingest(1, std::move(events)).ok());
  ReadModels models;
  ProjectionStoreOptions so;
  so.path = dir.Sub(name + "-store");
  auto store = ProjectionStore::Open(so, models.All()).value();
  Status st = CatchUp(*log, *store);
  INFO(st.ToString());
  REQUIRE(st.ok());
  if (host) {
    auto reader = store->Reader(HostsProjection::kName).value();
    *host = HostsView(reader.get()).Get(HostName("hv1")).value();
  }
  return store->Digest().value();
}

}  // namespace

// Hidden (never run by ctest or a plain run), and refused without the
// environment variable as well, so the fixture is never rewritten by accident.
TEST_CASE("writing the fixture log from today's scripted history",
          "[.][write-fixtures]") {
  if (!std::getenv("CHRONOVA_WRITE_FIXTURES")) {
    FAIL("set CHRONOVA_WRITE_FIXTURES=1 to rewrite " << kFixture);
  }
  {
    std::ofstream f(kFixture, std::ios::binary | std::ios::trunc);
    f << EncodePortable(History());
    REQUIRE(f.good());
  }
  WARN("wrote " << kFixture << "; run the tests again to compare against it");
}

TEST_CASE("the fixture log holds every event type and a retired schema") {
  std::set<std::string> types;
  bool retired = false;
  bool spawned_v1 = false;
  bool updated_v1 = false;
  for (const Envelope& e : LoadFixture()) {
    types.insert(e.type);
    retired |= e.type == HostRegistered::kType && e.schema < HostRegistered::kSchema;
    spawned_v1 |= e.type == InstanceSpawned::kType && e.schema == 1;
    updated_v1 |= e.type == InstanceUpdated::kType && e.schema == 1;
  }
  CHECK(types.size() == std::variant_size_v<Event>);
  CHECK(retired);
  CHECK(spawned_v1);
  CHECK(updated_v1);
}

TEST_CASE("instance.spawned of schema 1 reads as schema 2 with no consoles recorded") {
  for (const Envelope& e : LoadFixture()) {
    if (e.type != InstanceSpawned::kType) continue;
    REQUIRE(e.schema == 1);
    Event decoded = DecodeEvent(e).value();
    const auto& s = std::get<InstanceSpawned>(decoded);
    CHECK(s.host.str() == "hv1");
    CHECK(s.hypervisor_name == "instance-i-ok");
    CHECK(s.consoles.empty());
  }
}

TEST_CASE(
    "every stored event still decodes: shapes change only with a schema and an "
    "upcaster") {
  for (const Envelope& e : LoadFixture()) {
    Result<Event> decoded = DecodeEvent(e);
    INFO(e.type << " schema " << e.schema << ": " << decoded.status().ToString());
    REQUIRE(decoded.ok());
    // A current-schema payload re-encodes to the very bytes that were stored.
    NewEvent again = MakeNewEvent(*decoded, e.meta);
    if (e.schema == again.schema) CHECK(again.payload == e.payload);
  }
}

TEST_CASE("an old-schema log replays to the same read models as its upcast copy") {
  TempDir dir;
  std::vector<Envelope> old_log = LoadFixture();
  std::vector<Envelope> upcast;
  for (const Envelope& e : old_log) {
    NewEvent ne = MakeNewEvent(DecodeEvent(e).value(), e.meta);
    upcast.push_back(
        Envelope{e.seq, e.stream, e.version, ne.type, ne.schema, e.meta, ne.payload});
  }
  CHECK(upcast[0].schema == HostRegistered::kSchema);
  std::optional<HostState> host;
  std::string from_old = Replay(dir, "old", old_log, &host);
  CHECK(from_old == Replay(dir, "new", upcast));
  REQUIRE(host.has_value());
  CHECK(host->hypervisor_hostname == "hv1");  // what the 1 → 2 upcaster fills in
  CHECK(host->used == Claim{});
}

TEST_CASE("a retired schema without its upcaster is refused, not misread") {
  std::vector<Envelope> old_log = LoadFixture();
  UpcasterSet none;
  Result<Event> r = DecodeEvent(old_log[0], none);
  REQUIRE(r.status().IsCorruption());
  CHECK(r.status().message().find("seq 1") != std::string::npos);
}

TEST_CASE(
    "instance.updated of schema 1 reads as schema 2 with the description untouched") {
  bool seen = false;
  for (const Envelope& e : LoadFixture()) {
    if (e.type != InstanceUpdated::kType || e.schema != 1) continue;
    Result<Event> decoded = DecodeEvent(e);
    REQUIRE(decoded.ok());
    const auto& u = std::get<InstanceUpdated>(*decoded);
    CHECK(u.has_name);
    CHECK(u.name == "vm-renamed");
    CHECK(u.access_ipv4 == "192.0.2.7");
    CHECK_FALSE(u.has_description);
    seen = true;
  }
  CHECK(seen);
}

TEST_CASE(
    "instance.updated of schema 2 and instance.locked of schema 1 read as today's with "
    "nothing new set") {
  bool updated = false, locked = false;
  for (const Envelope& e : LoadFixture()) {
    if (e.type == InstanceUpdated::kType && e.schema == 2) {
      const auto u = std::get<InstanceUpdated>(DecodeEvent(e).value());
      CHECK(u.has_description);
      CHECK(u.description == "web");
      CHECK_FALSE(u.has_key_name);
      CHECK_FALSE(u.has_user_data);
      CHECK_FALSE(u.has_trusted_certs);
      updated = true;
    }
    if (e.type == InstanceLocked::kType && e.schema == 1) {
      const auto l = std::get<InstanceLocked>(DecodeEvent(e).value());
      CHECK_FALSE(l.by_admin);
      CHECK(l.reason.empty());
      locked = true;
    }
  }
  CHECK(updated);
  CHECK(locked);
}

TEST_CASE("instance.snapshot_requested of schema 1 reads as schema 2: not a backup") {
  bool seen = false;
  for (const Envelope& e : LoadFixture()) {
    if (e.type != InstanceSnapshotRequested::kType || e.schema != 1) continue;
    const auto r = std::get<InstanceSnapshotRequested>(DecodeEvent(e).value());
    CHECK(r.image_id.str() == "img-snap-1");
    CHECK_FALSE(r.backup);
    seen = true;
  }
  CHECK(seen);
}

TEST_CASE("instance.resize_requested of schema 1 reads as schema 2: a resize") {
  bool seen = false;
  for (const Envelope& e : LoadFixture()) {
    if (e.type != InstanceResizeRequested::kType || e.schema != 1) continue;
    const auto r = std::get<InstanceResizeRequested>(DecodeEvent(e).value());
    CHECK(r.migration_id == "mig-1");
    CHECK(r.migration_type == "resize");
    seen = true;
  }
  CHECK(seen);
}

TEST_CASE("instance.requested of schema 1 reads as schema 2 with no host asked for") {
  bool seen = false;
  for (const Envelope& e : LoadFixture()) {
    if (e.type != InstanceRequested::kType || e.schema != 1) continue;
    const auto r = std::get<InstanceRequested>(DecodeEvent(e).value());
    CHECK(r.instance_id.str() == "i-v1");
    CHECK(r.scheduler_hints.at("group").front() == "g-0");
    CHECK(r.requested_host.empty());
    CHECK(r.requested_node.empty());
    seen = true;
  }
  CHECK(seen);
}

TEST_CASE(
    "aggregate.created of schema 1 reads as schema 2 with a uuid derived from its id") {
  bool seen = false;
  for (const Envelope& e : LoadFixture()) {
    if (e.type != AggregateCreated::kType || e.schema != 1) continue;
    Result<Event> decoded = DecodeEvent(e);
    REQUIRE(decoded.ok());
    const auto& a = std::get<AggregateCreated>(*decoded);
    CHECK(a.aggregate_id == 1);
    CHECK(a.name == "rack1");
    CHECK(a.uuid == "00000000-0000-4000-8000-000000000001");
    seen = true;
  }
  CHECK(seen);
  CHECK(DerivedAggregateUuid(0xabcdef) == "00000000-0000-4000-8000-000000abcdef");
}

}  // namespace chronova::testing
