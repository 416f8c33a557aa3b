#include "agents/heartbeat_monitor.h"

#include "agents/messages.h"
#include "agents/subjects.h"

namespace chronova {

HeartbeatMonitor::HeartbeatMonitor(Bus* bus, HeartbeatMonitorOptions options)
    : bus_(bus), options_(options) {}

Status HeartbeatMonitor::Start() {
  started_ = options_.env->Now();
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [host, seen] : options_.known) last_seen_[host] = seen;
  }
  CHRONOVA_ASSIGN_OR_RETURN(
      subscription_, bus_->Subscribe(subjects::kAllHeartbeats,
                                     [this](const std::string&, const std::string& p) {
                                       Heartbeat hb;
                                       if (!DecodePortable(p, &hb).ok()) return;
                                       std::lock_guard<std::mutex> l(mu_);
                                       last_seen_[hb.host] = options_.env->Now();
                                     }));
  return Status::Ok();
}

HostLiveness HeartbeatMonitor::Get(const HostName& host) const {
  Timestamp seen;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = last_seen_.find(host);
    if (it != last_seen_.end()) seen = it->second;
  }
  Timestamp since = seen.micros != 0 ? seen : started_;
  bool up = options_.env->Now().micros - since.micros <= options_.service_down_time_us;
  return HostLiveness{up, seen};
}

}  // namespace chronova
