#include "eventstore/rocksdb_event_log.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <unordered_map>

#include "eventstore/crc32c.h"
#include "eventstore/log_keys.h"
#include "eventstore/rocks_open.h"
#include "eventstore/rocks_status.h"

namespace chronova {

using log_keys::GetBigEndian64;
using log_keys::PutBigEndian64;

struct RocksDbEventLog::Writer {
  const AppendRequest* append = nullptr;  // set for an Append ...
  uint64_t source_position = 0;           // ... or these three for an Ingest
  std::vector<Envelope>* ingest = nullptr;
  const IdempotencyKey* ingest_key = nullptr;  // empty: the batch carries none
  Result<AppendResult> result = Status::Internal("append not run");
  bool done = false;
  std::condition_variable cv;
};

namespace {

constexpr size_t kMaxGroupEvents = 4096;

std::string EncodeRecord(const Envelope& env) {
  std::string body = EncodeEnvelope(env);
  uint32_t crc = Crc32c(body);
  std::string rec;
  rec.reserve(4 + body.size());
  for (int i = 0; i < 4; ++i) rec.push_back(static_cast<char>((crc >> (8 * i)) & 0xFF));
  rec += body;
  return rec;
}

Status DecodeRecord(Seq seq, std::string_view rec, Envelope* out) {
  auto where = [seq] { return "seq " + std::to_string(seq.value()); };
  if (rec.size() < 4) return Status::Corruption(where() + ": truncated record");
  uint32_t crc = 0;
  for (int i = 0; i < 4; ++i)
    crc |= uint32_t{static_cast<unsigned char>(rec[i])} << (8 * i);
  std::string_view body = rec.substr(4);
  if (Crc32c(body) != crc) return Status::Corruption(where() + ": checksum mismatch");
  Status decoded = DecodeEnvelope(body, out);
  if (!decoded.ok()) return decoded.WithContext(where());
  if (out->seq != seq) {
    return Status::Corruption(where() + ": record claims seq " +
                              std::to_string(out->seq.value()));
  }
  return Status::Ok();
}

std::string EncodeResult(const AppendResult& r) {
  std::string v;
  PutBigEndian64(&v, r.first_seq.value());
  PutBigEndian64(&v, r.last_seq.value());
  PutBigEndian64(&v, r.last_version.value());
  return v;
}

Result<AppendResult> DecodeResult(std::string_view v, const std::string& what) {
  if (v.size() != 24) return Status::Corruption(what + ": malformed append result");
  AppendResult r;
  r.first_seq = Seq(GetBigEndian64(v));
  r.last_seq = Seq(GetBigEndian64(v.substr(8)));
  r.last_version = StreamVersion(GetBigEndian64(v.substr(16)));
  return r;
}

}  // namespace

RocksDbEventLog::RocksDbEventLog(const RocksDbLogOptions& options) : options_(options) {}

RocksDbEventLog::~RocksDbEventLog() = default;

Result<std::unique_ptr<RocksDbEventLog>> RocksDbEventLog::Open(
    const RocksDbLogOptions& options) {
  std::unique_ptr<RocksDbEventLog> log(new RocksDbEventLog(options));
  rocksdb::Options ro;
  ro.max_open_files = 512;
  rocksdb::BlockBasedTableOptions table;
  table.block_size = 16 * 1024;
  // Every append looks up its idempotency key, nearly always absent: Bloom
  // filters answer "absent" without a data block (files) or a skip-list
  // search (the memtable). Files written before have none and still read.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  ro.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  ro.memtable_whole_key_filtering = true;
  ro.memtable_prefix_bloom_size_ratio = 0.02;
  CHRONOVA_ASSIGN_OR_RETURN(
      log->db_,
      OpenRocks({options.path, options.read_only, options.secondary_path, "log"}, ro));
  CHRONOVA_RETURN_IF_ERROR(log->Recover());
  return log;
}

Status RocksDbEventLog::Recover() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(log_keys::Event(Seq(UINT64_MAX)));
  uint64_t head = 0;
  if (it->Valid() && it->key().size() == 9 && it->key()[0] == log_keys::kEventPrefix) {
    head = GetBigEndian64(std::string_view(it->key().data() + 1, 8));
  }
  CHRONOVA_RETURN_IF_ERROR(FromRocks(it->status(), "recover head"));
  next_seq_ = head + 1;
  notifier_.Publish(Seq(head));
  std::string applied;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), log_keys::kSourceApplied, &applied);
  if (s.ok() && applied.size() == 8) source_applied_ = GetBigEndian64(applied);
  return Status::Ok();
}

