// Connecting to NATS with cnats, for the .cc files that already speak cnats
// (the bus, the log, the liveness store); eventstore/nats_client.h makes the
// options.
#pragma once

#include <nats/nats.h>

namespace chronova {

// natsConnection_Connect, tried again (at most three more times, each a new
// connection and so a new server nonce) when the nkey signer refused to sign
// because libnats 3.4.1 would have dropped the signature: it base64-encodes
// nothing for a signature whose first byte is zero (1 connect in 256; nats.c
// #705, fixed in 3.8), and the server then answers "Authorization Violation".
natsStatus ConnectNats(natsConnection** nc, natsOptions* opts);

}  // namespace chronova
