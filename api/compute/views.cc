#include "api/compute/views.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include "api/http/http_message.h"
#include "api/http/microversion.h"
#include "core/utf8.h"

namespace chronova {
namespace {

constexpr char kDocsUrl[] = "http://docs.openstack.org/";

// Nova's status names for the image states Glance reports (views/images.py).
std::string ImageApiStatus(const std::string& glance_status) {
  if (glance_status == "active") return "ACTIVE";
  if (glance_status == "queued" || glance_status == "saving") return "SAVING";
  if (glance_status == "deleted" || glance_status == "pending_delete") return "DELETED";
  if (glance_status == "killed") return "ERROR";
  return "UNKNOWN";
}

int ImageProgress(const std::string& glance_status) {
  if (glance_status == "queued") return 25;
  if (glance_status == "saving") return 50;
  if (glance_status == "active") return 100;
  return 0;
}

// oslo strutils.bool_from_string(strict=False) for "true"-ish values.
bool TruthyString(const std::string& s) {
  std::string l;
  for (char c : s)
    l.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return l == "1" || l == "t" || l == "true" || l == "on" || l == "y" || l == "yes";
}

// The API statuses in which Nova shows "progress" and "fault".
bool ShowsProgress(std::string_view status) {
  return status == "ACTIVE" || status == "BUILD" || status == "REBUILD" ||
         status == "RESIZE" || status == "VERIFY_RESIZE" || status == "MIGRATING";
}
bool ShowsFault(std::string_view status) {
  return status == "ERROR" || status == "DELETED";
}

}  // namespace

std::string LinkContext::Self(const std::string& collection,
                              const std::string& id) const {
  return version_url + (project.empty() ? "" : "/" + project) + "/" + collection + "/" +
         id;
}

std::string LinkContext::Bookmark(const std::string& collection,
                                  const std::string& id) const {
  return bookmark_url + (project.empty() ? "" : "/" + project) + "/" + collection + "/" +
         id;
}

void LinkContext::WriteLinks(JsonWriter& w, const std::string& collection,
                             const std::string& id) const {
  w.BeginArray();
  w.BeginObject().Field("rel", "self").Field("href", Self(collection, id)).EndObject();
  w.BeginObject().Field("rel", "bookmark").Field("href", Bookmark(collection, id));
  w.EndObject().EndArray();
}

Json LinkContext::Links(const std::string& collection, const std::string& id) const {
  return Json::MakeArray({
      Json::MakeObject({{"rel", "self"}, {"href", Self(collection, id)}}),
      Json::MakeObject({{"rel", "bookmark"}, {"href", Bookmark(collection, id)}}),
  });
}

std::string FaultName(int code) {
  switch (code) {
    case 400:
      return "badRequest";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "itemNotFound";
    case 405:
      return "badMethod";
    case 409:
      return "conflictingRequest";
    case 413:
      return "overLimit";
    case 415:
      return "badMediaType";
    case 429:
      return "overLimit";
    case 501:
      return "notImplemented";
    case 503:
      return "serviceUnavailable";
    default:
      return "computeFault";
  }
}

Json FaultBody(int code, const std::string& message) {
  Json body = Json::MakeObject();
  body[FaultName(code)] = Json::MakeObject({{"code", code}, {"message", message}});
  return body;
}

std::string HostId(const ProjectId& project, const HostName& host) {
  if (host.empty()) return "";
  std::string data = project.str() + host.str();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha224(), nullptr) != 1)
    return "";
  return LowerHex(std::string_view(reinterpret_cast<const char*>(digest), len));
}

std::string FormatUsageTime(Timestamp t) {
  std::string s = FormatIso8601(t);  // "...ffffffZ"
  if (!s.empty() && s.back() == 'Z') s.pop_back();
  return s;
}

Json ServerCreatedView(const LinkContext& links, const InstanceState& s,
                       const Json& security_groups, const std::string& admin_pass) {
  Json server = Json::MakeObject();
  server["id"] = s.id.str();
  server["links"] = links.Links("servers", s.id.str());
  server["OS-DCF:diskConfig"] = s.auto_disk_config ? "AUTO" : "MANUAL";
  server["security_groups"] =
      security_groups.is_null()
          ? Json::MakeArray({Json::MakeObject({{"name", "default"}})})
          : security_groups;
  if (!admin_pass.empty()) server["adminPass"] = admin_pass;
  return server;
}

