// The Boost.Beast shell: reads requests into HttpRequest, runs the handler on a
// pool of handler threads and writes the HttpResponse back. Sockets are only
// touched on the I/O threads, each connection on its own strand, and every
// read and write has a deadline; nothing here ever waits for a client on a
// thread (see http_server.h for why).
#include "api/http/http_server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/http/json.h"
#include "core/metrics.h"

namespace chronova {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

// Runs tasks on a fixed set of threads; refuses work past a bounded queue so
// that a flood of requests costs a 503, not memory.
class HandlerPool {
 public:
  HandlerPool(size_t threads, size_t max_queued) : max_queued_(max_queued) {
    for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
      threads_.emplace_back([this] { Run(); });
    }
  }
  ~HandlerPool() { Stop(); }

  // False when the queue is full or the pool stopped (the task is dropped).
  bool TryPost(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(task));
    cv_.notify_one();
    return true;
  }

  // Drops queued tasks and waits for running ones. Idempotent.
  void Stop() {
    std::deque<std::function<void()>> dropped;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      dropped.swap(queue_);
      cv_.notify_all();
    }
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void Run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  const size_t max_queued_;
  std::vector<std::thread> threads_;
  std::mutex mu_;  // protects the two below
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
};

HttpResponse DefaultErrorResponse(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.headers.Set("Content-Type", "application/json");
  r.body = Json::MakeObject({{"error", Json::MakeObject({
                                           {"code", status},
                                           {"title", ReasonPhrase(status)},
                                           {"message", message},
                                       })}})
               .Dump();
  return r;
}

// Methods a handler is asked about; TRACE (which would echo the request's
// credentials) and CONNECT never reach one.
bool IsServedMethod(http::verb v) {
  switch (v) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::post:
    case http::verb::put:
    case http::verb::patch:
    case http::verb::delete_:
    case http::verb::options:
      return true;
    default:
      return false;
  }
}

class Session;

// The server's state; Sessions point to it.
struct ServerCore {
  HttpServerOptions options;
  std::string scheme;     // "http"
  std::string authority;  // "127.0.0.1:8774", for requests without a Host header
  std::string mount;      // "" or "/compute"

  // Before the io_context: sessions its queue still holds when it is
  // destroyed unregister here.
  // Set by Drain: every answer closes its connection.
  std::atomic<bool> draining{false};
  std::mutex sessions_mu;  // protects sessions and stopping
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  bool stopping = false;
  std::atomic<size_t> file_bodies{0};  // sessions streaming a body to a file

  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  net::steady_timer accept_retry{acceptor.get_executor()};
  std::unique_ptr<HandlerPool> pool;
  std::vector<std::thread> io_threads;
  uint16_t port = 0;

  HttpResponse ErrorResponse(int status, const std::string& message) const {
    return options.error_response ? options.error_response(status, message)
                                  : DefaultErrorResponse(status, message);
  }
  void Accept();
  // One answered request, into the request-latency histogram (with
  // options.metrics_label). The histograms this server has used are kept
  // here, so a request costs a lookup under this server's own lock, not the
  // registry's.
  void ObserveRequest(const std::string& method, const std::string& route, int status,
                      double seconds) {
    if (options.metrics_label.empty()) return;
    std::string key = method;
    key.push_back(' ');
    key += route;
    key.push_back(' ');
    key += std::to_string(status);
    MetricHistogram* h = nullptr;
    {
      std::lock_guard<std::mutex> lock(histograms_mu);
      auto it = histograms.find(key);
      if (it != histograms.end()) h = it->second;
    }
    if (h == nullptr) {
      h = &MetricsRegistry::Default().HistogramFor(
          "chronova_http_request_duration_seconds",
          "Time from a request's header to its answer, by API, method, route pattern "
          "and status.",
          {{"api", options.metrics_label},
           {"method", method.empty() ? "other" : method},
           {"route", route.empty() ? "none" : route},
           {"status", std::to_string(status)}});
      std::lock_guard<std::mutex> lock(histograms_mu);
      histograms.emplace(std::move(key), h);
    }
    h->Observe(seconds);
  }
  std::mutex histograms_mu;  // protects histograms
  std::unordered_map<std::string, MetricHistogram*> histograms;
  // Connections accepted (with options.metrics_label): against the requests'
  // count, how well clients keep their connections alive.
  void CountConnection() {
    if (options.metrics_label.empty()) return;
    if (connections == nullptr) {
      connections = &MetricsRegistry::Default().CounterFor(
          "chronova_http_connections_total",
          "Connections accepted, by API: requests over connections is how many "
          "requests a kept-alive connection carries.",
          {{"api", options.metrics_label}});
    }
    connections->Inc();
  }
  MetricCounter* connections =
      nullptr;  // set by the one accept handler running at a time
  void Forget(Session* s) {
    std::lock_guard<std::mutex> lock(sessions_mu);
    sessions.erase(s);
  }
};

