#include "api/image/image_service.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "api/auth/policy.h"
#include "eventstore/command_handler.h"

namespace chronova {
namespace {

const std::set<std::string>& DiskFormats() {
  static const std::set<std::string> k = {"ami", "ari",   "aki", "vhd",   "vhdx", "vmdk",
                                          "raw", "qcow2", "vdi", "ploop", "iso"};
  return k;
}
const std::set<std::string>& ContainerFormats() {
  static const std::set<std::string> k = {"ami", "ari", "aki",    "bare",
                                          "ovf", "ova", "docker", "compressed"};
  return k;
}
const std::set<std::string>& Visibilities() {
  static const std::set<std::string> k = {"public", "private", "shared", "community"};
  return k;
}
// Attributes Glance computes itself: setting them is 403.
bool IsReadOnly(const std::string& key) {
  static const std::set<std::string> k = {
      "checksum",  "created_at",   "direct_url",    "file",         "id",
      "locations", "os_hash_algo", "os_hash_value", "schema",       "self",
      "size",      "status",       "updated_at",    "virtual_size", "owner_id"};
  return k.count(key) > 0;
}
bool IsReserved(const std::string& key) {
  return key == "deleted" || key == "deleted_at" || key == "os_glance_import_task";
}

// A C0 control character, DEL, or a C1 control (U+0080..U+009F, 0xC2 0x80..0x9F
// in UTF-8) anywhere in `s`.
bool HasControlCharacter(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return true;
    if (c == 0xC2 && i + 1 < s.size()) {
      const auto next = static_cast<unsigned char>(s[i + 1]);
      if (next >= 0x80 && next <= 0x9F) return true;
    }
  }
  return false;
}

// A custom property as POST and PATCH may set it: a name of at most 255 bytes,
// and neither name nor value with control characters (they would reach logs,
// terminals and the hypervisor's XML). Worded like Glance's refusal of 4-byte
// unicode (glance/common/utils.py no_4byte_params), answered 400.
Status CheckProperty(const std::string& key, const std::string& value) {
  if (HasControlCharacter(key)) {
    return Status::InvalidArgument("Property names can't contain control characters.");
  }
  if (key.size() > 255) return Status::InvalidArgument("Property name too long");
  if (HasControlCharacter(value)) {
    return Status::InvalidArgument("Property " + key +
                                   " can't contain control characters.");
  }
  return Status::Ok();
}

Status NoImage(const ImageId& id) {
  return Status::NotFound("No image found with ID " + id.str());
}

// Glance words its policy refusals differently from Nova.
Status GlanceAuthorize(const RequestContext& ctx, const std::string& action,
                       const ProjectId& owner) {
  Status s = Authorize(ctx, "glance:" + action, PolicyTarget{owner, UserId()});
  if (s.ok()) return s;
  return Status::PermissionDenied("You are not authorized to complete " + action +
                                  " action.");
}

// May the caller make an image this visible?
Status CheckVisibilityChange(const RequestContext& ctx, const std::string& visibility,
                             const ProjectId& owner) {
  if (!Visibilities().count(visibility)) {
    return Status::InvalidArgument("Invalid visibility value: " + visibility);
  }
  if (visibility == "public") return GlanceAuthorize(ctx, "publicize_image", owner);
  if (visibility == "community") return GlanceAuthorize(ctx, "communitize_image", owner);
  return Status::Ok();
}

Status CheckFormats(const std::string& disk, const std::string& container) {
  if (!disk.empty() && !DiskFormats().count(disk)) {
    return Status::InvalidArgument("Invalid disk format '" + disk + "' for image.");
  }
  if (!container.empty() && !ContainerFormats().count(container)) {
    return Status::InvalidArgument("Invalid container format '" + container +
                                   "' for image.");
  }
  return Status::Ok();
}

// Deduplicated, in first-seen order (Glance stores tags as a set).
Result<std::vector<std::string>> CheckTags(const std::vector<std::string>& tags) {
  std::vector<std::string> out;
  for (const std::string& t : tags) {
    if (t.size() > 255) return Status::InvalidArgument("Tag is too long: " + t);
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  }
  return out;
}

// A sort value: strings compare as strings, numbers as numbers.
struct SortValue {
  bool numeric = false;
  int64_t n = 0;
  std::string s;
  int Compare(const SortValue& o) const {
    if (numeric) return n < o.n ? -1 : n > o.n ? 1 : 0;
    return s.compare(o.s) < 0 ? -1 : s.compare(o.s) > 0 ? 1 : 0;
  }
};

SortValue SortValueOf(const ImageRecord& i, const std::string& key) {
  SortValue v;
  auto num = [&](int64_t x) {
    v.numeric = true;
    v.n = x;
  };
  if (key == "name")
    v.s = i.image.name;
  else if (key == "status")
    v.s = i.status;
  else if (key == "container_format")
    v.s = i.image.container_format;
  else if (key == "disk_format")
    v.s = i.image.disk_format;
  else if (key == "size")
    num(i.image.size);
  else if (key == "virtual_size")
    num(0);
  else if (key == "id")
    v.s = i.image.image_id.str();
  else if (key == "created_at")
    num(i.created_at.micros);
  else if (key == "updated_at")
    num(i.updated_at.micros);
  else if (key == "visibility")
    v.s = i.image.visibility;
  else if (key == "owner")
    v.s = i.image.owner.str();
  else if (key == "min_disk")
    num(i.image.min_disk);
  else if (key == "min_ram")
    num(i.image.min_ram);
  return v;
}

// Listing without a visibility filter: public, the caller's own, (admins: all);
// community images only when asked for.
bool ListedFor(const ImageRecord& i, const RequestContext& ctx,
               const std::optional<std::string>& visibility) {
  const bool own = i.image.owner == ctx.project || ctx.IsAdmin();
  const std::string& v = i.image.visibility;
  if (!visibility) return v == "public" || own;
  if (*visibility == "all") return v == "public" || v == "community" || own;
  if (v != *visibility) return false;
  return v == "public" || v == "community" || own;
}

// md5 and sha512 of a file, read in 1 MiB chunks.
Status HashFile(const std::string& path, std::string* md5, std::string* sha512) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Internal("open " + path + ": " + std::strerror(errno));
  EVP_MD_CTX* a = EVP_MD_CTX_new();
  EVP_MD_CTX* b = EVP_MD_CTX_new();
  EVP_DigestInit_ex(a, EVP_md5(), nullptr);
  EVP_DigestInit_ex(b, EVP_sha512(), nullptr);
  std::vector<unsigned char> buf(1 << 20);
  Status st;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      st = Status::Internal("read " + path + ": " + std::strerror(errno));
      break;
    }
    if (n == 0) break;
    EVP_DigestUpdate(a, buf.data(), static_cast<size_t>(n));
    EVP_DigestUpdate(b, buf.data(), static_cast<size_t>(n));
  }
  // The data must be on disk before an event says the image is active.
  if (st.ok() && ::fsync(fd) != 0) {
    st = Status::Internal("fsync " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
  auto hex = [](EVP_MD_CTX* c) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(c, out, &len);
    static const char* kHex = "0123456789abcdef";
    std::string s;
    for (unsigned int i = 0; i < len; ++i) {
      s.push_back(kHex[out[i] >> 4]);
      s.push_back(kHex[out[i] & 15]);
    }
    return s;
  };
  *md5 = hex(a);
  *sha512 = hex(b);
  EVP_MD_CTX_free(a);
  EVP_MD_CTX_free(b);
  return st;
}

