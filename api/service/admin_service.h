// AdminService: the Compute API's admin views of the cloud, free of HTTP —
// hypervisors (compute nodes), services, availability zones, hosts and host
// aggregates. Views read the hosts, servers and aggregates read models;
// commands (disable a compute service, everything on aggregates) are decided
// in core/ and appended to the log, then read back (read-your-writes).
//
// Ids: a compute host's hypervisor id is its registration order (the hosts
// read model's HostState::id, 1-based, stable across rebuilds). Services are
// numbered node services first (options.node_services, ids 1..k), then each
// compute host's nova-compute service as k + its hypervisor id. From
// microversion 2.53 services and hypervisors are named by uuid instead: a
// name-based uuid (RFC 4122 version 5) of the service's binary and host, or of
// the compute node's host, so it is stable across restarts and replays without
// being stored (docs/api.md, "Microversions").
//
// Every method authorizes with Nova's policy name first (PermissionDenied).
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/aggregate_state.h"
#include "core/env.h"
#include "core/host_state.h"
#include "core/instance_state.h"
#include "core/request_context.h"
#include "eventstore/event_log.h"
#include "projections/migrations_projection.h"
#include "projections/projection_runner.h"
#include "projections/projection_store.h"

namespace chronova {

// Nova's internal_service_availability_zone: the zone of non-compute services.
inline constexpr char kInternalZone[] = "internal";

struct ServiceLiveness {
  bool up = false;
  Timestamp last_seen;  // 0: unknown (Nova's null updated_at)
};

// A service that is not a compute host's: nova-scheduler, nova-conductor.
struct NodeService {
  std::string binary;
  HostName host;
};

struct AdminServiceOptions {
  Env* env = Env::Default();
  int wait_timeout_ms = 10000;  // read-your-writes wait for the projections
  // Is a compute host up? (heartbeats; agents/heartbeat_monitor.h). Unset: up.
  std::function<ServiceLiveness(const HostName&)> liveness;
  // This deployment's scheduler and conductor services, listed with zone "internal".
  std::vector<NodeService> node_services;
  // What os-hypervisors reports as host_ip and hypervisor_version (the
  // host.registered event carries neither).
  std::string host_ip = "127.0.0.1";
  int64_t hypervisor_version = 1000000;  // libvirt's encoding of 1.0.0
  // Asks a compute host for its `uptime` output (a HostQueryClient in the
  // node). Unset: os-hypervisors/{id}/uptime answers 501.
  std::function<Result<std::string>(const HostName&)> host_uptime;
};

struct ServiceView {
  int64_t id = 0;
  std::string uuid;  // the id from 2.53
  std::string binary;
  HostName host;
  std::string zone;
  bool disabled = false;
  std::string disabled_reason;  // empty: Nova's null
  ServiceLiveness liveness;     // up is false while forced down
  bool forced_down = false;
};

// A registered host with its integer id (registration order).
struct NumberedHost {
  int64_t id = 0;
  HostState host;
};

struct HypervisorView {
  int64_t id = 0;    // the hypervisor id
  std::string uuid;  // the id from 2.53
  HostState host;    // capacity, usage (used), hypervisor_hostname
  ServiceView service;
  int64_t running_vms = 0;
  std::vector<InstanceState> servers;  // only when asked (…/servers)
};

struct HypervisorStatistics {
  int64_t count = 0, vcpus = 0, vcpus_used = 0, memory_mb = 0, memory_mb_used = 0,
          local_gb = 0, local_gb_used = 0, free_ram_mb = 0, free_disk_gb = 0,
          running_vms = 0, disk_available_least = 0, current_workload = 0;
};

// One availability zone as os-availability-zone shows it.
struct AvailabilityZoneView {
  std::string name;
  bool available = true;
  // host -> its services in the zone (detail only; Nova lists enabled ones).
  std::map<std::string, std::vector<ServiceView>> hosts;
};

// os-hosts show: one resource row.
struct HostResourceRow {
  std::string project;  // "(total)", "(used_now)", "(used_max)" or a project id
  int64_t cpu = 0, memory_mb = 0, disk_gb = 0;
};

// The uuids of 2.53: a service's (binary on host) and a compute node's.
// RFC 4122 version 5 (name-based) uuid of `name` in chronova's namespace:
// the same on every process and every replay.
std::string NameBasedUuid(const std::string& name);
std::string ServiceUuid(const std::string& binary, const HostName& host);
std::string ComputeNodeUuid(const HostName& host);

// GET /os-hypervisors(/detail) from 2.53: hypervisor_hostname_pattern (Nova's
// SQL LIKE %pattern%; NotFound if none matches) and with_servers.
struct HypervisorFilter {
  std::optional<std::string> pattern;
  bool with_servers = false;
  // 2.33's page: at most `limit` hypervisors after the one `marker` names (its
  // id, or from 2.53 its uuid: marker_is_uuid). Read in id order from the
  // hosts read model's index: only the page's hosts are read.
  std::optional<int> limit;
  std::optional<std::string> marker;
  bool marker_is_uuid = false;
};

// PUT /os-services/{uuid} (2.53): what changes; unset members stay.
struct ServiceUpdate {
  std::optional<bool> enabled;
  std::string disabled_reason;  // with enabled == false; empty: none
  std::optional<bool> forced_down;
};

// The "services" filter of GET /os-services.
struct ServiceFilter {
  std::optional<std::string> host;
  std::optional<std::string> binary;
};

class AdminService {
 public:
  // Borrows everything. `store` must hold the hosts, servers and aggregates
  // projections and be fed by `runner`.
  AdminService(EventLog* log, ProjectionStore* store, const ProjectionRunner* runner,
               AdminServiceOptions options);

