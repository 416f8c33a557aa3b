#include "api/service/admin_service.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <set>

#include "api/auth/policy.h"
#include "eventstore/command_handler.h"
#include "projections/aggregates_projection.h"
#include "projections/hosts_projection.h"
#include "projections/servers_projection.h"

namespace chronova {
namespace {

constexpr char kComputeBinary[] = "nova-compute";

// "nova-scheduler" -> "scheduler": Nova's service topic.
std::string Topic(const std::string& binary) {
  return binary.rfind("nova-", 0) == 0 ? binary.substr(5) : binary;
}

std::string Lowered(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Status HostNotMapped(const HostName& host) {
  return Status::NotFound("Host '" + host.str() + "' is not mapped to any cell");
}

}  // namespace

// RFC 4122 version 5: SHA-1 of a namespace and a name, as Python's uuid.uuid5.
std::string NameBasedUuid(const std::string& name) {
  // chronova's namespace for service and compute node uuids.
  static constexpr std::array<unsigned char, 16> kNamespace = {
      0x3b, 0x8e, 0x51, 0x0d, 0x6c, 0x2a, 0x4f, 0x7e,
      0x9d, 0x14, 0xa2, 0x5c, 0x0b, 0x73, 0xe6, 0x19};
  std::string data(kNamespace.begin(), kNamespace.end());
  data += name;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha1(), nullptr);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x50);
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

std::string ServiceUuid(const std::string& binary, const HostName& host) {
  return NameBasedUuid("service:" + binary + "@" + host.str());
}

std::string ComputeNodeUuid(const HostName& host) {
  return NameBasedUuid("compute-node:" + host.str());
}

AdminService::AdminService(EventLog* log, ProjectionStore* store,
                           const ProjectionRunner* runner, AdminServiceOptions options)
    : log_(log), store_(store), runner_(runner), options_(std::move(options)) {}

Status AdminService::WaitForHead() const {
  CHRONOVA_ASSIGN_OR_RETURN(Seq head, log_->Head());
  return runner_->WaitFor(head, options_.wait_timeout_ms);
}

Result<std::vector<NumberedHost>> AdminService::Hosts() const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(HostsProjection::kName));
  HostsView view(reader.get());
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<HostState> hosts, view.List());
  std::vector<NumberedHost> out;
  for (HostState& h : hosts) {
    if (!h.exists) continue;
    CHRONOVA_ASSIGN_OR_RETURN(int64_t id, view.Id(h.name));
    out.push_back(NumberedHost{id, std::move(h)});
  }
  std::sort(out.begin(), out.end(),
            [](const NumberedHost& a, const NumberedHost& b) { return a.id < b.id; });
  return out;
}

Result<std::optional<NumberedHost>> AdminService::HostById(int64_t id) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(HostsProjection::kName));
  HostsView view(reader.get());
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<HostName> name, view.NameById(id));
  if (!name) return std::optional<NumberedHost>();
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<HostState> h, view.Get(*name));
  if (!h || !h->exists) return std::optional<NumberedHost>();
  return std::optional<NumberedHost>(NumberedHost{id, std::move(*h)});
}

Result<std::optional<NumberedHost>> AdminService::HostByUuid(
    const std::string& uuid) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(HostsProjection::kName));
  int64_t found = 0;
  CHRONOVA_RETURN_IF_ERROR(
      HostsView(reader.get()).VisitById(0, [&](int64_t id, const HostName& name) {
        if (ComputeNodeUuid(name) != uuid) return true;
        found = id;
        return false;
      }));
  if (found == 0) return std::optional<NumberedHost>();
  return HostById(found);
}