void WriteServerBasic(JsonWriter& w, const LinkContext& links, const InstanceState& s) {
  w.BeginObject().Field("id", s.id.str()).Field("name", s.name);
  w.Key("links");
  links.WriteLinks(w, "servers", s.id.str());
  w.EndObject();
}

namespace {

// {"id": id, "links": [{"rel": "bookmark", "href": ...}]}: a server's image
// or (before 2.47) flavor.
void WriteBookmarked(JsonWriter& w, const LinkContext& links,
                     const std::string& collection, const std::string& id) {
  w.BeginObject().Field("id", id).Key("links").BeginArray();
  w.BeginObject().Field("rel", "bookmark").Field("href", links.Bookmark(collection, id));
  w.EndObject().EndArray().EndObject();
}

void WriteMetadata(JsonWriter& w, const std::map<std::string, std::string>& m) {
  w.BeginObject();
  for (const auto& [k, v] : m) w.Field(k, v);
  w.EndObject();
}

void WriteStrings(JsonWriter& w, const std::vector<std::string>& items) {
  w.BeginArray();
  for (const std::string& i : items) w.String(i);
  w.EndArray();
}

void WriteTimeOrNull(JsonWriter& w, Timestamp t) {
  if (t.micros == 0) {
    w.Null();
  } else {
    w.String(FormatUsageTime(t));
  }
}

}  // namespace

