#include "tests/sim/simulation.h"

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "agents/bus.h"
#include "agents/compute/compute_agent.h"
#include "agents/compute/fake_hypervisor.h"
#include "agents/conductor.h"
#include "agents/heartbeat_monitor.h"
#include "agents/membership.h"
#include "agents/scheduler.h"
#include "api/service/compute_service.h"
#include "api/service/quotas.h"
#include "core/logger.h"
#include "eventstore/command_handler.h"
#include "eventstore/memory_event_log.h"
#include "projections/divergence.h"
#include "projections/projection_runner.h"
#include "projections/read_models.h"
#include "projections/servers_projection.h"
#include "tests/sim/faulty_bus.h"
#include "tests/sim/sim_env.h"

namespace chronova::sim {
namespace {

constexpr int64_t kSecond = 1'000'000;
const char* const kImageId = "8a5b1c6e-0f4d-4b7e-9a57-4c2f1b3d9e10";
// Each project's quota: room for more servers than the hosts hold.
constexpr int64_t kQuotaInstances = 40, kQuotaCores = 80, kQuotaRam = 80000;

// What the clients were told, to hold the cloud to it at the end.
struct Expectations {
  std::set<InstanceId> created;  // a create that answered with these ids
  std::set<InstanceId> deleted;  // a delete that answered OK
};

class World {
 public:
  World(uint64_t seed, const SimOptions& options, const std::string& scratch)
      : options_(options), env_(seed), scratch_(scratch) {
    if (!options.verbose) env_.set_logger(&quiet_);
  }

  SimResult Run();

 private:
  Status Open();
  void Seed(const StreamId& stream, const Event& e);
  // The workload: each client acts every few seconds.
  void ClientTick(int client);
  void ClientAct(int client);
  // The faults: one every few seconds while active.
  void ChaosTick();
  void StartAgent(int i);
  void StartScheduler(int i);
  void StartConductor(int i);
  // Kills a process: its bus connection first, so nothing it says while its
  // objects are destroyed gets out.
  template <class Process>
  static void Kill(std::unique_ptr<Process>& p) {
    if (!p) return;
    p->bus->Sever();
    p.reset();
  }
  // Kills the process in `slot` and starts it again (`start(i)`) `down_us`
  // later, unless something started it meanwhile.
  template <class Process>
  void KillFor(std::unique_ptr<Process>& slot, int64_t down_us, void (World::*start)(int),
               int i) {
    Kill(slot);
    env_.Schedule(down_us, [this, &slot, start, i] {
      chaos_->Post([this, &slot, start, i] {
        if (!slot) (this->*start)(i);
      });
    });
  }
  // Starts a role's process (its agent, then its membership) into `slot`.
  template <class Process>
  void Launch(std::unique_ptr<Process> p, std::unique_ptr<Process>& slot,
              const char* role) {
    Status st = p->agent->Start();
    if (st.ok() && p->members) st = p->members->Start();
    if (!st.ok())
      Violation(&result_, std::string("a ") + role + " did not start: " + st.ToString());
    slot = std::move(p);
  }
  void Check(SimResult* r);
  // SimOptions::explain: the history of every id the violations name.
  void Explain(SimResult* r);
  void Violation(SimResult* r, std::string what) {
    r->violations.push_back(std::move(what));
  }

