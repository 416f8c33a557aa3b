#include "projections/hosts_projection.h"

#include <charconv>

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
// The hosts in id order: "by-id/<id in 16 hex digits>" -> the host's name (a
// hypervisor show or page reads only its hosts).
constexpr std::string_view kByIdPrefix = "by-id/";
std::string ByIdKey(int64_t id) {
  return std::string(kByIdPrefix) + Hex16(static_cast<uint64_t>(id));
}
// The hosts by the zone they report ([DEFAULT] default_availability_zone):
// "zone/<zone>/<host>" (whether a zone some host is in exists, without
// reading every host).
std::string ZonePrefix(std::string_view zone) {
  return "zone/" + std::string(zone) + "/";
}

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
  const std::string old_zone = state.exists ? state.availability_zone : std::string();
  const bool existed = state.exists;
  ApplyHostEvent(state, env, event);
  if (existed != state.exists || old_zone != state.availability_zone) {
    if (existed) w.Delete(ZonePrefix(old_zone) + std::string(name));
    if (state.exists) w.Put(ZonePrefix(state.availability_zone) + std::string(name), "");
  }
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
      w.Put(ByIdKey(next.count), name);
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

Result<std::optional<HostName>> HostsView::NameById(int64_t id) const {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<std::string> name, reader_->Get(ByIdKey(id)));
  if (!name) return std::optional<HostName>();
  return std::optional<HostName>(HostName(*name));
}

Status HostsView::VisitById(
    int64_t after, const std::function<bool(int64_t, const HostName&)>& fn) const {
  const std::string start = after > 0 ? ByIdKey(after) : "";
  Status inner;
  CHRONOVA_RETURN_IF_ERROR(
      reader_->Scan(kByIdPrefix, start, [&](std::string_view k, std::string_view v) {
        const std::string_view hex = k.substr(kByIdPrefix.size());
        uint64_t id = 0;
        auto [ptr, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), id, 16);
        if (ec != std::errc() || ptr != hex.data() + hex.size()) {
          inner = Status::Corruption("hosts index key " + std::string(k));
          return false;
        }
        return fn(static_cast<int64_t>(id), HostName(std::string(v)));
      }));
  return inner;
}

Status HostsView::VisitInZone(std::string_view zone,
                              const std::function<bool(const HostName&)>& fn) const {
  const std::string prefix = ZonePrefix(zone);
  return reader_->Scan(prefix, "", [&](std::string_view k, std::string_view) {
    return fn(HostName(std::string(k.substr(prefix.size()))));
  });
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
