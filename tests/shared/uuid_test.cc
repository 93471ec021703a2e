#include "shared/uuid.h"

#include <set>
#include <string>

#include <catch2/catch.hpp>

namespace kbo {
namespace {

int Version(const Uuid& u) { return u.bytes[6] >> 4; }
bool HasRfcVariant(const Uuid& u) { return (u.bytes[8] & 0xc0) == 0x80; }

TEST_CASE("Uuid: Random is version 4 with the RFC variant, and unique",
          "[uuid]") {
  std::set<Uuid> seen;
  for (int i = 0; i < 1000; ++i) {
    const Uuid u = Uuid::Random();
    CHECK(Version(u) == 4);
    CHECK(HasRfcVariant(u));
    CHECK_FALSE(u.IsNil());
    seen.insert(u);
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("Uuid: text form is canonical lowercase 8-4-4-4-12 and round trips",
          "[uuid]") {
  for (int i = 0; i < 100; ++i) {
    const Uuid u = Uuid::Random();
    const std::string text = u.ToString();
    CAPTURE(text);
    REQUIRE(text.size() == 36);
    CHECK(text[8] == '-');
    CHECK(text[13] == '-');
    CHECK(text[18] == '-');
    CHECK(text[23] == '-');
    CHECK(text[14] == '4');
    Result<Uuid> back = Uuid::Parse(text);
    REQUIRE(back.ok());
    CHECK(*back == u);
  }
  CHECK(Uuid{}.ToString() == "00000000-0000-0000-0000-000000000000");
  CHECK(Uuid{}.IsNil());
}

TEST_CASE("Uuid: Parse accepts upper case and formats it back in lower case",
          "[uuid]") {
  Result<Uuid> u = Uuid::Parse("5F0C5A52-3B1E-4D6A-9C1E-0A4B8E2F7D11");
  REQUIRE(u.ok());
  CHECK(u->ToString() == "5f0c5a52-3b1e-4d6a-9c1e-0a4b8e2f7d11");
}

TEST_CASE("Uuid: Parse refuses anything but the 8-4-4-4-12 form", "[uuid]") {
  const std::string bad = GENERATE(
      std::string(""), std::string("not a uuid"),
      std::string("5f0c5a52-3b1e-4d6a-9c1e-0a4b8e2f7d1"),    // 35 chars
      std::string("5f0c5a52-3b1e-4d6a-9c1e-0a4b8e2f7d111"),  // 37 chars
      std::string("5f0c5a523b1e4d6a9c1e0a4b8e2f7d11"),       // no dashes
      std::string("{5f0c5a52-3b1e-4d6a-9c1e-0a4b8e2f7d1}"),  // braces
      std::string("5f0c5a52_3b1e-4d6a-9c1e-0a4b8e2f7d11"),   // '_' for '-'
      std::string("5f0c5a5-23b1e-4d6a-9c1e-0a4b8e2f7d11"),   // dash moved
      std::string("5f0c5a52-3b1e-4d6a-9c1e-0a4b8e2f7d1g"),   // 'g'
      std::string("5f0c5a52-3b1e-4d6a-9c1e-0a4b8e2f 7d1"),   // space
      std::string("5f0c5a52-3b1e-4d6a-9c1e-\xe0\xb8\x81\xe0\xb8\x82\xe0\xb8"
                  "\x83\x30\x31\x32"));  // Thai
  CAPTURE(bad);
  CHECK(Uuid::Parse(bad).status().code() == Code::kInvalidArgument);
}

// An earlier Parse skipped a '-' anywhere, so extra dashes that kept the
// hex digits paired read 15 bytes and left the last one zero.
TEST_CASE("Uuid: Parse refuses extra dashes that keep digits paired",
          "[uuid]") {
  CHECK(Uuid::Parse("-123456--abcd-abcd-abcd-abcdefabcdef").status().code() ==
        Code::kInvalidArgument);
  CHECK(Uuid::Parse("12345678-abcd-abcd-abcd---abcdefabcd").status().code() ==
        Code::kInvalidArgument);
}

TEST_CASE(
    "Uuid: Derived is a deterministic version 8 id of namespace and "
    "name",
    "[uuid]") {
  const Uuid ns = Uuid::Derived(Uuid{}, "kbo-field/derived-ids/v1");
  // Pinned: natural keys must address the same row on every device and
  // every version forever (SHA-256(namespace || name), RFC 9562 v8 bits).
  CHECK(ns.ToString() == "eb40c608-8a4c-8290-9453-e988c5e62cb4");
  CHECK(Uuid::Derived(Uuid{}, "attendance|w|e|1").ToString() ==
        "3665d9c5-0b7a-818c-8c59-d1c7b3e156f3");

  const Uuid a = Uuid::Derived(ns, "attendance|w1|e1|1");
  CHECK(Uuid::Derived(ns, "attendance|w1|e1|1") == a);
  CHECK(Version(a) == 8);
  CHECK(HasRfcVariant(a));
  CHECK(Uuid::Derived(ns, "attendance|w1|e1|2") != a);
  CHECK(Uuid::Derived(ns, "") != Uuid::Derived(ns, std::string_view("\0", 1)));
  CHECK(Uuid::Derived(Uuid::Random(), "attendance|w1|e1|1") != a);
  CHECK(Uuid::Derived(ns, "ผู้ผลิต") == Uuid::Derived(ns, "ผู้ผลิต"));
}

TEST_CASE("Uuid: order is byte order", "[uuid]") {
  Uuid low, high;
  low.bytes[0] = 0x01;
  high.bytes[0] = 0x02;
  high.bytes[15] = 0x00;
  low.bytes[15] = 0xff;
  CHECK(low < high);
  CHECK_FALSE(high < low);
  CHECK(low.ToString() < high.ToString());
}

}  // namespace
}  // namespace kbo
