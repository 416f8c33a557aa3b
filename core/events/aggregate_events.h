// The events of aggregate/<id> streams (docs/events.md). Adding one: a struct
// here with a frozen kType and kSchema, and its name in AggregateEvents below;
// core/events.h gathers every list into Event.
#pragma once

#include <cereal/cereal.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/events/event_list.h"
#include "core/types.h"

namespace chronova {

// Host aggregates (os-aggregates). The id is Nova's integer aggregate id.

// An admin created the aggregate; a non-empty availability_zone is its
// "availability_zone" metadata key, as in Nova.
// Schema 2 adds the uuid (Compute API 2.41); schema 1's read as
// DerivedAggregateUuid(aggregate_id).
struct AggregateCreated {
  static constexpr const char* kType = "aggregate.created";
  static constexpr uint32_t kSchema = 2;
  int64_t aggregate_id = 0;
  std::string name;
  std::string availability_zone;  // empty: none
  std::string uuid;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(aggregate_id), CEREAL_NVP(name), CEREAL_NVP(availability_zone),
       CEREAL_NVP(uuid));
  }
};

// The uuid of an aggregate created before aggregate.created recorded one: unique
// because aggregate ids are never reused, "00000000-0000-4000-8000-<id in 12
// hex digits>".
std::string DerivedAggregateUuid(int64_t aggregate_id);

// An admin renamed the aggregate and/or changed its availability zone (PUT);
// both fields carry the values after the update.
struct AggregateUpdated {
  static constexpr const char* kType = "aggregate.updated";
  static constexpr uint32_t kSchema = 1;
  std::string name;
  std::string availability_zone;  // empty: none
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(name), CEREAL_NVP(availability_zone));
  }
};

// set_metadata: keys set to a value, and keys removed (null in the request).
struct AggregateMetadataSet {
  static constexpr const char* kType = "aggregate.metadata_set";
  static constexpr uint32_t kSchema = 1;
  std::map<std::string, std::string> set;
  std::vector<std::string> removed;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(set), CEREAL_NVP(removed));
  }
};

struct AggregateHostAdded {
  static constexpr const char* kType = "aggregate.host_added";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host));
  }
};

struct AggregateHostRemoved {
  static constexpr const char* kType = "aggregate.host_removed";
  static constexpr uint32_t kSchema = 1;
  HostName host;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host));
  }
};

// The (empty) aggregate was deleted.
struct AggregateDeleted {
  static constexpr const char* kType = "aggregate.deleted";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// Every event of aggregate/<id> streams.
using AggregateEvents =
    EventList<AggregateCreated, AggregateUpdated, AggregateMetadataSet,
              AggregateHostAdded, AggregateHostRemoved, AggregateDeleted>;

}  // namespace chronova
