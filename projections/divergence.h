// Where two stores of read models first differ: used by `chronovactl replay
// --verify` to compare a rebuild from seq 1 with the live read models.
#pragma once

#include <optional>
#include <string>

#include "projections/projection_store.h"

namespace chronova {

struct Divergence {
  std::string projection;   // "servers"
  std::string key;          // the key inside it, e.g. "id/<uuid>"
  bool in_rebuilt = false;  // the key exists in the rebuilt store
  bool in_live = false;     // ... in the live one (both: the values differ)
  Seq rebuilt_writer;  // seq of the event that last wrote it in the rebuild (0: unknown)
};

// nullopt if both stores hold the same keys and values (checkpoints aside).
Result<std::optional<Divergence>> FirstDivergence(const ProjectionStore& rebuilt,
                                                  const ProjectionStore& live);

// "servers key id/<uuid>: values differ (last written by seq 42)".
std::string DescribeDivergence(const Divergence& d);

}  // namespace chronova
