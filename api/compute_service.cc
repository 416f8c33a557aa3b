#include "api/compute_service.h"

#include <algorithm>

#include "api/policy.h"
#include "core/instance_decider.h"
#include "eventstore/command_handler.h"
#include "projections/servers_projection.h"

namespace chronova {
namespace {

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
  CHRONOVA_ASSIGN_OR_RETURN(auto flavors_reader,
                            store_->Reader(FlavorsProjection::kName));
  std::string flavor_id = LastSegment(req.flavor_ref);
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<FlavorRecord> flavor,
                            FlavorsView(flavors_reader.get()).Get(FlavorId(flavor_id)));
  if (!flavor || !(ctx.IsAdmin() || flavor->VisibleTo(ctx.project)))
    return Status::InvalidArgument("Flavor " + flavor_id + " could not be found.");
  CHRONOVA_ASSIGN_OR_RETURN(auto images_reader, store_->Reader(ImagesProjection::kName));
  std::string image_id = LastSegment(req.image_ref);
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<ImageRecord> image,
                            ImagesView(images_reader.get()).Get(ImageId(image_id)));
  if (!image) return Status::InvalidArgument("Can not find requested image");
  if (image->image.min_ram > flavor->spec.memory_mb) {
    return Status::InvalidArgument("Flavor's memory is too small for requested image.");
  }
  if (image->image.min_disk > flavor->spec.root_gb && flavor->spec.root_gb > 0) {
    return Status::InvalidArgument("Flavor's disk is too small for requested image.");
  }

  if (!req.key_name.empty()) {
    CHRONOVA_ASSIGN_OR_RETURN(auto keypairs_reader,
                              store_->Reader(KeypairsProjection::kName));
    CHRONOVA_ASSIGN_OR_RETURN(
        std::optional<KeypairRecord> key,
        KeypairsView(keypairs_reader.get()).Get(ctx.user, req.key_name));
    if (!key) return Status::InvalidArgument("Invalid key_name provided.");
  }

  CreateServerResult result;
  result.reservation_id = "r-" + options_.env->NewUuid().substr(0, 8);
  std::vector<InstanceId> new_ids;
  for (int i = 0; i < req.max_count; ++i) new_ids.emplace_back(options_.env->NewUuid());
  // As Nova: as many as fit, between min_count and max_count (403 otherwise).
  CHRONOVA_ASSIGN_OR_RETURN(size_t admitted,
                            ReserveQuota(ctx, flavor->spec, new_ids, req.min_count));
  const int count = static_cast<int>(admitted);
  Seq last;
  std::vector<InstanceId> ids;
  for (int i = 0; i < count; ++i) {
    InstanceRequested r;
    r.instance_id = new_ids[static_cast<size_t>(i)];
    // Nova's multi_instance_display_name_template: "%(name)s-%(count)d".
    r.name = count > 1 ? req.name + "-" + std::to_string(i + 1) : req.name;
    r.project_id = ctx.project;
    r.user_id = ctx.user;
    r.flavor = flavor->spec;
    r.image_id = ImageId(image_id);
    r.availability_zone = req.availability_zone;
    r.key_name = req.key_name;
    r.metadata = req.metadata;
    r.user_data = req.user_data;
    r.reservation_id = result.reservation_id;
    r.launch_index = i;
    r.scheduler_hints = req.scheduler_hints;
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<Event> events,
                              Decide(InstanceState{}, CreateInstance{r}));
    AppendRequest append;
    append.stream = InstanceStream(r.instance_id);
    append.expected = ExpectedVersion::NoStream();
    append.key = IdempotencyKey("create-" + r.instance_id.str());
    for (const Event& e : events)
      append.events.push_back(MakeNewEvent(e, ctx.Meta(options_.env->Now())));
    CHRONOVA_ASSIGN_OR_RETURN(AppendResult appended, log_->Append(append));
    last = appended.last_seq;
    ids.push_back(r.instance_id);
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

