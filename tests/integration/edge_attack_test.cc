// The network edge under attack (issue 9: D2, D3, D4, D6, D7 and the small
// leaks), against the real `kbo-server` and `kbo ui` binaries on loopback.
// Attackers bind their own loopback source address (127.0.0.2, ...), so
// the per-address limits can tell them from the device (127.0.0.1).
// Each test prints what it measured (RSS, times) for docs/security.md.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/field.h"

namespace kbo::testing {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// VmRSS of a process, in KiB (0 if unreadable).
long RssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

// A TCP connection from `source` (a loopback address) to 127.0.0.1:port;
// -1 if it could not connect.
int ConnectFrom(const std::string& source, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &src.sin_addr);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<uint16_t>(port));
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// True once `text` holds a whole response (head and Content-Length body).
bool WholeResponse(const std::string& text) {
  const size_t end = text.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  const size_t at = text.find("Content-Length: ");
  if (at == std::string::npos || at > end) return false;
  return text.size() >= end + 4 + std::strtoull(text.c_str() + at + 16,
                                                nullptr, 10);
}

// What came back for a raw request: the status (0 if the connection closed
// without one) and how long it took until the answer was whole or the
// connection closed.
struct RawReply {
  int status = 0;
  std::string text;
  double seconds = 0;
};