Status RocksDbEventLog::CatchUpIfSecondary() {
  if (!options_.read_only) return Status::Ok();
  CHRONOVA_RETURN_IF_ERROR(
      FromRocks(db_->TryCatchUpWithPrimary(), "catch up with writer"));
  return Recover();
}

Result<AppendResult> RocksDbEventLog::Append(const AppendRequest& req) {
  if (options_.read_only) return Status::PermissionDenied("append: log opened read-only");
  CHRONOVA_RETURN_IF_ERROR(ValidateAppendRequest(req));
  Writer w;
  w.append = &req;
  CHRONOVA_RETURN_IF_ERROR(Enqueue(&w));
  return std::move(w.result);
}

Status RocksDbEventLog::Ingest(uint64_t source_position, std::vector<Envelope> batch,
                               const IdempotencyKey& key) {
  if (batch.empty()) return Status::InvalidArgument("ingest: empty batch");
  Writer w;
  w.source_position = source_position;
  w.ingest = &batch;
  w.ingest_key = &key;
  CHRONOVA_RETURN_IF_ERROR(Enqueue(&w));
  return w.result.status();
}

Status RocksDbEventLog::Enqueue(Writer* w) {
  std::unique_lock<std::mutex> l(mu_);
  writers_.push_back(w);
  while (!w->done && w != writers_.front()) w->cv.wait(l);
  if (w->done) return Status::Ok();

  // This writer leads: take a group of queued appends (an ingest runs alone).
  std::vector<Writer*> group{w};
  if (w->append != nullptr) {
    size_t events = w->append->events.size();
    for (size_t i = 1; i < writers_.size(); ++i) {
      Writer* next = writers_[i];
      if (next->append == nullptr) break;
      events += next->append->events.size();
      if (events > kMaxGroupEvents) break;
      group.push_back(next);
    }
  }
  l.unlock();
  CommitGroup(group);
  l.lock();
  for (Writer* g : group) {
    writers_.pop_front();
    g->done = true;
    if (g != w) g->cv.notify_one();
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  return Status::Ok();
}

void RocksDbEventLog::CommitGroup(const std::vector<Writer*>& group) {
  rocksdb::WriteBatch batch;
  std::unordered_map<std::string, uint64_t> versions;  // streams touched by this group
  std::unordered_map<std::string, AppendResult> keys;  // idempotency keys in this group
  uint64_t seq = next_seq_;
  std::vector<Writer*> written;
  uint64_t rejected = 0;  // ingested batches rejected by the fold

  auto current_version = [&](const StreamId& stream) -> Result<uint64_t> {
    auto it = versions.find(stream.str());
    if (it != versions.end()) return it->second;
    std::string v;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), log_keys::StreamHead(stream), &v);
    if (s.IsNotFound()) return uint64_t{0};
    CHRONOVA_RETURN_IF_ERROR(FromRocks(s, "read head of " + stream.str()));
    if (v.size() != 8) return Status::Corruption("stream head of " + stream.str());
    return GetBigEndian64(v);
  };
  auto put_event = [&](Envelope& env) {
    env.seq = Seq(seq++);
    batch.Put(log_keys::Event(env.seq), EncodeRecord(env));
    std::string seq_value;
    PutBigEndian64(&seq_value, env.seq.value());
    batch.Put(log_keys::StreamIndex(env.stream, env.version), seq_value);
  };
  auto put_head = [&](const StreamId& stream, uint64_t version) {
    std::string v;
    PutBigEndian64(&v, version);
    batch.Put(log_keys::StreamHead(stream), v);
    versions[stream.str()] = version;
  };

  for (Writer* w : group) {
    if (w->append != nullptr) {
      const AppendRequest& req = *w->append;
      if (auto it = keys.find(req.key.str()); it != keys.end()) {
        w->result = it->second;
        continue;
      }
      std::string stored;
      rocksdb::Status s =
          db_->Get(rocksdb::ReadOptions(), log_keys::Idempotency(req.key), &stored);
      if (s.ok()) {
        Result<AppendResult> r = DecodeResult(stored, "idempotency key " + req.key.str());
        if (r.ok()) r->duplicate = true;
        w->result = std::move(r);
        continue;
      }
      if (!s.IsNotFound()) {
        w->result = FromRocks(s, "read idempotency key");
        continue;
      }
      Result<uint64_t> cur = current_version(req.stream);
      if (!cur.ok()) {
        w->result = cur.status();
        continue;
      }
      if (!req.expected.Matches(StreamVersion(*cur))) {
        w->result = Status::Conflict("stream " + req.stream.str() + " is at version " +
                                     std::to_string(*cur) + ", expected " +
                                     std::to_string(req.expected.version().value()));
        continue;
      }
      AppendResult r;
      r.first_seq = Seq(seq);
      for (size_t i = 0; i < req.events.size(); ++i) {
        const NewEvent& ne = req.events[i];
        Envelope env{Seq(),   req.stream, StreamVersion(*cur + 1 + i), ne.type, ne.schema,
                     ne.meta, ne.payload};
        put_event(env);
      }
      r.last_seq = Seq(seq - 1);
      r.last_version = StreamVersion(*cur + req.events.size());
      put_head(req.stream, r.last_version.value());
      batch.Put(log_keys::Idempotency(req.key), EncodeResult(r));
      AppendResult dup = r;
      dup.duplicate = true;
      keys[req.key.str()] = dup;
      w->result = r;
      written.push_back(w);
    } else {
      if (w->source_position <= source_applied_.load()) {
        w->result = AppendResult{};  // redelivered: already stored
        continue;
      }
      // The group is this writer alone: on an error nothing is written.
      std::vector<Envelope>& events = *w->ingest;
      // Whether every event follows its stream's head (a batch from JetStream
      // is one stream; a bulk import may hold many).
      bool follows = true;
      std::unordered_map<std::string, uint64_t> next;
      for (const Envelope& env : events) {
        auto it = next.find(env.stream.str());
        uint64_t cur = 0;
        if (it != next.end()) {
          cur = it->second;
        } else {
          Result<uint64_t> head = current_version(env.stream);
          if (!head.ok()) {
            w->result = head.status();
            return;
          }
          cur = *head;
        }
        if (env.version.value() != cur + 1) {
          follows = false;
          break;
        }
        next[env.stream.str()] = env.version.value();
      }
      const IdempotencyKey& key = *w->ingest_key;
      bool key_taken = false;
      if (!key.empty()) {
        std::string stored;
        rocksdb::Status s =
            db_->Get(rocksdb::ReadOptions(), log_keys::Idempotency(key), &stored);
        if (!s.ok() && !s.IsNotFound()) {
          w->result = FromRocks(s, "read idempotency key");
          return;
        }
        key_taken = s.ok();
      }
      AppendResult r;  // a rejected batch lands nowhere: all zero (SourceLanding)
      if (follows && !key_taken) {
        r.first_seq = Seq(seq);
        std::string position;
        PutBigEndian64(&position, w->source_position);
        for (Envelope& env : events) {
          put_event(env);
          put_head(env.stream, env.version.value());
          batch.Put(log_keys::StreamSource(env.stream), position);
          r.last_version = env.version;
        }
        r.last_seq = Seq(seq - 1);
        if (!key.empty()) batch.Put(log_keys::Idempotency(key), EncodeResult(r));
      } else {
        // Another batch claimed this version first (or a gap), or this is a
        // second copy of an accepted append: the first in source order wins,
        // on every mirror alike.
        ++rejected;
      }
      batch.Put(log_keys::Source(w->source_position), EncodeResult(r));
      std::string applied;
      PutBigEndian64(&applied, w->source_position);
      batch.Put(log_keys::kSourceApplied, applied);
      w->result = r;
      written.push_back(w);
    }
  }
  if (written.empty()) return;

  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  Status st = FromRocks(db_->Write(wo, &batch), "append");
  if (!st.ok()) {
    for (Writer* w : written) w->result = st;
    return;
  }
  next_seq_ = seq;
  source_rejected_ += rejected;
  // Readable first, then announced: a WaitForSource waiter reads right away.
  notifier_.Publish(Seq(seq - 1));
  for (Writer* w : written) {
    if (w->ingest != nullptr) {
      std::lock_guard<std::mutex> l(source_mu_);
      source_applied_ = w->source_position;
    }
  }
  source_cv_.notify_all();
}

