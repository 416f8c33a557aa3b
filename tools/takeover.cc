#include "tools/takeover.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/env.h"
#include "eventstore/log_factory.h"
#include "projections/projection_runner.h"
#include "projections/projection_store.h"
#include "projections/read_models.h"

extern char** environ;

namespace chronova {
namespace {

// "pid=123;compute=5;identity=6": the handover, in the successor's environment.
constexpr const char* kHandoverVariable = "CHRONOVA_HANDOVER";

// The successor asks the predecessor to stop once its read models are this
// close to the log's head: the rest it folds after the swap, while waiting
// connections queue.
constexpr uint64_t kCloseBehind = 500;

void Info(const std::string& message) {
  Env::Default()->Info({.role = "chronovad"}, message);
}

std::string NextDir(const NodeOptions& o) {
  return o.log.state_dir + "/projections.next";
}

}  // namespace

Result<pid_t> StartSuccessor(const std::string& exe, const std::vector<std::string>& argv,
                             const std::map<std::string, int>& listen_fds) {
  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls (this process has many threads).
  std::string handover =
      std::string(kHandoverVariable) + "=pid=" + std::to_string(getpid());
  std::vector<int> keep;
  for (const auto& [name, fd] : listen_fds) {
    handover += ";" + name + "=" + std::to_string(fd);
    keep.push_back(fd);
  }
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, kHandoverVariable, std::strlen(kHandoverVariable)) != 0)
      env_strings.emplace_back(*e);
  }
  env_strings.push_back(handover);
  std::vector<char*> envp, args;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (std::string& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  const int max_fd = files.rlim_cur == RLIM_INFINITY || files.rlim_cur > 65536
                         ? 65536
                         : static_cast<int>(files.rlim_cur);

  pid_t pid = fork();
  if (pid < 0) return Status::Unavailable(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Every descriptor but stdio and the listeners closes at exec: the
    // predecessor's connections, files and log must not live on in the child
    // (a client's connection would never see its FIN). Kernels before 5.11
    // lack close_range's CLOEXEC: then one by one.
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int fd = 3; fd < max_fd; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    for (int fd : keep) fcntl(fd, F_SETFD, 0);
    execve(exe.c_str(), args.data(), envp.data());
    _exit(127);
  }
  return pid;
}

std::optional<Handover> TakeHandover() {
  const char* value = std::getenv(kHandoverVariable);
  if (value == nullptr) return std::nullopt;
  Handover h;
  std::string s = value;
  unsetenv(kHandoverVariable);
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(';', start);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(start, end - start);
    size_t eq = item.find('=');
    if (eq != std::string::npos) {
      const std::string name = item.substr(0, eq);
      const int n = std::atoi(item.c_str() + eq + 1);
      if (name == "pid") {
        h.predecessor = static_cast<pid_t>(n);
      } else if (n > 2) {
        h.listen_fds[name] = n;
        fcntl(n, F_SETFD, FD_CLOEXEC);  // not passed on any further
      }
    }
    start = end + 1;
  }
  if (h.predecessor <= 0) return std::nullopt;
  return h;
}

