// chronovactl servers [--all]: the servers read model.
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

}  // namespace chronova::ctl
