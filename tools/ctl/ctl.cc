
#include "tools/ctl/ctl.h"

#include <poll.h>
#include <signal.h>
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
#include "projections/instance_actions_projection.h"
#include "projections/projection_runner.h"
#include "projections/read_models.h"
#include "projections/time_travel.h"

namespace chronova::ctl {

int Fail(const Status& st) {
  std::fprintf(stderr, "chronovactl: %s\n", st.ToString().c_str());
  return 1;
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

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

TimeTravelOptions TimeTravelFor(Context& ctx) {
  TimeTravelOptions o;
  o.snapshot_dir = ctx.log_config.state_dir + "/snapshots";
  o.scratch_dir = ctx.scratch.Sub("time-travel");
  return o;
}

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

}  // namespace chronova::ctl