void FoldImage(ImageState& s, const Envelope& env, const Event& e) {
  ApplyImageEvent(s, env, e);
}
StreamVersion ImageVersion(const ImageState& s) { return s.version; }

// The mutable metadata of an image, as an ImageUpdated carries them.
ImageUpdated MutableMetadata(const ImageState& s) {
  ImageUpdated u;
  u.name = s.image.name;
  u.visibility = s.image.visibility;
  u.min_disk = s.image.min_disk;
  u.min_ram = s.image.min_ram;
  u.is_protected = s.is_protected;
  u.tags = s.tags;
  u.properties = s.image.properties;
  return u;
}

Result<int32_t> NonNegativeInt(const std::string& key, const Json& v) {
  if (!v.is_int() || v.as_int() < 0 || v.as_int() > INT32_MAX) {
    return Status::InvalidArgument("Invalid value for " + key + ": " + v.PythonRepr() +
                                   " is not a non-negative integer");
  }
  return static_cast<int32_t>(v.as_int());
}

// One patch operation applied to `u`; `present` says which keys exist now.
Status ApplyPatchOp(const ImagePatchOp& op, ImageUpdated& u) {
  if (op.path.size() < 2 || op.path[0] != '/' ||
      op.path.find('/', 1) != std::string::npos) {
    return Status::InvalidArgument("Invalid JSON pointer for this resource: '" + op.path +
                                   "'");
  }
  const std::string key = op.path.substr(1);
  using Kind = ImagePatchOp::Kind;
  if (IsReserved(key)) {
    return Status::PermissionDenied("Attribute '" + key + "' is reserved.");
  }
  if (IsReadOnly(key) || key == "owner" || key == "disk_format" ||
      key == "container_format") {
    // Formats may change only while queued in Glance; chronova keeps them fixed.
    return Status::PermissionDenied("Attribute '" + key + "' is read-only.");
  }
  const bool core = key == "name" || key == "visibility" || key == "min_disk" ||
                    key == "min_ram" || key == "protected" || key == "tags";
  if (op.kind == Kind::kRemove) {
    if (core) {
      return Status::PermissionDenied("Cannot remove attribute '" + key + "'.");
    }
    if (u.properties.erase(key) == 0) {
      return Status::Conflict("Property " + key + " does not exist.");
    }
    return Status::Ok();
  }
  const Json& v = op.value;
  if (key == "name") {
    if (!(v.is_string() || v.is_null()) || (v.is_string() && v.as_string().size() > 255))
      return Status::InvalidArgument("Invalid value for name");
    u.name = v.is_string() ? v.as_string() : "";
  } else if (key == "visibility") {
    if (!v.is_string()) return Status::InvalidArgument("Invalid value for visibility");
    u.visibility = v.as_string();
  } else if (key == "min_disk" || key == "min_ram") {
    CHRONOVA_ASSIGN_OR_RETURN(int32_t n, NonNegativeInt(key, v));
    (key == "min_disk" ? u.min_disk : u.min_ram) = n;
  } else if (key == "protected") {
    if (!v.is_bool()) return Status::InvalidArgument("Invalid value for protected");
    u.is_protected = v.as_bool();
  } else if (key == "tags") {
    if (!v.is_array()) return Status::InvalidArgument("Invalid value for tags");
    std::vector<std::string> tags;
    for (const Json& t : v.items()) {
      if (!t.is_string()) return Status::InvalidArgument("Invalid value for tags");
      tags.push_back(t.as_string());
    }
    CHRONOVA_ASSIGN_OR_RETURN(u.tags, CheckTags(tags));
  } else {
    if (op.kind == Kind::kReplace && u.properties.count(key) == 0) {
      return Status::Conflict("Property " + key + " does not exist.");
    }
    if (!v.is_string()) {
      return Status::InvalidArgument("Invalid value for property " + key + ": " +
                                     v.PythonRepr() + " is not of type 'string'");
    }
    CHRONOVA_RETURN_IF_ERROR(CheckProperty(key, v.as_string()));
    u.properties[key] = v.as_string();
  }
  return Status::Ok();
}

}  // namespace

