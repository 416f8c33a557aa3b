// The servers read model: one InstanceState per instance (folded by core's state
// machine, so the API and the deciders agree on every field), indexed by project,
// by host and by work in flight, and the usage each project (and each user in
// it) has of Nova's instances, cores and ram quotas, kept as the servers change
// so a quota check reads two records instead of every server. Deleted servers
// stay readable (Nova's deleted rows, changes-since).
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/instance_state.h"
#include "projections/projection.h"

namespace chronova {

class ServersProjection : public Projection {
 public:
  static constexpr std::string_view kName = "servers";
  std::string_view Name() const override { return kName; }
  // 2: InstanceState gained task_request_id and task_seq.
  // 3: InstanceState gained access_ipv4 and access_ipv6.
  // 4: InstanceState gained snapshot_image_id.
  // 5: InstanceState gained rescue_image_id.
  // 6: InstanceState gained the resize fields (migration, flavors, hosts).
  // 7: the index of instances with work in flight.
  // 8: usage per project and per user.
  // 9: the index of live servers newest first, per project and overall.
  // 10: the same per API status and per host, and every server by the time it
  //     last changed.
  // 11: servers carry their description (2.19) and hosts their forced_down.
  uint32_t Version() const override { return 16; }
  Status Apply(const Envelope& env, const Event& event, ReadModelWriter& w) override;
};

// What the live (not deleted) servers of a project, or of a user in it, use.
struct ServerUsage {
  int64_t instances = 0;
  int64_t cores = 0;
  int64_t ram = 0;  // MiB
  bool operator==(const ServerUsage&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(instances, cores, ram);
  }
};

// Queries over the servers read model. Borrows the reader; thread-safe if it is.
class ServersView {
 public:
  explicit ServersView(const ReadModelReader* reader) : reader_(reader) {}
  // nullopt if the instance was never requested.
  Result<std::optional<InstanceState>> Get(const InstanceId& id) const;
  // The instance whose id begins with `prefix` (the first in id order), if
  // any: how an EC2 id, the first 17 hex digits of the uuid, finds it.
  Result<std::optional<InstanceState>> FindByIdPrefix(std::string_view prefix) const;
  // The instances of `project` (every project if empty), in id order, deleted
  // ones included only if asked.
  struct ListOptions {
    ProjectId project;  // empty: all projects
    bool include_deleted = false;
  };
  Result<std::vector<InstanceState>> List(const ListOptions& options) const;
  // Which newest-first index VisitNewest reads.
  struct NewestScope {
    ProjectId project;   // empty: every project
    std::string status;  // an API status ("ACTIVE"); empty: any
    // Set: the servers live on this host, of every project and status (the
    // caller checks those); project and status are then not used.
    HostName host;
  };
  // Calls `visit` with the live servers `scope` names, newest first —
  // created_at descending, then id descending, Nova's default order —
  // beginning after `after` (nullptr: from the newest), until it returns
  // false. Reads only the servers visited.
  Status VisitNewest(const NewestScope& scope, const InstanceState* after,
                     const std::function<bool(InstanceState&&)>& visit) const;
  // The servers (deleted ones too) whose updated_at is at or after `since`,
  // least recently changed first: changes-since reads only those.
  Result<std::vector<InstanceState>> ChangedSince(Timestamp since) const;
  // The instances with work in flight (InFlight()), in id order: what the
  // conductor's sweep and a restarted scheduler look at, without reading every
  // server.
  Result<std::vector<InstanceState>> InFlight() const;
  // The live instances placed on `host`, in id order.
  Result<std::vector<InstanceState>> OnHost(const HostName& host) const;
  // Calls `visit` with every server (deleted ones too) of `project` (empty:
  // every project) in (project, id) order, from the one after `after`
  // (nullptr: the first), until it returns false.
  Status VisitByProject(const ProjectId& project, const InstanceState* after,
                        const std::function<bool(InstanceState&&)>& visit) const;
  // Their ids, from the index's keys alone (no server is read).
  Result<std::set<InstanceId>> IdsOnHost(const HostName& host) const;
  // What `project`'s live servers use (`user`'s among them, if not empty).
  Result<ServerUsage> Usage(const ProjectId& project, const UserId& user) const;

 private:
  // Calls `visit` with the server each key of the index at `prefix` names (its
  // id the key's last segment, or the value), beginning after `start_after`.
  Status VisitIndexed(std::string_view prefix, std::string_view start_after,
                      bool id_in_value,
                      const std::function<bool(InstanceState&&)>& visit) const;
  Result<std::vector<InstanceState>> LoadIndexed(std::string_view prefix,
                                                 bool include_deleted) const;
  const ReadModelReader* reader_;
};

}  // namespace chronova
