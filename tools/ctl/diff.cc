// chronovactl diff POINT POINT: servers and hosts that changed in between.
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

}  // namespace

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

}  // namespace chronova::ctl
