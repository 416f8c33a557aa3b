// RocksDbEventLog beyond the shared contract: a randomized operation fuzzer
// against an in-memory model, corruption detection, and read-only secondaries.
#include "eventstore/rocksdb_event_log.h"

#include <rocksdb/db.h>

#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "eventstore/crc32c.h"
#include "eventstore/log_keys.h"
#include "tests/support/test_util.h"

namespace chronova::testing {
namespace {

std::unique_ptr<RocksDbEventLog> OpenLog(const std::string& path) {
  RocksDbLogOptions o;
  o.path = path;
  o.sync = false;
  auto r = RocksDbEventLog::Open(o);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("random appends, reads and reopens agree with a simple model") {
  TempDir dir;
  auto log = OpenLog(dir.Sub("log"));
  uint32_t seed = GENERATE(1u, 2u, 3u);
  std::mt19937 rng(seed);
  // The model: every event's (stream, tag) in seq order, per-stream versions, keys.
  std::vector<std::pair<std::string, std::string>> model;
  std::map<std::string, uint64_t> versions;
  std::map<std::string, AppendResult> keys;

  for (int op = 0; op < 1500; ++op) {
    int kind = rng() % 100;
    std::string stream = "instance/s" + std::to_string(rng() % 7);
    if (kind < 60) {
      AppendRequest req;
      req.stream = StreamId(stream);
      bool reuse_key = !keys.empty() && rng() % 10 == 0;
      req.key =
          IdempotencyKey(reuse_key ? keys.begin()->first : "op" + std::to_string(op));
      int n = 1 + rng() % 3;
      for (int i = 0; i < n; ++i)
        req.events.push_back(TestEvent("t" + std::to_string(op)));
      uint64_t cur = versions[stream];
      int how = rng() % 3;
      req.expected = how == 0   ? ExpectedVersion::Any()
                     : how == 1 ? ExpectedVersion::Exactly(StreamVersion(cur))
                                : ExpectedVersion::Exactly(StreamVersion(cur + 1));
      auto r = log->Append(req);
      if (reuse_key) {
        REQUIRE(r.ok());
        CHECK(r->duplicate);
        CHECK(r->first_seq == keys.begin()->second.first_seq);
      } else if (how == 2) {
        CHECK(r.status().IsConflict());
      } else {
        REQUIRE(r.ok());
        CHECK(r->first_seq == Seq(model.size() + 1));
        for (int i = 0; i < n; ++i) model.emplace_back(stream, "t" + std::to_string(op));
        versions[stream] = cur + n;
        CHECK(r->last_version == StreamVersion(cur + n));
        keys[req.key.str()] = *r;
      }
    } else if (kind < 85) {
      uint64_t from = 1 + rng() % (model.size() + 2);
      size_t max = 1 + rng() % 50;
      auto r = log->Read(Seq(from), max);
      REQUIRE(r.ok());
      size_t expect = from > model.size() ? 0 : std::min(max, model.size() - from + 1);
      REQUIRE(r->size() == expect);
      for (size_t i = 0; i < r->size(); ++i) {
        CHECK((*r)[i].seq == Seq(from + i));
        CHECK((*r)[i].stream.str() == model[from + i - 1].first);
        CHECK(TagOf((*r)[i]) == model[from + i - 1].second);
      }
    } else if (kind < 97) {
      auto r = ReadWholeStream(*log, StreamId(stream));
      REQUIRE(r.ok());
      CHECK(r->size() == versions[stream]);
    } else {
      log.reset();
      log = OpenLog(dir.Sub("log"));
    }
  }
  CHECK(log->Head().value() == Seq(model.size()));
}

TEST_CASE("a damaged record is reported as Corruption naming its seq") {
  TempDir dir;
  {
    auto log = OpenLog(dir.Sub("log"));
    for (int i = 0; i < 5; ++i) AppendOne(*log, "instance/a", "x" + std::to_string(i));
  }
  {
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::Options(), dir.Sub("log"), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string rec;
    REQUIRE(db->Get(rocksdb::ReadOptions(), log_keys::Event(Seq(3)), &rec).ok());
    rec[rec.size() - 2] ^= 0x40;  // flip one bit of the payload
    REQUIRE(db->Put(rocksdb::WriteOptions(), log_keys::Event(Seq(3)), rec).ok());
    REQUIRE(db->Put(rocksdb::WriteOptions(), log_keys::Event(Seq(4)), "xy").ok());
  }
  auto log = OpenLog(dir.Sub("log"));
  auto r = log->Read(Seq(1), 100);
  REQUIRE(r.status().IsCorruption());
  CHECK(r.status().message().find("seq 3") != std::string::npos);
  CHECK(r.status().message().find("checksum") != std::string::npos);
  auto truncated = log->Read(Seq(4), 100);
  REQUIRE(truncated.status().IsCorruption());
  CHECK(truncated.status().message().find("seq 4") != std::string::npos);
  // ReadInto reports the same, and leaves nothing half-read behind.
  std::vector<Envelope> into = log->Read(Seq(1), 2).value();
  Status st = log->ReadInto(Seq(1), 100, &into);
  REQUIRE(st.IsCorruption());
  CHECK(st.message().find("seq 3") != std::string::npos);
  CHECK(into.empty());
  // Events before the damage are still readable.
  CHECK(log->Read(Seq(1), 2)->size() == 2);
  REQUIRE(log->ReadInto(Seq(1), 2, &into).ok());
  CHECK(into.size() == 2);
  CHECK(ReadWholeStream(*log, StreamId("instance/a")).status().IsCorruption());
}

TEST_CASE("a missing record in the middle of the log is reported, not skipped") {
  TempDir dir;
  {
    auto log = OpenLog(dir.Sub("log"));
    for (int i = 0; i < 4; ++i) AppendOne(*log, "instance/a", "x");
  }
  {
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::Options(), dir.Sub("log"), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    REQUIRE(db->Delete(rocksdb::WriteOptions(), log_keys::Event(Seq(2))).ok());
  }
  auto log = OpenLog(dir.Sub("log"));
  auto r = log->Read(Seq(1), 100);
  REQUIRE(r.status().IsCorruption());
  CHECK(r.status().message().find("seq 2") != std::string::npos);
  std::vector<Envelope> into(3);
  REQUIRE(log->ReadInto(Seq(1), 100, &into).IsCorruption());
  CHECK(into.empty());
}

TEST_CASE("a read-only secondary sees the writer's appends") {
  TempDir dir;
  auto writer = OpenLog(dir.Sub("log"));
  AppendOne(*writer, "instance/a", "one");
  RocksDbLogOptions o;
  o.path = dir.Sub("log");
  o.read_only = true;
  o.secondary_path = dir.Sub("secondary");
  auto reader = RocksDbEventLog::Open(o);
  REQUIRE(reader.ok());
  CHECK((*reader)->Head().value() == Seq(1));
  AppendOne(*writer, "instance/a", "two");
  CHECK((*reader)->Head().value() == Seq(2));
  CHECK(TagOf((*reader)->Read(Seq(2), 1).value().at(0)) == "two");
  CHECK((*reader)->Append(AppendRequest{}).status().code() ==
        StatusCode::kPermissionDenied);
}

TEST_CASE("record checksums are CRC-32C, whichever implementation computes them") {
  CHECK(Crc32c("") == 0);
  CHECK(Crc32c("123456789") == 0xE3069283u);  // the standard check value
  // Against the bitwise definition, for every length around the 8-byte steps.
  auto bitwise = [](std::string_view data) {
    uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : data) {
      c ^= b;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
  };
  std::mt19937 rng(7);
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    INFO("length " << n);
    CHECK(Crc32c(bytes) == bitwise(bytes));
    bytes.push_back(static_cast<char>(rng()));
  }
}

TEST_CASE(
    "a mirror rejects an ingested batch that claims a stream version an earlier batch "
    "took, and every mirror decides alike") {
  TempDir dir;
  auto a = OpenTestLog(dir.Sub("a"));
  auto b = OpenTestLog(dir.Sub("b"));
  // What a clustered JetStream may hold when two writers raced on one version.
  const std::vector<std::vector<Envelope>> source = {
      SourceBatch("instance/x", 1, "x1"),     // 1: accepted
      SourceBatch("instance/x", 1, "lost"),   // 2: rejected, v1 is taken
      SourceBatch("instance/y", 1, "y1"),     // 3: accepted
      SourceBatch("instance/x", 2, "x2", 2),  // 4: accepted, v2 and v3
      SourceBatch("instance/x", 3, "late"),   // 5: rejected, v3 is taken
      SourceBatch("instance/x", 5, "gap"),    // 6: rejected, v4 is missing
      SourceBatch("instance/x", 4, "x4")};    // 7: accepted
  for (RocksDbEventLog* log : {a.get(), b.get()}) {
    for (size_t i = 0; i < source.size(); ++i) {
      Status st = log->Ingest(i + 1, source[i]);
      INFO(st.ToString());
      REQUIRE(st.ok());
    }
    CHECK(log->SourceApplied() == 7);
    CHECK(log->SourceRejected() == 3);
    for (uint64_t rejected : {2, 5, 6}) {
      CHECK(log->SourceLanding(rejected).status().IsConflict());
    }
    AppendResult landed = log->SourceLanding(4).value();
    CHECK(landed.first_seq == Seq(3));
    CHECK(landed.last_seq == Seq(4));
    CHECK(landed.last_version == StreamVersion(3));
    CHECK(log->SourceLanding(7).value().first_seq == Seq(5));
    CHECK(log->StreamHead(StreamId("instance/x")).value() == StreamVersion(4));
    CHECK(log->StreamSource(StreamId("instance/x")).value().source_position == 7);
  }
  std::vector<Envelope> from_a = ReadAll(*a);
  REQUIRE(from_a.size() == 5);  // dense seqs 1..5, nothing of the rejected batches
  CHECK(from_a == ReadAll(*b));
  std::vector<std::string> tags;
  for (const Envelope& e : from_a) tags.push_back(TagOf(e));
  CHECK(tags == std::vector<std::string>{"x1-0", "y1-0", "x2-0", "x2-1", "x4-0"});
}

TEST_CASE("a mirror counts two stored copies of one append once, by its key") {
  TempDir dir;
  auto log = OpenTestLog(dir.Sub("log"));
  const IdempotencyKey key("boot-1");
  REQUIRE(log->Ingest(1, SourceBatch("instance/x", 1, "x1"), key).ok());
  // A retry of the same append, stored after another writer moved the stream
  // on: it follows the head, but its key was accepted already.
  REQUIRE(
      log->Ingest(2, SourceBatch("instance/x", 2, "other"), IdempotencyKey("k2")).ok());
  REQUIRE(log->Ingest(3, SourceBatch("instance/x", 3, "x1-again"), key).ok());
  CHECK(log->SourceLanding(3).status().IsConflict());
  std::optional<AppendResult> landed = log->KeyLanding(key).value();
  REQUIRE(landed.has_value());
  CHECK(landed->first_seq == Seq(1));
  CHECK(landed->duplicate);
  CHECK_FALSE(log->KeyLanding(IdempotencyKey("never")).value().has_value());
  CHECK(ReadAll(*log).size() == 2);
  CHECK(log->StreamHead(StreamId("instance/x")).value() == StreamVersion(2));
}

TEST_CASE("a mirror rejects a batch that skips a version within itself, whole") {
  TempDir dir;
  auto log = OpenTestLog(dir.Sub("log"));
  std::vector<Envelope> skipping = SourceBatch("instance/x", 1, "x", 2);
  skipping.push_back(SourceBatch("instance/y", 2, "y").front());  // y has no v1
  REQUIRE(log->Ingest(1, skipping).ok());
  CHECK(log->SourceLanding(1).status().IsConflict());
  CHECK(log->SourceApplied() == 1);
  CHECK(ReadAll(*log).empty());
  // Many streams in one batch are fine when each follows (a bulk import).
  std::vector<Envelope> both = SourceBatch("instance/x", 1, "x", 2);
  both.push_back(SourceBatch("instance/y", 1, "y").front());
  REQUIRE(log->Ingest(2, both).ok());
  CHECK(log->SourceLanding(2).value().last_seq == Seq(3));
  CHECK(log->StreamSource(StreamId("instance/y")).value().source_position == 2);
}

}  // namespace chronova::testing
