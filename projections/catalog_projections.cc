#include "projections/catalog_projections.h"

#include "core/codec.h"

namespace chronova {
namespace {

std::string IdKey(std::string_view id) { return "id/" + std::string(id); }

// Loads every record under "id/" in key order.
template <typename Record>
Result<std::vector<Record>> LoadAll(const ReadModelReader* reader) {
  std::vector<Record> out;
  Status inner;
  CHRONOVA_RETURN_IF_ERROR(
      reader->Scan("id/", "", [&](std::string_view k, std::string_view v) {
        Record r;
        inner = DecodePortable(v, &r).WithContext(std::string(k));
        if (!inner.ok()) return false;
        out.push_back(std::move(r));
        return true;
      }));
  CHRONOVA_RETURN_IF_ERROR(inner);
  return out;
}

template <typename Record>
Result<std::optional<Record>> LoadOne(const ReadModelReader* reader,
                                      const std::string& id) {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<std::string> stored, reader->Get(IdKey(id)));
  if (!stored) return std::optional<Record>();
  Record r;
  CHRONOVA_RETURN_IF_ERROR(DecodePortable(*stored, &r).WithContext(IdKey(id)));
  return std::optional<Record>(std::move(r));
}

}  // namespace

Status FlavorsProjection::Apply(const Envelope& env, const Event& event,
                                ReadModelWriter& w) {
  if (StreamKind(env.stream) != "flavor") return Status::Ok();
  std::string key = IdKey(StreamKey(env.stream));
  if (const auto* created = std::get_if<FlavorCreated>(&event)) {
    FlavorRecord r{created->flavor, created->is_public, created->description,
                   env.meta.time};
    w.Put(key, EncodePortable(r));
  } else if (std::holds_alternative<FlavorDeleted>(event)) {
    w.Delete(key);
  }
  return Status::Ok();
}

Status ImagesProjection::Apply(const Envelope& env, const Event& event,
                               ReadModelWriter& w) {
  if (StreamKind(env.stream) != "image") return Status::Ok();
  if (const auto* reg = std::get_if<ImageRegistered>(&event)) {
    ImageRecord r{*reg, "active", env.meta.time, env.meta.time};
    w.Put(IdKey(StreamKey(env.stream)), EncodePortable(r));
  }
  return Status::Ok();
}

Result<std::optional<FlavorRecord>> FlavorsView::Get(const FlavorId& id) const {
  return LoadOne<FlavorRecord>(reader_, id.str());
}

Result<std::vector<FlavorRecord>> FlavorsView::List() const {
  return LoadAll<FlavorRecord>(reader_);
}

Result<std::optional<ImageRecord>> ImagesView::Get(const ImageId& id) const {
  return LoadOne<ImageRecord>(reader_, id.str());
}

Result<std::vector<ImageRecord>> ImagesView::List() const {
  return LoadAll<ImageRecord>(reader_);
}

}  // namespace chronova
