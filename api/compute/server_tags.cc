// /servers/{id}/tags (nova/api/openstack/compute/server_tags.py, microversion
// 2.26): a server's tags, each a change of instance.tags_set.
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"
#include "core/instance_decider.h"

namespace chronova {
namespace {

constexpr ApiVersion kTagsVersion{2, 26};
HttpResponse TagsBody(const std::vector<std::string>& tags, int status = 200) {
  Json list = Json::MakeArray();
  for (const std::string& t : tags) list.Append(t);
  return JsonResponse(status, Json::MakeObject({{"tags", std::move(list)}}));
}

class ServerTags final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse List(const ComputeCall& call) const;
  HttpResponse Show(const ComputeCall& call) const;
  HttpResponse ReplaceAll(const ComputeCall& call) const;
  HttpResponse Add(const ComputeCall& call) const;
  HttpResponse Remove(const ComputeCall& call) const;
  HttpResponse RemoveAll(const ComputeCall& call) const;

 private:
  Result<std::vector<std::string>> Change(
      const ComputeCall& call, const std::string& policy, const std::string& method,
      const std::function<Result<std::vector<std::string>>(
          const std::vector<std::string>&)>& change) const {
    return options_.service->SetServerTags(call.ctx, InstanceId(call.params[0]), policy,
                                           method, change);
  }
};

HttpResponse ServerTags::List(const ComputeCall& call) const {
  if (call.version < kTagsVersion) return NoMethodForVersion();
  Result<InstanceState> s = options_.service->GetServer(
      call.ctx, InstanceId(call.params[0]), "os_compute_api:os-server-tags:index");
  if (!s.ok()) return ErrorResponse(s.status());
  return TagsBody(s->tags);
}

HttpResponse ServerTags::Show(const ComputeCall& call) const {
  if (call.version < kTagsVersion) return NoMethodForVersion();
  Result<InstanceState> s = options_.service->GetServer(
      call.ctx, InstanceId(call.params[0]), "os_compute_api:os-server-tags:show");
  if (!s.ok()) return ErrorResponse(s.status());
  const std::string& tag = call.params[1];
  if (!std::binary_search(s->tags.begin(), s->tags.end(), tag)) {
    return FaultResponse(404, "Server " + call.params[0] + " has no tag '" + tag + "'");
  }
  return EmptyResponse(204);
}

HttpResponse ServerTags::ReplaceAll(const ComputeCall& call) const {
  if (call.version < kTagsVersion) return NoMethodForVersion();
  Result<Json> body = ParseBody(*call.http);
  if (!body.ok()) return ErrorResponse(body.status());
  std::vector<std::string> wanted;
  auto check = [&]() -> Status {
    if (auto e = Error("", *body, TypeMessage(*body, {"object"}))) return ToStatus(*e);
    const Json* tags = body->Find("tags");
    if (tags == nullptr) return FieldError("", *body, "'tags' is a required property");
    if (auto e = Error("tags", *tags, TypeMessage(*tags, {"array"}))) return ToStatus(*e);
    if (tags->size() > kMaxTagsPerServer) {
      return FieldError("tags", *tags, tags->PythonRepr() + " is too long");
    }
    for (const Json& t : tags->items()) {
      if (std::string why = TagMessage(t); !why.empty())
        return FieldError("tags", t, why);
      wanted.push_back(t.as_string());
    }
    return NoOtherProperties(*body, {"tags"});
  };
  if (Status st = check(); !st.ok()) return ErrorResponse(st);
  Result<std::vector<std::string>> tags =
      Change(call, "update_all", "update tags",
             [&](const std::vector<std::string>&) { return wanted; });
  if (!tags.ok()) return ErrorResponse(tags.status());
  return TagsBody(*tags);
}

HttpResponse ServerTags::Add(const ComputeCall& call) const {
  if (call.version < kTagsVersion) return NoMethodForVersion();
  const std::string& tag = call.params[1];
  bool existed = false;
  Result<std::vector<std::string>> tags = Change(
      call, "update", "update tag",
      [&](const std::vector<std::string>& now) -> Result<std::vector<std::string>> {
        if (std::string why = TagMessage(Json(tag)); !why.empty()) {
          return Status::InvalidArgument(
              "Tag '" + tag +
              "' is invalid. It must be a non empty string without characters '/' and "
              "','. Validation error message: " +
              why);
        }
        existed = std::binary_search(now.begin(), now.end(), tag);
        if (existed) return now;
        if (now.size() >= kMaxTagsPerServer) {
          return Status::InvalidArgument(
              "The number of tags exceeded the per-server limit " +
              std::to_string(kMaxTagsPerServer));
        }
        std::vector<std::string> more = now;
        more.push_back(tag);
        return more;
      });
  if (!tags.ok()) return ErrorResponse(tags.status());
  if (existed) return EmptyResponse(204);
  HttpResponse created = EmptyResponse(201);
  created.headers.Set("Location",
                      call.links.version_url +
                          (call.links.project.empty() ? "" : "/" + call.links.project) +
                          "/servers/" + call.params[0] + "/tags/" + tag);
  return created;
}

HttpResponse ServerTags::Remove(const ComputeCall& call) const {
  if (call.version < kTagsVersion) return NoMethodForVersion();
  const std::string& tag = call.params[1];
  Result<std::vector<std::string>> tags = Change(
      call, "delete", "delete tag",
      [&](const std::vector<std::string>& now) -> Result<std::vector<std::string>> {
        if (!std::binary_search(now.begin(), now.end(), tag)) {
          return Status::NotFound("Instance " + call.params[0] + " has no tag '" + tag +
                                  "'");
        }
        std::vector<std::string> fewer = now;
        std::erase(fewer, tag);
        return fewer;
      });
  if (!tags.ok()) return ErrorResponse(tags.status());
  return EmptyResponse(204);
}

HttpResponse ServerTags::RemoveAll(const ComputeCall& call) const {
  if (call.version < kTagsVersion) return NoMethodForVersion();
  Result<std::vector<std::string>> tags =
      Change(call, "delete_all", "delete tags",
             [](const std::vector<std::string>&) { return std::vector<std::string>{}; });
  if (!tags.ok()) return ErrorResponse(tags.status());
  return EmptyResponse(204);
}

}  // namespace

void AddServerTagRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const ServerTags>(options);
  routes->Add("GET", "servers/*/tags", Bind(r, &ServerTags::List));
  routes->Add("PUT", "servers/*/tags", Bind(r, &ServerTags::ReplaceAll));
  routes->Add("DELETE", "servers/*/tags", Bind(r, &ServerTags::RemoveAll));
  routes->Add("GET", "servers/*/tags/*", Bind(r, &ServerTags::Show));
  routes->Add("PUT", "servers/*/tags/*", Bind(r, &ServerTags::Add));
  routes->Add("DELETE", "servers/*/tags/*", Bind(r, &ServerTags::Remove));
}

}  // namespace chronova
