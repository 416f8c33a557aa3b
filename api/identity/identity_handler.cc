#include "api/identity/identity_handler.h"

#include <algorithm>

#include "api/auth/policy.h"
#include "api/http/json_response.h"
#include "projections/credentials_projection.h"

namespace chronova {
namespace {

constexpr char kUnauthorized[] = "The request you have made requires authentication.";
constexpr char kVersionUpdated[] = "2020-04-07T00:00:00Z";

HttpResponse ErrorResponse(int code, const std::string& message) {
  return JsonResponse(
      code,
      Json::MakeObject({{"error", Json::MakeObject({{"code", code},
                                                    {"message", message},
                                                    {"title", ReasonPhrase(code)}})}}));
}

HttpResponse StatusResponse(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return ErrorResponse(400, s.message());
    case StatusCode::kPermissionDenied:
      return ErrorResponse(403, s.message());
    case StatusCode::kNotFound:
      return ErrorResponse(404, s.message());
    case StatusCode::kConflict:
      return ErrorResponse(409, s.message());
    case StatusCode::kUnavailable:
      return ErrorResponse(503, s.message());
    default:
      return ErrorResponse(500,
                           "An unexpected error prevented the server from fulfilling "
                           "your request: " +
                               s.ToString());
  }
}

// The string member `key` of `obj`, or "" (InvalidArgument if not a string).
Result<std::string> StringField(const Json* obj, const char* key,
                                const std::string& where) {
  if (obj == nullptr || !obj->is_object()) return std::string();
  const Json* v = obj->Find(key);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string()) {
    return Status::InvalidArgument("Invalid input for field '" + where + "/" + key +
                                   "': " + v->PythonRepr() + " is not of type 'string'");
  }
  return v->as_string();
}

Result<const Json*> ObjectField(const Json* obj, const char* key,
                                const std::string& where, bool required) {
  const Json* v = obj == nullptr ? nullptr : obj->Find(key);
  if (v == nullptr) {
    if (!required) return v;
    return Status::InvalidArgument("Invalid input for field '" + where + "': '" + key +
                                   "' is a required property");
  }
  if (!v->is_object()) {
    return Status::InvalidArgument("Invalid input for field '" + where + "/" + key +
                                   "': " + v->PythonRepr() + " is not of type 'object'");
  }
  return v;
}

// Keystone's auth body (keystone/api/schemas ... auth token_issue) into an AuthRequest.
Result<AuthRequest> ParseAuthRequest(const std::string& body) {
  Result<Json> parsed = Json::Parse(body);
  if (!parsed.ok() || !parsed->is_object()) {
    return Status::InvalidArgument(
        "Expecting to find auth in request body. The server could not comply with the "
        "request since it is either malformed or otherwise incorrect. The client is "
        "assumed to be in error.");
  }
  AuthRequest r;
  CHRONOVA_ASSIGN_OR_RETURN(const Json* auth, ObjectField(&*parsed, "auth", "", true));
  CHRONOVA_ASSIGN_OR_RETURN(const Json* identity,
                            ObjectField(auth, "identity", "auth", true));
  const Json* methods = identity->Find("methods");
  if (methods == nullptr || !methods->is_array()) {
    return Status::InvalidArgument(
        "Invalid input for field 'auth/identity/methods': 'methods' is a required "
        "property and must be an array");
  }
  for (const Json& m : methods->items()) {
    if (!m.is_string()) {
      return Status::InvalidArgument("Invalid input for field 'auth/identity/methods': " +
                                     m.PythonRepr() + " is not of type 'string'");
    }
    if (m.as_string() != "password" && m.as_string() != "token") {
      return Status::InvalidArgument(
          "Attempted to authenticate with an unsupported "
          "method.");
    }
    r.methods.push_back(m.as_string());
  }
  if (std::find(r.methods.begin(), r.methods.end(), "password") != r.methods.end()) {
    const std::string where = "auth/identity/password";
    CHRONOVA_ASSIGN_OR_RETURN(const Json* password,
                              ObjectField(identity, "password", "auth/identity", true));
    CHRONOVA_ASSIGN_OR_RETURN(const Json* user,
                              ObjectField(password, "user", where, true));
    CHRONOVA_ASSIGN_OR_RETURN(r.user_id, StringField(user, "id", where + "/user"));
    CHRONOVA_ASSIGN_OR_RETURN(r.user_name, StringField(user, "name", where + "/user"));
    CHRONOVA_ASSIGN_OR_RETURN(r.password, StringField(user, "password", where + "/user"));
    CHRONOVA_ASSIGN_OR_RETURN(const Json* domain,
                              ObjectField(user, "domain", where + "/user", false));
    CHRONOVA_ASSIGN_OR_RETURN(r.user_domain_id, StringField(domain, "id", where));
    CHRONOVA_ASSIGN_OR_RETURN(r.user_domain_name, StringField(domain, "name", where));
  }
  if (std::find(r.methods.begin(), r.methods.end(), "token") != r.methods.end()) {
    CHRONOVA_ASSIGN_OR_RETURN(const Json* token,
                              ObjectField(identity, "token", "auth/identity", true));
    CHRONOVA_ASSIGN_OR_RETURN(r.token, StringField(token, "id", "auth/identity/token"));
  }
  if (const Json* scope = auth->Find("scope"); scope != nullptr && !scope->is_null()) {
    if (scope->is_string() && scope->as_string() == "unscoped") {
      r.unscoped = true;
      return r;
    }
    CHRONOVA_ASSIGN_OR_RETURN(const Json* s, ObjectField(auth, "scope", "auth", true));
    if (s->Contains("domain") || s->Contains("system") || s->Contains("OS-TRUST:trust")) {
      return Status::InvalidArgument(
          "chronova's identity service supports only project "
          "scope");
    }
    CHRONOVA_ASSIGN_OR_RETURN(const Json* project,
                              ObjectField(s, "project", "auth/scope", false));
    CHRONOVA_ASSIGN_OR_RETURN(r.project_id,
                              StringField(project, "id", "auth/scope/project"));
    CHRONOVA_ASSIGN_OR_RETURN(r.project_name,
                              StringField(project, "name", "auth/scope/project"));
    CHRONOVA_ASSIGN_OR_RETURN(
        const Json* domain, ObjectField(project, "domain", "auth/scope/project", false));
    CHRONOVA_ASSIGN_OR_RETURN(r.project_domain_id,
                              StringField(domain, "id", "auth/scope/project/domain"));
    CHRONOVA_ASSIGN_OR_RETURN(r.project_domain_name,
                              StringField(domain, "name", "auth/scope/project/domain"));
  }
  return r;
}

