// Helpers for tests that run a whole chronova Node in-process (tools/node.h):
// callers' request contexts, node options for a fake cloud, and waiting for hosts.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "core/env.h"
#include "core/request_context.h"
#include "projections/hosts_projection.h"
#include "tests/support/test_util.h"
#include "tools/node.h"

namespace chronova::testing {

// A member of `project`, with a fresh request id. Keystone's default role
// hierarchy makes a member a reader too, and tokens carry both.
inline RequestContext MemberContext(const std::string& user = "alice",
                                    const std::string& project = "demo") {
  return RequestContext{UserId(user),
                        ProjectId(project),
                        {"member", "reader"},
                        RequestId("req-" + Env::Default()->NewUuid())};
}

// A node on fake compute hosts, no HTTP API (noauth2 if a test adds one), no fsync, no
// periodic snapshots.
inline NodeOptions FakeCloudOptions(const TempDir& dir, int hosts, int vcpus,
                                    int memory_mb) {
  NodeOptions o;
  o.log.state_dir = dir.Sub("state");
  o.log.sync = false;
  o.compute.hosts = hosts;
  o.compute.hypervisor = "fake";
  o.api.compute_api_url = "";
  o.api.identity_api_url = "";
  o.api.auth_strategy = "noauth2";  // tests that serve HTTP name callers "user:project"
  o.api.image_api_url = "";
  o.api.ec2_api_url = "";
  o.compute.host_vcpus = vcpus;
  o.compute.host_memory_mb = memory_mb;
  o.api.snapshot_every = 0;
  // Capacity tests boot more than Nova's default quota allows.
  o.api.quota_defaults = {{"instances", -1}, {"cores", -1}, {"ram", -1}};
  return o;
}

// Waits (5 s) until at least `n` compute hosts are in the hosts read model.
inline void WaitHosts(Node& node, size_t n) {
  for (int i = 0; i < 500; ++i) {
    auto reader = node.store()->Reader(HostsProjection::kName).value();
    if (HostsView(reader.get()).List().value().size() >= n) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("compute hosts did not register");
}

}  // namespace chronova::testing
