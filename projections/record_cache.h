// RecordCache: a projection's pending records kept decoded in memory, for bulk
// rebuilds (replay). A record folded by many events is decoded once and encoded
// once, when the cache is flushed, instead of once per event. Values that only
// grow (the audit postings) are appended to in place.
//
// Not thread-safe: one thread changes a cache at a time (a ProjectionStore's lane
// folding a batch); others may Find() and Sorted() it only while nothing does.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <unordered_map>
#include <vector>

#include "core/codec.h"

namespace chronova {

class RecordCache {
 public:
  struct Entry {
    bool deleted = false;
    std::optional<std::string> raw;  // a value put as bytes
    std::shared_ptr<void> object;    // or a decoded record of `type`
    std::type_index type = typeid(void);
    std::string (*encode)(const void*) = nullptr;
    uint64_t seq = 0;  // of the event that wrote it last
  };

  // The seq stamped on entries written from now on.
  void set_seq(uint64_t seq) { seq_ = seq; }

  // nullptr if the key has no pending entry (the caller falls back to the store).
  Entry* Find(std::string_view key) {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
  }
  template <typename T>
  void PutObject(std::string_view key, T value) {
    Entry& e = Slot(key);
    if (e.object && e.type == typeid(T) && e.object.use_count() == 1) {
      // The same record again (the common case): reuse its allocation.
      *static_cast<T*>(e.object.get()) = std::move(value);
      e.deleted = false;
      e.raw.reset();
    } else {
      e = Entry{};
      e.object = std::make_shared<T>(std::move(value));
      e.type = typeid(T);
      e.encode = [](const void* p) { return EncodePortable(*static_cast<const T*>(p)); };
    }
    e.seq = seq_;
  }
  // The decoded record of type T pending at `key`, to fold in place; nullptr if
  // there is none. After changing it, call Touch(key).
  template <typename T>
  T* FindObject(std::string_view key) {
    Entry* e = Find(key);
    if (e == nullptr || e->deleted || !e->object || e->type != typeid(T)) return nullptr;
    return static_cast<T*>(e->object.get());
  }
  // Stamps the entry at `key` (changed in place) with the current seq.
  void Touch(std::string_view key) {
    if (Entry* e = Find(key)) e->seq = seq_;
  }
  void PutRaw(std::string_view key, std::string_view value) {
    Entry& e = Slot(key);
    e = Entry{};
    e.raw = std::string(value);
    e.seq = seq_;
  }
  void Delete(std::string_view key) {
    Entry& e = Slot(key);
    e = Entry{};
    e.deleted = true;
    e.seq = seq_;
  }
  // Appends `bytes` to the raw value pending at `key` and stamps it; false if
  // there is none (the caller loads the stored value and puts it).
  bool AppendRaw(std::string_view key, std::string_view bytes) {
    Entry* e = Find(key);
    if (e == nullptr || !e->raw) return false;
    e->raw->append(bytes);
    e->seq = seq_;
    return true;
  }
  // The bytes an entry stands for (nullopt for a deletion).
  static std::optional<std::string> Bytes(const Entry& e) {
    if (e.deleted) return std::nullopt;
    if (e.raw) return e.raw;
    return e.encode(e.object.get());
  }
  size_t size() const { return entries_.size(); }

  // Every pending write, in key order. Changes nothing Find() reads: another
  // thread may Find() meanwhile. The views live until the cache changes; Clear()
  // once they are written.
  std::vector<std::pair<std::string_view, const Entry*>> Sorted() const {
    std::vector<std::pair<std::string_view, const Entry*>> entries;
    entries.reserve(entries_.size());
    for (const auto& [k, e] : entries_) entries.emplace_back(k, &e);
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return entries;
  }

  void Clear() { entries_.clear(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const {
      return std::hash<std::string_view>()(s);
    }
  };
  Entry& Slot(std::string_view key) {
    auto it = entries_.find(key);
    if (it != entries_.end()) return it->second;
    return entries_.emplace(std::string(key), Entry{}).first->second;
  }

  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
  uint64_t seq_ = 0;
};

}  // namespace chronova
