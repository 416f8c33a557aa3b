// RunProgram: runs an external program (qemu-img) directly — fork/exec through
// posix_spawnp, never a shell — and returns what it printed, so a failure can
// carry the program's own words into a Status.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace chronova {

// Runs argv[0] (looked up on PATH) with argv, stdin from /dev/null, and waits
// for it. Returns its stdout when it exits 0. Otherwise Internal with
// "<argv[0]> ... exited with status N: <stderr>" (stderr trimmed to 4 KiB);
// NotFound if the program cannot be started. Thread-safe.
Result<std::string> RunProgram(const std::vector<std::string>& argv);

}  // namespace chronova
