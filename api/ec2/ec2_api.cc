// The EC2 endpoint: parse, authenticate (SigV4 against the Identity service's
// EC2 credentials), dispatch, answer XML. The account-wide actions live here
// (regions, zones, instance types, key pairs, images); the instances' in
// api/ec2/ec2_instances.cc.
#include "api/ec2/ec2_api.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "api/ec2/sigv4.h"
#include "api/identity/identity_service.h"
#include "api/service/admin_service.h"
#include "api/service/compute_service.h"
#include "api/service/keypair_crypto.h"
#include "core/utf8.h"

namespace chronova {
namespace {

constexpr char kXmlns[] = "http://ec2.amazonaws.com/doc/2016-11-15/";
// The most parameters one request may carry (EC2's own limit is per list;
// this bounds what a caller can make us hold).
constexpr size_t kMaxParams = 2000;
constexpr size_t kMaxBodyBytes = 114688;

HttpResponse Xml(int status, const std::string& body) {
  HttpResponse r;
  r.status = status;
  r.headers.Set("Content-Type", "text/xml;charset=UTF-8");
  r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + body;
  return r;
}

HttpResponse ErrorXml(const Ec2Error& e, const std::string& request_id) {
  return Xml(e.http_status, "<Response><Errors><Error>" + XmlLeaf("Code", e.code) +
                                XmlLeaf("Message", e.message) + "</Error></Errors>" +
                                XmlLeaf("RequestID", request_id) + "</Response>");
}

// application/x-www-form-urlencoded (or a query string) into `out`; false if
// malformed, not UTF-8 once decoded (a tag or name is shown back in every
// answer) or past kMaxParams.
bool ParseForm(const std::string& form, std::map<std::string, std::string>* out) {
  size_t start = 0;
  while (start <= form.size()) {
    size_t end = form.find('&', start);
    if (end == std::string::npos) end = form.size();
    std::string pair = form.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) {
      if (end == form.size()) break;
      continue;
    }
    for (char& c : pair) {
      if (c == '+') c = ' ';
    }
    size_t eq = pair.find('=');
    std::string k, v;
    if (!UriDecode(pair.substr(0, eq), &k)) return false;
    if (eq != std::string::npos && !UriDecode(pair.substr(eq + 1), &v)) return false;
    if (!IsUtf8(k) || !IsUtf8(v)) return false;
    if (out->size() >= kMaxParams) return false;
    (*out)[k] = v;
    if (end == form.size()) break;
  }
  return true;
}

Ec2Result DescribeRegions(const Ec2Handler& h, const Ec2Call&) {
  return "<regionInfo><item>" + XmlLeaf("regionName", h.options().region) +
         XmlLeaf("regionEndpoint", "") + XmlLeaf("optInStatus", "opt-in-not-required") +
         "</item></regionInfo>";
}

Ec2Result DescribeAvailabilityZones(const Ec2Handler& h, const Ec2Call& call) {
  auto zones = h.options().admin->ListAvailabilityZones(call.ctx, false);
  if (!zones.ok()) return Ec2ErrorOf(zones.status());
  std::vector<std::string> wanted = ListParam(call, "ZoneName");
  auto filters = Filters(call);
  if (auto f = filters.find("zone-name"); f != filters.end()) {
    wanted.insert(wanted.end(), f->second.begin(), f->second.end());
  }
  std::string out = "<availabilityZoneInfo>";
  for (const AvailabilityZoneView& z : *zones) {
    if (!wanted.empty() &&
        std::find(wanted.begin(), wanted.end(), z.name) == wanted.end())
      continue;
    out += "<item>" + XmlLeaf("zoneName", z.name) +
           XmlLeaf("zoneState", z.available ? "available" : "unavailable") +
           XmlLeaf("regionName", h.options().region) + "<messages/></item>";
  }
  return out + "</availabilityZoneInfo>";
}

Ec2Result DescribeInstanceTypes(const Ec2Handler& h, const Ec2Call& call) {
  auto flavors = h.options().service->ListFlavors(call.ctx);
  if (!flavors.ok()) return Ec2ErrorOf(flavors.status());
  std::vector<std::string> wanted = ListParam(call, "InstanceType");
  std::string out = "<instanceTypeSet>";
  for (const FlavorRecord& f : *flavors) {
    if (!wanted.empty() &&
        std::find(wanted.begin(), wanted.end(), f.spec.name) == wanted.end())
      continue;
    out +=
        "<item>" + XmlLeaf("instanceType", f.spec.name) + "<vCpuInfo>" +
        XmlLeaf("defaultVCpus", std::to_string(f.spec.vcpus)) +
        "</vCpuInfo><memoryInfo>" +
        XmlLeaf("sizeInMiB", std::to_string(f.spec.memory_mb)) +
        "</memoryInfo><instanceStorageInfo>" +
        XmlLeaf("totalSizeInGB", std::to_string(f.spec.root_gb + f.spec.ephemeral_gb)) +
        "</instanceStorageInfo>" + XmlLeaf("currentGeneration", "true") +
        XmlLeaf("hypervisor", "kvm") + "</item>";
  }
  return out + "</instanceTypeSet>";
}

std::string KeyPairXml(const KeypairRecord& k) {
  return XmlLeaf("keyName", k.keypair.name) +
         XmlLeaf("keyFingerprint", k.keypair.fingerprint) +
         XmlLeaf("keyPairId", KeyPairIdOf(k.keypair.user_id, k.keypair.name)) +
         TagSetXml(k.tags) +
         XmlLeaf("keyType",
                 k.keypair.public_key.starts_with("ssh-ed25519") ? "ed25519" : "rsa");
}

Ec2Result DescribeKeyPairs(const Ec2Handler& h, const Ec2Call& call) {
  auto keys = h.options().service->ListKeypairs(call.ctx, UserId());
  if (!keys.ok()) return Ec2ErrorOf(keys.status());
  std::vector<std::string> wanted = ListParam(call, "KeyName");
  for (const std::string& name : wanted) {
    bool found = std::any_of(keys->begin(), keys->end(), [&](const KeypairRecord& k) {
      return k.keypair.name == name;
    });
    if (!found) {
      return Ec2Error{400, "InvalidKeyPair.NotFound",
                      "The key pair '" + name + "' does not exist"};
    }
  }
  std::string out = "<keySet>";
  for (const KeypairRecord& k : *keys) {
    if (!wanted.empty() &&
        std::find(wanted.begin(), wanted.end(), k.keypair.name) == wanted.end())
      continue;
    out += "<item>" + KeyPairXml(k) + "</item>";
  }
  return out + "</keySet>";
}

Ec2Result CreateOrImportKeyPair(const Ec2Handler& h, const Ec2Call& call, bool import) {
  CreateKeypairRequest req;
  auto name = call.params.find("KeyName");
  if (name == call.params.end() || name->second.empty()) {
    return Missing("KeyName");
  }
  req.name = name->second;
  if (import) {
    auto material = call.params.find("PublicKeyMaterial");
    if (material == call.params.end()) {
      return Missing("PublicKeyMaterial");
    }
    // Sent base64-encoded (awscli and boto3 encode the file's text).
    std::optional<std::string> key = Base64Decode(material->second);
    req.public_key = key ? *key : material->second;
  }
  auto created = h.options().service->CreateKeypair(call.ctx, req);
  if (!created.ok()) {
    if (created.status().IsConflict()) {
      return Ec2Error{400, "InvalidKeyPair.Duplicate",
                      "The keypair '" + req.name + "' already exists."};
    }
    if (created.status().code() == StatusCode::kInvalidArgument) {
      return Ec2Error{400, "InvalidKey.Format", created.status().message()};
    }
    return Ec2ErrorOf(created.status());
  }
  std::string out = KeyPairXml(created->record);
  if (!import) out += XmlLeaf("keyMaterial", created->private_key);
  return out;
}

Ec2Result DeleteKeyPair(const Ec2Handler& h, const Ec2Call& call) {
  auto name = call.params.find("KeyName");
  if (name == call.params.end()) {
    return Missing("KeyName");
  }
  // As on AWS, deleting a key pair that does not exist succeeds.
  Status st = h.options().service->DeleteKeypair(call.ctx, UserId(), name->second);
  if (!st.ok() && !st.IsNotFound()) return Ec2ErrorOf(st);
  return XmlLeaf("return", "true");
}

Ec2Result DescribeImages(const Ec2Handler& h, const Ec2Call& call) {
  auto images = h.options().service->ListImages(call.ctx);
  if (!images.ok()) return Ec2ErrorOf(images.status());
  std::vector<std::string> wanted = ListParam(call, "ImageId");
  std::vector<std::string> owners = ListParam(call, "Owner");
  std::string out = "<imagesSet>";
  for (const ImageRecord& i : *images) {
    const std::string id = Ec2IdOf("ami", i.image.image_id.str());
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), id) == wanted.end())
      continue;
    const bool mine = i.image.owner == call.ctx.project;
    if (!owners.empty() &&
        std::none_of(owners.begin(), owners.end(), [&](const std::string& o) {
          return (o == "self" && mine) || o == i.image.owner.str();
        })) {
      continue;
    }
    const bool is_public = i.image.visibility == "public";
    out += "<item>" + XmlLeaf("imageId", id) + XmlLeaf("imageLocation", i.image.name) +
           XmlLeaf("imageState", i.status == "active" ? "available" : "pending") +
           XmlLeaf("imageOwnerId", i.image.owner.str()) +
           XmlLeaf("isPublic", is_public ? "true" : "false") +
           XmlLeaf("architecture", "x86_64") + XmlLeaf("imageType", "machine") +
           XmlLeaf("name", i.image.name) + XmlLeaf("rootDeviceType", "instance-store") +
           XmlLeaf("virtualizationType", "hvm") + XmlLeaf("hypervisor", "xen") +
           XmlLeaf("creationDate", Ec2Time(i.created_at)) + "</item>";
  }
  return out + "</imagesSet>";
}

}  // namespace

