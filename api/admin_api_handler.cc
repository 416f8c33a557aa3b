// The admin routes of the Compute API (os-hypervisors, os-services,
// os-availability-zone, os-hosts, os-aggregates): ComputeApiHandler members
// kept apart from the servers/flavors/images routes. Shapes are Nova's at
// microversion 2.1 (nova/api/openstack/compute/{hypervisors,services,
// availability_zone,hosts,aggregates}.py).
#include <charconv>

#include "api/admin_service.h"
#include "api/api_responses.h"
#include "api/compute_api_handler.h"
#include "api/policy.h"

namespace chronova {
namespace {

constexpr char kNotSupported[] = "The requested functionality is not supported.";

HttpResponse NoAdminService() {
  return FaultResponse(404, "The resource could not be found.");
}

Json NullIfEmpty(const std::string& s) { return s.empty() ? Json() : Json(s); }

Json TimeOrNull(Timestamp t) { return t.micros == 0 ? Json() : Json(FormatUsageTime(t)); }

Json HypervisorJson(const HypervisorView& v, bool detail) {
  const HostState& h = v.host;
  Json j = Json::MakeObject({{"id", v.id},
                             {"hypervisor_hostname", h.hypervisor_hostname},
                             {"state", v.service.liveness.up ? "up" : "down"},
                             {"status", h.disabled ? "disabled" : "enabled"}});
  if (detail) {
    j["hypervisor_type"] = h.hypervisor_type;
    j["hypervisor_version"] = Json();  // filled by the caller (options)
    j["host_ip"] = Json();
    j["service"] =
        Json::MakeObject({{"id", v.service.id},
                          {"host", h.name.str()},
                          {"disabled_reason", NullIfEmpty(h.disabled_reason)}});
    int64_t free_disk = h.disk_gb - h.used.disk_gb;
    j["vcpus"] = h.vcpus;
    j["memory_mb"] = h.memory_mb;
    j["local_gb"] = h.disk_gb;
    j["vcpus_used"] = h.used.vcpus;
    j["memory_mb_used"] = h.used.memory_mb;
    j["local_gb_used"] = h.used.disk_gb;
    j["free_ram_mb"] = h.memory_mb - h.used.memory_mb;
    j["free_disk_gb"] = free_disk;
    j["current_workload"] = 0;
    j["running_vms"] = v.running_vms;
    j["disk_available_least"] = free_disk;
    // A string before 2.28, as Nova stores it.
    j["cpu_info"] = Json::MakeObject({{"arch", "x86_64"}}).Dump();
  }
  if (!v.servers.empty()) {
    Json servers = Json::MakeArray();
    for (const InstanceState& s : v.servers) {
      servers.Append(Json::MakeObject({{"name", s.name}, {"uuid", s.id.str()}}));
    }
    j["servers"] = std::move(servers);
  }
  return j;
}

Json ServiceJson(const ServiceView& s) {
  return Json::MakeObject({{"binary", s.binary},
                           {"host", s.host.str()},
                           {"id", s.id},
                           {"zone", s.zone},
                           {"status", s.disabled ? "disabled" : "enabled"},
                           {"state", s.liveness.up ? "up" : "down"},
                           {"updated_at", TimeOrNull(s.liveness.last_seen)},
                           {"disabled_reason", NullIfEmpty(s.disabled_reason)}});
}

Json AggregateJson(const AggregateState& a, bool with_hosts_and_metadata) {
  std::optional<std::string> az = a.availability_zone();
  Json j = Json::MakeObject(
      {{"id", a.id}, {"name", a.name}, {"availability_zone", az ? Json(*az) : Json()}});
  if (with_hosts_and_metadata) {
    Json hosts = Json::MakeArray();
    for (const HostName& h : a.hosts) hosts.Append(h.str());
    j["hosts"] = std::move(hosts);
    Json metadata = Json::MakeObject();
    for (const auto& [k, v] : a.metadata) metadata[k] = v;
    j["metadata"] = std::move(metadata);
  }
  j["created_at"] = FormatUsageTime(a.created_at);
  j["updated_at"] = TimeOrNull(a.updated_at);
  j["deleted_at"] = Json();
  j["deleted"] = false;
  return j;
}

// jsonschema's wording for one string property of a request body object
// `parent` ("" at the root). Empty if fine.
std::string CheckString(const Json& obj, const std::string& parent,
                        const std::string& name, size_t min_len, size_t max_len) {
  const Json* v = obj.Find(name);
  if (v == nullptr) return "";
  std::string field = parent.empty() ? name : parent + "/" + name;
  std::string prefix =
      "Invalid input for field/attribute " + field + ". Value: " + v->PythonStr() + ". ";
  if (!v->is_string()) return prefix + v->PythonRepr() + " is not of type 'string'";
  if (v->as_string().size() < min_len) {
    return prefix + v->PythonRepr() +
           (min_len == 1 ? " should be non-empty" : " is too short");
  }
  if (v->as_string().size() > max_len) return prefix + v->PythonRepr() + " is too long";
  return "";
}

// Required and allowed members of a body object; empty if fine.
std::string CheckMembers(const Json& obj, const std::string& parent,
                         std::initializer_list<const char*> required,
                         std::initializer_list<const char*> allowed) {
  std::string at = parent.empty() ? ""
                                  : "Invalid input for field/attribute " + parent +
                                        ". Value: " + obj.PythonStr() + ". ";
  if (!obj.is_object()) return at + obj.PythonRepr() + " is not of type 'object'";
  for (const char* r : required) {
    if (!obj.Contains(r)) return at + "'" + std::string(r) + "' is a required property";
  }
  std::string extras;
  size_t n = 0;
  for (const auto& [k, v] : obj.members()) {
    bool ok = false;
    for (const char* a : allowed) ok |= k == a;
    if (ok) continue;
    extras += (n++ ? ", '" : "'") + k + "'";
  }
  if (n == 0) return "";
  return at + "Additional properties are not allowed (" + extras +
         (n == 1 ? " was unexpected)" : " were unexpected)");
}

Result<Json> ParseBody(const HttpRequest& http) {
  if (http.body.empty()) return Json();
  Result<Json> parsed = Json::Parse(http.body);
  if (!parsed.ok()) return Status::InvalidArgument("Malformed request body");
  return parsed;
}

// The aggregate id of the path: Nova's validate_integer.
Result<int64_t> AggregateId(const std::string& text) {
  int64_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::InvalidArgument("Invalid input received: id must be an integer");
  }
  return id;
}

const std::string* Query(const std::vector<std::pair<std::string, std::string>>& query,
                         const std::string& name) {
  const std::string* found = nullptr;
  for (const auto& [k, v] : query) {
    if (k == name) found = &v;
  }
  return found;
}

}  // namespace