Json DefaultDomainRef() {
  return Json::MakeObject({{"id", kDefaultDomainId}, {"name", kDefaultDomainName}});
}

Json ListLinks(const std::string& self) {
  return Json::MakeObject({{"self", self}, {"previous", nullptr}, {"next", nullptr}});
}

}  // namespace

namespace {

HttpResponse Forbidden(const char* action) {
  return ErrorResponse(
      403, std::string("You are not authorized to perform the requested action: ") +
               action + ".");
}

Json UserJson(const std::string& v3, const IdentityUser& u) {
  return Json::MakeObject(
      {{"id", u.id.str()},
       {"name", u.name},
       {"domain_id", kDefaultDomainId},
       {"enabled", true},
       {"default_project_id", u.project_id.str()},
       {"password_expires_at", nullptr},
       {"options", Json::MakeObject()},
       {"links", Json::MakeObject({{"self", v3 + "/users/" + u.id.str()}})}});
}

Json ProjectJson(const std::string& v3, const IdentityProject& p) {
  return Json::MakeObject(
      {{"id", p.id.str()},
       {"name", p.name},
       {"domain_id", kDefaultDomainId},
       {"description", ""},
       {"enabled", true},
       {"parent_id", kDefaultDomainId},
       {"is_domain", false},
       {"tags", Json::MakeArray()},
       {"options", Json::MakeObject()},
       {"links", Json::MakeObject({{"self", v3 + "/projects/" + p.id.str()}})}});
}

Json DomainJson(const std::string& v3) {
  return Json::MakeObject(
      {{"id", kDefaultDomainId},
       {"name", kDefaultDomainName},
       {"description", "The default domain"},
       {"enabled", true},
       {"tags", Json::MakeArray()},
       {"options", Json::MakeObject()},
       {"links", Json::MakeObject({{"self", v3 + "/domains/default"}})}});
}

// The first value of `name` in the request's query, or null (Keystone's
// Flask reads the first of a repeated parameter).
const std::string* QueryValue(
    const std::vector<std::pair<std::string, std::string>>& query,
    const std::string& name) {
  for (const auto& [k, v] : query) {
    if (k == name) return &v;
  }
  return nullptr;
}

}  // namespace

struct IdentityHandler::Call {
  const HttpRequest* http = nullptr;
  RequestContext ctx;
  TokenPayload token;               // the caller's X-Auth-Token
  std::string base;                 // identity endpoint, without /v3
  std::vector<std::string> params;  // the route's "*" segments
};

