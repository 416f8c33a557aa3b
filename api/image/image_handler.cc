#include "api/image/image_handler.h"

#include <charconv>
#include <set>

#include "api/http/json_response.h"

namespace chronova {
namespace {

constexpr char kPatchType[] = "application/openstack-images-v2.1-json-patch";
constexpr char kPatchTypeV20[] = "application/openstack-images-v2.0-json-patch";
constexpr char kOctetStream[] = "application/octet-stream";

// webob's JSON error body, as Glance answers a client that accepts JSON.
HttpResponse Error(int code, const std::string& message) {
  return JsonResponse(code, Json::MakeObject({
                                {"message", message},
                                {"code", std::to_string(code) + " " + ReasonPhrase(code)},
                                {"title", ReasonPhrase(code)},
                            }));
}

HttpResponse ErrorFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return Error(400, s.message());
    case StatusCode::kPermissionDenied:
      return Error(403, s.message());
    case StatusCode::kNotFound:
      return Error(404, s.message());
    case StatusCode::kConflict:
      return Error(409, s.message());
    case StatusCode::kUnavailable:
      return Error(503, s.message());
    default:
      return Error(500, "Internal server error: " + s.ToString());
  }
}

// "application/json; charset=UTF-8" -> "application/json".
std::string MediaType(const HttpRequest& r) {
  const std::string* ct = r.headers.Find("Content-Type");
  if (ct == nullptr) return "";
  std::string t = ct->substr(0, ct->find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

Json NullIfEmpty(const std::string& s) { return s.empty() ? Json() : Json(s); }

// Glance's image view (glance/api/v2/images.py ResponseSerializer._format_image):
// custom properties first, then the core attributes.
Json ImageView(const ImageRecord& i) {
  const std::string id = i.image.image_id.str();
  const bool has_data = i.status == kImageActive && !i.image.checksum.empty();
  Json v = Json::MakeObject();
  for (const auto& [k, value] : i.image.properties) v[k] = value;
  v["name"] = NullIfEmpty(i.image.name);
  v["disk_format"] = NullIfEmpty(i.image.disk_format);
  v["container_format"] = NullIfEmpty(i.image.container_format);
  v["visibility"] = i.image.visibility;
  v["size"] = i.status == kImageActive ? Json(i.image.size) : Json();
  v["virtual_size"] = Json();
  v["status"] = i.status;
  v["checksum"] = has_data ? Json(i.image.checksum) : Json();
  v["protected"] = i.is_protected;
  v["min_ram"] = i.image.min_ram;
  v["min_disk"] = i.image.min_disk;
  v["owner"] = NullIfEmpty(i.image.owner.str());
  v["os_hidden"] = false;
  v["os_hash_algo"] = NullIfEmpty(i.os_hash_algo);
  v["os_hash_value"] = NullIfEmpty(i.os_hash_value);
  v["id"] = id;
  v["created_at"] = FormatIso8601Seconds(i.created_at);
  v["updated_at"] =
      FormatIso8601Seconds(i.updated_at.micros ? i.updated_at : i.created_at);
  Json tags = Json::MakeArray();
  for (const std::string& t : i.tags) tags.Append(t);
  v["tags"] = std::move(tags);
  v["self"] = "/v2/images/" + id;
  v["file"] = "/v2/images/" + id + "/file";
  v["schema"] = "/v2/schemas/image";
  return v;
}

// Glance's version list; v2.x, the newest CURRENT.
Json VersionsBody(const std::string& base_url) {
  Json list = Json::MakeArray();
  for (int minor = 16; minor >= 0; --minor) {
    list.Append(Json::MakeObject({
        {"id", "v2." + std::to_string(minor)},
        {"status", minor == 16 ? "CURRENT" : "SUPPORTED"},
        {"links", Json::MakeArray({Json::MakeObject(
                      {{"rel", "self"}, {"href", base_url + "/v2/"}})})},
    }));
  }
  return Json::MakeObject({{"versions", std::move(list)}});
}

bool ParseInt(const std::string& text, int64_t* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

// Keys of the create body Glance handles itself (not custom properties).
Status ParseNewImage(const Json& body, NewImage* out) {
  if (!body.is_object()) return Status::InvalidArgument("Body must be a JSON object.");
  auto string_or_null = [](const std::string& key, const Json& v,
                           std::string* dst) -> Status {
    if (v.is_null()) return Status::Ok();
    if (!v.is_string() || v.as_string().size() > 255) {
      return Status::InvalidArgument("Invalid value for " + key + ": " + v.PythonRepr());
    }
    *dst = v.as_string();
    return Status::Ok();
  };
  for (const auto& [key, v] : body.members()) {
    if (key == "id") {
      if (!v.is_string() || !IsUuid(v.as_string())) {
        return Status::InvalidArgument("Invalid value for id: " + v.PythonRepr() +
                                       " is not a 'uuid'");
      }
      out->id = v.as_string();
    } else if (key == "name") {
      CHRONOVA_RETURN_IF_ERROR(string_or_null(key, v, &out->name));
    } else if (key == "disk_format") {
      CHRONOVA_RETURN_IF_ERROR(string_or_null(key, v, &out->disk_format));
    } else if (key == "container_format") {
      CHRONOVA_RETURN_IF_ERROR(string_or_null(key, v, &out->container_format));
    } else if (key == "visibility") {
      if (!v.is_string()) return Status::InvalidArgument("Invalid visibility value");
      out->visibility = v.as_string();
    } else if (key == "owner") {
      CHRONOVA_RETURN_IF_ERROR(string_or_null(key, v, &out->owner));
    } else if (key == "min_disk" || key == "min_ram") {
      if (!v.is_int() || v.as_int() < 0 || v.as_int() > INT32_MAX) {
        return Status::InvalidArgument("Invalid value for " + key + ": " +
                                       v.PythonRepr());
      }
      (key == "min_disk" ? out->min_disk : out->min_ram) =
          static_cast<int32_t>(v.as_int());
    } else if (key == "protected") {
      if (!v.is_bool()) return Status::InvalidArgument("Invalid value for protected");
      out->is_protected = v.as_bool();
    } else if (key == "os_hidden") {
      if (!v.is_bool()) return Status::InvalidArgument("Invalid value for os_hidden");
    } else if (key == "tags") {
      if (!v.is_array()) return Status::InvalidArgument("Invalid value for tags");
      for (const Json& t : v.items()) {
        if (!t.is_string()) return Status::InvalidArgument("Invalid value for tags");
        out->tags.push_back(t.as_string());
      }
    } else if (v.is_string()) {
      out->properties[key] = v.as_string();
    } else if (v.is_null()) {
      // openstacksdk sends unset optional properties as null: nothing to store.
    } else {
      // Glance's schema says additional properties are strings.
      return Status::InvalidArgument("Invalid value for property " + key + ": " +
                                     v.PythonRepr() + " is not of type 'string'");
    }
  }
  return Status::Ok();
}

Result<std::vector<ImagePatchOp>> ParsePatch(const Json& body) {
  if (!body.is_array()) {
    return Status::InvalidArgument(
        "Request body must be a JSON array of operation objects.");
  }
  std::vector<ImagePatchOp> ops;
  for (const Json& item : body.items()) {
    const Json* op = item.Find("op");
    const Json* path = item.Find("path");
    if (op == nullptr || !op->is_string() || path == nullptr || !path->is_string()) {
      return Status::InvalidArgument(
          "Operation objects must contain exactly one member named \"add\", \"remove\", "
          "or \"replace\".");
    }
    ImagePatchOp p;
    const std::string& kind = op->as_string();
    if (kind == "add") {
      p.kind = ImagePatchOp::Kind::kAdd;
    } else if (kind == "replace") {
      p.kind = ImagePatchOp::Kind::kReplace;
    } else if (kind == "remove") {
      p.kind = ImagePatchOp::Kind::kRemove;
    } else {
      return Status::InvalidArgument("Invalid operation: `" + kind + "`");
    }
    // JSON pointer unescaping: ~1 is '/', ~0 is '~'.
    for (size_t i = 0; i < path->as_string().size(); ++i) {
      char c = path->as_string()[i];
      if (c == '~' && i + 1 < path->as_string().size()) {
        p.path.push_back(path->as_string()[i + 1] == '1' ? '/' : '~');
        ++i;
      } else {
        p.path.push_back(c);
      }
    }
    if (p.kind != ImagePatchOp::Kind::kRemove) {
      const Json* value = item.Find("value");
      if (value == nullptr) {
        return Status::InvalidArgument("Operation \"" + kind +
                                       "\" requires a member named \"value\".");
      }
      p.value = *value;
    }
    ops.push_back(std::move(p));
  }
  return ops;
}

}  // namespace

ImageApiHandler::ImageApiHandler(const ImageApiOptions& options) : options_(options) {
  routes_.Add("GET", "v2/images", &ImageApiHandler::ListImages);
  routes_.Add("POST", "v2/images", &ImageApiHandler::CreateImage);
  routes_.Add("GET", "v2/images/*", &ImageApiHandler::ShowImage);
  routes_.Add("PATCH", "v2/images/*", &ImageApiHandler::UpdateImage);
  routes_.Add("DELETE", "v2/images/*", &ImageApiHandler::DeleteImage);
  routes_.Add("PUT", "v2/images/*/file", &ImageApiHandler::UploadData);
  routes_.Add("GET", "v2/images/*/file", &ImageApiHandler::DownloadData);
  routes_.Add("GET", "v2/schemas/*", &ImageApiHandler::ShowSchema);
}

HttpBodyMode ImageApiHandler::BodyMode(const HttpRequest& request) const {
  // Nobody sends a body without a token: Handle answers 401 unread.
  Result<RequestContext> ctx =
      AuthenticateRequest(*options_.authenticator, request.headers);
  if (!ctx.ok()) return HttpBodyMode::kSkip;
  std::vector<std::string> s = SplitPath(request.path);
  if (!(request.method == "PUT" && s.size() == 4 && s[0] == "v2" && s[1] == "images" &&
        s[3] == "file")) {
    return HttpBodyMode::kMemory;
  }
  // Nothing reaches the disk that UploadData would refuse.
  if (MediaType(request) != kOctetStream) return HttpBodyMode::kSkip;
  if (!options_.service->CheckUpload(*ctx, ImageId(s[2])).ok())
    return HttpBodyMode::kSkip;
  return HttpBodyMode::kFile;
}

HttpResponse ImageApiHandler::Handle(const HttpRequest& request) const {
  const std::string request_id = "req-" + options_.env->NewUuid();
  HttpResponse r = Dispatch(request, request_id);
  r.headers.Set("x-openstack-request-id", request_id);
  return r;
}

HttpResponse ImageApiHandler::Dispatch(const HttpRequest& request,
                                       const std::string& request_id) const {
  std::vector<std::string> seg = SplitPath(request.path);
  if (seg.empty() || (seg.size() == 1 && seg[0] == "versions")) {
    if (request.method != "GET") return Error(405, "Method not allowed.");
    // Glance: 300 Multiple Choices at the root, 200 at /versions.
    return JsonResponse(seg.empty() ? 300 : 200, VersionsBody(request.base_url));
  }
  if (seg[0] != "v2") return Error(404, "The resource could not be found.");
  Result<RequestContext> ctx =
      AuthenticateRequest(*options_.authenticator, request.headers);
  if (!ctx.ok()) {
    if (ctx.status().code() != StatusCode::kPermissionDenied)
      return ErrorFor(ctx.status());
    // keystonemiddleware's answer.
    HttpResponse r = JsonResponse(
        401, Json::MakeObject({{"error", Json::MakeObject({
                                             {"code", 401},
                                             {"title", "Unauthorized"},
                                             {"message",
                                              "The request you have made requires "
                                              "authentication."},
                                         })}}));
    std::string auth_url = options_.auth_url.empty()
                               ? SchemeAndAuthority(request.base_url)
                               : options_.auth_url;
    r.headers.Set("WWW-Authenticate", "Keystone uri=\"" + auth_url + "\"");
    return r;
  }
  // JSON bodies only: an upload's size is UploadData's (an upload refused
  // before reading says why there).
  const bool upload = request.method == "PUT" && seg.size() == 4 && seg[1] == "images" &&
                      seg[3] == "file";
  if (std::max(request.body.size(), request.declared_length) > options_.max_body_bytes &&
      !upload) {
    return Error(413, "Request is too large.");
  }
  Call call;
  call.http = &request;
  call.ctx = std::move(ctx).value();
  call.ctx.request_id = RequestId(request_id);

  RouteMatch<Method> route = routes_.Find(request.method, seg);
  if (!route.found()) {
    if (!route.method_not_allowed())
      return Error(404, "The resource could not be found.");
    HttpResponse r = Error(405, "The method is not allowed for this resource.");
    r.headers.Set("Allow", route.AllowHeader());
    return r;
  }
  call.params = std::move(route.params);
  HttpResponse r = (this->**route.handler)(call);
  r.route = std::move(route.pattern);
  return r;
}

HttpResponse ImageApiHandler::ListImages(const Call& call) const {
  ImageListQuery q;
  q.limit = options_.limit_default;
  std::vector<std::string> sort_keys, sort_dirs;
  std::string sort;
  bool has_sort = false;
  std::vector<std::pair<std::string, std::string>> params = ParseQuery(call.http->query);
  for (const auto& [k, v] : params) {
    if (k == "limit") {
      int64_t n = 0;
      if (!ParseInt(v, &n)) return Error(400, "limit param must be an integer");
      if (n < 0) return Error(400, "limit param must be positive");
      q.limit = static_cast<int>(std::min<int64_t>(n, options_.max_limit));
    } else if (k == "marker") {
      q.marker = v;
    } else if (k == "name") {
      q.name = v;
    } else if (k == "status") {
      static const std::set<std::string> kStatuses = {
          "queued",         "saving",      "active",    "killed",   "deleted",
          "pending_delete", "deactivated", "uploading", "importing"};
      if (!kStatuses.count(v)) return Error(400, "Invalid status value: " + v);
      q.status = v;
    } else if (k == "visibility") {
      static const std::set<std::string> kVisibility = {"public", "private", "shared",
                                                        "community", "all"};
      if (!kVisibility.count(v)) return Error(400, "Invalid visibility value: " + v);
      q.visibility = v;
    } else if (k == "owner") {
      q.owner = v;
    } else if (k == "disk_format") {
      q.disk_format = v;
    } else if (k == "container_format") {
      q.container_format = v;
    } else if (k == "tag") {
      q.tags.push_back(v);
    } else if (k == "sort_key") {
      sort_keys.push_back(v);
    } else if (k == "sort_dir") {
      sort_dirs.push_back(v);
    } else if (k == "sort") {
      sort = v;
      has_sort = true;
    } else if (k == "member_status" || k == "os_hidden") {
      // Image sharing and hidden images are not implemented: nothing to filter.
    } else {
      q.properties[k] = v;
    }
  }
  auto check_key = [](const std::string& key) -> std::optional<HttpResponse> {
    if (!IsImageSortKey(key)) return Error(400, "Invalid sort key: " + key + ".");
    return std::nullopt;
  };
  auto check_dir = [](const std::string& dir) -> std::optional<HttpResponse> {
    if (dir != "asc" && dir != "desc")
      return Error(400, "Invalid sort direction: " + dir);
    return std::nullopt;
  };
  if (has_sort) {
    if (!sort_keys.empty() || !sort_dirs.empty()) {
      return Error(
          400,
          "The `sort_key` and `sort_dir` parameters are deprecated and cannot be "
          "used with the `sort` parameter.");
    }
    // "name:asc,created_at" — a key without a direction sorts descending.
    size_t pos = 0;
    while (pos <= sort.size()) {
      size_t comma = sort.find(',', pos);
      if (comma == std::string::npos) comma = sort.size();
      std::string item = sort.substr(pos, comma - pos);
      pos = comma + 1;
      if (item.empty()) continue;
      std::string key = item.substr(0, item.find(':'));
      std::string dir =
          item.find(':') == std::string::npos ? "desc" : item.substr(item.find(':') + 1);
      if (auto e = check_key(key)) return *e;
      if (auto e = check_dir(dir)) return *e;
      q.sort.emplace_back(key, dir == "asc");
    }
  } else {
    if (sort_dirs.size() > 1 && sort_dirs.size() != sort_keys.size()) {
      return Error(400, "Number of sort dirs does not match the number of sort keys");
    }
    for (size_t i = 0; i < sort_keys.size(); ++i) {
      std::string dir =
          sort_dirs.empty() ? "desc" : sort_dirs[sort_dirs.size() == 1 ? 0 : i];
      if (auto e = check_key(sort_keys[i])) return *e;
      if (auto e = check_dir(dir)) return *e;
      q.sort.emplace_back(sort_keys[i], dir == "asc");
    }
    if (sort_keys.empty() && !sort_dirs.empty()) {
      if (auto e = check_dir(sort_dirs[0])) return *e;
      q.sort.emplace_back("created_at", sort_dirs[0] == "asc");
    }
  }

  Result<std::vector<ImageRecord>> images = options_.service->List(call.ctx, q);
  if (!images.ok()) return ErrorFor(images.status());
  Json list = Json::MakeArray();
  for (const ImageRecord& i : *images) list.Append(ImageView(i));
  Json body = Json::MakeObject({{"images", std::move(list)}});
  body["first"] = "/v2/images";
  body["schema"] = "/v2/schemas/images";
  if (!images->empty() && images->size() == static_cast<size_t>(q.limit)) {
    // The same query with the marker moved to this page's last image.
    std::vector<std::pair<std::string, std::string>> next;
    for (const auto& [k, v] : params) {
      if (k != "marker") next.emplace_back(k, v);
    }
    next.emplace_back("marker", images->back().image.image_id.str());
    body["next"] = "/v2/images?" + EncodeQuery(next);
  }
  return JsonResponse(200, body);
}

HttpResponse ImageApiHandler::CreateImage(const Call& call) const {
  Result<Json> body = Json::Parse(call.http->body);
  if (!body.ok()) return Error(400, "Malformed JSON in request body.");
  NewImage image;
  Status parsed = ParseNewImage(*body, &image);
  if (!parsed.ok()) return ErrorFor(parsed);
  Result<ImageRecord> created = options_.service->Create(call.ctx, image);
  if (!created.ok()) return ErrorFor(created.status());
  HttpResponse r = JsonResponse(201, ImageView(*created));
  r.headers.Set("Location",
                call.http->base_url + "/v2/images/" + created->image.image_id.str());
  return r;
}

HttpResponse ImageApiHandler::ShowImage(const Call& call) const {
  Result<ImageRecord> image = options_.service->Get(call.ctx, ImageId(call.params[0]));
  if (!image.ok()) return ErrorFor(image.status());
  return JsonResponse(200, ImageView(*image));
}

HttpResponse ImageApiHandler::UpdateImage(const Call& call) const {
  const std::string type = MediaType(*call.http);
  if (type != kPatchType && type != kPatchTypeV20) {
    HttpResponse r = Error(415, "Unsupported Content-Type");
    r.headers.Set("Accept-Patch", std::string(kPatchType) + ", " + kPatchTypeV20);
    return r;
  }
  Result<Json> body = Json::Parse(call.http->body);
  if (!body.ok()) return Error(400, "Malformed JSON in request body.");
  Result<std::vector<ImagePatchOp>> patch = ParsePatch(*body);
  if (!patch.ok()) return ErrorFor(patch.status());
  Result<ImageRecord> image =
      options_.service->Update(call.ctx, ImageId(call.params[0]), *patch);
  if (!image.ok()) return ErrorFor(image.status());
  return JsonResponse(200, ImageView(*image));
}

HttpResponse ImageApiHandler::DeleteImage(const Call& call) const {
  Status s = options_.service->Delete(call.ctx, ImageId(call.params[0]));
  if (!s.ok()) return ErrorFor(s);
  HttpResponse r;
  r.status = 204;
  return r;
}

HttpResponse ImageApiHandler::UploadData(const Call& call) const {
  if (MediaType(*call.http) != kOctetStream) {
    return Error(415, "Content-Type must be application/octet-stream");
  }
  const HttpRequest& http = *call.http;
  if (http.body_over_limit || http.body_file_size > options_.service->max_image_size()) {
    return Error(413, "The provided image is too large.");
  }
  if (http.body_file.empty()) {
    // Refused before its body was read (BodyMode): say why.
    Status refused = options_.service->CheckUpload(call.ctx, ImageId(call.params[0]));
    if (!refused.ok()) return ErrorFor(refused);
    return Error(409, "The image changed while its upload began; try again.");
  }
  Result<ImageRecord> image = options_.service->Upload(
      call.ctx, ImageId(call.params[0]), http.body_file, http.body_file_size);
  if (!image.ok()) return ErrorFor(image.status());
  HttpResponse r;
  r.status = 204;
  return r;
}

HttpResponse ImageApiHandler::DownloadData(const Call& call) const {
  Result<ImageBlob> blob = options_.service->Download(call.ctx, ImageId(call.params[0]));
  if (!blob.ok()) return ErrorFor(blob.status());
  HttpResponse r;
  if (blob->path.empty()) {
    r.status = 204;  // Glance: an image without data
    return r;
  }
  r.status = 200;
  r.headers.Set("Content-Type", kOctetStream);
  r.headers.Set("Content-MD5", blob->checksum);
  r.body_file = blob->path;
  return r;
}

HttpResponse ImageApiHandler::ShowSchema(const Call& call) const {
  // A short form of Glance's schemas: the names and types of the attributes.
  const std::string& which = call.params[0];
  if (which != "image" && which != "images") return Error(404, "Not found");
  auto prop = [](std::initializer_list<const char*> types) {
    Json t = Json::MakeArray();
    for (const char* x : types) t.Append(x);
    return Json::MakeObject({{"type", t.size() == 1 ? t.items()[0] : t}});
  };
  Json props = Json::MakeObject({
      {"id", prop({"string"})},
      {"name", prop({"null", "string"})},
      {"status", prop({"string"})},
      {"visibility", prop({"string"})},
      {"protected", prop({"boolean"})},
      {"os_hidden", prop({"boolean"})},
      {"checksum", prop({"null", "string"})},
      {"os_hash_algo", prop({"null", "string"})},
      {"os_hash_value", prop({"null", "string"})},
      {"owner", prop({"null", "string"})},
      {"size", prop({"null", "integer"})},
      {"virtual_size", prop({"null", "integer"})},
      {"min_ram", prop({"integer"})},
      {"min_disk", prop({"integer"})},
      {"disk_format", prop({"null", "string"})},
      {"container_format", prop({"null", "string"})},
      {"created_at", prop({"string"})},
      {"updated_at", prop({"string"})},
      {"tags", Json::MakeObject({{"type", "array"},
                                 {"items", Json::MakeObject({{"type", "string"}})}})},
      {"self", prop({"string"})},
      {"file", prop({"string"})},
      {"schema", prop({"string"})},
  });
  Json image = Json::MakeObject({
      {"name", "image"},
      {"properties", std::move(props)},
      {"additionalProperties", Json::MakeObject({{"type", "string"}})},
      {"links", Json::MakeArray({
                    Json::MakeObject({{"rel", "self"}, {"href", "{self}"}}),
                    Json::MakeObject({{"rel", "enclosure"}, {"href", "{file}"}}),
                    Json::MakeObject({{"rel", "describedby"}, {"href", "{schema}"}}),
                })},
  });
  if (which == "image") return JsonResponse(200, image);
  return JsonResponse(
      200,
      Json::MakeObject({
          {"name", "images"},
          {"properties",
           Json::MakeObject({
               {"images", Json::MakeObject({{"type", "array"}, {"items", image}})},
               {"schema", prop({"string"})},
               {"first", prop({"string"})},
               {"next", prop({"string"})},
           })},
          {"links", Json::MakeArray({
                        Json::MakeObject({{"rel", "first"}, {"href", "{first}"}}),
                        Json::MakeObject({{"rel", "next"}, {"href", "{next}"}}),
                        Json::MakeObject({{"rel", "describedby"}, {"href", "{schema}"}}),
                    })},
      }));
}

// ---- server -------------------------------------------------------------------

struct ImageApiServer::Impl {
  std::unique_ptr<ImageApiHandler> handler;
  HttpServer server;
};

ImageApiServer::ImageApiServer() = default;
ImageApiServer::~ImageApiServer() { Stop(); }

Status ImageApiServer::Start(const ImageApiOptions& options) {
  if (impl_ != nullptr)
    return Status::InvalidArgument("image API server already started");
  if (options.service == nullptr || options.authenticator == nullptr ||
      options.env == nullptr) {
    return Status::InvalidArgument(
        "image API: service, authenticator and env are required");
  }
  CHRONOVA_RETURN_IF_ERROR(options.service->Init());
  auto impl = std::make_unique<Impl>();
  impl->handler = std::make_unique<ImageApiHandler>(options);
  const ImageApiHandler* handler = impl->handler.get();
  HttpServerOptions http;
  http.name = "image API";
  http.metrics_label = "image";
  http.listen_url = options.listen_url;
  http.listen_fd = options.listen_fd;
  http.close_connections = !options.keep_alive;
  http.max_body_bytes = options.max_body_bytes;
  http.body_mode = [handler](const HttpRequest& r) { return handler->BodyMode(r); };
  http.body_file_dir = options.service->IncomingDir();
  http.max_file_body_bytes = options.service->max_image_size();
  http.handler = [handler](const HttpRequest& r) { return handler->Handle(r); };
  http.error_response = [](int status, const std::string& message) {
    return Error(status, status == 500 ? "Internal server error: " + message : message);
  };
  CHRONOVA_RETURN_IF_ERROR(impl->server.Start(std::move(http)));
  impl_ = std::move(impl);
  return Status::Ok();
}

HttpServer* ImageApiServer::http() { return &impl_->server; }

void ImageApiServer::Stop() {
  if (impl_ == nullptr) return;
  impl_->server.Stop();
  impl_.reset();
}

}  // namespace chronova
