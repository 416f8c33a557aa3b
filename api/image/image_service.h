// ImageService: the command and query side of the Image API v2 (Glance), free
// of HTTP. Image metadata are events on image/<id> streams (core/image_state.h);
// the bytes live in a blob store on disk, <blob_dir>/<id>, written only by
// renaming a fully received and hashed upload into place. The HTTP layer
// (api/image/image_handler.cc) parses, calls this and renders.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agents/compute/image_sink.h"
#include "agents/compute/image_source.h"
#include "api/http/json.h"
#include "core/env.h"
#include "core/image_state.h"
#include "core/request_context.h"
#include "eventstore/event_log.h"
#include "projections/catalog_projections.h"
#include "projections/projection_runner.h"
#include "projections/projection_store.h"

namespace chronova {

// The validated body of POST /v2/images.
struct NewImage {
  std::string id;  // empty: a new uuid
  std::string name;
  std::string disk_format;       // empty: unset (null)
  std::string container_format;  // empty: unset (null)
  std::string visibility;        // empty: "shared", Glance's default
  std::string owner;             // empty: the caller's project
  int32_t min_disk = 0;
  int32_t min_ram = 0;
  bool is_protected = false;
  std::vector<std::string> tags;
  std::map<std::string, std::string> properties;
};

// One operation of a JSON patch (application/openstack-images-v2.1-json-patch).
struct ImagePatchOp {
  enum class Kind { kAdd, kReplace, kRemove };
  Kind kind = Kind::kAdd;
  std::string path;  // "/name", "/tags", "/os_distro" (JSON pointer, decoded)
  Json value;        // unused for remove
};

struct ImageListQuery {
  std::optional<std::string> name;        // exact
  std::optional<std::string> status;      // queued, saving, active
  std::optional<std::string> visibility;  // public, private, shared, community, all
  std::optional<std::string> owner;
  std::optional<std::string> disk_format;
  std::optional<std::string> container_format;
  std::vector<std::string> tags;                  // all of them
  std::map<std::string, std::string> properties;  // any other filter: exact match
  std::optional<std::string> marker;  // id of the last image of the previous page
  int limit = 25;
  // (key, ascending) in priority order; created_at and id (descending) break ties.
  std::vector<std::pair<std::string, bool>> sort;
};

struct ImageServiceOptions {
  Env* env = Env::Default();
  int wait_timeout_ms = 10000;  // read-your-writes wait for the projections
  // REQUIRED: where image data live, <state_dir>/images. Created if missing.
  std::string blob_dir;
  // Uploads larger than this are refused (413); Glance's image_size_cap.
  uint64_t max_image_size = uint64_t{10} << 30;
  // This process's own directory under blob_dir/.incoming: several api
  // processes that share blob_dir each clear only their own leftovers at
  // start. Empty: blob_dir/.incoming itself.
  std::string incoming_name;
};

// The sort keys Glance accepts.
bool IsImageSortKey(const std::string& key);

// An image id a caller gave, resolved as GET /v2/images/{id} resolves it: the
// image if `ctx` may see it (ImageVisibleTo: public, community, its own
// project's; admins see all). NotFound ("No image found with ID <id>") alike
// for an unknown, deleted or invisible image, so no answer tells that another
// project's private image exists. Every API call that takes an image id from
// a caller resolves it here (or with FindBootableImage) before it appends
// anything: the Image API's reads, server create, rebuild, rescue and the
// Compute API's image proxy. Reads the images read model of `store`.
Result<ImageRecord> FindVisibleImage(const ProjectionStore& store,
                                     const RequestContext& ctx, const ImageId& id);

// FindVisibleImage for an image a server is to boot from (create, rebuild,
// rescue): also InvalidArgument "Image <id> is not active." (Nova's
// ImageNotActive, a 400) unless the image is active, i.e. has its data.
Result<ImageRecord> FindBootableImage(const ProjectionStore& store,
                                      const RequestContext& ctx, const ImageId& id);

class ImageService : public ImageSource, public ImageSink {
 public:
  // Borrows everything; `store` must hold the images projection fed by `runner`.
  ImageService(EventLog* log, ProjectionStore* store, const ProjectionRunner* runner,
               ImageServiceOptions options);

