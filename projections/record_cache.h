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
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
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
    void (*encode)(const void*, std::string*) = nullptr;  // appends the bytes
    uint64_t seq = 0;  // of the event that wrote it last
  };

  // The seq stamped on entries written from now on.
  void set_seq(uint64_t seq) { seq_ = seq; }

  RecordCache() = default;
  RecordCache(RecordCache&& other) noexcept { *this = std::move(other); }
  RecordCache& operator=(RecordCache&& other) noexcept {
    if (this != &other) {
      Clear();
      slots_.swap(other.slots_);
      std::swap(size_, other.size_);
      seq_ = other.seq_;
    }
    return *this;
  }
  RecordCache(const RecordCache&) = delete;
  RecordCache& operator=(const RecordCache&) = delete;
  ~RecordCache() { Clear(); }

  // nullptr if the key has no pending entry (the caller falls back to the store).
  Entry* Find(std::string_view key) {
    if (slots_.empty()) return nullptr;
    const Slot& s = Probe(key, HashOf(key));
    return s.node == nullptr ? nullptr : &s.node->entry;
  }
  template <typename T>
  void PutObject(std::string_view key, T value) {
    Assign(Insert(key), std::move(value));
  }
  // PutObject into the entry of a key (from Find or Insert): no lookup.
  template <typename T>
  void Assign(Entry& e, T value) {
    if (e.object && e.type == typeid(T) && e.object.use_count() == 1) {
      // The same record again (the common case): reuse its allocation.
      *static_cast<T*>(e.object.get()) = std::move(value);
      e.deleted = false;
      e.raw.reset();
    } else {
      e = Entry{};
      e.object = std::make_shared<T>(std::move(value));
      e.type = typeid(T);
      e.encode = [](const void* p, std::string* out) {
        EncodePortableInto(*static_cast<const T*>(p), out);
      };
    }
    e.seq = seq_;
  }
  // The entry of `key`, made (empty) if there is none: one lookup.
  Entry& Insert(std::string_view key) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    const uint64_t hash = HashOf(key);
    Slot& s = Probe(key, hash);
    if (s.node == nullptr) {
      s = Slot{hash, Node::New(key)};
      ++size_;
    }
    return s.node->entry;
  }
  // The decoded record of type T an entry holds, to fold in place; nullptr if it
  // holds none. After changing it, Touch() the entry.
  template <typename T>
  static T* ObjectOf(Entry& e) {
    if (e.deleted || !e.object || e.type != typeid(T)) return nullptr;
    return static_cast<T*>(e.object.get());
  }
  // Stamps an entry (changed in place) with the current seq.
  void Touch(Entry& e) { e.seq = seq_; }
  void PutRaw(std::string_view key, std::string_view value) {
    SetRaw(Insert(key), std::string(value));
  }
  // PutRaw into the entry of a key (from Find or Insert): no lookup.
  void SetRaw(Entry& e, std::string value) {
    e = Entry{};
    e.raw = std::move(value);
    e.seq = seq_;
  }
  void Delete(std::string_view key) {
    Entry& e = Insert(key);
    e = Entry{};
    e.deleted = true;
    e.seq = seq_;
  }
  // Removes the entry of `key`, if there is one, as if it had never been cached:
  // a deletion of a key that nothing behind the cache holds. Other entries stay
  // where they are (Find's pointers to them stay good); the erased one's do not.
  void Erase(std::string_view key) {
    if (slots_.empty()) return;
    Slot* found = &Probe(key, HashOf(key));
    if (found->node == nullptr) return;
    Node::Free(found->node);
    --size_;
    // Backward shift: a later slot of the same probe run moves into the hole
    // unless its home lies after the hole (where probing for it starts past it).
    const size_t mask = slots_.size() - 1;
    size_t hole = static_cast<size_t>(found - slots_.data());
    for (size_t j = (hole + 1) & mask; slots_[j].node != nullptr; j = (j + 1) & mask) {
      const size_t home = slots_[j].hash & mask;
      const bool stays =
          hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (!stays) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = Slot{};
  }
  // The bytes an entry stands for (nullopt for a deletion).
  static std::optional<std::string> Bytes(const Entry& e) {
    if (e.deleted) return std::nullopt;
    if (e.raw) return e.raw;
    std::string bytes;
    e.encode(e.object.get(), &bytes);
    return bytes;
  }
  size_t size() const { return size_; }

  // Every pending write, in key order. Changes nothing Find() reads: another
  // thread may Find() meanwhile. The views live until the cache changes; Clear()
  // once they are written.
  std::vector<std::pair<std::string_view, const Entry*>> Sorted() const {
    std::vector<Item> items;
    items.reserve(size_);
    for (const Slot& s : slots_) {
      if (s.node != nullptr) items.push_back(Item{0, s.node, s.node->size});
    }
    SortItems(items.data(), items.data() + items.size(), 0);
    std::vector<std::pair<std::string_view, const Entry*>> entries;
    entries.reserve(items.size());
    for (const Item& i : items) entries.emplace_back(i.node->key(), &i.node->entry);
    return entries;
  }

  void Clear() {
    for (Slot& s : slots_) {
      if (s.node != nullptr) Node::Free(s.node);
    }
    std::vector<Slot>().swap(slots_);
    size_ = 0;
  }

 private:
  // A key and its entry in one allocation: a lookup follows one pointer, and
  // entries never move (Find's pointers stay good while the table grows).
  struct Node {
    Entry entry;
    size_t size;
    std::string_view key() const {
      return std::string_view(reinterpret_cast<const char*>(this + 1), size);
    }
    static Node* New(std::string_view key) {
      void* mem = ::operator new(sizeof(Node) + key.size());
      Node* n = new (mem) Node{Entry{}, key.size()};
      if (!key.empty())
        std::memcpy(reinterpret_cast<char*>(n + 1), key.data(), key.size());
      return n;
    }
    static void Free(Node* n) {
      n->~Node();
      ::operator delete(n);
    }
  };
  // Sorting: keys compared through their nodes cost a cache miss or two a
  // comparison, and long shared prefixes ("audit/server/...") make every
  // comparison a long memcmp. Instead items carry 8 bytes of their key (from
  // `depth` on, big-endian, zero-padded), sort by those, and each run of equal
  // bytes sorts again on the next 8: a node is read once a level.
  struct Item {
    uint64_t chunk;
    const Node* node;
    size_t size;  // the key's
  };
  static uint64_t ChunkAt(std::string_view key, size_t depth) {
    unsigned char b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    if (depth < key.size())
      std::memcpy(b, key.data() + depth, std::min<size_t>(8, key.size() - depth));
    uint64_t v = 0;
    for (unsigned char c : b) v = (v << 8) | c;
    return v;
  }
  static void SortItems(Item* first, Item* last, size_t depth) {
    constexpr ptrdiff_t kSmall = 16;  // few enough to compare whole keys
    constexpr ptrdiff_t kAhead = 16;  // keys fetched ahead of the one read
    const ptrdiff_t n = last - first;
    if (n < 2) return;
    if (n <= kSmall) {
      std::sort(first, last, [](const Item& a, const Item& b) {
        return a.node->key() < b.node->key();
      });
      return;
    }
    for (ptrdiff_t i = 0; i < n; ++i) {
      if (i + kAhead < n) {
        const Node* ahead = first[i + kAhead].node;
        __builtin_prefetch(reinterpret_cast<const char*>(ahead + 1) + depth);
      }
      first[i].chunk = ChunkAt(first[i].node->key(), depth);
    }
    std::sort(first, last,
              [](const Item& a, const Item& b) { return a.chunk < b.chunk; });
    for (Item* run = first; run != last;) {
      Item* end = run + 1;
      while (end != last && end->chunk == run->chunk) ++end;
      if (end - run > 1) {
        // Keys that end inside these 8 bytes are prefixes of every longer key of
        // the run (the same bytes, then the zero padding), and of each other:
        // shortest first, then the rest, sorted on the next 8 bytes.
        Item* longer = std::partition(
            run, end, [depth](const Item& i) { return i.size <= depth + 8; });
        std::sort(run, longer,
                  [](const Item& a, const Item& b) { return a.size < b.size; });
        SortItems(longer, end, depth + 8);
      }
      run = end;
    }
  }

  // Open addressing, linear probing, at most half full; a slot keeps its key's
  // hash, so probing and growing rarely touch a node. A deletion is an entry;
  // only Erase() and Clear() remove any.
  struct Slot {
    uint64_t hash = 0;
    Node* node = nullptr;  // nullptr: free
  };
  static uint64_t HashOf(std::string_view key) {
    return std::hash<std::string_view>()(key);
  }
  // The slot holding `key` (whose hash is `hash`), or the free slot where it
  // would go. REQUIRES: the table has a free slot.
  Slot& Probe(std::string_view key, uint64_t hash) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.node == nullptr || (s.hash == hash && s.node->key() == key)) return s;
    }
  }
  void Grow() {
    std::vector<Slot> old(std::max<size_t>(64, slots_.size() * 2));
    old.swap(slots_);
    const size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.node == nullptr) continue;
      size_t i = s.hash & mask;
      while (slots_[i].node != nullptr) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;  // a power of two of them, or none
  size_t size_ = 0;
  uint64_t seq_ = 0;
};

}  // namespace chronova