void WriteServerDetail(JsonWriter& w, const LinkContext& links, const InstanceState& s,
                       const ServerViewOptions& options) {
  const std::string_view status = ApiStatus(s);
  w.BeginObject();
  w.Field("id", s.id.str());
  w.Field("name", s.name);
  w.Field("status", status);
  w.Field("tenant_id", s.project_id.str());
  w.Field("user_id", s.user_id.str());
  w.Key("metadata");
  WriteMetadata(w, s.metadata);
  w.Field("hostId", HostId(s.project_id, s.host));
  w.Key("image");
  if (s.image_id.empty()) {
    w.String("");  // booted from a volume
  } else {
    WriteBookmarked(w, links, "images", s.image_id.str());
  }
  w.Key("flavor");
  if (options.version >= ApiVersion{2, 47}) {
    // The flavor the server was built (or resized) with, as it was then.
    w.BeginObject()
        .Field("vcpus", s.flavor.vcpus)
        .Field("ram", s.flavor.memory_mb)
        .Field("disk", s.flavor.root_gb)
        .Field("ephemeral", s.flavor.ephemeral_gb)
        .Field("swap", s.flavor.swap_mb)
        .Field("original_name", s.flavor.name);
    if (options.flavor_extra_specs) {
      w.Key("extra_specs");
      WriteMetadata(w, s.flavor.extra_specs);
    }
    w.EndObject();
  } else {
    WriteBookmarked(w, links, "flavors", s.flavor.id.str());
  }
  w.Field("created", FormatIso8601Seconds(s.created_at));
  w.Field("updated",
          FormatIso8601Seconds(s.updated_at.micros ? s.updated_at : s.created_at));
  // chronova has no networking yet; Nova hides addresses while building anyway.
  w.Key("addresses").BeginObject().EndObject();
  w.Field("accessIPv4", s.access_ipv4);
  w.Field("accessIPv6", s.access_ipv6);
  w.Key("links");
  links.WriteLinks(w, "servers", s.id.str());
  w.Field("OS-DCF:diskConfig", s.auto_disk_config ? "AUTO" : "MANUAL");
  if (ShowsFault(status) && s.has_fault) {
    w.Key("fault")
        .BeginObject()
        .Field("code", s.fault.code)
        .Field("created", FormatIso8601Seconds(s.fault.created))
        .Field("message", s.fault.message)
        .EndObject();
  }
  // Nova sets progress to 0 at create and only moves it during migrations.
  if (ShowsProgress(status)) w.Field("progress", 0);
  if (options.version >= ApiVersion{2, 9}) w.Field("locked", s.locked);
  if (options.version >= ApiVersion{2, 73}) {
    w.Key("locked_reason").StringOrNull(s.locked_reason);
  }
  if (options.version >= ApiVersion{2, 26}) {
    w.Key("tags");
    WriteStrings(w, s.tags);
  }
  if (options.version >= ApiVersion{2, 19}) {
    // A server created before 2.19 is described by its name, as in Nova.
    w.Key("description");
    if (!s.description_recorded) {
      w.String(s.name);
    } else if (s.description_null) {
      w.Null();
    } else {
      w.String(s.description);
    }
  }
  if (options.version >= ApiVersion{2, 63}) {
    w.Key("trusted_image_certificates");  // null when none
    if (s.trusted_certs.empty()) {
      w.Null();
    } else {
      WriteStrings(w, s.trusted_certs);
    }
  }
  if (options.server_groups) {
    w.Key("server_groups");
    WriteStrings(w, *options.server_groups);
  }
  if (!options.all_attributes) {
    w.EndObject();
    return;
  }
  if (options.host_status) w.Field("host_status", options.host_status(s.host));
  // The requested zone, else the host's (every chronova host is in Nova's
  // default zone "nova" unless it says otherwise), else "" while unscheduled.
  w.Field("OS-EXT-AZ:availability_zone", !s.availability_zone.empty()
                                             ? std::string_view(s.availability_zone)
                                         : s.host.empty() ? std::string_view("")
                                                          : std::string_view("nova"));
  w.Field("config_drive", "");
  w.Key("key_name").StringOrNull(s.key_name);
  w.Key("OS-SRV-USG:launched_at");
  WriteTimeOrNull(w, s.launched_at);
  w.Key("OS-SRV-USG:terminated_at");
  WriteTimeOrNull(w, s.terminated_at);
  w.Key("security_groups").BeginArray();
  w.BeginObject().Field("name", "default").EndObject();
  w.EndArray();
  if (options.extended_attributes) {
    w.Key("OS-EXT-SRV-ATTR:host").StringOrNull(s.host.str());
    w.Field("OS-EXT-SRV-ATTR:instance_name", s.hypervisor_name);
    w.Key("OS-EXT-SRV-ATTR:hypervisor_hostname").StringOrNull(s.host.str());
    if (options.version >= ApiVersion{2, 3}) {
      w.Field("OS-EXT-SRV-ATTR:reservation_id", s.reservation_id);
      w.Field("OS-EXT-SRV-ATTR:launch_index", s.launch_index);
      w.Field("OS-EXT-SRV-ATTR:hostname", SanitizeHostname(s.name));
      w.Field("OS-EXT-SRV-ATTR:kernel_id", "");
      w.Field("OS-EXT-SRV-ATTR:ramdisk_id", "");
      // The libvirt driver names the root disk once the guest is defined.
      w.Key("OS-EXT-SRV-ATTR:root_device_name");
      if (s.launched_at.micros != 0) {
        w.String("/dev/vda");
      } else {
        w.Null();
      }
      w.Key("OS-EXT-SRV-ATTR:user_data").StringOrNull(s.user_data);
    }
  }
  w.Key("OS-EXT-STS:task_state").StringOrNull(TaskStateName(s.task_state));
  w.Field("OS-EXT-STS:vm_state", VmStateName(s.vm_state));
  w.Field("OS-EXT-STS:power_state", static_cast<int>(s.power_state));
  w.Key("os-extended-volumes:volumes_attached").BeginArray().EndArray();
  w.EndObject();
}

Json ServerDetailView(const LinkContext& links, const InstanceState& s,
                      const ServerViewOptions& options) {
  std::string text;
  JsonWriter w(text);
  WriteServerDetail(w, links, s, options);
  return *Json::Parse(text);  // our own text
}

std::string SanitizeHostname(const std::string& name) {
  std::string out;
  for (char c : name) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (l == ' ' || l == '_') l = '-';
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '.' || l == '-') {
      out.push_back(l);
    }
  }
  if (out.size() > 63) out.resize(63);
  size_t begin = out.find_first_not_of(".-");
  if (begin == std::string::npos) return "";
  size_t end = out.find_last_not_of(".-");
  return out.substr(begin, end - begin + 1);
}

constexpr ApiVersion kFlavorDescriptionVersion{2, 55};

Json FlavorBasicView(const LinkContext& links, const FlavorRecord& f,
                     ApiVersion version) {
  Json flavor = Json::MakeObject({
      {"id", f.spec.id.str()},
      {"name", f.spec.name},
      {"links", links.Links("flavors", f.spec.id.str())},
  });
  if (version >= kFlavorDescriptionVersion)
    flavor["description"] = NullIfEmpty(f.description);
  return flavor;
}