bool IsImageSortKey(const std::string& key) {
  static const std::set<std::string> k = {
      "name",         "status",   "container_format", "disk_format", "size",
      "virtual_size", "id",       "created_at",       "updated_at",  "visibility",
      "owner",        "min_disk", "min_ram"};
  return k.count(key) > 0;
}

ImageService::ImageService(EventLog* log, ProjectionStore* store,
                           const ProjectionRunner* runner, ImageServiceOptions options)
    : log_(log), store_(store), runner_(runner), options_(std::move(options)) {}

std::string ImageService::IncomingDir() const {
  return options_.blob_dir + "/.incoming" +
         (options_.incoming_name.empty() ? "" : "/" + options_.incoming_name);
}

std::string ImageService::BlobPath(const ImageId& id) const {
  return options_.blob_dir + "/" + id.str();
}

Status ImageService::Init() {
  std::error_code ec;
  std::filesystem::create_directories(IncomingDir(), ec);
  if (ec) return Status::Internal("create " + IncomingDir() + ": " + ec.message());
  // Uploads cut short by a crash: nothing refers to them.
  for (const auto& entry : std::filesystem::directory_iterator(IncomingDir(), ec)) {
    std::filesystem::remove(entry.path(), ec);
  }
  return Status::Ok();
}

Status ImageService::WaitFor(Seq seq) const {
  return runner_->WaitFor(seq, options_.wait_timeout_ms);
}

