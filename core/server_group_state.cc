#include "core/server_group_state.h"

#include <algorithm>
#include <set>
#include <type_traits>

namespace chronova {

int ServerGroup::MembersOn(const HostName& host, const InstanceId& self,
                           const std::function<bool(const InstanceId&)>& live) const {
  int n = 0;
  for (const auto& [member, where] : hosts) {
    if (where == host && member != self && live(member)) ++n;
  }
  return n;
}

bool ServerGroup::Allows(const HostName& host, const InstanceId& self,
                         const std::function<bool(const InstanceId&)>& live) const {
  if (policy == kAffinity) {
    std::vector<HostName> used = MemberHosts(self, live);
    return used.empty() || std::find(used.begin(), used.end(), host) != used.end();
  }
  if (policy == kAntiAffinity) {
    return MembersOn(host, self, live) < std::max<int32_t>(1, max_server_per_host);
  }
  return true;
}

int ServerGroup::SoftRank(const HostName& host, const InstanceId& self,
                          const std::function<bool(const InstanceId&)>& live) const {
  if (policy == kSoftAffinity) return -MembersOn(host, self, live);
  if (policy == kSoftAntiAffinity) return MembersOn(host, self, live);
  return 0;
}

std::vector<HostName> ServerGroup::MemberHosts(
    const InstanceId& self, const std::function<bool(const InstanceId&)>& live) const {
  std::set<HostName> used;
  for (const auto& [member, where] : hosts) {
    if (member != self && live(member)) used.insert(where);
  }
  return {used.begin(), used.end()};
}

const ServerGroup* ServerGroupsState::Find(const std::string& id) const {
  auto it = groups.find(id);
  return it == groups.end() ? nullptr : &it->second;
}

void ApplyServerGroupEvent(ServerGroupsState& s, const Envelope& env,
                           const Event& event) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, ServerGroupCreated>) {
          ServerGroup& g = s.groups[e.group_id];
          g.id = e.group_id;
          g.name = e.name;
          g.project_id = ProjectId(std::string(StreamKey(env.stream)));
          g.user_id = e.user_id;
          g.policy = e.policy;
          g.max_server_per_host = e.max_server_per_host;
          g.created_at = env.meta.time;
        } else if constexpr (std::is_same_v<T, ServerGroupDeleted>) {
          s.groups.erase(e.group_id);
        } else if constexpr (std::is_same_v<T, ServerGroupMemberScheduled>) {
          auto it = s.groups.find(e.group_id);
          if (it != s.groups.end()) it->second.hosts[e.instance_id] = e.host;
        } else {
          return;  // not a server group event
        }
        s.version = env.version;
        s.project = ProjectId(std::string(StreamKey(env.stream)));
      },
      event);
}

Status ServerGroupNotFound(const std::string& id) {
  return Status::NotFound("Instance group " + id + " could not be found.");
}

Result<std::vector<Event>> Decide(const ServerGroupsState& s,
                                  const CreateServerGroup& cmd) {
  static const std::set<std::string> kPolicies = {kAffinity, kAntiAffinity, kSoftAffinity,
                                                  kSoftAntiAffinity};
  if (!kPolicies.contains(cmd.policy)) {
    return Status::InvalidArgument("Invalid server group policy " + cmd.policy);
  }
  if (cmd.quota >= 0 && static_cast<int64_t>(s.groups.size()) + 1 > cmd.quota) {
    return Status::PermissionDenied("Quota exceeded, too many server groups.");
  }
  if (s.groups.contains(cmd.id)) return Status::Conflict("group " + cmd.id + " exists");
  return std::vector<Event>{ServerGroupCreated{cmd.id, cmd.name, cmd.user_id, cmd.policy,
                                               cmd.max_server_per_host}};
}

Result<std::vector<Event>> Decide(const ServerGroupsState& s,
                                  const DeleteServerGroup& cmd) {
  if (!s.groups.contains(cmd.id)) return ServerGroupNotFound(cmd.id);
  return std::vector<Event>{ServerGroupDeleted{cmd.id}};
}

Result<std::vector<Event>> Decide(const ServerGroupsState& s,
                                  const ScheduleGroupMember& cmd) {
  const ServerGroup* g = s.Find(cmd.group_id);
  if (g == nullptr) return std::vector<Event>{};
  auto recorded = g->hosts.find(cmd.instance_id);
  if (recorded != g->hosts.end() && recorded->second == cmd.host) {
    return std::vector<Event>{};
  }
  if (recorded != g->hosts.end() && !cmd.replace) {
    return Status::Conflict("member " + cmd.instance_id.str() + " of server group " +
                            g->id + " is placed on " + recorded->second.str());
  }
  auto live = cmd.live ? cmd.live : [](const InstanceId&) { return true; };
  if (!g->Allows(cmd.host, cmd.instance_id, live)) {
    return Status::Conflict("host " + cmd.host.str() + " breaks the " + g->policy +
                            " policy of server group " + g->id);
  }
  return std::vector<Event>{
      ServerGroupMemberScheduled{cmd.group_id, cmd.instance_id, cmd.host}};
}

}  // namespace chronova