// ---- os-hypervisors ------------------------------------------------------------

HttpResponse ComputeApiHandler::RenderHypervisors(
    const Result<std::vector<HypervisorView>>& views, bool detail) const {
  if (!views.ok()) return ErrorResponse(views.status());
  Json list = Json::MakeArray();
  for (const HypervisorView& v : *views) {
    Json j = HypervisorJson(v, detail);
    if (detail) {
      j["hypervisor_version"] = options_.admin->options().hypervisor_version;
      j["host_ip"] = options_.admin->options().host_ip;
    }
    list.Append(std::move(j));
  }
  return JsonResponse(200, Json::MakeObject({{"hypervisors", std::move(list)}}));
}

HttpResponse ComputeApiHandler::ListHypervisors(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  bool detail = call.view == ListView::kDetail;
  return RenderHypervisors(options_.admin->ListHypervisors(call.ctx, detail), detail);
}

HttpResponse ComputeApiHandler::ShowHypervisor(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  Result<HypervisorView> v = options_.admin->GetHypervisor(
      call.ctx, call.params[0], "os_compute_api:os-hypervisors:show");
  if (!v.ok()) return ErrorResponse(v.status());
  Json j = HypervisorJson(*v, true);
  j["hypervisor_version"] = options_.admin->options().hypervisor_version;
  j["host_ip"] = options_.admin->options().host_ip;
  return JsonResponse(200, Json::MakeObject({{"hypervisor", std::move(j)}}));
}

