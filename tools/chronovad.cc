// chronovad: the chronova daemon. `chronovad all-in-one` runs the whole control
// plane in one process on the embedded RocksDB log (or a JetStream log) until
// SIGINT or SIGTERM, which stop it cleanly.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "core/ini_file.h"
#include "eventstore/log_factory.h"
#include "projections/hosts_projection.h"
#include "projections/projection_runner.h"
#include "projections/servers_projection.h"
#include "tools/flags.h"

namespace chronova {
namespace {

constexpr const char* kUsage =
    "usage: chronovad all-in-one [--state-dir DIR] [--config FILE]\n"
    "                 [--log rocksdb|jetstream] [--nats-url URL] [--nats-stream NAME]\n"
    "                 [--nats-replicas 1|3] [--no-sync]\n"
    "Runs every chronova role in one process until SIGINT/SIGTERM.\n"
    "Defaults: --state-dir /var/lib/chronova (root) or ~/.local/share/chronova,\n"
    "--log rocksdb. Flags override the INI file given with --config.\n";

std::string DefaultStateDir() {
  if (geteuid() == 0) return "/var/lib/chronova";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.local/share/chronova";
}

void Log(const std::string& line) {
  std::fprintf(stderr, "chronovad: %s\n", line.c_str());
  std::fflush(stderr);
}

struct DaemonConfig {
  LogConfig log;
};

Result<DaemonConfig> LoadConfig(const Flags& flags) {
  IniFile ini;
  if (flags.Has("config")) {
    CHRONOVA_ASSIGN_OR_RETURN(ini, IniFile::Load(flags.Get("config")));
  }
  DaemonConfig c;
  c.log.state_dir =
      flags.Get("state-dir", ini.GetOr("DEFAULT", "state_dir", DefaultStateDir()));
  CHRONOVA_ASSIGN_OR_RETURN(c.log.backend,
                            ParseLogBackend(flags.Get("log", ini.GetOr("log", "backend", "rocksdb"))));
  c.log.sync = !flags.Has("no-sync") && ini.GetOr("log", "sync", "true") != "false";
  JetStreamLogOptions& js = c.log.jetstream;
  js.url = flags.Get("nats-url", ini.GetOr("nats", "url", js.url));
  js.stream_name = flags.Get("nats-stream", ini.GetOr("nats", "stream", js.stream_name));
  std::string replicas = flags.Get("nats-replicas", ini.GetOr("nats", "replicas", "1"));
  if (replicas != "1" && replicas != "3") {
    return Status::InvalidArgument("nats replicas must be 1 or 3, not " + replicas);
  }
  js.replicas = std::stoi(replicas);
  return c;
}

int Run(int argc, char** argv) {
  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto flags = Flags::Parse(argc, argv,
                            {"state-dir", "config", "log", "nats-url", "nats-stream",
                             "nats-replicas"},
                            {"no-sync", "help"});
  if (!flags.ok() || flags->Has("help") || flags->positional().size() != 1 ||
      flags->positional()[0] != "all-in-one") {
    if (!flags.ok()) std::fprintf(stderr, "chronovad: %s\n", flags.status().message().c_str());
    std::fputs(kUsage, stderr);
    return flags.ok() && flags->Has("help") ? 0 : 2;
  }
  auto config = LoadConfig(*flags);
  if (!config.ok()) {
    Log(config.status().ToString());
    return 2;
  }
  const std::string& dir = config->log.state_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    Log("cannot create state dir " + dir + ": " + ec.message());
    return 1;
  }

  auto log = OpenEventLog(config->log);
  if (!log.ok()) {
    Log(log.status().ToString());
    return 1;
  }
  ServersProjection servers;
  HostsProjection hosts;
  ProjectionStoreOptions store_options;
  store_options.path = dir + "/projections";
  auto store = ProjectionStore::Open(store_options, {&servers, &hosts});
  if (!store.ok()) {
    Log(store.status().ToString());
    return 1;
  }
  auto runner = std::make_unique<ProjectionRunner>(log->get(), store->get());
  Result<Seq> head_result = (*log)->Head();
  if (!head_result.ok()) {
    Log(head_result.status().ToString());
    return 1;
  }
  Seq head = *head_result;
  Status caught_up = runner->WaitFor(head, 600000);
  if (!caught_up.ok()) {
    Log("read models cannot reach the log head: " + caught_up.ToString());
    return 1;
  }
  Log("all-in-one ready: state dir " + dir + ", log " +
      (config->log.backend == LogBackend::kRocksDb ? "rocksdb" : "jetstream " +
                                                                    config->log.jetstream.url) +
      ", head seq " + std::to_string(head.value()) + "; Ctrl-C or SIGTERM stops it");

  bool reported = false;
  while (true) {
    timespec tick{1, 0};
    int sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      Log(std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
      break;
    }
    Status st = runner->status();
    if (!st.ok() && !reported) {
      Log("read models stopped and will not serve past seq " +
          std::to_string((*store)->checkpoint().value()) + ": " + st.ToString());
      reported = true;
    }
  }
  runner.reset();
  store->reset();
  log->reset();
  Log("stopped cleanly");
  return 0;
}

}  // namespace
}  // namespace chronova

int main(int argc, char** argv) { return chronova::Run(argc, argv); }