Json FlavorDetailView(const LinkContext& links, const FlavorRecord& f, ApiVersion version,
                      bool extra_specs) {
  Json flavor = Json::MakeObject();
  flavor["id"] = f.spec.id.str();
  flavor["name"] = f.spec.name;
  flavor["ram"] = f.spec.memory_mb;
  flavor["disk"] = f.spec.root_gb;
  // Before 2.75 Nova shows a swap of 0 as "".
  flavor["swap"] = f.spec.swap_mb == 0 ? Json("") : Json(f.spec.swap_mb);
  flavor["OS-FLV-EXT-DATA:ephemeral"] = f.spec.ephemeral_gb;
  flavor["OS-FLV-DISABLED:disabled"] = false;
  flavor["vcpus"] = f.spec.vcpus;
  flavor["os-flavor-access:is_public"] = f.is_public;
  flavor["rxtx_factor"] = 1.0;
  flavor["links"] = links.Links("flavors", f.spec.id.str());
  if (version >= kFlavorDescriptionVersion)
    flavor["description"] = NullIfEmpty(f.description);
  if (extra_specs && version >= ApiVersion{2, 61}) {
    flavor["extra_specs"] = MetadataJson(f.spec.extra_specs);
  }
  if (version >= ApiVersion{2, 75}) flavor["swap"] = f.spec.swap_mb;
  return flavor;
}

namespace {

Json ImageLinks(const LinkContext& links, const std::string& id) {
  Json out = links.Links("images", id);
  out.Append(Json::MakeObject({
      {"rel", "alternate"},
      {"type", "application/vnd.openstack.image"},
      {"href", links.image_url + "/images/" + id},
  }));
  return out;
}

}  // namespace

Json ImageBasicView(const LinkContext& links, const ImageRecord& i) {
  return Json::MakeObject({
      {"id", i.image.image_id.str()},
      {"name", i.image.name},
      {"links", ImageLinks(links, i.image.image_id.str())},
  });
}

Json ImageDetailView(const LinkContext& links, const ImageRecord& i) {
  const std::string& id = i.image.image_id.str();
  Json image = Json::MakeObject();
  image["id"] = id;
  image["name"] = i.image.name;
  image["minRam"] = i.image.min_ram;
  image["minDisk"] = i.image.min_disk;
  image["metadata"] = MetadataJson(i.image.properties);
  image["created"] = FormatIso8601Seconds(i.created_at);
  image["updated"] =
      FormatIso8601Seconds(i.updated_at.micros ? i.updated_at : i.created_at);
  image["status"] = ImageApiStatus(i.status);
  image["progress"] = ImageProgress(i.status);
  image["OS-EXT-IMG-SIZE:size"] = i.image.size;
  image["links"] = ImageLinks(links, id);
  auto instance = i.image.properties.find("instance_uuid");
  if (instance != i.image.properties.end()) {
    const std::string& server_id = instance->second;
    image["server"] = Json::MakeObject({
        {"id", server_id},
        {"links", links.Links("servers", server_id)},
    });
  }
  auto disk_config = i.image.properties.find("auto_disk_config");
  if (disk_config != i.image.properties.end()) {
    image["OS-DCF:diskConfig"] = TruthyString(disk_config->second) ? "AUTO" : "MANUAL";
  }
  return image;
}

namespace {

// Nova's instance-action times: str() of a naive datetime, null when unset.
Json ActionTime(Timestamp t) { return t.micros == 0 ? Json() : Json(FormatUsageTime(t)); }

}  // namespace

Json InstanceActionView(const InstanceAction& a, ApiVersion version) {
  Json action = Json::MakeObject();
  action["action"] = a.action;
  action["instance_uuid"] = a.instance_id.str();
  action["request_id"] = a.request_id.str();
  action["user_id"] = a.user_id.str();
  action["project_id"] = a.project_id.str();
  action["start_time"] = ActionTime(a.start_time);
  action["message"] = NullIfEmpty(a.message);
  if (version >= ApiVersion{2, 58}) action["updated_at"] = ActionTime(a.updated_at);
  return action;
}

