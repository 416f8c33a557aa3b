// chronovactl: the operator's view of a chronova log — its events, the servers and
// hosts derived from it, and a verification that the log is whole and the read
// models match it. Works on a state directory, also while chronovad runs (it opens
// RocksDB as a read-only secondary), or on a JetStream log.
#include <poll.h>
#include <signal.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>

#include "core/event_codec.h"
#include "core/event_json.h"
#include "eventstore/log_factory.h"
#include "projections/instance_actions_projection.h"
#include "projections/projection_runner.h"
#include "projections/read_models.h"
#include "projections/time_travel.h"
#include "tools/cluster_status.h"
#include "tools/flags.h"
#include "tools/nats_credentials.h"
#include "tools/replay_command.h"

namespace chronova {
namespace {

constexpr const char* kUsage =
    "usage: chronovactl [--state-dir DIR] [--log rocksdb|jetstream] [--nats-url URL]\n"
    "                   [--nats-stream NAME] [--json] COMMAND\n"
    "commands:\n"
    "  events [--stream S] [--from SEQ] [--limit N]   the log, oldest first\n"
    "  servers [--all]                                 servers (--all: deleted too)\n"
    "  hosts                                           compute hosts and their usage\n"
    "  verify                                          check every record and rebuild "
    "the\n"
    "                                                  read models; compare with the "
    "daemon's\n"
    "                                                  (exit 0 all checked, 1 damage, 2 "
    "not\n"
    "                                                  compared: models lag or absent)\n"
    "  at POINT servers [--all]|server ID|hosts|host NAME|flavors\n"
    "                                                  the read models as of POINT: a "
    "seq\n"
    "                                                  or an ISO-8601 UTC time\n"
    "  diff POINT POINT                                servers and hosts that changed in "
    "between\n"
    "  (at, diff: --timing prints the query's wall time on stderr)\n"
    "  audit server|request|user|project|host ID [--follow]\n"
    "                                                  every event about ID, with its "
    "causation\n"
    "                                                  chain; why an ERROR server "
    "failed\n"
    "  replay [--into DIR] [--verify] [--max-memory SIZE]\n"
    "                                                  rebuild every read model from seq "
    "1\n"
    "                                                  (events/s); --verify: compare "
    "with\n"
    "                                                  the daemon's, name the first "
    "divergence;\n"
    "                                                  --max-memory: records kept in "
    "memory\n"
    "                                                  (e.g. 4G; default half the "
    "free memory)\n"
    "  nats-credentials --hosts H1,H2,... [--out DIR] [--tls] [--tls-names N1,N2]\n"
    "                                                  one NATS nkey per role and "
    "compute host,\n"
    "                                                  the server's authorization "
    "block, and\n"
    "                                                  (--tls) a CA and server "
    "certificate,\n"
    "                                                  into DIR (default "
    "<state-dir>/nats)\n"
    "  cluster status [--nats-http H:P,...] [--state-dirs DIR] [--service-down-time S]\n"
    "                                                  roles up, NATS nodes, the "
    "stream's\n"
    "                                                  replicas, each read model's "
    "lag\n"
    "connecting to NATS with a credential: --nats-creds FILE.nk [--nats-ca CA.pem]\n";

// A scratch directory removed on exit (RocksDB secondaries, rebuilt read models).
class Scratch {
 public:
  Scratch() {
    std::string tmpl =
        std::filesystem::temp_directory_path().string() + "/chronovactl-XXXXXX";
    if (mkdtemp(tmpl.data())) path_ = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

int Fail(const Status& st) {
  std::fprintf(stderr, "chronovactl: %s\n", st.ToString().c_str());
  return 1;
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

// Prints rows as an aligned table with a header.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(header.size());
  for (size_t c = 0; c < header.size(); ++c) w[c] = header[c].size();
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) w[c] = std::max(w[c], r[c].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (size_t c = 0; c < r.size(); ++c) out += (c ? "  " : "") + Pad(r[c], w[c]);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::cout << out << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

struct Context {
  LogConfig log_config;
  std::unique_ptr<EventLog> log;
  Scratch scratch;
  ReadModels read_models;
  std::unique_ptr<ProjectionStore> store;
};

// The read models: the daemon's own (as a secondary) when it has a RocksDB store,
// otherwise rebuilt from the log into a scratch directory.
Status OpenReadModels(Context& ctx) {
  std::string daemon_store = ctx.log_config.state_dir + "/projections";
  ProjectionStoreOptions o;
  // The daemon's read models sit in the state dir whichever log it uses.
  bool use_daemon = std::filesystem::exists(daemon_store + "/CURRENT");
  if (use_daemon) {
    o.path = daemon_store;
    o.read_only = true;
    o.secondary_path = ctx.scratch.Sub("projections-secondary");
  } else {
    o.path = ctx.scratch.Sub("projections");
  }
  CHRONOVA_ASSIGN_OR_RETURN(ctx.store, ProjectionStore::Open(o, ctx.read_models.All()));
  if (!use_daemon) return CatchUp(*ctx.log, *ctx.store);
  return Status::Ok();
}

int Events(Context& ctx, const Flags& flags, bool json) {
  uint64_t limit = std::stoull(flags.Get("limit", "1000000000"));
  std::vector<Envelope> events;
  if (flags.Has("stream")) {
    auto r = ReadWholeStream(*ctx.log, StreamId(flags.Get("stream")));
    if (!r.ok()) return Fail(r.status());
    events = std::move(r).value();
  } else {
    Seq from(std::stoull(flags.Get("from", "1")));
    while (events.size() < limit) {
      auto r = ctx.log->Read(from, std::min<uint64_t>(4096, limit - events.size()));
      if (!r.ok()) return Fail(r.status());
      if (r->empty()) break;
      from = r->back().seq.next();
      for (auto& e : *r) events.push_back(std::move(e));
    }
  }
  if (events.size() > limit) events.resize(limit);
  std::vector<std::vector<std::string>> rows;
  for (const Envelope& env : events) {
    Result<Event> ev = DecodeEvent(env);
    if (!ev.ok()) return Fail(ev.status());
    if (json) {
      std::cout << EnvelopeJson(env, &*ev) << "\n";
      continue;
    }
    rows.push_back(
        {std::to_string(env.seq.value()), FormatIso8601(env.meta.time),
         env.stream.str() + "@" + std::to_string(env.version.value()), env.type,
         env.meta.request_id.str(),
         env.meta.causation.value() ? std::to_string(env.meta.causation.value()) : "-",
         env.meta.actor.user.str()});
  }
  if (!json)
    PrintTable({"SEQ", "TIME", "STREAM@VERSION", "TYPE", "REQUEST", "CAUSE", "USER"},
               rows);
  return 0;
}

void PrintServers(const std::vector<InstanceState>& list, bool json);
void PrintHosts(const std::vector<HostState>& list, bool json);

int Servers(Context& ctx, const Flags& flags, bool json) {
  if (Status st = OpenReadModels(ctx); !st.ok()) return Fail(st);
  auto reader = ctx.store->Reader(ServersProjection::kName).value();
  ServersView view(reader.get());
  ServersView::ListOptions opts;
  opts.include_deleted = flags.Has("all");
  auto list = view.List(opts);
  if (!list.ok()) return Fail(list.status());
  PrintServers(*list, json);
  return 0;
}

void PrintServers(const std::vector<InstanceState>& list, bool json) {
  std::vector<std::vector<std::string>> rows;
  for (const InstanceState& s : list) {
    if (json) {
      std::cout << "{\"id\":" << JsonQuote(s.id.str())
                << ",\"name\":" << JsonQuote(s.name)
                << ",\"status\":" << JsonQuote(ApiStatus(s))
                << ",\"vm_state\":" << JsonQuote(VmStateName(s.vm_state))
                << ",\"task_state\":"
                << (s.task_state == TaskState::kNone
                        ? "null"
                        : JsonQuote(TaskStateName(s.task_state)))
                << ",\"power_state\":" << static_cast<int>(s.power_state)
                << ",\"host\":" << JsonQuote(s.host.str())
                << ",\"project_id\":" << JsonQuote(s.project_id.str())
                << ",\"flavor\":" << JsonQuote(s.flavor.name)
                << ",\"version\":" << s.version.value() << "}\n";
      continue;
    }
    rows.push_back({s.id.str(), s.name, std::string(ApiStatus(s)),
                    s.task_state == TaskState::kNone
                        ? "-"
                        : std::string(TaskStateName(s.task_state)),
                    std::to_string(static_cast<int>(s.power_state)),
                    s.host.empty() ? "-" : s.host.str(), s.project_id.str()});
  }
  if (!json)
    PrintTable({"ID", "NAME", "STATUS", "TASK", "POWER", "HOST", "PROJECT"}, rows);
}

int Hosts(Context& ctx, bool json) {
  if (Status st = OpenReadModels(ctx); !st.ok()) return Fail(st);
  auto reader = ctx.store->Reader(HostsProjection::kName).value();
  auto list = HostsView(reader.get()).List();
  if (!list.ok()) return Fail(list.status());
  PrintHosts(*list, json);
  return 0;
}

void PrintHosts(const std::vector<HostState>& list, bool json) {
  std::vector<std::vector<std::string>> rows;
  for (const HostState& h : list) {
    if (json) {
      std::cout << "{\"host\":" << JsonQuote(h.name.str()) << ",\"vcpus\":" << h.vcpus
                << ",\"vcpus_used\":" << h.used.vcpus << ",\"memory_mb\":" << h.memory_mb
                << ",\"memory_mb_used\":" << h.used.memory_mb
                << ",\"disk_gb\":" << h.disk_gb << ",\"disk_gb_used\":" << h.used.disk_gb
                << ",\"instances\":" << h.claims.size()
                << ",\"availability_zone\":" << JsonQuote(h.availability_zone) << "}\n";
      continue;
    }
    rows.push_back(
        {h.name.str(), h.availability_zone,
         std::to_string(h.used.vcpus) + "/" + std::to_string(h.VcpuLimit()),
         std::to_string(h.used.memory_mb) + "/" + std::to_string(h.MemoryLimitMb()),
         std::to_string(h.used.disk_gb) + "/" + std::to_string(h.DiskLimitGb()),
         std::to_string(h.claims.size())});
  }
  if (!json)
    PrintTable({"HOST", "AZ", "VCPUS", "MEMORY_MB", "DISK_GB", "INSTANCES"}, rows);
}

int Verify(Context& ctx) {
  // Rebuild every read model from seq 1: this reads and decodes every record.
  ReadModels read_models;
  ProjectionStoreOptions o;
  o.path = ctx.scratch.Sub("verify");
  auto rebuilt = ProjectionStore::Open(o, read_models.All());
  if (!rebuilt.ok()) return Fail(rebuilt.status());
  if (Status st = CatchUp(*ctx.log, **rebuilt); !st.ok()) return Fail(st);
  Seq head = (*rebuilt)->checkpoint();
  std::string digest = (*rebuilt)->Digest().value();
  std::cout << "log: " << head.value() << " events, every record intact\n";
  // Exit 0 only when everything was checked: 1 for damage, kNotVerified when
  // a part could not be compared (docs/operations.md).
  constexpr int kNotVerified = 2;
  if (!std::filesystem::exists(ctx.log_config.state_dir + "/projections/CURRENT")) {
    std::cout << "read models: NOT VERIFIED: no daemon read models in "
              << ctx.log_config.state_dir << "/projections to compare (rebuilt digest "
              << digest << ")\n";
    return kNotVerified;
  }
  if (Status st = OpenReadModels(ctx); !st.ok()) return Fail(st);
  Seq live_at = ctx.store->checkpoint();
  if (live_at != head) {
    std::cout << "read models: "
              << (live_at < head ? "NOT VERIFIED: the daemon's lag at seq "
                                 : "AHEAD of the log: the daemon's are at seq ")
              << live_at.value() << ", the log at " << head.value()
              << (live_at < head ? "; run verify again when it is idle\n" : "\n");
    return live_at < head ? kNotVerified : 1;
  }
  std::string live = ctx.store->Digest().value();
  bool same = live == digest;
  std::cout << "read models: "
            << (same ? "identical to a rebuild" : "DIFFER from a rebuild") << " (live "
            << live << ", rebuilt " << digest << ")\n";
  return same ? 0 : 1;
}

// ---- time travel: at, diff ----------------------------------------------------

TimeTravelOptions TimeTravelFor(Context& ctx) {
  TimeTravelOptions o;
  o.snapshot_dir = ctx.log_config.state_dir + "/snapshots";
  o.scratch_dir = ctx.scratch.Sub("time-travel");
  return o;
}

// "seq 123 (2026-11-25T18:02:03.123456Z)"; "seq 0 (before the first event)".
std::string PointLabel(EventLog& log, Seq seq) {
  std::string label = "seq " + std::to_string(seq.value());
  if (seq.value() == 0) return label + " (before the first event)";
  auto one = log.Read(seq, 1);
  if (one.ok() && !one->empty())
    label += " (" + FormatIso8601(one->front().meta.time) + ")";
  return label;
}

std::string NullIfEmpty(const std::string& s) {
  return s.empty() ? "null" : JsonQuote(s);
}

// Every field of one server, for `at POINT server ID`.
void PrintServer(const InstanceState& s, bool json) {
  std::string metadata;
  for (const auto& [k, v] : s.metadata) {
    metadata += (metadata.empty() ? "" : ",") + JsonQuote(k) + ":" + JsonQuote(v);
  }
  auto time = [](Timestamp t) { return t.micros ? FormatIso8601(t) : std::string(); };
  std::vector<std::pair<std::string, std::string>> fields = {
      {"id", s.id.str()},
      {"name", s.name},
      {"status", std::string(ApiStatus(s))},
      {"vm_state", std::string(VmStateName(s.vm_state))},
      {"task_state", std::string(TaskStateName(s.task_state))},
      {"power_state", std::to_string(static_cast<int>(s.power_state))},
      {"host", s.host.str()},
      {"project_id", s.project_id.str()},
      {"user_id", s.user_id.str()},
      {"flavor", s.flavor.name},
      {"image", s.image_id.str()},
      {"availability_zone", s.availability_zone},
      {"created_at", time(s.created_at)},
      {"updated_at", time(s.updated_at)},
      {"launched_at", time(s.launched_at)},
      {"terminated_at", time(s.terminated_at)},
      {"fault", s.has_fault ? s.fault.message : ""},
      {"version", std::to_string(s.version.value())}};
  if (json) {
    std::string out;
    for (const auto& [k, v] : fields) {
      out += (out.empty() ? "{" : ",") + JsonQuote(k) + ":" +
             (k == "power_state" || k == "version" ? v : NullIfEmpty(v));
    }
    std::cout << out << ",\"metadata\":{" << metadata << "}}\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [k, v] : fields) rows.push_back({k, v.empty() ? "-" : v});
  rows.push_back({"metadata", metadata.empty() ? "-" : "{" + metadata + "}"});
  PrintTable({"FIELD", "VALUE"}, rows);
}

void PrintFlavors(const std::vector<FlavorRecord>& list, bool json) {
  std::vector<std::vector<std::string>> rows;
  for (const FlavorRecord& f : list) {
    if (json) {
      std::cout << "{\"id\":" << JsonQuote(f.spec.id.str())
                << ",\"name\":" << JsonQuote(f.spec.name) << ",\"vcpus\":" << f.spec.vcpus
                << ",\"ram\":" << f.spec.memory_mb << ",\"disk\":" << f.spec.root_gb
                << ",\"is_public\":" << (f.is_public ? "true" : "false") << "}\n";
      continue;
    }
    rows.push_back({f.spec.id.str(), f.spec.name, std::to_string(f.spec.vcpus),
                    std::to_string(f.spec.memory_mb), std::to_string(f.spec.root_gb),
                    f.is_public ? "yes" : "no"});
  }
  if (!json) PrintTable({"ID", "NAME", "VCPUS", "RAM_MB", "DISK_GB", "PUBLIC"}, rows);
}

// Wall time of one query, for --timing (stderr, so output stays parseable).
class Stopwatch {
 public:
  explicit Stopwatch(bool enabled) : enabled_(enabled) {}
  ~Stopwatch() {
    if (!enabled_) return;
    std::chrono::duration<double, std::milli> ms =
        std::chrono::steady_clock::now() - start_;
    std::fprintf(stderr, "chronovactl: %.2f ms\n", ms.count());
  }

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// at POINT servers|server ID|hosts|host NAME|flavors
int At(Context& ctx, const Flags& flags, bool json) {
  const std::vector<std::string>& pos = flags.positional();
  const std::string what = pos.size() >= 3 ? pos[2] : "";
  bool one = what == "server" || what == "host";
  bool all = what == "servers" || what == "hosts" || what == "flavors";
  if (!(one && pos.size() == 4) && !(all && pos.size() == 3)) {
    std::fprintf(stderr,
                 "chronovactl: at POINT servers|server ID|hosts|host NAME|flavors\n");
    return 2;
  }
  Stopwatch stopwatch(flags.Has("timing"));
  TimeTravel tt(ctx.log.get(), TimeTravelFor(ctx));
  Result<Seq> seq = tt.Resolve(pos[1]);
  if (!seq.ok()) return Fail(seq.status());
  std::string label = PointLabel(*ctx.log, *seq);
  if (what == "server") {
    auto s = InstanceAsOf(*ctx.log, InstanceId(pos[3]), *seq);
    if (!s.ok()) return Fail(s.status());
    if (!s->exists) return Fail(Status::NotFound("no server " + pos[3] + " at " + label));
    if (!json) std::cout << "# as of " << label << "\n";
    PrintServer(*s, json);
    return 0;
  }
  if (what == "host") {
    auto h = HostAsOf(*ctx.log, HostName(pos[3]), *seq);
    if (!h.ok()) return Fail(h.status());
    if (!h->exists) return Fail(Status::NotFound("no host " + pos[3] + " at " + label));
    if (!json) std::cout << "# as of " << label << "\n";
    PrintHosts({*h}, json);
    return 0;
  }
  auto at = tt.ReadModelsAsOf(*seq);
  if (!at.ok()) return Fail(at.status());
  if (!json) {
    std::cout << "# as of " << label << "; folded from "
              << ((*at)->snapshot().value()
                      ? "snapshot " + std::to_string((*at)->snapshot().value())
                      : std::string("seq 1"))
              << "\n";
  }
  if (what == "servers") {
    ServersView::ListOptions opts;
    opts.include_deleted = flags.Has("all");
    auto list = (*at)->servers().List(opts);
    if (!list.ok()) return Fail(list.status());
    PrintServers(*list, json);
  } else if (what == "hosts") {
    auto list = (*at)->hosts().List();
    if (!list.ok()) return Fail(list.status());
    PrintHosts(*list, json);
  } else {
    auto list = (*at)->flavors().List();
    if (!list.ok()) return Fail(list.status());
    PrintFlavors(*list, json);
  }
  return 0;
}

void PrintChanges(const char* resource, const std::vector<ResourceChange>& changes,
                  bool json) {
  for (const ResourceChange& c : changes) {
    if (json) {
      std::cout << "{\"resource\":" << JsonQuote(resource)
                << ",\"id\":" << JsonQuote(c.id) << ",\"name\":" << NullIfEmpty(c.name)
                << ",\"change\":" << JsonQuote(ResourceChangeKindName(c.kind))
                << ",\"fields\":{";
      for (size_t i = 0; i < c.fields.size(); ++i) {
        std::cout << (i ? "," : "") << JsonQuote(c.fields[i].field)
                  << ":{\"before\":" << NullIfEmpty(c.fields[i].before)
                  << ",\"after\":" << NullIfEmpty(c.fields[i].after) << "}";
      }
      std::cout << "}}\n";
      continue;
    }
    std::cout << resource << " " << c.id << (c.name.empty() ? "" : " (" + c.name + ")")
              << " " << ResourceChangeKindName(c.kind) << "\n";
    for (const FieldChange& f : c.fields) {
      std::cout << "  " << f.field << ": " << (f.before.empty() ? "-" : f.before)
                << " -> " << (f.after.empty() ? "-" : f.after) << "\n";
    }
  }
}

// diff A B: the servers and hosts that differ between two points.
int Diff(Context& ctx, const Flags& flags, bool json) {
  const std::vector<std::string>& pos = flags.positional();
  if (pos.size() != 3) {
    std::fprintf(stderr, "chronovactl: diff POINT POINT\n");
    return 2;
  }
  Stopwatch stopwatch(flags.Has("timing"));
  TimeTravel tt(ctx.log.get(), TimeTravelFor(ctx));
  Result<Seq> a = tt.Resolve(pos[1]);
  if (!a.ok()) return Fail(a.status());
  Result<Seq> b = tt.Resolve(pos[2]);
  if (!b.ok()) return Fail(b.status());
  auto diff = tt.Diff(*a, *b);
  if (!diff.ok()) return Fail(diff.status());
  if (!json) {
    std::cout << "# " << PointLabel(*ctx.log, *a) << " -> " << PointLabel(*ctx.log, *b)
              << ": " << diff->servers.size() << " servers, " << diff->hosts.size()
              << " hosts changed\n";
  }
  PrintChanges("server", diff->servers, json);
  PrintChanges("host", diff->hosts, json);
  return 0;
}

// ---- audit: who did what, why ------------------------------------------------
//
// `audit server|request|user|project|host ID` reads the instance_actions read
// model's indexes for the subject's seqs, adds what the log holds beyond the read
// models' checkpoint, and renders the events as a timeline with their causation
// chain. ERROR servers end with an explanation: the chain from the request to the
// failing step and its reason. --follow keeps tailing matching events.

// Which events are about the subject; owners of instances are looked up in the
// read model once and learned from instance.requested events as they pass.
class AuditMatcher {
 public:
  AuditMatcher(AuditSubject subject, const InstanceActionsView* view)
      : subject_(std::move(subject)), view_(view) {}
  bool Matches(const Envelope& env, const Event& event) {
    ProjectId owner;
    InstanceId instance = InstanceOfEvent(env, event);
    if (const auto* r = std::get_if<InstanceRequested>(&event)) {
      owners_[instance] = r->project_id;
    }
    if (!instance.empty()) owner = OwnerOf(instance);
    std::vector<AuditSubject> subjects = AuditSubjectsOf(env, event, owner);
    return std::find(subjects.begin(), subjects.end(), subject_) != subjects.end();
  }

 private:
  ProjectId OwnerOf(const InstanceId& id) {
    auto it = owners_.find(id);
    if (it != owners_.end()) return it->second;
    ProjectId owner;
    if (auto record = view_->Get(id); record.ok() && record->has_value()) {
      owner = (*record)->project_id;
    }
    owners_[id] = owner;
    return owner;
  }

  const AuditSubject subject_;
  const InstanceActionsView* view_;
  std::map<InstanceId, ProjectId> owners_;
};

// Renders timeline rows; the chain depth of each event indents its type.
class AuditTimeline {
 public:
  explicit AuditTimeline(bool json) : json_(json) {}

  void Add(const Envelope& env, const Event& event) {
    Seq cause = env.meta.causation;
    auto parent = depth_.find(cause);
    int depth = cause.value() != 0 && parent != depth_.end() ? parent->second + 1 : 0;
    depth_[env.seq] = depth;
    if (json_) {
      rows_.push_back({EnvelopeJson(env, &event)});
      return;
    }
    const Actor& a = env.meta.actor;
    std::string actor = a.user.str() + (a.project.empty() ? "" : "/" + a.project.str());
    rows_.push_back(
        {FormatIso8601(env.meta.time), std::to_string(env.seq.value()),
         env.stream.str() + "@" + std::to_string(env.version.value()),
         std::string(2 * depth, ' ') + env.type, actor.empty() ? "-" : actor,
         env.meta.request_id.empty() ? "-" : env.meta.request_id.str(),
         cause.value() ? "<- caused by seq " + std::to_string(cause.value()) : "-"});
  }

  // Prints the rows added since the last Flush; the first call prints the header
  // and sets the column widths, later ones (--follow) keep them where they fit.
  // False once stdout is gone.
  bool Flush() {
    static const std::vector<std::string> kHeader = {
        "TIME", "SEQ", "STREAM@VERSION", "TYPE", "ACTOR", "REQUEST", "CAUSE"};
    if (!json_ && widths_.empty()) {
      widths_.resize(kHeader.size());
      for (size_t c = 0; c < kHeader.size(); ++c) widths_[c] = kHeader[c].size();
      for (const auto& r : rows_) {
        for (size_t c = 0; c < r.size(); ++c)
          widths_[c] = std::max(widths_[c], r[c].size());
      }
      PrintRow(kHeader);
    }
    for (const auto& r : rows_) {
      if (json_) {
        std::cout << r[0] << "\n";
      } else {
        PrintRow(r);
      }
    }
    rows_.clear();
    std::cout.flush();
    return static_cast<bool>(std::cout);
  }

 private:
  void PrintRow(const std::vector<std::string>& r) {
    std::string out;
    for (size_t c = 0; c < r.size(); ++c) out += (c ? "  " : "") + Pad(r[c], widths_[c]);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::cout << out << "\n";
  }

  const bool json_;
  std::map<Seq, int> depth_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<size_t> widths_;
};

// For every ERROR server among `instances`: the failed action's chain, from the
// request to the failing step (following causation through the log), and why.
Status ExplainFailures(Context& ctx, const InstanceActionsView& view,
                       const std::vector<InstanceId>& instances, bool json) {
  for (const InstanceId& id : instances) {
    InstanceState state;
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<Envelope> stream,
                              ReadWholeStream(*ctx.log, InstanceStream(id)));
    for (const Envelope& env : stream) {
      CHRONOVA_ASSIGN_OR_RETURN(Event event, DecodeEvent(env));
      ApplyEvent(state, env, event);
    }
    if (!state.exists || state.vm_state != VmState::kError) continue;
    CHRONOVA_ASSIGN_OR_RETURN(std::optional<InstanceActions> record, view.Get(id));
    if (!record) continue;
    for (const InstanceAction& action : record->actions) {
      auto failed = std::find_if(action.events.begin(), action.events.end(),
                                 [](const auto& e) { return e.result == kResultError; });
      if (failed == action.events.end()) continue;
      // The chain, failing event first, then each cause back to the request.
      std::vector<Envelope> chain;
      for (Seq at = failed->finish_seq; at.value() != 0 && chain.size() < 64;) {
        CHRONOVA_ASSIGN_OR_RETURN(std::vector<Envelope> one, ctx.log->Read(at, 1));
        if (one.empty() || one.front().seq != at) break;
        chain.push_back(std::move(one.front()));
        at = chain.back().meta.causation;
      }
      std::reverse(chain.begin(), chain.end());
      const std::string reason =
          failed->details.empty() ? state.fault.message : failed->details;
      if (json) {
        std::string seqs;
        for (const Envelope& e : chain) {
          seqs += (seqs.empty() ? "" : ",") + std::to_string(e.seq.value());
        }
        std::cout << "{\"explanation\":{\"server\":" << JsonQuote(id.str())
                  << ",\"status\":\"ERROR\",\"action\":" << JsonQuote(action.action)
                  << ",\"request_id\":" << JsonQuote(action.request_id.str())
                  << ",\"user\":" << JsonQuote(action.user_id.str())
                  << ",\"failed_step\":" << JsonQuote(failed->event) << ",\"host\":"
                  << (failed->host.empty() ? "null" : JsonQuote(failed->host.str()))
                  << ",\"chain\":[" << seqs << "],\"reason\":" << JsonQuote(reason)
                  << ",\"fault\":" << JsonQuote(state.fault.message) << "}}\n";
        continue;
      }
      std::cout << "\nexplanation: server " << id.str() << " is ERROR\n"
                << "  the " << action.action << " action " << action.request_id.str()
                << " of " << action.user_id.str() << "/" << action.project_id.str()
                << " failed in " << failed->event
                << (failed->host.empty() ? "" : " on " + failed->host.str()) << ":\n";
      for (size_t i = 0; i < chain.size(); ++i) {
        const Envelope& e = chain[i];
        std::cout << "  " << std::string(2 * i, ' ') << (i ? "-> " : "") << "seq "
                  << e.seq.value() << " " << e.type << " (" << FormatIso8601(e.meta.time)
                  << ")\n";
      }
      std::cout << "  reason: " << reason << "\n";
      if (state.fault.message != reason)
        std::cout << "  fault: " << state.fault.message << "\n";
    }
  }
  return Status::Ok();
}

// Blocks SIGINT and SIGTERM for this thread and every thread started after it, so
// that --follow can wait for them (sigtimedwait) and stop cleanly.
sigset_t BlockStopSignals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a closed stdout is a write error, not a kill
  return stop;
}

// True once nobody reads stdout any more (the reader of a pipe closed it).
bool StdoutClosed() {
  pollfd p{STDOUT_FILENO, 0, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

// Tails the log after `from` and prints matching events until SIGINT/SIGTERM,
// stdout closing or a log error.
int FollowAudit(Context& ctx, Seq from, AuditMatcher& matcher, AuditTimeline& timeline,
                const sigset_t& stop) {
  std::mutex mu;  // protects pending
  std::vector<Envelope> pending;
  auto sub = ctx.log->Subscribe(from.next(), [&](const std::vector<Envelope>& batch) {
    std::lock_guard<std::mutex> l(mu);
    pending.insert(pending.end(), batch.begin(), batch.end());
    return Status::Ok();
  });
  const timespec tick{0, 200 * 1000 * 1000};
  while (true) {
    int sig = sigtimedwait(&stop, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) return 0;
    std::vector<Envelope> batch;
    {
      std::lock_guard<std::mutex> l(mu);
      batch.swap(pending);
    }
    for (const Envelope& env : batch) {
      Result<Event> event = DecodeEvent(env);
      if (!event.ok()) return Fail(event.status());
      if (matcher.Matches(env, *event)) timeline.Add(env, *event);
    }
    if (!timeline.Flush() || StdoutClosed()) return 0;
    if (Status st = sub->status(); !st.ok()) return Fail(st);
  }
}

// audit server|request|user|project|host ID [--follow]
int AuditCommand(Context& ctx, const Flags& flags, bool json, const sigset_t* stop) {
  const std::vector<std::string>& pos = flags.positional();
  if (pos.size() != 3) {
    std::fprintf(stderr,
                 "chronovactl: audit server|request|user|project|host ID [--follow]\n");
    return 2;
  }
  Result<AuditKind> kind = ParseAuditKind(pos[1]);
  if (!kind.ok()) return Fail(kind.status());
  if (Status st = OpenReadModels(ctx); !st.ok()) return Fail(st);
  auto reader = ctx.store->Reader(InstanceActionsProjection::kName);
  if (!reader.ok()) return Fail(reader.status());
  InstanceActionsView view(reader->get());
  AuditSubject subject{*kind, pos[2]};
  AuditMatcher matcher(subject, &view);
  AuditTimeline timeline(json);
  std::vector<InstanceId> instances;
  auto note = [&](const Envelope& env, const Event& event) {
    timeline.Add(env, event);
    InstanceId id = InstanceOfEvent(env, event);
    if (!id.empty() &&
        std::find(instances.begin(), instances.end(), id) == instances.end())
      instances.push_back(id);
  };

  // What the read model has indexed, then what the log holds beyond it.
  auto seqs = view.Audit(subject);
  if (!seqs.ok()) return Fail(seqs.status());
  for (Seq seq : *seqs) {
    auto one = ctx.log->Read(seq, 1);
    if (!one.ok()) return Fail(one.status());
    if (one->empty() || one->front().seq != seq) {
      return Fail(Status::Corruption("seq " + std::to_string(seq.value()) +
                                     ": indexed by the audit but not in the log"));
    }
    Result<Event> event = DecodeEvent(one->front());
    if (!event.ok()) return Fail(event.status());
    note(one->front(), *event);
  }
  Result<Seq> head = ctx.log->Head();
  if (!head.ok()) return Fail(head.status());
  for (Seq from = ctx.store->checkpoint().next(); from <= *head;) {
    auto batch = ctx.log->Read(from, 4096);
    if (!batch.ok()) return Fail(batch.status());
    if (batch->empty()) break;
    for (const Envelope& env : *batch) {
      if (env.seq > *head) break;
      Result<Event> event = DecodeEvent(env);
      if (!event.ok()) return Fail(event.status());
      if (matcher.Matches(env, *event)) note(env, *event);
    }
    from = batch->back().seq.next();
  }
  if (!timeline.Flush()) return 1;
  if (Status st = ExplainFailures(ctx, view, instances, json); !st.ok()) return Fail(st);
  std::cout.flush();
  if (!flags.Has("follow")) return 0;
  return FollowAudit(ctx, *head, matcher, timeline, *stop);
}

// A replay allocates gigabytes of small records: glibc's malloc on transparent
// huge pages (a tunable read only at start-up) halves its page faults and saves
// ~10% (docs/performance.md). Runs this program again with it, once, unless the
// environment already sets tunables (GLIBC_TUNABLES= opts out), the process is
// privileged (glibc may drop the variable) or /proc/self/exe is not this
// program (started through ld.so); if the exec fails, goes on as is.
void ReexecWithHugePageMalloc(char** argv) {
  if (std::getenv("GLIBC_TUNABLES") != nullptr || std::getenv("CHRONOVA_REEXEC")) return;
  if (getauxval(AT_SECURE) != 0) return;
  if (std::strchr(argv[0], '/') != nullptr) {
    std::error_code ec;
    if (!std::filesystem::equivalent(argv[0], "/proc/self/exe", ec) || ec) return;
  }
  if (setenv("CHRONOVA_REEXEC", "1", 1) != 0 ||
      setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 1) != 0) {
    return;
  }
  execv("/proc/self/exe", argv);
  unsetenv("GLIBC_TUNABLES");  // exec failed: this process goes on unchanged
  unsetenv("CHRONOVA_REEXEC");
}

int Run(int argc, char** argv) {
  auto flags = Flags::Parse(argc, argv,
                            {"state-dir", "log", "nats-url", "nats-stream", "stream",
                             "from", "limit", "into", "max-memory", "hosts", "out",
                             "tls-names", "nats-creds", "nats-ca", "nats-http",
                             "state-dirs", "service-down-time"},
                            {"json", "all", "help", "timing", "follow", "verify", "tls"});
  if (!flags.ok() || flags->Has("help") || flags->positional().empty()) {
    if (!flags.ok())
      std::fprintf(stderr, "chronovactl: %s\n", flags.status().message().c_str());
    std::fputs(kUsage, stderr);
    return flags.ok() && flags->Has("help") ? 0 : 2;
  }
  if (flags->positional()[0] == "replay") ReexecWithHugePageMalloc(argv);
  if (flags->positional()[0] == "nats-credentials") return NatsCredentialsCommand(*flags);
  Context ctx;
  auto backend = ParseLogBackend(flags->Get("log", "rocksdb"));
  if (!backend.ok()) return Fail(backend.status());
  ctx.log_config.backend = *backend;
  ctx.log_config.state_dir =
      flags->Get("state-dir", geteuid() == 0 ? "/var/lib/chronova" : ".");
  ctx.log_config.read_only = true;
  ctx.log_config.secondary_path = ctx.scratch.Sub("log-secondary");
  ctx.log_config.jetstream.url = flags->Get("nats-url", ctx.log_config.jetstream.url);
  ctx.log_config.jetstream.stream_name =
      flags->Get("nats-stream", ctx.log_config.jetstream.stream_name);
  ctx.log_config.jetstream.mirror_path = ctx.scratch.Sub("mirror");
  ctx.log_config.jetstream.auth.nkey_seed_file = flags->Get("nats-creds", "");
  ctx.log_config.jetstream.auth.ca_file = flags->Get("nats-ca", "");
  ctx.log_config.jetstream.auth.connection_name = "chronovactl";
  if (*backend == LogBackend::kRocksDb &&
      !std::filesystem::exists(ctx.log_config.state_dir + "/log/CURRENT")) {
    return Fail(Status::NotFound("no chronova log in " + ctx.log_config.state_dir +
                                 "/log (use --state-dir)"));
  }
  // --follow waits for the stop signals: block them before any thread starts.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  if (flags->Has("follow")) stop_signals = BlockStopSignals();
  auto log = OpenEventLog(ctx.log_config);
  if (!log.ok()) return Fail(log.status());
  ctx.log = std::move(log).value();
  if (Status st = ctx.log->Head().status(); !st.ok()) return Fail(st);  // sync

  const std::string& cmd = flags->positional()[0];
  bool json = flags->Has("json");
  if (cmd == "events") return Events(ctx, *flags, json);
  if (cmd == "servers") return Servers(ctx, *flags, json);
  if (cmd == "hosts") return Hosts(ctx, json);
  if (cmd == "verify") return Verify(ctx);
  if (cmd == "replay") {
    ReplayArgs r;
    r.log = ctx.log.get();
    if (*backend == LogBackend::kRocksDb)
      r.live_store = ctx.log_config.state_dir + "/projections";
    r.into = flags->Get("into", ctx.scratch.Sub("replay"));
    r.scratch = ctx.scratch.Sub("replay-scratch");
    r.verify = flags->Has("verify");
    if (flags->Has("max-memory")) {
      Result<uint64_t> bytes = ParseByteSize(flags->Get("max-memory"));
      if (!bytes.ok()) return Fail(bytes.status());
      r.max_memory = *bytes;
    }
    return RunReplay(r);
  }
  if (cmd == "cluster") return ClusterStatusCommand(*flags, ctx.log_config.jetstream, *ctx.log);
  if (cmd == "at") return At(ctx, *flags, json);
  if (cmd == "diff") return Diff(ctx, *flags, json);
  if (cmd == "audit") return AuditCommand(ctx, *flags, json, &stop_signals);
  std::fprintf(stderr, "chronovactl: unknown command '%s'\n%s", cmd.c_str(), kUsage);
  return 2;
}

}  // namespace
}  // namespace chronova

int main(int argc, char** argv) { return chronova::Run(argc, argv); }
