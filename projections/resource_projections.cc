#include "projections/resource_projections.h"

#include "projections/records.h"

namespace chronova {
namespace {

// Ids may hold any character but NUL, so NUL separates the parts of a key.
std::string KeypairKey(const UserId& user, const std::string& name) {
  return "u/" + user.str() + std::string(1, '\0') + name;
}
std::string KeypairPrefix(const UserId& user) {
  return "u/" + user.str() + std::string(1, '\0');
}
std::string ProjectKey(const ProjectId& p) { return "p/" + p.str(); }
std::string UserKey(const ProjectId& p, const UserId& u) {
  return "u/" + p.str() + std::string(1, '\0') + u.str();
}
std::string ClassKey(const std::string& name) { return "c/" + name; }

Result<std::map<std::string, int64_t>> LimitsAt(const ReadModelReader& r,
                                                const std::string& key) {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<QuotaLimitsRecord> rec,
                            GetRecord<QuotaLimitsRecord>(r, key));
  if (!rec) return std::map<std::string, int64_t>();
  return std::move(rec->limits);
}

Status MergeLimits(ReadModelWriter& w, const std::string& key,
                   const std::map<std::string, int64_t>& limits) {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<QuotaLimitsRecord> rec,
                            GetRecord<QuotaLimitsRecord>(w, key));
  QuotaLimitsRecord r = rec.value_or(QuotaLimitsRecord());
  for (const auto& [k, v] : limits) r.limits[k] = v;
  PutRecord(w, key, std::move(r));
  return Status::Ok();
}

}  // namespace

Status KeypairsProjection::Apply(const Envelope& env, const Event& event,
                                 ReadModelWriter& w) {
  if (StreamKind(env.stream) != "keypair") return Status::Ok();
  UserId user(std::string(StreamKey(env.stream)));
  if (const auto* created = std::get_if<KeypairCreated>(&event)) {
    PutRecord(w, KeypairKey(user, created->name), KeypairRecord{*created, env.meta.time});
  } else if (const auto* deleted = std::get_if<KeypairDeleted>(&event)) {
    w.Delete(KeypairKey(user, deleted->name));
  } else if (const auto* tagged = std::get_if<KeypairTagsSet>(&event)) {
    CHRONOVA_ASSIGN_OR_RETURN(
        std::optional<KeypairRecord> r,
        GetRecord<KeypairRecord>(w, KeypairKey(user, tagged->name)));
    if (r) {
      r->tags = tagged->tags;
      PutRecord(w, KeypairKey(user, tagged->name), *r);
    }
  }
  return Status::Ok();
}

Status QuotasProjection::Apply(const Envelope&, const Event& event, ReadModelWriter& w) {
  if (const auto* set = std::get_if<QuotaLimitsSet>(&event)) {
    return MergeLimits(w,
                       set->user_id.empty() ? ProjectKey(set->project_id)
                                            : UserKey(set->project_id, set->user_id),
                       set->limits);
  }
  if (const auto* del = std::get_if<QuotaLimitsDeleted>(&event)) {
    w.Delete(del->user_id.empty() ? ProjectKey(del->project_id)
                                  : UserKey(del->project_id, del->user_id));
  } else if (const auto* cls = std::get_if<QuotaClassSet>(&event)) {
    return MergeLimits(w, ClassKey(cls->class_name), cls->limits);
  }
  return Status::Ok();
}

Result<std::optional<KeypairRecord>> KeypairsView::Get(const UserId& user,
                                                       const std::string& name) const {
  return GetRecord<KeypairRecord>(*reader_, KeypairKey(user, name));
}

Result<std::vector<KeypairRecord>> KeypairsView::List(const UserId& user) const {
  return ScanRecords<KeypairRecord>(*reader_, KeypairPrefix(user));
}

Result<std::map<std::string, int64_t>> QuotasView::Project(
    const ProjectId& project) const {
  return LimitsAt(*reader_, ProjectKey(project));
}

Result<std::map<std::string, int64_t>> QuotasView::User(const ProjectId& project,
                                                        const UserId& user) const {
  return LimitsAt(*reader_, UserKey(project, user));
}

Result<std::map<std::string, int64_t>> QuotasView::Class(const std::string& name) const {
  return LimitsAt(*reader_, ClassKey(name));
}

}  // namespace chronova
