// JetStreamEventLog: the EventLog on NATS JetStream (design in the header). The
// cnats C API stays in this file: every natsStatus/jsErrCode becomes a Status with
// context here, and every cnats object is owned by a unique_ptr or by Impl.
#include "eventstore/jetstream_event_log.h"

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/codec.h"
#include "core/env.h"
#include "eventstore/jetstream_names.h"
#include "eventstore/nats_connect.h"
#include "eventstore/rocksdb_event_log.h"

namespace chronova {
namespace {

namespace names = jetstream_names;

// Upper bound of one JetStream API request; longer operations retry.
constexpr int kMaxRequestWaitMs = 2000;
// How long the follower blocks for a message before looking at its flags.
constexpr int kFollowPollMs = 200;
// A reader waiting on a mirror that made no progress for this long asks the
// follower to re-create its consumer.
constexpr int kStallNudgeMs = 1000;
// Heartbeats of the ordered consumer: a lost consumer is noticed in a few of these.
constexpr int64_t kConsumerHeartbeatNs = 1'000'000'000;
constexpr int kCloseWaitMs = 5000;

struct MsgDeleter {
  void operator()(natsMsg* m) const { natsMsg_Destroy(m); }
};
struct PubAckDeleter {
  void operator()(jsPubAck* a) const { jsPubAck_Destroy(a); }
};
struct StreamInfoDeleter {
  void operator()(jsStreamInfo* si) const { jsStreamInfo_Destroy(si); }
};
struct MetaDeleter {
  void operator()(jsMsgMetaData* m) const { jsMsgMetaData_Destroy(m); }
};
using MsgPtr = std::unique_ptr<natsMsg, MsgDeleter>;
using PubAckPtr = std::unique_ptr<jsPubAck, PubAckDeleter>;
using StreamInfoPtr = std::unique_ptr<jsStreamInfo, StreamInfoDeleter>;
using MetaPtr = std::unique_ptr<jsMsgMetaData, MetaDeleter>;

// Failures that go away by themselves: the server restarts, a leader is being
// elected, the connection is being re-established.
bool IsTransient(natsStatus s, jsErrCode js) {
  switch (s) {
    case NATS_TIMEOUT:
    case NATS_NO_RESPONDERS:
    case NATS_NO_SERVER:
    case NATS_IO_ERROR:
    case NATS_STALE_CONNECTION:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NOT_YET_CONNECTED:
      return true;
    case NATS_ERR:
      // JSClusterNoPeersErr: an R3 stream created while the cluster's nodes
      // still find each other ("no suitable peers for placement").
      return js == JSClusterNotAvailErr || js == JSClusterNotLeaderErr ||
             js == JSRaftGeneralErr || js == JSNotEnabledErr || js == JSClusterNoPeersErr;
    default:
      return false;
  }
}

// The Status for a failed cnats call; `what` says what was being done
// ("publish to ev.instance.x").
Status FromNats(natsStatus s, jsErrCode js, std::string_view what) {
  std::string msg = "jetstream: " + std::string(what) + ": " + natsStatus_GetText(s);
  if (js != 0) msg += " (jsErrCode " + std::to_string(static_cast<int>(js)) + ")";
  if (const char* detail = nats_GetLastError(nullptr);
      detail != nullptr && *detail != '\0') {
    msg += " [" + std::string(detail) + "]";
  }
  if (IsTransient(s, js)) return Status::Unavailable(std::move(msg));
  switch (s) {
    case NATS_NOT_FOUND:
      return Status::NotFound(std::move(msg));
    case NATS_NOT_PERMITTED:
    case NATS_CONNECTION_AUTH_FAILED:
      return Status::PermissionDenied(std::move(msg));
    case NATS_CONNECTION_CLOSED:
      return Status::Unavailable(std::move(msg));
    case NATS_MAX_PAYLOAD:
      return Status::InvalidArgument(std::move(msg));
    default:
      return Status::Internal(std::move(msg));
  }
}

std::string SeqName(uint64_t jetstream_seq) {
  return "jetstream sequence " + std::to_string(jetstream_seq);
}

// A point in time `timeout_ms` after construction, on the Env's clock.
class Deadline {
 public:
  Deadline(Env* env, int timeout_ms)
      : env_(env), end_micros_(env->Now().micros + int64_t{timeout_ms} * 1000) {}
  int64_t RemainingMs() const {
    return std::max<int64_t>(0, (end_micros_ - env_->Now().micros) / 1000);
  }
  bool Expired() const { return env_->Now().micros >= end_micros_; }

