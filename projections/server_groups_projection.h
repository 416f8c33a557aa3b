// The server groups read model (os-server-groups): each project's groups as
// folded from server-groups/<project>, and each group's live members — the
// servers whose instance.requested named the group (scheduler hint "group"),
// until their instance.deleted.
#pragma once

#include <optional>
#include <vector>

#include "core/server_group_state.h"
#include "projections/projection.h"

namespace chronova {

class ServerGroupsProjection : public Projection {
 public:
  static constexpr std::string_view kName = "server_groups";
  std::string_view Name() const override { return kName; }
  Status Apply(const Envelope& env, const Event& event, ReadModelWriter& w) override;
};

// Queries over the server groups read model. Borrows the reader.
class ServerGroupsView {
 public:
  explicit ServerGroupsView(const ReadModelReader* reader) : reader_(reader) {}
  // The project's stream folded (no groups, version 0, if it has none).
  Result<ServerGroupsState> Project(const ProjectId& project) const;
  // The live group `id`, wherever its project; nullopt if none.
  Result<std::optional<ServerGroup>> Get(const std::string& id) const;
  // Every project's groups (the scheduler's start, all_projects lists).
  Result<std::vector<ServerGroupsState>> All() const;
  // The group's members that are not deleted, in the order they joined.
  Result<std::vector<InstanceId>> Members(const std::string& id) const;
  // The live group the instance is a member of, if any (2.71's server_groups).
  Result<std::optional<std::string>> GroupOf(const InstanceId& instance) const;

 private:
  const ReadModelReader* reader_;
};

}  // namespace chronova
