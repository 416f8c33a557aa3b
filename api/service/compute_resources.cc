// ComputeService's keypairs, flavor administration, quotas and limits: the
// per-user and per-project resources of the Compute API. Each command is
// decided on its own stream (keypair/<user>, flavor/<id>, quota/<project>,
// quota-usage/<project>) and appended with that stream's expected version.
#include <algorithm>
#include <set>

#include "api/auth/policy.h"
#include "api/service/admin_service.h"
#include "api/service/compute_service.h"
#include "api/service/keypair_crypto.h"
#include "api/service/quotas.h"
#include "eventstore/command_handler.h"
#include "projections/servers_projection.h"

namespace chronova {
namespace {

// The stream version a fold reached, for HandleCommand.
struct Versioned {
  StreamVersion version;
};

// keypair/<user> folded: the names it holds.
struct KeypairsState : Versioned {
  std::set<std::string> names;
};

void FoldKeypairs(KeypairsState& s, const Envelope& env, const Event& e) {
  s.version = env.version;
  if (const auto* c = std::get_if<KeypairCreated>(&e)) s.names.insert(c->name);
  if (const auto* d = std::get_if<KeypairDeleted>(&e)) s.names.erase(d->name);
}

// flavor/<id> folded: what its commands decide on.
struct FlavorState : Versioned {
  bool exists = false;
  bool is_public = true;
  std::set<ProjectId> access;
  std::map<std::string, std::string> extra_specs;
};

void FoldFlavor(FlavorState& s, const Envelope& env, const Event& e) {
  s.version = env.version;
  if (const auto* c = std::get_if<FlavorCreated>(&e)) {
    s = FlavorState{{env.version}, true, c->is_public, {}, c->flavor.extra_specs};
  } else if (std::holds_alternative<FlavorDeleted>(e)) {
    s = FlavorState();  // deleted: a later create starts afresh
    s.version = env.version;
  } else if (const auto* a = std::get_if<FlavorAccessAdded>(&e)) {
    s.access.insert(a->project_id);
  } else if (const auto* r = std::get_if<FlavorAccessRemoved>(&e)) {
    s.access.erase(r->project_id);
  } else if (const auto* set = std::get_if<FlavorExtraSpecsSet>(&e)) {
    for (const auto& [k, v] : set->extra_specs) s.extra_specs[k] = v;
  } else if (const auto* d = std::get_if<FlavorExtraSpecDeleted>(&e)) {
    s.extra_specs.erase(d->key);
  }
}

template <typename State>
StreamVersion VersionOf(const State& s) {
  return s.version;
}

Status FlavorNotFound(const FlavorId& id) {
  return Status::NotFound("Flavor " + id.str() + " could not be found.");
}

// Nova's TooManyInstances: "Quota exceeded for cores, ram: Requested 4, 2048,
// but already used 19, 50000 of 20, 51200 cores, ram".
Status TooManyInstances(const std::vector<std::string>& overs,
                        const std::map<std::string, std::string>& requested,
                        const std::map<std::string, int64_t>& used,
                        const std::map<std::string, int64_t>& limits) {
  auto join = [&](auto field) {
    std::string out;
    for (const std::string& r : overs) out += (out.empty() ? "" : ", ") + field(r);
    return out;
  };
  std::string names = join([](const std::string& r) { return r; });
  return Status::PermissionDenied(
      "Quota exceeded for " + names + ": Requested " +
      join([&](const std::string& r) { return requested.at(r); }) +
      ", but already used " +
      join([&](const std::string& r) { return std::to_string(used.at(r)); }) + " of " +
      join([&](const std::string& r) { return std::to_string(limits.at(r)); }) + " " +
      names);
}

}  // namespace

// ---- keypairs -----------------------------------------------------------------

Result<std::vector<KeypairRecord>> ComputeService::ListKeypairs(
    const RequestContext& ctx, const UserId& user) const {
  const UserId& who = user.empty() ? ctx.user : user;
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-keypairs:index", {{}, who}));
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(KeypairsProjection::kName));
  return KeypairsView(reader.get()).List(who);
}

Result<KeypairRecord> ComputeService::GetKeypair(const RequestContext& ctx,
                                                 const UserId& user,
                                                 const std::string& name) const {
  const UserId& who = user.empty() ? ctx.user : user;
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-keypairs:show", {{}, who}));
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(KeypairsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<KeypairRecord> k,
                            KeypairsView(reader.get()).Get(who, name));
  if (!k) return Status::NotFound("Keypair " + name + " not found for user " + who.str());
  return std::move(*k);
}

