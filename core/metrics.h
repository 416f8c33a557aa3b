// Metrics: counters, histograms and gauges a process exposes at /metrics in
// Prometheus' text format (docs/operations.md, "Metrics"). One registry per
// process (MetricsRegistry::Default()); every role registers there, so a
// process running several roles (the all-in-one) shows them all.
//
//   MetricCounter& boots = MetricsRegistry::Default().CounterFor(
//       "chronova_boots_total", "Boots by outcome.", {{"outcome", "active"}});
//   boots.Inc();
//
// Label values are chosen by chronova, never by a caller of an API (a route
// pattern, not a path), so the number of series stays bounded.
//
// Thread-safety: everything is thread-safe. Counters and histograms live as
// long as the registry (references stay valid); a gauge lives as long as its
// GaugeRegistration.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chronova {

// Label names and values, in the order they are rendered.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class MetricCounter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Observations counted into fixed buckets (upper bounds, ascending), with
// their count and sum, as Prometheus' histograms.
class MetricHistogram {
 public:
  explicit MetricHistogram(std::vector<double> bounds);
  void Observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  // Observations <= bounds()[i] (cumulative), for i < bounds().size().
  uint64_t CumulativeCount(size_t i) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bound, not cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Seconds, from 0.5 ms to 10 s: request and append latencies.
const std::vector<double>& LatencyBuckets();

// Observes the seconds from its construction to its destruction (or Stop()).
class ScopedTimer {
 public:
  explicit ScopedTimer(MetricHistogram* h)
      : histogram_(h), start_(std::chrono::steady_clock::now()) {}
  ~ScopedTimer() { Stop(); }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;
  // Observes now (once); later calls and the destructor do nothing.
  void Stop();
  double Seconds() const;

 private:
  MetricHistogram* histogram_;
  std::chrono::steady_clock::time_point start_;
};

class MetricsRegistry;

// Keeps a gauge registered; unregisters it when destroyed or reset (after
// which its function is never called again).
class GaugeRegistration {
 public:
  GaugeRegistration() = default;
  GaugeRegistration(MetricsRegistry* registry, uint64_t id)
      : registry_(registry), id_(id) {}
  GaugeRegistration(GaugeRegistration&& o) noexcept { *this = std::move(o); }
  GaugeRegistration& operator=(GaugeRegistration&& o) noexcept;
  ~GaugeRegistration() { Reset(); }
  void Reset();

 private:
  MetricsRegistry* registry_ = nullptr;
  uint64_t id_ = 0;
};

class MetricsRegistry {
 public:
  // The process's registry: never destroyed.
  static MetricsRegistry& Default();

  // The counter (or histogram) named `name` with `labels`, created the first
  // time. REQUIRES: one name is always one kind, with one help text and (for
  // histograms) one set of bounds.
  MetricCounter& CounterFor(std::string_view name, std::string_view help,
                            const MetricLabels& labels = {});
  MetricHistogram& HistogramFor(std::string_view name, std::string_view help,
                                const MetricLabels& labels = {},
                                const std::vector<double>& bounds = LatencyBuckets());
  // A gauge whose value `read` gives when the metrics are rendered. Several
  // live gauges with one name and the same labels render as one series, their
  // sum (the depth of every queue of one kind). `read` runs on the rendering
  // thread, should be quick, and must not use the registry.
  [[nodiscard]] GaugeRegistration AddGauge(std::string_view name, std::string_view help,
                                           const MetricLabels& labels,
                                           std::function<double()> read);

  // Every metric in Prometheus' text exposition format (version 0.0.4).
  std::string Render() const;

 private:
  friend class GaugeRegistration;
  void RemoveGauge(uint64_t id);

  enum class Kind { kCounter, kHistogram, kGauge };
  struct Family {
    Kind kind;
    std::string help;
    // By rendered labels ("{a=\"b\"}" or "").
    std::map<std::string, std::unique_ptr<MetricCounter>> counters;
    std::map<std::string, std::unique_ptr<MetricHistogram>> histograms;
  };
  // A gauge's function, called outside gauges_mu_ (a slow one never holds up
  // the others), under its own mutex: once RemoveGauge has returned it is
  // never called again.
  struct GaugeFunction {
    std::mutex mu;  // protects removed; held while `read` runs
    bool removed = false;
    std::function<double()> read;
  };
  struct Gauge {
    std::string name;
    std::string labels;  // rendered
    std::shared_ptr<GaugeFunction> function;
  };
  Family& FamilyFor(std::string_view name, std::string_view help, Kind kind);

  mutable std::mutex mu_;  // protects families_
  std::map<std::string, Family, std::less<>> families_;
  // Separate, so that a slow gauge never holds up a counter's lookup.
  mutable std::mutex gauges_mu_;  // protects gauges_, next_gauge_id_
  std::map<uint64_t, Gauge> gauges_;
  uint64_t next_gauge_id_ = 1;
};

}  // namespace chronova
