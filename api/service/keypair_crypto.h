// SSH keypairs as Nova handles them (nova/crypto.py): checking an imported
// public key, its fingerprint, and generating a new RSA keypair. OpenSSL does
// the arithmetic; nothing here keeps a private key.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace chronova {

// Nova's fingerprint of an OpenSSH public key line ("ssh-rsa AAAA... comment"):
// the MD5 of the decoded key blob as colon-separated hex pairs. InvalidArgument
// ("Keypair data is invalid: failed to generate fingerprint") unless the line is
// a well-formed ssh-rsa, ssh-dss, ssh-ed25519 or ecdsa-sha2-nistp{256,384,521} key.
Result<std::string> SshFingerprint(const std::string& public_key);

struct GeneratedKeypair {
  std::string private_key;  // PEM ("-----BEGIN RSA PRIVATE KEY-----"), shown once
  std::string public_key;   // "ssh-rsa AAAA... Generated-by-Nova"
  std::string fingerprint;
};

// A fresh 2048-bit RSA keypair from OpenSSL's CSPRNG.
Result<GeneratedKeypair> GenerateRsaKeypair(int bits = 2048);

// Nova's fingerprint of an x509 keypair's certificate (PEM): the SHA-1 of its
// DER as colon-separated hex pairs. InvalidArgument ("Keypair data is invalid:
// failed to generate X509 fingerprint. Error message: ...") otherwise.
Result<std::string> X509Fingerprint(const std::string& pem_certificate);

// An x509 keypair as Nova generates one (crypto.generate_winrm_x509_cert): a
// self-signed certificate for CN=<user> valid 10 years, extended key usage
// clientAuth and the UPN <user>@localhost (WinRM's certificate logon) as the
// public key; the private key and certificate as a password-less PKCS#12,
// base64, as the private key.
Result<GeneratedKeypair> GenerateX509Keypair(const std::string& user, int bits = 2048);

// Standard base64 (RFC 4648 §4, padded), as OpenSSL's EVP blocks do it;
// nullopt for text that is not.
std::optional<std::string> Base64Decode(std::string_view in);
std::string Base64Encode(const std::string& in);

}  // namespace chronova