Result<CreatedKeypair> ComputeService::CreateKeypair(const RequestContext& ctx,
                                                     const CreateKeypairRequest& req) {
  const UserId who = req.user.empty() ? ctx.user : req.user;
  CHRONOVA_RETURN_IF_ERROR(
      Authorize(ctx, "os_compute_api:os-keypairs:create", {{}, who}));
  CreatedKeypair out;
  KeypairCreated created;
  created.user_id = who;
  created.name = req.name;
  created.type = req.type;
  const bool x509 = req.type == "x509";
  if (req.public_key) {
    CHRONOVA_ASSIGN_OR_RETURN(created.fingerprint, x509
                                                       ? X509Fingerprint(*req.public_key)
                                                       : SshFingerprint(*req.public_key));
    created.public_key = *req.public_key;
  } else {
    CHRONOVA_ASSIGN_OR_RETURN(
        GeneratedKeypair g, x509 ? GenerateX509Keypair(who.str()) : GenerateRsaKeypair());
    created.public_key = g.public_key;
    created.fingerprint = g.fingerprint;
    out.private_key = std::move(g.private_key);
  }
  CHRONOVA_ASSIGN_OR_RETURN(auto limits, EffectiveLimits(ctx.project, who));
  const int64_t limit = limits["key_pairs"];
  // The name and the count are decided on the user's own stream, appended
  // with its expected version: two concurrent creates cannot both take the
  // last slot or the same name.
  auto decide = [&](const KeypairsState& s) -> Result<std::vector<Event>> {
    if (limit >= 0 && static_cast<int64_t>(s.names.size()) + 1 > limit) {
      return Status::PermissionDenied("Quota exceeded, too many key pairs.");
    }
    if (s.names.count(req.name)) {
      return Status::Conflict("Key pair '" + req.name + "' already exists.");
    }
    return std::vector<Event>{created};
  };
  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome done,
      HandleCommand(*log_, KeypairStream(who), KeypairsState{}, FoldKeypairs,
                    VersionOf<KeypairsState>, decide, ctx.Meta(options_.env->Now()),
                    IdempotencyKey("keypair-" + ctx.request_id.str())));
  CHRONOVA_RETURN_IF_ERROR(WaitFor(done.append.last_seq));
  CHRONOVA_ASSIGN_OR_RETURN(out.record, GetKeypair(ctx, who, req.name));
  return out;
}

Status ComputeService::DeleteKeypair(const RequestContext& ctx, const UserId& user,
                                     const std::string& name) {
  const UserId who = user.empty() ? ctx.user : user;
  CHRONOVA_RETURN_IF_ERROR(
      Authorize(ctx, "os_compute_api:os-keypairs:delete", {{}, who}));
  auto decide = [&](const KeypairsState& s) -> Result<std::vector<Event>> {
    if (!s.names.count(name))
      return Status::NotFound("Keypair " + name + " not found for user " + who.str());
    return std::vector<Event>{KeypairDeleted{name}};
  };
  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome done,
      HandleCommand(*log_, KeypairStream(who), KeypairsState{}, FoldKeypairs,
                    VersionOf<KeypairsState>, decide, ctx.Meta(options_.env->Now()),
                    IdempotencyKey("keypair-delete-" + ctx.request_id.str())));
  if (done.appended) CHRONOVA_RETURN_IF_ERROR(WaitFor(done.append.last_seq));
  return Status::Ok();
}

Result<KeypairRecord> ComputeService::SetKeypairTags(
    const RequestContext& ctx, const std::string& name,
    const std::map<std::string, std::string>& tags) {
  CHRONOVA_RETURN_IF_ERROR(
      Authorize(ctx, "os_compute_api:os-keypairs:create", {{}, ctx.user}));
  auto decide = [&](const KeypairsState& s) -> Result<std::vector<Event>> {
    if (!s.names.count(name))
      return Status::NotFound("Keypair " + name + " not found for user " +
                              ctx.user.str());
    return std::vector<Event>{KeypairTagsSet{name, tags}};
  };
  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome done,
      HandleCommand(*log_, KeypairStream(ctx.user), KeypairsState{}, FoldKeypairs,
                    VersionOf<KeypairsState>, decide, ctx.Meta(options_.env->Now()),
                    IdempotencyKey("keypair-tags-" + ctx.request_id.str() + "-" + name)));
  if (done.appended) CHRONOVA_RETURN_IF_ERROR(WaitFor(done.append.last_seq));
  return GetKeypair(ctx, UserId(), name);
}

Result<int64_t> ComputeService::CountKeypairs(const UserId& user) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(KeypairsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<KeypairRecord> all,
                            KeypairsView(reader.get()).List(user));
  return static_cast<int64_t>(all.size());
}

// ---- flavors ------------------------------------------------------------------

Result<std::vector<FlavorRecord>> ComputeService::ListFlavors(
    const RequestContext& ctx) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(FlavorsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<FlavorRecord> all,
                            FlavorsView(reader.get()).List());
  std::vector<FlavorRecord> out;
  for (FlavorRecord& f : all) {
    if (ctx.IsAdmin() || f.VisibleTo(ctx.project)) out.push_back(std::move(f));
  }
  return out;
}