HttpResponse ComputeApiHandler::HypervisorUptime(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  Result<HypervisorView> v = options_.admin->GetHypervisor(
      call.ctx, call.params[0], "os_compute_api:os-hypervisors:uptime");
  if (!v.ok()) return ErrorResponse(v.status());
  // Our drivers do not report the host's uptime: Nova's answer for a driver
  // without get_host_uptime.
  return FaultResponse(501, kNotSupported);
}

HttpResponse ComputeApiHandler::SearchHypervisors(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  return RenderHypervisors(
      options_.admin->SearchHypervisors(call.ctx, call.params[0], false), false);
}

HttpResponse ComputeApiHandler::HypervisorServers(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  return RenderHypervisors(
      options_.admin->SearchHypervisors(call.ctx, call.params[0], true), false);
}

HttpResponse ComputeApiHandler::HypervisorStatistics(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  Result<chronova::HypervisorStatistics> s = options_.admin->HypervisorStats(call.ctx);
  if (!s.ok()) return ErrorResponse(s.status());
  return JsonResponse(
      200, Json::MakeObject(
               {{"hypervisor_statistics",
                 Json::MakeObject({{"count", s->count},
                                   {"vcpus_used", s->vcpus_used},
                                   {"local_gb_used", s->local_gb_used},
                                   {"memory_mb", s->memory_mb},
                                   {"current_workload", s->current_workload},
                                   {"vcpus", s->vcpus},
                                   {"running_vms", s->running_vms},
                                   {"free_disk_gb", s->free_disk_gb},
                                   {"disk_available_least", s->disk_available_least},
                                   {"local_gb", s->local_gb},
                                   {"free_ram_mb", s->free_ram_mb},
                                   {"memory_mb_used", s->memory_mb_used}})}}));
}

// ---- os-services -----------------------------------------------------------

HttpResponse ComputeApiHandler::ListServices(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  ServiceFilter filter;
  if (const std::string* h = Query(call.query, "host")) filter.host = *h;
  if (const std::string* b = Query(call.query, "binary")) filter.binary = *b;
  Result<std::vector<ServiceView>> services =
      options_.admin->ListServices(call.ctx, filter);
  if (!services.ok()) return ErrorResponse(services.status());
  Json list = Json::MakeArray();
  for (const ServiceView& s : *services) list.Append(ServiceJson(s));
  return JsonResponse(200, Json::MakeObject({{"services", std::move(list)}}));
}

HttpResponse ComputeApiHandler::UpdateService(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  const std::string& action = call.params[0];
  // Policy first, as Nova's controller, then the action, then the body.
  if (Status st = Authorize(call.ctx, "os_compute_api:os-services:update"); !st.ok()) {
    return ErrorResponse(st);
  }
  if (action != "enable" && action != "disable" && action != "disable-log-reason") {
    return FaultResponse(404, "Unknown action");
  }
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  std::string error =
      CheckMembers(*body, "", {"host", "binary"}, {"host", "binary", "disabled_reason"});
  for (const char* name : {"host", "binary", "disabled_reason"}) {
    if (error.empty()) error = CheckString(*body, "", name, 1, 255);
  }
  if (!error.empty()) return FaultResponse(400, error);
  const std::string host = (*body)["host"].as_string();
  const std::string binary = (*body)["binary"].as_string();
  std::string reason;
  if (action == "disable-log-reason") {
    const Json* r = body->Find("disabled_reason");
    if (r == nullptr) return FaultResponse(400, "Missing disabled reason field");
    reason = r->as_string();
  }
  Status st = options_.admin->SetServiceEnabled(call.ctx, HostName(host), binary,
                                                action == "enable", reason);
  if (!st.ok()) return ErrorResponse(st);
  Json service =
      Json::MakeObject({{"host", host},
                        {"binary", binary},
                        {"status", action == "enable" ? "enabled" : "disabled"}});
  if (!reason.empty()) service["disabled_reason"] = reason;
  return JsonResponse(200, Json::MakeObject({{"service", std::move(service)}}));
}

// ---- os-availability-zone ------------------------------------------------

