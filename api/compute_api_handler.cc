#include "api/compute_api_handler.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <regex>
#include <set>

#include "api/api_responses.h"
#include "api/image_service.h"
#include "api/policy.h"
#include "api/quotas.h"
#include "api/server_create_schema.h"
#include "core/event_codec.h"
#include "core/event_json.h"
#include "core/instance_decider.h"

namespace chronova {
namespace {

constexpr char kNotAuthenticated[] = "The request you have made requires authentication.";

HttpResponse MethodNotAllowed(const std::string& method) {
  return FaultResponse(405,
                       "The method " + method + " is not allowed for this resource.");
}

// "http://host/v2.1/flavors/42" and "42" both name flavor "42".
std::string LastSegment(const std::string& ref) {
  size_t slash = ref.find_last_of('/');
  return slash == std::string::npos ? ref : ref.substr(slash + 1);
}

bool IsCollection(const std::string& segment) {
  return segment == "servers" || segment == "flavors" || segment == "images" ||
         segment == "os-hypervisors" || segment == "os-services" ||
         segment == "os-availability-zone" || segment == "os-hosts" ||
         segment == "os-aggregates" || segment == "os-keypairs" ||
         segment == "os-quota-sets" || segment == "os-quota-class-sets" ||
         segment == "limits" ||
         segment == "chronova";  // chronova's own admin APIs: /chronova/history/...
}

// The API statuses of nova/api/openstack/common.py _STATE_MAP.
bool IsKnownServerStatus(const std::string& s) {
  static const std::set<std::string> kStatuses = {
      "ACTIVE",        "REBOOT",       "HARD_REBOOT", "PASSWORD",         "REBUILD",
      "MIGRATING",     "RESIZE",       "BUILD",       "SHUTOFF",          "VERIFY_RESIZE",
      "REVERT_RESIZE", "PAUSED",       "SUSPENDED",   "RESCUE",           "ERROR",
      "DELETED",       "SOFT_DELETED", "SHELVED",     "SHELVED_OFFLOADED"};
  return kStatuses.count(s) > 0;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Python's int(str): optional surrounding whitespace and sign, then digits.
bool ParsePythonInt(const std::string& text, int64_t* out) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  if (b < e && text[b] == '+') ++b;
  if (b == e) return false;
  auto [ptr, ec] = std::from_chars(text.data() + b, text.data() + e, *out);
  return ec == std::errc() && ptr == text.data() + e;
}

// The last value of `name` in the query (webob's req.params[name]).
const std::string* QueryParam(
    const std::vector<std::pair<std::string, std::string>>& query,
    const std::string& name) {
  const std::string* found = nullptr;
  for (const auto& [k, v] : query) {
    if (k == name) found = &v;
  }
  return found;
}

// Nova's marker/limit paging over a sorted list: [begin, end) of the items
// after the one with id `marker` (all if null), at most `limit` of them.
// InvalidArgument (Nova's words) for a marker that is not in the list.
template <typename T, typename IdOf>
Result<std::pair<size_t, size_t>> Page(const std::vector<T>& items,
                                       const std::string* marker, int limit, IdOf id_of) {
  size_t begin = 0;
  if (marker != nullptr) {
    auto it = std::find_if(items.begin(), items.end(),
                           [&](const T& item) { return id_of(item) == *marker; });
    if (it == items.end())
      return Status::InvalidArgument("marker [" + *marker + "] not found");
    begin = static_cast<size_t>(it - items.begin()) + 1;
  }
  return std::make_pair(begin,
                        std::min(items.size(), begin + static_cast<size_t>(limit)));
}

// One page of `items` (filtered and ordered) as Nova's list body:
// {"<collection>": [render(item)...], "<collection>_links": [next]}.
// `path` is the collection's path for the next link ("flavors/detail").
template <typename T, typename IdOf, typename Render>
HttpResponse PagedList(const std::string& collection, const std::string& path,
                       const LinkContext& links,
                       const std::vector<std::pair<std::string, std::string>>& query,
                       const std::vector<const T*>& items, int limit, IdOf id_of,
                       Render render) {
  auto page = Page(items, QueryParam(query, "marker"), limit,
                   [&](const T* item) { return id_of(*item); });
  if (!page.ok()) return ErrorResponse(page.status());
  const auto [begin, end] = *page;
  Json list = Json::MakeArray();
  for (size_t i = begin; i < end; ++i) list.Append(render(*items[i]));
  Json body = Json::MakeObject({{collection, std::move(list)}});
  Json next = NextLinks(links, path, query, end - begin, static_cast<size_t>(limit),
                        end > begin ? id_of(*items[end - 1]) : "");
  if (next.size() > 0) body[collection + "_links"] = std::move(next);
  return JsonResponse(200, body);
}

}  // namespace

ComputeApiHandler::ComputeApiHandler(const ComputeApiOptions& options)
    : options_(options),
      routes_({
          {"GET", {"servers"}, &ComputeApiHandler::ListServers},
          {"POST", {"servers"}, &ComputeApiHandler::CreateServer},
          {"GET",
           {"servers", "detail"},
           &ComputeApiHandler::ListServers,
           ListView::kDetail},
          {"GET", {"servers", "*"}, &ComputeApiHandler::ShowServer},
          {"PUT", {"servers", "*"}, &ComputeApiHandler::UpdateServer},
          {"DELETE", {"servers", "*"}, &ComputeApiHandler::DeleteServer},
          {"POST", {"servers", "*", "action"}, &ComputeApiHandler::ServerAction},
          {"GET", {"servers", "*", "metadata"}, &ComputeApiHandler::ListServerMetadata},
          {"POST", {"servers", "*", "metadata"}, &ComputeApiHandler::MergeServerMetadata},
          {"PUT",
           {"servers", "*", "metadata"},
           &ComputeApiHandler::ReplaceServerMetadata},
          {"GET",
           {"servers", "*", "metadata", "*"},
           &ComputeApiHandler::ShowServerMetadataItem},
          {"PUT",
           {"servers", "*", "metadata", "*"},
           &ComputeApiHandler::SetServerMetadataItem},
          {"DELETE",
           {"servers", "*", "metadata", "*"},
           &ComputeApiHandler::DeleteServerMetadataItem},
          {"GET", {"servers", "*", "ips"}, &ComputeApiHandler::ListServerAddresses},
          {"GET", {"servers", "*", "ips", "*"}, &ComputeApiHandler::ShowServerAddresses},
          {"GET",
           {"servers", "*", "os-instance-actions"},
           &ComputeApiHandler::ListInstanceActions},
          {"GET",
           {"servers", "*", "os-instance-actions", "*"},
           &ComputeApiHandler::ShowInstanceAction},
          {"GET",
           {"chronova", "history", "servers"},
           &ComputeApiHandler::ListServersHistory},
          {"GET",
           {"chronova", "history", "servers", "*"},
           &ComputeApiHandler::ShowServerHistory},
          {"GET", {"flavors"}, &ComputeApiHandler::ListFlavors},
          {"GET",
           {"flavors", "detail"},
           &ComputeApiHandler::ListFlavors,
           ListView::kDetail},
          {"GET", {"flavors", "*"}, &ComputeApiHandler::ShowFlavor},
          {"GET",
           {"flavors", "*", "os-extra_specs"},
           &ComputeApiHandler::ShowFlavorExtraSpecs},
          {"POST", {"flavors"}, &ComputeApiHandler::CreateFlavor},
          {"DELETE", {"flavors", "*"}, &ComputeApiHandler::DeleteFlavor},
          {"GET",
           {"flavors", "*", "os-flavor-access"},
           &ComputeApiHandler::ListFlavorAccess},
          {"POST", {"flavors", "*", "action"}, &ComputeApiHandler::FlavorAction},
          {"POST",
           {"flavors", "*", "os-extra_specs"},
           &ComputeApiHandler::CreateFlavorExtraSpecs},
          {"GET",
           {"flavors", "*", "os-extra_specs", "*"},
           &ComputeApiHandler::ShowFlavorExtraSpec},
          {"PUT",
           {"flavors", "*", "os-extra_specs", "*"},
           &ComputeApiHandler::UpdateFlavorExtraSpec},
          {"DELETE",
           {"flavors", "*", "os-extra_specs", "*"},
           &ComputeApiHandler::DeleteFlavorExtraSpec},
          {"GET", {"os-keypairs"}, &ComputeApiHandler::ListKeypairs},
          {"POST", {"os-keypairs"}, &ComputeApiHandler::CreateKeypair},
          {"GET", {"os-keypairs", "*"}, &ComputeApiHandler::ShowKeypair},
          {"DELETE", {"os-keypairs", "*"}, &ComputeApiHandler::DeleteKeypair},
          {"GET", {"os-quota-sets", "*"}, &ComputeApiHandler::ShowQuotas},
          {"GET", {"os-quota-sets", "*", "detail"}, &ComputeApiHandler::ShowQuotasDetail},
          {"GET",
           {"os-quota-sets", "*", "defaults"},
           &ComputeApiHandler::ShowQuotaDefaults},
          {"PUT", {"os-quota-sets", "*"}, &ComputeApiHandler::UpdateQuotas},
          {"DELETE", {"os-quota-sets", "*"}, &ComputeApiHandler::DeleteQuotas},
          {"GET", {"os-quota-class-sets", "*"}, &ComputeApiHandler::ShowQuotaClass},
          {"PUT", {"os-quota-class-sets", "*"}, &ComputeApiHandler::UpdateQuotaClass},
          {"GET", {"limits"}, &ComputeApiHandler::ShowLimits},
          {"GET", {"images"}, &ComputeApiHandler::ListImages},
          {"GET",
           {"images", "detail"},
           &ComputeApiHandler::ListImages,
           ListView::kDetail},
          {"GET", {"images", "*"}, &ComputeApiHandler::ShowImage},
          {"DELETE", {"images", "*"}, &ComputeApiHandler::DeleteImage},
          {"GET", {"images", "*", "metadata"}, &ComputeApiHandler::ListImageMetadata},
          {"POST", {"images", "*", "metadata"}, &ComputeApiHandler::MergeImageMetadata},
          {"PUT", {"images", "*", "metadata"}, &ComputeApiHandler::ReplaceImageMetadata},
          {"GET",
           {"images", "*", "metadata", "*"},
           &ComputeApiHandler::ShowImageMetadataItem},
          {"PUT",
           {"images", "*", "metadata", "*"},
           &ComputeApiHandler::SetImageMetadataItem},
          {"DELETE",
           {"images", "*", "metadata", "*"},
           &ComputeApiHandler::DeleteImageMetadataItem},
          // Admin views (admin_api_handler.cc).
          {"GET", {"os-hypervisors"}, &ComputeApiHandler::ListHypervisors},
          {"GET",
           {"os-hypervisors", "detail"},
           &ComputeApiHandler::ListHypervisors,
           ListView::kDetail},
          {"GET",
           {"os-hypervisors", "statistics"},
           &ComputeApiHandler::HypervisorStatistics},
          {"GET", {"os-hypervisors", "*"}, &ComputeApiHandler::ShowHypervisor},
          {"GET",
           {"os-hypervisors", "*", "uptime"},
           &ComputeApiHandler::HypervisorUptime},
          {"GET",
           {"os-hypervisors", "*", "search"},
           &ComputeApiHandler::SearchHypervisors},
          {"GET",
           {"os-hypervisors", "*", "servers"},
           &ComputeApiHandler::HypervisorServers},
          {"GET", {"os-services"}, &ComputeApiHandler::ListServices},
          {"PUT", {"os-services", "*"}, &ComputeApiHandler::UpdateService},
          {"GET", {"os-availability-zone"}, &ComputeApiHandler::ListAvailabilityZones},
          {"GET",
           {"os-availability-zone", "detail"},
           &ComputeApiHandler::ListAvailabilityZones,
           ListView::kDetail},
          {"GET", {"os-hosts"}, &ComputeApiHandler::ListHosts},
          {"GET", {"os-hosts", "*"}, &ComputeApiHandler::ShowHost},
          {"PUT", {"os-hosts", "*"}, &ComputeApiHandler::UpdateHost},
          {"GET", {"os-hosts", "*", "reboot"}, &ComputeApiHandler::HostPowerAction},
          {"GET", {"os-hosts", "*", "shutdown"}, &ComputeApiHandler::HostPowerAction},
          {"GET", {"os-hosts", "*", "startup"}, &ComputeApiHandler::HostPowerAction},
          {"GET", {"os-aggregates"}, &ComputeApiHandler::ListAggregates},
          {"POST", {"os-aggregates"}, &ComputeApiHandler::CreateAggregate},
          {"GET", {"os-aggregates", "*"}, &ComputeApiHandler::ShowAggregate},
          {"PUT", {"os-aggregates", "*"}, &ComputeApiHandler::UpdateAggregate},
          {"DELETE", {"os-aggregates", "*"}, &ComputeApiHandler::DeleteAggregate},
          {"POST", {"os-aggregates", "*", "action"}, &ComputeApiHandler::AggregateAction},
      }) {}

HttpBodyMode ComputeApiHandler::BodyMode(const HttpRequest& request) const {
  Result<RequestContext> ctx =
      AuthenticateRequest(*options_.authenticator, request.headers);
  if (!ctx.ok() && ctx.status().code() == StatusCode::kPermissionDenied) {
    return HttpBodyMode::kSkip;
  }
  return HttpBodyMode::kMemory;
}

HttpResponse ComputeApiHandler::Handle(const HttpRequest& request) const {
  const std::string request_id = "req-" + options_.env->NewUuid();
  HttpResponse response = Dispatch(request, request_id);
  response.headers.Set("x-openstack-request-id", request_id);
  response.headers.Set("X-Compute-Request-Id", request_id);
  return response;
}

HttpResponse ComputeApiHandler::Dispatch(const HttpRequest& request,
                                         const std::string& request_id) const {
  if (std::max(request.body.size(), request.declared_length) > options_.max_body_bytes) {
    return FaultResponse(413, "Request is too large.");
  }
  std::vector<std::string> segments = SplitPath(request.path);
  if (segments.empty()) {
    // The version list is public and outside microversion control, as in Nova.
    if (request.method != "GET") {
      return MethodNotAllowed(request.method);
    }
    return JsonResponse(200, VersionsDocument(request.base_url));
  }
  if (segments[0] != "v2.1" && segments[0] != "v2") {
    return FaultResponse(404, "The resource could not be found.");
  }
  return ServeVersioned(request, request_id, segments);
}

HttpResponse ComputeApiHandler::ServeVersioned(
    const HttpRequest& request, const std::string& request_id,
    const std::vector<std::string>& segments) const {
  Call call;
  call.http = &request;
  call.legacy_v2 = segments[0] == "v2";
  const std::string version_url = request.base_url + "/" + segments[0];

  // The legacy v2 API ignores microversion headers and echoes none.
  std::optional<ApiVersion> version;
  auto negotiate = [&]() -> std::optional<HttpResponse> {
    if (call.legacy_v2) return std::nullopt;
    Result<ApiVersion> v = RequestedApiVersion(request.headers);
    if (!v.ok()) return FaultResponse(400, v.status().message());
    if (!IsSupportedVersion(*v)) return FaultResponse(406, UnsupportedVersionMessage(*v));
    version = *v;
    return std::nullopt;
  };
  auto finish = [&](HttpResponse r) {
    if (version) AddVersionHeaders(*version, r.headers);
    return r;
  };

  std::vector<std::string> rest(segments.begin() + 1, segments.end());
  if (rest.empty()) {
    // The version document. chronova serves it without a token (Nova asks for
    // one) so that discovery works before authentication.
    if (request.method != "GET") {
      return MethodNotAllowed(request.method);
    }
    if (auto error = negotiate()) return *error;
    return finish(JsonResponse(
        200, VersionDocument(version_url, call.legacy_v2 ? ComputeVersion::kV20
                                                         : ComputeVersion::kV21)));
  }

  // "/v2.1/{project_id}/servers": older clients put the project in the URL.
  std::string project_in_url;
  if (!IsCollection(rest[0]) && rest.size() >= 2) {
    project_in_url = rest[0];
    rest.erase(rest.begin());
  }

  // The one place a request is authenticated.
  Result<RequestContext> ctx =
      AuthenticateRequest(*options_.authenticator, request.headers, project_in_url);
  if (!ctx.ok()) {
    if (ctx.status().code() == StatusCode::kPermissionDenied) {
      HttpResponse r = FaultResponse(401, kNotAuthenticated);
      std::string auth_url = options_.auth_url.empty()
                                 ? SchemeAndAuthority(request.base_url)
                                 : options_.auth_url;
      r.headers.Set("WWW-Authenticate", "Keystone uri=\"" + auth_url + "\"");
      return r;
    }
    return ErrorResponse(ctx.status());
  }
  call.ctx = std::move(ctx).value();
  call.ctx.request_id = RequestId(request_id);

  // Route: the first route whose path and method match; a path that matches
  // only with other methods is 405.
  const Route* route = nullptr;
  std::vector<std::string> allowed;
  for (const Route& r : routes_) {
    if (r.pattern.size() != rest.size()) continue;
    bool match = true;
    for (size_t i = 0; i < rest.size() && match; ++i) {
      match = r.pattern[i] == "*" || r.pattern[i] == rest[i];
    }
    if (!match) continue;
    if (request.method == r.method) {
      route = &r;
      break;
    }
    if (std::find(allowed.begin(), allowed.end(), r.method) == allowed.end()) {
      allowed.push_back(r.method);
    }
  }
  if (route == nullptr) {
    if (allowed.empty()) return FaultResponse(404, "The resource could not be found.");
    HttpResponse r = MethodNotAllowed(request.method);
    std::string allow;
    for (const std::string& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    r.headers.Set("Allow", allow);
    return r;
  }
  for (size_t i = 0; i < rest.size(); ++i) {
    if (route->pattern[i] == "*") call.params.push_back(rest[i]);
  }
  call.view = route->view;

  if (auto error = negotiate()) return *error;
  call.query = ParseQuery(request.query);
  call.links.version_url = version_url;
  call.links.bookmark_url = request.base_url;
  call.links.project = project_in_url;
  call.links.image_url = options_.image_url.empty()
                             ? SchemeAndAuthority(request.base_url) + "/image"
                             : options_.image_url;
  return finish((this->*(route->handler))(call));
}

// ---- servers ----------------------------------------------------------------

HttpResponse ComputeApiHandler::CreateServer(const Call& call) const {
  Json body;  // an empty body is null, which the schema rejects as Nova does
  if (!call.http->body.empty()) {
    Result<Json> parsed = Json::Parse(call.http->body);
    if (!parsed.ok()) return FaultResponse(400, "Malformed request body");
    body = std::move(parsed).value();
  }
  CreateServerSchemaOptions schema_options;
  schema_options.legacy_v2 = call.legacy_v2;
  Result<ParsedCreateServer> parsed = ParseCreateServerBody(body, schema_options);
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

namespace {

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

// Every value of `name` in the query, in order (webob's getall).
std::vector<std::string> QueryParams(
    const std::vector<std::pair<std::string, std::string>>& query,
    const std::string& name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : query) {
    if (k == name) out.push_back(v);
  }
  return out;
}

std::string Strip(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Nova's get_sort_params + remove_invalid_sort_keys + process_sort_params.
Result<std::vector<ServerSortKey>> SortKeys(
    const std::vector<std::pair<std::string, std::string>>& query, bool is_admin) {
  std::vector<std::string> keys = QueryParams(query, "sort_key");
  std::vector<std::string> dirs = QueryParams(query, "sort_dir");
  std::string all_keys;
  for (const char* k : kValidSortKeys) {
    all_keys += std::string(all_keys.empty() ? "" : ", ") + "'" + k + "'";
  }
  for (const std::string& k : keys) {
    // The query schema checks the raw value, before any stripping.
    if (std::find(std::begin(kValidSortKeys), std::end(kValidSortKeys), k) ==
        std::end(kValidSortKeys)) {
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

}  // namespace

HttpResponse ComputeApiHandler::ListServers(const Call& call) const {
  const bool detail = call.view == ListView::kDetail;
  ListServersQuery q;
  q.detail = detail;
  for (const auto& [key, value] : call.query) {
    if (!key.empty() && key[0] == '_') {
      return FaultResponse(400, "Invalid filter field: " + key + ".");
    }
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
  Result<std::vector<ServerSortKey>> sort = SortKeys(call.query, call.ctx.IsAdmin());
  if (!sort.ok()) return ErrorResponse(sort.status());
  q.sort = std::move(sort).value();
  if (const std::string* status = QueryParam(call.query, "status")) {
    std::string upper = Upper(*status);
    // Microversion 2.1 answers an unknown status with an empty list (2.38+ says 400).
    if (!IsKnownServerStatus(upper))
      return JsonResponse(200, Json::MakeObject({{"servers", Json::MakeArray()}}));
    q.status = upper;
  }
  if (const std::string* since = QueryParam(call.query, "changes-since")) {
    Timestamp t;
    if (!ParseIso8601(*since, &t)) {
      return FaultResponse(
          400, "Invalid input for query parameters changes-since. Value: " + *since +
                   ". " + Json(*since).PythonRepr() + " is not a 'date-time'");
    }
    q.changes_since = t;
  }
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
  ServerViewOptions view_options;
  view_options.extended_attributes = call.ctx.IsAdmin();
  Json list = Json::MakeArray();
  for (const InstanceState& s : *servers) {
    list.Append(detail ? ServerDetailView(call.links, s, view_options)
                       : ServerBasicView(call.links, s));
  }
  Json body = Json::MakeObject({{"servers", std::move(list)}});
  Json next = NextLinks(call.links, detail ? "servers/detail" : "servers", call.query,
                        servers->size(), static_cast<size_t>(q.limit),
                        servers->empty() ? "" : servers->back().id.str());
  if (next.size() > 0) body["servers_links"] = std::move(next);
  return JsonResponse(200, body);
}

HttpResponse ComputeApiHandler::ShowServer(const Call& call) const {
  Result<InstanceState> s =
      options_.service->GetServer(call.ctx, InstanceId(call.params[0]));
  if (!s.ok()) return ErrorResponse(s.status());
  ServerViewOptions view_options;
  view_options.extended_attributes = call.ctx.IsAdmin();
  return JsonResponse(
      200,
      Json::MakeObject({{"server", ServerDetailView(call.links, *s, view_options)}}));
}

HttpResponse ComputeApiHandler::DeleteServer(const Call& call) const {
  Status s = options_.service->DeleteServer(call.ctx, InstanceId(call.params[0]));
  if (!s.ok()) return ErrorResponse(s);
  HttpResponse r;
  r.status = 204;
  return r;
}

HttpResponse ComputeApiHandler::ServerAction(const Call& call) const {
  Result<Json> parsed = Json::Parse(call.http->body);
  // Nova's action_peek: the body must be an object with exactly one key.
  if (!parsed.ok() || !parsed->is_object() || parsed->members().size() != 1) {
    return FaultResponse(400, "Malformed request body");
  }
  const auto& [name, args] = parsed->members().front();
  const InstanceId id(call.params[0]);
  Status st;
  if (name == "rebuild") return RebuildServer(call, *parsed);
  if (name == "rescue") return RescueServer(call, *parsed);
  if (name == "createImage") return CreateServerImage(call, *parsed);
  if (name == "os-resetState") {
    // Nova's schema: {"os-resetState": {"state": "active"|"error"}}, nothing else.
    const Json* state = args.is_object() ? args.Find("state") : nullptr;
    if (state == nullptr || !state->is_string() ||
        (state->as_string() != "active" && state->as_string() != "error") ||
        args.members().size() != 1) {
      const Json& bad = state ? *state : args;
      return FaultResponse(
          400, "Invalid input for field/attribute state. Value: " + bad.PythonStr() +
                   ". " + bad.PythonRepr() + " is not one of ['active', 'error']");
    }
    st = options_.service->ResetServerState(call.ctx, id, state->as_string());
    if (!st.ok()) return ErrorResponse(st);
    HttpResponse r;
    r.status = 202;
    return r;
  }
  if (name == "os-getConsoleOutput") return ConsoleOutput(call, args);
  if (name == "resize") {
    // Nova's schema: {"resize": {"flavorRef": str|int (non-empty),
    // "OS-DCF:diskConfig": "AUTO"|"MANUAL"}}, nothing else.
    if (!args.is_object()) {
      return FaultResponse(
          400, "Invalid input for field/attribute resize. Value: " + args.PythonStr() +
                   ". " + args.PythonRepr() + " is not of type 'object'");
    }
    const Json* ref = args.Find("flavorRef");
    if (ref == nullptr) {
      return FaultResponse(
          400, "Invalid input for field/attribute resize. Value: " + args.PythonStr() +
                   ". 'flavorRef' is a required property");
    }
    for (const auto& [key, value] : args.members()) {
      if (key != "flavorRef" && key != "OS-DCF:diskConfig") {
        return FaultResponse(
            400, "Additional properties are not allowed ('" + key + "' was unexpected)");
      }
    }
    std::string flavor_ref;
    if (ref->is_string()) {
      flavor_ref = ref->as_string();
    } else if (ref->is_number()) {
      flavor_ref = ref->PythonStr();
    }
    if (flavor_ref.empty()) {
      return FaultResponse(400, "Invalid input for field/attribute flavorRef. Value: " +
                                    ref->PythonStr() + ". " + ref->PythonRepr() +
                                    " is not valid under any of the given schemas");
    }
    st = options_.service->ResizeServer(call.ctx, id, flavor_ref);
    if (!st.ok()) return ErrorResponse(st);
    HttpResponse r;
    r.status = 202;
    return r;
  }
  if (name == "confirmResize" || name == "revertResize") {
    st = name == "confirmResize" ? options_.service->ConfirmResize(call.ctx, id)
                                 : options_.service->RevertResize(call.ctx, id);
    if (!st.ok()) return ErrorResponse(st);
    HttpResponse r;
    r.status = name == "confirmResize" ? 204 : 202;
    return r;
  }
  if (name == "lock" || name == "unlock") {
    st = name == "lock" ? options_.service->LockServer(call.ctx, id)
                        : options_.service->UnlockServer(call.ctx, id);
  } else if (name == "forceDelete") {
    st = options_.service->ForceDeleteServer(call.ctx, id);
  } else if (name == "restore") {
    st = options_.service->RestoreServer(call.ctx, id);
  } else if (name == "reboot") {
    // Nova's schema: {"reboot": {"type": "HARD"|"SOFT" (any case Nova lists)}}.
    const Json* type = args.is_object() ? args.Find("type") : nullptr;
    if (!args.is_object()) {
      return FaultResponse(
          400, "Invalid input for field/attribute reboot. Value: " + args.PythonStr() +
                   ". " + args.PythonRepr() + " is not of type 'object'");
    }
    if (type == nullptr) {
      return FaultResponse(400, "Invalid input for field/attribute reboot. Value: " +
                                    args.PythonStr() + ". 'type' is a required property");
    }
    static const char* kTypes[] = {"HARD", "Hard", "hard", "SOFT", "Soft", "soft"};
    bool known = false;
    for (const char* t : kTypes) known |= type->is_string() && type->as_string() == t;
    if (!known) {
      return FaultResponse(
          400, "Invalid input for field/attribute type. Value: " + type->PythonStr() +
                   ". " + type->PythonRepr() +
                   " is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']");
    }
    const bool hard = type->as_string()[0] == 'H' || type->as_string()[0] == 'h';
    st = options_.service->ServerAction(call.ctx, id, LifecycleAction::kReboot, hard);
  } else {
    // The actions without arguments, under Nova's body keys.
    static const std::pair<const char*, LifecycleAction> kActions[] = {
        {"os-stop", LifecycleAction::kStop},      {"os-start", LifecycleAction::kStart},
        {"pause", LifecycleAction::kPause},       {"unpause", LifecycleAction::kUnpause},
        {"suspend", LifecycleAction::kSuspend},   {"resume", LifecycleAction::kResume},
        {"unrescue", LifecycleAction::kUnrescue},
    };
    const LifecycleAction* action = nullptr;
    for (const auto& [key, a] : kActions) {
      if (name == key) action = &a;
    }
    if (action == nullptr) return FaultResponse(400, "There is no such action: " + name);
    st = options_.service->ServerAction(call.ctx, id, *action, false);
  }
  if (!st.ok()) return ErrorResponse(st);
  HttpResponse r;
  r.status = 202;
  return r;
}

HttpResponse ComputeApiHandler::ConsoleOutput(const Call& call, const Json& args) const {
  // Nova's schema: {"os-getConsoleOutput": {"length": int | "-?[0-9]+" | null}},
  // length >= -1, nothing else; -1 and null mean the whole log.
  if (!args.is_object()) {
    return FaultResponse(400,
                         "Invalid input for field/attribute os-getConsoleOutput. "
                         "Value: " +
                             args.PythonStr() + ". " + args.PythonRepr() +
                             " is not of type 'object'");
  }
  for (const auto& [key, value] : args.members()) {
    if (key != "length") {
      return FaultResponse(
          400, "Additional properties are not allowed ('" + key + "' was unexpected)");
    }
  }
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
      return FaultResponse(400, "Invalid input for field/attribute length. Value: " +
                                    l->PythonStr() + ". " + l->PythonRepr() +
                                    (n ? " is less than the minimum of -1"
                                       : " is not valid under any of the given schemas"));
    }
    length = static_cast<int>(std::min<long long>(*n, 1 << 30));
  }
  Result<std::string> out =
      options_.service->ConsoleOutput(call.ctx, InstanceId(call.params[0]), length);
  if (!out.ok()) return ErrorResponse(out.status());
  return JsonResponse(200, Json::MakeObject({{"output", Json(std::move(*out))}}));
}

HttpResponse ComputeApiHandler::RebuildServer(const Call& call, const Json& body) const {
  Result<ParsedRebuild> parsed = ParseRebuildBody(body);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  Result<InstanceState> s =
      options_.service->RebuildServer(call.ctx, InstanceId(call.params[0]),
                                      parsed->image_ref, parsed->name, parsed->metadata);
  if (!s.ok()) return ErrorResponse(s.status());
  ServerViewOptions view_options;
  view_options.all_attributes = false;  // microversion < 2.75
  Json server = ServerDetailView(call.links, *s, view_options);
  if (options_.enable_instance_password) {
    server["adminPass"] =
        parsed->admin_pass.empty() ? NewAdminPassword() : parsed->admin_pass;
  }
  return JsonResponse(202, Json::MakeObject({{"server", std::move(server)}}));
}

HttpResponse ComputeApiHandler::CreateServerImage(const Call& call,
                                                  const Json& body) const {
  Result<ParsedCreateImage> parsed = ParseCreateImageBody(body);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  Result<ImageId> image = options_.service->CreateServerImage(
      call.ctx, InstanceId(call.params[0]), parsed->name, parsed->metadata);
  if (!image.ok()) return ErrorResponse(image.status());
  // Microversion 2.1: 202, no body, the new image's Image API URL in Location
  // (nova/image/glance.py generate_image_url).
  HttpResponse r;
  r.status = 202;
  r.headers.Set("Location", call.links.image_url + "/v2/images/" + image->str());
  return r;
}

HttpResponse ComputeApiHandler::RescueServer(const Call& call, const Json& body) const {
  Result<ParsedRescue> parsed = ParseRescueBody(body);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  Status st = options_.service->RescueServer(call.ctx, InstanceId(call.params[0]),
                                             parsed->rescue_image_ref);
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

HttpResponse ComputeApiHandler::UpdateServer(const Call& call) const {
  Json body;
  if (!call.http->body.empty()) {
    Result<Json> parsed = Json::Parse(call.http->body);
    if (!parsed.ok()) return FaultResponse(400, "Malformed request body");
    body = std::move(parsed).value();
  }
  CreateServerSchemaOptions schema_options;
  schema_options.legacy_v2 = call.legacy_v2;
  Result<UpdateServerRequest> req = ParseUpdateServerBody(body, schema_options);
  if (!req.ok()) return ErrorResponse(req.status());
  Result<InstanceState> s =
      options_.service->UpdateServer(call.ctx, InstanceId(call.params[0]), *req);
  if (!s.ok()) return ErrorResponse(s.status());
  ServerViewOptions view_options;
  view_options.all_attributes = false;  // microversion < 2.75
  return JsonResponse(
      200,
      Json::MakeObject({{"server", ServerDetailView(call.links, *s, view_options)}}));
}

// ---- server metadata --------------------------------------------------------

namespace {

Json MetadataJson(const std::map<std::string, std::string>& m) {
  Json out = Json::MakeObject();
  for (const auto& [k, v] : m) out[k] = v;
  return out;
}

// The body as JSON; Nova's 400 for text that is not JSON (an empty body is null).
Result<Json> ParseBody(const HttpRequest& http) {
  if (http.body.empty()) return Json();
  Result<Json> parsed = Json::Parse(http.body);
  if (!parsed.ok()) return Status::InvalidArgument("Malformed request body");
  return parsed;
}

// How a metadata write answers (Nova's server and image metadata controllers
// alike): POST .../metadata merges and shows everything; PUT .../metadata
// replaces and shows what was given; PUT .../metadata/{key} sets one item.
enum class MetadataWrite { kMerge, kReplace, kItem };

// Parses Nova's body for `kind`, applies it with apply(change) (the metadata
// after it, or an error) and answers Nova's shape.
template <typename Apply>
HttpResponse WriteMetadata(const HttpRequest& http,
                           const std::vector<std::string>& params, MetadataWrite kind,
                           Apply apply) {
  Result<Json> body = ParseBody(http);
  if (!body.ok()) return ErrorResponse(body.status());
  const bool item = kind == MetadataWrite::kItem;
  Result<std::map<std::string, std::string>> items =
      ParseMetadataBody(*body, item ? "meta" : "metadata");
  if (!items.ok()) return ErrorResponse(items.status());
  if (item && !items->count(params[1])) {
    return FaultResponse(400, "Request body and URI mismatch");
  }
  Result<std::map<std::string, std::string>> after =
      apply(MetadataChange{*items, kind == MetadataWrite::kReplace, {}});
  if (!after.ok()) return ErrorResponse(after.status());
  const std::map<std::string, std::string>& shown =
      kind == MetadataWrite::kMerge ? *after : *items;
  return JsonResponse(
      200, Json::MakeObject({{item ? "meta" : "metadata", MetadataJson(shown)}}));
}

}  // namespace

HttpResponse ComputeApiHandler::ListServerMetadata(const Call& call) const {
  Result<InstanceState> s = options_.service->GetServer(
      call.ctx, InstanceId(call.params[0]), "os_compute_api:server-metadata:index");
  if (!s.ok()) return ErrorResponse(s.status());
  return JsonResponse(200, Json::MakeObject({{"metadata", MetadataJson(s->metadata)}}));
}

HttpResponse ComputeApiHandler::ShowServerMetadataItem(const Call& call) const {
  Result<InstanceState> s = options_.service->GetServer(
      call.ctx, InstanceId(call.params[0]), "os_compute_api:server-metadata:show");
  if (!s.ok()) return ErrorResponse(s.status());
  auto it = s->metadata.find(call.params[1]);
  if (it == s->metadata.end()) return FaultResponse(404, "Metadata item was not found");
  return JsonResponse(
      200, Json::MakeObject({{"meta", MetadataJson({{it->first, it->second}})}}));
}

HttpResponse ComputeApiHandler::WriteServerMetadata(const Call& call, int kind) const {
  static const char* const kPolicies[] = {"create", "update_all", "update"};
  return WriteMetadata(
      *call.http, call.params, static_cast<MetadataWrite>(kind),
      [&](const MetadataChange& change) -> Result<std::map<std::string, std::string>> {
        CHRONOVA_ASSIGN_OR_RETURN(
            InstanceState s,
            options_.service->ChangeServerMetadata(call.ctx, InstanceId(call.params[0]),
                                                   kPolicies[kind], change));
        return std::move(s.metadata);
      });
}

HttpResponse ComputeApiHandler::MergeServerMetadata(const Call& call) const {
  return WriteServerMetadata(call, static_cast<int>(MetadataWrite::kMerge));
}

HttpResponse ComputeApiHandler::ReplaceServerMetadata(const Call& call) const {
  return WriteServerMetadata(call, static_cast<int>(MetadataWrite::kReplace));
}

HttpResponse ComputeApiHandler::SetServerMetadataItem(const Call& call) const {
  return WriteServerMetadata(call, static_cast<int>(MetadataWrite::kItem));
}

HttpResponse ComputeApiHandler::DeleteServerMetadataItem(const Call& call) const {
  MetadataChange change;
  change.removed = call.params[1];
  Result<InstanceState> s = options_.service->ChangeServerMetadata(
      call.ctx, InstanceId(call.params[0]), "delete", change);
  if (!s.ok()) return ErrorResponse(s.status());
  HttpResponse r;
  r.status = 204;
  return r;
}

// ---- ips ----------------------------------------------------------------------

// chronova has no networking yet: every server has no addresses, as a Nova
// server without ports.
HttpResponse ComputeApiHandler::ListServerAddresses(const Call& call) const {
  Result<InstanceState> s = options_.service->GetServer(
      call.ctx, InstanceId(call.params[0]), "os_compute_api:ips:index");
  if (!s.ok()) return ErrorResponse(s.status());
  return JsonResponse(200, Json::MakeObject({{"addresses", Json::MakeObject()}}));
}

HttpResponse ComputeApiHandler::ShowServerAddresses(const Call& call) const {
  Result<InstanceState> s = options_.service->GetServer(
      call.ctx, InstanceId(call.params[0]), "os_compute_api:ips:show");
  if (!s.ok()) return ErrorResponse(s.status());
  // ips.py show: no network of this server has that label.
  return FaultResponse(404, "Instance is not a member of specified network");
}

// ---- os-instance-actions ------------------------------------------------------

HttpResponse ComputeApiHandler::ListInstanceActions(const Call& call) const {
  Result<std::vector<InstanceAction>> actions =
      options_.service->ListInstanceActions(call.ctx, InstanceId(call.params[0]));
  if (!actions.ok()) return ErrorResponse(actions.status());
  Json list = Json::MakeArray();
  for (const InstanceAction& a : *actions) list.Append(InstanceActionView(a));
  return JsonResponse(200, Json::MakeObject({{"instanceActions", std::move(list)}}));
}

HttpResponse ComputeApiHandler::ShowInstanceAction(const Call& call) const {
  Result<InstanceAction> action = options_.service->GetInstanceAction(
      call.ctx, InstanceId(call.params[0]), RequestId(call.params[1]));
  if (!action.ok()) return ErrorResponse(action.status());
  InstanceActionViewOptions view_options;
  // Nova's default "os-instance-actions:events" policy: admins see the events.
  view_options.show_events = call.ctx.IsAdmin();
  return JsonResponse(
      200, Json::MakeObject(
               {{"instanceAction", InstanceActionDetailView(*action, view_options)}}));
}

// ---- history (admin time travel) ----------------------------------------------

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

}  // namespace

HttpResponse ComputeApiHandler::ListServersHistory(const Call& call) const {
  Result<HistoryPoint> at = AsOf(*options_.service, call.ctx, call.query);
  if (!at.ok()) return ErrorResponse(at.status());
  Result<std::vector<InstanceState>> servers =
      options_.service->ListServersAsOf(call.ctx, at->seq);
  if (!servers.ok()) return ErrorResponse(servers.status());
  ServerViewOptions view_options;
  view_options.extended_attributes = true;  // admins only
  Json list = Json::MakeArray();
  for (const InstanceState& s : *servers) {
    list.Append(ServerDetailView(call.links, s, view_options));
  }
  return JsonResponse(200, Json::MakeObject({{"as_of", HistoryPointView(*at)},
                                             {"servers", std::move(list)}}));
}

HttpResponse ComputeApiHandler::ShowServerHistory(const Call& call) const {
  const InstanceId id(call.params[0]);
  if (QueryParam(call.query, "as_of") != nullptr) {
    Result<HistoryPoint> at = AsOf(*options_.service, call.ctx, call.query);
    if (!at.ok()) return ErrorResponse(at.status());
    Result<InstanceState> s = options_.service->GetServerAsOf(call.ctx, id, at->seq);
    if (!s.ok()) return ErrorResponse(s.status());
    ServerViewOptions view_options;
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

// ---- flavors ----------------------------------------------------------------

HttpResponse ComputeApiHandler::ListFlavors(const Call& call) const {
  const bool detail = call.view == ListView::kDetail;
  // nova/api/openstack/compute/flavors.py _get_flavors: only admins choose
  // public/private/all; everyone else sees public flavors.
  bool filter_public = true;  // false: public and private alike
  bool want_public = true;
  if (call.ctx.IsAdmin()) {
    if (const std::string* p = QueryParam(call.query, "is_public")) {
      if (Lower(*p) == "none") {
        filter_public = false;
      } else {
        std::optional<bool> b = ParseStrictBool(*p);
        if (!b) return FaultResponse(400, "Invalid is_public filter [" + *p + "]");
        want_public = *b;
      }
    }
  }
  int64_t min_ram = 0, min_disk = 0;
  if (const std::string* v = QueryParam(call.query, "minRam");
      v && !ParsePythonInt(*v, &min_ram)) {
    return FaultResponse(400, "Invalid minRam filter [" + *v + "]");
  }
  if (const std::string* v = QueryParam(call.query, "minDisk");
      v && !ParsePythonInt(*v, &min_disk)) {
    return FaultResponse(400, "Invalid minDisk filter [" + *v + "]");
  }
  Result<int> limit = PageLimit(call);
  if (!limit.ok()) return ErrorResponse(limit.status());

  Result<std::vector<FlavorRecord>> all = options_.service->ListFlavors(call.ctx);
  if (!all.ok()) return ErrorResponse(all.status());
  std::vector<const FlavorRecord*> flavors;
  for (const FlavorRecord& f : *all) {
    // Nova's flavor query: "public" also covers the private flavors the
    // caller's project was given access to.
    if (filter_public && want_public && !f.VisibleTo(call.ctx.project)) continue;
    if (filter_public && !want_public && f.is_public) continue;
    if (f.spec.memory_mb < min_ram || f.spec.root_gb < min_disk) continue;
    flavors.push_back(&f);
  }
  return PagedList(
      "flavors", detail ? "flavors/detail" : "flavors", call.links, call.query, flavors,
      *limit, [](const FlavorRecord& f) { return f.spec.id.str(); },
      [&](const FlavorRecord& f) {
        return detail ? FlavorDetailView(call.links, f) : FlavorBasicView(call.links, f);
      });
}

HttpResponse ComputeApiHandler::ShowFlavor(const Call& call) const {
  Result<FlavorRecord> f =
      options_.service->GetFlavor(call.ctx, FlavorId(call.params[0]));
  if (!f.ok()) return ErrorResponse(f.status());
  return JsonResponse(200,
                      Json::MakeObject({{"flavor", FlavorDetailView(call.links, *f)}}));
}

HttpResponse ComputeApiHandler::ShowFlavorExtraSpecs(const Call& call) const {
  Result<FlavorRecord> f =
      options_.service->GetFlavor(call.ctx, FlavorId(call.params[0]));
  if (!f.ok()) return ErrorResponse(f.status());
  Json specs = Json::MakeObject();
  for (const auto& [k, v] : f->spec.extra_specs) specs[k] = v;
  return JsonResponse(200, Json::MakeObject({{"extra_specs", std::move(specs)}}));
}

// ---- request bodies -------------------------------------------------------------

namespace {

Status FieldError(const std::string& field, const Json& value, const std::string& why) {
  return Status::InvalidArgument("Invalid input for field/attribute " + field +
                                 ". Value: " + value.PythonStr() + ". " + why);
}

// {"<root>": {...}} with only `root` in it; the inner object.
Result<const Json*> RootObject(const Json& body, const std::string& root) {
  if (!body.is_object() || !body.Contains(root)) {
    return Status::InvalidArgument("Invalid input for field/attribute " + root +
                                   ". Value: " + body.PythonStr() + ". '" + root +
                                   "' is a required property");
  }
  for (const auto& [k, v] : body.members()) {
    if (k != root) {
      return Status::InvalidArgument("Additional properties are not allowed ('" + k +
                                     "' was unexpected)");
    }
  }
  const Json* inner = body.Find(root);
  if (!inner->is_object())
    return FieldError(root, *inner, inner->PythonRepr() + " is not of type 'object'");
  return inner;
}

Status NoOtherProperties(const Json& object,
                         std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : object.members()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      return Status::InvalidArgument("Additional properties are not allowed ('" + k +
                                     "' was unexpected)");
    }
  }
  return Status::Ok();
}

// parameter_types.keypair_name_special_chars at 2.1.
Status CheckKeypairName(const Json& v) {
  if (!v.is_string())
    return FieldError("name", v, v.PythonRepr() + " is not of type 'string'");
  const std::string& n = v.as_string();
  if (n.empty()) return FieldError("name", v, "'' is too short");
  if (n.size() > 255) return FieldError("name", v, v.PythonRepr() + " is too long");
  if (n.front() == ' ' || n.back() == ' ') {
    return Status::InvalidArgument(
        "An invalid 'name' value was provided. The name must be: printable characters. "
        "Can not start or end with whitespace.");
  }
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
          c == ' ')) {
      return Status::InvalidArgument(
          "An invalid 'name' value was provided. Only expected characters: [_- "
          "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ]");
    }
  }
  return Status::Ok();
}

// parameter_types volume_size-like: integer or digit string in [minimum, 2^31-1].
Result<int32_t> FlavorInt(const std::string& field, const Json& v, int64_t minimum) {
  int64_t n = 0;
  if (v.is_int()) {
    n = v.as_int();
  } else if (v.is_string()) {
    const std::string& s = v.as_string();
    if (s.empty() ||
        !std::all_of(
            s.begin(), s.end(),
            [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
        !ParsePythonInt(s, &n)) {
      return FieldError(field, v, v.PythonRepr() + " does not match '^[0-9]+$'");
    }
  } else {
    return FieldError(field, v, v.PythonRepr() + " is not of type 'integer', 'string'");
  }
  if (n < minimum) {
    return FieldError(
        field, v,
        v.PythonStr() + " is less than the minimum of " + std::to_string(minimum));
  }
  if (n > 0x7FFFFFFF) {
    return FieldError(field, v,
                      v.PythonStr() + " is greater than the maximum of 2147483647");
  }
  return static_cast<int32_t>(n);
}

// '^(?! )[a-zA-Z0-9. _-]+(?<! )$' of flavor names and ids.
bool IsFlavorToken(const std::string& s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ' ' ||
           c == '_' || c == '-';
  });
}

// A quota_set / quota_class_set body: resource -> limit (common_quota).
Result<std::map<std::string, int64_t>> ParseQuotaLimits(const Json& set, bool* force) {
  std::map<std::string, int64_t> out;
  const auto& names = QuotaResourceNames();
  for (const auto& [k, v] : set.members()) {
    if (k == "force" && force != nullptr) {
      bool b = false;
      if (v.is_bool()) {
        b = v.as_bool();
      } else if (v.is_string() && ParseStrictBool(v.as_string())) {
        b = *ParseStrictBool(v.as_string());
      } else {
        return FieldError("force", v,
                          v.PythonRepr() + " is not of type 'boolean', 'string'");
      }
      *force = b;
      continue;
    }
    if (k == "networks")
      return Status::InvalidArgument("The networks quota has been removed");
    if (std::find(names.begin(), names.end(), k) == names.end()) {
      return Status::InvalidArgument("Additional properties are not allowed ('" + k +
                                     "' was unexpected)");
    }
    int64_t n = 0;
    if (v.is_int()) {
      n = v.as_int();
    } else if (v.is_string()) {
      if (!ParsePythonInt(v.as_string(), &n) ||
          v.as_string().find(' ') != std::string::npos)
        return FieldError(k, v, v.PythonRepr() + " does not match '^-?[0-9]+$'");
    } else {
      return FieldError(k, v, v.PythonRepr() + " is not of type 'integer', 'string'");
    }
    if (n < -1)
      return FieldError(k, v, v.PythonStr() + " is less than the minimum of -1");
    if (n > 0x7FFFFFFF) {
      return FieldError(k, v,
                        v.PythonStr() + " is greater than the maximum of 2147483647");
    }
    out[k] = n;
  }
  return out;
}

Json QuotaSetView(const std::string& id, const std::map<std::string, int64_t>& limits) {
  Json set = Json::MakeObject();
  if (!id.empty()) set["id"] = id;
  for (const std::string& r : QuotaResourceNames()) {
    auto it = limits.find(r);
    if (it != limits.end()) set[r] = it->second;
  }
  return set;
}

Json KeypairView(const KeypairRecord& k, bool with_user) {
  Json v = Json::MakeObject({{"name", k.keypair.name},
                             {"public_key", k.keypair.public_key},
                             {"fingerprint", k.keypair.fingerprint}});
  if (with_user) v["user_id"] = k.keypair.user_id.str();
  return v;
}

Json FlavorAccessView(const FlavorId& id, const std::vector<ProjectId>& projects) {
  Json list = Json::MakeArray();
  for (const ProjectId& p : projects) {
    list.Append(Json::MakeObject({{"flavor_id", id.str()}, {"tenant_id", p.str()}}));
  }
  return Json::MakeObject({{"flavor_access", std::move(list)}});
}

// ?user_id= (admins, or the caller itself; the policy decides).
UserId UserParam(const std::vector<std::pair<std::string, std::string>>& query) {
  const std::string* u = QueryParam(query, "user_id");
  return u ? UserId(*u) : UserId();
}

HttpResponse Accepted() {
  HttpResponse r;
  r.status = 202;
  return r;
}

}  // namespace

// ---- keypairs ---------------------------------------------------------------

HttpResponse ComputeApiHandler::ListKeypairs(const Call& call) const {
  Result<std::vector<KeypairRecord>> all =
      options_.service->ListKeypairs(call.ctx, UserParam(call.query));
  if (!all.ok()) return ErrorResponse(all.status());
  Json list = Json::MakeArray();
  for (const KeypairRecord& k : *all) {
    list.Append(Json::MakeObject({{"keypair", KeypairView(k, false)}}));
  }
  return JsonResponse(200, Json::MakeObject({{"keypairs", std::move(list)}}));
}

HttpResponse ComputeApiHandler::CreateKeypair(const Call& call) const {
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  Result<const Json*> kp = RootObject(*body, "keypair");
  if (!kp.ok()) return ErrorResponse(kp.status());
  const Json& k = **kp;
  const Json* name = k.Find("name");
  if (name == nullptr) {
    return ErrorResponse(FieldError("keypair", k, "'name' is a required property"));
  }
  if (Status s = CheckKeypairName(*name); !s.ok()) return ErrorResponse(s);
  const Json* public_key = k.Find("public_key");
  if (public_key && !public_key->is_string()) {
    return ErrorResponse(
        FieldError("public_key", *public_key,
                   public_key->PythonRepr() + " is not of type 'string'"));
  }
  if (Status s = NoOtherProperties(k, {"name", "public_key"}); !s.ok())
    return ErrorResponse(s);
  CreateKeypairRequest req;
  req.name = name->as_string();
  if (public_key) req.public_key = public_key->as_string();
  Result<CreatedKeypair> created = options_.service->CreateKeypair(call.ctx, req);
  if (!created.ok()) return ErrorResponse(created.status());
  Json view = KeypairView(created->record, true);
  if (!req.public_key) view["private_key"] = created->private_key;
  // Microversion 2.1 answers 200 (201 from 2.2).
  return JsonResponse(200, Json::MakeObject({{"keypair", std::move(view)}}));
}

HttpResponse ComputeApiHandler::ShowKeypair(const Call& call) const {
  Result<KeypairRecord> k =
      options_.service->GetKeypair(call.ctx, UserParam(call.query), call.params[0]);
  if (!k.ok()) return ErrorResponse(k.status());
  Json view = KeypairView(*k, true);
  // Nova shows its database row's bookkeeping; chronova has no row id.
  view["created_at"] = FormatIso8601(k->created_at).substr(0, 26);
  view["updated_at"] = Json();
  view["deleted"] = false;
  view["deleted_at"] = Json();
  view["id"] = 0;
  return JsonResponse(200, Json::MakeObject({{"keypair", std::move(view)}}));
}

HttpResponse ComputeApiHandler::DeleteKeypair(const Call& call) const {
  Status s =
      options_.service->DeleteKeypair(call.ctx, UserParam(call.query), call.params[0]);
  if (!s.ok()) return ErrorResponse(s);
  return Accepted();  // 202 at microversion 2.1 (204 from 2.2)
}

// ---- flavor administration ----------------------------------------------------

HttpResponse ComputeApiHandler::CreateFlavor(const Call& call) const {
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  Result<const Json*> root = RootObject(*body, "flavor");
  if (!root.ok()) return ErrorResponse(root.status());
  const Json& f = **root;
  for (const char* required : {"name", "ram", "vcpus", "disk"}) {
    if (!f.Contains(required)) {
      return ErrorResponse(FieldError(
          "flavor", f, std::string("'") + required + "' is a required property"));
    }
  }
  CreateFlavorRequest req;
  const Json& name = *f.Find("name");
  if (!name.is_string())
    return ErrorResponse(
        FieldError("name", name, name.PythonRepr() + " is not of type 'string'"));
  if (name.as_string().empty() || name.as_string().size() > 255 ||
      !IsFlavorToken(name.as_string())) {
    return ErrorResponse(FieldError(
        "name", name,
        name.PythonRepr() + " does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'"));
  }
  req.name = name.as_string();
  if (const Json* id = f.Find("id"); id && !id->is_null()) {
    std::string text;
    if (id->is_string()) {
      text = id->as_string();
    } else if (id->is_number()) {
      text = id->PythonRepr();
    } else {
      return ErrorResponse(FieldError(
          "id", *id, id->PythonRepr() + " is not of type 'string', 'number', 'null'"));
    }
    if (text.empty() || text.size() > 255 || !IsFlavorToken(text)) {
      return ErrorResponse(FieldError(
          "id", *id,
          id->PythonRepr() + " does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'"));
    }
    req.id = text;
  }
  struct IntField {
    const char* name;
    int64_t minimum;
    int32_t* out;
  };
  for (const IntField& field :
       {IntField{"ram", 1, &req.memory_mb}, IntField{"vcpus", 1, &req.vcpus},
        IntField{"disk", 0, &req.root_gb},
        IntField{"OS-FLV-EXT-DATA:ephemeral", 0, &req.ephemeral_gb},
        IntField{"swap", 0, &req.swap_mb}}) {
    const Json* v = f.Find(field.name);
    if (v == nullptr) continue;
    Result<int32_t> n = FlavorInt(field.name, *v, field.minimum);
    if (!n.ok()) return ErrorResponse(n.status());
    *field.out = *n;
  }
  if (const Json* p = f.Find("os-flavor-access:is_public")) {
    if (p->is_bool()) {
      req.is_public = p->as_bool();
    } else if (p->is_string() && ParseStrictBool(p->as_string())) {
      req.is_public = *ParseStrictBool(p->as_string());
    } else {
      return ErrorResponse(
          FieldError("os-flavor-access:is_public", *p,
                     p->PythonRepr() + " is not of type 'boolean', 'string'"));
    }
  }
  if (Status s = NoOtherProperties(
          f, {"name", "id", "ram", "vcpus", "disk", "OS-FLV-EXT-DATA:ephemeral", "swap",
              "rxtx_factor", "os-flavor-access:is_public"});
      !s.ok()) {
    return ErrorResponse(s);
  }
  Result<FlavorRecord> created = options_.service->CreateFlavor(call.ctx, req);
  if (!created.ok()) return ErrorResponse(created.status());
  return JsonResponse(
      200, Json::MakeObject({{"flavor", FlavorDetailView(call.links, *created)}}));
}

HttpResponse ComputeApiHandler::DeleteFlavor(const Call& call) const {
  Status s = options_.service->DeleteFlavor(call.ctx, FlavorId(call.params[0]));
  if (!s.ok()) return ErrorResponse(s);
  return Accepted();
}

HttpResponse ComputeApiHandler::ListFlavorAccess(const Call& call) const {
  const FlavorId id(call.params[0]);
  Result<std::vector<ProjectId>> access =
      options_.service->ListFlavorAccess(call.ctx, id);
  if (!access.ok()) return ErrorResponse(access.status());
  return JsonResponse(200, FlavorAccessView(id, *access));
}

HttpResponse ComputeApiHandler::FlavorAction(const Call& call) const {
  const FlavorId id(call.params[0]);
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  for (const char* action : {"addTenantAccess", "removeTenantAccess"}) {
    const Json* args = body->is_object() ? body->Find(action) : nullptr;
    if (args == nullptr) continue;
    const bool add = std::string_view(action) == "addTenantAccess";
    Status denied =
        Authorize(call.ctx, add ? "os_compute_api:os-flavor-access:add_tenant_access"
                                : "os_compute_api:os-flavor-access:remove_tenant_access");
    if (!denied.ok()) return ErrorResponse(denied);
    const Json* tenant = args->is_object() ? args->Find("tenant") : nullptr;
    if (!args->is_object()) {
      return ErrorResponse(
          FieldError(action, *args, args->PythonRepr() + " is not of type 'object'"));
    }
    if (tenant == nullptr) {
      return ErrorResponse(FieldError(action, *args, "'tenant' is a required property"));
    }
    if (!tenant->is_string() || tenant->as_string().empty() ||
        tenant->as_string().size() > 255) {
      return ErrorResponse(FieldError(
          "tenant", *tenant,
          tenant->is_string() ? tenant->PythonRepr() + " is too short"
                              : tenant->PythonRepr() + " is not of type 'string'"));
    }
    const ProjectId project(tenant->as_string());
    Result<std::vector<ProjectId>> access =
        add ? options_.service->AddFlavorAccess(call.ctx, id, project)
            : options_.service->RemoveFlavorAccess(call.ctx, id, project);
    if (!access.ok()) return ErrorResponse(access.status());
    return JsonResponse(200, FlavorAccessView(id, *access));
  }
  return FaultResponse(
      400, "There is no such action: " + (body->is_object() && body->size() > 0
                                              ? body->members().front().first
                                              : std::string("None")));
}

namespace {

// flavors_extraspecs schema: keys 1..255 of [a-zA-Z0-9-_:. ], values strings
// (or numbers/booleans, turned into strings as Nova's controller does) 0..255.
Result<std::map<std::string, std::string>> ParseExtraSpecs(const Json& specs,
                                                           const std::string& field) {
  if (!specs.is_object()) {
    return FieldError(field, specs, specs.PythonRepr() + " is not of type 'object'");
  }
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : specs.members()) {
    bool key_ok =
        !k.empty() && k.size() <= 255 && std::all_of(k.begin(), k.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                 c == ':' || c == '.' || c == ' ';
        });
    if (!key_ok) {
      return Status::InvalidArgument("Invalid input for field/attribute " + field +
                                     ". Value: " + specs.PythonStr() + ". '" + k +
                                     "' does not match any of the regexes: "
                                     "'^[a-zA-Z0-9-_:. ]{1,255}$'");
    }
    std::string value;
    if (v.is_string()) {
      value = v.as_string();
    } else if (v.is_number()) {
      value = v.PythonRepr();
    } else if (v.is_bool()) {
      value = v.as_bool() ? "True" : "False";
    } else {
      return FieldError(k, v,
                        v.PythonRepr() + " is not of type 'string', 'number', 'boolean'");
    }
    if (value.size() > 255) return FieldError(k, v, v.PythonRepr() + " is too long");
    out[k] = value;
  }
  return out;
}

Json ExtraSpecsJson(const std::map<std::string, std::string>& specs) {
  Json out = Json::MakeObject();
  for (const auto& [k, v] : specs) out[k] = v;
  return out;
}

}  // namespace

