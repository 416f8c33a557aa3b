// The all-in-one's Bus: subscriptions are queues drained by their own thread, so a
// slow handler delays only its own subscription, as with NATS.
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "agents/bus.h"

namespace chronova {

bool SubjectMatches(const std::string& pattern, const std::string& subject) {
  if (pattern.size() >= 2 && pattern.compare(pattern.size() - 2, 2, ".>") == 0) {
    std::string prefix = pattern.substr(0, pattern.size() - 1);  // keeps the dot
    return subject.size() > prefix.size() &&
           subject.compare(0, prefix.size(), prefix) == 0;
  }
  return pattern == subject;
}

namespace {

class Queue {
 public:
  Queue(std::string pattern, BusHandler handler)
      : pattern_(std::move(pattern)), handler_(std::move(handler)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Queue() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  const std::string& pattern() const { return pattern_; }
  void Push(const std::string& subject, const std::string& payload) {
    {
      std::lock_guard<std::mutex> l(mu_);
      items_.emplace_back(subject, payload);
    }
    cv_.notify_one();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      cv_.wait(l, [&] { return stop_ || !items_.empty(); });
      if (stop_) return;
      auto item = std::move(items_.front());
      items_.pop_front();
      l.unlock();
      handler_(item.first, item.second);
      l.lock();
    }
  }

  const std::string pattern_;
  const BusHandler handler_;
  std::mutex mu_;  // protects items_, stop_
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::string>> items_;
  bool stop_ = false;
  std::thread thread_;
};

class InProcessBus : public Bus {
 public:
  Status Publish(const std::string& subject, const std::string& payload) override {
    std::lock_guard<std::mutex> l(mu_);
    // Exact subscriptions by hash (one per compute host: thousands); wildcard
    // ones (a few) by matching.
    if (auto it = exact_.find(subject); it != exact_.end()) {
      for (Queue* q : it->second) q->Push(subject, payload);
    }
    for (Queue* q : wildcards_) {
      if (SubjectMatches(q->pattern(), subject)) q->Push(subject, payload);
    }
    return Status::Ok();
  }

  Result<std::unique_ptr<BusSubscription>> Subscribe(const std::string& subject,
                                                     BusHandler handler) override {
    auto q = std::make_unique<Queue>(subject, std::move(handler));
    std::lock_guard<std::mutex> l(mu_);
    if (IsWildcard(subject)) {
      wildcards_.push_back(q.get());
    } else {
      exact_[subject].push_back(q.get());
    }
    return std::unique_ptr<BusSubscription>(new Sub(this, std::move(q)));
  }

 private:
  static bool IsWildcard(const std::string& s) {
    return s.size() >= 2 && s.compare(s.size() - 2, 2, ".>") == 0;
  }

  class Sub : public BusSubscription {
   public:
    Sub(InProcessBus* bus, std::unique_ptr<Queue> q) : bus_(bus), q_(std::move(q)) {}
    ~Sub() override {
      {
        std::lock_guard<std::mutex> l(bus_->mu_);
        if (IsWildcard(q_->pattern())) {
          bus_->wildcards_.remove(q_.get());
        } else {
          auto& v = bus_->exact_[q_->pattern()];
          v.erase(std::remove(v.begin(), v.end(), q_.get()), v.end());
          if (v.empty()) bus_->exact_.erase(q_->pattern());
        }
      }
      q_.reset();
    }

   private:
    InProcessBus* bus_;
    std::unique_ptr<Queue> q_;
  };

  std::mutex mu_;  // protects exact_, wildcards_
  std::unordered_map<std::string, std::vector<Queue*>> exact_;
  std::list<Queue*> wildcards_;
};

}  // namespace

std::unique_ptr<Bus> NewInProcessBus() { return std::make_unique<InProcessBus>(); }

}  // namespace chronova
