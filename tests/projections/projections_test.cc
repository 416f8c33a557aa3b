// projections/: the store's contract (atomic, idempotent, refuses gaps) and the
// servers and hosts read models, on a real RocksDB log.
#include <rocksdb/db.h>

#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "core/instance_decider.h"
#include "eventstore/rocksdb_event_log.h"
#include "projections/hosts_projection.h"
#include "projections/projection_runner.h"
#include "projections/record_cache.h"
#include "projections/servers_projection.h"
#include "tests/support/test_util.h"

namespace chronova::testing {
namespace {

// A log plus a set of read models that can be opened any number of times.
struct Fixture {
  TempDir dir;
  std::unique_ptr<RocksDbEventLog> log;
  ServersProjection servers;
  HostsProjection hosts;
  int counter = 0;

  Fixture() {
    RocksDbLogOptions o;
    o.path = dir.Sub("log");
    o.sync = false;
    log = std::move(RocksDbEventLog::Open(o)).value();
  }
  std::unique_ptr<ProjectionStore> OpenStore(const std::string& name) {
    ProjectionStoreOptions o;
    o.path = dir.Sub(name);
    auto r = ProjectionStore::Open(o, {&servers, &hosts});
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    return std::move(r).value();
  }
  // Appends an event of a type no binary knows to `stream`.
  void AppendUndecodable(const StreamId& stream) {
    AppendRequest bad;
    bad.stream = stream;
    bad.key = IdempotencyKey("bogus-" + stream.str());
    bad.events.push_back(NewEvent{"instance.teleported", 1, EventMeta{}, "??"});
    REQUIRE(log->Append(bad).ok());
  }
  // Decides `cmd` against the stream's current state and appends the result.
  template <typename Cmd>
  Status Run(const InstanceId& id, const Cmd& cmd) {
    InstanceState s;
    auto events = ReadWholeStream(*log, InstanceStream(id));
    if (!events.ok()) return events.status();
    for (const Envelope& env : *events) ApplyEvent(s, env, DecodeEvent(env).value());
    auto decided = Decide(s, cmd);
    if (!decided.ok()) return decided.status();
    return AppendEvents(InstanceStream(id), ExpectedVersion::Exactly(s.version),
                        *decided);
  }
  template <typename Cmd>
  Status RunHost(const HostName& host, const Cmd& cmd) {
    HostState s;
    s.name = host;
    auto events = ReadWholeStream(*log, HostStream(host));
    if (!events.ok()) return events.status();
    for (const Envelope& env : *events) ApplyHostEvent(s, env, DecodeEvent(env).value());
    auto decided = Decide(s, cmd);
    if (!decided.ok()) return decided.status();
    return AppendEvents(HostStream(host), ExpectedVersion::Exactly(s.version), *decided);
  }
  Status AppendEvents(const StreamId& stream, ExpectedVersion expected,
                      const std::vector<Event>& events) {
    if (events.empty()) return Status::Ok();
    AppendRequest req;
    req.stream = stream;
    req.expected = expected;
    req.key = IdempotencyKey("cmd-" + std::to_string(++counter));
    EventMeta meta{Timestamp{1767225600000000 + counter},
                   RequestId("req-" + std::to_string(counter)), Seq(),
                   Actor{UserId("u1"), ProjectId("p1"), {"member"}}};
    for (const Event& e : events) req.events.push_back(MakeNewEvent(e, meta));
    return log->Append(req).status();
  }
  void Register(const std::string& host, int vcpus, int ram) {
    HostRegistered reg;
    reg.host = HostName(host);
    reg.vcpus = vcpus;
    reg.memory_mb = ram;
    reg.disk_gb = 100;
    REQUIRE(AppendEvents(HostStream(reg.host), ExpectedVersion::Any(), {reg}).ok());
  }
};

InstanceRequested Req(const std::string& id, const std::string& project = "p1") {
  InstanceRequested r;
  r.instance_id = InstanceId(id);
  r.name = "vm-" + id;
  r.project_id = ProjectId(project);
  r.user_id = UserId("u1");
  r.flavor = FlavorSpec{FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {}};
  return r;
}

// Boots `id` on `host` through the deciders: claim, schedule, build, spawn.
void Boot(Fixture& f, const std::string& id, const std::string& host) {
  InstanceId iid(id);
  HostName h(host);
  REQUIRE(f.Run(iid, CreateInstance{Req(id)}).ok());
  REQUIRE(f.RunHost(h, ClaimResources{iid, Claim{1, 512, 1}}).ok());
  REQUIRE(f.Run(iid, ReportProgress{InstanceScheduled{h}}).ok());
  REQUIRE(f.Run(iid, ReportProgress{BuildStarted{h}}).ok());
  REQUIRE(f.Run(iid, ReportProgress{InstanceSpawned{h, "instance-" + id}}).ok());
}

}  // namespace

TEST_CASE("the servers read model follows a server from BUILD to DELETED") {
  Fixture f;
  auto store = f.OpenStore("live");
  ProjectionRunner runner(f.log.get(), store.get());
  f.Register("h1", 4, 4096);
  Boot(f, "i1", "h1");
  REQUIRE(runner.WaitFor(f.log->Head().value(), 5000).ok());

  auto reader = store->Reader("servers").value();
  ServersView view(reader.get());
  auto s = view.Get(InstanceId("i1")).value();
  REQUIRE(s.has_value());
  CHECK(ApiStatus(*s) == "ACTIVE");
  CHECK(s->host == HostName("h1"));
  CHECK(s->name == "vm-i1");
  CHECK(view.OnHost(HostName("h1")).value().size() == 1);
  CHECK(view.List({ProjectId("p1")}).value().size() == 1);
  CHECK(view.List({ProjectId("p2")}).value().empty());

  auto hosts_reader = store->Reader("hosts").value();
  HostsView hosts(hosts_reader.get());
  auto h = hosts.Get(HostName("h1")).value();
  REQUIRE(h.has_value());
  CHECK(h->used.memory_mb == 512);
  // Usage for the quotas, by project and by user.
  CHECK(view.Usage(ProjectId("p1"), UserId()).value() == ServerUsage{1, 1, 512});
  CHECK(view.Usage(ProjectId("p1"), UserId("u1")).value() == ServerUsage{1, 1, 512});
  CHECK(view.Usage(ProjectId("p1"), UserId("u2")).value() == ServerUsage{});
  CHECK(view.Usage(ProjectId("p2"), UserId()).value() == ServerUsage{});

  REQUIRE(f.Run(InstanceId("i1"), DeleteInstance{}).ok());
  REQUIRE(f.Run(InstanceId("i1"), ReportProgress{InstanceDeleted{HostName("h1")}}).ok());
  REQUIRE(f.RunHost(HostName("h1"), ReleaseResources{InstanceId("i1")}).ok());
  REQUIRE(runner.WaitFor(f.log->Head().value(), 5000).ok());
  CHECK(ApiStatus(*view.Get(InstanceId("i1")).value()) == "DELETED");
  CHECK(view.OnHost(HostName("h1")).value().empty());
  CHECK(view.List({ProjectId("p1")}).value().empty());
  CHECK(view.List({ProjectId("p1"), /*include_deleted=*/true}).value().size() == 1);
  CHECK(view.Usage(ProjectId("p1"), UserId()).value() == ServerUsage{});
  CHECK(view.Usage(ProjectId("p1"), UserId("u1")).value() == ServerUsage{});
  CHECK(hosts.Get(HostName("h1")).value()->used == Claim{});
  CHECK(view.Get(InstanceId("nope")).value() == std::nullopt);
}

// The ids of the servers the read model says have work in flight.
std::vector<std::string> InFlightIds(const ServersView& view) {
  std::vector<std::string> ids;
  for (const InstanceState& s : view.InFlight().value()) ids.push_back(s.id.str());
  return ids;
}

TEST_CASE("the servers read model indexes exactly the servers with work in flight") {
  Fixture f;
  auto store = f.OpenStore("live");
  ProjectionRunner runner(f.log.get(), store.get());
  f.Register("h1", 4, 4096);
  auto reader = store->Reader("servers").value();
  ServersView view(reader.get());
  using Ids = std::vector<std::string>;

  Boot(f, "i1", "h1");                                               // ACTIVE: settled
  REQUIRE(f.Run(InstanceId("i2"), CreateInstance{Req("i2")}).ok());  // still BUILD
  REQUIRE(runner.WaitFor(f.log->Head().value(), 5000).ok());
  CHECK(InFlightIds(view) == Ids{"i2"});

  // A task under way puts a settled server back in; finishing it takes it out.
  REQUIRE(f.Run(InstanceId("i1"), DeleteInstance{}).ok());
  REQUIRE(runner.WaitFor(f.log->Head().value(), 5000).ok());
  CHECK(InFlightIds(view) == Ids{"i1", "i2"});
  CHECK(view.InFlight().value()[0].task_state == TaskState::kDeleting);
  REQUIRE(f.Run(InstanceId("i1"), ReportProgress{InstanceDeleted{HostName("h1")}}).ok());
  REQUIRE(
      f.RunHost(HostName("h1"), ClaimResources{InstanceId("i2"), Claim{1, 512, 1}}).ok());
  REQUIRE(
      f.Run(InstanceId("i2"), ReportProgress{InstanceScheduled{HostName("h1")}}).ok());
  REQUIRE(f.Run(InstanceId("i2"), ReportProgress{BuildStarted{HostName("h1")}}).ok());
  REQUIRE(runner.WaitFor(f.log->Head().value(), 5000).ok());
  CHECK(InFlightIds(view) == Ids{"i2"});  // i1 deleted; i2 building on h1
  REQUIRE(f.Run(InstanceId("i2"), ReportProgress{InstanceSpawned{HostName("h1"), "g2"}})
              .ok());
  REQUIRE(runner.WaitFor(f.log->Head().value(), 5000).ok());
  CHECK(InFlightIds(view).empty());
  CHECK(view.List({}).value().size() == 1);  // i2; i1 is deleted

  // A rebuild from seq 1 (replay's bulk fold) gives the same index, also when
  // entries put in one flush are deleted in a later one.
  for (size_t flush_entries : {size_t{0}, size_t{3}}) {
    ProjectionStoreOptions bulk;
    bulk.path = f.dir.Sub("bulk-" + std::to_string(flush_entries));
    bulk.bulk = true;
    if (flush_entries > 0) bulk.bulk_flush_entries = flush_entries;
    auto rebuilt = ProjectionStore::Open(bulk, {&f.servers, &f.hosts}).value();
    REQUIRE(CatchUp(*f.log, *rebuilt).ok());
    CHECK(rebuilt->Digest().value() == store->Digest().value());
  }
}

TEST_CASE("rebuilding from seq 0 gives byte-identical read models") {
  Fixture f;
  auto live = f.OpenStore("live");
  auto runner = std::make_unique<ProjectionRunner>(f.log.get(), live.get());
  std::mt19937 rng(20261125);
  for (int h = 0; h < 5; ++h) f.Register("h" + std::to_string(h), 64, 65536);
  std::vector<std::string> alive;
  for (int i = 0; i < 120; ++i) {
    int op = rng() % 4;
    if (op < 2 || alive.empty()) {
      std::string id = "i" + std::to_string(i);
      Boot(f, id, "h" + std::to_string(rng() % 5));
      alive.push_back(id);
    } else if (op == 2) {
      size_t k = rng() % alive.size();
      InstanceId id(alive[k]);
      REQUIRE(f.Run(id, DeleteInstance{}).ok());
      alive.erase(alive.begin() + k);
    } else {
      // A request that the scheduler fails.
      std::string id = "f" + std::to_string(i);
      REQUIRE(f.Run(InstanceId(id), CreateInstance{Req(id, "p2")}).ok());
      REQUIRE(
          f.Run(InstanceId(id), ReportProgress{InstanceSchedulingFailed{"No valid host"}})
              .ok());
    }
  }
  Seq head = f.log->Head().value();
  REQUIRE(runner->WaitFor(head, 10000).ok());
  std::string live_digest = live->Digest().value();

  auto rebuilt = f.OpenStore("rebuilt");
  REQUIRE(CatchUp(*f.log, *rebuilt).ok());
  CHECK(rebuilt->checkpoint() == head);
  CHECK(rebuilt->Digest().value() == live_digest);

  // A bulk rebuild (records cached decoded, written in sorted batches, flushing
  // every 50 records) ends in the same bytes.
  ProjectionStoreOptions bulk_options;
  bulk_options.path = f.dir.Sub("bulk");
  bulk_options.bulk = true;
  bulk_options.bulk_flush_entries = 50;
  auto bulk = ProjectionStore::Open(bulk_options, {&f.servers, &f.hosts}).value();
  REQUIRE(CatchUp(*f.log, *bulk).ok());
  CHECK(bulk->checkpoint() == head);
  CHECK(bulk->Digest().value() == live_digest);

  // Batches of 1 to 7 events: the reader decodes into batches it read before,
  // of other sizes, whose slots held events of other types.
  for (size_t batch : {1, 3, 7}) {
    ProjectionStoreOptions o = bulk_options;
    o.path = f.dir.Sub("bulk-" + std::to_string(batch));
    auto small = ProjectionStore::Open(o, {&f.servers, &f.hosts}).value();
    CatchUpOptions options;
    options.batch = batch;
    REQUIRE(CatchUp(*f.log, *small, options).ok());
    CHECK(small->Digest().value() == live_digest);
  }

  // One event per batch, each delivered twice, still ends in the same bytes.
  auto slow = f.OpenStore("slow");
  for (const Envelope& e : ReadAll(*f.log)) {
    REQUIRE(slow->ApplyBatch({e}).ok());
    REQUIRE(slow->ApplyBatch({e}).ok());
  }
  CHECK(slow->Digest().value() == live_digest);

  // A restarted runner resumes from its checkpoint without reapplying.
  runner.reset();
  live.reset();
  live = f.OpenStore("live");
  CHECK(live->checkpoint() == head);
  runner = std::make_unique<ProjectionRunner>(f.log.get(), live.get());
  Boot(f, "late", "h0");
  REQUIRE(runner->WaitFor(f.log->Head().value(), 5000).ok());
  REQUIRE(CatchUp(*f.log, *rebuilt).ok());
  CHECK(rebuilt->Digest().value() == live->Digest().value());
}

TEST_CASE("an undecodable event stops the read models at the seq before it") {
  Fixture f;
  auto store = f.OpenStore("live");
  ProjectionRunner runner(f.log.get(), store.get());
  REQUIRE(f.Run(InstanceId("i1"), CreateInstance{Req("i1")}).ok());
  f.AppendUndecodable(StreamId("instance/i1"));
  REQUIRE(f.Run(InstanceId("i2"), CreateInstance{Req("i2")}).ok());

  Status waited = runner.WaitFor(Seq(3), 5000);
  REQUIRE(waited.IsUnavailable());
  CHECK(waited.message().find("seq 2") != std::string::npos);
  CHECK(runner.status().IsCorruption());
  CHECK(store->checkpoint() == Seq(1));
}

TEST_CASE("a read-only store refuses read models another build made") {
  Fixture f;
  auto live = f.OpenStore("live");
  REQUIRE(f.Run(InstanceId("i1"), CreateInstance{Req("i1")}).ok());
  auto runner = std::make_unique<ProjectionRunner>(f.log.get(), live.get());
  REQUIRE(runner->WaitFor(f.log->Head().value(), 5000).ok());
  ProjectionStoreOptions o;
  o.path = f.dir.Sub("live");
  o.read_only = true;
  o.secondary_path = f.dir.Sub("secondary");
  // The same read models: it opens and reads.
  auto same = ProjectionStore::Open(o, {&f.servers, &f.hosts});
  REQUIRE(same.ok());
  CHECK((*same)->checkpoint() == f.log->Head().value());
  // A store with data and no signature (a build older than signatures): refused.
  {
    ProjectionStoreOptions u;
    u.path = f.dir.Sub("unsigned");
    auto unsigned_store = ProjectionStore::Open(u, {&f.servers, &f.hosts}).value();
    REQUIRE(CatchUp(*f.log, *unsigned_store).ok());
  }
  {
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::Options(), f.dir.Sub("unsigned"), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    REQUIRE(db->Delete(rocksdb::WriteOptions(), "\x01models").ok());
  }
  ProjectionStoreOptions u = o;
  u.path = f.dir.Sub("unsigned");
  u.secondary_path = f.dir.Sub("secondary-unsigned");
  auto old_build = ProjectionStore::Open(u, {&f.servers, &f.hosts});
  REQUIRE(old_build.status().IsUnavailable());
  CHECK(old_build.status().message().find("older than read-model signatures") !=
        std::string::npos);
  // A servers read model of another version: refused, naming both.
  struct NewerServers : ServersProjection {
    uint32_t Version() const override { return ServersProjection::Version() + 1; }
  } newer;
  o.secondary_path = f.dir.Sub("secondary-2");
  auto other = ProjectionStore::Open(o, {&newer, &f.hosts});
  REQUIRE(other.status().IsUnavailable());
  CHECK(other.status().message().find("built by 'servers:") != std::string::npos);
  CHECK(other.status().message().find(ProjectionsSignature({&newer, &f.hosts})) !=
        std::string::npos);

  // The daemon restarts with the other build (it rebuilds its read models): the
  // store opened before refuses to refresh onto them.
  runner.reset();
  live.reset();
  ProjectionStoreOptions w;
  w.path = f.dir.Sub("live");
  auto rebuilt = ProjectionStore::Open(w, {&newer, &f.hosts});
  REQUIRE(rebuilt.ok());
  Status refreshed = (*same)->Refresh();
  INFO(refreshed.ToString());
  CHECK(refreshed.IsUnavailable());
}

TEST_CASE("a rebuild stops at an undecodable event, naming its seq") {
  Fixture f;
  REQUIRE(f.Run(InstanceId("i1"), CreateInstance{Req("i1")}).ok());
  f.AppendUndecodable(StreamId("instance/i1"));
  REQUIRE(f.Run(InstanceId("i2"), CreateInstance{Req("i2")}).ok());
  // Both kinds of store, fed by CatchUp's reader (which decodes ahead, into the
  // events of batches it read before).
  for (bool bulk : {false, true}) {
    ProjectionStoreOptions o;
    o.path = f.dir.Sub(bulk ? "bulk" : "plain");
    o.bulk = bulk;
    auto store = ProjectionStore::Open(o, {&f.servers, &f.hosts}).value();
    Status st = CatchUp(*f.log, *store);
    REQUIRE(st.IsCorruption());
    CHECK(st.message().find("seq 2") != std::string::npos);
    // A bulk store keeps only what it wrote (nothing yet); the other, seq 1.
    CHECK(store->checkpoint() == Seq(bulk ? 0 : 1));
  }
}

TEST_CASE("a batch that skips a seq is refused") {
  Fixture f;
  auto store = f.OpenStore("live");
  for (int i = 1; i <= 3; ++i) {
    REQUIRE(f.Run(InstanceId("i" + std::to_string(i)),
                  CreateInstance{Req("i" + std::to_string(i))})
                .ok());
  }
  std::vector<Envelope> all = ReadAll(*f.log);
  REQUIRE(store->ApplyBatch({all[0]}).ok());
  Status gap = store->ApplyBatch({all[2]});
  REQUIRE(gap.IsCorruption());
  CHECK(gap.message().find("seq 2") != std::string::npos);
  CHECK(store->checkpoint() == Seq(1));
}

}  // namespace chronova::testing

