// ComputeService: the command and query side of the Compute API, free of HTTP.
// Commands are decided in core/ and appended to the log; queries read the
// projections after waiting for the caller's own writes (read-your-writes).
// The HTTP layer (api/compute/compute_api_handler.cc) only parses, authorizes by calling
// this, and renders.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agents/compute/image_sink.h"
#include "api/service/cert_authority.h"
#include "api/service/console_options.h"
#include "core/env.h"
#include "core/guest_diagnostics.h"
#include "core/instance_state.h"
#include "core/request_context.h"
#include "eventstore/event_log.h"
#include "projections/catalog_projections.h"
#include "projections/console_tokens_projection.h"
#include "projections/instance_actions_projection.h"
#include "projections/projection_runner.h"
#include "projections/projection_store.h"
#include "projections/resource_projections.h"
#include "projections/server_groups_projection.h"
#include "projections/time_travel.h"

namespace chronova {

// The validated body of POST /servers.
// A server's description as a request sets it (microversion 2.19): `set`
// with a string or null (nullopt); not `set` leaves it as it is.
struct DescriptionChange {
  bool set = false;
  std::optional<std::string> value;
};

// createBackup's type and rotation.
struct BackupSpec {
  std::string backup_type;
  int32_t rotation = 0;
};

// What a rebuild may change beside the image, name, metadata and description;
// unset members stay as they are, an empty value unsets.
struct RebuildChanges {
  std::optional<std::string> key_name;                    // 2.54
  std::optional<std::string> user_data;                   // 2.57, base64
  std::optional<std::vector<std::string>> trusted_certs;  // 2.63
};

struct CreateServerRequest {
  std::string name;
  std::string flavor_ref;         // flavor id (or a URL ending in it)
  std::string image_ref;          // image id (or a URL ending in it)
  std::string availability_zone;  // "zone" or Nova's "zone:host" (host ignored)
  std::string key_name;
  std::map<std::string, std::string> metadata;
  std::string access_ipv4;  // "" if not given
  std::string access_ipv6;
  std::string user_data;
  int min_count = 1;
  int max_count = 1;
  std::map<std::string, std::vector<std::string>> scheduler_hints;
  DescriptionChange description;  // set from 2.19 (null when not given)
  std::vector<std::string> tags;  // 2.52: sorted, distinct, at most 50
  // OS-DCF:diskConfig AUTO (true) or MANUAL; unset: the image's
  // auto_disk_config property decides.
  std::optional<bool> auto_disk_config;
  std::vector<std::string> trusted_certs;  // 2.63; empty: none
  // 2.74: the host and hypervisor an admin asks for (empty: any); the
  // scheduler places the server only there.
  std::string host;
  std::string hypervisor_hostname;
  // Set (EC2's ClientToken, with the project): the servers' ids and the
  // reservation id derive from it (NameBasedUuid), so a retried request
  // appends nothing twice: its servers exist already (Conflict).
  std::string id_seed;
};

struct CreateServerResult {
  std::vector<InstanceState> servers;  // as projected right after the append
  std::string reservation_id;          // "r-xxxxxxxx"
};

// One sort criterion of GET /servers (Nova's sort_key/sort_dir pairs).
struct ServerSortKey {
  std::string key;  // one of Nova's valid sort keys, e.g. "display_name"
  bool descending = true;
};

// The most servers one create request makes (max_count is cut to it; a
// min_count above it is refused), whatever the quota allows.
inline constexpr int kMaxServersPerRequest = 1000;

// The longest name filter ListServers takes (a server name's own limit).
inline constexpr size_t kMaxNameFilterBytes = 255;

struct ListServersQuery {
  bool detail = false;       // GET /servers/detail (its own policy names)
  bool all_tenants = false;  // every project (policy: admin)
  // A regular expression searched for in the name (Nova's REGEXP filter,
  // matched in linear time by RE2); one RE2 does not take matches as a plain
  // substring. Longer than kMaxNameFilterBytes: InvalidArgument.
  std::optional<std::string> name;
  std::optional<std::string> status;  // API status, e.g. "ACTIVE"; "DELETED": admin
  std::optional<std::string> host;    // admin only
  std::optional<std::string> image;   // image id
  std::optional<std::string> flavor;  // flavor id
  std::optional<std::string> reservation_id;
  // A regex over the servers' fixed IPs; chronova has no networking yet, so
  // no server matches.
  std::optional<std::string> ip;
  // 2.26's tag filters: all of `tags`, any of `tags_any`, not all of
  // `not_tags`, none of `not_tags_any` (empty: no filter).
  std::vector<std::string> tags, tags_any, not_tags, not_tags_any;
  std::optional<Timestamp> changes_since;   // include deleted servers updated since then
  std::optional<Timestamp> changes_before;  // 2.66: ... and updated no later than this
  std::optional<bool> locked;               // 2.73
  bool include_deleted = false;             // admin's "deleted=true"
  std::optional<std::string> marker;        // id of the last server of the previous page
  // A default-order page may go on after a marker deleted since its page
  // (EC2's NextToken of a listing under way); Nova's marker must be live.
  bool marker_may_be_deleted = false;
  int limit = 1000;
  // Empty: Nova's default, created_at descending. Ties end by id.
  std::vector<ServerSortKey> sort;
};

// PUT /servers/{id}: only the fields present change.
struct UpdateServerRequest {
  std::optional<std::string> name;
  std::optional<std::string> access_ipv4;
  std::optional<std::string> access_ipv6;
  DescriptionChange description;
  std::optional<bool> auto_disk_config;  // OS-DCF:diskConfig
  // EC2's ModifyInstanceAttribute userData (base64; "" unsets it): only for
  // a stopped server (Conflict otherwise), as on AWS.
  std::optional<std::string> user_data;
};

// What a server-metadata call does (the service adds the quota).
struct MetadataChange {
  std::map<std::string, std::string> set;
  bool replace = false;                // PUT /metadata: drop keys not in `set`
  std::optional<std::string> removed;  // DELETE /metadata/{key}
};

// POST /os-keypairs: import `public_key` if set, else generate an RSA keypair.
struct CreateKeypairRequest {
  UserId user;  // empty: the caller
  std::string name;
  std::optional<std::string> public_key;
  std::string type = "ssh";  // or "x509" (microversion 2.2)
};

// POST /os-server-groups.
struct CreateServerGroupRequest {
  std::string name;
  std::string policy;
  int32_t max_server_per_host = 0;  // 2.64's rule; 0: none
};

// A server group as the API shows it: the group and its live members.
struct ServerGroupInfo {
  ServerGroup group;
  std::vector<InstanceId> members;
};

struct CreatedKeypair {
  KeypairRecord record;
  std::string private_key;  // generated keys only; never stored
};

// POST /flavors, validated.
struct CreateFlavorRequest {
  std::string name;
  std::optional<std::string> id;  // absent or null: a new uuid
  int32_t vcpus = 0;
  int32_t memory_mb = 0;
  int32_t root_gb = 0;
  int32_t ephemeral_gb = 0;
  int32_t swap_mb = 0;
  double rxtx_factor = 1.0;
  bool is_public = true;
  std::string description;  // 2.55; empty: none
};

// One resource of a quota set: its limit and, for /detail, its usage.
struct QuotaValue {
  int64_t limit = 0;
  int64_t in_use = 0;
  int64_t reserved = 0;
};

// A project's (or one of its users') usage of the counted resources.
struct QuotaUsage {
  int64_t instances = 0;
  int64_t cores = 0;
  int64_t ram = 0;
};

// Where a guest's console listens on its compute host.
struct ConsoleAddress {
  std::string host;
  int32_t port = 0;
  std::string internal_access_path;
};

// A console handed out: Nova's {"protocol", "type", "url"}.
struct ConsoleUrl {
  std::string protocol;  // vnc, spice, serial, rdp, mks
  std::string type;      // novnc, spice-html5, serial ...
  std::string url;
};

// A decision on a server's stream handed to ComputeService::ActOnServer from
// another source file (compute_service.cc instantiates it for this type).
using ServerDecider = std::function<Result<std::vector<Event>>(const InstanceState&)>;

struct ComputeServiceOptions {
  Env* env = Env::Default();
  // The limits of a project nobody set limits for ([quota] in chronovad's INI;
  // api/service/quotas.h has Nova's defaults). A quota class "default" overrides them.
  std::map<std::string, int64_t> quota_defaults;  // empty: DefaultQuotaLimits()
  // An admission (quota.usage_reserved) whose server never appeared in the
  // read models stops counting after this long (the API died between the two
  // appends).
  int64_t quota_reservation_expire_s = 600;
  int wait_timeout_ms = 10000;  // read-your-writes wait for the projections
  // Nova's default metadata_items quota (per server).
  size_t metadata_items_limit = 128;
  // Snapshots and scratch space of the admin history API (as-of queries).
  TimeTravelOptions time_travel;
  // Asks a compute host for the last `length` lines (-1: all) of a guest's
  // console log (a HostQueryClient in the node). Unset: no host can be asked
  // (os-getConsoleOutput answers 503).
  std::function<Result<std::string>(const HostName&, const InstanceId&, int length)>
      console_output;
  // Asks a compute host for a guest's diagnostics (a HostQueryClient in the
  // node). Unset: os-server-diagnostics answers 503.
  std::function<Result<GuestDiagnostics>(const HostName&, const InstanceId&)> diagnostics;
  // Whether a compute host's service is up (its heartbeats, as os-services
  // shows them), for placing a resize. Unset: every host counts as up.
  std::function<bool(const HostName&)> host_up;
  // Consoles (nova.conf's [vnc], [spice], [serial_console], [consoleauth]).
  ConsoleOptions consoles;
  // Asks a compute host where a guest's console of `kind` ("vnc", "spice",
  // "serial") listens (a HostQueryClient in the node). Unset: consoles answer 503.
  std::function<Result<ConsoleAddress>(const HostName&, const InstanceId&,
                                       const std::string& kind)>
      console_address;
  // nova.conf reclaim_instance_interval (seconds): above 0, DELETE soft-deletes
  // a settled server (the conductor reclaims it that long after).
  int64_t reclaim_instance_interval_s = 0;
  // nova.conf shelved_offload_time (seconds): 0 offloads a shelved server at
  // once; -1 never; above 0, the conductor offloads it that long after.
  int64_t shelved_offload_time_s = 0;
  // Where a shelved server's image is deleted when the server is (the image
  // service of this process); null: the image is left.
  ImageSink* images = nullptr;
  // The cloud's CA (nova-cert's os-certificates); null: 404 there.
  const CertAuthority* certificates = nullptr;
};

// A resolved as_of: the seq and the time of its event (0 for seq 0).
struct HistoryPoint {
  Seq seq;
  Timestamp time;
};

class ComputeService {
 public:
  // Borrows everything; they must outlive the service. `store` must hold the
  // servers, hosts, flavors, images, instance_actions, aggregates, keypairs and
  // quotas projections
  // and be fed by
  // `runner`.
  ComputeService(EventLog* log, ProjectionStore* store, const ProjectionRunner* runner,
                 ComputeServiceOptions options = ComputeServiceOptions());

