// HttpServer: the one cpprestsdk user. Listens on a URL and serves every
// request with a plain function from HttpRequest to HttpResponse, so each API
// (Compute, Identity, Image) is a handler compiled without cpprestsdk and
// testable without sockets.
//
// Thread-safety: Start and Stop from one thread; the handler is called
// concurrently on cpprestsdk's thread pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/http_message.h"
#include "core/status.h"

namespace chronova {

enum class HttpBodyMode { kMemory, kFile, kSkip };

struct HttpServerOptions {
  // Where to listen. A path ("http://0.0.0.0:8774/compute") mounts the server
  // below it: the handler then sees "/v2.1/servers" for "/compute/v2.1/servers".
  std::string listen_url;
  // Bodies declared larger are not read (HttpRequest::body stays empty and
  // declared_length says how large it was); the handler answers 413.
  size_t max_body_bytes = 114688;
  // How to read a request's body, decided on its method, path and headers
  // (HttpRequest without a body): kFile streams it into a new file in
  // body_file_dir (HttpRequest::body_file) instead of memory, e.g. image
  // uploads; kSkip does not read it (the handler refuses the request, e.g. an
  // upload without a valid token). Null: every body is read into memory.
  std::function<HttpBodyMode(const HttpRequest&)> body_mode;
  // Where streamed bodies are written; the same file system as their final
  // place, so a handler can rename them there. REQUIRED with stream_body_to_file.
  std::string body_file_dir;
  // A streamed body larger than this stops being read (HttpRequest::body_over_limit).
  uint64_t max_file_body_bytes = uint64_t{10} << 30;
  // REQUIRED. Called for every request; must not throw.
  std::function<HttpResponse(const HttpRequest&)> handler;
  // The answer when reading the request fails or the handler throws; the
  // argument is the exception's text. Default: 500 with a plain JSON body.
  std::function<HttpResponse(const std::string& what)> internal_error;
  // Answer every request with "Connection: close" (see http_server.cc).
  bool close_connections = true;
  // A name for error messages ("compute API").
  std::string name = "HTTP server";
};

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();  // stops the server if it runs
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Starts listening; requests are served once this returns OK.
  // InvalidArgument for a missing handler or a malformed URL, Unavailable if
  // the address cannot be bound. REQUIRES: not running.
  Status Start(HttpServerOptions options);
  // Stops accepting requests and waits for the listener to close. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chronova
