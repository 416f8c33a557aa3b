#include "projections/projection_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/comparator.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/utilities/write_batch_with_index.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <thread>

#include "core/env.h"
#include "eventstore/log_keys.h"
#include "eventstore/rocks_open.h"
#include "eventstore/rocks_status.h"

namespace chronova {
namespace {

// Sorts before every projection's keys (projection names are [a-z_]+).
constexpr std::string_view kCheckpointKey =
    "\x01"
    "checkpoint";  // (a hex escape would eat the c)
// Which projections, at which versions, built this store.
constexpr std::string_view kModelsKey = "\x01models";

// The store's own keys (not read-model keys): all start with \x01.
bool IsMetaKey(const rocksdb::Slice& key) { return !key.empty() && key[0] == '\x01'; }

std::string Prefixed(std::string_view name, std::string_view key) {
  std::string k;
  k.reserve(name.size() + 1 + key.size());
  k.append(name);
  k.push_back('/');
  k.append(key);
  return k;
}

// Bulk mode: reads and writes go through the projection's RecordCache, then the
// database (no write batch: the cache is the batch).
class CacheWriter : public ReadModelWriter {
 public:
  // `flushing`: the projection's records being written in the background (read
  // only), or nullptr. `db`: nullptr while the store holds no records (a rebuild
  // from seq 1 before its first write), where every lookup would miss.
  // `erase_deletions`: nothing but `cache` holds any record (no db, nothing
  // flushing), so a deletion erases the key's entry instead of being one.
  CacheWriter(rocksdb::DB* db, RecordCache* cache, RecordCache* flushing,
              std::string_view name, bool erase_deletions)
      : db_(db),
        cache_(cache),
        flushing_(flushing),
        name_(name),
        erase_deletions_(erase_deletions) {}
  Result<std::optional<std::string>> Get(std::string_view key) override {
    if (RecordCache::Entry* e = cache_->Find(key)) return RecordCache::Bytes(*e);
    return GetUncached(key);
  }
  Result<std::optional<std::string>> GetUncached(std::string_view key) override {
    if (flushing_ != nullptr) {
      if (RecordCache::Entry* e = flushing_->Find(key)) return RecordCache::Bytes(*e);
    }
    if (db_ == nullptr) return std::optional<std::string>();
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Prefixed(name_, key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    CHRONOVA_RETURN_IF_ERROR(FromRocks(s, "read model get"));
    return std::optional<std::string>(std::move(value));
  }
  void Put(std::string_view key, std::string_view value) override {
    cache_->PutRaw(key, value);
  }
  void Delete(std::string_view key) override {
    if (erase_deletions_) {
      cache_->Erase(key);
    } else {
      cache_->Delete(key);
    }
  }
  // Appends in memory, to the bytes pending in the cache; a key not pending yet
  // is loaded once, then kept there.
  Status Append(std::string_view key, std::string_view bytes) override {
    RecordCache::Entry* e = cache_->Find(key);
    std::string grown;
    if (e != nullptr) {
      if (e->raw) {
        e->raw->append(bytes);
        cache_->Touch(*e);
        return Status::Ok();
      }
      if (std::optional<std::string> pending = RecordCache::Bytes(*e))
        grown = std::move(*pending);
    } else {
      CHRONOVA_ASSIGN_OR_RETURN(std::optional<std::string> stored, GetUncached(key));
      if (stored) grown = std::move(*stored);
      e = &cache_->Insert(key);
    }
    grown.append(bytes);
    cache_->SetRaw(*e, std::move(grown));
    return Status::Ok();
  }
  RecordCache* cache() override { return cache_; }

 private:
  rocksdb::DB* db_;
  RecordCache* cache_;
  RecordCache* flushing_;
  std::string_view name_;
  bool erase_deletions_;
};

// A live batch's appends (ReadModelWriter::Append), gathered per key and
// written as one merge operand per key when the batch commits: RocksDB's
// indexed batch walks every entry of a key on each write to it, so appending
// to a posting list a whole project's events share, entry by entry, made a
// batch quadratic in its events. Undone with the event that made them.
class PendingAppends {
 public:
  // Bytes appended to `full_key` in this batch, or nullptr.
  const std::string* Find(const std::string& full_key) const {
    auto it = bytes_.find(full_key);
    return it == bytes_.end() ? nullptr : &it->second;
  }
  void Append(const std::string& full_key, std::string_view bytes) {
    auto [it, inserted] = bytes_.try_emplace(full_key);
    undo_.push_back({full_key, /*drop=*/false, !inserted, it->second.size(), {}});
    it->second.append(bytes);
  }
  // A put or delete of `full_key` replaces what was appended before it.
  void Drop(const std::string& full_key) {
    auto it = bytes_.find(full_key);
    if (it == bytes_.end()) return;
    undo_.push_back({full_key, /*drop=*/true, true, 0, std::move(it->second)});
    bytes_.erase(it);
  }
  // Where an event's changes start (its savepoint).
  void Mark() { undo_.clear(); }
  // Undoes the changes since Mark().
  void Rollback() {
    for (auto u = undo_.rbegin(); u != undo_.rend(); ++u) {
      if (u->drop) {
        bytes_[u->key] = std::move(u->dropped);
      } else if (!u->existed) {
        bytes_.erase(u->key);
      } else {
        bytes_[u->key].resize(u->size);
      }
    }
    undo_.clear();
  }
  // One merge operand per key, after every other write of the batch.
  Status WriteTo(rocksdb::WriteBatchWithIndex* wb) const {
    for (const auto& [key, bytes] : bytes_) {
      CHRONOVA_RETURN_IF_ERROR(FromRocks(wb->Merge(key, bytes), "read model append"));
    }
    return Status::Ok();
  }