 private:
  Env* const env_;
  const int64_t end_micros_;
};

// Exponential backoff between retries of a transient failure, never sleeping past
// the deadline.
class Backoff {
 public:
  void Sleep(Env* env, const Deadline& deadline) {
    int64_t ms = std::min<int64_t>(next_ms_, deadline.RemainingMs());
    if (ms > 0) env->SleepForMicros(ms * 1000);
    next_ms_ = std::min<int64_t>(next_ms_ * 2, 200);
  }

 private:
  int64_t next_ms_ = 10;
};

// One try of an append: a final answer, or `reread` when the subject moved between
// reading its head and publishing (read it again and decide again).
struct AppendTry {
  bool reread = false;
  Result<AppendResult> result = Status::Internal("append not tried");
};

// The last message of a subject: its stream sequence (0 if the subject is empty)
// and the stream version its header carries.
struct SubjectHead {
  uint64_t subject_seq = 0;
  StreamVersion version;
};

}  // namespace

class JetStreamEventLog::Impl {
 public:
  explicit Impl(const JetStreamLogOptions& options)
      : options_(options),
        env_(options.env != nullptr ? options.env : Env::Default()),
        request_wait_ms_(
            std::clamp(options.operation_timeout_ms, 100, kMaxRequestWaitMs)) {}

  ~Impl() {
    {
      std::lock_guard<std::mutex> l(mu_);  // so WaitForStop cannot miss it
      stop_ = true;
    }
    cv_.notify_all();
    if (follower_.joinable()) follower_.join();
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (conn_ != nullptr) {
      natsConnection_Close(conn_);
      // The closed callback is the last one cnats delivers: once it ran, none can
      // touch this object any more.
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::milliseconds(kCloseWaitMs), [&] { return closed_; });
      l.unlock();
      natsConnection_Destroy(conn_);
    }
    if (nats_options_ != nullptr) natsOptions_Destroy(nats_options_);
  }

  Status Start() {
    if (options_.mirror_path.empty()) {
      return Status::InvalidArgument("jetstream: options.mirror_path is required");
    }
    if (names::ServerUrls(options_.url).empty()) {
      return Status::InvalidArgument("jetstream: options.url names no server");
    }
    if (options_.replicas < 1) {
      return Status::InvalidArgument("jetstream: replicas must be >= 1");
    }
    RocksDbLogOptions mo;
    mo.path = options_.mirror_path;
    mo.sync = false;  // the mirror is rebuilt from JetStream if it loses its tail
    auto mirror = RocksDbEventLog::Open(mo);
    if (!mirror.ok()) return mirror.status().WithContext("jetstream: open mirror");
    mirror_ = std::move(mirror).value();

    Deadline deadline(env_, options_.operation_timeout_ms);
    CHRONOVA_RETURN_IF_ERROR(Connect(deadline));
    CHRONOVA_RETURN_IF_ERROR(CreateStream(deadline));
    follower_ = std::thread([this] { Follow(); });
    return Status::Ok();
  }

  Result<AppendResult> Append(const AppendRequest& req) {
    CHRONOVA_RETURN_IF_ERROR(ValidateAppendRequest(req));
    const std::string subject = names::EventSubject(req.stream);
    Deadline deadline(env_, options_.operation_timeout_ms);
    Backoff backoff;
    bool trust_mirror = true;
    while (true) {
      AppendTry t = TryAppend(req, subject, deadline, trust_mirror);
      trust_mirror = false;
      if (t.reread) {
        if (deadline.Expired()) {
          return Status::Unavailable(
              "jetstream: publish to " + subject +
              ": the subject kept moving until the operation timeout");
        }
        continue;
      }
      if (t.result.ok() || !t.result.status().IsUnavailable() || deadline.Expired()) {
        return std::move(t.result);
      }
      backoff.Sleep(env_, deadline);
    }
  }

