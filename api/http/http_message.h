// An HTTP exchange as chronova's API handlers see it, free of any HTTP library:
// the server adapter (api/http/http_server.cc, the only Boost.Beast user)
// converts the library's request into an HttpRequest and the HttpResponse back.
// Handlers can therefore be compiled, and reasoned about, without it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chronova {

// Header fields in arrival order; names compare case-insensitively.
class HttpHeaders {
 public:
  // The first value of `name`, or nullptr.
  const std::string* Find(std::string_view name) const;
  // Every value of `name`, in order.
  std::vector<std::string> FindAll(std::string_view name) const;
  void Add(std::string name, std::string value);
  // Replaces every field named `name` with one.
  void Set(std::string name, std::string value);
  const std::vector<std::pair<std::string, std::string>>& fields() const {
    return fields_;
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct HttpRequest {
  std::string method;  // "GET", "POST" ...
  // The path below the server's mount point, still percent-encoded: "/v2.1/servers".
  std::string path;
  std::string query;  // the raw query string, without '?'
  HttpHeaders headers;
  std::string body;
  // The Content-Length the client declared. The adapter does not read a body
  // declared larger than the handler accepts, so `body` may then be empty.
  size_t declared_length = 0;
  // Set when the server streamed the body to a file instead of `body`
  // (HttpServerOptions::stream_body_to_file): the file's path. The handler may
  // rename it away; the server removes whatever is left there afterwards.
  std::string body_file;
  uint64_t body_file_size = 0;  // bytes written to body_file
  // The streamed body was larger than allowed: reading stopped, body_file holds
  // only a part of it. The handler answers 413.
  bool body_over_limit = false;
  // Scheme, authority (the Host header as the client sent it) and mount path:
  // "http://127.0.0.1:8774" or "http://controller/compute". Links are built on it.
  std::string base_url;
};

struct HttpResponse {
  int status = 200;
  HttpHeaders headers;
  std::string body;  // sent as is; Content-Type is in `headers`
  // When set, the body is this file's content instead, streamed from disk (the
  // file may be unlinked once the handler returns; the open file is kept).
  std::string body_file;
  // The route that answered (RouteMatch::pattern), for the server's metrics;
  // empty when none matched. Not sent.
  std::string route;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// The standard reason phrase of an HTTP status ("Not Found"); "Internal Server
// Error" for codes chronova does not answer with.
const char* ReasonPhrase(int status);
// Decoded, non-empty path segments: "/v2.1//servers/" -> {"v2.1", "servers"}.
std::vector<std::string> SplitPath(const std::string& path);
// "http://h:8774/compute" -> "http://h:8774".
std::string SchemeAndAuthority(const std::string& url);
// "%41+b" -> "A+b": a path segment.
std::string PercentDecodePath(std::string_view s);
// "%41+b" -> "A b": a query-string name or value (form encoding).
std::string PercentDecodeQuery(std::string_view s);
// "a=1&b=x%20y&c" -> {{"a","1"},{"b","x y"},{"c",""}}, in order, repeats kept.
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query);
// The inverse, as Python's urllib.parse.urlencode (quote_plus) writes it.
std::string EncodeQuery(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace chronova
