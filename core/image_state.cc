#include "core/image_state.h"

#include <type_traits>

namespace chronova {

StreamId ImageStream(const ImageId& id) { return StreamId("image/" + id.str()); }

void ApplyImageEvent(ImageState& s, const Envelope& env, const Event& e) {
  std::visit(
      [&](const auto& ev) {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, ImageRegistered>) {
          // The all-in-one's seeded record: active, data (if any) elsewhere.
          s.exists = true;
          s.image = ev;
          s.status = kImageActive;
          s.created_at = env.meta.time;
        } else if constexpr (std::is_same_v<T, ImageCreated>) {
          s.exists = true;
          s.image = ImageRegistered{};
          s.image.image_id = ev.image_id;
          s.image.name = ev.name;
          s.image.disk_format = ev.disk_format;
          s.image.container_format = ev.container_format;
          s.image.visibility = ev.visibility;
          s.image.owner = ev.owner;
          s.image.min_disk = ev.min_disk;
          s.image.min_ram = ev.min_ram;
          s.image.properties = ev.properties;
          s.is_protected = ev.is_protected;
          s.tags = ev.tags;
          s.status = kImageQueued;
          s.created_at = env.meta.time;
        } else if constexpr (std::is_same_v<T, ImageUploadStarted>) {
          s.status = kImageSaving;
        } else if constexpr (std::is_same_v<T, ImageUploadFailed>) {
          s.status = kImageQueued;
        } else if constexpr (std::is_same_v<T, ImageActivated>) {
          s.status = kImageActive;
          s.image.size = ev.size;
          s.image.checksum = ev.checksum;
          s.os_hash_algo = ev.os_hash_algo;
          s.os_hash_value = ev.os_hash_value;
        } else if constexpr (std::is_same_v<T, ImageUpdated>) {
          s.image.name = ev.name;
          s.image.visibility = ev.visibility;
          s.image.min_disk = ev.min_disk;
          s.image.min_ram = ev.min_ram;
          s.image.properties = ev.properties;
          s.is_protected = ev.is_protected;
          s.tags = ev.tags;
        } else if constexpr (std::is_same_v<T, ImageDeleted>) {
          s.status = kImageDeleted;
        } else {
          return;  // not an image event
        }
        s.version = env.version;
        s.updated_at = env.meta.time;
      },
      e);
}

bool ImageVisibleTo(const ImageState& image, const RequestContext& ctx) {
  const std::string& v = image.image.visibility;
  return v == "public" || v == "community" || image.image.owner == ctx.project ||
         ctx.IsAdmin();
}

Status CheckImageUpload(const ImageState& s) {
  if (!s.exists || s.status == kImageDeleted) {
    return Status::NotFound("No image found with ID " + s.image.image_id.str());
  }
  if (s.image.disk_format.empty() || s.image.container_format.empty()) {
    return Status::InvalidArgument(
        "Properties disk_format, container_format must be set prior to saving data.");
  }
  if (s.status != kImageQueued) {
    return Status::Conflict("Image status transition from " + s.status +
                            " to saving is not allowed");
  }
  return Status::Ok();
}

}  // namespace chronova
