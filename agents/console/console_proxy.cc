// The console proxy (agents/console/console_proxy.h) on Boost.Beast, with
// C++20 coroutines: one coroutine per connection reads the request, serves a
// page or upgrades to a websocket; a session then runs two relay coroutines,
// one per direction, and whichever ends first closes both sides.
#include "agents/console/console_proxy.h"

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>
#include <utility>  // before asio: its awaitable.hpp uses std::exchange

#include "core/env.h"
#include "core/metrics.h"

namespace chronova {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kMaxFileBytes = 16 << 20;
constexpr int kMaxRequestsPerConnection = 100;
constexpr size_t kRelayChunk = 64 * 1024;
constexpr char kRfbVersion[] = "RFB 003.008\n";

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The host part of a Host header or of an origin's authority: "[::1]:80" ->
// "::1", "a.b:6080" -> "a.b".
std::string HostPart(const std::string& authority) {
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    return close == std::string::npos ? "" : authority.substr(1, close - 1);
  }
  return authority.substr(0, authority.find(':'));
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() &&
        std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

const char* ContentType(const std::string& path) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "application/javascript"},
      {".css", "text/css"},
      {".png", "image/png"},
      {".svg", "image/svg+xml"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},
      {".oga", "audio/ogg"},
      {".ogg", "audio/ogg"},
      {".mp3", "audio/mpeg"}};
  for (const auto& [ext, type] : kTypes) {
    if (path.size() >= std::strlen(ext) &&
        path.compare(path.size() - std::strlen(ext), std::string::npos, ext) == 0)
      return type;
  }
  return "application/octet-stream";
}

// The file a page request names under `dir`, or "" for anything that is not a
// plain relative path (no "..", no hidden segments, no backslashes).
std::string StaticPath(const std::string& dir, std::string_view target) {
  std::string path(target.substr(0, target.find('?')));
  if (dir.empty() || path.empty() || path.front() != '/' || path.size() > 512) return "";
  if (path == "/") return "";
  size_t at = 1;
  while (at <= path.size()) {
    size_t end = path.find('/', at);
    if (end == std::string::npos) end = path.size();
    std::string_view seg(path.data() + at, end - at);
    if (seg.empty() || seg.front() == '.' || seg.find('\\') != std::string_view::npos ||
        seg.find('%') != std::string_view::npos)
      return "";
    at = end + 1;
  }
  return dir + path;
}

}  // namespace

bool ConsoleOriginAllowed(const std::string& origin, const std::string& host_header,
                          const std::string& forwarded_proto,
                          const std::string& public_scheme,
                          const std::vector<std::string>& allowed) {
  if (origin.empty()) return true;  // not a browser
  const size_t sep = origin.find("://");
  if (sep == std::string::npos || sep == 0) return false;
  std::string scheme =
      Lower(forwarded_proto.empty() ? origin.substr(0, sep) : forwarded_proto);
  std::string authority = origin.substr(sep + 3);
  authority = authority.substr(0, authority.find('/'));
  const std::string host = Lower(HostPart(authority));
  if (host.empty()) return false;
  bool host_ok = host == Lower(HostPart(host_header));
  for (const std::string& a : allowed) host_ok = host_ok || host == Lower(a);
  if (!host_ok) return false;
  auto secure = [](const std::string& s) { return s == "https" || s == "wss"; };
  auto plain = [](const std::string& s) { return s == "http" || s == "ws"; };
  const std::string expected = Lower(public_scheme);
  return (secure(expected) && secure(scheme)) || (plain(expected) && plain(scheme));
}

std::string ConsoleTokenOf(const std::string& target, const std::string& cookie_header) {
  const size_t q = target.find('?');
  if (q != std::string::npos) {
    std::string_view query(target);
    query.remove_prefix(q + 1);
    while (!query.empty()) {
      std::string_view pair = query.substr(0, query.find('&'));
      query.remove_prefix(std::min(query.size(), pair.size() + 1));
      if (pair.starts_with("token=")) {
        std::string token = PercentDecode(pair.substr(6));
        if (!token.empty()) return token;
      }
    }
  }
  std::string_view cookies(cookie_header);
  while (!cookies.empty()) {
    std::string_view c = cookies.substr(0, cookies.find(';'));
    cookies.remove_prefix(std::min(cookies.size(), c.size() + 1));
    while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
    if (c.starts_with("token=")) {
      std::string_view v = c.substr(6);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
        v = v.substr(1, v.size() - 2);
      return std::string(v);
    }
  }
  return "";
}