IdentityHandler::IdentityHandler(IdentityHandlerOptions options)
    : options_(std::move(options)) {
  // POST auth/tokens needs no token; Dispatch answers it before authenticating.
  routes_.Add("POST", "auth/tokens", nullptr);
  for (const char* m : {"GET", "HEAD"})
    routes_.Add(m, "auth/tokens", &IdentityHandler::CheckToken);
  routes_.Add("DELETE", "auth/tokens", &IdentityHandler::RevokeToken);
  for (const char* m : {"GET", "HEAD"})
    routes_.Add(m, "auth/catalog", &IdentityHandler::AuthCatalog);
  for (const char* m : {"GET", "HEAD"})
    routes_.Add(m, "auth/projects", &IdentityHandler::AuthProjects);
  for (const char* m : {"GET", "HEAD"})
    routes_.Add(m, "auth/domains", &IdentityHandler::AuthDomains);
  for (const char* m : {"GET", "HEAD"})
    routes_.Add(m, "users", &IdentityHandler::ListUsers);
  for (const char* m : {"GET", "HEAD"})
    routes_.Add(m, "users/*", &IdentityHandler::ShowUser);
  for (const char* m : {"GET", "HEAD"})
    routes_.Add(m, "projects", &IdentityHandler::ListProjects);
  for (const char* m : {"GET", "HEAD"})
    routes_.Add(m, "projects/*", &IdentityHandler::ShowProject);
  for (const char* m : {"GET", "HEAD"})
    routes_.Add(m, "roles", &IdentityHandler::ListRoles);
  for (const char* m : {"GET", "HEAD"})
    routes_.Add(m, "role_assignments", &IdentityHandler::ListRoleAssignments);
  for (const char* m : {"GET", "HEAD"})
    routes_.Add(m, "domains", &IdentityHandler::ListDomains);
  for (const char* m : {"GET", "HEAD"})
    routes_.Add(m, "domains/*", &IdentityHandler::ShowDomain);
  // Credentials: Keystone's /v3/credentials and the OS-EC2 extension.
  routes_.Add("POST", "credentials", &IdentityHandler::CreateCredential);
  for (const char* m : {"GET", "HEAD"})
    routes_.Add(m, "credentials", &IdentityHandler::ListCredentials);
  for (const char* m : {"GET", "HEAD"})
    routes_.Add(m, "credentials/*", &IdentityHandler::ShowCredential);
  routes_.Add("DELETE", "credentials/*", &IdentityHandler::DeleteCredential);
  routes_.Add("POST", "users/*/credentials/OS-EC2", &IdentityHandler::CreateEc2);
  for (const char* m : {"GET", "HEAD"})
    routes_.Add(m, "users/*/credentials/OS-EC2", &IdentityHandler::ListEc2);
  for (const char* m : {"GET", "HEAD"})
    routes_.Add(m, "users/*/credentials/OS-EC2/*", &IdentityHandler::ShowEc2);
  routes_.Add("DELETE", "users/*/credentials/OS-EC2/*", &IdentityHandler::DeleteEc2);
}

HttpResponse IdentityHandler::Handle(const HttpRequest& request) const {
  const std::string request_id = "req-" + options_.env->NewUuid();
  HttpResponse response = Dispatch(request, request_id);
  response.headers.Set("x-openstack-request-id", request_id);
  if (request.method == "HEAD") response.body.clear();
  return response;
}

Json IdentityHandler::Catalog() const {
  Json catalog = Json::MakeArray();
  for (const CatalogService& s : options_.catalog) {
    Json endpoints = Json::MakeArray();
    for (const char* interface : {"public", "internal", "admin"}) {
      endpoints.Append(Json::MakeObject(
          {{"id", DeriveIdentityId("endpoint", s.type + "/" + interface)},
           {"interface", interface},
           {"region_id", options_.region},
           {"url", s.url},
           {"region", options_.region}}));
    }
    catalog.Append(Json::MakeObject({{"endpoints", std::move(endpoints)},
                                     {"id", DeriveIdentityId("service", s.type)},
                                     {"type", s.type},
                                     {"name", s.name}}));
  }
  return catalog;
}

