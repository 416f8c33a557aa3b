#include "agents/host_query.h"

#include <chrono>
#include <cstdlib>

#include "agents/subjects.h"
#include "core/codec.h"

namespace chronova {

namespace {

Status StatusFromReply(const HostQueryReply& r) {
  switch (static_cast<StatusCode>(r.code)) {
    case StatusCode::kOk:
      return Status::Ok();
    case StatusCode::kNotFound:
      return Status::NotFound(r.message);
    case StatusCode::kConflict:
      return Status::Conflict(r.message);
    case StatusCode::kInvalidArgument:
      return Status::InvalidArgument(r.message);
    case StatusCode::kUnavailable:
      return Status::Unavailable(r.message);
    case StatusCode::kPermissionDenied:
      return Status::PermissionDenied(r.message);
    case StatusCode::kCorruption:
      return Status::Corruption(r.message);
    case StatusCode::kUnimplemented:
      return Status::Unimplemented(r.message);
    default:
      return Status::Internal(r.message);
  }
}

}  // namespace

HostQueryReply MakeHostQueryReply(const Status& status, std::string body) {
  HostQueryReply r;
  r.code = static_cast<int32_t>(status.code());
  r.message = status.message();
  if (status.ok()) r.body = std::move(body);
  return r;
}

std::string TailLines(const std::string& text, int lines) {
  if (lines < 0) return text;
  if (lines == 0) return "";
  size_t start = text.size();
  for (int n = 0; n < lines; ++n) {
    if (start == 0) return text;
    size_t nl = text.rfind('\n', start - 1);
    if (nl == std::string::npos) return text;
    start = nl;
  }
  return text.substr(start + 1);
}

HostQueryClient::HostQueryClient(Bus* bus, std::string client_id)
    : bus_(bus), prefix_(subjects::Replies(client_id)) {}

HostQueryClient::~HostQueryClient() {
  std::unique_ptr<BusSubscription> replies;
  {
    std::lock_guard<std::mutex> l(mu_);
    replies = std::move(replies_);
  }
  replies.reset();  // waits for a running OnReply; must not hold mu_
}

void HostQueryClient::OnReply(const std::string& subject, const std::string& payload) {
  // "<prefix>.<n>"
  if (subject.size() <= prefix_.size() + 1) return;
  uint64_t n = std::strtoull(subject.c_str() + prefix_.size() + 1, nullptr, 10);
  HostQueryReply reply;
  if (Status st = DecodePortable(payload, &reply); !st.ok()) {
    reply = MakeHostQueryReply(st.WithContext("undecodable reply"));
  }
  std::lock_guard<std::mutex> l(mu_);
  auto it = pending_.find(n);
  if (it == pending_.end()) return;  // the asker gave up already
  it->second.done = true;
  it->second.reply = std::move(reply);
  cv_.notify_all();
}

Result<std::string> HostQueryClient::Ask(const HostName& host, HostQuery query,
                                         int timeout_ms) {
  uint64_t n;
  {
    std::unique_lock<std::mutex> l(mu_);
    if (replies_ == nullptr) {
      l.unlock();
      CHRONOVA_ASSIGN_OR_RETURN(
          auto sub, bus_->Subscribe(prefix_ + ".>",
                                    [this](const std::string& s, const std::string& p) {
                                      OnReply(s, p);
                                    }));
      l.lock();
      if (replies_ == nullptr) replies_ = std::move(sub);
    }
    n = ++next_;
    pending_[n];
  }
  query.reply_to = prefix_ + "." + std::to_string(n);
  Status sent = bus_->Publish(subjects::Query(host), EncodePortable(query));
  std::unique_lock<std::mutex> l(mu_);
  if (sent.ok()) {
    cv_.wait_for(l, std::chrono::milliseconds(timeout_ms),
                 [&] { return pending_[n].done; });
  }
  Pending p = std::move(pending_[n]);
  pending_.erase(n);
  l.unlock();
  if (!sent.ok()) return sent.WithContext("ask compute host " + host.str());
  if (!p.done) {
    return Status::Unavailable("Compute host " + host.str() + " did not answer within " +
                               std::to_string(timeout_ms) + " ms");
  }
  CHRONOVA_RETURN_IF_ERROR(StatusFromReply(p.reply));
  return std::move(p.reply.body);
}

}  // namespace chronova
