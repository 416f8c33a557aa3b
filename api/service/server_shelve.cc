// ComputeService's servers put aside: shelve, shelveOffload and unshelve
// (nova/compute/api.py shelve, shelve_offload, unshelve), and deferred delete
// (DELETE with reclaim_instance_interval, restore, forceDelete). The hosts
// carry them out (agents/compute/compute_agent.cc); an offloaded server is
// placed again by the scheduler (agents/scheduler.h).
#include "api/auth/policy.h"
#include "api/service/compute_service.h"
#include "api/service/service_internal.h"
#include "core/instance_decider.h"
#include "eventstore/command_handler.h"

namespace chronova {

Status ComputeService::ShelveServer(const RequestContext& ctx, const InstanceId& id) {
  // The server, the policy, the lock and the state before the image, so a
  // refused request leaves none (Nova's decorators run first).
  CHRONOVA_ASSIGN_OR_RETURN(InstanceState s, LoadInstance(*log_, id, Seq(UINT64_MAX)));
  CHRONOVA_RETURN_IF_ERROR(CanSee(ctx, s));
  const char* policy = "os_compute_api:os-shelve:shelve";
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, policy, PolicyTarget{s.project_id, UserId()}));
  const ShelveInstance command{ImageId(options_.env->NewUuid()),
                               /*offload=*/options_.shelved_offload_time_s == 0,
                               ctx.IsAdmin()};
  CHRONOVA_RETURN_IF_ERROR(Decide(s, command).status());
  CHRONOVA_ASSIGN_OR_RETURN(
      ImageCreated image,
      SnapshotImage(ctx, s, command.image_id, s.name + "-shelved", "snapshot"));
  return CreateImageThenAct(ctx, id, image, "shelve",
                            [&](const InstanceState& now) -> Result<std::vector<Event>> {
                              CHRONOVA_RETURN_IF_ERROR(Authorize(
                                  ctx, policy, PolicyTarget{now.project_id, UserId()}));
                              return Decide(now, command);
                            });
}

Status ComputeService::ShelveOffloadServer(const RequestContext& ctx,
                                           const InstanceId& id) {
  return ActOnServer(
      ctx, id, RequestKey(ctx, "shelve-offload"),
      ServerDecider([&](const InstanceState& s) -> Result<std::vector<Event>> {
        CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-shelve:shelve_offload",
                                           PolicyTarget{s.project_id, UserId()}));
        return Decide(s, ShelveOffloadInstance{ctx.IsAdmin()});
      }));
}

Status ComputeService::UnshelveServer(
    const RequestContext& ctx, const InstanceId& id,
    const std::optional<std::string>& availability_zone) {
  UnshelveInstance command;
  command.has_availability_zone = availability_zone.has_value();
  command.availability_zone = availability_zone.value_or("");
  command.override_lock = ctx.IsAdmin();
  // Nova validates the zone after the server's lock and state.
  bool zone_checked = !availability_zone.has_value();
  return ActOnServer(
      ctx, id, RequestKey(ctx, "unshelve"),
      ServerDecider([&](const InstanceState& s) -> Result<std::vector<Event>> {
        CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-shelve:unshelve",
                                           PolicyTarget{s.project_id, UserId()}));
        CHRONOVA_ASSIGN_OR_RETURN(std::vector<Event> events, Decide(s, command));
        if (!zone_checked) {
          CHRONOVA_RETURN_IF_ERROR(CheckZoneAvailable(*store_, *availability_zone));
          zone_checked = true;
        }
        return events;
      }));
}

Status ComputeService::ForceDeleteServer(const RequestContext& ctx,
                                         const InstanceId& id) {
  return DeleteWithKey(ctx, id, RequestKey(ctx, "force-delete"),
                       "os_compute_api:os-deferred-delete:force");
}

Status ComputeService::RestoreServer(const RequestContext& ctx, const InstanceId& id) {
  return ActOnServer(
      ctx, id, RequestKey(ctx, "restore"),
      ServerDecider([&](const InstanceState& s) -> Result<std::vector<Event>> {
        CHRONOVA_RETURN_IF_ERROR(Authorize(ctx,
                                           "os_compute_api:os-deferred-delete:restore",
                                           PolicyTarget{s.project_id, UserId()}));
        return Decide(s, RestoreInstance{ctx.IsAdmin()});
      }));
}

Status ComputeService::DeleteWithKey(const RequestContext& ctx, const InstanceId& id,
                                     const IdempotencyKey& key, const char* policy,
                                     bool soft) {
  ImageId shelved_image;  // deleted with a shelved server, as Nova's API does it
  CHRONOVA_RETURN_IF_ERROR(ActOnServer(
      ctx, id, key,
      ServerDecider([&](const InstanceState& s) -> Result<std::vector<Event>> {
        CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, policy, {s.project_id, {}}));
        CHRONOVA_ASSIGN_OR_RETURN(std::vector<Event> events,
                                  Decide(s, DeleteInstance{ctx.IsAdmin(), soft}));
        // Shelving, shelved or unshelving: its image goes with it.
        shelved_image = events.empty() ? ImageId() : s.shelved_image_id;
        return events;
      })));
  if (shelved_image.empty() || options_.images == nullptr) return Status::Ok();
  Status st = options_.images->Discard(
      shelved_image, ImageSinkContext{ctx.request_id, ctx.Meta(Timestamp()).actor});
  if (!st.ok()) {
    options_.env->Warn(
        {.role = "api", .request_id = ctx.request_id.str(), .instance_id = id.str()},
        "shelved image " + shelved_image.str() + " left: " + st.ToString());
  }
  return Status::Ok();
}

}  // namespace chronova
