// RecordCache: a projection's pending records kept decoded in memory, for bulk
// rebuilds (replay). A record folded by many events is decoded once and encoded
// once, when the cache is flushed, instead of once per event. Keys written once
// and never read back while folding (the audit indexes, keyed by seq) skip the
// hash map: they are appended to one byte arena and sorted at flush time.
//
// Not thread-safe: owned by the ProjectionStore's single applying thread.
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
  // A key written once and never read back while folding (ReadModelWriter::
  // PutOnce). Keys are grouped by their prefix up to the last '/' (an index's
  // subject); keys of a group appended in order (seq-numbered) need no sort.
  // Should a key be written twice, the later value wins.
  void Append(std::string_view key, std::string_view value) {
    size_t slash = key.rfind('/');
    size_t split = slash == std::string_view::npos ? 0 : slash + 1;
    std::string_view group = key.substr(0, split);
    auto it = groups_.find(group);
    if (it == groups_.end()) it = groups_.emplace(std::string(group), Group{}).first;
    Group& g = it->second;
    std::string_view suffix = key.substr(split);
    if (!g.items.empty() && g.sorted) {
      const Appended& last = g.items.back();
      g.sorted = std::string_view(arena_.data() + last.offset, last.key_size) < suffix;
    }
    g.items.push_back(Appended{arena_.size(), static_cast<uint32_t>(suffix.size()),
                               static_cast<uint32_t>(value.size()), seq_});
    arena_.append(suffix);
    arena_.append(value);
    ++appended_;
  }
  // The bytes an entry stands for (nullopt for a deletion).
  static std::optional<std::string> Bytes(const Entry& e) {
    if (e.deleted) return std::nullopt;
    if (e.raw) return e.raw;
    return e.encode(e.object.get());
  }
  size_t size() const { return entries_.size() + appended_; }

  // One pending write: a map entry, or an appended value.
  struct Item {
    std::string_view group;        // appended: the key's prefix (key = group + suffix)
    std::string_view key;          // map entry: the key; appended: the suffix
    const Entry* entry = nullptr;  // null for an appended value
    std::string_view value;        // when entry is null
    uint64_t seq = 0;
  };
  // Calls fn(item) for every pending write in key order, one per key (the last
  // written). Changes nothing Find() reads: another thread may Find() meanwhile.
  // Clear() afterwards.
  template <typename Fn>
  auto Drain(Fn&& fn) -> decltype(fn(std::declval<const Item&>())) {
    using R = decltype(fn(std::declval<const Item&>()));
    std::vector<std::pair<std::string_view, const Entry*>> entries;
    entries.reserve(entries_.size());
    for (const auto& [k, e] : entries_) entries.emplace_back(k, &e);
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::pair<std::string_view, Group*>> groups;
    groups.reserve(groups_.size());
    for (auto& [k, g] : groups_) groups.emplace_back(k, &g);
    std::sort(groups.begin(), groups.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    // Merge the two sorted sequences: entries, and groups expanded in order.
    size_t ei = 0;
    std::string full;
    auto suffix_of = [this](const Appended& a) {
      return std::string_view(arena_.data() + a.offset, a.key_size);
    };
    for (auto& [prefix, g] : groups) {
      if (!g->sorted) {
        std::stable_sort(g->items.begin(), g->items.end(),
                         [&](const Appended& a, const Appended& b) {
                           return suffix_of(a) < suffix_of(b);
                         });
      }
      for (size_t i = 0; i < g->items.size(); ++i) {
        const Appended& a = g->items[i];
        std::string_view suffix = suffix_of(a);
        if (i + 1 < g->items.size() && suffix_of(g->items[i + 1]) == suffix) continue;
        full.assign(prefix);
        full.append(suffix);
        // Map entries before this key (PutOnce keys are not Put: should one be
        // both, the map entry is dropped).
        if (ei < entries.size() && entries[ei].first == full) ++ei;  // not both
        while (ei < entries.size() && entries[ei].first < full) {
          Item item{
              {}, entries[ei].first, entries[ei].second, {}, entries[ei].second->seq};
          if constexpr (std::is_void_v<R>) {
            fn(item);
          } else {
            if (auto r = fn(item); !r.ok()) return r;
          }
          ++ei;
        }
        Item item{prefix, suffix, nullptr,
                  std::string_view(arena_.data() + a.offset + a.key_size, a.value_size),
                  a.seq};
        if constexpr (std::is_void_v<R>) {
          fn(item);
        } else {
          if (auto r = fn(item); !r.ok()) return r;
        }
      }
    }
    for (; ei < entries.size(); ++ei) {
      Item item{{}, entries[ei].first, entries[ei].second, {}, entries[ei].second->seq};
      if constexpr (std::is_void_v<R>) {
        fn(item);
      } else {
        if (auto r = fn(item); !r.ok()) return r;
      }
    }
    if constexpr (!std::is_void_v<R>) return R();
  }
  void Clear() {
    entries_.clear();
    groups_.clear();
    arena_.clear();
    appended_ = 0;
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const {
      return std::hash<std::string_view>()(s);
    }
  };
  struct Appended {
    size_t offset;
    uint32_t key_size;
    uint32_t value_size;
    uint64_t seq;
  };

  Entry& Slot(std::string_view key) {
    auto it = entries_.find(key);
    if (it != entries_.end()) return it->second;
    return entries_.emplace(std::string(key), Entry{}).first->second;
  }

  struct Group {
    std::vector<Appended> items;  // suffixes in arena_
    bool sorted = true;           // appended in key order
  };

  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
  std::unordered_map<std::string, Group, Hash, std::equal_to<>> groups_;
  std::string arena_;
  size_t appended_ = 0;
  uint64_t seq_ = 0;
};

}  // namespace chronova