HttpResponse ComputeApiHandler::CreateFlavorExtraSpecs(const Call& call) const {
  Status denied = Authorize(call.ctx, "os_compute_api:os-flavor-extra-specs:create");
  if (!denied.ok()) return ErrorResponse(denied);
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  Result<const Json*> root = RootObject(*body, "extra_specs");
  if (!root.ok()) return ErrorResponse(root.status());
  Result<std::map<std::string, std::string>> specs =
      ParseExtraSpecs(**root, "extra_specs");
  if (!specs.ok()) return ErrorResponse(specs.status());
  Status s =
      options_.service->SetFlavorExtraSpecs(call.ctx, FlavorId(call.params[0]), *specs);
  if (!s.ok()) return ErrorResponse(s);
  return JsonResponse(200, Json::MakeObject({{"extra_specs", ExtraSpecsJson(*specs)}}));
}

HttpResponse ComputeApiHandler::ShowFlavorExtraSpec(const Call& call) const {
  const FlavorId id(call.params[0]);
  const std::string& key = call.params[1];
  Result<FlavorRecord> f = options_.service->GetFlavor(call.ctx, id);
  if (!f.ok()) return ErrorResponse(f.status());
  auto it = f->spec.extra_specs.find(key);
  if (it == f->spec.extra_specs.end()) {
    return FaultResponse(
        404, "Flavor " + id.str() + " has no extra specs with key " + key + ".");
  }
  return JsonResponse(200, Json::MakeObject({{key, it->second}}));
}

