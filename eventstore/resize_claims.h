// The host claims of a resize, appended: each step of the rules in
// core/placement.h (ResizeClaims) decided on a host stream, idempotently (same
// key, same claims), so a retried step is harmless.
#pragma once

#include <string>

#include "core/host_state.h"
#include "core/placement.h"
#include "eventstore/command_handler.h"

namespace chronova {

namespace resize_claims_internal {

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
  if (c.source == c.dest) {
    auto decide = [&](const HostState& s) { return DecideResizeOnOneHost(s, c); };
    return OnHost(log, c.source, tag + "-claim", meta, decide).status();
  }
  auto claim_dest = [&](const HostState& s) -> Result<std::vector<Event>> {
    return Decide(s, ClaimResources{c.instance_id, FlavorClaim(c.new_flavor)});
  };
  CHRONOVA_RETURN_IF_ERROR(
      OnHost(log, c.dest, tag + "-claim-dest", meta, claim_dest).status());
  auto move_source = [&](const HostState& s) -> Result<std::vector<Event>> {
    return DecideResizeSource(s, c);
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
  if (c.source != c.dest) {
    auto release = [&](const HostState& s) {
      return Decide(s, ReleaseResources{c.instance_id});
    };
    CHRONOVA_RETURN_IF_ERROR(
        OnHost(log, c.dest, tag + "-revert-dest", meta, release).status());
  }
  auto restore = [&](const HostState& s) -> Result<std::vector<Event>> {
    return DecideResizeRevertSource(s, c);
  };
  return OnHost(log, c.source, tag + "-revert-source", meta, restore).status();
}

}  // namespace chronova