namespace chronova::testing {

TEST_CASE("a bad event mid-batch commits the events before it and nothing after") {
  Fixture f;
  auto store = f.OpenStore("live");
  REQUIRE(f.Run(InstanceId("i1"), CreateInstance{Req("i1")}).ok());
  f.AppendUndecodable(StreamId("instance/i1"));
  REQUIRE(f.Run(InstanceId("i2"), CreateInstance{Req("i2")}).ok());
  std::vector<Envelope> all = ReadAll(*f.log);
  REQUIRE(all.size() == 3);
  Status st = store->ApplyBatch(all);
  REQUIRE(st.IsCorruption());
  CHECK(st.message().find("seq 2") != std::string::npos);
  CHECK(store->checkpoint() == Seq(1));
  auto reader = store->Reader("servers").value();
  CHECK(ServersView(reader.get()).Get(InstanceId("i1")).value().has_value());
  CHECK_FALSE(ServersView(reader.get()).Get(InstanceId("i2")).value().has_value());
}

}  // namespace chronova::testing

namespace chronova::testing {

TEST_CASE(
    "read models as of a past seq equal what was live then; snapshots reopen as-is") {
  Fixture f;
  auto live = f.OpenStore("live");
  f.Register("h1", 64, 65536);
  Boot(f, "i1", "h1");
  REQUIRE(CatchUp(*f.log, *live).ok());
  Seq then = live->checkpoint();
  std::string digest_then = live->Digest().value();
  REQUIRE(live->SaveSnapshot(f.dir.Sub("snap")).ok());
  Boot(f, "i2", "h1");
  REQUIRE(f.Run(InstanceId("i1"), DeleteInstance{}).ok());
  REQUIRE(CatchUp(*f.log, *live).ok());
  CHECK(live->Digest().value() != digest_then);

  auto past = f.OpenStore("past");
  CatchUpOptions to_then;
  to_then.until = then;
  REQUIRE(CatchUp(*f.log, *past, to_then).ok());
  CHECK(past->checkpoint() == then);
  CHECK(past->Digest().value() == digest_then);

  ProjectionStoreOptions o;
  o.path = f.dir.Sub("snap");
  auto snap = ProjectionStore::Open(o, {&f.servers, &f.hosts}).value();
  CHECK(snap->checkpoint() == then);
  CHECK(snap->Digest().value() == digest_then);
}

}  // namespace chronova::testing

