// What the ComputeService's source files share and nothing else uses.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/aggregate_state.h"
#include "core/events.h"
#include "core/host_state.h"
#include "core/instance_state.h"
#include "core/request_context.h"
#include "eventstore/event_log.h"
#include "projections/projection_store.h"

namespace chronova {

// Every compute host and every aggregate: where a server may go, and in which
// zone each host is (its aggregate's, as the scheduler sees it).
struct HostsAndAggregates {
  std::vector<HostState> hosts;
  std::vector<AggregateState> aggregates;
};
Result<HostsAndAggregates> LoadHostsAndAggregates(const ProjectionStore& store);

// OK if some compute host is in availability zone `zone` (its aggregate's,
// else its own); else Nova's 400 "The requested availability zone is not
// available".
Status CheckZoneAvailable(const ProjectionStore& store, const std::string& zone);

// 2.74's requested host and/or compute node: OK if a registered host matches
// both (only that host is read when one is named); else InvalidArgument
// "Compute host <name> could not be found."
Status CheckRequestedHost(const ProjectionStore& store, const std::string& host,
                          const std::string& hypervisor_hostname);

// The idempotency key of `verb` done by this request: a retried request (same
// request id) appends nothing twice.
IdempotencyKey RequestKey(const RequestContext& ctx, const char* verb);

// Nova's NoValidHost (the scheduler's kNoValidHost).
inline constexpr const char* kNoValidHostMessage =
    "No valid host was found. There are not enough hosts available.";

}  // namespace chronova
