// HttpServer: HTTP/1.1 over Boost.Beast, the one place that speaks the wire
// protocol. Serves every request with a plain function from HttpRequest to
// HttpResponse, so each API (Compute, Identity, Image) is a handler compiled
// without an HTTP library and testable without sockets.
//
// Every request is hostile until checked (docs/operations.md, "HTTP limits"):
// sockets are read and written only by a few I/O threads that never block;
// the request line, the headers and the body each have a size limit and a
// deadline; body_mode and the handler run on a bounded pool of handler
// threads, so a slow or silent client holds a connection slot, never a thread.
// A request whose body the server will not read (too large, refused before
// reading) is answered and its connection closed.
//
// Thread-safety: Start and Stop from one thread; body_mode and the handler are
// called concurrently on the handler threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/http/http_message.h"
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
  // (HttpRequest without a body), for every request that declares one
  // (Content-Length, even 0, or chunked; the others are kMemory with none): kFile streams
  // it into a new file in body_file_dir (HttpRequest::body_file) instead of memory, e.g.
  // image uploads; kSkip does not read it (the handler refuses the request, e.g. an
  // upload without a valid token). Null: every body is read into memory.
  std::function<HttpBodyMode(const HttpRequest&)> body_mode;
  // Where streamed bodies are written; the same file system as their final
  // place, so a handler can rename them there. REQUIRED with stream_body_to_file.
  std::string body_file_dir;
  // A streamed body larger than this stops being read (HttpRequest::body_over_limit).
  uint64_t max_file_body_bytes = uint64_t{10} << 30;
  // REQUIRED. Called for every request; should not throw (a throw is
  // answered 500 through error_response).
  std::function<HttpResponse(const HttpRequest&)> handler;
  // Answer every request with "Connection: close" (one request per
  // connection) instead of keeping connections alive.
  bool close_connections = false;
  // A name for error messages ("compute API").
  std::string name = "HTTP server";
  // A listening socket to serve instead of binding listen_url's address (one a
  // predecessor handed over: docs/operations.md, "Restarting without
  // downtime"); listen_url still gives the scheme and mount path. Bound to
  // another address than listen_url names (port 0 matches any), it is closed
  // and listen_url's address bound instead. -1: bind.
  int listen_fd = -1;
  // The `api` label of this server's request-latency metrics ("compute");
  // empty: the server keeps no request metrics.
  std::string metrics_label;

  // Limits (every one bounds what a client can make the server hold or do).
  // The request target (path and query) longer than this: 414.
  size_t max_url_bytes = 8192;
  // The request line and header fields together larger than this: 431.
  size_t max_header_bytes = 65536;
  // Connections served at once; one more is answered 503 and closed.
  size_t max_connections = 1024;
  // Bodies streamed to files (kFile) at once; one more is answered 503
  // before it is read, so uploads in flight hold at most this many times
  // max_file_body_bytes of disk.
  size_t max_file_bodies = 4;
  // Threads that run body_mode and the handler, and how many requests may
  // wait for one; a request past that is answered 503.
  size_t handler_threads = 16;
  size_t max_queued_requests = 256;
  // The whole header must arrive within this (slow-header clients).
  std::chrono::milliseconds header_timeout{30000};
  // A body read into memory must arrive whole within this; a streamed body
  // (kFile) must make progress at least this often.
  std::chrono::milliseconds body_timeout{60000};
  // Writing each part of the answer must make progress at least this often.
  std::chrono::milliseconds write_timeout{60000};
  // A kept-alive connection with no new request for this long is closed.
  std::chrono::milliseconds idle_timeout{60000};
  // Threads that do all socket I/O.
  size_t io_threads = 2;
  // The answer the server gives on its own, in the API's error shape: 400
  // (malformed request), 405 (TRACE, CONNECT), 413, 414, 431,
  // 500 (the handler threw: the message is the exception's text), 503 (busy).
  // Null: Keystone's {"error": {"code", "title", "message"}}.
  std::function<HttpResponse(int status, const std::string& message)> error_response;
};

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();  // stops the server if it runs
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Starts listening; requests are served once this returns OK.
  // listen_url "http://HOST:0" binds a free port (port() tells which).
  // InvalidArgument for a missing handler or a malformed URL, Unavailable if
  // the address cannot be bound. REQUIRES: not running.
  Status Start(HttpServerOptions options);
  // Stops accepting requests and waits for the listener to close. Idempotent.
  // Closes every connection, even one in the middle of a request, and waits
  // for the handlers that run to return.
  void Stop();
  // Stops accepting (a listening socket handed to another process stays open
  // there, its queued connections waiting for it), answers the requests already
  // begun with "Connection: close", closes idle connections, and returns once
  // none is left or `timeout` passed; then Stop(). Idempotent.
  void Drain(std::chrono::milliseconds timeout);
  // The port listened on. REQUIRES: running.
  uint16_t port() const;
  // The listening socket (to hand over to a successor). REQUIRES: running.
  int listen_fd() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chronova
