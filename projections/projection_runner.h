// ProjectionRunner keeps a ProjectionStore following an EventLog: it subscribes
// from the store's checkpoint and applies every batch. If applying fails (a
// corrupt or missing event) it stops there and reports why; the store keeps the
// last good state and readers can see that it is behind.
#pragma once

#include <memory>

#include "eventstore/event_log.h"
#include "projections/projection_store.h"

namespace chronova {

class ProjectionRunner {
 public:
  // REQUIRES: `log` and `store` outlive the runner. Starts following at once.
  ProjectionRunner(EventLog* log, ProjectionStore* store);
  ~ProjectionRunner();

  // OK while following; the error that stopped it otherwise.
  Status status() const;
  // Read-your-writes: blocks until the read models include `seq`. Unavailable if
  // the runner stopped on an error or `timeout_ms` passed.
  Status WaitFor(Seq seq, int timeout_ms) const;

 private:
  ProjectionStore* store_;
  std::unique_ptr<Subscription> sub_;
};

// Folds the whole log, from seq 1, into `store` (a fresh or partly built store
// continues from its checkpoint). Used to rebuild read models and to verify them.
// `progress` (optional) is called after each batch with the seq reached.
Status CatchUp(EventLog& log, ProjectionStore& store,
               const std::function<void(Seq reached)>& progress = nullptr);

}  // namespace chronova