Result<Envelope> RocksDbEventLog::LoadEvent(Seq seq) {
  std::string rec;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), log_keys::Event(seq), &rec);
  if (s.IsNotFound()) {
    return Status::Corruption("seq " + std::to_string(seq.value()) +
                              ": indexed but missing from the log");
  }
  CHRONOVA_RETURN_IF_ERROR(FromRocks(s, "read seq " + std::to_string(seq.value())));
  Envelope env;
  CHRONOVA_RETURN_IF_ERROR(DecodeRecord(seq, rec, &env));
  return env;
}

Result<std::vector<Envelope>> RocksDbEventLog::Read(Seq from, size_t max_events) {
  std::vector<Envelope> out;
  CHRONOVA_RETURN_IF_ERROR(ReadInto(from, max_events, &out));
  return out;
}

Status RocksDbEventLog::ReadInto(Seq from, size_t max_events,
                                 std::vector<Envelope>* out) {
  // Envelopes already in *out are decoded into again: their strings keep their
  // memory, and a replay's reader allocates (and frees) almost nothing.
  size_t n = 0;
  uint64_t expected = std::max<uint64_t>(from.value(), 1);
  // A secondary catches up with the writer only to read past what it has seen:
  // the log below its head never changes (a replay reads thousands of batches).
  if (expected > notifier_.head().value()) {
    Status caught_up = CatchUpIfSecondary();
    if (!caught_up.ok()) {
      out->clear();
      return caught_up;
    }
  }
  uint64_t head = notifier_.head().value();
  Status st = [&]() -> Status {
    if (expected > head || max_events == 0) return Status::Ok();
    std::string upper = log_keys::Event(Seq(head).next());
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_slice;
    if (max_events >= 1024) {
      // A bulk read (replay): sequential, read once, in about one read (~100
      // bytes an event on disk): a fixed 2 MB for a 4,096-event batch copied 5
      // times what it used.
      constexpr size_t kReadahead = 2 << 20, kEventBytes = 160;
      ro.readahead_size =
          max_events < kReadahead / kEventBytes ? max_events * kEventBytes : kReadahead;
      ro.fill_cache = false;
    }
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    const size_t want = std::min<uint64_t>(max_events, head - expected + 1);
    if (out->size() < want) out->resize(want);
    for (it->Seek(log_keys::Event(Seq(expected))); it->Valid() && n < max_events;
         it->Next()) {
      rocksdb::Slice k = it->key();
      uint64_t seq = GetBigEndian64(std::string_view(k.data() + 1, 8));
      if (seq != expected) {
        return Status::Corruption("seq " + std::to_string(expected) +
                                  ": missing from the log");
      }
      if (n == out->size()) out->emplace_back();
      CHRONOVA_RETURN_IF_ERROR(
          DecodeRecord(Seq(seq), std::string_view(it->value().data(), it->value().size()),
                       &(*out)[n]));
      ++n;
      ++expected;
    }
    CHRONOVA_RETURN_IF_ERROR(FromRocks(it->status(), "read log"));
    if (n == 0 || (n < max_events && expected <= head)) {
      return Status::Corruption("seq " + std::to_string(expected) +
                                ": missing from the log");
    }
    return Status::Ok();
  }();
  out->resize(st.ok() ? n : 0);
  return st;
}