  // InvalidArgument (400) for a bad request (unknown flavor/image are
  // InvalidArgument too, as in Nova: "Flavor ... could not be found." is 400 on
  // create, "Can not find requested image" also for an image the caller may
  // not see (FindBootableImage), "Image <id> is not active." for one without
  // data; so is an availability zone no compute host is in);
  // PermissionDenied past the metadata_items quota. The servers are BUILD when
  // this returns. With max_count > 1 either every server is requested or, if an
  // append fails part-way, those already requested are deleted again (local
  // delete) before the error is returned.
  Result<CreateServerResult> CreateServers(const RequestContext& ctx,
                                           const CreateServerRequest& req);
  // NotFound for an unknown server or another project's (unless admin).
  Status DeleteServer(const RequestContext& ctx, const InstanceId& id);
  // The most metadata items a server or an image may hold.
  size_t metadata_items_limit() const { return options_.metadata_items_limit; }
  // The forceDelete action: a delete in any state (Nova's force_delete), under
  // its own policy.
  Status ForceDeleteServer(const RequestContext& ctx, const InstanceId& id);
  // The restore action: a SOFT_DELETED server's host starts it again.
  // NotFound as above; Conflict (RestoreInstance).
  Status RestoreServer(const RequestContext& ctx, const InstanceId& id);
  // The shelve action (policy os-shelve:shelve): a new queued image
  // "<name>-shelved" (a snapshot's properties), then the shelve request that
  // the server's host fills it from, offloading the guest when
  // shelved_offload_time is 0. NotFound; Conflict for a lock or a state other
  // than active, stopped, paused or suspended with no task (no image is left).
  Status ShelveServer(const RequestContext& ctx, const InstanceId& id);
  // shelveOffload (admins): Conflict unless SHELVED with no task.
  Status ShelveOffloadServer(const RequestContext& ctx, const InstanceId& id);
  // unshelve; `availability_zone` (2.77) is for an offloaded server only
  // (Conflict otherwise) and must be a zone some host is in (400).
  Status UnshelveServer(const RequestContext& ctx, const InstanceId& id,
                        const std::optional<std::string>& availability_zone);
  // NotFound as above; PermissionDenied if `policy` refuses the caller on the
  // server's project.
  Result<InstanceState> GetServer(
      const RequestContext& ctx, const InstanceId& id,
      std::string_view policy = "os_compute_api:servers:show") const;
  // POST /servers/{id}/action for a lifecycle action: records the request; the
  // server's task state shows it until its host reports the outcome. NotFound
  // as GetServer; Conflict (409) for a locked server or a state the action
  // cannot start from; PermissionDenied (403) by policy.
  Status ServerAction(const RequestContext& ctx, const InstanceId& id,
                      LifecycleAction action, bool hard);
  // The rebuild action: the server is recreated from `image_ref` (an id or a
  // URL ending in it), renamed and given new metadata when those are set.
  // Returns the server as projected right after the request. 400 for an
  // unknown image or one the caller may not see ("Cannot find image for
  // rebuild", as Nova), one that is not active ("Image <id> is not active.")
  // or one too big for the flavor, each checked after the server's lock and
  // state as in Nova; a key pair the caller does not have is "Invalid
  // key_name provided." (400); NotFound/Conflict/PermissionDenied as
  // ServerAction.
  Result<InstanceState> RebuildServer(
      const RequestContext& ctx, const InstanceId& id, const std::string& image_ref,
      const std::optional<std::string>& name,
      const std::optional<std::map<std::string, std::string>>& metadata,
      const DescriptionChange& description = DescriptionChange(),
      std::optional<bool> auto_disk_config = std::nullopt,
      const RebuildChanges& changes = RebuildChanges());
  // The rescue action: the guest boots from `rescue_image_ref` (empty: its own
  // image) with its disk attached second. InvalidArgument for an unknown
  // image, one the caller may not see or one that is not active ("Requested
  // rescue image '<ref>' is not supported", as Nova);
  // NotFound/Conflict/PermissionDenied as ServerAction. Unrescue is
  // ServerAction(kUnrescue).
  Status RescueServer(const RequestContext& ctx, const InstanceId& id,
                      const std::string& rescue_image_ref);
  // The createImage action: a new image (queued, owned by the caller's
  // project, private, or shared when an admin snapshots another project's
  // server) with Nova's snapshot properties (image_type=snapshot,
  // instance_uuid, base_image_ref, user_id, and `metadata`), then the
  // snapshot request that the server's host fills it from. Returns the image
  // id. NotFound as GetServer; Conflict ("Cannot 'createImage' instance <id>
  // while it is in vm_state building") unless the server is active, stopped,
  // paused or suspended with no task, in which case no image is left behind;
  // PermissionDenied by policy.
  // With `backup`, the createBackup action (policy os-create-backup): the
  // image is a backup (image_type=backup, backup_type) and, once uploaded,
  // the server's backups of that type beyond the rotation are deleted.
  Result<ImageId> CreateServerImage(
      const RequestContext& ctx, const InstanceId& id, const std::string& name,
      const std::map<std::string, std::string>& metadata,
      const std::optional<BackupSpec>& backup = std::nullopt);
  // The resize action: the new flavor (`flavor_ref`, an id or a URL) is
  // claimed on a destination host the scheduler's filters accept (the same
  // host allowed, as allow_resize_to_same_host=True), then the resize is
  // recorded (task resize_prep) for the destination to carry out. 400 for an
  // unknown flavor ("Flavor <id> could not be found."), the same flavor, a
  // root disk that would shrink, or no host that fits (Nova's NoValidHost);
  // 403 past the cores/ram quota; NotFound/Conflict/PermissionDenied as
  // ServerAction.
  // `confirm_when_finished`: confirmed by the conductor once the host
  // finished (EC2's ModifyInstanceAttribute instanceType), never VERIFY_RESIZE
  // for long.
  Status ResizeServer(const RequestContext& ctx, const InstanceId& id,
                      const std::string& flavor_ref,
                      std::optional<bool> auto_disk_config = std::nullopt,
                      bool confirm_when_finished = false);
  // The migrate action (cold migrate, admins): a resize to the server's own
  // flavor on another host (`host` if given, 2.56), confirmed or reverted like
  // one. 400 "Compute host <host> could not be found." for an unknown host,
  // "Cannot migrate to the host where the server exists." for its own, or
  // NoValidHost; NotFound/Conflict/PermissionDenied as ServerAction.
  Status MigrateServer(const RequestContext& ctx, const InstanceId& id,
                       const std::string& host = "");
  // confirmResize / revertResize: Conflict unless the server is VERIFY_RESIZE.
  Status ConfirmResize(const RequestContext& ctx, const InstanceId& id);
  Status RevertResize(const RequestContext& ctx, const InstanceId& id);
  // os-resetState (admin): vm_state "active" or "error", task cleared.
  Status ResetServerState(const RequestContext& ctx, const InstanceId& id,
                          const std::string& vm_state);
  // os-server-external-events: records `event`, the `index`th of the request,
  // for server `id` (the caller's policy is checked once by the API). NotFound
  // for no such server, Conflict for one on no host.
  Status RecordExternalEvent(const RequestContext& ctx, const InstanceId& id,
                             const InstanceExternalEventReceived& event, size_t index);
  // os-server-diagnostics (admins): the server and its guest's counters, asked
  // of its host. Conflict "Instance <id> is not ready" while it has no host;
  // the host's NotFound or Unimplemented (501) as it answers.
  struct ServerDiagnostics {
    InstanceState server;
    GuestDiagnostics guest;
  };
  Result<ServerDiagnostics> GetServerDiagnostics(const RequestContext& ctx,
                                                 const InstanceId& id);
  // os-getConsoleOutput: the tail of the guest's console log, with the control
  // characters Nova strips removed. NotFound (404) as GetServer, or when the
  // guest has no console; Conflict (409) "Instance <id> is not ready" while it
  // has no host; Unavailable (503) when its host does not answer.
  Result<std::string> ConsoleOutput(const RequestContext& ctx, const InstanceId& id,
                                    int length);
  // os-getVNCConsole, os-getSPICEConsole, os-getSerialConsole,
  // os-getRDPConsole and POST /servers/{id}/remote-consoles: a new token for
  // the guest's console (instance.console_authorized) and the proxy URL that
  // carries it. InvalidArgument (400) "Invalid console type X" for a type that
  // is not the protocol's, "Unavailable console type X." for a console that is
  // off or the guest lacks; NotFound; Conflict "Instance <id> is not ready"
  // without a host (or while building), or while deleting or migrating;
  // Unimplemented (501) if the host's driver has no consoles; Unavailable
  // (503) if the host does not answer.
  Result<ConsoleUrl> GetConsole(const RequestContext& ctx, const InstanceId& id,
                                const std::string& protocol, const std::string& type);
  // GET /os-console-auth-tokens/{token} (admin): the console behind a live
  // token. InvalidArgument "token not provided"; NotFound "Token not found" for
  // an unknown, expired or revoked one.
  Result<ConsoleTokenRecord> ShowConsoleToken(const RequestContext& ctx,
                                              const std::string& token) const;
  // os-certificates (nova-cert): a certificate signed by the cloud's CA for
  // the caller, with its new private key (certificate.issued records the
  // certificate, never the key); the CA's root certificate. PermissionDenied
  // by policy; NotFound when the node has no CA.
  Result<IssuedCertificate> CreateCertificate(const RequestContext& ctx);
  Result<std::string> RootCertificate(const RequestContext& ctx) const;
  // changePassword: NotFound as GetServer, PermissionDenied by policy
  // (os-admin-password), Conflict for a lock or a state other than ACTIVE with
  // no task, and otherwise Conflict "QEMU guest agent is not enabled": no
  // chronova guest has the agent channel (Nova's libvirt answer).
  Status ChangeAdminPassword(const RequestContext& ctx, const InstanceId& id);
  // os-lock / os-unlock (idempotent). Unlocking an admin's lock needs an admin.
  // `reason`: 2.73's locked_reason; empty: none.
  Status LockServer(const RequestContext& ctx, const InstanceId& id,
                    const std::string& reason = "");
  // os-server-tags (2.26). `tags` becomes the server's set; the policy is
  // "os_compute_api:os-server-tags:<policy>", `method` names the call in the
  // 409 outside active/paused/suspended/stopped. Returns the tags after it.
  Result<std::vector<std::string>> SetServerTags(
      const RequestContext& ctx, const InstanceId& id, const std::string& policy,
      const std::string& method,
      const std::function<
          Result<std::vector<std::string>>(const std::vector<std::string>&)>& change);
  // trigger_crash_dump (2.17): the server's host injects an NMI; 409 outside
  // active, paused, rescued, resized or error, or while locked.
  Status TriggerCrashDump(const RequestContext& ctx, const InstanceId& id);
  Status UnlockServer(const RequestContext& ctx, const InstanceId& id);
  // PUT /servers/{id}; the server as it is right after the change.
  Result<InstanceState> UpdateServer(const RequestContext& ctx, const InstanceId& id,
                                     const UpdateServerRequest& req);
  // The server-metadata API's writes (policy "os_compute_api:server-metadata:<policy>");
  // errors as Decide(ChangeMetadata). Returns the server after the change.
  Result<InstanceState> ChangeServerMetadata(const RequestContext& ctx,
                                             const InstanceId& id,
                                             std::string_view policy,
                                             const MetadataChange& change);
  // Newest first (created_at descending, then id), as Nova's default sort, or in
  // query.sort's order. PermissionDenied (Nova's policy message) for all_tenants
  // without the get_all_tenants policy, and for status DELETED from a non-admin.
  Result<std::vector<InstanceState>> ListServers(const RequestContext& ctx,
                                                 const ListServersQuery& query) const;

