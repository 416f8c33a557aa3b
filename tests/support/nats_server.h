// NatsServer: a real single-node nats-server with JetStream for tests, started in
// a directory the test owns (config, store and log file live there) on free
// loopback ports. It can be stopped and restarted on the same ports and store.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chronova::testing {

// A node of a NatsCluster: its own name and cluster port, routes to every node.
struct NatsClusterMember {
  std::string name;
  int cluster_port = 0;
  std::vector<int> route_ports;  // every node's cluster port, its own included
};

class NatsServer {
 public:
  // Picks the ports and starts the server; the test FAILs (never skips) if
  // nats-server is missing or does not become healthy.
  explicit NatsServer(std::string dir);
  // The same with `extra_config` appended to its configuration (e.g. include
  // lines for an authorization block or TLS); `tls`: url() says tls://.
  NatsServer(std::string dir, std::string extra_config, bool tls);
  // A cluster node, not started yet: Launch every node, then WaitHealthy each
  // (a node is healthy only once the cluster has a meta leader).
  NatsServer(std::string dir, NatsClusterMember member);
  ~NatsServer();  // stops the server
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  // Starts the server and waits until /healthz answers 200. REQUIRES: stopped.
  void Start();
  // Start in two steps: the process, then its health.
  void Launch();
  void WaitHealthy();
  // SIGTERM, then SIGKILL after 5 s; waits for the process. No-op when stopped.
  void Stop();
  // Stop + Start on the same ports and store directory.
  void Restart();

  std::string url() const;  // nats://127.0.0.1:<port> (tls:// with TLS)
  int port() const { return port_; }
  int http_port() const { return http_port_; }
  bool running() const { return pid_ > 0; }

 private:
  void WriteConfig() const;
  const std::string dir_;
  const std::string binary_;
  std::optional<NatsClusterMember> member_;
  std::string extra_config_;
  bool tls_ = false;
  int port_ = 0;
  int http_port_ = 0;
  pid_t pid_ = -1;
};

// A cluster of `nodes` nats-servers with JetStream on loopback (NOTES: each
// node its own server_name, ports and routes to all), healthy once built and
// its JetStream meta group holds every node (a node nats-server 2.10 leaves out
// is restarted; tools/nats_meta.py says why).
class NatsCluster {
 public:
  NatsCluster(const std::string& dir, int nodes);
  NatsServer& node(size_t i) { return *nodes_[i]; }
  size_t size() const { return nodes_.size(); }
  // "nats://127.0.0.1:a,nats://127.0.0.1:b,..." for a client of the cluster.
  std::string urls() const;

 private:
  std::vector<std::unique_ptr<NatsServer>> nodes_;
};

// The path of the nats-server binary (PATH, then /usr/sbin); empty if not found.
std::string FindNatsServer();

}  // namespace chronova::testing