Result<std::vector<NumberedHost>> AdminService::HostPage(
    const HypervisorFilter& filter) const {
  int64_t after = 0;
  if (filter.marker) {
    Status not_found =
        Status::InvalidArgument("marker [" + *filter.marker + "] not found");
    std::optional<NumberedHost> marker;
    if (filter.marker_is_uuid) {
      CHRONOVA_ASSIGN_OR_RETURN(marker, HostByUuid(Lowered(*filter.marker)));
    } else {
      int64_t n = 0;
      const std::string& m = *filter.marker;
      auto [ptr, ec] = std::from_chars(m.data(), m.data() + m.size(), n);
      if (ec != std::errc() || ptr != m.data() + m.size()) return not_found;
      CHRONOVA_ASSIGN_OR_RETURN(marker, HostById(n));
    }
    if (!marker) return not_found;
    after = marker->id;
  }
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(HostsProjection::kName));
  HostsView view(reader.get());
  std::vector<NumberedHost> out;
  const size_t limit = static_cast<size_t>(std::max(0, filter.limit.value_or(0)));
  Status inner;
  CHRONOVA_RETURN_IF_ERROR(view.VisitById(after, [&](int64_t id, const HostName& name) {
    if (out.size() >= limit) return false;
    Result<std::optional<HostState>> h = view.Get(name);
    if (!h.ok()) {
      inner = h.status();
      return false;
    }
    if (*h && (*h)->exists) out.push_back(NumberedHost{id, std::move(**h)});
    return true;
  }));
  CHRONOVA_RETURN_IF_ERROR(inner);
  return out;
}

Result<std::vector<AggregateState>> AdminService::Aggregates() const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(AggregatesProjection::kName));
  return AggregatesView(reader.get()).List();
}

ServiceView AdminService::ComputeService(
    const NumberedHost& numbered, const std::vector<AggregateState>& aggregates) const {
  const HostState& h = numbered.host;
  ServiceView v;
  v.id = static_cast<int64_t>(options_.node_services.size()) + numbered.id;
  v.uuid = ServiceUuid(kComputeBinary, h.name);
  v.binary = kComputeBinary;
  v.host = h.name;
  v.zone = HostAvailabilityZone(h.name, h.availability_zone, aggregates);
  v.disabled = h.disabled;
  v.disabled_reason = h.disabled_reason;
  v.liveness =
      options_.liveness ? options_.liveness(h.name) : ServiceLiveness{true, Timestamp{}};
  v.forced_down = h.forced_down;
  if (h.forced_down) v.liveness.up = false;
  return v;
}

std::vector<ServiceView> AdminService::AllServices(
    const std::vector<NumberedHost>& hosts,
    const std::vector<AggregateState>& aggregates) const {
  std::vector<ServiceView> out;
  int64_t id = 0;
  for (const NodeService& s : options_.node_services) {
    // They run in this very process: up, and reporting now.
    out.push_back(ServiceView{++id, ServiceUuid(s.binary, s.host), s.binary, s.host,
                              kInternalZone, false, "",
                              ServiceLiveness{true, options_.env->Now()}, false});
  }
  for (const NumberedHost& h : hosts) out.push_back(ComputeService(h, aggregates));
  return out;
}

Result<std::vector<HypervisorView>> AdminService::Views(
    const std::vector<NumberedHost>& hosts, bool with_servers) const {
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<AggregateState> aggregates, Aggregates());
  CHRONOVA_ASSIGN_OR_RETURN(auto servers_reader,
                            store_->Reader(ServersProjection::kName));
  ServersView servers(servers_reader.get());
  std::vector<HypervisorView> out;
  for (const NumberedHost& h : hosts) {
    HypervisorView v;
    v.id = h.id;
    v.uuid = ComputeNodeUuid(h.host.name);
    v.host = h.host;
    v.service = ComputeService(h, aggregates);
    if (with_servers) {
      CHRONOVA_ASSIGN_OR_RETURN(v.servers, servers.OnHost(h.host.name));
      v.running_vms = static_cast<int64_t>(v.servers.size());
    } else {
      // Counted from the host's index keys: no server is read.
      CHRONOVA_ASSIGN_OR_RETURN(std::set<InstanceId> ids, servers.IdsOnHost(h.host.name));
      v.running_vms = static_cast<int64_t>(ids.size());
    }
    out.push_back(std::move(v));
  }
  return out;
}

// ---- os-hypervisors --------------------------------------------------------

