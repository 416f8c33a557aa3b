// The catalog read models: flavors (flavor/<id>) and images (image/<id>) — what
// a boot request is validated against and what GET /flavors and /images show.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/events.h"
#include "core/image_state.h"
#include "projections/projection.h"

namespace chronova {

struct FlavorRecord {
  FlavorSpec spec;
  bool is_public = true;
  std::string description;
  Timestamp created_at;
  // Projects given access to a private flavor (os-flavor-access), sorted.
  std::vector<ProjectId> access;
  // Whether `project` may see and boot this flavor (public, or given access).
  bool VisibleTo(const ProjectId& project) const;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(spec), CEREAL_NVP(is_public), CEREAL_NVP(description),
       CEREAL_NVP(created_at), CEREAL_NVP(access));
  }
};

// An image as the Image API shows it: the folded image/<id> stream
// (core/image_state.h). Deleted images have no record.
using ImageRecord = ImageState;

class FlavorsProjection : public Projection {
 public:
  static constexpr std::string_view kName = "flavors";
  std::string_view Name() const override { return kName; }
  // 2: access lists and extra-spec events.
  uint32_t Version() const override { return 2; }
  Status Apply(const Envelope& env, const Event& event, ReadModelWriter& w) override;
};

class ImagesProjection : public Projection {
 public:
  static constexpr std::string_view kName = "images";
  std::string_view Name() const override { return kName; }
  // 2: records are the whole ImageState (Image API v2).
  uint32_t Version() const override { return 2; }
  Status Apply(const Envelope& env, const Event& event, ReadModelWriter& w) override;
};

// Queries over the flavors read model. Borrows the reader.
class FlavorsView {
 public:
  explicit FlavorsView(const ReadModelReader* reader) : reader_(reader) {}
  // nullopt for an unknown or deleted flavor.
  Result<std::optional<FlavorRecord>> Get(const FlavorId& id) const;
  // Live flavors in id order.
  Result<std::vector<FlavorRecord>> List() const;

 private:
  const ReadModelReader* reader_;
};

// Queries over the images read model. Borrows the reader.
class ImagesView {
 public:
  explicit ImagesView(const ReadModelReader* reader) : reader_(reader) {}
  Result<std::optional<ImageRecord>> Get(const ImageId& id) const;
  Result<std::vector<ImageRecord>> List() const;

 private:
  const ReadModelReader* reader_;
};

}  // namespace chronova
