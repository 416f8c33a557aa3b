#include "projections/migrations_projection.h"

#include <algorithm>
#include <cstdio>

#include "core/events.h"
#include "projections/records.h"

namespace chronova {
namespace {

// Keys: "m/<id, 20 digits>" a migration; "i/<instance>" what the instance's
// stream has told so far (its flavor, its migration in progress).
std::string MigrationKey(int64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "m/%020lld", static_cast<long long>(id));
  return buf;
}
std::string InstanceKey(std::string_view instance) {
  return "i/" + std::string(instance);
}

struct InstanceMigrations {
  ProjectId project_id;
  UserId user_id;
  FlavorId flavor;        // the flavor it runs with now
  int64_t migration = 0;  // its migration in progress (0: none)
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(project_id), CEREAL_NVP(user_id), CEREAL_NVP(flavor),
       CEREAL_NVP(migration));
  }
};

}  // namespace

Status MigrationsProjection::Apply(const Envelope& env, const Event& event,
                                   ReadModelWriter& w) {
  if (StreamKind(env.stream) != "instance") return Status::Ok();
  const std::string key = InstanceKey(StreamKey(env.stream));
  if (const auto* r = std::get_if<InstanceRequested>(&event)) {
    PutRecord(w, key, InstanceMigrations{r->project_id, r->user_id, r->flavor.id, 0});
    return Status::Ok();
  }
  const bool relevant = std::holds_alternative<InstanceResizeRequested>(event) ||
                        std::holds_alternative<InstanceResizeFinished>(event) ||
                        std::holds_alternative<InstanceResizeFailed>(event) ||
                        std::holds_alternative<InstanceResizeConfirmed>(event) ||
                        std::holds_alternative<InstanceResizeRevertRequested>(event) ||
                        std::holds_alternative<InstanceResizeReverted>(event);
  if (!relevant) return Status::Ok();
  CHRONOVA_ASSIGN_OR_RETURN(std::optional<InstanceMigrations> stored,
                            GetRecord<InstanceMigrations>(w, key));
  if (!stored) return Status::Ok();  // a stream that began before this model knew it
  InstanceMigrations instance = *stored;
  if (const auto* r = std::get_if<InstanceResizeRequested>(&event)) {
    MigrationRecord m;
    m.id = static_cast<int64_t>(env.seq.value());
    m.uuid = r->migration_id;
    m.instance_id = InstanceId(std::string(StreamKey(env.stream)));
    m.project_id = instance.project_id;
    m.user_id = instance.user_id;
    m.source_compute = r->source_host;
    m.dest_compute = r->dest_host;
    m.old_flavor = instance.flavor;
    m.new_flavor = r->flavor.id;
    m.status = "pre-migrating";
    m.migration_type = r->migration_type;
    m.created_at = env.meta.time;
    instance.migration = m.id;
    PutRecord(w, MigrationKey(m.id), std::move(m));
    PutRecord(w, key, std::move(instance));
    return Status::Ok();
  }
  if (instance.migration == 0) return Status::Ok();
  CHRONOVA_ASSIGN_OR_RETURN(
      std::optional<MigrationRecord> found,
      GetRecord<MigrationRecord>(w, MigrationKey(instance.migration)));
  if (!found) return Status::Ok();
  MigrationRecord m = *found;
  if (std::holds_alternative<InstanceResizeFinished>(event)) {
    m.status = "finished";
  } else if (std::holds_alternative<InstanceResizeFailed>(event)) {
    m.status = "error";
    instance.migration = 0;
  } else if (std::holds_alternative<InstanceResizeConfirmed>(event)) {
    m.status = "confirmed";
    instance.flavor = m.new_flavor;
    instance.migration = 0;
  } else if (std::holds_alternative<InstanceResizeRevertRequested>(event)) {
    m.status = "reverting";
  } else if (std::holds_alternative<InstanceResizeReverted>(event)) {
    m.status = "reverted";
    instance.migration = 0;
  }
  m.updated_at = env.meta.time;
  PutRecord(w, MigrationKey(m.id), std::move(m));
  PutRecord(w, key, std::move(instance));
  return Status::Ok();
}

Result<std::vector<MigrationRecord>> MigrationsView::List() const {
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<MigrationRecord> out,
                            ScanRecords<MigrationRecord>(*reader_, "m/"));
  std::reverse(out.begin(), out.end());  // ids grow with time: newest first
  return out;
}

}  // namespace chronova
