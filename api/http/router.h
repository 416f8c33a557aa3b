// Router: one route table per API — a method and a path pattern to a handler.
// Every service (Compute, Identity, Image; EC2 and consoles next) routes
// through it, so 404 and 405 (with the Allow header's methods) mean the same
// thing everywhere.
//
// A pattern is a path below the service's root, "/"-separated; "*" matches one
// segment, whose text becomes a parameter:
//
//   Router<Handler> routes;
//   routes.Add("GET", "servers/*/metadata/*", ShowMetadataItem);
//   RouteMatch<Handler> m = routes.Find("GET", {"servers", "42", "metadata", "k"});
//   // *m.handler is ShowMetadataItem, m.params is {"42", "k"}
//
// Thread-safety: Add before the router is shared; Find may be called
// concurrently.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace chronova {

// What Find found. Exactly one of: a handler (with the pattern's "*"
// segments as params), a path that matches only other methods (allowed, in
// the order they were added: 405), or nothing (404).
template <typename Handler>
struct RouteMatch {
  const Handler* handler = nullptr;
  // The pattern that matched ("servers/*/action"): a metrics label that names
  // the route, never the caller's path.
  std::string pattern;
  std::vector<std::string> params;
  std::vector<std::string> allowed;

  bool found() const { return handler != nullptr; }
  bool method_not_allowed() const { return handler == nullptr && !allowed.empty(); }
  // "GET, PUT": the Allow header's value for a 405.
  std::string AllowHeader() const;
};

// The untyped half of Router: patterns and matching.
class RoutePatterns {
 public:
  void Add(std::string method, const std::string& pattern);
  size_t size() const { return routes_.size(); }

  // The index of the first route whose method and path match (or -1), its
  // parameters, and the methods of routes whose path alone matches.
  int Find(const std::string& method, const std::vector<std::string>& segments,
           std::vector<std::string>* params, std::vector<std::string>* allowed) const;
  // The pattern of route `i`, as added.
  const std::string& pattern(size_t i) const { return routes_[i].text; }

 private:
  struct Pattern {
    std::string method;
    std::vector<std::string> segments;
    std::string text;
  };
  std::vector<Pattern> routes_;
};

template <typename Handler>
class Router {
 public:
  // The first route added wins when two match the same request.
  void Add(std::string method, const std::string& pattern, Handler handler) {
    patterns_.Add(std::move(method), pattern);
    handlers_.push_back(std::move(handler));
  }

  RouteMatch<Handler> Find(const std::string& method,
                           const std::vector<std::string>& segments) const {
    RouteMatch<Handler> m;
    int i = patterns_.Find(method, segments, &m.params, &m.allowed);
    if (i >= 0) {
      m.handler = &handlers_[static_cast<size_t>(i)];
      m.pattern = patterns_.pattern(static_cast<size_t>(i));
    }
    return m;
  }

 private:
  RoutePatterns patterns_;
  std::vector<Handler> handlers_;
};

std::string JoinMethods(const std::vector<std::string>& methods);

template <typename Handler>
std::string RouteMatch<Handler>::AllowHeader() const {
  return JoinMethods(allowed);
}

}  // namespace chronova
