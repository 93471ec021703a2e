#include "server/http_params.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace kbo::server {
namespace {

TEST_CASE("ParseQueryU64: strict decimals from 0 to INT64_MAX",
          "[http_params][untrusted]") {
  uint64_t n = 42;
  CHECK(ParseQueryU64("0", &n));
  CHECK(n == 0);
  CHECK(ParseQueryU64("9223372036854775807", &n));
  CHECK(n == static_cast<uint64_t>(INT64_MAX));
  CHECK(ParseQueryU64("007", &n));
  CHECK(n == 7);
  CHECK(ParseQueryU64("0000000000000000001", &n));  // 19 digits
  CHECK(n == 1);
  // Refused, the output left alone.
  n = 42;
  for (const std::string& text : std::vector<std::string>{
           "", "9223372036854775808", "18446744073709551615",
        "18446744073709551616", "99999999999999999999",
        "00000000000000000001", "-1", "-0", "+1", " 1", "1 ", "1 2", "\t1",
        "1\n", "0x10", "1e3", "1.0", "1,000", "١", std::string("1\0", 2)}) {
    INFO("'" << text << "'");
    CHECK_FALSE(ParseQueryU64(text, &n));
    CHECK(n == 42);
  }
}

TEST_CASE("QueryU64: absent gives the fallback, repeated is refused",
          "[http_params][untrusted]") {
  uint64_t n = 42;
  CHECK(QueryU64(0, "", 5, &n));
  CHECK(n == 5);
  CHECK(QueryU64(1, "12", 5, &n));
  CHECK(n == 12);
  n = 42;
  CHECK_FALSE(QueryU64(2, "12", 5, &n));
  CHECK_FALSE(QueryU64(1, "", 5, &n));  // "?after=" is not absent
  CHECK_FALSE(QueryU64(1, "-3", 5, &n));
  CHECK(n == 42);
}

}  // namespace
}  // namespace kbo::server