Json IdentityHandler::TokenBody(const TokenPayload& t,
                                const std::vector<std::string>& audit_ids,
                                bool with_catalog) const {
  const IdentityDirectory& dir = options_.service->directory();
  const IdentityUser* user = dir.FindUser(t.user_id);
  Json methods = Json::MakeArray();
  for (const std::string& m : t.methods) methods.Append(m);
  Json token = Json::MakeObject({{"methods", std::move(methods)}});
  token["user"] = Json::MakeObject({{"domain", DefaultDomainRef()},
                                    {"id", t.user_id.str()},
                                    {"name", user ? user->name : t.user_id.str()},
                                    {"password_expires_at", nullptr}});
  Json audit = Json::MakeArray();
  for (const std::string& a : audit_ids) audit.Append(a);
  token["audit_ids"] = std::move(audit);
  token["expires_at"] = FormatIso8601(t.expires_at);
  token["issued_at"] = FormatIso8601(t.issued_at);
  if (!t.project_id.str().empty()) {
    const IdentityProject* project = dir.FindProject(t.project_id);
    token["project"] = Json::MakeObject({{"domain", DefaultDomainRef()},
                                         {"id", t.project_id.str()},
                                         {"name", project ? project->name : ""}});
    token["is_domain"] = false;
    Json roles = Json::MakeArray();
    for (const std::string& r : t.roles) {
      const IdentityRole* role = dir.FindRoleByName(r);
      roles.Append(Json::MakeObject(
          {{"id", role ? role->id : DeriveIdentityId("role", r)}, {"name", r}}));
    }
    token["roles"] = std::move(roles);
    if (with_catalog) token["catalog"] = Catalog();
  }
  return Json::MakeObject({{"token", std::move(token)}});
}

HttpResponse IdentityHandler::Dispatch(const HttpRequest& request,
                                       const std::string& request_id) const {
  if (std::max(request.body.size(), request.declared_length) > 114688) {
    return ErrorResponse(413, "Request is too large.");
  }
  const std::string base =
      options_.public_url.empty() ? request.base_url : options_.public_url;
  const bool read = request.method == "GET" || request.method == "HEAD";
  Json version = Json::MakeObject(
      {{"id", "v3.14"},
       {"status", "stable"},
       {"updated", kVersionUpdated},
       {"links",
        Json::MakeArray({Json::MakeObject({{"rel", "self"}, {"href", base + "/v3/"}})})},
       {"media-types", Json::MakeArray({Json::MakeObject(
                           {{"base", "application/json"},
                            {"type", "application/vnd.openstack.identity-v3+json"}})})}});
  std::vector<std::string> segments = SplitPath(request.path);
  if (segments.empty()) {
    if (!read)
      return ErrorResponse(405, "The method is not allowed for the requested URL.");
    HttpResponse r = JsonResponse(
        300,
        Json::MakeObject(
            {{"versions", Json::MakeObject({{"values", Json::MakeArray({version})}})}}));
    r.headers.Set("Location", base + "/v3/");
    return r;
  }
  if (segments[0] != "v3") return ErrorResponse(404, "The resource could not be found.");
  std::vector<std::string> rest(segments.begin() + 1, segments.end());
  if (rest.empty()) {
    if (!read)
      return ErrorResponse(405, "The method is not allowed for the requested URL.");
    return JsonResponse(200, Json::MakeObject({{"version", version}}));
  }
  RouteMatch<Method> route = routes_.Find(request.method, rest);
  if (route.found() && *route.handler == nullptr) {
    HttpResponse r = IssueToken(request);
    r.route = std::move(route.pattern);
    return r;
  }

  // Everything else needs a valid X-Auth-Token.
  const std::string* header = request.headers.Find("X-Auth-Token");
  Result<TokenPayload> caller =
      header ? options_.service->Validate(*header)
             : Result<TokenPayload>(Status::PermissionDenied(kUnauthorized));
  if (!caller.ok()) {
    if (caller.status().code() != StatusCode::kPermissionDenied) {
      return StatusResponse(caller.status());
    }
    HttpResponse r = ErrorResponse(401, kUnauthorized);
    r.headers.Set("WWW-Authenticate", "Keystone uri=\"" + base + "\"");
    return r;
  }
  if (!route.found()) {
    if (!route.method_not_allowed())
      return ErrorResponse(404, "The resource could not be found.");
    HttpResponse r =
        ErrorResponse(405, "The method is not allowed for the requested URL.");
    r.headers.Set("Allow", route.AllowHeader());
    return r;
  }
  Call call;
  call.http = &request;
  call.token = *caller;
  call.ctx.user = caller->user_id;
  call.ctx.project = caller->project_id;
  call.ctx.roles = caller->roles;
  call.ctx.request_id = RequestId(request_id);
  call.base = base;
  call.params = std::move(route.params);
  HttpResponse r = (this->**route.handler)(call);
  r.route = std::move(route.pattern);
  return r;
}

