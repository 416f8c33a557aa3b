#include "core/placement.h"

#include <algorithm>
#include <functional>
#include <utility>

namespace chronova {

bool PassesFilters(const PlacementHost& host,
                   const std::vector<AggregateState>& aggregates,
                   const PlacementRequest& request) {
  const HostState& h = *host.state;
  if (!h.exists || !host.up || h.disabled || h.forced_down) return false;
  if (!request.availability_zone.empty() &&
      request.availability_zone !=
          HostAvailabilityZone(h.name, h.availability_zone, aggregates)) {
    return false;
  }
  return h.Fits(request.claim);
}

namespace {

// A 64-bit finalizer (splitmix64's): every input bit moves every output bit.
uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

std::vector<HostName> RankHosts(const std::vector<PlacementHost>& hosts,
                                const std::vector<AggregateState>& aggregates,
                                const PlacementRequest& request) {
  struct Weighed {
    int64_t weight;
    uint64_t tie;
    const HostName* name;
  };
  std::vector<Weighed> weighed;
  weighed.reserve(hosts.size());
  for (const PlacementHost& host : hosts) {
    if (!PassesFilters(host, aggregates, request)) continue;
    const HostState& h = *host.state;
    const int64_t free_ram = h.MemoryLimitMb() - h.used.memory_mb;
    uint64_t tie = 0;
    if (request.tie_break != 0) {
      const uint64_t name_hash =
          host.name_hash != 0 ? host.name_hash : std::hash<std::string>()(h.name.str());
      tie = Mix64(name_hash ^ request.tie_break);
    }
    weighed.push_back({request.spread ? free_ram : -free_ram, tie, &h.name});
  }
  const size_t top = std::min(request.limit, weighed.size());
  std::partial_sort(weighed.begin(), weighed.begin() + static_cast<long>(top),
                    weighed.end(), [](const Weighed& a, const Weighed& b) {
                      if (a.weight != b.weight) return a.weight > b.weight;
                      if (a.tie != b.tie) return a.tie < b.tie;
                      return *a.name < *b.name;
                    });
  std::vector<HostName> out;
  out.reserve(top);
  for (size_t i = 0; i < top; ++i) out.push_back(*weighed[i].name);
  return out;
}

namespace {

// `events` folded into a copy of `s` (to check a claim after a release).
HostState After(HostState s, const std::vector<Event>& events) {
  for (const Event& e : events) {
    Envelope env;
    env.version = s.version;
    ApplyHostEvent(s, env, e);
  }
  return s;
}

}  // namespace

std::vector<Event> DecideResizeSource(const HostState& source, const ResizeClaims& c) {
  std::vector<Event> events;
  if (source.claims.count(c.migration_id)) return events;  // done before
  if (source.claims.count(c.instance_id))
    events.push_back(HostResourcesReleased{c.instance_id});
  Claim o = FlavorClaim(c.old_flavor);
  events.push_back(HostResourcesClaimed{c.migration_id, o.vcpus, o.memory_mb, o.disk_gb});
  return events;
}

Result<std::vector<Event>> DecideResizeOnOneHost(const HostState& host,
                                                 const ResizeClaims& c) {
  if (host.claims.count(c.migration_id)) return std::vector<Event>{};  // done before
  std::vector<Event> events = DecideResizeSource(host, c);
  CHRONOVA_ASSIGN_OR_RETURN(
      std::vector<Event> claim,
      Decide(After(host, events),
             ClaimResources{c.instance_id, FlavorClaim(c.new_flavor)}));
  events.insert(events.end(), claim.begin(), claim.end());
  return events;
}

std::vector<Event> DecideResizeRevertSource(const HostState& source,
                                            const ResizeClaims& c) {
  std::vector<Event> events;
  if (!source.claims.count(c.migration_id)) return events;  // done before
  if (c.source == c.dest && source.claims.count(c.instance_id))
    events.push_back(HostResourcesReleased{c.instance_id});
  events.push_back(HostResourcesReleased{c.migration_id});
  Claim o = FlavorClaim(c.old_flavor);
  events.push_back(HostResourcesClaimed{c.instance_id, o.vcpus, o.memory_mb, o.disk_gb});
  return events;
}

}  // namespace chronova