#include "projections/divergence.h"

namespace chronova::testing {

TEST_CASE(
    "a rebuild that differs from the live read models names the key and its writer") {
  Fixture f;
  auto live = f.OpenStore("live");
  f.Register("h1", 64, 65536);
  Boot(f, "i1", "h1");
  Boot(f, "i2", "h1");
  REQUIRE(CatchUp(*f.log, *live).ok());

  ProjectionStoreOptions o;
  o.path = f.dir.Sub("rebuilt");
  o.bulk = true;
  o.track_writers = true;
  auto rebuilt = ProjectionStore::Open(o, {&f.servers, &f.hosts}).value();
  REQUIRE(CatchUp(*f.log, *rebuilt).ok());
  auto same = FirstDivergence(*rebuilt, *live);
  REQUIRE(same.ok());
  CHECK_FALSE(same->has_value());

  // A live store that missed the last event differs exactly in what it wrote.
  auto behind = f.OpenStore("behind");
  CatchUpOptions until;
  until.until = Seq(f.log->Head().value().value() - 1);
  REQUIRE(CatchUp(*f.log, *behind, until).ok());
  auto diff = FirstDivergence(*rebuilt, *behind);
  REQUIRE(diff.ok());
  REQUIRE(diff->has_value());
  const Divergence& d = **diff;
  CHECK(d.projection == "servers");
  CHECK(d.key == "id/i2");
  CHECK(d.in_rebuilt);
  CHECK(d.in_live);
  CHECK(d.rebuilt_writer == f.log->Head().value());
  CHECK(DescribeDivergence(d).find("last written by seq") != std::string::npos);
}

TEST_CASE(
    "a record cache keeps its entries where they are as it grows, and moves whole") {
  RecordCache c;
  c.set_seq(7);
  c.PutRaw("", "empty key");
  RecordCache::Entry* first = &c.Insert("key-0");
  c.SetRaw(*first, "v0");
  for (int i = 1; i < 10000; ++i)
    c.PutRaw("key-" + std::to_string(i), "v" + std::to_string(i));
  REQUIRE(c.size() == 10001);
  CHECK(c.Find("key-0") == first);  // the table grew many times; the entry stayed
  CHECK(*first->raw == "v0");
  for (int i = 0; i < 10000; i += 997) {
    RecordCache::Entry* e = c.Find("key-" + std::to_string(i));
    REQUIRE(e != nullptr);
    CHECK(*e->raw == "v" + std::to_string(i));
    CHECK(e->seq == 7);
  }
  CHECK(c.Find("key-10000") == nullptr);
  CHECK(*c.Find("")->raw == "empty key");
  CHECK(&c.Insert("key-5") == c.Find("key-5"));  // an existing key: its entry
  CHECK(c.size() == 10001);

  RecordCache moved(std::move(c));
  CHECK(moved.Find("key-0") == first);
  CHECK(c.size() == 0);  // NOLINT: a moved-from cache is empty and usable
  CHECK(c.Find("key-0") == nullptr);
  c.PutRaw("again", "x");
  RecordCache other;
  other.PutRaw("gone", "y");
  other = std::move(moved);
  CHECK(other.size() == 10001);
  CHECK(other.Find("gone") == nullptr);
  CHECK(other.Sorted().front().first == "");
}

TEST_CASE("a record cache erases entries and still finds every other one") {
  // Random puts and erases against a std::map. Keys share hashes' low bits often
  // enough at these sizes that erasing shifts runs of slots, across the table's
  // end too; entries that stay keep their place.
  std::mt19937_64 rng(7);
  RecordCache c;
  std::map<std::string, std::string> want;
  std::map<std::string, const RecordCache::Entry*> where;
  for (int step = 0; step < 60000; ++step) {
    const std::string key = "k" + std::to_string(rng() % 3000);
    if (rng() % 3 == 0) {
      c.Erase(key);
      want.erase(key);
      where.erase(key);
    } else {
      const std::string value = std::to_string(step);
      RecordCache::Entry& e = c.Insert(key);
      c.SetRaw(e, value);
      want[key] = value;
      where[key] = &e;
    }
    if (step % 5000 == 0 || step == 59999) {
      REQUIRE(c.size() == want.size());
      for (int k = 0; k < 3000; ++k) {
        const std::string key = "k" + std::to_string(k);
        RecordCache::Entry* e = c.Find(key);
        auto it = want.find(key);
        REQUIRE((e != nullptr) == (it != want.end()));
        if (e != nullptr) {
          CHECK(*e->raw == it->second);
          CHECK(e == where[key]);
        }
      }
      std::vector<std::string> sorted;
      for (const auto& [key, entry] : c.Sorted()) sorted.emplace_back(key);
      CHECK(sorted.size() == want.size());
      CHECK(std::is_sorted(sorted.begin(), sorted.end()));
    }
  }
  c.Erase("never-there");
  CHECK(c.size() == want.size());
  RecordCache empty;
  empty.Erase("x");  // a cache with no table
  CHECK(empty.size() == 0);
}

TEST_CASE("a record cache sorts keys in byte order, whatever prefixes they share") {
  // Keys that share long prefixes, end inside one another's 8-byte chunks, hold
  // zero bytes and high bytes: the order is std::string's, byte by byte.
  std::mt19937_64 rng(42);
  std::vector<std::string> keys{
      "",   std::string(1, '\0'), std::string(2, '\0'), "a",        std::string("a\0", 2),
      "ab", "audit/server/",      "audit/server/0",     "\xff\xff", "\xff"};
  const std::string shared = "instance_actions/audit/server/";
  for (int i = 0; i < 20000; ++i) {
    std::string k = rng() % 2 ? shared : shared.substr(0, rng() % shared.size());
    const size_t tail = rng() % 24;
    for (size_t j = 0; j < tail; ++j) {
      const char alphabet[] = {'0', '1', 'f', '\0', '\xff', '/'};
      k.push_back(alphabet[rng() % sizeof(alphabet)]);
    }
    keys.push_back(k);
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  RecordCache c;
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) c.PutRaw(*it, "v");
  std::vector<std::string> sorted;
  for (const auto& [key, entry] : c.Sorted()) sorted.emplace_back(key);
  CHECK(sorted == keys);
}

TEST_CASE("a record cache lists its entries in key order and changes them in place") {
  RecordCache c;
  c.set_seq(1);
  c.PutRaw("b/x", "map-bx");
  c.PutRaw("a/idx/1", "r1");
  CHECK(c.Find("a/idx/2") == nullptr);  // nothing pending: the caller loads it
  c.set_seq(2);
  RecordCache::Entry* idx = c.Find("a/idx/1");
  REQUIRE(idx != nullptr);
  c.SetRaw(*idx, *idx->raw + "+r1");
  c.Delete("a/zzz");
  c.Assign(c.Insert("b/obj"), std::string("object"));
  RecordCache::Entry* obj = c.Find("b/obj");
  REQUIRE(obj != nullptr);
  CHECK(RecordCache::ObjectOf<int>(*obj) == nullptr);  // another type
  REQUIRE(RecordCache::ObjectOf<std::string>(*obj) != nullptr);
  c.set_seq(3);
  *RecordCache::ObjectOf<std::string>(*obj) += "!";
  c.Touch(*obj);
  CHECK(RecordCache::ObjectOf<std::string>(*c.Find("a/zzz")) == nullptr);  // deleted
  CHECK(c.size() == 4);

  std::vector<std::string> drained;
  for (const auto& [key, entry] : c.Sorted()) {
    auto bytes = RecordCache::Bytes(*entry);
    std::string value = bytes ? (entry->raw ? *bytes : "<object>") : "<deleted>";
    drained.push_back(std::string(key) + "=" + value + "@" + std::to_string(entry->seq));
  }
  CHECK(drained == std::vector<std::string>{"a/idx/1=r1+r1@2", "a/zzz=<deleted>@2",
                                            "b/obj=<object>@3", "b/x=map-bx@1"});
  CHECK(*RecordCache::Bytes(*c.Find("b/obj")) == EncodePortable(std::string("object!")));
  // Listing does not empty the cache (a reader may still look); Clear does.
  CHECK(c.Find("b/x") != nullptr);
  c.Clear();
  CHECK(c.size() == 0);
  CHECK(c.Find("b/x") == nullptr);
}

}  // namespace chronova::testing