Status ComputeService::DeleteServer(const RequestContext& ctx, const InstanceId& id) {
  InstanceState initial;
  initial.id = id;
  auto decide = [&](const InstanceState& s) -> Result<std::vector<Event>> {
    CHRONOVA_RETURN_IF_ERROR(CanSee(ctx, s));
    return Decide(s, DeleteInstance{});
  };
  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome out,
      HandleCommand(*log_, InstanceStream(id), initial, FoldInstance, InstanceVersion,
                    decide, ctx.Meta(options_.env->Now()),
                    IdempotencyKey("delete-" + ctx.request_id.str())));
  if (out.appended) CHRONOVA_RETURN_IF_ERROR(WaitFor(out.append.last_seq));
  return Status::Ok();
}

Result<InstanceState> ComputeService::GetServer(const RequestContext& ctx,
                                                const InstanceId& id) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ServersProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<InstanceState> s,
                            ServersView(reader.get()).Get(id));
  if (!s) return InstanceNotFound(id);
  CHRONOVA_RETURN_IF_ERROR(CanSee(ctx, *s));
  return std::move(*s);
}

Result<std::vector<InstanceState>> ComputeService::ListServers(
    const RequestContext& ctx, const ListServersQuery& q) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ServersProjection::kName));
  ServersView view(reader.get());
  ServersView::ListOptions opts;
  if (!(q.all_tenants && ctx.IsAdmin())) opts.project = ctx.project;
  opts.include_deleted = q.changes_since.has_value();
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<InstanceState> all, view.List(opts));
  std::vector<InstanceState> out;
  for (InstanceState& s : all) {
    if (q.changes_since && s.updated_at < *q.changes_since) continue;
    if (q.name && s.name.find(*q.name) == std::string::npos) continue;
    if (q.status && ApiStatus(s) != *q.status) continue;
    if (q.host && ctx.IsAdmin() && s.host.str() != *q.host) continue;
    out.push_back(std::move(s));
  }
  SortNewestFirst(out);
  size_t begin = 0;
  if (q.marker) {
    auto it = std::find_if(out.begin(), out.end(), [&](const InstanceState& s) {
      return s.id.str() == *q.marker;
    });
    if (it == out.end())
      return Status::InvalidArgument("marker [" + *q.marker + "] not found");
    begin = static_cast<size_t>(it - out.begin()) + 1;
  }
  size_t end = std::min(out.size(), begin + static_cast<size_t>(std::max(q.limit, 0)));
  return std::vector<InstanceState>(std::make_move_iterator(out.begin() + begin),
                                    std::make_move_iterator(out.begin() + end));
}

Result<std::vector<InstanceAction>> ComputeService::ListInstanceActions(
    const RequestContext& ctx, const InstanceId& id) const {
  CHRONOVA_RETURN_IF_ERROR(GetServer(ctx, id).status());
  CHRONOVA_ASSIGN_OR_RETURN(auto reader,
                            store_->Reader(InstanceActionsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<InstanceActions> record,
                            InstanceActionsView(reader.get()).Get(id));
  if (!record) return std::vector<InstanceAction>();
  // Stored oldest first; Nova lists newest first (created_at, id descending).
  return std::vector<InstanceAction>(std::make_move_iterator(record->actions.rbegin()),
                                     std::make_move_iterator(record->actions.rend()));
}

Result<InstanceAction> ComputeService::GetInstanceAction(
    const RequestContext& ctx, const InstanceId& id, const RequestId& request_id) const {
  CHRONOVA_RETURN_IF_ERROR(GetServer(ctx, id).status());
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
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ImagesProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<ImageRecord> i,
                            ImagesView(reader.get()).Get(id));
  if (!i || !(i->image.visibility == "public" || i->image.owner == ctx.project ||
              ctx.IsAdmin())) {
    return Status::NotFound("Image " + id.str() + " could not be found.");
  }
  return std::move(*i);
}

}  // namespace chronova