 private:
  struct Undo {
    std::string key;
    bool drop;            // a Drop (else an Append)
    bool existed;         // the key had pending bytes before the change
    size_t size;          // an append: their size before it
    std::string dropped;  // a drop: the bytes it dropped
  };
  std::unordered_map<std::string, std::string> bytes_;
  std::vector<Undo> undo_;
};

class BatchWriter : public ReadModelWriter {
 public:
  BatchWriter(rocksdb::DB* db, rocksdb::WriteBatchWithIndex* batch,
              PendingAppends* appends, std::string_view name)
      : db_(db), batch_(batch), appends_(appends), name_(name) {}
  Result<std::optional<std::string>> Get(std::string_view key) override {
    const std::string full = Prefixed(name_, key);
    std::string value;
    rocksdb::Status s =
        batch_->GetFromBatchAndDB(db_, rocksdb::ReadOptions(), full, &value);
    const std::string* pending = appends_->Find(full);
    if (s.IsNotFound()) {
      if (pending == nullptr) return std::optional<std::string>();
      return std::optional<std::string>(*pending);
    }
    CHRONOVA_RETURN_IF_ERROR(FromRocks(s, "read model get"));
    if (pending != nullptr) value.append(*pending);
    return std::optional<std::string>(std::move(value));
  }
  void Put(std::string_view key, std::string_view value) override {
    const std::string full = Prefixed(name_, key);
    appends_->Drop(full);
    batch_->Put(full, rocksdb::Slice(value.data(), value.size()));
  }
  void Delete(std::string_view key) override {
    const std::string full = Prefixed(name_, key);
    appends_->Drop(full);
    batch_->Delete(full);
  }
  // Gathered, then one merge operand (AppendOperator) per key at commit.
  Status Append(std::string_view key, std::string_view bytes) override {
    appends_->Append(Prefixed(name_, key), bytes);
    return Status::Ok();
  }

