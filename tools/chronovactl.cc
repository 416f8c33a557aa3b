// chronovactl: the operator's view of a chronova log — its events, the servers and
// hosts derived from it, and a verification that the log is whole and the read
// models match it. Works on a state directory, also while chronovad runs (it opens
// RocksDB as a read-only secondary), or on a JetStream log. One file per
// subcommand in tools/ctl/.
#include <sys/auxv.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "eventstore/log_factory.h"
#include "tools/ctl/cluster_status.h"
#include "tools/ctl/ctl.h"
#include "tools/ctl/nats_credentials.h"
#include "tools/ctl/replay.h"
#include "tools/flags.h"

namespace chronova::ctl {
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
  auto flags = Flags::Parse(
      argc, argv,
      {"state-dir", "log", "nats-url", "nats-stream", "stream", "from", "limit", "into",
       "max-memory", "hosts", "out", "tls-names", "nats-creds", "nats-ca", "nats-http",
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
  if (cmd == "cluster")
    return ClusterStatusCommand(*flags, ctx.log_config.jetstream, *ctx.log);
  if (cmd == "at") return At(ctx, *flags, json);
  if (cmd == "diff") return Diff(ctx, *flags, json);
  if (cmd == "audit") return AuditCommand(ctx, *flags, json, &stop_signals);
  std::fprintf(stderr, "chronovactl: unknown command '%s'\n%s", cmd.c_str(), kUsage);
  return 2;
}

}  // namespace
}  // namespace chronova::ctl

int main(int argc, char** argv) { return chronova::ctl::Run(argc, argv); }
