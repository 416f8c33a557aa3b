#include "tools/ctl/nats_credentials.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

#include "eventstore/jetstream_names.h"
#include "tools/flags.h"

namespace chronova {
namespace {

namespace fs = std::filesystem;

const char* const kRoles[] = {"api", "scheduler", "conductor", "console-proxy", "admin"};

// nkeys' prefix bytes: 'S' (seed) and 'U' (user) once base32-encoded.
constexpr uint8_t kPrefixSeed = 18 << 3;
constexpr uint8_t kPrefixUser = 20 << 3;

uint16_t Crc16Xmodem(const std::string& data) {
  uint16_t crc = 0;
  for (unsigned char c : data) {
    crc ^= static_cast<uint16_t>(c) << 8;
    for (int i = 0; i < 8; ++i)
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
  }
  return crc;
}

// RFC 4648 base32 without padding, as nkeys use it.
std::string Base32(const std::string& data) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : data) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  return out;
}

// The payload with its CRC-16 appended (little-endian), base32-encoded.
std::string EncodeNkey(std::string raw) {
  uint16_t crc = Crc16Xmodem(raw);
  raw += static_cast<char>(crc & 0xff);
  raw += static_cast<char>(crc >> 8);
  return Base32(raw);
}

Status OpenSslError(const std::string& what) {
  return Status::Internal("openssl: " + what);
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

Status WriteFile(const fs::path& path, const std::string& text, bool secret) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    if (!out) return Status::Internal("cannot write " + tmp.string());
    if (secret) ::chmod(tmp.c_str(), 0600);  // before the secret is in it
    out << text;
    if (!(out.flush())) return Status::Internal("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::Internal("cannot write " + path.string() + ": " + ec.message());
  return Status::Ok();
}

Result<std::string> Pem(int (*write)(BIO*, void*), void* object) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr || write(bio, object) != 1) {
    BIO_free(bio);
    return OpenSslError("PEM encoding");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

int WriteKeyPem(BIO* bio, void* key) {
  return PEM_write_bio_PrivateKey(bio, static_cast<EVP_PKEY*>(key), nullptr, nullptr, 0,
                                  nullptr, nullptr);
}
int WriteCertPem(BIO* bio, void* cert) {
  return PEM_write_bio_X509(bio, static_cast<X509*>(cert));
}

Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return OpenSslError("extension " + value);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1 ? Status::Ok() : OpenSslError("extension " + value);
}

// A certificate for `key` named `cn`, signed by `issuer_key` (self-signed
// when `issuer` is null), valid `days`.
Result<Cert> NewCert(EVP_PKEY* key, const std::string& cn, X509* issuer,
                     EVP_PKEY* issuer_key, int days, bool ca,
                     const std::vector<std::string>& names) {
  Cert cert(X509_new());
  if (!cert) return OpenSslError("X509_new");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16] = {};
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  urandom.read(reinterpret_cast<char*>(serial), sizeof(serial));
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("chronova"), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                             0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (ca) {
    CHRONOVA_RETURN_IF_ERROR(
        AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE"));
    CHRONOVA_RETURN_IF_ERROR(
        AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    std::string san;
    for (const std::string& n : names) {
      bool ip = !n.empty() &&
                n.find_first_not_of("0123456789.:abcdefABCDEF") == std::string::npos &&
                n.find_first_of(".:") != std::string::npos;
      san += (san.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + n;
    }
    CHRONOVA_RETURN_IF_ERROR(
        AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE"));
    CHRONOVA_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_key_usage,
                                          "critical,digitalSignature,keyEncipherment"));
    CHRONOVA_RETURN_IF_ERROR(
        AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth"));
    CHRONOVA_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_subject_alt_name, san));
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0)
    return OpenSslError("sign " + cn);
  return cert;
}

Status WriteServerCert(const NatsCredentialsOptions& o, X509* ca, EVP_PKEY* ca_key);

