// /images and /images/{id}/metadata: Nova's image proxy (up to microversion
// 2.35/2.38) over the Image API's service (nova/api/openstack/compute/
// {images,image_metadata}.py).
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/compute/schema.h"
#include "api/image/image_service.h"
#include "core/instance_decider.h"

namespace chronova {
namespace {

class Images final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse ListImages(const ComputeCall& call, ListView view) const;
  HttpResponse ShowImage(const ComputeCall& call) const;
  HttpResponse DeleteImage(const ComputeCall& call) const;
  Result<ImageRecord> GetImageForMetadata(const ComputeCall& call) const;
  Result<ImageRecord> ChangeImageMetadata(const ComputeCall& call,
                                          const MetadataChange& change) const;
  HttpResponse ListImageMetadata(const ComputeCall& call) const;
  HttpResponse ShowImageMetadataItem(const ComputeCall& call) const;
  HttpResponse WriteImageMetadata(const ComputeCall& call, int kind) const;
  HttpResponse MergeImageMetadata(const ComputeCall& call) const;
  HttpResponse ReplaceImageMetadata(const ComputeCall& call) const;
  HttpResponse SetImageMetadataItem(const ComputeCall& call) const;
  HttpResponse DeleteImageMetadataItem(const ComputeCall& call) const;
};

HttpResponse Images::ListImages(const ComputeCall& call, ListView view) const {
  const bool detail = view == ListView::kDetail;
  Result<int> limit = PageLimit(call);
  if (!limit.ok()) return ErrorResponse(limit.status());
  Result<std::vector<ImageRecord>> all = options_.service->ListImages(call.ctx);
  if (!all.ok()) return ErrorResponse(all.status());
  // Glance's default order: newest first.
  std::vector<const ImageRecord*> images;
  const std::string* name = QueryParam(call.query, "name");
  const std::string* status = QueryParam(call.query, "status");
  // nova/api/openstack/compute/images.py _get_filters: server (a server id or
  // URL) is the instance_uuid property, type the image_type property.
  const std::string* server = QueryParam(call.query, "server");
  const std::string* type = QueryParam(call.query, "type");
  auto property = [](const ImageRecord& i, const char* key) {
    auto it = i.image.properties.find(key);
    return it == i.image.properties.end() ? std::string() : it->second;
  };
  for (const ImageRecord& i : *all) {
    if (name && i.image.name != *name) continue;
    if (status && i.status != Lower(*status)) continue;
    if (server && property(i, "instance_uuid") != LastSegment(*server)) continue;
    if (type && property(i, "image_type") != *type) continue;
    images.push_back(&i);
  }
  std::stable_sort(images.begin(), images.end(),
                   [](const ImageRecord* a, const ImageRecord* b) {
                     if (a->created_at != b->created_at)
                       return a->created_at > b->created_at;
                     return a->image.image_id > b->image.image_id;
                   });
  return PagedList(
      "images", detail ? "images/detail" : "images", call.links, call.query, images,
      *limit, [](const ImageRecord& i) { return i.image.image_id.str(); },
      [&](const ImageRecord& i) {
        return detail ? ImageDetailView(call.links, i) : ImageBasicView(call.links, i);
      });
}

HttpResponse Images::ShowImage(const ComputeCall& call) const {
  Result<ImageRecord> i = options_.service->GetImage(call.ctx, ImageId(call.params[0]));
  if (!i.ok()) {
    // nova/api/openstack/compute/images.py words its 404 itself.
    if (i.status().IsNotFound()) return FaultResponse(404, "Image not found.");
    return ErrorResponse(i.status());
  }
  return JsonResponse(200,
                      Json::MakeObject({{"image", ImageDetailView(call.links, *i)}}));
}

HttpResponse Images::DeleteImage(const ComputeCall& call) const {
  if (options_.images == nullptr) return FaultResponse(404, "Image not found.");
  Status st = options_.images->Delete(call.ctx, ImageId(call.params[0]));
  if (!st.ok()) {
    if (st.IsNotFound()) return FaultResponse(404, "Image not found.");
    return ErrorResponse(st);
  }
  HttpResponse r;
  r.status = 204;
  return r;
}

Result<ImageRecord> Images::GetImageForMetadata(const ComputeCall& call) const {
  if (options_.images == nullptr) return Status::NotFound("Image not found.");
  Result<ImageRecord> image = options_.images->Get(call.ctx, ImageId(call.params[0]));
  if (!image.ok() && image.status().IsNotFound())
    return Status::NotFound("Image not found.");
  return image;
}

// The custom properties after `change`: merged in, or replacing them all, or one
// removed (404 "Invalid metadata key" if it is not there); 403 past the
// metadata items limit servers have too (Nova's
// check_img_metadata_properties_quota). Applied
// as an Image API patch, so the image's own history records it (image.updated).
Result<ImageRecord> Images::ChangeImageMetadata(const ComputeCall& call,
                                                const MetadataChange& change) const {
  CHRONOVA_ASSIGN_OR_RETURN(ImageRecord image, GetImageForMetadata(call));
  const std::map<std::string, std::string>& before = image.image.properties;
  std::vector<std::string> removed;
  if (change.removed) {
    if (!before.count(*change.removed)) return Status::NotFound("Invalid metadata key");
    removed.push_back(*change.removed);
  }
  const std::map<std::string, std::string> after =
      MetadataAfter(before, change.set, change.replace, removed);
  if (after.size() > options_.service->metadata_items_limit()) {
    return Status::PermissionDenied("Image metadata limit exceeded");
  }
  std::vector<ImagePatchOp> patch;
  for (const auto& [k, v] : before) {
    if (!after.count(k)) patch.push_back({ImagePatchOp::Kind::kRemove, "/" + k, Json()});
  }
  for (const auto& [k, v] : after) {
    auto was = before.find(k);
    if (was == before.end() || was->second != v)
      patch.push_back({ImagePatchOp::Kind::kAdd, "/" + k, Json(v)});
  }
  if (patch.empty()) return image;
  return options_.images->Update(call.ctx, ImageId(call.params[0]), patch);
}

HttpResponse Images::ListImageMetadata(const ComputeCall& call) const {
  Result<ImageRecord> image = GetImageForMetadata(call);
  if (!image.ok()) return ErrorResponse(image.status());
  return JsonResponse(
      200, Json::MakeObject({{"metadata", MetadataJson(image->image.properties)}}));
}

HttpResponse Images::ShowImageMetadataItem(const ComputeCall& call) const {
  Result<ImageRecord> image = GetImageForMetadata(call);
  if (!image.ok()) return ErrorResponse(image.status());
  auto it = image->image.properties.find(call.params[1]);
  // Nova raises a bare HTTPNotFound: webob's own message.
  if (it == image->image.properties.end())
    return FaultResponse(404, "The resource could not be found.");
  return JsonResponse(
      200, Json::MakeObject({{"meta", MetadataJson({{it->first, it->second}})}}));
}

HttpResponse Images::WriteImageMetadata(const ComputeCall& call, int kind) const {
  return WriteMetadata(
      *call.http, call.params, static_cast<MetadataWrite>(kind),
      [&](const MetadataChange& change) -> Result<std::map<std::string, std::string>> {
        CHRONOVA_ASSIGN_OR_RETURN(ImageRecord image, ChangeImageMetadata(call, change));
        return std::move(image.image.properties);
      });
}

HttpResponse Images::MergeImageMetadata(const ComputeCall& call) const {
  return WriteImageMetadata(call, static_cast<int>(MetadataWrite::kMerge));
}

HttpResponse Images::ReplaceImageMetadata(const ComputeCall& call) const {
  return WriteImageMetadata(call, static_cast<int>(MetadataWrite::kReplace));
}

HttpResponse Images::SetImageMetadataItem(const ComputeCall& call) const {
  return WriteImageMetadata(call, static_cast<int>(MetadataWrite::kItem));
}

HttpResponse Images::DeleteImageMetadataItem(const ComputeCall& call) const {
  Result<ImageRecord> image =
      ChangeImageMetadata(call, MetadataChange{{}, false, call.params[1]});
  if (!image.ok()) return ErrorResponse(image.status());
  HttpResponse r;
  r.status = 204;
  return r;
}

}  // namespace

void AddImageRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const Images>(options);
  // The image proxy ends with 2.35 (Nova's MAX_PROXY_API_SUPPORT_VERSION): 404
  // from 2.36, and image metadata with it.
  auto proxy = [](ComputeHandler h) -> ComputeHandler {
    return [h = std::move(h)](const ComputeCall& call) {
      if (call.version >= ApiVersion{2, 36}) return NoMethodForVersion();
      return h(call);
    };
  };
  routes->Add("GET", "images", proxy(Bind(r, &Images::ListImages, ListView::kBasic)));
  routes->Add("GET", "images/detail",
              proxy(Bind(r, &Images::ListImages, ListView::kDetail)));
  routes->Add("GET", "images/*", proxy(Bind(r, &Images::ShowImage)));
  routes->Add("DELETE", "images/*", proxy(Bind(r, &Images::DeleteImage)));
  routes->Add("GET", "images/*/metadata", proxy(Bind(r, &Images::ListImageMetadata)));
  routes->Add("POST", "images/*/metadata", proxy(Bind(r, &Images::MergeImageMetadata)));
  routes->Add("PUT", "images/*/metadata", proxy(Bind(r, &Images::ReplaceImageMetadata)));
  routes->Add("GET", "images/*/metadata/*",
              proxy(Bind(r, &Images::ShowImageMetadataItem)));
  routes->Add("PUT", "images/*/metadata/*",
              proxy(Bind(r, &Images::SetImageMetadataItem)));
  routes->Add("DELETE", "images/*/metadata/*",
              proxy(Bind(r, &Images::DeleteImageMetadataItem)));
}

}  // namespace chronova
