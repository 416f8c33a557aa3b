// The events of flavor/<id> streams (docs/events.md). Adding one: a struct
// here with a frozen kType and kSchema, and its name in FlavorEvents below;
// core/events.h gathers every list into Event.
#pragma once

#include <cereal/cereal.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/events/event_list.h"
#include "core/events/flavor_spec.h"
#include "core/types.h"

namespace chronova {

// An admin (or the all-in-one's seed) created a flavor.
struct FlavorCreated {
  static constexpr const char* kType = "flavor.created";
  static constexpr uint32_t kSchema = 1;
  FlavorSpec flavor;
  bool is_public = true;
  std::string description;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(flavor), CEREAL_NVP(is_public), CEREAL_NVP(description));
  }
};

// The flavor was deleted; servers booted from it keep their copy.
struct FlavorDeleted {
  static constexpr const char* kType = "flavor.deleted";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// Projects that may see and boot a private flavor (os-flavor-access).
struct FlavorAccessAdded {
  static constexpr const char* kType = "flavor.access_added";
  static constexpr uint32_t kSchema = 1;
  ProjectId project_id;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(project_id));
  }
};

struct FlavorAccessRemoved {
  static constexpr const char* kType = "flavor.access_removed";
  static constexpr uint32_t kSchema = 1;
  ProjectId project_id;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(project_id));
  }
};

// Extra specs created or updated (merged into the flavor's; other keys stay).
struct FlavorExtraSpecsSet {
  static constexpr const char* kType = "flavor.extra_specs_set";
  static constexpr uint32_t kSchema = 1;
  std::map<std::string, std::string> extra_specs;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(extra_specs));
  }
};

struct FlavorExtraSpecDeleted {
  static constexpr const char* kType = "flavor.extra_spec_deleted";
  static constexpr uint32_t kSchema = 1;
  std::string key;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(key));
  }
};

// An admin changed the flavor's description (PUT /flavors/{id}, 2.55): the
// only thing about a flavor that changes in place.
struct FlavorDescriptionSet {
  static constexpr const char* kType = "flavor.description_set";
  static constexpr uint32_t kSchema = 1;
  std::string description;  // empty: none (null)
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(description));
  }
};

// Every event of flavor/<id> streams.
using FlavorEvents =
    EventList<FlavorCreated, FlavorDeleted, FlavorAccessAdded, FlavorAccessRemoved,
              FlavorExtraSpecsSet, FlavorExtraSpecDeleted, FlavorDescriptionSet>;

}  // namespace chronova
