#include "agents/nats_liveness.h"

#include <nats/nats.h>

#include "agents/subjects.h"
#include "eventstore/nats_connect.h"

namespace chronova {
namespace {

constexpr int kWaitMs = 5000;
constexpr int64_t kMaxAgeNs = int64_t{7} * 24 * 3600 * 1000000000;  // a week

Status FromNats(natsStatus s, jsErrCode jerr, const std::string& what) {
  const char* last = nats_GetLastError(nullptr);
  std::string text = "liveness: " + what + ": " + natsStatus_GetText(s) +
                     (jerr != 0 ? " (jsErrCode " + std::to_string(jerr) + ")" : "") +
                     (last != nullptr && *last ? std::string(": ") + last : "");
  return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || s == NATS_CONNECTION_CLOSED
             ? Status::Unavailable(text)
             : Status::Internal(text);
}

}  // namespace

std::string LivenessStreamName(const std::string& log_stream) {
  return log_stream + "_LIVENESS";
}

struct LivenessStore::Impl {
  natsConnection* conn = nullptr;
  jsCtx* js = nullptr;
  std::string stream;
  ~Impl() {
    if (js != nullptr) jsCtx_Destroy(js);
    if (conn != nullptr) natsConnection_Destroy(conn);
  }
};

LivenessStore::LivenessStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LivenessStore::~LivenessStore() = default;

Result<std::unique_ptr<LivenessStore>> LivenessStore::Open(const std::string& urls,
                                                           const NatsAuth& auth,
                                                           const std::string& log_stream,
                                                           int replicas) {
  auto impl = std::make_unique<Impl>();
  impl->stream = LivenessStreamName(log_stream);
  CHRONOVA_ASSIGN_OR_RETURN(natsOptions * opts, NewNatsOptions(urls, auth));
  natsStatus s = ConnectNats(&impl->conn, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) return FromNats(s, jsErrCode(0), "connect to " + urls);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = kWaitMs;
  s = natsConnection_JetStream(&impl->js, impl->conn, &jo);
  if (s != NATS_OK) return FromNats(s, jsErrCode(0), "jetstream context");
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = jsErrCode(0);
  s = js_GetStreamInfo(&info, impl->js, impl->stream.c_str(), &jo, &jerr);
  if (info != nullptr) jsStreamInfo_Destroy(info);
  if ((s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) && replicas == 0) {
    return Status::NotFound("liveness: no stream " + impl->stream +
                            " (no api, scheduler or conductor has started)");
  }
  if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char* subjects[] = {subjects::kAllHeartbeats};
    cfg.Name = impl->stream.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = replicas;
    cfg.MaxMsgsPerSubject = 1;  // the last heartbeat of each host
    cfg.MaxAge = kMaxAgeNs;
    info = nullptr;
    jerr = jsErrCode(0);
    s = js_AddStream(&info, impl->js, &cfg, &jo, &jerr);
    if (info != nullptr) jsStreamInfo_Destroy(info);
    if (s != NATS_OK && jerr != JSStreamNameExistErr)
      return FromNats(s, jerr, "create " + impl->stream);
  } else if (s != NATS_OK) {
    return FromNats(s, jerr, "look up " + impl->stream);
  }
  return std::unique_ptr<LivenessStore>(new LivenessStore(std::move(impl)));
}

Result<std::map<HostName, Timestamp>> LivenessStore::LastHeartbeats() {
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = kWaitMs;
  jo.Stream.Info.SubjectsFilter = subjects::kAllHeartbeats;
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = jsErrCode(0);
  natsStatus s = js_GetStreamInfo(&info, impl_->js, impl_->stream.c_str(), &jo, &jerr);
  if (s != NATS_OK) return FromNats(s, jerr, "subjects of " + impl_->stream);
  std::vector<std::string> heard;
  if (info->State.Subjects != nullptr) {
    for (int i = 0; i < info->State.Subjects->Count; ++i)
      heard.emplace_back(info->State.Subjects->List[i].Subject);
  }
  jsStreamInfo_Destroy(info);
  std::map<HostName, Timestamp> out;
  const std::string prefix = subjects::Heartbeat(HostName(""));  // "heartbeat."
  jsOptions_Init(&jo);
  jo.Wait = kWaitMs;
  for (const std::string& subject : heard) {
    natsMsg* msg = nullptr;
    jerr = jsErrCode(0);
    s = js_GetLastMsg(&msg, impl_->js, impl_->stream.c_str(), subject.c_str(), &jo,
                      &jerr);
    if (s != NATS_OK) {
      if (s == NATS_NOT_FOUND) continue;  // aged out meanwhile
      return FromNats(s, jerr, "last heartbeat on " + subject);
    }
    const int64_t ns = natsMsg_GetTime(msg);
    natsMsg_Destroy(msg);
    if (subject.size() > prefix.size() && subject.starts_with(prefix)) {
      out[HostName(subject.substr(prefix.size()))] = Timestamp{ns / 1000};
    }
  }
  return out;
}

}  // namespace chronova
