// Where a server may go: the compute hosts, their aggregates and zones, as
// the create, move and unshelve commands check them (service_internal.h).
#include <algorithm>
#include <optional>

#include "api/service/service_internal.h"
#include "projections/aggregates_projection.h"
#include "projections/hosts_projection.h"

namespace chronova {

Result<HostsAndAggregates> LoadHostsAndAggregates(const ProjectionStore& store) {
  HostsAndAggregates out;
  CHRONOVA_ASSIGN_OR_RETURN(auto hosts_reader, store.Reader(HostsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(out.hosts, HostsView(hosts_reader.get()).List());
  CHRONOVA_ASSIGN_OR_RETURN(auto aggregates_reader,
                            store.Reader(AggregatesProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(out.aggregates,
                            AggregatesView(aggregates_reader.get()).List());
  return out;
}

Status CheckZoneAvailable(const ProjectionStore& store, const std::string& zone) {
  // A host is in the zone of the first zoned aggregate that holds it, else in
  // the zone it reports. Read are the aggregates (few), then the hosts that
  // could be in `zone` until one is: not every host of the cloud.
  CHRONOVA_ASSIGN_OR_RETURN(auto aggregates_reader,
                            store.Reader(AggregatesProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<AggregateState> aggregates,
                            AggregatesView(aggregates_reader.get()).List());
  CHRONOVA_ASSIGN_OR_RETURN(auto hosts_reader, store.Reader(HostsProjection::kName));
  const HostsView hosts(hosts_reader.get());
  bool known = false;
  for (const AggregateState& a : aggregates) {
    if (known || !a.exists || a.availability_zone() != zone) continue;
    for (const HostName& h : a.hosts) {
      if (HostAvailabilityZone(h, "", aggregates) != zone) continue;
      CHRONOVA_ASSIGN_OR_RETURN(std::optional<HostState> state, hosts.Get(h));
      if (state && state->exists) {
        known = true;
        break;
      }
    }
  }
  if (!known) {
    CHRONOVA_RETURN_IF_ERROR(hosts.VisitInZone(zone, [&](const HostName& h) {
      known = HostAvailabilityZone(h, zone, aggregates) == zone;
      return !known;
    }));
  }
  if (known) return Status::Ok();
  return Status::InvalidArgument("The requested availability zone is not available");
}

Status CheckRequestedHost(const ProjectionStore& store, const std::string& host,
                          const std::string& hypervisor_hostname) {
  auto matches = [&](const HostState& h) {
    return h.exists && (host.empty() || h.name.str() == host) &&
           (hypervisor_hostname.empty() || h.hypervisor_hostname == hypervisor_hostname);
  };
  bool known = false;
  if (!host.empty()) {  // that host's record only
    CHRONOVA_ASSIGN_OR_RETURN(auto hosts_reader, store.Reader(HostsProjection::kName));
    CHRONOVA_ASSIGN_OR_RETURN(std::optional<HostState> h,
                              HostsView(hosts_reader.get()).Get(HostName(host)));
    known = h && matches(*h);
  } else {
    CHRONOVA_ASSIGN_OR_RETURN(HostsAndAggregates loaded, LoadHostsAndAggregates(store));
    known = std::any_of(loaded.hosts.begin(), loaded.hosts.end(), matches);
  }
  if (known) return Status::Ok();
  return Status::InvalidArgument("Compute host " +
                                 (host.empty() ? hypervisor_hostname : host) +
                                 " could not be found.");
}

}  // namespace chronova
