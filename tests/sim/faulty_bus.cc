#include "tests/sim/faulty_bus.h"

namespace chronova::sim {

Status FaultyBus::Publish(const std::string& subject, const std::string& payload) {
  if (env_->Chance(faults_.drop)) {
    ++dropped_;
    return Status::Ok();  // lost on the way: the sender cannot tell
  }
  const int copies = env_->Chance(faults_.duplicate) ? 2 : 1;
  duplicated_ += copies - 1;
  for (int i = 0; i < copies; ++i) Deliver(subject, payload);
  return Status::Ok();
}

void FaultyBus::Deliver(const std::string& subject, const std::string& payload) {
  if (!env_->Chance(faults_.delay)) {
    (void)inner_->Publish(subject, payload);
    return;
  }
  ++delayed_;
  env_->Schedule(env_->Uniform(1, faults_.max_delay_us),
                 [this, subject, payload] { (void)inner_->Publish(subject, payload); });
}

}  // namespace chronova::sim
