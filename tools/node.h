// Node: one chronova process with the roles it runs wired together — the log,
// the read models, the bus, and any of the api (Identity, Image and Compute
// APIs), scheduler, conductor and compute roles. `chronovad all-in-one` is a
// Node with every role on the embedded log and an in-process bus; `chronovad
// api|scheduler|conductor|compute` is a Node with one role, on a JetStream log
// and the NATS bus shared with the other processes (docs/deployment.md).
// Tests and benchmarks start Nodes too.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/service/console_options.h"
#include "eventstore/log_factory.h"

namespace chronova {

class AdminService;
class ComputeAgent;
class ComputeService;
class IdentityService;
class ImageService;
class Hypervisor;
class ProjectionStore;
class EventLog;

// The roles a process runs (chronovad's subcommands; the all-in-one runs all).
struct Roles {
  bool api = true;
  bool scheduler = true;
  bool conductor = true;
  bool compute = true;
  // The console proxies (noVNC, SPICE, serial): they read the console tokens
  // read model and ask compute hosts over the bus.
  bool console = true;
  // Roles that read and write the log and keep read models.
  bool UsesLog() const { return api || scheduler || conductor || console; }
};

// The console role: one proxy per kind of console (agents/console/console_proxy.h).
// Each listens only if its URL is set and the API hands out that kind
// (ApiRoleOptions::consoles).
struct ConsoleRoleOptions {
  std::string novnc_listen;   // [vnc] novncproxy_host/port, e.g. http://127.0.0.1:6080
  std::string spice_listen;   // [spice] html5proxy_host/port (6082)
  std::string serial_listen;  // [serial_console] serialproxy_host/port (6083)
  std::string novnc_dir = "/usr/share/novnc";        // noVNC's pages
  std::string spice_dir = "/usr/share/spice-html5";  // spice-html5's pages
  std::vector<std::string> allowed_origins;          // [console] allowed_origins
  bool enforce_session_timeout = false;  // [consoleauth] enforce_session_timeout
};

// The api role: Identity, Image and Compute APIs with their own read models.
struct ApiRoleOptions {
  // The Compute API listens here ("" disables the API).
  std::string compute_api_url = "http://127.0.0.1:8774";
  // The Identity v3 API listens here ("" disables it). Its URL + "/v3" is the
  // catalog's identity endpoint and OS_AUTH_URL.
  std::string identity_api_url = "http://127.0.0.1:5000";
  // The Image API (Glance v2) listens here ("" disables it), and the catalog
  // names it.
  std::string image_api_url = "http://127.0.0.1:9292";
  // The EC2 Query API listens here ("" disables it) and the catalog names it
  // (type ec2). It needs the Identity service (EC2 credentials).
  std::string ec2_api_url = "http://127.0.0.1:8788";
  // Nova's [wsgi] keep_alive: false closes every API connection after its
  // answer ("Connection: close"), for clients or balancers that need it.
  bool keep_alive = true;
  // Catalog URLs name this host instead of a wildcard listen address (0.0.0.0).
  std::string public_host = "127.0.0.1";
  // Nova's [api] auth_strategy: "keystone" (Identity v3 tokens) or "noauth2"
  // (the token "user:project", for tests and benchmarks).
  std::string auth_strategy = "keystone";
  // The identity users file; empty: <state_dir>/identity/users.ini. Several
  // api processes share one (and one token key).
  std::string users_file;
  // The token signing key; empty: <state_dir>/identity/token.key (created once).
  std::string token_key_file;
  // Keystone's [token] expiration, seconds.
  int64_t token_expiration_s = 3600;
  // Seed devstack's accounts (admin, demo, alt_demo, ...) into the users file
  // when it is absent, and write <state_dir>/openrc.
  bool seed_users = true;
  // The seeded accounts' password; "" generates one when seeding. Given on a
  // later start, every seeded account is re-hashed with it.
  std::string identity_password;
  // The cloud's CA for os-certificates (ca.key, ca.crt; created once); empty:
  // <state_dir>/cert. Several api processes share one directory.
  std::string cert_dir;
  // Where image data live (Glance's filesystem_store_datadir); empty:
  // <state_dir>/images. Several api processes share one directory.
  std::string image_dir;
  // Largest image upload accepted (Glance's image_size_cap).
  uint64_t max_image_size = uint64_t{10} << 30;
  // A snapshot of the read models into <state_dir>/snapshots/<seq>/ every this
  // many events, for time travel (chronovactl at/diff, the history API); 0: none.
  uint64_t snapshot_every = 100000;
  size_t snapshot_keep = 5;  // newest snapshots kept
  // [quota] limits for projects nobody set limits for; resources not named
  // keep Nova's defaults (api/service/quotas.h). -1 is unlimited.
  std::map<std::string, int64_t> quota_defaults;
  // Which consoles the API hands out, the proxies' public URLs, the token TTL.
  ConsoleOptions consoles;
};

// The compute role: one agent per compute host this process runs.
struct ComputeRoleOptions {
  // Compute hosts this process runs, named "<host_prefix>-<n>" (or exactly
  // host_prefix when there is one).
  int hosts = 1;
  std::string host_prefix = "compute";
  // "libvirt" (default; test:/// node per host unless libvirt_uri is set) or "fake".
  std::string hypervisor = "libvirt";
  // [libvirt] connection_uri. Empty: a libvirt test driver host per simulated
  // host. Any other URI (qemu:///system) is a real hypervisor: this process then
  // runs at most one compute host on it, with an image cache.
  std::string libvirt_uri;
  std::string virt_type = "qemu";  // [libvirt] virt_type: kvm or qemu
  // nova.conf's [DEFAULT] instances_path; empty: <state_dir>/instances. Holds
  // the image cache (_base/) and one directory per instance (disk, console.log,
  // libvirt.xml).
  std::string instances_path;
  // nova.conf's remove_unused_original_minimum_age_seconds and
  // image_cache_manager_interval (seconds; <= 0: no aging).
  int64_t remove_unused_original_minimum_age_s = 86400;
  int64_t image_cache_manager_interval_s = 2400;
  // Give test:/// libvirt hosts an image cache and real overlay disks too (tests
  // of the disk path; the default keeps simulated hosts free of file I/O).
  bool image_cache_on_test_hosts = false;
  int host_vcpus = 8;
  int host_memory_mb = 16384;
  int host_disk_gb = 200;
  // nova.conf [DEFAULT] sync_power_state_interval: every compute agent reports
  // all its guests' power states this often (besides lifecycle events);
  // <= 0: only when it starts.
  int64_t sync_power_state_interval_s = 600;
  // nova.conf [DEFAULT] report_interval: every compute agent heartbeats this
  // often. Microseconds here; seconds in chronovad's INI file.
  int64_t report_interval_us = 10000000;
  // Real libvirt guests' consoles beyond VNC: a SPICE server ([spice]
  // enabled) and a TCP serial port from this range ([serial_console] enabled
  // and port_range, e.g. "10000:20000"; "" keeps the serial port a file).
  bool spice = false;
  std::string serial_port_range;
};

struct NodeOptions {
  LogConfig log;
  // Empty: an in-process bus (one process runs every role). Otherwise NATS
  // URLs for core NATS routing; roles in other processes reach this one there.
  std::string bus_url;
  // /metrics (Prometheus' text format) of this process listens here, e.g.
  // "http://127.0.0.1:9780"; empty: no metrics listener.
  std::string metrics_url;
  // Listening sockets a predecessor handed over, by listener: "compute",
  // "identity", "image", "metrics" (docs/operations.md, "Restarting without
  // downtime"). Those listeners serve them instead of binding their address.
  std::map<std::string, int> listen_fds;
  // The bus connection's credential and TLS (the log's are in log.jetstream).
  NatsAuth bus_auth;
  Roles roles;
  // This machine's name: the host of its nova-scheduler and nova-conductor
  // services. Several schedulers or conductors tell each other apart by
  // "<host>:<pid>".
  std::string host = "compute";
  // Seed Nova's default flavors and a demo image record on first start.
  bool seed_catalog = true;
  // nova.conf [DEFAULT] service_down_time: a host silent this long is down (the
  // scheduler places nothing on it, os-services shows it down, and a delete of
  // a server on it is done without it). Microseconds.
  int64_t service_down_time_us = 60000000;
  int scheduler_workers = 4;
  int conductor_workers = 4;
  // nova.conf [DEFAULT] instance_build_timeout: a placed instance still
  // building this long after it was requested goes to ERROR; 0: never.
  int64_t instance_build_timeout_s = 3600;
  // nova.conf [DEFAULT] reclaim_instance_interval: above 0, DELETE
  // soft-deletes a server and it is reclaimed this many seconds later; 0:
  // deleted at once (Nova's default).
  int64_t reclaim_instance_interval_s = 0;
  // nova.conf [DEFAULT] shelved_offload_time: seconds a shelved server keeps
  // its host; 0 (Nova's default): offloaded with the shelve; -1: never.
  int64_t shelved_offload_time_s = 0;
  ApiRoleOptions api;
  ComputeRoleOptions compute;
  ConsoleRoleOptions console;
};

class Node {
 public:
  // Opens and starts everything, in dependency order; when it returns OK the
  // read models have caught up with the log and the API is listening.
  static Result<std::unique_ptr<Node>> Start(const NodeOptions& options);
  // Stops everything in reverse order.
  ~Node();