Result<std::vector<HypervisorView>> AdminService::Matching(const std::string& pattern,
                                                           bool with_servers) const {
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<NumberedHost> hosts, Hosts());
  std::vector<NumberedHost> matching;
  for (const NumberedHost& h : hosts) {
    if (h.host.hypervisor_hostname.find(pattern) != std::string::npos)
      matching.push_back(h);
  }
  if (matching.empty()) {
    return Status::NotFound("No hypervisor matching '" + pattern + "' could be found.");
  }
  return Views(matching, with_servers);
}

Result<std::vector<HypervisorView>> AdminService::ListHypervisors(
    const RequestContext& ctx, bool detail, const HypervisorFilter& filter) const {
  CHRONOVA_RETURN_IF_ERROR(
      Authorize(ctx, detail ? "os_compute_api:os-hypervisors:list-detail"
                            : "os_compute_api:os-hypervisors:list"));
  if (filter.pattern) return Matching(*filter.pattern, filter.with_servers);
  if (filter.limit) {
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<NumberedHost> page, HostPage(filter));
    return Views(page, filter.with_servers);
  }
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<NumberedHost> hosts, Hosts());
  return Views(hosts, filter.with_servers);
}

Result<HypervisorView> AdminService::GetHypervisor(const RequestContext& ctx,
                                                   const std::string& id,
                                                   const char* policy, bool by_uuid,
                                                   bool with_servers) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, policy));
  Status not_found =
      Status::NotFound("Hypervisor with ID '" + id + "' could not be found.");
  std::optional<NumberedHost> h;
  if (by_uuid) {
    CHRONOVA_ASSIGN_OR_RETURN(h, HostByUuid(Lowered(id)));
  } else {
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(id.data(), id.data() + id.size(), n);
    if (ec != std::errc() || ptr != id.data() + id.size()) return not_found;
    CHRONOVA_ASSIGN_OR_RETURN(h, HostById(n));
  }
  if (!h) return not_found;
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<HypervisorView> v, Views({*h}, with_servers));
  return v.front();
}

Result<std::vector<HypervisorView>> AdminService::SearchHypervisors(
    const RequestContext& ctx, const std::string& pattern, bool with_servers) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, with_servers
                                              ? "os_compute_api:os-hypervisors:servers"
                                              : "os_compute_api:os-hypervisors:search"));
  return Matching(pattern, with_servers);
}

Result<HypervisorStatistics> AdminService::HypervisorStats(
    const RequestContext& ctx) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-hypervisors:statistics"));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<NumberedHost> hosts, Hosts());
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<HypervisorView> views, Views(hosts, false));
  HypervisorStatistics s;
  for (const HypervisorView& v : views) {
    // Nova sums the compute nodes of enabled services only.
    if (v.host.disabled) continue;
    const HostState& h = v.host;
    ++s.count;
    s.vcpus += h.vcpus;
    s.vcpus_used += h.used.vcpus;
    s.memory_mb += h.memory_mb;
    s.memory_mb_used += h.used.memory_mb;
    s.local_gb += h.disk_gb;
    s.local_gb_used += h.used.disk_gb;
    s.running_vms += v.running_vms;
  }
  s.free_ram_mb = s.memory_mb - s.memory_mb_used;
  s.free_disk_gb = s.local_gb - s.local_gb_used;
  s.disk_available_least = s.free_disk_gb;
  return s;
}

// ---- os-services -------------------------------------------------------------

Result<std::vector<ServiceView>> AdminService::ListServices(
    const RequestContext& ctx, const ServiceFilter& filter) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-services:list"));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<NumberedHost> hosts, Hosts());
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<AggregateState> aggregates, Aggregates());
  std::vector<ServiceView> out;
  for (ServiceView& s : AllServices(hosts, aggregates)) {
    // An empty filter value filters nothing, as in Nova.
    if (filter.host && !filter.host->empty() && s.host.str() != *filter.host) continue;
    if (filter.binary && !filter.binary->empty() && s.binary != *filter.binary) continue;
    out.push_back(std::move(s));
  }
  return out;
}

