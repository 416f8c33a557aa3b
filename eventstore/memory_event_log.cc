#include "eventstore/memory_event_log.h"

#include <algorithm>

namespace chronova {

void MemoryLogStore::set_before_append(BeforeAppend f) {
  std::lock_guard<std::mutex> l(mu_);
  before_append_ = std::move(f);
}

void MemoryLogStore::set_after_append(AfterAppend f) {
  std::lock_guard<std::mutex> l(mu_);
  after_append_ = std::move(f);
}

MemoryEventLog::MemoryEventLog(MemoryLogStore* store, Env* env)
    : store_(store), env_(env), notifier_(Seq(0)) {
  std::lock_guard<std::mutex> l(store_->mu_);
  notifier_.Publish(Seq(store_->events_.size()));
  store_->notifiers_.push_back(&notifier_);
}

MemoryEventLog::~MemoryEventLog() {
  std::lock_guard<std::mutex> l(store_->mu_);
  auto& n = store_->notifiers_;
  n.erase(std::remove(n.begin(), n.end(), &notifier_), n.end());
}

Result<AppendResult> MemoryEventLog::Append(const AppendRequest& req) {
  CHRONOVA_RETURN_IF_ERROR(ValidateAppendRequest(req));
  MemoryLogStore::AfterAppend after;
  AppendResult result;
  {
    std::lock_guard<std::mutex> l(store_->mu_);
    if (auto it = store_->keys_.find(req.key.str()); it != store_->keys_.end()) {
      AppendResult dup = it->second;
      dup.duplicate = true;
      return dup;
    }
    if (store_->before_append_) CHRONOVA_RETURN_IF_ERROR(store_->before_append_(req));
    std::vector<uint64_t>& seqs = store_->streams_[req.stream.str()];
    const uint64_t current = seqs.size();
    if (!req.expected.Matches(StreamVersion(current))) {
      if (seqs.empty()) store_->streams_.erase(req.stream.str());
      return Status::Conflict("stream " + req.stream.str() + " is at version " +
                              std::to_string(current) + ", expected " +
                              std::to_string(req.expected.version().value()));
    }
    result.first_seq = Seq(store_->events_.size() + 1);
    for (size_t i = 0; i < req.events.size(); ++i) {
      const NewEvent& ne = req.events[i];
      Envelope env{Seq(store_->events_.size() + 1),
                   req.stream,
                   StreamVersion(current + 1 + i),
                   ne.type,
                   ne.schema,
                   ne.meta,
                   ne.payload};
      seqs.push_back(env.seq.value());
      store_->events_.push_back(std::move(env));
    }
    result.last_seq = Seq(store_->events_.size());
    result.last_version = StreamVersion(current + req.events.size());
    store_->keys_[req.key.str()] = result;
    for (HeadNotifier* n : store_->notifiers_) n->Publish(result.last_seq);
    after = store_->after_append_;
  }
  if (after) CHRONOVA_RETURN_IF_ERROR(after(req, result));
  return result;
}

Result<std::vector<Envelope>> MemoryEventLog::Read(Seq from, size_t max_events) {
  std::lock_guard<std::mutex> l(store_->mu_);
  std::vector<Envelope> out;
  const uint64_t first = std::max<uint64_t>(from.value(), 1);
  for (uint64_t s = first; s <= store_->events_.size() && out.size() < max_events; ++s) {
    out.push_back(store_->events_[s - 1]);
  }
  return out;
}

Result<std::vector<Envelope>> MemoryEventLog::ReadStream(const StreamId& stream,
                                                         StreamVersion from,
                                                         size_t max_events) {
  std::lock_guard<std::mutex> l(store_->mu_);
  std::vector<Envelope> out;
  auto it = store_->streams_.find(stream.str());
  if (it == store_->streams_.end()) return out;
  const std::vector<uint64_t>& seqs = it->second;
  for (uint64_t v = std::max<uint64_t>(from.value(), 1);
       v <= seqs.size() && out.size() < max_events; ++v) {
    out.push_back(store_->events_[seqs[v - 1] - 1]);
  }
  return out;
}

Result<StreamVersion> MemoryEventLog::StreamHead(const StreamId& stream) {
  std::lock_guard<std::mutex> l(store_->mu_);
  auto it = store_->streams_.find(stream.str());
  return StreamVersion(it == store_->streams_.end() ? 0 : it->second.size());
}

std::unique_ptr<Subscription> MemoryEventLog::Subscribe(Seq from,
                                                        SubscribeHandler handler) {
  return StartTailingSubscription(this, &notifier_, from, std::move(handler), env_);
}

Result<Seq> MemoryEventLog::Head() {
  std::lock_guard<std::mutex> l(store_->mu_);
  return Seq(store_->events_.size());
}

}  // namespace chronova
