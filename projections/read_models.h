// Every read model chronova keeps, in one place, so the daemon, chronovactl's
// rebuilds and the tests always fold the same set (and digests compare equal).
#pragma once

#include <vector>

#include "projections/aggregates_projection.h"
#include "projections/catalog_projections.h"
#include "projections/console_tokens_projection.h"
#include "projections/credentials_projection.h"
#include "projections/hosts_projection.h"
#include "projections/instance_actions_projection.h"
#include "projections/migrations_projection.h"
#include "projections/resource_projections.h"
#include "projections/revocations_projection.h"
#include "projections/server_groups_projection.h"
#include "projections/servers_projection.h"

namespace chronova {

struct ReadModels {
  ServersProjection servers;
  HostsProjection hosts;
  FlavorsProjection flavors;
  ImagesProjection images;
  InstanceActionsProjection instance_actions;
  RevocationsProjection revocations;
  AggregatesProjection aggregates;
  KeypairsProjection keypairs;
  QuotasProjection quotas;
  ConsoleTokensProjection console_tokens;
  ServerGroupsProjection server_groups;
  MigrationsProjection migrations;
  CredentialsProjection credentials;

  // Borrowed pointers for ProjectionStore::Open; valid while this object lives.
  std::vector<Projection*> All() {
    return {&servers,          &hosts,          &flavors,       &images,
            &instance_actions, &revocations,    &aggregates,    &keypairs,
            &quotas,           &console_tokens, &server_groups, &migrations,
            &credentials};
  }
};

}  // namespace chronova