// The checks and the append shared by os-services updates: the policy, only
// nova-compute, a registered host; `decide` says what changes.
Status AdminService::UpdateService(
    const RequestContext& ctx, const HostName& host, const std::string& binary,
    const std::string& key,
    const std::function<std::vector<Event>(const HostState&)>& decide) {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-services:update"));
  if (binary != kComputeBinary) {
    return Status::InvalidArgument("Updating a " + binary +
                                   " service is not supported. Only nova-compute "
                                   "services can be updated.");
  }
  HostState initial;
  initial.name = host;
  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome out,
      HandleCommand(
          *log_, HostStream(host), initial, ApplyHostEvent, HostVersion,
          [&](const HostState& s) -> Result<std::vector<Event>> {
            if (!s.exists) {
              return Status::NotFound("Could not find binary " + binary + " on host " +
                                      host.str() + ".");
            }
            return decide(s);
          },
          ctx.Meta(options_.env->Now()), IdempotencyKey(key + ctx.request_id.str())));
  if (out.appended) {
    CHRONOVA_RETURN_IF_ERROR(
        runner_->WaitFor(out.append.last_seq, options_.wait_timeout_ms));
  }
  return Status::Ok();
}

Status AdminService::SetServiceEnabled(const RequestContext& ctx, const HostName& host,
                                       const std::string& binary, bool enabled,
                                       const std::string& reason) {
  return UpdateService(ctx, host, binary, "service-update-",
                       [&](const HostState& s) -> std::vector<Event> {
                         if (enabled) {
                           if (!s.disabled) return {};
                           return {HostServiceEnabled{}};
                         }
                         if (s.disabled && s.disabled_reason == reason) return {};
                         return {HostServiceDisabled{reason}};
                       });
}

Result<std::string> AdminService::HostStatus(const HostName& host) const {
  if (host.empty()) return std::string();
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(HostsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<HostState> h,
                            HostsView(reader.get()).Get(host));
  if (!h || !h->exists) return std::string();
  if (h->forced_down) return std::string("DOWN");
  if (h->disabled) return std::string("MAINTENANCE");
  const bool up = !options_.liveness || options_.liveness(host).up;
  return std::string(up ? "UP" : "UNKNOWN");
}

Result<ServiceView> AdminService::UpdateServiceByUuid(const RequestContext& ctx,
                                                      const std::string& uuid,
                                                      const ServiceUpdate& update) {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-services:update"));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<NumberedHost> hosts, Hosts());
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<AggregateState> aggregates, Aggregates());
  std::optional<ServiceView> found;
  for (ServiceView& s : AllServices(hosts, aggregates)) {
    if (s.uuid == Lowered(uuid)) found = std::move(s);
  }
  if (!found) return Status::NotFound("Service " + uuid + " could not be found.");
  CHRONOVA_RETURN_IF_ERROR(
      UpdateService(ctx, found->host, found->binary, "service-update-" + uuid + "-",
                    [&](const HostState& s) -> std::vector<Event> {
                      std::vector<Event> events;
                      if (update.enabled == true && s.disabled)
                        events.push_back(HostServiceEnabled{});
                      if (update.enabled == false &&
                          (!s.disabled || s.disabled_reason != update.disabled_reason)) {
                        events.push_back(HostServiceDisabled{update.disabled_reason});
                      }
                      if (update.forced_down && *update.forced_down != s.forced_down) {
                        events.push_back(HostForcedDownSet{*update.forced_down});
                      }
                      return events;
                    }));
  CHRONOVA_ASSIGN_OR_RETURN(hosts, Hosts());
  for (const NumberedHost& h : hosts) {
    if (h.host.name == found->host) return ComputeService(h, aggregates);
  }
  return Status::NotFound("Service " + uuid + " could not be found.");
}

Status AdminService::SetServiceForcedDown(const RequestContext& ctx, const HostName& host,
                                          const std::string& binary, bool forced_down) {
  return UpdateService(ctx, host, binary, "service-force-down-",
                       [&](const HostState& s) -> std::vector<Event> {
                         if (s.forced_down == forced_down) return {};
                         return {HostForcedDownSet{forced_down}};
                       });
}

