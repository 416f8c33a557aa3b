// The aggregates read model (os-aggregates): every live host aggregate, folded
// from aggregate/<id> streams with core/aggregate_state.h.
#pragma once

#include <optional>
#include <vector>

#include "core/aggregate_state.h"
#include "projections/projection.h"

namespace chronova {

class AggregatesProjection : public Projection {
 public:
  static constexpr std::string_view kName = "aggregates";
  std::string_view Name() const override { return kName; }
  uint32_t Version() const override { return 2; }  // 2: the uuid
  Status Apply(const Envelope& env, const Event& event, ReadModelWriter& w) override;
};

// Queries over the aggregates read model. Borrows the reader.
class AggregatesView {
 public:
  explicit AggregatesView(const ReadModelReader* reader) : reader_(reader) {}
  // nullopt for an aggregate that never existed or was deleted.
  Result<std::optional<AggregateState>> Get(int64_t id) const;
  // Live aggregates in id order.
  Result<std::vector<AggregateState>> List() const;
  // The highest id ever used (deleted aggregates included); 0 if none.
  Result<int64_t> MaxId() const;

 private:
  const ReadModelReader* reader_;
};

}  // namespace chronova
