// Runs nats-server as a child process for the JetStream tests: fork/setsid/exec,
// readiness through the HTTP monitor's /healthz (a tiny hand-written GET, so the
// tests need no HTTP library), SIGTERM/SIGKILL to stop.
#include "tests/support/nats_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/test_util.h"

namespace chronova::testing {
namespace {

constexpr int kHealthTimeoutMs = 15000;
constexpr int kTermGraceMs = 5000;

// A loopback port nobody listens on right now (bind port 0, read it back, close).

// The status code of GET http://127.0.0.1:<port><path>, or -1 if it cannot be had.
int HttpGetStatus(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int status = -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(req.size())) {
      std::string resp;
      char buf[512];
      ssize_t n;
      while (resp.find("\r\n") == std::string::npos &&
             (n = ::recv(fd, buf, sizeof(buf), 0)) > 0) {
        resp.append(buf, static_cast<size_t>(n));
      }
      // "HTTP/1.1 200 OK"
      size_t sp = resp.find(' ');
      if (resp.starts_with("HTTP/") && sp != std::string::npos) {
        status = std::atoi(resp.c_str() + sp + 1);
      }
    }
  }
  ::close(fd);
  return status;
}

}  // namespace

std::string FindNatsServer() {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/usr/local/sbin";
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/nats-server";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

NatsServer::NatsServer(std::string dir) : NatsServer(std::move(dir), "", false) {}

NatsServer::NatsServer(std::string dir, std::string extra_config, bool tls)
    : dir_(std::move(dir)),
      binary_(FindNatsServer()),
      extra_config_(std::move(extra_config)),
      tls_(tls) {
  if (binary_.empty()) FAIL("nats-server not found on PATH or in /usr/sbin");
  std::filesystem::create_directories(dir_);
  port_ = FreePort();
  http_port_ = FreePort();
  WriteConfig();
  Start();
}

NatsServer::NatsServer(std::string dir, NatsClusterMember member)
    : dir_(std::move(dir)), binary_(FindNatsServer()), member_(std::move(member)) {
  if (binary_.empty()) FAIL("nats-server not found on PATH or in /usr/sbin");
  std::filesystem::create_directories(dir_);
  port_ = FreePort();
  http_port_ = FreePort();
  WriteConfig();
}

NatsServer::~NatsServer() { Stop(); }

NatsCluster::NatsCluster(const std::string& dir, int nodes) {
  std::vector<int> cluster_ports;
  for (int i = 0; i < nodes; ++i) cluster_ports.push_back(FreePort());
  for (int i = 0; i < nodes; ++i) {
    NatsClusterMember m{"n" + std::to_string(i + 1),
                        cluster_ports[static_cast<size_t>(i)], cluster_ports};
    nodes_.push_back(std::make_unique<NatsServer>(dir + "/" + m.name, m));
  }
  for (auto& n : nodes_) n->Launch();
  for (auto& n : nodes_) n->WaitHealthy();
  std::string check = "python3 " CHRONOVA_SOURCE_DIR "/tools/nats_meta.py --wait 15";
  for (auto& n : nodes_) check += " 127.0.0.1:" + std::to_string(n->http_port());
  for (int attempt = 0;; ++attempt) {
    FILE* p = ::popen(check.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string missing;
    char buf[256];
    while (std::fgets(buf, sizeof(buf), p) != nullptr) missing += buf;
    int status = ::pclose(p);
    if (status == 0) return;
    REQUIRE(attempt < 3);
    std::istringstream positions(missing);
    for (size_t pos; positions >> pos;) {
      REQUIRE((pos >= 1 && pos <= nodes_.size()));
      nodes_[pos - 1]->Stop();
      nodes_[pos - 1]->Launch();
      nodes_[pos - 1]->WaitHealthy();
    }
  }
}

std::string NatsCluster::urls() const {
  std::string out;
  for (const auto& n : nodes_) out += (out.empty() ? "" : ",") + n->url();
  return out;
}

std::string NatsServer::url() const {
  return (tls_ ? "tls://127.0.0.1:" : "nats://127.0.0.1:") + std::to_string(port_);
}

void NatsServer::WriteConfig() const {
  std::ofstream conf(dir_ + "/nats.conf");
  conf << "listen: 127.0.0.1:" << port_ << "\n"
       << "http: 127.0.0.1:" << http_port_
       << "\n"
       // fsync before every acknowledgement (nats-server >= 2.10; tools/deps.sh).
       << "jetstream {\n  store_dir: \"" << dir_
       << "/store\"\n  sync_interval: always\n}\n";
  if (member_) {
    conf << "server_name: " << member_->name << "\n"
         << "cluster {\n  name: chronova-test\n  listen: 127.0.0.1:"
         << member_->cluster_port << "\n  routes: [\n";
    for (int p : member_->route_ports) conf << "    nats-route://127.0.0.1:" << p << "\n";
    conf << "  ]\n}\n";
  }
  conf << extra_config_ << "\n";
  REQUIRE(conf.good());
}

void NatsServer::Start() {
  Launch();
  WaitHealthy();
}

void NatsServer::Launch() {
  REQUIRE(pid_ <= 0);
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls (the test process has threads).
  std::string conf = dir_ + "/nats.conf";
  std::string log = dir_ + "/nats.log";
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  REQUIRE(log_fd >= 0);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(null_fd >= 0);
  std::string arg_c = "-c";
  char* argv[] = {const_cast<char*>(binary_.c_str()), arg_c.data(), conf.data(), nullptr};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();  // its own session: a shell `wait` or Ctrl-C on the test leaves it alone
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execvp(argv[0], argv);
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  REQUIRE(pid > 0);
  pid_ = pid;
}

void NatsServer::WaitHealthy() {
  const std::string log = dir_ + "/nats.log";
  auto start = std::chrono::steady_clock::now();
  while (true) {
    if (HttpGetStatus(http_port_, "/healthz") == 200) return;
    int wstatus = 0;
    if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL("nats-server exited during start-up; log:\n" << ReadFile(log));
    }
    if (std::chrono::steady_clock::now() - start >
        std::chrono::milliseconds(kHealthTimeoutMs)) {
      Stop();
      FAIL("nats-server not healthy after " << kHealthTimeoutMs << " ms; log:\n"
                                            << ReadFile(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void NatsServer::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  auto start = std::chrono::steady_clock::now();
  int wstatus = 0;
  while (::waitpid(pid_, &wstatus, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() - start >
        std::chrono::milliseconds(kTermGraceMs)) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &wstatus, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

void NatsServer::Restart() {
  Stop();
  Start();
}

}  // namespace chronova::testing
