#include "api/http/router.h"

#include <algorithm>

#include "api/http/http_message.h"

namespace chronova {

void RoutePatterns::Add(std::string method, const std::string& pattern) {
  routes_.push_back(Pattern{std::move(method), SplitPath(pattern), pattern});
}

int RoutePatterns::Find(const std::string& method,
                        const std::vector<std::string>& segments,
                        std::vector<std::string>* params,
                        std::vector<std::string>* allowed) const {
  params->clear();
  allowed->clear();
  for (size_t r = 0; r < routes_.size(); ++r) {
    const Pattern& p = routes_[r];
    if (p.segments.size() != segments.size()) continue;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      match = p.segments[i] == "*" || p.segments[i] == segments[i];
    }
    if (!match) continue;
    if (p.method == method) {
      for (size_t i = 0; i < segments.size(); ++i) {
        if (p.segments[i] == "*") params->push_back(segments[i]);
      }
      allowed->clear();
      return static_cast<int>(r);
    }
    if (std::find(allowed->begin(), allowed->end(), p.method) == allowed->end()) {
      allowed->push_back(p.method);
    }
  }
  return -1;
}

std::string JoinMethods(const std::vector<std::string>& methods) {
  std::string out;
  for (const std::string& m : methods) out += (out.empty() ? "" : ", ") + m;
  return out;
}

}  // namespace chronova
