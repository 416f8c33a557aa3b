#include "tests/support/test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

#include "agents/compute/subprocess.h"
#include "core/env.h"

namespace chronova::testing {

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = (tmp && *tmp) ? tmp : "/tmp";
  std::string tmpl = base + "/chronova-test-XXXXXX";
  char* made = mkdtemp(tmpl.data());
  REQUIRE(made != nullptr);
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

NewEvent TestEvent(const std::string& tag, const std::string& request_id) {
  EventMeta meta;
  meta.time = Timestamp{1767225600000000};
  meta.request_id = RequestId(request_id);
  meta.actor = Actor{UserId("u1"), ProjectId("p1"), {"member"}};
  return MakeNewEvent(InstanceDeleted{HostName(tag)}, meta);
}

std::vector<Envelope> SourceBatch(const std::string& stream, uint64_t first_version,
                                  const std::string& tag, size_t count) {
  std::vector<Envelope> batch;
  for (size_t i = 0; i < count; ++i) {
    NewEvent e = TestEvent(tag + "-" + std::to_string(i));
    batch.push_back(Envelope{Seq(), StreamId(stream), StreamVersion(first_version + i),
                             e.type, e.schema, e.meta, e.payload});
  }
  return batch;
}

Seq AppendAsAlice(EventLog& log, const StreamId& stream, const Event& event, int n) {
  AppendRequest req;
  req.stream = stream;
  req.key = IdempotencyKey("k" + std::to_string(n));
  EventMeta meta{Env::Default()->Now(), RequestId("req-" + std::to_string(n)), Seq(),
                 Actor{UserId("alice"), ProjectId("demo"), {"member"}}};
  req.events.push_back(MakeNewEvent(event, meta));
  Result<AppendResult> r = log.Append(req);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return r->last_seq;
}

AppendResult AppendOne(EventLog& log, const std::string& stream, const std::string& tag) {
  static std::atomic<int> counter{0};
  AppendRequest req;
  req.stream = StreamId(stream);
  req.key =
      IdempotencyKey("k-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
  req.events.push_back(TestEvent(tag));
  Result<AppendResult> r = log.Append(req);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

std::string TagOf(const Envelope& env) {
  Result<Event> ev = DecodeEvent(env);
  REQUIRE(ev.ok());
  return std::get<InstanceDeleted>(*ev).host.str();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string FileDigest(const std::string& tool, const std::string& path) {
  Result<std::string> out = RunProgram({tool, path});
  INFO(out.status().ToString());
  REQUIRE(out.ok());
  return out->substr(0, out->find(' '));
}

std::vector<Envelope> ReadAll(EventLog& log) {
  std::vector<Envelope> all;
  Seq from(1);
  while (true) {
    Result<std::vector<Envelope>> part = log.Read(from, 1000);
    INFO(part.status().ToString());
    REQUIRE(part.ok());
    if (part->empty()) return all;
    from = part->back().seq.next();
    for (auto& e : *part) all.push_back(std::move(e));
  }
}

namespace {

// Reserves `port` for 10 minutes across processes by a file in
// ${TMPDIR:-/tmp}/chronova-ports, as tools/free_port.py does, so that tests
// running at once (ctest -j) are never handed the same port before its server
// binds it. False if another process holds it.
bool ReservePort(int port) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/chronova-ports";
  if (mkdir(dir.c_str(), 01777) == 0) chmod(dir.c_str(), 01777);
  const std::string path = dir + "/" + std::to_string(port);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
    if (fd >= 0) {
      close(fd);
      return true;
    }
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) continue;  // released meanwhile: try again
    if (time(nullptr) - st.st_mtime < 600) return false;
    unlink(path.c_str());  // an expired reservation
  }
  return false;
}

}  // namespace

int FreePort() {
  // Below the kernel's ephemeral range (32768-60999), as tools/free_port.py: a
  // port picked by binding port 0 could be taken as the local port of an
  // outgoing connection before its server binds it.
  // Never the same port twice in one process: a cluster picks all its ports
  // before any of its servers binds one.
  static std::mt19937 rng{std::random_device{}()};
  static std::set<int> given;
  static std::mutex mu;  // protects rng, given
  std::lock_guard<std::mutex> l(mu);
  std::uniform_int_distribution<int> pick(20000, 32767);
  for (int attempt = 0; attempt < 3000; ++attempt) {
    const int port = pick(rng);
    if (!given.insert(port).second) continue;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (free && ReservePort(port)) return port;
  }
  FAIL("no free loopback port in 20000-32767");
  return 0;
}

void ActivateOnHost(EventLog& log, Timestamp now, const std::string& instance_id,
                    const std::string& host) {
  EventMeta meta{now, RequestId("req-seed"), Seq(),
                 Actor{UserId("admin"), ProjectId("admin"), {"admin"}}};
  int n = 0;
  for (const Event& e :
       std::vector<Event>{InstanceScheduled{HostName(host)}, BuildStarted{HostName(host)},
                          InstanceSpawned{HostName(host), "d"}}) {
    AppendRequest req;
    req.stream = InstanceStream(InstanceId(instance_id));  // core/envelope.h
    req.key = IdempotencyKey("activate-" + instance_id + std::to_string(n++));
    req.events.push_back(MakeNewEvent(e, meta));
    REQUIRE(log.Append(req).ok());
  }
}

RawHttpReply RawHttpExchange(int port, const std::string& request, int timeout_s) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval tv{timeout_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  RawHttpReply reply;
  size_t header_end = std::string::npos;
  long content_length = -1;
  std::vector<char> buf(65536);
  for (;;) {
    if (header_end != std::string::npos && content_length >= 0 &&
        raw.size() >= header_end + 4 + static_cast<size_t>(content_length)) {
      break;
    }
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    raw.append(buf.data(), static_cast<size_t>(n));
    if (header_end == std::string::npos &&
        (header_end = raw.find("\r\n\r\n")) != std::string::npos) {
      std::string head = raw.substr(0, header_end);
      size_t line_end = head.find("\r\n");
      reply.status = std::stoi(head.substr(head.find(' ') + 1, 3));
      size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        size_t eol = head.find("\r\n", pos);
        if (eol == std::string::npos) eol = head.size();
        std::string line = head.substr(pos, eol - pos);
        size_t colon = line.find(':');
        if (colon != std::string::npos) {
          std::string name = line.substr(0, colon);
          for (char& c : name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          std::string value = line.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.erase(0, 1);
          reply.headers[name] = value;
        }
        pos = eol + 2;
      }
      if (reply.headers.count("content-length")) {
        content_length = std::stol(reply.headers["content-length"]);
      } else if (reply.status == 204 || reply.status == 304) {
        content_length = 0;
      }
    }
  }
  close(fd);
  REQUIRE(header_end != std::string::npos);
  reply.body = raw.substr(header_end + 4);
  return reply;
}

std::unique_ptr<RocksDbEventLog> OpenTestLog(const std::string& path) {
  RocksDbLogOptions o;
  o.path = path;
  o.sync = false;
  return RocksDbEventLog::Open(o).value();
}

}  // namespace chronova::testing
