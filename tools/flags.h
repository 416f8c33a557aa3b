// A small command-line parser for chronovad and chronovactl: positional words and
// `--name value` / `--name=value` / `--switch` flags, checked against a list.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace chronova {

class Flags {
 public:
  // `with_value`: flags that take a value; `switches`: flags that do not.
  static Result<Flags> Parse(int argc, char** argv,
                             const std::set<std::string>& with_value,
                             const std::set<std::string>& switches) {
    Flags f;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0) {
        f.positional_.push_back(a);
        continue;
      }
      std::string name = a.substr(2), value;
      bool has_value = false;
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      if (switches.count(name)) {
        if (has_value) return Status::InvalidArgument("--" + name + " takes no value");
        f.values_[name] = "true";
      } else if (with_value.count(name)) {
        if (!has_value) {
          if (i + 1 >= argc)
            return Status::InvalidArgument("--" + name + " needs a value");
          value = argv[++i];
        }
        f.values_[name] = value;
      } else {
        return Status::InvalidArgument("unknown flag --" + name);
      }
    }
    return f;
  }
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

}  // namespace chronova
