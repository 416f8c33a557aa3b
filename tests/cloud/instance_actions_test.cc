// The instance actions read model ("who did what, why") and its two views:
// Nova's os-instance-actions and the audit indexes. Boots, deletes and failures
// run through a whole Node (scheduler, conductor, fake compute); the API shapes
// through ComputeApiHandler on a hand-written log.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "agents/compute/fake_hypervisor.h"
#include "agents/scheduler.h"
#include "api/auth/auth.h"
#include "api/compute/compute_api_handler.h"
#include "api/service/compute_service.h"
#include "core/event_json.h"
#include "core/instance_decider.h"
#include "eventstore/rocksdb_event_log.h"
#include "projections/instance_actions_projection.h"
#include "projections/projection_runner.h"
#include "projections/read_models.h"
#include "tests/support/node_test_util.h"
#include "tests/support/test_util.h"
#include "tools/node.h"

namespace chronova::testing {
namespace {

RequestContext Ctx(const std::string& user = "alice",
                   const std::string& project = "demo") {
  return MemberContext(user, project);
}

NodeOptions Options(const TempDir& dir, int hosts) {
  return FakeCloudOptions(dir, hosts, 4, 4096);
}

// Polls the server (as admin) until `pred` holds (10 s).
template <typename Pred>
void WaitServer(Node& node, const InstanceId& id, Pred pred) {
  RequestContext admin{UserId("admin"), ProjectId("admin"), {"admin"}, RequestId("r")};
  for (int i = 0; i < 1000; ++i) {
    if (pred(node.compute()->GetServer(admin, id))) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("server " << id.str() << " never reached the expected state");
}

auto HasStatus(std::string_view status) {
  return [status](const Result<InstanceState>& s) {
    return s.ok() && ApiStatus(*s) == status;
  };
}
bool Gone(const Result<InstanceState>& s) { return s.status().IsNotFound(); }

InstanceId CreateOne(Node& node, const RequestContext& ctx,
                     const std::string& flavor = "1") {
  CreateServerRequest req;
  req.name = "vm";
  req.flavor_ref = flavor;
  req.image_ref = kDemoImageId;
  auto r = node.compute()->CreateServers(ctx, req);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return r->servers.at(0).id;
}

// Waits until the read models have folded the whole log and nothing moved for a
// moment (the conductor releases claims just after a delete).
void Settle(Node& node) {
  Seq last;
  for (int i = 0; i < 500; ++i) {
    Seq head = node.log()->Head().value();
    REQUIRE(node.store()->WaitFor(head, 5000));
    if (head == last) return;
    last = head;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("the log never settled");
}

InstanceActions Actions(Node& node, const InstanceId& id) {
  auto reader = node.store()->Reader(InstanceActionsProjection::kName).value();
  auto record = InstanceActionsView(reader.get()).Get(id).value();
  REQUIRE(record.has_value());
  return *record;
}

std::map<Seq, Envelope> ByType(Node& node, const InstanceId& id, std::string_view type) {
  std::map<Seq, Envelope> out;
  for (const Envelope& e : ReadWholeStream(*node.log(), InstanceStream(id)).value()) {
    if (e.type == type) out.emplace(e.seq, e);
  }
  return out;
}

Envelope OneOf(const std::map<Seq, Envelope>& m) {
  REQUIRE(m.size() == 1);
  return m.begin()->second;
}

std::set<uint64_t> AuditSeqs(Node& node, AuditKind kind, const std::string& id) {
  auto reader = node.store()->Reader(InstanceActionsProjection::kName).value();
  std::set<uint64_t> out;
  for (Seq seq : InstanceActionsView(reader.get()).Audit({kind, id}).value()) {
    out.insert(seq.value());
  }
  return out;
}

// The seqs of the whole log for which `pred(envelope, payload json)` holds.
template <typename Pred>
std::set<uint64_t> LogSeqs(Node& node, Pred pred) {
  std::set<uint64_t> out;
  for (const Envelope& e : ReadAll(*node.log())) {
    std::string payload;  // without the layout spaces, to search "key":"value"
    for (char c : EventPayloadJson(DecodeEvent(e).value())) {
      if (c != ' ') payload.push_back(c);
    }
    if (pred(e, payload)) out.insert(e.seq.value());
  }
  return out;
}

}  // namespace

TEST_CASE("a boot and a delete are Nova's create and delete actions with their steps") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 1)).value();
  WaitHosts(*node, 1);
  RequestContext ctx = Ctx();
  InstanceId id = CreateOne(*node, ctx);
  WaitServer(*node, id, HasStatus("ACTIVE"));

