#include "agents/compute/fake_console.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <list>

namespace chronova {
namespace {

constexpr int kMaxConnections = 8;  // per console; more are closed at once
constexpr uint16_t kWidth = 320;
constexpr uint16_t kHeight = 200;

bool WriteAll(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool ReadAll(int fd, void* data, size_t n) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

void Put16(std::string& out, uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}
void Put32(std::string& out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v & 0xffff));
}

// One full frame: a FramebufferUpdate with one raw rectangle, 32 bpp
// little-endian BGRX as the ServerInit pixel format says: horizontal bands and
// a lighter block, so a screenshot is never blank.
std::string Frame() {
  std::string out;
  out += '\0';  // FramebufferUpdate
  out += '\0';  // padding
  Put16(out, 1);
  Put16(out, 0);
  Put16(out, 0);
  Put16(out, kWidth);
  Put16(out, kHeight);
  Put32(out, 0);  // raw encoding
  out.reserve(out.size() + size_t{kWidth} * kHeight * 4);
  for (int y = 0; y < kHeight; ++y) {
    for (int x = 0; x < kWidth; ++x) {
      const bool text = (y / 10) % 2 == 1 && x > 16 && x < 16 + 6 * ((y * 7) % 40 + 4);
      const uint8_t v = text ? 0xc0 : static_cast<uint8_t>(0x10 + y / 8);
      out += static_cast<char>(v);                // blue
      out += static_cast<char>(v);                // green
      out += static_cast<char>(text ? v : 0x20);  // red
      out += '\0';
    }
  }
  return out;
}

void ServeEcho(int fd, const std::string& banner) {
  if (!banner.empty() && !WriteAll(fd, banner.data(), banner.size())) return;
  char buf[4096];
  for (;;) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0 || !WriteAll(fd, buf, static_cast<size_t>(r))) return;
  }
}

}  // namespace

void FakeConsoles::ServeRfb(int fd, const std::string& name) {
  static const char kVersion[] = "RFB 003.008\n";
  char version[12];
  if (!WriteAll(fd, kVersion, 12) || !ReadAll(fd, version, 12)) return;
  const uint8_t types[] = {1, 1};  // one security type: None
  uint8_t chosen = 0;
  if (!WriteAll(fd, types, 2) || !ReadAll(fd, &chosen, 1)) return;
  const uint8_t ok[4] = {0, 0, 0, chosen == 1 ? uint8_t{0} : uint8_t{1}};
  if (!WriteAll(fd, ok, 4) || chosen != 1) return;
  uint8_t shared = 0;
  if (!ReadAll(fd, &shared, 1)) return;
  std::string init;
  Put16(init, kWidth);
  Put16(init, kHeight);
  // Pixel format: 32 bpp, depth 24, little-endian, true colour, 8 bits each,
  // red at 16, green at 8, blue at 0.
  const uint8_t format[16] = {32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0};
  init.append(reinterpret_cast<const char*>(format), sizeof format);
  Put32(init, static_cast<uint32_t>(name.size()));
  init += name;
  if (!WriteAll(fd, init.data(), init.size())) return;
  // Client messages: only an update request is answered.
  for (;;) {
    uint8_t type = 0;
    if (!ReadAll(fd, &type, 1)) return;
    switch (type) {
      case 0: {  // SetPixelFormat: 3 padding + 16 (kept: the client converts)
        char skip[19];
        if (!ReadAll(fd, skip, sizeof skip)) return;
        break;
      }
      case 2: {  // SetEncodings
        uint8_t head[3];
        if (!ReadAll(fd, head, 3)) return;
        const size_t n = (size_t{head[1]} << 8) | head[2];
        std::string skip(n * 4, '\0');
        if (!ReadAll(fd, skip.data(), skip.size())) return;
        break;
      }
      case 3: {  // FramebufferUpdateRequest
        uint8_t req[9];
        if (!ReadAll(fd, req, sizeof req)) return;
        if (req[0] == 0) {  // not incremental: nothing ever changes otherwise
          static const std::string frame = Frame();
          if (!WriteAll(fd, frame.data(), frame.size())) return;
        }
        break;
      }
      case 4: {  // KeyEvent
        char skip[7];
        if (!ReadAll(fd, skip, sizeof skip)) return;
        break;
      }
      case 5: {  // PointerEvent
        char skip[5];
        if (!ReadAll(fd, skip, sizeof skip)) return;
        break;
      }
      case 6: {  // ClientCutText
        uint8_t head[7];
        if (!ReadAll(fd, head, sizeof head)) return;
        uint32_t n = (uint32_t{head[3]} << 24) | (uint32_t{head[4]} << 16) |
                     (uint32_t{head[5]} << 8) | head[6];
        if (n > (1u << 20)) return;
        std::string skip(n, '\0');
        if (!ReadAll(fd, skip.data(), skip.size())) return;
        break;
      }
      default:
        return;  // unknown message: the stream cannot be followed
    }
  }
}

