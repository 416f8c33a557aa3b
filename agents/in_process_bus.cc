// The all-in-one's Bus: each subscription is a TaskQueue of the Env's (a thread
// of its own), so a slow handler delays only its own subscription, as with NATS.
#include <algorithm>
#include <list>
#include <mutex>
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

// A subscription's queue: its handler runs on a TaskQueue of the Env's, one
// message at a time in publish order.
class Queue {
 public:
  Queue(Env* env, std::string pattern, BusHandler handler)
      : pattern_(std::move(pattern)),
        handler_(std::move(handler)),
        tasks_(env->NewTaskQueue("bus-sub")) {}
  const std::string& pattern() const { return pattern_; }
  void Push(const std::string& subject, const std::string& payload) {
    tasks_->Post([this, subject, payload] { handler_(subject, payload); });
  }

 private:
  const std::string pattern_;
  const BusHandler handler_;
  const std::unique_ptr<TaskQueue> tasks_;  // last: goes first, with its tasks
};

class InProcessBus : public Bus {
 public:
  explicit InProcessBus(Env* env) : env_(env) {}
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
    auto q = std::make_unique<Queue>(env_, subject, std::move(handler));
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

  Env* const env_;
  std::mutex mu_;  // protects exact_, wildcards_
  std::unordered_map<std::string, std::vector<Queue*>> exact_;
  std::list<Queue*> wildcards_;
};

}  // namespace

std::unique_ptr<Bus> NewInProcessBus(Env* env) {
  return std::make_unique<InProcessBus>(env);
}

}  // namespace chronova