// Loads a PEM object written before with `read` (PEM_read_PrivateKey,
// PEM_read_X509) into its owner type `Owned`.
template <typename Owned, typename Read>
Result<Owned> LoadPem(const fs::path& path, Read read) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return Status::NotFound("cannot read " + path.string());
  Owned object(read(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  if (!object) return OpenSslError("read " + path.string());
  return object;
}

Status WriteTls(const NatsCredentialsOptions& o) {
  const fs::path dir(o.dir);
  // A CA made before is kept (every machine trusts it): only the server
  // certificate is made again, signed by it, for the names given now.
  if (fs::exists(dir / "ca.pem") && fs::exists(dir / "ca.key")) {
    CHRONOVA_ASSIGN_OR_RETURN(Pkey ca_key,
                              LoadPem<Pkey>(dir / "ca.key", PEM_read_PrivateKey));
    CHRONOVA_ASSIGN_OR_RETURN(Cert ca, LoadPem<Cert>(dir / "ca.pem", PEM_read_X509));
    return WriteServerCert(o, ca.get(), ca_key.get());
  }
  Pkey ca_key(EVP_EC_gen("P-256"));
  if (!ca_key) return OpenSslError("EC key generation");
  CHRONOVA_ASSIGN_OR_RETURN(Cert ca, NewCert(ca_key.get(), "chronova NATS CA", nullptr,
                                             ca_key.get(), 3650, true, {}));
  CHRONOVA_ASSIGN_OR_RETURN(std::string ca_pem, Pem(&WriteCertPem, ca.get()));
  CHRONOVA_ASSIGN_OR_RETURN(std::string ca_key_pem, Pem(&WriteKeyPem, ca_key.get()));
  CHRONOVA_RETURN_IF_ERROR(WriteFile(dir / "ca.key", ca_key_pem, true));
  CHRONOVA_RETURN_IF_ERROR(WriteFile(dir / "ca.pem", ca_pem, false));
  return WriteServerCert(o, ca.get(), ca_key.get());
}

// A server key and certificate for 127.0.0.1, localhost and o.server_names,
// signed by the CA, and tls.conf naming them.
Status WriteServerCert(const NatsCredentialsOptions& o, X509* ca, EVP_PKEY* ca_key) {
  const fs::path dir(o.dir);
  Pkey server_key(EVP_EC_gen("P-256"));
  if (!server_key) return OpenSslError("EC key generation");
  std::vector<std::string> names = {"127.0.0.1", "localhost"};
  for (const std::string& n : o.server_names)
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  CHRONOVA_ASSIGN_OR_RETURN(Cert server, NewCert(server_key.get(), names.back(), ca,
                                                 ca_key, 825, false, names));
  CHRONOVA_ASSIGN_OR_RETURN(std::string server_pem, Pem(&WriteCertPem, server.get()));
  CHRONOVA_ASSIGN_OR_RETURN(std::string server_key_pem,
                            Pem(&WriteKeyPem, server_key.get()));
  CHRONOVA_RETURN_IF_ERROR(WriteFile(dir / "server.pem", server_pem, false));
  CHRONOVA_RETURN_IF_ERROR(WriteFile(dir / "server.key", server_key_pem, true));
  const std::string abs = fs::absolute(dir).string();
  return WriteFile(
      dir / "tls.conf",
      "# TLS for clients (chronovactl nats-credentials); include from nats.conf.\n"
      "tls {\n  cert_file: \"" +
          abs + "/server.pem\"\n  key_file: \"" + abs +
          "/server.key\"\n  timeout: 2\n}\n",
      false);
}

std::string QuotedList(const std::vector<std::string>& subjects) {
  std::string out = "[";
  for (size_t i = 0; i < subjects.size(); ++i)
    out += (i ? ", \"" : "\"") + subjects[i] + "\"";
  return out + "]";
}

}  // namespace

