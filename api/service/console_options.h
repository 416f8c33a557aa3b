// The Compute API's console settings (nova.conf's [vnc], [spice],
// [serial_console] and [consoleauth]), apart so that chronovad's configuration
// names them without the service.
#pragma once

#include <cstdint>
#include <string>

namespace chronova {

// nova.conf's console settings: which consoles are on and the public URL of
// each console proxy (the URLs the API answers with carry the token).
struct ConsoleOptions {
  bool vnc_enabled = true;  // [vnc] enabled
  std::string novncproxy_base_url = "http://127.0.0.1:6080/vnc_lite.html";
  bool spice_enabled = false;  // [spice] enabled
  std::string html5proxy_base_url = "http://127.0.0.1:6082/spice_auto.html";
  bool serial_enabled = false;  // [serial_console] enabled
  std::string serial_base_url = "ws://127.0.0.1:6083/";
  int64_t token_ttl_s = 600;  // [consoleauth] token_ttl
};

}  // namespace chronova