struct ConsoleProxy::Impl {
  ConsoleProxyOptions options;
  std::atomic<int> sessions{0};
  int port = 0;
  // chronova_console_connections_total{proxy,outcome} and the sessions gauge.
  MetricCounter* relayed = nullptr;
  MetricCounter* refused = nullptr;  // Origin, token, or too many sessions
  MetricCounter* failed = nullptr;   // the console unreachable, or its handshake
  GaugeRegistration sessions_gauge;
  asio::thread_pool workers{2};  // authorize() calls; joined before io goes
  // Owned so that it goes first (~Impl), with the coroutine frames it holds,
  // while everything they use is still here.
  std::unique_ptr<asio::io_context> io_owner = std::make_unique<asio::io_context>(1);
  asio::io_context& io = *io_owner;
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;

  ~Impl() {
    acceptor.reset();
    io_owner.reset();
  }

  awaitable<void> Accept();
  awaitable<void> Serve(tcp::socket socket);
  awaitable<void> Session(websocket::stream<beast::tcp_stream>& ws,
                          const std::string& token);

  void Log(const std::string& what) const {
    Env::Default()->Info({.role = "console-proxy"}, options.name + ": " + what);
  }
};

namespace {

// The outcome of authorize(), default-constructible for the awaitable.
struct Authorized {
  Status status;
  ConsoleTarget target;
};

// Runs `fn` on `pool` and resumes the coroutine on its own executor.
// (Coroutines here take references and keep temporaries with destructors out
// of co_await expressions: GCC 12 destroys some of those twice.)
using AuthorizeFn = std::function<Result<ConsoleTarget>()>;
// Not a coroutine itself: the operation it starts is what the caller awaits.
awaitable<Authorized> OnWorker(asio::io_context& io, asio::thread_pool& pool,
                               const AuthorizeFn& fn) {
  return asio::async_initiate<decltype(use_awaitable), void(Authorized)>(
      [&pool, ex = io.get_executor(), fn](auto handler) mutable {
        asio::post(
            pool, [handler = std::move(handler), ex, fn = std::move(fn)]() mutable {
              Authorized a;
              Result<ConsoleTarget> r = fn();
              a.status = r.status();
              if (r.ok()) a.target = std::move(*r);
              asio::post(ex, [handler = std::move(handler), a = std::move(a)]() mutable {
                handler(std::move(a));
              });
            });
      },
      use_awaitable);
}

// The tenant (browser) side of a session: websocket messages read as a byte
// stream, written one message per RFB message (Tempest's reader needs that).
class Tenant {
 public:
  explicit Tenant(websocket::stream<beast::tcp_stream>& ws) : ws_(ws) {}
  awaitable<std::string> Read(size_t n) {
    while (buffered_.size() < n) {
      beast::flat_buffer b;
      co_await ws_.async_read(b, use_awaitable);
      buffered_ += beast::buffers_to_string(b.data());
    }
    std::string out = buffered_.substr(0, n);
    buffered_.erase(0, n);
    co_return out;
  }
  awaitable<void> Write(std::string_view bytes) {
    co_await ws_.async_write(asio::buffer(bytes.data(), bytes.size()), use_awaitable);
  }
  // Bytes read beyond the handshake, to be relayed first.
  std::string TakeRest() { return std::exchange(buffered_, {}); }

 private:
  websocket::stream<beast::tcp_stream>& ws_;
  std::string buffered_;
};

awaitable<std::string> ReadExactly(tcp::socket& s, size_t n) {
  std::string out(n, '\0');
  co_await asio::async_read(s, asio::buffer(out), use_awaitable);
  co_return out;
}

// RFB 3.8 with the browser (security type None), and with the guest's server
// (None, which QEMU offers without [vnc] auth): nova/console/securityproxy/rfb.py.
// Throws (ends the session) on anything else.
awaitable<void> NegotiateRfb(Tenant& tenant, tcp::socket& compute) {
  const std::string server_version = co_await ReadExactly(compute, 12);
  if (server_version != kRfbVersion) {
    throw std::runtime_error("the VNC server speaks " + server_version.substr(0, 11) +
                             ", not RFB 003.008");
  }
  co_await asio::async_write(compute, asio::buffer(kRfbVersion, 12), use_awaitable);
  co_await tenant.Write(std::string_view(kRfbVersion, 12));
  const std::string client_version = co_await tenant.Read(12);
  if (client_version != kRfbVersion) {
    throw std::runtime_error("the client does not speak RFB 003.008");
  }
  const std::string count_byte = co_await ReadExactly(compute, 1);
  const uint8_t count = static_cast<uint8_t>(count_byte[0]);
  if (count == 0) throw std::runtime_error("the VNC server refused the connection");
  const std::string offered = co_await ReadExactly(compute, count);
  static constexpr char kNoneOnly[] = {1, 1};  // one security type: None
  co_await tenant.Write(std::string_view(kNoneOnly, 2));
  const std::string chosen = co_await tenant.Read(1);
  if (chosen[0] != '\x01') {
    throw std::runtime_error("the client chose a security type other than None");
  }
  if (offered.find('\x01') == std::string::npos) {
    throw std::runtime_error("the VNC server does not offer security type None");
  }
  co_await asio::async_write(compute, asio::buffer("\x01", 1), use_awaitable);
  const std::string result = co_await ReadExactly(compute, 4);
  if (result != std::string(4, '\0')) {
    throw std::runtime_error("the VNC server refused security type None");
  }
  co_await tenant.Write(result);
}

}  // namespace