HttpResponse ComputeApiHandler::ListAvailabilityZones(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  bool detail = call.view == ListView::kDetail;
  Result<std::vector<AvailabilityZoneView>> zones =
      options_.admin->ListAvailabilityZones(call.ctx, detail);
  if (!zones.ok()) return ErrorResponse(zones.status());
  Json list = Json::MakeArray();
  for (const AvailabilityZoneView& z : *zones) {
    Json hosts;  // null unless detail and available
    if (detail && z.available) {
      hosts = Json::MakeObject();
      for (const auto& [host, services] : z.hosts) {
        Json by_binary = Json::MakeObject();
        for (const ServiceView& s : services) {
          by_binary[s.binary] =
              Json::MakeObject({{"available", s.liveness.up},
                                {"active", !s.disabled},
                                {"updated_at", TimeOrNull(s.liveness.last_seen)}});
        }
        hosts[host] = std::move(by_binary);
      }
    }
    list.Append(
        Json::MakeObject({{"zoneName", z.name},
                          {"zoneState", Json::MakeObject({{"available", z.available}})},
                          {"hosts", std::move(hosts)}}));
  }
  return JsonResponse(200, Json::MakeObject({{"availabilityZoneInfo", std::move(list)}}));
}

// ---- os-hosts --------------------------------------------------------------

HttpResponse ComputeApiHandler::ListHosts(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  std::optional<std::string> zone;
  if (const std::string* z = Query(call.query, "zone")) zone = *z;
  Result<std::vector<ServiceView>> hosts = options_.admin->ListHosts(call.ctx, zone);
  if (!hosts.ok()) return ErrorResponse(hosts.status());
  Json list = Json::MakeArray();
  for (const ServiceView& s : *hosts) {
    list.Append(Json::MakeObject(
        {{"host_name", s.host.str()}, {"service", s.binary}, {"zone", s.zone}}));
  }
  return JsonResponse(200, Json::MakeObject({{"hosts", std::move(list)}}));
}

HttpResponse ComputeApiHandler::ShowHost(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  const std::string& host = call.params[0];
  Result<std::vector<HostResourceRow>> rows =
      options_.admin->ShowHost(call.ctx, HostName(host));
  if (!rows.ok()) return ErrorResponse(rows.status());
  Json list = Json::MakeArray();
  for (const HostResourceRow& r : *rows) {
    list.Append(
        Json::MakeObject({{"resource", Json::MakeObject({{"host", host},
                                                         {"project", r.project},
                                                         {"cpu", r.cpu},
                                                         {"memory_mb", r.memory_mb},
                                                         {"disk_gb", r.disk_gb}})}}));
  }
  return JsonResponse(200, Json::MakeObject({{"host", std::move(list)}}));
}

HttpResponse ComputeApiHandler::UpdateHost(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  if (Status st = Authorize(call.ctx, "os_compute_api:os-hosts:update"); !st.ok()) {
    return ErrorResponse(st);
  }
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  std::string error = CheckMembers(*body, "", {}, {"status", "maintenance_mode"});
  for (const char* name : {"status", "maintenance_mode"}) {
    const Json* v = body->Find(name);
    if (!error.empty() || v == nullptr) continue;
    bool valid =
        v->is_string() && (v->as_string() == "enable" || v->as_string() == "disable" ||
                           v->as_string() == "Enable" || v->as_string() == "Disable" ||
                           v->as_string() == "ENABLE" || v->as_string() == "DISABLE");
    if (!valid) {
      error = "Invalid input for field/attribute " + std::string(name) +
              ". Value: " + v->PythonStr() + ". " + v->PythonRepr() +
              " is not one of ['enable', 'disable', 'Enable', 'Disable', 'ENABLE', "
              "'DISABLE']";
    }
  }
  if (!error.empty()) return FaultResponse(400, error);
  Status st = options_.admin->CheckHost(call.ctx, HostName(call.params[0]),
                                        "os_compute_api:os-hosts:update");
  if (!st.ok()) return ErrorResponse(st);
  if (!body->Contains("status") && !body->Contains("maintenance_mode")) {
    return JsonResponse(200, Json::MakeObject({{"host", call.params[0]}}));
  }
  // The libvirt driver implements neither set_host_enabled nor maintenance mode.
  return FaultResponse(501, kNotSupported);
}

