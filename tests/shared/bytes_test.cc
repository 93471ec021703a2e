// The byte layer (shared/bytes.h): every bound of the reader crossed, and
// the writer's layout pinned.

#include "shared/bytes.h"

#include <cmath>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include "shared/encoding.h"

namespace kbo {
namespace {

std::string Hex(std::string_view hex) { return *HexDecode(hex); }

TEST_CASE("ByteWriter: integers are little-endian, varints LEB128",
          "[bytes]") {
  std::string out;
  ByteWriter w(&out);
  w.U8(0xab);
  w.U16(0x0102);
  w.U32(0x03040506);
  w.U64(0x0708090a0b0c0d0e);
  w.I64(-2);
  w.F64(-0.0);
  w.Varint(0);
  w.Varint(127);
  w.Varint(128);
  w.Varint(std::numeric_limits<uint64_t>::max());
  w.Bytes32("ab");
  w.Bytes8("c");
  w.BytesVarint("");
  CHECK(HexEncode(out) ==
        "ab" "0201" "06050403" "0e0d0c0b0a090807" "feffffffffffffff"
        "0000000000000080" "00" "7f" "8001" "ffffffffffffffffff01"
        "0200000061620163" "00");
  CHECK(w.size() == out.size());
  CHECK(ZigZag(0) == 0);
  CHECK(ZigZag(-1) == 1);
  CHECK(ZigZag(1) == 2);
  CHECK(UnZigZag(ZigZag(std::numeric_limits<int64_t>::min())) ==
        std::numeric_limits<int64_t>::min());
  CHECK(UnZigZag(ZigZag(std::numeric_limits<int64_t>::max())) ==
        std::numeric_limits<int64_t>::max());
}

TEST_CASE("ByteReader: reads back what the writer wrote, then ends",
          "[bytes]") {
  std::string out;
  ByteWriter w(&out);
  w.U16(0xbeef);
  w.I64(std::numeric_limits<int64_t>::min());
  w.F64(18.7884);
  w.Varint(300);
  w.Bytes32("มาสาย");
  ByteReader r(out);
  uint16_t a = 0;
  int64_t b = 0;
  double c = 0;
  uint64_t d = 0;
  std::string_view e;
  REQUIRE(r.U16(&a, "a"));
  REQUIRE(r.I64(&b, "b"));
  REQUIRE(r.F64(&c, "c"));
  REQUIRE(r.Varint(&d, "d"));
  REQUIRE(r.Bytes32(&e, 64, "e"));
  CHECK(a == 0xbeef);
  CHECK(b == std::numeric_limits<int64_t>::min());
  CHECK(c == 18.7884);
  CHECK(d == 300);
  CHECK(e == "มาสาย");
  CHECK(r.End("e"));
  CHECK(r.status().ok());
  CHECK(r.offset() == out.size());
}

void CheckCorrupt(const ByteReader& r, const char* needle) {
  CHECK(r.status().code() == Code::kCorruption);
  CHECK_THAT(r.status().message(), Catch::Contains(needle));
}

TEST_CASE("ByteReader: a fixed-size read past the end fails and names it",
          "[bytes]") {
  const std::string three = "abc";
  ByteReader r(three, 100);
  uint32_t v = 7;
  CHECK_FALSE(r.U32(&v, "row count"));
  CheckCorrupt(r, "row count needs 4 bytes at offset 100, only 3 left");
  // Nothing consumed, and every later read fails with the first reason.
  uint8_t b = 0;
  CHECK_FALSE(r.U8(&b, "flags"));
  CheckCorrupt(r, "row count");
  char raw[4];
  ByteReader r2(three);
  CHECK_FALSE(r2.Raw(raw, 4, "device"));
  CheckCorrupt(r2, "device needs 4 bytes");
  ByteReader empty("");
  CHECK_FALSE(empty.U8(&b, "type"));
  CheckCorrupt(empty, "type needs 1 bytes at offset 0, only 0 left");
}

TEST_CASE("ByteReader: a length past the end or over its cap is refused "
          "before anything is sized by it",
          "[bytes]") {
  std::string_view view;
  SECTION("2^32-1 with four bytes behind it") {
    const std::string bytes = Hex("ffffffff") + "abcd";
    ByteReader r(bytes);
    CHECK_FALSE(r.Bytes32(&view, std::numeric_limits<uint64_t>::max(), "text"));
    CheckCorrupt(r, "text of 4294967295 bytes at offset 4 runs past the end (4 left)");
  }
  SECTION("over the cap, though the bytes are there") {
    const std::string bytes = Hex("05000000") + "hello";
    ByteReader r(bytes);
    CHECK_FALSE(r.Bytes32(&view, 4, "column name"));
    CheckCorrupt(r, "column name is 5 bytes, limit 4");
    ByteReader ok(bytes);
    CHECK(ok.Bytes32(&view, 5, "column name"));
    CHECK(view == "hello");
  }
  SECTION("one byte short") {
    const std::string bytes = Hex("06000000") + "hello";
    ByteReader r(bytes);
    CHECK_FALSE(r.Bytes32(&view, 64, "text"));
    CheckCorrupt(r, "runs past the end (5 left)");
  }
  SECTION("a truncated length prefix") {
    const std::string bytes = Hex("0500");
    ByteReader r(bytes);
    CHECK_FALSE(r.Bytes32(&view, 64, "text"));
    CheckCorrupt(r, "text length needs 4 bytes at offset 0, only 2 left");
  }
  SECTION("one-byte and varint lengths") {
    const std::string one = Hex("ff") + "x";
    ByteReader r(one);
    CHECK_FALSE(r.Bytes8(&view, 255, "name"));
    CheckCorrupt(r, "name of 255 bytes");
    const std::string varint = Hex("ffffffffffffffffff01") + "x";
    ByteReader v(varint);
    CHECK_FALSE(v.BytesVarint(&view, std::numeric_limits<uint64_t>::max(), "name"));
    CheckCorrupt(v, "runs past the end (1 left)");
    const std::string zero = Hex("00");
    ByteReader z(zero);
    CHECK(z.BytesVarint(&view, 0, "name"));
    CHECK(view.empty());
    CHECK(z.End("name"));
  }
}

TEST_CASE("ByteReader: truncated, overlong and overflowing varints fail",
          "[bytes]") {
  uint64_t v = 0;
  for (const char* hex : {"80", "ffff", "ffffffffffffffffff"}) {
    const std::string bytes = Hex(hex);
    ByteReader r(bytes);
    CHECK_FALSE(r.Varint(&v, "wall"));
    CheckCorrupt(r, "wall needs 1 bytes");
  }
  // Ten bytes whose last carries more than bit 63, and eleven bytes.
  for (const char* hex : {"ffffffffffffffffff02", "ffffffffffffffffff7f",
                          "8080808080808080808001"}) {
    const std::string bytes = Hex(hex);
    ByteReader r(bytes);
    CHECK_FALSE(r.Varint(&v, "base"));
    CheckCorrupt(r, "base before offset 10 is not a varint of at most 64 bits");
  }
  const std::string max = Hex("ffffffffffffffffff01");
  ByteReader r(max);
  REQUIRE(r.Varint(&v, "base"));
  CHECK(v == std::numeric_limits<uint64_t>::max());
}

TEST_CASE("ByteReader: counts are bounded by their cap and the bytes left",
          "[bytes]") {
  const std::string bytes(100, 'x');
  ByteReader r(bytes);
  CHECK(r.CheckCount(10, 10, 10, "row count"));
  CHECK_FALSE(r.CheckCount(11, 10, 1, "row count"));
  CheckCorrupt(r, "row count is 11, limit 10");
  ByteReader r2(bytes);
  CHECK_FALSE(r2.CheckCount(11, 1000, 10, "row count"));
  CheckCorrupt(r2, "row count 11 exceeds the bytes that remain (100)");
  ByteReader r3(bytes);
  CHECK_FALSE(r3.CheckCount(std::numeric_limits<uint32_t>::max(),
                            std::numeric_limits<uint64_t>::max(), 1, "n"));
}

TEST_CASE("ByteReader: a magic, trailing bytes and a caller's failure",
          "[bytes]") {
  ByteReader r(std::string_view("KBOX!"));
  CHECK(r.Expect("KBOX", "an outbox entry"));
  CHECK_FALSE(r.End("the last row"));
  CheckCorrupt(r, "1 trailing bytes after the last row");

  ByteReader bad(std::string_view("KBO"));
  CHECK_FALSE(bad.Expect("KBOX", "an outbox entry"));
  CheckCorrupt(bad, "not an outbox entry (no \"KBOX\" at offset 0)");

  ByteReader f(std::string_view("ab"), 40);
  uint8_t b = 0;
  REQUIRE(f.U8(&b, "x"));
  CHECK_FALSE(f.Fail("name index 9 is not one of the 2 names"));
  CheckCorrupt(f, "name index 9 is not one of the 2 names (at offset 41)");
  CHECK_FALSE(f.U8(&b, "y"));  // sticky
}

}  // namespace
}  // namespace kbo
