#include "projections/server_groups_projection.h"

#include <algorithm>

#include "projections/records.h"

namespace chronova {
namespace {

// Keys: "s/<project>" the project's stream folded; "g/<group>" the group's
// project; "m/<group>" its live members; "i/<instance>" a member's group.
std::string ProjectKey(std::string_view project) { return "s/" + std::string(project); }
std::string GroupKey(const std::string& id) { return "g/" + id; }
std::string MembersKey(const std::string& id) { return "m/" + id; }
std::string InstanceKey(const InstanceId& id) { return "i/" + id.str(); }

struct GroupOwner {
  ProjectId project;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(project));
  }
};

struct MemberList {
  std::vector<InstanceId> members;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(members));
  }
};

struct MemberOf {
  std::string group;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(group));
  }
};

// A new server that named a live group joins it.
Status Join(const InstanceRequested& r, ReadModelWriter& w) {
  auto hint = r.scheduler_hints.find(kGroupHint);
  if (hint == r.scheduler_hints.end() || hint->second.empty()) return Status::Ok();
  const std::string& group = hint->second.front();
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<GroupOwner> owner,
                            GetRecord<GroupOwner>(w, GroupKey(group)));
  if (!owner) return Status::Ok();  // deleted meanwhile: the hint names nothing
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<MemberList> members,
                            GetRecord<MemberList>(w, MembersKey(group)));
  MemberList list = members.value_or(MemberList{});
  if (std::find(list.members.begin(), list.members.end(), r.instance_id) !=
      list.members.end()) {
    return Status::Ok();
  }
  list.members.push_back(r.instance_id);
  PutRecord(w, MembersKey(group), std::move(list));
  PutRecord(w, InstanceKey(r.instance_id), MemberOf{group});
  return Status::Ok();
}

// A deleted server leaves its group.
Status Leave(const InstanceId& id, ReadModelWriter& w) {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<MemberOf> of,
                            GetRecord<MemberOf>(w, InstanceKey(id)));
  if (!of) return Status::Ok();
  w.Delete(InstanceKey(id));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<MemberList> members,
                            GetRecord<MemberList>(w, MembersKey(of->group)));
  if (!members) return Status::Ok();  // the group went first
  std::erase(members->members, id);
  PutRecord(w, MembersKey(of->group), std::move(*members));
  return Status::Ok();
}

}  // namespace

Status ServerGroupsProjection::Apply(const Envelope& env, const Event& event,
                                     ReadModelWriter& w) {
  std::string_view kind = StreamKind(env.stream);
  if (kind == "instance") {
    if (const auto* r = std::get_if<InstanceRequested>(&event)) return Join(*r, w);
    if (std::holds_alternative<InstanceDeleted>(event)) {
      return Leave(InstanceId(std::string(StreamKey(env.stream))), w);
    }
    return Status::Ok();
  }
  if (kind != "server-groups") return Status::Ok();
  const std::string key = ProjectKey(StreamKey(env.stream));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<ServerGroupsState> stored,
                            GetRecord<ServerGroupsState>(w, key));
  ServerGroupsState state = stored.value_or(ServerGroupsState{});
  if (env.version <= state.version) return Status::Ok();  // already folded in
  ApplyServerGroupEvent(state, env, event);
  if (const auto* c = std::get_if<ServerGroupCreated>(&event)) {
    PutRecord(w, GroupKey(c->group_id),
              GroupOwner{ProjectId(std::string(StreamKey(env.stream)))});
  } else if (const auto* d = std::get_if<ServerGroupDeleted>(&event)) {
    // Members keep their "i/" entry until they are deleted themselves.
    w.Delete(GroupKey(d->group_id));
    w.Delete(MembersKey(d->group_id));
  }
  PutRecord(w, key, std::move(state));
  return Status::Ok();
}

Result<ServerGroupsState> ServerGroupsView::Project(const ProjectId& project) const {
  CHRONOVA_ASSIGN_OR_RETURN(
      std::optional<ServerGroupsState> s,
      GetRecord<ServerGroupsState>(*reader_, ProjectKey(project.str())));
  return s.value_or(ServerGroupsState{});
}

Result<std::optional<ServerGroup>> ServerGroupsView::Get(const std::string& id) const {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<GroupOwner> owner,
                            GetRecord<GroupOwner>(*reader_, GroupKey(id)));
  if (!owner) return std::optional<ServerGroup>();
  CHRONOVA_ASSIGN_OR_RETURN(ServerGroupsState s, Project(owner->project));
  const ServerGroup* g = s.Find(id);
  if (g == nullptr) return std::optional<ServerGroup>();
  return std::optional<ServerGroup>(*g);
}

Result<std::vector<ServerGroupsState>> ServerGroupsView::All() const {
  return ScanRecords<ServerGroupsState>(*reader_, "s/");
}

Result<std::optional<std::string>> ServerGroupsView::GroupOf(
    const InstanceId& instance) const {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<MemberOf> of,
                            GetRecord<MemberOf>(*reader_, InstanceKey(instance)));
  if (!of) return std::optional<std::string>();
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<GroupOwner> owner,
                            GetRecord<GroupOwner>(*reader_, GroupKey(of->group)));
  if (!owner) return std::optional<std::string>();  // the group is gone
  return std::optional<std::string>(of->group);
}

Result<std::vector<InstanceId>> ServerGroupsView::Members(const std::string& id) const {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<MemberList> list,
                            GetRecord<MemberList>(*reader_, MembersKey(id)));
  return list ? std::move(list->members) : std::vector<InstanceId>{};
}

}  // namespace chronova
