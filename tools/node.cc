#include "tools/node.h"

#include <filesystem>
#include <fstream>

#include "agents/bus.h"
#include "agents/compute/compute_agent.h"
#include "agents/compute/fake_hypervisor.h"
#include "agents/compute/libvirt_hypervisor.h"
#include "agents/conductor.h"
#include "agents/scheduler.h"
#include "api/auth.h"
#include "api/compute_api.h"
#include "api/compute_service.h"
#include "api/quotas.h"
#include "core/event_codec.h"
#include "projections/projection_runner.h"
#include "projections/read_models.h"
#include "projections/time_travel.h"

namespace chronova {

struct Node::Parts {
  // Declared in start order; destroyed in reverse.
  std::unique_ptr<EventLog> log;
  ReadModels read_models;
  std::unique_ptr<ProjectionStore> store;
  std::unique_ptr<ProjectionRunner> runner;
  std::unique_ptr<SnapshotTaker> snapshots;
  std::unique_ptr<Bus> bus;
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<Conductor> conductor;
  std::vector<std::unique_ptr<Hypervisor>> hypervisors;
  std::vector<std::unique_ptr<ComputeAgent>> computes;
  std::unique_ptr<ComputeService> compute_service;
  std::unique_ptr<NoAuthAuthenticator> auth;
  std::unique_ptr<ComputeApiServer> api;

  ~Parts() {
    if (api) api->Stop();
    api.reset();
    computes.clear();
    conductor.reset();
    scheduler.reset();
    snapshots.reset();
    runner.reset();
  }
};

namespace {

// A libvirt test-driver host description with the given capacity.
Result<std::string> WriteTestNode(const std::string& dir, const std::string& name,
                                  const NodeOptions& o) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string path = std::filesystem::absolute(dir + "/" + name + ".xml").string();
  std::ofstream f(path);
  f << "<node>\n  <cpu>\n    <mhz>2000</mhz>\n    <model>x86_64</model>\n"
    << "    <active>" << o.host_vcpus << "</active>\n    <nodes>1</nodes>\n"
    << "    <sockets>1</sockets>\n    <cores>" << o.host_vcpus << "</cores>\n"
    << "    <threads>1</threads>\n  </cpu>\n"
    << "  <memory>" << static_cast<long long>(o.host_memory_mb) * 1024 << "</memory>\n"
    << "</node>\n";
  if (!f) return Status::Internal("cannot write " + path);
  return path;
}

Status AppendSeed(EventLog& log, const StreamId& stream, const Event& event) {
  AppendRequest req;
  req.stream = stream;
  req.expected = ExpectedVersion::NoStream();
  req.key = IdempotencyKey("seed-" + stream.str());
  EventMeta meta{Env::Default()->Now(), RequestId("req-seed"), Seq(),
                 Actor{UserId("chronova"), ProjectId("admin"), {"admin"}}};
  req.events.push_back(MakeNewEvent(event, meta));
  Result<AppendResult> r = log.Append(req);
  if (r.ok() || r.status().IsConflict()) return Status::Ok();  // seeded before
  return r.status();
}

}  // namespace

Status SeedCatalog(EventLog& log) {
  struct F {
    const char* id;
    const char* name;
    int vcpus, ram, disk;
  };
  // Nova's classic defaults, plus devstack's tiny test flavors.
  const F flavors[] = {{"1", "m1.tiny", 1, 512, 1},       {"2", "m1.small", 1, 2048, 20},
                       {"3", "m1.medium", 2, 4096, 40},   {"4", "m1.large", 4, 8192, 80},
                       {"5", "m1.xlarge", 8, 16384, 160}, {"42", "m1.nano", 1, 128, 1},
                       {"84", "m1.micro", 1, 192, 1}};
  for (const F& f : flavors) {
    FlavorCreated e;
    e.flavor = FlavorSpec{FlavorId(f.id), f.name, f.vcpus, f.ram, f.disk, 0, 0, {}};
    CHRONOVA_RETURN_IF_ERROR(AppendSeed(log, StreamId(std::string("flavor/") + f.id), e));
  }
  ImageRegistered image;
  image.image_id = ImageId(kDemoImageId);
  image.name = "cirros-0.6.2-x86_64-disk";
  image.disk_format = "qcow2";
  image.size = 21430272;
  image.owner = ProjectId("admin");
  return AppendSeed(log, StreamId("image/" + image.image_id.str()), image);
}

