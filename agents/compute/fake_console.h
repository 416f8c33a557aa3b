// FakeConsoles: the consoles of guests that have no real screen — the fake
// driver's and libvirt's test:/// driver's — served on loopback, as Nova's fake
// driver reports a console of its own, so the console API, the proxies and
// Tempest's console tests run without QEMU:
//   - "vnc": an RFB 3.8 server (security type None) whose 320x200 framebuffer
//     shows a fixed pattern, named after the guest;
//   - "serial": a line naming the guest, then everything written echoed back;
//   - "spice": a socket that echoes (no SPICE protocol: enough for the proxy's
//     relay, not for a SPICE client).
// Each (guest, kind) gets its own listening port on first use, until Close.
//
// Thread-safety: every method may be called from several threads at once.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agents/compute/hypervisor.h"

namespace chronova {

class FakeConsoles {
 public:
  FakeConsoles() = default;
  ~FakeConsoles();  // closes every console
  FakeConsoles(const FakeConsoles&) = delete;
  FakeConsoles& operator=(const FakeConsoles&) = delete;

  // The endpoint of the guest's console of `kind`, started on first use.
  // InvalidArgument for another kind; Unavailable if no port can be bound.
  Result<ConsoleEndpoint> Open(const InstanceId& id, const std::string& guest_name,
                               std::string_view kind);
  // Stops the guest's consoles (the guest is gone); connections are closed.
  void Close(const InstanceId& id);

  // The RFB 3.8 server side of one connection (also a test's fake VNC server):
  // handshake, ServerInit naming `name`, then a full frame for each
  // non-incremental update request; returns when the peer closes.
  static void ServeRfb(int fd, const std::string& name);

 private:
  struct Listener;
  std::mutex mu_;  // protects listeners_
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Listener>> listeners_;
};

}  // namespace chronova
