// The projection contract (docs/architecture.md, "Projections, audit, time
// travel"): a read model is a deterministic state machine over the log. Apply
// folds one event into the model's keys; the store commits a whole batch of
// events' writes together with the checkpoint, so a read model is never
// half-updated and never applies an event twice.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/envelope.h"
#include "core/events.h"
#include "core/status.h"

namespace chronova {

class RecordCache;

// A projection's keys during Apply. Keys are relative to the projection (the
// store prefixes them with its name). Reads see this batch's own pending writes.
class ReadModelWriter {
 public:
  virtual ~ReadModelWriter() = default;
  // nullopt if absent; Unavailable/Corruption on a store failure.
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  virtual void Put(std::string_view key, std::string_view value) = 0;
  virtual void Delete(std::string_view key) = 0;
  // Appends `bytes` to the value at `key` (an absent key holds nothing yet), for
  // values that only grow, like the audit postings. A bulk rebuild appends to
  // the value it keeps in memory. Not idempotent: it relies on the store applying
  // every event once.
  virtual Status Append(std::string_view key, std::string_view bytes) {
    CHRONOVA_ASSIGN_OR_RETURN(std::optional<std::string> value, Get(key));
    std::string grown = value ? std::move(*value) : std::string();
    grown.append(bytes);
    Put(key, grown);
    return Status::Ok();
  }
  // During a bulk rebuild: what is stored at `key` behind cache(), for a key
  // the cache has no entry for. Otherwise the same as Get.
  virtual Result<std::optional<std::string>> GetUncached(std::string_view key) {
    return Get(key);
  }
  // During a bulk rebuild: where decoded records wait (projections/records.h uses
  // it); nullptr otherwise.
  virtual RecordCache* cache() { return nullptr; }
};

// Read access to committed read-model keys, relative to one projection.
class ReadModelReader {
 public:
  virtual ~ReadModelReader() = default;
  virtual Result<std::optional<std::string>> Get(std::string_view key) const = 0;
  // Calls `fn` for keys starting with `prefix`, in key order, beginning after
  // `start_after` (empty: from the first); stops when `fn` returns false.
  virtual Status Scan(std::string_view prefix, std::string_view start_after,
                      const std::function<bool(std::string_view key,
                                               std::string_view value)>& fn) const = 0;
};

class Projection {
 public:
  virtual ~Projection() = default;
  // Stable, unique, [a-z_]+; the key prefix of everything this projection writes.
  virtual std::string_view Name() const = 0;
  // Bumped whenever the keys or record shapes this projection writes change: a
  // store built by another version is rebuilt from seq 1 when opened.
  virtual uint32_t Version() const { return 1; }
  // Folds one event. Must depend only on the model's keys and the event, so a
  // rebuild from seq 0 produces byte-identical keys. Events the model does not
  // care about are ignored (OK).
  virtual Status Apply(const Envelope& env, const Event& event, ReadModelWriter& w) = 0;
};

}  // namespace chronova
