// ImageCache: a compute host's image cache, laid out like Nova's libvirt driver.
// <instances_path>/_base/<sha1 hex of the image id> holds each image once, as a
// raw file (Nova's force_raw_images=True: a qcow2 image is converted on fetch),
// shared by every instance of that image; <instances_path>/<uuid>/disk is an
// instance's qcow2 overlay backed by it (-F raw). Age() is Nova's image cache
// manager: it removes bases no instance on this host uses any more.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agents/compute/image_source.h"
#include "core/env.h"
#include "core/status.h"
#include "core/types.h"

namespace chronova {

struct ImageCacheOptions {
  // The clock for ages; a base's "last used" time is its file mtime, set from it.
  Env* env = Env::Default();
  // nova.conf's remove_unused_original_minimum_age_seconds: an unused base is
  // removed only when it has not been used (fetched, or backing an instance
  // disk at an Age() pass) for this long.
  int64_t remove_unused_original_minimum_age_s = 86400;
  // The qemu-img binary (looked up on PATH).
  std::string qemu_img = "qemu-img";
};

// Thread-safety: every method may be called from several threads at once.
class ImageCache {
 public:
  // Borrows `source`. Directories are created on first use.
  ImageCache(std::string instances_path, const ImageSource* source,
             ImageCacheOptions options);
  ImageCache(const ImageCache&) = delete;
  ImageCache& operator=(const ImageCache&) = delete;

  std::string base_dir() const { return instances_path_ + "/_base"; }
  // <base_dir>/<sha1 hex of the image id>.
  std::string BasePath(const ImageId& id) const;
  // <instances_path>/<uuid>.
  std::string InstanceDir(const InstanceId& id) const;

  // Returns the image's base path, downloading it first if it is absent: the
  // blob from the ImageSource is copied to a temp file in _base/, its md5 (and
  // sha512 when the source gives one) verified, converted to raw if it is not
  // raw, fsynced and renamed into place. Concurrent Fetches of one image share
  // one download (the others wait for it); different images download in
  // parallel. Errors: the source's (NotFound, InvalidArgument for an image
  // without data); Corruption for a checksum mismatch; Internal for I/O or
  // qemu-img failures. On any error nothing is left in _base/.
  Result<std::string> Fetch(const ImageId& id);

  // The disk bus the image asks for: its hw_disk_bus property, "" when it has
  // none or cannot be read (the driver checks the value: GuestSpec::disk_bus).
  std::string DiskBus(const ImageId& id) const;

  // Creates `disk_path` as a qcow2 overlay on the raw `base`
  // (qemu-img create -f qcow2 -b BASE -F raw), root_gb GiB large, or the base's
  // size when that is larger (or root_gb is 0). The overlay appears only when
  // complete (temp file + rename). REQUIRES: disk_path's directory exists.
  Status CreateOverlay(const std::string& base, const std::string& disk_path,
                       int32_t root_gb);

  // Fetch + CreateOverlay as one step that Age() never interleaves with: the
  // base is pinned from before the fetch until the overlay exists, so even a
  // minimum age of 0 cannot remove it in between. Returns the base's path.
  Result<std::string> CreateDisk(const ImageId& id, const std::string& disk_path,
                                 int32_t root_gb);

  // Removes every base that no instance disk on this host is backed by, no
  // CreateDisk is using, and that has been unused for
  // remove_unused_original_minimum_age_s; marks the
  // bases in use as used now. "In use" is read from each
  // <instances_path>/<dir>/disk's (and a rescued guest's disk.rescue's) qcow2
  // header (its backing file). Also
  // removes temp files an interrupted download left behind.
  Status Age();

 private:
  struct Download;
  Status DownloadTo(const ImageId& id, const std::string& path);

  const std::string instances_path_;
  const ImageSource* const source_;
  const ImageCacheOptions options_;

  std::mutex mu_;  // protects downloads_, and orders Fetch's touch against Age
  // Downloads in progress, by base path; waiters hold a reference.
  std::map<std::string, std::shared_ptr<Download>> downloads_;
  // Bases a CreateDisk is using, with how many: Age() leaves them alone.
  std::map<std::string, int> pins_;
};

// The backing file named in a qcow2 image's header; "" when it has none.
// InvalidArgument if `path` is not a qcow2 image; NotFound if it is absent.
Result<std::string> Qcow2BackingFile(const std::string& path);

}  // namespace chronova
