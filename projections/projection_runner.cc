#include "projections/projection_runner.h"

#include <algorithm>

namespace chronova {

ProjectionRunner::ProjectionRunner(EventLog* log, ProjectionStore* store)
    : store_(store) {
  sub_ = log->Subscribe(
      store->checkpoint().next(),
      [store](const std::vector<Envelope>& b) { return store->ApplyBatch(b); });
}

ProjectionRunner::~ProjectionRunner() { sub_.reset(); }

Status ProjectionRunner::status() const { return sub_->status(); }

Status ProjectionRunner::WaitFor(Seq seq, int timeout_ms) const {
  // Wake up periodically to notice a runner that stopped on an error.
  constexpr int kSliceMs = 50;
  for (int waited = 0;; waited += kSliceMs) {
    if (store_->WaitFor(seq, std::min(kSliceMs, timeout_ms - waited)))
      return Status::Ok();
    Status st = sub_->status();
    if (!st.ok()) return Status::Unavailable("read models stopped: " + st.ToString());
    if (waited + kSliceMs >= timeout_ms) {
      return Status::Unavailable("read models did not reach seq " +
                                 std::to_string(seq.value()) + " in " +
                                 std::to_string(timeout_ms) + " ms (at " +
                                 std::to_string(store_->checkpoint().value()) + ")");
    }
  }
}

Status CatchUp(EventLog& log, ProjectionStore& store, const CatchUpOptions& options) {
  constexpr size_t kBatch = 4096;
  CHRONOVA_RETURN_IF_ERROR(log.Head().status());  // sync a replicated log first
  while (store.checkpoint() < options.until) {
    uint64_t left = options.until.value() - store.checkpoint().value();
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<Envelope> batch,
                              log.Read(store.checkpoint().next(), std::min<uint64_t>(kBatch, left)));
    if (batch.empty()) return Status::Ok();
    CHRONOVA_RETURN_IF_ERROR(store.ApplyBatch(batch));
    if (options.progress) options.progress(store.checkpoint());
  }
  return Status::Ok();
}

}  // namespace chronova
