// The outcomes the scheduler, conductor and compute agents count, in one place
// so their names and labels stay one set (docs/operations.md, "Metrics").
#pragma once

#include "agents/messages.h"
#include "core/metrics.h"

namespace chronova {

// chronova_boots_total{outcome}: active, failed (the host reported the build
// failed), timed_out (the conductor gave up on it), no_valid_host (the
// scheduler found no host). Counted by the role that appended the outcome.
void CountBoot(const char* outcome);
// chronova_deletes_total{outcome}: deleted (the host destroyed the guest),
// deleted_without_host (its host was down), destroy_failed (the host could
// not destroy it yet; the conductor sends the delete again).
void CountDelete(const char* outcome);
// "build", "delete", ...: the `kind` label of a compute agent's work.
const char* WorkKindName(const Work& w);

}  // namespace chronova
