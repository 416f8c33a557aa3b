// /servers/{id}/os-instance-actions: what was done to a server, by whom, and
// its events (nova/api/openstack/compute/instance_actions.py). 2.21 deleted
// servers, 2.51 events for owners, 2.58 paging and changes-since with
// updated_at, 2.62 the events' host and hostId, 2.66 changes-before.
#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"

namespace chronova {
namespace {

class InstanceActionsResource final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse ListInstanceActions(const ComputeCall& call) const;
  HttpResponse ShowInstanceAction(const ComputeCall& call) const;
};

// From 2.21 the actions of a deleted server are shown too.
constexpr ApiVersion kDeletedActionsVersion{2, 21};
constexpr ApiVersion kPagedVersion{2, 58};

HttpResponse InstanceActionsResource::ListInstanceActions(const ComputeCall& call) const {
  const bool paged = call.version >= kPagedVersion;
  ChangesWindow window;
  int limit = 0;
  if (paged) {
    const bool before = call.version >= ApiVersion{2, 66};
    if (auto refused =
            before ? RefuseUnknownQuery(
                         call, {"limit", "marker", "changes-since", "changes-before"},
                         kPagedVersion)
                   : RefuseUnknownQuery(call, {"limit", "marker", "changes-since"},
                                        kPagedVersion)) {
      return *refused;
    }
    Result<ChangesWindow> w = ChangesWindowOf(call);
    if (!w.ok()) return ErrorResponse(w.status());
    window = *w;
    Result<int> l = PageLimit(call);
    if (!l.ok()) return ErrorResponse(l.status());
    limit = *l;
  }
  Result<std::vector<InstanceAction>> actions = options_.service->ListInstanceActions(
      call.ctx, InstanceId(call.params[0]), call.version >= kDeletedActionsVersion);
  if (!actions.ok()) return ErrorResponse(actions.status());
  if (!paged) {
    Json list = Json::MakeArray();
    for (const InstanceAction& a : *actions) list.Append(InstanceActionView(a));
    return JsonResponse(200, Json::MakeObject({{"instanceActions", std::move(list)}}));
  }
  std::vector<const InstanceAction*> shown;
  for (const InstanceAction& a : *actions) {
    if (window.Contains(a.updated_at)) shown.push_back(&a);
  }
  auto request_of = [](const InstanceAction& a) { return a.request_id.str(); };
  if (auto refused = RefuseUnknownMarker(call.query, shown, request_of)) return *refused;
  // Nova names the page's links "links" here, not "instanceActions_links".
  return PagedList(
      "instanceActions", "servers/" + call.params[0] + "/os-instance-actions", call.links,
      call.query, shown, limit,
      [](const InstanceAction& a) { return a.request_id.str(); },
      [&](const InstanceAction& a) { return InstanceActionView(a, call.version); },
      "links");
}

HttpResponse InstanceActionsResource::ShowInstanceAction(const ComputeCall& call) const {
  Result<InstanceAction> action = options_.service->GetInstanceAction(
      call.ctx, InstanceId(call.params[0]), RequestId(call.params[1]),
      call.version >= kDeletedActionsVersion);
  if (!action.ok()) return ErrorResponse(action.status());
  InstanceActionViewOptions view_options;
  // The events policy (admins) shows every event detail; from 2.51 everyone
  // who sees the action sees its events, without their tracebacks.
  view_options.show_traceback =
      Authorize(call.ctx, "os_compute_api:os-instance-actions:events",
                {action->project_id, UserId()})
          .ok();
  view_options.show_events =
      view_options.show_traceback || call.version >= ApiVersion{2, 51};
  view_options.show_host_id = call.version >= ApiVersion{2, 62};
  view_options.show_host = view_options.show_traceback && view_options.show_host_id;
  view_options.version = call.version;
  return JsonResponse(
      200, Json::MakeObject(
               {{"instanceAction", InstanceActionDetailView(*action, view_options)}}));
}

}  // namespace

void AddInstanceActionRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const InstanceActionsResource>(options);
  routes->Add("GET", "servers/*/os-instance-actions",
              Bind(r, &InstanceActionsResource::ListInstanceActions));
  routes->Add("GET", "servers/*/os-instance-actions/*",
              Bind(r, &InstanceActionsResource::ShowInstanceAction));
}

}  // namespace chronova
