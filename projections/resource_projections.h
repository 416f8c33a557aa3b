// Read models of the per-user and per-project resources of the Compute API:
// keypairs (keypair/<user>) and quota limits (quota/<project>,
// quota-class/<name>). Usage is not stored here: it is counted from the
// servers read model (ComputeService), so it can never drift from it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/events.h"
#include "projections/projection.h"

namespace chronova {

struct KeypairRecord {
  KeypairCreated keypair;
  Timestamp created_at;
  std::map<std::string, std::string> tags;  // EC2's (keypair.tags_set)
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(keypair), CEREAL_NVP(created_at), CEREAL_NVP(tags));
  }
};

// Limits explicitly set for a project, a user of a project, or a quota class.
struct QuotaLimitsRecord {
  std::map<std::string, int64_t> limits;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(limits));
  }
};

class KeypairsProjection : public Projection {
 public:
  static constexpr std::string_view kName = "keypairs";
  std::string_view Name() const override { return kName; }
  uint32_t Version() const override { return 2; }  // 2: tags
  Status Apply(const Envelope& env, const Event& event, ReadModelWriter& w) override;
};

class QuotasProjection : public Projection {
 public:
  static constexpr std::string_view kName = "quotas";
  std::string_view Name() const override { return kName; }
  Status Apply(const Envelope& env, const Event& event, ReadModelWriter& w) override;
};

// Queries over the keypairs read model. Borrows the reader.
class KeypairsView {
 public:
  explicit KeypairsView(const ReadModelReader* reader) : reader_(reader) {}
  Result<std::optional<KeypairRecord>> Get(const UserId& user,
                                           const std::string& name) const;
  // The user's keypairs in name order.
  Result<std::vector<KeypairRecord>> List(const UserId& user) const;

 private:
  const ReadModelReader* reader_;
};

// Queries over the quotas read model (only what was set; defaults are the
// caller's). Borrows the reader.
class QuotasView {
 public:
  explicit QuotasView(const ReadModelReader* reader) : reader_(reader) {}
  Result<std::map<std::string, int64_t>> Project(const ProjectId& project) const;
  Result<std::map<std::string, int64_t>> User(const ProjectId& project,
                                              const UserId& user) const;
  Result<std::map<std::string, int64_t>> Class(const std::string& name) const;

 private:
  const ReadModelReader* reader_;
};

}  // namespace chronova
