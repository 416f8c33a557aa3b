// Every bus subject chronova uses, built in one place.
#pragma once

#include <string>

#include "core/types.h"

namespace chronova::subjects {

// Conductor → compute host: work for that host.
inline std::string Work(const HostName& host) { return "work." + host.str(); }
// Compute host → conductor: a progress report.
inline std::string Report(const HostName& host) { return "report." + host.str(); }
inline const char* kAllReports = "report.>";
// Compute host → conductor: the guests it has, when its agent starts.
inline std::string Inventory(const HostName& host) { return "inventory." + host.str(); }
inline const char* kAllInventories = "inventory.>";
// Compute host → scheduler: "I am alive" (not an event: liveness is not history).
inline std::string Heartbeat(const HostName& host) { return "heartbeat." + host.str(); }
inline const char* kAllHeartbeats = "heartbeat.>";

// A scheduler or conductor → its peers: "member <payload> of <role> is alive"
// (agents/membership.h).
inline std::string Member(const std::string& role) { return "member." + role; }

// Anyone → compute host: a HostQuery.
inline std::string Query(const HostName& host) { return "query." + host.str(); }
// Compute host → the asker: replies to one HostQueryClient under this prefix.
inline std::string Replies(const std::string& client) { return "reply." + client; }

}  // namespace chronova::subjects
