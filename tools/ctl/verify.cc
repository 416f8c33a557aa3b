// chronovactl verify: every record checked, the read models rebuilt and compared
// with the daemon's.
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

}  // namespace chronova::ctl