  // One page of the servers that ran at some time in [start, stop] (Nova's
  // instance_get_active_by_window_joined, for os-simple-tenant-usage):
  // launched before `stop` and not terminated before `start`, deleted ones
  // included; ordered by project, then id. `project` empty: every project.
  // `policy` is checked against `project`. InvalidArgument "marker [x] not
  // found" for a marker not in the window.
  struct ActiveServersQuery {
    Timestamp start;
    Timestamp stop;
    ProjectId project;
    size_t limit = 1000;
    std::optional<std::string> marker;
  };
  Result<std::vector<InstanceState>> ActiveServers(const RequestContext& ctx,
                                                   std::string_view policy,
                                                   const ActiveServersQuery& query) const;

  // ---- keypairs (os-keypairs); `user` empty means the caller ----------------
  // The user's keypairs in name order. PermissionDenied for another user's
  // unless admin.
  Result<std::vector<KeypairRecord>> ListKeypairs(const RequestContext& ctx,
                                                  const UserId& user) const;
  // NotFound "Keypair <name> not found for user <user>".
  Result<KeypairRecord> GetKeypair(const RequestContext& ctx, const UserId& user,
                                   const std::string& name) const;
  // InvalidArgument for a bad public key; Conflict "Key pair '<name>' already
  // exists."; PermissionDenied "Quota exceeded, too many key pairs." (the
  // handler tells it from a policy denial by QuotaExceeded()).
  Result<CreatedKeypair> CreateKeypair(const RequestContext& ctx,
                                       const CreateKeypairRequest& req);
  Status DeleteKeypair(const RequestContext& ctx, const UserId& user,
                       const std::string& name);
  // EC2's tags on the caller's key pair `name`: `tags` is the whole map after
  // (keypair.tags_set). NotFound for no such key pair.
  Result<KeypairRecord> SetKeypairTags(const RequestContext& ctx, const std::string& name,
                                       const std::map<std::string, std::string>& tags);