std::string KeyPairIdOf(const UserId& user, const std::string& name) {
  return "key-" + Sha256Hex(user.str() + "/" + name).substr(0, 17);
}

std::string TagSetXml(const std::map<std::string, std::string>& tags) {
  if (tags.empty()) return "";
  std::string out = "<tagSet>";
  for (const auto& [k, v] : tags) {
    out += "<item>" + XmlLeaf("key", k) + XmlLeaf("value", v) + "</item>";
  }
  return out + "</tagSet>";
}

std::string Ec2IdOf(const char* prefix, const std::string& uuid) {
  std::string hex;
  for (char c : uuid) {
    if (c != '-') hex.push_back(c);
    if (hex.size() == 17) break;
  }
  return std::string(prefix) + "-" + hex;
}

std::string UuidPrefixOf(const char* prefix, const std::string& id) {
  const std::string p = std::string(prefix) + "-";
  // 17 hex digits (today's AWS ids, and ours), or 8 (older ones).
  if (!id.starts_with(p) || (id.size() != p.size() + 17 && id.size() != p.size() + 8)) {
    return "";
  }
  std::string hex = id.substr(p.size());
  if (!std::all_of(hex.begin(), hex.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    return "";
  }
  if (hex.size() == 8) return hex;
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 1);
}

