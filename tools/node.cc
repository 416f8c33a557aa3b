#include "tools/node.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "agents/bus.h"
#include "agents/compute/compute_agent.h"
#include "agents/compute/fake_hypervisor.h"
#include "agents/compute/image_cache.h"
#include "agents/compute/libvirt_hypervisor.h"
#include "agents/conductor.h"
#include "agents/console/console_proxy.h"
#include "agents/heartbeat_monitor.h"
#include "agents/host_query.h"
#include "agents/membership.h"
#include "agents/nats_liveness.h"
#include "agents/scheduler.h"
#include "api/auth/auth.h"
#include "api/auth/token_validator.h"
#include "api/compute/compute_api.h"
#include "api/ec2/ec2_api.h"
#include "api/http/http_server.h"
#include "api/identity/identity_handler.h"
#include "api/identity/identity_service.h"
#include "api/image/image_handler.h"
#include "api/image/image_service.h"
#include "api/service/admin_service.h"
#include "api/service/compute_service.h"
#include "api/service/quotas.h"
#include "core/codec.h"
#include "core/event_codec.h"
#include "core/metrics.h"
#include "projections/projection_runner.h"
#include "projections/read_models.h"
#include "projections/time_travel.h"

namespace chronova {

struct Node::Parts {
  Parts() = default;
  Parts(const Parts&) = delete;
  // Declared in start order; destroyed in reverse.
  std::unique_ptr<HttpServer> metrics;
  std::unique_ptr<EventLog> log;
  ReadModels read_models;
  std::unique_ptr<ProjectionStore> store;
  std::unique_ptr<ProjectionRunner> runner;
  std::unique_ptr<SnapshotTaker> snapshots;
  std::unique_ptr<Bus> bus;
  // Hosts' last heartbeats before this start (NATS only).
  std::map<HostName, Timestamp> known_heartbeats;
  std::unique_ptr<Membership> api_members;
  std::unique_ptr<Membership> scheduler_members;
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<Membership> conductor_members;
  std::unique_ptr<Conductor> conductor;
  std::vector<std::unique_ptr<Hypervisor>> hypervisors;
  std::vector<std::string> instances_paths;               // per compute host
  std::vector<std::unique_ptr<ImageCache>> image_caches;  // hosts with real disks
  std::vector<std::unique_ptr<ComputeAgent>> computes;
  std::unique_ptr<HostQueryClient> host_queries;
  std::unique_ptr<ComputeService> compute_service;
  std::string identity_password;
  std::unique_ptr<TokenSigner> signer;
  std::unique_ptr<TokenValidator> validator;
  std::unique_ptr<IdentityDirectory> directory;
  std::unique_ptr<IdentityService> identity;
  std::unique_ptr<IdentityHandler> identity_handler;
  std::unique_ptr<HttpServer> identity_api;
  std::unique_ptr<Authenticator> auth;
  std::unique_ptr<HeartbeatMonitor> heartbeats;
  std::unique_ptr<AdminService> admin_service;
  std::unique_ptr<ComputeApiServer> api;
  std::unique_ptr<ImageService> image_service;
  std::unique_ptr<ImageApiServer> image_api;
  std::unique_ptr<Ec2ApiServer> ec2_api;
  std::unique_ptr<CertAuthority> certificates;
  std::unique_ptr<HostQueryClient> console_queries;
  std::map<std::string, std::unique_ptr<ConsoleProxy>> console_proxies;

