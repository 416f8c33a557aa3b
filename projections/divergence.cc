#include "projections/divergence.h"

namespace chronova {

Result<std::optional<Divergence>> FirstDivergence(const ProjectionStore& rebuilt,
                                                  const ProjectionStore& live) {
  std::unique_ptr<StoreIterator> a = rebuilt.NewIterator();
  std::unique_ptr<StoreIterator> b = live.NewIterator();
  while (a->Valid() || b->Valid()) {
    int cmp = !a->Valid() ? 1 : !b->Valid() ? -1 : a->key().compare(b->key());
    if (cmp == 0 && a->value() == b->value()) {
      a->Next();
      b->Next();
      continue;
    }
    std::string_view full = cmp <= 0 ? a->key() : b->key();
    size_t slash = full.find('/');
    Divergence d;
    d.projection = std::string(full.substr(0, slash));
    d.key = slash == std::string_view::npos ? "" : std::string(full.substr(slash + 1));
    d.in_rebuilt = cmp <= 0;
    d.in_live = cmp >= 0;
    d.rebuilt_writer = rebuilt.LastWriter(full);
    return std::optional<Divergence>(std::move(d));
  }
  CHRONOVA_RETURN_IF_ERROR(a->status());
  CHRONOVA_RETURN_IF_ERROR(b->status());
  return std::optional<Divergence>();
}

std::string DescribeDivergence(const Divergence& d) {
  std::string what = d.in_rebuilt && d.in_live ? "values differ"
                     : d.in_rebuilt            ? "only in the rebuild"
                                               : "only in the live read models";
  std::string out = d.projection + " key " + d.key + ": " + what;
  if (d.rebuilt_writer.value() != 0) {
    out += " (last written by seq " + std::to_string(d.rebuilt_writer.value()) + ")";
  }
  return out;
}

}  // namespace chronova