Result<ImageRecord> FindVisibleImage(const ProjectionStore& store,
                                     const RequestContext& ctx, const ImageId& id) {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store.Reader(ImagesProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<ImageRecord> r,
                            ImagesView(reader.get()).Get(id));
  if (!r || r->status == kImageDeleted || !ImageVisibleTo(*r, ctx)) return NoImage(id);
  return std::move(*r);
}

Result<ImageRecord> FindBootableImage(const ProjectionStore& store,
                                      const RequestContext& ctx, const ImageId& id) {
  CHRONOVA_ASSIGN_OR_RETURN(ImageRecord r, FindVisibleImage(store, ctx, id));
  // nova/compute/api.py _validate_flavor_image: only active images boot.
  if (r.status != kImageActive) {
    return Status::InvalidArgument("Image " + id.str() + " is not active.");
  }
  return r;
}

Result<std::optional<ImageRecord>> ImageService::Lookup(const ImageId& id) const {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ImagesProjection::kName));
  return ImagesView(reader.get()).Get(id);
}

Result<ImageRecord> ImageService::Create(const RequestContext& ctx, const NewImage& in) {
  ImageCreated e;
  e.image_id = ImageId(in.id.empty() ? options_.env->NewUuid() : in.id);
  e.owner = in.owner.empty() ? ctx.project : ProjectId(in.owner);
  CHRONOVA_RETURN_IF_ERROR(GlanceAuthorize(ctx, "add_image", e.owner));
  if (e.owner != ctx.project && !ctx.IsAdmin()) {
    return Status::PermissionDenied("You are not permitted to create images owned by '" +
                                    e.owner.str() + "'.");
  }
  if (in.name.size() > 255) return Status::InvalidArgument("Image name too long");
  CHRONOVA_RETURN_IF_ERROR(CheckFormats(in.disk_format, in.container_format));
  e.visibility = in.visibility.empty() ? "shared" : in.visibility;
  CHRONOVA_RETURN_IF_ERROR(CheckVisibilityChange(ctx, e.visibility, e.owner));
  for (const auto& [k, v] : in.properties) {
    if (IsReserved(k))
      return Status::PermissionDenied("Attribute '" + k + "' is reserved.");
    if (IsReadOnly(k))
      return Status::PermissionDenied("Attribute '" + k + "' is read-only.");
    CHRONOVA_RETURN_IF_ERROR(CheckProperty(k, v));
  }
  e.name = in.name;
  e.disk_format = in.disk_format;
  e.container_format = in.container_format;
  e.min_disk = in.min_disk;
  e.min_ram = in.min_ram;
  e.is_protected = in.is_protected;
  CHRONOVA_ASSIGN_OR_RETURN(e.tags, CheckTags(in.tags));
  e.properties = in.properties;

  AppendRequest append;
  append.stream = ImageStream(e.image_id);
  append.expected = ExpectedVersion::NoStream();
  append.key = IdempotencyKey("image-create-" + ctx.request_id.str());
  append.events.push_back(MakeNewEvent(e, ctx.Meta(options_.env->Now())));
  Result<AppendResult> appended = log_->Append(append);
  if (!appended.ok()) {
    if (appended.status().IsConflict()) {
      return Status::Conflict("Image with identifier " + e.image_id.str() +
                              " already exists!");
    }
    return appended.status();
  }
  CHRONOVA_RETURN_IF_ERROR(WaitFor(appended->last_seq));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<ImageRecord> r, Lookup(e.image_id));
  if (!r) return Status::Internal("image " + e.image_id.str() + " missing after create");
  return std::move(*r);
}

