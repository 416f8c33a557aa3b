#include "projections/hosts_projection.h"

#include "core/codec.h"

namespace chronova {
namespace {

std::string HostKey(std::string_view name) { return "host/" + std::string(name); }

}  // namespace

Status HostsProjection::Apply(const Envelope& env, const Event& event,
                              ReadModelWriter& w) {
  if (StreamKind(env.stream) != "host") return Status::Ok();
  std::string key = HostKey(StreamKey(env.stream));
  HostState state;
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<std::string> stored, w.Get(key));
  if (stored) CHRONOVA_RETURN_IF_ERROR(DecodePortable(*stored, &state).WithContext(key));
  if (env.version <= state.version) return Status::Ok();  // already folded in
  ApplyHostEvent(state, env, event);
  w.Put(key, EncodePortable(state));
  return Status::Ok();
}

Result<std::optional<HostState>> HostsView::Get(const HostName& host) const {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                            reader_->Get(HostKey(host.str())));
  if (!stored) return std::optional<HostState>();
  HostState state;
  CHRONOVA_RETURN_IF_ERROR(
      DecodePortable(*stored, &state).WithContext("host " + host.str()));
  return std::optional<HostState>(std::move(state));
}

Result<std::vector<HostState>> HostsView::List() const {
  std::vector<HostState> out;
  Status inner;
  CHRONOVA_RETURN_IF_ERROR(
      reader_->Scan("host/", "", [&](std::string_view k, std::string_view v) {
        HostState s;
        inner = DecodePortable(v, &s).WithContext(std::string(k));
        if (!inner.ok()) return false;
        out.push_back(std::move(s));
        return true;
      }));
  CHRONOVA_RETURN_IF_ERROR(inner);
  return out;
}

}  // namespace chronova
