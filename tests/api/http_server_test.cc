// HttpServer over real loopback sockets, driven by hand-written requests: the
// limits and deadlines that keep a hostile client from hanging or exhausting
// the server (api/http/http_server.h).
#include "api/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_util.h"

namespace chronova {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

// One raw client connection, for requests no well-behaved client would send.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }

  // False when the peer has closed or reset the connection.
  bool Send(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  // Everything until the peer closes, or until `timeout` passes.
  std::string ReadUntilClosed(std::chrono::milliseconds timeout = 10s) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[65536];
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  // One whole response with a Content-Length (keep-alive), or "" on timeout.
  std::string ReadResponse(std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[65536];
    for (;;) {
      size_t end = pending_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t length = 0;
        size_t cl = pending_.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) {
          length = std::stoul(pending_.substr(cl + 16));
        }
        if (pending_.size() >= end + 4 + length) {
          std::string response = pending_.substr(0, end + 4 + length);
          pending_.erase(0, end + 4 + length);
          return response;
        }
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        return "";
      }
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return "";
      pending_.append(buf, static_cast<size_t>(n));
    }
  }

  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string pending_;
};

int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

std::string BodyOf(const std::string& response) {
  size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

// A server on a free loopback port whose handler echoes what it saw.
struct EchoServer {
  std::atomic<int> handled{0};
  HttpServer server;
  uint16_t port = 0;

  explicit EchoServer(HttpServerOptions o = {}) {
    o.listen_url = "http://127.0.0.1:0";
    if (!o.handler) {
      o.handler = [this](const HttpRequest& r) {
        ++handled;
        HttpResponse out;
        out.headers.Set("Content-Type", "text/plain");
        out.body = r.method + " " + r.path + " body=" + std::to_string(r.body.size()) +
                   " file=" + std::to_string(r.body_file_size) +
                   (r.body_over_limit ? " over" : "");
        return out;
      };
    }
    REQUIRE(server.Start(std::move(o)).ok());
    port = server.port();
  }

  // A plain GET on a new connection; its status (0 if none came in time).
  int Get(const std::string& path = "/ok", std::chrono::milliseconds timeout = 10s) {
    RawConnection c(port);
    if (!c.connected()) return 0;
    c.Send("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return StatusOf(c.ReadUntilClosed(timeout));
  }
};

TEST_CASE("clients that send headers and never their body do not block other requests",
          "[http]") {
  HttpServerOptions o;
  o.handler_threads = 4;
  o.body_timeout = 60s;  // they stay for the whole test
  EchoServer s(o);
  // Many more silent bodies than handler threads (the cpprestsdk listener
  // hung for good at 39).
  std::vector<std::unique_ptr<RawConnection>> silent;
  for (int i = 0; i < 100; ++i) {
    auto c = std::make_unique<RawConnection>(s.port);
    REQUIRE(c->connected());
    REQUIRE(
        c->Send("POST /v2.1/servers HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                "Content-Type: application/json\r\n\r\n"));
    silent.push_back(std::move(c));
  }
  CHECK(s.Get() == 200);
  CHECK(s.handled.load() == 1);  // none of the silent ones reached the handler
  // Stop returns with all of them still open.
  auto began = std::chrono::steady_clock::now();
  s.server.Stop();
  CHECK(std::chrono::steady_clock::now() - began < 10s);
  for (auto& c : silent) {
    c->ReadUntilClosed(5s);
    CHECK(c->closed());
  }
}

TEST_CASE("a body that does not arrive within the body timeout closes its connection",
          "[http]") {
  HttpServerOptions o;
  o.body_timeout = 200ms;
  EchoServer s(o);
  RawConnection c(s.port);
  REQUIRE(c.Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"));
  c.ReadUntilClosed(5s);
  CHECK(c.closed());
  CHECK(s.handled.load() == 0);
}

TEST_CASE("headers that do not arrive within the header timeout close the connection",
          "[http]") {
  HttpServerOptions o;
  o.header_timeout = 200ms;
  EchoServer s(o);
  RawConnection c(s.port);
  REQUIRE(c.Send("GET /x HTTP/1.1\r\nHost: x\r\n"));  // never the blank line
  c.ReadUntilClosed(5s);
  CHECK(c.closed());
  CHECK(s.handled.load() == 0);
}

TEST_CASE(
    "a body declared larger than the limit is not read and the handler sees its length",
    "[http]") {
  HttpServerOptions o;
  o.max_body_bytes = 1024;
  EchoServer s(o);
  RawConnection c(s.port);
  REQUIRE(c.Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n"));
  std::string response = c.ReadUntilClosed();
  CHECK(StatusOf(response) == 200);
  CHECK(BodyOf(response) == "POST /x body=0 file=0");
  CHECK(response.find("Connection: close") != std::string::npos);
}

TEST_CASE("a chunked body over the limit is answered 413 after at most the limit is read",
          "[http]") {
  HttpServerOptions o;
  o.max_body_bytes = 1024;
  o.error_response = [](int status, const std::string& message) {
    HttpResponse r;
    r.status = status;
    r.headers.Set("Content-Type", "application/json");
    r.body =
        "{\"status\": " + std::to_string(status) + ", \"message\": \"" + message + "\"}";
    return r;
  };
  EchoServer s(o);
  RawConnection c(s.port);
  std::string chunk(4096, 'a');
  char size[16];
  std::snprintf(size, sizeof(size), "%zx", chunk.size());
  std::string request =
      "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 16; ++i) request += std::string(size) + "\r\n" + chunk + "\r\n";
  c.Send(request);  // the server may close before all of it is sent
  std::string response = c.ReadUntilClosed();
  CHECK(StatusOf(response) == 413);
  CHECK(BodyOf(response) == "{\"status\": 413, \"message\": \"Request is too large.\"}");
  CHECK(s.handled.load() == 0);
}

TEST_CASE("a request with both Content-Length and Transfer-Encoding is refused",
          "[http]") {
  EchoServer s;
  RawConnection c(s.port);
  REQUIRE(
      c.Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
             "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
  std::string response = c.ReadUntilClosed();
  CHECK(StatusOf(response) == 400);
  CHECK(response.find("application/json") != std::string::npos);
  CHECK(s.handled.load() == 0);
}

TEST_CASE("a request target over the URL limit is answered 414 without being routed",
          "[http]") {
  HttpServerOptions o;
  o.max_url_bytes = 4096;
  EchoServer s(o);
  std::string path = "/";
  while (path.size() < 5000) path += "a/";
  CHECK(s.Get(path) == 414);
  CHECK(s.Get("/" + std::string(4000, 'b')) == 200);
  CHECK(s.handled.load() == 1);
}

TEST_CASE("header fields over the header limit are answered 431", "[http]") {
  HttpServerOptions o;
  o.max_header_bytes = 8192;
  EchoServer s(o);
  RawConnection c(s.port);
  REQUIRE(c.Send("GET /x HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(10000, 'z') +
                 "\r\n\r\n"));
  CHECK(StatusOf(c.ReadUntilClosed()) == 431);
  CHECK(s.handled.load() == 0);
}

TEST_CASE("TRACE is refused and never echoes the request's token", "[http]") {
  EchoServer s;
  RawConnection c(s.port);
  REQUIRE(
      c.Send("TRACE /v2.1 HTTP/1.1\r\nHost: x\r\nX-Auth-Token: secret-token\r\n\r\n"));
  std::string response = c.ReadUntilClosed();
  CHECK(StatusOf(response) == 405);
  CHECK(response.find("secret-token") == std::string::npos);
  CHECK(s.handled.load() == 0);
}

TEST_CASE("a request line that is not HTTP gets a 400 in the API's shape", "[http]") {
  EchoServer s;
  RawConnection c(s.port);
  REQUIRE(c.Send("GET /a HTTP/1.1 junk\r\nHost: x\r\n\r\n"));
  std::string response = c.ReadUntilClosed();
  CHECK(StatusOf(response) == 400);
  CHECK(BodyOf(response).find("\"error\"") != std::string::npos);
}

TEST_CASE("a body the server refuses to read is answered before it is sent", "[http]") {
  HttpServerOptions o;
  o.body_mode = [](const HttpRequest&) { return HttpBodyMode::kSkip; };
  o.handler = [](const HttpRequest& r) {
    HttpResponse out;
    out.status = 401;
    out.body = "refused body=" + std::to_string(r.body.size());
    return out;
  };
  EchoServer s(o);
  RawConnection c(s.port);
  REQUIRE(c.Send("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n" +
                 std::string(65536, 'x')));
  std::string response = c.ReadUntilClosed();
  CHECK(StatusOf(response) == 401);
  CHECK(BodyOf(response) == "refused body=0");
}

TEST_CASE("a client that waits for 100 Continue gets it, then its body is read",
          "[http]") {
  EchoServer s;
  RawConnection c(s.port);
  REQUIRE(
      c.Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
             "Expect: 100-continue\r\n\r\n"));
  CHECK(c.ReadResponse() == "HTTP/1.1 100 Continue\r\n\r\n");
  REQUIRE(c.Send("abc"));
  CHECK(BodyOf(c.ReadResponse()) == "POST /x body=3 file=0");
}

TEST_CASE("a kept-alive connection serves several requests in order", "[http]") {
  EchoServer s;
  RawConnection c(s.port);
  REQUIRE(
      c.Send("GET /one HTTP/1.1\r\nHost: x\r\n\r\nPOST /two HTTP/1.1\r\nHost: x\r\n"
             "Content-Length: 2\r\n\r\nhi"));
  CHECK(BodyOf(c.ReadResponse()) == "GET /one body=0 file=0");
  CHECK(BodyOf(c.ReadResponse()) == "POST /two body=2 file=0");
  CHECK(s.handled.load() == 2);
}

TEST_CASE("with close_connections ([wsgi] keep_alive = false) each answer closes",
          "[http]") {
  HttpServerOptions o;
  o.close_connections = true;
  EchoServer s(o);
  RawConnection c(s.port);
  REQUIRE(
      c.Send("GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string all = c.ReadUntilClosed();
  CHECK(c.closed());
  CHECK(all.find("Connection: close") != std::string::npos);
  CHECK(BodyOf(all) == "GET /one body=0 file=0");  // the second is never served
  CHECK(s.handled.load() == 1);
}

TEST_CASE("draining answers the request under way, closes idle connections, then stops",
          "[http]") {
  std::atomic<bool> in_handler{false};
  std::atomic<bool> release{false};
  HttpServerOptions o;
  o.handler = [&](const HttpRequest& r) {
    if (r.path == "/slow") {
      in_handler = true;
      while (!release) std::this_thread::sleep_for(1ms);
    }
    HttpResponse out;
    out.body = "done " + r.path;
    return out;
  };
  EchoServer s(std::move(o));
  RawConnection idle(s.port);
  REQUIRE(idle.Send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(BodyOf(idle.ReadResponse()) == "done /first");  // kept alive, now idle
  RawConnection busy(s.port);
  REQUIRE(busy.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  while (!in_handler) std::this_thread::sleep_for(1ms);

  std::thread drain([&] { s.server.Drain(10s); });
  // The idle connection is closed without an answer; the busy one waits.
  CHECK(idle.ReadUntilClosed(5s).empty());
  CHECK(idle.closed());
  release = true;
  const std::string answer = busy.ReadUntilClosed(5s);
  CHECK(StatusOf(answer) == 200);
  CHECK(answer.find("Connection: close") != std::string::npos);
  CHECK(BodyOf(answer) == "done /slow");
  CHECK(busy.closed());
  drain.join();
  // Nothing listens any more (the socket was not handed to anyone).
  RawConnection late(s.port);
  CHECK_FALSE(late.connected());
}

TEST_CASE("a server started on a handed-over listening socket serves it", "[http]") {
  EchoServer first;
  const int dup_fd = ::dup(first.server.listen_fd());
  REQUIRE(dup_fd >= 0);
  HttpServer second;
  HttpServerOptions o;
  o.listen_url = "http://127.0.0.1:0";
  o.listen_fd = dup_fd;
  o.handler = [](const HttpRequest&) {
    HttpResponse out;
    out.body = "second";
    return out;
  };
  // The first stops accepting; a connection made now waits in the socket's
  // queue for the second, which serves it once started.
  first.server.Drain(1s);
  RawConnection waiting(first.port);
  REQUIRE(waiting.connected());
  REQUIRE(waiting.Send("GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  REQUIRE(second.Start(std::move(o)).ok());
  CHECK(second.port() == first.port);
  CHECK(BodyOf(waiting.ReadUntilClosed(5s)) == "second");
  second.Stop();
}

TEST_CASE("a handed-over socket bound elsewhere than the configuration says is closed",
          "[http]") {
  EchoServer first;
  const uint16_t old_port = first.port;
  const int dup_fd = ::dup(first.server.listen_fd());
  REQUIRE(dup_fd >= 0);
  first.server.Drain(1s);
  // The configuration moved the listener to another port.
  HttpServer probe;
  HttpServerOptions p;
  p.listen_url = "http://127.0.0.1:0";
  p.handler = [](const HttpRequest&) { return HttpResponse(); };
  REQUIRE(probe.Start(std::move(p)).ok());
  const uint16_t new_port = probe.port();
  probe.Stop();
  HttpServer second;
  HttpServerOptions o;
  o.listen_url = "http://127.0.0.1:" + std::to_string(new_port);
  o.listen_fd = dup_fd;
  o.handler = [](const HttpRequest&) {
    HttpResponse out;
    out.body = "moved";
    return out;
  };
  REQUIRE(second.Start(std::move(o)).ok());
  CHECK(second.port() == new_port);
  RawConnection moved(new_port);
  REQUIRE(moved.connected());
  REQUIRE(moved.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  CHECK(BodyOf(moved.ReadUntilClosed(5s)) == "moved");
  // Nothing listens where the old socket was.
  RawConnection old(old_port);
  CHECK_FALSE(old.connected());
  second.Stop();
}

TEST_CASE("connections past max_connections are answered 503", "[http]") {
  HttpServerOptions o;
  o.max_connections = 3;
  EchoServer s(o);
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawConnection>(s.port));
    REQUIRE(held.back()->Send("GET /held HTTP/1.1\r\nHost: x\r\n"));
  }
  // Accepted in order on one strand: the three above hold every slot once
  // the fourth is accepted.
  RawConnection extra(s.port);
  CHECK(StatusOf(extra.ReadUntilClosed()) == 503);
  held.clear();
  // Slots come back as connections close.
  std::string last;
  for (int i = 0; i < 100 && StatusOf(last) != 200; ++i) {
    RawConnection c(s.port);
    c.Send("GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    last = c.ReadUntilClosed();
    if (StatusOf(last) != 200) std::this_thread::sleep_for(20ms);
  }
  CHECK(StatusOf(last) == 200);
}

TEST_CASE("a streamed body is written to a file and over its limit is cut short",
          "[http]") {
  TempDir dir;
  HttpServerOptions o;
  o.body_mode = [](const HttpRequest&) { return HttpBodyMode::kFile; };
  o.body_file_dir = dir.path();
  o.max_file_body_bytes = 100000;
  std::string seen;
  o.handler = [&seen](const HttpRequest& r) {
    std::ifstream in(r.body_file, std::ios::binary);
    seen.assign(std::istreambuf_iterator<char>(in), {});
    HttpResponse out;
    out.body = std::to_string(r.body_file_size) + (r.body_over_limit ? " over" : "");
    return out;
  };
  EchoServer s(o);
  {
    RawConnection c(s.port);
    std::string data(70000, 'd');
    REQUIRE(c.Send("PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n" + data));
    CHECK(BodyOf(c.ReadResponse()) == "70000");
    CHECK(seen == data);
  }
  {
    RawConnection c(s.port);
    std::string request =
        "PUT /f HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 4; ++i) request += "8000\r\n" + std::string(0x8000, 'e') + "\r\n";
    request += "0\r\n\r\n";
    c.Send(request);
    const std::string body = BodyOf(c.ReadUntilClosed());
    CHECK(body == std::to_string(seen.size()) + " over");
    CHECK(seen.size() <= 100000);
    CHECK(seen == std::string(seen.size(), 'e'));
  }
  // Nothing left behind in the incoming directory.
  CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("a handler that throws is answered 500 in the API's shape", "[http]") {
  HttpServerOptions o;
  o.handler = [](const HttpRequest&) -> HttpResponse {
    throw std::runtime_error("boom");
  };
  EchoServer s(o);
  RawConnection c(s.port);
  REQUIRE(c.Send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string response = c.ReadResponse();
  CHECK(StatusOf(response) == 500);
  CHECK(BodyOf(response).find("boom") != std::string::npos);
}

}  // namespace
}  // namespace chronova
