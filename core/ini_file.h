// A nova.conf-style INI file: [section] headers, `key = value` lines, '#' and ';'
// comments. Keys before any header belong to [DEFAULT]. Later keys win.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace chronova {

class IniFile {
 public:
  // InvalidArgument naming the line for a malformed one.
  static Result<IniFile> Parse(const std::string& text);
  // NotFound if the file does not exist.
  static Result<IniFile> Load(const std::string& path);

  std::optional<std::string> Get(const std::string& section,
                                 const std::string& key) const;
  std::string GetOr(const std::string& section, const std::string& key,
                    const std::string& fallback) const;
  // Every section name, in sorted order ("DEFAULT" only if it has keys).
  std::vector<std::string> Sections() const {
    std::vector<std::string> out;
    for (const auto& [name, keys] : values_) out.push_back(name);
    return out;
  }
  void Set(const std::string& section, const std::string& key, std::string value) {
    values_[section][key] = std::move(value);
  }

 private:
  std::map<std::string, std::map<std::string, std::string>> values_;
};

}  // namespace chronova
