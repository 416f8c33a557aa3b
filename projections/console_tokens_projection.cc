#include "projections/console_tokens_projection.h"

#include <openssl/sha.h>

#include <algorithm>

#include "projections/records.h"

namespace chronova {
namespace {

// Keys: "t/<hash>" the token; "i/<instance>" the instance's token hashes;
// "q/meta" and "q/<n>" a queue of (hash, expiry) in issue order, in buckets of
// kBucket, from which expired tokens are pruned oldest first.
constexpr size_t kBucket = 64;

std::string TokenKey(std::string_view hash) { return "t/" + std::string(hash); }
std::string InstanceKey(const InstanceId& id) { return "i/" + id.str(); }
std::string BucketKey(uint64_t n) { return "q/" + std::to_string(n); }
constexpr std::string_view kQueueMeta = "q/meta";

struct TokenList {
  std::vector<std::string> hashes;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(hashes));
  }
};

struct QueueMeta {
  uint64_t head = 0;  // the oldest bucket still held
  uint64_t tail = 0;  // the bucket new tokens go into
  Timestamp oldest;   // the expiry of the oldest queued token (0: none queued)
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(head), CEREAL_NVP(tail), CEREAL_NVP(oldest));
  }
};

struct QueuedToken {
  std::string hash;
  Timestamp expires_at;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(hash), CEREAL_NVP(expires_at));
  }
};

struct Bucket {
  size_t first = 0;  // entries before it were pruned
  std::vector<QueuedToken> tokens;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(first), CEREAL_NVP(tokens));
  }
};

// Removes the token and its entry in its instance's list.
Status RemoveToken(ReadModelWriter& w, const std::string& hash) {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<ConsoleTokenRecord> token,
                            GetRecord<ConsoleTokenRecord>(w, TokenKey(hash)));
  if (!token) return Status::Ok();  // revoked with its instance already
  w.Delete(TokenKey(hash));
  const std::string key = InstanceKey(token->instance_id);
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<TokenList> list, GetRecord<TokenList>(w, key));
  if (!list) return Status::Ok();
  std::erase(list->hashes, hash);
  if (list->hashes.empty()) {
    w.Delete(key);
  } else {
    PutRecord(w, key, std::move(*list));
  }
  return Status::Ok();
}

// Prunes every queued token that expired by `now`, oldest first. Tokens are
// queued in issue order, which is expiry order while the TTL stays the same; a
// token queued behind a later-expiring one waits for it (lookups check expiry).
Status PruneExpired(ReadModelWriter& w, Timestamp now) {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<QueueMeta> meta,
                            GetRecord<QueueMeta>(w, kQueueMeta));
  if (!meta || meta->oldest.micros == 0 || meta->oldest > now) return Status::Ok();
  while (meta->head <= meta->tail) {
    CHRONOVA_ASSIGN_OR_RETURN(std::optional<Bucket> bucket,
                              GetRecord<Bucket>(w, BucketKey(meta->head)));
    if (!bucket) bucket.emplace();
    while (bucket->first < bucket->tokens.size() &&
           bucket->tokens[bucket->first].expires_at <= now) {
      CHRONOVA_RETURN_IF_ERROR(RemoveToken(w, bucket->tokens[bucket->first].hash));
      ++bucket->first;
    }
    if (bucket->first < bucket->tokens.size()) {
      meta->oldest = bucket->tokens[bucket->first].expires_at;
      PutRecord(w, BucketKey(meta->head), std::move(*bucket));
      PutRecord(w, kQueueMeta, std::move(*meta));
      return Status::Ok();
    }
    if (meta->head == meta->tail && bucket->tokens.size() < kBucket) {
      // The tail bucket, emptied: it takes new tokens from where it is.
      PutRecord(w, BucketKey(meta->head), std::move(*bucket));
      break;
    }
    w.Delete(BucketKey(meta->head));
    ++meta->head;
  }
  meta->oldest = Timestamp{};
  if (meta->head > meta->tail) meta->tail = meta->head;
  PutRecord(w, kQueueMeta, std::move(*meta));
  return Status::Ok();
}

