#include "agents/membership.h"

#include <algorithm>
#include <cstring>

#include "agents/subjects.h"

namespace chronova {

namespace {
// An announcement "leave <id>": the member stops (ids never contain spaces).
constexpr const char* kLeaving = "leave ";
}  // namespace

Membership::Membership(Bus* bus, MembershipOptions options)
    : bus_(bus), options_(std::move(options)) {}

Membership::~Membership() { Stop(); }

Status Membership::Start() {
  if (options_.id.empty() || options_.role.empty())
    return Status::InvalidArgument("membership needs a role and a member id");
  CHRONOVA_ASSIGN_OR_RETURN(
      subscription_,
      bus_->Subscribe(subjects::Member(options_.role),
                      [this](const std::string&, const std::string& payload) {
                        const bool leaving = payload.starts_with(kLeaving);
                        std::string id =
                            leaving ? payload.substr(std::strlen(kLeaving)) : payload;
                        if (id.empty() || id.size() > 255) return;
                        std::lock_guard<std::mutex> l(mu_);
                        if (leaving) {
                          seen_.erase(id);
                        } else {
                          seen_[id] = options_.env->Now();
                        }
                      }));
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = false;
  }
  // The first announcement before Start returns: peers count us at once.
  Status st = bus_->Publish(subjects::Member(options_.role), options_.id);
  (void)st;  // the announcer retries every interval
  if (options_.announce_interval_us > 0) {
    announcer_ = std::make_unique<PeriodicTask>(
        options_.env, options_.announce_interval_us, [this] { Announce(); });
  }
  return Status::Ok();
}

void Membership::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_ && announcer_ == nullptr) return;
    stop_ = true;
  }
  if (announcer_ != nullptr) {
    announcer_.reset();
    // Peers drop this member now rather than after expiry_us.
    Status st = bus_->Publish(subjects::Member(options_.role), kLeaving + options_.id);
    (void)st;  // they expire it instead
  }
  subscription_.reset();
}

void Membership::Announce() {
  Status st = bus_->Publish(subjects::Member(options_.role), options_.id);
  (void)st;  // a bus outage: peers expire us, and we take everything meanwhile
}

std::vector<std::string> Membership::Live() const {
  std::vector<std::string> live{options_.id};
  const Timestamp now = options_.env->Now();
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [id, seen] : seen_) {
    if (id != options_.id && now.micros - seen.micros <= options_.expiry_us)
      live.push_back(id);
  }
  std::sort(live.begin(), live.end());
  return live;
}

bool Membership::Owns(std::string_view key) const {
  std::vector<std::string> live = Live();
  if (live.size() == 1) return true;
  const size_t rank = static_cast<size_t>(
      std::find(live.begin(), live.end(), options_.id) - live.begin());
  return StableHash(key) % live.size() == rank;
}

uint64_t Membership::StableHash(std::string_view key) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace chronova
