// The events of quota/<project>, quota-class/<name>, quota-usage/<project> streams
// (docs/events.md). Adding one: a struct here with a frozen kType and kSchema, and its
// name in QuotaEvents below; core/events.h gathers every list into Event.
#pragma once

#include <cereal/cereal.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/events/event_list.h"
#include "core/types.h"

namespace chronova {

// An admin set quota limits (os-quota-sets update) for a project, or for one
// user of it (user_id set). Merged into the limits already set; -1 = unlimited.
struct QuotaLimitsSet {
  static constexpr const char* kType = "quota.limits_set";
  static constexpr uint32_t kSchema = 1;
  ProjectId project_id;
  UserId user_id;  // empty: the project's limits
  std::map<std::string, int64_t> limits;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(project_id), CEREAL_NVP(user_id), CEREAL_NVP(limits));
  }
};

// os-quota-sets delete: the project's (or the user's) limits revert to defaults.
struct QuotaLimitsDeleted {
  static constexpr const char* kType = "quota.limits_deleted";
  static constexpr uint32_t kSchema = 1;
  ProjectId project_id;
  UserId user_id;  // empty: the project's limits (user limits stay, as in Nova)
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(project_id), CEREAL_NVP(user_id));
  }
};

// os-quota-class-sets update ("default" overrides the [quota] defaults).
struct QuotaClassSet {
  static constexpr const char* kType = "quota_class.limits_set";
  static constexpr uint32_t kSchema = 1;
  std::string class_name;
  std::map<std::string, int64_t> limits;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(class_name), CEREAL_NVP(limits));
  }
};

// The API admitted new servers against the project's instances/cores/ram
// quota. Appended to quota-usage/<project> with the stream's expected version
// before the servers' instance.requested: two creates that both read the same
// version cannot both be admitted (ComputeService::ReserveQuota).
struct QuotaUsageReserved {
  static constexpr const char* kType = "quota.usage_reserved";
  static constexpr uint32_t kSchema = 1;
  ProjectId project_id;
  UserId user_id;
  std::vector<InstanceId> instance_ids;
  int32_t vcpus = 0;      // per instance
  int32_t memory_mb = 0;  // per instance
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(project_id), CEREAL_NVP(user_id), CEREAL_NVP(instance_ids),
       CEREAL_NVP(vcpus), CEREAL_NVP(memory_mb));
  }
};

// Every event of quota/<project>, quota-class/<name>, quota-usage/<project> streams.
using QuotaEvents =
    EventList<QuotaLimitsSet, QuotaLimitsDeleted, QuotaClassSet, QuotaUsageReserved>;

}  // namespace chronova