Result<ImageRecord> ImageService::Get(const RequestContext& ctx,
                                      const ImageId& id) const {
  CHRONOVA_RETURN_IF_ERROR(GlanceAuthorize(ctx, "get_image", ctx.project));
  return FindVisibleImage(*store_, ctx, id);
}

Result<std::vector<ImageRecord>> ImageService::List(const RequestContext& ctx,
                                                    const ImageListQuery& q) const {
  CHRONOVA_RETURN_IF_ERROR(GlanceAuthorize(ctx, "get_images", ctx.project));
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ImagesProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<ImageRecord> all,
                            ImagesView(reader.get()).List());
  std::vector<ImageRecord> out;
  for (ImageRecord& i : all) {
    if (!ListedFor(i, ctx, q.visibility)) continue;
    if (q.name && i.image.name != *q.name) continue;
    if (q.status && i.status != *q.status) continue;
    if (q.owner && i.image.owner.str() != *q.owner) continue;
    if (q.disk_format && i.image.disk_format != *q.disk_format) continue;
    if (q.container_format && i.image.container_format != *q.container_format) continue;
    if (!std::all_of(q.tags.begin(), q.tags.end(), [&](const std::string& t) {
          return std::find(i.tags.begin(), i.tags.end(), t) != i.tags.end();
        })) {
      continue;
    }
    if (!std::all_of(q.properties.begin(), q.properties.end(), [&](const auto& kv) {
          auto it = i.image.properties.find(kv.first);
          return it != i.image.properties.end() && it->second == kv.second;
        })) {
      continue;
    }
    out.push_back(std::move(i));
  }
  std::vector<std::pair<std::string, bool>> keys = q.sort;
  const bool tie_ascending = !keys.empty() && keys.front().second;
  for (const char* k : {"created_at", "id"}) {
    if (std::none_of(keys.begin(), keys.end(),
                     [&](const auto& p) { return p.first == k; }))
      keys.emplace_back(k, tie_ascending);
  }
  std::sort(out.begin(), out.end(), [&](const ImageRecord& a, const ImageRecord& b) {
    for (const auto& [key, ascending] : keys) {
      int c = SortValueOf(a, key).Compare(SortValueOf(b, key));
      if (c != 0) return ascending ? c < 0 : c > 0;
    }
    return false;
  });
  size_t begin = 0;
  if (q.marker) {
    auto it = std::find_if(out.begin(), out.end(), [&](const ImageRecord& i) {
      return i.image.image_id.str() == *q.marker;
    });
    if (it == out.end()) {
      return Status::InvalidArgument("Invalid marker. Image " + *q.marker +
                                     " could not be found.");
    }
    begin = static_cast<size_t>(it - out.begin()) + 1;
  }
  size_t end = std::min(out.size(), begin + static_cast<size_t>(std::max(q.limit, 0)));
  return std::vector<ImageRecord>(std::make_move_iterator(out.begin() + begin),
                                  std::make_move_iterator(out.begin() + end));
}