  // Waits until the mirror holds everything the JetStream stream held when called.
  Status CatchUp() {
    Deadline deadline(env_, options_.operation_timeout_ms);
    uint64_t last = 0;
    CHRONOVA_RETURN_IF_ERROR(RetryTransient(deadline, [&]() -> Status {
      Result<uint64_t> r = StreamLastSeq(deadline);
      if (r.ok()) last = *r;
      return r.status();
    }));
    return WaitForMirror(last, deadline);
  }

  RocksDbEventLog& mirror() { return *mirror_; }

 private:
  // Runs `attempt` (returning Status) until it succeeds, fails for good, or the
  // deadline passes.
  template <typename F>
  Status RetryTransient(const Deadline& deadline, F attempt) {
    Backoff backoff;
    while (true) {
      Status st = attempt();
      if (st.ok() || !st.IsUnavailable() || deadline.Expired()) return st;
      backoff.Sleep(env_, deadline);
    }
  }

  // How long one request may wait: never past the operation's deadline (cnats
  // reads a Wait of 0 as its 5 s default, so at least 10 ms).
  int64_t RequestWaitMs(const Deadline* deadline) const {
    int64_t wait = request_wait_ms_;
    if (deadline != nullptr) wait = std::min<int64_t>(wait, deadline->RemainingMs());
    return std::max<int64_t>(wait, 10);
  }

  jsOptions RequestOptions(const Deadline* deadline) const {
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = RequestWaitMs(deadline);
    return jo;
  }

  Status Connect(const Deadline& deadline) {
    CHRONOVA_ASSIGN_OR_RETURN(nats_options_, NewNatsOptions(options_.url, options_.auth));
    natsStatus s = natsOptions_SetTimeout(nats_options_, request_wait_ms_);
    if (s == NATS_OK) {
      s = natsOptions_SetReconnectedCB(nats_options_, &Impl::OnReconnected, this);
    }
    if (s == NATS_OK) s = natsOptions_SetClosedCB(nats_options_, &Impl::OnClosed, this);
    if (s != NATS_OK) {
      return FromNats(s, jsErrCode(0), "connection options for " + options_.url);
    }
    CHRONOVA_RETURN_IF_ERROR(RetryTransient(deadline, [&] {
      conn_ = nullptr;
      natsStatus cs = ConnectNats(&conn_, nats_options_);
      return cs == NATS_OK ? Status::Ok()
                           : FromNats(cs, jsErrCode(0), "connect to " + options_.url);
    }));
    jsOptions jo = RequestOptions(nullptr);
    s = natsConnection_JetStream(&js_, conn_, &jo);
    if (s != NATS_OK) return FromNats(s, jsErrCode(0), "jetstream context");
    return Status::Ok();
  }

  // EnsureStream, retried while it fails transiently until `deadline`, and
  // while the cluster cannot place the stream yet until placement_timeout_ms.
  Status CreateStream(const Deadline& deadline) {
    const Deadline placement(
        env_, std::max(options_.operation_timeout_ms, options_.placement_timeout_ms));
    Backoff backoff;
    bool no_peers = false, told = false;
    while (true) {
      Status st = EnsureStream(no_peers ? placement : deadline, &no_peers);
      if (st.ok() || !st.IsUnavailable()) return st;
      if (no_peers && !told) {
        told = true;  // once: what the process waits for, and how long at most
        env_->Info({.role = "jetstream"},
                   "the cluster cannot place stream " + options_.stream_name +
                       " yet (no suitable peers: its servers are still announcing "
                       "themselves, or one was left out of the meta group: "
                       "`chronovactl cluster status` names it); waiting up to " +
                       std::to_string(std::max(options_.operation_timeout_ms,
                                               options_.placement_timeout_ms) /
                                      1000) +
                       " s");
      }
      const Deadline& until = no_peers ? placement : deadline;
      if (until.Expired()) return st;
      backoff.Sleep(env_, until);
    }
  }

