// /servers/{id}/metadata: a server's metadata, read and written item by item
// (nova/api/openstack/compute/server_metadata.py).
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"

namespace chronova {
namespace {

class ServerMetadata final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse ListServerMetadata(const ComputeCall& call) const;
  HttpResponse ShowServerMetadataItem(const ComputeCall& call) const;
  HttpResponse WriteServerMetadata(const ComputeCall& call, int kind) const;
  HttpResponse MergeServerMetadata(const ComputeCall& call) const;
  HttpResponse ReplaceServerMetadata(const ComputeCall& call) const;
  HttpResponse SetServerMetadataItem(const ComputeCall& call) const;
  HttpResponse DeleteServerMetadataItem(const ComputeCall& call) const;
};

HttpResponse ServerMetadata::ListServerMetadata(const ComputeCall& call) const {
  Result<InstanceState> s = options_.service->GetServer(
      call.ctx, InstanceId(call.params[0]), "os_compute_api:server-metadata:index");
  if (!s.ok()) return ErrorResponse(s.status());
  return JsonResponse(200, Json::MakeObject({{"metadata", MetadataJson(s->metadata)}}));
}

HttpResponse ServerMetadata::ShowServerMetadataItem(const ComputeCall& call) const {
  Result<InstanceState> s = options_.service->GetServer(
      call.ctx, InstanceId(call.params[0]), "os_compute_api:server-metadata:show");
  if (!s.ok()) return ErrorResponse(s.status());
  auto it = s->metadata.find(call.params[1]);
  if (it == s->metadata.end()) return FaultResponse(404, "Metadata item was not found");
  return JsonResponse(
      200, Json::MakeObject({{"meta", MetadataJson({{it->first, it->second}})}}));
}

HttpResponse ServerMetadata::WriteServerMetadata(const ComputeCall& call,
                                                 int kind) const {
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

HttpResponse ServerMetadata::MergeServerMetadata(const ComputeCall& call) const {
  return WriteServerMetadata(call, static_cast<int>(MetadataWrite::kMerge));
}

HttpResponse ServerMetadata::ReplaceServerMetadata(const ComputeCall& call) const {
  return WriteServerMetadata(call, static_cast<int>(MetadataWrite::kReplace));
}

HttpResponse ServerMetadata::SetServerMetadataItem(const ComputeCall& call) const {
  return WriteServerMetadata(call, static_cast<int>(MetadataWrite::kItem));
}

HttpResponse ServerMetadata::DeleteServerMetadataItem(const ComputeCall& call) const {
  MetadataChange change;
  change.removed = call.params[1];
  Result<InstanceState> s = options_.service->ChangeServerMetadata(
      call.ctx, InstanceId(call.params[0]), "delete", change);
  if (!s.ok()) return ErrorResponse(s.status());
  HttpResponse r;
  r.status = 204;
  return r;
}

}  // namespace

void AddServerMetadataRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const ServerMetadata>(options);
  routes->Add("GET", "servers/*/metadata", Bind(r, &ServerMetadata::ListServerMetadata));
  routes->Add("POST", "servers/*/metadata",
              Bind(r, &ServerMetadata::MergeServerMetadata));
  routes->Add("PUT", "servers/*/metadata",
              Bind(r, &ServerMetadata::ReplaceServerMetadata));
  routes->Add("GET", "servers/*/metadata/*",
              Bind(r, &ServerMetadata::ShowServerMetadataItem));
  routes->Add("PUT", "servers/*/metadata/*",
              Bind(r, &ServerMetadata::SetServerMetadataItem));
  routes->Add("DELETE", "servers/*/metadata/*",
              Bind(r, &ServerMetadata::DeleteServerMetadataItem));
}

}  // namespace chronova