 private:
  rocksdb::DB* db_;
  rocksdb::WriteBatchWithIndex* batch_;
  PendingAppends* appends_;
  std::string_view name_;
};

thread_local ThreadReadCounter* read_counter = nullptr;

}  // namespace

void CountRead() {
  for (ThreadReadCounter* c = read_counter; c != nullptr; c = c->outer_) ++c->reads_;
}

ThreadReadCounter::ThreadReadCounter() : outer_(read_counter) { read_counter = this; }
ThreadReadCounter::~ThreadReadCounter() { read_counter = outer_; }

namespace {

class DbReader : public ReadModelReader {
 public:
  DbReader(rocksdb::DB* db, std::string name) : db_(db), name_(std::move(name)) {}
  Result<std::optional<std::string>> Get(std::string_view key) const override {
    if (read_counter != nullptr) CountRead();
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Prefixed(name_, key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    CHRONOVA_RETURN_IF_ERROR(FromRocks(s, "read model get"));
    return std::optional<std::string>(std::move(value));
  }
  Status Scan(
      std::string_view prefix, std::string_view start_after,
      const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    std::string full_prefix = Prefixed(name_, prefix);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    if (start_after.empty()) {
      it->Seek(full_prefix);
    } else {
      std::string after = Prefixed(name_, start_after);
      it->Seek(after);
      if (it->Valid() && it->key() == after) it->Next();
    }
    size_t strip = name_.size() + 1;
    for (; it->Valid() && it->key().starts_with(full_prefix); it->Next()) {
      if (read_counter != nullptr) CountRead();
      std::string_view k(it->key().data() + strip, it->key().size() - strip);
      if (!fn(k, std::string_view(it->value().data(), it->value().size()))) break;
    }
    return FromRocks(it->status(), "read model scan");
  }

 private:
  rocksdb::DB* db_;
  std::string name_;
};

// ReadModelWriter::Append in a live store: the bytes are a merge operand, and
// reads (and compactions) see the value with every operand appended in order.
class AppendOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing,
             const rocksdb::Slice& value, std::string* merged,
             rocksdb::Logger*) const override {
    merged->clear();
    if (existing != nullptr) merged->assign(existing->data(), existing->size());
    merged->append(value.data(), value.size());
    return true;
  }
  const char* Name() const override { return "chronova.append"; }
};

// Bloom filters: a fold asks for many records that do not exist yet (every new
// instance), and a filter answers that without reading a block.
rocksdb::Options StoreOptions(bool defer_compaction) {
  static const std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(128 << 20);
  rocksdb::Options o;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_cache = cache;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  o.memtable_whole_key_filtering = true;  // the same for the memtable's skip list
  o.memtable_prefix_bloom_size_ratio = 0.02;
  o.merge_operator = std::make_shared<AppendOperator>();
  if (defer_compaction) {
    // Written by ingesting sorted files and read once complete: compacting
    // meanwhile would only take the other core from the fold.
    o.disable_auto_compactions = true;
    o.level0_slowdown_writes_trigger = 1 << 20;
    o.level0_stop_writes_trigger = 1 << 20;
  }
  return o;
}

// Calls fn(i) for every index of `weights` on two threads (this one and one
// more), each taking the heaviest left while its load is the lighter; weights
// of 0 (not known yet) alternate.
template <typename Fn>
void OnTwoLanes(const std::vector<uint64_t>& weights, Fn&& fn) {
  std::vector<size_t> order(weights.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return weights[a] > weights[b]; });
  std::vector<size_t> lanes[2];
  uint64_t load[2] = {0, 0};
  size_t unweighed = 0;
  for (size_t i : order) {
    int lane =
        weights[i] == 0 ? static_cast<int>(unweighed++ % 2) : (load[1] < load[0] ? 1 : 0);
    lanes[lane].push_back(i);
    load[lane] += weights[i];
  }
  std::thread other;
  if (!lanes[1].empty()) {
    other = std::thread([&] {
      for (size_t i : lanes[1]) fn(i);
    });
  }
  for (size_t i : lanes[0]) fn(i);
  if (other.joinable()) other.join();
}

}  // namespace

ProjectionStore::ProjectionStore(const ProjectionStoreOptions& options,
                                 std::vector<Projection*> projections)
    : options_(options), projections_(std::move(projections)) {}

ProjectionStore::~ProjectionStore() {
  if (flusher_.joinable()) flusher_.join();
  if (reaper_.joinable()) reaper_.join();
  if (!last_written_.empty()) {
    // Not freed, on purpose: see leave_last_records.
    new std::vector<RecordCache>(std::move(last_written_));  // NOLINT: left to exit
  }
}

