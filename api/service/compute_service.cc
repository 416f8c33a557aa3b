#include "api/service/compute_service.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include "api/auth/policy.h"
#include "api/image/image_service.h"
#include "api/service/admin_service.h"
#include "api/service/service_internal.h"
#include "core/instance_decider.h"
#include "core/placement.h"
#include "eventstore/command_handler.h"
#include "eventstore/resize_claims.h"
#include "projections/aggregates_projection.h"
#include "projections/hosts_projection.h"
#include "projections/servers_projection.h"

namespace chronova {

namespace {

// A description change as instance.updated carries it.
void SetDescription(InstanceUpdated& u, const DescriptionChange& d) {
  if (!d.set) return;
  u.has_description = true;
  u.description_null = !d.value.has_value();
  u.description = d.value.value_or("");
}

}  // namespace

IdempotencyKey RequestKey(const RequestContext& ctx, const char* verb) {
  return IdempotencyKey(std::string(verb) + "-" + ctx.request_id.str());
}

namespace {

// OS-DCF:diskConfig against the image's auto_disk_config property (Nova's
// _inherit_properties_from_image): the request's choice, else the property
// read as oslo's bool_from_string. An image that says "disabled" refuses AUTO.
Result<bool> AutoDiskConfig(const ImageRecord& image, std::optional<bool> requested) {
  auto it = image.image.properties.find("auto_disk_config");
  std::string prop = it == image.image.properties.end() ? "" : it->second;
  for (char& c : prop) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (prop == "disabled" && requested.value_or(false)) {
    return Status::InvalidArgument("Requested image " + image.image.image_id.str() +
                                   " has automatic disk resize disabled.");
  }
  if (requested) return *requested;
  return prop == "1" || prop == "t" || prop == "true" || prop == "on" || prop == "y" ||
         prop == "yes";
}

// Nova's policy name of each lifecycle action.
const char* ActionPolicy(LifecycleAction a) {
  switch (a) {
    case LifecycleAction::kStop:
      return "os_compute_api:servers:stop";
    case LifecycleAction::kStart:
      return "os_compute_api:servers:start";
    case LifecycleAction::kReboot:
      return "os_compute_api:servers:reboot";
    case LifecycleAction::kPause:
      return "os_compute_api:os-pause-server:pause";
    case LifecycleAction::kUnpause:
      return "os_compute_api:os-pause-server:unpause";
    case LifecycleAction::kSuspend:
      return "os_compute_api:os-suspend-server:suspend";
    case LifecycleAction::kResume:
      return "os_compute_api:os-suspend-server:resume";
    case LifecycleAction::kRescue:
      return "os_compute_api:os-rescue";
    case LifecycleAction::kUnrescue:
      return "os_compute_api:os-unrescue";
  }
  return "os_compute_api:servers:unknown";
}

// "http://host/v2.1/flavors/42" and "42" both name flavor "42".
std::string LastSegment(const std::string& ref) {
  size_t slash = ref.find_last_of('/');
  return slash == std::string::npos ? ref : ref.substr(slash + 1);
}

Status InstanceNotFound(const InstanceId& id) {
  return Status::NotFound("Instance " + id.str() + " could not be found.");
}

void FoldInstance(InstanceState& s, const Envelope& env, const Event& e) {
  ApplyEvent(s, env, e);
}
StreamVersion InstanceVersion(const InstanceState& s) { return s.version; }

// Nova's list order: created_at descending, then id.
void SortNewestFirst(std::vector<InstanceState>& servers) {
  std::sort(servers.begin(), servers.end(),
            [](const InstanceState& a, const InstanceState& b) {
              if (a.created_at != b.created_at) return a.created_at > b.created_at;
              return a.id > b.id;
            });
}

}  // namespace

ComputeService::ComputeService(EventLog* log, ProjectionStore* store,
                               const ProjectionRunner* runner,
                               ComputeServiceOptions options)
    : log_(log),
      store_(store),
      runner_(runner),
      options_(options),
      time_travel_(std::make_unique<TimeTravel>(log, options.time_travel)) {}

Status ComputeService::WaitFor(Seq seq) const {
  return runner_->WaitFor(seq, options_.wait_timeout_ms);
}

Status ComputeService::CanSee(const RequestContext& ctx, const InstanceState& s) const {
  if (!s.exists || s.vm_state == VmState::kDeleted) return InstanceNotFound(s.id);
  // Another project's server is 404, not 403, as in Nova: its existence is private.
  if (!ctx.IsAdmin() && s.project_id != ctx.project) return InstanceNotFound(s.id);
  return Status::Ok();
}

Result<CreateServerResult> ComputeService::CreateServers(const RequestContext& ctx,
                                                         const CreateServerRequest& req) {
  if (req.name.empty() || req.name.size() > 255) {
    return Status::InvalidArgument("Invalid input for field/attribute name.");
  }
  if (req.min_count < 1 || req.max_count < req.min_count) {
    return Status::InvalidArgument("min_count must be <= max_count and at least 1");
  }
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:servers:create"));
  if (!req.trusted_certs.empty()) {
    CHRONOVA_RETURN_IF_ERROR(
        Authorize(ctx, "os_compute_api:servers:create:trusted_certs"));
  }
  if (req.metadata.size() > options_.metadata_items_limit) {
    return Status::PermissionDenied("Maximum number of metadata items exceeds " +
                                    std::to_string(options_.metadata_items_limit));
  }
  // nova/compute/api.py: the zone must be one some compute host is in
  // ("zone:host" names a zone and, for admins, a host chronova does not force).
  std::string zone = req.availability_zone.substr(0, req.availability_zone.find(':'));
  if (!zone.empty()) CHRONOVA_RETURN_IF_ERROR(CheckZoneAvailable(*store_, zone));
  // 2.74: an admin may name the host and/or compute node (Nova's
  // _validate_host_or_node); the scheduler then places only there.
  if (!req.host.empty() || !req.hypervisor_hostname.empty()) {
    CHRONOVA_RETURN_IF_ERROR(
        Authorize(ctx, "compute:servers:create:requested_destination"));
    CHRONOVA_RETURN_IF_ERROR(
        CheckRequestedHost(*store_, req.host, req.hypervisor_hostname));
  }
  CHRONOVA_ASSIGN_OR_RETURN(auto flavors_reader,
                            store_->Reader(FlavorsProjection::kName));
  std::string flavor_id = LastSegment(req.flavor_ref);
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<FlavorRecord> flavor,
                            FlavorsView(flavors_reader.get()).Get(FlavorId(flavor_id)));
  if (!flavor || !(ctx.IsAdmin() || flavor->VisibleTo(ctx.project)))
    return Status::InvalidArgument("Flavor " + flavor_id + " could not be found.");
  std::string image_id = LastSegment(req.image_ref);
  Result<ImageRecord> image = FindBootableImage(*store_, ctx, ImageId(image_id));
  if (image.status().IsNotFound()) {
    return Status::InvalidArgument("Can not find requested image");
  }
  CHRONOVA_RETURN_IF_ERROR(image.status());
  if (image->image.min_ram > flavor->spec.memory_mb) {
    return Status::InvalidArgument("Flavor's memory is too small for requested image.");
  }
  if (image->image.min_disk > flavor->spec.root_gb && flavor->spec.root_gb > 0) {
    return Status::InvalidArgument("Flavor's disk is too small for requested image.");
  }