Result<NkeyPair> NewUserNkey() {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return OpenSslError("ed25519 key generation");
  unsigned char seed[32], pub[32];
  size_t seed_len = sizeof(seed), pub_len = sizeof(pub);
  if (EVP_PKEY_get_raw_private_key(key.get(), seed, &seed_len) != 1 ||
      EVP_PKEY_get_raw_public_key(key.get(), pub, &pub_len) != 1 || seed_len != 32 ||
      pub_len != 32) {
    return OpenSslError("ed25519 raw key");
  }
  NkeyPair pair;
  std::string user(1, static_cast<char>(kPrefixUser));
  user.append(reinterpret_cast<char*>(pub), 32);
  pair.public_key = EncodeNkey(user);
  std::string s;
  s += static_cast<char>(kPrefixSeed | (kPrefixUser >> 5));
  s += static_cast<char>((kPrefixUser & 31) << 3);
  s.append(reinterpret_cast<char*>(seed), 32);
  pair.seed = EncodeNkey(s);
  OPENSSL_cleanse(seed, sizeof(seed));
  return pair;
}

NatsPermissions PermissionsFor(const std::string& name, bool compute_host,
                               const std::string& stream) {
  NatsPermissions p;
  if (name == "admin") {
    p.publish = {">"};
    p.subscribe = {">"};
    return p;
  }
  if (compute_host) {
    p.publish = {"report." + name, "inventory." + name, "heartbeat." + name,
                 "reply.api.>", "reply.console.>"};
    p.subscribe = {"work." + name, "query." + name};
    return p;
  }
  // The log: its subjects, and the JetStream API calls it makes on its own
  // stream (create when absent, info, last message per subject, its own
  // consumers), acks and flow control; no other stream, no deletes.
  p.publish = {"ev.>", "$JS.API.INFO", "$JS.API.STREAM.CREATE." + stream,
               "$JS.API.STREAM.INFO." + stream, "$JS.API.STREAM.MSG.GET." + stream,
               "$JS.API.DIRECT.GET." + stream + ".>", "$JS.API.CONSUMER.CREATE." + stream,
               "$JS.API.CONSUMER.CREATE." + stream + ".>",
               "$JS.API.CONSUMER.INFO." + stream + ".>",
               "$JS.API.CONSUMER.DELETE." + stream + ".>",
               "$JS.API.CONSUMER.MSG.NEXT." + stream + ".>", "$JS.ACK." + stream + ".>",
               "$JS.FC." + stream + ".>",
               // The hosts' last heartbeats (agents/nats_liveness.h).
               "$JS.API.STREAM.CREATE." + stream + "_LIVENESS",
               "$JS.API.STREAM.INFO." + stream + "_LIVENESS",
               "$JS.API.STREAM.MSG.GET." + stream + "_LIVENESS",
               "$JS.API.DIRECT.GET." + stream + "_LIVENESS.>"};
  p.subscribe = {"_INBOX." + name + ".>"};
  if (name == "api") {
    p.publish.insert(p.publish.end(), {"query.*", "member.api"});
    p.subscribe.insert(p.subscribe.end(), {"reply.api.>", "heartbeat.>", "member.api"});
  } else if (name == "console-proxy") {
    // Asks compute hosts where a guest's console listens.
    p.publish.push_back("query.*");
    p.subscribe.push_back("reply.console.>");
  } else if (name == "scheduler") {
    p.publish.push_back("member.scheduler");
    p.subscribe.insert(p.subscribe.end(), {"heartbeat.>", "member.scheduler"});
  } else if (name == "conductor") {
    p.publish.insert(p.publish.end(), {"work.*", "member.conductor"});
    p.subscribe.insert(p.subscribe.end(),
                       {"report.>", "inventory.>", "heartbeat.>", "member.conductor"});
  }
  return p;
}