Result<std::unique_ptr<ProjectionStore>> ProjectionStore::Open(
    const ProjectionStoreOptions& options, std::vector<Projection*> projections) {
  std::set<std::string_view> names;
  for (Projection* p : projections) {
    if (!names.insert(p->Name()).second) {
      return Status::InvalidArgument("duplicate projection name " +
                                     std::string(p->Name()));
    }
  }
  std::unique_ptr<ProjectionStore> store(
      new ProjectionStore(options, std::move(projections)));
  CHRONOVA_ASSIGN_OR_RETURN(
      store->db_,
      OpenRocks({options.path, options.read_only, options.secondary_path, "projections"},
                StoreOptions(options.bulk && options.defer_compaction)));
  CHRONOVA_RETURN_IF_ERROR(store->CheckModels());
  CHRONOVA_RETURN_IF_ERROR(store->LoadCheckpoint());
  store->flushed_ = store->checkpoint();
  if (options.bulk) {
    store->caches_.resize(store->projections_.size());
    store->flushing_.resize(store->projections_.size());
    store->fold_nanos_.resize(store->projections_.size());
  }
  return store;
}

std::string ProjectionsSignature(const std::vector<Projection*>& projections) {
  std::string sig;
  for (Projection* p : projections) {
    sig += std::string(p->Name()) + ":" + std::to_string(p->Version()) + ";";
  }
  return sig;
}

Status ProjectionStore::CheckModels() {
  std::string stored;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kModelsKey, &stored);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read models signature");
  const std::string want = ProjectionsSignature(projections_);
  if (s.ok() && stored == want) return Status::Ok();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  it->SeekToFirst();
  CHRONOVA_RETURN_IF_ERROR(FromRocks(it->status(), "read models signature"));
  const bool empty = !it->Valid();
  it.reset();
  if (options_.read_only) {
    // Another binary's read models (other projections, or other versions of
    // them): read with this binary's, they would answer wrong. Only an empty
    // store has no signature (its writer puts one before anything else), unless
    // a build older than signatures wrote it.
    if (s.IsNotFound()) {
      if (empty) return Status::Ok();
      stored = "a build older than read-model signatures";
    } else {
      stored = "'" + stored + "'";
    }
    return Status::Unavailable(options_.path + " holds read models built by " + stored +
                               ", not this binary's '" + want +
                               "': use chronovactl from the daemon's build, or restart "
                               "chronovad with this one (it rebuilds them)");
  }
  // Built by other projections or versions (or older than signatures): start over
  // from seq 1; the log has everything.
  rocksdb::WriteBatch wb;
  if (!empty) wb.DeleteRange(db_->DefaultColumnFamily(), "", "\xff\xff\xff\xff");
  wb.Put(kModelsKey, want);
  if (!empty) {
    Env::Default()->Info({.role = "projections"}, options_.path + " was built by '" +
                                                      stored + "', not '" + want +
                                                      "': rebuilding from seq 1");
  }
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &wb), "reset read models");
}

Status ProjectionStore::LoadCheckpoint() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kCheckpointKey, &v);
  Seq cp;
  if (s.ok()) {
    if (v.size() != 8) return Status::Corruption("projection checkpoint is malformed");
    cp = Seq(log_keys::GetBigEndian64(v));
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "read checkpoint");
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    checkpoint_ = cp;
  }
  cv_.notify_all();
  return Status::Ok();
}

Status ProjectionStore::Refresh() {
  if (!options_.read_only) return Status::Ok();
  CHRONOVA_RETURN_IF_ERROR(
      FromRocks(db_->TryCatchUpWithPrimary(), "catch up projections"));
  CHRONOVA_RETURN_IF_ERROR(CheckModels());  // the daemon may run another build now
  return LoadCheckpoint();
}

Status ProjectionStore::NextEvent(const std::vector<Envelope>& batch,
                                  const DecodedEvents* events, size_t i, Seq at,
                                  Event* scratch, const Event** event) const {
  const Envelope& env = batch[i];
  if (env.seq != at.next()) {
    return Status::Corruption("seq " + std::to_string(at.next().value()) +
                              ": missing; projections refuse to skip to seq " +
                              std::to_string(env.seq.value()));
  }
  if (events != nullptr) {
    if (i < events->events.size()) {
      *event = &events->events[i];
      return Status::Ok();
    }
    if (!events->failure.ok()) return events->failure;
    return Status::Internal("seq " + std::to_string(env.seq.value()) + ": not decoded");
  }
  CHRONOVA_ASSIGN_OR_RETURN(*scratch, DecodeEvent(env, *options_.upcasters));
  *event = scratch;
  return Status::Ok();
}

