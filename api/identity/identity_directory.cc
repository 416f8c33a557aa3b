#include "api/identity/identity_directory.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/auth/password_hash.h"
#include "api/auth/token.h"

namespace chronova {
namespace {

constexpr char kUserSection[] = "user ";

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    size_t b = item.find_first_not_of(" \t");
    size_t e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

// Writes `text` to `path` with mode 0600 (replacing it atomically).
Status WritePrivateFile(const std::string& path, const std::string& text) {
  std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return Status::Internal("cannot create " + tmp);
  ::fchmod(fd, 0600);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::Internal("cannot write " + path);
  }
  return Status::Ok();
}

Result<std::string> RandomPassword() {
  CHRONOVA_ASSIGN_OR_RETURN(std::string bytes, RandomBytes(18));
  return Base64UrlEncode(bytes);
}

}  // namespace

std::string DeriveIdentityId(const std::string& kind, const std::string& name) {
  std::string input = "chronova:" + kind + ":" + name;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 16; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::vector<std::string> EffectiveRoles(const std::vector<std::string>& assigned) {
  std::vector<std::string> out;
  auto add = [&](const std::string& r) {
    if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  };
  for (const std::string& r : assigned) add(r);
  for (const std::string& r : assigned) {
    if (r == "admin") {
      add("member");
      add("reader");
    } else if (r == "member") {
      add("reader");
    }
  }
  return out;
}

Result<IdentityDirectory> IdentityDirectory::Load(const std::string& users_file) {
  CHRONOVA_ASSIGN_OR_RETURN(IniFile ini, IniFile::Load(users_file));
  Result<IdentityDirectory> d = FromIni(ini);
  if (!d.ok()) return d.status().WithContext(users_file);
  return d;
}

Result<IdentityDirectory> IdentityDirectory::FromIni(const IniFile& ini) {
  IdentityDirectory d;
  std::vector<std::string> role_names = {"admin", "member", "reader"};
  for (const std::string& section : ini.Sections()) {
    if (section.rfind(kUserSection, 0) != 0) continue;
    IdentityUser u;
    u.name = section.substr(sizeof(kUserSection) - 1);
    u.id = UserId(ini.GetOr(section, "id", DeriveIdentityId("user", u.name)));
    u.project_name = ini.GetOr(section, "project", "");
    u.password_hash = ini.GetOr(section, "password_hash", "");
    u.roles = SplitList(ini.GetOr(section, "roles", "member"));
    if (u.name.empty() || u.project_name.empty() || u.password_hash.empty()) {
      return Status::InvalidArgument("[" + section + "] needs project and password_hash");
    }
    u.project_id = ProjectId(DeriveIdentityId("project", u.project_name));
    for (const std::string& r : EffectiveRoles(u.roles)) {
      if (std::find(role_names.begin(), role_names.end(), r) == role_names.end()) {
        role_names.push_back(r);
      }
    }
    if (d.FindProjectByName(u.project_name) == nullptr) {
      d.projects_.push_back(IdentityProject{u.project_id, u.project_name});
    }
    d.users_.push_back(std::move(u));
  }
  for (const std::string& r : role_names) {
    d.roles_.push_back(IdentityRole{DeriveIdentityId("role", r), r});
  }
  auto by_name = [](const auto& a, const auto& b) { return a.name < b.name; };
  std::sort(d.users_.begin(), d.users_.end(), by_name);
  std::sort(d.projects_.begin(), d.projects_.end(), by_name);
  std::sort(d.roles_.begin(), d.roles_.end(), by_name);
  return d;
}

const IdentityUser* IdentityDirectory::FindUser(const UserId& id) const {
  for (const IdentityUser& u : users_) {
    if (u.id == id) return &u;
  }
  return nullptr;
}

const IdentityUser* IdentityDirectory::FindUserByName(const std::string& name) const {
  for (const IdentityUser& u : users_) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

const IdentityProject* IdentityDirectory::FindProject(const ProjectId& id) const {
  for (const IdentityProject& p : projects_) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

const IdentityProject* IdentityDirectory::FindProjectByName(
    const std::string& name) const {
  for (const IdentityProject& p : projects_) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const IdentityRole* IdentityDirectory::FindRoleByName(const std::string& name) const {
  for (const IdentityRole& r : roles_) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

const std::vector<SeedAccount>& SeedAccounts() {
  static const std::vector<SeedAccount> kSeed = {
      {"admin", "admin", "admin"},          {"demo", "demo", "member"},
      {"alt_demo", "alt_demo", "member"},   {"demo2", "demo2", "member"},
      {"alt_demo2", "alt_demo2", "member"}, {"admin2", "admin", "admin"}};
  return kSeed;
}

Result<std::string> PrepareUsersFile(const std::string& users_file,
                                     const std::string& password) {
  std::error_code ec;
  const bool exists = std::filesystem::exists(users_file, ec);
  if (exists && password.empty()) return std::string();
  std::string pw = password;
  if (pw.empty()) {
    CHRONOVA_ASSIGN_OR_RETURN(pw, RandomPassword());
  }
  auto is_seed = [](const std::string& name) {
    for (const SeedAccount& a : SeedAccounts()) {
      if (name == a.user) return true;
    }
    return false;
  };

  std::string text;
  if (!exists) {
    text =
        "# chronova identity users (Keystone's Default domain). Passwords are\n"
        "# salted PBKDF2-HMAC-SHA256 hashes; chronovad --password re-hashes the\n"
        "# seeded accounts.\n";
    for (const SeedAccount& a : SeedAccounts()) {
      CHRONOVA_ASSIGN_OR_RETURN(std::string hash, HashPassword(pw));
      text += std::string("\n[user ") + a.user + "]\nproject = " + a.project +
              "\nroles = " + a.role + "\npassword_hash = " + hash + "\n";
    }
  } else {
    // Rewrite password_hash lines inside the seeded users' sections; keep the rest.
    std::ifstream in(users_file);
    std::string line;
    bool in_seed = false;
    while (std::getline(in, line)) {
      std::string t = line.substr(0, line.find_last_not_of(" \t\r") + 1);
      size_t b = t.find_first_not_of(" \t");
      t = b == std::string::npos ? "" : t.substr(b);
      if (!t.empty() && t[0] == '[' && t.back() == ']') {
        std::string section = t.substr(1, t.size() - 2);
        in_seed = section.rfind(kUserSection, 0) == 0 &&
                  is_seed(section.substr(sizeof(kUserSection) - 1));
      } else if (in_seed && t.rfind("password_hash", 0) == 0) {
        CHRONOVA_ASSIGN_OR_RETURN(std::string hash, HashPassword(pw));
        line = "password_hash = " + hash;
      }
      text += line + "\n";
    }
  }
  CHRONOVA_RETURN_IF_ERROR(WritePrivateFile(users_file, text));
  return pw;
}

Status WriteOpenrc(const std::string& path, const std::string& auth_url,
                   const std::string& password) {
  std::string quoted = "'";
  for (char c : password) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  std::string text =
      "# chronova credentials, like devstack's openrc.\n"
      "#   source openrc          -> user demo in project demo\n"
      "#   source openrc admin    -> user admin in project admin (any seeded user "
      "works)\n"
      "_chronova_user=${1:-demo}\n"
      "case \"$_chronova_user\" in\n"
      "  admin|admin2) _chronova_project=admin ;;\n"
      "  *) _chronova_project=$_chronova_user ;;\n"
      "esac\n"
      "export OS_AUTH_URL=" +
      auth_url +
      "\n"
      "export OS_IDENTITY_API_VERSION=3\n"
      "export OS_USERNAME=$_chronova_user\n"
      "export OS_PASSWORD=" +
      quoted +
      "\n"
      "export OS_PROJECT_NAME=$_chronova_project\n"
      "export OS_USER_DOMAIN_NAME=Default\n"
      "export OS_PROJECT_DOMAIN_NAME=Default\n"
      "export OS_REGION_NAME=RegionOne\n"
      "export OS_INTERFACE=public\n"
      "unset _chronova_user _chronova_project\n";
  return WritePrivateFile(path, text);
}

}  // namespace chronova
