// IdentityHandler: the Identity v3 API (the part of Keystone that OpenStack
// clients need) as a function from HttpRequest to HttpResponse, in front of
// IdentityService: version discovery, POST/GET/HEAD/DELETE /v3/auth/tokens,
// the service catalog, and admin reads of users, projects, roles, role
// assignments and domains. Keystone's JSON shapes and error bodies
// ({"error": {"code", "message", "title"}}). Served by an HttpServer.
//
// Thread-safety: Handle may be called concurrently.
#pragma once

#include <string>
#include <vector>

#include "api/http/http_message.h"
#include "api/http/json.h"
#include "api/http/router.h"
#include "api/identity/identity_service.h"

namespace chronova {

// One service in the catalog; its URL is offered on the public, internal and
// admin interfaces of the region.
struct CatalogService {
  std::string type;  // "identity", "compute", "image"
  std::string name;  // "keystone", "nova", "glance"
  std::string url;   // e.g. "http://127.0.0.1:8774/v2.1"
};

struct IdentityHandlerOptions {
  IdentityService* service = nullptr;  // REQUIRED; borrowed
  Env* env = Env::Default();           // request ids
  std::vector<CatalogService> catalog;
  std::string region = "RegionOne";
  // The identity endpoint without "/v3" (links, WWW-Authenticate); empty: the
  // request's own base URL.
  std::string public_url;
};

class IdentityHandler {
 public:
  explicit IdentityHandler(IdentityHandlerOptions options);

  // Never fails: errors become Keystone's error bodies. Every response carries
  // x-openstack-request-id.
  HttpResponse Handle(const HttpRequest& request) const;

  // The token body of `token` ({"token": {...}}), Keystone's shape.
  Json TokenBody(const TokenPayload& token, const std::vector<std::string>& audit_ids,
                 bool with_catalog) const;
  // The catalog as it appears in tokens and GET /v3/auth/catalog.
  Json Catalog() const;

 private:
  struct Call;
  HttpResponse Dispatch(const HttpRequest& request, const std::string& request_id) const;
  HttpResponse IssueToken(const HttpRequest& request) const;
  // The token named by X-Subject-Token, valid and one the caller may act on
  // under `policy`; otherwise the Keystone answer (400, 404, 403) in *refused.
  Result<TokenPayload> SubjectToken(const Call& call, const char* policy,
                                    HttpResponse* refused) const;
  HttpResponse CheckToken(const Call& call) const;
  HttpResponse RevokeToken(const Call& call) const;
  // The admin and self-service reads (GET and HEAD).
  HttpResponse AuthCatalog(const Call& call) const;
  HttpResponse AuthProjects(const Call& call) const;
  HttpResponse AuthDomains(const Call& call) const;
  HttpResponse ListUsers(const Call& call) const;
  HttpResponse ShowUser(const Call& call) const;
  HttpResponse ListProjects(const Call& call) const;
  HttpResponse ShowProject(const Call& call) const;
  HttpResponse ListRoles(const Call& call) const;
  HttpResponse ListRoleAssignments(const Call& call) const;
  HttpResponse ListDomains(const Call& call) const;
  HttpResponse ShowDomain(const Call& call) const;
  HttpResponse CreateCredential(const Call& call) const;
  HttpResponse ListCredentials(const Call& call) const;
  HttpResponse ShowCredential(const Call& call) const;
  HttpResponse DeleteCredential(const Call& call) const;
  HttpResponse CreateEc2(const Call& call) const;
  HttpResponse ListEc2(const Call& call) const;
  HttpResponse ShowEc2(const Call& call) const;
  HttpResponse DeleteEc2(const Call& call) const;
  Result<IdentityService::Ec2Credential> UserEc2(const Call& call) const;

  using Method = HttpResponse (IdentityHandler::*)(const Call&) const;
  const IdentityHandlerOptions options_;
  Router<Method> routes_;
};

}  // namespace chronova