namespace chronova::testing {
namespace {

// A projection of plain keys, driven by the names of registered hosts: "put:K"
// puts "v" at K, "del:K" deletes K, "app:K:B" appends B to K, "get:K:T" puts at
// T what K holds then. Lets a test choose exactly what a rebuild writes.
class KeysProjection : public Projection {
 public:
  std::string_view Name() const override { return "keys"; }
  uint32_t Version() const override { return 1; }
  Status Apply(const Envelope&, const Event& event, ReadModelWriter& w) override {
    const auto* reg = std::get_if<HostRegistered>(&event);
    if (reg == nullptr) return Status::Ok();
    const std::string& name = reg->host.str();
    const std::string op = name.substr(0, 4), arg = name.substr(4);
    const std::string key = arg.substr(0, arg.find(':'));
    const std::string rest = arg.find(':') == std::string::npos
                                 ? std::string()
                                 : arg.substr(arg.find(':') + 1);
    if (op == "put:") w.Put(key, "v");
    if (op == "del:") w.Delete(key);
    if (op == "app:") return w.Append(key, rest);
    if (op == "get:") {
      CHRONOVA_ASSIGN_OR_RETURN(std::optional<std::string> value, w.Get(key));
      w.Put(rest, value.value_or("<none>"));
    }
    return Status::Ok();
  }
};

}  // namespace

TEST_CASE("a rebuild writes no deletions into an empty store, and keeps later ones") {
  Fixture f;
  KeysProjection keys;
  // Deletions of keys never stored (y, x) and of one put earlier in the same
  // rebuild (z): in memory they erase the keys' entries, nothing is written.
  for (const char* host : {"put:a", "put:z", "del:z", "del:y", "del:x"}) {
    f.Register(host, 1, 1);
  }
  auto open = [&](const std::string& name, bool bulk, size_t flush_entries) {
    ProjectionStoreOptions o;
    o.path = f.dir.Sub(name);
    o.bulk = bulk;
    if (flush_entries > 0) o.bulk_flush_entries = flush_entries;
    return ProjectionStore::Open(o, {&keys}).value();
  };
  auto live = open("live", false, 0);
  REQUIRE(CatchUp(*f.log, *live).ok());
  const std::string want = live->Digest().value();
  auto reader = live->Reader("keys").value();
  CHECK(reader->Get("a").value() == std::optional<std::string>("v"));
  CHECK(reader->Get("z").value() == std::nullopt);

  // One write at the end, into the empty store.
  auto once = open("once", true, 0);
  REQUIRE(CatchUp(*f.log, *once).ok());
  CHECK(once->Digest().value() == want);
  // A write after two entries: "z" is stored by then, and its deletion must reach
  // the store.
  CatchUpOptions small;
  small.batch = 1;
  auto twice = open("twice", true, 2);
  REQUIRE(CatchUp(*f.log, *twice, small).ok());
  CHECK(twice->Digest().value() == want);
  auto twice_reader = twice->Reader("keys").value();
  CHECK(twice_reader->Get("z").value() == std::nullopt);
}

}  // namespace chronova::testing