HttpResponse ComputeApiHandler::HostPowerAction(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  std::string policy = "os_compute_api:os-hosts:reboot";
  const std::string& path = call.http->path;
  if (path.size() >= 9 && path.compare(path.size() - 9, 9, "/shutdown") == 0) {
    policy = "os_compute_api:os-hosts:shutdown";
  } else if (path.size() >= 8 && path.compare(path.size() - 8, 8, "/startup") == 0) {
    policy = "os_compute_api:os-hosts:start";
  }
  Status st =
      options_.admin->CheckHost(call.ctx, HostName(call.params[0]), policy.c_str());
  if (!st.ok()) return ErrorResponse(st);
  // host_power_action is not implemented by the libvirt driver.
  return FaultResponse(501, kNotSupported);
}

// ---- os-aggregates -----------------------------------------------------------

HttpResponse ComputeApiHandler::ListAggregates(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  Result<std::vector<AggregateState>> all = options_.admin->ListAggregates(call.ctx);
  if (!all.ok()) return ErrorResponse(all.status());
  Json list = Json::MakeArray();
  for (const AggregateState& a : *all) list.Append(AggregateJson(a, true));
  return JsonResponse(200, Json::MakeObject({{"aggregates", std::move(list)}}));
}

HttpResponse ComputeApiHandler::CreateAggregate(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  if (Status st = Authorize(call.ctx, "os_compute_api:os-aggregates:create"); !st.ok()) {
    return ErrorResponse(st);
  }
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  std::string error = CheckMembers(*body, "", {"aggregate"}, {"aggregate"});
  if (error.empty()) {
    const Json& agg = *body->Find("aggregate");
    error = CheckMembers(agg, "aggregate", {"name"}, {"name", "availability_zone"});
    if (error.empty()) error = CheckString(agg, "aggregate", "name", 1, 255);
    const Json* az = agg.Find("availability_zone");
    if (error.empty() && az != nullptr && !az->is_null()) {
      error = CheckString(agg, "aggregate", "availability_zone", 1, 255);
    }
  }
  if (!error.empty()) return FaultResponse(400, error);
  const Json& agg = *body->Find("aggregate");
  const Json* az = agg.Find("availability_zone");
  Result<AggregateState> created = options_.admin->CreateAggregate(
      call.ctx, agg.Find("name")->as_string(),
      az != nullptr && az->is_string() ? az->as_string() : "");
  if (!created.ok()) return ErrorResponse(created.status());
  return JsonResponse(200,
                      Json::MakeObject({{"aggregate", AggregateJson(*created, false)}}));
}

HttpResponse ComputeApiHandler::ShowAggregate(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  if (Status st = Authorize(call.ctx, "os_compute_api:os-aggregates:show"); !st.ok()) {
    return ErrorResponse(st);
  }
  Result<int64_t> id = AggregateId(call.params[0]);
  if (!id.ok()) return ErrorResponse(id.status());
  Result<AggregateState> a = options_.admin->GetAggregate(call.ctx, *id);
  if (!a.ok()) return ErrorResponse(a.status());
  return JsonResponse(200, Json::MakeObject({{"aggregate", AggregateJson(*a, true)}}));
}

HttpResponse ComputeApiHandler::UpdateAggregate(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  if (Status st = Authorize(call.ctx, "os_compute_api:os-aggregates:update"); !st.ok()) {
    return ErrorResponse(st);
  }
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  std::string error = CheckMembers(*body, "", {"aggregate"}, {"aggregate"});
  if (error.empty()) {
    const Json& agg = *body->Find("aggregate");
    error = CheckMembers(agg, "aggregate", {}, {"name", "availability_zone"});
    if (error.empty() && !agg.Contains("name") && !agg.Contains("availability_zone")) {
      error = "Invalid input for field/attribute aggregate. Value: " + agg.PythonStr() +
              ". " + agg.PythonRepr() + " is not valid under any of the given schemas";
    }
    if (error.empty()) error = CheckString(agg, "aggregate", "name", 1, 255);
    const Json* az = agg.Find("availability_zone");
    if (error.empty() && az != nullptr && !az->is_null()) {
      error = CheckString(agg, "aggregate", "availability_zone", 1, 255);
    }
  }
  if (!error.empty()) return FaultResponse(400, error);
  Result<int64_t> id = AggregateId(call.params[0]);
  if (!id.ok()) return ErrorResponse(id.status());
  const Json& agg = *body->Find("aggregate");
  chronova::UpdateAggregate update;
  if (const Json* n = agg.Find("name")) update.name = n->as_string();
  if (const Json* az = agg.Find("availability_zone")) {
    update.availability_zone = az->is_string() ? az->as_string() : "";
  }
  Result<AggregateState> a = options_.admin->UpdateAggregate(call.ctx, *id, update);
  if (!a.ok()) return ErrorResponse(a.status());
  return JsonResponse(200, Json::MakeObject({{"aggregate", AggregateJson(*a, true)}}));
}