Result<FlavorRecord> ComputeService::GetFlavor(const RequestContext& ctx,
                                               const FlavorId& id) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(FlavorsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<FlavorRecord> f,
                            FlavorsView(reader.get()).Get(id));
  // A private flavor is invisible (404) to projects without access, as in Nova.
  if (!f || !(ctx.IsAdmin() || f->VisibleTo(ctx.project))) return FlavorNotFound(id);
  return std::move(*f);
}

template <typename Decider>
Status ComputeService::ActOnFlavor(const RequestContext& ctx, const FlavorId& id,
                                   const char* verb, Decider decide) {
  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome done,
      HandleCommand(*log_, FlavorStream(id), FlavorState{}, FoldFlavor,
                    VersionOf<FlavorState>, decide, ctx.Meta(options_.env->Now()),
                    IdempotencyKey(std::string(verb) + "-" + ctx.request_id.str())));
  if (done.appended) CHRONOVA_RETURN_IF_ERROR(WaitFor(done.append.last_seq));
  return Status::Ok();
}

Result<FlavorRecord> ComputeService::CreateFlavor(const RequestContext& ctx,
                                                  const CreateFlavorRequest& req) {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-flavor-manage:create"));
  FlavorCreated created;
  created.flavor.id = FlavorId(req.id ? *req.id : options_.env->NewUuid());
  created.flavor.name = req.name;
  created.flavor.vcpus = req.vcpus;
  created.flavor.memory_mb = req.memory_mb;
  created.flavor.root_gb = req.root_gb;
  created.flavor.ephemeral_gb = req.ephemeral_gb;
  created.flavor.swap_mb = req.swap_mb;
  created.is_public = req.is_public;
  created.description = req.description;
  // Names are checked against the read model: two admins creating one name at
  // the same instant may both succeed (ids, the flavor's stream, cannot).
  {
    CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(FlavorsProjection::kName));
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<FlavorRecord> all,
                              FlavorsView(reader.get()).List());
    for (const FlavorRecord& f : all) {
      if (f.spec.name == req.name)
        return Status::Conflict("Flavor with name " + req.name + " already exists.");
    }
  }
  const FlavorId id = created.flavor.id;
  auto decide = [&](const FlavorState& s) -> Result<std::vector<Event>> {
    if (s.exists)
      return Status::Conflict("Flavor with ID " + id.str() + " already exists.");
    return std::vector<Event>{created};
  };
  CHRONOVA_RETURN_IF_ERROR(ActOnFlavor(ctx, id, "flavor-create", decide));
  return GetFlavor(ctx, id);
}

Result<FlavorRecord> ComputeService::SetFlavorDescription(
    const RequestContext& ctx, const FlavorId& id, const std::string& description) {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-flavor-manage:update"));
  auto decide = [&](const FlavorState& s) -> Result<std::vector<Event>> {
    if (!s.exists) return FlavorNotFound(id);
    return std::vector<Event>{FlavorDescriptionSet{description}};
  };
  CHRONOVA_RETURN_IF_ERROR(ActOnFlavor(ctx, id, "flavor-update", decide));
  return GetFlavor(ctx, id);
}

Status ComputeService::DeleteFlavor(const RequestContext& ctx, const FlavorId& id) {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-flavor-manage:delete"));
  auto decide = [&](const FlavorState& s) -> Result<std::vector<Event>> {
    if (!s.exists) return FlavorNotFound(id);
    return std::vector<Event>{FlavorDeleted{}};
  };
  CHRONOVA_RETURN_IF_ERROR(ActOnFlavor(ctx, id, "flavor-delete", decide));
  return Status::Ok();
}

Result<std::vector<ProjectId>> ComputeService::ListFlavorAccess(
    const RequestContext& ctx, const FlavorId& id) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-flavor-access"));
  CHRONOVA_ASSIGN_OR_RETURN(FlavorRecord f, GetFlavor(ctx, id));
  if (f.is_public)
    return Status::NotFound("Access list not available for public flavors.");
  return f.access;
}

Result<std::vector<ProjectId>> ComputeService::AddFlavorAccess(const RequestContext& ctx,
                                                               const FlavorId& id,
                                                               const ProjectId& project,
                                                               bool refuse_public) {
  CHRONOVA_RETURN_IF_ERROR(
      Authorize(ctx, "os_compute_api:os-flavor-access:add_tenant_access"));
  auto decide = [&](const FlavorState& s) -> Result<std::vector<Event>> {
    if (!s.exists) return FlavorNotFound(id);
    if (refuse_public && s.is_public) {
      return Status::Conflict("Can not add access to a public flavor.");
    }
    if (s.access.count(project)) {
      return Status::Conflict("Flavor access already exists for flavor " + id.str() +
                              " and project " + project.str() + " combination.");
    }
    return std::vector<Event>{FlavorAccessAdded{project}};
  };
  CHRONOVA_RETURN_IF_ERROR(ActOnFlavor(ctx, id, "flavor-access", decide));
  CHRONOVA_ASSIGN_OR_RETURN(FlavorRecord f, GetFlavor(ctx, id));
  return f.access;
}