awaitable<void> ConsoleProxy::Impl::Accept() {
  for (;;) {
    tcp::socket socket = co_await acceptor->async_accept(use_awaitable);
    asio::co_spawn(io, Serve(std::move(socket)), asio::detached);
  }
}

awaitable<void> ConsoleProxy::Impl::Serve(tcp::socket socket) {
  beast::error_code nodelay_ec;
  socket.set_option(tcp::no_delay(true), nodelay_ec);  // a console is interactive
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  try {
    for (int served = 0; served < kMaxRequestsPerConnection; ++served) {
      http::request_parser<http::empty_body> parser;
      parser.header_limit(8192);
      parser.body_limit(0);
      stream.expires_after(std::chrono::milliseconds(options.request_timeout_ms));
      co_await http::async_read(stream, buffer, parser, use_awaitable);
      http::request<http::empty_body> req = parser.release();
      http::response<http::string_body> res;
      res.version(11);
      res.set(http::field::server, "chronova-console-proxy");
      res.keep_alive(req.keep_alive());
      const std::string target(req.target());
      if (websocket::is_upgrade(req)) {
        const std::string origin(req[http::field::origin]);
        if (!ConsoleOriginAllowed(origin, std::string(req[http::field::host]),
                                  std::string(req["X-Forwarded-Proto"]),
                                  options.public_scheme, options.allowed_origins)) {
          Log("refused a websocket from origin " + origin);
          refused->Inc();
          res.result(http::status::forbidden);
          res.body() = "Origin header does not match this host.\n";
          res.keep_alive(false);
        } else if (sessions.load() >= options.max_sessions) {
          refused->Inc();
          res.result(http::status::service_unavailable);
          res.body() = "Too many console sessions.\n";
          res.keep_alive(false);
        } else {
          const std::string token =
              ConsoleTokenOf(target, std::string(req[http::field::cookie]));
          std::string protocol;
          const std::string offered_protocols(req[http::field::sec_websocket_protocol]);
          for (std::string_view offered = offered_protocols; !offered.empty();) {
            std::string_view p = offered.substr(0, offered.find(','));
            offered.remove_prefix(std::min(offered.size(), p.size() + 1));
            while (!p.empty() && p.front() == ' ') p.remove_prefix(1);
            while (!p.empty() && p.back() == ' ') p.remove_suffix(1);
            if (p == "binary") protocol = "binary";
          }
          websocket::stream<beast::tcp_stream> ws(std::move(stream));
          ws.set_option(
              websocket::stream_base::decorator([protocol](websocket::response_type& r) {
                r.set(http::field::server, "chronova-console-proxy");
                if (!protocol.empty())
                  r.set(http::field::sec_websocket_protocol, protocol);
              }));
          ws.auto_fragment(false);
          ws.read_message_max(1 << 20);
          beast::get_lowest_layer(ws).expires_never();
          websocket::stream_base::timeout t =
              websocket::stream_base::timeout::suggested(beast::role_type::server);
          t.handshake_timeout = std::chrono::milliseconds(options.request_timeout_ms);
          t.idle_timeout = std::chrono::seconds(300);
          t.keep_alive_pings = true;
          ws.set_option(t);
          co_await ws.async_accept(req, use_awaitable);
          co_await Session(ws, token);
          co_return;
        }
      } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
      } else {
        const std::string path = StaticPath(options.static_dir, target);
        std::error_code ec;
        const auto size = path.empty() ? 0 : std::filesystem::file_size(path, ec);
        if (path.empty() || ec || !std::filesystem::is_regular_file(path, ec) ||
            size > kMaxFileBytes) {
          res.result(http::status::not_found);
          res.set(http::field::content_type, "text/plain; charset=utf-8");
          res.body() = "Not found\n";
        } else {
          std::ifstream in(path, std::ios::binary);
          std::string body(size, '\0');
          in.read(body.data(), static_cast<std::streamsize>(size));
          res.result(http::status::ok);
          res.set(http::field::content_type, ContentType(path));
          res.set(http::field::cache_control, "no-cache");
          if (req.method() == http::verb::get) res.body() = std::move(body);
        }
      }
      res.prepare_payload();
      stream.expires_after(std::chrono::milliseconds(options.request_timeout_ms));
      co_await http::async_write(stream, res, use_awaitable);
      if (!res.keep_alive()) break;
    }
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  } catch (const std::exception&) {
    // The client went away, timed out or sent garbage: nothing to answer.
  }
}

