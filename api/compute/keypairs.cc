// /os-keypairs (nova/api/openstack/compute/keypairs.py at microversion 2.1).
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

Json KeypairView(const KeypairRecord& k, bool with_user) {
  Json v = Json::MakeObject({{"name", k.keypair.name},
                             {"public_key", k.keypair.public_key},
                             {"fingerprint", k.keypair.fingerprint}});
  if (with_user) v["user_id"] = k.keypair.user_id.str();
  return v;
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
  Result<std::vector<KeypairRecord>> all =
      options_.service->ListKeypairs(call.ctx, UserParam(call.query));
  if (!all.ok()) return ErrorResponse(all.status());
  Json list = Json::MakeArray();
  for (const KeypairRecord& k : *all) {
    list.Append(Json::MakeObject({{"keypair", KeypairView(k, false)}}));
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

HttpResponse Keypairs::ShowKeypair(const ComputeCall& call) const {
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

HttpResponse Keypairs::DeleteKeypair(const ComputeCall& call) const {
  Status s =
      options_.service->DeleteKeypair(call.ctx, UserParam(call.query), call.params[0]);
  if (!s.ok()) return ErrorResponse(s);
  return EmptyResponse(202);  // 202 at microversion 2.1 (204 from 2.2)
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
