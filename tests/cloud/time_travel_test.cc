// Time travel: a scripted scenario on a whole node records its read models live at
// several points; afterwards the read models as of each point (by seq and by time,
// with and without snapshots) must equal what was recorded then. Also the diff
// between two points, one instance as of a point, the snapshot taker and the admin
// history API.
#include "projections/time_travel.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "api/service/compute_service.h"
#include "api/http/json.h"
#include "api/compute/views.h"
#include "core/event_codec.h"
#include "tests/support/node_test_util.h"
#include "tests/support/test_util.h"
#include "tools/http_client.h"
#include "tools/node.h"

namespace chronova::testing {
namespace {

RequestContext Ctx() { return MemberContext(); }

NodeOptions Options(const TempDir& dir, int hosts) {
  return FakeCloudOptions(dir, hosts, 8, 8192);  // tests take their snapshots themselves
}

std::string SnapshotDir(const TempDir& dir) { return dir.Sub("state") + "/snapshots"; }

InstanceId Boot(Node& node, const std::string& name,
                std::map<std::string, std::string> metadata = {}) {
  CreateServerRequest req;
  req.name = name;
  req.flavor_ref = "1";
  req.image_ref = kDemoImageId;
  req.metadata = std::move(metadata);
  auto r = node.compute()->CreateServers(Ctx(), req);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return r->servers.at(0).id;
}

// Polls the server's live record until `pred` holds (10 s).
template <typename Pred>
void WaitServer(Node& node, const InstanceId& id, Pred pred) {
  for (int i = 0; i < 1000; ++i) {
    auto reader = node.store()->Reader(ServersProjection::kName).value();
    auto s = ServersView(reader.get()).Get(id).value();
    if (s && pred(*s)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("server " << id.str() << " never reached the expected state");
}

bool Active(const InstanceState& s) { return ApiStatus(s) == "ACTIVE"; }
// Deleted, and its claim given back (the conductor's release is the last event).
bool DeletedAndReleased(Node& node, const InstanceState& s) {
  if (s.vm_state != VmState::kDeleted) return false;
  auto reader = node.store()->Reader(HostsProjection::kName).value();
  for (const HostState& h : HostsView(reader.get()).List().value()) {
    if (h.claims.count(s.id)) return false;
  }
  return true;
}

// The read models as they were live at one seq.
struct Recorded {
  Seq seq;
  Timestamp wall;  // read after the log went quiet at `seq`
  std::string digest;
  std::vector<InstanceState> servers;  // deleted ones too, id order
  std::vector<HostState> hosts;
};

std::vector<InstanceState> AllServers(const ServersView& view) {
  ServersView::ListOptions all;
  all.include_deleted = true;
  return view.List(all).value();
}

// Waits until the log is quiet (no append for 100 ms) and the read models have
// caught up with it, then records them.
Recorded RecordLive(Node& node) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    Seq head = node.log()->Head().value();
    REQUIRE(node.store()->WaitFor(head, 10000));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (node.log()->Head().value() != head || node.store()->checkpoint() != head)
      continue;
    Recorded r;
    r.seq = head;
    r.digest = node.store()->Digest().value();
    auto servers = node.store()->Reader(ServersProjection::kName).value();
    r.servers = AllServers(ServersView(servers.get()));
    auto hosts = node.store()->Reader(HostsProjection::kName).value();
    r.hosts = HostsView(hosts.get()).List().value();
    r.wall = Env::Default()->Now();
    if (node.log()->Head().value() != head || node.store()->checkpoint() != head)
      continue;
    return r;
  }
  FAIL("the log never went quiet");
  return {};
}

// Everything a past point's read models must equal.
void CheckEqualsRecorded(const ReadModelsAt& at, const Recorded& r) {
  INFO("as of seq " << r.seq.value() << ", from snapshot " << at.snapshot().value());
  CHECK(at.seq() == r.seq);
  CHECK(at.store().checkpoint() == r.seq);
  CHECK(at.store().Digest().value() == r.digest);
  CHECK(AllServers(at.servers()) == r.servers);
  CHECK(at.hosts().List().value() == r.hosts);
}

const InstanceState* Find(const std::vector<InstanceState>& list, const InstanceId& id) {
  for (const InstanceState& s : list)
    if (s.id == id) return &s;
  return nullptr;
}

const FieldChange* Field(const ResourceChange& c, const std::string& name) {
  for (const FieldChange& f : c.fields)
    if (f.field == name) return &f;
  return nullptr;
}

// The scenario: two hosts; boot a and b; delete a, boot c (a snapshot in between);
// delete c, boot d with metadata. Points p0 (empty cloud) .. p3 recorded live.
struct Scenario {
  TempDir dir;
  std::unique_ptr<Node> node;
  std::vector<Recorded> points;
  InstanceId a, b, c, d;
  Seq snapshot;  // taken between points[1] and points[2]

