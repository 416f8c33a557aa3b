// bench-console: what the console proxy (agents/console/console_proxy.h) costs
// on a local VNC stream. A fake VNC server (agents/compute/fake_console.h)
// sends full 320x200x32 frames (256,016 bytes each); a client fetches them
// directly over TCP and through the proxy's websocket (RFB handshake and
// security proxy included), and the same for one-byte round trips on a serial
// console that echoes. Prints throughput and latency percentiles of both, and
// what the proxy adds.
//
//   build/bench-console [--frames 300] [--echoes 3000]
#include <netinet/tcp.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "agents/compute/fake_console.h"
#include "agents/console/console_proxy.h"
#include "tools/bench_util.h"
#include "tools/flags.h"
#include "tools/ws_client.h"

namespace chronova {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kFrameBytes = 16 + 320 * 200 * 4;
const std::string kFrameRequest("\x03\x00\x00\x00\x00\x00\x01\x40\x00\xc8", 10);

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// A plain TCP client of the fake console, for the direct figures.
class Direct {
 public:
  explicit Direct(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Direct() { ::close(fd_); }
  bool ok() const { return ok_; }
  bool Send(const std::string& s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(s.size());
  }
  std::string Read(size_t n) {
    std::string s(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::recv(fd_, s.data() + got, n - got, 0);
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    s.resize(got);
    return s;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

// RFB 3.8 with security None up to ServerInit; false if anything differs.
template <typename Send, typename Read>
bool Handshake(Send send, Read read) {
  if (read(12) != "RFB 003.008\n" || !send("RFB 003.008\n")) return false;
  if (read(2) != std::string("\x01\x01", 2) || !send(std::string("\x01", 1)))
    return false;
  if (read(4) != std::string(4, '\0') || !send(std::string("\x01", 1))) return false;
  std::string init = read(24);
  if (init.size() != 24) return false;
  const size_t name = (size_t{static_cast<unsigned char>(init[22])} << 8) |
                      static_cast<unsigned char>(init[23]);
  return read(name).size() == name;
}

// A websocket as a byte stream.
class WsStream {
 public:
  explicit WsStream(WsClient& ws) : ws_(ws) {}
  std::string Read(size_t n) {
    while (buffered_.size() < n) {
      std::optional<std::string> m = ws_.Receive(10000);
      if (!m) break;
      buffered_ += *m;
    }
    std::string out = buffered_.substr(0, n);
    buffered_.erase(0, std::min(n, buffered_.size()));
    return out;
  }

 private:
  WsClient& ws_;
  std::string buffered_;
};

struct Figures {
  std::vector<double> ms;
  double seconds = 0;
};

template <typename Send, typename Read>
Figures Measure(int n, const std::string& request, size_t answer, Send send, Read read) {
  Figures f;
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    const auto t = Clock::now();
    if (!send(request) || read(answer).size() != answer) {
      std::fprintf(stderr, "bench-console: the stream broke after %d exchanges\n", i);
      std::exit(1);
    }
    f.ms.push_back(Ms(Clock::now() - t));
  }
  f.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return f;
}

void Print(const char* what, const Figures& direct, const Figures& proxied,
           size_t bytes) {
  using bench::Percentile;
  const double n = static_cast<double>(direct.ms.size());
  auto rate = [&](const Figures& f) {
    char out[64];
    if (bytes > 1) {
      std::snprintf(out, sizeof out, "%8.1f MB/s",
                    n * static_cast<double>(bytes) / f.seconds / 1e6);
    } else {
      std::snprintf(out, sizeof out, "%8.0f round trips/s", n / f.seconds);
    }
    return std::string(out);
  };
  std::printf("%s, direct:  %s  p50 %.3f ms  p99 %.3f ms\n", what, rate(direct).c_str(),
              Percentile(direct.ms, 0.5), Percentile(direct.ms, 0.99));
  std::printf("%s, proxied: %s  p50 %.3f ms  p99 %.3f ms  (adds p50 %.3f ms)\n", what,
              rate(proxied).c_str(), Percentile(proxied.ms, 0.5),
              Percentile(proxied.ms, 0.99),
              Percentile(proxied.ms, 0.5) - Percentile(direct.ms, 0.5));
}

int Run(int argc, char** argv) {
  auto flags = Flags::Parse(argc, argv, {"frames", "echoes"}, {});
  if (!flags.ok()) {
    std::fprintf(stderr, "%s\n", flags.status().ToString().c_str());
    return 2;
  }
  const int frames = std::stoi(flags->Get("frames", "300"));
  const int echoes = std::stoi(flags->Get("echoes", "3000"));
  FakeConsoles consoles;
  const InstanceId id("b0000000-0000-4000-8000-000000000001");
  const std::string name = "instance-" + id.str();
  Result<ConsoleEndpoint> vnc = consoles.Open(id, name, "vnc");
  Result<ConsoleEndpoint> serial = consoles.Open(id, name, "serial");
  if (!vnc.ok() || !serial.ok()) return 1;

  auto start_proxy = [](const char* kind, int port, ConsoleProxy& proxy) {
    ConsoleProxyOptions o;
    o.name = kind;
    o.console_kind = kind;
    o.listen_url = "http://127.0.0.1:" + std::to_string(bench::FreePort());
    o.authorize = [port](const std::string&) -> Result<ConsoleTarget> {
      return ConsoleTarget{"127.0.0.1", port, "", Timestamp{int64_t{1} << 62}};
    };
    Status st = proxy.Start(std::move(o));
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      std::exit(1);
    }
  };
  ConsoleProxy vnc_proxy, serial_proxy;
  start_proxy("vnc", vnc->port, vnc_proxy);
  start_proxy("serial", serial->port, serial_proxy);

  // VNC frames.
  Direct direct(vnc->port);
  auto dsend = [&](const std::string& s) { return direct.Send(s); };
  auto dread = [&](size_t n) { return direct.Read(n); };
  WsClient ws;
  if (!direct.ok() ||
      ws.Upgrade(vnc_proxy.port(), "/?token=bench").rfind("HTTP/1.1 101", 0))
    return 1;
  WsStream wss(ws);
  auto wsend = [&](const std::string& s) { return ws.Send(s); };
  auto wread = [&](size_t n) { return wss.Read(n); };
  if (!Handshake(dsend, dread) || !Handshake(wsend, wread)) {
    std::fprintf(stderr, "bench-console: the RFB handshake failed\n");
    return 1;
  }
  Measure(10, kFrameRequest, kFrameBytes, dsend, dread);  // warm up
  Measure(10, kFrameRequest, kFrameBytes, wsend, wread);
  Figures d = Measure(frames, kFrameRequest, kFrameBytes, dsend, dread);
  Figures p = Measure(frames, kFrameRequest, kFrameBytes, wsend, wread);
  Print("VNC full frames (256 KB)", d, p, kFrameBytes);

  // One-byte round trips on the serial console.
  Direct sdirect(serial->port);
  WsClient sws;
  if (!sdirect.ok() ||
      sws.Upgrade(serial_proxy.port(), "/?token=bench").rfind("HTTP/1.1 101", 0))
    return 1;
  WsStream swss(sws);
  const size_t banner = ("chronova fake serial console of " + name + "\r\n").size();
  sdirect.Read(banner);
  swss.Read(banner);
  auto ssend = [&](const std::string& s) { return sdirect.Send(s); };
  auto sread = [&](size_t n) { return sdirect.Read(n); };
  auto swsend = [&](const std::string& s) { return sws.Send(s); };
  auto swread = [&](size_t n) { return swss.Read(n); };
  Figures sd = Measure(echoes, "x", 1, ssend, sread);
  Figures sp = Measure(echoes, "x", 1, swsend, swread);
  Print("serial 1-byte round trips", sd, sp, 1);
  return 0;
}

}  // namespace
}  // namespace chronova

int main(int argc, char** argv) { return chronova::Run(argc, argv); }
