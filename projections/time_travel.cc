#include "projections/time_travel.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/event_codec.h"
#include "eventstore/command_handler.h"
#include "projections/projection_runner.h"

namespace chronova {
namespace fs = std::filesystem;
namespace {

// Names inside a snapshot directory: the one place that spells them.
constexpr const char* kSignatureFile = "READ_MODELS";
constexpr const char* kTempPrefix = "tmp-";

std::string SnapshotName(Seq seq) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%020llu",
                static_cast<unsigned long long>(seq.value()));
  return buf;
}

// The seq a snapshot directory is named after; false for other names.
bool ParseSnapshotName(const std::string& name, Seq* out) {
  if (name.size() != 20) return false;
  uint64_t v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = Seq(v);
  return true;
}

std::string ReadSmallFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Num(int64_t v) { return std::to_string(v); }

std::string RatioText(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

std::string MetadataText(const std::map<std::string, std::string>& m) {
  std::string out;
  for (const auto& [k, v] : m) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

using Fields = std::vector<std::pair<const char*, std::string>>;

Fields ServerFields(const InstanceState& s) {
  return {{"name", s.name},
          {"status", std::string(ApiStatus(s))},
          {"vm_state", std::string(VmStateName(s.vm_state))},
          {"task_state", std::string(TaskStateName(s.task_state))},
          {"power_state", Num(static_cast<int>(s.power_state))},
          {"host", s.host.str()},
          {"flavor", s.flavor.name},
          {"image", s.image_id.str()},
          {"metadata", MetadataText(s.metadata)},
          {"fault", s.has_fault ? s.fault.message : ""}};
}

Fields HostFields(const HostState& h) {
  return {{"vcpus", Num(h.vcpus)},
          {"memory_mb", Num(h.memory_mb)},
          {"disk_gb", Num(h.disk_gb)},
          {"vcpus_used", Num(h.used.vcpus)},
          {"memory_mb_used", Num(h.used.memory_mb)},
          {"disk_gb_used", Num(h.used.disk_gb)},
          {"instances", Num(static_cast<int64_t>(h.claims.size()))},
          {"availability_zone", h.availability_zone},
          {"hypervisor_type", h.hypervisor_type},
          {"cpu_allocation_ratio", RatioText(h.cpu_allocation_ratio)},
          {"ram_allocation_ratio", RatioText(h.ram_allocation_ratio)},
          {"disk_allocation_ratio", RatioText(h.disk_allocation_ratio)}};
}

// Field-by-field comparison; a missing side compares as empty values.
template <typename Record, typename FieldsOf>
std::vector<FieldChange> DiffFields(const Record* before, const Record* after,
                                    FieldsOf fields_of) {
  Fields b = before ? fields_of(*before) : Fields();
  Fields a = after ? fields_of(*after) : Fields();
  size_t n = std::max(a.size(), b.size());
  std::vector<FieldChange> out;
  for (size_t i = 0; i < n; ++i) {
    const char* name = i < a.size() ? a[i].first : b[i].first;
    std::string bv = i < b.size() ? b[i].second : "";
    std::string av = i < a.size() ? a[i].second : "";
    if (bv != av) out.push_back({name, std::move(bv), std::move(av)});
  }
  return out;
}

// Merges two id-ordered lists into changes (records in neither order are sorted).
template <typename Record, typename KeyOf, typename DiffOf, typename NameOf>
std::vector<ResourceChange> DiffLists(std::vector<Record> before,
                                      std::vector<Record> after, KeyOf key_of,
                                      DiffOf diff_of, NameOf name_of) {
  auto by_key = [&](const Record& x, const Record& y) { return key_of(x) < key_of(y); };
  std::sort(before.begin(), before.end(), by_key);
  std::sort(after.begin(), after.end(), by_key);
  std::vector<ResourceChange> out;
  size_t i = 0, j = 0;
  while (i < before.size() || j < after.size()) {
    const Record* b = nullptr;
    const Record* a = nullptr;
    if (j == after.size() ||
        (i < before.size() && key_of(before[i]) < key_of(after[j]))) {
      b = &before[i++];
    } else if (i == before.size() || key_of(after[j]) < key_of(before[i])) {
      a = &after[j++];
    } else {
      b = &before[i++];
      a = &after[j++];
    }
    std::vector<FieldChange> fields = diff_of(b, a);
    if (b && a && fields.empty()) continue;
    ResourceChange c;
    c.kind = !b   ? ResourceChange::Kind::kAdded
             : !a ? ResourceChange::Kind::kRemoved
                  : ResourceChange::Kind::kChanged;
    c.id = key_of(a ? *a : *b);
    c.name = name_of(a ? *a : *b);
    c.fields = std::move(fields);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

Result<LogPoint> ParseLogPoint(std::string_view text) {
  LogPoint p;
  if (!text.empty() && text.size() <= 20 &&
      std::all_of(text.begin(), text.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    errno = 0;
    unsigned long long v = std::strtoull(std::string(text).c_str(), nullptr, 10);
    if (errno == 0) {
      p.seq = Seq(v);
      return p;
    }
  }
  if (ParseIso8601(std::string(text), &p.time)) {
    p.is_time = true;
    return p;
  }
  return Status::InvalidArgument("'" + std::string(text) +
                                 "' is neither a seq nor an ISO-8601 UTC time "
                                 "(YYYY-MM-DDTHH:MM:SS[.ffffff]Z)");
}

Result<Seq> SeqAtTime(EventLog& log, Timestamp t) {
  CHRONOVA_ASSIGN_OR_RETURN(Seq head, log.Head());
  auto time_of = [&](uint64_t seq) -> Result<Timestamp> {
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<Envelope> one, log.Read(Seq(seq), 1));
    if (one.empty() || one[0].seq != Seq(seq)) {
      return Status::Corruption("seq " + std::to_string(seq) + ": missing");
    }
    return one[0].meta.time;
  };
  // Invariant: seq lo is at or before t (0 always is); everything past hi is after.
  uint64_t lo = 0, hi = head.value();
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo + 1) / 2;
    CHRONOVA_ASSIGN_OR_RETURN(Timestamp mt, time_of(mid));
    if (mt <= t) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return Seq(lo);
}

Result<Seq> ResolveLogPoint(EventLog& log, const LogPoint& point) {
  if (point.is_time) return SeqAtTime(log, point.time);
  CHRONOVA_ASSIGN_OR_RETURN(Seq head, log.Head());
  if (point.seq > head) {
    return Status::InvalidArgument("seq " + std::to_string(point.seq.value()) +
                                   " is past the log's head (" +
                                   std::to_string(head.value()) + ")");
  }
  return point.seq;
}

Result<InstanceState> InstanceAsOf(EventLog& log, const InstanceId& id, Seq at) {
  return LoadInstance(log, id, at);
}

Result<HostState> HostAsOf(EventLog& log, const HostName& host, Seq at) {
  HostState s;
  s.name = host;
  CHRONOVA_RETURN_IF_ERROR(LoadAggregate(
      log, HostStream(host), s,
      [](HostState& st, const Envelope& env, const Event& e) {
        ApplyHostEvent(st, env, e);
      },
      at));
  return s;
}

std::string ReadModelsSignature() {
  ReadModels models;
  return ProjectionsSignature(models.All());
}

namespace {

// Every complete snapshot directory in `dir`, oldest first; only those holding
// `signature`'s read models unless it is null.
Result<std::vector<SnapshotInfo>> ListSnapshotDirs(const std::string& dir,
                                                   const std::string* signature) {
  std::vector<SnapshotInfo> out;
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return out;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    Seq seq;
    if (!ParseSnapshotName(it->path().filename().string(), &seq)) continue;
    if (signature &&
        ReadSmallFile((it->path() / kSignatureFile).string()) != *signature) {
      continue;
    }
    out.push_back({seq, it->path().string()});
  }
  if (ec) return Status::Unavailable("list snapshots in " + dir + ": " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const SnapshotInfo& a, const SnapshotInfo& b) { return a.seq < b.seq; });
  return out;
}

}  // namespace

Result<std::vector<SnapshotInfo>> ListSnapshots(const std::string& dir) {
  // A snapshot of other read models (an older binary) would fold wrongly.
  const std::string signature = ReadModelsSignature();
  return ListSnapshotDirs(dir, &signature);
}

Result<Seq> SaveReadModelsSnapshot(const ProjectionStore& store, const std::string& dir,
                                   size_t keep) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Unavailable("create " + dir + ": " + ec.message());
  // The checkpoint moves while the runner applies: the snapshot's own checkpoint
  // (read back from the copy) names it.
  static std::atomic<uint64_t> counter{0};
  std::string tmp = dir + "/" + kTempPrefix + std::to_string(getpid()) + "-" +
                    std::to_string(counter++);
  fs::remove_all(tmp, ec);
  CHRONOVA_RETURN_IF_ERROR(store.SaveSnapshot(tmp));
  Seq seq;
  {
    ReadModels models;  // the same set, so opening the copy keeps it as it is
    ProjectionStoreOptions o;
    o.path = tmp;
    CHRONOVA_ASSIGN_OR_RETURN(std::unique_ptr<ProjectionStore> copy,
                              ProjectionStore::Open(o, models.All()));
    seq = copy->checkpoint();
  }
  {
    std::ofstream f(tmp + "/" + kSignatureFile);
    f << ReadModelsSignature();
    if (!f)
      return Status::Unavailable("write the snapshot's " + std::string(kSignatureFile));
  }
  std::string final_path = dir + "/" + SnapshotName(seq);
  if (fs::exists(final_path, ec)) {
    fs::remove_all(tmp, ec);
  } else {
    fs::rename(tmp, final_path, ec);
    if (ec)
      return Status::Unavailable("rename snapshot to " + final_path + ": " +
                                 ec.message());
  }
  if (keep > 0) {
    // Unusable snapshots (other read models) count too, and go first when older.
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> all,
                              ListSnapshotDirs(dir, nullptr));
    for (size_t i = 0; i + keep < all.size(); ++i) fs::remove_all(all[i].path, ec);
  }
  return seq;
}