  CHRONOVA_ASSIGN_OR_RETURN(const bool auto_disk_config,
                            AutoDiskConfig(*image, req.auto_disk_config));

  if (!req.key_name.empty()) {
    CHRONOVA_ASSIGN_OR_RETURN(auto keypairs_reader,
                              store_->Reader(KeypairsProjection::kName));
    CHRONOVA_ASSIGN_OR_RETURN(
        std::optional<KeypairRecord> key,
        KeypairsView(keypairs_reader.get()).Get(ctx.user, req.key_name));
    if (!key) return Status::InvalidArgument("Invalid key_name provided.");
  }

  // A member of a server group: the group must exist and have room.
  if (auto group = req.scheduler_hints.find(kGroupHint);
      group != req.scheduler_hints.end() && !group->second.empty()) {
    CHRONOVA_RETURN_IF_ERROR(
        CheckServerGroupRoom(ctx, group->second.front(), req.max_count));
  }

  CreateServerResult result;
  result.reservation_id =
      "r-" + (req.id_seed.empty() ? options_.env->NewUuid()
                                  : NameBasedUuid(req.id_seed + "/reservation"))
                 .substr(0, 8);
  std::vector<InstanceId> new_ids;
  // As Nova: as many as fit, between min_count and max_count (403 otherwise).
  CHRONOVA_ASSIGN_OR_RETURN(size_t admitted,
                            ReserveQuota(ctx, flavor->spec, req.min_count, req.max_count,
                                         &new_ids, req.id_seed));
  const int count = static_cast<int>(admitted);
  // Decide every server before appending any: a bad request appends nothing.
  std::vector<AppendRequest> appends;
  std::vector<InstanceId> ids;
  const EventMeta meta = ctx.Meta(options_.env->Now());
  for (int i = 0; i < count; ++i) {
    InstanceRequested r;
    r.instance_id = new_ids[static_cast<size_t>(i)];
    // Nova's multi_instance_display_name_template: "%(name)s-%(count)d".
    r.name = count > 1 ? req.name + "-" + std::to_string(i + 1) : req.name;
    r.project_id = ctx.project;
    r.user_id = ctx.user;
    r.flavor = flavor->spec;
    r.image_id = ImageId(image_id);
    r.availability_zone = zone;
    r.key_name = req.key_name;
    r.metadata = req.metadata;
    r.user_data = req.user_data;
    r.reservation_id = result.reservation_id;
    r.launch_index = i;
    r.scheduler_hints = req.scheduler_hints;
    r.requested_host = HostName(req.host);
    r.requested_node = req.hypervisor_hostname;
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<Event> events,
                              Decide(InstanceState{}, CreateInstance{r}));
    if (!req.access_ipv4.empty() || !req.access_ipv6.empty() || req.description.set ||
        !req.trusted_certs.empty()) {
      // Recorded with the request, in the same (atomic) append.
      InstanceUpdated extra;
      extra.has_access_ipv4 = !req.access_ipv4.empty();
      extra.access_ipv4 = req.access_ipv4;
      extra.has_access_ipv6 = !req.access_ipv6.empty();
      extra.access_ipv6 = req.access_ipv6;
      SetDescription(extra, req.description);
      extra.has_trusted_certs = !req.trusted_certs.empty();
      extra.trusted_certs = req.trusted_certs;
      events.push_back(extra);
    }
    if (!req.tags.empty()) events.push_back(InstanceTagsSet{req.tags});
    if (auto_disk_config) events.push_back(InstanceDiskConfigSet{true});
    AppendRequest append;
    append.stream = InstanceStream(r.instance_id);
    append.expected = ExpectedVersion::NoStream();
    append.key = IdempotencyKey("create-" + r.instance_id.str());
    for (const Event& e : events) append.events.push_back(MakeNewEvent(e, meta));
    appends.push_back(std::move(append));
    ids.push_back(r.instance_id);
  }
  Seq last;
  for (size_t i = 0; i < appends.size(); ++i) {
    Result<AppendResult> appended = log_->Append(appends[i]);
    if (!appended.ok()) {
      // All or none: the log appends one stream at a time, so the servers
      // already requested are deleted again (each append is idempotent, so a
      // retried create cannot resurrect them under the same ids).
      for (size_t j = 0; j < i; ++j) {
        (void)DeleteWithKey(ctx, ids[j], IdempotencyKey("rollback-" + ids[j].str()));
      }
      return appended.status().WithContext("requesting server " + std::to_string(i + 1) +
                                           " of " + std::to_string(appends.size()));
    }
    last = appended->last_seq;
  }
  CHRONOVA_RETURN_IF_ERROR(WaitFor(last));
  CHRONOVA_ASSIGN_OR_RETURN(auto servers_reader,
                            store_->Reader(ServersProjection::kName));
  ServersView view(servers_reader.get());
  for (const InstanceId& id : ids) {
    CHRONOVA_ASSIGN_OR_RETURN(std::optional<InstanceState> s, view.Get(id));
    if (!s) return Status::Internal("server " + id.str() + " missing after its creation");
    result.servers.push_back(std::move(*s));
  }
  return result;
}