Status ProjectionStore::ApplyBulk(const std::vector<Envelope>& batch,
                                  const DecodedEvents* events) {
  // The events to fold: those after the checkpoint. A gap or an event that cannot
  // be decoded stops the batch before anything is folded.
  Seq at = checkpoint();
  std::vector<Event> decoded(events == nullptr ? batch.size() : 0);
  std::vector<const Envelope*> envs;
  std::vector<const Event*> evs;
  envs.reserve(batch.size());
  evs.reserve(batch.size());
  Status stopped;
  Event unused;  // NextEvent's scratch when `events` has every event decoded
  for (size_t b = 0; b < batch.size(); ++b) {
    if (batch[b].seq <= at) continue;
    const Event* event = nullptr;
    stopped = NextEvent(batch, events, b, at, events == nullptr ? &decoded[b] : &unused,
                        &event);
    if (!stopped.ok()) break;
    envs.push_back(&batch[b]);
    evs.push_back(event);
    at = batch[b].seq;
  }
  // Projections are independent: each folds the whole batch into its own cache,
  // split over two lanes (threads), the slowest projections of the last batch
  // spread first.
  if (stopped.ok() && !envs.empty()) {
    const bool flushing = flusher_.joinable();
    // A store at seq 0 holds no read-model keys (a rebuild from seq 1) until the
    // first flush: every write commits its keys with the checkpoint that covers
    // them (one WriteBatch, or one ingest), and CheckModels clears a store built
    // by others. Until then only the caches can hold what a fold asks for.
    rocksdb::DB* db = flushed_ == Seq() ? nullptr : db_.get();
    std::vector<Status> failed(projections_.size());
    std::vector<uint64_t> failed_at(projections_.size(), UINT64_MAX);
    auto fold = [&](size_t p) {
      auto t0 = std::chrono::steady_clock::now();
      // --verify names the seq of a key's last writer, a deletion's too: then
      // deletions stay entries.
      CacheWriter w(db, &caches_[p], flushing ? &flushing_[p] : nullptr,
                    projections_[p]->Name(),
                    db == nullptr && !flushing && !options_.track_writers);
      for (size_t k = 0; k < envs.size(); ++k) {
        caches_[p].set_seq(envs[k]->seq.value());
        Status st = projections_[p]->Apply(*envs[k], *evs[k], w);
        if (!st.ok()) {
          failed[p] =
              st.WithContext("projection " + std::string(projections_[p]->Name()) +
                             " at seq " + std::to_string(envs[k]->seq.value()));
          failed_at[p] = envs[k]->seq.value();
          break;
        }
      }
      fold_nanos_[p] = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now() - t0)
                           .count();
    };
    OnTwoLanes(std::vector<uint64_t>(fold_nanos_), fold);  // a copy: fold sets them
    // The earliest failure is the one to report: the batch stops there.
    size_t first = 0;
    for (size_t p = 1; p < failed_at.size(); ++p) {
      if (failed_at[p] < failed_at[first]) first = p;
    }
    stopped = failed[first];
  }
  if (!stopped.ok()) {
    // The caches may hold part of the failed batch: drop everything since the last
    // flush, so what is stored stays exactly the state at the stored checkpoint.
    Status flushed = WaitFlush();
    for (RecordCache& c : caches_) c.Clear();
    std::lock_guard<std::mutex> l(mu_);
    checkpoint_ = flushed_;
    return flushed.ok() ? stopped : flushed;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    checkpoint_ = at;
  }
  size_t pending = 0;
  for (const RecordCache& c : caches_) pending += c.size();
  if (pending < options_.bulk_flush_entries) return Status::Ok();
  if (!options_.bulk_flush_in_background) return Flush();
  // Write these records on another thread (the other core) and fold on.
  CHRONOVA_RETURN_IF_ERROR(WaitFlush());
  std::swap(caches_, flushing_);
  flushing_at_ = at;
  flusher_ =
      std::thread([this] { flush_status_ = WriteCaches(flushing_, flushing_at_); });
  return Status::Ok();
}

Status ProjectionStore::WaitFlush() {
  if (!flusher_.joinable()) return Status::Ok();
  flusher_.join();
  for (RecordCache& c : flushing_) c.Clear();
  CHRONOVA_RETURN_IF_ERROR(flush_status_);
  {
    std::lock_guard<std::mutex> l(mu_);
    flushed_ = flushing_at_;
  }
  cv_.notify_all();
  return Status::Ok();
}

