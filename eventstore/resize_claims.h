// The host claims of a resize, as Placement's allocations in Nova: while a
// resize runs (and until it is confirmed or reverted) the source host's claim
// for the old flavor is held by the migration (its id as the consumer), and the
// instance holds the new flavor on the destination, which may be the same host.
// Confirm releases the migration's claim; revert (or a failed resize) gives the
// instance its old claim back on the source. Each step appends to host streams
// only, idempotently (same key, same claims), so a retried step is harmless.
#pragma once

#include <string>

#include "core/host_state.h"
#include "eventstore/command_handler.h"

namespace chronova {

struct ResizeClaims {
  InstanceId instance_id;
  InstanceId migration_id;  // the migration's uuid as a claim consumer
  HostName source;
  HostName dest;
  FlavorSpec old_flavor;
  FlavorSpec new_flavor;
};

namespace resize_claims_internal {

// `events` folded into a copy of `s` (to check a claim after a release).
inline HostState After(HostState s, const std::vector<Event>& events) {
  for (const Event& e : events) {
    Envelope env;
    env.version = s.version;
    ApplyHostEvent(s, env, e);
  }
  return s;
}

inline Result<CommandOutcome> OnHost(
    EventLog& log, const HostName& host, const std::string& key, const EventMeta& meta,
    std::function<Result<std::vector<Event>>(const HostState&)> decide) {
  HostState initial;
  initial.name = host;
  return HandleCommand(log, HostStream(host), initial, ApplyHostEvent, HostVersion,
                       decide, meta, IdempotencyKey(key));
}

}  // namespace resize_claims_internal

// Moves the claims for a resize: the new flavor is claimed for the instance on
// the destination (Conflict, naming the resource, if it does not fit there),
// the old one passes to the migration on the source. Nothing is left claimed
// if this fails.
inline Status ClaimResize(EventLog& log, const ResizeClaims& c, const EventMeta& meta) {
  using namespace resize_claims_internal;
  const std::string tag = "resize-" + c.migration_id.str();
  auto to_migration = [&](const HostState& s) {
    std::vector<Event> events;
    if (s.claims.count(c.instance_id))
      events.push_back(HostResourcesReleased{c.instance_id});
    Claim o = FlavorClaim(c.old_flavor);
    events.push_back(
        HostResourcesClaimed{c.migration_id, o.vcpus, o.memory_mb, o.disk_gb});
    return events;
  };
  if (c.source == c.dest) {
    auto decide = [&](const HostState& s) -> Result<std::vector<Event>> {
      if (s.claims.count(c.migration_id)) return std::vector<Event>{};  // done before
      std::vector<Event> events = to_migration(s);
      CHRONOVA_ASSIGN_OR_RETURN(
          std::vector<Event> claim,
          Decide(After(s, events),
                 ClaimResources{c.instance_id, FlavorClaim(c.new_flavor)}));
      events.insert(events.end(), claim.begin(), claim.end());
      return events;
    };
    return OnHost(log, c.source, tag + "-claim", meta, decide).status();
  }
  auto claim_dest = [&](const HostState& s) -> Result<std::vector<Event>> {
    return Decide(s, ClaimResources{c.instance_id, FlavorClaim(c.new_flavor)});
  };
  CHRONOVA_RETURN_IF_ERROR(
      OnHost(log, c.dest, tag + "-claim-dest", meta, claim_dest).status());
  auto move_source = [&](const HostState& s) -> Result<std::vector<Event>> {
    if (s.claims.count(c.migration_id)) return std::vector<Event>{};
    return to_migration(s);
  };
  Status moved = OnHost(log, c.source, tag + "-claim-source", meta, move_source).status();
  if (!moved.ok()) {
    auto release = [&](const HostState& s) {
      return Decide(s, ReleaseResources{c.instance_id});
    };
    (void)OnHost(log, c.dest, tag + "-unclaim-dest", meta, release);
  }
  return moved;
}

// A confirmed resize: the migration's claim on the source goes.
inline Status ConfirmResizeClaims(EventLog& log, const ResizeClaims& c,
                                  const EventMeta& meta) {
  using namespace resize_claims_internal;
  auto release = [&](const HostState& s) {
    return Decide(s, ReleaseResources{c.migration_id});
  };
  return OnHost(log, c.source, "resize-" + c.migration_id.str() + "-confirm", meta,
                release)
      .status();
}

// A reverted (or failed) resize: the instance's claim on the destination goes
// and it holds its old flavor on the source again, in the migration's place.
inline Status RevertResizeClaims(EventLog& log, const ResizeClaims& c,
                                 const EventMeta& meta) {
  using namespace resize_claims_internal;
  const std::string tag = "resize-" + c.migration_id.str();
  auto back = [&](const HostState& s, bool release_instance) {
    std::vector<Event> events;
    if (!s.claims.count(c.migration_id)) return events;  // done before
    if (release_instance && s.claims.count(c.instance_id))
      events.push_back(HostResourcesReleased{c.instance_id});
    events.push_back(HostResourcesReleased{c.migration_id});
    Claim o = FlavorClaim(c.old_flavor);
    events.push_back(
        HostResourcesClaimed{c.instance_id, o.vcpus, o.memory_mb, o.disk_gb});
    return events;
  };
  if (c.source != c.dest) {
    auto release = [&](const HostState& s) {
      return Decide(s, ReleaseResources{c.instance_id});
    };
    CHRONOVA_RETURN_IF_ERROR(
        OnHost(log, c.dest, tag + "-revert-dest", meta, release).status());
  }
  const bool same = c.source == c.dest;
  auto restore = [&](const HostState& s) -> Result<std::vector<Event>> {
    return back(s, same);
  };
  return OnHost(log, c.source, tag + "-revert-source", meta, restore).status();
}

}  // namespace chronova
