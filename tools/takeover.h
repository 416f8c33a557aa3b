// Restarting without downtime (docs/operations.md, "Restarting without
// downtime"): a running chronovad all-in-one, sent SIGUSR2, starts its
// successor — its own command line, run from the binary now at its path (an
// upgrade) — and hands it its listening sockets. The successor builds every
// read model afresh from the log (opened as a secondary while the predecessor
// still writes it) into <state_dir>/projections.next, follows the log until
// it is close behind, then asks the predecessor to stop (SIGTERM: it stops
// accepting, answers what it began, and closes the log), takes over the log,
// swaps the new read models in, and accepts on the same sockets. Connections
// that arrive meanwhile wait in the sockets' queues; none is refused.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "tools/node.h"

namespace chronova {

// What a successor learns from its predecessor (the environment).
struct Handover {
  pid_t predecessor = 0;
  std::map<std::string, int> listen_fds;  // NodeOptions::listen_fds
};

// The predecessor's side: forks and execs `exe` with `argv` and the handover in
// its environment, every other descriptor closed. The child's pid.
Result<pid_t> StartSuccessor(const std::string& exe, const std::vector<std::string>& argv,
                             const std::map<std::string, int>& listen_fds);

// The successor's side: the handover this process was started with, if any
// (and removes it from the environment, so nothing started later inherits it).
std::optional<Handover> TakeHandover();

// Builds the read models of `o` into <state_dir>/projections.next from the log
// the predecessor writes, until they are within a few hundred events of its
// head. Logs its progress. REQUIRES: the embedded (RocksDB) log.
Status PrepareReadModels(const NodeOptions& o);

// Asks the predecessor to stop, waits until it has (SIGKILL after
// `timeout_s`), and swaps projections.next in for the read models. Node::Start
// then catches up with the last events and serves on the handed-over sockets.
// Cancelled (a SIGINT or SIGTERM is pending) or Unavailable (the predecessor
// is gone) before it signals: nothing changed, the predecessor serves on.
// Once it has signalled it returns OK (what went wrong is logged).
Status TakeOver(const Handover& h, const NodeOptions& o, int timeout_s);

}  // namespace chronova