Result<std::vector<ProjectId>> ComputeService::RemoveFlavorAccess(
    const RequestContext& ctx, const FlavorId& id, const ProjectId& project) {
  CHRONOVA_RETURN_IF_ERROR(
      Authorize(ctx, "os_compute_api:os-flavor-access:remove_tenant_access"));
  auto decide = [&](const FlavorState& s) -> Result<std::vector<Event>> {
    if (!s.exists) return FlavorNotFound(id);
    if (!s.access.count(project)) {
      return Status::NotFound("Flavor access not found for " + id.str() + " / " +
                              project.str() + " combination.");
    }
    return std::vector<Event>{FlavorAccessRemoved{project}};
  };
  CHRONOVA_RETURN_IF_ERROR(ActOnFlavor(ctx, id, "flavor-access", decide));
  CHRONOVA_ASSIGN_OR_RETURN(FlavorRecord f, GetFlavor(ctx, id));
  return f.access;
}

Status ComputeService::SetFlavorExtraSpecs(
    const RequestContext& ctx, const FlavorId& id,
    const std::map<std::string, std::string>& specs) {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-flavor-extra-specs:create"));
  auto decide = [&](const FlavorState& s) -> Result<std::vector<Event>> {
    if (!s.exists) return FlavorNotFound(id);
    return std::vector<Event>{FlavorExtraSpecsSet{specs}};
  };
  return ActOnFlavor(ctx, id, "flavor-specs", decide);
}

Status ComputeService::DeleteFlavorExtraSpec(const RequestContext& ctx,
                                             const FlavorId& id, const std::string& key) {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-flavor-extra-specs:delete"));
  auto decide = [&](const FlavorState& s) -> Result<std::vector<Event>> {
    if (!s.exists) return FlavorNotFound(id);
    if (!s.extra_specs.count(key)) {
      return Status::NotFound("Flavor " + id.str() + " has no extra specs with key " +
                              key + ".");
    }
    return std::vector<Event>{FlavorExtraSpecDeleted{key}};
  };
  return ActOnFlavor(ctx, id, "flavor-specs", decide);
}

// ---- quotas -------------------------------------------------------------------

Result<std::map<std::string, int64_t>> ComputeService::DefaultQuotas(
    const RequestContext& ctx, const ProjectId& project) const {
  CHRONOVA_RETURN_IF_ERROR(
      Authorize(ctx, "os_compute_api:os-quota-sets:defaults", {project, {}}));
  return EffectiveLimits(ProjectId(), UserId());
}

Result<std::map<std::string, int64_t>> ComputeService::EffectiveLimits(
    const ProjectId& project, const UserId& user) const {
  std::map<std::string, int64_t> limits =
      options_.quota_defaults.empty() ? DefaultQuotaLimits() : options_.quota_defaults;
  for (const auto& [k, v] : DefaultQuotaLimits()) limits.emplace(k, v);
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(QuotasProjection::kName));
  QuotasView view(reader.get());
  CHRONOVA_ASSIGN_OR_RETURN(auto by_class, view.Class("default"));
  for (const auto& [k, v] : by_class) limits[k] = v;
  if (project.empty()) return limits;
  CHRONOVA_ASSIGN_OR_RETURN(auto by_project, view.Project(project));
  for (const auto& [k, v] : by_project) limits[k] = v;
  if (user.empty()) return limits;
  CHRONOVA_ASSIGN_OR_RETURN(auto by_user, view.User(project, user));
  for (const auto& [k, v] : by_user) limits[k] = v;
  return limits;
}

Result<std::map<std::string, QuotaValue>> ComputeService::GetQuotas(
    const RequestContext& ctx, const ProjectId& project, const UserId& user,
    bool usages) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx,
                                     usages ? "os_compute_api:os-quota-sets:detail"
                                            : "os_compute_api:os-quota-sets:show",
                                     {project, {}}));
  return QuotasWithUsage(project, user, usages);
}

Result<std::map<std::string, QuotaValue>> ComputeService::GetLimits(
    const RequestContext& ctx, const std::optional<ProjectId>& tenant) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:limits"));
  ProjectId project = ctx.project;
  // nova/api/openstack/compute/limits.py: a tenant_id is checked against
  // other_project whatever project it names (403, not the caller's own limits).
  if (tenant) {
    CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:limits:other_project"));
    project = *tenant;
  }
  return QuotasWithUsage(project, UserId(), /*usages=*/true);
}