Result<ImageRecord> ImageService::Update(const RequestContext& ctx, const ImageId& id,
                                         const std::vector<ImagePatchOp>& patch) {
  ImageState initial;
  initial.image.image_id = id;
  auto decide = [&](const ImageState& s) -> Result<std::vector<Event>> {
    if (!s.exists || s.status == kImageDeleted || !ImageVisibleTo(s, ctx)) {
      return NoImage(id);
    }
    CHRONOVA_RETURN_IF_ERROR(GlanceAuthorize(ctx, "modify_image", s.image.owner));
    ImageUpdated u = MutableMetadata(s);
    for (const ImagePatchOp& op : patch) CHRONOVA_RETURN_IF_ERROR(ApplyPatchOp(op, u));
    if (u.visibility != s.image.visibility) {
      CHRONOVA_RETURN_IF_ERROR(CheckVisibilityChange(ctx, u.visibility, s.image.owner));
    }
    return std::vector<Event>{u};
  };
  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome out,
      HandleCommand(*log_, ImageStream(id), initial, FoldImage, ImageVersion, decide,
                    ctx.Meta(options_.env->Now()),
                    IdempotencyKey("image-update-" + ctx.request_id.str())));
  if (out.appended) CHRONOVA_RETURN_IF_ERROR(WaitFor(out.append.last_seq));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<ImageRecord> r, Lookup(id));
  if (!r) return NoImage(id);
  return std::move(*r);
}

Status ImageService::Delete(const RequestContext& ctx, const ImageId& id) {
  ImageState initial;
  initial.image.image_id = id;
  auto decide = [&](const ImageState& s) -> Result<std::vector<Event>> {
    if (!s.exists || s.status == kImageDeleted || !ImageVisibleTo(s, ctx)) {
      return NoImage(id);
    }
    CHRONOVA_RETURN_IF_ERROR(GlanceAuthorize(ctx, "delete_image", s.image.owner));
    if (s.is_protected) {
      return Status::PermissionDenied("Image " + id.str() +
                                      " is protected and cannot be deleted.");
    }
    return std::vector<Event>{ImageDeleted{}};
  };
  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome out,
      HandleCommand(*log_, ImageStream(id), initial, FoldImage, ImageVersion, decide,
                    ctx.Meta(options_.env->Now()),
                    IdempotencyKey("image-delete-" + ctx.request_id.str())));
  // The record is gone first; data nobody refers to any more go after it (a
  // crash in between leaves an orphan file, never an image without data).
  std::error_code ec;
  std::filesystem::remove(BlobPath(id), ec);
  if (out.appended) CHRONOVA_RETURN_IF_ERROR(WaitFor(out.append.last_seq));
  return Status::Ok();
}

Result<ImageRecord> ImageService::Upload(const RequestContext& ctx, const ImageId& id,
                                         const std::string& file, uint64_t size) {
  if (size > options_.max_image_size) {
    return Status::InvalidArgument("The provided image is too large.");
  }
  return StoreFile(id, file, size, ctx.Meta(options_.env->Now()), ctx.request_id.str(),
                   [&](const ImageState& s) -> Status {
                     if (!ImageVisibleTo(s, ctx)) return NoImage(id);
                     return GlanceAuthorize(ctx, "upload_image", s.image.owner);
                   });
}

Status ImageService::CheckUpload(const RequestContext& ctx, const ImageId& id) const {
  CHRONOVA_ASSIGN_OR_RETURN(ImageRecord r, Get(ctx, id));
  CHRONOVA_RETURN_IF_ERROR(GlanceAuthorize(ctx, "upload_image", r.image.owner));
  ImageState s;
  s.exists = true;
  s.status = r.status;
  s.image = r.image;
  return CheckImageUpload(s);
}

