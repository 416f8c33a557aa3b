// ComputeApiServer: ComputeApiHandler served by an HttpServer.
#include "api/compute/compute_api.h"

#include "api/compute/compute_api_handler.h"
#include "api/compute/faults.h"
#include "api/http/http_server.h"

namespace chronova {

struct ComputeApiServer::Impl {
  std::unique_ptr<ComputeApiHandler> handler;
  HttpServer server;
};

ComputeApiServer::ComputeApiServer() = default;

ComputeApiServer::~ComputeApiServer() { Stop(); }

Status ComputeApiServer::Start(const ComputeApiOptions& options) {
  if (impl_ != nullptr)
    return Status::InvalidArgument("compute API server already started");
  if (options.service == nullptr || options.authenticator == nullptr ||
      options.env == nullptr) {
    return Status::InvalidArgument(
        "compute API: service, authenticator and env are required");
  }
  auto impl = std::make_unique<Impl>();
  impl->handler = std::make_unique<ComputeApiHandler>(options);
  const ComputeApiHandler* handler = impl->handler.get();
  HttpServerOptions http;
  http.name = "compute API";
  http.metrics_label = "compute";
  http.listen_url = options.listen_url;
  http.listen_fd = options.listen_fd;
  http.close_connections = !options.keep_alive;
  http.max_body_bytes = options.max_body_bytes;
  http.handler = [handler](const HttpRequest& r) { return handler->Handle(r); };
  // Authorize before reading a body: a request whose token does not
  // authenticate is answered 401 without it.
  http.body_mode = [handler](const HttpRequest& r) { return handler->BodyMode(r); };
  http.error_response = [](int status, const std::string& message) {
    return JsonResponse(
        status,
        FaultBody(status, status == 500 ? "Unexpected API Error: " + message : message));
  };
  CHRONOVA_RETURN_IF_ERROR(impl->server.Start(std::move(http)));
  impl_ = std::move(impl);
  return Status::Ok();
}

HttpServer* ComputeApiServer::http() { return &impl_->server; }

void ComputeApiServer::Stop() {
  if (impl_ == nullptr) return;
  impl_->server.Stop();
  impl_.reset();
}

}  // namespace chronova
