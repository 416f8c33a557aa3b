#include "api/compute/common.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "api/auth/policy.h"
#include "api/service/admin_service.h"

namespace chronova {

const std::string* QueryParam(const QueryList& query, const std::string& name) {
  const std::string* found = nullptr;
  for (const auto& [k, v] : query) {
    if (k == name) found = &v;
  }
  return found;
}

std::vector<std::string> QueryParams(const QueryList& query, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : query) {
    if (k == name) out.push_back(v);
  }
  return out;
}

UserId UserParam(const QueryList& query) {
  const std::string* u = QueryParam(query, "user_id");
  return u ? UserId(*u) : UserId();
}

bool ParsePythonInt(const std::string& text, int64_t* out) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  if (b < e && text[b] == '+') ++b;
  if (b == e) return false;
  auto [ptr, ec] = std::from_chars(text.data() + b, text.data() + e, *out);
  return ec == std::errc() && ptr == text.data() + e;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Strip(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string LastSegment(const std::string& ref) {
  size_t slash = ref.find_last_of('/');
  return slash == std::string::npos ? ref : ref.substr(slash + 1);
}

Result<Json> ParseBody(const HttpRequest& http) {
  if (http.body.empty()) return Json();
  Result<Json> parsed = Json::Parse(http.body);
  if (!parsed.ok()) return Status::InvalidArgument("Malformed request body");
  return parsed;
}

HttpResponse NoMethodForVersion() {
  return FaultResponse(404, "The resource could not be found.");
}

HttpResponse EmptyResponse(int status) {
  HttpResponse r;
  r.status = status;
  return r;
}

ServerViewOptions BaseViewOptions(const ComputeCall& call) {
  ServerViewOptions o;
  o.version = call.version;
  o.flavor_extra_specs =
      Authorize(call.ctx, "os_compute_api:os-flavor-extra-specs:index").ok();
  return o;
}

// The view of GET /servers/{id} and /servers/detail at the call's version:
// extended attributes for admins, and from 2.16 the host's status where the
// policy allows (each host looked up once per request).
ServerViewOptions ShowViewOptions(const ComputeCall& call,
                                  const ComputeApiOptions& options) {
  ServerViewOptions o = BaseViewOptions(call);
  o.extended_attributes = call.ctx.IsAdmin();
  if (call.version >= ApiVersion{2, 16} && options.admin != nullptr &&
      Authorize(call.ctx, "os_compute_api:servers:show:host_status").ok()) {
    auto cache = std::make_shared<std::map<HostName, std::string>>();
    AdminService* admin = options.admin;
    o.host_status = [cache, admin](const HostName& host) {
      auto it = cache->find(host);
      if (it != cache->end()) return it->second;
      Result<std::string> found = admin->HostStatus(host);
      std::string status = found.ok() ? *found : "UNKNOWN";
      (*cache)[host] = status;
      return status;
    };
  }
  return o;
}

Result<ServerViewOptions> ShownWithGroups(const ComputeCall& call,
                                          const ComputeApiOptions& options,
                                          const InstanceId& id) {
  ServerViewOptions o = ShowViewOptions(call, options);
  if (call.version >= ApiVersion{2, 71}) {
    CHRONOVA_ASSIGN_OR_RETURN(o.server_groups, options.service->ServerGroupsOf(id));
  }
  return o;
}

Result<ServerViewOptions> ChangedServerViewOptions(const ComputeCall& call,
                                                   const ComputeApiOptions& options,
                                                   const InstanceId& id) {
  if (call.version >= ApiVersion{2, 75}) return ShownWithGroups(call, options, id);
  ServerViewOptions o = BaseViewOptions(call);
  o.all_attributes = false;
  if (call.version >= ApiVersion{2, 71}) {
    CHRONOVA_ASSIGN_OR_RETURN(o.server_groups, options.service->ServerGroupsOf(id));
  }
  return o;
}

ComputeHandler UpTo(ApiVersion last, ComputeHandler handler) {
  return [last, handler = std::move(handler)](const ComputeCall& call) {
    return call.version > last ? NoMethodForVersion() : handler(call);
  };
}

std::optional<HttpResponse> RefuseUnknownQuery(
    const ComputeCall& call, std::initializer_list<std::string_view> allowed,
    ApiVersion since) {
  if (call.version < since) return std::nullopt;
  for (const auto& [k, v] : call.query) {
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
    return FaultResponse(
        400, "Invalid input for query parameters " + k + ". Value: " + v +
                 ". Additional properties are not allowed ('" + k + "' was unexpected)");
  }
  return std::nullopt;
}

Result<ChangesWindow> ChangesWindowOf(const ComputeCall& call) {
  ChangesWindow w;
  for (const char* name : {"changes-since", "changes-before"}) {
    const std::string* text = QueryParam(call.query, name);
    if (text == nullptr) continue;
    if (std::string_view(name) == "changes-before" && call.version < ApiVersion{2, 66}) {
      continue;
    }
    Timestamp t;
    if (!ParseIso8601(*text, &t)) {
      return Status::InvalidArgument(std::string("Invalid input for query parameters ") +
                                     name + ". Value: " + *text + ". " +
                                     Json(*text).PythonRepr() + " is not a 'date-time'");
    }
    (std::string_view(name) == "changes-since" ? w.since : w.before) = t;
  }
  if (w.since && w.before && *w.before < *w.since) {
    return Status::InvalidArgument(
        "The value of changes-since must be less than or equal to changes-before.");
  }
  return w;
}

Result<int> ComputeResource::PageLimit(const ComputeCall& call) const {
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

std::string ComputeResource::NewAdminPassword() const {
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