  // Before the delete os-instance-actions lists the one create action.
  auto listed = node->compute()->ListInstanceActions(ctx, id);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().action == "create");
  CHECK(listed->front().request_id == ctx.request_id);

  RequestContext del = Ctx();
  REQUIRE(node->compute()->DeleteServer(del, id).ok());
  WaitServer(*node, id, Gone);
  Settle(*node);

  Envelope requested = OneOf(ByType(*node, id, "instance.requested"));
  Envelope scheduled = OneOf(ByType(*node, id, "instance.scheduled"));
  Envelope started = OneOf(ByType(*node, id, "build.started"));
  Envelope spawned = OneOf(ByType(*node, id, "instance.spawned"));
  const Envelope& delete_requested =
      OneOf(ByType(*node, id, "instance.delete_requested"));
  Envelope deleted = OneOf(ByType(*node, id, "instance.deleted"));

  InstanceActions record = Actions(*node, id);
  CHECK(record.project_id == ProjectId("demo"));
  REQUIRE(record.actions.size() == 2);
  const InstanceAction& create = record.actions[0];
  CHECK(create.action == "create");
  CHECK(create.instance_id == id);
  CHECK(create.request_id == ctx.request_id);
  CHECK(create.user_id == UserId("alice"));
  CHECK(create.project_id == ProjectId("demo"));
  CHECK(create.start_time == requested.meta.time);
  CHECK(create.finish_time == spawned.meta.time);
  CHECK(create.message.empty());
  std::vector<Seq> create_seqs;
  for (const ActionStep& s : create.steps) create_seqs.push_back(s.seq);
  CHECK(create_seqs ==
        std::vector<Seq>{requested.seq, scheduled.seq, started.seq, spawned.seq});
  REQUIRE(create.events.size() == 2);
  CHECK(create.events[0].event == "conductor_schedule_and_build_instances");
  CHECK(create.events[0].start_time == requested.meta.time);
  CHECK(create.events[0].finish_time == scheduled.meta.time);
  CHECK(create.events[0].result == "Success");
  CHECK(create.events[1].event == "compute__do_build_and_run_instance");
  CHECK(create.events[1].start_time == started.meta.time);
  CHECK(create.events[1].finish_time == spawned.meta.time);
  CHECK(create.events[1].result == "Success");
  CHECK(create.events[1].host == HostName("compute"));
  CHECK(create.events[1].details.empty());

  const InstanceAction& remove = record.actions[1];
  CHECK(remove.action == "delete");
  CHECK(remove.request_id == del.request_id);
  CHECK(remove.start_time == delete_requested.meta.time);
  CHECK(remove.finish_time == deleted.meta.time);
  REQUIRE(remove.events.size() == 1);
  CHECK(remove.events[0].event == "compute_terminate_instance");
  CHECK(remove.events[0].result == "Success");
  CHECK(remove.events[0].host == HostName("compute"));
  // The compute step has no start event of its own: it starts at its cause.
  CHECK(deleted.meta.causation == delete_requested.seq);
  CHECK(remove.events[0].start_time == delete_requested.meta.time);
  CHECK(remove.events[0].finish_time == deleted.meta.time);

  // Nova before 2.21 does not read deleted servers' actions.
  CHECK(node->compute()->ListInstanceActions(ctx, id).status().IsNotFound());
}

