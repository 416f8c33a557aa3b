// /servers/{id}/migrations (nova/api/openstack/compute/server_migrations.py):
// a server's in-progress live migrations (2.23), forcing one to complete
// (2.22) and aborting one (2.24). chronova does not live-migrate, so a server
// never has one: the list is empty, a migration is not found, and forcing or
// aborting meets Nova's state check (the server is not migrating).
#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"

namespace chronova {
namespace {

constexpr ApiVersion kForceCompleteVersion{2, 22};
constexpr ApiVersion kListVersion{2, 23};
constexpr ApiVersion kAbortVersion{2, 24};

class ServerMigrations final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse List(const ComputeCall& call) const;
  HttpResponse Show(const ComputeCall& call) const;
  HttpResponse Act(const ComputeCall& call) const;
  HttpResponse Abort(const ComputeCall& call) const;

 private:
  // The server, checked as Nova's common.get_instance, then the policy.
  Result<InstanceState> Server(const ComputeCall& call, const char* rule) const {
    return options_.service->GetServer(call.ctx, InstanceId(call.params[0]), rule);
  }
  // Nova's check_instance_state for a live migration in progress, as a 409.
  HttpResponse NotMigrating(const InstanceState& s, const std::string& method,
                            bool check_vm_state) const {
    const bool vm_ok = !check_vm_state || s.vm_state == VmState::kActive;
    const std::string where =
        vm_ok ? "task_state " + (s.task_state == TaskState::kNone
                                     ? std::string("None")
                                     : std::string(TaskStateName(s.task_state)))
              : "vm_state " + std::string(VmStateName(s.vm_state));
    return FaultResponse(409, "Cannot '" + method + "' instance " + s.id.str() +
                                  " while it is in " + where);
  }
};

HttpResponse ServerMigrations::List(const ComputeCall& call) const {
  if (call.version < kListVersion) return NoMethodForVersion();
  Result<InstanceState> s = Server(call, "os_compute_api:servers:migrations:index");
  if (!s.ok()) return ErrorResponse(s.status());
  return JsonResponse(200, Json::MakeObject({{"migrations", Json::MakeArray()}}));
}

HttpResponse ServerMigrations::Show(const ComputeCall& call) const {
  if (call.version < kListVersion) return NoMethodForVersion();
  Result<InstanceState> s = Server(call, "os_compute_api:servers:migrations:show");
  if (!s.ok()) return ErrorResponse(s.status());
  return FaultResponse(404, "In-progress live migration " + call.params[1] +
                                " is not found for server " + call.params[0] + ".");
}

HttpResponse ServerMigrations::Act(const ComputeCall& call) const {
  if (call.version < kForceCompleteVersion) return NoMethodForVersion();
  Result<InstanceState> s =
      Server(call, "os_compute_api:servers:migrations:force_complete");
  if (!s.ok()) return ErrorResponse(s.status());
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  const Json* force = body->is_object() ? body->Find("force_complete") : nullptr;
  if (force == nullptr) {
    return ErrorResponse(
        FieldError("", *body, "'force_complete' is a required property"));
  }
  if (!force->is_null()) {
    return ErrorResponse(FieldError("force_complete", *force,
                                    force->PythonRepr() + " is not of type 'null'"));
  }
  if (Status extra = NoOtherProperties(*body, {"force_complete"}); !extra.ok()) {
    return ErrorResponse(extra);
  }
  if (s->locked && !call.ctx.IsAdmin()) {
    return FaultResponse(409, "Instance " + s->id.str() + " is locked");
  }
  return NotMigrating(*s, "force_complete", /*check_vm_state=*/true);
}

HttpResponse ServerMigrations::Abort(const ComputeCall& call) const {
  if (call.version < kAbortVersion) return NoMethodForVersion();
  Result<InstanceState> s = Server(call, "os_compute_api:servers:migrations:delete");
  if (!s.ok()) return ErrorResponse(s.status());
  return NotMigrating(*s, "abort live migration", /*check_vm_state=*/false);
}

}  // namespace

void AddServerMigrationRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const ServerMigrations>(options);
  routes->Add("GET", "servers/*/migrations", Bind(r, &ServerMigrations::List));
  routes->Add("GET", "servers/*/migrations/*", Bind(r, &ServerMigrations::Show));
  routes->Add("DELETE", "servers/*/migrations/*", Bind(r, &ServerMigrations::Abort));
  routes->Add("POST", "servers/*/migrations/*/action", Bind(r, &ServerMigrations::Act));
}

}  // namespace chronova
