// tools/bench/link_emulator.h: the emulated rural link bench_links measures
// through. Its rate, delay and drops are what the link figures in
// docs/performance.md rest on, so they are checked here against a plain
// TCP sink (lower bounds are exact consequences of the model; upper bounds
// are loose, for a loaded machine).
#include "tools/bench/link_emulator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

namespace kbo::bench {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Accepts connections; reads each until the peer's FIN, then answers "ok"
// and closes. `port` once listening.
class Sink {
 public:
  Sink() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(fd_, 8) == 0);
    REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        const int c = accept(fd_, nullptr, nullptr);
        if (c < 0) continue;
        char buf[4096];
        while (recv(c, buf, sizeof buf, 0) > 0) {
        }
        (void)send(c, "ok", 2, MSG_NOSIGNAL);
        close(c);
      }
    });
  }
  ~Sink() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  int port = 0;

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `n` bytes, half-closes, reads the answer to its end. Returns it
// ("" if the connection broke).
std::string Exchange(int fd, size_t n) {
  const std::string data(n, 'x');
  size_t off = 0;
  while (off < n) {
    const ssize_t w = send(fd, data.data() + off, n - off, MSG_NOSIGNAL);
    if (w <= 0) return "";
    off += static_cast<size_t>(w);
  }
  shutdown(fd, SHUT_WR);
  std::string answer;
  char buf[64];
  ssize_t r;
  while ((r = recv(fd, buf, sizeof buf, 0)) > 0) answer.append(buf, static_cast<size_t>(r));
  return r < 0 ? "" : answer;
}

TEST_CASE("Link emulator: bytes take the link's rate plus its delay, in order",
          "[link_emulator]") {
  Sink sink;
  // 1 Mbit/s, 100 ms RTT, no loss: 125,000 bytes up take 1 s on the wire,
  // plus 50 ms each way.
  LinkEmulator link(sink.port, LinkProfile{"test", 1e6, 100, 0, 0, 0}, 1);
  REQUIRE(link.port() > 0);
  const int fd = Connect(link.port());
  REQUIRE(fd >= 0);
  const auto t = Clock::now();
  CHECK(Exchange(fd, 125000) == "ok");
  const double s = SecondsSince(t);
  close(fd);
  CHECK(s >= 1.0);
  CHECK(s < 4.0);
  const LinkStats st = link.stats();
  CHECK(st.bytes_up == 125000);
  CHECK(st.bytes_down == 2);
  CHECK(st.connections == 1);
  CHECK(st.lost_segments == 0);
}

TEST_CASE("Link emulator: a lost segment holds what follows it by a retransmission timeout",
          "[link_emulator]") {
  Sink sink;
  // Every segment lost: each of the 2 segments waits RTT + 200 ms more, and
  // the answer's one segment too.
  LinkEmulator link(sink.port, LinkProfile{"lossy", 100e6, 20, 1.0, 0, 0}, 7);
  const int fd = Connect(link.port());
  REQUIRE(fd >= 0);
  const auto t = Clock::now();
  CHECK(Exchange(fd, 2000) == "ok");
  const double s = SecondsSince(t);
  close(fd);
  CHECK(s >= 0.44);  // two retransmission timeouts of 220 ms, at least
  CHECK(link.stats().lost_segments >= 3);
}

TEST_CASE("Link emulator: a drop cuts open connections and refuses new ones for the outage",
          "[link_emulator]") {
  Sink sink;
  // Drops at 3 s, 6 s, ... from the start, each followed by 1 s without a
  // link. 100 KB at 200 kbit/s take 4 s: still on their way at the first.
  // The drops count from the emulator's construction, in whole
  // milliseconds: `start` is taken before it, and the first drop may come
  // up to 1 ms before start + 3 s.
  const auto start = Clock::now();
  LinkEmulator link(sink.port, LinkProfile{"drop", 200e3, 50, 0, 3, 1}, 3);
  const int fd = Connect(link.port());
  REQUIRE(fd >= 0);
  CHECK(Exchange(fd, 100000).empty());  // cut mid-way: no answer
  close(fd);
  CHECK(SecondsSince(start) >= 2.999);
  CHECK(link.stats().drops == 1);
  // Inside the outage: accepted and closed at once.
  const int during = Connect(link.port());
  REQUIRE(during >= 0);
  CHECK(Exchange(during, 10).empty());
  close(during);
  CHECK(link.stats().refused >= 1);
  // After it, well before the next drop: the link works again.
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  const int after = Connect(link.port());
  REQUIRE(after >= 0);
  CHECK(Exchange(after, 10) == "ok");
  close(after);
}

}  // namespace
}  // namespace kbo::bench
