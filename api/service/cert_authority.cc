#include "api/service/cert_authority.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/utf8.h"

namespace chronova {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Bio = std::unique_ptr<BIO, BioFree>;

Status OpenSslError(const std::string& what) {
  return Status::Internal("openssl: " + what);
}

Result<Pkey> NewRsaKey() {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr);
  EVP_PKEY* key = nullptr;
  bool ok = ctx != nullptr && EVP_PKEY_keygen_init(ctx) == 1 &&
            EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) == 1 &&
            EVP_PKEY_keygen(ctx, &key) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) return OpenSslError("generate an RSA key");
  return Pkey(key);
}

std::string KeyPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string CertPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// A certificate for `subject_key` named by `fields` ("O", "CN" pairs), signed
// by `issuer_key` as `issuer` (itself when null), valid `days` from `now`.
Result<Cert> MakeCert(EVP_PKEY* subject_key,
                      const std::vector<std::pair<const char*, std::string>>& fields,
                      EVP_PKEY* issuer_key, X509* issuer, const std::string& serial_bytes,
                      Timestamp now, int days, bool ca) {
  Cert cert(X509_new());
  if (!cert) return OpenSslError("X509_new");
  X509_set_version(cert.get(), 2);
  BIGNUM* bn = BN_bin2bn(reinterpret_cast<const unsigned char*>(serial_bytes.data()),
                         static_cast<int>(serial_bytes.size()), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  time_t start = static_cast<time_t>(now.micros / 1000000);
  X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, 0, &start);
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, &start);
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& [field, value] : fields) {
    X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1,
                               -1, 0);
  }
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(cert.get(), subject_key);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_basic_constraints,
                                            ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (ext != nullptr) {
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
    return OpenSslError("sign a certificate");
  }
  return cert;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Status WriteFile(const std::string& path, const std::string& data, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, mode);
  if (fd < 0) return Status::Unavailable("create " + path + ": " + std::strerror(errno));
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Status::Unavailable("write " + path);
  return Status::Ok();
}

}  // namespace

struct CertAuthority::Impl {
  Pkey key;
  Cert cert;
  std::string root_pem;
};

CertAuthority::CertAuthority(std::string dir) : dir_(std::move(dir)) {}
CertAuthority::~CertAuthority() = default;

Result<const CertAuthority::Impl*> CertAuthority::Loaded() const {
  std::lock_guard<std::mutex> l(mu_);
  if (impl_) return impl_.get();
  const std::string key_path = dir_ + "/ca.key";
  const std::string cert_path = dir_ + "/ca.crt";
  std::error_code ec;
  if (!std::filesystem::exists(key_path, ec) && !std::filesystem::exists(cert_path, ec)) {
    std::filesystem::create_directories(dir_, ec);
    if (ec) return Status::Unavailable("create " + dir_ + ": " + ec.message());
    CHRONOVA_ASSIGN_OR_RETURN(Pkey key, NewRsaKey());
    std::string serial(16, '\0');
    RAND_bytes(reinterpret_cast<unsigned char*>(serial.data()), 16);
    serial[0] = static_cast<char>(serial[0] & 0x7f);
    const Timestamp now{static_cast<int64_t>(::time(nullptr)) * 1000000};
    CHRONOVA_ASSIGN_OR_RETURN(
        Cert cert, MakeCert(key.get(), {{"O", "chronova"}, {"CN", "chronova root CA"}},
                            key.get(), nullptr, serial, now, 3650, /*ca=*/true));
    // The key first: a crash in between leaves a key without a certificate,
    // which is refused below rather than replaced (issued certificates would
    // no longer verify).
    CHRONOVA_RETURN_IF_ERROR(WriteFile(key_path, KeyPem(key.get()), 0600));
    CHRONOVA_RETURN_IF_ERROR(WriteFile(cert_path, CertPem(cert.get()), 0644));
  }
  CHRONOVA_ASSIGN_OR_RETURN(std::string key_pem, ReadFile(key_path));
  CHRONOVA_ASSIGN_OR_RETURN(std::string cert_pem, ReadFile(cert_path));
  auto impl = std::make_unique<Impl>();
  Bio kb(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  impl->key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  Bio cb(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  impl->cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  if (!impl->key || !impl->cert ||
      X509_check_private_key(impl->cert.get(), impl->key.get()) != 1) {
    return Status::Corruption("the CA in " + dir_ + " does not load (ca.key and ca.crt)");
  }
  impl->root_pem = std::move(cert_pem);
  impl_ = std::move(impl);
  return impl_.get();
}

Result<std::string> CertAuthority::RootPem() const {
  CHRONOVA_ASSIGN_OR_RETURN(const Impl* ca, Loaded());
  return ca->root_pem;
}

Result<IssuedCertificate> CertAuthority::Issue(const UserId& user,
                                               const ProjectId& project,
                                               Timestamp now) const {
  CHRONOVA_ASSIGN_OR_RETURN(const Impl* ca, Loaded());
  CHRONOVA_ASSIGN_OR_RETURN(Pkey key, NewRsaKey());
  std::string serial(16, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(serial.data()), 16) != 1) {
    return OpenSslError("random serial");
  }
  serial[0] = static_cast<char>(serial[0] & 0x7f);  // a positive INTEGER
  // Nova's crypto.generate_x509_cert: "/O=<project>/CN=<user>-<timestamp>".
  const std::string cn = user.str() + "-" + std::to_string(now.micros / 1000000);
  CHRONOVA_ASSIGN_OR_RETURN(
      Cert cert, MakeCert(key.get(), {{"O", project.str()}, {"CN", cn}}, ca->key.get(),
                          ca->cert.get(), serial, now, 365, /*ca=*/false));
  IssuedCertificate out;
  out.certificate_pem = CertPem(cert.get());
  out.private_key_pem = KeyPem(key.get());
  out.serial = LowerHex(serial);
  out.subject = "/O=" + project.str() + "/CN=" + cn;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert.get(), EVP_sha256(), digest, &len);
  out.sha256_fingerprint =
      LowerHex(std::string_view(reinterpret_cast<const char*>(digest), len));
  out.not_before = now;
  out.not_after = Timestamp{now.micros + int64_t{365} * 86400 * 1000000};
  return out;
}

}  // namespace chronova
