// /flavors: list, show and, for admins, create, delete, access and extra specs
// (nova/api/openstack/compute/{flavors,flavor_manage,flavor_access,
// flavors_extraspecs}.py at microversion 2.1).
#include <cctype>

#include "api/auth/policy.h"
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"

namespace chronova {
namespace {

constexpr ApiVersion kFlavorDescriptionVersion{2, 55};

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

Json FlavorAccessView(const FlavorId& id, const std::vector<ProjectId>& projects) {
  Json list = Json::MakeArray();
  for (const ProjectId& p : projects) {
    list.Append(Json::MakeObject({{"flavor_id", id.str()}, {"tenant_id", p.str()}}));
  }
  return Json::MakeObject({{"flavor_access", std::move(list)}});
}

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
      return FieldError(field, specs,
                        Quoted(k) +
                            " does not match any of the regexes: "
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

class Flavors final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse ListFlavors(const ComputeCall& call, ListView view) const;
  HttpResponse ShowFlavor(const ComputeCall& call) const;
  HttpResponse ShowFlavorExtraSpecs(const ComputeCall& call) const;
  HttpResponse CreateFlavor(const ComputeCall& call) const;
  HttpResponse DeleteFlavor(const ComputeCall& call) const;
  HttpResponse ListFlavorAccess(const ComputeCall& call) const;
  HttpResponse FlavorAction(const ComputeCall& call) const;
  HttpResponse CreateFlavorExtraSpecs(const ComputeCall& call) const;
  HttpResponse ShowFlavorExtraSpec(const ComputeCall& call) const;
  HttpResponse UpdateFlavorExtraSpec(const ComputeCall& call) const;
  HttpResponse DeleteFlavorExtraSpec(const ComputeCall& call) const;
  // PUT /flavors/{id} (2.55): the description, the only thing that changes.
  HttpResponse UpdateFlavor(const ComputeCall& call) const;
};

// 2.61: a flavor's extra_specs are shown to whom os-flavor-extra-specs:index allows.
bool ExtraSpecsShown(const ComputeCall& call) {
  return Authorize(call.ctx, "os_compute_api:os-flavor-extra-specs:index").ok();
}

Json Detail(const ComputeCall& call, const FlavorRecord& f) {
  return FlavorDetailView(call.links, f, call.version, ExtraSpecsShown(call));
}

HttpResponse Flavors::ListFlavors(const ComputeCall& call, ListView view) const {
  if (auto refused = RefuseUnknownQuery(call, {"limit", "marker", "is_public", "minRam",
                                               "minDisk", "sort_key", "sort_dir"}))
    return *refused;
  const bool detail = view == ListView::kDetail;
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
        return detail
                   ? FlavorDetailView(call.links, f, call.version, ExtraSpecsShown(call))
                   : FlavorBasicView(call.links, f, call.version);
      });
}

HttpResponse Flavors::ShowFlavor(const ComputeCall& call) const {
  Result<FlavorRecord> f =
      options_.service->GetFlavor(call.ctx, FlavorId(call.params[0]));
  if (!f.ok()) return ErrorResponse(f.status());
  return JsonResponse(200, Json::MakeObject({{"flavor", Detail(call, *f)}}));
}

HttpResponse Flavors::ShowFlavorExtraSpecs(const ComputeCall& call) const {
  Result<FlavorRecord> f =
      options_.service->GetFlavor(call.ctx, FlavorId(call.params[0]));
  if (!f.ok()) return ErrorResponse(f.status());
  Json specs = Json::MakeObject();
  for (const auto& [k, v] : f->spec.extra_specs) specs[k] = v;
  return JsonResponse(200, Json::MakeObject({{"extra_specs", std::move(specs)}}));
}

HttpResponse Flavors::CreateFlavor(const ComputeCall& call) const {
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
  DescriptionChange description;
  if (const Json* d = f.Find("description");
      d != nullptr && call.version >= kFlavorDescriptionVersion) {
    if (auto e = CheckDescription(*d, &description, 65535))
      return ErrorResponse(ToStatus(*e));
    req.description = description.value.value_or("");
  }
  Json checked = f;
  if (call.version >= kFlavorDescriptionVersion) {
    std::erase_if(checked.mutable_members(),
                  [](const auto& m) { return m.first == "description"; });
  }
  if (Status s = NoOtherProperties(
          checked, {"name", "id", "ram", "vcpus", "disk", "OS-FLV-EXT-DATA:ephemeral",
                    "swap", "rxtx_factor", "os-flavor-access:is_public"});
      !s.ok()) {
    return ErrorResponse(s);
  }
  Result<FlavorRecord> created = options_.service->CreateFlavor(call.ctx, req);
  if (!created.ok()) return ErrorResponse(created.status());
  return JsonResponse(200, Json::MakeObject({{"flavor", Detail(call, *created)}}));
}