Status WriteNatsCredentials(const NatsCredentialsOptions& o) {
  const fs::path dir(o.dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Internal("cannot create " + o.dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  std::vector<std::string> names(std::begin(kRoles), std::end(kRoles));
  for (const std::string& h : o.compute_hosts) {
    if (h.empty() || h.size() > 255 ||
        h.find_first_of(" .*>/\t\r\n") != std::string::npos ||
        std::find(std::begin(kRoles), std::end(kRoles), h) != std::end(kRoles)) {
      return Status::InvalidArgument("not a compute host name: '" + h + "'");
    }
    names.push_back(h);
  }
  for (const std::string& name : names) {
    if (fs::exists(dir / (name + ".pub"))) continue;  // kept
    CHRONOVA_ASSIGN_OR_RETURN(NkeyPair pair, NewUserNkey());
    CHRONOVA_RETURN_IF_ERROR(WriteFile(dir / (name + ".nk"), pair.seed + "\n", true));
    CHRONOVA_RETURN_IF_ERROR(
        WriteFile(dir / (name + ".pub"), pair.public_key + "\n", false));
  }
  // The authorization block names every credential in the directory.
  std::set<std::string> all;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".pub") all.insert(entry.path().stem().string());
  }
  std::string conf =
      "# chronova's NATS credentials (chronovactl nats-credentials): one nkey per role\n"
      "# and per compute host. Include from every node's nats.conf.\n"
      "authorization {\n  users = [\n";
  for (const std::string& name : all) {
    std::ifstream in(dir / (name + ".pub"));
    std::string pub;
    in >> pub;
    const bool compute =
        std::find(std::begin(kRoles), std::end(kRoles), name) == std::end(kRoles);
    NatsPermissions p = PermissionsFor(name, compute, o.stream);
    conf += "    # " + name + (compute ? " (compute host)" : "") +
            "\n    { nkey: " + pub +
            ", permissions: {\n        publish: { allow: " + QuotedList(p.publish) +
            " },\n        subscribe: { allow: " + QuotedList(p.subscribe) + " } } }\n";
  }
  conf += "  ]\n}\n";
  CHRONOVA_RETURN_IF_ERROR(WriteFile(dir / "auth.conf", conf, false));
  if (o.tls) CHRONOVA_RETURN_IF_ERROR(WriteTls(o));
  return Status::Ok();
}

int NatsCredentialsCommand(const Flags& flags) {
  NatsCredentialsOptions o;
  const std::string state_dir =
      flags.Get("state-dir", geteuid() == 0 ? "/var/lib/chronova" : ".");
  o.dir = flags.Get("out", state_dir + "/nats");
  o.compute_hosts = jetstream_names::ServerUrls(flags.Get("hosts", ""));
  o.stream = flags.Get("nats-stream", o.stream);
  o.tls = flags.Has("tls");
  o.server_names = jetstream_names::ServerUrls(flags.Get("tls-names", ""));
  if (Status st = WriteNatsCredentials(o); !st.ok()) {
    std::fprintf(stderr, "chronovactl: %s\n", st.ToString().c_str());
    return 1;
  }
  std::error_code ec;
  o.dir = std::filesystem::weakly_canonical(o.dir, ec).string();
  std::printf(
      "NATS credentials in %s: api, scheduler, conductor, admin and %zu compute "
      "host(s).\n"
      "On every NATS node, in nats.conf (include paths are relative to nats.conf):\n"
      "  include <this directory>/auth.conf\n%s"
      "In chronova.conf:\n  [nats]\n  credentials_dir = %s\n%s",
      o.dir.c_str(), o.compute_hosts.size(),
      o.tls ? "  include <this directory>/tls.conf\n" : "", o.dir.c_str(),
      o.tls ? ("  ca_file = " + o.dir + "/ca.pem\n  (and tls:// URLs in [nats] url)\n")
                  .c_str()
            : "");
  return 0;
}

}  // namespace chronova
