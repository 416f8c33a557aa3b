// /extensions (nova/api/openstack/compute/extension_info.py): the v2 API's
// extension list, kept by v2.1 for old clients. Nova lists every extension its
// v2.1 API folded in; chronova lists the ones whose API it serves, so a client
// that looks before it calls is not misled (docs/api.md).
#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"

namespace chronova {
namespace {

struct Extension {
  const char* alias;
  const char* name;
  const char* description;
};

constexpr Extension kExtensions[] = {
    {"OS-DCF", "DiskConfig", "Disk Management Extension."},
    {"OS-EXT-AZ", "ExtendedAvailabilityZone", "Extended Availability Zone support."},
    {"OS-EXT-SRV-ATTR", "ExtendedServerAttributes",
     "Extended Server Attributes support."},
    {"OS-EXT-STS", "ExtendedStatus", "Extended Status support."},
    {"OS-FLV-DISABLED", "FlavorDisabled",
     "Support to show the disabled status of a flavor."},
    {"OS-FLV-EXT-DATA", "FlavorExtraData", "Provide additional data for flavors."},
    {"OS-SCH-HNT", "SchedulerHints", "Pass arbitrary key/value pairs to the scheduler."},
    {"OS-SRV-USG", "ServerUsage", "Adds launched_at and terminated_at on Servers."},
    {"os-access-ips", "AccessIPs", "Access IPs support."},
    {"os-admin-actions", "AdminActions", "Enable admin-only server actions."},
    {"os-aggregates", "Aggregates", "Admin-only aggregate administration."},
    {"os-availability-zone", "AvailabilityZone",
     "1. Add availability_zone to the Create "
     "Server API. 2. Add availability zones "
     "describing."},
    {"os-console-auth-tokens", "ConsoleAuthTokens",
     "Console token authentication support."},
    {"os-console-output", "ConsoleOutput", "Console log output support."},
    // Nova still lists the v2 console extension; its consoles are the remote
    // consoles chronova serves (os-getVNCConsole, remote-consoles).
    {"os-consoles", "Consoles", "Interactive Console support."},
    {"os-deferred-delete", "DeferredDelete", "Instance deferred delete."},
    {"os-extended-quotas", "ExtendedQuotas", "Adds ability for admins to delete quota."},
    {"os-extended-rescue-with-image", "ExtendedRescueWithImage",
     "Allow the user to specify the image to use for rescue."},
    {"os-extended-services", "ExtendedServices", "Extended services support."},
    {"os-extended-status", "ExtendedStatus", "Extended Status support."},
    {"os-extended-volumes", "ExtendedVolumes", "Extended Volumes support."},
    {"os-flavor-access", "FlavorAccess", "Flavor access support."},
    {"os-flavor-extra-specs", "FlavorExtraSpecs", "Flavors extra specs support."},
    {"os-flavor-manage", "FlavorManage", "Flavor create/delete API support."},
    {"os-flavor-rxtx", "FlavorRxtx", "Support to show the rxtx status of a flavor."},
    {"os-flavor-swap", "FlavorSwap", "Support to show the swap status of a flavor."},
    {"os-hosts", "Hosts", "Admin-only host administration."},
    {"os-hypervisor-status", "HypervisorStatus", "Show hypervisor status."},
    {"os-hypervisors", "Hypervisors", "Admin-only hypervisor administration."},
    {"os-instance-actions", "InstanceActions",
     "View a log of actions and events taken on "
     "an instance."},
    {"os-instance_usage_audit_log", "OSInstanceUsageAuditLog",
     "Admin-only Task Log Monitoring."},
    {"os-keypairs", "Keypairs", "Keypair Support."},
    {"os-lock-server", "LockServer", "Enable lock/unlock server actions."},
    {"os-migrations", "Migrations", "Provide data on migrations."},
    {"os-multiple-create", "MultipleCreate",
     "Allow multiple create in the Create Server "
     "v2.1 API."},
    {"os-pause-server", "PauseServer", "Enable pause/unpause server actions."},
    {"os-quota-class-sets", "QuotaClasses", "Quota classes management support."},
    {"os-quota-sets", "Quotas", "Quotas management support."},
    {"os-rescue", "Rescue", "Instance rescue mode."},
    {"os-server-diagnostics", "ServerDiagnostics",
     "Allow Admins to view server "
     "diagnostics through server id."},
    {"os-server-external-events", "ServerExternalEvents",
     "Server External Event Triggers."},
    {"os-server-group-quotas", "ServerGroupQuotas",
     "Adds quota support to server groups."},
    {"os-server-groups", "ServerGroups", "Server group support."},
    {"os-server-password", "ServerPassword", "Server password support."},
    {"os-server-sort-keys", "ServerSortKeys",
     "Add sorting support in get Server v2 API."},
    {"os-server-start-stop", "ServerStartStop",
     "Start/Stop instance compute API support."},
    {"os-services", "Services", "Services support."},
    {"os-simple-tenant-usage", "SimpleTenantUsage", "Simple tenant usage extension."},
    {"os-suspend-server", "SuspendServer", "Enable suspend/resume server actions."},
    {"os-used-limits", "UsedLimits",
     "Provide data on limited resources that are being "
     "used."},
    {"os-used-limits-for-admin", "UsedLimitsForAdmin",
     "Provide data to admin on limited "
     "resources used by other tenants."},
    {"os-user-data", "UserData", "Add user_data to the Create Server API."},
    {"os-user-quotas", "UserQuotas", "Project user quota support."},
};

Json ExtensionView(const Extension& e) {
  return Json::MakeObject(
      {{"alias", e.alias},
       {"description", e.description},
       {"links", Json::MakeArray()},
       {"name", e.name},
       {"namespace", "http://docs.openstack.org/compute/ext/fake_xml"},
       {"updated", "2014-12-03T00:00:00Z"}});
}

class Extensions final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse List(const ComputeCall& call) const {
    if (Status st = Authorize(call.ctx, "os_compute_api:extensions"); !st.ok()) {
      return ErrorResponse(st);
    }
    Json list = Json::MakeArray();
    for (const Extension& e : kExtensions) list.Append(ExtensionView(e));
    return JsonResponse(200, Json::MakeObject({{"extensions", std::move(list)}}));
  }

  HttpResponse Show(const ComputeCall& call) const {
    if (Status st = Authorize(call.ctx, "os_compute_api:extensions"); !st.ok()) {
      return ErrorResponse(st);
    }
    for (const Extension& e : kExtensions) {
      if (call.params[0] == e.alias) {
        return JsonResponse(200, Json::MakeObject({{"extension", ExtensionView(e)}}));
      }
    }
    return FaultResponse(404, "The resource could not be found.");
  }
};

}  // namespace

void AddExtensionRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const Extensions>(options);
  routes->Add("GET", "extensions", Bind(r, &Extensions::List));
  routes->Add("GET", "extensions/*", Bind(r, &Extensions::Show));
}

}  // namespace chronova