Status ProjectionStore::Flush() {
  if (!options_.bulk) return Status::Ok();
  CHRONOVA_RETURN_IF_ERROR(WaitFlush());
  Seq at = checkpoint();
  if (at == flushed_ && std::all_of(caches_.begin(), caches_.end(),
                                    [](const RecordCache& c) { return c.size() == 0; })) {
    return Status::Ok();  // nothing new since the last flush
  }
  CHRONOVA_RETURN_IF_ERROR(WriteCaches(caches_, at));
  // Freeing millions of records takes seconds: another thread frees them while
  // this one goes on (the store's destructor waits for it).
  if (reaper_.joinable()) reaper_.join();
  std::vector<RecordCache> written = std::move(caches_);
  if (options_.leave_last_records) written.swap(last_written_);  // the flush before's
  if (!written.empty()) {
    reaper_ = std::thread([w = std::move(written)]() mutable { w.clear(); });
  }
  caches_ = std::vector<RecordCache>(projections_.size());
  {
    std::lock_guard<std::mutex> l(mu_);
    flushed_ = at;
  }
  cv_.notify_all();
  return Status::Ok();
}

Status ProjectionStore::WriteCaches(std::vector<RecordCache>& caches, Seq at) {
  // Sorted entries go straight into SST files that RocksDB ingests: no memtable
  // inserts, no write-ahead log (an interrupted rebuild is simply redone). Every
  // entry, in key order (projections in the order of their prefixes "<name>/"),
  // is cut in two halves, written as two files on two threads; the first file
  // begins with the checkpoint key (it sorts first). Both files are ingested at
  // once. The caches are sorted on two threads first, the biggest spread first.
  std::vector<size_t> order(projections_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return Prefixed(projections_[a]->Name(), "") < Prefixed(projections_[b]->Name(), "");
  });
  std::vector<std::vector<std::pair<std::string_view, const RecordCache::Entry*>>> sorted(
      order.size());
  {
    std::vector<uint64_t> sizes(caches.size());
    for (size_t p = 0; p < caches.size(); ++p) sizes[p] = caches[p].size();
    OnTwoLanes(sizes, [&](size_t p) { sorted[p] = caches[p].Sorted(); });
  }
  uint64_t total = 0;
  for (const auto& s : sorted) total += s.size();
  // writers_ is filled by one thread: with track_writers, one file.
  const uint64_t cut = options_.track_writers || total < 2 ? total : total / 2;
  // (A rebuild's first write holds no deletions unless --verify tracks writers:
  // while nothing but the caches held records, folds erased deleted keys.)

  // Writes the entries [from, to) of the whole sequence into `file`.
  auto write = [&](uint64_t from, uint64_t to, const std::string& file) -> Status {
    rocksdb::Options sst_options = StoreOptions(false);
    // LZ4: as fast to write as no compression (fewer bytes copied into files),
    // and a third of the size.
    sst_options.compression = rocksdb::kLZ4Compression;
    // The files stay in the page cache: the store is read soon after (a digest
    // of a 10M-event rebuild took 17 s from disk, 5 s from memory).
    rocksdb::SstFileWriter writer{rocksdb::EnvOptions(), sst_options, nullptr,
                                  /*invalidate_page_cache=*/false};
    CHRONOVA_RETURN_IF_ERROR(FromRocks(writer.Open(file), "bulk sst open"));
    if (from == 0) {
      std::string cp;
      log_keys::PutBigEndian64(&cp, at.value());
      CHRONOVA_RETURN_IF_ERROR(
          FromRocks(writer.Put(kCheckpointKey, cp), "bulk sst write"));
    }
    std::string key, value;  // reused: grown once, not for every record
    uint64_t first = 0;      // position of the current projection's first entry
    for (size_t k = 0; k < order.size() && first < to; ++k) {
      const auto& entries = sorted[order[k]];
      const uint64_t end = first + entries.size();
      std::string_view name = projections_[order[k]]->Name();
      const uint64_t stop = std::min(end, to);
      for (uint64_t g = std::max(first, from); g < stop; ++g) {
        // Entries are scattered in memory: fetch ahead the entry 8 on (its node's
        // two first lines: the entry spans both), and the record of the one 4 on
        // (its entry fetched 4 entries ago).
        if (g + 8 < stop) {
          const char* node = reinterpret_cast<const char*>(entries[g + 8 - first].second);
          __builtin_prefetch(node);
          __builtin_prefetch(node + 64);
        }
        if (g + 4 < stop) __builtin_prefetch(entries[g + 4 - first].second->object.get());
        const auto& [suffix, entry] = entries[g - first];
        key.assign(name);
        key.push_back('/');
        key.append(suffix);
        if (options_.track_writers) writers_[key] = entry->seq;
        rocksdb::Status s;
        if (entry->deleted) {
          s = writer.Delete(key);
        } else if (entry->raw) {
          s = writer.Put(key, *entry->raw);
        } else {
          value.clear();
          entry->encode(entry->object.get(), &value);
          s = writer.Put(key, value);
        }
        CHRONOVA_RETURN_IF_ERROR(FromRocks(s, "bulk sst write"));
      }
      first = end;
    }
    return FromRocks(writer.Finish(), "bulk sst finish");
  };
  const std::string base = options_.path + "/bulk-" + std::to_string(at.value());
  std::vector<std::string> files{base + "-0.sst"};
  Status second;
  std::thread other;
  if (cut < total) {  // both halves hold entries: neither file is empty
    files.push_back(base + "-1.sst");
    other = std::thread([&] { second = write(cut, total, files[1]); });
  }
  Status first = write(0, cut, files[0]);
  if (other.joinable()) other.join();
  CHRONOVA_RETURN_IF_ERROR(first);
  CHRONOVA_RETURN_IF_ERROR(second);
  rocksdb::IngestExternalFileOptions ingest;
  ingest.move_files = true;
  return FromRocks(db_->IngestExternalFile(files, ingest), "bulk ingest");
}

