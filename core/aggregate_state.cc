#include "core/aggregate_state.h"

#include <algorithm>
#include <cstdio>
#include <type_traits>

namespace chronova {
namespace {

Status NotFound(const AggregateState& s) {
  return Status::NotFound("Aggregate " + std::to_string(s.id) + " could not be found.");
}

Status EmptyZone(const AggregateState& s) {
  return Status::InvalidArgument("Cannot update aggregate " + std::to_string(s.id) +
                                 ". Reason: Aggregate " + s.name +
                                 " does not support empty named availability zone.");
}

}  // namespace

std::optional<std::string> AggregateState::availability_zone() const {
  auto it = metadata.find(kAvailabilityZoneKey);
  if (it == metadata.end()) return std::nullopt;
  return it->second;
}

bool AggregateState::HasHost(const HostName& host) const {
  return std::find(hosts.begin(), hosts.end(), host) != hosts.end();
}

std::string DerivedAggregateUuid(int64_t aggregate_id) {
  char hex[13];
  std::snprintf(hex, sizeof(hex), "%012llx",
                static_cast<unsigned long long>(aggregate_id) & 0xFFFFFFFFFFFFull);
  return std::string("00000000-0000-4000-8000-") + hex;
}

StreamId AggregateStream(int64_t id) {
  return StreamId("aggregate/" + std::to_string(id));
}

void ApplyAggregateEvent(AggregateState& s, const Envelope& env, const Event& event) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, AggregateCreated>) {
          s.exists = true;
          s.id = e.aggregate_id;
          s.uuid = e.uuid;
          s.name = e.name;
          if (!e.availability_zone.empty()) {
            s.metadata[kAvailabilityZoneKey] = e.availability_zone;
          }
          s.created_at = env.meta.time;
        } else if constexpr (std::is_same_v<T, AggregateUpdated>) {
          s.name = e.name;
          if (!e.availability_zone.empty()) {
            s.metadata[kAvailabilityZoneKey] = e.availability_zone;
          }
          s.updated_at = env.meta.time;
        } else if constexpr (std::is_same_v<T, AggregateMetadataSet>) {
          for (const auto& [k, v] : e.set) s.metadata[k] = v;
          for (const std::string& k : e.removed) s.metadata.erase(k);
          s.updated_at = env.meta.time;
        } else if constexpr (std::is_same_v<T, AggregateHostAdded>) {
          if (!s.HasHost(e.host)) s.hosts.push_back(e.host);
        } else if constexpr (std::is_same_v<T, AggregateHostRemoved>) {
          s.hosts.erase(std::remove(s.hosts.begin(), s.hosts.end(), e.host),
                        s.hosts.end());
        } else if constexpr (std::is_same_v<T, AggregateDeleted>) {
          s.exists = false;
        } else {
          return;  // not an aggregate event
        }
        s.version = env.version;
      },
      event);
}

Result<std::vector<Event>> Decide(const AggregateState& s, const CreateAggregate& cmd) {
  if (s.version.value() != 0) {
    return Status::Conflict("aggregate " + std::to_string(cmd.id) + " exists");
  }
  return std::vector<Event>{
      AggregateCreated{cmd.id, cmd.name, cmd.availability_zone, cmd.uuid}};
}

Result<std::vector<Event>> Decide(const AggregateState& s, const UpdateAggregate& cmd) {
  if (!s.exists) return NotFound(s);
  if (cmd.availability_zone && cmd.availability_zone->empty()) return EmptyZone(s);
  AggregateUpdated e{cmd.name.value_or(s.name),
                     cmd.availability_zone.value_or(s.availability_zone().value_or(""))};
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const AggregateState& s,
                                  const SetAggregateMetadata& cmd) {
  if (!s.exists) return NotFound(s);
  AggregateMetadataSet e;
  for (const auto& [k, v] : cmd.metadata) {
    if (k == kAvailabilityZoneKey && (!v || v->empty())) return EmptyZone(s);
    if (v) {
      e.set[k] = *v;
    } else {
      e.removed.push_back(k);
    }
  }
  return std::vector<Event>{std::move(e)};
}

Result<std::vector<Event>> Decide(const AggregateState& s, const AddAggregateHost& cmd) {
  if (!s.exists) return NotFound(s);
  if (s.HasHost(cmd.host)) {
    return Status::Conflict("Aggregate " + std::to_string(s.id) + " already has host " +
                            cmd.host.str() + ".");
  }
  return std::vector<Event>{AggregateHostAdded{cmd.host}};
}

Result<std::vector<Event>> Decide(const AggregateState& s,
                                  const RemoveAggregateHost& cmd) {
  if (!s.exists) return NotFound(s);
  if (!s.HasHost(cmd.host)) {
    return Status::NotFound("Cannot remove host " + cmd.host.str() + " in aggregate " +
                            std::to_string(s.id));
  }
  return std::vector<Event>{AggregateHostRemoved{cmd.host}};
}

Result<std::vector<Event>> Decide(const AggregateState& s, const DeleteAggregate&) {
  if (!s.exists) return NotFound(s);
  if (!s.hosts.empty()) {
    return Status::InvalidArgument("Cannot remove host from aggregate " +
                                   std::to_string(s.id) +
                                   ". Reason: Host aggregate is not empty.");
  }
  return std::vector<Event>{AggregateDeleted{}};
}

std::string HostAvailabilityZone(const HostName& host, const std::string& default_zone,
                                 const std::vector<AggregateState>& aggregates) {
  // Nova joins the zones of every aggregate holding the host; the API keeps a
  // host in one zone, so the first (lowest id) is the zone.
  for (const AggregateState& a : aggregates) {
    if (!a.exists || !a.HasHost(host)) continue;
    if (auto az = a.availability_zone()) return *az;
  }
  return default_zone;
}

}  // namespace chronova