HttpResponse ComputeApiHandler::UpdateFlavorExtraSpec(const Call& call) const {
  Status denied = Authorize(call.ctx, "os_compute_api:os-flavor-extra-specs:update");
  if (!denied.ok()) return ErrorResponse(denied);
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  if (!body->is_object() || body->size() != 1) {
    return ErrorResponse(Status::InvalidArgument(
        "Invalid input for field/attribute extra_specs. Value: " + body->PythonStr() +
        (body->is_object() && body->size() > 1
             ? ". " + body->PythonRepr() + " has too many properties"
             : ". " + body->PythonRepr() + " does not have enough properties")));
  }
  Result<std::map<std::string, std::string>> specs =
      ParseExtraSpecs(*body, "extra_specs");
  if (!specs.ok()) return ErrorResponse(specs.status());
  if (!specs->count(call.params[1]))
    return FaultResponse(400, "Request body and URI mismatch");
  Status s =
      options_.service->SetFlavorExtraSpecs(call.ctx, FlavorId(call.params[0]), *specs);
  if (!s.ok()) return ErrorResponse(s);
  return JsonResponse(200, ExtraSpecsJson(*specs));
}

HttpResponse ComputeApiHandler::DeleteFlavorExtraSpec(const Call& call) const {
  Status s = options_.service->DeleteFlavorExtraSpec(call.ctx, FlavorId(call.params[0]),
                                                     call.params[1]);
  if (!s.ok()) return ErrorResponse(s);
  HttpResponse r;
  r.status = 200;  // Nova answers 200 with no body here
  return r;
}