  // ---- server groups (os-server-groups) ----------------------------------------
  // The caller's project's groups, or every project's for an admin asking
  // all_projects; by project, then id.
  // The uuids of the live groups the server is in (2.71's server_groups; at
  // most one). The caller has already been shown the server.
  Result<std::vector<std::string>> ServerGroupsOf(const InstanceId& id) const;
  Result<std::vector<ServerGroupInfo>> ListServerGroups(const RequestContext& ctx,
                                                        bool all_projects) const;
  // NotFound "Instance group <id> could not be found."; PermissionDenied for
  // another project's group unless admin.
  Result<ServerGroupInfo> GetServerGroup(const RequestContext& ctx,
                                         const std::string& id) const;
  // PermissionDenied "Quota exceeded, too many server groups." at the
  // project's server_groups limit (decided on server-groups/<project>).
  Result<ServerGroupInfo> CreateServerGroup(const RequestContext& ctx,
                                            const CreateServerGroupRequest& req);
  Status DeleteServerGroup(const RequestContext& ctx, const std::string& id);
  // A create's "group" hint: InvalidArgument (Nova's 400) for a group that
  // does not exist, PermissionDenied "Quota exceeded, too many servers in
  // group" when `count` more members would pass server_group_members.
  Status CheckServerGroupRoom(const RequestContext& ctx, const std::string& id,
                              int count) const;

