// POST /servers/{id}/action: the body's one key names the action (Nova's
// action_peek), and one table maps each key to its handler, which checks the
// action's schema (Nova's words, from api/compute/schema.h) and calls the
// command layer, which authorizes it. Shapes and statuses are Nova's at
// microversion 2.1 (nova/api/openstack/compute/{servers,admin_actions,
// console_output,lock_server,pause_server,rescue,suspend_server,
// deferred_delete}.py).
#include <algorithm>
#include <map>
#include <optional>
#include <regex>
#include <string>

#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"

namespace chronova {
namespace {

class ServerActions final : public ComputeResource {
 public:
  explicit ServerActions(const ComputeApiOptions& options);

  HttpResponse Act(const ComputeCall& call) const;

 private:
  // One action of server `id`: `body` is the whole body {"<key>": args}.
  using Action = std::function<HttpResponse(const ServerActions&, const ComputeCall& call,
                                            const InstanceId& id, const Json& body,
                                            const Json& args)>;

  HttpResponse RebuildServer(const ComputeCall& call, const InstanceId& id,
                             const Json& body, const Json& args) const;
  // 200 with {"adminPass": ...} (or {} when enable_instance_password is off),
  // as Nova.
  HttpResponse RescueServer(const ComputeCall& call, const InstanceId& id,
                            const Json& body, const Json& args) const;
  // 202 with the new image's URL in Location (before 2.45) or its id in the body.
  HttpResponse CreateServerImage(const ComputeCall& call, const InstanceId& id,
                                 const Json& body, const Json& args) const;
  // createBackup (create_backup.py): as createImage, with a type and a rotation.
  HttpResponse CreateServerBackup(const ComputeCall& call, const InstanceId& id,
                                  const Json& body, const Json& args) const;
  HttpResponse ConsoleOutput(const ComputeCall& call, const InstanceId& id,
                             const Json& body, const Json& args) const;
  HttpResponse ResetState(const ComputeCall& call, const InstanceId& id, const Json& body,
                          const Json& args) const;
  HttpResponse Resize(const ComputeCall& call, const InstanceId& id, const Json& body,
                      const Json& args) const;
  HttpResponse Reboot(const ComputeCall& call, const InstanceId& id, const Json& body,
                      const Json& args) const;
  HttpResponse CrashDump(const ComputeCall& call, const InstanceId& id, const Json& body,
                         const Json& args) const;
  // Cold migrate: {"migrate": null}, or from 2.56 {"migrate": {"host": ...}}
  // (schemas/migrate_server.py).
  HttpResponse Migrate(const ComputeCall& call, const InstanceId& id, const Json& body,
                       const Json& args) const;
  // schemas/admin_password.py: {"changePassword": {"adminPass": "..."}}.
  HttpResponse ChangePassword(const ComputeCall& call, const InstanceId& id,
                              const Json& body, const Json& args) const;
  // From 2.73 the body may give a locked_reason (schemas/lock_server.py).
  HttpResponse Lock(const ComputeCall& call, const InstanceId& id, const Json& body,
                    const Json& args) const;
  // Before 2.77 the body is not checked; from 2.77 it is null or
  // {"availability_zone": "..."} (schemas/shelve.py unshelve_v277).
  HttpResponse Unshelve(const ComputeCall& call, const InstanceId& id, const Json& body,
                        const Json& args) const;
  // os-getVNCConsole & co. (2.1-2.5): {"<key>": {"type": one of `types`}}.
  static Action GetConsole(std::string key, std::string protocol,
                           std::vector<std::string> types);