// ---- os-availability-zone ------------------------------------------------

Result<std::vector<AvailabilityZoneView>> AdminService::ListAvailabilityZones(
    const RequestContext& ctx, bool detail) const {
  CHRONOVA_RETURN_IF_ERROR(
      Authorize(ctx, detail ? "os_compute_api:os-availability-zone:detail"
                            : "os_compute_api:os-availability-zone:list"));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<NumberedHost> hosts, Hosts());
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<AggregateState> aggregates, Aggregates());
  std::vector<ServiceView> services = AllServices(hosts, aggregates);
  // A zone is available if an enabled service is in it; zones of disabled
  // services only are listed as not available (nova/availability_zones.py).
  std::map<std::string, AvailabilityZoneView> available, unavailable;
  for (const ServiceView& s : services) {
    if (s.disabled) continue;
    AvailabilityZoneView& z = available[s.zone];
    z.name = s.zone;
    z.hosts[s.host.str()].push_back(s);
  }
  for (const ServiceView& s : services) {
    if (!s.disabled || available.count(s.zone)) continue;
    unavailable[s.zone] = AvailabilityZoneView{s.zone, false, {}};
  }
  std::vector<AvailabilityZoneView> out;
  for (auto* zones : {&available, &unavailable}) {
    for (auto& [name, z] : *zones) {
      // The summary hides the internal zone; it shows no hosts at all.
      if (!detail && name == kInternalZone) continue;
      if (!detail) z.hosts.clear();
      out.push_back(std::move(z));
    }
  }
  return out;
}

// ---- os-hosts --------------------------------------------------------------

Result<std::vector<ServiceView>> AdminService::ListHosts(
    const RequestContext& ctx, const std::optional<std::string>& zone) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-hosts:list"));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<NumberedHost> hosts, Hosts());
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<AggregateState> aggregates, Aggregates());
  std::vector<ServiceView> out;
  for (ServiceView& s : AllServices(hosts, aggregates)) {
    if (s.disabled) continue;
    if (zone && !zone->empty() && s.zone != *zone) continue;
    s.binary = Topic(s.binary);
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<HostResourceRow>> AdminService::ShowHost(const RequestContext& ctx,
                                                            const HostName& host) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-hosts:show"));
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(HostsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<HostState> h,
                            HostsView(reader.get()).Get(host));
  if (!h || !h->exists) return HostNotMapped(host);
  CHRONOVA_ASSIGN_OR_RETURN(auto servers_reader,
                            store_->Reader(ServersProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<InstanceState> on_host,
                            ServersView(servers_reader.get()).OnHost(host));
  std::vector<HostResourceRow> rows;
  rows.push_back({"(total)", h->vcpus, h->memory_mb, h->disk_gb});
  rows.push_back({"(used_now)", h->used.vcpus, h->used.memory_mb, h->used.disk_gb});
  HostResourceRow max{"(used_max)", 0, 0, 0};
  std::vector<HostResourceRow> by_project;  // in order of first appearance, as Nova
  for (const InstanceState& s : on_host) {
    int64_t disk = s.flavor.root_gb + s.flavor.ephemeral_gb;
    max.cpu += s.flavor.vcpus;
    max.memory_mb += s.flavor.memory_mb;
    max.disk_gb += disk;
    auto it = std::find_if(
        by_project.begin(), by_project.end(),
        [&](const HostResourceRow& r) { return r.project == s.project_id.str(); });
    if (it == by_project.end()) {
      by_project.push_back({s.project_id.str(), 0, 0, 0});
      it = by_project.end() - 1;
    }
    it->cpu += s.flavor.vcpus;
    it->memory_mb += s.flavor.memory_mb;
    it->disk_gb += disk;
  }
  rows.push_back(max);
  rows.insert(rows.end(), by_project.begin(), by_project.end());
  return rows;
}

Status AdminService::CheckHost(const RequestContext& ctx, const HostName& host,
                               const char* policy) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, policy));
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(HostsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<HostState> h,
                            HostsView(reader.get()).Get(host));
  if (!h || !h->exists) return HostNotMapped(host);
  return Status::Ok();
}