// One connection: reads a request, has it handled, writes the answer, and
// again while the connection is kept alive. Every member is touched only on
// the connection's strand, except `request`/`response` while a handler thread
// owns them (between a TryPost and the post back, when no I/O is pending).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ServerCore* server)
      : stream_(std::move(socket)), server_(server), options_(server->options) {}

  ~Session() {
    RemoveBodyFile();
    server_->Forget(this);
  }

  void Start() { ReadHeader(); }

  // From any thread (Drain): ends the connection unless a request is under
  // way or has begun to arrive (bytes read or waiting in the socket), which is
  // answered with "Connection: close" first.
  // A connection that never carried a request gets a second for its first
  // bytes: its client may have connected just before the listener closed.
  void CloseIfIdle() {
    net::post(stream_.get_executor(),
              [self = shared_from_this()] { self->CloseIdle(true); });
  }

  // From any thread: ends the connection (Stop).
  void Abort() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      self->stream_.close();
    });
  }

 private:
  void CloseIdle(bool grace) {
    beast::error_code ec;
    if (in_request_ || buffer_.size() > 0 || stream_.socket().available(ec) > 0) return;
    if (grace && first_request_) {
      auto timer = std::make_shared<net::steady_timer>(stream_.get_executor(),
                                                       std::chrono::seconds(1));
      timer->async_wait([self = shared_from_this(), timer](beast::error_code e) {
        if (!e) self->CloseIdle(false);
      });
      return;
    }
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }
  void ReadHeader() {
    header_parser_.emplace();
    header_parser_->header_limit(static_cast<std::uint32_t>(
        std::min<size_t>(options_.max_header_bytes, UINT32_MAX)));
    // Decided once the headers are read (not boost::none: Beast 1.74 then
    // compares a Content-Length with an empty optional and refuses every body).
    header_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(first_request_ ? options_.header_timeout
                                         : options_.idle_timeout);
    http::async_read_header(stream_, buffer_, *header_parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(beast::error_code ec) {
    started_ = std::chrono::steady_clock::now();
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      // Over the limit before the request line was whole: the URI is what
      // is too long.
      if (header_parser_->get().target().empty()) {
        return Fail(414, "The request URI is too long.");
      }
      return Fail(431, "The request's header fields are too large.");
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == http::error::partial_message) {
      // Gone, idle or too slow before a request was complete (a timeout has
      // closed the socket already): nothing to answer.
      return Close();
    }
    if (ec) return Fail(400, std::string("Malformed request: ") + ec.message() + ".");
    first_request_ = false;
    in_request_ = true;

    const auto& h = header_parser_->get();
    keep_alive_ = h.keep_alive() && !options_.close_connections;
    version_ = h.version();
    head_ = h.method() == http::verb::head;
    if (!IsServedMethod(h.method())) {
      return Fail(405, "The method is not allowed for the requested URL.");
    }
    beast::string_view target = h.target();
    if (target.size() > options_.max_url_bytes) {
      return Fail(414, "The request URI is too long.");
    }
    // absolute-form ("http://host/path") is allowed by HTTP/1.1.
    if (target.starts_with("http://") || target.starts_with("https://")) {
      size_t slash = target.find('/', target.find("//") + 2);
      target = slash == beast::string_view::npos ? beast::string_view("/")
                                                 : target.substr(slash);
    }
    if (target.empty() || target.front() != '/') {
      return Fail(400, "The request URI is invalid.");
    }
    for (char c : target) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
        return Fail(400, "The request URI is invalid.");
      }
    }

    request_ = HttpRequest();
    request_.method = std::string(h.method_string());
    size_t q = target.find('?');
    std::string path(target.substr(0, q));
    if (q != beast::string_view::npos) request_.query = std::string(target.substr(q + 1));
    const std::string& mount = server_->mount;
    if (!mount.empty()) {
      if (path.compare(0, mount.size(), mount) != 0 ||
          (path.size() > mount.size() && path[mount.size()] != '/')) {
        return Fail(404, "The resource could not be found.");
      }
      path.erase(0, mount.size());
      if (path.empty()) path = "/";
    }
    request_.path = std::move(path);
    for (const auto& field : h) {
      request_.headers.Add(std::string(field.name_string()), std::string(field.value()));
    }
    if (boost::optional<std::uint64_t> length = header_parser_->content_length()) {
      request_.declared_length = static_cast<size_t>(*length);
    }
    const std::string* host = request_.headers.Find("Host");
    request_.base_url = server_->scheme + "://" +
                        (host && !host->empty() ? *host : server_->authority) + mount;
    has_body_ =
        header_parser_->chunked() || header_parser_->content_length().value_or(0) > 0;

    // A request that declares no body (most GETs) is not asked about one.
    const bool declares_body =
        header_parser_->chunked() || header_parser_->content_length().has_value();
    if (!options_.body_mode || !declares_body) {
      return OnBodyMode(HttpBodyMode::kMemory);
    }
    // body_mode may look a token up: it runs where the handler runs.
    auto self = shared_from_this();
    if (!server_->pool->TryPost([self] {
          HttpBodyMode mode = HttpBodyMode::kSkip;
          std::string error;
          try {
            mode = self->options_.body_mode(self->request_);
          } catch (const std::exception& e) {
            error = e.what();
          }
          net::post(self->stream_.get_executor(), [self, mode, error] {
            if (!error.empty()) return self->Fail(500, error);
            self->OnBodyMode(mode);
          });
        })) {
      return Fail(503, "The server is busy; try again later.");
    }
  }

  void OnBodyMode(HttpBodyMode mode) {
    if (!has_body_ && mode != HttpBodyMode::kFile) return Handle();
    const boost::optional<std::uint64_t> length = header_parser_->content_length();
    if (mode == HttpBodyMode::kSkip) {
      keep_alive_ = false;  // the unread body is still on the connection
      return Handle();
    }
    if (mode == HttpBodyMode::kMemory) {
      if (length && *length > options_.max_body_bytes) {
        keep_alive_ = false;  // not read: the handler answers 413
        return Handle();
      }
      string_parser_.emplace(std::move(*header_parser_));
      string_parser_->body_limit(options_.max_body_bytes);
      Continue100();
      stream_.expires_after(options_.body_timeout);
      http::async_read(stream_, buffer_, *string_parser_,
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         self->OnMemoryBody(ec);
                       });
      return;
    }
    // kFile
    if (length && *length > options_.max_file_body_bytes) {
      request_.body_over_limit = true;  // not read at all: the answer is 413 anyway
      keep_alive_ = false;
      return Handle();
    }
    if (!holds_file_slot_) {
      if (server_->file_bodies.fetch_add(1) >= options_.max_file_bodies) {
        server_->file_bodies.fetch_sub(1);
        return Fail(503, "Too many uploads at once; try again later.");
      }
      holds_file_slot_ = true;
    }
    std::string path = options_.body_file_dir + "/body-XXXXXX";
    int fd = ::mkstemp(path.data());
    if (fd < 0) {
      return Fail(500, "cannot create a file in " + options_.body_file_dir + ": " +
                           std::strerror(errno));
    }
    body_file_ = path;
    request_.body_file = path;
    file_parser_.emplace(std::move(*header_parser_));
    file_parser_->body_limit(options_.max_file_body_bytes);
    beast::file_posix file;
    file.native_handle(fd);
    beast::error_code ec;
    file_parser_->get().body().reset(std::move(file), ec);
    if (ec) return Fail(500, "cannot write " + path + ": " + ec.message());
    if (!has_body_) {
      file_parser_->get().body().close();
      return Handle();
    }
    Continue100();
    ReadFileBody();
  }

  // A client that sent "Expect: 100-continue" waits for this before its body.
  void Continue100() {
    const std::string* expect = request_.headers.Find("Expect");
    if (expect == nullptr || !EqualsIgnoreCase(*expect, "100-continue") ||
        version_ < 11) {
      return;
    }
    // Small enough to go into the socket's buffer at once; any error shows
    // up on the read that follows.
    static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    beast::error_code ec;
    stream_.socket().non_blocking(true, ec);
    stream_.socket().write_some(net::buffer(kContinue, sizeof(kContinue) - 1), ec);
  }

  void OnMemoryBody(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return Fail(413, "Request is too large.");
    }
    // Gone, too slow (the socket is closed already) or broken chunking.
    if (ec) return Close();
    request_.body = std::move(string_parser_->get().body());
    Handle();
  }

  // Streams in pieces, each with its own deadline: an upload may take long,
  // but must never stall.
  void ReadFileBody() {
    stream_.expires_after(options_.body_timeout);
    http::async_read_some(stream_, buffer_, *file_parser_,
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            self->OnFileBodyPart(ec);
                          });
  }

  void OnFileBodyPart(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      request_.body_over_limit = true;  // body_file holds a part: the handler answers 413
      keep_alive_ = false;
    } else if (ec) {
      return Close();
    } else if (!file_parser_->is_done()) {
      return ReadFileBody();
    }
    file_parser_->get().body().close();
    struct stat st {};
    if (::stat(body_file_.c_str(), &st) == 0) {
      request_.body_file_size = static_cast<uint64_t>(st.st_size);
    }
    Handle();
  }

  void Handle() {
    stream_.expires_never();
    auto self = shared_from_this();
    if (!server_->pool->TryPost([self] {
          HttpResponse response;
          try {
            response = self->options_.handler(self->request_);
          } catch (const std::exception& e) {
            response = self->server_->ErrorResponse(500, e.what());
          }
          // Gone before the client hears the answer: nothing of the request is left.
          self->RemoveBodyFile();
          net::post(
              self->stream_.get_executor(),
              [self, r = std::move(response)]() mutable { self->Write(std::move(r)); });
        })) {
      return Fail(503, "The server is busy; try again later.");
    }
  }

  // Answers on the server's own behalf and closes the connection.
  void Fail(int status, const std::string& message) {
    keep_alive_ = false;
    Write(server_->ErrorResponse(status, message));
  }

  template <class Body>
  void Fill(http::response<Body>& out, const HttpResponse& in) {
    out.version(version_ == 10 ? 10 : 11);
    out.result(static_cast<unsigned>(in.status));  // with its standard reason
    for (const auto& [name, value] : in.headers.fields()) {
      if (EqualsIgnoreCase(name, "Content-Length") ||
          EqualsIgnoreCase(name, "Transfer-Encoding") ||
          EqualsIgnoreCase(name, "Connection")) {
        continue;
      }
      out.insert(name, value);
    }
    out.keep_alive(keep_alive_);
  }

  void Write(HttpResponse response) {
    if (server_->draining) keep_alive_ = false;
    server_->ObserveRequest(
        request_.method, response.route, response.status,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_)
            .count());
    request_ = HttpRequest();  // the handler is done with it
    if (!response.body_file.empty()) {
      // Streamed from disk; an image is never in memory.
      beast::error_code ec;
      beast::file_posix file;
      file.open(response.body_file.c_str(), beast::file_mode::scan, ec);
      if (!ec) {
        auto out = std::make_shared<http::response<http::file_body>>();
        Fill(*out, response);
        if (out->find(http::field::content_type) == out->end()) {
          out->set(http::field::content_type, "application/octet-stream");
        }
        out->body().reset(std::move(file), ec);
        if (!ec) {
          out->prepare_payload();
          auto serializer =
              std::make_shared<http::response_serializer<http::file_body>>(*out);
          return WriteParts(out, serializer);
        }
      }
      // Gone between the handler's answer and here (deleted meanwhile).
      response = server_->ErrorResponse(500, "cannot read data");
      keep_alive_ = false;
    }
    auto out = std::make_shared<http::response<http::string_body>>();
    Fill(*out, response);
    if (!response.body.empty() && out->find(http::field::content_type) == out->end()) {
      out->set(http::field::content_type, "application/json");
    }
    out->body() = std::move(response.body);
    out->prepare_payload();
    if (head_) {  // the length of what GET would send, without it
      const size_t length = out->body().size();
      out->body().clear();
      out->content_length(length);
    }
    auto serializer =
        std::make_shared<http::response_serializer<http::string_body>>(*out);
    WriteParts(out, serializer);
  }

  // Writes in pieces, each with its own deadline (a client that stops
  // reading is dropped), then reads the next request or closes.
  template <class Message, class Serializer>
  void WriteParts(std::shared_ptr<Message> message,
                  std::shared_ptr<Serializer> serializer) {
    stream_.expires_after(options_.write_timeout);
    http::async_write_some(
        stream_, *serializer,
        [self = shared_from_this(), message, serializer](beast::error_code ec, size_t) {
          if (ec) return self->Close();
          if (!serializer->is_done()) return self->WriteParts(message, serializer);
          self->OnWritten();
        });
  }

  void OnWritten() {
    RemoveBodyFile();
    string_parser_.reset();
    file_parser_.reset();
    // Draining: an answer whose writing began before Drain closes its
    // connection too.
    if (!keep_alive_ || server_->draining) return Shutdown();
    in_request_ = false;
    ReadHeader();
  }

  // Ends the connection after an answer. Closing a socket with unread data
  // resets the connection, and a client still sending its body (one the
  // server refused to read) might lose the answer: so the rest is read and
  // dropped first, for a short, bounded while.
  void Shutdown() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    drain_.resize(16384);
    stream_.expires_after(std::chrono::seconds(2));
    Drain(0);
  }

  void Drain(size_t drained) {
    stream_.async_read_some(net::buffer(drain_), [self = shared_from_this(), drained](
                                                     beast::error_code ec, size_t n) {
      if (ec || drained + n > (size_t{1} << 20)) return self->Close();
      self->Drain(drained + n);
    });
  }

  // The connection object goes with the last handler that holds it.
  void Close() {
    beast::error_code ec;
    stream_.socket().close(ec);
  }

  void RemoveBodyFile() {
    if (holds_file_slot_) {
      server_->file_bodies.fetch_sub(1);
      holds_file_slot_ = false;
    }
    if (body_file_.empty()) return;
    if (file_parser_) file_parser_->get().body().close();
    ::unlink(body_file_.c_str());
    body_file_.clear();
  }

  beast::tcp_stream stream_;
  ServerCore* const server_;
  const HttpServerOptions& options_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::string_body>> string_parser_;
  std::optional<http::request_parser<http::file_body>> file_parser_;
  HttpRequest request_;
  std::string body_file_;  // a streamed body still on disk
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool has_body_ = false;
  bool head_ = false;
  bool first_request_ = true;
  bool in_request_ = false;  // a whole header was read, the answer not written yet
  std::chrono::steady_clock::time_point started_;  // the current request's header read
  bool holds_file_slot_ = false;                   // counted in Impl::file_bodies
  std::vector<char> drain_;
};

