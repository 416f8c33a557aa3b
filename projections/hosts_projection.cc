#include "projections/hosts_projection.h"

#include "projections/records.h"

namespace chronova {
namespace {

std::string HostKey(std::string_view name) { return "host/" + std::string(name); }

}  // namespace

Status HostsProjection::Apply(const Envelope& env, const Event& event,
                              ReadModelWriter& w) {
  if (StreamKind(env.stream) != "host") return Status::Ok();
  std::string key = HostKey(StreamKey(env.stream));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<HostState> stored,
                            GetRecord<HostState>(w, key));
  HostState state = stored.value_or(HostState{});
  if (env.version <= state.version) return Status::Ok();  // already folded in
  ApplyHostEvent(state, env, event);
  PutRecord(w, key, state);
  return Status::Ok();
}

Result<std::optional<HostState>> HostsView::Get(const HostName& host) const {
  return GetRecord<HostState>(*reader_, HostKey(host.str()));
}

Result<std::vector<HostState>> HostsView::List() const {
  return ScanRecords<HostState>(*reader_, "host/");
}

}  // namespace chronova