  // Creates the stream unless it exists (another node may create it
  // concurrently). *no_peers: the cluster could not place it (yet).
  Status EnsureStream(const Deadline& deadline, bool* no_peers) {
    *no_peers = false;
    const std::string what = "stream " + options_.stream_name;
    jsOptions jo = RequestOptions(&deadline);
    jsStreamInfo* raw = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_GetStreamInfo(&raw, js_, options_.stream_name.c_str(), &jo, &jerr);
    StreamInfoPtr info(raw);
    if (s == NATS_OK) return Status::Ok();
    if (!(s == NATS_NOT_FOUND && jerr == JSStreamNotFoundErr)) {
      return FromNats(s, jerr, "look up " + what);
    }
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char* subjects[] = {names::kAllEvents};
    cfg.Name = options_.stream_name.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = options_.replicas;
    cfg.Duplicates = options_.duplicate_window_ms * 1'000'000;  // nanoseconds
    raw = nullptr;
    jerr = jsErrCode(0);
    s = js_AddStream(&raw, js_, &cfg, &jo, &jerr);
    info.reset(raw);
    if (s == NATS_OK || (s == NATS_ERR && jerr == JSStreamNameExistErr)) {
      return Status::Ok();
    }
    *no_peers = jerr == JSClusterNoPeersErr;
    return FromNats(s, jerr, "create " + what);
  }

  Result<uint64_t> StreamLastSeq(const Deadline& deadline) {
    jsOptions jo = RequestOptions(&deadline);
    jsStreamInfo* raw = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_GetStreamInfo(&raw, js_, options_.stream_name.c_str(), &jo, &jerr);
    StreamInfoPtr info(raw);
    if (s != NATS_OK) return FromNats(s, jerr, "stream info of " + options_.stream_name);
    return info->State.LastSeq;
  }

  Result<SubjectHead> ReadSubjectHead(const std::string& subject,
                                      const Deadline& deadline) {
    jsOptions jo = RequestOptions(&deadline);
    natsMsg* raw = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_GetLastMsg(&raw, js_, options_.stream_name.c_str(), subject.c_str(),
                                 &jo, &jerr);
    MsgPtr msg(raw);
    if (s == NATS_NOT_FOUND && jerr == JSNoMessageFoundErr) return SubjectHead{};
    if (s != NATS_OK) return FromNats(s, jerr, "read last message of " + subject);
    SubjectHead head;
    head.subject_seq = natsMsg_GetSequence(msg.get());
    const char* value = nullptr;
    s = natsMsgHeader_Get(msg.get(), names::kVersionHeader, &value);
    uint64_t version = 0;
    std::string_view text = value != nullptr ? value : "";
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
    if (s != NATS_OK || ec != std::errc() || end != text.data() + text.size() ||
        version == 0) {
      return Status::Corruption(SeqName(head.subject_seq) + " (" + subject +
                                "): no valid " + names::kVersionHeader + " header");
    }
    head.version = StreamVersion(version);
    return head;
  }

