#include "api/service/keypair_crypto.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace chronova {
namespace {

const char kInvalid[] = "Keypair data is invalid: failed to generate fingerprint";

// Reads the SSH wire format's length-prefixed strings (RFC 4251 §5).
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}
  std::optional<std::string_view> Next() {
    if (data_.size() < 4) return std::nullopt;
    uint32_t n = (uint32_t(uint8_t(data_[0])) << 24) |
                 (uint32_t(uint8_t(data_[1])) << 16) |
                 (uint32_t(uint8_t(data_[2])) << 8) | uint32_t(uint8_t(data_[3]));
    if (data_.size() - 4 < n) return std::nullopt;
    std::string_view s = data_.substr(4, n);
    data_.remove_prefix(4 + n);
    return s;
  }
  bool done() const { return data_.empty(); }

 private:
  std::string_view data_;
};

void PutString(std::string& out, std::string_view s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  out.push_back(char(n >> 24));
  out.push_back(char(n >> 16));
  out.push_back(char(n >> 8));
  out.push_back(char(n));
  out.append(s);
}

// An mpint: big-endian magnitude, a leading zero byte when the top bit is set.
std::string Mpint(const BIGNUM* bn) {
  std::string mag(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(mag.data()));
  if (!mag.empty() && (static_cast<unsigned char>(mag[0]) & 0x80)) mag.insert(0, 1, '\0');
  return mag;
}

bool ValidBlob(std::string_view type, std::string_view blob) {
  WireReader r(blob);
  std::optional<std::string_view> t = r.Next();
  if (!t || *t != type) return false;
  size_t fields = 0;
  if (type == "ssh-rsa") {
    fields = 2;  // e, n
  } else if (type == "ssh-dss") {
    fields = 4;  // p, q, g, y
  } else if (type == "ssh-ed25519") {
    std::optional<std::string_view> key = r.Next();
    return key && key->size() == 32 && r.done();
  } else {  // ecdsa-sha2-<curve>: the curve's name, then the point
    std::optional<std::string_view> curve = r.Next();
    if (!curve || "ecdsa-sha2-" + std::string(*curve) != type) return false;
    std::optional<std::string_view> point = r.Next();
    return point && !point->empty() && (*point)[0] == 0x04 && r.done();
  }
  for (size_t i = 0; i < fields; ++i) {
    std::optional<std::string_view> f = r.Next();
    if (!f || f->empty()) return false;
  }
  return r.done();
}

std::string DigestColons(const std::string& data, const EVP_MD* md) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, md, nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    if (i) out.push_back(':');
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

}  // namespace

std::optional<std::string> Base64Decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  std::string out((in.size() / 4) * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string Base64Encode(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> SshFingerprint(const std::string& public_key) {
  // Like cryptography's load_ssh_public_key: "<type> <base64> [comment]".
  std::string_view line = public_key;
  while (!line.empty() &&
         (line.back() == '\n' || line.back() == '\r' || line.back() == ' '))
    line.remove_suffix(1);
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return Status::InvalidArgument(kInvalid);
  std::string_view type = line.substr(0, sp);
  std::string_view rest = line.substr(sp + 1);
  std::string_view b64 = rest.substr(0, rest.find(' '));
  static const std::string_view kTypes[] = {"ssh-rsa",
                                            "ssh-dss",
                                            "ssh-ed25519",
                                            "ecdsa-sha2-nistp256",
                                            "ecdsa-sha2-nistp384",
                                            "ecdsa-sha2-nistp521"};
  bool known = false;
  for (std::string_view t : kTypes) known |= t == type;
  if (!known) return Status::InvalidArgument(kInvalid);
  std::optional<std::string> blob = Base64Decode(b64);
  if (!blob || !ValidBlob(type, *blob)) return Status::InvalidArgument(kInvalid);
  return DigestColons(*blob, EVP_md5());
}

Result<GeneratedKeypair> GenerateRsaKeypair(int bits) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_RSA_gen(static_cast<unsigned int>(bits)), EVP_PKEY_free);
  if (!key) return Status::Internal("openssl: RSA key generation failed");
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  if (EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
      EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
    BN_free(n);
    BN_free(e);
    return Status::Internal("openssl: cannot read the RSA public key");
  }
  std::string blob;
  PutString(blob, "ssh-rsa");
  PutString(blob, Mpint(e));
  PutString(blob, Mpint(n));
  BN_free(n);
  BN_free(e);

  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_PrivateKey_traditional(bio.get(), key.get(), nullptr, nullptr,
                                                   0, nullptr, nullptr) != 1) {
    return Status::Internal("openssl: cannot write the private key");
  }
  char* pem = nullptr;
  long pem_len = BIO_get_mem_data(bio.get(), &pem);
  GeneratedKeypair out;
  out.private_key.assign(pem, static_cast<size_t>(pem_len));
  out.public_key = "ssh-rsa " + Base64Encode(blob) + " Generated-by-Nova";
  out.fingerprint = DigestColons(blob, EVP_md5());
  return out;
}

namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

std::string MemoryOf(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<std::string> DerOf(X509* cert) {
  int len = i2d_X509(cert, nullptr);
  if (len <= 0) return Status::Internal("openssl: cannot encode the certificate");
  std::string der(static_cast<size_t>(len), '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509(cert, &p);
  return der;
}

bool AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

}  // namespace

Result<std::string> X509Fingerprint(const std::string& pem_certificate) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem_certificate.data(), static_cast<int>(pem_certificate.size())),
      BIO_free);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr,
               X509_free);
  if (!cert) {
    return Status::InvalidArgument(
        "Keypair data is invalid: failed to generate X509 fingerprint. Error message: "
        "Unable to load certificate");
  }
  CHRONOVA_ASSIGN_OR_RETURN(std::string der, DerOf(cert.get()));
  return DigestColons(der, EVP_sha1());
}

Result<GeneratedKeypair> GenerateX509Keypair(const std::string& user, int bits) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_RSA_gen(static_cast<unsigned int>(bits)), EVP_PKEY_free);
  X509Ptr cert(X509_new(), X509_free);
  if (!key || !cert) return Status::Internal("openssl: x509 key generation failed");
  X509_set_version(cert.get(), 2);  // v3
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) {
    return Status::Internal("openssl: no random serial");
  }
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  if (bn == nullptr ||
      BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) == nullptr) {
    BN_free(bn);
    return Status::Internal("openssl: no serial number");
  }
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3650L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(user.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  // The user id goes into an X509v3 config value: only characters that
  // cannot start another entry or name.
  for (char c : user) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' &&
        c != '.') {
      return Status::InvalidArgument("Keypair data is invalid: the user id " + user +
                                     " cannot name an x509 certificate");
    }
  }
  const std::string upn = "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:" + user + "@localhost";
  if (!AddExtension(cert.get(), NID_ext_key_usage, "clientAuth") ||
      !AddExtension(cert.get(), NID_subject_alt_name, upn.c_str()) ||
      X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return Status::Internal("openssl: cannot sign the x509 certificate");
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> pem(BIO_new(BIO_s_mem()), BIO_free);
  if (!pem || PEM_write_bio_X509(pem.get(), cert.get()) != 1) {
    return Status::Internal("openssl: cannot write the certificate");
  }
  std::unique_ptr<PKCS12, decltype(&PKCS12_free)> p12(
      PKCS12_create("", nullptr, key.get(), cert.get(), nullptr, 0, 0, 0, 0, 0),
      PKCS12_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> der(BIO_new(BIO_s_mem()), BIO_free);
  if (!p12 || !der || i2d_PKCS12_bio(der.get(), p12.get()) != 1) {
    return Status::Internal("openssl: cannot write the PKCS#12 bundle");
  }
  GeneratedKeypair out;
  out.public_key = MemoryOf(pem.get());
  out.private_key = Base64Encode(MemoryOf(der.get()));
  CHRONOVA_ASSIGN_OR_RETURN(std::string cert_der, DerOf(cert.get()));
  out.fingerprint = DigestColons(cert_der, EVP_sha1());
  return out;
}

}  // namespace chronova