HttpResponse IdentityHandler::IssueToken(const HttpRequest& request) const {
  Result<AuthRequest> auth = ParseAuthRequest(request.body);
  if (!auth.ok()) return StatusResponse(auth.status());
  Result<IssuedToken> issued = options_.service->Authenticate(*auth);
  if (!issued.ok()) {
    if (issued.status().code() == StatusCode::kPermissionDenied) {
      return ErrorResponse(401, kUnauthorized);
    }
    return StatusResponse(issued.status());
  }
  bool nocatalog = false;
  for (const auto& [k, v] : ParseQuery(request.query)) nocatalog |= k == "nocatalog";
  HttpResponse r =
      JsonResponse(201, TokenBody(issued->payload, issued->audit_ids, !nocatalog));
  r.headers.Set("X-Subject-Token", issued->token);
  return r;
}

Result<TokenPayload> IdentityHandler::SubjectToken(const Call& call, const char* policy,
                                                   HttpResponse* refused) const {
  const std::string* subject = call.http->headers.Find("X-Subject-Token");
  if (subject == nullptr) {
    *refused =
        ErrorResponse(400, "Expecting to find X-Subject-Token in request headers.");
    return Status::InvalidArgument("no X-Subject-Token");
  }
  Result<TokenPayload> t = options_.service->Validate(*subject);
  if (!t.ok()) {
    *refused = t.status().code() != StatusCode::kPermissionDenied
                   ? StatusResponse(t.status())
                   : ErrorResponse(404, "Could not find token: " + *subject + ".");
    return t.status();
  }
  Status allowed = Authorize(call.ctx, policy, PolicyTarget{{}, t->user_id});
  if (!allowed.ok()) {
    *refused =
        ErrorResponse(403, std::string("You are not authorized to perform the requested "
                                       "action: ") +
                               policy + ".");
    return allowed;
  }
  return t;
}

HttpResponse IdentityHandler::CheckToken(const Call& call) const {
  HttpResponse refused;
  Result<TokenPayload> t = SubjectToken(call, "identity:validate_token", &refused);
  if (!t.ok()) return refused;
  const std::string& subject = *call.http->headers.Find("X-Subject-Token");
  bool nocatalog = false;
  for (const auto& [k, v] : ParseQuery(call.http->query)) nocatalog |= k == "nocatalog";
  HttpResponse r = JsonResponse(200, TokenBody(*t, {t->audit_id}, !nocatalog));
  r.headers.Set("X-Subject-Token", subject);
  return r;
}

HttpResponse IdentityHandler::RevokeToken(const Call& call) const {
  HttpResponse refused;
  Result<TokenPayload> t = SubjectToken(call, "identity:revoke_token", &refused);
  if (!t.ok()) return refused;
  Status revoked = options_.service->Revoke(*t, call.ctx);
  if (!revoked.ok()) return StatusResponse(revoked);
  HttpResponse r;
  r.status = 204;
  return r;
}

HttpResponse IdentityHandler::AuthCatalog(const Call& call) const {
  const std::string v3 = call.base + "/v3";
  return JsonResponse(
      200, Json::MakeObject(
               {{"catalog", Catalog()}, {"links", ListLinks(v3 + "/auth/catalog")}}));
}

HttpResponse IdentityHandler::AuthProjects(const Call& call) const {
  const IdentityDirectory& dir = options_.service->directory();
  const std::string v3 = call.base + "/v3";
  Json list = Json::MakeArray();
  if (const IdentityUser* u = dir.FindUser(call.token.user_id)) {
    if (const IdentityProject* p = dir.FindProject(u->project_id))
      list.Append(ProjectJson(v3, *p));
  }
  return JsonResponse(200,
                      Json::MakeObject({{"projects", std::move(list)},
                                        {"links", ListLinks(v3 + "/auth/projects")}}));
}

HttpResponse IdentityHandler::AuthDomains(const Call& call) const {
  const std::string v3 = call.base + "/v3";
  return JsonResponse(200,
                      Json::MakeObject({{"domains", Json::MakeArray()},
                                        {"links", ListLinks(v3 + "/auth/domains")}}));
}

HttpResponse IdentityHandler::ListUsers(const Call& call) const {
  const IdentityDirectory& dir = options_.service->directory();
  const std::string v3 = call.base + "/v3";
  const std::vector<std::pair<std::string, std::string>> query =
      ParseQuery(call.http->query);
  if (!Authorize(call.ctx, "identity:list_users").ok())
    return Forbidden("identity:list_users");
  const std::string* name = QueryValue(query, "name");
  Json list = Json::MakeArray();
  for (const IdentityUser& u : dir.users()) {
    if (name == nullptr || *name == u.name) list.Append(UserJson(v3, u));
  }
  return JsonResponse(200, Json::MakeObject({{"users", std::move(list)},
                                             {"links", ListLinks(v3 + "/users")}}));
}

