#include "agents/role_metrics.h"

namespace chronova {

void CountBoot(const char* outcome) {
  MetricsRegistry::Default()
      .CounterFor(
          "chronova_boots_total",
          "Boots by outcome, counted by the role that recorded it (the conductor: "
          "active, failed, timed_out; the scheduler: no_valid_host).",
          {{"outcome", outcome}})
      .Inc();
}

void CountDelete(const char* outcome) {
  MetricsRegistry::Default()
      .CounterFor("chronova_deletes_total",
                  "Deletes by outcome (the conductor: deleted, deleted_without_host; the "
                  "compute agent: destroy_failed, tried again).",
                  {{"outcome", outcome}})
      .Inc();
}

const char* WorkKindName(const Work& w) {
  static constexpr const char* kNames[] = {
      "build",      "delete",           "action",   "rebuild",        "snapshot",
      "reap",       "sync_power_state", "resize",   "resize_confirm", "resize_revert",
      "crash_dump", "shelve",           "unshelve", "soft_delete"};
  static_assert(std::size(kNames) == std::variant_size_v<Work>,
                "a name for every kind of work");
  return kNames[w.index()];
}

}  // namespace chronova