  // ---- flavors --------------------------------------------------------------
  // Flavors the caller may see: public ones, private ones its project was
  // given access to; admins see all.
  Result<std::vector<FlavorRecord>> ListFlavors(const RequestContext& ctx) const;
  // NotFound also for a private flavor the caller has no access to.
  Result<FlavorRecord> GetFlavor(const RequestContext& ctx, const FlavorId& id) const;
  // Admin. Conflict "Flavor with ID <id> already exists." / "Flavor with name
  // <name> already exists.".
  Result<FlavorRecord> CreateFlavor(const RequestContext& ctx,
                                    const CreateFlavorRequest& req);
  // PUT /flavors/{id} (2.55): the flavor with its new description (empty: none).
  Result<FlavorRecord> SetFlavorDescription(const RequestContext& ctx, const FlavorId& id,
                                            const std::string& description);
  Status DeleteFlavor(const RequestContext& ctx, const FlavorId& id);
  // os-flavor-access: the projects of a private flavor (admin). InvalidArgument
  // "Access list not available for public flavors." for a public one.
  Result<std::vector<ProjectId>> ListFlavorAccess(const RequestContext& ctx,
                                                  const FlavorId& id) const;
  // Conflict if already there / NotFound if absent; the access list after it.
  // `refuse_public` (microversion 2.7): Conflict "Can not add access to a
  // public flavor." for a public one.
  Result<std::vector<ProjectId>> AddFlavorAccess(const RequestContext& ctx,
                                                 const FlavorId& id,
                                                 const ProjectId& project,
                                                 bool refuse_public = false);
  Result<std::vector<ProjectId>> RemoveFlavorAccess(const RequestContext& ctx,
                                                    const FlavorId& id,
                                                    const ProjectId& project);
  // os-flavor-extra-specs create/update (merge) and delete (admin).
  Status SetFlavorExtraSpecs(const RequestContext& ctx, const FlavorId& id,
                             const std::map<std::string, std::string>& specs);
  Status DeleteFlavorExtraSpec(const RequestContext& ctx, const FlavorId& id,
                               const std::string& key);

