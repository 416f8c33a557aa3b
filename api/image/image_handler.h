// ImageApiHandler: the Image API v2 (Glance) as a function from HttpRequest to
// HttpResponse — routing, authentication (the same Authenticator as the
// Compute API), body and query validation, calls into ImageService and
// Glance's JSON views and errors. ImageApiServer serves it with an HttpServer
// that streams uploads (PUT /v2/images/{id}/file) to disk.
//
// Thread-safety: Handle may be called concurrently; Start/Stop from one thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "api/auth/auth.h"
#include "api/http/http_message.h"
#include "api/http/http_server.h"
#include "api/http/router.h"
#include "api/image/image_service.h"
#include "core/env.h"

namespace chronova {

struct ImageApiOptions {
  // Where to listen; a path mounts the API below it ("http://h:80/image").
  std::string listen_url = "http://127.0.0.1:9292";
  int listen_fd = -1;      // handed over by a predecessor (HttpServerOptions); -1: bind
  bool keep_alive = true;  // Nova's [wsgi] keep_alive (ComputeApiOptions)
  ImageService* service = nullptr;         // REQUIRED; borrowed
  Authenticator* authenticator = nullptr;  // REQUIRED; borrowed
  Env* env = Env::Default();               // request ids
  // The identity endpoint named in 401 answers; empty: the request's host.
  std::string auth_url;
  int limit_default = 25;         // Glance's limit_param_default
  int max_limit = 1000;           // Glance's api_limit_max
  size_t max_body_bytes = 65536;  // JSON bodies (create, patch)
};

class ImageApiHandler {
 public:
  explicit ImageApiHandler(const ImageApiOptions& options);
  // Never fails: errors become Glance's status codes and bodies. Every answer
  // carries x-openstack-request-id.
  HttpResponse Handle(const HttpRequest& request) const;
  // No body is read without a valid token. An upload (PUT
  // /v2/images/{id}/file) is streamed to a file only if UploadData would take
  // it (content type, visibility, policy, a queued image); everything else is
  // read into memory.
  HttpBodyMode BodyMode(const HttpRequest& request) const;

 private:
  struct Call {
    const HttpRequest* http = nullptr;
    RequestContext ctx;
    std::vector<std::string> params;
  };
  HttpResponse Dispatch(const HttpRequest& request, const std::string& request_id) const;
  HttpResponse ListImages(const Call& call) const;
  HttpResponse CreateImage(const Call& call) const;
  HttpResponse ShowImage(const Call& call) const;
  HttpResponse UpdateImage(const Call& call) const;
  HttpResponse DeleteImage(const Call& call) const;
  HttpResponse UploadData(const Call& call) const;
  HttpResponse DownloadData(const Call& call) const;
  HttpResponse ShowSchema(const Call& call) const;

  using Method = HttpResponse (ImageApiHandler::*)(const Call&) const;
  const ImageApiOptions options_;
  Router<Method> routes_;
};

// An ImageApiHandler served over HTTP.
class ImageApiServer {
 public:
  ImageApiServer();
  ~ImageApiServer();
  ImageApiServer(const ImageApiServer&) = delete;
  ImageApiServer& operator=(const ImageApiServer&) = delete;
  // InvalidArgument for missing options or a bad URL, Unavailable if the
  // address cannot be bound. REQUIRES: not running.
  Status Start(const ImageApiOptions& options);
  void Stop();         // idempotent
  HttpServer* http();  // Drain, listen_fd. REQUIRES: started.

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chronova
