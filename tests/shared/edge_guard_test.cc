#include "shared/edge_guard.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

namespace kbo::edge {
namespace {

TEST_CASE("EscapeForLog: control characters cannot start a line",
          "[edge][untrusted]") {
  CHECK(EscapeForLog("GET /v1/x\n2020-01-01T00:00:00Z FORKED DEVICE") ==
        "GET /v1/x\\n2020-01-01T00:00:00Z FORKED DEVICE");
  CHECK(EscapeForLog("a\rb\tc\\d") == "a\\rb\\tc\\\\d");
  CHECK(EscapeForLog(std::string("\x1b[2J\x7f\0z", 7)) == "\\x1b[2J\\x7f\\x00z");
  // UTF-8 (Thai) is kept as it is.
  CHECK(EscapeForLog("กลุ่มทอผ้า") == "กลุ่มทอผ้า");
}

TEST_CASE("AddressLimiter: one address at its cap leaves others alone",
          "[edge]") {
  AddressLimiter limiter(2);
  CHECK(limiter.Acquire("127.0.0.2"));
  CHECK(limiter.Acquire("127.0.0.2"));
  CHECK_FALSE(limiter.Acquire("127.0.0.2"));
  CHECK_FALSE(limiter.Acquire("127.0.0.2"));
  CHECK(limiter.Acquire("127.0.0.3"));
  CHECK(limiter.Active() == 3);
  CHECK(limiter.Release("127.0.0.2") == 0);
  CHECK(limiter.Acquire("127.0.0.2"));
  CHECK(limiter.Release("127.0.0.2") == 0);
  // The last one out reports the refusals, once.
  CHECK(limiter.Release("127.0.0.2") == 2);
  CHECK(limiter.Release("127.0.0.3") == 0);
  CHECK(limiter.Active() == 0);
  CHECK(limiter.Release("127.0.0.9") == 0);  // never acquired
}

// A connected socket pair: the test writes to .peer, the guard reads .fd.
struct Pair {
  int fd = -1, peer = -1;
  Pair() {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    fd = sv[0];
    peer = sv[1];
  }
  ~Pair() {
    ::close(fd);
    ::close(peer);
  }
  void Send(const std::string& bytes) const {
    REQUIRE(::send(peer, bytes.data(), bytes.size(), 0) ==
            static_cast<ssize_t>(bytes.size()));
  }
};

// What the HTTP library would read of the current request.
std::string ReadRequest(EdgeConnection& conn) {
  std::string out;
  char buf[7];  // small, to cross the buffer's edges
  for (;;) {
    const ssize_t n = conn.Read(buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

EdgeLimits TestLimits() {
  EdgeLimits limits;
  limits.keep_alive = std::chrono::milliseconds(200);
  limits.head_deadline = std::chrono::milliseconds(300);
  limits.io_timeout = std::chrono::milliseconds(300);
  limits.max_headers = 4;
  limits.max_head_bytes = 256;
  limits.max_body_bytes = 10;
  return limits;
}

TEST_CASE("EdgeConnection: pipelined requests are handed over one by one",
          "[edge][untrusted]") {
  const EdgeLimits limits = TestLimits();
  Pair p;
  const std::string a = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string b =
      "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
  p.Send(a + b);
  EdgeConnection conn(p.fd, limits);
  std::string why;
  REQUIRE(conn.ReadHead(nullptr, &why) == EdgeConnection::Head::kReady);
  CHECK(ReadRequest(conn) == a);
  CHECK(conn.FinishRequest());
  REQUIRE(conn.ReadHead(nullptr, &why) == EdgeConnection::Head::kReady);
  CHECK(ReadRequest(conn) == b);
  CHECK(conn.FinishRequest());
  CHECK(conn.ReadHead(nullptr, &why) == EdgeConnection::Head::kIdle);
}

TEST_CASE("EdgeConnection: a body-taking request without a length has none",
          "[edge][untrusted]") {
  const EdgeLimits limits = TestLimits();
  Pair p;
  p.Send("DELETE /api/x/1 HTTP/1.1\r\nHost: x\r\n\r\n");
  EdgeConnection conn(p.fd, limits);
  std::string why;
  REQUIRE(conn.ReadHead(nullptr, &why) == EdgeConnection::Head::kReady);
  CHECK(ReadRequest(conn) ==
        "DELETE /api/x/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  CHECK(conn.FinishRequest());
}

TEST_CASE("EdgeConnection: a body left unread closes the connection",
          "[edge][untrusted]") {
  const EdgeLimits limits = TestLimits();
  Pair p;
  const std::string head =
      "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n";
  p.Send(head + "GET / HTTP/1.1\r\n\r\n");  // "body" that looks like a request
  EdgeConnection conn(p.fd, limits);
  std::string why;
  REQUIRE(conn.ReadHead(nullptr, &why) == EdgeConnection::Head::kReady);
  std::string got(head.size(), '\0');
  size_t n = 0;
  while (n < head.size()) {
    const ssize_t r = conn.Read(&got[n], head.size() - n);
    REQUIRE(r > 0);
    n += static_cast<size_t>(r);
  }
  CHECK(got == head);
  CHECK_FALSE(conn.FinishRequest());  // the handler never read the body
}

TEST_CASE("EdgeConnection: heads over the caps or with bad lengths are refused",
          "[edge][untrusted]") {
  const EdgeLimits limits = TestLimits();
  using H = EdgeConnection::Head;
  struct Case {
    std::string bytes;
    H expected;
  } cases[] = {
      {"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n",
       H::kTooLarge},
      {"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n", H::kTooLarge},
      {"GET / HTTP/1.1\r\nX: " + std::string(300, 'a') + "\r\n\r\n",
       H::kTooLarge},
      {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", H::kBadRequest},
      {"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", H::kBadRequest},
      {"POST / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\n",
       H::kBadRequest},
      {"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", H::kBodyTooLarge},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
       H::kLengthRequired},
      {"GET / HTTP/1.1\r\n folded\r\n\r\n", H::kBadRequest},
      {"get / HTTP/1.1\r\n\r\n", H::kBadRequest},
      // Bare LF or CR: httplib would split lines where the guard does not,
      // and read a Content-Length the guard never checked (fuzz finding).
      {"PUT /x H\nContent-Length: 1!0\r\n\r\nabc", H::kBadRequest},
      {"GET / HTTP/1.1\r\nA: 1\rContent-Length: 5\r\n\r\n", H::kBadRequest},
      {std::string("GET / HTTP/1.1\r\nA: \0\r\n\r\n", 24), H::kBadRequest},
      {"POST / HTTP/1.1\r\nContent-Length :40000\r\n\r\n", H::kBadRequest},
      {"GET / HTTP/1.1\r\nBad Name: 1\r\n\r\n", H::kBadRequest},
      {"GET / HTTP/1.1\r\nHost: x\r\n", H::kTimeout},  // never ends
  };
  for (const Case& c : cases) {
    Pair p;
    p.Send(c.bytes);
    EdgeConnection conn(p.fd, limits);
    std::string why;
    INFO(c.bytes);
    CHECK(conn.ReadHead(nullptr, &why) == c.expected);
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("WorkerPool: runs every job, beyond its threads too", "[edge]") {
  std::atomic<int> done{0};
  {
    WorkerPool pool(4, std::chrono::milliseconds(50));
    for (int i = 0; i < 100; ++i) {
      pool.Enqueue([&done] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ++done;
      });
    }
    // Idle threads exit; the pool still takes work afterwards.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    pool.Enqueue([&done] { ++done; });
    pool.Shutdown();
    CHECK(done == 101);
    pool.Shutdown();  // twice is harmless
  }
  CHECK(done == 101);
}

}  // namespace
}  // namespace kbo::edge