  std::map<std::string, Action> actions_;
};

// The answer to an action that has no body of its own: `status`, or the error.
HttpResponse Done(const Status& st, int status = 202) {
  if (!st.ok()) return ErrorResponse(st);
  return EmptyResponse(status);
}

ServerActions::ServerActions(const ComputeApiOptions& options)
    : ComputeResource(options) {
  auto simple =
      [](Status (ComputeService::*command)(const RequestContext&, const InstanceId&),
         int status) -> Action {
    return [command, status](const ServerActions& self, const ComputeCall& call,
                             const InstanceId& id, const Json&, const Json&) {
      return Done((self.options_.service->*command)(call.ctx, id), status);
    };
  };
  auto lifecycle = [](LifecycleAction action) -> Action {
    return [action](const ServerActions& self, const ComputeCall& call,
                    const InstanceId& id, const Json&, const Json&) {
      return Done(self.options_.service->ServerAction(call.ctx, id, action, false));
    };
  };
  actions_ = {
      {"rebuild", &ServerActions::RebuildServer},
      {"rescue", &ServerActions::RescueServer},
      {"createImage", &ServerActions::CreateServerImage},
      {"createBackup", &ServerActions::CreateServerBackup},
      {"os-getConsoleOutput", &ServerActions::ConsoleOutput},
      {"os-resetState", &ServerActions::ResetState},
      {"resize", &ServerActions::Resize},
      {"reboot", &ServerActions::Reboot},
      {"confirmResize", simple(&ComputeService::ConfirmResize, 204)},
      {"revertResize", simple(&ComputeService::RevertResize, 202)},
      {"lock", &ServerActions::Lock},
      {"migrate", &ServerActions::Migrate},
      {"changePassword", &ServerActions::ChangePassword},
      {"unlock", simple(&ComputeService::UnlockServer, 202)},
      {"forceDelete", simple(&ComputeService::ForceDeleteServer, 202)},
      {"restore", simple(&ComputeService::RestoreServer, 202)},
      // nova/api/openstack/compute/shelve.py
      {"shelve", simple(&ComputeService::ShelveServer, 202)},
      {"shelveOffload", simple(&ComputeService::ShelveOffloadServer, 202)},
      {"unshelve", &ServerActions::Unshelve},
      {"os-stop", lifecycle(LifecycleAction::kStop)},
      {"os-start", lifecycle(LifecycleAction::kStart)},
      {"pause", lifecycle(LifecycleAction::kPause)},
      {"unpause", lifecycle(LifecycleAction::kUnpause)},
      {"suspend", lifecycle(LifecycleAction::kSuspend)},
      {"resume", lifecycle(LifecycleAction::kResume)},
      {"unrescue", lifecycle(LifecycleAction::kUnrescue)},
      {"trigger_crash_dump", &ServerActions::CrashDump},
      // nova/api/openstack/compute/remote_consoles.py
      {"os-getVNCConsole", GetConsole("os-getVNCConsole", "vnc", {"novnc", "xvpvnc"})},
      {"os-getSPICEConsole", GetConsole("os-getSPICEConsole", "spice", {"spice-html5"})},
      {"os-getRDPConsole", GetConsole("os-getRDPConsole", "rdp", {"rdp-html5"})},
      {"os-getSerialConsole", GetConsole("os-getSerialConsole", "serial", {"serial"})},
  };
}

HttpResponse ServerActions::Act(const ComputeCall& call) const {
  Result<Json> parsed = Json::Parse(call.http->body);
  // Nova's action_peek: the body must be an object with exactly one key.
  if (!parsed.ok() || !parsed->is_object() || parsed->members().size() != 1) {
    return FaultResponse(400, "Malformed request body");
  }
  const auto& [name, args] = parsed->members().front();
  // 2.44 ends the network proxy actions (chronova, with no network service,
  // never had them): from then on Nova has no method for them.
  if (call.version >= ApiVersion{2, 44} &&
      (name == "addFixedIp" || name == "removeFixedIp" || name == "addFloatingIp" ||
       name == "removeFloatingIp")) {
    return NoMethodForVersion();
  }
  auto action = actions_.find(name);
  if (action == actions_.end()) {
    return FaultResponse(400, "There is no such action: " + name);
  }
  return action->second(*this, call, InstanceId(call.params[0]), *parsed, args);
}

// trigger_crash_dump (2.17): {"trigger_crash_dump": null}, nothing else.
HttpResponse ServerActions::CrashDump(const ComputeCall& call, const InstanceId& id,
                                      const Json&, const Json& args) const {
  // Before 2.17 Nova finds no method for the action's version: 404.
  if (call.version < ApiVersion{2, 17}) return NoMethodForVersion();
  if (!args.is_null()) {
    return ErrorResponse(FieldError("trigger_crash_dump", args,
                                    args.PythonRepr() + " is not of type 'null'"));
  }
  return Done(options_.service->TriggerCrashDump(call.ctx, id));
}

ServerActions::Action ServerActions::GetConsole(std::string key, std::string protocol,
                                                std::vector<std::string> types) {
  return [key, protocol, types](const ServerActions& self, const ComputeCall& call,
                                const InstanceId& id, const Json&, const Json& args) {
    // The removed versions (2.6+) answer as an unknown action would.
    if (call.version >= ApiVersion{2, 6}) return NoMethodForVersion();
    if (!args.is_object()) {
      return ErrorResponse(FieldError(key, args, TypeMessage(args, {"object"})));
    }
    const Json* type = args.Find("type");
    if (type == nullptr)
      return ErrorResponse(FieldError(key, args, RequiredMessage("type")));
    if (Status s = NoOtherProperties(args, {"type"}); !s.ok()) return ErrorResponse(s);
    std::string why = TypeMessage(*type, {"string"});
    if (why.empty() &&
        std::find(types.begin(), types.end(), type->as_string()) == types.end()) {
      why = type->PythonRepr() + " is not one of [";
      for (size_t i = 0; i < types.size(); ++i) why += (i ? ", '" : "'") + types[i] + "'";
      why += "]";
    }
    if (!why.empty()) return ErrorResponse(FieldError("type", *type, why));
    return ConsoleResponse(
        self.options_.service->GetConsole(call.ctx, id, protocol, type->as_string()),
        "console", false);
  };
}

HttpResponse ServerActions::ResetState(const ComputeCall& call, const InstanceId& id,
                                       const Json&, const Json& args) const {
  // Nova's schema: {"os-resetState": {"state": "active"|"error"}}, nothing else.
  const Json* state = args.is_object() ? args.Find("state") : nullptr;
  if (state == nullptr || !state->is_string() ||
      (state->as_string() != "active" && state->as_string() != "error") ||
      args.members().size() != 1) {
    const Json& bad = state ? *state : args;
    return ErrorResponse(FieldError(
        "state", bad, bad.PythonRepr() + " is not one of ['active', 'error']"));
  }
  return Done(options_.service->ResetServerState(call.ctx, id, state->as_string()));
}

HttpResponse ServerActions::Resize(const ComputeCall& call, const InstanceId& id,
                                   const Json&, const Json& args) const {
  // Nova's schema: {"resize": {"flavorRef": str|int (non-empty),
  // "OS-DCF:diskConfig": "AUTO"|"MANUAL"}}, nothing else.
  if (!args.is_object()) {
    return ErrorResponse(FieldError("resize", args, TypeMessage(args, {"object"})));
  }
  const Json* ref = args.Find("flavorRef");
  if (ref == nullptr) {
    return ErrorResponse(FieldError("resize", args, RequiredMessage("flavorRef")));
  }
  if (Status s = NoOtherProperties(args, {"flavorRef", "OS-DCF:diskConfig"}); !s.ok()) {
    return ErrorResponse(s);
  }
  std::string flavor_ref;
  if (ref->is_string()) {
    flavor_ref = ref->as_string();
  } else if (ref->is_number()) {
    flavor_ref = ref->PythonStr();
  }
  if (flavor_ref.empty()) {
    return ErrorResponse(
        FieldError("flavorRef", *ref,
                   ref->PythonRepr() + " is not valid under any of the given schemas"));
  }
  std::optional<bool> auto_disk_config;
  if (const Json* v = args.Find("OS-DCF:diskConfig")) {
    if (auto e = CheckDiskConfig(*v, &auto_disk_config))
      return ErrorResponse(ToStatus(*e));
  }
  return Done(options_.service->ResizeServer(call.ctx, id, flavor_ref, auto_disk_config));
}

HttpResponse ServerActions::Reboot(const ComputeCall& call, const InstanceId& id,
                                   const Json&, const Json& args) const {
  // Nova's schema: {"reboot": {"type": "HARD"|"SOFT" (any case Nova lists)}}.
  if (!args.is_object()) {
    return ErrorResponse(FieldError("reboot", args, TypeMessage(args, {"object"})));
  }
  const Json* type = args.Find("type");
  if (type == nullptr) {
    return ErrorResponse(FieldError("reboot", args, RequiredMessage("type")));
  }
  std::string unknown =
      EnumMessage(*type, {"HARD", "Hard", "hard", "SOFT", "Soft", "soft"});
  if (!unknown.empty()) return ErrorResponse(FieldError("type", *type, unknown));
  const bool hard = type->as_string()[0] == 'H' || type->as_string()[0] == 'h';
  return Done(
      options_.service->ServerAction(call.ctx, id, LifecycleAction::kReboot, hard));
}

HttpResponse ServerActions::ConsoleOutput(const ComputeCall& call, const InstanceId& id,
                                          const Json&, const Json& args) const {
  // Nova's schema: {"os-getConsoleOutput": {"length": int | "-?[0-9]+" | null}},
  // length >= -1, nothing else; -1 and null mean the whole log.
  if (!args.is_object()) {
    return ErrorResponse(
        FieldError("os-getConsoleOutput", args, TypeMessage(args, {"object"})));
  }
  if (Status s = NoOtherProperties(args, {"length"}); !s.ok()) return ErrorResponse(s);
  int length = -1;
  if (const Json* l = args.Find("length"); l != nullptr && !l->is_null()) {
    std::optional<long long> n;
    if (l->is_int()) {
      n = l->as_int();
    } else if (l->is_string()) {
      static const std::regex kInteger("^-?[0-9]{1,9}$");
      if (std::regex_match(l->as_string(), kInteger)) n = std::stoll(l->as_string());
    }
    if (!n || *n < -1) {
      return ErrorResponse(FieldError(
          "length", *l,
          l->PythonRepr() + (n ? " is less than the minimum of -1"
                               : " is not valid under any of the given schemas")));
    }
    length = static_cast<int>(std::min<long long>(*n, 1 << 30));
  }
  Result<std::string> out = options_.service->ConsoleOutput(call.ctx, id, length);
  if (!out.ok()) return ErrorResponse(out.status());
  return JsonResponse(200, Json::MakeObject({{"output", Json(std::move(*out))}}));
}

HttpResponse ServerActions::RebuildServer(const ComputeCall& call, const InstanceId& id,
                                          const Json& body, const Json&) const {
  Result<ParsedRebuild> parsed = ParseRebuildBody(body, call.version);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  Result<InstanceState> s = options_.service->RebuildServer(
      call.ctx, id, parsed->image_ref, parsed->name, parsed->metadata,
      parsed->description, parsed->auto_disk_config, parsed->changes);
  if (!s.ok()) return ErrorResponse(s.status());
  Result<ServerViewOptions> view_options =
      ChangedServerViewOptions(call, options_, s->id);
  if (!view_options.ok()) return ErrorResponse(view_options.status());
  Json server = ServerDetailView(call.links, *s, *view_options);
  // Nova's rebuild answer adds the key pair's name from 2.54 and the user
  // data from 2.57 to the attributes it shows.
  if (call.version >= ApiVersion{2, 54}) server["key_name"] = NullIfEmpty(s->key_name);
  if (call.version >= ApiVersion{2, 57}) {
    // ... in place of the extended attribute (Nova's show_user_data=False).
    std::erase_if(server.mutable_members(),
                  [](const auto& m) { return m.first == "OS-EXT-SRV-ATTR:user_data"; });
    server["user_data"] = NullIfEmpty(s->user_data);
  }
  if (options_.enable_instance_password) {
    server["adminPass"] =
        parsed->admin_pass.empty() ? NewAdminPassword() : parsed->admin_pass;
  }
  return JsonResponse(202, Json::MakeObject({{"server", std::move(server)}}));
}

HttpResponse ServerActions::ChangePassword(const ComputeCall& call, const InstanceId& id,
                                           const Json& body, const Json& args) const {
  std::string error = AdditionalPropertiesMessage(body, {"changePassword"});
  if (error.empty()) error = TypeMessage(args, {"object"});
  if (error.empty() && !args.Contains("adminPass")) error = RequiredMessage("adminPass");
  if (error.empty()) error = AdditionalPropertiesMessage(args, {"adminPass"});
  if (!error.empty()) return ErrorResponse(FieldError("changePassword", args, error));
  const Json& pass = *args.Find("adminPass");
  if (std::string why = TypeMessage(pass, {"string"}); !why.empty()) {
    return ErrorResponse(FieldError("adminPass", pass, why));
  }
  return Done(options_.service->ChangeAdminPassword(call.ctx, id));
}

HttpResponse ServerActions::Migrate(const ComputeCall& call, const InstanceId& id,
                                    const Json& body, const Json& args) const {
  std::string host;
  if (call.version >= ApiVersion{2, 56}) {
    std::string error = AdditionalPropertiesMessage(body, {"migrate"});
    if (error.empty()) error = TypeMessage(args, {"object", "null"});
    if (error.empty() && args.is_object()) {
      error = AdditionalPropertiesMessage(args, {"host"});
      // parameter_types.fqdn or null (null: the scheduler chooses).
      if (const Json* h = args.Find("host");
          h != nullptr && !h->is_null() && error.empty()) {
        if (auto e = CheckFqdn("host", *h)) return ErrorResponse(ToStatus(*e));
        host = h->as_string();
      }
    }
    if (!error.empty()) return ErrorResponse(FieldError("migrate", args, error));
  }
  return Done(options_.service->MigrateServer(call.ctx, id, host));
}

HttpResponse ServerActions::Lock(const ComputeCall& call, const InstanceId& id,
                                 const Json& body, const Json& args) const {
  std::string reason;
  if (call.version >= ApiVersion{2, 73}) {
    std::string error = AdditionalPropertiesMessage(body, {"lock"});
    if (error.empty()) error = TypeMessage(args, {"object", "null"});
    if (error.empty() && args.is_object()) {
      error = AdditionalPropertiesMessage(args, {"locked_reason"});
      if (const Json* r = args.Find("locked_reason"); r != nullptr && error.empty()) {
        error = TypeMessage(*r, {"string"});
        if (error.empty()) error = LengthMessage(*r, 1, 255);
        if (error.empty()) reason = r->as_string();
      }
    }
    if (!error.empty()) return ErrorResponse(FieldError("lock", args, error));
  }
  return Done(options_.service->LockServer(call.ctx, id, reason));
}

HttpResponse ServerActions::Unshelve(const ComputeCall& call, const InstanceId& id,
                                     const Json& body, const Json& args) const {
  std::optional<std::string> zone;
  if (call.version >= ApiVersion{2, 77}) {
    std::string error = AdditionalPropertiesMessage(body, {"unshelve"});
    if (error.empty()) error = TypeMessage(args, {"object", "null"});
    if (error.empty() && args.is_object()) {
      error = AdditionalPropertiesMessage(args, {"availability_zone"});
      const Json* az = args.Find("availability_zone");
      if (error.empty() && az == nullptr) error = RequiredMessage("availability_zone");
      if (error.empty()) error = TypeMessage(*az, {"string"});
      if (error.empty()) error = LengthMessage(*az, 1, 255);
      if (error.empty()) zone = az->as_string();
    }
    if (!error.empty()) return ErrorResponse(FieldError("unshelve", args, error));
  }
  return Done(options_.service->UnshelveServer(call.ctx, id, zone));
}

HttpResponse ServerActions::CreateServerImage(const ComputeCall& call,
                                              const InstanceId& id, const Json& body,
                                              const Json&) const {
  Result<ParsedCreateImage> parsed = ParseCreateImageBody(body);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  Result<ImageId> image =
      options_.service->CreateServerImage(call.ctx, id, parsed->name, parsed->metadata);
  if (!image.ok()) return ErrorResponse(image.status());
  // From 2.45: 202 with {"image_id": ...} and no Location.
  if (call.version >= ApiVersion{2, 45}) {
    return JsonResponse(202, Json::MakeObject({{"image_id", image->str()}}));
  }
  // Before: 202, no body, the new image's Image API URL in Location
  // (nova/image/glance.py generate_image_url).
  HttpResponse r;
  r.status = 202;
  r.headers.Set("Location", call.links.image_url + "/v2/images/" + image->str());
  return r;
}

HttpResponse ServerActions::CreateServerBackup(const ComputeCall& call,
                                               const InstanceId& id, const Json& body,
                                               const Json& args) const {
  // schemas/create_backup.py: name, backup_type and rotation required.
  std::map<std::string, std::string> metadata;
  int rotation = 0;
  auto check = [&]() -> MaybeError {
    if (auto e = Error("createBackup", body,
                       AdditionalPropertiesMessage(body, {"createBackup"})))
      return e;
    if (auto e = Error("createBackup", args, TypeMessage(args, {"object"}))) return e;
    for (const char* required : {"name", "backup_type", "rotation"}) {
      if (!args.Contains(required)) {
        return Error("createBackup", args, RequiredMessage(required));
      }
    }
    if (auto e = CheckName("name", *args.Find("name"),
                           call.legacy_v2 ? NameRules::kLegacy : NameRules::kStrict)) {
      return e;
    }
    const Json& type = *args.Find("backup_type");
    if (auto e = Error("backup_type", type, TypeMessage(type, {"string"}))) return e;
    if (const Json* m = args.Find("metadata")) {
      if (auto e = CheckMetadata("metadata", *m, &metadata)) return e;
    }
    if (auto e = CheckNonNegativeInteger("rotation", *args.Find("rotation"), &rotation)) {
      return e;
    }
    return Error("createBackup", args,
                 AdditionalPropertiesMessage(
                     args, {"name", "backup_type", "rotation", "metadata"}));
  };
  if (auto e = check()) return ErrorResponse(ToStatus(*e));
  std::string name = args.Find("name")->as_string();
  if (call.legacy_v2) name = Strip(name);
  Result<ImageId> image = options_.service->CreateServerImage(
      call.ctx, id, name, metadata,
      BackupSpec{args.Find("backup_type")->as_string(), rotation});
  if (!image.ok()) return ErrorResponse(image.status());
  if (call.version >= ApiVersion{2, 45}) {
    return JsonResponse(202, Json::MakeObject({{"image_id", image->str()}}));
  }
  HttpResponse out;
  out.status = 202;
  // Nova: the Location of the backup's image (a Compute API URL) when rotating.
  if (rotation > 0) out.headers.Set("Location", call.links.Self("images", image->str()));
  return out;
}

HttpResponse ServerActions::RescueServer(const ComputeCall& call, const InstanceId& id,
                                         const Json& body, const Json&) const {
  Result<ParsedRescue> parsed = ParseRescueBody(body);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  Status st = options_.service->RescueServer(call.ctx, id, parsed->rescue_image_ref);
  if (!st.ok()) return ErrorResponse(st);
  Json out = Json::MakeObject();
  // The password is the guest's business (Nova hands it to the driver): it is
  // answered, never recorded.
  if (options_.enable_instance_password) {
    out["adminPass"] =
        parsed->admin_pass.empty() ? NewAdminPassword() : parsed->admin_pass;
  }
  return JsonResponse(200, std::move(out));
}

}  // namespace

void AddServerActionRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  routes->Add("POST", "servers/*/action",
              Bind(std::make_shared<const ServerActions>(options), &ServerActions::Act));
}

}  // namespace chronova