// ---- quotas and limits --------------------------------------------------------

HttpResponse ComputeApiHandler::ShowQuotas(const Call& call) const {
  const std::string& project = call.params[0];
  Result<std::map<std::string, QuotaValue>> q = options_.service->GetQuotas(
      call.ctx, ProjectId(project), UserParam(call.query), /*usages=*/false);
  if (!q.ok()) return ErrorResponse(q.status());
  std::map<std::string, int64_t> limits;
  for (const auto& [k, v] : *q) limits[k] = v.limit;
  return JsonResponse(200,
                      Json::MakeObject({{"quota_set", QuotaSetView(project, limits)}}));
}

HttpResponse ComputeApiHandler::ShowQuotasDetail(const Call& call) const {
  const std::string& project = call.params[0];
  Result<std::map<std::string, QuotaValue>> q = options_.service->GetQuotas(
      call.ctx, ProjectId(project), UserParam(call.query), /*usages=*/true);
  if (!q.ok()) return ErrorResponse(q.status());
  Json set = Json::MakeObject({{"id", project}});
  for (const std::string& r : QuotaResourceNames()) {
    auto it = q->find(r);
    if (it == q->end()) continue;
    set[r] = Json::MakeObject({{"in_use", it->second.in_use},
                               {"limit", it->second.limit},
                               {"reserved", it->second.reserved}});
  }
  return JsonResponse(200, Json::MakeObject({{"quota_set", std::move(set)}}));
}

