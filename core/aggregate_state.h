// A host aggregate (Nova's os-aggregates), folded from aggregate/<id>: its name,
// metadata (the "availability_zone" key is the aggregate's zone) and hosts.
// The rules that need only one aggregate live here; those that compare
// aggregates (a unique name, one zone per host) are the API service's.
#pragma once

#include <cereal/cereal.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/envelope.h"
#include "core/events.h"
#include "core/status.h"

namespace chronova {

// The metadata key that makes an aggregate an availability zone.
inline constexpr char kAvailabilityZoneKey[] = "availability_zone";

struct AggregateState {
  bool exists = false;  // created and not deleted
  StreamVersion version;
  int64_t id = 0;
  std::string uuid;  // Compute API 2.41
  std::string name;
  std::map<std::string, std::string> metadata;
  std::vector<HostName> hosts;  // in the order they were added, as Nova lists them
  Timestamp created_at;
  Timestamp updated_at;  // 0: never updated (Nova's null)

  bool operator==(const AggregateState&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(exists), CEREAL_NVP(version), CEREAL_NVP(id), CEREAL_NVP(uuid),
       CEREAL_NVP(name), CEREAL_NVP(metadata), CEREAL_NVP(hosts), CEREAL_NVP(created_at),
       CEREAL_NVP(updated_at));
  }
  // The "availability_zone" metadata value; nullopt if the aggregate has none.
  std::optional<std::string> availability_zone() const;
  bool HasHost(const HostName& host) const;
};

StreamId AggregateStream(int64_t id);

// Folds one aggregate event into `state` (others are ignored). Deterministic.
void ApplyAggregateEvent(AggregateState& state, const Envelope& env, const Event& event);

struct CreateAggregate {
  int64_t id = 0;
  std::string name;
  std::string availability_zone;  // empty: none
  std::string uuid;               // a new one (Env::NewUuid)
};
// PUT /os-aggregates/{id}: either or both.
struct UpdateAggregate {
  std::optional<std::string> name;
  std::optional<std::string> availability_zone;  // "" is refused, as in Nova
};
// set_metadata: nullopt values remove the key.
struct SetAggregateMetadata {
  std::map<std::string, std::optional<std::string>> metadata;
};
struct AddAggregateHost {
  HostName host;
};
struct RemoveAggregateHost {
  HostName host;
};
struct DeleteAggregate {};

// Conflict if the stream already exists (the caller picks another id).
Result<std::vector<Event>> Decide(const AggregateState& s, const CreateAggregate& cmd);
// NotFound ("Aggregate <id> could not be found.") for every command below on a
// missing or deleted aggregate; messages are Nova's.
// InvalidArgument for an empty zone name.
Result<std::vector<Event>> Decide(const AggregateState& s, const UpdateAggregate& cmd);
// InvalidArgument for an empty or removed zone name.
Result<std::vector<Event>> Decide(const AggregateState& s,
                                  const SetAggregateMetadata& cmd);
// Conflict ("Aggregate <id> already has host <host>.").
Result<std::vector<Event>> Decide(const AggregateState& s, const AddAggregateHost& cmd);
// NotFound ("Cannot remove host <host> in aggregate <id>") for a host not in it.
Result<std::vector<Event>> Decide(const AggregateState& s,
                                  const RemoveAggregateHost& cmd);
// InvalidArgument while it still has hosts.
Result<std::vector<Event>> Decide(const AggregateState& s, const DeleteAggregate& cmd);

// The availability zone of `host`: the zone of an aggregate holding it, else
// `default_zone` (the host's own, Nova's default_availability_zone "nova").
std::string HostAvailabilityZone(const HostName& host, const std::string& default_zone,
                                 const std::vector<AggregateState>& aggregates);

}  // namespace chronova