HttpResponse IdentityHandler::ShowUser(const Call& call) const {
  const IdentityDirectory& dir = options_.service->directory();
  const std::string v3 = call.base + "/v3";
  const IdentityUser* u = dir.FindUser(UserId(call.params[0]));
  if (!Authorize(call.ctx, "identity:get_user", PolicyTarget{{}, UserId(call.params[0])})
           .ok()) {
    return Forbidden("identity:get_user");
  }
  if (u == nullptr)
    return ErrorResponse(404, "Could not find user: " + call.params[0] + ".");
  return JsonResponse(200, Json::MakeObject({{"user", UserJson(v3, *u)}}));
}

HttpResponse IdentityHandler::ListProjects(const Call& call) const {
  const IdentityDirectory& dir = options_.service->directory();
  const std::string v3 = call.base + "/v3";
  const std::vector<std::pair<std::string, std::string>> query =
      ParseQuery(call.http->query);
  if (!Authorize(call.ctx, "identity:list_projects").ok()) {
    return Forbidden("identity:list_projects");
  }
  const std::string* name = QueryValue(query, "name");
  Json list = Json::MakeArray();
  for (const IdentityProject& p : dir.projects()) {
    if (name == nullptr || *name == p.name) list.Append(ProjectJson(v3, p));
  }
  return JsonResponse(200, Json::MakeObject({{"projects", std::move(list)},
                                             {"links", ListLinks(v3 + "/projects")}}));
}

HttpResponse IdentityHandler::ShowProject(const Call& call) const {
  const IdentityDirectory& dir = options_.service->directory();
  const std::string v3 = call.base + "/v3";
  if (!Authorize(call.ctx, "identity:get_project",
                 PolicyTarget{ProjectId(call.params[0]), {}})
           .ok()) {
    return Forbidden("identity:get_project");
  }
  const IdentityProject* p = dir.FindProject(ProjectId(call.params[0]));
  if (p == nullptr)
    return ErrorResponse(404, "Could not find project: " + call.params[0] + ".");
  return JsonResponse(200, Json::MakeObject({{"project", ProjectJson(v3, *p)}}));
}

HttpResponse IdentityHandler::ListRoles(const Call& call) const {
  const IdentityDirectory& dir = options_.service->directory();
  const std::string v3 = call.base + "/v3";
  if (!Authorize(call.ctx, "identity:list_roles").ok())
    return Forbidden("identity:list_roles");
  Json list = Json::MakeArray();
  for (const IdentityRole& r : dir.roles()) {
    list.Append(Json::MakeObject(
        {{"id", r.id},
         {"name", r.name},
         {"domain_id", nullptr},
         {"description", nullptr},
         {"options", Json::MakeObject()},
         {"links", Json::MakeObject({{"self", v3 + "/roles/" + r.id}})}}));
  }
  return JsonResponse(200, Json::MakeObject({{"roles", std::move(list)},
                                             {"links", ListLinks(v3 + "/roles")}}));
}

HttpResponse IdentityHandler::ListRoleAssignments(const Call& call) const {
  const IdentityDirectory& dir = options_.service->directory();
  const std::string v3 = call.base + "/v3";
  const std::vector<std::pair<std::string, std::string>> query =
      ParseQuery(call.http->query);
  if (!Authorize(call.ctx, "identity:list_role_assignments").ok()) {
    return Forbidden("identity:list_role_assignments");
  }
  const std::string* user_filter = QueryValue(query, "user.id");
  const std::string* project_filter = QueryValue(query, "scope.project.id");
  const std::string* names = QueryValue(query, "include_names");
  const bool include_names = names != nullptr && *names != "0" && *names != "false";
  Json list = Json::MakeArray();
  for (const IdentityUser& u : dir.users()) {
    if (user_filter && *user_filter != u.id.str()) continue;
    if (project_filter && *project_filter != u.project_id.str()) continue;
    for (const std::string& name : u.roles) {
      const IdentityRole* role = dir.FindRoleByName(name);
      if (role == nullptr) continue;
      Json role_ref = Json::MakeObject({{"id", role->id}});
      Json user_ref = Json::MakeObject({{"id", u.id.str()}});
      Json project_ref = Json::MakeObject({{"id", u.project_id.str()}});
      if (include_names) {  // ?include_names: what `openstack role assignment list
                            // --names` reads
        role_ref["name"] = role->name;
        user_ref["name"] = u.name;
        user_ref["domain"] = DefaultDomainRef();
        project_ref["name"] = u.project_name;
        project_ref["domain"] = DefaultDomainRef();
      }
      list.Append(Json::MakeObject(
          {{"role", std::move(role_ref)},
           {"user", std::move(user_ref)},
           {"scope", Json::MakeObject({{"project", std::move(project_ref)}})},
           {"links",
            Json::MakeObject(
                {{"assignment", v3 + "/projects/" + u.project_id.str() + "/users/" +
                                    u.id.str() + "/roles/" + role->id}})}}));
    }
  }
  return JsonResponse(200,
                      Json::MakeObject({{"role_assignments", std::move(list)},
                                        {"links", ListLinks(v3 + "/role_assignments")}}));
}

