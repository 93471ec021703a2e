#ifndef KBO_TESTS_SUPPORT_RUN_CLI_H_
#define KBO_TESTS_SUPPORT_RUN_CLI_H_

// Runs a real binary (by default the built `kbo`) the way a script would:
// argv without a shell, stdin from /dev/null, stdout and stderr captured
// separately, and the exit code. For tests only (POSIX).

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

extern char** environ;

namespace kbo::testing {

struct CliResult {
  int exit_code = -1;  // 128 + signal if killed; -1 if it could not start
  std::string out;     // stdout, byte for byte
  std::string err;     // stderr
  long max_rss_kib = 0;  // the child's peak resident memory (getrusage)
};

#ifdef KBO_BINARY_DIR
inline std::string KboBinary() {
  return std::string(KBO_BINARY_DIR) + "/client/kbo";
}
#endif

// Runs `binary` with `args` (argv[1..]). `env` overrides or adds
// environment variables; a value of "\x01unset" removes one. Standard input
// is `stdin_path` if given (a file the test wrote), else /dev/null.
inline CliResult RunBinary(const std::string& binary,
                           const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env = {},
                           const std::string& stdin_path = "") {
  CliResult result;
  // Everything the child needs is built before fork(): after it, the child
  // only calls async-signal-safe functions.
  std::vector<std::string> argv_store;
  argv_store.push_back(binary);
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    if (env.count(name) == 0) env_store.push_back(entry);
  }
  for (const auto& [name, value] : env) {
    if (value != "\x01unset") env_store.push_back(name + "=" + value);
  }
  std::vector<char*> envp;
  for (std::string& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  // A test runner started with its standard streams closed would have the
  // pipes below take fds 0-2, and the child's dup2/close dance would then
  // close the child's own stdin (a password read from the parent's input).
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) == -1) open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
  }
  int out_pipe[2];
  int err_pipe[2];
  if (pipe(out_pipe) != 0) return result;
  if (pipe(err_pipe) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return result;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]})
      close(fd);
    return result;
  }
  if (pid == 0) {
    const int null_fd = open(
        stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]})
      close(fd);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;  // poll ignores negative descriptors
        --open_fds;
      }
    }
  }
  for (const pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  int status = 0;
  struct rusage usage {};
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  result.max_rss_kib = usage.ru_maxrss;
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  return result;
}

#ifdef KBO_BINARY_DIR
// The built `kbo` with `args`.
inline CliResult RunKbo(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env = {}) {
  return RunBinary(KboBinary(), args, env);
}
#endif

}  // namespace kbo::testing

#endif  // KBO_TESTS_SUPPORT_RUN_CLI_H_