  // The directory uploads are streamed into before Upload (blob_dir/.incoming),
  // on the blob store's file system.
  std::string IncomingDir() const;
  // Creates the blob directories. Call once before serving.
  Status Init();

  // Glance's errors: InvalidArgument 400, PermissionDenied 403, NotFound 404
  // (also for images the caller may not see), Conflict 409 (id taken).
  Result<ImageRecord> Create(const RequestContext& ctx, const NewImage& image);
  Result<ImageRecord> Get(const RequestContext& ctx, const ImageId& id) const;
  // Visible images, filtered, sorted and paged. InvalidArgument for a marker
  // that is not in the list.
  Result<std::vector<ImageRecord>> List(const RequestContext& ctx,
                                        const ImageListQuery& query) const;
  // Applies the patch to the current metadata; Conflict (409) for replace or
  // remove of an absent property, PermissionDenied for read-only attributes.
  Result<ImageRecord> Update(const RequestContext& ctx, const ImageId& id,
                             const std::vector<ImagePatchOp>& patch);
  // PermissionDenied if protected or not the caller's. Removes the data too.
  Status Delete(const RequestContext& ctx, const ImageId& id);

  // Stores `file` (a complete upload of `size` bytes, in IncomingDir()) as the
  // image's data: queued → saving → active with its size, md5 and sha512. The
  // file is moved away on success. Conflict if the image is not queued (or
  // another upload won); on any failure after "saving" the image is queued
  // again and no data is kept.
  Result<ImageRecord> Upload(const RequestContext& ctx, const ImageId& id,
                             const std::string& file, uint64_t size);
  // Whether the caller may upload data to `id` now, as Upload would decide
  // it on the read model: asked before a byte of the body is read, so that a
  // refused upload never reaches the disk. NotFound (not visible, or gone),
  // PermissionDenied, InvalidArgument (formats unset), Conflict (not queued).
  Status CheckUpload(const RequestContext& ctx, const ImageId& id) const;
  // The image's data for GET .../file: a blob with an empty path when the
  // image has none (HTTP 204).
  Result<ImageBlob> Download(const RequestContext& ctx, const ImageId& id) const;

  // ImageSource: any image's data by id, for agents (no caller context).
  Result<ImageBlob> Open(const ImageId& id) const override;

  // ImageSink: a compute agent's snapshot, copied into IncomingDir() and
  // stored as Upload stores a file (no caller policy: the createImage request
  // was authorized when the image was created).
  Status Store(const ImageId& id, const std::string& path,
               const ImageSinkContext& ctx) override;
  Status Discard(const ImageId& id, const ImageSinkContext& ctx) override;
  Result<bool> Uploaded(const ImageId& id) const override;
  Status RotateBackups(const InstanceId& instance, const std::string& backup_type,
                       int rotation, const ImageSinkContext& ctx) override;

  uint64_t max_image_size() const { return options_.max_image_size; }

 private:
  Status WaitFor(Seq seq) const;
  Result<std::optional<ImageRecord>> Lookup(const ImageId& id) const;
  std::string BlobPath(const ImageId& id) const;
  // Upload's work once the caller is checked: `check` may refuse the image as
  // folded; `file` (in IncomingDir()) is hashed, renamed into the blob store
  // and the image activated, or the image is queued again.
  Result<ImageRecord> StoreFile(const ImageId& id, const std::string& file, uint64_t size,
                                const EventMeta& meta, const std::string& key_suffix,
                                const std::function<Status(const ImageState&)>& check);

  EventLog* const log_;
  ProjectionStore* const store_;
  const ProjectionRunner* const runner_;
  const ImageServiceOptions options_;
};

}  // namespace chronova
