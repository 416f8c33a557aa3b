// chronovactl hosts: compute hosts and their usage.
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

}  // namespace chronova::ctl