Node::Node(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Node::~Node() = default;

EventLog* Node::log() { return parts_->log.get(); }
ProjectionStore* Node::store() { return parts_->store.get(); }
ComputeService* Node::compute() { return parts_->compute_service.get(); }
Hypervisor* Node::hypervisor(size_t i) { return parts_->hypervisors.at(i).get(); }
Status Node::health() const { return parts_->runner->status(); }

Result<std::unique_ptr<Node>> Node::Start(const NodeOptions& o) {
  auto p = std::make_unique<Parts>();
  const std::string& dir = o.log.state_dir;
  CHRONOVA_ASSIGN_OR_RETURN(p->log, OpenEventLog(o.log));
  if (o.seed_catalog) CHRONOVA_RETURN_IF_ERROR(SeedCatalog(*p->log));

  ProjectionStoreOptions so;
  so.path = dir + "/projections";
  CHRONOVA_ASSIGN_OR_RETURN(p->store, ProjectionStore::Open(so, p->read_models.All()));
  p->runner = std::make_unique<ProjectionRunner>(p->log.get(), p->store.get());
  CHRONOVA_ASSIGN_OR_RETURN(Seq head, p->log->Head());
  CHRONOVA_RETURN_IF_ERROR(p->runner->WaitFor(head, 600000));
  if (o.snapshot_every > 0) {
    SnapshotTakerOptions snap;
    snap.dir = dir + "/snapshots";
    snap.every = o.snapshot_every;
    snap.keep = o.snapshot_keep;
    p->snapshots = std::make_unique<SnapshotTaker>(p->store.get(), snap);
  }

  if (o.bus_url.empty()) {
    p->bus = NewInProcessBus();
  } else {
    CHRONOVA_ASSIGN_OR_RETURN(p->bus, NewNatsBus(o.bus_url));
  }
  SchedulerOptions sched;
  sched.workers = o.scheduler_workers;
  p->scheduler =
      std::make_unique<Scheduler>(p->log.get(), p->bus.get(), p->store.get(), sched);
  CHRONOVA_RETURN_IF_ERROR(p->scheduler->Start());
  ConductorOptions cond;
  cond.workers = o.conductor_workers;
  p->conductor =
      std::make_unique<Conductor>(p->log.get(), p->bus.get(), p->store.get(), cond);
  CHRONOVA_RETURN_IF_ERROR(p->conductor->Start());

  for (int i = 0; i < o.compute_hosts; ++i) {
    std::string host = o.compute_hosts == 1 ? o.host_prefix
                                            : o.host_prefix + "-" + std::to_string(i + 1);
    std::unique_ptr<Hypervisor> hv;
    if (o.hypervisor == "fake") {
      hv = std::make_unique<FakeHypervisor>(
          HostCapacity{o.host_vcpus, o.host_memory_mb, o.host_disk_gb, "fake"});
    } else if (o.hypervisor == "libvirt") {
      LibvirtOptions lo;
      lo.virt_type = o.virt_type;
      lo.disk_gb = o.host_disk_gb;
      if (o.libvirt_uri.empty()) {
        CHRONOVA_ASSIGN_OR_RETURN(std::string node,
                                  WriteTestNode(dir + "/libvirt-test", host, o));
        lo.uri = "test://" + node;
      } else {
        lo.uri = o.libvirt_uri;
      }
      CHRONOVA_ASSIGN_OR_RETURN(auto lv, LibvirtHypervisor::Open(lo));
      hv = std::move(lv);
    } else {
      return Status::InvalidArgument("unknown hypervisor '" + o.hypervisor +
                                     "' (expected libvirt or fake)");
    }
    ComputeAgentOptions co;
    co.host = HostName(host);
    auto agent = std::make_unique<ComputeAgent>(hv.get(), p->bus.get(), co);
    CHRONOVA_RETURN_IF_ERROR(agent->Start());
    p->hypervisors.push_back(std::move(hv));
    p->computes.push_back(std::move(agent));
  }

  ComputeServiceOptions service_options;
  service_options.quota_defaults = DefaultQuotaLimits();
  for (const auto& [k, v] : o.quota_defaults) service_options.quota_defaults[k] = v;
  service_options.time_travel.snapshot_dir = dir + "/snapshots";
  // Next to the snapshots, so copies of them are hard links; a crash leaves
  // nothing that matters here.
  service_options.time_travel.scratch_dir = dir + "/scratch/time-travel";
  std::error_code ec;
  std::filesystem::remove_all(service_options.time_travel.scratch_dir, ec);
  p->compute_service = std::make_unique<ComputeService>(p->log.get(), p->store.get(),
                                                        p->runner.get(), service_options);
  if (!o.compute_api_url.empty()) {
    p->auth = std::make_unique<NoAuthAuthenticator>();
    p->api = std::make_unique<ComputeApiServer>();
    ComputeApiOptions ao;
    ao.listen_url = o.compute_api_url;
    ao.service = p->compute_service.get();
    ao.authenticator = p->auth.get();
    CHRONOVA_RETURN_IF_ERROR(p->api->Start(ao));
  }
  return std::unique_ptr<Node>(new Node(std::move(p)));
}

}  // namespace chronova