// ---- os-aggregates ------------------------------------------------------------

Result<std::vector<AggregateState>> AdminService::ListAggregates(
    const RequestContext& ctx) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-aggregates:index"));
  return Aggregates();
}

Result<std::vector<MigrationRecord>> AdminService::ListMigrations(
    const RequestContext& ctx) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-migrations:index"));
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(MigrationsProjection::kName));
  return MigrationsView(reader.get()).List();
}

Result<AggregateState> AdminService::GetAggregate(const RequestContext& ctx,
                                                  int64_t id) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-aggregates:show"));
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(AggregatesProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<AggregateState> a,
                            AggregatesView(reader.get()).Get(id));
  if (!a)
    return Status::NotFound("Aggregate " + std::to_string(id) + " could not be found.");
  return *a;
}

namespace {

void FoldAggregate(AggregateState& s, const Envelope& env, const Event& e) {
  ApplyAggregateEvent(s, env, e);
}
StreamVersion AggregateVersion(const AggregateState& s) { return s.version; }

Status NameExists(const std::string& name) {
  return Status::Conflict("Aggregate " + name + " already exists.");
}

// Python's repr of a list of strings: ['az1', 'az2'].
std::string PythonList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", '" : "'") + items[i] + "'";
  return out + "]";
}

// Nova's is_safe_to_update_az: `hosts` may not already be in another zone.
// Empty if they are not; else the reason.
std::string ZoneConflict(const std::vector<AggregateState>& all, int64_t self,
                         const std::vector<HostName>& hosts, const std::string& zone) {
  std::vector<std::string> conflicting;
  for (const AggregateState& a : all) {
    if (a.id == self) continue;
    std::optional<std::string> az = a.availability_zone();
    if (!az || *az == zone) continue;
    for (const HostName& h : hosts) {
      if (a.HasHost(h)) {
        conflicting.push_back(*az);
        break;
      }
    }
  }
  if (conflicting.empty()) return "";
  return "One or more hosts already in availability zone(s) " + PythonList(conflicting);
}

}  // namespace

template <typename Decider>
Result<AggregateState> AdminService::ActOnAggregate(const RequestContext& ctx, int64_t id,
                                                    const char* verb, Decider decide) {
  AggregateState initial;
  initial.id = id;
  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome out,
      HandleCommand(*log_, AggregateStream(id), initial, FoldAggregate, AggregateVersion,
                    decide, ctx.Meta(options_.env->Now()),
                    IdempotencyKey(std::string(verb) + "-" + ctx.request_id.str())));
  if (out.appended) {
    CHRONOVA_RETURN_IF_ERROR(
        runner_->WaitFor(out.append.last_seq, options_.wait_timeout_ms));
  }
  AggregateState after = initial;
  CHRONOVA_RETURN_IF_ERROR(
      LoadAggregate(*log_, AggregateStream(id), after, FoldAggregate));
  return after;
}

Result<AggregateState> AdminService::CreateAggregate(
    const RequestContext& ctx, const std::string& name,
    const std::string& availability_zone) {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-aggregates:create"));
  CHRONOVA_RETURN_IF_ERROR(WaitForHead());
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(AggregatesProjection::kName));
  AggregatesView view(reader.get());
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<AggregateState> all, view.List());
  for (const AggregateState& a : all) {
    if (a.name == name) return NameExists(name);
  }
  CHRONOVA_ASSIGN_OR_RETURN(int64_t max_id, view.MaxId());
  const std::string uuid = options_.env->NewUuid();
  // The next id; another API node may take it first (Conflict): try the next.
  for (int64_t id = max_id + 1; id < max_id + 100; ++id) {
    Result<AggregateState> created =
        ActOnAggregate(ctx, id, "aggregate-create", [&](const AggregateState& s) {
          return Decide(s, chronova::CreateAggregate{id, name, availability_zone, uuid});
        });
    if (created.ok() || !created.status().IsConflict()) return created;
  }
  return Status::Unavailable("no free aggregate id");
}

