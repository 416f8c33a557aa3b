// A minimal websocket client over a plain socket (RFC 6455: masked frames out,
// unmasked frames in), for the console proxy tests and bench-console: it does what
// Tempest's test_novnc and a browser do on the wire, and reports exactly what came back.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <random>
#include <string>

namespace chronova {

class WsClient {
 public:
  ~WsClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Connects to 127.0.0.1:port and sends the upgrade request for `target`
  // with `extra` header lines ("Name: value\r\n"...). Returns the response's
  // head (status line and headers), or "" if the connection failed or closed.
  std::string Upgrade(int port, const std::string& target,
                      const std::string& extra = "") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;  // as browsers do
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "";
    std::string req = "GET " + target +
                      " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n" +
                      extra + "\r\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(req.size()))
      return "";
    std::string head;
    while (head.find("\r\n\r\n") == std::string::npos) {
      char c;
      if (!Read(&c, 1)) return "";
      head += c;
    }
    return head;
  }
  // One binary message, masked as a client must.
  bool Send(const std::string& payload) {
    std::string frame;
    frame += static_cast<char>(0x82);
    if (payload.size() < 126) {
      frame += static_cast<char>(0x80 | payload.size());
    } else {
      frame += static_cast<char>(0x80 | 126);
      frame += static_cast<char>(payload.size() >> 8);
      frame += static_cast<char>(payload.size() & 0xff);
    }
    unsigned char mask[4];
    for (unsigned char& m : mask) m = static_cast<unsigned char>(rng_());
    frame.append(reinterpret_cast<char*>(mask), 4);
    for (size_t i = 0; i < payload.size(); ++i)
      frame += static_cast<char>(payload[i] ^ mask[i % 4]);
    return ::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(frame.size());
  }
  // The next data message's payload (control frames skipped); nullopt when the
  // connection closed (or a close frame came) first, or after `timeout_ms`.
  std::optional<std::string> Receive(int timeout_ms = 5000) {
    timeout_ms_ = timeout_ms;
    for (;;) {
      unsigned char h[2];
      if (!Read(h, 2)) return std::nullopt;
      uint64_t n = h[1] & 0x7f;
      if (n == 126) {
        unsigned char e[2];
        if (!Read(e, 2)) return std::nullopt;
        n = (uint64_t{e[0]} << 8) | e[1];
      } else if (n == 127) {
        unsigned char e[8];
        if (!Read(e, 8)) return std::nullopt;
        n = 0;
        for (unsigned char b : e) n = (n << 8) | b;
      }
      if (n > (64u << 20)) return std::nullopt;
      std::string payload(n, '\0');
      if (n > 0 && !Read(payload.data(), n)) return std::nullopt;
      const int opcode = h[0] & 0x0f;
      if (opcode == 8) return std::nullopt;       // close
      if (opcode == 9 || opcode == 10) continue;  // ping, pong
      return payload;
    }
  }
  // True once the peer closed the TCP connection (within `timeout_ms`), with
  // no data or frames before it.
  bool ClosedWithoutData(int timeout_ms = 5000) {
    timeout_ms_ = timeout_ms;
    char c;
    return !Read(&c, 1) && !timed_out_;
  }

 private:
  bool Read(void* out, size_t n) {
    char* p = static_cast<char*>(out);
    timed_out_ = false;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
    while (n > 0) {
      const int left =
          static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                               deadline - std::chrono::steady_clock::now())
                               .count());
      pollfd pfd{fd_, POLLIN, 0};
      if (left <= 0 || ::poll(&pfd, 1, left) <= 0) {
        timed_out_ = true;
        return false;
      }
      ssize_t r = ::recv(fd_, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }

  int fd_ = -1;
  int timeout_ms_ = 5000;
  bool timed_out_ = false;
  std::minstd_rand rng_{42};
};

}  // namespace chronova
