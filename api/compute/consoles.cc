// POST /servers/{id}/remote-consoles (2.6+) and GET
// /os-console-auth-tokens/{token} (nova/api/openstack/compute/
// {remote_consoles,console_auth_tokens}.py); the 2.1 console actions are in
// server_actions.cc. docs/api.md, "Consoles".
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"

namespace chronova {

HttpResponse ConsoleResponse(const Result<ConsoleUrl>& console, const char* root,
                             bool with_protocol) {
  if (!console.ok()) return ErrorResponse(console.status());
  Json body = Json::MakeObject();
  if (with_protocol) body["protocol"] = (Json(console->protocol));
  body["type"] = (Json(console->type));
  body["url"] = (Json(console->url));
  return JsonResponse(200, Json::MakeObject({{root, std::move(body)}}));
}

namespace {

class Consoles final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse CreateRemoteConsole(const ComputeCall& call) const;
  HttpResponse ShowConsoleToken(const ComputeCall& call) const;
};

HttpResponse Consoles::CreateRemoteConsole(const ComputeCall& call) const {
  if (call.version < ApiVersion{2, 6}) return NoMethodForVersion();
  // create_v26 / create_v28: {"remote_console": {"protocol", "type"}}.
  Result<Json> body = Json::Parse(call.http->body);
  if (!body.ok()) return FaultResponse(400, "Malformed request body");
  Result<const Json*> rc = RootObject(*body, "remote_console");
  if (!rc.ok()) return ErrorResponse(rc.status());
  const Json& args = **rc;
  const bool mks = call.version >= ApiVersion{2, 8};
  for (const char* key : {"protocol", "type"}) {
    if (args.Find(key) == nullptr) {
      return ErrorResponse(FieldError("remote_console", args, RequiredMessage(key)));
    }
  }
  if (Status s = NoOtherProperties(args, {"protocol", "type"}); !s.ok())
    return ErrorResponse(s);
  const Json& protocol = *args.Find("protocol");
  const Json& type = *args.Find("type");
  std::string why = mks ? EnumMessage(protocol, {"vnc", "spice", "rdp", "serial", "mks"})
                        : EnumMessage(protocol, {"vnc", "spice", "rdp", "serial"});
  if (!why.empty()) return ErrorResponse(FieldError("protocol", protocol, why));
  why =
      mks ? EnumMessage(
                type, {"novnc", "xvpvnc", "rdp-html5", "spice-html5", "serial", "webmks"})
          : EnumMessage(type, {"novnc", "xvpvnc", "rdp-html5", "spice-html5", "serial"});
  if (!why.empty()) return ErrorResponse(FieldError("type", type, why));
  return ConsoleResponse(
      options_.service->GetConsole(call.ctx, InstanceId(call.params[0]),
                                   protocol.as_string(), type.as_string()),
      "remote_console", true);
}

HttpResponse Consoles::ShowConsoleToken(const ComputeCall& call) const {
  Result<ConsoleTokenRecord> r =
      options_.service->ShowConsoleToken(call.ctx, call.params[0]);
  if (!r.ok()) return ErrorResponse(r.status());
  // Before 2.31 only RDP tokens could be looked up (Nova's 401).
  if (call.version < ApiVersion{2, 31} && r->console_type != "rdp-html5") {
    return FaultResponse(401, "The requested console type details are not accessible");
  }
  Json console = Json::MakeObject();
  console["instance_uuid"] = (Json(r->instance_id.str()));
  console["host"] = (Json(r->console_host));
  console["port"] = (Json(static_cast<int64_t>(r->port)));
  console["internal_access_path"] =
      (r->internal_access_path.empty() ? Json() : Json(r->internal_access_path));
  return JsonResponse(200, Json::MakeObject({{"console", std::move(console)}}));
}

}  // namespace

void AddConsoleRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const Consoles>(options);
  routes->Add("POST", "servers/*/remote-consoles",
              Bind(r, &Consoles::CreateRemoteConsole));
  routes->Add("GET", "os-console-auth-tokens/*", Bind(r, &Consoles::ShowConsoleToken));
}

}  // namespace chronova