  const SimOptions options_;
  SimEnv env_;
  const std::string scratch_;
  MemoryLogger quiet_;
  MemoryLogStore log_store_;
  std::unique_ptr<MemoryEventLog> log_;
  ReadModels models_;
  std::unique_ptr<ProjectionStore> store_;
  std::unique_ptr<ProjectionRunner> runner_;
  std::unique_ptr<ComputeService> service_;
  std::unique_ptr<Bus> inner_bus_;
  std::unique_ptr<FaultyBus> bus_;
  std::unique_ptr<HeartbeatMonitor> heartbeats_;
  // A role's process: its bus connection, membership and agent (destroyed in
  // reverse: the agent stops before its connection goes).
  template <class Agent>
  struct Process {
    std::unique_ptr<ProcessBus> bus;
    std::unique_ptr<Membership> members;
    std::unique_ptr<Agent> agent;
    ~Process() {
      if (members) members->Stop();
      agent.reset();
      members.reset();
    }
  };
  std::vector<std::unique_ptr<Process<Scheduler>>> schedulers_;
  std::vector<std::unique_ptr<Process<Conductor>>> conductors_;
  std::vector<std::unique_ptr<FakeHypervisor>> hypervisors_;
  std::vector<std::unique_ptr<Process<ComputeAgent>>> agents_;
  std::vector<std::unique_ptr<TaskQueue>> clients_;
  std::unique_ptr<TaskQueue> chaos_;
  std::map<int, std::vector<InstanceId>> owned_;  // by client: servers it made
  Expectations expect_;
  bool active_ = true;
  int generation_ = 0;  // process incarnations, for member ids
  SimResult result_;
};

void World::Seed(const StreamId& stream, const Event& e) {
  AppendRequest req;
  req.stream = stream;
  req.expected = ExpectedVersion::NoStream();
  req.key = IdempotencyKey("seed-" + stream.str());
  req.events.push_back(
      MakeNewEvent(e, EventMeta{env_.Now(), RequestId("req-seed"), Seq(),
                                Actor{UserId("admin"), ProjectId("admin"), {"admin"}}}));
  (void)log_->Append(req);
}

Status World::Open() {
  log_ = std::make_unique<MemoryEventLog>(&log_store_, &env_);
  ProjectionStoreOptions so;
  so.path = scratch_ + "/live";
  CHRONOVA_ASSIGN_OR_RETURN(store_, ProjectionStore::Open(so, models_.All()));
  runner_ = std::make_unique<ProjectionRunner>(log_.get(), store_.get(), &env_);

  FlavorCreated tiny;
  tiny.flavor = FlavorSpec{FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {}};
  Seed(StreamId("flavor/1"), tiny);
  FlavorCreated small;
  small.flavor = FlavorSpec{FlavorId("2"), "m1.small", 2, 2048, 20, 0, 0, {}};
  Seed(StreamId("flavor/2"), small);
  ImageRegistered image;
  image.image_id = ImageId(kImageId);
  image.name = "cirros";
  image.size = 12345;
  Seed(StreamId(std::string("image/") + kImageId), image);

  inner_bus_ = NewInProcessBus(&env_);
  bus_ = std::make_unique<FaultyBus>(inner_bus_.get(), &env_);
  HeartbeatMonitorOptions hm;
  hm.env = &env_;
  heartbeats_ = std::make_unique<HeartbeatMonitor>(bus_.get(), hm);
  CHRONOVA_RETURN_IF_ERROR(heartbeats_->Start());

  ComputeServiceOptions cso;
  cso.env = &env_;
  // Placements fail too: the quotas hold more than the hosts.
  cso.quota_defaults = DefaultQuotaLimits();
  cso.quota_defaults["instances"] = kQuotaInstances;
  cso.quota_defaults["cores"] = kQuotaCores;
  cso.quota_defaults["ram"] = kQuotaRam;
  cso.host_up = [this](const HostName& h) { return heartbeats_->Get(h).up; };
  service_ =
      std::make_unique<ComputeService>(log_.get(), store_.get(), runner_.get(), cso);

  schedulers_.resize(options_.schedulers);
  for (int i = 0; i < options_.schedulers; ++i) StartScheduler(i);
  conductors_.resize(options_.conductors);
  for (int i = 0; i < options_.conductors; ++i) StartConductor(i);
  for (int i = 0; i < options_.hosts; ++i) {
    hypervisors_.push_back(
        std::make_unique<FakeHypervisor>(HostCapacity{4, 4096, 100, "fake"}));
    agents_.emplace_back();
    StartAgent(i);
  }
  for (int c = 0; c < options_.clients; ++c) {
    clients_.push_back(env_.NewTaskQueue("client-" + std::to_string(c)));
    env_.Schedule(env_.Uniform(0, 2 * kSecond), [this, c] { ClientTick(c); });
  }
  chaos_ = env_.NewTaskQueue("chaos");
  if (options_.faults) {
    env_.Schedule(env_.Uniform(1, 10 * kSecond), [this] { ChaosTick(); });
    bus_->set_faults(BusFaults{.drop = 0.1, .duplicate = 0.05, .delay = 0.15});
    // Appends fail now and then: refused before they are written, or written
    // with the answer lost (the caller must not take that for a failure).
    log_store_.set_before_append([this](const AppendRequest&) {
      if (active_ && env_.Chance(0.03)) {
        ++result_.append_faults;
        return Status::Unavailable("simulated: the log refused the append");
      }
      return Status::Ok();
    });
    log_store_.set_after_append([this](const AppendRequest&, const AppendResult&) {
      if (active_ && env_.Chance(0.03)) {
        ++result_.append_faults;
        return Status::Unavailable("simulated: the append's answer was lost");
      }
      return Status::Ok();
    });
  }
  return Status::Ok();
}

void World::StartAgent(int i) {
  auto p = std::make_unique<Process<ComputeAgent>>();
  p->bus = std::make_unique<ProcessBus>(bus_.get());
  ComputeAgentOptions o;
  o.host = HostName("compute-" + std::to_string(i + 1));
  o.env = &env_;
  o.sync_power_state_interval_us = 60 * kSecond;
  p->agent = std::make_unique<ComputeAgent>(hypervisors_[i].get(), p->bus.get(), o);
  // The first heartbeat or registration may be lost: a later one gets through.
  (void)p->agent->Start();
  agents_[i] = std::move(p);
}

// A role's member, as tools/node.cc's JoinRole makes it.
std::unique_ptr<Membership> Member(SimEnv* env, Bus* bus, const std::string& role, int i,
                                   int generation) {
  MembershipOptions o;
  o.env = env;
  o.role = role;
  o.id = role + "-" + std::to_string(i) + ":" + std::to_string(generation);
  return std::make_unique<Membership>(bus, o);
}

void World::StartScheduler(int i) {
  auto p = std::make_unique<Process<Scheduler>>();
  p->bus = std::make_unique<ProcessBus>(bus_.get());
  SchedulerOptions o;
  o.env = &env_;
  o.workers = 2;
  if (options_.schedulers > 1) {
    p->members = Member(&env_, p->bus.get(), "scheduler", i, ++generation_);
    Membership* m = p->members.get();
    o.owns = [m](const InstanceId& id) { return m->Owns(id.str()); };
  }
  p->agent = std::make_unique<Scheduler>(log_.get(), p->bus.get(), store_.get(), o);
  Launch(std::move(p), schedulers_[i], "scheduler");
}

void World::StartConductor(int i) {
  auto p = std::make_unique<Process<Conductor>>();
  p->bus = std::make_unique<ProcessBus>(bus_.get());
  ConductorOptions o;
  o.env = &env_;
  o.workers = 2;
  o.build_timeout_us = 180 * kSecond;
  o.host_is_down = [this](const HostName& h) { return !heartbeats_->Get(h).up; };
  if (options_.conductors > 1) {
    p->members = Member(&env_, p->bus.get(), "conductor", i, ++generation_);
    Membership* m = p->members.get();
    o.owns = [m](std::string_view key) { return m->Owns(key); };
  }
  p->agent = std::make_unique<Conductor>(log_.get(), p->bus.get(), store_.get(), o);
  Launch(std::move(p), conductors_[i], "conductor");
}

void World::ClientTick(int client) {
  if (!active_) return;
  clients_[client]->Post([this, client] { ClientAct(client); });
  env_.Schedule(env_.Uniform(kSecond / 2, 4 * kSecond),
                [this, client] { ClientTick(client); });
}

void World::ClientAct(int client) {
  RequestContext ctx;
  ctx.user = UserId("user-" + std::to_string(client));
  ctx.project = ProjectId("project-" + std::to_string(client % 2));
  ctx.roles = {"member", "reader"};
  ctx.request_id = RequestId("req-" + env_.NewUuid());
  std::vector<InstanceId>& mine = owned_[client];
  const int64_t dice = env_.Uniform(0, 99);
  ++result_.requests;
  if (dice < 45 || mine.empty()) {
    CreateServerRequest req;
    req.name = "vm-" + std::to_string(result_.requests);
    req.flavor_ref = env_.Chance(0.7) ? "1" : "2";
    req.image_ref = kImageId;
    if (env_.Chance(0.2)) req.min_count = req.max_count = 2;
    auto created = service_->CreateServers(ctx, req);
    if (!created.ok()) return;
    ++result_.accepted;
    for (const InstanceState& s : created->servers) {
      expect_.created.insert(s.id);
      mine.push_back(s.id);
    }
    return;
  }
  const size_t pick = env_.Uniform(0, static_cast<int64_t>(mine.size()) - 1);
  const InstanceId id = mine[pick];
  if (dice < 70) {
    if (service_->DeleteServer(ctx, id).ok()) {
      ++result_.accepted;
      expect_.deleted.insert(id);
      mine.erase(mine.begin() + pick);
    }
    return;
  }
  if (dice < 85) {
    static constexpr LifecycleAction kActions[] = {
        LifecycleAction::kStop, LifecycleAction::kStart, LifecycleAction::kReboot};
    const LifecycleAction action = kActions[env_.Uniform(0, 2)];
    if (service_->ServerAction(ctx, id, action, env_.Chance(0.3)).ok())
      ++result_.accepted;
    return;
  }
  // A resize (to the other flavor), its confirmation or revert, or a rebuild:
  // each refused (409) unless the server is in a state that allows it.
  Status st;
  switch (env_.Uniform(0, 3)) {
    case 0:
      st = service_->ResizeServer(ctx, id, env_.Chance(0.5) ? "1" : "2");
      break;
    case 1:
      st = service_->ConfirmResize(ctx, id);
      break;
    case 2:
      st = service_->RevertResize(ctx, id);
      break;
    default:
      st =
          service_->RebuildServer(ctx, id, kImageId, std::nullopt, std::nullopt).status();
      break;
  }
  if (st.ok()) ++result_.accepted;
}

void World::ChaosTick() {
  if (!active_) return;
  chaos_->Post([this] {
    const int64_t dice = env_.Uniform(0, 99);
    ++result_.crashes;
    if (dice < 60) {
      // A compute agent dies mid-work and comes back: soon (a restart), or
      // after its service is presumed down (a host outage).
      const int i = static_cast<int>(env_.Uniform(0, options_.hosts - 1));
      if (!agents_[i]) return;
      const int64_t down = env_.Chance(0.3) ? env_.Uniform(70, 120) * kSecond
                                            : env_.Uniform(1, 20) * kSecond;
      KillFor(agents_[i], down, &World::StartAgent, i);
    } else if (dice < 80) {
      const int i = static_cast<int>(env_.Uniform(0, options_.schedulers - 1));
      KillFor(schedulers_[i], env_.Uniform(0, 10) * kSecond, &World::StartScheduler, i);
    } else {
      const int i = static_cast<int>(env_.Uniform(0, options_.conductors - 1));
      KillFor(conductors_[i], env_.Uniform(0, 10) * kSecond, &World::StartConductor, i);
    }
  });
  env_.Schedule(env_.Uniform(3, 15) * kSecond, [this] { ChaosTick(); });
}

SimResult World::Run() {
  result_.seed = 0;
  Status opened = Open();
  if (!opened.ok()) {
    Violation(&result_, "the world did not open: " + opened.ToString());
    return result_;
  }
  env_.RunFor(options_.active_us);
  // Faults stop; whatever is down comes back.
  active_ = false;
  bus_->set_faults(BusFaults{});
  chaos_->Post([this] {
    for (int i = 0; i < options_.schedulers; ++i) {
      if (!schedulers_[i]) StartScheduler(i);
    }
    for (int i = 0; i < options_.conductors; ++i) {
      if (!conductors_[i]) StartConductor(i);
    }
    for (int i = 0; i < options_.hosts; ++i) {
      if (!agents_[i]) StartAgent(i);
    }
  });
  env_.RunFor(options_.settle_us);
  Check(&result_);
  if (options_.explain && !result_.violations.empty()) Explain(&result_);
  result_.tasks = env_.tasks_run();
  result_.bus_faults = bus_->dropped() + bus_->duplicated() + bus_->delayed();
  // Stop in order while the loop can still run what stopping waits for.
  clients_.clear();
  chaos_.reset();
  agents_.clear();
  conductors_.clear();
  schedulers_.clear();
  service_.reset();
  runner_.reset();
  return result_;
}

std::string Name(VmState s) { return std::string(VmStateName(s)); }

// Whether `h` may hold a claim or a guest of `s`: its host, and during a
// resize (awaiting confirmation) both ends.
bool MayHold(const InstanceState& s, const HostName& h) {
  if (s.host == h) return true;
  return !s.migration_id.empty() &&
         (s.resize_source_host == h || s.resize_dest_host == h);
}

void World::Check(SimResult* r) {
  // The whole log, once: instances, hosts, and the digest.
  std::set<InstanceId> instances;
  std::set<HostName> hosts;
  std::map<InstanceId, int> scheduled;
  uint64_t digest = 1469598103934665603ull;
  auto mix = [&](const std::string& s) {
    for (unsigned char c : s) digest = (digest ^ c) * 1099511628211ull;
    digest = (digest ^ 0xff) * 1099511628211ull;
  };
  Seq next(1);
  while (true) {
    auto batch = log_->Read(next, 4096);
    if (!batch.ok()) return Violation(r, "reading the log: " + batch.status().ToString());
    if (batch->empty()) break;
    for (const Envelope& e : *batch) {
      ++r->events;
      mix(e.stream.str());
      mix(e.type);
      mix(e.payload);
      std::string_view kind = StreamKind(e.stream);
      if (kind == "instance")
        instances.insert(InstanceId(std::string(StreamKey(e.stream))));
      if (kind == "host") hosts.insert(HostName(std::string(StreamKey(e.stream))));
      if (e.type == InstanceScheduled::kType)
        ++scheduled[InstanceId(std::string(StreamKey(e.stream)))];
    }
    next = batch->back().seq.next();
  }
  r->log_digest = digest;
  r->servers = instances.size();

  // Every instance ended: ACTIVE or SHUTOFF with no task, ERROR with a fault,
  // or deleted — deleted if a delete was accepted; placed at most once.
  std::map<InstanceId, InstanceState> states;
  for (const InstanceId& id : instances) {
    auto s = LoadInstance(*log_, id);
    if (!s.ok()) {
      Violation(r, id.str() + ": " + s.status().ToString());
      continue;
    }
    states[id] = *s;
    ++r->ended[Name(s->vm_state)];
    const std::string where = id.str() + " (" + Name(s->vm_state) + ", task " +
                              std::to_string(static_cast<int>(s->task_state)) + ")";
    const bool settled =
        (s->vm_state == VmState::kActive || s->vm_state == VmState::kStopped ||
         s->vm_state == VmState::kResized || s->vm_state == VmState::kDeleted ||
         s->vm_state == VmState::kError) &&
        s->task_state == TaskState::kNone;
    if (!settled) Violation(r, where + " is stuck");
    if (s->vm_state == VmState::kError && !s->has_fault)
      Violation(r, where + " is in ERROR without a fault");
    if (expect_.deleted.contains(id) && s->vm_state != VmState::kDeleted)
      Violation(r, where + " was deleted by an accepted request but is not gone");
    if (scheduled[id] > 1)
      Violation(r, where + " was placed " + std::to_string(scheduled[id]) + " times");
  }
  for (const InstanceId& id : expect_.created) {
    if (!instances.contains(id))
      Violation(r, id.str() + " was created but is not in the log");
  }

  // Each project within its quota, and its usage as the read model keeps it
  // equal to a count of its live servers.
  std::map<ProjectId, ServerUsage> counted;
  for (const auto& [id, st] : states) {
    if (st.vm_state == VmState::kDeleted) continue;
    ServerUsage& u = counted[st.project_id];
    u.instances += 1;
    u.cores += st.flavor.vcpus;
    u.ram += st.flavor.memory_mb;
  }
  if (auto reader = store_->Reader(ServersProjection::kName); reader.ok()) {
    for (const auto& [project, u] : counted) {
      if (u.instances > kQuotaInstances || u.cores > kQuotaCores || u.ram > kQuotaRam) {
        Violation(r, project.str() +
                         " is over its quota: " + std::to_string(u.instances) +
                         " servers, " + std::to_string(u.cores) + " cores, " +
                         std::to_string(u.ram) + " MB");
      }
      auto kept = ServersView(reader->get()).Usage(project, UserId());
      if (!kept.ok() || !(*kept == u)) {
        Violation(r, project.str() + ": the read model's usage (" +
                         (kept.ok() ? std::to_string(kept->instances)
                                    : kept.status().ToString()) +
                         " servers) differs from its live servers (" +
                         std::to_string(u.instances) + ")");
      }
    }
  }
  std::map<std::string, InstanceId> migrations;  // a pending resize's instance
  for (const auto& [id, st] : states) {
    if (!st.migration_id.empty()) migrations[st.migration_id] = id;
  }
  // No host over-committed; claims only for its live instances; every running
  // instance claimed on its host.
  for (const HostName& h : hosts) {
    HostState hs;
    hs.name = h;
    if (!LoadAggregate(*log_, HostStream(h), hs, ApplyHostEvent).ok()) continue;
    if (hs.used.vcpus > hs.vcpus * hs.cpu_allocation_ratio ||
        hs.used.memory_mb > hs.memory_mb * hs.ram_allocation_ratio ||
        hs.used.disk_gb > hs.disk_gb * hs.disk_allocation_ratio) {
      Violation(r, h.str() + " is over-committed: " + std::to_string(hs.used.memory_mb) +
                       " MB of " + std::to_string(hs.memory_mb));
    }
    for (const auto& [id, claim] : hs.claims) {
      // A resize awaiting confirmation holds the old flavor on its source
      // under the migration's id.
      auto migrating = migrations.find(id.str());
      if (migrating != migrations.end()) {
        const InstanceState& m = states[migrating->second];
        if (m.vm_state != VmState::kDeleted && m.resize_source_host == h) continue;
      }
      auto it = states.find(id);
      if (it == states.end() || it->second.vm_state == VmState::kDeleted ||
          !MayHold(it->second, h)) {
        Violation(r,
                  h.str() + " still holds a claim for " + id.str() +
                      (it == states.end() ? " (no such instance or resize)"
                                          : " (" + Name(it->second.vm_state) + " on '" +
                                                it->second.host.str() + "')"));
      }
    }
  }
  for (const auto& [id, s] : states) {
    if ((s.vm_state == VmState::kActive || s.vm_state == VmState::kStopped)) {
      HostState hs;
      hs.name = s.host;
      if (!LoadAggregate(*log_, HostStream(s.host), hs, ApplyHostEvent).ok() ||
          !hs.claims.contains(id)) {
        Violation(r, id.str() + " runs on '" + s.host.str() + "' without a claim there");
      }
    }
  }

  // The hosts' guests are exactly the live instances placed on them, in the
  // power state the log shows.
  for (int i = 0; i < options_.hosts; ++i) {
    const HostName host("compute-" + std::to_string(i + 1));
    auto guests = hypervisors_[i]->List();
    if (!guests.ok()) continue;
    std::set<InstanceId> here;
    for (const GuestInfo& g : *guests) {
      here.insert(g.instance_id);
      auto it = states.find(g.instance_id);
      if (it == states.end() || it->second.vm_state == VmState::kDeleted ||
          !MayHold(it->second, host)) {
        Violation(r, host.str() + " runs a guest the log does not place there: " +
                         g.instance_id.str());
        continue;
      }
      const VmState vm = it->second.vm_state;
      const PowerState want =
          vm == VmState::kStopped ? PowerState::kShutdown : PowerState::kRunning;
      if ((vm == VmState::kActive || vm == VmState::kStopped) && g.power_state != want) {
        Violation(r, g.instance_id.str() + " is " + Name(vm) +
                         " but its guest is in power state " +
                         std::to_string(static_cast<int>(g.power_state)));
      }
    }
    for (const auto& [id, s] : states) {
      if (s.host == host &&
          (s.vm_state == VmState::kActive || s.vm_state == VmState::kStopped) &&
          !here.contains(id)) {
        Violation(r, id.str() + " is " + Name(s.vm_state) + " on " + host.str() +
                         " but has no guest there");
      }
    }
  }

  // The read models equal a rebuild from seq 1.
  const Seq head = log_->Head().value();
  env_.RunUntil([&] { return store_->checkpoint() >= head; }, 60 * kSecond);
  if (store_->checkpoint() < head) {
    return Violation(r, "the read models stopped at seq " +
                            std::to_string(store_->checkpoint().value()) + " of " +
                            std::to_string(head.value()) + ": " +
                            runner_->status().ToString());
  }
  ReadModels rebuilt_models;
  ProjectionStoreOptions so;
  so.path = scratch_ + "/rebuilt";
  auto rebuilt = ProjectionStore::Open(so, rebuilt_models.All());
  if (!rebuilt.ok()) return Violation(r, "rebuild: " + rebuilt.status().ToString());
  Status caught = CatchUp(*log_, **rebuilt);
  if (!caught.ok()) return Violation(r, "rebuild: " + caught.ToString());
  auto diverged = FirstDivergence(**rebuilt, *store_);
  if (!diverged.ok()) return Violation(r, "comparing: " + diverged.status().ToString());
  if (diverged->has_value())
    Violation(r, "read models differ from a rebuild: " + DescribeDivergence(**diverged));
}

// The payload's text, its binary as dots.
std::string Printable(const std::string& payload) {
  std::string out;
  for (char c : payload.substr(0, 400)) out += (c >= 32 && c < 127) ? c : '.';
  return out;
}

void World::Explain(SimResult* r) {
  std::set<std::string> ids;
  for (const std::string& v : r->violations) {
    for (size_t i = 0; i + 36 <= v.size(); ++i) {
      if (IsUuid(v.substr(i, 36))) ids.insert(v.substr(i, 36));
    }
  }
  auto mentions = [&](const Envelope& e) {
    for (const std::string& id : ids) {
      if (e.stream.str().find(id) != std::string::npos ||
          e.payload.find(id) != std::string::npos)
        return true;
    }
    return false;
  };
  std::vector<Envelope> all;
  for (Seq next(1);;) {
    auto batch = log_->Read(next, 4096);
    if (!batch.ok() || batch->empty()) break;
    all.insert(all.end(), batch->begin(), batch->end());
    next = batch->back().seq.next();
  }
  // A migration's id leads to its instance: the instances whose events name
  // an id are explained too.
  std::set<std::string> more;
  for (const Envelope& e : all) {
    if (StreamKind(e.stream) == "instance" && mentions(e))
      more.insert(std::string(StreamKey(e.stream)));
  }
  ids.insert(more.begin(), more.end());
  for (const Envelope& e : all) {
    if (!mentions(e)) continue;
    char time[32];
    std::snprintf(time, sizeof(time), "%8.3f",
                  (e.meta.time.micros - 1767225600000000) / 1e6);
    r->explanation.push_back(
        std::string(time) + " s  seq " + std::to_string(e.seq.value()) + "  " +
        e.stream.str() + "  " + e.type + "  " + e.meta.request_id.str() + " caused by " +
        std::to_string(e.meta.causation.value()) + "  " + Printable(e.payload));
  }
}

}  // namespace

std::string SimResult::Summary() const {
  std::string ended_text;
  for (const auto& [state, n] : ended)
    ended_text += (ended_text.empty() ? "" : " ") + state + " " + std::to_string(n);
  return "seed " + std::to_string(seed) + ": " +
         (violations.empty() ? "ok" : std::to_string(violations.size()) + " violations") +
         ", " + std::to_string(servers) + " servers (" + ended_text + "), " +
         std::to_string(accepted) + "/" + std::to_string(requests) +
         " requests accepted, " + std::to_string(events) + " events, " +
         std::to_string(crashes) + " crashes, " + std::to_string(append_faults) +
         " append faults, " + std::to_string(bus_faults) + " bus faults, " +
         std::to_string(tasks) + " tasks";
}

SimResult RunSeed(uint64_t seed, const SimOptions& options, const std::string& scratch) {
  std::filesystem::remove_all(scratch);
  std::filesystem::create_directories(scratch);
  SimResult r;
  {
    World world(seed, options, scratch);
    r = world.Run();
  }
  r.seed = seed;
  std::filesystem::remove_all(scratch);
  return r;
}

}  // namespace chronova::sim
