// The identity directory: users, their projects and role assignments, read from
// the users file (INI, <state_dir>/identity/users.ini by default):
//
//   [user demo]
//   project = demo              # the one project the user has roles on
//   roles = member              # comma-separated role names
//   password_hash = pbkdf2-sha256$100000$<salt>$<hash>
//
// Everything lives in Keystone's "Default" domain (id "default"). Ids are
// Keystone-style 32 hex characters derived from the names (SHA-256), so they are
// the same on every node and after every restart. Roles imply others as in
// Keystone's defaults: admin ⇒ member ⇒ reader.
//
// Thread-safety: immutable after Load; any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/ini_file.h"
#include "core/status.h"
#include "core/types.h"

namespace chronova {

inline constexpr const char* kDefaultDomainId = "default";
inline constexpr const char* kDefaultDomainName = "Default";

struct IdentityUser {
  UserId id;
  std::string name;
  ProjectId project_id;
  std::string project_name;
  std::vector<std::string> roles;  // as assigned (implied roles not included)
  std::string password_hash;
};

struct IdentityProject {
  ProjectId id;
  std::string name;
};

struct IdentityRole {
  std::string id;
  std::string name;
};

class IdentityDirectory {
 public:
  // InvalidArgument naming the user for a section without project or
  // password_hash; NotFound if the file does not exist.
  static Result<IdentityDirectory> Load(const std::string& users_file);
  static Result<IdentityDirectory> FromIni(const IniFile& ini);

  const IdentityUser* FindUser(const UserId& id) const;
  const IdentityUser* FindUserByName(const std::string& name) const;
  const IdentityProject* FindProject(const ProjectId& id) const;
  const IdentityProject* FindProjectByName(const std::string& name) const;
  const IdentityRole* FindRoleByName(const std::string& name) const;

  const std::vector<IdentityUser>& users() const { return users_; }           // by name
  const std::vector<IdentityProject>& projects() const { return projects_; }  // by name
  const std::vector<IdentityRole>& roles() const { return roles_; }           // by name

 private:
  std::vector<IdentityUser> users_;
  std::vector<IdentityProject> projects_;
  std::vector<IdentityRole> roles_;
};

// "admin" -> the 32 hex characters of SHA-256("chronova:" + kind + ":" + name).
// `kind` is "user", "project" or "role".
std::string DeriveIdentityId(const std::string& kind, const std::string& name);

// The assigned roles plus those they imply (admin ⇒ member ⇒ reader), in
// Keystone's order: assigned first, implied after, no duplicates.
std::vector<std::string> EffectiveRoles(const std::vector<std::string>& assigned);

// The accounts the all-in-one seeds, as devstack and Tempest expect them:
// admin and admin2 (project admin, role admin), demo, alt_demo, demo2,
// alt_demo2 (each in its own project, role member).
struct SeedAccount {
  const char* user;
  const char* project;
  const char* role;
};
const std::vector<SeedAccount>& SeedAccounts();

// Makes sure `users_file` exists with the seeded accounts:
// - absent: writes it (mode 0600) with every seed account's hash of
//   `password`, or of a random password when `password` is empty;
// - present and `password` non-empty: re-hashes every seed account in it;
// - present and `password` empty: leaves it alone.
// Returns the password now valid for the seeded accounts, or "" when it is
// unknown (the file was left alone).
Result<std::string> PrepareUsersFile(const std::string& users_file,
                                     const std::string& password);

// Writes `path` (mode 0600): a devstack-like openrc. `source openrc` is demo,
// `source openrc admin` (or any seeded user name) is that user in its project.
Status WriteOpenrc(const std::string& path, const std::string& auth_url,
                   const std::string& password);

}  // namespace chronova
