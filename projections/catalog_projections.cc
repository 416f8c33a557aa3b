#include "projections/catalog_projections.h"

#include <algorithm>

#include "projections/records.h"

namespace chronova {
namespace {

std::string IdKey(std::string_view id) { return "id/" + std::string(id); }

}  // namespace

Status FlavorsProjection::Apply(const Envelope& env, const Event& event,
                                ReadModelWriter& w) {
  if (StreamKind(env.stream) != "flavor") return Status::Ok();
  std::string key = IdKey(StreamKey(env.stream));
  if (const auto* created = std::get_if<FlavorCreated>(&event)) {
    FlavorRecord r;
    r.spec = created->flavor;
    r.is_public = created->is_public;
    r.description = created->description;
    r.created_at = env.meta.time;
    PutRecord(w, key, std::move(r));
    return Status::Ok();
  }
  if (std::holds_alternative<FlavorDeleted>(event)) {
    w.Delete(key);
    return Status::Ok();
  }
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<FlavorRecord> r,
                            GetRecord<FlavorRecord>(w, key));
  if (!r) return Status::Ok();  // a change to a flavor deleted meanwhile
  if (const auto* added = std::get_if<FlavorAccessAdded>(&event)) {
    auto it = std::lower_bound(r->access.begin(), r->access.end(), added->project_id);
    if (it == r->access.end() || *it != added->project_id)
      r->access.insert(it, added->project_id);
  } else if (const auto* removed = std::get_if<FlavorAccessRemoved>(&event)) {
    std::erase(r->access, removed->project_id);
  } else if (const auto* set = std::get_if<FlavorExtraSpecsSet>(&event)) {
    for (const auto& [k, v] : set->extra_specs) r->spec.extra_specs[k] = v;
  } else if (const auto* del = std::get_if<FlavorExtraSpecDeleted>(&event)) {
    r->spec.extra_specs.erase(del->key);
  } else if (const auto* d = std::get_if<FlavorDescriptionSet>(&event)) {
    r->description = d->description;
  } else {
    return Status::Ok();
  }
  PutRecord(w, key, std::move(*r));
  return Status::Ok();
}

bool FlavorRecord::VisibleTo(const ProjectId& project) const {
  return is_public || std::binary_search(access.begin(), access.end(), project);
}

Status ImagesProjection::Apply(const Envelope& env, const Event& event,
                               ReadModelWriter& w) {
  if (StreamKind(env.stream) != "image") return Status::Ok();
  std::string key = IdKey(StreamKey(env.stream));
  if (std::holds_alternative<ImageDeleted>(event)) {
    w.Delete(key);
    return Status::Ok();
  }
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<ImageRecord> stored,
                            GetRecord<ImageRecord>(w, key));
  ImageRecord r = stored ? std::move(*stored) : ImageRecord();
  ApplyImageEvent(r, env, event);
  if (r.exists) PutRecord(w, key, std::move(r));
  return Status::Ok();
}

Result<std::optional<FlavorRecord>> FlavorsView::Get(const FlavorId& id) const {
  return GetRecord<FlavorRecord>(*reader_, IdKey(id.str()));
}

Result<std::vector<FlavorRecord>> FlavorsView::List() const {
  return ScanRecords<FlavorRecord>(*reader_, "id/");
}

Result<std::optional<ImageRecord>> ImagesView::Get(const ImageId& id) const {
  return GetRecord<ImageRecord>(*reader_, IdKey(id.str()));
}

Result<std::vector<ImageRecord>> ImagesView::List() const {
  return ScanRecords<ImageRecord>(*reader_, "id/");
}

}  // namespace chronova