HttpResponse ComputeApiHandler::ShowQuotaDefaults(const Call& call) const {
  const std::string& project = call.params[0];
  Result<std::map<std::string, int64_t>> d =
      options_.service->DefaultQuotas(call.ctx, ProjectId(project));
  if (!d.ok()) return ErrorResponse(d.status());
  return JsonResponse(200, Json::MakeObject({{"quota_set", QuotaSetView(project, *d)}}));
}

HttpResponse ComputeApiHandler::UpdateQuotas(const Call& call) const {
  const ProjectId project(call.params[0]);
  Status denied =
      Authorize(call.ctx, "os_compute_api:os-quota-sets:update", {project, {}});
  if (!denied.ok()) return ErrorResponse(denied);
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  Result<const Json*> root = RootObject(*body, "quota_set");
  if (!root.ok()) return ErrorResponse(root.status());
  bool force = false;
  Result<std::map<std::string, int64_t>> limits = ParseQuotaLimits(**root, &force);
  if (!limits.ok()) return ErrorResponse(limits.status());
  Result<std::map<std::string, int64_t>> after = options_.service->UpdateQuotas(
      call.ctx, project, UserParam(call.query), *limits, force);
  if (!after.ok()) return ErrorResponse(after.status());
  return JsonResponse(200, Json::MakeObject({{"quota_set", QuotaSetView("", *after)}}));
}

