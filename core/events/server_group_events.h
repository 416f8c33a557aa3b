// The events of server-groups/<project> streams (docs/events.md): a project's
// server groups (os-server-groups) and where the scheduler put their members.
// One stream per project, so that the server_groups quota and the placements
// of one group are each decided against one expected version. Adding one: a
// struct here with a frozen kType and kSchema, and its name in
// ServerGroupEvents below; core/events.h gathers every list into Event.
#pragma once

#include <cereal/cereal.hpp>
#include <string>

#include "core/events/event_list.h"
#include "core/types.h"

namespace chronova {

// A user created a server group. `policy` is one of affinity, anti-affinity,
// soft-affinity, soft-anti-affinity; `max_server_per_host` is the
// anti-affinity rule of microversion 2.64 (0: no rule, one per host).
struct ServerGroupCreated {
  static constexpr const char* kType = "server_group.created";
  static constexpr uint32_t kSchema = 1;
  std::string group_id;  // uuid
  std::string name;
  UserId user_id;
  std::string policy;
  int32_t max_server_per_host = 0;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(group_id), CEREAL_NVP(name), CEREAL_NVP(user_id), CEREAL_NVP(policy),
       CEREAL_NVP(max_server_per_host));
  }
};

// The group was deleted. Its members stay servers; the hint naming it no
// longer constrains anything.
struct ServerGroupDeleted {
  static constexpr const char* kType = "server_group.deleted";
  static constexpr uint32_t kSchema = 1;
  std::string group_id;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(group_id));
  }
};

// The scheduler chose `host` for a member, having checked the group's policy
// against this stream's version (a later one for the same instance replaces
// it). Membership itself comes from the member's instance.requested (its
// "group" scheduler hint) and ends with its instance.deleted.
struct ServerGroupMemberScheduled {
  static constexpr const char* kType = "server_group.member_scheduled";
  static constexpr uint32_t kSchema = 1;
  std::string group_id;
  InstanceId instance_id;
  HostName host;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(group_id), CEREAL_NVP(instance_id), CEREAL_NVP(host));
  }
};

// Every event of server-groups/<project> streams.
using ServerGroupEvents =
    EventList<ServerGroupCreated, ServerGroupDeleted, ServerGroupMemberScheduled>;

}  // namespace chronova