void ServerCore::Accept() {
  acceptor.async_accept(
      net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted) return;
        // A connection accepted as Drain closed the acceptor is off the
        // socket's queue already: it is served (one answer, then closed), never
        // dropped.
        if (ec && !acceptor.is_open()) return;
        if (ec) {
          // Out of file descriptors, say: try again shortly rather than spin.
          accept_retry.expires_after(std::chrono::milliseconds(100));
          accept_retry.async_wait([this](beast::error_code wait_ec) {
            if (!wait_ec && acceptor.is_open()) Accept();
          });
          return;
        }
        CountConnection();
        // An answer is written in parts (header, body pieces): with Nagle's
        // algorithm the last part of one waits for the client's delayed ACK
        // of the previous (40 ms on Linux) on a kept-alive connection.
        beast::error_code ignored_ec;
        socket.set_option(tcp::no_delay(true), ignored_ec);
        {
          std::shared_ptr<Session> session;
          {
            std::lock_guard<std::mutex> lock(sessions_mu);
            if (!stopping && sessions.size() < options.max_connections) {
              session = std::make_shared<Session>(std::move(socket), this);
              sessions.emplace(session.get(), session);
            }
          }
          if (session) {
            session->Start();
          } else {
            // Full: a short answer the socket's buffer takes at once, then close.
            static const char kBusy[] =
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n";
            beast::error_code ignored;
            socket.non_blocking(true, ignored);
            socket.write_some(net::buffer(kBusy, sizeof(kBusy) - 1), ignored);
            socket.close(ignored);
          }
        }
        if (acceptor.is_open()) Accept();
      });
}

}  // namespace

