// The production Bus: core NATS subjects (at most once; senders re-send). The
// only file in agents/ that includes the NATS client.
#include <nats/nats.h>

#include <mutex>
#include <string>
#include <vector>

#include "agents/bus.h"
#include "eventstore/jetstream_names.h"
#include "eventstore/nats_client.h"
#include "eventstore/nats_connect.h"

namespace chronova {
namespace {

Status FromNats(natsStatus s, const std::string& context) {
  if (s == NATS_OK) return Status::Ok();
  std::string msg = "nats: " + context + ": " + natsStatus_GetText(s);
  if (s == NATS_TIMEOUT || s == NATS_NO_SERVER || s == NATS_CONNECTION_CLOSED ||
      s == NATS_CONNECTION_DISCONNECTED || s == NATS_NO_RESPONDERS) {
    return Status::Unavailable(msg);
  }
  return Status::Internal(msg);
}

class NatsSub : public BusSubscription {
 public:
  explicit NatsSub(BusHandler handler) : handler_(std::move(handler)) {}
  ~NatsSub() override {
    if (sub_) {
      // Drain, then wait: after that the callback can no longer run.
      if (natsSubscription_Drain(sub_) == NATS_OK) {
        natsSubscription_WaitForDrainCompletion(sub_, 2000);
      }
      natsSubscription_Destroy(sub_);
    }
  }
  static void OnMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<NatsSub*>(closure);
    std::string subject = natsMsg_GetSubject(msg);
    std::string payload(natsMsg_GetData(msg),
                        static_cast<size_t>(natsMsg_GetDataLength(msg)));
    natsMsg_Destroy(msg);
    self->handler_(subject, payload);
  }
  natsSubscription* sub_ = nullptr;

 private:
  BusHandler handler_;
};

class NatsBus : public Bus {
 public:
  explicit NatsBus(natsConnection* nc) : nc_(nc) {}
  ~NatsBus() override {
    natsConnection_Close(nc_);
    natsConnection_Destroy(nc_);
  }
  Status Publish(const std::string& subject, const std::string& payload) override {
    return FromNats(natsConnection_Publish(nc_, subject.c_str(), payload.data(),
                                           static_cast<int>(payload.size())),
                    "publish " + subject);
  }
  Result<std::unique_ptr<BusSubscription>> Subscribe(const std::string& subject,
                                                     BusHandler handler) override {
    auto sub = std::make_unique<NatsSub>(std::move(handler));
    // NATS spells "everything under a.b" as "a.b.>", like our patterns.
    CHRONOVA_RETURN_IF_ERROR(
        FromNats(natsConnection_Subscribe(&sub->sub_, nc_, subject.c_str(),
                                          &NatsSub::OnMessage, sub.get()),
                 "subscribe " + subject));
    CHRONOVA_RETURN_IF_ERROR(
        FromNats(natsConnection_Flush(nc_), "flush subscribe " + subject));
    return std::unique_ptr<BusSubscription>(std::move(sub));
  }

 private:
  natsConnection* nc_;
};

}  // namespace

Result<std::unique_ptr<Bus>> NewNatsBus(const std::string& url, const NatsAuth& auth) {
  // One URL or a cluster's list, and the credential, as the log takes them.
  CHRONOVA_ASSIGN_OR_RETURN(natsOptions * opts, NewNatsOptions(url, auth));
  natsConnection* nc = nullptr;
  natsStatus s = ConnectNats(&nc, opts);
  natsOptions_Destroy(opts);
  CHRONOVA_RETURN_IF_ERROR(FromNats(s, "connect " + url));
  return std::unique_ptr<Bus>(new NatsBus(nc));
}

}  // namespace chronova