template <typename Decider>
Status ComputeService::ActOnServer(const RequestContext& ctx, const InstanceId& id,
                                   const IdempotencyKey& key, Decider decide,
                                   Seq* appended) {
  InstanceState initial;
  initial.id = id;
  auto checked = [&](const InstanceState& s) -> Result<std::vector<Event>> {
    CHRONOVA_RETURN_IF_ERROR(CanSee(ctx, s));
    return decide(s);
  };
  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome out,
      HandleCommand(*log_, InstanceStream(id), initial, FoldInstance, InstanceVersion,
                    checked, ctx.Meta(options_.env->Now()),
                    // Per server: one request may act on several (EC2's
                    // TerminateInstances with a list of ids).
                    IdempotencyKey(key.str() + "/" + id.str())));
  if (out.appended) {
    CHRONOVA_RETURN_IF_ERROR(WaitFor(out.append.last_seq));
    if (appended != nullptr) *appended = out.append.last_seq;
  }
  return Status::Ok();
}

// server_moves.cc decides through a ServerDecider.
template Status ComputeService::ActOnServer<ServerDecider>(const RequestContext&,
                                                           const InstanceId&,
                                                           const IdempotencyKey&,
                                                           ServerDecider, Seq*);

template <class Command>
Status ComputeService::ActOnServerAs(const RequestContext& ctx, const InstanceId& id,
                                     const char* key, const char* policy) {
  return ActOnServer(ctx, id, RequestKey(ctx, key),
                     [&](const InstanceState& s) -> Result<std::vector<Event>> {
                       CHRONOVA_RETURN_IF_ERROR(
                           Authorize(ctx, policy, PolicyTarget{s.project_id, UserId()}));
                       return Decide(s, Command{ctx.IsAdmin()});
                     });
}

Status ComputeService::DeleteServer(const RequestContext& ctx, const InstanceId& id) {
  return DeleteWithKey(ctx, id, RequestKey(ctx, "delete"),
                       "os_compute_api:servers:delete",
                       /*soft=*/options_.reclaim_instance_interval_s > 0);
}