  const AdminServiceOptions& options() const { return options_; }

  // ---- os-hypervisors
  Result<std::vector<HypervisorView>> ListHypervisors(
      const RequestContext& ctx, bool detail, const HypervisorFilter& filter = {}) const;
  // `id` is the integer id, or the uuid if `by_uuid` (2.53). NotFound
  // "Hypervisor with ID '<id>' could not be found."
  Result<HypervisorView> GetHypervisor(const RequestContext& ctx, const std::string& id,
                                       const char* policy, bool by_uuid = false,
                                       bool with_servers = false) const;
  // Hypervisors whose hypervisor_hostname contains `pattern` (Nova's SQL LIKE
  // %pattern%), with their servers if `with_servers`; NotFound "No hypervisor
  // matching '<pattern>' could be found." if none.
  Result<std::vector<HypervisorView>> SearchHypervisors(const RequestContext& ctx,
                                                        const std::string& pattern,
                                                        bool with_servers) const;
  Result<HypervisorStatistics> HypervisorStats(const RequestContext& ctx) const;

  // ---- os-services
  Result<std::vector<ServiceView>> ListServices(const RequestContext& ctx,
                                                const ServiceFilter& filter) const;
  // Disable (with an optional reason) or enable host's nova-compute.
  // InvalidArgument for another binary ("Updating a <binary> service is not
  // supported. Only nova-compute services can be updated."); NotFound "Could
  // not find binary <binary> on host <host>."
  Status SetServiceEnabled(const RequestContext& ctx, const HostName& host,
                           const std::string& binary, bool enabled,
                           const std::string& reason);
  // PUT /os-services/{uuid} (2.53): NotFound "Service <uuid> could not be
  // found."; InvalidArgument for a service other than nova-compute. The
  // service as it is after the update.
  Result<ServiceView> UpdateServiceByUuid(const RequestContext& ctx,
                                          const std::string& uuid,
                                          const ServiceUpdate& update);
  // A server's host_status (microversion 2.16), as Nova's
  // get_instance_host_status: "" without a host, DOWN while forced down,
  // MAINTENANCE while disabled, UP while it reports, else UNKNOWN.
  Result<std::string> HostStatus(const HostName& host) const;
  // os-services force-down (2.11): forces host's nova-compute down or lifts it.
  // InvalidArgument for another binary; NotFound for an unknown host.
  Status SetServiceForcedDown(const RequestContext& ctx, const HostName& host,
                              const std::string& binary, bool forced_down);

