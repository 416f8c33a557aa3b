// chronovactl: the operator's view of a chronova log — its events, the servers and
// hosts derived from it, and a verification that the log is whole and the read
// models match it. Works on a state directory, also while chronovad runs (it opens
// RocksDB as a read-only secondary), or on a JetStream log.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "core/event_codec.h"
#include "core/event_json.h"
#include "eventstore/log_factory.h"
#include "projections/projection_runner.h"
#include "projections/read_models.h"
#include "tools/flags.h"

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
    "daemon's\n";

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
  bool use_daemon = ctx.log_config.backend == LogBackend::kRocksDb &&
                    std::filesystem::exists(daemon_store + "/CURRENT");
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

int Servers(Context& ctx, const Flags& flags, bool json) {
  if (Status st = OpenReadModels(ctx); !st.ok()) return Fail(st);
  auto reader = ctx.store->Reader(ServersProjection::kName).value();
  ServersView view(reader.get());
  ServersView::ListOptions opts;
  opts.include_deleted = flags.Has("all");
  auto list = view.List(opts);
  if (!list.ok()) return Fail(list.status());
  std::vector<std::vector<std::string>> rows;
  for (const InstanceState& s : *list) {
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
  return 0;
}

int Hosts(Context& ctx, bool json) {
  if (Status st = OpenReadModels(ctx); !st.ok()) return Fail(st);
  auto reader = ctx.store->Reader(HostsProjection::kName).value();
  auto list = HostsView(reader.get()).List();
  if (!list.ok()) return Fail(list.status());
  std::vector<std::vector<std::string>> rows;
  for (const HostState& h : *list) {
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
  return 0;
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
  if (ctx.log_config.backend != LogBackend::kRocksDb ||
      !std::filesystem::exists(ctx.log_config.state_dir + "/projections/CURRENT")) {
    std::cout << "read models: rebuilt, digest " << digest << "\n";
    return 0;
  }
  if (Status st = OpenReadModels(ctx); !st.ok()) return Fail(st);
  Seq live_at = ctx.store->checkpoint();
  if (live_at != head) {
    std::cout << "read models: the daemon's are at seq " << live_at.value()
              << ", the log at " << head.value()
              << "; run verify again when it is idle\n";
    return live_at < head ? 0 : 1;
  }
  std::string live = ctx.store->Digest().value();
  bool same = live == digest;
  std::cout << "read models: "
            << (same ? "identical to a rebuild" : "DIFFER from a rebuild") << " (live "
            << live << ", rebuilt " << digest << ")\n";
  return same ? 0 : 1;
}

int Run(int argc, char** argv) {
  auto flags = Flags::Parse(
      argc, argv,
      {"state-dir", "log", "nats-url", "nats-stream", "stream", "from", "limit"},
      {"json", "all", "help"});
  if (!flags.ok() || flags->Has("help") || flags->positional().size() != 1) {
    if (!flags.ok())
      std::fprintf(stderr, "chronovactl: %s\n", flags.status().message().c_str());
    std::fputs(kUsage, stderr);
    return flags.ok() && flags->Has("help") ? 0 : 2;
  }
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
  if (*backend == LogBackend::kRocksDb &&
      !std::filesystem::exists(ctx.log_config.state_dir + "/log/CURRENT")) {
    return Fail(Status::NotFound("no chronova log in " + ctx.log_config.state_dir +
                                 "/log (use --state-dir)"));
  }
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
  std::fprintf(stderr, "chronovactl: unknown command '%s'\n%s", cmd.c_str(), kUsage);
  return 2;
}

}  // namespace
}  // namespace chronova

int main(int argc, char** argv) { return chronova::Run(argc, argv); }