TEST_CASE("a failed build is an action with message Error and the reason in its step") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 1)).value();
  WaitHosts(*node, 1);
  auto* fake = dynamic_cast<FakeHypervisor*>(node->hypervisor(0));
  REQUIRE(fake != nullptr);
  fake->FailNextSpawn(Status::Internal("disk full"));
  RequestContext ctx = Ctx();
  InstanceId id = CreateOne(*node, ctx);
  WaitServer(*node, id, HasStatus("ERROR"));
  Settle(*node);

  Envelope failed = OneOf(ByType(*node, id, "instance.build_failed"));
  InstanceActions record = Actions(*node, id);
  REQUIRE(record.actions.size() == 1);
  const InstanceAction& create = record.actions[0];
  CHECK(create.message == "Error");
  CHECK(create.finish_time == failed.meta.time);
  REQUIRE(create.events.size() == 2);
  CHECK(create.events[0].result == "Success");
  const InstanceActionEvent& build = create.events[1];
  CHECK(build.event == "compute__do_build_and_run_instance");
  CHECK(build.result == "Error");
  CHECK(build.host == HostName("compute"));
  CHECK(build.details.find("disk full") != std::string::npos);
  CHECK(build.finish_seq == failed.seq);

  auto shown = node->compute()->GetInstanceAction(ctx, id, ctx.request_id);
  REQUIRE(shown.ok());
  CHECK(shown->message == "Error");
}

TEST_CASE(
    "a scheduling failure is an Error in the conductor's step, with no compute step") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 1)).value();
  WaitHosts(*node, 1);
  InstanceId id = CreateOne(*node, Ctx(), "5");  // 16 GiB on a 4 GiB host
  WaitServer(*node, id, HasStatus("ERROR"));
  Settle(*node);

  Envelope failed = OneOf(ByType(*node, id, "instance.scheduling_failed"));
  InstanceActions record = Actions(*node, id);
  REQUIRE(record.actions.size() == 1);
  const InstanceAction& create = record.actions[0];
  CHECK(create.message == "Error");
  CHECK(create.finish_time == failed.meta.time);
  REQUIRE(create.events.size() == 1);
  CHECK(create.events[0].event == "conductor_schedule_and_build_instances");
  CHECK(create.events[0].result == "Error");
  CHECK(create.events[0].details == kNoValidHost);
  CHECK(create.events[0].host.empty());
}

TEST_CASE("instance actions rebuilt from seq 0 equal the live ones") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 2)).value();
  WaitHosts(*node, 2);
  auto* fake = dynamic_cast<FakeHypervisor*>(node->hypervisor(0));
  fake->FailNextSpawn(Status::Internal("no space"));
  std::vector<InstanceId> ids;
  for (int i = 0; i < 4; ++i)
    ids.push_back(CreateOne(*node, Ctx(i % 2 ? "bob" : "alice")));
  ids.push_back(CreateOne(*node, Ctx(), "5"));  // no valid host
  for (const InstanceId& id : ids) {
    WaitServer(*node, id, [](const Result<InstanceState>& s) {
      return s.ok() && (ApiStatus(*s) == "ACTIVE" || ApiStatus(*s) == "ERROR");
    });
  }
  REQUIRE(node->compute()->DeleteServer(Ctx(), ids[0]).ok());
  REQUIRE(node->compute()->DeleteServer(Ctx(), ids[4]).ok());
  WaitServer(*node, ids[0], Gone);
  Settle(*node);

  Seq at = node->store()->checkpoint();
  std::string live = node->store()->Digest().value();
  REQUIRE(node->store()->checkpoint() == at);  // nothing moved while digesting

  ReadModels models;
  ProjectionStoreOptions o;
  o.path = dir.Sub("rebuilt");
  auto rebuilt = ProjectionStore::Open(o, models.All()).value();
  CatchUpOptions until;
  until.until = at;
  REQUIRE(CatchUp(*node->log(), *rebuilt, until).ok());
  CHECK(rebuilt->checkpoint() == at);
  CHECK(rebuilt->Digest().value() == live);

  // Replay's path: records folded in memory, audit postings appended in place,
  // written on a background thread every few records, no compaction: the same
  // bytes, and every key's last writer known.
  ReadModels bulk_models;
  ProjectionStoreOptions b;
  b.path = dir.Sub("bulk");
  b.bulk = true;
  b.bulk_flush_entries = 7;
  b.defer_compaction = true;
  b.track_writers = true;
  auto bulk = ProjectionStore::Open(b, bulk_models.All()).value();
  REQUIRE(CatchUp(*node->log(), *bulk, until).ok());
  CHECK(bulk->checkpoint() == at);
  CHECK(bulk->Digest().value() == live);
  std::unique_ptr<StoreIterator> it = bulk->NewIterator();
  int keys = 0, unknown = 0;
  for (; it->Valid(); it->Next(), ++keys) {
    Seq writer = bulk->LastWriter(it->key());
    if (writer == Seq() || writer > at) ++unknown;
  }
  CHECK(keys > 20);
  CHECK(unknown == 0);
}