Result<ImageRecord> ImageService::StoreFile(
    const ImageId& id, const std::string& file, uint64_t size, const EventMeta& meta,
    const std::string& key_suffix,
    const std::function<Status(const ImageState&)>& check) {
  // queued → saving: only one upload can append this at the queued version.
  ImageState initial;
  initial.image.image_id = id;
  auto start = [&](const ImageState& s) -> Result<std::vector<Event>> {
    if (!s.exists || s.status == kImageDeleted) return NoImage(id);
    CHRONOVA_RETURN_IF_ERROR(check(s));
    CHRONOVA_RETURN_IF_ERROR(CheckImageUpload(s));
    return std::vector<Event>{ImageUploadStarted{}};
  };
  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome started,
      HandleCommand(*log_, ImageStream(id), initial, FoldImage, ImageVersion, start, meta,
                    IdempotencyKey("image-upload-" + key_suffix)));

  // Hash, make durable, rename into place; on failure back to queued.
  ImageActivated activated;
  activated.size = static_cast<int64_t>(size);
  activated.os_hash_algo = "sha512";
  Status stored = HashFile(file, &activated.checksum, &activated.os_hash_value);
  // Readable by the hypervisor's user (mkstemp made it 0600).
  if (stored.ok() && ::chmod(file.c_str(), 0644) != 0) {
    stored = Status::Internal("chmod " + file + ": " + std::strerror(errno));
  }
  if (stored.ok() && ::rename(file.c_str(), BlobPath(id).c_str()) != 0) {
    stored = Status::Internal("rename " + file + " to " + BlobPath(id) + ": " +
                              std::strerror(errno));
  }
  AppendRequest finish;
  finish.stream = ImageStream(id);
  finish.expected = ExpectedVersion::Exactly(started.version);
  if (stored.ok()) {
    finish.key = IdempotencyKey("image-activate-" + key_suffix);
    finish.events.push_back(MakeNewEvent(activated, meta));
  } else {
    finish.key = IdempotencyKey("image-upload-failed-" + key_suffix);
    finish.events.push_back(MakeNewEvent(ImageUploadFailed{stored.message()}, meta));
  }
  Result<AppendResult> appended = log_->Append(finish);
  if (!appended.ok() || !stored.ok()) {
    std::error_code ec;
    std::filesystem::remove(BlobPath(id), ec);
    if (!stored.ok()) return stored;
    // Deleted while saving (the only other writer of a saving image).
    if (appended.status().IsConflict()) return NoImage(id);
    return appended.status();
  }
  CHRONOVA_RETURN_IF_ERROR(WaitFor(appended->last_seq));
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<ImageRecord> r, Lookup(id));
  if (!r) return NoImage(id);
  return std::move(*r);
}

Status ImageService::Store(const ImageId& id, const std::string& path,
                           const ImageSinkContext& ctx) {
  // Copied, not moved: the agent's file may be on another file system, and the
  // blob store only takes files by rename from IncomingDir().
  std::string tmp = IncomingDir() + "/snapshot-XXXXXX";
  int out = ::mkstemp(tmp.data());
  if (out < 0) return Status::Internal("mkstemp " + tmp + ": " + std::strerror(errno));
  int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  Status st;
  uint64_t size = 0;
  if (in < 0) {
    st = Status::Internal("open " + path + ": " + std::strerror(errno));
  } else {
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t n = ::read(in, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        st = Status::Internal("read " + path + ": " + std::strerror(errno));
        break;
      }
      if (n == 0) break;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(out, buf.data() + off, static_cast<size_t>(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
          st = Status::Internal("write " + tmp + ": " + std::strerror(errno));
          break;
        }
        off += w;
      }
      if (!st.ok()) break;
      size += static_cast<uint64_t>(n);
    }
    ::close(in);
  }
  ::close(out);
  if (st.ok() && size > options_.max_image_size) {
    st = Status::InvalidArgument("The provided image is too large.");
  }
  if (st.ok()) {
    EventMeta meta{options_.env->Now(), ctx.request_id, Seq(), ctx.actor};
    st = StoreFile(id, tmp, size, meta, "snapshot-" + id.str(), [](const ImageState&) {
           return Status::Ok();
         }).status();
  }
  std::error_code ec;
  std::filesystem::remove(tmp, ec);  // gone already if it was stored
  return st;
}

