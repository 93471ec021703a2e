#ifndef KBO_TESTS_SUPPORT_SERVER_PROCESS_H_
#define KBO_TESTS_SUPPORT_SERVER_PROCESS_H_

// A real `kbo-server` for integration tests (POSIX, tests only):
//   ServerProcess server(tmp.File("data"));    // --data DIR serve --listen
//   127.0.0.1:0 REQUIRE(server.running()); HttpReply r =
//   HttpCall(server.port(), "GET", "/v1/health");
// It learns the port from the one "listening on 127.0.0.1:PORT" line the
// server prints, sends stderr (the request log) to `<data>-server.log`, and
// stops the server with SIGTERM (then SIGKILL after 10 s) in its destructor.
// Also: RunServerCli(args) runs `kbo-server` like a script would, and
// HttpCall / SignedHeaders speak the protocol over a plain socket, so tests
// need no HTTP library.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "shared/error_body.h"
#include "shared/protocol.h"
#include "shared/signing.h"
#include "shared/uuid.h"
#include "tests/support/run_cli.h"
#ifndef KBO_NO_TEST_DB
#include "tests/support/test_db.h"
#else
// Benchmarks (tools/bench) run without the tests' libraries and name their
// database themselves (ServerProcess's global_args: `--db URL`).
namespace kbo::testing {
inline std::vector<std::string> WithTestDb(std::vector<std::string> args) { return args; }
}  // namespace kbo::testing
#endif