Status Enqueue(ReadModelWriter& w, const std::string& hash, Timestamp expires_at) {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<QueueMeta> meta,
                            GetRecord<QueueMeta>(w, kQueueMeta));
  if (!meta) meta.emplace();
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<Bucket> bucket,
                            GetRecord<Bucket>(w, BucketKey(meta->tail)));
  if (!bucket) bucket.emplace();
  if (bucket->tokens.size() >= kBucket) {
    PutRecord(w, BucketKey(meta->tail), std::move(*bucket));
    ++meta->tail;
    bucket.emplace();
  }
  bucket->tokens.push_back(QueuedToken{hash, expires_at});
  if (meta->oldest.micros == 0) meta->oldest = expires_at;
  PutRecord(w, BucketKey(meta->tail), std::move(*bucket));
  PutRecord(w, kQueueMeta, std::move(*meta));
  return Status::Ok();
}

// Every token of the instance goes (the guest went, or moved).
Status RevokeInstance(ReadModelWriter& w, const InstanceId& id) {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<TokenList> list,
                            GetRecord<TokenList>(w, InstanceKey(id)));
  if (!list) return Status::Ok();
  for (const std::string& hash : list->hashes) w.Delete(TokenKey(hash));
  w.Delete(InstanceKey(id));
  return Status::Ok();
}

}  // namespace

std::string HashConsoleToken(std::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * SHA256_DIGEST_LENGTH);
  for (unsigned char c : digest) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return hex;
}

Status ConsoleTokensProjection::Apply(const Envelope& env, const Event& event,
                                      ReadModelWriter& w) {
  const bool instance_event = std::visit(
      [](const auto& e) { return kIsInstanceEvent<std::decay_t<decltype(e)>>; }, event);
  if (!instance_event) return Status::Ok();
  CHRONOVA_RETURN_IF_ERROR(PruneExpired(w, env.meta.time));
  const InstanceId id{std::string(StreamKey(env.stream))};
  if (const auto* a = std::get_if<InstanceConsoleAuthorized>(&event)) {
    if (a->expires_at <= env.meta.time) return Status::Ok();  // born expired
    ConsoleTokenRecord r{a->token_hash,           id,
                         a->console_type,         a->compute_host,
                         a->console_host,         a->port,
                         a->internal_access_path, env.meta.time,
                         a->expires_at,           env.meta.request_id};
    PutRecord(w, TokenKey(a->token_hash), std::move(r));
    CHRONOVA_ASSIGN_OR_RETURN(std::optional<TokenList> list,
                              GetRecord<TokenList>(w, InstanceKey(id)));
    if (!list) list.emplace();
    list->hashes.push_back(a->token_hash);
    PutRecord(w, InstanceKey(id), std::move(*list));
    return Enqueue(w, a->token_hash, a->expires_at);
  }
  if (std::holds_alternative<InstanceDeleted>(event) ||
      std::holds_alternative<InstanceResizeFinished>(event) ||
      std::holds_alternative<InstanceResizeReverted>(event)) {
    return RevokeInstance(w, id);
  }
  return Status::Ok();
}

Result<std::optional<ConsoleTokenRecord>> ConsoleTokensView::Find(
    const std::string& token_hash, Timestamp now) const {
  CHRONOVA_ASSIGN_OR_RETURN(
      std::optional<ConsoleTokenRecord> r,
      GetRecord<ConsoleTokenRecord>(*reader_, TokenKey(token_hash)));
  if (r && r->expires_at <= now) r.reset();
  return r;
}

Result<std::vector<std::string>> ConsoleTokensView::OfInstance(
    const InstanceId& id) const {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<TokenList> list,
                            GetRecord<TokenList>(*reader_, InstanceKey(id)));
  return list ? list->hashes : std::vector<std::string>{};
}

}  // namespace chronova