  Scenario() {
    node = Node::Start(Options(dir, 2)).value();
    WaitHosts(*node, 2);
    points.push_back(RecordLive(*node));

    a = Boot(*node, "a");
    b = Boot(*node, "b");
    WaitServer(*node, a, Active);
    WaitServer(*node, b, Active);
    points.push_back(RecordLive(*node));

    REQUIRE(node->compute()->DeleteServer(Ctx(), a).ok());
    WaitServer(*node, a,
               [&](const InstanceState& s) { return DeletedAndReleased(*node, s); });
    RecordLive(*node);  // quiet, so the snapshot is of a settled state
    snapshot = SaveReadModelsSnapshot(*node->store(), SnapshotDir(dir), 0).value();
    c = Boot(*node, "c");
    WaitServer(*node, c, Active);
    points.push_back(RecordLive(*node));

    REQUIRE(node->compute()->DeleteServer(Ctx(), c).ok());
    WaitServer(*node, c,
               [&](const InstanceState& s) { return DeletedAndReleased(*node, s); });
    d = Boot(*node, "d", {{"role", "db"}});
    WaitServer(*node, d, Active);
    points.push_back(RecordLive(*node));
  }
};

}  // namespace

TEST_CASE("a log point is a seq or an ISO-8601 time, and nothing else") {
  auto seq = ParseLogPoint("42");
  REQUIRE(seq.ok());
  CHECK(!seq->is_time);
  CHECK(seq->seq == Seq(42));
  auto time = ParseLogPoint("2026-01-01T00:00:01.5Z");
  REQUIRE(time.ok());
  CHECK(time->is_time);
  CHECK(time->time == Timestamp{1767225601500000});
  for (const char* bad :
       {"", "-1", "yesterday", "2026-13-01T00:00:00Z", "12a", "99999999999999999999"}) {
    INFO(bad);
    CHECK(ParseLogPoint(bad).status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("read models as of each recorded point equal what was live then") {
  Scenario sc;
  const auto& p = sc.points;
  REQUIRE(p.size() == 4);
  REQUIRE(p[1].seq < sc.snapshot);
  REQUIRE(sc.snapshot < p[2].seq);

  SECTION("without snapshots: folded from seq 1") {
    TimeTravelOptions o;
    o.scratch_dir = sc.dir.Sub("scratch");
    TimeTravel tt(sc.node->log(), o);
    for (const Recorded& r : p) {
      auto at = tt.ReadModelsAsOf(r.seq);
      INFO(at.status().ToString());
      REQUIRE(at.ok());
      CHECK((*at)->snapshot() == Seq());
      CheckEqualsRecorded(**at, r);
    }
  }
  SECTION("with a snapshot taken between two points") {
    TimeTravelOptions o;
    o.snapshot_dir = SnapshotDir(sc.dir);
    o.scratch_dir = sc.dir.Sub("scratch");
    TimeTravel tt(sc.node->log(), o);
    for (const Recorded& r : p) {
      auto at = tt.ReadModelsAsOf(r.seq);
      INFO(at.status().ToString());
      REQUIRE(at.ok());
      // Points after the snapshot start from it; earlier ones cannot.
      CHECK((*at)->snapshot() == (r.seq >= sc.snapshot ? sc.snapshot : Seq()));
      CheckEqualsRecorded(**at, r);
    }
    // Exactly at the snapshot: nothing to fold.
    auto at = tt.ReadModelsAsOf(sc.snapshot);
    REQUIRE(at.ok());
    CHECK((*at)->snapshot() == sc.snapshot);
    // Scratch copies are removed with their results; the snapshot stays intact.
    at->reset();
    CHECK(std::filesystem::is_empty(sc.dir.Sub("scratch")));
    CHECK(ListSnapshots(SnapshotDir(sc.dir)).value().size() == 1);
  }
  SECTION("by time: the wall clock read at each point resolves to its seq") {
    TimeTravelOptions o;
    o.snapshot_dir = SnapshotDir(sc.dir);
    TimeTravel tt(sc.node->log(), o);
    for (const Recorded& r : p) {
      auto seq = tt.Resolve(FormatIso8601(r.wall));
      INFO(FormatIso8601(r.wall) << ": " << seq.status().ToString());
      REQUIRE(seq.ok());
      CHECK(*seq == r.seq);
      auto at = tt.ReadModelsAsOf(*seq);
      REQUIRE(at.ok());
      CheckEqualsRecorded(**at, r);
    }
    // Before the first event: an empty cloud; far in the future: the head.
    CHECK(tt.Resolve("2000-01-01T00:00:00Z").value() == Seq());
    CHECK(tt.Resolve("2999-01-01T00:00:00Z").value() == sc.node->log()->Head().value());
    auto empty = tt.ReadModelsAsOf(Seq());
    REQUIRE(empty.ok());
    CHECK(AllServers((*empty)->servers()).empty());
    CHECK((*empty)->flavors().List().value().empty());
  }
  SECTION("a seq past the head is refused") {
    TimeTravel tt(sc.node->log(), TimeTravelOptions());
    Seq past = sc.node->log()->Head().value().next();
    CHECK(tt.Resolve(std::to_string(past.value())).status().code() ==
          StatusCode::kInvalidArgument);
    CHECK(tt.ReadModelsAsOf(past).status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("one instance or host as of a point equals its live record then") {
  Scenario sc;
  for (const Recorded& r : sc.points) {
    INFO("seq " << r.seq.value());
    for (const InstanceId& id : {sc.a, sc.b, sc.c, sc.d}) {
      auto s = InstanceAsOf(*sc.node->log(), id, r.seq);
      REQUIRE(s.ok());
      const InstanceState* live = Find(r.servers, id);
      if (live == nullptr) {
        CHECK(!s->exists);  // not requested yet
      } else {
        CHECK(*s == *live);
      }
    }
    for (const HostState& live : r.hosts) {
      auto h = HostAsOf(*sc.node->log(), live.name, r.seq);
      REQUIRE(h.ok());
      CHECK(*h == live);
    }
  }
  CHECK(!InstanceAsOf(*sc.node->log(), InstanceId("nope"), sc.points.back().seq)
             .value()
             .exists);
}

TEST_CASE("diff between two points names exactly the servers and hosts that changed") {
  Scenario sc;
  TimeTravelOptions o;
  o.snapshot_dir = SnapshotDir(sc.dir);
  TimeTravel tt(sc.node->log(), o);
  const Recorded& p1 = sc.points[1];
  const Recorded& p2 = sc.points[2];
  auto diff = tt.Diff(p1.seq, p2.seq);
  INFO(diff.status().ToString());
  REQUIRE(diff.ok());
  CHECK(diff->from == p1.seq);
  CHECK(diff->to == p2.seq);

  // a was deleted, c was booted; b did not change.
  REQUIRE(diff->servers.size() == 2);
  std::map<std::string, const ResourceChange*> by_id;
  for (const ResourceChange& c : diff->servers) by_id[c.id] = &c;
  REQUIRE(by_id.count(sc.a.str()));
  REQUIRE(by_id.count(sc.c.str()));
  const ResourceChange& deleted = *by_id[sc.a.str()];
  CHECK(deleted.kind == ResourceChange::Kind::kChanged);
  CHECK(deleted.name == "a");
  REQUIRE(Field(deleted, "status"));
  CHECK(Field(deleted, "status")->before == "ACTIVE");
  CHECK(Field(deleted, "status")->after == "DELETED");
  CHECK(Field(deleted, "vm_state")->after == "deleted");
  CHECK(Field(deleted, "name") == nullptr);  // unchanged fields are not listed
  const ResourceChange& added = *by_id[sc.c.str()];
  CHECK(added.kind == ResourceChange::Kind::kAdded);
  REQUIRE(Field(added, "status"));
  CHECK(Field(added, "status")->before.empty());
  CHECK(Field(added, "status")->after == "ACTIVE");
  // Field for field what the live records say.
  CHECK(deleted.fields == DiffServer(Find(p1.servers, sc.a), Find(p2.servers, sc.a)));
  CHECK(added.fields == DiffServer(nullptr, Find(p2.servers, sc.c)));

  // Hosts: exactly those whose usage moved (a's host gave back, c's host took).
  std::set<std::string> moved;
  for (size_t i = 0; i < p2.hosts.size(); ++i) {
    REQUIRE(p1.hosts[i].name == p2.hosts[i].name);
    if (p1.hosts[i].claims != p2.hosts[i].claims) moved.insert(p2.hosts[i].name.str());
  }
  std::set<std::string> diffed;
  for (const ResourceChange& c : diff->hosts) {
    diffed.insert(c.id);
    CHECK(c.kind == ResourceChange::Kind::kChanged);
    CHECK((Field(c, "claimed") != nullptr || Field(c, "released") != nullptr));
  }
  const std::string c_host = Find(p2.servers, sc.c)->host.str();
  for (const ResourceChange& c : diff->hosts) {
    if (c.id != c_host) continue;
    REQUIRE(Field(c, "claimed") != nullptr);
    CHECK(Field(c, "claimed")->after == sc.c.str());
  }
  CHECK(diffed == moved);
  CHECK(!diffed.empty());

  // Later: c deleted, d booted with metadata; backwards, d is removed.
  auto later = tt.Diff(p2.seq, sc.points[3].seq).value();
  std::set<std::string> ids;
  for (const ResourceChange& c : later.servers) ids.insert(c.id);
  CHECK(ids == std::set<std::string>{sc.c.str(), sc.d.str()});
  auto back = tt.Diff(sc.points[3].seq, p2.seq).value();
  for (const ResourceChange& c : back.servers) {
    if (c.id != sc.d.str()) continue;
    CHECK(c.kind == ResourceChange::Kind::kRemoved);
    REQUIRE(Field(c, "metadata"));
    CHECK(Field(c, "metadata")->before == "role=db");
  }
  // A point against itself: nothing.
  auto same = tt.Diff(p2.seq, p2.seq).value();
  CHECK(same.servers.empty());
  CHECK(same.hosts.empty());
}

TEST_CASE("the daemon's snapshot taker snapshots every K events and keeps the last M") {
  TempDir dir;
  NodeOptions o = Options(dir, 1);
  o.api.snapshot_every = 4;
  o.api.snapshot_keep = 2;
  auto node = Node::Start(o).value();
  WaitHosts(*node, 1);
  // The newest snapshot, once the taker (it polls every 100 ms) is within K
  // events of `head`.
  auto newest_near = [&](Seq head) {
    std::vector<SnapshotInfo> snaps;
    REQUIRE(WaitUntil([&] {
      snaps = ListSnapshots(SnapshotDir(dir)).value();
      return !snaps.empty() && snaps.back().seq.value() + o.api.snapshot_every > head.value();
    }));
    return snaps.back().seq;
  };
  // One server at a time: a boot appends more than K events after the newest
  // snapshot (requested, scheduled, claimed, build started, spawned), so each
  // is followed by a snapshot of its own: four in all, more than are kept.
  std::vector<Seq> newest;  // after each boot
  for (int i = 0; i < 4; ++i) {
    const InstanceId id = Boot(*node, "vm-" + std::to_string(i));
    WaitServer(*node, id, Active);
    newest.push_back(newest_near(node->log()->Head().value()));
    if (i > 0) CHECK(newest[i] > newest[i - 1]);
  }
  Recorded now = RecordLive(*node);
  // Exactly the last two are kept (the taker prunes right after it writes one).
  std::vector<SnapshotInfo> snaps;
  WaitUntil([&] {
    snaps = ListSnapshots(SnapshotDir(dir)).value();
    return snaps.size() == 2 &&
           snaps.back().seq.value() + o.api.snapshot_every > now.seq.value();
  });
  REQUIRE(snaps.size() == 2);
  CHECK(snaps.back().seq.value() + o.api.snapshot_every > now.seq.value());
  CHECK(snaps.front().seq >= newest[2]);  // the older ones are gone
  CHECK(snaps.back().seq >= newest[3]);
  // Each snapshot is the read models at its seq, byte for byte a rebuild.
  TimeTravelOptions with;
  with.snapshot_dir = SnapshotDir(dir);
  TimeTravel tt(node->log(), with);
  TimeTravel rebuild(node->log(), TimeTravelOptions());
  for (const SnapshotInfo& s : snaps) {
    auto from_snapshot = tt.ReadModelsAsOf(s.seq).value();
    CHECK(from_snapshot->snapshot() == s.seq);
    CHECK(from_snapshot->store().Digest().value() ==
          rebuild.ReadModelsAsOf(s.seq).value()->store().Digest().value());
  }
  auto head = tt.ReadModelsAsOf(now.seq).value();
  CHECK(head->snapshot() == snaps.back().seq);
  CheckEqualsRecorded(*head, now);
}

TEST_CASE("a snapshot of other read models, or a half-written one, is never used") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 1)).value();
  Recorded r = RecordLive(*node);
  Seq seq = SaveReadModelsSnapshot(*node->store(), SnapshotDir(dir), 0).value();
  REQUIRE(seq == r.seq);
  REQUIRE(ListSnapshots(SnapshotDir(dir)).value().size() == 1);
  // Saving the same state again writes nothing new.
  CHECK(SaveReadModelsSnapshot(*node->store(), SnapshotDir(dir), 0).value() == seq);
  CHECK(ListSnapshots(SnapshotDir(dir)).value().size() == 1);
  std::string path = ListSnapshots(SnapshotDir(dir)).value()[0].path;
  {
    std::ofstream f(path + "/READ_MODELS");
    f << "servers";  // an older binary's set
  }
  CHECK(ListSnapshots(SnapshotDir(dir)).value().empty());
  std::filesystem::create_directories(SnapshotDir(dir) + "/tmp-1-0");
  CHECK(ListSnapshots(SnapshotDir(dir)).value().empty());
  TimeTravelOptions o;
  o.snapshot_dir = SnapshotDir(dir);
  auto at = TimeTravel(node->log(), o).ReadModelsAsOf(r.seq);
  REQUIRE(at.ok());
  CHECK((*at)->snapshot() == Seq());
  CheckEqualsRecorded(**at, r);
}

TEST_CASE("the admin history API: events, a server and the list as of a point") {
  TempDir dir;
  NodeOptions o = Options(dir, 1);
  int port = FreePort();
  o.api.compute_api_url = "http://127.0.0.1:" + std::to_string(port);
  auto node = Node::Start(o).value();
  WaitHosts(*node, 1);
  InstanceId id = Boot(*node, "web");
  WaitServer(*node, id, Active);
  Recorded active = RecordLive(*node);
  REQUIRE(node->compute()->DeleteServer(Ctx(), id).ok());
  WaitServer(*node, id,
             [&](const InstanceState& s) { return DeletedAndReleased(*node, s); });
  Recorded deleted = RecordLive(*node);

  HttpClient http("127.0.0.1:" + std::to_string(port));
  auto get = [&](const std::string& path, const std::string& token) {
    auto r = http.Send("GET", path, {{"X-Auth-Token", token}});
    INFO(path << ": " << r.status().ToString());
    REQUIRE(r.ok());
    return *r;
  };
  auto json = [](const chronova::HttpClientResponse& r) {
    INFO(r.body);
    auto j = Json::Parse(r.body);
    REQUIRE(j.ok());
    return *j;
  };
  const std::string admin = "admin:admin";
  const std::string base = "/v2.1/chronova/history/servers";

  // The full history, as chronovactl events --json shows it.
  auto events = ReadWholeStream(*node->log(), InstanceStream(id)).value();
  auto r = get(base + "/" + id.str(), admin);
  REQUIRE(r.status == 200);
  Json body = json(r);
  CHECK(body.Find("server_id")->as_string() == id.str());
  const Json& list = *body.Find("events");
  REQUIRE(list.size() == events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const Json& e = list.items()[i];
    CHECK(e.Find("seq")->as_int() == static_cast<int64_t>(events[i].seq.value()));
    CHECK(e.Find("type")->as_string() == events[i].type);
    CHECK(e.Find("payload")->is_object());
  }
  CHECK(list.items().front().Find("type")->as_string() == "instance.requested");
  CHECK(list.items().back().Find("type")->as_string() == "instance.deleted");

  // The server as of a point: Nova's server view of the record live then, by seq
  // and by time.
  LinkContext links;
  links.version_url = "http://127.0.0.1:" + std::to_string(port) + "/v2.1";
  links.bookmark_url = "http://127.0.0.1:" + std::to_string(port);
  links.image_url = links.bookmark_url + "/image";
  ServerViewOptions admin_view;
  admin_view.extended_attributes = true;
  for (const Recorded* rec : {&active, &deleted}) {
    for (const std::string& as_of : std::vector<std::string>{
             std::to_string(rec->seq.value()), FormatIso8601(rec->wall)}) {
      r = get(base + "/" + id.str() + "?as_of=" + as_of, admin);
      INFO(as_of << ": " << r.body);
      REQUIRE(r.status == 200);
      body = json(r);
      CHECK(body.Find("as_of")->Find("seq")->as_int() ==
            static_cast<int64_t>(rec->seq.value()));
      CHECK(*body.Find("server") ==
            ServerDetailView(links, *Find(rec->servers, id), admin_view));
    }
  }
  CHECK(json(get(base + "/" + id.str() + "?as_of=" + std::to_string(active.seq.value()),
                 admin))
            .Find("server")
            ->Find("status")
            ->as_string() == "ACTIVE");
  CHECK(json(get(base + "/" + id.str() + "?as_of=" + std::to_string(deleted.seq.value()),
                 admin))
            .Find("server")
            ->Find("status")
            ->as_string() == "DELETED");

  // The list as of a point: live servers then, newest first.
  r = get(base + "?as_of=" + std::to_string(active.seq.value()), admin);
  REQUIRE(r.status == 200);
  body = json(r);
  REQUIRE(body.Find("servers")->size() == 1);
  CHECK(body.Find("servers")->items()[0].Find("id")->as_string() == id.str());
  r = get(base + "?as_of=" + std::to_string(deleted.seq.value()), admin);
  CHECK(json(r).Find("servers")->size() == 0);
  r = get(base, admin);  // no as_of: now
  REQUIRE(r.status == 200);
  CHECK(json(r).Find("as_of")->Find("seq")->as_int() ==
        static_cast<int64_t>(deleted.seq.value()));

  // Before the server existed: 404; unknown server: 404.
  r = get(base + "/" + id.str() + "?as_of=1", admin);
  CHECK(r.status == 404);
  CHECK(json(r).Find("itemNotFound") != nullptr);
  r = get(base + "/no-such-server", admin);
  CHECK(r.status == 404);
  CHECK(json(r).Find("itemNotFound") != nullptr);

  // Malformed or future as_of: 400 with Nova's badRequest body.
  for (const std::string& bad :
       std::vector<std::string>{"yesterday", "", "2026-99-01T00:00:00Z",
                                std::to_string(deleted.seq.value() + 1000)}) {
    r = get(base + "/" + id.str() + "?as_of=" + bad, admin);
    INFO(bad << ": " << r.body);
    CHECK(r.status == 400);
    Json error = json(r);
    const Json* fault = error.Find("badRequest");
    REQUIRE(fault != nullptr);
    CHECK(fault->Find("message")->as_string().find("as_of") != std::string::npos);
    CHECK(get(base + "?as_of=" + bad, admin).status == 400);
  }

  // Not an admin: 403 with Nova's forbidden body, whatever else is asked.
  for (const std::string& path : std::vector<std::string>{
           base + "/" + id.str(), base + "/" + id.str() + "?as_of=1", base + "?as_of=1",
           base + "?as_of=garbage", base + "/no-such-server"}) {
    r = get(path, "alice:demo");
    INFO(path);
    CHECK(r.status == 403);
    Json error = json(r);
    const Json* fault = error.Find("forbidden");
    REQUIRE(fault != nullptr);
    CHECK(fault->Find("code")->as_int() == 403);
  }
  // No token: 401, as every route.
  auto anon = http.Send("GET", base, {});
  REQUIRE(anon.ok());
  CHECK(anon->status == 401);
}

}  // namespace chronova::testing