awaitable<void> ConsoleProxy::Impl::Session(websocket::stream<beast::tcp_stream>& ws,
                                            const std::string& token) {
  struct Count {
    std::atomic<int>& n;
    explicit Count(std::atomic<int>& c) : n(c) { ++n; }
    ~Count() { --n; }
  } count(sessions);
  auto close_tcp = [&ws] {
    beast::error_code ec;
    beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws).socket().close(ec);
  };
  // A bad token: the connection closes with nothing relayed (no close frame,
  // as Nova's proxy).
  Authorized auth;
  if (token.empty()) {
    auth.status = Status::NotFound("no token");
  } else {
    const AuthorizeFn fn = [this, token] { return options.authorize(token); };
    auth = co_await OnWorker(io, workers, fn);
  }
  if (!auth.status.ok()) {
    Log("refused a console: " + auth.status.ToString());
    refused->Inc();
    close_tcp();
    co_return;
  }
  tcp::socket compute(io);
  try {
    tcp::resolver resolver(io);
    const std::string port = std::to_string(auth.target.port);
    auto endpoints =
        co_await resolver.async_resolve(auth.target.host, port, use_awaitable);
    asio::steady_timer connect_timer(
        io, std::chrono::milliseconds(options.request_timeout_ms));
    connect_timer.async_wait([&compute](beast::error_code ec) {
      beast::error_code ignored;
      if (!ec) compute.close(ignored);
    });
    co_await asio::async_connect(compute, endpoints, use_awaitable);
    connect_timer.cancel();
    compute.set_option(tcp::no_delay(true));
  } catch (const std::exception& e) {
    Log(std::string("cannot reach the console at ") + auth.target.host + ":" +
        std::to_string(auth.target.port) + ": " + e.what());
    failed->Inc();
    close_tcp();
    co_return;
  }
  ws.binary(true);
  Tenant tenant(ws);
  std::string rest;
  try {
    if (options.console_kind == "vnc") {
      asio::steady_timer handshake_timer(
          io, std::chrono::milliseconds(options.request_timeout_ms));
      handshake_timer.async_wait([&](beast::error_code ec) {
        if (ec) return;
        beast::error_code ignored;
        compute.close(ignored);  // whichever side the handshake waits on
        close_tcp();
      });
      co_await NegotiateRfb(tenant, compute);
      handshake_timer.cancel();
    }
    rest = tenant.TakeRest();
    if (!rest.empty())
      co_await asio::async_write(compute, asio::buffer(rest), use_awaitable);
  } catch (const std::exception& e) {
    Log(std::string("console handshake failed: ") + e.what());
    failed->Inc();
    beast::error_code ec;
    compute.close(ec);
    close_tcp();
    co_return;
  }

  relayed->Inc();
  // Relay both ways until either side ends (or the token expires).
  bool done = false;
  auto finish = [&] {
    if (done) return;
    done = true;
    beast::error_code ec;
    compute.shutdown(tcp::socket::shutdown_both, ec);
    compute.close(ec);
    close_tcp();
  };
  asio::steady_timer expiry(io);
  if (options.enforce_session_timeout) {
    const int64_t left_us = auth.target.expires_at.micros - Env::Default()->Now().micros;
    expiry.expires_after(std::chrono::microseconds(std::max<int64_t>(left_us, 0)));
    expiry.async_wait([&](beast::error_code ec) {
      if (!ec) finish();
    });
  }
  int running = 2;
  asio::steady_timer both_done(io, asio::steady_timer::time_point::max());
  auto end_one = [&] {
    finish();
    if (--running == 0) both_done.cancel();
  };
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        try {
          for (;;) {
            beast::flat_buffer b;
            co_await ws.async_read(b, use_awaitable);
            co_await asio::async_write(compute, b.data(), use_awaitable);
          }
        } catch (const std::exception&) {
        }
        end_one();
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        try {
          std::vector<char> chunk(kRelayChunk);
          for (;;) {
            size_t n =
                co_await compute.async_read_some(asio::buffer(chunk), use_awaitable);
            co_await ws.async_write(asio::buffer(chunk.data(), n), use_awaitable);
          }
        } catch (const std::exception&) {
        }
        end_one();
      },
      asio::detached);
  // Both relays hold references into this frame: it waits for them.
  beast::error_code ec;
  co_await both_done.async_wait(asio::redirect_error(use_awaitable, ec));
  expiry.cancel();
}