  // ---- quotas and limits ----------------------------------------------------
  // Limits (and with `usages`, in_use) of every resource for a project or one
  // of its users (user limits fall back to the project's, then the defaults).
  Result<std::map<std::string, QuotaValue>> GetQuotas(const RequestContext& ctx,
                                                      const ProjectId& project,
                                                      const UserId& user,
                                                      bool usages) const;
  // GET /limits: the caller's project limits with usage (another project's
  // for admins with `tenant_id`; anyone else gets their own, as in Nova).
  Result<std::map<std::string, QuotaValue>> GetLimits(
      const RequestContext& ctx, const std::optional<ProjectId>& tenant) const;
  // The defaults: [quota] overridden by the quota class "default".
  Result<std::map<std::string, int64_t>> DefaultQuotas(const RequestContext& ctx,
                                                       const ProjectId& project) const;
  // Admin. InvalidArgument (Nova's words) for a limit under the usage unless
  // `force`; the limits after the update.
  Result<std::map<std::string, int64_t>> UpdateQuotas(
      const RequestContext& ctx, const ProjectId& project, const UserId& user,
      const std::map<std::string, int64_t>& limits, bool force);
  // Admin: the limits revert to the defaults.
  Status DeleteQuotas(const RequestContext& ctx, const ProjectId& project,
                      const UserId& user);
  // os-quota-class-sets (admin).
  Result<std::map<std::string, int64_t>> GetQuotaClass(const RequestContext& ctx,
                                                       const std::string& name) const;
  Result<std::map<std::string, int64_t>> UpdateQuotaClass(
      const RequestContext& ctx, const std::string& name,
      const std::map<std::string, int64_t>& limits);
  // Instances, cores and RAM the project (or user) uses: its non-deleted servers
  // in the servers read model, plus admitted servers not yet in it.
  Result<QuotaUsage> CountUsage(const ProjectId& project, const UserId& user) const;
  // Keypairs the user holds.
  Result<int64_t> CountKeypairs(const UserId& user) const;
  // Server groups the project holds.
  Result<int64_t> CountServerGroups(const ProjectId& project) const;
  Result<std::vector<ImageRecord>> ListImages(const RequestContext& ctx) const;
  Result<ImageRecord> GetImage(const RequestContext& ctx, const ImageId& id) const;