  ~Parts() {
    if (metrics) metrics->Stop();
    console_proxies.clear();
    if (api_members) api_members->Stop();
    if (ec2_api) ec2_api->Stop();
    ec2_api.reset();
    if (image_api) image_api->Stop();
    image_api.reset();
    if (api) api->Stop();
    if (identity_api) identity_api->Stop();
    api.reset();
    computes.clear();
    // Leaving first: peers take this member's work over at once.
    if (conductor_members) conductor_members->Stop();
    conductor.reset();
    conductor_members.reset();
    if (scheduler_members) scheduler_members->Stop();
    scheduler.reset();
    scheduler_members.reset();
    snapshots.reset();
    runner.reset();
  }
};

namespace {

// A libvirt test-driver host description with the given capacity.
Result<std::string> WriteTestNode(const std::string& dir, const std::string& name,
                                  const ComputeRoleOptions& o) {
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

// "http://0.0.0.0:8774/compute" -> "http://<public_host>:8774/compute": the
// URL clients reach a listener at (no trailing slash).
std::string PublicUrl(std::string url, const std::string& public_host) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  size_t scheme = url.find("://");
  size_t host_begin = scheme == std::string::npos ? 0 : scheme + 3;
  for (const std::string wildcard : {"0.0.0.0", "[::]"}) {
    if (url.compare(host_begin, wildcard.size(), wildcard) == 0) {
      url.replace(host_begin, wildcard.size(), public_host);
      break;
    }
  }
  return url;
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
AdminService* Node::admin() { return parts_->admin_service.get(); }
IdentityService* Node::identity() { return parts_->identity.get(); }
const std::string& Node::identity_password() const { return parts_->identity_password; }
ImageService* Node::image() { return parts_->image_service.get(); }
Hypervisor* Node::hypervisor(size_t i) { return parts_->hypervisors.at(i).get(); }
ComputeAgent* Node::compute_agent(size_t i) { return parts_->computes.at(i).get(); }
int Node::console_port(const std::string& kind) const {
  auto it = parts_->console_proxies.find(kind);
  return it == parts_->console_proxies.end() ? 0 : it->second->port();
}
std::string Node::instances_path(size_t i) const { return parts_->instances_paths.at(i); }
std::map<std::string, int> Node::ListenFds() const {
  std::map<std::string, int> fds;
  const Parts& p = *parts_;
  if (p.api) fds["compute"] = p.api->http()->listen_fd();
  if (p.identity_api) fds["identity"] = p.identity_api->listen_fd();
  if (p.image_api) fds["image"] = p.image_api->http()->listen_fd();
  if (p.ec2_api) fds["ec2"] = p.ec2_api->http()->listen_fd();
  if (p.metrics) fds["metrics"] = p.metrics->listen_fd();
  for (const auto& [kind, proxy] : p.console_proxies) {
    fds["console-" + kind] = proxy->listen_fd();
  }
  return fds;
}

void Node::DrainApis(std::chrono::milliseconds timeout) {
  Parts& p = *parts_;
  // One after the other, each within the time left: the Compute API first
  // (its requests append events), the Identity API last (clients in the
  // middle of a request may still need a token).
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()));
  };
  if (p.api) p.api->http()->Drain(left());
  if (p.ec2_api) p.ec2_api->http()->Drain(left());
  if (p.image_api) p.image_api->http()->Drain(left());
  if (p.identity_api) p.identity_api->Drain(left());
  if (p.metrics) p.metrics->Drain(left());
}

Status Node::health() const {
  return parts_->runner ? parts_->runner->status() : Status::Ok();
}

