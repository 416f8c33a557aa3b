// ProjectionRunner keeps a ProjectionStore following an EventLog: it subscribes
// from the store's checkpoint and applies every batch. If applying fails (a
// corrupt or missing event) it stops there and reports why; the store keeps the
// last good state and readers can see that it is behind. Its metrics say how
// far behind (chronova_projection_lag_events, _seconds).
#pragma once

#include <memory>

#include "core/env.h"
#include "core/metrics.h"
#include "eventstore/event_log.h"
#include "projections/projection_store.h"

namespace chronova {

class ProjectionRunner {
 public:
  // REQUIRES: `log` and `store` outlive the runner. Starts following at once.
  // `env` is asked to run other work while WaitFor waits (the simulation).
  ProjectionRunner(EventLog* log, ProjectionStore* store, Env* env = Env::Default());
  // The store it keeps up to date.
  ProjectionStore* store() const { return store_; }
  ~ProjectionRunner();

  // OK while following; the error that stopped it otherwise.
  Status status() const;
  // Read-your-writes: blocks until the read models include `seq`. Unavailable if
  // the runner stopped on an error or `timeout_ms` passed.
  Status WaitFor(Seq seq, int timeout_ms) const;

 private:
  // How far the store is behind the log's head: events, and the age of the
  // oldest event not applied yet (0 when caught up).
  double LagEvents() const;
  double LagSeconds() const;

  EventLog* log_;
  ProjectionStore* store_;
  Env* env_;
  std::unique_ptr<Subscription> sub_;
  GaugeRegistration lag_events_;
  GaugeRegistration lag_seconds_;
};

struct CatchUpOptions {
  // Stop after this seq (time travel: the read models as of a point). Default: the
  // log's head.
  Seq until = Seq(UINT64_MAX);
  // Called after each batch with the seq reached (progress bars). Optional.
  std::function<void(Seq reached)> progress;
  // Events read, decoded and applied at a time (at least 1).
  size_t batch = 4096;
};

// Folds the log, from the store's checkpoint + 1, into `store` (a fresh store
// starts at seq 1). Used to rebuild read models, to verify them and to build them
// as of a past point.
Status CatchUp(EventLog& log, ProjectionStore& store, const CatchUpOptions& options = {});

}  // namespace chronova
