// chronovactl's shared pieces: what every subcommand gets (the log, a scratch
// directory, the read models) and the helpers they print with. One file per
// subcommand beside this one (events.cc, servers.cc, hosts.cc, verify.cc,
// at.cc, diff.cc, audit.cc, replay.cc, cluster_status.cc,
// nats_credentials.cc); tools/chronovactl.cc parses the flags and dispatches.
#pragma once

#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/host_state.h"
#include "core/instance_state.h"
#include "eventstore/log_factory.h"
#include "projections/projection_store.h"
#include "projections/read_models.h"
#include "projections/time_travel.h"
#include "tools/flags.h"

namespace chronova::ctl {

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

struct Context {
  LogConfig log_config;
  std::unique_ptr<EventLog> log;
  Scratch scratch;
  ReadModels read_models;
  std::unique_ptr<ProjectionStore> store;
};

// Prints "chronovactl: <status>" on stderr; returns exit code 1.
int Fail(const Status& st);
std::string Pad(std::string s, size_t width);
// Prints rows as an aligned table with a header.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);
// The read models: the daemon's own (as a secondary) when it has a RocksDB store,
// otherwise rebuilt from the log into a scratch directory.
Status OpenReadModels(Context& ctx);
// Time travel over the daemon's snapshots, with scratch space of our own.
TimeTravelOptions TimeTravelFor(Context& ctx);
// "seq 123 (2026-11-25T18:02:03.123456Z)"; "seq 0 (before the first event)".
std::string PointLabel(EventLog& log, Seq seq);
// A JSON string, or null for "".
std::string NullIfEmpty(const std::string& s);
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

void PrintServers(const std::vector<InstanceState>& list, bool json);
void PrintHosts(const std::vector<HostState>& list, bool json);
// Blocks SIGINT and SIGTERM for this thread and every thread started after it, so
// that --follow can wait for them (sigtimedwait) and stop cleanly.
sigset_t BlockStopSignals();

// The subcommands; each returns the process's exit code.
int Events(Context& ctx, const Flags& flags, bool json);
int Servers(Context& ctx, const Flags& flags, bool json);
int Hosts(Context& ctx, bool json);
int Verify(Context& ctx);
int At(Context& ctx, const Flags& flags, bool json);
int Diff(Context& ctx, const Flags& flags, bool json);
int AuditCommand(Context& ctx, const Flags& flags, bool json, const sigset_t* stop);

}  // namespace chronova::ctl
