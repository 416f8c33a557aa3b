#include "eventstore/nats_client.h"

#include <nats/nats.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "core/env.h"
#include "eventstore/jetstream_names.h"

namespace chronova {
namespace {

// The subscription is not touched: cnats may report an error for one that is
// being destroyed on another thread (reading its subject crashed a scheduler
// when a NATS node was killed).
void LogNatsError(natsConnection*, natsSubscription*, natsStatus err, void*) {
  Env::Default()->Warn({.role = "nats"}, natsStatus_GetText(err));
}

Status Check(natsStatus s, const std::string& what) {
  if (s == NATS_OK) return Status::Ok();
  const char* last = nats_GetLastError(nullptr);
  return Status::InvalidArgument(
      "nats: " + what + ": " + natsStatus_GetText(s) +
      (last != nullptr && *last ? std::string(" (") + last + ")" : std::string()));
}

// The public key written beside a seed file: <name>.pub for <name>.nk.
Result<std::string> PublicKeyOf(const std::string& seed_file) {
  std::string pub_file = seed_file;
  if (pub_file.size() > 3 && pub_file.ends_with(".nk"))
    pub_file.resize(pub_file.size() - 3);
  pub_file += ".pub";
  std::ifstream in(pub_file);
  std::string key;
  if (!(in >> key) || key.size() != 56 || key[0] != 'U') {
    return Status::InvalidArgument("no nkey public key (U...) in " + pub_file);
  }
  return key;
}

}  // namespace

Result<natsOptions*> NewNatsOptions(const std::string& urls, const NatsAuth& auth) {
  natsOptions* opts = nullptr;
  CHRONOVA_RETURN_IF_ERROR(Check(natsOptions_Create(&opts), "options"));
  auto fail = [&](Status st) -> Result<natsOptions*> {
    natsOptions_Destroy(opts);
    return st;
  };
  std::vector<std::string> list = jetstream_names::ServerUrls(urls);
  std::vector<const char*> servers;
  for (const std::string& u : list) servers.push_back(u.c_str());
  Status st = Check(
      natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size())),
      "servers " + urls);
  if (st.ok()) st = Check(natsOptions_SetMaxReconnect(opts, -1), "reconnects");
  if (st.ok()) st = Check(natsOptions_SetReconnectWait(opts, 100), "reconnect wait");
  if (st.ok())
    st = Check(natsOptions_SetErrorHandler(opts, &LogNatsError, nullptr), "errors");
  if (st.ok() && !auth.connection_name.empty())
    st = Check(natsOptions_SetName(opts, auth.connection_name.c_str()), "name");
  if (st.ok() && !auth.nkey_seed_file.empty()) {
    Result<std::string> pub = PublicKeyOf(auth.nkey_seed_file);
    if (!pub.ok()) return fail(pub.status());
    st = Check(
        natsOptions_SetNKeyFromSeed(opts, pub->c_str(), auth.nkey_seed_file.c_str()),
        "nkey seed " + auth.nkey_seed_file);
  }
  if (st.ok() && !auth.ca_file.empty()) {
    st = Check(natsOptions_SetSecure(opts, true), "tls");
    if (st.ok()) {
      st = Check(natsOptions_LoadCATrustedCertificates(opts, auth.ca_file.c_str()),
                 "CA file " + auth.ca_file);
    }
  }
  if (st.ok() && !auth.inbox_prefix.empty()) {
    st = Check(natsOptions_SetCustomInboxPrefix(opts, auth.inbox_prefix.c_str()),
               "inbox prefix " + auth.inbox_prefix);
  }
  if (!st.ok()) return fail(st);
  return opts;
}

}  // namespace chronova
