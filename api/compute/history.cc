// /chronova/history/servers[/{id}]: chronova's own admin API — the cloud's
// servers as of a point in the log, and one server's events (time travel).
#include <optional>

#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"
#include "core/event_codec.h"
#include "core/event_json.h"

namespace chronova {
namespace {

// {"seq": N, "time": "...Z"} (time null before the first event).
Json HistoryPointView(const HistoryPoint& p) {
  return Json::MakeObject(
      {{"seq", static_cast<int64_t>(p.seq.value())},
       {"time", p.seq.value() ? Json(FormatIso8601(p.time)) : Json()}});
}

// The as_of query parameter resolved; absent: the log's head (now).
Result<HistoryPoint> AsOf(const ComputeService& service, const RequestContext& ctx,
                          const std::vector<std::pair<std::string, std::string>>& query) {
  const std::string* as_of = QueryParam(query, "as_of");
  std::optional<std::string> point;
  if (as_of) point = *as_of;
  Result<HistoryPoint> p = service.ResolveHistoryPoint(ctx, point);
  if (as_of && p.status().code() == StatusCode::kInvalidArgument) {
    return Status::InvalidArgument("Invalid input for query parameters as_of. Value: " +
                                   *as_of + ". " + p.status().message());
  }
  return p;
}

class History final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse ListServersHistory(const ComputeCall& call) const;
  HttpResponse ShowServerHistory(const ComputeCall& call) const;
};

HttpResponse History::ListServersHistory(const ComputeCall& call) const {
  Result<HistoryPoint> at = AsOf(*options_.service, call.ctx, call.query);
  if (!at.ok()) return ErrorResponse(at.status());
  Result<std::vector<InstanceState>> servers =
      options_.service->ListServersAsOf(call.ctx, at->seq);
  if (!servers.ok()) return ErrorResponse(servers.status());
  ServerViewOptions view_options = BaseViewOptions(call);
  view_options.extended_attributes = true;  // admins only
  Json list = Json::MakeArray();
  for (const InstanceState& s : *servers) {
    list.Append(ServerDetailView(call.links, s, view_options));
  }
  return JsonResponse(200, Json::MakeObject({{"as_of", HistoryPointView(*at)},
                                             {"servers", std::move(list)}}));
}

HttpResponse History::ShowServerHistory(const ComputeCall& call) const {
  const InstanceId id(call.params[0]);
  if (QueryParam(call.query, "as_of") != nullptr) {
    Result<HistoryPoint> at = AsOf(*options_.service, call.ctx, call.query);
    if (!at.ok()) return ErrorResponse(at.status());
    Result<InstanceState> s = options_.service->GetServerAsOf(call.ctx, id, at->seq);
    if (!s.ok()) return ErrorResponse(s.status());
    ServerViewOptions view_options = BaseViewOptions(call);
    view_options.extended_attributes = true;  // admins only
    return JsonResponse(
        200,
        Json::MakeObject({{"as_of", HistoryPointView(*at)},
                          {"server", ServerDetailView(call.links, *s, view_options)}}));
  }
  Result<std::vector<Envelope>> events = options_.service->ServerHistory(call.ctx, id);
  if (!events.ok()) return ErrorResponse(events.status());
  Json list = Json::MakeArray();
  for (const Envelope& env : *events) {
    Result<Event> event = DecodeEvent(env);
    Result<Json> one = Json::Parse(EnvelopeJson(env, event.ok() ? &*event : nullptr));
    if (!one.ok()) return ErrorResponse(Status::Internal(one.status().ToString()));
    list.Append(std::move(one).value());
  }
  return JsonResponse(
      200, Json::MakeObject({{"server_id", id.str()}, {"events", std::move(list)}}));
}

}  // namespace

void AddHistoryRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const History>(options);
  routes->Add("GET", "chronova/history/servers", Bind(r, &History::ListServersHistory));
  routes->Add("GET", "chronova/history/servers/*", Bind(r, &History::ShowServerHistory));
}

}  // namespace chronova
