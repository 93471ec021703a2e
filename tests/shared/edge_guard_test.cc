#include "shared/edge_guard.h"

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
