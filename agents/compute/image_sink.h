// ImageSink: where a compute agent puts a snapshot's bytes (createImage). The
// counterpart of ImageSource: the image record already exists (queued, created
// by the Compute API with the snapshot request); the sink fills it with data,
// as a streamed upload to the Image API would (queued → saving → active, with
// size, md5 and sha512). On the image service's own node ImageService
// implements it; an agent on another host would PUT the file to
// /v2/images/{id}/file instead.
#pragma once

#include <string>

#include "core/envelope.h"
#include "core/status.h"
#include "core/types.h"

namespace chronova {

// Who the upload is for: the request and the caller of the createImage that
// asked for it (recorded on the image events, like any upload's).
struct ImageSinkContext {
  RequestId request_id;
  Actor actor;
};

class ImageSink {
 public:
  virtual ~ImageSink() = default;
  // Streams the file at `path` (left in place; the caller removes it) into the
  // queued image `id` and activates it. NotFound if the image is gone (deleted
  // meanwhile); Conflict if it is not queued (another upload took it, e.g. a
  // re-sent snapshot); on any other failure the image is queued again with no
  // data. Thread-safe.
  virtual Status Store(const ImageId& id, const std::string& path,
                       const ImageSinkContext& ctx) = 0;
  // Deletes the image record (and any data): a snapshot that failed leaves no
  // image behind, as Nova deletes it. OK if it is already gone. Thread-safe.
  virtual Status Discard(const ImageId& id, const ImageSinkContext& ctx) = 0;
  // True if image `id` is active with its data (an upload finished).
  virtual Result<bool> Uploaded(const ImageId& id) const = 0;
  // A backup's rotation (Nova's _rotate_backups): of the instance's backups of
  // `backup_type` (image properties image_type=backup, backup_type,
  // instance_uuid), all but the newest `rotation` are deleted. Thread-safe.
  virtual Status RotateBackups(const InstanceId& instance, const std::string& backup_type,
                               int rotation, const ImageSinkContext& ctx) = 0;
};

}  // namespace chronova