  // `trust_mirror`: take the subject's head from this node's mirror (no round
  // trip) when it already shows the expected version. If the mirror was stale the
  // publish fails its expectation and the retry reads the head from JetStream.
  AppendTry TryAppend(const AppendRequest& req, const std::string& subject,
                      const Deadline& deadline, bool trust_mirror) {
    AppendTry t;
    // The key as messages carry it and the mirror indexes it.
    const IdempotencyKey key(names::MsgId(req.key));
    Result<SubjectHead> head = Status::Internal("head not read");
    if (trust_mirror && !req.expected.any()) {
      auto local = mirror_->StreamSource(req.stream);
      if (local.ok() && local->version == req.expected.version() &&
          (local->version == StreamVersion() || local->source_position != 0)) {
        head = SubjectHead{local->source_position, local->version};
      }
    }
    if (!head.ok()) {
      head = ReadSubjectHead(subject, deadline);
      // The subject's last message may be one the fold rejected (it claimed a
      // version another message took first): the version is the fold's, read
      // from the mirror once it holds that message; the expectation stays the
      // subject's last sequence, which the server checks.
      if (head.ok() && head->subject_seq != 0) {
        Status caught_up = WaitForMirror(head->subject_seq, deadline);
        Result<StreamVersion> folded = caught_up.ok() ? mirror_->StreamHead(req.stream)
                                                      : Result<StreamVersion>(caught_up);
        if (folded.ok()) {
          head->version = *folded;
        } else {
          head = folded.status();
        }
      }
    }
    if (!head.ok()) {
      t.result = head.status();
      return t;
    }
    // An earlier try of this very append (a timed-out publish, a caller's
    // retry) that the fold accepted is the answer.
    Result<std::optional<AppendResult>> earlier = mirror_->KeyLanding(key);
    if (!earlier.ok() || earlier->has_value()) {
      t.result = earlier.ok() ? Result<AppendResult>(**earlier) : earlier.status();
      return t;
    }
    if (!req.expected.Matches(head->version)) {
      // The caller will reload and decide again from this node's mirror: let the
      // mirror hold what we just compared against, so the reload is not stale.
      (void)WaitForMirror(head->subject_seq, deadline);
      t.result = Status::Conflict("stream " + req.stream.str() + " is at version " +
                                  std::to_string(head->version.value()) + ", expected " +
                                  std::to_string(req.expected.version().value()));
      return t;
    }

    std::vector<Envelope> batch;
    batch.reserve(req.events.size());
    for (size_t i = 0; i < req.events.size(); ++i) {
      const NewEvent& ne = req.events[i];
      batch.push_back(Envelope{Seq(), req.stream,
                               StreamVersion(head->version.value() + 1 + i), ne.type,
                               ne.schema, ne.meta, ne.payload});
    }
    const std::string data = EncodePortable(batch);
    const std::string last_version = std::to_string(batch.back().version.value());
    const std::string what = "publish to " + subject;
    natsMsg* raw_msg = nullptr;
    natsStatus s = natsMsg_Create(&raw_msg, subject.c_str(), nullptr, data.data(),
                                  static_cast<int>(data.size()));
    MsgPtr msg(raw_msg);
    if (s == NATS_OK) {
      s = natsMsgHeader_Set(msg.get(), names::kVersionHeader, last_version.c_str());
    }
    if (s == NATS_OK)
      s = natsMsgHeader_Set(msg.get(), names::kKeyHeader, key.str().c_str());
    if (s != NATS_OK) {
      t.result = FromNats(s, jsErrCode(0), what);
      return t;
    }
    // No Nats-Msg-Id: the server's de-duplication is leader-local on a cluster
    // (a message whose proposal failed can stay "still being stored" for the
    // whole window). Copies of one append are the fold's business (key index).
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = RequestWaitMs(&deadline);
    if (head->subject_seq == 0) {
      po.ExpectNoMessage = true;  // ExpectLastSubjectSeq = 0 would mean "no expectation"
    } else {
      po.ExpectLastSubjectSeq = head->subject_seq;
    }
    jsPubAck* raw_ack = nullptr;
    jsErrCode jerr = jsErrCode(0);
    s = js_PublishMsg(&raw_ack, js_, msg.get(), &po, &jerr);
    PubAckPtr ack(raw_ack);
    if (s == NATS_ERR && jerr == JSStreamWrongLastSequenceErr) {
      // Another writer got in first, or an earlier try of this append was
      // stored: read the head again (and the key index with it).
      t.reread = true;
      return t;
    }
    if (s != NATS_OK) {
      t.result = FromNats(s, jerr, what);
      return t;
    }
    t.result = Landing(ack->Sequence, key, deadline);
    return t;
  }

  // Where the message at `jetstream_seq` landed in the mirror. Accepted only
  // once this node's own fold accepted it: a message the server stored but the
  // fold rejected (it lost a race for its version on a cluster) is a Conflict,
  // and the caller decides again; unless another copy of the same append was
  // accepted, which is then the answer.
  Result<AppendResult> Landing(uint64_t jetstream_seq, const IdempotencyKey& key,
                               const Deadline& deadline) {
    CHRONOVA_RETURN_IF_ERROR(WaitForMirror(jetstream_seq, deadline));
    Result<AppendResult> r = mirror_->SourceLanding(jetstream_seq);
    if (r.status().IsConflict()) {
      CHRONOVA_ASSIGN_OR_RETURN(std::optional<AppendResult> copy,
                                mirror_->KeyLanding(key));
      if (copy.has_value()) return *copy;
    }
    if (!r.ok()) {
      return r.status().WithContext("jetstream: landing of " + SeqName(jetstream_seq));
    }
    return r;
  }

