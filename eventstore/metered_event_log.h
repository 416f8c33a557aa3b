// MeteredEventLog: an EventLog that counts and times every append of the log
// it wraps (docs/operations.md, "Metrics"): chronova_event_appends_total by
// outcome and chronova_event_append_duration_seconds, labelled with the
// backend's name. Everything else passes straight through.
#pragma once

#include <memory>
#include <string>

#include "core/metrics.h"
#include "eventstore/event_log.h"

namespace chronova {

class MeteredEventLog : public EventLog {
 public:
  // `backend`: the `log` label ("rocksdb", "jetstream").
  MeteredEventLog(std::unique_ptr<EventLog> log, const std::string& backend);

  Result<AppendResult> Append(const AppendRequest& req) override;
  Result<std::vector<Envelope>> Read(Seq from, size_t max_events) override {
    return log_->Read(from, max_events);
  }
  Status ReadInto(Seq from, size_t max_events, std::vector<Envelope>* out) override {
    return log_->ReadInto(from, max_events, out);
  }
  Result<std::vector<Envelope>> ReadStream(const StreamId& stream, StreamVersion from,
                                           size_t max_events) override {
    return log_->ReadStream(stream, from, max_events);
  }
  Result<StreamVersion> StreamHead(const StreamId& stream) override {
    return log_->StreamHead(stream);
  }
  std::unique_ptr<Subscription> Subscribe(Seq from, SubscribeHandler handler) override {
    return log_->Subscribe(from, std::move(handler));
  }
  Result<Seq> Head() override { return log_->Head(); }

 private:
  std::unique_ptr<EventLog> log_;
  MetricHistogram* latency_;
  MetricCounter* ok_;
  MetricCounter* conflict_;
  MetricCounter* failed_;
};

}  // namespace chronova
