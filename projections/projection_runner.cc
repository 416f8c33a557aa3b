#include "projections/projection_runner.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace chronova {

ProjectionRunner::ProjectionRunner(EventLog* log, ProjectionStore* store, Env* env)
    : log_(log), store_(store), env_(env) {
  sub_ = log->Subscribe(
      store->checkpoint().next(),
      [store](const std::vector<Envelope>& b) { return store->ApplyBatch(b); });
  MetricsRegistry& m = MetricsRegistry::Default();
  lag_events_ = m.AddGauge("chronova_projection_lag_events",
                           "Events in the log the read models have not applied yet.", {},
                           [this] { return LagEvents(); });
  lag_seconds_ = m.AddGauge(
      "chronova_projection_lag_seconds",
      "Age of the oldest event the read models have not applied yet (0: caught up).", {},
      [this] { return LagSeconds(); });
}

ProjectionRunner::~ProjectionRunner() {
  lag_events_.Reset();
  lag_seconds_.Reset();
  sub_.reset();
}

double ProjectionRunner::LagEvents() const {
  Result<Seq> head = log_->Head();
  if (!head.ok()) return 0;
  const Seq at = store_->checkpoint();
  return head->value() > at.value() ? static_cast<double>(head->value() - at.value()) : 0;
}

double ProjectionRunner::LagSeconds() const {
  Result<std::vector<Envelope>> next = log_->Read(store_->checkpoint().next(), 1);
  if (!next.ok() || next->empty()) return 0;
  const int64_t age_us = env_->Now().micros - next->front().meta.time.micros;
  return age_us > 0 ? static_cast<double>(age_us) / 1e6 : 0;
}

Status ProjectionRunner::status() const { return sub_->status(); }

Status ProjectionRunner::WaitFor(Seq seq, int timeout_ms) const {
  // In the simulation the runner's own queue is run here (else nothing would
  // run it); then this loop only reports the outcome, waiting no more.
  const bool ran =
      env_->RunUntil([&] { return store_->checkpoint() >= seq || !sub_->status().ok(); },
                     int64_t{timeout_ms} * 1000)
          .has_value();
  // Wake up periodically to notice a runner that stopped on an error.
  constexpr int kSliceMs = 50;
  for (int waited = 0;; waited += kSliceMs) {
    if (store_->WaitFor(seq, ran ? 0 : std::min(kSliceMs, timeout_ms - waited)))
      return Status::Ok();
    Status st = sub_->status();
    if (!st.ok()) return Status::Unavailable("read models stopped: " + st.ToString());
    if (ran || waited + kSliceMs >= timeout_ms) {
      return Status::Unavailable("read models did not reach seq " +
                                 std::to_string(seq.value()) + " in " +
                                 std::to_string(timeout_ms) + " ms (at " +
                                 std::to_string(store_->checkpoint().value()) + ")");
    }
  }
}

Status CatchUp(EventLog& log, ProjectionStore& store, const CatchUpOptions& options) {
  const size_t batch_size = std::max<size_t>(1, options.batch);
  constexpr size_t kQueued = 8;
  CHRONOVA_RETURN_IF_ERROR(log.Head().status());  // sync a replicated log first
  // Reading and decoding (envelopes and events) run on their own thread, ahead of
  // applying: on two cores, decoding and folding overlap.
  struct Decoded {
    std::vector<Envelope> envelopes;
    DecodedEvents events;
  };
  std::mutex mu;  // protects queue, done, read_status, stop, spent
  std::condition_variable cv;
  std::deque<Decoded> queue;
  // Batches applied, handed back to the reader to read into again: their
  // envelopes keep their strings' memory (allocated on the reader's thread,
  // which keeps the two threads off each other's malloc arena).
  std::vector<Decoded> spent;
  bool done = false, stop = false;
  Status read_status;
  std::thread reader([&] {
    Seq next = store.checkpoint().next();
    while (next <= options.until) {
      Decoded decoded;
      {
        std::lock_guard<std::mutex> l(mu);
        if (!spent.empty()) {
          decoded = std::move(spent.back());
          spent.pop_back();
        }
      }
      uint64_t left = options.until.value() - next.value() + 1;
      Status read =
          log.ReadInto(next, std::min<uint64_t>(batch_size, left), &decoded.envelopes);
      if (read.ok()) DecodeEvents(decoded.envelopes, store.upcasters(), &decoded.events);
      std::unique_lock<std::mutex> l(mu);
      if (!read.ok()) {
        read_status = read;
        break;
      }
      if (decoded.envelopes.empty()) break;
      next = decoded.envelopes.back().seq.next();
      cv.wait(l, [&] { return stop || queue.size() < kQueued; });
      if (stop) break;
      queue.push_back(std::move(decoded));
      cv.notify_all();
    }
    std::lock_guard<std::mutex> l(mu);
    done = true;
    cv.notify_all();
  });
  Status st;
  while (true) {
    Decoded batch;
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return done || !queue.empty(); });
      if (queue.empty()) {
        st = read_status;
        break;
      }
      batch = std::move(queue.front());
      queue.pop_front();
      cv.notify_all();
    }
    st = store.ApplyDecoded(batch.envelopes, batch.events);
    {
      std::lock_guard<std::mutex> l(mu);
      spent.push_back(std::move(batch));
    }
    if (!st.ok()) break;
    if (options.progress) options.progress(store.checkpoint());
  }
  {
    std::lock_guard<std::mutex> l(mu);
    stop = true;
    cv.notify_all();
  }
  reader.join();
  CHRONOVA_RETURN_IF_ERROR(st);
  return store.Flush();
}

}  // namespace chronova
