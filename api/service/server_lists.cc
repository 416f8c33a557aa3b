// ComputeService's server lists (GET /servers[/detail]): Nova's filters and
// sort keys, answered from the servers read model's indexes where the order
// allows (docs/performance.md, "Server lists").
#include <re2/re2.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "api/auth/policy.h"
#include "api/service/compute_service.h"
#include "projections/servers_projection.h"

namespace chronova {
namespace {

// The value a server sorts by under one of Nova's sort keys: numbers first
// (times, states, indexes), then strings. Keys chronova has no data for sort
// as equal.
std::pair<int64_t, std::string> SortValue(const InstanceState& s,
                                          const std::string& key) {
  if (key == "display_name" || key == "hostname") return {0, s.name};
  if (key == "created_at") return {s.created_at.micros, ""};
  if (key == "updated_at") return {s.updated_at.micros, ""};
  if (key == "launched_at") return {s.launched_at.micros, ""};
  if (key == "terminated_at") return {s.terminated_at.micros, ""};
  if (key == "uuid") return {0, s.id.str()};
  if (key == "vm_state") return {0, std::string(VmStateName(s.vm_state))};
  if (key == "task_state") return {0, std::string(TaskStateName(s.task_state))};
  if (key == "power_state") return {static_cast<int64_t>(s.power_state), ""};
  if (key == "host" || key == "node") return {0, s.host.str()};
  if (key == "project_id") return {0, s.project_id.str()};
  if (key == "user_id") return {0, s.user_id.str()};
  if (key == "availability_zone") return {0, s.availability_zone};
  if (key == "key_name") return {0, s.key_name};
  if (key == "launch_index") return {s.launch_index, ""};
  if (key == "image_ref") return {0, s.image_id.str()};
  if (key == "instance_type_id") return {0, s.flavor.id.str()};
  if (key == "access_ip_v4") return {0, s.access_ipv4};
  if (key == "access_ip_v6") return {0, s.access_ipv6};
  return {0, ""};
}

// Nova's instance_get_all_by_filters_sort: the requested keys, then created_at
// and id in the first key's direction (descending by default).
void SortServers(std::vector<InstanceState>& servers, std::vector<ServerSortKey> keys) {
  const bool dflt = keys.empty() ? true : keys.front().descending;
  bool has_created = false;
  for (const ServerSortKey& k : keys) has_created |= k.key == "created_at";
  if (!has_created) keys.push_back({"created_at", dflt});
  keys.push_back({"uuid", dflt});
  std::stable_sort(servers.begin(), servers.end(),
                   [&](const InstanceState& a, const InstanceState& b) {
                     for (const ServerSortKey& k : keys) {
                       auto va = SortValue(a, k.key), vb = SortValue(b, k.key);
                       if (va == vb) continue;
                       return k.descending ? vb < va : va < vb;
                     }
                     return false;
                   });
}

// Nova's "name" filter: a regular expression searched in the name. The
// caller writes the pattern, so it is matched by RE2 (time linear in the
// name, memory bounded by kMaxFilterProgramBytes), never by a backtracking
// engine. A pattern RE2 does not take (backreferences, lookaround) is
// matched as plain text, as an invalid one was before.
class NameFilter {
 public:
  explicit NameFilter(const std::string& pattern) : pattern_(pattern) {
    RE2::Options o;
    o.set_log_errors(false);
    o.set_max_mem(kMaxFilterProgramBytes);
    re_ = std::make_unique<RE2>(pattern, o);
  }
  bool Matches(const std::string& name) const {
    if (!re_->ok()) return name.find(pattern_) != std::string::npos;
    return RE2::PartialMatch(name, *re_);
  }

