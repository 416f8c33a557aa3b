// How a chronova process connects to NATS, the log and the bus alike: the
// cluster's URLs, its credential (an nkey), TLS, and the inbox prefix its
// replies arrive under. docs/deployment.md, "Credentials and TLS", shows how
// `chronovactl nats-credentials` makes the credentials and what each may do.
#pragma once

#include <string>

#include "core/status.h"

// cnats's options type (nats/nats.h), declared here so that this header stays
// free of the client's headers.
typedef struct __natsOptions natsOptions;

namespace chronova {

struct NatsAuth {
  // An nkey seed file (<name>.nk, with the public key in <name>.pub beside
  // it; chronovactl nats-credentials writes both). Empty: no credential.
  std::string nkey_seed_file;
  // A CA certificate (PEM): the connection then requires TLS and trusts only
  // servers this CA signed. Empty: plain TCP.
  std::string ca_file;
  // The subject prefix of this connection's inboxes (JetStream API answers,
  // publish acks, consumer deliveries), so a credential may be allowed to
  // read its own replies only. Empty: "_INBOX".
  std::string inbox_prefix;
  // Shown in nats-server's connection list.
  std::string connection_name;
};

// natsOptions for `urls` (one URL or a comma-separated list) and `auth`, with
// endless reconnects every 100 ms and an error handler that logs what the
// server refused (permissions violations are reported only there). The caller
// destroys them with natsOptions_Destroy.
Result<natsOptions*> NewNatsOptions(const std::string& urls, const NatsAuth& auth);

}  // namespace chronova
