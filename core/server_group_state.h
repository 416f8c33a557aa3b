// Server groups (Nova's os-server-groups), folded from server-groups/<project>:
// a project's groups, their policies, and the host the scheduler chose for
// each member. The policy rules (Nova's ServerGroupAffinityFilter,
// ServerGroupAntiAffinityFilter and the soft weighers) live here as pure
// functions, so the scheduler and its tests apply the same ones.
#pragma once

#include <cereal/cereal.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/envelope.h"
#include "core/events.h"
#include "core/status.h"

namespace chronova {

// The policies, as Nova spells them (the soft ones from microversion 2.15).
inline constexpr char kAffinity[] = "affinity";
inline constexpr char kAntiAffinity[] = "anti-affinity";
inline constexpr char kSoftAffinity[] = "soft-affinity";
inline constexpr char kSoftAntiAffinity[] = "soft-anti-affinity";
// The scheduler hint that makes a new server a member.
inline constexpr char kGroupHint[] = "group";

struct ServerGroup {
  std::string id;  // uuid
  std::string name;
  ProjectId project_id;
  UserId user_id;
  std::string policy;
  int32_t max_server_per_host = 0;  // anti-affinity's rule; 0: none (one per host)
  Timestamp created_at;
  // Where the scheduler put each member it placed (the latest choice).
  // Deleted members stay listed: their deletion is on their own stream, so
  // the rules below take a `live` predicate.
  std::map<InstanceId, HostName> hosts;

  bool operator==(const ServerGroup&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(id), CEREAL_NVP(name), CEREAL_NVP(project_id), CEREAL_NVP(user_id),
       CEREAL_NVP(policy), CEREAL_NVP(max_server_per_host), CEREAL_NVP(created_at),
       CEREAL_NVP(hosts));
  }
  // How many members other than `self` that `live` accepts are on `host`.
  int MembersOn(const HostName& host, const InstanceId& self,
                const std::function<bool(const InstanceId&)>& live) const;
  // The hard policies: whether `host` may take `self`. Affinity: no live
  // member placed yet, or one is on `host`. Anti-affinity: fewer than
  // max(1, max_server_per_host) live members on `host`. Soft policies and
  // other policies allow every host.
  bool Allows(const HostName& host, const InstanceId& self,
              const std::function<bool(const InstanceId&)>& live) const;
  // Soft policies order hosts by this, lowest first (soft-affinity: most
  // members first; soft-anti-affinity: fewest first); 0 for the others.
  int SoftRank(const HostName& host, const InstanceId& self,
               const std::function<bool(const InstanceId&)>& live) const;
  // The hosts of the live members other than `self`, each once, by name.
  std::vector<HostName> MemberHosts(
      const InstanceId& self, const std::function<bool(const InstanceId&)>& live) const;
};

// server-groups/<project> folded.
struct ServerGroupsState {
  StreamVersion version;
  ProjectId project;                          // the stream's key
  std::map<std::string, ServerGroup> groups;  // live groups by id

  bool operator==(const ServerGroupsState&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(version), CEREAL_NVP(project), CEREAL_NVP(groups));
  }
  const ServerGroup* Find(const std::string& id) const;
};

// Folds one server group event into `state` (others are ignored). The project
// is the stream's key. Deterministic.
void ApplyServerGroupEvent(ServerGroupsState& state, const Envelope& env,
                           const Event& event);

struct CreateServerGroup {
  std::string id;  // a new uuid
  std::string name;
  UserId user_id;
  std::string policy;
  int32_t max_server_per_host = 0;
  int64_t quota = -1;  // the project's server_groups limit; -1: unlimited
};
struct DeleteServerGroup {
  std::string id;
};
struct ScheduleGroupMember {
  std::string group_id;
  InstanceId instance_id;
  HostName host;
  std::function<bool(const InstanceId&)> live;  // which members count
  // Whether a host recorded for this member before may be replaced (it no
  // longer passes the filters); otherwise another host is a Conflict.
  bool replace = false;
};

// PermissionDenied ("Quota exceeded, too many server groups.") when the
// project has `quota` groups already; InvalidArgument for an unknown policy.
Result<std::vector<Event>> Decide(const ServerGroupsState& s,
                                  const CreateServerGroup& cmd);
// NotFound ("Instance group <id> could not be found.").
Result<std::vector<Event>> Decide(const ServerGroupsState& s,
                                  const DeleteServerGroup& cmd);
// Nothing when the group no longer exists (the hint constrains nothing) or
// the member is recorded on that host already; Conflict when the policy
// refuses the host (another placement took it first) or another scheduler
// recorded the member on another host first (unless `replace`).
Result<std::vector<Event>> Decide(const ServerGroupsState& s,
                                  const ScheduleGroupMember& cmd);

// Nova's message for a group that does not exist.
Status ServerGroupNotFound(const std::string& id);

}  // namespace chronova