HttpResponse IdentityHandler::ListDomains(const Call& call) const {
  const std::string v3 = call.base + "/v3";
  if (!Authorize(call.ctx, "identity:list_domains").ok()) {
    return Forbidden("identity:list_domains");
  }
  return JsonResponse(200,
                      Json::MakeObject({{"domains", Json::MakeArray({DomainJson(v3)})},
                                        {"links", ListLinks(v3 + "/domains")}}));
}

HttpResponse IdentityHandler::ShowDomain(const Call& call) const {
  const std::string v3 = call.base + "/v3";
  if (!Authorize(call.ctx, "identity:get_domain").ok())
    return Forbidden("identity:get_domain");
  if (call.params[0] != kDefaultDomainId) {
    return ErrorResponse(404, "Could not find domain: " + call.params[0] + ".");
  }
  return JsonResponse(200, Json::MakeObject({{"domain", DomainJson(v3)}}));
}

// ---- credentials -------------------------------------------------------------

namespace {

// Keystone's /v3/credentials view: the EC2 blob carries the secret, as
// Keystone shows it to the credential's owner.
Json CredentialJson(const std::string& v3, const IdentityService::Ec2Credential& c) {
  Json blob = Json::MakeObject({{"access", c.access}, {"secret", c.secret}});
  return Json::MakeObject(
      {{"blob", blob.Dump()},
       {"id", c.credential_id},
       {"links", Json::MakeObject({{"self", v3 + "/credentials/" + c.credential_id}})},
       {"project_id", c.project_id.str()},
       {"type", "ec2"},
       {"user_id", c.user_id.str()}});
}

// The OS-EC2 view.
Json Ec2Json(const std::string& v3, const IdentityService::Ec2Credential& c) {
  return Json::MakeObject(
      {{"access", c.access},
       {"links", Json::MakeObject({{"self", v3 + "/users/" + c.user_id.str() +
                                                "/credentials/OS-EC2/" + c.access}})},
       {"secret", c.secret},
       {"tenant_id", c.project_id.str()},
       {"trust_id", nullptr},
       {"user_id", c.user_id.str()}});
}

// The body's object member `root`; InvalidArgument in Keystone's words.
Result<Json> BodyObject(const HttpRequest& http, const char* root) {
  Result<Json> body = Json::Parse(http.body);
  if (!body.ok() || !body->is_object()) {
    return Status::InvalidArgument("The request body must be a JSON object.");
  }
  if (root == nullptr) return std::move(body).value();
  const Json* inner = body->Find(root);
  if (inner == nullptr || !inner->is_object()) {
    return Status::InvalidArgument(std::string("'") + root + "' is a required property");
  }
  return *inner;
}

std::string StringMember(const Json& obj, const char* key) {
  const Json* v = obj.Find(key);
  return v != nullptr && v->is_string() ? v->as_string() : "";
}

}  // namespace

HttpResponse IdentityHandler::CreateCredential(const Call& call) const {
  Result<Json> c = BodyObject(*call.http, "credential");
  if (!c.ok()) return StatusResponse(c.status());
  const std::string type = StringMember(*c, "type");
  if (type != "ec2") {
    return ErrorResponse(400, "chronova keeps only credentials of type 'ec2'.");
  }
  Result<Json> blob = Json::Parse(StringMember(*c, "blob"));
  if (!blob.ok() || !blob->is_object() || StringMember(*blob, "access").empty()) {
    return ErrorResponse(400, "Invalid blob in credential");
  }
  std::string user = StringMember(*c, "user_id");
  std::string project = StringMember(*c, "project_id");
  if (user.empty()) return ErrorResponse(400, "'user_id' is a required property");
  if (project.empty()) {
    return ErrorResponse(400, "Credential of type 'ec2' must be assigned to a project");
  }
  Result<IdentityService::Ec2Credential> created = options_.service->CreateEc2Credential(
      call.ctx, UserId(user), ProjectId(project), StringMember(*blob, "access"),
      StringMember(*blob, "secret"));
  if (!created.ok()) return StatusResponse(created.status());
  return JsonResponse(
      201,
      Json::MakeObject({{"credential", CredentialJson(call.base + "/v3", *created)}}));
}