Result<std::vector<Envelope>> RocksDbEventLog::ReadStream(const StreamId& stream,
                                                          StreamVersion from,
                                                          size_t max_events) {
  CHRONOVA_RETURN_IF_ERROR(CatchUpIfSecondary());
  std::vector<Envelope> out;
  std::string prefix = log_keys::StreamIndexPrefix(stream);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  uint64_t expected = std::max<uint64_t>(from.value(), 1);
  for (it->Seek(log_keys::StreamIndex(stream, StreamVersion(expected)));
       it->Valid() && it->key().starts_with(prefix) && out.size() < max_events;
       it->Next()) {
    if (it->key().size() != prefix.size() + 8 || it->value().size() != 8) {
      return Status::Corruption("stream index of " + stream.str());
    }
    uint64_t version =
        GetBigEndian64(std::string_view(it->key().data() + prefix.size(), 8));
    Seq seq(GetBigEndian64(std::string_view(it->value().data(), 8)));
    CHRONOVA_ASSIGN_OR_RETURN(Envelope env, LoadEvent(seq));
    if (version != expected || env.stream != stream || env.version.value() != version) {
      return Status::Corruption("seq " + std::to_string(seq.value()) +
                                ": stream index of " + stream.str() + " version " +
                                std::to_string(expected) + " points at the wrong event");
    }
    out.push_back(std::move(env));
    ++expected;
  }
  CHRONOVA_RETURN_IF_ERROR(FromRocks(it->status(), "read stream " + stream.str()));
  return out;
}