HttpResponse Flavors::UpdateFlavor(const ComputeCall& call) const {
  // Nova: the policy first, then the body, then the flavor.
  if (Status st = Authorize(call.ctx, "os_compute_api:os-flavor-manage:update");
      !st.ok()) {
    return ErrorResponse(st);
  }
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  Result<const Json*> root = RootObject(*body, "flavor");
  if (!root.ok()) return ErrorResponse(root.status());
  const Json& f = **root;
  const Json* d = f.Find("description");
  if (d == nullptr) {
    return ErrorResponse(FieldError("flavor", f, "'description' is a required property"));
  }
  DescriptionChange description;
  if (auto e = CheckDescription(*d, &description, 65535))
    return ErrorResponse(ToStatus(*e));
  if (Status s = NoOtherProperties(f, {"description"}); !s.ok()) return ErrorResponse(s);
  Result<FlavorRecord> updated = options_.service->SetFlavorDescription(
      call.ctx, FlavorId(call.params[0]), description.value.value_or(""));
  if (!updated.ok()) return ErrorResponse(updated.status());
  return JsonResponse(200, Json::MakeObject({{"flavor", Detail(call, *updated)}}));
}

HttpResponse Flavors::DeleteFlavor(const ComputeCall& call) const {
  Status s = options_.service->DeleteFlavor(call.ctx, FlavorId(call.params[0]));
  if (!s.ok()) return ErrorResponse(s);
  return EmptyResponse(202);
}

HttpResponse Flavors::ListFlavorAccess(const ComputeCall& call) const {
  const FlavorId id(call.params[0]);
  Result<std::vector<ProjectId>> access =
      options_.service->ListFlavorAccess(call.ctx, id);
  if (!access.ok()) return ErrorResponse(access.status());
  return JsonResponse(200, FlavorAccessView(id, *access));
}

HttpResponse Flavors::FlavorAction(const ComputeCall& call) const {
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
        add ? options_.service->AddFlavorAccess(call.ctx, id, project,
                                                call.version >= ApiVersion{2, 7})
            : options_.service->RemoveFlavorAccess(call.ctx, id, project);
    if (!access.ok()) return ErrorResponse(access.status());
    return JsonResponse(200, FlavorAccessView(id, *access));
  }
  return FaultResponse(
      400, "There is no such action: " + (body->is_object() && body->size() > 0
                                              ? body->members().front().first
                                              : std::string("None")));
}

HttpResponse Flavors::CreateFlavorExtraSpecs(const ComputeCall& call) const {
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
  return JsonResponse(200, Json::MakeObject({{"extra_specs", MetadataJson(*specs)}}));
}

HttpResponse Flavors::ShowFlavorExtraSpec(const ComputeCall& call) const {
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

HttpResponse Flavors::UpdateFlavorExtraSpec(const ComputeCall& call) const {
  Status denied = Authorize(call.ctx, "os_compute_api:os-flavor-extra-specs:update");
  if (!denied.ok()) return ErrorResponse(denied);
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  if (!body->is_object() || body->size() != 1) {
    return ErrorResponse(
        FieldError("extra_specs", *body,
                   body->PythonRepr() + (body->is_object() && body->size() > 1
                                             ? " has too many properties"
                                             : " does not have enough properties")));
  }
  Result<std::map<std::string, std::string>> specs =
      ParseExtraSpecs(*body, "extra_specs");
  if (!specs.ok()) return ErrorResponse(specs.status());
  if (!specs->count(call.params[1]))
    return FaultResponse(400, "Request body and URI mismatch");
  Status s =
      options_.service->SetFlavorExtraSpecs(call.ctx, FlavorId(call.params[0]), *specs);
  if (!s.ok()) return ErrorResponse(s);
  return JsonResponse(200, MetadataJson(*specs));
}

HttpResponse Flavors::DeleteFlavorExtraSpec(const ComputeCall& call) const {
  Status s = options_.service->DeleteFlavorExtraSpec(call.ctx, FlavorId(call.params[0]),
                                                     call.params[1]);
  if (!s.ok()) return ErrorResponse(s);
  HttpResponse r;
  r.status = 200;  // Nova answers 200 with no body here
  return r;
}

}  // namespace

void AddFlavorRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const Flavors>(options);
  routes->Add("GET", "flavors", Bind(r, &Flavors::ListFlavors, ListView::kBasic));
  routes->Add("GET", "flavors/detail", Bind(r, &Flavors::ListFlavors, ListView::kDetail));
  routes->Add("GET", "flavors/*", Bind(r, &Flavors::ShowFlavor));
  routes->Add("GET", "flavors/*/os-extra_specs", Bind(r, &Flavors::ShowFlavorExtraSpecs));
  routes->Add("POST", "flavors", Bind(r, &Flavors::CreateFlavor));
  routes->Add("DELETE", "flavors/*", Bind(r, &Flavors::DeleteFlavor));
  routes->Add("PUT", "flavors/*", [r](const ComputeCall& call) {
    return call.version < kFlavorDescriptionVersion ? NoMethodForVersion()
                                                    : r->UpdateFlavor(call);
  });
  routes->Add("GET", "flavors/*/os-flavor-access", Bind(r, &Flavors::ListFlavorAccess));
  routes->Add("POST", "flavors/*/action", Bind(r, &Flavors::FlavorAction));
  routes->Add("POST", "flavors/*/os-extra_specs",
              Bind(r, &Flavors::CreateFlavorExtraSpecs));
  routes->Add("GET", "flavors/*/os-extra_specs/*",
              Bind(r, &Flavors::ShowFlavorExtraSpec));
  routes->Add("PUT", "flavors/*/os-extra_specs/*",
              Bind(r, &Flavors::UpdateFlavorExtraSpec));
  routes->Add("DELETE", "flavors/*/os-extra_specs/*",
              Bind(r, &Flavors::DeleteFlavorExtraSpec));
}

}  // namespace chronova