std::string XmlLeaf(const std::string& tag, const std::string& text) {
  return "<" + tag + ">" + XmlEscape(text) + "</" + tag + ">";
}

std::string Ec2Time(Timestamp t) {
  std::time_t secs = static_cast<std::time_t>(t.micros / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                tm.tm_sec, static_cast<int>((t.micros / 1000) % 1000));
  return buf;
}

std::string Param(const Ec2Call& call, const std::string& name) {
  auto it = call.params.find(name);
  return it == call.params.end() ? "" : it->second;
}

Ec2Error Missing(const std::string& name) {
  return Ec2Error{400, "MissingParameter",
                  "The request must contain the parameter " + name};
}

Result<ImageRecord> FindImage(const Ec2Handler& h, const Ec2Call& call,
                              const std::string& ami, Ec2Error* error) {
  if (UuidPrefixOf("ami", ami).empty()) {
    *error = Ec2Error{400, "InvalidAMIID.Malformed", "Invalid id: \"" + ami + "\""};
    return Status::InvalidArgument("malformed");
  }
  auto images = h.options().service->ListImages(call.ctx);
  if (!images.ok()) return images.status();
  for (ImageRecord& i : *images) {
    if (Ec2IdOf("ami", i.image.image_id.str()) == ami) return std::move(i);
  }
  *error = Ec2Error{400, "InvalidAMIID.NotFound",
                    "The image id '[" + ami + "]' does not exist"};
  return Status::NotFound("no such image");
}