HttpResponse ComputeApiHandler::DeleteQuotas(const Call& call) const {
  Status s = options_.service->DeleteQuotas(call.ctx, ProjectId(call.params[0]),
                                            UserParam(call.query));
  if (!s.ok()) return ErrorResponse(s);
  return Accepted();
}

HttpResponse ComputeApiHandler::ShowQuotaClass(const Call& call) const {
  Result<std::map<std::string, int64_t>> c =
      options_.service->GetQuotaClass(call.ctx, call.params[0]);
  if (!c.ok()) return ErrorResponse(c.status());
  return JsonResponse(
      200, Json::MakeObject({{"quota_class_set", QuotaSetView(call.params[0], *c)}}));
}

HttpResponse ComputeApiHandler::UpdateQuotaClass(const Call& call) const {
  Status denied = Authorize(call.ctx, "os_compute_api:os-quota-class-sets:update");
  if (!denied.ok()) return ErrorResponse(denied);
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  Result<const Json*> root = RootObject(*body, "quota_class_set");
  if (!root.ok()) return ErrorResponse(root.status());
  Result<std::map<std::string, int64_t>> limits = ParseQuotaLimits(**root, nullptr);
  if (!limits.ok()) return ErrorResponse(limits.status());
  Result<std::map<std::string, int64_t>> after =
      options_.service->UpdateQuotaClass(call.ctx, call.params[0], *limits);
  if (!after.ok()) return ErrorResponse(after.status());
  return JsonResponse(200,
                      Json::MakeObject({{"quota_class_set", QuotaSetView("", *after)}}));
}

