// Typed access to read-model records: every read model stores cereal-encoded
// structs under its keys; these helpers load, scan and store them with the key
// named in any Corruption they report.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/codec.h"
#include "projections/projection.h"
#include "projections/record_cache.h"

namespace chronova {

// `v` in 16 hex digits: fixed width, so key order is numeric order (an
// index's keys).
inline std::string Hex16(uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (size_t i = 16; i-- > 0; v >>= 4) out[i] = kHex[v & 15];
  return out;
}

// Decodes stored bytes (absent: nullopt) as a Record, naming `key` in a
// Corruption.
template <typename Record>
Result<std::optional<Record>> DecodeRecord(std::string_view key,
                                           const std::optional<std::string>& stored) {
  if (!stored) return std::optional<Record>();
  Record r;
  CHRONOVA_RETURN_IF_ERROR(DecodePortable(*stored, &r).WithContext(std::string(key)));
  return std::optional<Record>(std::move(r));
}

// In a bulk rebuild, the record at `key` as the cache has it. *entry is its
// cache entry (nullptr if the cache has none); if that entry holds a decoded
// Record, *in_place points at it (nothing is decoded or copied, nullopt
// returned). Otherwise the record decoded from the entry's bytes, or from what
// is stored behind the cache for a key it lacks.
template <typename Record>
Result<std::optional<Record>> LoadPending(ReadModelWriter& w, RecordCache& cache,
                                          std::string_view key,
                                          RecordCache::Entry** entry, Record** in_place) {
  *in_place = nullptr;
  *entry = cache.Find(key);
  if (*entry == nullptr) {
    CHRONOVA_ASSIGN_OR_RETURN(std::optional<std::string> stored, w.GetUncached(key));
    return DecodeRecord<Record>(key, stored);
  }
  *in_place = RecordCache::ObjectOf<Record>(**entry);
  if (*in_place != nullptr) return std::optional<Record>();
  return DecodeRecord<Record>(key, RecordCache::Bytes(**entry));
}

// Loads the record at `key` from a reader or a writer (anything with Get).
template <typename Record, typename Store>
Result<std::optional<Record>> GetRecord(Store& store, std::string_view key) {
  if constexpr (std::is_base_of_v<ReadModelWriter, Store>) {
    if (RecordCache* cache = store.cache()) {
      RecordCache::Entry* entry = nullptr;
      Record* in_place = nullptr;
      CHRONOVA_ASSIGN_OR_RETURN(std::optional<Record> pending,
                                LoadPending(store, *cache, key, &entry, &in_place));
      if (in_place != nullptr) return std::optional<Record>(*in_place);
      return pending;
    }
  }
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<std::string> stored, store.Get(key));
  return DecodeRecord<Record>(key, stored);
}

template <typename Record>
void PutRecord(ReadModelWriter& w, std::string_view key, Record r) {
  if (RecordCache* cache = w.cache()) {
    cache->PutObject(key, std::move(r));  // encoded once, when the cache is flushed
  } else {
    w.Put(key, EncodePortable(r));
  }
}

// A record loaded to be folded and stored again. In a bulk rebuild a record
// already pending in the cache is folded in place, without a copy, and its cache
// entry is looked up once for both Load and Store; otherwise it is decoded into
// a local copy. Usage:
//   RecordUpdate<T> r;
//   CHRONOVA_RETURN_IF_ERROR(r.Load(w, key));
//   if (!r.found()) ...; T& rec = r.get(); ...change rec...; r.Store(w, key);
// Between Load and Store, the Apply may write other keys (cache entries stay
// where they are) but must not clear the cache.
// A failed Apply may leave an in-place record half-changed: bulk stores drop
// their pending records when an Apply fails.
template <typename Record>
class RecordUpdate {
 public:
  Status Load(ReadModelWriter& w, std::string_view key) {
    cache_ = w.cache();
    std::optional<Record> stored;
    if (cache_ == nullptr) {
      CHRONOVA_ASSIGN_OR_RETURN(stored, GetRecord<Record>(w, key));
    } else {
      Record* in_place = nullptr;
      CHRONOVA_ASSIGN_OR_RETURN(stored, LoadPending(w, *cache_, key, &entry_, &in_place));
      if (in_place != nullptr) {
        ptr_ = in_place;
        found_ = true;
        return Status::Ok();
      }
    }
    if (stored) {
      ptr_ = &local_.emplace(std::move(*stored));
      found_ = true;
    }
    return Status::Ok();
  }
  // Whether Load found a record.
  bool found() const { return found_; }
  // The loaded record, or a fresh one if there was none.
  Record& get() {
    if (ptr_ == nullptr) ptr_ = &local_.emplace();
    return *ptr_;
  }
  void Store(ReadModelWriter& w, std::string_view key) {
    Record& record = get();
    if (cache_ == nullptr) {
      PutRecord(w, key, std::move(record));
    } else if (!local_) {
      cache_->Touch(*entry_);  // changed in place
    } else {
      cache_->Assign(entry_ != nullptr ? *entry_ : cache_->Insert(key),
                     std::move(record));
    }
  }

 private:
  // A copy, made only when the record is not folded in place: a default
  // InstanceState alone is over a kilobyte to build and destroy every event.
  std::optional<Record> local_;
  Record* ptr_ = nullptr;
  bool found_ = false;
  RecordCache* cache_ = nullptr;
  RecordCache::Entry* entry_ = nullptr;  // the key's cache entry, if it had one
};

// Every record under `prefix`, in key order, kept if `keep(record)` (default all).
template <typename Record, typename Keep>
Result<std::vector<Record>> ScanRecords(const ReadModelReader& reader,
                                        std::string_view prefix, Keep keep) {
  std::vector<Record> out;
  Status inner;
  CHRONOVA_RETURN_IF_ERROR(
      reader.Scan(prefix, "", [&](std::string_view k, std::string_view v) {
        Record r;
        inner = DecodePortable(v, &r).WithContext(std::string(k));
        if (!inner.ok()) return false;
        if (keep(r)) out.push_back(std::move(r));
        return true;
      }));
  CHRONOVA_RETURN_IF_ERROR(inner);
  return out;
}

template <typename Record>
Result<std::vector<Record>> ScanRecords(const ReadModelReader& reader,
                                        std::string_view prefix) {
  return ScanRecords<Record>(reader, prefix, [](const Record&) { return true; });
}

}  // namespace chronova