Result<FlavorRecord> FindInstanceType(const Ec2Handler& h, const Ec2Call& call,
                                      const std::string& name, Ec2Error* error) {
  auto flavors = h.options().service->ListFlavors(call.ctx);
  if (!flavors.ok()) return flavors.status();
  for (FlavorRecord& f : *flavors) {
    if (f.spec.name == name) return std::move(f);
  }
  *error = InvalidParameter("The instance type '" + name + "' does not exist");
  return Status::NotFound("no such instance type");
}

Ec2Error InvalidParameter(const std::string& message) {
  return Ec2Error{400, "InvalidParameterValue", message};
}

Ec2Error Ec2ErrorOf(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
      return InvalidParameter(st.message());
    case StatusCode::kNotFound:
      return Ec2Error{400, "InvalidParameterValue", st.message()};
    case StatusCode::kConflict:
      return Ec2Error{400, "IncorrectInstanceState", st.message()};
    case StatusCode::kPermissionDenied:
      if (st.message().find("Quota exceeded") != std::string::npos ||
          st.message().find("quota") != std::string::npos) {
        return Ec2Error{400, "InstanceLimitExceeded", st.message()};
      }
      return Ec2Error{403, "UnauthorizedOperation",
                      "You are not authorized to perform this operation."};
    case StatusCode::kUnavailable:
      // 503 is what the SDKs retry.
      return Ec2Error{503, "RequestLimitExceeded", st.message()};
    default:
      return Ec2Error{500, "InternalError",
                      "An internal error has occurred: " + st.ToString()};
  }
}

std::vector<std::string> ListParam(const Ec2Call& call, const std::string& name) {
  std::vector<std::string> out;
  for (size_t i = 1; i <= kMaxParams; ++i) {
    auto it = call.params.find(name + "." + std::to_string(i));
    if (it == call.params.end()) break;
    out.push_back(it->second);
  }
  return out;
}

std::map<std::string, std::vector<std::string>> Filters(const Ec2Call& call) {
  std::map<std::string, std::vector<std::string>> out;
  for (size_t i = 1; i <= kMaxParams; ++i) {
    auto name = call.params.find("Filter." + std::to_string(i) + ".Name");
    if (name == call.params.end()) break;
    std::vector<std::string>& values = out[name->second];
    for (size_t j = 1; j <= kMaxParams; ++j) {
      auto v =
          call.params.find("Filter." + std::to_string(i) + ".Value." + std::to_string(j));
      if (v == call.params.end()) break;
      values.push_back(v->second);
    }
  }
  return out;
}

Ec2Handler::Ec2Handler(Ec2ApiOptions options) : options_(std::move(options)) {
  actions_ = {
      {"DescribeRegions", DescribeRegions},
      {"DescribeAvailabilityZones", DescribeAvailabilityZones},
      {"DescribeInstanceTypes", DescribeInstanceTypes},
      {"DescribeKeyPairs", DescribeKeyPairs},
      {"CreateKeyPair",
       [](const Ec2Handler& h, const Ec2Call& c) {
         return CreateOrImportKeyPair(h, c, false);
       }},
      {"ImportKeyPair",
       [](const Ec2Handler& h, const Ec2Call& c) {
         return CreateOrImportKeyPair(h, c, true);
       }},
      {"DeleteKeyPair", DeleteKeyPair},
      {"DescribeImages", DescribeImages},
  };
  AddInstanceActions(actions_);
  AddResourceActions(actions_);
}