Result<std::map<std::string, QuotaValue>> ComputeService::QuotasWithUsage(
    const ProjectId& project, const UserId& user, bool usages) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto limits, EffectiveLimits(project, user));
  std::map<std::string, QuotaValue> out;
  for (const auto& [k, v] : limits) out[k].limit = v;
  if (usages) {
    CHRONOVA_ASSIGN_OR_RETURN(QuotaUsage used, CountUsage(project, user));
    out["instances"].in_use = used.instances;
    out["cores"].in_use = used.cores;
    out["ram"].in_use = used.ram;
    CHRONOVA_ASSIGN_OR_RETURN(out["server_groups"].in_use, CountServerGroups(project));
    // key_pairs are per user: Nova counts them for a user's quota set only.
    if (!user.empty()) {
      CHRONOVA_ASSIGN_OR_RETURN(out["key_pairs"].in_use, CountKeypairs(user));
    }
  }
  return out;
}

Result<std::map<std::string, int64_t>> ComputeService::UpdateQuotas(
    const RequestContext& ctx, const ProjectId& project, const UserId& user,
    const std::map<std::string, int64_t>& limits, bool force) {
  CHRONOVA_RETURN_IF_ERROR(
      Authorize(ctx, "os_compute_api:os-quota-sets:update", {project, {}}));
  if (!force) {
    // nova/api/openstack/compute/quota_sets.py _validate_quota_limit: not
    // under what is used (counted resources only).
    CHRONOVA_ASSIGN_OR_RETURN(QuotaUsage used, CountUsage(project, user));
    std::map<std::string, int64_t> in_use = {
        {"instances", used.instances}, {"cores", used.cores}, {"ram", used.ram}};
    CHRONOVA_ASSIGN_OR_RETURN(in_use["server_groups"], CountServerGroups(project));
    if (!user.empty()) {
      CHRONOVA_ASSIGN_OR_RETURN(in_use["key_pairs"], CountKeypairs(user));
    }
    for (const auto& [k, v] : limits) {
      auto it = in_use.find(k);
      if (it == in_use.end() || v == -1) continue;
      if (v < it->second) {
        return Status::InvalidArgument("Quota limit " + std::to_string(v) + " for " + k +
                                       " must be greater than or equal to already used "
                                       "and reserved " +
                                       std::to_string(it->second) + ".");
      }
    }
  }
  if (!limits.empty()) {
    AppendRequest append;
    append.stream = QuotaStream(project);
    append.expected = ExpectedVersion::Any();
    append.key = IdempotencyKey("quota-" + ctx.request_id.str());
    append.events.push_back(MakeNewEvent(QuotaLimitsSet{project, user, limits},
                                         ctx.Meta(options_.env->Now())));
    CHRONOVA_ASSIGN_OR_RETURN(AppendResult done, log_->Append(append));
    CHRONOVA_RETURN_IF_ERROR(WaitFor(done.last_seq));
  }
  return EffectiveLimits(project, user);
}

Status ComputeService::DeleteQuotas(const RequestContext& ctx, const ProjectId& project,
                                    const UserId& user) {
  CHRONOVA_RETURN_IF_ERROR(
      Authorize(ctx, "os_compute_api:os-quota-sets:delete", {project, {}}));
  AppendRequest append;
  append.stream = QuotaStream(project);
  append.expected = ExpectedVersion::Any();
  append.key = IdempotencyKey("quota-delete-" + ctx.request_id.str());
  append.events.push_back(
      MakeNewEvent(QuotaLimitsDeleted{project, user}, ctx.Meta(options_.env->Now())));
  CHRONOVA_ASSIGN_OR_RETURN(AppendResult done, log_->Append(append));
  return WaitFor(done.last_seq);
}

Result<std::map<std::string, int64_t>> ComputeService::GetQuotaClass(
    const RequestContext& ctx, const std::string& name) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-quota-class-sets:show"));
  // Only the "default" class is used by Nova; any other shows the defaults
  // with its own overrides.
  std::map<std::string, int64_t> limits =
      options_.quota_defaults.empty() ? DefaultQuotaLimits() : options_.quota_defaults;
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(QuotasProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(auto by_class, QuotasView(reader.get()).Class(name));
  for (const auto& [k, v] : by_class) limits[k] = v;
  return limits;
}

Result<std::map<std::string, int64_t>> ComputeService::UpdateQuotaClass(
    const RequestContext& ctx, const std::string& name,
    const std::map<std::string, int64_t>& limits) {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-quota-class-sets:update"));
  if (!limits.empty()) {
    AppendRequest append;
    append.stream = QuotaClassStream(name);
    append.expected = ExpectedVersion::Any();
    append.key = IdempotencyKey("quota-class-" + ctx.request_id.str());
    append.events.push_back(
        MakeNewEvent(QuotaClassSet{name, limits}, ctx.Meta(options_.env->Now())));
    CHRONOVA_ASSIGN_OR_RETURN(AppendResult done, log_->Append(append));
    CHRONOVA_RETURN_IF_ERROR(WaitFor(done.last_seq));
  }
  return GetQuotaClass(ctx, name);
}

