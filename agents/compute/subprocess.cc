// RunProgram: posix_spawnp with stdout and stderr on pipes, both drained with
// poll() so a chatty program can never block on a full pipe.
#include "agents/compute/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace chronova {
namespace {

constexpr size_t kMaxStderr = 4096;

std::string CommandLine(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

// Closes a pipe's ends when it goes out of scope.
struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
  void CloseEnd(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

}  // namespace

Result<std::string> RunProgram(const std::vector<std::string>& argv) {
  if (argv.empty()) return Status::InvalidArgument("run: empty command");
  const std::string what = CommandLine(argv);
  Pipe out, err;
  if (::pipe2(out.fd, O_CLOEXEC) != 0 || ::pipe2(err.fd, O_CLOEXEC) != 0) {
    return Status::Internal("run " + what + ": pipe: " + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err.fd[1], 2);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc =
      posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return Status::NotFound("run " + what + ": cannot start " + argv[0] + ": " +
                            std::strerror(rc));
  }
  out.CloseEnd(1);
  err.CloseEnd(1);

  std::string stdout_text, stderr_text;
  pollfd fds[2] = {{out.fd[0], POLLIN, 0}, {err.fd[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[8192];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;  // EOF (or an error): stop watching this pipe
        --open_fds;
        continue;
      }
      if (i == 0) {
        stdout_text.append(buf, static_cast<size_t>(n));
      } else if (stderr_text.size() < kMaxStderr) {
        stderr_text.append(
            buf, std::min(static_cast<size_t>(n), kMaxStderr - stderr_text.size()));
      }
    }
  }
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) {
      return Status::Internal("run " + what + ": waitpid: " + std::strerror(errno));
    }
  }
  while (!stderr_text.empty() &&
         (stderr_text.back() == '\n' || stderr_text.back() == ' '))
    stderr_text.pop_back();
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return stdout_text;
  const std::string how =
      WIFEXITED(wstatus) ? "exited with status " + std::to_string(WEXITSTATUS(wstatus))
                         : "killed by signal " + std::to_string(WTERMSIG(wstatus));
  return Status::Internal(what + " " + how +
                          (stderr_text.empty() ? "" : ": " + stderr_text));
}

}  // namespace chronova