struct HttpServer::Impl : ServerCore {};

HttpServer::HttpServer() = default;

HttpServer::~HttpServer() { Stop(); }

namespace {

struct ListenAddress {
  std::string scheme, host, port, path;
};

// "http://HOST[:PORT][/PATH]"; HOST may be "[v6]".
Result<ListenAddress> ParseListenUrl(const std::string& url) {
  ListenAddress a;
  size_t colon = url.find("://");
  if (colon == std::string::npos) return Status::InvalidArgument("no scheme");
  a.scheme = url.substr(0, colon);
  if (a.scheme != "http") return Status::InvalidArgument("listen URL must be http");
  std::string rest = url.substr(colon + 3);
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  a.path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!a.path.empty() && a.path.back() == '/') a.path.pop_back();
  if (!hostport.empty() && hostport.front() == '[') {
    size_t close = hostport.find(']');
    if (close == std::string::npos) return Status::InvalidArgument("bad IPv6 host");
    a.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size()) {
      if (hostport[close + 1] != ':') return Status::InvalidArgument("bad port");
      a.port = hostport.substr(close + 2);
    }
  } else {
    size_t c = hostport.rfind(':');
    a.host = hostport.substr(0, c);
    if (c != std::string::npos) a.port = hostport.substr(c + 1);
  }
  if (a.host.empty()) return Status::InvalidArgument("no host");
  if (a.port.empty()) a.port = "80";
  for (char c : a.port) {
    if (c < '0' || c > '9') return Status::InvalidArgument("bad port");
  }
  if (a.port.size() > 5 || std::stoi(a.port) > 65535) {
    return Status::InvalidArgument("bad port");
  }
  return a;
}

}  // namespace