// ---- usage and its admission --------------------------------------------------

Result<ComputeService::UsageStream> ComputeService::LoadUsageStream(
    const ProjectId& project) const {
  std::lock_guard<std::mutex> lock(usage_mu_);
  UsageStream& s = usage_streams_[project];
  constexpr size_t kChunk = 256;
  while (true) {
    CHRONOVA_ASSIGN_OR_RETURN(
        std::vector<Envelope> events,
        log_->ReadStream(QuotaUsageStream(project), s.version.next(), kChunk));
    for (const Envelope& env : events) {
      CHRONOVA_ASSIGN_OR_RETURN(Event e, DecodeEvent(env));
      if (const auto* r = std::get_if<QuotaUsageReserved>(&e)) {
        for (const InstanceId& id : r->instance_ids) {
          s.admitted[id] = Admission{r->user_id, r->vcpus, r->memory_mb, env.meta.time};
        }
      }
      s.version = env.version;
    }
    if (events.size() < kChunk) break;
  }
  // Admissions past quota_reservation_expire_s never count again: forgotten,
  // so what a check copies and walks is the last few minutes' admissions.
  const int64_t expire = options_.quota_reservation_expire_s * 1000000;
  const Timestamp now = options_.env->Now();
  std::erase_if(s.admitted, [&](const auto& entry) {
    return now.micros - entry.second.at.micros > expire;
  });
  return s;
}

Result<QuotaUsage> ComputeService::CountUsage(const ProjectId& project,
                                              const UserId& user) const {
  CHRONOVA_ASSIGN_OR_RETURN(UsageStream admitted, LoadUsageStream(project));
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ServersProjection::kName));
  // The servers read model keeps the usage as servers change: two records,
  // not every server of the project.
  const ServersView servers(reader.get());
  QuotaUsage u;
  // Admitted but not yet projected (or not yet appended): count them, unless
  // the admission is so old that its server will never come (LoadUsageStream
  // keeps only the young ones). One the read model knows is counted there.
  // The admissions are looked up before the usage is read: the reader is not a
  // snapshot, and a server the read model shows now is in the usage read
  // after it (the read model never forgets one), so none is missed. One
  // projected between the two reads counts twice for this one decision, which
  // refuses rather than admits too many.
  const int64_t expire = options_.quota_reservation_expire_s * 1000000;
  const Timestamp now = options_.env->Now();
  std::vector<InstanceId> projected;
  for (const auto& [id, a] : admitted.admitted) {
    if (now.micros - a.at.micros > expire) continue;
    CHRONOVA_ASSIGN_OR_RETURN(std::optional<InstanceState> known, servers.Get(id));
    if (known) {
      projected.push_back(id);
      continue;
    }
    if (!user.empty() && a.user != user) continue;
    u.instances += 1;
    u.cores += a.vcpus;
    u.ram += a.memory_mb;
  }
  CHRONOVA_ASSIGN_OR_RETURN(ServerUsage used, servers.Usage(project, user));
  u.instances += used.instances;
  u.cores += used.cores;
  u.ram += used.ram;
  // The read model never forgets a server: an admission it shows is done with.
  if (!projected.empty()) {
    std::lock_guard<std::mutex> lock(usage_mu_);
    UsageStream& cached = usage_streams_[project];
    for (const InstanceId& id : projected) cached.admitted.erase(id);
  }
  return u;
}

namespace {

// The most of `t`'s servers that fit under `limits` beside `used`, at most
// `allowed`; sets *over (once) to Nova's TooManyInstances when fewer than its
// min_count fit.
template <typename Ticket>
int FitUnder(const Ticket& t, const std::map<std::string, int64_t>& limits,
             const QuotaUsage& used, int allowed, Status* over) {
  std::map<std::string, int64_t> in_use = {
      {"cores", used.cores}, {"instances", used.instances}, {"ram", used.ram}};
  std::map<std::string, int64_t> per = {
      {"cores", t.flavor->vcpus}, {"instances", 1}, {"ram", t.flavor->memory_mb}};
  std::vector<std::string> overs;  // sorted, as Nova reports them
  int fit = t.max_count;
  for (const auto& [r, each] : per) {
    int64_t limit = limits.at(r);
    if (limit < 0) continue;
    if (in_use[r] + each * int64_t{t.max_count} > limit) overs.push_back(r);
    if (each > 0)
      fit = static_cast<int>(
          std::min<int64_t>(fit, std::max<int64_t>(0, (limit - in_use[r]) / each)));
  }
  if (overs.empty()) return allowed;
  if (fit < t.min_count && over->ok()) {
    std::map<std::string, std::string> requested = {
        {"instances", t.min_count == t.max_count ? std::to_string(t.min_count)
                                                 : std::to_string(t.min_count) + "-" +
                                                       std::to_string(t.max_count)},
        {"cores", std::to_string(int64_t{t.flavor->vcpus} * t.max_count)},
        {"ram", std::to_string(int64_t{t.flavor->memory_mb} * t.max_count)}};
    *over = TooManyInstances(overs, requested, in_use, limits);
  }
  return std::min(allowed, fit);
}

void Add(QuotaUsage& u, int64_t n, const FlavorSpec& f) {
  u.instances += n;
  u.cores += n * f.vcpus;
  u.ram += n * f.memory_mb;
}

}  // namespace

