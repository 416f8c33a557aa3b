// The hosts read model: capacity, allocation ratios and claimed usage of every
// compute host (what the scheduler filters on and os-hypervisors shows).
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "core/host_state.h"
#include "projections/projection.h"

namespace chronova {

class HostsProjection : public Projection {
 public:
  static constexpr std::string_view kName = "hosts";
  std::string_view Name() const override { return kName; }
  // 2: claims under their own keys; HostState gained hypervisor_hostname.
  // 3: HostState gained disabled and disabled_reason; hosts' ids (id/<host>).
  // 4: HostState gained forced_down (2.11).
  // 5: the id index (by-id/<id>) and the zone index (zone/<zone>/<host>).
  uint32_t Version() const override { return 5; }
  Status Apply(const Envelope& env, const Event& event, ReadModelWriter& w) override;
};

// Queries over the hosts read model; hosts come with their claims. Borrows the
// reader.
class HostsView {
 public:
  explicit HostsView(const ReadModelReader* reader) : reader_(reader) {}
  // nullopt for a host that never registered.
  Result<std::optional<HostState>> Get(const HostName& host) const;
  // Every registered host, in name order.
  Result<std::vector<HostState>> List() const;
  // Nova's integer compute node id of `host`: its 1-based registration order
  // (stable across rebuilds); 0 for a host that never registered.
  Result<int64_t> Id(const HostName& host) const;
  // Calls fn(host) for the registered hosts that report `zone` as theirs
  // (HostState::availability_zone; aggregates may place them in another), in
  // name order, until it returns false.
  Status VisitInZone(std::string_view zone,
                     const std::function<bool(const HostName&)>& fn) const;
  // The host whose id is `id`, if one registered with it.
  Result<std::optional<HostName>> NameById(int64_t id) const;
  // Calls fn(id, name) for the hosts after id `after` (0: from the first), in
  // id order, until it returns false: a page of hosts reads only its hosts.
  Status VisitById(int64_t after,
                   const std::function<bool(int64_t, const HostName&)>& fn) const;

 private:
  const ReadModelReader* reader_;
};

}  // namespace chronova
