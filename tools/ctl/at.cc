// chronovactl at POINT servers|server ID|hosts|host NAME|flavors: the read
// models as of a point in the log (time travel).
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
#include "tools/ctl/ctl.h"

namespace chronova::ctl {

namespace {

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

// at POINT servers|server ID|hosts|host NAME|flavors

}  // namespace

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

}  // namespace chronova::ctl