Status ImageService::Discard(const ImageId& id, const ImageSinkContext& ctx) {
  ImageState initial;
  initial.image.image_id = id;
  auto decide = [&](const ImageState& s) -> Result<std::vector<Event>> {
    if (!s.exists || s.status == kImageDeleted) return std::vector<Event>{};
    return std::vector<Event>{ImageDeleted{}};
  };
  EventMeta meta{options_.env->Now(), ctx.request_id, Seq(), ctx.actor};
  CHRONOVA_ASSIGN_OR_RETURN(
      CommandOutcome out,
      HandleCommand(*log_, ImageStream(id), initial, FoldImage, ImageVersion, decide,
                    meta, IdempotencyKey("image-discard-" + id.str())));
  std::error_code ec;
  std::filesystem::remove(BlobPath(id), ec);
  if (out.appended) CHRONOVA_RETURN_IF_ERROR(WaitFor(out.append.last_seq));
  return Status::Ok();
}

Status ImageService::RotateBackups(const InstanceId& instance,
                                   const std::string& backup_type, int rotation,
                                   const ImageSinkContext& ctx) {
  CHRONOVA_ASSIGN_OR_RETURN(auto reader, store_->Reader(ImagesProjection::kName));
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<ImageRecord> all,
                            ImagesView(reader.get()).List());
  auto property = [](const ImageRecord& r, const char* key) -> std::string {
    auto it = r.image.properties.find(key);
    return it == r.image.properties.end() ? "" : it->second;
  };
  // Only the caller's project's images: anyone may set these properties on
  // an image of their own, and Nova rotates with the caller's context.
  std::vector<const ImageRecord*> backups;
  for (const ImageRecord& r : all) {
    if (r.image.owner == ctx.actor.project && property(r, "image_type") == "backup" &&
        property(r, "backup_type") == backup_type &&
        property(r, "instance_uuid") == instance.str()) {
      backups.push_back(&r);
    }
  }
  // Newest first (created_at desc, as Nova asks the image service).
  std::sort(backups.begin(), backups.end(),
            [](const ImageRecord* a, const ImageRecord* b) {
              return a->created_at.micros > b->created_at.micros;
            });
  for (size_t i = static_cast<size_t>(std::max(rotation, 0)); i < backups.size(); ++i) {
    CHRONOVA_RETURN_IF_ERROR(Discard(backups[i]->image.image_id, ctx));
  }
  return Status::Ok();
}

Result<bool> ImageService::Uploaded(const ImageId& id) const {
  Result<ImageBlob> blob = Open(id);
  if (blob.ok()) return true;
  if (blob.status().IsNotFound() || blob.status().code() == StatusCode::kInvalidArgument)
    return false;
  return blob.status();
}

Result<ImageBlob> ImageService::Download(const RequestContext& ctx,
                                         const ImageId& id) const {
  CHRONOVA_ASSIGN_OR_RETURN(ImageRecord r, Get(ctx, id));
  CHRONOVA_RETURN_IF_ERROR(GlanceAuthorize(ctx, "download_image", r.image.owner));
  ImageBlob blob;
  blob.id = id;
  if (r.status != kImageActive) return blob;
  struct stat st {};
  if (::stat(BlobPath(id).c_str(), &st) != 0) return blob;  // a record without data
  blob.path = BlobPath(id);
  blob.size = static_cast<int64_t>(st.st_size);
  blob.checksum = r.image.checksum;
  blob.os_hash_value = r.os_hash_value;
  return blob;
}

Result<ImageBlob> ImageService::Open(const ImageId& id) const {
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<ImageRecord> r, Lookup(id));
  if (!r) return NoImage(id);
  struct stat st {};
  if (r->status != kImageActive || ::stat(BlobPath(id).c_str(), &st) != 0) {
    return Status::InvalidArgument("Image " + id.str() + " has no data.");
  }
  return ImageBlob{id,
                   BlobPath(id),
                   static_cast<int64_t>(st.st_size),
                   r->image.checksum,
                   r->os_hash_value,
                   r->image.disk_format,
                   r->image.properties};
}

}  // namespace chronova