namespace {

Status BuildNextReadModels(const NodeOptions& o) {
  if (o.log.backend != LogBackend::kRocksDb) {
    return Status::InvalidArgument(
        "a restart without downtime needs the embedded log; on JetStream, restart one "
        "api process at a time (docs/operations.md)");
  }
  const std::string& dir = o.log.state_dir;
  std::error_code ec;
  std::filesystem::remove_all(NextDir(o), ec);
  std::filesystem::remove_all(dir + "/handover-secondary", ec);
  LogConfig lc = o.log;
  lc.read_only = true;
  lc.secondary_path = dir + "/handover-secondary";
  CHRONOVA_ASSIGN_OR_RETURN(std::unique_ptr<EventLog> log, OpenEventLog(lc));
  ReadModels models;
  const std::string signature = ProjectionsSignature(models.All());
  {
    // The bulk of the history: folded in memory, written in sorted files.
    ProjectionStoreOptions bulk;
    bulk.path = NextDir(o);
    bulk.bulk = true;
    CHRONOVA_ASSIGN_OR_RETURN(auto store, ProjectionStore::Open(bulk, models.All()));
    CHRONOVA_ASSIGN_OR_RETURN(Seq head, log->Head());
    Info("building the read models '" + signature + "' in " + NextDir(o) +
         " while the running daemon serves: " + std::to_string(head.value()) + " events");
    auto last = std::chrono::steady_clock::now();
    CatchUpOptions co;
    co.progress = [&](Seq reached) {
      auto now = std::chrono::steady_clock::now();
      if (now - last < std::chrono::seconds(5)) return;
      last = now;
      Info("read models for the successor: seq " + std::to_string(reached.value()) +
           " of " + std::to_string(head.value()));
    };
    CHRONOVA_RETURN_IF_ERROR(CatchUp(*log, *store, co));
  }
  // What the running daemon appended meanwhile, until close behind its head.
  ProjectionStoreOptions live;
  live.path = NextDir(o);
  CHRONOVA_ASSIGN_OR_RETURN(auto store, ProjectionStore::Open(live, models.All()));
  for (int round = 0; round < 100; ++round) {
    CHRONOVA_RETURN_IF_ERROR(CatchUp(*log, *store));
    CHRONOVA_ASSIGN_OR_RETURN(Seq head, log->Head());
    if (head.value() <= store->checkpoint().value() + kCloseBehind) break;
  }
  Info("read models for the successor at seq " +
       std::to_string(store->checkpoint().value()) + ": taking over");
  return Status::Ok();
}

bool StopRequested() {
  sigset_t pending;
  sigpending(&pending);
  return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1;
}

void RemoveScratch(const NodeOptions& o) {
  std::error_code ec;
  std::filesystem::remove_all(NextDir(o), ec);
  std::filesystem::remove_all(o.log.state_dir + "/handover-secondary", ec);
}

}  // namespace

Status PrepareReadModels(const NodeOptions& o) {
  Status st = BuildNextReadModels(o);
  if (!st.ok()) RemoveScratch(o);
  return st;
}

Status TakeOver(const Handover& h, const NodeOptions& o, int timeout_s) {
  // The last point of return: the running daemon still serves.
  if (StopRequested()) {
    RemoveScratch(o);
    return Status::Unavailable("asked to stop before taking over");
  }
  // It started this process: while it is this one's parent it is alive, and
  // its pid is its own (not reused).
  if (getppid() != h.predecessor || kill(h.predecessor, SIGTERM) != 0) {
    RemoveScratch(o);
    return Status::Unavailable("the running daemon (pid " +
                               std::to_string(h.predecessor) + ") is gone");
  }
  // From here on nothing else serves: failures are logged, never fatal.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  bool killed = false;
  while (getppid() == h.predecessor) {
    if (!killed && std::chrono::steady_clock::now() > deadline) {
      Env::Default()->Warn({.role = "chronovad"},
                           "pid " + std::to_string(h.predecessor) + " did not stop in " +
                               std::to_string(timeout_s) + " s: SIGKILL");
      kill(h.predecessor, SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const std::string& dir = o.log.state_dir;
  std::error_code ec;
  std::filesystem::remove_all(dir + "/handover-secondary", ec);
  std::filesystem::remove_all(dir + "/projections.old", ec);
  std::filesystem::rename(dir + "/projections", dir + "/projections.old", ec);
  if (!ec || !std::filesystem::exists(dir + "/projections")) {
    std::filesystem::rename(NextDir(o), dir + "/projections", ec);
  }
  if (ec) {
    // The old read models (or none) stay: rebuilt at start if another build's.
    Env::Default()->Warn({.role = "chronovad"},
                         "could not swap in the new read models (" + ec.message() +
                             "): starting on " + dir + "/projections");
  }
  std::filesystem::remove_all(dir + "/projections.old", ec);
  Info("took over from pid " + std::to_string(h.predecessor));
  return Status::Ok();
}

}  // namespace chronova