TEST_CASE("the projection folds an instance event once, however often it is applied") {
  // A writer over a plain map: Apply twice with the same events, same keys.
  struct MapWriter : ReadModelWriter {
    std::map<std::string, std::string> kv;
    Result<std::optional<std::string>> Get(std::string_view key) override {
      auto it = kv.find(std::string(key));
      return it == kv.end() ? std::optional<std::string>() : std::optional(it->second);
    }
    void Put(std::string_view key, std::string_view value) override {
      kv[std::string(key)] = std::string(value);
    }
    void Delete(std::string_view key) override { kv.erase(std::string(key)); }
  };
  InstanceRequested r;
  r.instance_id = InstanceId("i1");
  r.project_id = ProjectId("p1");
  r.user_id = UserId("u1");
  std::vector<Event> events = {r, InstanceScheduled{HostName("h1")},
                               BuildStarted{HostName("h1")},
                               InstanceSpawned{HostName("h1"), "instance-i1"}};
  std::vector<Envelope> envs;
  for (size_t i = 0; i < events.size(); ++i) {
    NewEvent n = MakeNewEvent(
        events[i], EventMeta{Timestamp{int64_t(100 + i)}, RequestId("req-1"),
                             Seq(i ? 1 : 0), Actor{UserId("u1"), ProjectId("p1"), {}}});
    envs.push_back(Envelope{Seq(i + 1), InstanceStream(r.instance_id),
                            StreamVersion(i + 1), n.type, n.schema, n.meta, n.payload});
  }
  InstanceActionsProjection p;
  MapWriter once, twice;
  for (size_t i = 0; i < envs.size(); ++i) {
    REQUIRE(p.Apply(envs[i], events[i], once).ok());
    REQUIRE(p.Apply(envs[i], events[i], twice).ok());
    REQUIRE(p.Apply(envs[i], events[i], twice).ok());
  }
  CHECK(once.kv == twice.kv);
  // A stream that does not begin with instance.requested is refused, naming the seq.
  MapWriter fresh;
  Status st = p.Apply(envs[1], events[1], fresh);
  CHECK(st.code() == StatusCode::kCorruption);
  CHECK(st.message().find("seq 2") != std::string::npos);
}

