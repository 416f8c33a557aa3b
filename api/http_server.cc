// The cpprestsdk shell: converts cpprestsdk's request into an HttpRequest and
// the HttpResponse back. cpprestsdk throws; every throw is caught here and
// turned into a Status or the server's internal-error answer.
#include "api/http_server.h"

#include <cpprest/filestream.h>
#include <cpprest/http_listener.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <vector>

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

namespace {

// Removes a streamed request body left behind, whatever way Serve ends.
struct BodyFileGuard {
  std::string path;
  void Remove() {
    if (!path.empty()) ::unlink(path.c_str());
    path.clear();
  }
  ~BodyFileGuard() { Remove(); }
};

// Streams the request body into a new file in `dir`, never holding more than
// one chunk in memory; stops past `limit` bytes (sets r.body_over_limit).
// Throws std::runtime_error (caught by Serve) when the file cannot be written.
void StreamBodyToFile(http::http_request& request, const std::string& dir, uint64_t limit,
                      HttpRequest& r, BodyFileGuard& guard) {
  if (r.declared_length > limit) {
    r.body_over_limit = true;  // not read at all: the answer is 413 anyway
    return;
  }
  std::string path = dir + "/body-XXXXXX";
  int fd = ::mkstemp(path.data());
  if (fd < 0) {
    throw std::runtime_error("cannot create a file in " + dir + ": " +
                             std::strerror(errno));
  }
  guard.path = path;
  r.body_file = path;
  auto buffer = request.body().streambuf();
  std::vector<uint8_t> chunk(1 << 20);
  uint64_t total = 0;
  try {
    for (;;) {
      size_t n = buffer.getn(chunk.data(), chunk.size()).get();
      if (n == 0) break;
      if (total + n > limit) {
        r.body_over_limit = true;
        break;
      }
      for (size_t done = 0; done < n;) {
        ssize_t w = ::write(fd, chunk.data() + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
          throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
        }
        done += static_cast<size_t>(w);
      }
      total += n;
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  r.body_file_size = total;
}

}  // namespace

void HttpServer::Impl::Serve(http::http_request request) const {
  HttpResponse response;
  BodyFileGuard body_file;
  try {
    HttpRequest r;
    r.method = request.method();
    const web::uri& relative = request.relative_uri();
    r.path = relative.path();
    r.query = relative.query();
    for (const auto& [name, value] : request.headers()) r.headers.Add(name, value);
    r.declared_length = static_cast<size_t>(request.headers().content_length());
    const HttpBodyMode mode =
        options.body_mode ? options.body_mode(r) : HttpBodyMode::kMemory;
    if (mode == HttpBodyMode::kFile) {
      StreamBodyToFile(request, options.body_file_dir, options.max_file_body_bytes, r,
                       body_file);
    } else if (mode == HttpBodyMode::kMemory &&
               r.declared_length <= options.max_body_bytes) {
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

  // Gone before the client hears the answer: nothing of the request is left.
  body_file.Remove();

  http::http_response out(static_cast<http::status_code>(response.status));
  // One request per connection: cpprestsdk's listener now and then drops a
  // kept-alive connection between two requests, and a client that sent its
  // next request on it sees "connection closed without response" (Tempest did,
  // a few times per run). Telling every client to reconnect costs a loopback
  // connect per request and removes the race.
  if (options.close_connections) out.headers().add("Connection", "close");
  std::string content_type;
  for (const auto& [name, value] : response.headers.fields()) {
    if (EqualsIgnoreCase(name, "Content-Type")) {
      content_type = value;
    } else {
      out.headers().add(name, value);
    }
  }
  if (!response.body_file.empty()) {
    // Streamed from disk in cpprestsdk's chunks; an image is never in memory.
    try {
      struct stat st {};
      if (::stat(response.body_file.c_str(), &st) != 0) {
        throw std::runtime_error(std::string("stat: ") + std::strerror(errno));
      }
      auto file =
          concurrency::streams::file_stream<uint8_t>::open_istream(response.body_file)
              .get();
      out.set_body(file, static_cast<utility::size64_t>(st.st_size),
                   content_type.empty() ? "application/octet-stream" : content_type);
    } catch (const std::exception&) {
      // Gone between the handler's answer and here (deleted meanwhile).
      out = http::http_response(http::status_codes::InternalError);
      out.set_body(
          std::string(R"({"error": {"code": 500, "message": "cannot read data"}})"),
          "application/json");
    }
  } else if (!response.body.empty()) {
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
      return Status::InvalidArgument(name +
                                     ": listen URL must be http(s): " + listen_url);
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