  Status WaitForMirror(uint64_t jetstream_seq, const Deadline& deadline) {
    uint64_t seen = mirror_->SourceApplied();
    while (true) {
      {
        std::lock_guard<std::mutex> l(mu_);
        if (!follower_status_.ok()) return follower_status_;
      }
      int slice =
          static_cast<int>(std::min<int64_t>(deadline.RemainingMs(), kStallNudgeMs));
      if (mirror_->WaitForSource(jetstream_seq, slice)) return Status::Ok();
      uint64_t applied = mirror_->SourceApplied();
      if (deadline.Expired()) {
        return Status::Unavailable("jetstream: the local mirror is at " +
                                   SeqName(applied) + ", not yet at " +
                                   std::to_string(jetstream_seq));
      }
      if (applied == seen) resubscribe_ = true;  // its consumer may be gone: re-create it
      seen = applied;
    }
  }

  // ---- The follower: feeds the mirror from an ordered consumer ----

  void Follow() {
    natsSubscription* sub = nullptr;
    int backoff_ms = 10;
    while (!stop_) {
      bool asked = resubscribe_.exchange(false);
      if (sub == nullptr || asked) {
        DropSubscription(&sub);
        Status st = Subscribe(&sub);
        if (!st.ok()) {
          WaitForStop(backoff_ms);
          backoff_ms = std::min(backoff_ms * 2, 500);
          continue;
        }
        backoff_ms = 10;
      }
      natsMsg* raw = nullptr;
      natsStatus s = natsSubscription_NextMsg(&raw, sub, kFollowPollMs);
      MsgPtr msg(raw);
      if (s == NATS_TIMEOUT) continue;
      if (s != NATS_OK) {  // missed heartbeats, slow consumer, ...: start again
        DropSubscription(&sub);
        continue;
      }
      Status st = IngestMessage(msg.get());
      if (st.IsCorruption()) {
        // Following past a bad message would give later events the wrong seqs.
        std::lock_guard<std::mutex> l(mu_);
        follower_status_ = st;
        break;
      }
      if (!st.ok()) {
        DropSubscription(&sub);
        WaitForStop(backoff_ms);
      }
    }
    DropSubscription(&sub);
  }

  // An ordered consumer from the first position the mirror does not hold.
  Status Subscribe(natsSubscription** sub) {
    jsOptions jo = RequestOptions(nullptr);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = options_.stream_name.c_str();
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = mirror_->SourceApplied() + 1;
    so.Config.Heartbeat = kConsumerHeartbeatNs;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_SubscribeSync(sub, js_, names::kAllEvents, &jo, &so, &jerr);
    if (s != NATS_OK) {
      *sub = nullptr;
      return FromNats(s, jerr, "follow stream " + options_.stream_name);
    }
    return Status::Ok();
  }

  void DropSubscription(natsSubscription** sub) {
    if (*sub == nullptr) return;
    // Unsubscribing deletes the ephemeral consumer at once (a request, so only when
    // connected); otherwise the server drops it after its inactivity threshold.
    if (natsConnection_Status(conn_) == NATS_CONN_STATUS_CONNECTED) {
      natsSubscription_Unsubscribe(*sub);
    }
    natsSubscription_Destroy(*sub);
    *sub = nullptr;
  }

