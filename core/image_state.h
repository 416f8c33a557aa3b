// The image aggregate (stream image/<id>): its state folded from the image
// events, and the one place that knows which image transitions are legal
// (Glance's queued → saving → active, back to queued when an upload fails).
// The images read model stores exactly this state, so the Image API, the
// Compute API's image proxy and the decisions below all see the same image.
#pragma once

#include <string>
#include <vector>

#include "core/envelope.h"
#include "core/events.h"
#include "core/request_context.h"
#include "core/status.h"

namespace chronova {

// Glance's image statuses that chronova uses.
inline constexpr char kImageQueued[] = "queued";
inline constexpr char kImageSaving[] = "saving";
inline constexpr char kImageActive[] = "active";
inline constexpr char kImageDeleted[] = "deleted";

StreamId ImageStream(const ImageId& id);

struct ImageState {
  bool exists = false;    // an image.created / image.registered was folded
  StreamVersion version;  // the stream version folded so far
  // id, name, formats, size, min_disk/min_ram, visibility, owner, checksum
  // (md5) and custom properties.
  ImageRegistered image;
  std::string status;  // kImage*
  bool is_protected = false;
  std::vector<std::string> tags;
  std::string os_hash_algo;  // empty until active
  std::string os_hash_value;
  Timestamp created_at;
  Timestamp updated_at;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(exists), CEREAL_NVP(version), CEREAL_NVP(image), CEREAL_NVP(status),
       CEREAL_NVP(is_protected), CEREAL_NVP(tags), CEREAL_NVP(os_hash_algo),
       CEREAL_NVP(os_hash_value), CEREAL_NVP(created_at), CEREAL_NVP(updated_at));
  }
};

// Folds one event of the image's stream (others are ignored). Deterministic:
// times come from the envelope.
void ApplyImageEvent(ImageState& s, const Envelope& env, const Event& e);

// Can this caller see the image at all (GET by id, boot)? Public and community
// images: everyone; private and shared (no image members yet): their owner's
// project and admins.
bool ImageVisibleTo(const ImageState& image, const RequestContext& ctx);

// May data be uploaded now? NotFound for no (or a deleted) image; InvalidArgument
// (Glance's 400) when disk_format or container_format is unset; Conflict
// (Glance's 409) unless the image is queued.
Status CheckImageUpload(const ImageState& s);

}  // namespace chronova