  // The admin history API (time travel). Every call is PermissionDenied for a
  // non-admin, checked before anything else.
  // Every event of the server's stream, oldest first; NotFound if it has none.
  Result<std::vector<Envelope>> ServerHistory(const RequestContext& ctx,
                                              const InstanceId& id) const;
  // `as_of` (a seq or an ISO-8601 UTC time) as a seq, the log's head if absent;
  // InvalidArgument if it is malformed or past the head.
  Result<HistoryPoint> ResolveHistoryPoint(const RequestContext& ctx,
                                           const std::optional<std::string>& as_of) const;
  // The server as it was at `at` (deleted ones included); NotFound if it had not
  // been requested by then.
  Result<InstanceState> GetServerAsOf(const RequestContext& ctx, const InstanceId& id,
                                      Seq at) const;
  // Every project's servers that were not deleted at `at`, newest first.
  Result<std::vector<InstanceState>> ListServersAsOf(const RequestContext& ctx,
                                                     Seq at) const;

  // os-instance-actions: the server's actions, newest first. NotFound as
  // GetServer for a server the caller may not see, and for a deleted one unless
  // `deleted_too` (microversion 2.21: Nova reads deleted instances there).
  Result<std::vector<InstanceAction>> ListInstanceActions(const RequestContext& ctx,
                                                          const InstanceId& id,
                                                          bool deleted_too = false) const;
  // The server's action started by `request_id`; NotFound ("Action <id> not
  // found") if it has none, or as above for the server.
  Result<InstanceAction> GetInstanceAction(const RequestContext& ctx,
                                           const InstanceId& id,
                                           const RequestId& request_id,
                                           bool deleted_too = false) const;