namespace chronova::testing {

TEST_CASE("appends in a batch are read, replaced and deleted in order, live and bulk") {
  Fixture f;
  KeysProjection keys;
  for (const char* host :
       {"app:a:1", "app:a:2", "get:a:copy1", "app:a:3", "put:a", "app:a:4", "app:b:1",
        "del:b", "app:b:2", "app:c:1", "del:c", "get:c:copy2", "app:d:1"}) {
    f.Register(host, 1, 1);
  }
  auto open = [&](const std::string& name, bool bulk) {
    ProjectionStoreOptions o;
    o.path = f.dir.Sub(name);
    o.bulk = bulk;
    return ProjectionStore::Open(o, {&keys}).value();
  };
  for (bool bulk : {false, true}) {
    INFO((bulk ? "bulk" : "live"));
    auto store = open(bulk ? "bulk" : "live", bulk);
    REQUIRE(CatchUp(*f.log, *store).ok());  // one batch: every event at once
    auto reader = store->Reader("keys").value();
    auto get = [&](const std::string& k) { return reader->Get(k).value(); };
    CHECK(get("copy1") == std::optional<std::string>("12"));
    CHECK(get("a") == std::optional<std::string>("v4"));
    CHECK(get("b") == std::optional<std::string>("2"));
    CHECK(get("c") == std::nullopt);
    CHECK(get("copy2") == std::optional<std::string>("<none>"));
    CHECK(get("d") == std::optional<std::string>("1"));
  }
  CHECK(open("bulk", true)->Digest().value() == open("live", false)->Digest().value());
}

}  // namespace chronova::testing