HttpResponse IdentityHandler::ListCredentials(const Call& call) const {
  const std::vector<std::pair<std::string, std::string>> query =
      ParseQuery(call.http->query);
  const std::string* user = QueryValue(query, "user_id");
  const std::string* type = QueryValue(query, "type");
  // Keystone filters a non-admin's list to their own credentials.
  UserId who = user ? UserId(*user) : (call.ctx.IsAdmin() ? UserId() : call.ctx.user);
  const std::string v3 = call.base + "/v3";
  Json list = Json::MakeArray();
  if (type == nullptr || *type == "ec2") {
    auto creds = options_.service->ListEc2Credentials(call.ctx, who);
    if (!creds.ok()) return StatusResponse(creds.status());
    for (const auto& c : *creds) list.Append(CredentialJson(v3, c));
  }
  return JsonResponse(200, Json::MakeObject({{"credentials", std::move(list)},
                                             {"links", ListLinks(v3 + "/credentials")}}));
}

HttpResponse IdentityHandler::ShowCredential(const Call& call) const {
  auto c = options_.service->GetEc2Credential(call.ctx, call.params[0]);
  if (!c.ok()) return StatusResponse(c.status());
  return JsonResponse(
      200, Json::MakeObject({{"credential", CredentialJson(call.base + "/v3", *c)}}));
}

HttpResponse IdentityHandler::DeleteCredential(const Call& call) const {
  Status st = options_.service->DeleteEc2Credential(call.ctx, call.params[0]);
  if (!st.ok()) return StatusResponse(st);
  HttpResponse r;
  r.status = 204;
  return r;
}

HttpResponse IdentityHandler::CreateEc2(const Call& call) const {
  Result<Json> body = BodyObject(*call.http, nullptr);
  if (!body.ok()) return StatusResponse(body.status());
  const std::string project = StringMember(*body, "tenant_id");
  if (project.empty()) return ErrorResponse(400, "'tenant_id' is a required property");
  auto created = options_.service->CreateEc2Credential(call.ctx, UserId(call.params[0]),
                                                       ProjectId(project));
  if (!created.ok()) return StatusResponse(created.status());
  return JsonResponse(
      201, Json::MakeObject({{"credential", Ec2Json(call.base + "/v3", *created)}}));
}

HttpResponse IdentityHandler::ListEc2(const Call& call) const {
  auto creds = options_.service->ListEc2Credentials(call.ctx, UserId(call.params[0]));
  if (!creds.ok()) return StatusResponse(creds.status());
  const std::string v3 = call.base + "/v3";
  Json list = Json::MakeArray();
  for (const auto& c : *creds) list.Append(Ec2Json(v3, c));
  return JsonResponse(
      200, Json::MakeObject({{"credentials", std::move(list)},
                             {"links", ListLinks(v3 + "/users/" + call.params[0] +
                                                 "/credentials/OS-EC2")}}));
}

// The user's credential named by its access key (NotFound for another's).
Result<IdentityService::Ec2Credential> IdentityHandler::UserEc2(const Call& call) const {
  auto c = options_.service->GetEc2Credential(call.ctx, Ec2CredentialId(call.params[1]));
  if (!c.ok() || c->user_id.str() != call.params[0]) {
    return Status::NotFound(
        "Could not find credential: " + Ec2CredentialId(call.params[1]) + ".");
  }
  return c;
}

HttpResponse IdentityHandler::ShowEc2(const Call& call) const {
  auto c = UserEc2(call);
  if (!c.ok()) return StatusResponse(c.status());
  return JsonResponse(200,
                      Json::MakeObject({{"credential", Ec2Json(call.base + "/v3", *c)}}));
}

HttpResponse IdentityHandler::DeleteEc2(const Call& call) const {
  auto c = UserEc2(call);
  if (!c.ok()) return StatusResponse(c.status());
  Status st = options_.service->DeleteEc2Credential(call.ctx, c->credential_id);
  if (!st.ok()) return StatusResponse(st);
  HttpResponse r;
  r.status = 204;
  return r;
}

}  // namespace chronova
