#include "projections/hosts_projection.h"

#include "projections/records.h"

namespace chronova {
namespace {

// Keys, relative to the projection. A host's claims live under their own keys,
// not inside its record, so a claim costs the same on a host with 10 instances
// as on one with 10,000.
std::string HostKey(std::string_view name) { return "host/" + std::string(name); }
std::string ClaimPrefix(std::string_view host) {
  return "claim/" + std::string(host) + "/";
}
std::string ClaimKey(std::string_view host, const InstanceId& id) {
  return ClaimPrefix(host) + id.str();
}

std::string IdKey(std::string_view name) { return "id/" + std::string(name); }

// How many hosts have registered: the next one gets id count + 1.
constexpr char kCountKey[] = "meta/count";
struct HostCount {
  int64_t count = 0;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(count));
  }
};

// The instance a claim event is about, if it is one.
const InstanceId* ClaimedInstance(const Event& event) {
  if (auto* c = std::get_if<HostResourcesClaimed>(&event)) return &c->instance_id;
  if (auto* r = std::get_if<HostResourcesReleased>(&event)) return &r->instance_id;
  return nullptr;
}

}  // namespace

Status HostsProjection::Apply(const Envelope& env, const Event& event,
                              ReadModelWriter& w) {
  if (StreamKind(env.stream) != "host") return Status::Ok();
  std::string_view name = StreamKey(env.stream);
  std::string key = HostKey(name);
  RecordUpdate<HostState> record;
  CHRONOVA_RETURN_IF_ERROR(record.Load(w, key));
  HostState& state = record.get();
  if (env.version <= state.version) return Status::Ok();  // already folded in
  // Load just the claim this event touches, fold with core's state machine, then
  // store the claim change apart from the record.
  const InstanceId* instance = ClaimedInstance(event);
  std::string claim_key;
  bool had_claim = false;
  if (instance != nullptr) {
    claim_key = ClaimKey(name, *instance);
    CHRONOVA_ASSIGN_OR_RETURN(std::optional<Claim> claim, GetRecord<Claim>(w, claim_key));
    if (claim) state.claims.emplace(*instance, *claim);
    had_claim = claim.has_value();
  }
  ApplyHostEvent(state, env, event);
  if (std::holds_alternative<HostRegistered>(event)) {
    // First registration: Nova's integer ids are registration order, which is
    // the log's order, so a rebuild assigns the same ids.
    CHRONOVA_ASSIGN_OR_RETURN(std::optional<HostCount> id,
                              GetRecord<HostCount>(w, IdKey(name)));
    if (!id) {
      CHRONOVA_ASSIGN_OR_RETURN(std::optional<HostCount> count,
                                GetRecord<HostCount>(w, kCountKey));
      HostCount next{count.value_or(HostCount{}).count + 1};
      PutRecord(w, kCountKey, next);
      PutRecord(w, IdKey(name), next);
    }
  }
  if (instance != nullptr) {
    auto it = state.claims.find(*instance);
    if (it != state.claims.end() && !had_claim) PutRecord(w, claim_key, it->second);
    if (it == state.claims.end() && had_claim) w.Delete(claim_key);
    state.claims.clear();
  }
  record.Store(w, key);
  return Status::Ok();
}

Result<std::optional<HostState>> HostsView::Get(const HostName& host) const {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<HostState> h,
                            GetRecord<HostState>(*reader_, HostKey(host.str())));
  if (!h) return h;
  Status inner;
  std::string prefix = ClaimPrefix(host.str());
  CHRONOVA_RETURN_IF_ERROR(
      reader_->Scan(prefix, "", [&](std::string_view k, std::string_view v) {
        Claim c;
        inner = DecodePortable(v, &c).WithContext(std::string(k));
        if (!inner.ok()) return false;
        h->claims.emplace(InstanceId(std::string(k.substr(prefix.size()))), c);
        return true;
      }));
  CHRONOVA_RETURN_IF_ERROR(inner);
  return h;
}

Result<int64_t> HostsView::Id(const HostName& host) const {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<HostCount> id,
                            GetRecord<HostCount>(*reader_, IdKey(host.str())));
  return id ? id->count : int64_t{0};
}

Result<std::vector<HostState>> HostsView::List() const {
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<HostState> hosts,
                            ScanRecords<HostState>(*reader_, "host/"));
  for (HostState& h : hosts) {
    CHRONOVA_ASSIGN_OR_RETURN(std::optional<HostState> full, Get(h.name));
    if (full) h = std::move(*full);
  }
  return hosts;
}

}  // namespace chronova