  Status IngestMessage(natsMsg* msg) {
    jsMsgMetaData* raw_meta = nullptr;
    natsStatus s = natsMsg_GetMetaData(&raw_meta, msg);
    MetaPtr meta(raw_meta);
    if (s != NATS_OK) return FromNats(s, jsErrCode(0), "metadata of a followed message");
    const uint64_t seq = meta->Sequence.Stream;
    if (seq <= mirror_->SourceApplied()) return Status::Ok();  // redelivered
    const std::string where = SeqName(seq);
    std::vector<Envelope> batch;
    std::string_view data(natsMsg_GetData(msg),
                          static_cast<size_t>(natsMsg_GetDataLength(msg)));
    CHRONOVA_RETURN_IF_ERROR(DecodePortable(data, &batch).WithContext(where));
    if (batch.empty()) return Status::Corruption(where + ": empty batch");
    const std::string subject = natsMsg_GetSubject(msg);
    for (const Envelope& env : batch) {
      if (names::EventSubject(env.stream) != subject) {
        return Status::Corruption(where + ": event of stream " + env.stream.str() +
                                  " stored under subject " + subject);
      }
    }
    // The append's key: our header, or the Msg-Id of messages written before it.
    const char* key = nullptr;
    if (natsMsgHeader_Get(msg, names::kKeyHeader, &key) != NATS_OK &&
        natsMsgHeader_Get(msg, "Nats-Msg-Id", &key) != NATS_OK) {
      key = nullptr;
    }
    return mirror_
        ->Ingest(seq, std::move(batch), IdempotencyKey(key != nullptr ? key : ""))
        .WithContext(where);
  }

  void WaitForStop(int ms) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::milliseconds(ms), [&] { return stop_.load(); });
  }

  // cnats callbacks run on its callback thread: set a flag, never block.
  static void OnReconnected(natsConnection*, void* closure) {
    static_cast<Impl*>(closure)->resubscribe_ = true;
  }
  static void OnClosed(natsConnection*, void* closure) {
    auto* self = static_cast<Impl*>(closure);
    {
      std::lock_guard<std::mutex> l(self->mu_);
      self->closed_ = true;
    }
    self->cv_.notify_all();
  }

  const JetStreamLogOptions options_;
  Env* const env_;
  const int request_wait_ms_;  // timeout of one JetStream API request
  std::unique_ptr<RocksDbEventLog> mirror_;
  natsOptions* nats_options_ = nullptr;
  natsConnection* conn_ = nullptr;  // thread-safe (cnats)
  jsCtx* js_ = nullptr;             // thread-safe (cnats)
  std::thread follower_;
  std::atomic<bool> stop_{false};         // the destructor asks the follower to stop
  std::atomic<bool> resubscribe_{false};  // re-create the consumer (reconnect, stall)

  std::mutex mu_;  // protects follower_status_ and closed_; cv_ waits on it
  std::condition_variable cv_;
  Status follower_status_;  // why the follower stopped for good (Corruption)
  bool closed_ = false;     // the connection's closed callback has run
};

JetStreamEventLog::JetStreamEventLog(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

JetStreamEventLog::~JetStreamEventLog() = default;

Result<std::unique_ptr<JetStreamEventLog>> JetStreamEventLog::Open(
    const JetStreamLogOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  CHRONOVA_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<JetStreamEventLog>(new JetStreamEventLog(std::move(impl)));
}

Result<AppendResult> JetStreamEventLog::Append(const AppendRequest& req) {
  return impl_->Append(req);
}

// Reads serve this node's mirror as it is: it always holds this process's own
// acknowledged appends (Append waits for them), and a command decided on a stale
// view fails its expected version and reloads after the mirror caught up. Head()
// is the explicit sync point with the whole stream.
Result<std::vector<Envelope>> JetStreamEventLog::Read(Seq from, size_t max_events) {
  return impl_->mirror().Read(from, max_events);
}

Status JetStreamEventLog::ReadInto(Seq from, size_t max_events,
                                   std::vector<Envelope>* out) {
  return impl_->mirror().ReadInto(from, max_events, out);
}

Result<std::vector<Envelope>> JetStreamEventLog::ReadStream(const StreamId& stream,
                                                            StreamVersion from,
                                                            size_t max_events) {
  return impl_->mirror().ReadStream(stream, from, max_events);
}

Result<StreamVersion> JetStreamEventLog::StreamHead(const StreamId& stream) {
  return impl_->mirror().StreamHead(stream);
}

std::unique_ptr<Subscription> JetStreamEventLog::Subscribe(Seq from,
                                                           SubscribeHandler handler) {
  return impl_->mirror().Subscribe(from, std::move(handler));
}

Result<Seq> JetStreamEventLog::Head() {
  CHRONOVA_RETURN_IF_ERROR(impl_->CatchUp());
  return impl_->mirror().Head();
}

}  // namespace chronova
