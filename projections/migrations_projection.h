// The migrations read model (os-migrations): one record per resize, from its
// instance.resize_requested to its outcome. Nova keeps a row per migration in
// its database; here each is folded from the instance's stream. A record's
// integer id (Nova's migration id) is the seq of its resize_requested: unique,
// never reused, in the order the migrations began.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/types.h"
#include "projections/projection.h"

namespace chronova {

struct MigrationRecord {
  int64_t id = 0;
  std::string uuid;  // the resize's migration_id
  InstanceId instance_id;
  ProjectId project_id;
  UserId user_id;
  HostName source_compute;
  HostName dest_compute;
  FlavorId old_flavor;
  FlavorId new_flavor;
  // Nova's: pre-migrating, finished (VERIFY_RESIZE), confirmed, reverting,
  // reverted, error.
  std::string status;
  std::string migration_type = "resize";
  Timestamp created_at;
  Timestamp updated_at;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(id), CEREAL_NVP(uuid), CEREAL_NVP(instance_id), CEREAL_NVP(project_id),
       CEREAL_NVP(user_id), CEREAL_NVP(source_compute), CEREAL_NVP(dest_compute),
       CEREAL_NVP(old_flavor), CEREAL_NVP(new_flavor), CEREAL_NVP(status),
       CEREAL_NVP(migration_type), CEREAL_NVP(created_at), CEREAL_NVP(updated_at));
  }
};

class MigrationsProjection : public Projection {
 public:
  static constexpr std::string_view kName = "migrations";
  std::string_view Name() const override { return kName; }
  Status Apply(const Envelope& env, const Event& event, ReadModelWriter& w) override;
};

// Queries over the migrations read model. Borrows the reader.
class MigrationsView {
 public:
  explicit MigrationsView(const ReadModelReader* reader) : reader_(reader) {}
  // Every migration, newest first (Nova's created_at, id descending).
  Result<std::vector<MigrationRecord>> List() const;

 private:
  const ReadModelReader* reader_;
};

}  // namespace chronova