// How two concurrent creates are kept from both passing when only one fits:
// every admission is an event on quota-usage/<project>, appended with the
// version of that stream this decision read. Usage is the servers read model
// plus the admissions it does not show yet, so an admission is counted from
// the moment it is appended, before its instance.requested is even written. Two
// API calls that read the same version race on the append: the loser gets
// Conflict, re-reads (now counting the winner's admission) and decides again.
// The same holds across API processes on JetStream (expected last subject seq).
Result<size_t> ComputeService::ReserveQuota(const RequestContext& ctx,
                                            const FlavorSpec& flavor, int min_count,
                                            int max_count, std::vector<InstanceId>* ids,
                                            const std::string& id_seed) {
  if (min_count > kMaxServersPerRequest) {
    return Status::InvalidArgument("min_count must be at most " +
                                   std::to_string(kMaxServersPerRequest));
  }
  const ProjectId& project = ctx.project;
  CHRONOVA_ASSIGN_OR_RETURN(auto project_limits, EffectiveLimits(project, UserId()));
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(QuotasProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(auto user_set,
                            QuotasView(reader.get()).User(project, ctx.user));
  // Nova checks per-user limits only when the user has instances/cores/ram set.
  const bool check_user =
      user_set.count("instances") || user_set.count("cores") || user_set.count("ram");
  CHRONOVA_ASSIGN_OR_RETURN(auto user_limits, EffectiveLimits(project, ctx.user));
  auto unlimited = [](const std::map<std::string, int64_t>& l) {
    return l.at("instances") < 0 && l.at("cores") < 0 && l.at("ram") < 0;
  };
  // Nothing to enforce: no admission needed (usage is counted from the read
  // models whenever limits are set later).
  if (unlimited(project_limits) && (!check_user || unlimited(user_limits))) {
    MakeServerIds(std::min(max_count, kMaxServersPerRequest), id_seed, ids);
    return ids->size();
  }
  AdmissionTicket ticket{&ctx,
                         &flavor,
                         min_count,
                         max_count,
                         &id_seed,
                         std::move(project_limits),
                         std::move(user_limits),
                         check_user,
                         ids,
                         std::nullopt};
  AdmissionStripe& stripe =
      admission_[std::hash<ProjectId>()(project) % kAdmissionStripes];
  std::unique_lock<std::mutex> lock(stripe.mu);
  stripe.queue.push_back(&ticket);
  for (;;) {
    stripe.decided.wait(lock, [&] { return ticket.result || !stripe.leading; });
    if (ticket.result) return std::move(*ticket.result);
    // No batch under way: this create leads one for its project's queue.
    stripe.leading = true;
    std::vector<AdmissionTicket*> batch;
    std::erase_if(stripe.queue, [&](AdmissionTicket* t) {
      if (t->ctx->project != project) return false;
      batch.push_back(t);
      return true;
    });
    lock.unlock();
    // Decided outside the lock; the results are handed over under it (a
    // waiting create reads its ticket under the lock), and every ticket gets
    // one even if deciding throws, so no create of the stripe waits for ever.
    std::vector<Result<size_t>> results;
    try {
      results = AdmitBatch(project, batch);
    } catch (const std::exception& e) {
      results.assign(batch.size(), Status::Internal(std::string("quota: ") + e.what()));
    }
    lock.lock();
    for (size_t i = 0; i < batch.size(); ++i) batch[i]->result = std::move(results[i]);
    stripe.leading = false;
    stripe.decided.notify_all();
  }
}

void ComputeService::MakeServerIds(int n, const std::string& id_seed,
                                   std::vector<InstanceId>* ids) const {
  // Ids are made only for the servers admitted, never for what was asked.
  ids->clear();
  for (int i = 0; i < n; ++i) {
    ids->emplace_back(id_seed.empty()
                          ? options_.env->NewUuid()
                          : NameBasedUuid(id_seed + "/instance/" + std::to_string(i)));
  }
}

std::vector<Result<size_t>> ComputeService::AdmitBatch(
    const ProjectId& project, const std::vector<AdmissionTicket*>& batch) {
  auto fail_all = [&](const Status& st) {
    return std::vector<Result<size_t>>(batch.size(), st);
  };
  for (int attempt = 0; attempt < 64; ++attempt) {
    Result<UsageStream> stream = LoadUsageStream(project);
    if (!stream.ok()) return fail_all(stream.status());
    Result<QuotaUsage> project_used = CountUsage(project, UserId());
    if (!project_used.ok()) return fail_all(project_used.status());
    // Usage of the users with limits of their own, read when first needed;
    // what this batch admitted so far, by user.
    std::map<UserId, QuotaUsage> users_used;
    std::map<UserId, QuotaUsage> batch_by_user;
    std::vector<std::optional<Result<size_t>>> results(batch.size());
    AppendRequest append;
    append.stream = QuotaUsageStream(project);
    append.expected = ExpectedVersion::Exactly(stream->version);
    for (size_t i = 0; i < batch.size(); ++i) {
      AdmissionTicket& t = *batch[i];
      Status over;
      int allowed = FitUnder(t, t.project_limits, *project_used,
                             std::min(t.max_count, kMaxServersPerRequest), &over);
      QuotaUsage* user_used = nullptr;
      if (t.check_user) {
        auto it = users_used.find(t.ctx->user);
        if (it == users_used.end()) {
          Result<QuotaUsage> u = CountUsage(project, t.ctx->user);
          if (!u.ok()) return fail_all(u.status());
          const QuotaUsage& earlier = batch_by_user[t.ctx->user];
          u->instances += earlier.instances;
          u->cores += earlier.cores;
          u->ram += earlier.ram;
          it = users_used.emplace(t.ctx->user, *u).first;
        }
        user_used = &it->second;
        allowed = FitUnder(t, t.user_limits, *user_used, allowed, &over);
      }
      if (!over.ok()) {
        results[i] = over;
        continue;
      }
      MakeServerIds(allowed, *t.id_seed, t.ids);
      // The next decisions of this batch count this one's servers.
      Add(*project_used, allowed, *t.flavor);
      Add(batch_by_user[t.ctx->user], allowed, *t.flavor);
      if (auto u = users_used.find(t.ctx->user); u != users_used.end())
        Add(u->second, allowed, *t.flavor);
      results[i] = static_cast<size_t>(allowed);
      QuotaUsageReserved reserved;
      reserved.project_id = project;
      reserved.user_id = t.ctx->user;
      reserved.instance_ids = *t.ids;
      reserved.vcpus = t.flavor->vcpus;
      reserved.memory_mb = t.flavor->memory_mb;
      // The batch's key is its first admission's request: each request is
      // admitted in one batch only.
      if (append.events.empty())
        append.key = IdempotencyKey("admit-" + t.ctx->request_id.str());
      append.events.push_back(MakeNewEvent(reserved, t.ctx->Meta(options_.env->Now())));
    }
    Status appended = Status::Ok();
    if (!append.events.empty()) appended = log_->Append(append).status();
    if (appended.ok()) {
      std::vector<Result<size_t>> out;
      out.reserve(batch.size());
      for (auto& r : results) out.push_back(std::move(*r));
      return out;
    }
    if (!appended.IsConflict()) return fail_all(appended);
  }
  return fail_all(Status::Unavailable("quota: too much contention on " +
                                      QuotaUsageStream(project).str()));
}

Status ComputeService::CheckResizeQuota(const InstanceState& s, const FlavorSpec& to) {
  // nova/compute/api.py _check_quota_for_upsize: only the growth counts.
  std::map<std::string, int64_t> delta = {
      {"cores", int64_t{to.vcpus} - s.flavor.vcpus},
      {"ram", int64_t{to.memory_mb} - s.flavor.memory_mb}};
  if (delta["cores"] <= 0 && delta["ram"] <= 0) return Status::Ok();
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(QuotasProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(auto user_set,
                            QuotasView(reader.get()).User(s.project_id, s.user_id));
  const bool check_user = user_set.count("cores") || user_set.count("ram");
  auto check = [&](const UserId& user) -> Status {
    CHRONOVA_ASSIGN_OR_RETURN(auto limits, EffectiveLimits(s.project_id, user));
    if (limits.at("cores") < 0 && limits.at("ram") < 0) return Status::Ok();  // unlimited
    CHRONOVA_ASSIGN_OR_RETURN(QuotaUsage used, CountUsage(s.project_id, user));
    std::map<std::string, int64_t> in_use = {{"cores", used.cores}, {"ram", used.ram}};
    std::vector<std::string> overs;
    std::map<std::string, std::string> requested;
    for (const auto& [r, d] : delta) {
      requested[r] = std::to_string(std::max<int64_t>(d, 0));
      if (d > 0 && limits.at(r) >= 0 && in_use[r] + d > limits.at(r)) overs.push_back(r);
    }
    if (overs.empty()) return Status::Ok();
    return TooManyInstances(overs, requested, in_use, limits);
  };
  CHRONOVA_RETURN_IF_ERROR(check(UserId()));
  if (check_user) CHRONOVA_RETURN_IF_ERROR(check(s.user_id));
  return Status::Ok();
}

}  // namespace chronova