Status HttpServer::Start(HttpServerOptions options) {
  if (impl_ != nullptr) return Status::InvalidArgument(options.name + " already started");
  if (!options.handler) return Status::InvalidArgument(options.name + ": no handler");
  const std::string name = options.name;
  const std::string listen_url = options.listen_url;
  Result<ListenAddress> address = ParseListenUrl(listen_url);
  if (!address.ok()) {
    return Status::InvalidArgument(name + ": listen URL " + listen_url + ": " +
                                   address.status().message());
  }
  auto impl = std::make_unique<Impl>();
  impl->scheme = address->scheme;
  impl->mount = address->path;
  impl->options = std::move(options);
  try {
    tcp::resolver resolver(impl->ioc);
    auto endpoints =
        resolver.resolve(address->host, address->port,
                         tcp::resolver::passive | tcp::resolver::numeric_service);
    tcp::endpoint endpoint = endpoints.begin()->endpoint();
    if (impl->options.listen_fd >= 0) {
      impl->acceptor.assign(endpoint.protocol(), impl->options.listen_fd);
      const tcp::endpoint bound = impl->acceptor.local_endpoint();
      if (endpoint.port() != 0 &&
          (bound.port() != endpoint.port() || bound.address() != endpoint.address())) {
        // Handed over, but the configuration now names another address: that
        // one is served, and the old socket closed (its connections refused).
        impl->acceptor.close();
      }
    }
    if (!impl->acceptor.is_open()) {
      impl->acceptor.open(endpoint.protocol());
      impl->acceptor.set_option(net::socket_base::reuse_address(true));
      impl->acceptor.bind(endpoint);
      impl->acceptor.listen(net::socket_base::max_listen_connections);
    }
    impl->port = impl->acceptor.local_endpoint().port();
  } catch (const std::exception& e) {
    return Status::Unavailable(name + ": listen on " + listen_url + ": " + e.what());
  }
  std::string host = address->host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  impl->authority = host + ":" + std::to_string(impl->port);
  impl->pool = std::make_unique<HandlerPool>(impl->options.handler_threads,
                                             impl->options.max_queued_requests);
  impl->work.emplace(net::make_work_guard(impl->ioc));
  impl->Accept();
  for (size_t i = 0; i < std::max<size_t>(impl->options.io_threads, 1); ++i) {
    Impl* raw = impl.get();
    impl->io_threads.emplace_back([raw] { raw->ioc.run(); });
  }
  impl_ = std::move(impl);
  return Status::Ok();
}

