// Placement: Nova's filter scheduler as one pure function — which compute
// hosts may take a claim, best first. The scheduler (agents/scheduler.cc)
// places new servers with it and the Compute API's resize
// (api/service/compute_service.cc) picks a destination with it, so both apply
// the same filters, the host-up check included. The claim itself is then
// decided on the host's stream (ClaimResources, core/host_state.h), which
// re-checks the room: placement only ranks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/aggregate_state.h"
#include "core/host_state.h"

namespace chronova {

// One compute host as placement sees it.
struct PlacementHost {
  const HostState* state = nullptr;
  // ComputeFilter: its service reported within service_down_time.
  bool up = true;
  // std::hash of the host's name, kept by the caller (RankHosts hashes the
  // name itself when 0).
  uint64_t name_hash = 0;
};

struct PlacementRequest {
  Claim claim;                    // the flavor's vCPUs, RAM and disk
  std::string availability_zone;  // empty: any zone
  // RAMWeigher: most free RAM first (spread, Nova's default), or least (pack).
  bool spread = true;
  size_t limit = SIZE_MAX;  // at most this many hosts
  // Orders hosts of equal weight: by a hash of the name mixed with this, so
  // that concurrent placements (other seeds: the instance's id) prefer
  // different hosts among equals instead of all claiming the first by name
  // (Nova's shuffle_best_same_weighed_hosts, deterministic). 0: by name.
  uint64_t tie_break = 0;
};

// Whether `host` passes the filters: ComputeFilter (exists, up, enabled),
// AvailabilityZoneFilter (an aggregate's zone overrides the host's own;
// `aggregates` may include ones without a zone) and the RAM, core and disk
// filters with allocation ratios (HostState::Fits).
bool PassesFilters(const PlacementHost& host,
                   const std::vector<AggregateState>& aggregates,
                   const PlacementRequest& request);

// The hosts that pass the filters, weighed by the RAMWeigher (ties by
// request.tie_break, then name),
// at most request.limit of them.
std::vector<HostName> RankHosts(const std::vector<PlacementHost>& hosts,
                                const std::vector<AggregateState>& aggregates,
                                const PlacementRequest& request);

// ---- the claims of a resize ---------------------------------------------------
//
// As Placement's allocations in Nova: while a resize runs (and until it is
// confirmed or reverted) the source host's claim for the old flavor is held by
// the migration (its id as the consumer), and the instance holds the new flavor
// on the destination, which may be the same host. Confirm releases the
// migration's claim; revert (or a failed resize) gives the instance its old
// claim back on the source. Each rule below is one host stream's decision; the
// steps are appended by eventstore/resize_claims.h.
struct ResizeClaims {
  InstanceId instance_id;
  InstanceId migration_id;  // the migration's uuid as a claim consumer
  HostName source;
  HostName dest;
  FlavorSpec old_flavor;
  FlavorSpec new_flavor;
};

// The source host (not also the destination): the instance's claim passes to
// the migration. Nothing if the migration holds it already (done before).
std::vector<Event> DecideResizeSource(const HostState& source, const ResizeClaims& c);
// A resize onto its own host: the instance's claim passes to the migration
// and the instance claims the new flavor beside it (Conflict, naming the
// resource, if it does not fit). Nothing if done before.
Result<std::vector<Event>> DecideResizeOnOneHost(const HostState& host,
                                                 const ResizeClaims& c);
// A revert on the source: the migration's claim goes back to the instance
// (and, on one host, the instance's new-flavor claim goes). Nothing if done
// before.
std::vector<Event> DecideResizeRevertSource(const HostState& source,
                                            const ResizeClaims& c);

}  // namespace chronova