TEST_CASE(
    "an audit of a request, a user, a project, a host and a server finds exactly its "
    "events") {
  TempDir dir;
  auto node = Node::Start(Options(dir, 2)).value();
  WaitHosts(*node, 2);
  RequestContext alice = Ctx("alice", "demo");
  RequestContext bob = Ctx("bob", "other");
  InstanceId a = CreateOne(*node, alice);
  InstanceId b = CreateOne(*node, bob);
  WaitServer(*node, a, HasStatus("ACTIVE"));
  WaitServer(*node, b, HasStatus("ACTIVE"));
  // An admin deletes bob's server: the admin is the actor, bob's project the owner.
  RequestContext admin{
      UserId("admin"), ProjectId("admin"), {"admin"}, RequestId("req-admin-1")};
  REQUIRE(node->compute()->DeleteServer(admin, b).ok());
  WaitServer(*node, b, Gone);
  Settle(*node);

  // The request: every event it caused, on the instance and on its host.
  std::set<uint64_t> by_request =
      AuditSeqs(*node, AuditKind::kRequest, alice.request_id.str());
  CHECK(by_request == LogSeqs(*node, [&](const Envelope& e, const std::string&) {
          return e.meta.request_id == alice.request_id;
        }));
  std::set<std::string> types;
  for (const Envelope& e : ReadAll(*node->log())) {
    if (by_request.count(e.seq.value())) types.insert(e.type);
  }
  CHECK(types == std::set<std::string>{"instance.requested", "host.resources_claimed",
                                       "instance.scheduled", "build.started",
                                       "instance.spawned"});

  // The user: what alice asked for, nothing of bob's or the admin's.
  CHECK(AuditSeqs(*node, AuditKind::kUser, "alice") ==
        LogSeqs(*node, [](const Envelope& e, const std::string&) {
          return e.meta.actor.user == UserId("alice");
        }));
  CHECK(AuditSeqs(*node, AuditKind::kUser, "admin") ==
        LogSeqs(*node, [](const Envelope& e, const std::string&) {
          return e.meta.actor.user == UserId("admin");
        }));

  // The project: bob's own events and the admin's delete of bob's server.
  std::set<uint64_t> other = AuditSeqs(*node, AuditKind::kProject, "other");
  CHECK(other == LogSeqs(*node, [&](const Envelope& e, const std::string& payload) {
          return e.meta.actor.project == ProjectId("other") ||
                 e.stream == InstanceStream(b) ||
                 payload.find("\"instance_id\":\"" + b.str() + "\"") != std::string::npos;
        }));

  // The host: its own stream and every instance step that ran on it.
  InstanceState sa = node->compute()->GetServer(alice, a).value();
  std::string host = sa.host.str();
  CHECK(AuditSeqs(*node, AuditKind::kHost, host) ==
        LogSeqs(*node, [&](const Envelope& e, const std::string& payload) {
          return e.stream == HostStream(sa.host) ||
                 (StreamKind(e.stream) == "instance" &&
                  payload.find("\"host\":\"" + host + "\"") != std::string::npos);
        }));

  // The server: its stream plus the claims and releases naming it.
  std::set<uint64_t> server = AuditSeqs(*node, AuditKind::kServer, b.str());
  CHECK(server == LogSeqs(*node, [&](const Envelope& e, const std::string& payload) {
          return e.stream == InstanceStream(b) ||
                 payload.find("\"instance_id\":\"" + b.str() + "\"") != std::string::npos;
        }));
  CHECK(server.size() == 8);  // six instance events, one claim, one release

  CHECK(AuditSeqs(*node, AuditKind::kUser, "nobody").empty());
}

// ---- the os-instance-actions API ------------------------------------------------

namespace {

// A log written by hand, the read models, a ComputeService and the API handler
// (no scheduler, conductor or compute: nothing moves unless the test appends it).
struct ApiFixture {
  FakeEnv env{7};
  TempDir dir;
  std::unique_ptr<RocksDbEventLog> log;
  ReadModels models;
  std::unique_ptr<ProjectionStore> store;
  std::unique_ptr<ProjectionRunner> runner;
  std::unique_ptr<ComputeService> service;
  NoAuthAuthenticator auth;
  std::unique_ptr<ComputeApiHandler> handler;
  int keys = 0;

  ApiFixture() {
    log = OpenTestLog(dir.Sub("log"));
    ProjectionStoreOptions so;
    so.path = dir.Sub("store");
    store = std::move(ProjectionStore::Open(so, models.All())).value();
    runner = std::make_unique<ProjectionRunner>(log.get(), store.get());
    ComputeServiceOptions cso;
    cso.env = &env;
    service = std::make_unique<ComputeService>(log.get(), store.get(), runner.get(), cso);
    ComputeApiOptions ao;
    ao.service = service.get();
    ao.authenticator = &auth;
    ao.env = &env;
    handler = std::make_unique<ComputeApiHandler>(ao);
  }

  // Appends `e` to `id`'s stream as `user`:`project` under `request`; its seq.
  Seq Append(const InstanceId& id, const Event& e, const std::string& request,
             Seq causation, const std::string& user = "demo",
             const std::string& project = "p1") {
    env.AdvanceMicros(1000000);
    AppendRequest req;
    req.stream = InstanceStream(id);
    req.key = IdempotencyKey("k" + std::to_string(++keys));
    req.events.push_back(
        MakeNewEvent(e, EventMeta{env.Now(), RequestId(request), causation,
                                  Actor{UserId(user), ProjectId(project), {"member"}}}));
    Seq seq = log->Append(req).value().last_seq;
    REQUIRE(runner->WaitFor(seq, 5000).ok());
    return seq;
  }

