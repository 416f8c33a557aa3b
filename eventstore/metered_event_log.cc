#include "eventstore/metered_event_log.h"

namespace chronova {
namespace {

MetricCounter* Appends(const std::string& backend, const char* outcome) {
  return &MetricsRegistry::Default().CounterFor(
      "chronova_event_appends_total",
      "Appends to the event log by outcome: ok, conflict (the stream was not at the "
      "expected version), error.",
      {{"log", backend}, {"outcome", outcome}});
}

}  // namespace

MeteredEventLog::MeteredEventLog(std::unique_ptr<EventLog> log,
                                 const std::string& backend)
    : log_(std::move(log)),
      latency_(&MetricsRegistry::Default().HistogramFor(
          "chronova_event_append_duration_seconds",
          "Time to append a batch of events (acknowledged: durable as the log is "
          "configured), every outcome.",
          {{"log", backend}})),
      ok_(Appends(backend, "ok")),
      conflict_(Appends(backend, "conflict")),
      failed_(Appends(backend, "error")) {}

Result<AppendResult> MeteredEventLog::Append(const AppendRequest& req) {
  ScopedTimer timer(latency_);
  Result<AppendResult> r = log_->Append(req);
  if (r.ok()) {
    ok_->Inc();
  } else if (r.status().IsConflict()) {
    conflict_->Inc();
  } else {
    failed_->Inc();
  }
  return r;
}

}  // namespace chronova
