// /os-keypairs (nova/api/openstack/compute/keypairs.py): 2.1; 2.2 adds the
// keypair's type (ssh or x509) and answers create 201 and delete 204; 2.10
// lets an admin name another user (user_id in the query and the create body);
// 2.35 pages the list.
#include <cctype>

#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"

namespace chronova {
namespace {

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

constexpr ApiVersion kKeypairTypeVersion{2, 2};
constexpr ApiVersion kKeypairUserVersion{2, 10};

Json KeypairView(const KeypairRecord& k, bool with_user, ApiVersion version) {
  Json v = Json::MakeObject({{"name", k.keypair.name},
                             {"public_key", k.keypair.public_key},
                             {"fingerprint", k.keypair.fingerprint}});
  if (with_user) v["user_id"] = k.keypair.user_id.str();
  if (version >= kKeypairTypeVersion) v["type"] = k.keypair.type;
  return v;
}

// The user whose keypairs a request is about: ?user_id= from 2.10 (Nova's
// schema lets it through, unused, before), else the caller.
UserId KeypairUser(const ComputeCall& call) {
  return call.version >= kKeypairUserVersion ? UserParam(call.query) : UserId();
}

class Keypairs final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse ListKeypairs(const ComputeCall& call) const;
  HttpResponse CreateKeypair(const ComputeCall& call) const;
  HttpResponse ShowKeypair(const ComputeCall& call) const;
  HttpResponse DeleteKeypair(const ComputeCall& call) const;
};

HttpResponse Keypairs::ListKeypairs(const ComputeCall& call) const {
  if (auto refused = RefuseUnknownQuery(call, {"user_id", "limit", "marker"}))
    return *refused;
  Result<std::vector<KeypairRecord>> all =
      options_.service->ListKeypairs(call.ctx, KeypairUser(call));
  if (!all.ok()) return ErrorResponse(all.status());
  if (call.version >= ApiVersion{2, 35}) {
    // 2.35: limit and marker (a keypair name, in name order), keypairs_links.
    Result<int> limit = PageLimit(call);
    if (!limit.ok()) return ErrorResponse(limit.status());
    std::vector<const KeypairRecord*> items;
    for (const KeypairRecord& k : *all) items.push_back(&k);
    return PagedList(
        "keypairs", "os-keypairs", call.links, call.query, items, *limit,
        [](const KeypairRecord& k) { return k.keypair.name; },
        [&](const KeypairRecord& k) {
          return Json::MakeObject({{"keypair", KeypairView(k, false, call.version)}});
        });
  }
  Json list = Json::MakeArray();
  for (const KeypairRecord& k : *all) {
    list.Append(Json::MakeObject({{"keypair", KeypairView(k, false, call.version)}}));
  }
  return JsonResponse(200, Json::MakeObject({{"keypairs", std::move(list)}}));
}

HttpResponse Keypairs::CreateKeypair(const ComputeCall& call) const {
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
  CreateKeypairRequest req;
  const bool typed = call.version >= kKeypairTypeVersion;
  const bool for_user = call.version >= kKeypairUserVersion;
  if (const Json* type = k.Find("type"); type != nullptr && typed) {
    if (!type->is_string()) {
      return ErrorResponse(
          FieldError("type", *type, type->PythonRepr() + " is not of type 'string'"));
    }
    if (type->as_string() != "ssh" && type->as_string() != "x509") {
      return ErrorResponse(FieldError(
          "type", *type, type->PythonRepr() + " is not one of ['ssh', 'x509']"));
    }
    req.type = type->as_string();
  }
  if (const Json* user = k.Find("user_id"); user != nullptr && for_user) {
    if (!user->is_string()) {
      return ErrorResponse(
          FieldError("user_id", *user, user->PythonRepr() + " is not of type 'string'"));
    }
    req.user = UserId(user->as_string());
  }
  Status others = for_user
                      ? NoOtherProperties(k, {"name", "public_key", "type", "user_id"})
                  : typed ? NoOtherProperties(k, {"name", "public_key", "type"})
                          : NoOtherProperties(k, {"name", "public_key"});
  if (!others.ok()) return ErrorResponse(others);
  req.name = name->as_string();
  if (public_key) req.public_key = public_key->as_string();
  Result<CreatedKeypair> created = options_.service->CreateKeypair(call.ctx, req);
  if (!created.ok()) return ErrorResponse(created.status());
  Json view = KeypairView(created->record, true, call.version);
  if (!req.public_key) view["private_key"] = created->private_key;
  return JsonResponse(typed ? 201 : 200,
                      Json::MakeObject({{"keypair", std::move(view)}}));
}

HttpResponse Keypairs::ShowKeypair(const ComputeCall& call) const {
  if (auto refused = RefuseUnknownQuery(call, {"user_id"})) return *refused;
  Result<KeypairRecord> k =
      options_.service->GetKeypair(call.ctx, KeypairUser(call), call.params[0]);
  if (!k.ok()) return ErrorResponse(k.status());
  Json view = KeypairView(*k, true, call.version);
  // Nova shows its database row's bookkeeping; chronova has no row id.
  view["created_at"] = FormatIso8601(k->created_at).substr(0, 26);
  view["updated_at"] = Json();
  view["deleted"] = false;
  view["deleted_at"] = Json();
  view["id"] = 0;
  return JsonResponse(200, Json::MakeObject({{"keypair", std::move(view)}}));
}

HttpResponse Keypairs::DeleteKeypair(const ComputeCall& call) const {
  if (auto refused = RefuseUnknownQuery(call, {"user_id"})) return *refused;
  Status s = options_.service->DeleteKeypair(call.ctx, KeypairUser(call), call.params[0]);
  if (!s.ok()) return ErrorResponse(s);
  return EmptyResponse(call.version >= kKeypairTypeVersion ? 204 : 202);
}

}  // namespace

void AddKeypairRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const Keypairs>(options);
  routes->Add("GET", "os-keypairs", Bind(r, &Keypairs::ListKeypairs));
  routes->Add("POST", "os-keypairs", Bind(r, &Keypairs::CreateKeypair));
  routes->Add("GET", "os-keypairs/*", Bind(r, &Keypairs::ShowKeypair));
  routes->Add("DELETE", "os-keypairs/*", Bind(r, &Keypairs::DeleteKeypair));
}

}  // namespace chronova