  EventLog* log();
  ProjectionStore* store();
  ComputeService* compute();
  AdminService* admin();  // the os-hypervisors, os-services, ... command layer
  // Each is nullptr when this node does not run the role that has it.
  // nullptr when neither the Identity API nor keystone authentication runs.
  IdentityService* identity();
  // The seeded accounts' password when this start set it (seeded or re-hashed;
  // also in <state_dir>/openrc), else "".
  const std::string& identity_password() const;
  ImageService* image();
  // The driver of simulated compute host `i` (0-based).
  Hypervisor* hypervisor(size_t i);
  // The agent of simulated compute host `i` (tests stop and restart it).
  ComputeAgent* compute_agent(size_t i);
  // The port the console proxy of `kind` ("novnc", "spice", "serial") listens
  // on; 0 if it does not run.
  int console_port(const std::string& kind) const;
  // The instances path of compute host `i`: instances_path with one host, else
  // <instances_path>/<host>.
  std::string instances_path(size_t i) const;
  // Non-OK once the read models stopped on a bad event.
  Status health() const;
  // The listening sockets of this node's HTTP listeners, by the names of
  // NodeOptions::listen_fds (to hand over to a successor).
  std::map<std::string, int> ListenFds() const;
  // Stops accepting on every listener, answers the requests under way and
  // closes idle connections, within `timeout` in all (HttpServer::Drain).
  void DrainApis(std::chrono::milliseconds timeout);

  // The wiring (tools/node.cc).
  struct Parts;

 private:
  explicit Node(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

// Nova's default flavors (nova-manage's m1.*) and a demo image, as events; each
// is appended once (NoStream + a fixed idempotency key), so seeding is safe on
// every start.
// The seeded demo image's id (a record only until the image service exists).
inline constexpr const char* kDemoImageId = "0f2a6c3e-5b8d-4c1e-9a7f-3d2b1e0c9a11";

Status SeedCatalog(EventLog& log);

}  // namespace chronova
