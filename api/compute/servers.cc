// /servers: create, list (basic and detail), show, update and delete
// (nova/api/openstack/compute/servers.py at microversion 2.1).
#include <optional>
#include <set>

#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"
#include "api/service/admin_service.h"

namespace chronova {
namespace {

// The API statuses of nova/api/openstack/common.py _STATE_MAP.
bool IsKnownServerStatus(const std::string& s) {
  static const std::set<std::string> kStatuses = {
      "ACTIVE",        "REBOOT",       "HARD_REBOOT", "PASSWORD",         "REBUILD",
      "MIGRATING",     "RESIZE",       "BUILD",       "SHUTOFF",          "VERIFY_RESIZE",
      "REVERT_RESIZE", "PAUSED",       "SUSPENDED",   "RESCUE",           "ERROR",
      "DELETED",       "SOFT_DELETED", "SHELVED",     "SHELVED_OFFLOADED"};
  return kStatuses.count(s) > 0;
}

// schemas/servers.py VALID_SORT_KEYS at 2.1, in its order (the 400 lists them).
constexpr const char* kValidSortKeys[] = {
    "access_ip_v4", "access_ip_v6", "auto_disk_config", "availability_zone",
    "config_drive", "created_at", "display_description", "display_name", "host",
    "hostname", "image_ref", "instance_type_id", "kernel_id", "key_name", "launch_index",
    "launched_at", "locked_by", "node", "power_state", "progress", "project_id",
    "ramdisk_id", "root_device_name", "task_state", "terminated_at", "updated_at",
    "user_id", "uuid", "vm_state",
    // SERVER_LIST_IGNORE_SORT_KEY: accepted, then dropped.
    "architecture", "cell_name", "cleaned", "default_ephemeral_device",
    "default_swap_device", "deleted", "deleted_at", "disable_terminate", "ephemeral_gb",
    "ephemeral_key_uuid", "id", "key_data", "launched_on", "locked", "memory_mb",
    "os_type", "reservation_id", "root_gb", "shutdown_terminate", "user_data", "vcpus",
    "vm_mode"};
constexpr size_t kFirstIgnoredSortKey = 29;

// Nova's get_sort_params + remove_invalid_sort_keys + process_sort_params.
// From 2.75 the ignored keys are refused with the unknown ones.
Result<std::vector<ServerSortKey>> SortKeys(
    const std::vector<std::pair<std::string, std::string>>& query, bool is_admin,
    ApiVersion version) {
  std::vector<std::string> keys = QueryParams(query, "sort_key");
  std::vector<std::string> dirs = QueryParams(query, "sort_dir");
  const size_t valid =
      version >= ApiVersion{2, 75} ? kFirstIgnoredSortKey : std::size(kValidSortKeys);
  std::string all_keys;
  for (size_t i = 0; i < valid; ++i) {
    all_keys += std::string(all_keys.empty() ? "" : ", ") + "'" + kValidSortKeys[i] + "'";
  }
  for (const std::string& k : keys) {
    // The query schema checks the raw value, before any stripping.
    if (std::find(std::begin(kValidSortKeys), std::begin(kValidSortKeys) + valid, k) ==
        std::begin(kValidSortKeys) + valid) {
      return Status::InvalidArgument(
          "Invalid input for query parameters sort_key. Value: " + k + ". " +
          Json(k).PythonRepr() + " is not one of [" + all_keys + "]");
    }
  }
  for (std::string& k : keys) k = Strip(k);
  for (std::string& d : dirs) d = Strip(d);
  if (keys.empty()) keys.push_back("created_at");
  if (dirs.empty()) dirs.push_back("desc");
  // Drop ignored keys with their direction; host/node are admin-only.
  for (size_t i = 0; i < keys.size();) {
    auto pos = std::find(std::begin(kValidSortKeys), std::end(kValidSortKeys), keys[i]);
    if (static_cast<size_t>(pos - std::begin(kValidSortKeys)) >= kFirstIgnoredSortKey) {
      if (dirs.size() > i) dirs.erase(dirs.begin() + static_cast<long>(i));
      keys.erase(keys.begin() + static_cast<long>(i));
      continue;
    }
    if ((keys[i] == "host" || keys[i] == "node") && !is_admin) {
      return Status::PermissionDenied("Only administrators can sort servers by " +
                                      keys[i]);
    }
    ++i;
  }
  for (const std::string& d : dirs) {
    if (d != "asc" && d != "desc") {
      return Status::InvalidArgument(
          "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'");
    }
  }
  const std::string dflt = dirs.empty() ? "desc" : dirs.front();
  while (dirs.size() < keys.size()) dirs.push_back(dflt);
  if (dirs.size() > keys.size()) {
    return Status::InvalidArgument(
        "Invalid input received: Sort direction size exceeds sort key size");
  }
  std::vector<ServerSortKey> out;
  for (size_t i = 0; i < keys.size(); ++i) out.push_back({keys[i], dirs[i] == "desc"});
  return out;
}

class Servers final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse CreateServer(const ComputeCall& call) const;
  HttpResponse ListServers(const ComputeCall& call, ListView view) const;
  HttpResponse ShowServer(const ComputeCall& call) const;
  HttpResponse UpdateServer(const ComputeCall& call) const;
  HttpResponse DeleteServer(const ComputeCall& call) const;
};

HttpResponse Servers::CreateServer(const ComputeCall& call) const {
  // An empty body is null, which the schema rejects as Nova does.
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  CreateServerSchemaOptions schema_options;
  schema_options.legacy_v2 = call.legacy_v2;
  schema_options.version = call.version;
  Result<ParsedCreateServer> parsed = ParseCreateServerBody(*body, schema_options);
  if (!parsed.ok()) return ErrorResponse(parsed.status());

  Result<CreateServerResult> created =
      options_.service->CreateServers(call.ctx, parsed->request);
  if (!created.ok()) return ErrorResponse(created.status());
  if (parsed->return_reservation_id) {
    return JsonResponse(202,
                        Json::MakeObject({{"reservation_id", created->reservation_id}}));
  }
  if (created->servers.empty()) {
    return ErrorResponse(Status::Internal("no server was created"));
  }
  std::string admin_pass;
  if (options_.enable_instance_password) {
    admin_pass = parsed->admin_pass.empty() ? NewAdminPassword() : parsed->admin_pass;
  }
  const InstanceState& server = created->servers.front();
  HttpResponse r = JsonResponse(
      202, Json::MakeObject(
               {{"server", ServerCreatedView(call.links, server, parsed->security_groups,
                                             admin_pass)}}));
  r.headers.Set("Location", call.links.Self("servers", server.id.str()));
  return r;
}

HttpResponse Servers::ListServers(const ComputeCall& call, ListView view) const {
  const bool detail = view == ListView::kDetail;
  ListServersQuery q;
  q.detail = detail;
  for (const auto& [key, value] : call.query) {
    if (!key.empty() && key[0] == '_') {
      return FaultResponse(400, "Invalid filter field: " + key + ".");
    }
  }
  // schemas/servers.py query_params_v275: nothing else from 2.75.
  if (auto refused = RefuseUnknownQuery(call, {"user_id",
                                               "project_id",
                                               "tenant_id",
                                               "launch_index",
                                               "image_ref",
                                               "image",
                                               "kernel_id",
                                               "ramdisk_id",
                                               "hostname",
                                               "key_name",
                                               "power_state",
                                               "vm_state",
                                               "task_state",
                                               "host",
                                               "node",
                                               "flavor",
                                               "reservation_id",
                                               "launched_at",
                                               "terminated_at",
                                               "availability_zone",
                                               "name",
                                               "display_name",
                                               "description",
                                               "display_description",
                                               "locked_by",
                                               "uuid",
                                               "root_device_name",
                                               "config_drive",
                                               "access_ip_v4",
                                               "access_ip_v6",
                                               "auto_disk_config",
                                               "progress",
                                               "sort_key",
                                               "sort_dir",
                                               "all_tenants",
                                               "soft_deleted",
                                               "deleted",
                                               "status",
                                               "changes-since",
                                               "ip",
                                               "ip6",
                                               "created_at",
                                               "block_device_mapping",
                                               "services",
                                               "metadata",
                                               "system_metadata",
                                               "info_cache",
                                               "security_groups",
                                               "pci_devices",
                                               "limit",
                                               "marker",
                                               "tags",
                                               "tags-any",
                                               "not-tags",
                                               "not-tags-any",
                                               "changes-before",
                                               "locked"})) {
    return *refused;
  }
  // 2.73: servers locked (or not).
  if (const std::string* v = QueryParam(call.query, "locked");
      v != nullptr && call.version >= ApiVersion{2, 73}) {
    std::optional<bool> b = ParseStrictBool(*v);
    if (!b) {
      return FaultResponse(400, "Unrecognized value '" + *v +
                                    "', acceptable values are: '0', '1', 'f', 'false', "
                                    "'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'");
    }
    q.locked = *b;
  }
  Result<int> limit = PageLimit(call);
  if (!limit.ok()) return ErrorResponse(limit.status());
  q.limit = *limit;
  if (const std::string* marker = QueryParam(call.query, "marker")) q.marker = *marker;
  if (const std::string* name = QueryParam(call.query, "name")) q.name = *name;
  if (const std::string* v = QueryParam(call.query, "image")) q.image = LastSegment(*v);
  if (const std::string* v = QueryParam(call.query, "flavor")) q.flavor = LastSegment(*v);
  if (const std::string* v = QueryParam(call.query, "reservation_id"))
    q.reservation_id = *v;
  if (const std::string* v = QueryParam(call.query, "ip")) q.ip = *v;
  // The tag filters of 2.26: comma-separated lists.
  if (call.version >= ApiVersion{2, 26}) {
    auto split = [&](const char* name, std::vector<std::string>* out) {
      const std::string* v = QueryParam(call.query, name);
      if (v == nullptr) return;
      size_t start = 0;
      while (start <= v->size()) {
        size_t comma = v->find(',', start);
        if (comma == std::string::npos) comma = v->size();
        if (comma > start) out->push_back(v->substr(start, comma - start));
        start = comma + 1;
      }
    };
    split("tags", &q.tags);
    split("tags-any", &q.tags_any);
    split("not-tags", &q.not_tags);
    split("not-tags-any", &q.not_tags_any);
  }
  // ip6 is every caller's from 2.5 (an admin's before); no server has an
  // address yet, so it matches none, as ip.
  if (const std::string* v = QueryParam(call.query, "ip6");
      v != nullptr && (call.ctx.IsAdmin() || call.version >= ApiVersion{2, 5})) {
    q.ip = *v;
  }
  Result<std::vector<ServerSortKey>> sort =
      SortKeys(call.query, call.ctx.IsAdmin(), call.version);
  if (!sort.ok()) return ErrorResponse(sort.status());
  q.sort = std::move(sort).value();
  if (const std::string* status = QueryParam(call.query, "status")) {
    std::string upper = Upper(*status);
    // An unknown status: an empty list before 2.38, then 400.
    if (!IsKnownServerStatus(upper)) {
      if (call.version >= ApiVersion{2, 38})
        return FaultResponse(400, "Invalid status value");
      return JsonResponse(200, Json::MakeObject({{"servers", Json::MakeArray()}}));
    }
    q.status = upper;
  }
  Result<ChangesWindow> window = ChangesWindowOf(call);
  if (!window.ok()) return ErrorResponse(window.status());
  q.changes_since = window->since;
  q.changes_before = window->before;
  if (const std::string* all = QueryParam(call.query, "all_tenants")) {
    // nova/api/openstack/common.py is_all_tenants: present and empty means yes.
    if (all->empty()) {
      q.all_tenants = true;
    } else {
      std::optional<bool> b = ParseStrictBool(*all);
      if (!b) {
        return FaultResponse(400,
                             "Invalid input received: Unrecognized value '" + *all +
                                 "', acceptable values are: '0', '1', 'f', 'false', 'n', "
                                 "'no', 'off', 'on', 't', 'true', 'y', 'yes'");
      }
      q.all_tenants = *b;
    }
  }
  // Nova drops filters a non-admin may not use rather than failing.
  if (const std::string* host = QueryParam(call.query, "host");
      host && call.ctx.IsAdmin()) {
    q.host = *host;
  }
  if (const std::string* deleted = QueryParam(call.query, "deleted");
      deleted && call.ctx.IsAdmin()) {
    q.include_deleted = ParseStrictBool(*deleted).value_or(false);
  }

  Result<std::vector<InstanceState>> servers = options_.service->ListServers(call.ctx, q);
  if (!servers.ok()) return ErrorResponse(servers.status());
  ServerViewOptions view_options = ShowViewOptions(call, options_);
  // Written, not built as a tree: the page is most of the request's cost.
  std::string text;
  text.reserve(256 + servers->size() * (detail ? 1536 : 256));
  JsonWriter w(text);
  w.BeginObject().Key("servers").BeginArray();
  for (const InstanceState& s : *servers) {
    if (detail) {
      WriteServerDetail(w, call.links, s, view_options);
    } else {
      WriteServerBasic(w, call.links, s);
    }
  }
  w.EndArray();
  Json next = NextLinks(call.links, detail ? "servers/detail" : "servers", call.query,
                        servers->size(), static_cast<size_t>(q.limit),
                        servers->empty() ? "" : servers->back().id.str());
  if (next.size() > 0) w.Field("servers_links", next);
  w.EndObject();
  return JsonTextResponse(200, std::move(text));
}

HttpResponse Servers::ShowServer(const ComputeCall& call) const {
  Result<InstanceState> s =
      options_.service->GetServer(call.ctx, InstanceId(call.params[0]));
  if (!s.ok()) return ErrorResponse(s.status());
  Result<ServerViewOptions> view_options = ShownWithGroups(call, options_, s->id);
  if (!view_options.ok()) return ErrorResponse(view_options.status());
  return JsonResponse(
      200,
      Json::MakeObject({{"server", ServerDetailView(call.links, *s, *view_options)}}));
}

HttpResponse Servers::UpdateServer(const ComputeCall& call) const {
  // An empty body is null, which the schema rejects as Nova does.
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  CreateServerSchemaOptions schema_options;
  schema_options.legacy_v2 = call.legacy_v2;
  schema_options.version = call.version;
  Result<UpdateServerRequest> req = ParseUpdateServerBody(*body, schema_options);
  if (!req.ok()) return ErrorResponse(req.status());
  Result<InstanceState> s =
      options_.service->UpdateServer(call.ctx, InstanceId(call.params[0]), *req);
  if (!s.ok()) return ErrorResponse(s.status());
  Result<ServerViewOptions> view_options =
      ChangedServerViewOptions(call, options_, s->id);
  if (!view_options.ok()) return ErrorResponse(view_options.status());
  return JsonResponse(
      200,
      Json::MakeObject({{"server", ServerDetailView(call.links, *s, *view_options)}}));
}

HttpResponse Servers::DeleteServer(const ComputeCall& call) const {
  Status s = options_.service->DeleteServer(call.ctx, InstanceId(call.params[0]));
  if (!s.ok()) return ErrorResponse(s);
  HttpResponse r;
  r.status = 204;
  return r;
}

}  // namespace

void AddServerRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const Servers>(options);
  routes->Add("GET", "servers", Bind(r, &Servers::ListServers, ListView::kBasic));
  routes->Add("POST", "servers", Bind(r, &Servers::CreateServer));
  routes->Add("GET", "servers/detail", Bind(r, &Servers::ListServers, ListView::kDetail));
  routes->Add("GET", "servers/*", Bind(r, &Servers::ShowServer));
  routes->Add("PUT", "servers/*", Bind(r, &Servers::UpdateServer));
  routes->Add("DELETE", "servers/*", Bind(r, &Servers::DeleteServer));
}

}  // namespace chronova