Status ComputeService::ServerAction(const RequestContext& ctx, const InstanceId& id,
                                    LifecycleAction action, bool hard) {
  return ActOnServer(
      ctx, id, RequestKey(ctx, "action"),
      [&](const InstanceState& s) -> Result<std::vector<Event>> {
        CHRONOVA_RETURN_IF_ERROR(
            Authorize(ctx, ActionPolicy(action), PolicyTarget{s.project_id, UserId()}));
        return Decide(s, RequestLifecycleAction{action, hard, ctx.IsAdmin()});
      });
}

Result<std::vector<std::string>> ComputeService::SetServerTags(
    const RequestContext& ctx, const InstanceId& id, const std::string& policy,
    const std::string& method,
    const std::function<
        Result<std::vector<std::string>>(const std::vector<std::string>&)>& change) {
  Seq appended;
  CHRONOVA_RETURN_IF_ERROR(ActOnServer(
      ctx, id, RequestKey(ctx, "tags"),
      [&](const InstanceState& s) -> Result<std::vector<Event>> {
        CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-server-tags:" + policy,
                                           PolicyTarget{s.project_id, UserId()}));
        CHRONOVA_ASSIGN_OR_RETURN(std::vector<std::string> tags, change(s.tags));
        return Decide(s, SetTags{std::move(tags), method});
      },
      &appended));
  CHRONOVA_ASSIGN_OR_RETURN(
      InstanceState s,
      LoadInstance(*log_, id, appended == Seq() ? Seq(UINT64_MAX) : appended));
  return s.tags;
}

Status ComputeService::TriggerCrashDump(const RequestContext& ctx, const InstanceId& id) {
  return ActOnServerAs<chronova::TriggerCrashDump>(
      ctx, id, "crash-dump", "os_compute_api:servers:trigger_crash_dump");
}

Result<InstanceState> ComputeService::RebuildServer(
    const RequestContext& ctx, const InstanceId& id, const std::string& image_ref,
    const std::optional<std::string>& name,
    const std::optional<std::map<std::string, std::string>>& metadata,
    const DescriptionChange& description, std::optional<bool> auto_disk_config,
    const RebuildChanges& changes) {
  const ImageId image_id(LastSegment(image_ref));
  // Resolved once; refused (below) only after the server's own checks, as Nova
  // looks the image up after the lock and the state.
  Result<ImageRecord> image = FindBootableImage(*store_, ctx, image_id);
  if (image.status().IsNotFound()) {
    // Nova's answer for ImageNotFound here, for an invisible image too.
    image = Status::InvalidArgument("Cannot find image for rebuild");
  }
  InstanceRebuildRequested request;
  request.image_id = image_id;
  if (name) request.name = *name;
  if (metadata) {
    request.replace_metadata = true;
    request.metadata = *metadata;
  }
  Seq appended;
  CHRONOVA_RETURN_IF_ERROR(ActOnServer(
      ctx, id, RequestKey(ctx, "rebuild"),
      [&](const InstanceState& s) -> Result<std::vector<Event>> {
        CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:servers:rebuild",
                                           PolicyTarget{s.project_id, UserId()}));
        CHRONOVA_ASSIGN_OR_RETURN(std::vector<Event> events,
                                  Decide(s, RebuildInstance{request, ctx.IsAdmin()}));
        CHRONOVA_RETURN_IF_ERROR(image.status());
        if (image->image.min_ram > s.flavor.memory_mb) {
          return Status::InvalidArgument(
              "Flavor's memory is too small for requested image.");
        }
        if (image->image.min_disk > s.flavor.root_gb && s.flavor.root_gb > 0) {
          return Status::InvalidArgument(
              "Flavor's disk is too small for requested image.");
        }
        if (changes.trusted_certs && !changes.trusted_certs->empty()) {
          CHRONOVA_RETURN_IF_ERROR(
              Authorize(ctx, "os_compute_api:servers:rebuild:trusted_certs",
                        PolicyTarget{s.project_id, UserId()}));
        }
        if (changes.key_name && !changes.key_name->empty()) {
          // Nova looks the pair up among the caller's own.
          CHRONOVA_ASSIGN_OR_RETURN(auto keypairs,
                                    store_->Reader(KeypairsProjection::kName));
          CHRONOVA_ASSIGN_OR_RETURN(
              std::optional<KeypairRecord> key,
              KeypairsView(keypairs.get()).Get(ctx.user, *changes.key_name));
          if (!key) return Status::InvalidArgument("Invalid key_name provided.");
        }
        if (description.set || changes.key_name || changes.user_data ||
            changes.trusted_certs) {
          InstanceUpdated updated;  // in the same (atomic) append
          SetDescription(updated, description);
          updated.has_key_name = changes.key_name.has_value();
          updated.key_name = changes.key_name.value_or("");
          updated.has_user_data = changes.user_data.has_value();
          updated.user_data = changes.user_data.value_or("");
          updated.has_trusted_certs = changes.trusted_certs.has_value();
          if (changes.trusted_certs) updated.trusted_certs = *changes.trusted_certs;
          events.push_back(updated);
        }
        if (auto_disk_config) {
          CHRONOVA_ASSIGN_OR_RETURN(const bool auto_disk,
                                    AutoDiskConfig(*image, auto_disk_config));
          events.push_back(InstanceDiskConfigSet{auto_disk});
        }
        return events;
      },
      &appended));
  // The server as the request left it (REBUILD), not as its host may
  // already have moved it on.
  return LoadInstance(*log_, id, appended == Seq() ? Seq(UINT64_MAX) : appended);
}

