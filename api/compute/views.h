// Nova's JSON views of chronova's read models, field for field as Nova 26
// (nova/api/openstack/compute/views/{servers,flavors,images,versions}.py)
// renders them at microversion 2.1, and as Tempest's response schemas
// (tempest/lib/api_schema/response/compute/v2_1/) require.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/http/json.h"
#include "api/http/json_writer.h"
#include "api/http/microversion.h"
#include "core/instance_state.h"
#include "projections/catalog_projections.h"
#include "projections/instance_actions_projection.h"

namespace chronova {

// Where links point (Nova's ViewBuilder._get_links and friends).
struct LinkContext {
  // Nova's request.application_url: "http://h:8774/v2.1" (mount path included).
  std::string version_url;
  // The same without the version segment: "http://h:8774" (bookmark links).
  std::string bookmark_url;
  // Set when the request URL carried the project id; links then carry it too.
  std::string project;
  // The Image service endpoint, for images' "alternate" links: "http://h/image".
  std::string image_url;

  // version_url[/project]/collection/id
  std::string Self(const std::string& collection, const std::string& id) const;
  // bookmark_url[/project]/collection/id
  std::string Bookmark(const std::string& collection, const std::string& id) const;
  // [{"rel": "self", ...}, {"rel": "bookmark", ...}]
  Json Links(const std::string& collection, const std::string& id) const;
  // The same, written.
  void WriteLinks(JsonWriter& w, const std::string& collection,
                  const std::string& id) const;
};

// {"<name>": {"code": code, "message": message}} with Nova's fault name for the
// code (badRequest, itemNotFound, computeFault ...).
Json FaultBody(int code, const std::string& message);
// Nova's wsgi.Fault name for an HTTP status ("computeFault" when it has none).
std::string FaultName(int code);

// sha224(project + host) in hex, "" without a host (nova/utils.py generate_hostid).
std::string HostId(const ProjectId& project, const HostName& host);

struct ServerViewOptions {
  // The OS-EXT-SRV-ATTR:* fields (Nova's extended_server_attributes policy:
  // admins only).
  bool extended_attributes = false;
  // False for the PUT /servers/{id} and rebuild answers before microversion
  // 2.75 (Nova's show_all_attributes): no OS-EXT-AZ, config_drive, key_name,
  // OS-SRV-USG, security_groups, OS-EXT-STS, os-extended-volumes nor
  // OS-EXT-SRV-ATTR fields.
  bool all_attributes = true;
  // The negotiated microversion: 2.3 adds reservation_id, launch_index,
  // hostname, kernel_id, ramdisk_id, root_device_name and user_data to the
  // OS-EXT-SRV-ATTR fields; 2.9 adds "locked".
  ApiVersion version = kMinComputeVersion;
  // 2.16's "host_status" of a server's host (show/detail, Nova's
  // servers:show:host_status policy); null: not shown.
  std::function<std::string(const HostName&)> host_status;
  // 2.47's embedded flavor shows its extra_specs (Nova's
  // os-flavor-extra-specs:index policy).
  bool flavor_extra_specs = false;
  // 2.71's "server_groups" (show, update and rebuild answers): the uuids of
  // the groups the server is in; unset: not shown.
  std::optional<std::vector<std::string>> server_groups;
};

// Nova's instance hostname for a display name (nova/utils.py
// sanitize_hostname): lower case, spaces and underscores to '-', only
// [a-z0-9.-], no leading or trailing '.' or '-', at most 63 characters.
std::string SanitizeHostname(const std::string& name);

// POST /servers: {"server": {"id", "links", "OS-DCF:diskConfig",
// "security_groups"[, "adminPass"]}}. `security_groups` is what the request
// asked for ([{"name": "default"}] if nothing); `admin_pass` is left out if empty.
Json ServerCreatedView(const LinkContext& links, const InstanceState& s,
                       const Json& security_groups, const std::string& admin_pass);
// GET /servers item: {"id", "name", "links"}.
void WriteServerBasic(JsonWriter& w, const LinkContext& links, const InstanceState& s);
// GET /servers/{id} and /servers/detail item. Lists write it (a page of them
// is most of a list's cost); one server's answers take the tree.
void WriteServerDetail(JsonWriter& w, const LinkContext& links, const InstanceState& s,
                       const ServerViewOptions& options);
Json ServerDetailView(const LinkContext& links, const InstanceState& s,
                      const ServerViewOptions& options);

// GET /flavors item and GET /flavors/detail item (and /flavors/{id}).
// From 2.55 both show the description; from 2.61 the detail view shows the
// extra_specs when `extra_specs` (Nova's os-flavor-extra-specs:index policy);
// from 2.75 a swap of 0 is 0, not "".
Json FlavorBasicView(const LinkContext& links, const FlavorRecord& f,
                     ApiVersion version = kMinComputeVersion);
Json FlavorDetailView(const LinkContext& links, const FlavorRecord& f,
                      ApiVersion version = kMinComputeVersion, bool extra_specs = false);

// GET /images item and GET /images/detail item (and /images/{id}).
Json ImageBasicView(const LinkContext& links, const ImageRecord& i);
Json ImageDetailView(const LinkContext& links, const ImageRecord& i);

// GET /servers/{id}/os-instance-actions item at 2.1: {"action", "instance_uuid",
// "request_id", "user_id", "project_id", "start_time", "message"}.
Json InstanceActionView(const InstanceAction& a, ApiVersion version = kMinComputeVersion);
struct InstanceActionViewOptions {
  // The "events" list (Nova's os-instance-actions:events policy: admins; from
  // 2.51 everyone who may see the action) and their "traceback" (the policy).
  bool show_events = false;
  bool show_traceback = false;
  // 2.62: each event's "hostId", and its "host" with the events policy.
  bool show_host_id = false;
  bool show_host = false;
  ApiVersion version = kMinComputeVersion;  // 2.58: the action's updated_at
};
// GET /servers/{id}/os-instance-actions/{request_id} at 2.1: the action plus,
// with show_events, "events": [{"event", "start_time", "finish_time", "result",
// "traceback"}].
Json InstanceActionDetailView(const InstanceAction& a,
                              const InstanceActionViewOptions& options);

// Nova's "<collection>_links": [{"rel": "next", "href": ...}] when the page is
// full (as many items as the effective limit), else an empty array (left out).
// `query` is the request's query, `last_id` the id of the page's last item.
Json NextLinks(const LinkContext& links, const std::string& collection_path,
               const std::vector<std::pair<std::string, std::string>>& query,
               size_t page_size, size_t effective_limit, const std::string& last_id);

// GET / : {"versions": [v2.0, v2.1]}, with links under `root_url`.
Json VersionsDocument(const std::string& root_url);
// The two API versions Nova lists: the legacy v2.0 and v2.1 (microversioned).
enum class ComputeVersion { kV20, kV21 };
// GET /v2.1/ (or /v2/): {"version": {...}}; `version_url` is the document's own
// URL without the trailing slash.
Json VersionDocument(const std::string& version_url, ComputeVersion version);

// "2026-01-01T00:00:00.000000" (Nova's str() of a naive datetime, as the
// OS-SRV-USG fields show it).
std::string FormatUsageTime(Timestamp t);
// FormatUsageTime(t), or null for no time (zero).
Json TimeOrNull(Timestamp t);
// s, or null when empty.
Json NullIfEmpty(const std::string& s);
// {"k": "v", ...}
Json MetadataJson(const std::map<std::string, std::string>& m);

}  // namespace chronova