 private:
  static constexpr int64_t kMaxFilterProgramBytes = 1 << 20;
  std::string pattern_;
  std::unique_ptr<RE2> re_;
};

}  // namespace

Result<std::vector<InstanceState>> ComputeService::ListServers(
    const RequestContext& ctx, const ListServersQuery& q) const {
  const std::string view = q.detail ? "detail" : "index";
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:servers:" + view));
  if (q.all_tenants) {
    CHRONOVA_RETURN_IF_ERROR(
        Authorize(ctx, "os_compute_api:servers:" + view + ":get_all_tenants"));
  }
  const bool want_deleted = q.status && *q.status == "DELETED";
  if (want_deleted && !ctx.IsAdmin()) {
    return Status::PermissionDenied("Only administrators may list deleted instances");
  }
  if (q.name && q.name->size() > kMaxNameFilterBytes) {
    return Status::InvalidArgument("Invalid filter: name is longer than " +
                                   std::to_string(kMaxNameFilterBytes) + " characters");
  }
  std::optional<NameFilter> name_filter;
  if (q.name) name_filter.emplace(*q.name);
  auto matches = [&](const InstanceState& s) {
    if (q.changes_since && s.updated_at < *q.changes_since) return false;
    if (q.changes_before && s.updated_at > *q.changes_before) return false;
    if (q.locked && s.locked != *q.locked) return false;
    if (name_filter && !name_filter->Matches(s.name)) return false;
    if (q.status && ApiStatus(s) != *q.status) return false;
    if (q.host && ctx.IsAdmin() && s.host.str() != *q.host) return false;
    if (q.image && s.image_id.str() != *q.image) return false;
    if (q.flavor && s.flavor.id.str() != *q.flavor) return false;
    if (q.reservation_id && s.reservation_id != *q.reservation_id) return false;
    auto has = [&](const std::string& t) {
      return std::binary_search(s.tags.begin(), s.tags.end(), t);
    };
    if (!std::all_of(q.tags.begin(), q.tags.end(), has)) return false;
    if (!q.tags_any.empty() && std::none_of(q.tags_any.begin(), q.tags_any.end(), has)) {
      return false;
    }
    if (!q.not_tags.empty() && std::all_of(q.not_tags.begin(), q.not_tags.end(), has)) {
      return false;
    }
    if (std::any_of(q.not_tags_any.begin(), q.not_tags_any.end(), has)) return false;
    return !q.ip;  // no server has a fixed IP yet
  };
  auto marker_not_found = [&] {
    return Status::InvalidArgument("marker [" + *q.marker + "] not found");
  };
  const size_t limit = static_cast<size_t>(std::max(q.limit, 0));
  const ProjectId scope = q.all_tenants ? ProjectId() : ctx.project;
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ServersProjection::kName));
  ServersView servers_view(reader.get());
  const bool include_deleted = q.changes_since.has_value() ||
                               q.changes_before.has_value() || want_deleted ||
                               q.include_deleted;

  // Nova's default order over live servers: read from the newest-first index,
  // only as far as the page (docs/performance.md, "Server lists").
  const bool newest_first =
      q.sort.empty() ||
      (q.sort.size() == 1 && q.sort[0].key == "created_at" && q.sort[0].descending);
  if (newest_first && !include_deleted) {
    std::optional<InstanceState> marker;
    if (q.marker) {
      CHRONOVA_ASSIGN_OR_RETURN(marker, servers_view.Get(InstanceId(*q.marker)));
      if (!marker ||
          (marker->vm_state == VmState::kDeleted && !q.marker_may_be_deleted) ||
          (!scope.empty() && marker->project_id != scope) || !matches(*marker)) {
        return marker_not_found();
      }
    }
    std::vector<InstanceState> page;
    if (limit == 0) return page;
    page.reserve(std::min<size_t>(limit, 1024));
    auto take = [&](InstanceState&& s) {
      if ((scope.empty() || s.project_id == scope) && matches(s))
        page.push_back(std::move(s));
      return page.size() < limit;
    };
    // A host (admin) or status filter reads that host's or status's index:
    // only the servers it names.
    ServersView::NewestScope index{scope, q.status.value_or(""), HostName()};
    if (q.host && ctx.IsAdmin()) index.host = HostName(*q.host);
    CHRONOVA_RETURN_IF_ERROR(
        servers_view.VisitNewest(index, marker ? &*marker : nullptr, take));
    return page;
  }

  // changes-since reads only the servers changed since then; the rest of the
  // sort keys and deleted servers read the whole scope.
  ServersView::ListOptions opts;
  opts.project = scope;
  opts.include_deleted = include_deleted;
  Result<std::vector<InstanceState>> all =
      q.changes_since ? servers_view.ChangedSince(*q.changes_since)
                      : servers_view.List(opts);
  CHRONOVA_RETURN_IF_ERROR(all.status());
  std::vector<InstanceState> out;
  for (InstanceState& s : *all) {
    if (!scope.empty() && s.project_id != scope) continue;
    if (!include_deleted && s.vm_state == VmState::kDeleted) continue;
    if (matches(s)) out.push_back(std::move(s));
  }
  SortServers(out, q.sort);
  size_t begin = 0;
  if (q.marker) {
    auto it = std::find_if(out.begin(), out.end(), [&](const InstanceState& s) {
      return s.id.str() == *q.marker;
    });
    if (it == out.end()) return marker_not_found();
    begin = static_cast<size_t>(it - out.begin()) + 1;
  }
  size_t end = std::min(out.size(), begin + limit);
  return std::vector<InstanceState>(std::make_move_iterator(out.begin() + begin),
                                    std::make_move_iterator(out.begin() + end));
}

Result<std::vector<InstanceState>> ComputeService::ActiveServers(
    const RequestContext& ctx, std::string_view policy,
    const ActiveServersQuery& q) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, policy, PolicyTarget{q.project, UserId()}));
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ServersProjection::kName));
  const ServersView servers(reader.get());
  // Active in the period: launched before its end, not terminated before its start.
  auto active = [&](const InstanceState& s) {
    const bool terminated_before =
        s.terminated_at.micros != 0 && !(q.start < s.terminated_at);
    const bool launched_in_time = s.launched_at.micros != 0 && s.launched_at < q.stop;
    return (q.project.empty() || s.project_id == q.project) && !terminated_before &&
           launched_in_time;
  };
  // In (project, id) order from the project index, only as far as the page:
  // a page of a big project reads its page and the servers not active then.
  std::optional<InstanceState> marker;
  if (q.marker) {
    CHRONOVA_ASSIGN_OR_RETURN(marker, servers.Get(InstanceId(*q.marker)));
    if (!marker || !active(*marker)) {
      return Status::InvalidArgument("marker [" + *q.marker + "] not found");
    }
  }
  std::vector<InstanceState> page;
  if (q.limit == 0) return page;
  CHRONOVA_RETURN_IF_ERROR(servers.VisitByProject(q.project, marker ? &*marker : nullptr,
                                                  [&](InstanceState&& s) {
                                                    if (active(s))
                                                      page.push_back(std::move(s));
                                                    return page.size() < q.limit;
                                                  }));
  return page;
}

}  // namespace chronova