ConsoleProxy::ConsoleProxy() = default;
ConsoleProxy::~ConsoleProxy() { Stop(); }

Status ConsoleProxy::Start(ConsoleProxyOptions options) {
  if (!options.authorize) return Status::InvalidArgument("console proxy: no authorize");
  const std::string& url = options.listen_url;
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos || url.substr(0, scheme) != "http") {
    return Status::InvalidArgument("console proxy " + options.name +
                                   ": listen URL must be http://host:port, not '" + url +
                                   "'");
  }
  std::string authority = url.substr(scheme + 3);
  authority = authority.substr(0, authority.find('/'));
  const size_t colon = authority.rfind(':');
  if (colon == std::string::npos || colon + 1 == authority.size()) {
    return Status::InvalidArgument("console proxy " + options.name + ": no port in '" +
                                   url + "'");
  }
  std::string host = HostPart(authority);
  const std::string port = authority.substr(colon + 1);
  impl_ = std::make_unique<Impl>();
  impl_->options = std::move(options);
  MetricsRegistry& metrics = MetricsRegistry::Default();
  const char* kConnections = "chronova_console_connections_total";
  const char* kHelp = "Console websockets by outcome: relayed, refused, failed.";
  const std::string& proxy_name = impl_->options.name;
  impl_->relayed = &metrics.CounterFor(kConnections, kHelp,
                                       {{"proxy", proxy_name}, {"outcome", "relayed"}});
  impl_->refused = &metrics.CounterFor(kConnections, kHelp,
                                       {{"proxy", proxy_name}, {"outcome", "refused"}});
  impl_->failed = &metrics.CounterFor(kConnections, kHelp,
                                      {{"proxy", proxy_name}, {"outcome", "failed"}});
  Impl* self = impl_.get();
  impl_->sessions_gauge = metrics.AddGauge(
      "chronova_console_sessions", "Console sessions open now.", {{"proxy", proxy_name}},
      [self] { return static_cast<double>(self->sessions.load()); });
  try {
    tcp::resolver resolver(impl_->io);
    auto endpoints = resolver.resolve(host, port);
    if (endpoints.empty()) throw std::runtime_error("no address");
    tcp::endpoint endpoint = endpoints.begin()->endpoint();
    impl_->acceptor.emplace(impl_->io);
    if (impl_->options.listen_fd >= 0) {
      impl_->acceptor->assign(endpoint.protocol(), impl_->options.listen_fd);
    } else {
      impl_->acceptor->open(endpoint.protocol());
      impl_->acceptor->set_option(asio::socket_base::reuse_address(true));
      impl_->acceptor->bind(endpoint);
      impl_->acceptor->listen(asio::socket_base::max_listen_connections);
    }
    impl_->port = impl_->acceptor->local_endpoint().port();
  } catch (const std::exception& e) {
    std::string name = impl_->options.name;
    impl_.reset();
    return Status::Unavailable("console proxy " + name + ": cannot listen on " + url +
                               ": " + e.what());
  }
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  Impl* impl = impl_.get();
  impl_->thread = std::thread([impl] {
    for (;;) {
      try {
        impl->io.run();
        return;
      } catch (const std::exception& e) {
        impl->Log(std::string("unexpected: ") + e.what());
      }
    }
  });
  return Status::Ok();
}

void ConsoleProxy::Stop() {
  if (!impl_) return;
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->workers.join();
  impl_.reset();
}

int ConsoleProxy::port() const { return impl_ ? impl_->port : 0; }

int ConsoleProxy::listen_fd() {
  return impl_ && impl_->acceptor ? impl_->acceptor->native_handle() : -1;
}

}  // namespace chronova
