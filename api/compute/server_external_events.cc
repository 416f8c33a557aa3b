// POST /os-server-external-events (nova/api/openstack/compute/
// server_external_events.py): other services (Neutron, Cinder) tell the
// compute service that something happened to a server. Each accepted event is
// recorded on the server's stream (instance.external_event_received); the
// answer gives each event's code: 200, 404 (no such server), 422 (no host) or
// 400 (a tag the event needs is missing), and is 207 if any failed.
#include <algorithm>
#include <vector>

#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"

namespace chronova {
namespace {

// The event names each microversion accepts.
std::vector<std::string_view> EventNames(ApiVersion v) {
  std::vector<std::string_view> names = {"network-changed", "network-vif-plugged",
                                         "network-vif-unplugged", "network-vif-deleted"};
  if (v >= ApiVersion{2, 51}) names.push_back("volume-extended");
  if (v >= ApiVersion{2, 76}) names.push_back("power-update");
  return names;
}

// Nova's TAG_REQUIRED.
bool NeedsTag(const std::string& name) {
  return name == "volume-extended" || name == "power-update";
}

// One item of "events", checked as the schema does.
MaybeError CheckEvent(const Json& item, ApiVersion version) {
  if (auto e = Error("events", item, TypeMessage(item, {"object"}))) return e;
  if (const Json* v = item.Find("server_uuid")) {
    if (auto e = Error("server_uuid", *v, TypeMessage(*v, {"string"}))) return e;
    if (!IsUuidLike(v->as_string())) {
      return Error("server_uuid", *v, v->PythonRepr() + " is not a 'uuid'");
    }
  }
  if (const Json* v = item.Find("name")) {
    if (auto e = Error("name", *v, TypeMessage(*v, {"string"}))) return e;
    const std::vector<std::string_view> names = EventNames(version);
    if (std::find(names.begin(), names.end(), v->as_string()) == names.end()) {
      std::string list;
      for (std::string_view n : names) list += (list.empty() ? "" : ", ") + Quoted(n);
      return Error("name", *v, v->PythonRepr() + " is not one of [" + list + "]");
    }
  }
  if (const Json* v = item.Find("status")) {
    if (auto e =
            Error("status", *v, EnumMessage(*v, {"failed", "completed", "in-progress"})))
      return e;
  }
  if (const Json* v = item.Find("tag")) {
    if (auto e = Error("tag", *v, TypeMessage(*v, {"string"}))) return e;
    if (auto e = Error("tag", *v, LengthMessage(*v, 0, 255))) return e;
  }
  for (const char* required : {"server_uuid", "name"}) {
    if (!item.Contains(required)) return Error("events", item, RequiredMessage(required));
  }
  return Error(
      "events", item,
      AdditionalPropertiesMessage(item, {"server_uuid", "name", "status", "tag"}));
}

Status CheckBody(const Json& body, ApiVersion version) {
  if (auto e = Error("", body, TypeMessage(body, {"object"}))) return ToStatus(*e);
  const Json* events = body.Find("events");
  if (events != nullptr) {
    if (auto e = Error("events", *events, TypeMessage(*events, {"array"})))
      return ToStatus(*e);
    if (events->size() == 0) return FieldError("events", *events, "[] is too short");
    for (const Json& item : events->items()) {
      if (auto e = CheckEvent(item, version)) return ToStatus(*e);
    }
  }
  if (events == nullptr) return FieldError("", body, RequiredMessage("events"));
  return NoOtherProperties(body, {"events"});
}

class ServerExternalEvents final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse Create(const ComputeCall& call) const {
    if (Status st =
            Authorize(call.ctx, "os_compute_api:os-server-external-events:create");
        !st.ok()) {
      return ErrorResponse(st);
    }
    Result<Json> body = ParseBody(*call.http);
    if (!body.ok()) return ErrorResponse(body.status());
    if (Status st = CheckBody(*body, call.version); !st.ok()) return ErrorResponse(st);
    int result = 200;
    Json answered = Json::MakeArray();
    size_t index = 0;
    for (Json event : body->Find("events")->items()) {
      InstanceExternalEventReceived e;
      e.name = event["name"].as_string();
      e.status = event.Contains("status") ? event["status"].as_string() : "completed";
      e.tag = event.Contains("tag") ? event["tag"].as_string() : "";
      const InstanceId id(event["server_uuid"].as_string());
      int code = 200;
      if (NeedsTag(e.name) && !event.Contains("tag")) {
        code = 400;
      } else {
        Status st = options_.service->RecordExternalEvent(call.ctx, id, e, index);
        if (st.IsNotFound()) {
          code = 404;
        } else if (st.IsConflict()) {
          code = 422;
        } else if (!st.ok()) {
          return ErrorResponse(st);
        }
      }
      ++index;
      event["status"] = code == 200 ? "completed" : "failed";
      event["code"] = code;
      if (code != 200) result = 207;
      answered.Append(std::move(event));
    }
    return JsonResponse(result, Json::MakeObject({{"events", std::move(answered)}}));
  }
};

}  // namespace

void AddServerExternalEventRoutes(ComputeRoutes* routes,
                                  const ComputeApiOptions& options) {
  auto r = std::make_shared<const ServerExternalEvents>(options);
  routes->Add("POST", "os-server-external-events",
              Bind(r, &ServerExternalEvents::Create));
}

}  // namespace chronova
