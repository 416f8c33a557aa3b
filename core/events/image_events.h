// The events of image/<id> streams (docs/events.md). Adding one: a struct
// here with a frozen kType and kSchema, and its name in ImageEvents below;
// core/events.h gathers every list into Event.
#pragma once

#include <cereal/cereal.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/events/event_list.h"
#include "core/types.h"

namespace chronova {

// An image record exists and is usable (status active).
struct ImageRegistered {
  static constexpr const char* kType = "image.registered";
  static constexpr uint32_t kSchema = 1;
  ImageId image_id;
  std::string name;
  std::string disk_format = "qcow2";
  std::string container_format = "bare";
  int64_t size = 0;
  int32_t min_disk = 0;
  int32_t min_ram = 0;
  std::string visibility = "public";
  ProjectId owner;
  std::string checksum;
  std::map<std::string, std::string> properties;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(image_id), CEREAL_NVP(name), CEREAL_NVP(disk_format),
       CEREAL_NVP(container_format), CEREAL_NVP(size), CEREAL_NVP(min_disk),
       CEREAL_NVP(min_ram), CEREAL_NVP(visibility), CEREAL_NVP(owner),
       CEREAL_NVP(checksum), CEREAL_NVP(properties));
  }
};

// A user created an image record (POST /v2/images): status queued, no data yet.
// Empty disk_format / container_format mean "not set" (Glance's null).
struct ImageCreated {
  static constexpr const char* kType = "image.created";
  static constexpr uint32_t kSchema = 1;
  ImageId image_id;
  std::string name;
  std::string disk_format;
  std::string container_format;
  std::string visibility = "shared";
  ProjectId owner;
  int32_t min_disk = 0;
  int32_t min_ram = 0;
  bool is_protected = false;
  std::vector<std::string> tags;
  std::map<std::string, std::string> properties;  // Glance's custom properties
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(image_id), CEREAL_NVP(name), CEREAL_NVP(disk_format),
       CEREAL_NVP(container_format), CEREAL_NVP(visibility), CEREAL_NVP(owner),
       CEREAL_NVP(min_disk), CEREAL_NVP(min_ram), CEREAL_NVP(is_protected),
       CEREAL_NVP(tags), CEREAL_NVP(properties));
  }
};

// An upload's bytes were received and are being checked (status saving). Only
// one upload can win this: it is appended with the queued image's version.
struct ImageUploadStarted {
  static constexpr const char* kType = "image.upload_started";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// The upload could not be stored; the image is queued again, with no data.
struct ImageUploadFailed {
  static constexpr const char* kType = "image.upload_failed";
  static constexpr uint32_t kSchema = 1;
  std::string reason;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(reason));
  }
};

// The image's data is in the blob store (status active).
struct ImageActivated {
  static constexpr const char* kType = "image.activated";
  static constexpr uint32_t kSchema = 1;
  int64_t size = 0;
  std::string checksum;      // md5, hex
  std::string os_hash_algo;  // "sha512"
  std::string os_hash_value;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(size), CEREAL_NVP(checksum), CEREAL_NVP(os_hash_algo),
       CEREAL_NVP(os_hash_value));
  }
};

// The image's user-settable metadata after a PATCH (the whole new set, so a
// fold needs no earlier patch to understand this one).
struct ImageUpdated {
  static constexpr const char* kType = "image.updated";
  static constexpr uint32_t kSchema = 1;
  std::string name;
  std::string visibility;
  int32_t min_disk = 0;
  int32_t min_ram = 0;
  bool is_protected = false;
  std::vector<std::string> tags;
  std::map<std::string, std::string> properties;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(name), CEREAL_NVP(visibility), CEREAL_NVP(min_disk),
       CEREAL_NVP(min_ram), CEREAL_NVP(is_protected), CEREAL_NVP(tags),
       CEREAL_NVP(properties));
  }
};

// The image was deleted; its record disappears and its data is removed.
struct ImageDeleted {
  static constexpr const char* kType = "image.deleted";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// Every event of image/<id> streams.
using ImageEvents =
    EventList<ImageRegistered, ImageCreated, ImageUploadStarted, ImageUploadFailed,
              ImageActivated, ImageUpdated, ImageDeleted>;

}  // namespace chronova