 private:
  Status WaitFor(Seq seq) const;
  // GetServer, or with `deleted_too` the deleted server as well (still only
  // the caller's project's unless admin).
  Status CheckActionsOf(const RequestContext& ctx, const InstanceId& id,
                        std::string_view policy, bool deleted_too) const;
  // Decides `decide` on the server's stream for `ctx` (who must see it) and
  // appends the outcome under idempotency key `key`; the seq of the last event
  // appended goes to `*appended` (unchanged if none).
  template <typename Decider>
  Status ActOnServer(const RequestContext& ctx, const InstanceId& id,
                     const IdempotencyKey& key, Decider decide, Seq* appended = nullptr);
  // ActOnServer for a command that needs only the caller's admin flag: checks
  // `policy` against the server's project, then decides Command{is_admin}.
  // A resize or cold migrate of `s` to `flavor`: claims on the best host the
  // filters accept (only `only_host` if set; never the source for a migrate),
  // then the request.
  // `confirm`: the conductor confirms it once it finished (EC2's instanceType).
  Status MoveServer(const RequestContext& ctx, const InstanceState& s,
                    const FlavorSpec& flavor, const std::string& migration_type,
                    const HostName& only_host, std::optional<bool> auto_disk_config,
                    bool confirm = false);
  template <class Command>
  Status ActOnServerAs(const RequestContext& ctx, const InstanceId& id, const char* key,
                       const char* policy);
  // `soft`: a DELETE, which soft-deletes when reclaim_instance_interval is set.
  Status DeleteWithKey(const RequestContext& ctx, const InstanceId& id,
                       const IdempotencyKey& key,
                       const char* policy = "os_compute_api:servers:delete",
                       bool soft = false);
  // A queued image for a snapshot of `s` (createImage, createBackup, shelve),
  // with Nova's snapshot properties and `image_type`.
  Result<ImageCreated> SnapshotImage(const RequestContext& ctx, const InstanceState& s,
                                     const ImageId& image_id, const std::string& name,
                                     const std::string& image_type) const;
  // Appends `image`, then decides `decide` on the server's stream under the
  // request's key `verb`; if that is refused, the image is deleted again.
  Status CreateImageThenAct(const RequestContext& ctx, const InstanceId& id,
                            const ImageCreated& image, const char* verb,
                            const ServerDecider& decide);
  template <typename DecideFn>
  // `verb` names the change in the request's idempotency key.
  Result<InstanceState> Change(const RequestContext& ctx, const InstanceId& id,
                               const char* verb, DecideFn decide_fn);
  Status CanSee(const RequestContext& ctx, const InstanceState& s) const;
  // Appends the console's token (AuthorizeConsole) to the server's stream.
  Status AppendConsoleToken(const RequestContext& ctx, const InstanceId& id,
                            const InstanceConsoleAuthorized& authorized,
                            const std::string& method);
  // The effective limits for the project (and user, if it has limits set).
  Result<std::map<std::string, int64_t>> EffectiveLimits(const ProjectId& project,
                                                         const UserId& user) const;
  // Limits and usage, without authorization.
  Result<std::map<std::string, QuotaValue>> QuotasWithUsage(const ProjectId& project,
                                                            const UserId& user,
                                                            bool usages) const;
  // Admits up to max_count new servers (as many as fit, at least min_count,
  // at most kMaxServersPerRequest) against the instances/cores/ram quota and
  // makes their ids in *ids; returns how many were admitted, PermissionDenied
  // with Nova's TooManyInstances message, or InvalidArgument for a min_count
  // over kMaxServersPerRequest. Nothing grows with the counts asked for.
  Result<size_t> ReserveQuota(const RequestContext& ctx, const FlavorSpec& flavor,
                              int min_count, int max_count, std::vector<InstanceId>* ids,
                              const std::string& id_seed = "");
  // PermissionDenied (Nova's TooManyInstances) if growing the server `s` from
  // its flavor to `to` exceeds the project's (or user's) cores/ram limits.
  Status CheckResizeQuota(const InstanceState& s, const FlavorSpec& to);
  // A flavor's stream folded (for access and extra-spec commands).
  Result<FlavorRecord> LoadFlavorForCommand(const FlavorId& id) const;
  // Decides `decide` on the flavor's stream and appends the outcome under the
  // request's idempotency key `verb`; waits until the read models include it.
  template <typename Decider>
  Status ActOnFlavor(const RequestContext& ctx, const FlavorId& id, const char* verb,
                     Decider decide);

  // One admission of new servers on quota-usage/<project>.
  struct Admission {
    UserId user;
    int32_t vcpus = 0;
    int32_t memory_mb = 0;
    Timestamp at;
  };
  // quota-usage/<project> folded: its version and every admission in it.
  struct UsageStream {
    StreamVersion version;
    std::map<InstanceId, Admission> admitted;
  };
  // Brings the cached fold of quota-usage/<project> up to the log; returns a copy.
  Result<UsageStream> LoadUsageStream(const ProjectId& project) const;

  EventLog* const log_;
  ProjectionStore* const store_;
  const ProjectionRunner* const runner_;
  const ComputeServiceOptions options_;
  const std::unique_ptr<TimeTravel> time_travel_;

  // Protects usage_streams_: folds of quota-usage/<project>, read on from their
  // version so an admission costs only the events since the last one.
  mutable std::mutex usage_mu_;
  mutable std::map<ProjectId, UsageStream> usage_streams_;
  // One create waiting for its quota admission (ReserveQuota).
  struct AdmissionTicket {
    const RequestContext* ctx;
    const FlavorSpec* flavor;
    int min_count;
    int max_count;
    const std::string* id_seed;
    std::map<std::string, int64_t> project_limits;
    std::map<std::string, int64_t> user_limits;
    bool check_user;
    std::vector<InstanceId>* ids;
    std::optional<Result<size_t>> result;  // set by whichever create leads
  };
  // Admissions of one project are decided one batch at a time in this
  // process (a stripe per project hash): a create that finds no batch under
  // way leads one for every create of its project queued by then, decides
  // each in order against the same usage and appends them all with one
  // expected version. So concurrent creates neither spin on Conflict nor
  // wait for each other's appends one by one; across processes the expected
  // version still decides.
  struct AdmissionStripe {
    std::mutex mu;  // protects queue and leading
    std::condition_variable decided;
    std::vector<AdmissionTicket*> queue;
    bool leading = false;
  };
  // Makes n new server ids in *ids (name-based on id_seed when it is set).
  void MakeServerIds(int n, const std::string& id_seed,
                     std::vector<InstanceId>* ids) const;
  // Decides every ticket of `batch` (all of `project`): one result each, in
  // order. The tickets' ids are written; their results are the caller's to set.
  std::vector<Result<size_t>> AdmitBatch(const ProjectId& project,
                                         const std::vector<AdmissionTicket*>& batch);
  static constexpr size_t kAdmissionStripes = 64;
  AdmissionStripe admission_[kAdmissionStripes];
};

}  // namespace chronova
