// ComputeService's moves (resize, cold migrate, confirmResize, revertResize):
// the API claims the destination with the scheduler's filters
// (core/placement.h) and moves the source claim to the migration
// (eventstore/resize_claims.h) before it records the request; the hosts carry
// it out (agents/compute/compute_agent.cc).
#include <algorithm>

#include "api/auth/policy.h"
#include "api/service/compute_service.h"
#include "api/service/service_internal.h"
#include "core/instance_decider.h"
#include "core/placement.h"
#include "eventstore/resize_claims.h"

namespace chronova {

Status ComputeService::ResizeServer(const RequestContext& ctx, const InstanceId& id,
                                    const std::string& flavor_ref,
                                    std::optional<bool> auto_disk_config,
                                    bool confirm_when_finished) {
  CHRONOVA_ASSIGN_OR_RETURN(InstanceState s, LoadInstance(*log_, id, Seq(UINT64_MAX)));
  CHRONOVA_RETURN_IF_ERROR(CanSee(ctx, s));
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:servers:resize",
                                     PolicyTarget{s.project_id, UserId()}));
  CHRONOVA_ASSIGN_OR_RETURN(auto flavors_reader,
                            store_->Reader(FlavorsProjection::kName));
  // The id, or the last segment of a URL naming it.
  const std::string flavor_id = flavor_ref.substr(flavor_ref.find_last_of('/') + 1);
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<FlavorRecord> flavor,
                            FlavorsView(flavors_reader.get()).Get(FlavorId(flavor_id)));
  if (!flavor || !(ctx.IsAdmin() || flavor->VisibleTo(ctx.project)))
    return Status::InvalidArgument("Flavor " + flavor_id + " could not be found.");
  return MoveServer(ctx, s, flavor->spec, "resize", HostName(), auto_disk_config,
                    confirm_when_finished);
}

Status ComputeService::MigrateServer(const RequestContext& ctx, const InstanceId& id,
                                     const std::string& host) {
  CHRONOVA_ASSIGN_OR_RETURN(InstanceState s, LoadInstance(*log_, id, Seq(UINT64_MAX)));
  CHRONOVA_RETURN_IF_ERROR(CanSee(ctx, s));
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-migrate-server:migrate",
                                     PolicyTarget{s.project_id, UserId()}));
  // The lock and the state before the host, as Nova's check_instance_lock and
  // check_instance_state run before the host lookup.
  InstanceResizeRequested probe;
  probe.migration_id = "probe";  // checked, never appended
  probe.flavor = s.flavor;
  probe.source_host = s.host;
  probe.migration_type = "migration";
  CHRONOVA_RETURN_IF_ERROR(Decide(s, ResizeInstance{probe, ctx.IsAdmin()}).status());
  if (!host.empty()) {
    CHRONOVA_ASSIGN_OR_RETURN(HostsAndAggregates loaded, LoadHostsAndAggregates(*store_));
    if (std::none_of(loaded.hosts.begin(), loaded.hosts.end(),
                     [&](const HostState& h) { return h.name.str() == host; })) {
      return Status::InvalidArgument("Compute host " + host + " could not be found.");
    }
  }
  return MoveServer(ctx, s, s.flavor, "migration", HostName(host), std::nullopt);
}