// ---- SnapshotTaker ----------------------------------------------------------

SnapshotTaker::SnapshotTaker(const ProjectionStore* store, SnapshotTakerOptions options)
    : store_(store), options_(std::move(options)) {
  std::error_code ec;
  // Temporary directories left by a crash mid-snapshot.
  for (fs::directory_iterator it(options_.dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().filename().string().rfind(kTempPrefix, 0) == 0) {
      std::error_code rm;
      fs::remove_all(it->path(), rm);
    }
  }
  Result<std::vector<SnapshotInfo>> existing = ListSnapshots(options_.dir);
  if (existing.ok() && !existing->empty()) last_ = existing->back().seq;
  thread_ = std::thread([this] { Loop(); });
}

SnapshotTaker::~SnapshotTaker() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Status SnapshotTaker::status() const {
  std::lock_guard<std::mutex> l(mu_);
  return status_;
}

Seq SnapshotTaker::last() const {
  std::lock_guard<std::mutex> l(mu_);
  return last_;
}

void SnapshotTaker::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    if (store_->checkpoint().value() >= last_.value() + options_.every) {
      l.unlock();
      Result<Seq> taken = SaveReadModelsSnapshot(*store_, options_.dir, options_.keep);
      l.lock();
      if (taken.ok()) {
        last_ = *taken;
        status_ = Status::Ok();
      } else {
        status_ = taken.status();
      }
    }
    cv_.wait_for(l, std::chrono::milliseconds(options_.poll_ms),
                 [this] { return stop_; });
  }
}