HttpResponse ComputeApiHandler::ShowLimits(const Call& call) const {
  std::optional<ProjectId> tenant;
  if (const std::string* t = QueryParam(call.query, "tenant_id")) tenant = ProjectId(*t);
  Result<std::map<std::string, QuotaValue>> q =
      options_.service->GetLimits(call.ctx, tenant);
  if (!q.ok()) return ErrorResponse(q.status());
  auto limit = [&](const char* r) { return q->count(r) ? q->at(r).limit : -1; };
  auto used = [&](const char* r) { return q->count(r) ? q->at(r).in_use : 0; };
  Json absolute = Json::MakeObject({
      {"maxImageMeta", limit("metadata_items")},
      {"maxPersonality", limit("injected_files")},
      {"maxPersonalitySize", limit("injected_file_content_bytes")},
      {"maxSecurityGroupRules", limit("security_group_rules")},
      {"maxSecurityGroups", limit("security_groups")},
      {"maxServerGroupMembers", limit("server_group_members")},
      {"maxServerGroups", limit("server_groups")},
      {"maxServerMeta", limit("metadata_items")},
      {"maxTotalCores", limit("cores")},
      {"maxTotalFloatingIps", limit("floating_ips")},
      {"maxTotalInstances", limit("instances")},
      {"maxTotalKeypairs", limit("key_pairs")},
      {"maxTotalRAMSize", limit("ram")},
      {"totalCoresUsed", used("cores")},
      {"totalFloatingIpsUsed", 0},
      {"totalInstancesUsed", used("instances")},
      {"totalRAMUsed", used("ram")},
      {"totalSecurityGroupsUsed", 0},
      {"totalServerGroupsUsed", 0},
  });
  return JsonResponse(
      200, Json::MakeObject(
               {{"limits", Json::MakeObject({{"rate", Json::MakeArray()},
                                             {"absolute", std::move(absolute)}})}}));
}

