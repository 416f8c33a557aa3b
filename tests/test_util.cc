#include "tests/test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

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

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace chronova::testing
