// The one UTF-8 validator, hex codec and decimal parser (shared/encoding.h).

#include "shared/encoding.h"

#include <algorithm>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

namespace kbo {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

TEST_CASE("Utf8: Thai, ASCII and the edges of each length are accepted",
          "[encoding]") {
  for (const char* ok :
       {"", "plain", "กลุ่มทอผ้าบ้านดอนเปา", "มาสาย ฝนตก ๑๒๓", "\xc2\x80",
        "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
        "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"}) {
    CAPTURE(HexEncode(ok));
    CHECK(IsValidUtf8(ok));
    CHECK(FirstInvalidUtf8(ok) == std::string_view(ok).size());
  }
}

TEST_CASE("Utf8: overlongs, surrogates, truncation and stray bytes are "
          "refused at their offset",
          "[encoding]") {
  struct Bad {
    const char* text;
    size_t at;
  };
  for (const Bad& b : {
           Bad{"\xc0\xaf", 0},              // overlong '/'
           Bad{"\xc1\xbf", 0},              // overlong
           Bad{"\xe0\x9f\xbf", 0},          // overlong 3-byte
           Bad{"\xf0\x8f\xbf\xbf", 0},      // overlong 4-byte
           Bad{"\xed\xa0\x80", 0},          // U+D800
           Bad{"\xed\xbf\xbf", 0},          // U+DFFF
           Bad{"\xf4\x90\x80\x80", 0},      // above U+10FFFF
           Bad{"\xf5\x80\x80\x80", 0},      // no such lead
           Bad{"\xff", 0},
           Bad{"ab\x80", 2},                // lone continuation
           Bad{"ก\xe0\xb8", 3},             // Thai cut short
           Bad{"\xe0\xb8\x41", 0},          // continuation missing
           Bad{"\xf0\x90\x80", 0},          // 4-byte cut short
       }) {
    CAPTURE(HexEncode(b.text));
    CHECK_FALSE(IsValidUtf8(b.text));
    CHECK(FirstInvalidUtf8(b.text) == b.at);
  }
}

TEST_CASE("TerminalColumns and FitColumns: Thai marks above and below take no "
          "column, and a cut keeps whole characters and says so",
          "[encoding][csv_thai]") {
  CHECK(TerminalColumns("") == 0);
  CHECK(TerminalColumns("Phrao") == 5);
  // ก ล ุ ่ ม: 5 characters, 3 columns (the vowel below and the tone mark
  // above sit on ล).
  CHECK(TerminalColumns("กลุ่ม") == 3);
  CHECK(TerminalColumns("นางสมศรี ใจดี") == 11);
  CHECK(TerminalColumns("พร้าว") == 4);
  CHECK(FitColumns("พร้าว", 4) == "พร้าว");
  CHECK(FitColumns("วิทยากร อ.พร้าว (แท็บเล็ตห้องอบรม)", 10) == "วิทยากร อ.\u2026");
  CHECK(TerminalColumns(FitColumns("วิทยากร อ.พร้าว (แท็บเล็ตห้องอบรม)", 10)) == 10);
  CHECK(FitColumns("abcdef", 3) == "ab\u2026");
  CHECK(IsValidUtf8(FitColumns("กลุ่มทอผ้าบ้านป่าตุ้ม", 7)));
  CHECK(FitColumns("abc", 0).empty());
}

TEST_CASE("Utf8Prefix: never cuts a character, whatever the limit",
          "[encoding][utf8]") {
  const std::string thai = "กลุ่มทอผ้า";  // 3 bytes a character
  for (size_t max = 0; max <= thai.size() + 2; ++max) {
    CAPTURE(max);
    const std::string_view cut = Utf8Prefix(thai, max);
    CHECK(cut.size() <= max);
    CHECK(cut.size() % 3 == 0);
    CHECK(cut.size() + 3 > std::min(max, thai.size()));  // the longest
    CHECK(IsValidUtf8(cut));
    CHECK(thai.compare(0, cut.size(), cut) == 0);
  }
  CHECK(Utf8Prefix("abc", 2) == "ab");
  CHECK(Utf8Prefix("", 5).empty());
  CHECK(Utf8Prefix("a\xF0\x9F\x98\x80", 4) == "a");  // a 4-byte emoji
}

TEST_CASE("CrlfToLf and PercentDecode: what browsers send, and garbage",
          "[encoding]") {
  CHECK(CrlfToLf("บรรทัด 1\r\nบรรทัด 2\r\n") == "บรรทัด 1\nบรรทัด 2\n");
  CHECK(CrlfToLf("a\rb\n\r") == "a\rb\n\r");  // a lone CR stays
  CHECK(CrlfToLf("\r\r\n") == "\r\n");
  CHECK(PercentDecode("%E0%B8%81+x%2B") == "ก x+");
  CHECK(PercentDecode("100%") == "100%");
  CHECK(PercentDecode("%4") == "%4");
  CHECK(PercentDecode("%zz%4g") == "%zz%4g");
  CHECK(PercentDecode("%00") == std::string(1, '\0'));
  CHECK(PercentDecode("") == "");
}

TEST_CASE("Hex: encodes lowercase, decodes either case, refuses the rest",
          "[encoding]") {
  CHECK(HexEncode(std::string_view("\x00\x0f\xab\xff", 4)) == "000fabff");
  CHECK(HexEncode("") == "");
  char buf[4];
  HexEncodeTo("\x12\xef", 2, buf);
  CHECK(std::string(buf, 4) == "12ef");
  CHECK(*HexDecode("000fABff") == std::string("\x00\x0f\xab\xff", 4));
  CHECK(HexDecode("")->empty());
  CHECK(HexDecode("abc").status().code() == Code::kInvalidArgument);
  CHECK(HexDecode("zz").status().code() == Code::kInvalidArgument);
  CHECK(HexDecode(" a").status().code() == Code::kInvalidArgument);
  uint8_t key[2];
  Status s = HexDecodeTo("abc", key, 2, "public key");
  CHECK(s.message() == "public key must be 4 hex digits, got 3");
  s = HexDecodeTo("ab-d", key, 2, "public key");
  CHECK(s.message() == "public key has a non-hex digit");
  REQUIRE(HexDecodeTo("0aFf", key, 2, "k").ok());
  CHECK(key[0] == 0x0a);
  CHECK(key[1] == 0xff);
  CHECK(IsLowerHex(std::string(64, 'a'), 64));
  CHECK_FALSE(IsLowerHex(std::string(63, 'a'), 64));
  CHECK_FALSE(IsLowerHex("ABCD"));
  CHECK_FALSE(IsLowerHex(""));
  uint64_t v = 0;
  CHECK(ParseHexU64("ffffffffffffffff", &v));
  CHECK(v == std::numeric_limits<uint64_t>::max());
  CHECK(ParseHexU64("0190", &v));
  CHECK(v == 0x190);
  CHECK_FALSE(ParseHexU64("1ffffffffffffffff", &v));  // 17 digits
  CHECK_FALSE(ParseHexU64("", &v));
  CHECK_FALSE(ParseHexU64("0A", &v));
}

TEST_CASE("Integers: digits only, exact overflow, bounds", "[encoding]") {
  CHECK(ParseInt64("0") == 0);
  CHECK(ParseInt64("007") == 7);
  CHECK(ParseInt64("-42") == -42);
  CHECK(ParseInt64("9223372036854775807") == kMax);
  CHECK(ParseInt64("-9223372036854775808") == kMin);
  CHECK_FALSE(ParseInt64("9223372036854775808"));
  CHECK_FALSE(ParseInt64("-9223372036854775809"));
  CHECK_FALSE(ParseInt64("99999999999999999999999"));
  for (const char* bad : {"", "-", "+1", " 1", "1 ", "1x", "0x10", "1e3",
                          "--1", "1.0", "๑"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseInt64(bad));
    CHECK_FALSE(ParseUint64(bad));
  }
  CHECK(ParseInt64("10", 1, 10) == 10);
  CHECK_FALSE(ParseInt64("11", 1, 10));
  CHECK_FALSE(ParseInt64("0", 1, 10));
  CHECK_FALSE(ParseInt64("-1", 0, 10));  // no sign when min >= 0
  CHECK(ParseInt64("-5", -10, -5) == -5);
  CHECK_FALSE(ParseInt64("-4", -10, -5));
  CHECK_FALSE(ParseInt64("3", -10, -5));
  CHECK(ParseUint64("18446744073709551615") ==
        std::numeric_limits<uint64_t>::max());
  CHECK_FALSE(ParseUint64("18446744073709551616"));
  CHECK_FALSE(ParseUint64("-1"));
  CHECK(ParseUint64("65535", 65535) == 65535);
  CHECK_FALSE(ParseUint64("65536", 65535));
}

}  // namespace
}  // namespace kbo
