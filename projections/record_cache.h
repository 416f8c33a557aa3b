// RecordCache: a projection's pending records kept decoded in memory, for bulk
// rebuilds (replay). A record folded by many events is decoded once and encoded
// once, when the cache is flushed, instead of once per event.
//
// Not thread-safe: owned by the ProjectionStore's single applying thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <typeindex>
#include <unordered_map>

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
    auto it = entries_.find(std::string(key));
    return it == entries_.end() ? nullptr : &it->second;
  }
  template <typename T>
  void PutObject(std::string_view key, T value) {
    Entry& e = entries_[std::string(key)];
    e = Entry{};
    e.object = std::make_shared<T>(std::move(value));
    e.type = typeid(T);
    e.encode = [](const void* p) { return EncodePortable(*static_cast<const T*>(p)); };
    e.seq = seq_;
  }
  void PutRaw(std::string_view key, std::string_view value) {
    Entry& e = entries_[std::string(key)];
    e = Entry{};
    e.raw = std::string(value);
    e.seq = seq_;
  }
  void Delete(std::string_view key) {
    Entry& e = entries_[std::string(key)];
    e = Entry{};
    e.deleted = true;
    e.seq = seq_;
  }
  // The bytes an entry stands for (nullopt for a deletion).
  static std::optional<std::string> Bytes(const Entry& e) {
    if (e.deleted) return std::nullopt;
    if (e.raw) return e.raw;
    return e.encode(e.object.get());
  }
  size_t size() const { return entries_.size(); }
  // Calls fn(key, bytes-or-nullopt, seq) for every entry, then empties the cache.
  void Drain(const std::function<void(const std::string&, const std::optional<std::string>&,
                                      uint64_t seq)>& fn) {
    for (auto& [k, e] : entries_) fn(k, Bytes(e), e.seq);
    entries_.clear();
  }

 private:
  std::unordered_map<std::string, Entry> entries_;
  uint64_t seq_ = 0;
};

}  // namespace chronova
