// A minimal blocking HTTP/1.1 client over one keep-alive loopback connection, for
// benchmarks and tools (so they need not compile Boost.Beast). Not thread-safe:
// use one client per thread.
#pragma once

#include <map>
#include <string>

#include "core/status.h"

namespace chronova {

// Named apart from api/http/http_message.h's HttpResponse: two structs of one name in
// one namespace are an ODR violation (it crashed the history API test).
struct HttpClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class HttpClient {
 public:
  // `host_port` like "127.0.0.1:8774".
  explicit HttpClient(std::string host_port) : host_port_(std::move(host_port)) {}
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request (reconnecting once if the kept-alive connection was closed).
  Result<HttpClientResponse> Send(const std::string& method, const std::string& path,
                                  const std::map<std::string, std::string>& headers,
                                  const std::string& body = "");

 private:
  Status Connect();
  Result<HttpClientResponse> Exchange(const std::string& request);
  void Close();

  const std::string host_port_;
  int fd_ = -1;
  std::string buffer_;  // bytes read past the previous response
};

}  // namespace chronova
