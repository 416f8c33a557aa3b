#include "core/ini_file.h"

#include <fstream>
#include <sstream>

namespace chronova {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

Result<IniFile> IniFile::Parse(const std::string& text) {
  IniFile ini;
  std::istringstream in(text);
  std::string line, section = "DEFAULT";
  for (int n = 1; std::getline(in, line); ++n) {
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t[0] == '[') {
      if (t.back() != ']' || t.size() < 3) {
        return Status::InvalidArgument("line " + std::to_string(n) +
                                       ": bad section header");
      }
      section = Trim(t.substr(1, t.size() - 2));
      continue;
    }
    size_t eq = t.find('=');
    if (eq == std::string::npos || Trim(t.substr(0, eq)).empty()) {
      return Status::InvalidArgument("line " + std::to_string(n) +
                                     ": expected key = value");
    }
    ini.values_[section][Trim(t.substr(0, eq))] = Trim(t.substr(eq + 1));
  }
  return ini;
}

Result<IniFile> IniFile::Load(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Status::NotFound("config file " + path + " cannot be read");
  std::stringstream ss;
  ss << f.rdbuf();
  Result<IniFile> r = Parse(ss.str());
  if (!r.ok()) return r.status().WithContext(path);
  return r;
}

std::optional<std::string> IniFile::Get(const std::string& section,
                                        const std::string& key) const {
  auto s = values_.find(section);
  if (s != values_.end()) {
    auto k = s->second.find(key);
    if (k != s->second.end()) return k->second;
  }
  if (section != "DEFAULT") return Get("DEFAULT", key);
  return std::nullopt;
}

std::string IniFile::GetOr(const std::string& section, const std::string& key,
                           const std::string& fallback) const {
  return Get(section, key).value_or(fallback);
}

}  // namespace chronova
