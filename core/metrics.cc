#include "core/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace chronova {
namespace {

// Prometheus' label value escaping: backslash, double quote and newline.
std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// `{a="b",c="d"}`, or "" without labels; `extra` is appended last ("le").
std::string RenderLabels(const MetricLabels& labels,
                         const std::pair<std::string, std::string>* extra = nullptr) {
  if (labels.empty() && extra == nullptr) return "";
  std::string out = "{";
  bool first = true;
  auto add = [&](const std::pair<std::string, std::string>& l) {
    if (!first) out.push_back(',');
    first = false;
    out += l.first + "=\"" + EscapeLabelValue(l.second) + "\"";
  };
  for (const auto& l : labels) add(l);
  if (extra != nullptr) add(*extra);
  out.push_back('}');
  return out;
}

// Adds `le="<bound>"` to already rendered labels.
std::string WithLe(const std::string& labels, const std::string& le) {
  std::string l = "le=\"" + le + "\"";
  if (labels.empty()) return "{" + l + "}";
  return labels.substr(0, labels.size() - 1) + "," + l + "}";
}

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

MetricHistogram::MetricHistogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void MetricHistogram::Observe(double value) {
  size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                 bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t MetricHistogram::CumulativeCount(size_t i) const {
  uint64_t n = 0;
  for (size_t b = 0; b <= i && b < bounds_.size(); ++b)
    n += buckets_[b].load(std::memory_order_relaxed);
  return n;
}

const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> bounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return bounds;
}

void ScopedTimer::Stop() {
  if (histogram_ == nullptr) return;
  histogram_->Observe(Seconds());
  histogram_ = nullptr;
}

double ScopedTimer::Seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

GaugeRegistration& GaugeRegistration::operator=(GaugeRegistration&& o) noexcept {
  if (this != &o) {
    Reset();
    registry_ = std::exchange(o.registry_, nullptr);
    id_ = std::exchange(o.id_, 0);
  }
  return *this;
}

void GaugeRegistration::Reset() {
  if (registry_ != nullptr) registry_->RemoveGauge(id_);
  registry_ = nullptr;
  id_ = 0;
}

MetricsRegistry& MetricsRegistry::Default() {
  static MetricsRegistry* registry = new MetricsRegistry();
  return *registry;
}

MetricsRegistry::Family& MetricsRegistry::FamilyFor(std::string_view name,
                                                    std::string_view help, Kind kind) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{kind, std::string(help), {}, {}})
             .first;
  } else if (it->second.kind != kind) {
    // A programming error (two kinds under one name): caught by the tests.
    throw std::logic_error("metric " + std::string(name) + " registered as two kinds");
  }
  return it->second;
}

MetricCounter& MetricsRegistry::CounterFor(std::string_view name, std::string_view help,
                                           const MetricLabels& labels) {
  std::string key = RenderLabels(labels);
  std::lock_guard<std::mutex> l(mu_);
  auto& counters = FamilyFor(name, help, Kind::kCounter).counters;
  std::unique_ptr<MetricCounter>& c = counters[key];
  if (!c) c = std::make_unique<MetricCounter>();
  return *c;
}

MetricHistogram& MetricsRegistry::HistogramFor(std::string_view name,
                                               std::string_view help,
                                               const MetricLabels& labels,
                                               const std::vector<double>& bounds) {
  std::string key = RenderLabels(labels);
  std::lock_guard<std::mutex> l(mu_);
  auto& histograms = FamilyFor(name, help, Kind::kHistogram).histograms;
  std::unique_ptr<MetricHistogram>& h = histograms[key];
  if (!h) h = std::make_unique<MetricHistogram>(bounds);
  return *h;
}

GaugeRegistration MetricsRegistry::AddGauge(std::string_view name, std::string_view help,
                                            const MetricLabels& labels,
                                            std::function<double()> read) {
  {
    std::lock_guard<std::mutex> l(mu_);
    FamilyFor(name, help, Kind::kGauge);
  }
  auto function = std::make_shared<GaugeFunction>();
  function->read = std::move(read);
  std::lock_guard<std::mutex> l(gauges_mu_);
  uint64_t id = next_gauge_id_++;
  gauges_.emplace(id,
                  Gauge{std::string(name), RenderLabels(labels), std::move(function)});
  return GaugeRegistration(this, id);
}

void MetricsRegistry::RemoveGauge(uint64_t id) {
  std::shared_ptr<GaugeFunction> function;
  {
    std::lock_guard<std::mutex> l(gauges_mu_);
    auto it = gauges_.find(id);
    if (it == gauges_.end()) return;
    function = std::move(it->second.function);
    gauges_.erase(it);
  }
  // Waits for a Render calling it now.
  std::lock_guard<std::mutex> l(function->mu);
  function->removed = true;
}

std::string MetricsRegistry::Render() const {
  // Gauges first (outside mu_): name -> labels -> summed value.
  std::map<std::string, std::map<std::string, double>> gauge_values;
  std::vector<Gauge> gauges;
  {
    std::lock_guard<std::mutex> l(gauges_mu_);
    for (const auto& [id, g] : gauges_) gauges.push_back(g);
  }
  for (const Gauge& g : gauges) {
    std::lock_guard<std::mutex> l(g.function->mu);
    if (!g.function->removed) gauge_values[g.name][g.labels] += g.function->read();
  }
  std::string out;
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [name, f] : families_) {
    const char* type = f.kind == Kind::kCounter     ? "counter"
                       : f.kind == Kind::kHistogram ? "histogram"
                                                    : "gauge";
    if (f.kind == Kind::kGauge && !gauge_values.contains(name)) continue;
    out += "# HELP " + name + " " + EscapeHelp(f.help) + "\n";
    out += "# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, c] : f.counters)
      out += name + labels + " " + std::to_string(c->value()) + "\n";
    for (const auto& [labels, h] : f.histograms) {
      uint64_t below = 0;
      for (size_t i = 0; i < h->bounds().size(); ++i) {
        below = h->CumulativeCount(i);
        out += name + "_bucket" + WithLe(labels, FormatNumber(h->bounds()[i])) + " " +
               std::to_string(below) + "\n";
      }
      // Read once, and never below the buckets read before it: the series stay
      // cumulative while observations land.
      const uint64_t count = std::max(h->count(), below);
      out +=
          name + "_bucket" + WithLe(labels, "+Inf") + " " + std::to_string(count) + "\n";
      out += name + "_sum" + labels + " " + FormatNumber(h->sum()) + "\n";
      out += name + "_count" + labels + " " + std::to_string(count) + "\n";
    }
    if (f.kind == Kind::kGauge) {
      for (const auto& [labels, v] : gauge_values[name])
        out += name + labels + " " + FormatNumber(v) + "\n";
    }
  }
  return out;
}

}  // namespace chronova