// ---- ReadModelsAt and TimeTravel ---------------------------------------------

ReadModelsAt::~ReadModelsAt() {
  servers_.reset();
  hosts_.reset();
  flavors_.reset();
  images_.reset();
  store_.reset();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string_view ResourceChangeKindName(ResourceChange::Kind kind) {
  switch (kind) {
    case ResourceChange::Kind::kAdded:
      return "added";
    case ResourceChange::Kind::kRemoved:
      return "removed";
    case ResourceChange::Kind::kChanged:
      return "changed";
  }
  return "changed";
}

std::vector<FieldChange> DiffServer(const InstanceState* before,
                                    const InstanceState* after) {
  return DiffFields(before, after, ServerFields);
}

std::vector<FieldChange> DiffHost(const HostState* before, const HostState* after) {
  std::vector<FieldChange> out = DiffFields(before, after, HostFields);
  // Which instances came and went: the counts alone miss one replacing another.
  static const std::map<InstanceId, Claim> kNone;
  const auto& b = before ? before->claims : kNone;
  const auto& a = after ? after->claims : kNone;
  std::string claimed, released;
  for (const auto& [id, claim] : a)
    if (!b.count(id)) claimed += (claimed.empty() ? "" : ",") + id.str();
  for (const auto& [id, claim] : b)
    if (!a.count(id)) released += (released.empty() ? "" : ",") + id.str();
  if (!claimed.empty()) out.push_back({"claimed", "", claimed});
  if (!released.empty()) out.push_back({"released", released, ""});
  return out;
}

Result<ReadModelsDiff> DiffReadModels(const ReadModelsAt& a, const ReadModelsAt& b) {
  ReadModelsDiff d;
  d.from = a.seq();
  d.to = b.seq();
  ServersView::ListOptions all;
  all.include_deleted = true;
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<InstanceState> sa, a.servers().List(all));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<InstanceState> sb, b.servers().List(all));
  d.servers = DiffLists(
      std::move(sa), std::move(sb), [](const InstanceState& s) { return s.id.str(); },
      DiffServer, [](const InstanceState& s) { return s.name; });
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<HostState> ha, a.hosts().List());
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<HostState> hb, b.hosts().List());
  d.hosts = DiffLists(
      std::move(ha), std::move(hb), [](const HostState& h) { return h.name.str(); },
      DiffHost, [](const HostState&) { return std::string(); });
  return d;
}