Status ProjectionStore::ApplyBatch(const std::vector<Envelope>& batch) {
  return Apply(batch, nullptr);
}

void DecodeEvents(const std::vector<Envelope>& batch, const UpcasterSet& upcasters,
                  DecodedEvents* out) {
  std::vector<Event>& events = out->events;
  if (events.size() > batch.size()) events.resize(batch.size());
  out->failure = Status::Ok();
  for (size_t i = 0; i < batch.size(); ++i) {
    if (i == events.size()) events.emplace_back();
    out->failure = DecodeEventInto(batch[i], upcasters, &events[i]);
    if (!out->failure.ok()) {
      events.resize(i);
      return;
    }
  }
}

Status ProjectionStore::ApplyDecoded(const std::vector<Envelope>& batch,
                                     const DecodedEvents& events) {
  if (events.events.size() > batch.size()) {
    return Status::InvalidArgument("apply: more decoded events than envelopes");
  }
  return Apply(batch, &events);
}

Status ProjectionStore::Apply(const std::vector<Envelope>& batch,
                              const DecodedEvents* events) {
  if (options_.read_only)
    return Status::PermissionDenied("projection store is read-only");
  if (options_.bulk) return ApplyBulk(batch, events);
  Seq at = checkpoint();
  rocksdb::WriteBatchWithIndex wb(rocksdb::BytewiseComparator(), 0,
                                  /*overwrite_key=*/true);
  PendingAppends appends;
  bool any = false;
  // The first event that cannot be applied stops the batch; everything before it
  // is still committed, so the read models stop exactly at the seq before it.
  Status stopped;
  for (size_t b = 0; b < batch.size(); ++b) {
    const Envelope& env = batch[b];
    if (env.seq <= at) continue;  // already applied
    Event scratch;
    const Event* event = nullptr;
    stopped = NextEvent(batch, events, b, at, &scratch, &event);
    if (!stopped.ok()) break;
    wb.SetSavePoint();
    appends.Mark();
    for (Projection* p : projections_) {
      BatchWriter w(db_.get(), &wb, &appends, p->Name());
      Status st = p->Apply(env, *event, w);
      if (!st.ok()) {
        stopped = st.WithContext("projection " + std::string(p->Name()) + " at seq " +
                                 std::to_string(env.seq.value()));
        break;
      }
    }
    if (!stopped.ok()) {
      // Undo what the projections before the failing one wrote for this event.
      CHRONOVA_RETURN_IF_ERROR(FromRocks(wb.RollbackToSavePoint(), "roll back event"));
      appends.Rollback();
      break;
    }
    at = env.seq;
    any = true;
  }
  if (!any) return stopped;
  CHRONOVA_RETURN_IF_ERROR(appends.WriteTo(&wb));
  std::string cp;
  log_keys::PutBigEndian64(&cp, at.value());
  wb.Put(kCheckpointKey, cp);
  // No fsync: a read model lost in a power cut is rebuilt from the log, and the
  // checkpoint is always in the same batch as the writes it covers.
  CHRONOVA_RETURN_IF_ERROR(FromRocks(
      db_->Write(rocksdb::WriteOptions(), wb.GetWriteBatch()), "commit projections"));
  {
    std::lock_guard<std::mutex> l(mu_);
    checkpoint_ = at;
  }
  cv_.notify_all();
  return stopped;
}