Json InstanceActionDetailView(const InstanceAction& a,
                              const InstanceActionViewOptions& options) {
  Json action = InstanceActionView(a, options.version);
  if (!options.show_events) return action;
  Json events = Json::MakeArray();
  for (const InstanceActionEvent& e : a.events) {
    Json event = Json::MakeObject({
        {"event", e.event},
        {"start_time", ActionTime(e.start_time)},
        {"finish_time", ActionTime(e.finish_time)},
        {"result", NullIfEmpty(e.result)},
    });
    if (options.show_traceback) event["traceback"] = NullIfEmpty(e.details);
    if (options.show_host) event["host"] = NullIfEmpty(e.host.str());
    if (options.show_host_id) event["hostId"] = HostId(a.project_id, e.host);
    events.Append(std::move(event));
  }
  action["events"] = std::move(events);
  return action;
}

Json NextLinks(const LinkContext& links, const std::string& collection_path,
               const std::vector<std::pair<std::string, std::string>>& query,
               size_t page_size, size_t effective_limit, const std::string& last_id) {
  if (page_size == 0 || page_size != effective_limit) return Json::MakeArray();
  // Nova: OrderedDict(sorted(request.params.items())) with marker set to the
  // page's last id (a repeated name keeps its first place and its last value).
  std::vector<std::pair<std::string, std::string>> sorted = query;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::pair<std::string, std::string>> params;
  auto set = [&params](const std::string& k, const std::string& v) {
    for (auto& p : params) {
      if (p.first == k) {
        p.second = v;
        return;
      }
    }
    params.emplace_back(k, v);
  };
  for (const auto& [k, v] : sorted) set(k, v);
  set("marker", last_id);
  std::string href = links.version_url +
                     (links.project.empty() ? "" : "/" + links.project) + "/" +
                     collection_path + "?" + EncodeQuery(params);
  return Json::MakeArray({Json::MakeObject({{"rel", "next"}, {"href", href}})});
}

namespace {

Json DescribedBy() {
  return Json::MakeObject(
      {{"rel", "describedby"}, {"type", "text/html"}, {"href", kDocsUrl}});
}

// nova/api/openstack/compute/versions.py VERSIONS.
struct VersionInfo {
  std::string id;
  std::string status;
  std::string version;
  std::string min_version;
  std::string updated;
  std::string media_type;
  std::string path;  // below the root
};

VersionInfo V20() {
  return {"v2.0",
          "SUPPORTED",
          "",
          "",
          "2011-01-21T11:33:21Z",
          "application/vnd.openstack.compute+json;version=2",
          "v2"};
}

VersionInfo V21() {
  return {"v2.1",
          "CURRENT",
          kMaxComputeVersion.ToString(),
          kMinComputeVersion.ToString(),
          "2013-07-23T11:33:21Z",
          "application/vnd.openstack.compute+json;version=2.1",
          "v2.1"};
}

}  // namespace

Json VersionsDocument(const std::string& root_url) {
  Json versions = Json::MakeArray();
  for (const VersionInfo& v : {V20(), V21()}) {
    versions.Append(Json::MakeObject({
        {"id", v.id},
        {"status", v.status},
        {"version", v.version},
        {"min_version", v.min_version},
        {"updated", v.updated},
        {"links", Json::MakeArray({Json::MakeObject(
                      {{"rel", "self"}, {"href", root_url + "/" + v.path + "/"}})})},
    }));
  }
  return Json::MakeObject({{"versions", versions}});
}

Json VersionDocument(const std::string& version_url, ComputeVersion version) {
  VersionInfo v = version == ComputeVersion::kV20 ? V20() : V21();
  return Json::MakeObject(
      {{"version", Json::MakeObject({
                       {"id", v.id},
                       {"status", v.status},
                       {"version", v.version},
                       {"min_version", v.min_version},
                       {"updated", v.updated},
                       {"links", Json::MakeArray({
                                     Json::MakeObject(
                                         {{"rel", "self"}, {"href", version_url + "/"}}),
                                     DescribedBy(),
                                 })},
                       {"media-types",
                        Json::MakeArray({Json::MakeObject(
                            {{"base", "application/json"}, {"type", v.media_type}})})},
                   })}});
}

Json TimeOrNull(Timestamp t) { return t.micros == 0 ? Json() : Json(FormatUsageTime(t)); }

Json NullIfEmpty(const std::string& s) { return s.empty() ? Json() : Json(s); }

Json MetadataJson(const std::map<std::string, std::string>& m) {
  Json out = Json::MakeObject();
  for (const auto& [k, v] : m) out[k] = v;
  return out;
}

}  // namespace chronova