HttpResponse Ec2Handler::Handle(const HttpRequest& request) const {
  const std::string request_id = options_.env->NewUuid();
  auto fail = [&](Ec2Error e) {
    HttpResponse r = ErrorXml(e, request_id);
    r.route = "ec2";
    return r;
  };
  if (request.method != "POST" && request.method != "GET") {
    return fail(
        Ec2Error{405, "UnsupportedOperation", "Use POST (or GET) with an Action."});
  }
  if (request.path != "/" && request.path != "/services/Cloud" &&
      request.path != "/services/Cloud/") {
    return fail(Ec2Error{404, "InvalidAction", "No EC2 endpoint at " + request.path});
  }
  if (std::max(request.body.size(), request.declared_length) > kMaxBodyBytes) {
    return fail(Ec2Error{413, "RequestEntityTooLarge", "The request is too large."});
  }
  // Who is asking, before anything is done: a request is hostile until signed.
  // (The parameters are parsed first, bounded: SigV2 signs them.)
  Ec2Call call;
  if (!ParseForm(request.query, &call.params) ||
      (request.method == "POST" && !ParseForm(request.body, &call.params))) {
    return fail(InvalidParameter("The request's parameters are malformed."));
  }
  SignedRequest signed_request{request.method, request.path, request.query,
                               request.headers.fields(), request.body};
  ParsedSigV4 parsed = ParseSigV4(signed_request);
  ParsedSigV2 v2;
  if (parsed.failure && parsed.failure->code == "MissingAuthenticationToken") {
    v2 = ParseSigV2(call.params);
    if (v2.failure)
      return fail(
          Ec2Error{v2.failure->http_status, v2.failure->code, v2.failure->message});
    if (v2.auth) parsed.failure.reset();
  }
  if (parsed.failure) {
    return fail(Ec2Error{parsed.failure->http_status, parsed.failure->code,
                         parsed.failure->message});
  }
  const std::string& access = v2.auth ? v2.auth->access_key : parsed.auth->access_key;
  Result<IdentityService::Ec2Principal> principal =
      options_.identity->FindEc2Access(access);
  if (!principal.ok()) {
    if (!principal.status().IsNotFound()) return fail(Ec2ErrorOf(principal.status()));
    return fail(Ec2Error{401, "AuthFailure",
                         "AWS was not able to validate the provided access credentials"});
  }
  const std::string* host = request.headers.Find("Host");
  std::optional<SigV4Failure> refused =
      v2.auth ? VerifySigV2(request.method, host ? *host : "", request.path, call.params,
                            *v2.auth, principal->credential.secret, options_.env->Now(),
                            options_.max_skew_us)
              : VerifySigV4(signed_request, *parsed.auth, principal->credential.secret,
                            options_.env->Now(), options_.max_skew_us);
  if (refused)
    return fail(Ec2Error{refused->http_status, refused->code, refused->message});
  call.ctx = principal->context;
  call.request_id = request_id;
  call.ctx.request_id = RequestId("req-" + request_id);
  auto action = call.params.find("Action");
  if (action == call.params.end()) {
    return fail(Ec2Error{400, "MissingAction", "The request must contain an Action."});
  }
  call.action = action->second;
  auto handler = actions_.find(call.action);
  if (handler == actions_.end()) {
    return fail(
        Ec2Error{400, "InvalidAction",
                 "The action " + call.action + " is not valid for this web service."});
  }
  if (auto dry = call.params.find("DryRun");
      dry != call.params.end() && dry->second == "true") {
    return fail(Ec2Error{412, "DryRunOperation",
                         "Request would have succeeded, but DryRun flag is set."});
  }
  Ec2Result result = handler->second(*this, call);
  if (const auto* e = std::get_if<Ec2Error>(&result)) return fail(*e);
  HttpResponse r =
      Xml(200, "<" + call.action + "Response xmlns=\"" + kXmlns + "\">" +
                   XmlLeaf("requestId", request_id) + std::get<std::string>(result) +
                   "</" + call.action + "Response>");
  r.route = "ec2/" + call.action;
  return r;
}

Ec2ApiServer::Ec2ApiServer() = default;
Ec2ApiServer::~Ec2ApiServer() { Stop(); }

Status Ec2ApiServer::Start(const Ec2ApiOptions& options) {
  if (options.service == nullptr || options.admin == nullptr ||
      options.identity == nullptr || options.store == nullptr) {
    return Status::InvalidArgument(
        "the EC2 API needs the compute, admin and identity "
        "services");
  }
  handler_ = std::make_unique<Ec2Handler>(options);
  http_ = std::make_unique<HttpServer>();
  HttpServerOptions o;
  o.name = "EC2 API";
  o.metrics_label = "ec2";
  o.listen_url = options.listen_url;
  o.listen_fd = options.listen_fd;
  o.close_connections = !options.keep_alive;
  o.max_body_bytes = kMaxBodyBytes;
  const Ec2Handler* handler = handler_.get();
  o.handler = [handler](const HttpRequest& r) { return handler->Handle(r); };
  o.error_response = [](int status, const std::string& message) {
    return ErrorXml(
        Ec2Error{status, status == 503 ? "RequestLimitExceeded" : "InvalidRequest",
                 message},
        "");
  };
  return http_->Start(std::move(o));
}

void Ec2ApiServer::Stop() {
  if (http_) http_->Stop();
}

HttpServer* Ec2ApiServer::http() { return http_.get(); }

}  // namespace chronova
