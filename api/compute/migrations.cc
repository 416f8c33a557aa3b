// GET /os-migrations (nova/api/openstack/compute/migrations.py): every
// migration, newest first, from the migrations read model (resizes: chronova
// does not cold- or live-migrate yet). Filters status, host (source or
// destination), instance_uuid, source_compute and, from 2.23, migration_type;
// 2.23 shows migration_type; 2.59 pages by uuid (limit, marker, changes-since)
// and shows the uuid; 2.66 adds changes-before.
#include "api/compute/common.h"
#include "api/compute/resource.h"
#include "api/service/admin_service.h"

namespace chronova {
namespace {

constexpr ApiVersion kMigrationTypeVersion{2, 23};
constexpr ApiVersion kPagedVersion{2, 59};

// Nova's integer flavor id (instance_type_id); null for a flavor id that is
// not a number (chronova's flavors are named by their API id).
Json FlavorNumber(const FlavorId& id) {
  int64_t n = 0;
  return ParsePythonInt(id.str(), &n) ? Json(n) : Json();
}

Json MigrationView(const MigrationRecord& m, ApiVersion version) {
  Json j = Json::MakeObject({
      {"id", m.id},
      {"status", m.status},
      {"instance_uuid", m.instance_id.str()},
      {"source_node", m.source_compute.str()},
      {"source_compute", m.source_compute.str()},
      {"dest_node", m.dest_compute.str()},
      {"dest_compute", m.dest_compute.str()},
      {"dest_host", m.dest_compute.str()},
      {"old_instance_type_id", FlavorNumber(m.old_flavor)},
      {"new_instance_type_id", FlavorNumber(m.new_flavor)},
      {"created_at", FormatUsageTime(m.created_at)},
      {"updated_at", TimeOrNull(m.updated_at)},
  });
  if (version >= kMigrationTypeVersion) j["migration_type"] = m.migration_type;
  if (version >= kPagedVersion) j["uuid"] = m.uuid;
  return j;
}

class Migrations final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse List(const ComputeCall& call) const {
    const bool paged = call.version >= kPagedVersion;
    ChangesWindow window;
    int limit = 0;
    if (paged) {
      std::optional<HttpResponse> refused =
          call.version >= ApiVersion{2, 66}
              ? RefuseUnknownQuery(call,
                                   {"hidden", "host", "instance_uuid", "source_compute",
                                    "status", "migration_type", "limit", "marker",
                                    "changes-since", "changes-before"},
                                   kPagedVersion)
              : RefuseUnknownQuery(
                    call,
                    {"hidden", "host", "instance_uuid", "source_compute", "status",
                     "migration_type", "limit", "marker", "changes-since"},
                    kPagedVersion);
      if (refused) return *refused;
      Result<ChangesWindow> w = ChangesWindowOf(call);
      if (!w.ok()) return ErrorResponse(w.status());
      window = *w;
      Result<int> l = PageLimit(call);
      if (!l.ok()) return ErrorResponse(l.status());
      limit = *l;
    }
    Result<std::vector<MigrationRecord>> all = options_.admin->ListMigrations(call.ctx);
    if (!all.ok()) return ErrorResponse(all.status());
    const std::string* status = QueryParam(call.query, "status");
    const std::string* host = QueryParam(call.query, "host");
    const std::string* instance = QueryParam(call.query, "instance_uuid");
    const std::string* source = QueryParam(call.query, "source_compute");
    const std::string* type = call.version >= kMigrationTypeVersion
                                  ? QueryParam(call.query, "migration_type")
                                  : nullptr;
    std::vector<const MigrationRecord*> shown;
    for (const MigrationRecord& m : *all) {
      if (status && m.status != *status) continue;
      if (host && m.source_compute.str() != *host && m.dest_compute.str() != *host)
        continue;
      if (instance && m.instance_id.str() != *instance) continue;
      if (source && m.source_compute.str() != *source) continue;
      if (type && m.migration_type != *type) continue;
      if (!window.Contains(m.updated_at.micros ? m.updated_at : m.created_at)) continue;
      shown.push_back(&m);
    }
    if (!paged) {
      Json list = Json::MakeArray();
      for (const MigrationRecord* m : shown) list.Append(MigrationView(*m, call.version));
      return JsonResponse(200, Json::MakeObject({{"migrations", std::move(list)}}));
    }
    auto uuid_of = [](const MigrationRecord& m) { return m.uuid; };
    if (auto refused = RefuseUnknownMarker(call.query, shown, uuid_of)) return *refused;
    return PagedList(
        "migrations", "os-migrations", call.links, call.query, shown, limit, uuid_of,
        [&](const MigrationRecord& m) { return MigrationView(m, call.version); });
  }
};

}  // namespace

void AddMigrationRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  if (options.admin == nullptr) return;  // no admin views: 404
  auto r = std::make_shared<const Migrations>(options);
  routes->Add("GET", "os-migrations", Bind(r, &Migrations::List));
}

}  // namespace chronova
