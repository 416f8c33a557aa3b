// ComputeService's consoles (docs/api.md, "Consoles"): a token for a guest's
// console, recorded as instance.console_authorized (only its hash), and the
// console proxy's URL that carries it; and the admin's view of a token. As
// nova/compute/{api,manager}.py get_*_console and console_auth_tokens.py.
#include "api/auth/policy.h"
#include "api/service/compute_service.h"

namespace chronova {
namespace {

// A console type's protocol, the compute host's name of its console, and
// whether config turned it on.
struct ConsoleKind {
  const char* protocol;
  const char* host_kind;  // asked of the compute host; nullptr: none in chronova
};

const ConsoleKind* KindOf(const std::string& type) {
  static const std::map<std::string, ConsoleKind> kKinds = {
      {"novnc", {"vnc", "vnc"}},           {"xvpvnc", {"vnc", nullptr}},
      {"spice-html5", {"spice", "spice"}}, {"serial", {"serial", "serial"}},
      {"rdp-html5", {"rdp", nullptr}},     {"webmks", {"mks", nullptr}}};
  auto it = kKinds.find(type);
  return it == kKinds.end() ? nullptr : &it->second;
}

// Nova's ConsoleAuthToken.access_url.
std::string AccessUrl(const std::string& base, const std::string& type,
                      const std::string& token) {
  const char sep = base.find('?') == std::string::npos ? '?' : '&';
  if (type == "novnc") return base + sep + "path=%3Ftoken%3D" + token;
  return base + sep + "token=" + token;
}

}  // namespace

Result<ConsoleUrl> ComputeService::GetConsole(const RequestContext& ctx,
                                              const InstanceId& id,
                                              const std::string& protocol,
                                              const std::string& type) {
  CHRONOVA_ASSIGN_OR_RETURN(InstanceState s,
                            GetServer(ctx, id, "os_compute_api:os-remote-consoles"));
  const ConsoleOptions& o = options_.consoles;
  const ConsoleKind* kind = KindOf(type);
  // nova/compute/manager.py: a console that is off is "unavailable" before its
  // type is looked at; a type of another protocol (or xvpvnc, which libvirt
  // clouds no longer serve) is "invalid".
  const bool enabled = (protocol == "vnc" && o.vnc_enabled) ||
                       (protocol == "spice" && o.spice_enabled) ||
                       (protocol == "serial" && o.serial_enabled);
  if (!enabled) {
    return Status::InvalidArgument("Unavailable console type " + type + ".");
  }
  if (kind == nullptr || kind->protocol != protocol || kind->host_kind == nullptr) {
    return Status::InvalidArgument("Invalid console type " + type);
  }
  // check_instance_host and reject_instance_state, before the host is asked.
  if (s.host.empty()) return Status::Conflict("Instance " + id.str() + " is not ready");
  const std::string method = "get_" + protocol + "_console";
  if (s.task_state == TaskState::kDeleting || s.task_state == TaskState::kMigrating) {
    return Status::Conflict("Cannot '" + method + "' instance " + id.str() +
                            " while it is in task_state " +
                            std::string(TaskStateName(s.task_state)));
  }
  if (!options_.console_address) {
    return Status::Unavailable("No compute host can be asked for a console.");
  }
  Result<ConsoleAddress> address = options_.console_address(s.host, id, kind->host_kind);
  if (!address.ok()) {
    // A guest not defined yet is a build in progress (Nova's InstanceNotReady).
    if (address.status().IsNotFound())
      return Status::Conflict("Instance " + id.str() + " is not ready");
    return address.status();
  }
  const std::string token = options_.env->NewUuid();
  InstanceConsoleAuthorized authorized;
  authorized.token_hash = HashConsoleToken(token);
  authorized.console_type = type;
  authorized.compute_host = s.host;
  authorized.console_host = address->host;
  authorized.port = address->port;
  authorized.internal_access_path = address->internal_access_path;
  authorized.expires_at =
      Timestamp{options_.env->Now().micros + o.token_ttl_s * int64_t{1000000}};
  CHRONOVA_RETURN_IF_ERROR(AppendConsoleToken(ctx, id, authorized, method));
  const std::string& base = protocol == "vnc"     ? o.novncproxy_base_url
                            : protocol == "spice" ? o.html5proxy_base_url
                                                  : o.serial_base_url;
  return ConsoleUrl{protocol, type, AccessUrl(base, type, token)};
}

Result<ConsoleTokenRecord> ComputeService::ShowConsoleToken(
    const RequestContext& ctx, const std::string& token) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-console-auth-tokens"));
  if (token.empty()) return Status::InvalidArgument("token not provided");
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ConsoleTokensProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(
      std::optional<ConsoleTokenRecord> r,
      ConsoleTokensView(reader.get()).Find(HashConsoleToken(token), options_.env->Now()));
  if (!r) return Status::NotFound("Token not found");
  return std::move(*r);
}

}  // namespace chronova