Result<StreamVersion> RocksDbEventLog::StreamHead(const StreamId& stream) {
  CHRONOVA_RETURN_IF_ERROR(CatchUpIfSecondary());
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), log_keys::StreamHead(stream), &v);
  if (s.IsNotFound()) return StreamVersion();
  CHRONOVA_RETURN_IF_ERROR(FromRocks(s, "read head of " + stream.str()));
  if (v.size() != 8) return Status::Corruption("stream head of " + stream.str());
  return StreamVersion(GetBigEndian64(v));
}

std::unique_ptr<Subscription> RocksDbEventLog::Subscribe(Seq from,
                                                         SubscribeHandler handler) {
  // A secondary learns of the writer's appends only by reading: it polls.
  return StartTailingSubscription(this, &notifier_, from, std::move(handler),
                                  Env::Default(), options_.read_only ? 200000 : 0);
}

Result<Seq> RocksDbEventLog::Head() {
  CHRONOVA_RETURN_IF_ERROR(CatchUpIfSecondary());
  return notifier_.head();
}

Result<AppendResult> RocksDbEventLog::SourceLanding(uint64_t source_position) {
  std::string v;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), log_keys::Source(source_position), &v);
  if (s.IsNotFound()) {
    return Status::NotFound("source position " + std::to_string(source_position));
  }
  CHRONOVA_RETURN_IF_ERROR(FromRocks(s, "read source landing"));
  CHRONOVA_ASSIGN_OR_RETURN(
      AppendResult r,
      DecodeResult(v, "source position " + std::to_string(source_position)));
  if (r.last_version == StreamVersion()) {
    return Status::Conflict("source position " + std::to_string(source_position) +
                            " was rejected: an earlier batch claimed its stream version");
  }
  return r;
}

Result<std::optional<AppendResult>> RocksDbEventLog::KeyLanding(
    const IdempotencyKey& key) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), log_keys::Idempotency(key), &v);
  if (s.IsNotFound()) return std::optional<AppendResult>();
  CHRONOVA_RETURN_IF_ERROR(FromRocks(s, "read idempotency key"));
  CHRONOVA_ASSIGN_OR_RETURN(AppendResult r,
                            DecodeResult(v, "idempotency key " + key.str()));
  r.duplicate = true;
  return std::optional<AppendResult>(r);
}

Result<RocksDbEventLog::StreamSourceHead> RocksDbEventLog::StreamSource(
    const StreamId& stream) {
  StreamSourceHead head;
  std::string v;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), log_keys::StreamSource(stream), &v);
  if (s.IsNotFound()) return head;
  CHRONOVA_RETURN_IF_ERROR(FromRocks(s, "read source of " + stream.str()));
  if (v.size() != 8) return Status::Corruption("stream source of " + stream.str());
  head.source_position = GetBigEndian64(v);
  CHRONOVA_ASSIGN_OR_RETURN(head.version, StreamHead(stream));
  return head;
}

bool RocksDbEventLog::WaitForSource(uint64_t position, int timeout_ms) {
  std::unique_lock<std::mutex> l(source_mu_);
  return source_cv_.wait_for(l, std::chrono::milliseconds(timeout_ms),
                             [&] { return source_applied_.load() >= position; });
}

}  // namespace chronova