// ---- images -----------------------------------------------------------------

HttpResponse ComputeApiHandler::ListImages(const Call& call) const {
  const bool detail = call.view == ListView::kDetail;
  Result<int> limit = PageLimit(call);
  if (!limit.ok()) return ErrorResponse(limit.status());
  Result<std::vector<ImageRecord>> all = options_.service->ListImages(call.ctx);
  if (!all.ok()) return ErrorResponse(all.status());
  // Glance's default order: newest first.
  std::vector<const ImageRecord*> images;
  const std::string* name = QueryParam(call.query, "name");
  const std::string* status = QueryParam(call.query, "status");
  // nova/api/openstack/compute/images.py _get_filters: server (a server id or
  // URL) is the instance_uuid property, type the image_type property.
  const std::string* server = QueryParam(call.query, "server");
  const std::string* type = QueryParam(call.query, "type");
  auto property = [](const ImageRecord& i, const char* key) {
    auto it = i.image.properties.find(key);
    return it == i.image.properties.end() ? std::string() : it->second;
  };
  for (const ImageRecord& i : *all) {
    if (name && i.image.name != *name) continue;
    if (status && i.status != Lower(*status)) continue;
    if (server && property(i, "instance_uuid") != LastSegment(*server)) continue;
    if (type && property(i, "image_type") != *type) continue;
    images.push_back(&i);
  }
  std::stable_sort(images.begin(), images.end(),
                   [](const ImageRecord* a, const ImageRecord* b) {
                     if (a->created_at != b->created_at)
                       return a->created_at > b->created_at;
                     return a->image.image_id > b->image.image_id;
                   });
  return PagedList(
      "images", detail ? "images/detail" : "images", call.links, call.query, images,
      *limit, [](const ImageRecord& i) { return i.image.image_id.str(); },
      [&](const ImageRecord& i) {
        return detail ? ImageDetailView(call.links, i) : ImageBasicView(call.links, i);
      });
}

HttpResponse ComputeApiHandler::ShowImage(const Call& call) const {
  Result<ImageRecord> i = options_.service->GetImage(call.ctx, ImageId(call.params[0]));
  if (!i.ok()) {
    // nova/api/openstack/compute/images.py words its 404 itself.
    if (i.status().IsNotFound()) return FaultResponse(404, "Image not found.");
    return ErrorResponse(i.status());
  }
  return JsonResponse(200,
                      Json::MakeObject({{"image", ImageDetailView(call.links, *i)}}));
}

HttpResponse ComputeApiHandler::DeleteImage(const Call& call) const {
  if (options_.images == nullptr) return FaultResponse(404, "Image not found.");
  Status st = options_.images->Delete(call.ctx, ImageId(call.params[0]));
  if (!st.ok()) {
    if (st.IsNotFound()) return FaultResponse(404, "Image not found.");
    return ErrorResponse(st);
  }
  HttpResponse r;
  r.status = 204;
  return r;
}

// ---- image metadata (nova/api/openstack/compute/image_metadata.py) -----------

Result<ImageRecord> ComputeApiHandler::GetImageForMetadata(const Call& call) const {
  if (options_.images == nullptr) return Status::NotFound("Image not found.");
  Result<ImageRecord> image = options_.images->Get(call.ctx, ImageId(call.params[0]));
  if (!image.ok() && image.status().IsNotFound())
    return Status::NotFound("Image not found.");
  return image;
}

// The custom properties after `change`: merged in, or replacing them all, or one
// removed (404 "Invalid metadata key" if it is not there); 403 past the
// metadata items limit servers have too (Nova's
// check_img_metadata_properties_quota). Applied
// as an Image API patch, so the image's own history records it (image.updated).
Result<ImageRecord> ComputeApiHandler::ChangeImageMetadata(
    const Call& call, const MetadataChange& change) const {
  CHRONOVA_ASSIGN_OR_RETURN(ImageRecord image, GetImageForMetadata(call));
  const std::map<std::string, std::string>& before = image.image.properties;
  std::vector<std::string> removed;
  if (change.removed) {
    if (!before.count(*change.removed)) return Status::NotFound("Invalid metadata key");
    removed.push_back(*change.removed);
  }
  const std::map<std::string, std::string> after =
      MetadataAfter(before, change.set, change.replace, removed);
  if (after.size() > options_.service->metadata_items_limit()) {
    return Status::PermissionDenied("Image metadata limit exceeded");
  }
  std::vector<ImagePatchOp> patch;
  for (const auto& [k, v] : before) {
    if (!after.count(k)) patch.push_back({ImagePatchOp::Kind::kRemove, "/" + k, Json()});
  }
  for (const auto& [k, v] : after) {
    auto was = before.find(k);
    if (was == before.end() || was->second != v)
      patch.push_back({ImagePatchOp::Kind::kAdd, "/" + k, Json(v)});
  }
  if (patch.empty()) return image;
  return options_.images->Update(call.ctx, ImageId(call.params[0]), patch);
}

HttpResponse ComputeApiHandler::ListImageMetadata(const Call& call) const {
  Result<ImageRecord> image = GetImageForMetadata(call);
  if (!image.ok()) return ErrorResponse(image.status());
  return JsonResponse(
      200, Json::MakeObject({{"metadata", MetadataJson(image->image.properties)}}));
}

HttpResponse ComputeApiHandler::ShowImageMetadataItem(const Call& call) const {
  Result<ImageRecord> image = GetImageForMetadata(call);
  if (!image.ok()) return ErrorResponse(image.status());
  auto it = image->image.properties.find(call.params[1]);
  // Nova raises a bare HTTPNotFound: webob's own message.
  if (it == image->image.properties.end())
    return FaultResponse(404, "The resource could not be found.");
  return JsonResponse(
      200, Json::MakeObject({{"meta", MetadataJson({{it->first, it->second}})}}));
}

HttpResponse ComputeApiHandler::WriteImageMetadata(const Call& call, int kind) const {
  return WriteMetadata(
      *call.http, call.params, static_cast<MetadataWrite>(kind),
      [&](const MetadataChange& change) -> Result<std::map<std::string, std::string>> {
        CHRONOVA_ASSIGN_OR_RETURN(ImageRecord image, ChangeImageMetadata(call, change));
        return std::move(image.image.properties);
      });
}

HttpResponse ComputeApiHandler::MergeImageMetadata(const Call& call) const {
  return WriteImageMetadata(call, static_cast<int>(MetadataWrite::kMerge));
}

HttpResponse ComputeApiHandler::ReplaceImageMetadata(const Call& call) const {
  return WriteImageMetadata(call, static_cast<int>(MetadataWrite::kReplace));
}

HttpResponse ComputeApiHandler::SetImageMetadataItem(const Call& call) const {
  return WriteImageMetadata(call, static_cast<int>(MetadataWrite::kItem));
}

HttpResponse ComputeApiHandler::DeleteImageMetadataItem(const Call& call) const {
  Result<ImageRecord> image =
      ChangeImageMetadata(call, MetadataChange{{}, false, call.params[1]});
  if (!image.ok()) return ErrorResponse(image.status());
  HttpResponse r;
  r.status = 204;
  return r;
}

// ---- helpers ----------------------------------------------------------------

Result<int> ComputeApiHandler::PageLimit(const Call& call) const {
  const std::string* text = QueryParam(call.query, "limit");
  if (text == nullptr) return options_.max_limit;
  // nova/utils.py validate_integer(value, 'limit', min_value=0).
  int64_t value = 0;
  if (!ParsePythonInt(*text, &value)) {
    return Status::InvalidArgument("Invalid input received: limit must be an integer");
  }
  if (value < 0)
    return Status::InvalidArgument("Invalid input received: limit must be >= 0");
  return static_cast<int>(std::min<int64_t>(value, options_.max_limit));
}

std::string ComputeApiHandler::NewAdminPassword() const {
  // nova/utils.py generate_password: 12 characters, at least one of each
  // group, shuffled. A secret needs a CSPRNG, which Env (ids, not secrets)
  // does not promise, so this reads OpenSSL's.
  static const std::string kGroups[] = {"23456789", "ABCDEFGHJKLMNPQRSTUVWXYZ",
                                        "abcdefghijkmnopqrstuvwxyz"};
  const std::string all = kGroups[0] + kGroups[1] + kGroups[2];
  auto uniform = [](uint32_t n) -> uint32_t {
    // Rejection sampling: no modulo bias.
    const uint32_t bound = UINT32_MAX - UINT32_MAX % n;
    for (;;) {
      uint32_t r = 0;
      if (RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof(r)) != 1) return 0;
      if (r < bound) return r % n;
    }
  };
  std::string pass;
  for (const std::string& g : kGroups)
    pass.push_back(g[uniform(static_cast<uint32_t>(g.size()))]);
  while (pass.size() < 12)
    pass.push_back(all[uniform(static_cast<uint32_t>(all.size()))]);
  for (size_t i = pass.size() - 1; i > 0; --i) {
    std::swap(pass[i], pass[uniform(static_cast<uint32_t>(i + 1))]);
  }
  return pass;
}

}  // namespace chronova
