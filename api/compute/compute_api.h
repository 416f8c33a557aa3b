// ComputeApiServer: the OpenStack Compute API v2.1 over HTTP, Nova's URLs, JSON
// shapes, status codes and microversion headers, in front of ComputeService.
// The request handling itself is in ComputeApiHandler
// (api/compute/compute_api_handler.h), served by HttpServer (api/http/http_server.h).
//
// Thread-safety: Start and Stop from one thread; requests are served
// concurrently on the HttpServer's handler threads.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "api/auth/auth.h"
#include "api/http/http_server.h"
#include "api/service/admin_service.h"
#include "api/service/compute_service.h"
#include "core/env.h"
#include "core/status.h"

namespace chronova {

class ImageService;

struct ComputeApiOptions {
  // Where to listen. A path ("http://0.0.0.0:8774/compute") mounts the API
  // below it: "/compute/v2.1/servers".
  std::string listen_url = "http://127.0.0.1:8774";
  // A listening socket handed over by a predecessor (HttpServerOptions); -1: bind.
  int listen_fd = -1;
  // Nova's [wsgi] keep_alive: false answers every request with
  // "Connection: close" (HttpServerOptions::close_connections).
  bool keep_alive = true;
  ComputeService* service = nullptr;       // REQUIRED; borrowed
  Authenticator* authenticator = nullptr;  // REQUIRED; borrowed
  // The admin views (os-hypervisors, os-services, os-availability-zone,
  // os-hosts, os-aggregates); borrowed. Null: those paths are 404.
  AdminService* admin = nullptr;
  // The image service behind Nova's image proxy's writes (DELETE
  // /v2.1/images/{id}); borrowed. Null: that path is 404.
  ImageService* images = nullptr;
  Env* env = Env::Default();  // request ids, generated admin passwords
  // The Image service endpoint for images' "alternate" links; empty: the
  // request's own scheme and host with "/image" (chronova's all-in-one layout).
  std::string image_url;
  // The identity endpoint named in 401 answers' WWW-Authenticate; empty: the
  // request's own scheme and host.
  std::string auth_url;
  // Nova's [api]max_limit: the largest page a list returns.
  int max_limit = 1000;
  // Nova's osapi_max_request_body_size: larger bodies get 413.
  size_t max_body_bytes = 114688;
  // Nova's [api]enable_instance_password: return adminPass on create.
  bool enable_instance_password = true;
};

class ComputeApiServer {
 public:
  ComputeApiServer();
  ~ComputeApiServer();  // stops the server if it runs
  ComputeApiServer(const ComputeApiServer&) = delete;
  ComputeApiServer& operator=(const ComputeApiServer&) = delete;

  // Starts listening; requests are served once this returns OK.
  // InvalidArgument for missing options or a malformed URL, Unavailable if the
  // address cannot be bound. REQUIRES: not running.
  Status Start(const ComputeApiOptions& options);
  // Stops accepting requests and waits for the listener to close. Idempotent.
  void Stop();
  // The HTTP server (Drain, listen_fd). REQUIRES: started.
  HttpServer* http();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chronova
