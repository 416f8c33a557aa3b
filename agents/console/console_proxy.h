// ConsoleProxy: one of Nova's console proxies (nova-novncproxy,
// nova-spicehtml5proxy, nova-serialproxy) on one port. It serves the console
// client's pages (noVNC's, spice-html5's) from a directory, and upgrades a
// request carrying a token (`?token=` or a `token` cookie) to a websocket that
// it relays to the guest's console on its compute host:
//   1. the Origin, when present, must name the request's own host or one of
//      allowed_origins, with the public URL's scheme (else 403, no upgrade);
//   2. the websocket is accepted, then the token resolved (`authorize`: its
//      hash looked up, the compute host asked whether that port is still the
//      guest's console); a bad token closes the connection with nothing
//      relayed, as Nova's proxy does;
//   3. for VNC, the proxy speaks RFB 3.8 with the browser (security type None)
//      and negotiates with the guest's VNC server itself (agents/console/rfb.h),
//      so no browser talks to QEMU's server directly; SPICE and serial are
//      relayed as they are;
//   4. with enforce_session_timeout, the session ends when the token expires.
// Everything runs on one I/O thread; the blocking `authorize` runs on a worker
// pool, so a slow compute host holds up only its own session. Requests are
// bounded in header size and time; sessions in number.
//
// Thread-safety: Start and Stop from one thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace chronova {

// The console a token opens.
struct ConsoleTarget {
  std::string host;
  int port = 0;
  std::string internal_access_path;
  Timestamp expires_at;  // the token's expiry
};

struct ConsoleProxyOptions {
  std::string name = "novnc";  // in logs and metrics
  // Where to listen: "http://127.0.0.1:6080" (the scheme is http; put TLS in
  // front, docs/operations.md).
  std::string listen_url = "http://127.0.0.1:6080";
  // A listening socket handed over by a predecessor (docs/operations.md,
  // "Restarting without downtime"), served instead of binding; -1: bind.
  int listen_fd = -1;
  // The console client's pages, served at "/<file>" (e.g. /usr/share/novnc);
  // empty: none (the serial proxy).
  std::string static_dir;
  // "vnc": the RFB security proxy; "spice", "serial": bytes relayed as they are.
  std::string console_kind = "vnc";
  // The scheme of the proxy's public URL ("http"/"https", or "ws"/"wss" for the
  // serial proxy): an Origin must use the matching one.
  std::string public_scheme = "http";
  // [console] allowed_origins: hosts an Origin may name besides the request's.
  std::vector<std::string> allowed_origins;
  // [consoleauth] enforce_session_timeout.
  bool enforce_session_timeout = false;
  // Resolves a token (REQUIRED). NotFound or PermissionDenied for a token that
  // opens nothing; may block (it runs on a worker).
  std::function<Result<ConsoleTarget>(const std::string& token)> authorize;
  int max_sessions = 256;
  int request_timeout_ms = 10000;  // the upgrade request, and the RFB handshake
};

class ConsoleProxy {
 public:
  ConsoleProxy();
  ~ConsoleProxy();  // stops
  ConsoleProxy(const ConsoleProxy&) = delete;
  ConsoleProxy& operator=(const ConsoleProxy&) = delete;

  // Binds and starts serving. InvalidArgument for a bad URL or missing
  // authorize; Unavailable if the address cannot be bound.
  Status Start(ConsoleProxyOptions options);
  // Closes the listener and every session; idempotent.
  void Stop();
  // The bound port (after Start).
  int port() const;
  // The listening socket (to hand over to a successor); -1 when stopped.
  int listen_fd();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether a websocket request's Origin may open a console (Nova's
// NovaProxyRequestHandler.new_websocket_client): no Origin is fine; otherwise
// its host must be the Host header's host or one of `allowed`, and its scheme
// `public_scheme` (http and ws count as one, https and wss as another).
// X-Forwarded-Proto, when a TLS terminator sets it, stands for the Origin's
// scheme.
bool ConsoleOriginAllowed(const std::string& origin, const std::string& host_header,
                          const std::string& forwarded_proto,
                          const std::string& public_scheme,
                          const std::vector<std::string>& allowed);

// The token of a console request: `token` in the query string, else the
// `token` cookie (spice-html5's page sets it); "" if none.
std::string ConsoleTokenOf(const std::string& target, const std::string& cookie_header);

}  // namespace chronova