  // ---- os-availability-zone
  Result<std::vector<AvailabilityZoneView>> ListAvailabilityZones(
      const RequestContext& ctx, bool detail) const;

  // ---- os-hosts
  // Every enabled service's host: {host_name, service topic, zone}; `zone`
  // filters when set.
  Result<std::vector<ServiceView>> ListHosts(
      const RequestContext& ctx, const std::optional<std::string>& zone) const;
  // NotFound "Host '<host>' is not mapped to any cell" for an unknown host.
  Result<std::vector<HostResourceRow>> ShowHost(const RequestContext& ctx,
                                                const HostName& host) const;
  // NotFound as ShowHost for an unknown host; OK if the host exists (the caller
  // then answers as Nova does for the libvirt driver: not implemented).
  Status CheckHost(const RequestContext& ctx, const HostName& host,
                   const char* policy) const;

  // ---- os-aggregates
  Result<std::vector<AggregateState>> ListAggregates(const RequestContext& ctx) const;

  // ---- os-migrations
  // Every migration (resizes), newest first (os-migrations:index, admins).
  Result<std::vector<MigrationRecord>> ListMigrations(const RequestContext& ctx) const;
  // NotFound "Aggregate <id> could not be found."
  Result<AggregateState> GetAggregate(const RequestContext& ctx, int64_t id) const;
  // Conflict "Aggregate <name> already exists."
  Result<AggregateState> CreateAggregate(const RequestContext& ctx,
                                         const std::string& name,
                                         const std::string& availability_zone);
  Result<AggregateState> UpdateAggregate(const RequestContext& ctx, int64_t id,
                                         const chronova::UpdateAggregate& update);
  Result<AggregateState> SetAggregateMetadata(const RequestContext& ctx, int64_t id,
                                              const chronova::SetAggregateMetadata& cmd);
  // NotFound "Compute host <host> could not be found." for an unknown host;
  // Conflict if it is in it already, or in another zone.
  Result<AggregateState> AddAggregateHost(const RequestContext& ctx, int64_t id,
                                          const HostName& host);
  Result<AggregateState> RemoveAggregateHost(const RequestContext& ctx, int64_t id,
                                             const HostName& host);
  // InvalidArgument while it has hosts.
  Status DeleteAggregate(const RequestContext& ctx, int64_t id);

 private:
  Status UpdateService(const RequestContext& ctx, const HostName& host,
                       const std::string& binary, const std::string& key,
                       const std::function<std::vector<Event>(const HostState&)>& decide);
  Status WaitForHead() const;
  // Registered hosts in id order.
  Result<std::vector<NumberedHost>> Hosts() const;
  // The registered host with integer id `id` (0 or none: nullopt), or whose
  // compute node uuid is `uuid` (read by name from the id index, no host
  // record but the one found).
  Result<std::optional<NumberedHost>> HostById(int64_t id) const;
  Result<std::optional<NumberedHost>> HostByUuid(const std::string& uuid) const;
  // 2.33's page of hosts (HypervisorFilter::limit and marker), in id order.
  Result<std::vector<NumberedHost>> HostPage(const HypervisorFilter& filter) const;
  Result<std::vector<AggregateState>> Aggregates() const;
  ServiceView ComputeService(const NumberedHost& h,
                             const std::vector<AggregateState>& aggregates) const;
  std::vector<ServiceView> AllServices(
      const std::vector<NumberedHost>& hosts,
      const std::vector<AggregateState>& aggregates) const;
  Result<std::vector<HypervisorView>> Views(const std::vector<NumberedHost>& hosts,
                                            bool with_servers) const;
  // Hypervisors whose hypervisor_hostname contains `pattern`; NotFound if none.
  Result<std::vector<HypervisorView>> Matching(const std::string& pattern,
                                               bool with_servers) const;
  // Runs `decide` on aggregate/<id> and returns the aggregate as folded after it.
  template <typename Decider>
  Result<AggregateState> ActOnAggregate(const RequestContext& ctx, int64_t id,
                                        const char* verb, Decider decide);

  EventLog* const log_;
  ProjectionStore* const store_;
  const ProjectionRunner* const runner_;
  const AdminServiceOptions options_;
};

}  // namespace chronova