Result<AggregateState> AdminService::UpdateAggregate(
    const RequestContext& ctx, int64_t id, const chronova::UpdateAggregate& update) {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-aggregates:update"));
  CHRONOVA_RETURN_IF_ERROR(WaitForHead());
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<AggregateState> all, Aggregates());
  return ActOnAggregate(
      ctx, id, "aggregate-update",
      [&](const AggregateState& s) -> Result<std::vector<Event>> {
        if (s.exists && update.name && *update.name != s.name) {
          for (const AggregateState& a : all) {
            if (a.id != id && a.name == *update.name) return NameExists(*update.name);
          }
        }
        if (s.exists && update.availability_zone && !update.availability_zone->empty()) {
          std::string reason = ZoneConflict(all, id, s.hosts, *update.availability_zone);
          if (!reason.empty()) {
            return Status::InvalidArgument("Cannot update aggregate " +
                                           std::to_string(id) + ". Reason: " + reason +
                                           ".");
          }
        }
        return Decide(s, update);
      });
}

Result<AggregateState> AdminService::SetAggregateMetadata(
    const RequestContext& ctx, int64_t id, const chronova::SetAggregateMetadata& cmd) {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-aggregates:set_metadata"));
  CHRONOVA_RETURN_IF_ERROR(WaitForHead());
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<AggregateState> all, Aggregates());
  return ActOnAggregate(
      ctx, id, "aggregate-metadata",
      [&](const AggregateState& s) -> Result<std::vector<Event>> {
        auto az = cmd.metadata.find(kAvailabilityZoneKey);
        if (s.exists && az != cmd.metadata.end() && az->second && !az->second->empty()) {
          std::string reason = ZoneConflict(all, id, s.hosts, *az->second);
          if (!reason.empty()) {
            return Status::InvalidArgument("Cannot update metadata of aggregate " +
                                           std::to_string(id) + ". Reason: " + reason +
                                           ".");
          }
        }
        return Decide(s, cmd);
      });
}

Result<AggregateState> AdminService::AddAggregateHost(const RequestContext& ctx,
                                                      int64_t id, const HostName& host) {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-aggregates:add_host"));
  CHRONOVA_RETURN_IF_ERROR(WaitForHead());
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(HostsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<HostState> h,
                            HostsView(reader.get()).Get(host));
  if (!h || !h->exists) {
    return Status::NotFound("Compute host " + host.str() + " could not be found.");
  }
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<AggregateState> all, Aggregates());
  return ActOnAggregate(ctx, id, "aggregate-add-host",
                        [&](const AggregateState& s) -> Result<std::vector<Event>> {
                          std::optional<std::string> zone = s.availability_zone();
                          if (s.exists && !s.HasHost(host) && zone) {
                            std::string reason = ZoneConflict(all, id, {host}, *zone);
                            if (!reason.empty()) {
                              return Status::Conflict("Cannot add host to aggregate " +
                                                      std::to_string(id) +
                                                      ". Reason: " + reason + ".");
                            }
                          }
                          return Decide(s, chronova::AddAggregateHost{host});
                        });
}

Result<AggregateState> AdminService::RemoveAggregateHost(const RequestContext& ctx,
                                                         int64_t id,
                                                         const HostName& host) {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-aggregates:remove_host"));
  Result<AggregateState> r =
      ActOnAggregate(ctx, id, "aggregate-remove-host", [&](const AggregateState& s) {
        return Decide(s, chronova::RemoveAggregateHost{host});
      });
  // Nova answers every "not found" here with the same words.
  if (r.status().IsNotFound()) {
    return Status::NotFound("Cannot remove host " + host.str() + " in aggregate " +
                            std::to_string(id));
  }
  return r;
}

Status AdminService::DeleteAggregate(const RequestContext& ctx, int64_t id) {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-aggregates:delete"));
  return ActOnAggregate(ctx, id, "aggregate-delete",
                        [&](const AggregateState& s) {
                          return Decide(s, chronova::DeleteAggregate{});
                        })
      .status();
}

}  // namespace chronova
