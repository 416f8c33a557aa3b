// The EC2 Query API (Amazon EC2, wire version 2016-11-15) on chronova's
// command layer: `aws ec2`, boto3 and other EC2 tools manage chronova servers
// unmodified. Every request is signed (SigV4, api/ec2/sigv4.h) with an EC2
// credential of the Identity service; every change goes through the same
// ComputeService calls, hence the same events, as the Compute API's, under the
// request's EC2 request id. Answers are EC2's XML; errors EC2's
// <Response><Errors> shape with AWS's codes (docs/api.md, "The EC2 API").
//
// EC2 ids name chronova's uuids without a table: i-, ami- and r- followed by
// the first 17 hexadecimal digits of the uuid (r-: Nova's reservation id as
// it is), found again by a prefix lookup in the read models.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "api/http/http_message.h"
#include "api/http/http_server.h"
#include "core/env.h"
#include "core/instance_state.h"
#include "core/request_context.h"
#include "core/status.h"
#include "core/utf8.h"
#include "projections/catalog_projections.h"

namespace chronova {

class AdminService;
class ComputeService;
class IdentityService;
class ImageService;
class ProjectionStore;

struct Ec2ApiOptions {
  // Where to listen: "http://HOST:8788" (EC2 clients sign the path they call:
  // "/" or "/services/Cloud/", both served).
  std::string listen_url;
  int listen_fd = -1;      // a socket handed over (HttpServerOptions::listen_fd)
  bool keep_alive = true;  // Nova's [wsgi] keep_alive (ComputeApiOptions)
  ComputeService* service = nullptr;
  AdminService* admin = nullptr;
  const IdentityService* identity = nullptr;
  const ProjectionStore* store = nullptr;
  ImageService* images = nullptr;  // image tags and DeregisterImage
  Env* env = Env::Default();
  std::string region = "RegionOne";
  // How far a request's X-Amz-Date may be from our clock (AWS: 15 minutes).
  int64_t max_skew_us = int64_t{900} * 1000000;
};

// One EC2 request, authenticated.
struct Ec2Call {
  RequestContext ctx;
  std::string request_id;  // EC2's (a uuid); ctx.request_id is "req-" + it
  std::string action;
  // The request's parameters, decoded ("InstanceId.1" -> "i-...").
  std::map<std::string, std::string> params;
};

// An EC2 error: AWS's code, its HTTP status and a message.
struct Ec2Error {
  int http_status = 400;
  std::string code;
  std::string message;
};

// What an action answers: the inner XML of <{Action}Response> after
// <requestId>, or an error.
using Ec2Result = std::variant<std::string, Ec2Error>;

// The request handler, testable without sockets.
class Ec2Handler {
 public:
  explicit Ec2Handler(Ec2ApiOptions options);
  HttpResponse Handle(const HttpRequest& request) const;

  using Action = std::function<Ec2Result(const Ec2Handler&, const Ec2Call&)>;

  const Ec2ApiOptions& options() const { return options_; }

 private:
  std::map<std::string, Action> actions_;
  Ec2ApiOptions options_;
};

// The EC2 endpoint: an HttpServer running an Ec2Handler.
class Ec2ApiServer {
 public:
  Ec2ApiServer();
  ~Ec2ApiServer();
  Ec2ApiServer(const Ec2ApiServer&) = delete;
  Ec2ApiServer& operator=(const Ec2ApiServer&) = delete;
  Status Start(const Ec2ApiOptions& options);
  void Stop();
  HttpServer* http();

 private:
  std::unique_ptr<Ec2Handler> handler_;
  std::unique_ptr<HttpServer> http_;
};

// ---- shared by the action files (api/ec2/*.cc) -----------------------------

// "i-" + the uuid's first 17 hex digits.
std::string Ec2IdOf(const char* prefix, const std::string& uuid);
// The uuid prefix ("xxxxxxxx-xxxx-xxxx-x") an EC2 id names, if `id` is
// `prefix`-<17 hex digits> (or <8 hex digits>, older ids: "xxxxxxxx"); ""
// otherwise.
std::string UuidPrefixOf(const char* prefix, const std::string& id);
// A key pair's EC2 id: "key-" + 17 hex digits of SHA-256("<user>/<name>").
std::string KeyPairIdOf(const UserId& user, const std::string& name);
// <tagSet><item><key/><value/></item>...</tagSet>, or "" for no tags.
std::string TagSetXml(const std::map<std::string, std::string>& tags);
// <tag>text escaped (XmlEscape, core/utf8.h)</tag>
std::string XmlLeaf(const std::string& tag, const std::string& text);
// AWS's time form: 2026-12-07T10:00:00.000Z.
std::string Ec2Time(Timestamp t);
// A chronova error as EC2's (PermissionDenied: UnauthorizedOperation, or
// InstanceLimitExceeded for a quota; Conflict: IncorrectInstanceState; ...).
Ec2Error Ec2ErrorOf(const Status& st);
Ec2Error InvalidParameter(const std::string& message);
// The parameter's value, or "" when it is absent.
std::string Param(const Ec2Call& call, const std::string& name);
// MissingParameter for `name`.
Ec2Error Missing(const std::string& name);
// The image an ami- id names, if the caller may see it; else the EC2 error
// (InvalidAMIID.Malformed / .NotFound) in *error, or a failed status.
Result<ImageRecord> FindImage(const Ec2Handler& h, const Ec2Call& call,
                              const std::string& ami, Ec2Error* error);
// The flavor an instance type names; else InvalidParameterValue in *error.
Result<FlavorRecord> FindInstanceType(const Ec2Handler& h, const Ec2Call& call,
                                      const std::string& name, Ec2Error* error);
// The values of "<name>.1", "<name>.2" ... in order (EC2's flattened lists).
std::vector<std::string> ListParam(const Ec2Call& call, const std::string& name);
// EC2 filters: Filter.N.Name with its Filter.N.Value.M values.
std::map<std::string, std::vector<std::string>> Filters(const Ec2Call& call);

// The server metadata key that holds EC2's disableApiTermination ("true").
inline constexpr char kDisableApiTermination[] = "ec2:disableApiTermination";

// An instance's EC2 state: AWS's code and name.
struct Ec2State {
  int code;
  const char* name;
};
Ec2State StateOf(const InstanceState& s);
// <tag><code>16</code><name>running</name></tag>
std::string StateXml(const char* tag, Ec2State st);
// The instance `ec2_id` names, if the caller may see it; else the EC2 error
// in *error (InvalidInstanceID.Malformed / .NotFound) or a failed status.
Result<InstanceState> FindInstance(const Ec2Handler& h, const Ec2Call& call,
                                   const std::string& ec2_id, Ec2Error* error);

// The instance actions (api/ec2/ec2_instances.cc), and the images', tags' and
// attributes' (api/ec2/ec2_resources.cc).
void AddInstanceActions(std::map<std::string, Ec2Handler::Action>& actions);
void AddResourceActions(std::map<std::string, Ec2Handler::Action>& actions);

}  // namespace chronova