Status ComputeService::MoveServer(const RequestContext& ctx, const InstanceState& s,
                                  const FlavorSpec& flavor,
                                  const std::string& migration_type,
                                  const HostName& only_host,
                                  std::optional<bool> auto_disk_config, bool confirm) {
  const InstanceId id = s.id;
  const bool migrate = migration_type == "migration";
  InstanceResizeRequested request;
  request.migration_id = options_.env->NewUuid();
  request.flavor = flavor;
  request.source_host = s.host;
  request.migration_type = migration_type;
  request.confirm_when_finished = confirm;
  // The state, the lock, the flavor and the disk first (nothing claimed yet);
  // a migrate to the server's own host is refused here.
  if (migrate && only_host == s.host) request.dest_host = s.host;
  CHRONOVA_RETURN_IF_ERROR(Decide(s, ResizeInstance{request, ctx.IsAdmin()}).status());
  CHRONOVA_RETURN_IF_ERROR(CheckResizeQuota(s, flavor));

  // The scheduler's placement (core/placement.h) over the hosts read model:
  // up, enabled, in the server's zone, room for the new flavor (on the
  // source, the server's own claim moves to the migration, so it still counts).
  CHRONOVA_ASSIGN_OR_RETURN(HostsAndAggregates loaded, LoadHostsAndAggregates(*store_));
  std::vector<PlacementHost> candidates;
  for (const HostState& h : loaded.hosts) {
    candidates.push_back(
        PlacementHost{&h, !options_.host_up || options_.host_up(h.name)});
  }
  PlacementRequest placement;
  placement.claim = FlavorClaim(flavor);
  placement.availability_zone = s.availability_zone;
  std::vector<HostName> ranked = RankHosts(candidates, loaded.aggregates, placement);
  // A migrate leaves the host (the libvirt driver cannot migrate to its own);
  // a requested host (2.56) is the only one.
  std::erase_if(ranked, [&](const HostName& h) {
    return (migrate && h == s.host) || (!only_host.empty() && h != only_host);
  });
  // A member of a group keeps to its hard policy wherever it moves (Nova's
  // ServerGroupAffinityFilter/AntiAffinityFilter run for a move as for a boot).
  CHRONOVA_ASSIGN_OR_RETURN(auto groups_reader,
                            store_->Reader(ServerGroupsProjection::kName));
  ServerGroupsView groups(groups_reader.get());
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<std::string> group_id, groups.GroupOf(id));
  if (group_id) {
    CHRONOVA_ASSIGN_OR_RETURN(std::optional<ServerGroup> group, groups.Get(*group_id));
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<InstanceId> members, groups.Members(*group_id));
    auto live = [&](const InstanceId& m) {
      return std::find(members.begin(), members.end(), m) != members.end();
    };
    if (group) {
      std::erase_if(ranked,
                    [&](const HostName& h) { return !group->Allows(h, id, live); });
    }
  }
  const EventMeta meta = ctx.Meta(options_.env->Now());
  ResizeClaims claims{
      id, InstanceId(request.migration_id), s.host, HostName(), s.flavor, flavor};
  Status claimed = Status::InvalidArgument(kNoValidHostMessage);
  for (const HostName& host : ranked) {
    claims.dest = host;
    claimed = ClaimResize(*log_, claims, meta);
    if (claimed.ok() || !claimed.IsConflict()) break;
    claimed = Status::InvalidArgument(kNoValidHostMessage);
  }
  CHRONOVA_RETURN_IF_ERROR(claimed);
  request.dest_host = claims.dest;
  Status requested = ActOnServer(
      ctx, id, RequestKey(ctx, migrate ? "migrate" : "resize"),
      ServerDecider([&](const InstanceState& now) -> Result<std::vector<Event>> {
        CHRONOVA_ASSIGN_OR_RETURN(std::vector<Event> events,
                                  Decide(now, ResizeInstance{request, ctx.IsAdmin()}));
        if (auto_disk_config) {
          events.push_back(InstanceDiskConfigSet{*auto_disk_config});
        }
        return events;
      }));
  if (!requested.ok()) {
    // Recorded after all (the log's answer was lost): the resize goes on.
    auto now = LoadInstance(*log_, id);
    if (now.ok() && now->migration_id == request.migration_id) return Status::Ok();
    // The server changed in between, or the log refused: its claims go back
    // as they were (should that fail too, the conductor gives back a claim no
    // resize names).
    Status undone = RevertResizeClaims(*log_, claims, meta);
    if (!undone.ok()) {
      options_.env->Warn(
          {.role = "api", .request_id = ctx.request_id.str(), .instance_id = id.str()},
          "resize claims of " + id.str() + " left: " + undone.ToString());
    }
  }
  return requested;
}

}  // namespace chronova