// One console's listening socket, its accept thread and its connections.
struct FakeConsoles::Listener {
  int listen_fd = -1;
  int wake[2] = {-1, -1};  // closing wakes the accept thread
  std::string kind;
  std::string name;
  std::thread acceptor;
  std::mutex mu;  // protects the fields below
  std::vector<int> fds;
  struct Connection {
    std::thread thread;
    bool done = false;
  };
  std::list<Connection> connections;  // finished ones are joined at the next accept

  void Accept() {
    for (;;) {
      pollfd p[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (p[1].revents != 0) return;
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::unique_lock<std::mutex> lock(mu);
      std::list<Connection> finished;
      for (auto it = connections.begin(); it != connections.end();) {
        auto next = std::next(it);
        if (it->done) finished.splice(finished.end(), connections, it);
        it = next;
      }
      lock.unlock();
      for (Connection& c : finished) c.thread.join();
      lock.lock();
      if (static_cast<int>(fds.size()) >= kMaxConnections) {
        ::close(fd);
        continue;
      }
      fds.push_back(fd);
      Connection& conn = connections.emplace_back();
      conn.thread = std::thread([this, fd, &conn] {
        if (kind == "vnc") {
          ServeRfb(fd, name);
        } else {
          ServeEcho(fd, kind == "serial"
                            ? "chronova fake serial console of " + name + "\r\n"
                            : "");
        }
        std::lock_guard<std::mutex> l(mu);
        conn.done = true;
        for (int& f : fds) {
          if (f == fd) {
            ::close(fd);
            f = fds.back();
            fds.pop_back();
            break;
          }
        }
      });
    }
  }

  ~Listener() {
    if (wake[1] >= 0) (void)!::write(wake[1], "x", 1);
    if (acceptor.joinable()) acceptor.join();
    std::list<Connection> running;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (int fd : fds) ::shutdown(fd, SHUT_RDWR);
      running.splice(running.end(), connections);
    }
    for (Connection& c : running) c.thread.join();
    if (listen_fd >= 0) ::close(listen_fd);
    for (int fd : wake) {
      if (fd >= 0) ::close(fd);
    }
  }
};

FakeConsoles::~FakeConsoles() {
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.clear();
}

Result<ConsoleEndpoint> FakeConsoles::Open(const InstanceId& id,
                                           const std::string& guest_name,
                                           std::string_view kind) {
  if (kind != "vnc" && kind != "serial" && kind != "spice") {
    return Status::InvalidArgument("Invalid console type " + std::string(kind));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto key = std::make_pair(id.str(), std::string(kind));
  auto it = listeners_.find(key);
  if (it == listeners_.end()) {
    auto l = std::make_shared<Listener>();
    l->kind = std::string(kind);
    l->name = guest_name;
    l->listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l->listen_fd < 0 ||
        ::bind(l->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(l->listen_fd, 16) != 0 || ::pipe2(l->wake, O_CLOEXEC) != 0) {
      return Status::Unavailable(std::string("Not able to acquire a free port: ") +
                                 std::strerror(errno));
    }
    Listener* raw = l.get();
    l->acceptor = std::thread([raw] { raw->Accept(); });
    it = listeners_.emplace(std::move(key), std::move(l)).first;
  }
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ::getsockname(it->second->listen_fd, reinterpret_cast<sockaddr*>(&bound), &len);
  return ConsoleEndpoint{"127.0.0.1", ntohs(bound.sin_port), ""};
}

void FakeConsoles::Close(const InstanceId& id) {
  std::vector<std::shared_ptr<Listener>> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = listeners_.begin(); it != listeners_.end();) {
      if (it->first.first == id.str()) {
        closing.push_back(std::move(it->second));
        it = listeners_.erase(it);
      } else {
        ++it;
      }
    }
  }
  closing.clear();  // joined outside the lock
}

}  // namespace chronova
