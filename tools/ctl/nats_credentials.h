// `chronovactl nats-credentials`: least privilege on the bus and the log. One
// NATS credential (an nkey) per role and per compute host, the nats-server
// configuration that grants each exactly what it needs, and optionally a CA
// and a server certificate for TLS (docs/deployment.md, "Credentials and TLS").
//
// What each credential may do (subjects: agents/subjects.h and the log's
// eventstore/jetstream_names.h):
//   api, scheduler, conductor  append to and read the log (the stream's
//                              subjects and its JetStream API, nothing else
//                              in JetStream), their own inbox prefix
//                              _INBOX.<name>, and their part of the bus;
//   compute host <h>           no JetStream at all; publish report.<h>,
//                              inventory.<h>, heartbeat.<h> and replies to the
//                              api's queries; subscribe work.<h> and query.<h>;
//   admin                      everything (the all-in-one, chronovactl).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace chronova {

struct NatsCredentialsOptions {
  std::string dir;  // written here (created 0700)
  std::vector<std::string> compute_hosts;
  std::string stream = "CHRONOVA";  // the log's JetStream stream
  // Also make a CA and a server certificate for these names (IP addresses or
  // DNS names; 127.0.0.1 and localhost are always in it).
  bool tls = false;
  std::vector<std::string> server_names;
};

// An nkey pair: the public key ("U...", 56 characters) and the seed
// ("SU...", 58 characters), as nats-server and the NATS clients encode them.
struct NkeyPair {
  std::string public_key;
  std::string seed;
};
Result<NkeyPair> NewUserNkey();

// The subjects credential `name` may publish and subscribe to (admin: ">").
struct NatsPermissions {
  std::vector<std::string> publish;
  std::vector<std::string> subscribe;
};
// `name` is api, scheduler, conductor, admin, or a compute host's name.
NatsPermissions PermissionsFor(const std::string& name, bool compute_host,
                               const std::string& stream);

// Writes <name>.nk (seed, 0600) and <name>.pub for api, scheduler, conductor,
// admin and every compute host, auth.conf (the server's authorization block)
// and, with tls, ca.pem, ca.key, server.pem, server.key and tls.conf. Existing
// credentials are kept (run it again to add hosts); auth.conf is rewritten.
Status WriteNatsCredentials(const NatsCredentialsOptions& options);

class Flags;
// `chronovactl nats-credentials`: WriteNatsCredentials from the command's
// flags (--out, --hosts, --tls, --tls-names, --nats-stream, --state-dir), then
// what to put in nats.conf and chronova.conf. The exit status.
int NatsCredentialsCommand(const Flags& flags);

}  // namespace chronova