uint16_t HttpServer::port() const { return impl_ ? impl_->port : 0; }

int HttpServer::listen_fd() const {
  return impl_ ? const_cast<Impl*>(impl_.get())->acceptor.native_handle() : -1;
}

void HttpServer::Drain(std::chrono::milliseconds timeout) {
  if (impl_ == nullptr) return;
  Impl* impl = impl_.get();
  impl->draining = true;
  std::promise<void> closed;
  net::post(impl->acceptor.get_executor(), [impl, &closed] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    impl->accept_retry.cancel();
    closed.set_value();
  });
  closed.get_future().wait();
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard<std::mutex> lock(impl->sessions_mu);
    for (auto& [raw, weak] : impl->sessions) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  for (auto& s : open) s->CloseIfIdle();
  open.clear();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(impl->sessions_mu);
      if (impl->sessions.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Stop();
}

void HttpServer::Stop() {
  if (impl_ == nullptr) return;
  Impl* impl = impl_.get();
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard<std::mutex> lock(impl->sessions_mu);
    impl->stopping = true;
    for (auto& [raw, weak] : impl->sessions) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  net::post(impl->acceptor.get_executor(), [impl] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    impl->accept_retry.cancel();
  });
  for (auto& s : open) s->Abort();
  open.clear();
  // Handlers that run finish; queued ones are dropped (their connections close).
  impl->pool->Stop();
  impl->work.reset();
  impl->ioc.stop();
  for (std::thread& t : impl->io_threads) t.join();
  impl_.reset();
}

}  // namespace chronova