Result<ImageId> ComputeService::CreateServerImage(
    const RequestContext& ctx, const InstanceId& id, const std::string& name,
    const std::map<std::string, std::string>& metadata,
    const std::optional<BackupSpec>& backup) {
  // Nova checks the server, the policy and its state before it creates the
  // image, so a refused request leaves no image (check_instance_state).
  CHRONOVA_ASSIGN_OR_RETURN(InstanceState s, LoadInstance(*log_, id, Seq(UINT64_MAX)));
  CHRONOVA_RETURN_IF_ERROR(CanSee(ctx, s));
  const char* policy =
      backup ? "os_compute_api:os-create-backup" : "os_compute_api:servers:create_image";
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, policy, PolicyTarget{s.project_id, UserId()}));
  const ImageId image_id(options_.env->NewUuid());
  SnapshotInstance command{image_id, name};
  if (backup) {
    command.backup = true;
    command.backup_type = backup->backup_type;
    command.rotation = backup->rotation;
  }
  CHRONOVA_RETURN_IF_ERROR(Decide(s, command).status());
  CHRONOVA_ASSIGN_OR_RETURN(
      ImageCreated image,
      SnapshotImage(ctx, s, image_id, name, backup ? "backup" : "snapshot"));
  for (const auto& [k, v] : metadata) image.properties[k] = v;
  // Nova's backup properties win over the request's metadata.
  if (backup) image.properties["backup_type"] = backup->backup_type;
  CHRONOVA_RETURN_IF_ERROR(
      CreateImageThenAct(ctx, id, image, "create-image",
                         [&](const InstanceState& now) -> Result<std::vector<Event>> {
                           CHRONOVA_RETURN_IF_ERROR(Authorize(
                               ctx, policy, PolicyTarget{now.project_id, UserId()}));
                           return Decide(now, command);
                         }));
  return image_id;
}

Result<ImageCreated> ComputeService::SnapshotImage(const RequestContext& ctx,
                                                   const InstanceState& s,
                                                   const ImageId& image_id,
                                                   const std::string& name,
                                                   const std::string& image_type) const {
  // nova/compute/utils.py create_image + initialize_instance_snapshot_metadata.
  ImageCreated image;
  image.image_id = image_id;
  image.name = name;
  image.disk_format = "qcow2";
  image.container_format = "bare";
  image.owner = ctx.project;
  image.visibility = ctx.project == s.project_id ? "private" : "shared";
  image.min_disk = s.flavor.root_gb;
  CHRONOVA_ASSIGN_OR_RETURN(auto images_reader, store_->Reader(ImagesProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<ImageRecord> base,
                            ImagesView(images_reader.get()).Get(s.image_id));
  if (base) {
    image.min_ram = base->image.min_ram;
    image.min_disk = std::max(image.min_disk, base->image.min_disk);
  }
  image.properties["image_type"] = image_type;
  image.properties["instance_uuid"] = s.id.str();
  image.properties["base_image_ref"] = s.image_id.str();
  image.properties["user_id"] = ctx.user.str();
  if (ctx.project != s.project_id) {
    image.properties["instance_owner"] = s.project_id.str();
  }
  return image;
}

Status ComputeService::CreateImageThenAct(const RequestContext& ctx, const InstanceId& id,
                                          const ImageCreated& image, const char* verb,
                                          const ServerDecider& decide) {
  // One stream per append: the image first, then the request that fills it.
  const EventMeta meta = ctx.Meta(options_.env->Now());
  const std::string key(verb);
  AppendRequest create;
  create.stream = ImageStream(image.image_id);
  create.expected = ExpectedVersion::NoStream();
  create.key = RequestKey(ctx, (key + "-record").c_str());
  create.events.push_back(MakeNewEvent(image, meta));
  CHRONOVA_RETURN_IF_ERROR(log_->Append(create).status());
  Status requested = ActOnServer(ctx, id, RequestKey(ctx, verb), decide);
  if (requested.ok()) return requested;
  // The server changed in between (Nova deletes the image in that case too).
  AppendRequest undo;
  undo.stream = ImageStream(image.image_id);
  undo.key = RequestKey(ctx, (key + "-undo").c_str());
  undo.events.push_back(MakeNewEvent(ImageDeleted{}, meta));
  Status undone = log_->Append(undo).status();
  if (!undone.ok()) {
    options_.env->Warn(
        {.role = "api", .request_id = ctx.request_id.str(), .instance_id = id.str()},
        "image " + image.image_id.str() + " left queued: " + undone.ToString());
  }
  return requested;
}

Status ComputeService::ConfirmResize(const RequestContext& ctx, const InstanceId& id) {
  return ActOnServerAs<chronova::ConfirmResize>(ctx, id, "confirm-resize",
                                                "os_compute_api:servers:confirm_resize");
}

Status ComputeService::RevertResize(const RequestContext& ctx, const InstanceId& id) {
  return ActOnServerAs<chronova::RevertResize>(ctx, id, "revert-resize",
                                               "os_compute_api:servers:revert_resize");
}

Status ComputeService::RescueServer(const RequestContext& ctx, const InstanceId& id,
                                    const std::string& rescue_image_ref) {
  InstanceRescueRequested request;
  request.image_id = ImageId(LastSegment(rescue_image_ref));
  // Nova answers UnsupportedRescueImage for an image it cannot fetch; chronova
  // also for one without data (Nova's host would fail to fetch it later).
  Status image_usable;
  if (!request.image_id.empty()) {
    image_usable = FindBootableImage(*store_, ctx, request.image_id).status();
    if (image_usable.IsNotFound() ||
        image_usable.code() == StatusCode::kInvalidArgument) {
      image_usable = Status::InvalidArgument("Requested rescue image '" +
                                             rescue_image_ref + "' is not supported");
    }
  }
  return ActOnServer(
      ctx, id, RequestKey(ctx, "rescue"),
      [&](const InstanceState& s) -> Result<std::vector<Event>> {
        CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, ActionPolicy(LifecycleAction::kRescue),
                                           PolicyTarget{s.project_id, s.user_id}));
        // Nova checks the lock and the state before the image.
        Result<std::vector<Event>> events =
            Decide(s, RescueInstance{request, ctx.IsAdmin()});
        if (events.ok() && !image_usable.ok()) return image_usable;
        return events;
      });
}

