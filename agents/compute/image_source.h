// ImageSource: how a compute agent gets an image's bytes (docs/architecture.md,
// "The flow of a boot": fetch once into _base/). On the image service's own
// node the data are a file in its blob store (ImageService implements this); an
// agent on another host is to read the same bytes from the Image API,
// GET /v2/images/{id}/file, whose Content-MD5 header is `checksum` below (not
// built yet: docs/deployment.md, "Current limits"). Either way the agent
// verifies the md5 (and sha512) of what it wrote before using it.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/status.h"
#include "core/types.h"

namespace chronova {

struct ImageBlob {
  ImageId id;
  std::string path;  // a readable file holding exactly the image; empty: no data
  int64_t size = 0;
  std::string checksum;       // md5, hex (Glance's "checksum")
  std::string os_hash_value;  // sha512, hex
  // Glance's disk_format ("raw", "qcow2", ...); empty when unset. A compute
  // host converts non-raw images to raw in its cache.
  std::string disk_format;
  // The image's custom properties (hw_disk_bus, ...).
  std::map<std::string, std::string> properties;
};

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  // NotFound for an unknown or deleted image; InvalidArgument when it has no
  // data (not active, or a record without data such as the seeded demo image).
  // No access check: agents ask only for ids the log holds for an instance
  // (its image, its rescue image), which the Compute API wrote after
  // FindBootableImage (api/image/image_service.h) checked the caller may see them;
  // no caller names an id here. Thread-safe.
  virtual Result<ImageBlob> Open(const ImageId& id) const = 0;
};

}  // namespace chronova