HttpResponse ComputeApiHandler::DeleteAggregate(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  if (Status st = Authorize(call.ctx, "os_compute_api:os-aggregates:delete"); !st.ok()) {
    return ErrorResponse(st);
  }
  Result<int64_t> id = AggregateId(call.params[0]);
  if (!id.ok()) return ErrorResponse(id.status());
  Status st = options_.admin->DeleteAggregate(call.ctx, *id);
  if (!st.ok()) return ErrorResponse(st);
  HttpResponse r;
  r.status = 200;  // Nova answers 200 with an empty body
  return r;
}

HttpResponse ComputeApiHandler::AggregateAction(const Call& call) const {
  if (!options_.admin) return NoAdminService();
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  if (!body->is_object() || body->size() != 1) {
    return FaultResponse(400, "Malformed request body");
  }
  const std::string& action = body->members().front().first;
  const Json& arg = body->members().front().second;
  if (action != "add_host" && action != "remove_host" && action != "set_metadata") {
    return FaultResponse(400, "There is no such action: " + action);
  }
  if (Status st = Authorize(call.ctx, "os_compute_api:os-aggregates:" + action);
      !st.ok()) {
    return ErrorResponse(st);
  }
  std::string error;
  if (action == "set_metadata") {
    error = CheckMembers(arg, action, {"metadata"}, {"metadata"});
    const Json* md = arg.Find("metadata");
    if (error.empty() && !md->is_object()) {
      error = "Invalid input for field/attribute set_metadata/metadata. Value: " +
              md->PythonStr() + ". " + md->PythonRepr() + " is not of type 'object'";
    }
    if (error.empty()) {
      for (const auto& [k, v] : md->members()) {
        if (k.empty() || k.size() > 255) {
          error =
              "Invalid input for field/attribute metadata. Value: " + md->PythonStr() +
              ". Additional properties are not allowed ('" + k + "' was unexpected)";
        } else if (!v.is_null() && !v.is_string()) {
          error = "Invalid input for field/attribute metadata/" + k +
                  ". Value: " + v.PythonStr() + ". " + v.PythonRepr() +
                  " is not of type 'string', 'null'";
        } else if (v.is_string() && v.as_string().size() > 255) {
          error = "Invalid input for field/attribute metadata/" + k +
                  ". Value: " + v.PythonStr() + ". " + v.PythonRepr() + " is too long";
        }
        if (!error.empty()) break;
      }
    }
  } else {
    error = CheckMembers(arg, action, {"host"}, {"host"});
    if (error.empty()) error = CheckString(arg, action, "host", 1, 255);
  }
  if (!error.empty()) return FaultResponse(400, error);
  Result<int64_t> id = AggregateId(call.params[0]);
  if (!id.ok()) return ErrorResponse(id.status());
  Result<AggregateState> a = Status::Internal("unreachable");
  if (action == "set_metadata") {
    chronova::SetAggregateMetadata cmd;
    for (const auto& [k, v] : arg.Find("metadata")->members()) {
      cmd.metadata[k] =
          v.is_null() ? std::nullopt : std::optional<std::string>(v.as_string());
    }
    a = options_.admin->SetAggregateMetadata(call.ctx, *id, cmd);
  } else {
    HostName host(arg.Find("host")->as_string());
    a = action == "add_host" ? options_.admin->AddAggregateHost(call.ctx, *id, host)
                             : options_.admin->RemoveAggregateHost(call.ctx, *id, host);
  }
  if (!a.ok()) return ErrorResponse(a.status());
  return JsonResponse(200, Json::MakeObject({{"aggregate", AggregateJson(*a, true)}}));
}

}  // namespace chronova