Status ProjectionStore::SaveSnapshot(const std::string& dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  CHRONOVA_RETURN_IF_ERROR(
      FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "snapshot"));
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  return FromRocks(cp->CreateCheckpoint(dir), "snapshot into " + dir);
}

namespace {

class DbIterator : public StoreIterator {
 public:
  explicit DbIterator(rocksdb::Iterator* it) : it_(it) {
    it_->SeekToFirst();
    Skip();
  }
  bool Valid() const override { return it_->Valid(); }
  void Next() override {
    it_->Next();
    Skip();
  }
  std::string_view key() const override { return {it_->key().data(), it_->key().size()}; }
  std::string_view value() const override {
    return {it_->value().data(), it_->value().size()};
  }
  Status status() const override {
    return FromRocks(it_->status(), "iterate read models");
  }

 private:
  void Skip() {
    while (it_->Valid() && IsMetaKey(it_->key())) {
      it_->Next();
    }
  }
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace

std::unique_ptr<StoreIterator> ProjectionStore::NewIterator() const {
  return std::make_unique<DbIterator>(db_->NewIterator(rocksdb::ReadOptions()));
}

Seq ProjectionStore::LastWriter(std::string_view full_key) const {
  auto it = writers_.find(std::string(full_key));
  return it == writers_.end() ? Seq() : Seq(it->second);
}

Seq ProjectionStore::checkpoint() const {
  std::lock_guard<std::mutex> l(mu_);
  return checkpoint_;
}

bool ProjectionStore::WaitFor(Seq seq, int timeout_ms) const {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, std::chrono::milliseconds(timeout_ms),
                      [&] { return checkpoint_ >= seq; });
}

Result<std::unique_ptr<ReadModelReader>> ProjectionStore::Reader(
    std::string_view name) const {
  for (Projection* p : projections_) {
    if (p->Name() == name) {
      return std::unique_ptr<ReadModelReader>(new DbReader(db_.get(), std::string(name)));
    }
  }
  return Status::NotFound("no projection named " + std::string(name));
}

Result<std::string> ProjectionStore::Digest() const {
  // Over length-prefixed keys and values, in key order, eight bytes at a time: a
  // multiply and a rotate per word (byte-wise FNV-1a took 24 s on 14M records).
  uint64_t h = 1469598103934665603ULL, count = 0;
  auto word = [&h](uint64_t w) {
    h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
    h = (h << 29) | (h >> 35);
  };
  auto mix = [&word](std::string_view bytes) {
    word(bytes.size());
    size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, bytes.data() + i, 8);
      word(w);
    }
    if (i < bytes.size()) {
      uint64_t w = 0;
      std::memcpy(&w, bytes.data() + i, bytes.size() - i);
      word(w);
    }
  };
  // Every key, read once in order: large reads ahead, nothing cached.
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2 << 20;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (IsMetaKey(it->key())) continue;
    mix(std::string_view(it->key().data(), it->key().size()));
    mix(std::string_view(it->value().data(), it->value().size()));
    ++count;
  }
  CHRONOVA_RETURN_IF_ERROR(FromRocks(it->status(), "digest"));
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%016llx/%llu", static_cast<unsigned long long>(h),
                static_cast<unsigned long long>(count));
  return std::string(buf);
}

}  // namespace chronova
