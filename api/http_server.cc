// The cpprestsdk shell: converts cpprestsdk's request into an HttpRequest and
// the HttpResponse back. cpprestsdk throws; every throw is caught here and
// turned into a Status or the server's internal-error answer.
#include "api/http_server.h"

#include <cpprest/http_listener.h>

#include <exception>

namespace chronova {

namespace http = web::http;
using web::http::experimental::listener::http_listener;
using web::http::experimental::listener::http_listener_config;

struct HttpServer::Impl {
  HttpServerOptions options;
  std::unique_ptr<http_listener> listener;
  std::string scheme;     // "http"
  std::string authority;  // "127.0.0.1:8774", for requests without a Host header
  std::string mount;      // "" or "/compute"

  void Serve(http::http_request request) const;
};

void HttpServer::Impl::Serve(http::http_request request) const {
  HttpResponse response;
  try {
    HttpRequest r;
    r.method = request.method();
    const web::uri& relative = request.relative_uri();
    r.path = relative.path();
    r.query = relative.query();
    for (const auto& [name, value] : request.headers()) r.headers.Add(name, value);
    r.declared_length = static_cast<size_t>(request.headers().content_length());
    if (r.declared_length <= options.max_body_bytes) {
      std::vector<unsigned char> body = request.extract_vector().get();
      r.body.assign(body.begin(), body.end());
    }
    const std::string* host = r.headers.Find("Host");
    r.base_url = scheme + "://" + (host && !host->empty() ? *host : authority) + mount;
    response = options.handler(r);
  } catch (const std::exception& e) {
    // Reading the body failed (client gone, broken chunking ...) or a bug.
    if (options.internal_error) {
      response = options.internal_error(e.what());
    } else {
      response = HttpResponse();
      response.status = 500;
      response.headers.Set("Content-Type", "application/json");
      response.body = R"({"error": {"code": 500, "message": "internal error"}})";
    }
  }

  http::http_response out(static_cast<http::status_code>(response.status));
  std::string content_type;
  for (const auto& [name, value] : response.headers.fields()) {
    if (EqualsIgnoreCase(name, "Content-Type")) {
      content_type = value;
    } else {
      out.headers().add(name, value);
    }
  }
  if (!response.body.empty()) {
    out.set_body(std::move(response.body),
                 content_type.empty() ? "application/json" : content_type);
  }
  // A client that went away makes reply's task fail; observe it so it is not rethrown.
  request.reply(out).then([](pplx::task<void> t) {
    try {
      t.get();
    } catch (const std::exception&) {
    }
  });
}

HttpServer::HttpServer() = default;

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start(HttpServerOptions options) {
  if (impl_ != nullptr) return Status::InvalidArgument(options.name + " already started");
  if (!options.handler) return Status::InvalidArgument(options.name + ": no handler");
  auto impl = std::make_unique<Impl>();
  const std::string name = options.name;
  const std::string listen_url = options.listen_url;
  try {
    web::uri uri(listen_url);
    if (uri.scheme() != "http" && uri.scheme() != "https") {
      return Status::InvalidArgument(name + ": listen URL must be http(s): " + listen_url);
    }
    impl->scheme = uri.scheme();
    impl->authority =
        uri.host() + (uri.port() > 0 ? ":" + std::to_string(uri.port()) : "");
    impl->mount = uri.path();
    while (!impl->mount.empty() && impl->mount.back() == '/') impl->mount.pop_back();
    impl->options = std::move(options);
    impl->listener = std::make_unique<http_listener>(uri, http_listener_config());
  } catch (const std::exception& e) {
    return Status::InvalidArgument(name + ": listen URL " + listen_url + ": " + e.what());
  }
  const Impl* serving = impl.get();
  impl->listener->support(
      [serving](http::http_request request) { serving->Serve(request); });
  try {
    impl->listener->open().wait();
  } catch (const std::exception& e) {
    return Status::Unavailable(name + ": listen on " + listen_url + ": " + e.what());
  }
  impl_ = std::move(impl);
  return Status::Ok();
}

void HttpServer::Stop() {
  if (impl_ == nullptr) return;
  try {
    impl_->listener->close().wait();
  } catch (const std::exception&) {
    // Closing a listener whose socket already failed: nothing left to release.
  }
  impl_.reset();
}

}  // namespace chronova
