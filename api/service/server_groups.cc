// ComputeService's server groups (os-server-groups). A project's groups are
// decided on its server-groups/<project> stream, appended with that stream's
// expected version, so two creates cannot both take the last server_groups
// slot; members come from their instance.requested (the "group" hint) and the
// scheduler records where it put each (agents/scheduler.cc).
#include "api/auth/policy.h"
#include "api/service/compute_service.h"
#include "eventstore/command_handler.h"

namespace chronova {
namespace {

void Fold(ServerGroupsState& s, const Envelope& env, const Event& e) {
  ApplyServerGroupEvent(s, env, e);
}

StreamVersion Version(const ServerGroupsState& s) { return s.version; }

}  // namespace

Result<std::vector<ServerGroupInfo>> ComputeService::ListServerGroups(
    const RequestContext& ctx, bool all_projects) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-server-groups:index"));
  // Nova lists a non-admin's own groups when all_projects is asked (no error).
  const bool all = all_projects && ctx.IsAdmin();
  if (all) {
    CHRONOVA_RETURN_IF_ERROR(
        Authorize(ctx, "os_compute_api:os-server-groups:index:all_projects"));
  }
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ServerGroupsProjection::kName));
  ServerGroupsView view(reader.get());
  std::vector<ServerGroupsState> projects;
  if (all) {
    CHRONOVA_ASSIGN_OR_RETURN(projects, view.All());
  } else {
    CHRONOVA_ASSIGN_OR_RETURN(ServerGroupsState own, view.Project(ctx.project));
    projects.push_back(std::move(own));
  }
  std::vector<ServerGroupInfo> out;
  for (ServerGroupsState& p : projects) {
    for (auto& [id, group] : p.groups) {
      CHRONOVA_ASSIGN_OR_RETURN(std::vector<InstanceId> members, view.Members(id));
      out.push_back(ServerGroupInfo{std::move(group), std::move(members)});
    }
  }
  return out;
}

Result<std::vector<std::string>> ComputeService::ServerGroupsOf(
    const InstanceId& id) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ServerGroupsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<std::string> group,
                            ServerGroupsView(reader.get()).GroupOf(id));
  if (!group) return std::vector<std::string>{};
  return std::vector<std::string>{*group};
}

Result<ServerGroupInfo> ComputeService::GetServerGroup(const RequestContext& ctx,
                                                       const std::string& id) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ServerGroupsProjection::kName));
  ServerGroupsView view(reader.get());
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<ServerGroup> group, view.Get(id));
  if (!group) return ServerGroupNotFound(id);
  CHRONOVA_RETURN_IF_ERROR(
      Authorize(ctx, "os_compute_api:os-server-groups:show", {group->project_id, {}}));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<InstanceId> members, view.Members(id));
  return ServerGroupInfo{std::move(*group), std::move(members)};
}

Result<ServerGroupInfo> ComputeService::CreateServerGroup(
    const RequestContext& ctx, const CreateServerGroupRequest& req) {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-server-groups:create"));
  CHRONOVA_ASSIGN_OR_RETURN(auto limits, EffectiveLimits(ctx.project, ctx.user));
  chronova::CreateServerGroup cmd;
  cmd.id = options_.env->NewUuid();
  cmd.name = req.name;
  cmd.user_id = ctx.user;
  cmd.policy = req.policy;
  cmd.max_server_per_host = req.max_server_per_host;
  cmd.quota = limits["server_groups"];
  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome done,
      HandleCommand(
          *log_, ServerGroupsStream(ctx.project), ServerGroupsState{}, Fold, Version,
          [&](const ServerGroupsState& s) { return Decide(s, cmd); },
          ctx.Meta(options_.env->Now()),
          IdempotencyKey("server-group-" + ctx.request_id.str())));
  CHRONOVA_RETURN_IF_ERROR(WaitFor(done.append.last_seq));
  return GetServerGroup(ctx, cmd.id);
}

Status ComputeService::DeleteServerGroup(const RequestContext& ctx,
                                         const std::string& id) {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ServerGroupsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<ServerGroup> group,
                            ServerGroupsView(reader.get()).Get(id));
  if (!group) return ServerGroupNotFound(id);
  CHRONOVA_RETURN_IF_ERROR(
      Authorize(ctx, "os_compute_api:os-server-groups:delete", {group->project_id, {}}));
  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome done,
      HandleCommand(
          *log_, ServerGroupsStream(group->project_id), ServerGroupsState{}, Fold,
          Version,
          [&](const ServerGroupsState& s) {
            return Decide(s, chronova::DeleteServerGroup{id});
          },
          ctx.Meta(options_.env->Now()),
          IdempotencyKey("server-group-delete-" + ctx.request_id.str())));
  if (done.appended) CHRONOVA_RETURN_IF_ERROR(WaitFor(done.append.last_seq));
  return Status::Ok();
}

Status ComputeService::CheckServerGroupRoom(const RequestContext& ctx,
                                            const std::string& id, int count) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ServerGroupsProjection::kName));
  ServerGroupsView view(reader.get());
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<ServerGroup> group, view.Get(id));
  // Nova's InstanceGroupNotFound is a 400 on create. Another project's group
  // is not found either (unless admin): nobody joins, fills or constrains a
  // group of a project they are not in.
  if (!group || (!ctx.IsAdmin() && group->project_id != ctx.project)) {
    return Status::InvalidArgument(ServerGroupNotFound(id).message());
  }
  CHRONOVA_ASSIGN_OR_RETURN(auto limits, EffectiveLimits(ctx.project, ctx.user));
  const int64_t limit = limits["server_group_members"];
  if (limit < 0) return Status::Ok();
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<InstanceId> members, view.Members(id));
  if (static_cast<int64_t>(members.size()) + count > limit) {
    return Status::PermissionDenied("Quota exceeded, too many servers in group");
  }
  return Status::Ok();
}

Result<int64_t> ComputeService::CountServerGroups(const ProjectId& project) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ServerGroupsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(ServerGroupsState s,
                            ServerGroupsView(reader.get()).Project(project));
  return static_cast<int64_t>(s.groups.size());
}

}  // namespace chronova