namespace {

// Where the guest's console of `kind` listens, as its compute host says.
Result<ConsoleAddress> AskConsole(HostQueryClient& queries, const HostName& host,
                                  const InstanceId& id, const std::string& kind) {
  HostQuery query;
  query.kind = HostQuery::Kind::kConsole;
  query.instance_id = id;
  query.console_kind = kind;
  CHRONOVA_ASSIGN_OR_RETURN(std::string body,
                            queries.Ask(host, std::move(query), /*timeout_ms=*/10000));
  ConsoleEndpoint e;
  CHRONOVA_RETURN_IF_ERROR(DecodePortable(body, &e));
  return ConsoleAddress{e.host, e.port, e.internal_access_path};
}

// "<host>:<pid>": this process among its role's peers.
std::string MemberId(const NodeOptions& o) {
  return o.host + ":" + std::to_string(static_cast<long long>(getpid()));
}

// The listening socket a predecessor handed over for `name`, or -1.
int InheritedFd(const NodeOptions& o, const std::string& name) {
  auto it = o.listen_fds.find(name);
  return it == o.listen_fds.end() ? -1 : it->second;
}

// GET /metrics: every metric of this process (core/metrics.h), first thing, so
// that a long read-model rebuild at start shows its progress there.
Status StartMetrics(Node::Parts& p, const NodeOptions& o) {
  if (o.metrics_url.empty()) return Status::Ok();
  HttpServerOptions http;
  http.name = "metrics";
  http.listen_url = o.metrics_url;
  http.listen_fd = InheritedFd(o, "metrics");
  http.max_body_bytes = 0;
  http.handler = [](const HttpRequest& r) {
    HttpResponse response;
    if (r.path != "/metrics") {
      response.status = 404;
      response.headers.Set("Content-Type", "text/plain; charset=utf-8");
      response.body = "Not found: metrics are at /metrics\n";
    } else if (r.method != "GET" && r.method != "HEAD") {
      response.status = 405;
      response.headers.Set("Allow", "GET, HEAD");
    } else {
      response.headers.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      response.body = MetricsRegistry::Default().Render();
    }
    return response;
  };
  p.metrics = std::make_unique<HttpServer>();
  return p.metrics->Start(std::move(http));
}

// The log and the read models this process keeps (api, scheduler, conductor).
Status StartReadSide(Node::Parts& p, const NodeOptions& o) {
  const std::string& dir = o.log.state_dir;
  CHRONOVA_ASSIGN_OR_RETURN(p.log, OpenEventLog(o.log));
  if (o.seed_catalog) CHRONOVA_RETURN_IF_ERROR(SeedCatalog(*p.log));
  ProjectionStoreOptions so;
  so.path = dir + "/projections";
  CHRONOVA_ASSIGN_OR_RETURN(p.store, ProjectionStore::Open(so, p.read_models.All()));
  p.runner = std::make_unique<ProjectionRunner>(p.log.get(), p.store.get());
  CHRONOVA_ASSIGN_OR_RETURN(Seq head, p.log->Head());
  CHRONOVA_RETURN_IF_ERROR(p.runner->WaitFor(head, 600000));
  if (o.roles.api && o.api.snapshot_every > 0) {
    SnapshotTakerOptions snap;
    snap.dir = dir + "/snapshots";
    snap.every = o.api.snapshot_every;
    snap.keep = o.api.snapshot_keep;
    p.snapshots = std::make_unique<SnapshotTaker>(p.store.get(), snap);
  }
  return Status::Ok();
}

// Several schedulers or conductors split their work through a Membership on
// the NATS bus; on the in-process bus this process is the only one.
Result<std::unique_ptr<Membership>> JoinRole(Node::Parts& p, const NodeOptions& o,
                                             const std::string& role) {
  if (o.bus_url.empty()) return std::unique_ptr<Membership>();
  MembershipOptions mo;
  mo.role = role;
  mo.id = MemberId(o);
  // Started by the caller once the role listens: peers hand it work from then.
  return std::make_unique<Membership>(p.bus.get(), mo);
}

Status StartScheduler(Node::Parts& p, const NodeOptions& o) {
  SchedulerOptions sched;
  sched.known_heartbeats = p.known_heartbeats;
  sched.workers = o.scheduler_workers;
  sched.service_down_time_us = o.service_down_time_us;
  CHRONOVA_ASSIGN_OR_RETURN(p.scheduler_members, JoinRole(p, o, "scheduler"));
  if (Membership* m = p.scheduler_members.get()) {
    sched.owns = [m](const InstanceId& id) { return m->Owns(id.str()); };
  }
  p.scheduler =
      std::make_unique<Scheduler>(p.log.get(), p.bus.get(), p.store.get(), sched);
  CHRONOVA_RETURN_IF_ERROR(p.scheduler->Start());
  return p.scheduler_members ? p.scheduler_members->Start() : Status::Ok();
}

Status StartConductor(Node::Parts& p, const NodeOptions& o) {
  HeartbeatMonitor* heartbeats = p.heartbeats.get();
  ConductorOptions cond;
  cond.workers = o.conductor_workers;
  cond.build_timeout_us = o.instance_build_timeout_s * 1000000;
  cond.reclaim_instance_interval_us = o.reclaim_instance_interval_s * 1000000;
  cond.shelved_offload_time_us = o.shelved_offload_time_s * 1000000;
  cond.host_is_down = [heartbeats](const HostName& host) {
    return !heartbeats->Get(host).up;
  };
  CHRONOVA_ASSIGN_OR_RETURN(p.conductor_members, JoinRole(p, o, "conductor"));
  if (Membership* m = p.conductor_members.get()) {
    cond.owns = [m](std::string_view key) { return m->Owns(key); };
  }
  p.conductor =
      std::make_unique<Conductor>(p.log.get(), p.bus.get(), p.store.get(), cond);
  CHRONOVA_RETURN_IF_ERROR(p.conductor->Start());
  return p.conductor_members ? p.conductor_members->Start() : Status::Ok();
}

Status StartCompute(Node::Parts& p, const NodeOptions& node) {
  const ComputeRoleOptions& o = node.compute;
  const std::string& dir = node.log.state_dir;
  const bool real_libvirt = o.hypervisor == "libvirt" && !o.libvirt_uri.empty() &&
                            !IsTestDriverUri(o.libvirt_uri);
  if (real_libvirt && o.hosts > 1) {
    return Status::InvalidArgument("a real libvirt connection (" + o.libvirt_uri +
                                   ") is one compute host: --hosts must be 0 or 1, not " +
                                   std::to_string(o.hosts));
  }
  const bool use_image_cache =
      real_libvirt || (o.hypervisor == "libvirt" && o.image_cache_on_test_hosts);
  if (use_image_cache && p.image_service == nullptr) {
    // Images reach an image cache from the image service in this process; a
    // compute host on its own would download them from the Image API, which
    // is not built yet (docs/deployment.md).
    return Status::InvalidArgument(
        "a compute host with an image cache (real libvirt) runs in the all-in-one "
        "for now: a separate compute role has no image source yet");
  }
  const std::string instances_path =
      o.instances_path.empty() ? dir + "/instances" : o.instances_path;
  for (int i = 0; i < o.hosts; ++i) {
    std::string host =
        o.hosts == 1 ? o.host_prefix : o.host_prefix + "-" + std::to_string(i + 1);
    std::unique_ptr<Hypervisor> hv;
    if (o.hypervisor == "fake") {
      // A compute process of its own keeps its fake guests in a file, so they
      // outlive it as a real hypervisor's guests outlive nova-compute.
      std::string state_file;
      if (!node.roles.UsesLog()) {
        state_file = dir + "/compute/" + host + "/fake-guests";
        std::error_code ec;
        std::filesystem::create_directories(dir + "/compute/" + host, ec);
      }
      hv = std::make_unique<FakeHypervisor>(
          HostCapacity{o.host_vcpus, o.host_memory_mb, o.host_disk_gb, "fake"},
          state_file);
    } else if (o.hypervisor == "libvirt") {
      LibvirtOptions lo;
      lo.virt_type = o.virt_type;
      lo.disk_gb = o.host_disk_gb;
      lo.spice = o.spice;
      lo.serial_port_range = o.serial_port_range;
      if (o.libvirt_uri.empty()) {
        CHRONOVA_ASSIGN_OR_RETURN(std::string test_node,
                                  WriteTestNode(dir + "/libvirt-test", host, o));
        lo.uri = "test://" + test_node;
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
    co.sync_power_state_interval_us = o.sync_power_state_interval_s * 1000000;
    co.heartbeat_interval_us = o.report_interval_us;
    // By this machine's name: its hosts together, other machines elsewhere.
    if (o.report_interval_us > 0) {
      co.heartbeat_offset_us =
          static_cast<int64_t>(std::hash<std::string>()(o.host_prefix) %
                               static_cast<uint64_t>(o.report_interval_us));
    }
    p.instances_paths.push_back(o.hosts == 1 ? instances_path
                                             : instances_path + "/" + host);
    if (use_image_cache) {
      ImageCacheOptions cache;
      cache.remove_unused_original_minimum_age_s = o.remove_unused_original_minimum_age_s;
      p.image_caches.push_back(std::make_unique<ImageCache>(
          p.instances_paths.back(), p.image_service.get(), cache));
      co.image_cache = p.image_caches.back().get();
      co.image_cache_manager_interval_us = o.image_cache_manager_interval_s * 1000000;
    }
    // Snapshots are uploaded into the image service of this process, if any.
    co.image_sink = p.image_service.get();
    co.scratch_dir = dir + "/compute/" + host + "/snapshots";
    auto agent = std::make_unique<ComputeAgent>(hv.get(), p.bus.get(), co);
    CHRONOVA_RETURN_IF_ERROR(agent->Start());
    p.hypervisors.push_back(std::move(hv));
    p.computes.push_back(std::move(agent));
  }
  return Status::Ok();
}

// The image service, before the compute hosts of an all-in-one: their image
// caches read from it, and they upload snapshots into it.
Status StartImageService(Node::Parts& p, const NodeOptions& o) {
  ImageServiceOptions image_options;
  image_options.blob_dir =
      o.api.image_dir.empty() ? o.log.state_dir + "/images" : o.api.image_dir;
  image_options.max_image_size = o.api.max_image_size;
  // The api processes of a cluster may share the image directory.
  if (!o.bus_url.empty()) image_options.incoming_name = o.host;
  p.image_service = std::make_unique<ImageService>(p.log.get(), p.store.get(),
                                                   p.runner.get(), image_options);
  return p.image_service->Init();
}

Status StartApi(Node::Parts& p, const NodeOptions& node) {
  const ApiRoleOptions& o = node.api;
  const std::string& dir = node.log.state_dir;
  HeartbeatMonitor* heartbeats = p.heartbeats.get();
  ComputeServiceOptions service_options;
  service_options.quota_defaults = DefaultQuotaLimits();
  for (const auto& [k, v] : o.quota_defaults) service_options.quota_defaults[k] = v;
  service_options.time_travel.snapshot_dir = dir + "/snapshots";
  service_options.reclaim_instance_interval_s = node.reclaim_instance_interval_s;
  service_options.shelved_offload_time_s = node.shelved_offload_time_s;
  service_options.images = p.image_service.get();
  p.certificates =
      std::make_unique<CertAuthority>(o.cert_dir.empty() ? dir + "/cert" : o.cert_dir);
  service_options.certificates = p.certificates.get();
  // Next to the snapshots, so copies of them are hard links; a crash leaves
  // nothing that matters here.
  service_options.time_travel.scratch_dir = dir + "/scratch/time-travel";
  std::error_code ec;
  std::filesystem::remove_all(service_options.time_travel.scratch_dir, ec);
  // Replies come under reply.api.<uuid>: the api's credential may read
  // nothing else there (docs/deployment.md).
  p.host_queries =
      std::make_unique<HostQueryClient>(p.bus.get(), "api." + Env::Default()->NewUuid());
  service_options.console_output =
      [q = p.host_queries.get()](const HostName& host, const InstanceId& id, int length) {
        HostQuery query;
        query.kind = HostQuery::Kind::kConsoleOutput;
        query.instance_id = id;
        query.length = length;
        return q->Ask(host, std::move(query), /*timeout_ms=*/10000);
      };
  service_options.diagnostics = [q = p.host_queries.get()](
                                    const HostName& host,
                                    const InstanceId& id) -> Result<GuestDiagnostics> {
    HostQuery query;
    query.kind = HostQuery::Kind::kDiagnostics;
    query.instance_id = id;
    CHRONOVA_ASSIGN_OR_RETURN(std::string body,
                              q->Ask(host, std::move(query), /*timeout_ms=*/10000));
    GuestDiagnostics d;
    CHRONOVA_RETURN_IF_ERROR(DecodePortable(body, &d));
    return d;
  };
  service_options.consoles = o.consoles;
  service_options.console_address = [q = p.host_queries.get()](const HostName& host,
                                                               const InstanceId& id,
                                                               const std::string& kind) {
    return AskConsole(*q, host, id, kind);
  };
  service_options.host_up = [heartbeats](const HostName& host) {
    return heartbeats->Get(host).up;
  };
  p.compute_service = std::make_unique<ComputeService>(p.log.get(), p.store.get(),
                                                       p.runner.get(), service_options);
  AdminServiceOptions admin_options;
  admin_options.liveness = [heartbeats](const HostName& host) {
    HostLiveness l = heartbeats->Get(host);
    return ServiceLiveness{l.up, l.last_seen};
  };
  // The scheduler and the conductor, as this machine's services.
  admin_options.node_services = {{"nova-scheduler", HostName(node.host)},
                                 {"nova-conductor", HostName(node.host)}};
  admin_options.host_uptime = [q = p.host_queries.get()](const HostName& host) {
    HostQuery query;
    query.kind = HostQuery::Kind::kUptime;
    return q->Ask(host, std::move(query), /*timeout_ms=*/10000);
  };
  p.admin_service = std::make_unique<AdminService>(p.log.get(), p.store.get(),
                                                   p.runner.get(), admin_options);

  // Identity: tokens signed with the node's key, users from the users file.
  if (o.auth_strategy != "keystone" && o.auth_strategy != "noauth2") {
    return Status::InvalidArgument("unknown auth_strategy '" + o.auth_strategy +
                                   "' (expected keystone or noauth2)");
  }
  // Both the Compute and the Image API authenticate through one Authenticator.
  const bool keystone = o.auth_strategy == "keystone" &&
                        (!o.compute_api_url.empty() || !o.image_api_url.empty());
  const std::string identity_url =
      PublicUrl(o.identity_api_url.empty() ? "http://127.0.0.1:5000" : o.identity_api_url,
                o.public_host);
  if (keystone || !o.identity_api_url.empty()) {
    std::string users_file =
        o.users_file.empty() ? dir + "/identity/users.ini" : o.users_file;
    if (o.seed_users) {
      CHRONOVA_ASSIGN_OR_RETURN(p.identity_password,
                                PrepareUsersFile(users_file, o.identity_password));
      if (!p.identity_password.empty()) {
        CHRONOVA_RETURN_IF_ERROR(
            WriteOpenrc(dir + "/openrc", identity_url + "/v3", p.identity_password));
      }
    }
    CHRONOVA_ASSIGN_OR_RETURN(IdentityDirectory directory,
                              IdentityDirectory::Load(users_file));
    p.directory = std::make_unique<IdentityDirectory>(std::move(directory));
    CHRONOVA_ASSIGN_OR_RETURN(
        std::string key,
        LoadOrCreateTokenKey(o.token_key_file.empty() ? dir + "/identity/token.key"
                                                      : o.token_key_file));
    p.signer = std::make_unique<TokenSigner>(std::move(key));
    p.validator =
        std::make_unique<TokenValidator>(p.signer.get(), p.store.get(), Env::Default());
    IdentityServiceOptions io;
    io.token_expiration_s = o.token_expiration_s;
    p.identity = std::make_unique<IdentityService>(p.directory.get(), p.validator.get(),
                                                   p.log.get(), p.runner.get(), io);
  }
  if (!o.identity_api_url.empty()) {
    IdentityHandlerOptions ho;
    ho.service = p.identity.get();
    ho.public_url = identity_url;
    ho.catalog.push_back({"identity", "keystone", identity_url + "/v3"});
    if (!o.compute_api_url.empty()) {
      ho.catalog.push_back(
          {"compute", "nova", PublicUrl(o.compute_api_url, o.public_host) + "/v2.1"});
    }
    if (!o.image_api_url.empty()) {
      ho.catalog.push_back(
          {"image", "glance", PublicUrl(o.image_api_url, o.public_host)});
    }
    if (!o.ec2_api_url.empty()) {
      ho.catalog.push_back({"ec2", "ec2", PublicUrl(o.ec2_api_url, o.public_host)});
    }
    p.identity_handler = std::make_unique<IdentityHandler>(std::move(ho));
    const IdentityHandler* handler = p.identity_handler.get();
    HttpServerOptions http;
    http.name = "identity API";
    http.metrics_label = "identity";
    http.listen_url = o.identity_api_url;
    http.listen_fd = InheritedFd(node, "identity");
    http.close_connections = !o.keep_alive;
    http.handler = [handler](const HttpRequest& r) { return handler->Handle(r); };
    p.identity_api = std::make_unique<HttpServer>();
    CHRONOVA_RETURN_IF_ERROR(p.identity_api->Start(std::move(http)));
  }

  if (keystone) {
    p.auth = std::make_unique<KeystoneAuthenticator>(p.validator.get());
  } else {
    p.auth = std::make_unique<NoAuthAuthenticator>();
  }
  if (!o.compute_api_url.empty()) {
    p.api = std::make_unique<ComputeApiServer>();
    ComputeApiOptions ao;
    ao.listen_url = o.compute_api_url;
    ao.listen_fd = InheritedFd(node, "compute");
    ao.keep_alive = o.keep_alive;
    ao.service = p.compute_service.get();
    ao.authenticator = p.auth.get();
    ao.auth_url = identity_url;
    // Images' "alternate" links name the Image API this node serves.
    if (!o.image_api_url.empty())
      ao.image_url = PublicUrl(o.image_api_url, o.public_host);
    ao.admin = p.admin_service.get();
    ao.images = p.image_service.get();
    CHRONOVA_RETURN_IF_ERROR(p.api->Start(ao));
  }
  if (!o.image_api_url.empty()) {
    p.image_api = std::make_unique<ImageApiServer>();
    ImageApiOptions io;
    io.listen_url = o.image_api_url;
    io.listen_fd = InheritedFd(node, "image");
    io.keep_alive = o.keep_alive;
    io.service = p.image_service.get();
    io.authenticator = p.auth.get();
    CHRONOVA_RETURN_IF_ERROR(p.image_api->Start(io));
  }
  if (!o.ec2_api_url.empty()) {
    if (p.identity == nullptr) {
      return Status::InvalidArgument(
          "the EC2 API needs the Identity service (its EC2 credentials): set "
          "auth_strategy = keystone or identity_listen, or ec2_listen = \"\"");
    }
    p.ec2_api = std::make_unique<Ec2ApiServer>();
    Ec2ApiOptions eo;
    eo.listen_url = o.ec2_api_url;
    eo.listen_fd = InheritedFd(node, "ec2");
    eo.keep_alive = o.keep_alive;
    eo.service = p.compute_service.get();
    eo.admin = p.admin_service.get();
    eo.identity = p.identity.get();
    eo.store = p.store.get();
    eo.images = p.image_service.get();
    CHRONOVA_RETURN_IF_ERROR(p.ec2_api->Start(eo));
  }
  return Status::Ok();
}

// The console proxies: a token is good if the read model has it unexpired, for
// this proxy's kind of console, and its compute host still serves that
// guest's console at that port (Nova's validate_console_port).
Status StartConsoles(Node::Parts& p, const NodeOptions& node) {
  const ConsoleRoleOptions& o = node.console;
  const ConsoleOptions& c = node.api.consoles;
  p.console_queries = std::make_unique<HostQueryClient>(
      p.bus.get(), "console." + Env::Default()->NewUuid());
  struct Kind {
    const char* name;
    bool enabled;
    std::string listen, dir, base_url;
    const char* host_kind;
    const char* console_type;
  };
  const Kind kinds[] = {{"novnc", c.vnc_enabled, o.novnc_listen, o.novnc_dir,
                         c.novncproxy_base_url, "vnc", "novnc"},
                        {"spice", c.spice_enabled, o.spice_listen, o.spice_dir,
                         c.html5proxy_base_url, "spice", "spice-html5"},
                        {"serial", c.serial_enabled, o.serial_listen, "",
                         c.serial_base_url, "serial", "serial"}};
  for (const Kind& k : kinds) {
    if (!k.enabled || k.listen.empty()) continue;
    ConsoleProxyOptions po;
    po.name = k.name;
    po.listen_url = k.listen;
    po.listen_fd = InheritedFd(node, std::string("console-") + k.name);
    po.static_dir = k.dir;
    po.console_kind = k.host_kind;
    po.public_scheme = k.base_url.substr(0, k.base_url.find("://"));
    po.allowed_origins = o.allowed_origins;
    po.enforce_session_timeout = o.enforce_session_timeout;
    const std::string host_kind = k.host_kind;
    const std::string console_type = k.console_type;
    po.authorize = [&p, host_kind,
                    console_type](const std::string& token) -> Result<ConsoleTarget> {
      const std::string hash = HashConsoleToken(token);
      auto find = [&]() -> Result<std::optional<ConsoleTokenRecord>> {
        CHRONOVA_ASSIGN_OR_RETURN(auto reader,
                                  p.store->Reader(ConsoleTokensProjection::kName));
        return ConsoleTokensView(reader.get()).Find(hash, Env::Default()->Now());
      };
      CHRONOVA_ASSIGN_OR_RETURN(std::optional<ConsoleTokenRecord> r, find());
      if (!r) {
        // Issued by another api process a moment ago: this read model may
        // not have it yet.
        CHRONOVA_ASSIGN_OR_RETURN(Seq head, p.log->Head());
        if (p.runner->WaitFor(head, 2000).ok()) {
          CHRONOVA_ASSIGN_OR_RETURN(r, find());
        }
      }
      if (!r) return Status::NotFound("invalid or expired console token");
      if (r->console_type != console_type) {
        return Status::PermissionDenied("a " + r->console_type + " token, not " +
                                        console_type);
      }
      CHRONOVA_ASSIGN_OR_RETURN(
          ConsoleAddress now,
          AskConsole(*p.console_queries, r->compute_host, r->instance_id, host_kind));
      if (now.port != r->port || now.host != r->console_host) {
        return Status::PermissionDenied("the console of " + r->instance_id.str() +
                                        " moved since the token was issued");
      }
      return ConsoleTarget{r->console_host, r->port, r->internal_access_path,
                           r->expires_at};
    };
    auto proxy = std::make_unique<ConsoleProxy>();
    CHRONOVA_RETURN_IF_ERROR(proxy->Start(std::move(po)));
    p.console_proxies[k.name] = std::move(proxy);
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Node>> Node::Start(const NodeOptions& o) {
  auto p = std::make_unique<Parts>();
  const Roles& roles = o.roles;
  if (!roles.api && !roles.scheduler && !roles.conductor && !roles.compute &&
      !roles.console)
    return Status::InvalidArgument("a node runs at least one role");
  if (o.bus_url.empty() && !(roles.api && roles.scheduler && roles.conductor &&
                             (roles.compute || o.compute.hosts == 0))) {
    return Status::InvalidArgument(
        "roles in separate processes talk over the NATS bus: set [bus] backend = nats");
  }
  CHRONOVA_RETURN_IF_ERROR(StartMetrics(*p, o));
  if (roles.UsesLog()) CHRONOVA_RETURN_IF_ERROR(StartReadSide(*p, o));
  if (o.bus_url.empty()) {
    p->bus = NewInProcessBus();
  } else {
    CHRONOVA_ASSIGN_OR_RETURN(p->bus, NewNatsBus(o.bus_url, o.bus_auth));
    if (roles.UsesLog() && o.log.backend == LogBackend::kJetStream) {
      // What the hosts' heartbeats said before this start.
      const JetStreamLogOptions& js = o.log.jetstream;
      CHRONOVA_ASSIGN_OR_RETURN(
          std::unique_ptr<LivenessStore> liveness,
          LivenessStore::Open(o.bus_url, o.bus_auth, js.stream_name, js.replicas));
      CHRONOVA_ASSIGN_OR_RETURN(p->known_heartbeats, liveness->LastHeartbeats());
    }
  }
  if (roles.scheduler) CHRONOVA_RETURN_IF_ERROR(StartScheduler(*p, o));
  if (roles.api || roles.conductor) {
    // Which hosts are up: the conductor deletes without a down host, and the
    // admin API shows it.
    HeartbeatMonitorOptions liveness;
    liveness.service_down_time_us = o.service_down_time_us;
    liveness.known = p->known_heartbeats;
    p->heartbeats = std::make_unique<HeartbeatMonitor>(p->bus.get(), liveness);
    CHRONOVA_RETURN_IF_ERROR(p->heartbeats->Start());
  }
  if (roles.conductor) CHRONOVA_RETURN_IF_ERROR(StartConductor(*p, o));
  if (roles.api) CHRONOVA_RETURN_IF_ERROR(StartImageService(*p, o));
  if (roles.compute) CHRONOVA_RETURN_IF_ERROR(StartCompute(*p, o));
  if (roles.api) {
    CHRONOVA_RETURN_IF_ERROR(StartApi(*p, o));
    // Not to split work: so that `chronovactl cluster status` sees it.
    CHRONOVA_ASSIGN_OR_RETURN(p->api_members, JoinRole(*p, o, "api"));
    if (p->api_members) CHRONOVA_RETURN_IF_ERROR(p->api_members->Start());
  }
  if (roles.console) CHRONOVA_RETURN_IF_ERROR(StartConsoles(*p, o));
  return std::unique_ptr<Node>(new Node(std::move(p)));
}

}  // namespace chronova
