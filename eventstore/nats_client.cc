#include "eventstore/nats_client.h"

#include <nats/nats.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "core/env.h"
#include "eventstore/jetstream_names.h"
#include "eventstore/nats_connect.h"

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

// What the signer answers when it will not sign (ConnectNats looks for it).
constexpr char kZeroLedSignature[] =
    "nkey signature begins with a zero byte, which libnats 3.4.1 would send empty";

// The 32-byte Ed25519 seed in an nkey seed file ("SU...": base32 of 2 prefix
// bytes, the seed, and a CRC-16 that is not checked here: the server checks
// the signature), or false.
bool ReadSeed(const std::string& file, unsigned char seed[32]) {
  std::ifstream in(file);
  std::string text;
  if (!(in >> text) || text.size() != 58 || !text.starts_with("SU")) return false;
  unsigned char raw[36];
  size_t n = 0;
  unsigned bits = 0, acc = 0;
  for (char c : text) {
    int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= '2' && c <= '7' ? c - '2' + 26 : -1;
    if (v < 0) return false;
    acc = (acc << 5) | static_cast<unsigned>(v);
    bits += 5;
    if (bits >= 8) {
      if (n == sizeof(raw)) return false;
      raw[n++] = static_cast<unsigned char>(acc >> (bits - 8));
      bits -= 8;
    }
  }
  if (n != sizeof(raw)) return false;
  std::memcpy(seed, raw + 2, 32);
  OPENSSL_cleanse(raw, sizeof(raw));
  OPENSSL_cleanse(text.data(), text.size());
  return true;
}

// cnats's natsSignatureHandler: signs the server's nonce with the seed read
// from the file named by `closure` (read at each connect and wiped, as cnats's
// own handler does), refusing a signature that libnats would drop.
natsStatus SignNonce(char** err, unsigned char** sig, int* sig_len, const char* nonce,
                     void* closure) {
  const std::string& file = *static_cast<const std::string*>(closure);
  unsigned char seed[32];
  if (nonce == nullptr || !ReadSeed(file, seed)) {
    *err = strdup(("cannot read the nkey seed in " + file).c_str());
    return NATS_ERR;
  }
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, 32);
  OPENSSL_cleanse(seed, sizeof(seed));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 64;
  auto* out = static_cast<unsigned char*>(std::malloc(len));  // cnats frees it
  bool ok = key != nullptr && ctx != nullptr && out != nullptr &&
            EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
            EVP_DigestSign(ctx, out, &len, reinterpret_cast<const unsigned char*>(nonce),
                           std::strlen(nonce)) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  if (!ok || out[0] == 0) {
    std::free(out);
    *err = strdup(ok ? kZeroLedSignature : "nkey signing failed");
    return NATS_ERR;
  }
  *sig = out;
  *sig_len = static_cast<int>(len);
  return NATS_OK;
}

// The signer's closure: the seed file's path, kept for the life of the process
// (a connection may outlive its options; a process uses one or two files).
const std::string* InternSeedFile(const std::string& file) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<std::string>>* files =
      new std::map<std::string, std::unique_ptr<std::string>>;
  std::lock_guard<std::mutex> l(mu);
  auto& slot = (*files)[file];
  if (!slot) slot = std::make_unique<std::string>(file);
  return slot.get();
}

}  // namespace

natsStatus ConnectNats(natsConnection** nc, natsOptions* opts) {
  natsStatus s = NATS_OK;
  for (int attempt = 0; attempt < 4; ++attempt) {
    *nc = nullptr;
    s = natsConnection_Connect(nc, opts);
    const char* last = nats_GetLastError(nullptr);
    if (s == NATS_OK || last == nullptr ||
        std::strstr(last, kZeroLedSignature) == nullptr) {
      break;
    }
  }
  return s;
}

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
    // Our own signer rather than natsOptions_SetNKeyFromSeed: see SignNonce.
    unsigned char seed[32];
    if (!ReadSeed(auth.nkey_seed_file, seed)) {
      return fail(
          Status::InvalidArgument("no nkey seed (SU...) in " + auth.nkey_seed_file));
    }
    OPENSSL_cleanse(seed, sizeof(seed));
    st = Check(natsOptions_SetNKey(
                   opts, pub->c_str(), &SignNonce,
                   const_cast<std::string*>(InternSeedFile(auth.nkey_seed_file))),
               "nkey " + auth.nkey_seed_file);
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