Status ComputeService::ResetServerState(const RequestContext& ctx, const InstanceId& id,
                                        const std::string& vm_state) {
  return ActOnServer(ctx, id, RequestKey(ctx, "reset-state"),
                     [&](const InstanceState& s) -> Result<std::vector<Event>> {
                       CHRONOVA_RETURN_IF_ERROR(
                           Authorize(ctx, "os_compute_api:os-admin-actions:reset_state",
                                     PolicyTarget{s.project_id, UserId()}));
                       Event e = InstanceStateReset{vm_state};
                       CHRONOVA_RETURN_IF_ERROR(CheckTransition(s, e));
                       return std::vector<Event>{std::move(e)};
                     });
}

Result<std::string> ComputeService::ConsoleOutput(const RequestContext& ctx,
                                                  const InstanceId& id, int length) {
  CHRONOVA_ASSIGN_OR_RETURN(InstanceState s,
                            GetServer(ctx, id, "os_compute_api:os-console-output"));
  if (!options_.console_output) {
    return Status::Unavailable("No compute host can be asked for console output.");
  }
  if (s.host.empty()) {
    return Status::Conflict("Instance " + id.str() + " is not ready");
  }
  CHRONOVA_ASSIGN_OR_RETURN(std::string log, options_.console_output(s.host, id, length));
  // Like Nova: decoded as ASCII with replacement, then the control characters
  // other than tab and newline removed ([\x00-\x08\x0B-\x1F]).
  std::string out;
  out.reserve(log.size());
  for (unsigned char c : log) {
    if (c >= 0x80) {
      out += "\xEF\xBF\xBD";  // U+FFFD, as Python's 'replace' decoding gives
    } else if (c >= 0x20 || c == '\t' || c == '\n') {
      out += static_cast<char>(c);
    }
  }
  return out;
}

Status ComputeService::RecordExternalEvent(const RequestContext& ctx,
                                           const InstanceId& id,
                                           const InstanceExternalEventReceived& event,
                                           size_t index) {
  return ActOnServer(ctx, id, RequestKey(ctx, ("event-" + std::to_string(index)).c_str()),
                     [&](const InstanceState& s) -> Result<std::vector<Event>> {
                       return Decide(s, chronova::RecordExternalEvent{event});
                     });
}

Result<ComputeService::ServerDiagnostics> ComputeService::GetServerDiagnostics(
    const RequestContext& ctx, const InstanceId& id) {
  CHRONOVA_ASSIGN_OR_RETURN(InstanceState s,
                            GetServer(ctx, id, "os_compute_api:os-server-diagnostics"));
  if (s.host.empty()) return Status::Conflict("Instance " + id.str() + " is not ready");
  if (!options_.diagnostics) {
    return Status::Unavailable("No compute host can be asked for diagnostics.");
  }
  CHRONOVA_ASSIGN_OR_RETURN(GuestDiagnostics guest, options_.diagnostics(s.host, id));
  return ServerDiagnostics{std::move(s), std::move(guest)};
}

