#include "shared/hlc.h"

#include <cstdint>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "shared/wall_clock.h"

namespace kbo {
namespace {

constexpr int64_t kHourMs = int64_t{3600} * 1000;
constexpr int64_t kJune2024Ms = 1718000000000;

Uuid DeviceOf(uint8_t last) {
  Uuid u;
  u.bytes[15] = last;
  return u;
}

Hlc At(int64_t wall_ms, uint32_t counter, uint8_t device) {
  Hlc h;
  h.wall_ms = wall_ms;
  h.counter = counter;
  h.device = DeviceOf(device);
  return h;
}

// Samples that collide often on wall time and counter, so the device
// tie-break is exercised, with some spread over the whole 48-bit range.
Hlc RandomHlc(std::mt19937& rng) {
  Hlc h;
  if (rng() % 2 == 0) {
    h.wall_ms = static_cast<int64_t>(rng() % 3);
    h.counter = rng() % 3;
  } else {
    h.wall_ms = static_cast<int64_t>(((uint64_t{rng()} << 32) | rng()) %
                                     (uint64_t{1} << 48));
    h.counter = rng();
  }
  for (uint8_t& b : h.device.bytes) b = static_cast<uint8_t>(rng() % 3);
  return h;
}

TEST_CASE("Hlc: ordered by wall time, then counter, then device", "[hlc]") {
  CHECK(At(1000, 9, 9) < At(1001, 0, 0));
  CHECK(At(1000, 1, 9) < At(1000, 2, 0));
  CHECK(At(1000, 1, 1) < At(1000, 1, 2));  // the device breaks ties
  CHECK(At(1000, 1, 1) == At(1000, 1, 1));
  CHECK(At(1000, 1, 1) != At(1000, 1, 2));
  CHECK(At(1000, 1, 2) > At(1000, 1, 1));
  CHECK(At(1000, 1, 1) <= At(1000, 1, 1));
  CHECK(At(1000, 1, 1) >= At(1000, 1, 1));
}

TEST_CASE("Hlc: the order is total: exactly one of <, ==, > holds",
          "[hlc][property]") {
  const uint32_t seed = GENERATE(take(3, random(1u, 1000000000u)));
  CAPTURE(seed);
  std::mt19937 rng(seed);
  for (int i = 0; i < 2000; ++i) {
    const Hlc a = RandomHlc(rng), b = RandomHlc(rng);
    const int holds = (a < b ? 1 : 0) + (a == b ? 1 : 0) + (a > b ? 1 : 0);
    CHECK(holds == 1);
  }
}

TEST_CASE("Hlc: the text form round trips and sorts like the Hlc",
          "[hlc][property]") {
  CHECK(At(0x123456789ab, 0x2a, 0x0f).ToString() ==
        "0123456789ab.0000002a.00000000-0000-0000-0000-00000000000f");
  const uint32_t seed = GENERATE(take(3, random(1u, 1000000000u)));
  CAPTURE(seed);
  std::mt19937 rng(seed);
  for (int i = 0; i < 2000; ++i) {
    const Hlc a = RandomHlc(rng), b = RandomHlc(rng);
    const std::string ta = a.ToString(), tb = b.ToString();
    CAPTURE(ta, tb);
    Result<Hlc> back = Hlc::Parse(ta);
    REQUIRE(back.ok());
    CHECK(*back == a);
    CHECK((ta < tb) == (a < b));
    CHECK((ta == tb) == (a == b));
  }
}

TEST_CASE("Hlc: Parse refuses all but the exact text form", "[hlc]") {
  const std::string good = At(kJune2024Ms, 7, 1).ToString();
  REQUIRE(Hlc::Parse(good).ok());
  std::string upper = good;
  upper[11] = 'A';  // hex digits are lower case, or text order breaks
  const std::string bad =
      GENERATE_COPY(std::string(""), good.substr(1), good + "0", upper,
                    std::string(good).replace(12, 1, "-"),
                    std::string(good).replace(21, 1, ":"),
                    std::string(good).replace(0, 1, "g"),
                    std::string(good).replace(22, 1, "Z"));
  CAPTURE(bad);
  CHECK(Hlc::Parse(bad).status().code() == Code::kInvalidArgument);
}

TEST_CASE("HybridClock: the counter counts writes within one millisecond",
          "[hlc]") {
  ManualWallClock wall(kJune2024Ms);
  HybridClock clock(&wall, DeviceOf(1));
  const Hlc a = clock.Now(), b = clock.Now(), c = clock.Now();
  CHECK(a.wall_ms == kJune2024Ms);
  CHECK(a.counter == 0);
  CHECK(b.wall_ms == kJune2024Ms);
  CHECK(b.counter == 1);
  CHECK(c.counter == 2);
  CHECK(a.device == DeviceOf(1));
  wall.Advance(1);
  const Hlc d = clock.Now();
  CHECK(d.wall_ms == kJune2024Ms + 1);
  CHECK(d.counter == 0);
  CHECK(clock.State() == d);
}

TEST_CASE(
    "HybridClock: stays monotonic when the wall clock jumps back an "
    "hour",
    "[hlc]") {
  ManualWallClock wall(kJune2024Ms);
  HybridClock clock(&wall, DeviceOf(1));
  Hlc last = clock.Now();
  wall.Advance(-kHourMs);
  for (int i = 0; i < 1000; ++i) {
    const Hlc next = clock.Now();
    CHECK(next > last);
    CHECK(next.wall_ms == kJune2024Ms);  // holds its time, counts instead
    last = next;
    if (i % 100 == 0) wall.Advance(kHourMs / 10);
  }
  wall.Set(kJune2024Ms + 1);
  const Hlc caught_up = clock.Now();
  CHECK(caught_up > last);
  CHECK(caught_up.wall_ms == kJune2024Ms + 1);
}

TEST_CASE(
    "HybridClock: a restart from the persisted state continues above "
    "it",
    "[hlc]") {
  ManualWallClock wall(kJune2024Ms);
  Hlc persisted;
  {
    HybridClock clock(&wall, DeviceOf(1));
    for (int i = 0; i < 5; ++i) clock.Now();
    persisted = clock.State();
  }
  wall.Advance(-kHourMs);  // the device rebooted with a wrong clock
  HybridClock restarted(&wall, DeviceOf(1), persisted);
  CHECK(restarted.Now() > persisted);
}

TEST_CASE(
    "HybridClock: after observing a remote hlc ahead within the "
    "bound, the next local hlc is later",
    "[hlc]") {
  ManualWallClock wall(kJune2024Ms);
  HybridClock clock(&wall, DeviceOf(1));
  clock.Now();
  const int64_t ahead = GENERATE(int64_t{0}, int64_t{1}, int64_t{5} * 60 * 1000,
                                 HybridClock::kDefaultMaxSkewMs);
  const uint32_t counter = GENERATE(0u, 7u, UINT32_MAX - 1);
  const uint8_t device = GENERATE(uint8_t{0}, uint8_t{0xff});
  CAPTURE(ahead, counter, device);
  const Hlc remote = At(kJune2024Ms + ahead, counter, device);
  REQUIRE(clock.Observe(remote).ok());
  const Hlc next = clock.Now();
  CHECK(next > remote);
  CHECK(next.device == DeviceOf(1));
}

TEST_CASE(
    "HybridClock: a remote hlc beyond the skew bound is refused and "
    "the clock is unchanged",
    "[hlc]") {
  ManualWallClock wall(kJune2024Ms);
  HybridClock clock(&wall, DeviceOf(1), Hlc{}, /*max_skew_ms=*/kHourMs);
  clock.Now();
  const Hlc before = clock.State();
  const Hlc remote = At(kJune2024Ms + kHourMs + 1, 0, 2);
  CHECK(clock.CheckSkew(remote).code() == Code::kFailedPrecondition);
  Status s = clock.Observe(remote);
  CHECK(s.code() == Code::kFailedPrecondition);
  CHECK(!s.message().empty());
  CHECK(clock.State() == before);
  CHECK(clock.Now().wall_ms == kJune2024Ms);

  // The default bound is 24 hours (DESIGN §4).
  HybridClock defaults(&wall, DeviceOf(1));
  CHECK(defaults.Observe(At(kJune2024Ms + 25 * kHourMs, 0, 2)).code() ==
        Code::kFailedPrecondition);
  CHECK(defaults.Observe(At(kJune2024Ms + 23 * kHourMs, 0, 2)).ok());
}

TEST_CASE("HybridClock: observing an older hlc changes nothing", "[hlc]") {
  ManualWallClock wall(kJune2024Ms);
  HybridClock clock(&wall, DeviceOf(1));
  const Hlc a = clock.Now();
  REQUIRE(clock.Observe(At(kJune2024Ms - kHourMs, 99, 2)).ok());
  CHECK(clock.State() == a);
  CHECK(clock.Now() > a);
}

}  // namespace
}  // namespace kbo