namespace kbo::testing {

#ifdef KBO_BINARY_DIR
inline std::string KboServerBinary() {
  return std::string(KBO_BINARY_DIR) + "/server/kbo-server";
}

// The built `kbo-server` with `args` (argv[1..]), e.g.
// RunServerCli({"--data", dir, "token", "create", "--role", "trainer", ...}).
// With the tests on PostgreSQL, `--db` is added for the `--data` folder
// (tests/support/test_db.h). `stdin_path`: a file to read as standard input.
inline CliResult RunServerCli(
    const std::vector<std::string>& args,
    const std::map<std::string, std::string>& env = {},
    const std::string& stdin_path = "") {
  return RunBinary(KboServerBinary(), WithTestDb(args), env, stdin_path);
}
#endif

class ServerProcess {
 public:
#ifdef KBO_BINARY_DIR
  // Starts `kbo-server --data <data_dir> serve --listen 127.0.0.1:0 <extra>`.
  explicit ServerProcess(std::string data_dir,
                         std::vector<std::string> extra_args = {})
      : ServerProcess(KboServerBinary(), std::move(data_dir),
                      std::move(extra_args)) {}
#endif
  // `global_args`: options before the command, after `--data DIR` (the
  // benchmarks' `--db URL`).
  ServerProcess(std::string binary, std::string data_dir,
                std::vector<std::string> extra_args,
                std::vector<std::string> global_args = {})
      : binary_(std::move(binary)),
        data_dir_(std::move(data_dir)),
        extra_args_(std::move(extra_args)),
        global_args_(std::move(global_args)) {
    Start();
  }
  ~ServerProcess() { Stop(); }
  // The serve options of the next Start() (after Stop): the same data, a
  // server started another way.
  void set_extra_args(std::vector<std::string> args) { extra_args_ = std::move(args); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server (again, after Stop or Kill) on a new free port. False
  // if it did not print its "listening on" line within 15 s (see log()).
  bool Start() {
    if (pid_ > 0) return true;
    std::vector<std::string> argv_store = {binary_, "--data", data_dir_};
    argv_store.insert(argv_store.end(), global_args_.begin(), global_args_.end());
    argv_store.insert(argv_store.end(), {"serve", "--listen", "127.0.0.1:0"});
    argv_store.insert(argv_store.end(), extra_args_.begin(), extra_args_.end());
    argv_store = WithTestDb(std::move(argv_store));
    std::vector<char*> argv;
    for (std::string& a : argv_store) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log_path = log_path_();
    int out_pipe[2];
    if (pipe(out_pipe) != 0) return false;
    const pid_t pid = fork();
    if (pid < 0) {
      close(out_pipe[0]);
      close(out_pipe[1]);
      return false;
    }
    if (pid == 0) {
      const int null_fd = open("/dev/null", O_RDONLY);
      if (null_fd >= 0) dup2(null_fd, 0);
      const int log_fd =
          open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (log_fd >= 0) dup2(log_fd, 2);
      dup2(out_pipe[1], 1);
      close(out_pipe[0]);
      close(out_pipe[1]);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out_pipe[1]);
    pid_ = pid;
    // Read stdout until the one "listening on HOST:PORT" line.
    std::string line;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (line.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd pfd{out_pipe[0], POLLIN, 0};
      const int rc = poll(&pfd, 1, static_cast<int>(left.count()));
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) break;
      char buf[256];
      const ssize_t n = read(out_pipe[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    close(out_pipe[0]);  // the server prints nothing else on stdout
    const std::string prefix = "listening on 127.0.0.1:";
    if (line.rfind(prefix, 0) != 0) {
      Kill();
      return false;
    }
    port_ = std::atoi(line.c_str() + prefix.size());
    return port_ > 0;
  }

  // SIGTERM, then waits up to 10 s (SIGKILL after). Returns the exit code
  // (128 + signal if killed), or -1 if it was not running.
  int Stop() { return Signal(SIGTERM, std::chrono::seconds(10)); }
  // SIGKILL: a crash, for fault tests. Returns 128 + SIGKILL.
  int Kill() { return Signal(SIGKILL, std::chrono::seconds(10)); }

  bool running() const { return pid_ > 0 && port_ > 0; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }
  const std::string& data_dir() const { return data_dir_; }
  // The server's stderr so far (request log, errors).
  std::string log() const {
    std::ifstream in(log_path_());
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string log_path_() const { return data_dir_ + "-server.log"; }

  int Signal(int sig, std::chrono::seconds grace) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + grace;
    for (;;) {
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (r < 0 && errno != EINTR) break;
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    port_ = 0;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
  }

  std::string binary_;
  std::string data_dir_;
  std::vector<std::string> extra_args_;
  std::vector<std::string> global_args_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// ---- A minimal HTTP/1.1 client over a socket (tests only)

struct HttpReply {
  int status = 0;                              // 0 if the exchange failed
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// One request with "Connection: close" to 127.0.0.1:port; reads the whole
// reply. `target` is the path with its query, sent exactly as given.
inline HttpReply HttpCall(
    int port, const std::string& method, const std::string& target,
    const std::string& body = "",
    const std::map<std::string, std::string>& headers = {}) {
  HttpReply reply;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return reply;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return reply;
  }
  std::string req = method + " " + target +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Connection: close\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n";
  req += body;
  size_t sent = 0;
  while (sent < req.size()) {
    const ssize_t n =
        send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server may refuse early (413); read its answer
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[65536];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos || raw.compare(0, 9, "HTTP/1.1 ") != 0)
    return reply;
  reply.status = std::atoi(raw.c_str() + 9);
  size_t pos = raw.find("\r\n") + 2;
  while (pos < end) {
    const size_t eol = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, eol - pos);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      reply.headers[name] = line.substr(v);
    }
    pos = eol + 2;
  }
  reply.body = raw.substr(end + 4);
  return reply;
}

// The X-KBO-* headers a device puts on a request (docs/protocol.md).
inline std::map<std::string, std::string> SignedHeaders(
    const KeyPair& key, const Uuid& device, const std::string& method,
    const std::string& target, const std::string& body, int64_t time_ms,
    std::string nonce = "") {
  if (nonce.empty())
    nonce = HexEncode(Sha256(Uuid::Random().ToString())).substr(0, 32);
  const std::string canonical =
      protocol::CanonicalRequest(method, target, time_ms, nonce, body);
  return {{protocol::kDeviceHeader, device.ToString()},
          {protocol::kTimeHeader, std::to_string(time_ms)},
          {protocol::kNonceHeader, nonce},
          {protocol::kSignatureHeader,
           SignatureToHex(key.Sign(kRequestDomain, canonical))}};
}

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A request signed as `device` with `key` (now, a fresh nonce unless given),
// an octet-stream body, `extra` headers added: tests that speak the device
// protocol by hand.
inline HttpReply SignedCall(int port, const KeyPair& key, const Uuid& device,
                            const std::string& method, const std::string& target,
                            const std::string& body,
                            std::map<std::string, std::string> extra = {},
                            int64_t time_ms = 0, const std::string& nonce = "") {
  auto headers = SignedHeaders(key, device, method, target, body,
                               time_ms ? time_ms : NowMs(), nonce);
  headers.insert(extra.begin(), extra.end());
  headers["Content-Type"] = "application/octet-stream";
  return HttpCall(port, method, target, body, headers);
}

// An error answer's "error" (its reason, or its code's name), read with the
// one parser (shared/error_body.h); "" if the body is not an error body.
inline std::string ErrorOf(const HttpReply& r) {
  Status e;
  if (!ParseErrorBody(r.body, r.status, &e).ok()) return "";
  return std::string(e.ReasonOrCodeName());
}

}  // namespace kbo::testing

#endif  // KBO_TESTS_SUPPORT_SERVER_PROCESS_H_
