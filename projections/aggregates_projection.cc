#include "projections/aggregates_projection.h"

#include <charconv>
#include <cstdio>

#include "projections/records.h"

namespace chronova {
namespace {

// Zero-padded so that key order is id order.
std::string IdKey(int64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "id/%020lld", static_cast<long long>(id));
  return buf;
}
// Deleted aggregates keep their id taken (Nova never reuses an id).
constexpr char kMaxIdKey[] = "meta/max_id";
struct MaxIdRecord {
  int64_t max_id = 0;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(max_id));
  }
};

}  // namespace

Status AggregatesProjection::Apply(const Envelope& env, const Event& event,
                                   ReadModelWriter& w) {
  if (StreamKind(env.stream) != "aggregate") return Status::Ok();
  std::string_view key_text = StreamKey(env.stream);
  int64_t id = 0;
  auto [ptr, ec] =
      std::from_chars(key_text.data(), key_text.data() + key_text.size(), id);
  if (ec != std::errc() || ptr != key_text.data() + key_text.size()) {
    return Status::Corruption("aggregate stream " + env.stream.str() +
                              " has no integer id");
  }
  std::string key = IdKey(id);
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<AggregateState> stored,
                            GetRecord<AggregateState>(w, key));
  AggregateState state = stored.value_or(AggregateState{});
  if (env.version <= state.version) return Status::Ok();  // already folded in
  ApplyAggregateEvent(state, env, event);
  if (std::holds_alternative<AggregateCreated>(event)) {
    CHRONOVA_ASSIGN_OR_RETURN(std::optional<MaxIdRecord> max,
                              GetRecord<MaxIdRecord>(w, kMaxIdKey));
    if (!max || max->max_id < id) PutRecord(w, kMaxIdKey, MaxIdRecord{id});
  }
  if (!state.exists) {
    w.Delete(key);
  } else {
    PutRecord(w, key, std::move(state));
  }
  return Status::Ok();
}

Result<std::optional<AggregateState>> AggregatesView::Get(int64_t id) const {
  return GetRecord<AggregateState>(*reader_, IdKey(id));
}

Result<std::vector<AggregateState>> AggregatesView::List() const {
  return ScanRecords<AggregateState>(*reader_, "id/");
}

Result<int64_t> AggregatesView::MaxId() const {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<MaxIdRecord> max,
                            GetRecord<MaxIdRecord>(*reader_, kMaxIdKey));
  return max ? max->max_id : int64_t{0};
}

}  // namespace chronova
