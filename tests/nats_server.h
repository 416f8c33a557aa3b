// NatsServer: a real single-node nats-server with JetStream for tests, started in
// a directory the test owns (config, store and log file live there) on free
// loopback ports. It can be stopped and restarted on the same ports and store.
#pragma once

#include <sys/types.h>

#include <string>

namespace chronova::testing {

class NatsServer {
 public:
  // Picks the ports and starts the server; the test FAILs (never skips) if
  // nats-server is missing or does not become healthy.
  explicit NatsServer(std::string dir);
  ~NatsServer();  // stops the server
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  // Starts the server and waits until /healthz answers 200. REQUIRES: stopped.
  void Start();
  // SIGTERM, then SIGKILL after 5 s; waits for the process. No-op when stopped.
  void Stop();
  // Stop + Start on the same ports and store directory.
  void Restart();

  std::string url() const;  // nats://127.0.0.1:<port>
  int port() const { return port_; }
  bool running() const { return pid_ > 0; }

 private:
  void WriteConfig() const;
  const std::string dir_;
  const std::string binary_;
  int port_ = 0;
  int http_port_ = 0;
  pid_t pid_ = -1;
};

// The path of the nats-server binary (PATH, then /usr/sbin); empty if not found.
std::string FindNatsServer();

}  // namespace chronova::testing