Status ComputeService::AppendConsoleToken(const RequestContext& ctx, const InstanceId& id,
                                          const InstanceConsoleAuthorized& authorized,
                                          const std::string& method) {
  return ActOnServer(ctx, id, RequestKey(ctx, "console"),
                     [&](const InstanceState& s) -> Result<std::vector<Event>> {
                       return Decide(s, AuthorizeConsole{authorized, method});
                     });
}

Status ComputeService::ChangeAdminPassword(const RequestContext& ctx,
                                           const InstanceId& id) {
  return ActOnServerAs<chronova::ChangeAdminPassword>(ctx, id, "change-password",
                                                      "os_compute_api:os-admin-password");
}

Status ComputeService::LockServer(const RequestContext& ctx, const InstanceId& id,
                                  const std::string& reason) {
  return ActOnServer(
      ctx, id, RequestKey(ctx, "lock"),
      [&](const InstanceState& s) -> Result<std::vector<Event>> {
        CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-lock-server:lock",
                                           PolicyTarget{s.project_id, UserId()}));
        return Decide(s, LockInstance{ctx.IsAdmin(), reason});
      });
}

Status ComputeService::UnlockServer(const RequestContext& ctx, const InstanceId& id) {
  return ActOnServerAs<UnlockInstance>(ctx, id, "unlock",
                                       "os_compute_api:os-lock-server:unlock");
}

// Runs `decide` (after the visibility check) on the server's stream and returns
// the server as the projections show it right after.
template <typename DecideFn>
Result<InstanceState> ComputeService::Change(const RequestContext& ctx,
                                             const InstanceId& id, const char* verb,
                                             DecideFn decide_fn) {
  CHRONOVA_RETURN_IF_ERROR(ActOnServer(ctx, id, RequestKey(ctx, verb), decide_fn));
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ServersProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<InstanceState> s,
                            ServersView(reader.get()).Get(id));
  if (!s) return InstanceNotFound(id);
  return std::move(*s);
}

Result<InstanceState> ComputeService::UpdateServer(const RequestContext& ctx,
                                                   const InstanceId& id,
                                                   const UpdateServerRequest& req) {
  UpdateInstance cmd;
  cmd.update.has_name = req.name.has_value();
  cmd.update.name = req.name.value_or("");
  cmd.update.has_access_ipv4 = req.access_ipv4.has_value();
  cmd.update.access_ipv4 = req.access_ipv4.value_or("");
  cmd.update.has_access_ipv6 = req.access_ipv6.has_value();
  cmd.update.access_ipv6 = req.access_ipv6.value_or("");
  SetDescription(cmd.update, req.description);
  cmd.update.has_user_data = req.user_data.has_value();
  cmd.update.user_data = req.user_data.value_or("");
  return Change(
      ctx, id, "update", [&](const InstanceState& s) -> Result<std::vector<Event>> {
        CHRONOVA_RETURN_IF_ERROR(
            Authorize(ctx, "os_compute_api:servers:update", {s.project_id, {}}));
        if (req.user_data && s.vm_state != VmState::kStopped) {
          return Status::Conflict("Cannot change the user data of instance " +
                                  s.id.str() + " while it is in vm_state " +
                                  std::string(VmStateName(s.vm_state)));
        }
        CHRONOVA_ASSIGN_OR_RETURN(std::vector<Event> events, Decide(s, cmd));
        if (req.auto_disk_config)
          events.push_back(InstanceDiskConfigSet{*req.auto_disk_config});
        return events;
      });
}

Result<InstanceState> ComputeService::ChangeServerMetadata(const RequestContext& ctx,
                                                           const InstanceId& id,
                                                           std::string_view policy,
                                                           const MetadataChange& change) {
  ChangeMetadata cmd;
  cmd.set = change.set;
  cmd.replace = change.replace;
  if (change.removed) {
    cmd.removed.push_back(*change.removed);
    cmd.action = "delete metadata";
  }
  cmd.max_items = options_.metadata_items_limit;
  const std::string action = "os_compute_api:server-metadata:" + std::string(policy);
  return Change(ctx, id, "metadata",
                [&](const InstanceState& s) -> Result<std::vector<Event>> {
                  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, action, {s.project_id, {}}));
                  return Decide(s, cmd);
                });
}

Result<InstanceState> ComputeService::GetServer(const RequestContext& ctx,
                                                const InstanceId& id,
                                                std::string_view policy) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ServersProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<InstanceState> s,
                            ServersView(reader.get()).Get(id));
  if (!s) return InstanceNotFound(id);
  CHRONOVA_RETURN_IF_ERROR(CanSee(ctx, *s));
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, policy, {s->project_id, {}}));
  return std::move(*s);
}