// Sends `request` (stopping early if the server closes), then reads until
// the server closes or `timeout`; both directions are polled together, so
// a refusal mid-send is seen.
RawReply RawExchange(const std::string& source, int port,
                     const std::string& request,
                     std::chrono::milliseconds timeout) {
  RawReply reply;
  const auto start = Clock::now();
  const int fd = ConnectFrom(source, port);
  if (fd < 0) return reply;
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  size_t sent = 0;
  bool open_for_write = true;
  const auto deadline = start + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{fd, static_cast<short>(POLLIN | (open_for_write &&
                                                         sent < request.size()
                                                     ? POLLOUT
                                                     : 0)),
               0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    if (pfd.revents & POLLIN) {
      char buf[16384];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;  // closed (or reset): done
      reply.text.append(buf, static_cast<size_t>(n));
      if (WholeResponse(reply.text)) break;
      continue;
    }
    if (pfd.revents & POLLOUT) {
      const size_t chunk = std::min<size_t>(request.size() - sent, 1 << 16);
      const ssize_t n =
          ::send(fd, request.data() + sent, chunk, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (errno != EAGAIN && errno != EINTR) {
        open_for_write = false;  // refused mid-send: read what it said
      }
      continue;
    }
    if (pfd.revents & (POLLERR | POLLHUP)) break;
  }
  ::close(fd);
  reply.seconds = SecondsSince(start);
  if (reply.text.rfind("HTTP/1.1 ", 0) == 0)
    reply.status = std::atoi(reply.text.c_str() + 9);
  return reply;
}

// A request of `total` bytes of headers, generated as it is sent (200 MB
// are never held in the test either): sends until the server refuses or
// closes. Returns what it answered.
RawReply HugeHeaders(const std::string& source, int port, size_t total,
                     std::chrono::milliseconds timeout) {
  RawReply reply;
  const auto start = Clock::now();
  const int fd = ConnectFrom(source, port);
  if (fd < 0) return reply;
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::string block = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  const std::string line = "X-Pad: " + std::string(1000, 'a') + "\r\n";
  while (block.size() < (1u << 16)) block += line;
  size_t sent = 0, offset = 0;
  const auto deadline = start + timeout;
  bool writing = true;
  while (Clock::now() < deadline) {
    pollfd pfd{fd, static_cast<short>(POLLIN | (writing ? POLLOUT : 0)), 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    if (pfd.revents & POLLIN) {
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      reply.text.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (pfd.revents & POLLOUT) {
      if (sent >= total) {
        writing = false;
        continue;
      }
      const ssize_t n = ::send(fd, block.data() + offset, block.size() - offset,
                               MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        offset = (offset + static_cast<size_t>(n)) % block.size();
        // Headers repeat from the first X-Pad line after the first block.
        if (offset == 0) offset = block.find("X-Pad");
      } else if (errno != EAGAIN && errno != EINTR) {
        writing = false;
      }
      continue;
    }
    if (pfd.revents & (POLLERR | POLLHUP)) break;
  }
  ::close(fd);
  reply.seconds = SecondsSince(start);
  if (reply.text.rfind("HTTP/1.1 ", 0) == 0)
    reply.status = std::atoi(reply.text.c_str() + 9);
  return reply;
}

std::string Get(const std::string& target) {
  return "GET " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
}

// A background process whose stdout is read line by line (kbo ui, a second
// kbo-server). SIGTERM and reaped when destroyed.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int out[2], err[2];
    REQUIRE(::pipe(out) == 0);
    REQUIRE(::pipe(err) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::close(out[0]);
      ::close(err[0]);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      (void)Wait(std::chrono::seconds(10));
    }
    ::close(out_);
    ::close(err_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Reads stdout until it holds `text` (true) or `timeout` passes or the
  // child closes it (false).
  bool WaitForOutput(const std::string& text, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (out_text_.find(text) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd pfd{out_, POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[512];
      const ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) return out_text_.find(text) != std::string::npos;
      out_text_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  // Waits for the exit; its code (128 + signal), or -1 if still running
  // after `timeout` (then it is killed).
  int Wait(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    int status = 0;
    for (;;) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (Clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
  }
  std::string Stderr() {
    std::string all;
    char buf[4096];
    ::fcntl(err_, F_SETFL, ::fcntl(err_, F_GETFL) | O_NONBLOCK);
    for (;;) {
      const ssize_t n = ::read(err_, buf, sizeof buf);
      if (n <= 0) break;
      all.append(buf, static_cast<size_t>(n));
    }
    return all;
  }
  const std::string& out() const { return out_text_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  std::string out_text_;
};

// The port in "listening on http://HOST:PORT" or "listening on HOST:PORT".
int PortOf(const std::string& out) {
  const size_t line = out.find("listening on ");
  if (line == std::string::npos) return 0;
  const size_t eol = out.find('\n', line);
  const size_t colon = out.rfind(':', eol);
  return std::atoi(out.c_str() + colon + 1);
}

// `count` connections from one address that send a request head one byte
// at a time, forever: each one the server closes is opened again, unless
// `reconnect` is false.
class Slowloris {
 public:
  Slowloris(std::string source, int port, int count, bool reconnect = true)
      : source_(std::move(source)),
        port_(port),
        count_(count),
        reconnect_(reconnect) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Slowloris() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int closed_by_server() const { return closed_by_server_.load(); }
  int opened() const { return opened_.load(); }

 private:
  void Run() {
    const std::string head =
        "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    struct Conn {
      int fd = -1;
      size_t sent = 0;
    };
    std::vector<Conn> conns(static_cast<size_t>(count_));
    std::vector<bool> opened_once(conns.size(), false);
    while (!stop_) {
      for (size_t i = 0; i < conns.size(); ++i) {
        Conn& c = conns[i];
        if (c.fd < 0) {
          if (opened_once[i] && !reconnect_) continue;
          opened_once[i] = true;
          c.fd = ConnectFrom(source_, port_);
          c.sent = 0;
          if (c.fd >= 0) {
            ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
            ++opened_;
          }
          continue;
        }
        // Closed (or answered 503/408) by the server? Open it again.
        char buf[512];
        const ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
            r > 0) {
          ::close(c.fd);
          c.fd = -1;
          ++closed_by_server_;
          continue;
        }
        const char byte = c.sent < head.size() ? head[c.sent] : 'a';
        if (::send(c.fd, &byte, 1, MSG_NOSIGNAL) == 1) ++c.sent;
      }
      for (int i = 0; i < 10 && !stop_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (Conn& c : conns) {
      if (c.fd >= 0) ::close(c.fd);
    }
  }

  const std::string source_;
  const int port_;
  const int count_;
  const bool reconnect_;
  std::atomic<bool> stop_{false};
  std::atomic<int> closed_by_server_{0};
  std::atomic<int> opened_{0};
  std::thread thread_;
};

// Polls `condition` every 50 ms until true or `timeout`.
template <typename F>
bool PollUntil(F condition, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

TEST_CASE("Edge: 200 slowloris connections from one address starve no one",
          "[integration][edge][attack]") {
  Field f;
  const pid_t pid = f.server().pid();
  const int port = f.server().port();
  const std::string device = f.Enrolled("device", "trainer", "5011");
  {
    std::ofstream csv(f.dir() + "/producers.csv");
    csv << "kind,name,district_code\n";
    for (int i = 0; i < 100; ++i) csv << "group,Producer " << i << ",5011\n";
  }
  CliResult imported =
      f.Kbo(device, {"import", "producers", f.dir() + "/producers.csv"});
  INFO(imported.err);
  REQUIRE(imported.exit_code == 0);
  REQUIRE(RawExchange("127.0.0.1", port, Get("/v1/health"),
                      std::chrono::seconds(5))
              .status == 200);
  const long rss_before = RssKib(pid);

  Slowloris attack("127.0.0.2", port, 200);
  // The attack is in place once the server has turned away the connections
  // over its per-address cap (and so has seen all 200). (A server without
  // the cap turns none away: the checks below then show what it costs.)
  CHECK(PollUntil([&] { return attack.closed_by_server() >= 150; },
                  std::chrono::seconds(10)));
  const long rss_attack = RssKib(pid);

  const RawReply health = RawExchange("127.0.0.3", port, Get("/v1/health"),
                                      std::chrono::seconds(5));
  CHECK(health.status == 200);

  const auto sync_start = Clock::now();
  CliResult sync = f.Sync(device);
  const double sync_s = SecondsSince(sync_start);
  INFO(sync.err);
  CHECK(sync.exit_code == 0);
  CHECK(sync_s < 10.0);
  CHECK(f.ServerJson({"list", "producer"}).size() == 100);
  const int refused_during = attack.closed_by_server();
  attack.Stop();

  // With the attack over, memory returns (threads exit when idle).
  long rss_after = 0;
  const bool settled = PollUntil(
      [&] {
        rss_after = RssKib(pid);
        return rss_after - rss_before < 32 * 1024;
      },
      std::chrono::seconds(20));
  std::cout << "[edge] slowloris 200 conns from 127.0.0.2: health from "
               "127.0.0.3 "
            << health.status << " in " << health.seconds << " s; kbo sync of "
            << "100 records from 127.0.0.1 in " << sync_s << " s; connections "
            << "closed by the server during the attack: " << refused_during
            << "; RSS before " << rss_before << " KiB, during " << rss_attack
            << " KiB, after " << rss_after << " KiB" << std::endl;
  CHECK(settled);
  CHECK(rss_after - rss_before < 32 * 1024);
}

TEST_CASE("Edge: over TLS, 200 stalled handshakes from one address starve "
          "no one",
          "[integration][edge][attack][tls]") {
  TempDir tmp;
  const std::string cert = tmp.File("cert.pem"), key = tmp.File("key.pem");
  CliResult made = RunBinary(
      "/usr/bin/openssl",
      {"req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
       "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
       key, "-out", cert},
      {{"RANDFILE", tmp.File(".rnd")}});
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  ServerProcess server(tmp.File("data"), {"--tls-cert", cert, "--tls-key", key});
  REQUIRE(server.running());
  const std::string url = "https://127.0.0.1:" + std::to_string(server.port());
  const std::map<std::string, std::string> trust = {{"SSL_CERT_FILE", cert}};
  CliResult token = RunServerCli({"--data", server.data_dir(), "token", "create",
                                  "--role", "trainer", "--districts", "5011"});
  REQUIRE(token.exit_code == 0);
  const std::string home = tmp.File("device");
  CliResult enrolled =
      RunKbo({"--home", home, "enroll", "--server", url, "--token",
              token.out.substr(0, token.out.find('\n'))},
             trust);
  INFO(enrolled.err);
  REQUIRE(enrolled.exit_code == 0);
  {
    std::ofstream csv(tmp.File("producers.csv"));
    csv << "kind,name,district_code\n";
    for (int i = 0; i < 100; ++i) csv << "group,Producer " << i << ",5011\n";
  }
  REQUIRE(RunKbo({"--home", home, "import", "producers",
                  tmp.File("producers.csv")})
              .exit_code == 0);
  const long rss_before = RssKib(server.pid());

  // Plain bytes dripped into the TLS port: handshakes that never finish.
  Slowloris attack("127.0.0.2", server.port(), 200, /*reconnect=*/false);
  CHECK(PollUntil([&] { return attack.closed_by_server() >= 150; },
                  std::chrono::seconds(10)));
  const auto sync_start = Clock::now();
  CliResult sync = RunKbo({"--home", home, "sync", "--server", url}, trust);
  const double sync_s = SecondsSince(sync_start);
  INFO(sync.err);
  CHECK(sync.exit_code == 0);
  CHECK(sync_s < 10.0);
  // The ones holding a place are cut at the handshake deadline (10 s), not
  // kept alive by their drips.
  const auto cut_start = Clock::now();
  CHECK(PollUntil([&] { return attack.closed_by_server() >= 200; },
                  std::chrono::seconds(15)));
  const double cut_s = SecondsSince(cut_start);
  attack.Stop();
  long rss_after = 0;
  PollUntil(
      [&] {
        rss_after = RssKib(server.pid());
        return rss_after - rss_before < 32 * 1024;
      },
      std::chrono::seconds(20));
  std::cout << "[edge] TLS: 200 stalled handshakes from 127.0.0.2: kbo sync "
               "of 100 records over https in "
            << sync_s << " s; stalled ones cut within " << cut_s
            << " s more; RSS before " << rss_before << " KiB, after "
            << rss_after << " KiB" << std::endl;
  CHECK(rss_after - rss_before < 32 * 1024);
  // A stop does not wait out a stalled handshake.
  const int stalled = ConnectFrom("127.0.0.2", server.port());
  CHECK(::send(stalled, "\x16", 1, MSG_NOSIGNAL) == 1);
  const auto stop_start = Clock::now();
  CHECK(server.Stop() == 0);
  CHECK(SecondsSince(stop_start) < 3.0);
  ::close(stalled);
}

TEST_CASE("Edge: connections over the per-address cap get 503 at once",
          "[integration][edge][attack]") {
  TempDir tmp;
  CHECK(RunServerCli({"--data", tmp.File("bad"), "serve",
                      "--connections-per-address", "0"})
            .exit_code == 2);
  ServerProcess server(tmp.File("data"), {"--connections-per-address", "2"});
  REQUIRE(server.running());
  // Two connections hold their places with an unfinished head...
  const auto open_held = [&] {
    const int fd = ConnectFrom("127.0.0.2", server.port());
    const std::string part = "GET /v1/health HTTP/1.1\r\n";
    if (fd >= 0) (void)::send(fd, part.data(), part.size(), MSG_NOSIGNAL);
    return fd;
  };
  std::vector<int> held = {open_held(), open_held()};
  // ...so the third from that address is turned away at once, before it
  // sends a byte. Polled: the server takes connections up concurrently, so
  // a later one may have taken a place first (then a held one was turned
  // away, and is opened again).
  RawReply third;
  CHECK(PollUntil(
      [&] {
        for (int& fd : held) {
          pollfd pfd{fd, POLLIN, 0};
          if (fd < 0 || ::poll(&pfd, 1, 0) > 0) {
            if (fd >= 0) ::close(fd);
            fd = open_held();
          }
        }
        third = RawExchange("127.0.0.2", server.port(), "",
                            std::chrono::milliseconds(500));
        return third.status == 503;
      },
      std::chrono::seconds(15)));
  CHECK(third.seconds < 1.0);
  CHECK_THAT(third.text, Catch::Contains("\"error\":\"busy\""));
  // ...while another address is served.
  CHECK(RawExchange("127.0.0.3", server.port(), Get("/v1/health"),
                    std::chrono::seconds(5))
            .status == 200);
  for (int fd : held) ::close(fd);
  CHECK(PollUntil(
      [&] {
        return RawExchange("127.0.0.2", server.port(), Get("/v1/health"),
                           std::chrono::seconds(5))
                   .status == 200;
      },
      std::chrono::seconds(5)));
  CHECK(PollUntil(
      [&] {
        return server.log().find("refused ") != std::string::npos &&
               server.log().find("over 2 at once") != std::string::npos;
      },
      std::chrono::seconds(5)));
  // A stop does not wait out unfinished heads.
  held = {open_held(), open_held()};
  const auto stop_start = Clock::now();
  CHECK(server.Stop() == 0);
  const double stop_s = SecondsSince(stop_start);
  CHECK(stop_s < 3.0);
  for (int fd : held) ::close(fd);
  std::cout << "[edge] SIGTERM with two unfinished heads open: stopped in "
            << stop_s << " s" << std::endl;
}

TEST_CASE("Edge: 10,000 headers or 200 MB of headers are refused at once",
          "[integration][edge][attack]") {
  TempDir tmp;
  ServerProcess server(tmp.File("data"));
  REQUIRE(server.running());
  const int port = server.port();
  REQUIRE(RawExchange("127.0.0.1", port, Get("/v1/health"),
                      std::chrono::seconds(5))
              .status == 200);
  const long rss_before = RssKib(server.pid());

  std::string many = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 10000; ++i)
    many += "X-H" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  const RawReply ten_thousand =
      RawExchange("127.0.0.1", port, many, std::chrono::seconds(10));
  CHECK((ten_thousand.status == 431 || ten_thousand.status == 0));
  CHECK(ten_thousand.seconds < 5.0);

  const RawReply huge = HugeHeaders("127.0.0.1", port, size_t{200} << 20,
                                    std::chrono::seconds(10));
  CHECK((huge.status == 431 || huge.status == 0));
  CHECK(huge.seconds < 5.0);

  // Six at once, from six addresses.
  std::vector<std::thread> senders;
  std::vector<RawReply> six(6);
  for (size_t i = 0; i < six.size(); ++i) {
    senders.emplace_back([&, i] {
      six[i] = HugeHeaders("127.0.0." + std::to_string(10 + i), port,
                           size_t{200} << 20, std::chrono::seconds(10));
    });
  }
  for (std::thread& t : senders) t.join();
  double slowest = 0;
  for (const RawReply& r : six) {
    CHECK((r.status == 431 || r.status == 0));
    slowest = std::max(slowest, r.seconds);
  }
  CHECK(slowest < 5.0);
  const long rss_after = RssKib(server.pid());
  std::cout << "[edge] 10,000 headers: " << ten_thousand.status << " in "
            << ten_thousand.seconds << " s; 200 MB of headers: " << huge.status
            << " in " << huge.seconds << " s; six of them at once: slowest "
            << slowest << " s; RSS before " << rss_before << " KiB, after "
            << rss_after << " KiB" << std::endl;
  CHECK(rss_after - rss_before < 64 * 1024);
  // The server still answers, and logged the refusals.
  CHECK(RawExchange("127.0.0.1", port, Get("/v1/health"),
                    std::chrono::seconds(5))
            .status == 200);
  CHECK_THAT(server.log(), Catch::Contains("refused 431 from 127.0.0.1"));
}

TEST_CASE("Edge: a bad or missing Content-Length is answered at once",
          "[integration][edge][attack]") {
  TempDir tmp;
  ServerProcess server(tmp.File("data"));
  REQUIRE(server.running());
  const int port = server.port();
  const auto post = [&](const std::string& length_header) {
    return RawExchange("127.0.0.1", port,
                       "POST /v1/enroll HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                           length_header + "\r\n{}",
                       std::chrono::seconds(10));
  };
  struct Case {
    const char* header;
    int status;
  } cases[] = {
      {"Content-Length: -1\r\n", 400},
      {"Content-Length: abc\r\n", 400},
      {"Content-Length: 99999999999999999999\r\n", 400},
      {"Content-Length: 2\r\nContent-Length: 3\r\n", 400},
      {"Content-Length: 999999999\r\n", 413},
      {"Transfer-Encoding: chunked\r\n", 411},
  };
  for (const Case& c : cases) {
    const RawReply r = post(c.header);
    INFO(c.header << " -> " << r.text);
    CHECK(r.status == c.status);
    CHECK(r.seconds < 2.0);
    std::string shown(c.header, std::strlen(c.header) - 2);
    for (size_t at = shown.find("\r\n"); at != std::string::npos;
         at = shown.find("\r\n"))
      shown.replace(at, 2, " + ");
    std::cout << "[edge] POST with " << shown << ": " << r.status << " in "
              << r.seconds << " s" << std::endl;
  }
  // A form body over httplib's own limit (8 KiB, before any route): 413,
  // and the answer does not claim the push's 16 MiB limit for it.
  const std::string form(70000, 'a');
  const RawReply large_form = RawExchange(
      "127.0.0.1", port,
      "POST /v1/enroll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\nContent-Length: " +
          std::to_string(form.size()) + "\r\n\r\n" + form,
      std::chrono::seconds(10));
  INFO(large_form.text);
  CHECK(large_form.status == 413);
  CHECK_THAT(large_form.text, Catch::Contains("larger than this server accepts for /v1/enroll"));
  CHECK_THAT(large_form.text, !Catch::Contains("MiB"));
  // No length at all: no body (RFC 9112), answered at once, not held until
  // the read timeout.
  const RawReply none = RawExchange(
      "127.0.0.1", port,
      "POST /v1/enroll HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      std::chrono::seconds(10));
  CHECK(none.status == 400);
  CHECK(none.seconds < 2.0);
  CHECK_THAT(server.log(), Catch::Contains("refused 400 from 127.0.0.1"));
}

TEST_CASE("Edge: a Range of many ranges is refused before anything is built, on both "
          "servers, and one range is served",
          "[integration][edge][attack][ui]") {
  TempDir tmp;
  ServerProcess server(tmp.File("data"));
  REQUIRE(server.running());
  Child ui({KboBinary(), "--home", tmp.File("tablet"), "ui", "--listen", "127.0.0.1:0"});
  REQUIRE(ui.WaitForOutput("\n", std::chrono::seconds(15)));
  const int ui_port = PortOf(ui.out());
  REQUIRE(ui_port > 0);
  // cpp-httplib builds a multipart answer of every range whole, in
  // memory: 2,600 times a whole page was 25 MB from a 10 KB one, with no
  // sign-in (a 3 MB file: 7 GB, and the server was gone).
  std::string many = "bytes=0-";
  for (int i = 0; i < 2600; ++i) many += ",0-";
  for (const auto& [port, path] :
       {std::pair<int, std::string>{server.port(), "/login"},
        std::pair<int, std::string>{ui_port, "/app.js"}}) {
    INFO(path);
    const auto get = [&, port = port, path = path](const std::string& range) {
      return RawExchange("127.0.0.1", port,
                         "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: " +
                             range + "\r\nConnection: close\r\n\r\n",
                         std::chrono::seconds(10));
    };
    const RawReply refused = get(many);
    CHECK(refused.status == 416);
    CHECK(refused.text.size() < 4096);
    CHECK_THAT(refused.text, Catch::Contains("many_ranges"));
    CHECK(get("bytes=0-1, 2-3").status == 416);
    // Two Range headers are two ranges.
    const RawReply twice = RawExchange(
        "127.0.0.1", port,
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-\r\nRange: "
        "bytes=0-\r\nConnection: close\r\n\r\n",
        std::chrono::seconds(10));
    CHECK(twice.status == 416);
    // One range: that range (or the whole, small, answer).
    const RawReply one = get("bytes=0-9");
    CHECK((one.status == 206 || one.status == 200));
  }
}

TEST_CASE("Edge: a request head dripped byte by byte is cut at its deadline",
          "[integration][edge][attack]") {
  TempDir tmp;
  ServerProcess server(tmp.File("data"));
  REQUIRE(server.running());
  const int fd = ConnectFrom("127.0.0.1", server.port());
  REQUIRE(fd >= 0);
  const std::string head = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  const auto start = Clock::now();
  std::string answer;
  size_t i = 0;
  // One byte every 200 ms: each byte would restart a read timeout.
  while (SecondsSince(start) < 20) {
    const char byte = i < head.size() ? head[i] : 'x';
    if (::send(fd, &byte, 1, MSG_NOSIGNAL) != 1) break;
    ++i;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 200) > 0) {
      char buf[512];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      answer.append(buf, static_cast<size_t>(n));
    }
  }
  const double cut_s = SecondsSince(start);
  ::close(fd);
  std::cout << "[edge] a head dripped at 5 bytes/s: cut after " << cut_s
            << " s (" << answer.substr(0, answer.find('\r')) << ")"
            << std::endl;
  CHECK(cut_s < 12.0);
  CHECK(answer.rfind("HTTP/1.1 408", 0) == 0);
}

TEST_CASE("Edge: numeric query parameters above INT64_MAX are a clean 400",
          "[integration][edge][attack]") {
  Field f;
  f.ExpectSentBack();  // a cursor past everything, on purpose
  const std::string device = f.Enrolled("device", "trainer", "5011");
  f.Add(device, {"producer", "add", "--kind", "group", "--name", "A",
                 "--district", "5011"});
  f.SyncOk(device);
  Result<KeyPair> key = KeyPair::LoadFromFile(device + "/device.key");
  REQUIRE(key.ok());
  Result<Uuid> id = Uuid::Parse(
      f.KboJson(device, {"status"})["device_id"].get<std::string>());
  REQUIRE(id.ok());
  const auto signed_get = [&](const std::string& target) {
    std::string request = "GET " + target +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Connection: close\r\n";
    for (const auto& [k, v] :
         SignedHeaders(*key, *id, "GET", target, "", NowMs()))
      request += k + ": " + v + "\r\n";
    return RawExchange("127.0.0.1", f.server().port(), request + "\r\n",
                       std::chrono::seconds(5));
  };
  CHECK(signed_get("/v1/pull?after=0").status == 200);
  for (const char* target :
       {"/v1/pull?after=9223372036854775808",
        "/v1/pull?after=18446744073709551615", "/v1/pull?after=-1",
        "/v1/pull?after=1&after=2", "/v1/pull?limit=99999999999999999999",
        "/v1/conflicts?after=9223372036854775808",
        // Where the pull began (docs/protocol.md §6): a number, once.
        "/v1/pull?after=5&since=x", "/v1/pull?after=5&since=-1",
        "/v1/pull?after=5&since=", "/v1/pull?after=5&since=1&since=2",
        "/v1/pull?after=5&since=18446744073709551616",
        // Whether the device takes departure markers: 0 or 1, once.
        "/v1/pull?after=0&left=2", "/v1/pull?after=0&left=yes",
        "/v1/pull?after=0&left=", "/v1/pull?after=0&left=0&left=1",
        // Whether the device goes back when told (a restored server): 0 or 1.
        "/v1/conflicts?after=0&restart=2", "/v1/conflicts?after=0&restart=yes",
        "/v1/conflicts?after=0&restart=", "/v1/conflicts?after=0&restart=0&restart=1"}) {
    const RawReply r = signed_get(target);
    INFO(target << " -> " << r.text);
    CHECK(r.status == 400);
    CHECK_THAT(r.text, Catch::Contains("invalid_argument"));
  }
  // A since past the cursor is no pull a device makes.
  {
    const RawReply r = signed_get("/v1/pull?after=5&since=6");
    INFO(r.text);
    CHECK(r.status == 400);
    CHECK_THAT(r.text, Catch::Contains("invalid_since"));
  }
  {
    const RawReply r = signed_get("/v1/pull?after=0&since=0");
    CHECK(r.status == 200);
    CHECK_THAT(r.text, Catch::Contains("X-KBO-Pull-Since: 0"));
  }
  {
    const RawReply r = signed_get("/v1/pull?after=0&left=1");
    CHECK(r.status == 200);
    CHECK_THAT(r.text, Catch::Contains("X-KBO-Departures: 1"));
    CHECK(signed_get("/v1/pull?after=0&left=0").status == 200);
  }
  // A conflict list asked with restart=1 past the server's memory: sent
  // back like a pull; without it (an older client), answered as before.
  {
    const RawReply r = signed_get("/v1/conflicts?after=9223372036854775807&restart=1");
    CHECK(r.status == 409);
    CHECK_THAT(r.text, Catch::Contains("pull_restart"));
    CHECK(signed_get("/v1/conflicts?after=9223372036854775807").status == 200);
  }
  // The largest one is still a number: past any cursor the server handed
  // this device, so it is sent back to its last one (a restored server's
  // answer), not refused as malformed.
  {
    const RawReply r = signed_get("/v1/pull?after=9223372036854775807");
    CHECK(r.status == 409);
    CHECK_THAT(r.text, Catch::Contains("pull_restart"));
    CHECK_THAT(r.text, Catch::Contains("\"expected\""));
  }
  f.SyncOk(device);
}

TEST_CASE("Edge: an unknown device and a bad signature get one answer",
          "[integration][edge][attack]") {
  Field f;
  const std::string device = f.Enrolled("device", "trainer", "5011");
  Result<Uuid> id = Uuid::Parse(
      f.KboJson(device, {"status"})["device_id"].get<std::string>());
  REQUIRE(id.ok());
  const KeyPair stranger = KeyPair::Generate();
  const auto signed_get = [&](const KeyPair& key, const Uuid& as) {
    const std::string target = "/v1/pull?after=0";
    std::string request = "GET " + target +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Connection: close\r\n";
    for (const auto& [k, v] : SignedHeaders(key, as, "GET", target, "", NowMs()))
      request += k + ": " + v + "\r\n";
    return RawExchange("127.0.0.1", f.server().port(), request + "\r\n",
                       std::chrono::seconds(5));
  };
  const RawReply unknown = signed_get(stranger, Uuid::Random());
  const RawReply forged = signed_get(stranger, *id);  // enrolled id, wrong key
  CHECK(unknown.status == 401);
  CHECK(forged.status == 401);
  const auto body = [](const RawReply& r) {
    return r.text.substr(r.text.find("\r\n\r\n") + 4);
  };
  CHECK(body(unknown) == body(forged));
  CHECK_THAT(body(unknown), Catch::Contains("\"unauthenticated\""));
}

TEST_CASE("Edge: enrolment attempts are limited per source address",
          "[integration][edge][attack]") {
  TempDir tmp;
  ServerProcess server(tmp.File("data"));
  REQUIRE(server.running());
  const std::string body =
      "{\"token\":\"" + std::string(64, '0') + "\",\"device_id\":\"" +
      Uuid::Random().ToString() + "\",\"public_key\":\"" +
      std::string(64, '1') + "\"}";
  const auto enroll = [&](const std::string& source) {
    return RawExchange(source, server.port(),
                       "POST /v1/enroll HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Connection: close\r\nContent-Type: application/json\r\n"
                       "Content-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body,
                       std::chrono::seconds(5));
  };
  // A burst of 60 is answered (the token is wrong: 401); then 429.
  int answered = 0;
  RawReply r;
  for (int i = 0; i < 100; ++i) {
    r = enroll("127.0.0.4");
    if (r.status != 401) break;
    ++answered;
  }
  CHECK(answered >= 60);
  CHECK(answered < 100);
  CHECK(r.status == 429);
  CHECK_THAT(r.text, Catch::Contains("Retry-After"));
  CHECK_THAT(r.text, Catch::Contains("too_many_attempts"));
  // Another address is not affected.
  CHECK(enroll("127.0.0.5").status == 401);
  std::cout << "[edge] enrolment: " << answered
            << " attempts from 127.0.0.4 answered, then 429; 127.0.0.5 still "
               "answered"
            << std::endl;
}

// Both binaries: a second process on a taken port exits 1 and names it.
TEST_CASE("Edge: a second server on a taken port exits 1 naming the port",
          "[integration][edge][attack]") {
  TempDir tmp;
  ServerProcess first(tmp.File("first"));
  REQUIRE(first.running());
  const std::string port = std::to_string(first.port());
  Child second({KboServerBinary(), "--data", tmp.File("second"), "serve",
                "--listen", "127.0.0.1:" + port});
  const int code = second.Wait(std::chrono::seconds(10));
  const std::string err = second.Stderr();
  INFO(err);
  CHECK(code == 1);
  CHECK_THAT(err, Catch::Contains(port));
  CHECK(second.out().find("listening") == std::string::npos);
  // Every request still reaches the first server.
  for (int i = 0; i < 20; ++i) {
    CHECK(RawExchange("127.0.0.1", first.port(), Get("/v1/health"),
                      std::chrono::seconds(5))
              .status == 200);
  }
  // (The log line follows the answer: wait for the last one.)
  size_t logged = 0;
  PollUntil(
      [&] {
        const std::string log = first.log();
        logged = 0;
        for (size_t at = log.find("GET /v1/health 200");
             at != std::string::npos;
             at = log.find("GET /v1/health 200", at + 1))
          ++logged;
        return logged >= 20;
      },
      std::chrono::seconds(5));
  CHECK(logged == 20);
}

TEST_CASE("Edge: a second kbo ui on a taken port exits 1 naming the port",
          "[integration][edge][attack]") {
  TempDir tmp;
  Child first({KboBinary(), "--home", tmp.File("one"), "ui", "--listen",
               "127.0.0.1:0"});
  REQUIRE(first.WaitForOutput("\n", std::chrono::seconds(15)));
  const int port = PortOf(first.out());
  REQUIRE(port > 0);
  Child second({KboBinary(), "--home", tmp.File("two"), "ui", "--listen",
                "127.0.0.1:" + std::to_string(port)});
  const int code = second.Wait(std::chrono::seconds(10));
  const std::string err = second.Stderr();
  INFO(err);
  CHECK(code == 1);
  CHECK_THAT(err, Catch::Contains(std::to_string(port)));
  CHECK(RawExchange("127.0.0.1", port, Get("/api/status"),
                    std::chrono::seconds(5))
            .status == 200);
}

TEST_CASE("Edge: a request path cannot forge a log line",
          "[integration][edge][attack]") {
  TempDir tmp;
  ServerProcess server(tmp.File("data"));
  REQUIRE(server.running());
  const std::string forged = "2020-01-01T00:00:00Z FORKED DEVICE " +
                             Uuid::Random().ToString();
  std::string target = "/v1/x%0a";
  for (char c : forged) target += c == ' ' ? std::string("%20") : std::string(1, c);
  const RawReply r = RawExchange("127.0.0.1", server.port(), Get(target),
                                 std::chrono::seconds(5));
  CHECK(r.status == 404);
  // Also a raw control character in a header the log shows.
  RawExchange("127.0.0.1", server.port(),
              "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
              "close\r\nX-KBO-Device: a\x1b[2Jb\r\n\r\n",
              std::chrono::seconds(5));
  // (The log line follows the answer: wait for both.)
  PollUntil(
      [&] {
        const std::string log = server.log();
        return log.find("FORKED") != std::string::npos &&
               log.find("GET /v1/health") != std::string::npos;
      },
      std::chrono::seconds(5));
  const std::string log = server.log();
  INFO(log);
  std::istringstream lines(log);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    CHECK(line.rfind("2020-01-01T00:00:00Z", 0) != 0);
    CHECK(line.find('\x1b') == std::string::npos);
  }
  CHECK(n >= 2);
  CHECK_THAT(log, Catch::Contains("/v1/x\\n2020-01-01T00:00:00Z FORKED"));
}

TEST_CASE("Edge: wrong PINs from one client never lock out another",
          "[integration][edge][attack][ui]") {
  TempDir tmp;
  Child ui({KboBinary(), "--home", tmp.File("tablet"), "ui", "--listen",
            "0.0.0.0:0"});
  REQUIRE(ui.WaitForOutput("PIN: ", std::chrono::seconds(15)));
  REQUIRE(ui.WaitForOutput("  (", std::chrono::seconds(5)));
  const int port = PortOf(ui.out());
  REQUIRE(port > 0);
  const std::string pin = ui.out().substr(ui.out().find("PIN: ") + 5, 6);
  const auto try_pin = [&](const std::string& source, const std::string& p) {
    const std::string body = "{\"pin\":\"" + p + "\"}";
    return RawExchange(source,
                       port,
                       "POST /api/pin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Connection: close\r\nContent-Type: application/json\r\n"
                       "Content-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body,
                       std::chrono::seconds(5));
  };
  const std::string wrong = pin == "000000" ? "111111" : "000000";
  // The attacker guesses until it has to wait.
  int guesses = 0;
  RawReply last;
  while (guesses < 50) {
    last = try_pin("127.0.0.2", wrong);
    ++guesses;
    if (last.status == 429) break;
    REQUIRE(last.status == 401);
  }
  CHECK(last.status == 429);
  CHECK(guesses == 6);  // five free wrong PINs, then a wait
  // Even the right PIN is not compared while it waits...
  CHECK(try_pin("127.0.0.2", pin).status == 429);
  // ...but another client gets in at once, and so does a second attempt.
  const RawReply other = try_pin("127.0.0.3", pin);
  CHECK(other.status == 200);
  CHECK(try_pin("127.0.0.3", wrong).status == 401);
  CHECK(try_pin("127.0.0.3", pin).status == 200);
  // The attacker's wait grows: 1 s after the 5th wrong PIN, then 2 s.
  auto retry_after = [](const RawReply& r) {
    const size_t at = r.text.find("Retry-After: ");
    return at == std::string::npos ? -1 : std::atoi(r.text.c_str() + at + 13);
  };
  CHECK(retry_after(last) == 1);
  REQUIRE(PollUntil([&] { return try_pin("127.0.0.2", wrong).status == 401; },
                    std::chrono::seconds(5)));
  const RawReply second_wait = try_pin("127.0.0.2", wrong);
  CHECK(second_wait.status == 429);
  CHECK(retry_after(second_wait) == 2);
  std::cout << "[edge] kbo ui PIN: 127.0.0.2 waits after " << guesses - 1
            << " wrong PINs (Retry-After " << retry_after(last) << " s, then "
            << retry_after(second_wait) << " s); 127.0.0.3 with the right PIN: "
            << other.status << " in " << other.seconds << " s" << std::endl;
}

TEST_CASE("Edge: kbo ui refuses 10,000 headers and a bad Content-Length",
          "[integration][edge][attack][ui]") {
  TempDir tmp;
  Child ui({KboBinary(), "--home", tmp.File("tablet"), "ui", "--listen",
            "127.0.0.1:0"});
  REQUIRE(ui.WaitForOutput("\n", std::chrono::seconds(15)));
  const int port = PortOf(ui.out());
  REQUIRE(port > 0);
  std::string many = "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 10000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  const RawReply r = RawExchange("127.0.0.1", port, many, std::chrono::seconds(10));
  CHECK((r.status == 431 || r.status == 0));
  CHECK(r.seconds < 5.0);
  const RawReply bad = RawExchange(
      "127.0.0.1", port,
      "POST /api/producer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
      "-1\r\n\r\n",
      std::chrono::seconds(10));
  CHECK(bad.status == 400);
  CHECK(bad.seconds < 2.0);
  CHECK(RawExchange("127.0.0.1", port, Get("/api/status"),
                    std::chrono::seconds(5))
            .status == 200);
}

// Sends `head` (a complete request head and the body's first bytes), then
// one more body byte every second, until the server answers or closes or
// `timeout`: what it answered, and when.
RawReply DripBody(const std::string& source, int port, const std::string& head,
                  std::chrono::milliseconds timeout) {
  RawReply reply;
  const auto start = Clock::now();
  const int fd = ConnectFrom(source, port);
  if (fd < 0) return reply;
  if (::send(fd, head.data(), head.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(head.size())) {
    while (Clock::now() - start < timeout) {
      pollfd pfd{fd, POLLIN, 0};
      const int rc = ::poll(&pfd, 1, 1000);
      if (rc > 0) {
        char buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        reply.text.append(buf, static_cast<size_t>(n));
        if (WholeResponse(reply.text)) break;
        continue;
      }
      if (rc == 0 && ::send(fd, "a", 1, MSG_NOSIGNAL) != 1) break;
    }
  }
  reply.seconds = SecondsSince(start);
  ::close(fd);
  if (reply.text.rfind("HTTP/1.1 ", 0) == 0)
    reply.status = std::atoi(reply.text.c_str() + 9);
  return reply;
}

TEST_CASE("Edge: a request body dripped byte by byte is cut after its grace, "
          "on both servers",
          "[integration][edge][attack][ui]") {
  Field f;
  const std::string device = f.Enrolled("device", "trainer", "5011");
  TempDir tmp;
  Child ui({KboBinary(), "--home", tmp.File("tablet"), "ui", "--listen",
            "127.0.0.1:0"});
  REQUIRE(ui.WaitForOutput("\n", std::chrono::seconds(15)));
  const int ui_port = PortOf(ui.out());
  REQUIRE(ui_port > 0);
  // A valid head, a large declared body, one byte a second: each byte would
  // restart a read timeout, so without a deadline for the whole body this
  // holds a worker thread for 185 days.
  RawReply server_drip, ui_drip;
  std::thread to_server([&] {
    server_drip = DripBody(
        "127.0.0.2", f.server().port(),
        "POST /v1/enroll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
        "application/json\r\nContent-Length: 16000000\r\n\r\n{",
        std::chrono::seconds(90));
  });
  std::thread to_ui([&] {
    ui_drip = DripBody(
        "127.0.0.1", ui_port,
        "POST /api/producer HTTP/1.1\r\nHost: 127.0.0.1:" +
            std::to_string(ui_port) +
            "\r\nContent-Type: application/json\r\nContent-Length: "
            "60000\r\n\r\n{",
        std::chrono::seconds(90));
  });
  // Meanwhile a device syncs as usual (its pushes have bodies too).
  f.Add(device, {"producer", "add", "--kind", "group", "--name", "A",
                 "--district", "5011"});
  const auto sync_start = Clock::now();
  f.SyncOk(device);
  const double sync_s = SecondsSince(sync_start);
  to_server.join();
  to_ui.join();
  std::cout << "[edge] a body dripped at 1 byte/s: kbo-server answered "
            << server_drip.status << " after " << server_drip.seconds
            << " s, kbo ui " << ui_drip.status << " after " << ui_drip.seconds
            << " s; a device synced meanwhile in " << sync_s << " s"
            << std::endl;
  for (const RawReply* r : {&server_drip, &ui_drip}) {
    INFO(r->text);
    CHECK(r->status == 408);
    CHECK_THAT(r->text, Catch::Contains("\"error\":\"timeout\""));
    CHECK(r->seconds >= 29.0);  // the grace: 30 s from the head
    CHECK(r->seconds < 60.0);   // not held while the drip goes on
  }
  CHECK(sync_s < 20.0);
  CHECK_THAT(f.server().log(),
             Catch::Contains("refused 408 from 127.0.0.2: a body of 16000000 "
                             "bytes came slower than 2048 bytes/s"));
  CHECK_THAT(ui.Stderr(), Catch::Contains("refused 408 from 127.0.0.1"));
}

// `count` connections from `source`, each sending a complete head with a
// large declared body and then one body byte a second; each one the server
// closes or answers is opened again on the next tick.
class BodyFlood {
 public:
  BodyFlood(std::string source, int port, int count)
      : source_(std::move(source)), port_(port), count_(count) {
    thread_ = std::thread([this] { Run(); });
  }
  ~BodyFlood() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int opened() const { return opened_.load(); }
  int busy() const { return busy_.load(); }          // answered 503
  int retry_after() const { return retry_after_.load(); }

 private:
  void Run() {
    const std::string head =
        "POST /v1/enroll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
        "application/json\r\nContent-Length: 16000000\r\n\r\n{";
    std::vector<int> fds(static_cast<size_t>(count_), -1);
    while (!stop_) {
      for (int& fd : fds) {
        if (fd < 0) {
          fd = ConnectFrom(source_, port_);
          if (fd < 0) continue;
          ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
          (void)::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
          ++opened_;
          continue;
        }
        char buf[1024];
        const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
        if (r > 0) {
          const std::string text(buf, static_cast<size_t>(r));
          if (text.rfind("HTTP/1.1 503", 0) == 0) ++busy_;
          if (text.find("Retry-After: ") != std::string::npos) ++retry_after_;
        }
        if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
          ::close(fd);
          fd = -1;
          continue;
        }
        (void)::send(fd, "a", 1, MSG_NOSIGNAL);
      }
      for (int i = 0; i < 20 && !stop_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }

  const std::string source_;
  const int port_;
  const int count_;
  std::atomic<bool> stop_{false};
  std::atomic<int> opened_{0};
  std::atomic<int> busy_{0};
  std::atomic<int> retry_after_{0};
  std::thread thread_;
};

TEST_CASE("Edge: nine busy addresses cannot fill the pool, a new address is "
          "served",
          "[integration][edge][attack]") {
  Field f;
  const std::string device = f.Enrolled("device", "trainer", "5011");
  f.Add(device, {"producer", "add", "--kind", "group", "--name", "A",
                 "--district", "5011"});
  const int port = f.server().port();
  // Nine addresses at their cap of 32: 288 connections for a pool of 256,
  // each holding its worker with a slow body.
  std::vector<std::unique_ptr<BodyFlood>> attackers;
  for (int a = 0; a < 9; ++a) {
    attackers.push_back(std::make_unique<BodyFlood>(
        "127.0.0." + std::to_string(20 + a), port, 32));
  }
  const auto opened = [&] {
    int n = 0;
    for (const auto& x : attackers) n += x->opened();
    return n;
  };
  const auto busy = [&] {
    int n = 0;
    for (const auto& x : attackers) n += x->busy();
    return n;
  };
  REQUIRE(PollUntil([&] { return opened() >= 288; }, std::chrono::seconds(15)));
  // In place once the server has turned some away (a server without the
  // fair share turns none away: the checks below then show what it costs).
  CHECK(PollUntil([&] { return busy() >= 20; }, std::chrono::seconds(5)));

  const RawReply health = RawExchange("127.0.0.50", port, Get("/v1/health"),
                                      std::chrono::seconds(5));
  CHECK(health.status == 200);
  const auto sync_start = Clock::now();
  CliResult sync = f.Sync(device);
  const double sync_s = SecondsSince(sync_start);
  INFO(sync.err);
  CHECK(sync.exit_code == 0);
  CHECK(sync_s < 15.0);
  int retry_after = 0;
  for (const auto& x : attackers) retry_after += x->retry_after();
  const int refused = busy();
  for (auto& x : attackers) x->Stop();
  std::cout << "[edge] nine addresses x 32 slow bodies (288 for a pool of "
               "256): health from a new address "
            << health.status << " in " << health.seconds << " s; kbo sync in "
            << sync_s << " s; attack connections answered 503: " << refused
            << " (with Retry-After: " << retry_after << ")" << std::endl;
  CHECK(retry_after == refused);
  CHECK(f.ServerJson({"list", "producer"}).size() == 1);
  CHECK(PollUntil(
      [&] {
        return f.server().log().find("over its fair share of a busy server") !=
               std::string::npos;
      },
      std::chrono::seconds(40)));
}

}  // namespace
}  // namespace kbo::testing