TimeTravel::TimeTravel(EventLog* log, TimeTravelOptions options)
    : log_(log), options_(std::move(options)) {}

TimeTravel::~TimeTravel() {
  std::error_code ec;
  if (!private_scratch_.empty()) fs::remove_all(private_scratch_, ec);
}

Result<std::string> TimeTravel::Scratch() const {
  if (!options_.scratch_dir.empty()) return options_.scratch_dir;
  std::lock_guard<std::mutex> l(mu_);
  if (private_scratch_.empty()) {
    std::string tmpl = fs::temp_directory_path().string() + "/chronova-tt-XXXXXX";
    if (!mkdtemp(tmpl.data())) return Status::Unavailable("cannot create " + tmpl);
    private_scratch_ = tmpl;
  }
  return private_scratch_;
}

Result<Seq> TimeTravel::Resolve(std::string_view point) const {
  CHRONOVA_ASSIGN_OR_RETURN(LogPoint p, ParseLogPoint(point));
  return ResolveLogPoint(*log_, p);
}

Status TimeTravel::CopySnapshot(const SnapshotInfo& snapshot,
                                const std::string& into) const {
  std::error_code ec;
  fs::create_directories(into, ec);
  if (ec) return Status::Unavailable("create " + into + ": " + ec.message());
  for (fs::directory_iterator it(snapshot.path, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    fs::path to = fs::path(into) / it->path().filename();
    // SST files are immutable: link them (as RocksDB's own checkpoints do); the
    // rest (MANIFEST, CURRENT, OPTIONS, WAL) will be written by the copy's DB.
    std::error_code link_ec;
    if (it->path().extension() == ".sst") fs::create_hard_link(it->path(), to, link_ec);
    if (it->path().extension() != ".sst" || link_ec) {
      fs::copy_file(it->path(), to, fs::copy_options::overwrite_existing, ec);
      if (ec) break;
    }
  }
  if (ec) {
    return Status::Unavailable("copy snapshot " + snapshot.path + ": " + ec.message());
  }
  return Status::Ok();
}

Result<std::unique_ptr<ReadModelsAt>> TimeTravel::ReadModelsAsOf(Seq at) const {
  CHRONOVA_ASSIGN_OR_RETURN(std::string scratch, Scratch());
  CHRONOVA_ASSIGN_OR_RETURN(Seq head, log_->Head());
  if (at > head) {
    return Status::InvalidArgument("seq " + std::to_string(at.value()) +
                                   " is past the log's head (" +
                                   std::to_string(head.value()) + ")");
  }
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> snapshots,
                            ListSnapshots(options_.snapshot_dir));
  std::unique_ptr<ReadModelsAt> r(new ReadModelsAt());
  r->dir_ = scratch + "/at-" + std::to_string(at.value()) + "-" +
            std::to_string(getpid()) + "-" + std::to_string(next_id_++);
  r->seq_ = at;
  std::error_code ec;
  // Newest usable snapshot first; one removed meanwhile falls back to an older one.
  for (auto it = snapshots.rbegin(); it != snapshots.rend() && !r->store_; ++it) {
    if (it->seq > at) continue;
    fs::remove_all(r->dir_, ec);
    if (!CopySnapshot(*it, r->dir_).ok()) continue;
    ProjectionStoreOptions o;
    o.path = r->dir_;
    o.bulk = true;
    o.defer_compaction = true;
    Result<std::unique_ptr<ProjectionStore>> opened =
        ProjectionStore::Open(o, r->models_.All());
    if (!opened.ok() || (*opened)->checkpoint() != it->seq) continue;
    r->store_ = std::move(opened).value();
    r->snapshot_ = it->seq;
  }
  if (!r->store_) {
    fs::remove_all(r->dir_, ec);
    ProjectionStoreOptions o;
    o.path = r->dir_;
    o.bulk = true;
    o.defer_compaction = true;
    CHRONOVA_ASSIGN_OR_RETURN(r->store_, ProjectionStore::Open(o, r->models_.All()));
  }
  // Bulk mode: the fold keeps records decoded in memory and writes them once, in
  // sorted files, at the end (a rebuild's fast path; nobody reads meanwhile).
  CatchUpOptions until;
  until.until = at;
  CHRONOVA_RETURN_IF_ERROR(CatchUp(*log_, *r->store_, until));
  CHRONOVA_RETURN_IF_ERROR(r->store_->Flush());
  if (r->store_->checkpoint() != at) {
    return Status::Internal("read models reached seq " +
                            std::to_string(r->store_->checkpoint().value()) + ", not " +
                            std::to_string(at.value()));
  }
  CHRONOVA_ASSIGN_OR_RETURN(r->servers_, r->store_->Reader(ServersProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(r->hosts_, r->store_->Reader(HostsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(r->flavors_, r->store_->Reader(FlavorsProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(r->images_, r->store_->Reader(ImagesProjection::kName));
  return r;
}

Result<ReadModelsDiff> TimeTravel::Diff(Seq a, Seq b) const {
  CHRONOVA_ASSIGN_OR_RETURN(std::unique_ptr<ReadModelsAt> at_a, ReadModelsAsOf(a));
  CHRONOVA_ASSIGN_OR_RETURN(std::unique_ptr<ReadModelsAt> at_b, ReadModelsAsOf(b));
  return DiffReadModels(*at_a, *at_b);
}

}  // namespace chronova