Status ComputeService::CheckActionsOf(const RequestContext& ctx, const InstanceId& id,
                                      std::string_view policy, bool deleted_too) const {
  if (!deleted_too) return GetServer(ctx, id, policy).status();
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ServersProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<InstanceState> s,
                            ServersView(reader.get()).Get(id));
  if (!s || !s->exists) return InstanceNotFound(id);
  if (!ctx.IsAdmin() && s->project_id != ctx.project) return InstanceNotFound(id);
  return Authorize(ctx, policy, {s->project_id, {}});
}

Result<std::vector<InstanceAction>> ComputeService::ListInstanceActions(
    const RequestContext& ctx, const InstanceId& id, bool deleted_too) const {
  CHRONOVA_RETURN_IF_ERROR(
      CheckActionsOf(ctx, id, "os_compute_api:os-instance-actions:list", deleted_too));
  CHRONOVA_ASSIGN_OR_RETURN(auto reader,
                            store_->Reader(InstanceActionsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<InstanceActions> record,
                            InstanceActionsView(reader.get()).Get(id));
  if (!record) return std::vector<InstanceAction>();
  // Stored oldest first; Nova lists newest first (created_at, id descending).
  return std::vector<InstanceAction>(std::make_move_iterator(record->actions.rbegin()),
                                     std::make_move_iterator(record->actions.rend()));
}

Result<InstanceAction> ComputeService::GetInstanceAction(const RequestContext& ctx,
                                                         const InstanceId& id,
                                                         const RequestId& request_id,
                                                         bool deleted_too) const {
  CHRONOVA_RETURN_IF_ERROR(
      CheckActionsOf(ctx, id, "os_compute_api:os-instance-actions:show", deleted_too));
  CHRONOVA_ASSIGN_OR_RETURN(auto reader,
                            store_->Reader(InstanceActionsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<InstanceAction> action,
                            InstanceActionsView(reader.get()).GetAction(id, request_id));
  if (!action) return Status::NotFound("Action " + request_id.str() + " not found");
  return std::move(*action);
}

// ---- history (time travel) ---------------------------------------------------

namespace {

Status RequireAdmin(const RequestContext& ctx) {
  return Authorize(ctx, "chronova:history");
}

}  // namespace

Result<std::vector<Envelope>> ComputeService::ServerHistory(const RequestContext& ctx,
                                                            const InstanceId& id) const {
  CHRONOVA_RETURN_IF_ERROR(RequireAdmin(ctx));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<Envelope> events,
                            ReadWholeStream(*log_, InstanceStream(id)));
  if (events.empty()) return InstanceNotFound(id);
  return events;
}

Result<HistoryPoint> ComputeService::ResolveHistoryPoint(
    const RequestContext& ctx, const std::optional<std::string>& as_of) const {
  CHRONOVA_RETURN_IF_ERROR(RequireAdmin(ctx));
  HistoryPoint p;
  if (as_of) {
    CHRONOVA_ASSIGN_OR_RETURN(p.seq, time_travel_->Resolve(*as_of));
  } else {
    CHRONOVA_ASSIGN_OR_RETURN(p.seq, log_->Head());
  }
  if (p.seq.value() > 0) {
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<Envelope> one, log_->Read(p.seq, 1));
    if (!one.empty()) p.time = one.front().meta.time;
  }
  return p;
}

Result<InstanceState> ComputeService::GetServerAsOf(const RequestContext& ctx,
                                                    const InstanceId& id, Seq at) const {
  CHRONOVA_RETURN_IF_ERROR(RequireAdmin(ctx));
  CHRONOVA_ASSIGN_OR_RETURN(InstanceState s, InstanceAsOf(*log_, id, at));
  if (!s.exists) return InstanceNotFound(id);
  return s;
}

Result<std::vector<InstanceState>> ComputeService::ListServersAsOf(
    const RequestContext& ctx, Seq at) const {
  CHRONOVA_RETURN_IF_ERROR(RequireAdmin(ctx));
  CHRONOVA_ASSIGN_OR_RETURN(std::unique_ptr<ReadModelsAt> then,
                            time_travel_->ReadModelsAsOf(at));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<InstanceState> servers,
                            then->servers().List(ServersView::ListOptions()));
  SortNewestFirst(servers);
  return servers;
}

Result<std::vector<ImageRecord>> ComputeService::ListImages(
    const RequestContext& ctx) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ImagesProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<ImageRecord> all,
                            ImagesView(reader.get()).List());
  std::vector<ImageRecord> out;
  for (ImageRecord& i : all) {
    if (i.image.visibility == "public" || i.image.owner == ctx.project || ctx.IsAdmin()) {
      out.push_back(std::move(i));
    }
  }
  return out;
}

Result<ImageRecord> ComputeService::GetImage(const RequestContext& ctx,
                                             const ImageId& id) const {
  Result<ImageRecord> i = FindVisibleImage(*store_, ctx, id);
  if (i.status().IsNotFound()) {
    return Status::NotFound("Image " + id.str() + " could not be found.");
  }
  return i;
}

}  // namespace chronova