  // Boots `id` by hand: requested, scheduled on h1, build started, spawned.
  void Boot(const InstanceId& id) {
    InstanceRequested r;
    r.instance_id = id;
    r.name = "vm";
    r.project_id = ProjectId("p1");
    r.user_id = UserId("demo");
    r.flavor = FlavorSpec{FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {}};
    Seq requested = Append(id, r, "req-create", Seq());
    Seq scheduled =
        Append(id, InstanceScheduled{HostName("h1")}, "req-create", requested);
    Append(id, BuildStarted{HostName("h1")}, "req-create", scheduled);
    Append(id, InstanceSpawned{HostName("h1"), "instance-1"}, "req-create", scheduled);
  }

  HttpResponse Get(const std::string& path, const std::string& token) {
    HttpRequest r;
    r.method = "GET";
    r.path = path;
    r.base_url = "http://compute.test";
    r.headers.Add("X-Auth-Token", token);
    return handler->Handle(r);
  }
};

Json Body(const HttpResponse& r) {
  INFO(r.body);
  auto j = Json::Parse(r.body);
  REQUIRE(j.ok());
  return *j;
}

std::vector<std::string> Keys(const Json& object) {
  std::vector<std::string> out;
  for (const auto& [k, v] : object.members()) out.push_back(k);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE(
    "os-instance-actions lists a server's actions newest first in Nova's 2.1 shape") {
  ApiFixture f;
  const InstanceId id("6a1b0c8e-1111-4a2b-9c3d-000000000001");
  f.Boot(id);
  // The delete is asked for and, with no compute running here, still in progress.
  RequestContext del{
      UserId("demo"), ProjectId("p1"), {"member"}, RequestId("req-delete")};
  REQUIRE(f.service->DeleteServer(del, id).ok());

  HttpResponse r = f.Get("/v2.1/servers/" + id.str() + "/os-instance-actions", "demo:p1");
  REQUIRE(r.status == 200);
  Json body = Body(r);
  CHECK(Keys(body) == std::vector<std::string>{"instanceActions"});
  const auto& actions = body.Find("instanceActions")->items();
  REQUIRE(actions.size() == 2);
  CHECK(actions[0].Find("action")->as_string() == "delete");
  CHECK(actions[0].Find("request_id")->as_string() == "req-delete");
  CHECK(actions[1].Find("action")->as_string() == "create");
  CHECK(actions[1].Find("request_id")->as_string() == "req-create");
  for (const Json& a : actions) {
    CHECK(Keys(a) == std::vector<std::string>{"action", "instance_uuid", "message",
                                              "project_id", "request_id", "start_time",
                                              "user_id"});
    CHECK(a.Find("instance_uuid")->as_string() == id.str());
    CHECK(a.Find("user_id")->as_string() == "demo");
    CHECK(a.Find("project_id")->as_string() == "p1");
    CHECK(a.Find("message")->is_null());
  }
  // Nova's str() of a naive datetime: FakeEnv starts at 2026-01-01T00:00:00Z.
  CHECK(actions[1].Find("start_time")->as_string() == "2026-01-01T00:00:01.000000");
}

TEST_CASE("os-instance-actions shows one action, with its events to admins only") {
  ApiFixture f;
  const InstanceId id("6a1b0c8e-1111-4a2b-9c3d-000000000002");
  f.Boot(id);
  const std::string path =
      "/v2.1/servers/" + id.str() + "/os-instance-actions/req-create";

  HttpResponse admin = f.Get(path, "admin:admin");
  REQUIRE(admin.status == 200);
  Json body = Body(admin);
  const Json* action = body.Find("instanceAction");
  REQUIRE(action != nullptr);
  CHECK(Keys(*action) == std::vector<std::string>{"action", "events", "instance_uuid",
                                                  "message", "project_id", "request_id",
                                                  "start_time", "user_id"});
  CHECK(action->Find("action")->as_string() == "create");
  const auto& events = action->Find("events")->items();
  REQUIRE(events.size() == 2);
  for (const Json& e : events) {
    CHECK(Keys(e) == std::vector<std::string>{"event", "finish_time", "result",
                                              "start_time", "traceback"});
    CHECK(e.Find("result")->as_string() == "Success");
    CHECK(e.Find("traceback")->is_null());
  }
  CHECK(events[0].Find("event")->as_string() == "conductor_schedule_and_build_instances");
  CHECK(events[0].Find("start_time")->as_string() == "2026-01-01T00:00:01.000000");
  CHECK(events[0].Find("finish_time")->as_string() == "2026-01-01T00:00:02.000000");
  CHECK(events[1].Find("event")->as_string() == "compute__do_build_and_run_instance");

  // The owner sees the action without its events (Nova's default policy at 2.1).
  HttpResponse owner = f.Get(path, "demo:p1");
  REQUIRE(owner.status == 200);
  CHECK_FALSE(Body(owner).Find("instanceAction")->Contains("events"));

  // A running step has no finish time and no result yet.
  const InstanceId building("6a1b0c8e-1111-4a2b-9c3d-000000000003");
  InstanceRequested r;
  r.instance_id = building;
  r.name = "b";
  r.project_id = ProjectId("p1");
  r.user_id = UserId("demo");
  f.Append(building, r, "req-b", Seq());
  Json running = Body(f.Get(
      "/v2.1/servers/" + building.str() + "/os-instance-actions/req-b", "admin:admin"));
  const Json& step = running.Find("instanceAction")->Find("events")->items().at(0);
  CHECK(step.Find("finish_time")->is_null());
  CHECK(step.Find("result")->is_null());
}

TEST_CASE("os-instance-actions is 404 for another project's server and unknown ids") {
  ApiFixture f;
  const InstanceId id("6a1b0c8e-1111-4a2b-9c3d-000000000004");
  f.Boot(id);
  const std::string base = "/v2.1/servers/" + id.str() + "/os-instance-actions";

  for (const std::string& path : {base, base + "/req-create"}) {
    HttpResponse r = f.Get(path, "other:p2");
    CHECK(r.status == 404);
    CHECK(Body(r).Find("itemNotFound")->Find("message")->as_string() ==
          "Instance " + id.str() + " could not be found.");
  }
  HttpResponse unknown_action = f.Get(base + "/req-nope", "demo:p1");
  CHECK(unknown_action.status == 404);
  CHECK(Body(unknown_action).Find("itemNotFound")->Find("message")->as_string() ==
        "Action req-nope not found");
  HttpResponse unknown_server =
      f.Get("/v2.1/servers/00000000-0000-4000-8000-000000000000/os-instance-actions",
            "admin:admin");
  CHECK(unknown_server.status == 404);
}

}  // namespace chronova::testing

namespace chronova::testing {
namespace {

// Committed keys of one projection, from a map (to hand the view any bytes).
class MapReader : public ReadModelReader {
 public:
  std::map<std::string, std::string> keys;
  Result<std::optional<std::string>> Get(std::string_view key) const override {
    auto it = keys.find(std::string(key));
    if (it == keys.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status Scan(
      std::string_view prefix, std::string_view start_after,
      const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    for (auto it = keys.upper_bound(std::string(start_after)); it != keys.end(); ++it) {
      if (!std::string_view(it->first).starts_with(prefix)) continue;
      if (!fn(it->first, it->second)) break;
    }
    return Status::Ok();
  }
};

}  // namespace

TEST_CASE("audit postings cross 4,096-seq buckets the same live and in a bulk rebuild") {
  // 9,000 events of one host (seqs 1..9000: three buckets, both boundaries),
  // every one under the same request, user and project.
  std::vector<Envelope> log;
  const Actor actor{UserId("u1"), ProjectId("p1"), {"admin"}};
  for (uint64_t seq = 1; seq <= 9000; ++seq) {
    Event e = HostServiceEnabled{};
    if (seq == 1) {
      HostRegistered reg;
      reg.host = HostName("h1");
      reg.vcpus = 8;
      reg.memory_mb = 8192;
      reg.disk_gb = 100;
      e = reg;
    } else if (seq % 2 == 0) {
      e = HostServiceDisabled{"maintenance"};
    }
    NewEvent ne = MakeNewEvent(e, EventMeta{Timestamp{static_cast<int64_t>(seq)},
                                            RequestId("req-1"), Seq(), actor});
    log.push_back(Envelope{Seq(seq), StreamId("host/h1"), StreamVersion(seq), ne.type,
                           ne.schema, ne.meta, std::move(ne.payload)});
  }
  TempDir dir;
  InstanceActionsProjection live_model, bulk_model;
  ProjectionStoreOptions lo;
  lo.path = dir.Sub("live");
  auto live = ProjectionStore::Open(lo, {&live_model}).value();
  for (size_t i = 0; i < log.size(); i += 1000) {
    std::vector<Envelope> batch(log.begin() + i,
                                log.begin() + std::min(log.size(), i + 1000));
    REQUIRE(live->ApplyBatch(batch).ok());
  }
  ProjectionStoreOptions bo;
  bo.path = dir.Sub("bulk");
  bo.bulk = true;
  bo.bulk_flush_entries = 3;  // written (and read back) every batch
  auto bulk = ProjectionStore::Open(bo, {&bulk_model}).value();
  for (size_t i = 0; i < log.size(); i += 700) {
    std::vector<Envelope> batch(log.begin() + i,
                                log.begin() + std::min(log.size(), i + 700));
    REQUIRE(bulk->ApplyBatch(batch).ok());
  }
  REQUIRE(bulk->Flush().ok());
  CHECK(bulk->Digest().value() == live->Digest().value());

  std::vector<Seq> all;
  for (uint64_t seq = 1; seq <= 9000; ++seq) all.push_back(Seq(seq));
  auto reader = live->Reader(InstanceActionsProjection::kName).value();
  InstanceActionsView view(reader.get());
  for (AuditSubject s :
       {AuditSubject{AuditKind::kHost, "h1"}, AuditSubject{AuditKind::kUser, "u1"},
        AuditSubject{AuditKind::kProject, "p1"},
        AuditSubject{AuditKind::kRequest, "req-1"}}) {
    CHECK(view.Audit(s).value() == all);
  }
  // One key per subject per bucket.
  int host_keys = 0;
  REQUIRE(reader
              ->Scan("audit/host/h1/", "",
                     [&](std::string_view k, std::string_view) {
                       ++host_keys;
                       return k.ends_with("00000000000000000000") ||
                              k.ends_with("00000000000000004096") ||
                              k.ends_with("00000000000000008192");
                     })
              .ok());
  CHECK(host_keys == 3);
}

TEST_CASE("malformed audit postings are Corruption naming the key") {
  const std::string key = "audit/host/h1/00000000000000004096";
  auto audit = [&](std::string value, std::string k = "") {
    MapReader r;
    r.keys[k.empty() ? key : k] = std::move(value);
    return InstanceActionsView(&r).Audit({AuditKind::kHost, "h1"});
  };
  CHECK(audit(std::string("\x00\x05\x7f", 3)).value() ==
        std::vector<Seq>{Seq(4096), Seq(4101), Seq(4223)});
  CHECK(audit("\xff\x1f").value() == std::vector<Seq>{Seq(4096 + 4095)});
  for (const std::string& bad :
       {std::string("\x85"),                 // truncated
        std::string("\x80\x20"),             // offset 4096: outside its bucket
        std::string("\x05\x03"),             // not ascending
        std::string("\x05\x05"),             // twice
        std::string("\x80\x80\x80\x01")}) {  // overlong
    Result<std::vector<Seq>> r = audit(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().IsCorruption());
    CHECK(r.status().message().find(key) != std::string::npos);
  }
  CHECK(audit("\x01", "audit/host/h1/00000000000000004097").status().IsCorruption());
  CHECK(audit("\x01", "audit/host/h1/4096").status().IsCorruption());
}

}  // namespace chronova::testing
