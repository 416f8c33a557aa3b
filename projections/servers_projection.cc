#include "projections/servers_projection.h"

#include <algorithm>

#include "projections/records.h"

namespace chronova {
namespace {

// Keys, relative to the projection: the one place that spells them.
std::string IdKey(std::string_view id) { return "id/" + std::string(id); }
std::string ProjectPrefix(const ProjectId& p) { return "project/" + p.str() + "/"; }
std::string HostPrefix(const HostName& h) { return "host/" + h.str() + "/"; }
constexpr std::string_view kInFlightPrefix = "inflight/";
// Live servers newest first (Nova's default order: created_at, then id, both
// descending), in one index per project and one over every project:
// "newest/<project>/<key>" and "newest-all/<key>", where <key> is
// NewestKey(server). A default list reads only its page from them.
std::string NewestPrefix(const ProjectId& p) {
  return p.empty() ? "newest-all/" : "newest/" + p.str() + "/";
}
// The same for the live servers of one API status ("ACTIVE", "ERROR", ...):
// "status/<status>/<project>/<key>" and "status-all/<status>/<key>".
std::string NewestPrefix(const ProjectId& p, std::string_view status) {
  if (status.empty()) return NewestPrefix(p);
  const std::string s(status);
  return p.empty() ? "status-all/" + s + "/" : "status/" + s + "/" + p.str() + "/";
}
// The live servers placed on a host, newest first: "host-newest/<host>/<key>"
// (the admin's host filter; "host/<host>/<id>" is the agents' id-ordered one).
std::string HostNewestPrefix(const HostName& h) { return "host-newest/" + h.str() + "/"; }
// Every server (deleted ones too) by the time it last changed, oldest first:
// "updated/<updated_at in 16 hex digits>/<id>" (changes-since).
std::string UpdatedKey(Timestamp t, std::string_view id) {
  return "updated/" + Hex16(static_cast<uint64_t>(std::max<int64_t>(t.micros, 0))) + "/" +
         std::string(id);
}
// Ascending key order is descending (created_at, id): the creation time
// subtracted from the largest time, in 16 hex digits, then the id's bytes
// complemented and closed by 0xff (so that of two ids one of which begins the
// other, the longer comes first, as it does in descending order).
std::string NewestKey(const InstanceState& s) {
  std::string key = Hex16(static_cast<uint64_t>(INT64_MAX - s.created_at.micros));
  for (unsigned char c : s.id.str()) key.push_back(static_cast<char>(0xff - c));
  key.push_back(static_cast<char>(0xff));
  return key;
}
// Usage by project ("usage/<project>") and by user ("usage/<project>/<user>").
std::string UsageKey(const ProjectId& p, const UserId& u) {
  return "usage/" + p.str() + (u.empty() ? "" : "/" + u.str());
}

// What one server counts against its project's quotas (Nova counts every
// server that is not deleted, with its current flavor).
ServerUsage UsageOf(const InstanceState& s) {
  if (s.vm_state == VmState::kDeleted) return ServerUsage{};
  return ServerUsage{1, s.flavor.vcpus, s.flavor.memory_mb};
}

// Adds `after - before` to the usage at `key`.
Status AddUsage(ReadModelWriter& w, const std::string& key, const ServerUsage& before,
                const ServerUsage& after) {
  RecordUpdate<ServerUsage> usage;
  CHRONOVA_RETURN_IF_ERROR(usage.Load(w, key));
  usage.get().instances += after.instances - before.instances;
  usage.get().cores += after.cores - before.cores;
  usage.get().ram += after.ram - before.ram;
  usage.Store(w, key);
  return Status::Ok();
}

}  // namespace

Status ServersProjection::Apply(const Envelope& env, const Event& event,
                                ReadModelWriter& w) {
  if (StreamKind(env.stream) != "instance") return Status::Ok();
  std::string key = IdKey(StreamKey(env.stream));
  RecordUpdate<InstanceState> record;
  CHRONOVA_RETURN_IF_ERROR(record.Load(w, key));
  const bool stored = record.found();
  InstanceState& state = record.get();
  if (env.version <= state.version) return Status::Ok();  // already folded in
  HostName old_host = state.host;
  const bool was_in_flight = stored && InFlight(state);
  const ServerUsage used_before = stored ? UsageOf(state) : ServerUsage{};
  const bool was_live = stored && state.vm_state != VmState::kDeleted;
  const std::string old_status(stored ? ApiStatus(state) : "");
  const Timestamp old_updated = state.updated_at;
  ApplyEvent(state, env, event);
  if (!state.exists) {
    return Status::Corruption("seq " + std::to_string(env.seq.value()) + ": " +
                              env.stream.str() +
                              " does not begin with instance.requested");
  }
  const std::string id = state.id.str();
  if (!stored) w.Put(ProjectPrefix(state.project_id) + id, "");
  bool live_on_host = !state.host.empty() && state.vm_state != VmState::kDeleted;
  if (!old_host.empty() && (old_host != state.host || !live_on_host)) {
    w.Delete(HostPrefix(old_host) + id);
    w.Delete(HostNewestPrefix(old_host) + NewestKey(state));
  }
  if (live_on_host && old_host != state.host) {
    w.Put(HostPrefix(state.host) + id, "");
    w.Put(HostNewestPrefix(state.host) + NewestKey(state), id);
  }
  if (const bool in_flight = InFlight(state); in_flight != was_in_flight) {
    const std::string k = std::string(kInFlightPrefix) + id;
    if (in_flight) {
      w.Put(k, "");
    } else {
      w.Delete(k);
    }
  }
  if (!stored || state.updated_at != old_updated) {
    if (stored) w.Delete(UpdatedKey(old_updated, id));
    w.Put(UpdatedKey(state.updated_at, id), "");
  }
  // The newest-first indexes (created_at and id never change, so neither does
  // a server's key in them; its status index changes with its status).
  const bool live = state.vm_state != VmState::kDeleted;
  const std::string status(ApiStatus(state));
  if (live != was_live || status != old_status) {
    const std::string newest = NewestKey(state);
    for (const ProjectId& p : {state.project_id, ProjectId()}) {
      if (live != was_live) {
        if (live) {
          w.Put(NewestPrefix(p) + newest, id);
        } else {
          w.Delete(NewestPrefix(p) + newest);
        }
      }
      if (was_live) w.Delete(NewestPrefix(p, old_status) + newest);
      if (live) w.Put(NewestPrefix(p, status) + newest, id);
    }
  }
  if (const ServerUsage used = UsageOf(state); used != used_before) {
    CHRONOVA_RETURN_IF_ERROR(
        AddUsage(w, UsageKey(state.project_id, UserId()), used_before, used));
    CHRONOVA_RETURN_IF_ERROR(
        AddUsage(w, UsageKey(state.project_id, state.user_id), used_before, used));
  }
  record.Store(w, key);
  return Status::Ok();
}

Result<std::optional<InstanceState>> ServersView::Get(const InstanceId& id) const {
  return GetRecord<InstanceState>(*reader_, IdKey(id.str()));
}

Status ServersView::VisitIndexed(
    std::string_view prefix, std::string_view start_after, bool id_in_value,
    const std::function<bool(InstanceState&&)>& visit) const {
  Status inner;
  CHRONOVA_RETURN_IF_ERROR(
      reader_->Scan(prefix, start_after, [&](std::string_view k, std::string_view v) {
        std::string id(id_in_value ? v : k.substr(k.rfind('/') + 1));
        Result<std::optional<InstanceState>> s = Get(InstanceId(id));
        if (!s.ok() || !s->has_value()) {
          inner = s.ok() ? Status::Corruption("index names missing server " + id)
                         : s.status();
          return false;
        }
        return visit(std::move(**s));
      }));
  return inner;
}

Result<std::vector<InstanceState>> ServersView::LoadIndexed(std::string_view prefix,
                                                            bool include_deleted) const {
  std::vector<InstanceState> out;
  CHRONOVA_RETURN_IF_ERROR(VisitIndexed(prefix, "", false, [&](InstanceState&& s) {
    if (include_deleted || s.vm_state != VmState::kDeleted) out.push_back(std::move(s));
    return true;
  }));
  return out;
}

Result<std::vector<InstanceState>> ServersView::List(const ListOptions& options) const {
  if (!options.project.empty()) {
    return LoadIndexed(ProjectPrefix(options.project), options.include_deleted);
  }
  return ScanRecords<InstanceState>(*reader_, "id/", [&](const InstanceState& s) {
    return options.include_deleted || s.vm_state != VmState::kDeleted;
  });
}

Status ServersView::VisitNewest(const NewestScope& scope, const InstanceState* after,
                                const std::function<bool(InstanceState&&)>& visit) const {
  const std::string prefix = !scope.host.empty()
                                 ? HostNewestPrefix(scope.host)
                                 : NewestPrefix(scope.project, scope.status);
  return VisitIndexed(prefix, after != nullptr ? prefix + NewestKey(*after) : "",
                      /*id_in_value=*/true, visit);
}

Result<std::vector<InstanceState>> ServersView::ChangedSince(Timestamp since) const {
  std::vector<InstanceState> out;
  // After every key of the microsecond before `since` ('~' sorts after ids).
  std::string start = UpdatedKey(Timestamp{since.micros - 1}, "~");
  if (since.micros <= 0) start.clear();
  CHRONOVA_RETURN_IF_ERROR(VisitIndexed("updated/", start, false, [&](InstanceState&& s) {
    out.push_back(std::move(s));
    return true;
  }));
  return out;
}

Result<std::optional<InstanceState>> ServersView::FindByIdPrefix(
    std::string_view prefix) const {
  std::optional<InstanceState> found;
  Status inner;
  CHRONOVA_RETURN_IF_ERROR(
      reader_->Scan(IdKey(prefix), "", [&](std::string_view k, std::string_view v) {
        InstanceState s;
        inner = DecodePortable(v, &s).WithContext(std::string(k));
        if (inner.ok()) found = std::move(s);
        return false;  // the first is enough
      }));
  CHRONOVA_RETURN_IF_ERROR(inner);
  return found;
}

Result<std::vector<InstanceState>> ServersView::InFlight() const {
  return LoadIndexed(kInFlightPrefix, /*include_deleted=*/false);
}

Result<std::vector<InstanceState>> ServersView::OnHost(const HostName& host) const {
  return LoadIndexed(HostPrefix(host), /*include_deleted=*/false);
}

Status ServersView::VisitByProject(
    const ProjectId& project, const InstanceState* after,
    const std::function<bool(InstanceState&&)>& visit) const {
  const std::string prefix = project.empty() ? "project/" : ProjectPrefix(project);
  const std::string start =
      after != nullptr ? ProjectPrefix(after->project_id) + after->id.str() : "";
  return VisitIndexed(prefix, start, /*id_in_value=*/false, visit);
}

Result<std::set<InstanceId>> ServersView::IdsOnHost(const HostName& host) const {
  const std::string prefix = HostPrefix(host);
  std::set<InstanceId> ids;
  CHRONOVA_RETURN_IF_ERROR(
      reader_->Scan(prefix, "", [&](std::string_view k, std::string_view) {
        ids.insert(InstanceId(std::string(k.substr(prefix.size()))));
        return true;
      }));
  return ids;
}

Result<ServerUsage> ServersView::Usage(const ProjectId& project,
                                       const UserId& user) const {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<ServerUsage> u,
                            GetRecord<ServerUsage>(*reader_, UsageKey(project, user)));
  return u.value_or(ServerUsage{});
}

}  // namespace chronova
