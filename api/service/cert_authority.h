// The cloud's x509 certificate authority (nova-cert): a CA key and self-signed
// root certificate created once in a directory (mode 0600 key), and
// certificates it issues for users (os-certificates), each with a fresh RSA
// key that only the caller receives. Several api processes share one
// directory, as they share the token key.
//
// Thread-safety: Issue and RootPem may be called concurrently.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "core/status.h"
#include "core/types.h"

namespace chronova {

struct IssuedCertificate {
  std::string certificate_pem;
  std::string private_key_pem;  // never stored by chronova
  std::string serial;           // hex
  std::string subject;
  std::string sha256_fingerprint;
  Timestamp not_before;
  Timestamp not_after;
};

class CertAuthority {
 public:
  // Nothing is read or made until first needed: <dir>/ca.key and <dir>/ca.crt
  // are loaded then, or created (RSA 2048, ten years, "/O=chronova/CN=chronova
  // root CA") when both are missing.
  explicit CertAuthority(std::string dir);
  ~CertAuthority();

  // The CA's certificate (PEM).
  Result<std::string> RootPem() const;
  // A certificate for `user` in `project` (Nova's subject
  // "/O=<project>/CN=<user>-<timestamp>"), valid a year from `now`.
  Result<IssuedCertificate> Issue(const UserId& user, const ProjectId& project,
                                  Timestamp now) const;

 private:
  struct Impl;
  // Loads (or creates) the CA once. REQUIRES: mu_ not held.
  Result<const Impl*> Loaded() const;
  const std::string dir_;
  mutable std::mutex mu_;  // protects impl_
  mutable std::unique_ptr<Impl> impl_;
};

}  // namespace chronova
