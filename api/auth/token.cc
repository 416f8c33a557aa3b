#include "api/auth/token.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace chronova {
namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i == 0 ? "" : ",") + items[i];
  return out;
}

std::vector<std::string> Split(std::string_view text, char sep) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  size_t pos = 0;
  while (true) {
    size_t next = text.find(sep, pos);
    out.emplace_back(
        text.substr(pos, next == std::string_view::npos ? text.npos : next - pos));
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  return out;
}

bool ParseInt64(std::string_view text, int64_t* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

std::string Mac(const std::string& key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                 (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                 static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (rest == 2) out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

bool Base64UrlDecode(std::string_view text, std::string* out) {
  if (text.size() % 4 == 1) return false;
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const char* p = std::char_traits<char>::find(kAlphabet, 64, c);
    if (p == nullptr) return false;
    acc = (acc << 6) | static_cast<uint32_t>(p - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

Result<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) !=
      1) {
    return Status::Internal("openssl: RAND_bytes failed");
  }
  return out;
}

Result<std::string> NewAuditId() {
  CHRONOVA_ASSIGN_OR_RETURN(std::string bytes, RandomBytes(16));
  return Base64UrlEncode(bytes);
}

std::string TokenSigner::Sign(const TokenPayload& p) const {
  std::string payload = "1|" + p.user_id.str() + "|" + p.project_id.str() + "|" +
                        Join(p.roles) + "|" + Join(p.methods) + "|" +
                        std::to_string(p.issued_at.micros) + "|" +
                        std::to_string(p.expires_at.micros) + "|" + p.audit_id;
  return Base64UrlEncode(payload) + "." + Base64UrlEncode(Mac(key_, payload));
}

std::string TokenSigner::DeriveKey(std::string_view purpose) const {
  return Mac(key_, std::string(purpose));
}

Result<TokenPayload> TokenSigner::Verify(std::string_view token) const {
  const Status invalid =
      Status::PermissionDenied("The request you have made requires authentication.");
  size_t dot = token.find('.');
  if (token.size() > 4096 || dot == std::string_view::npos) return invalid;
  std::string payload, mac;
  if (!Base64UrlDecode(token.substr(0, dot), &payload) ||
      !Base64UrlDecode(token.substr(dot + 1), &mac)) {
    return invalid;
  }
  std::string expected = Mac(key_, payload);
  if (mac.size() != expected.size() ||
      CRYPTO_memcmp(mac.data(), expected.data(), mac.size()) != 0) {
    return invalid;
  }
  std::vector<std::string> f = Split(payload, '|');
  if (f.size() != 8 || f[0] != "1") return invalid;
  TokenPayload p;
  p.user_id = UserId(f[1]);
  p.project_id = ProjectId(f[2]);
  p.roles = Split(f[3], ',');
  p.methods = Split(f[4], ',');
  if (!ParseInt64(f[5], &p.issued_at.micros) || !ParseInt64(f[6], &p.expires_at.micros)) {
    return invalid;
  }
  p.audit_id = f[7];
  return p;
}

Result<std::string> LoadOrCreateTokenKey(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in) return Status::Internal("cannot read token key " + path);
    std::string key = ss.str();
    if (key.size() < 32) {
      return Status::InvalidArgument("token key " + path + " is shorter than 32 bytes");
    }
    return key;
  }
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  CHRONOVA_ASSIGN_OR_RETURN(std::string key, RandomBytes(32));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return Status::Internal("cannot create token key " + path);
  bool ok = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok) return Status::Internal("cannot write token key " + path);
  return key;
}

}  // namespace chronova
