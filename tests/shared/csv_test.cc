#include "shared/csv.h"

#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"

namespace kbo {
namespace {

std::vector<CsvRow> Rows(const std::vector<CsvRecord>& records) {
  std::vector<CsvRow> rows;
  for (const CsvRecord& r : records) rows.push_back(r.fields);
  return rows;
}

std::vector<size_t> Lines(const std::vector<CsvRecord>& records) {
  std::vector<size_t> lines;
  for (const CsvRecord& r : records) lines.push_back(r.line);
  return lines;
}

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_CASE("Csv: plain records, LF or CRLF, last line without an ending",
          "[csv]") {
  for (std::string_view text : {"a,b,c\n1,2,3\n", "a,b,c\r\n1,2,3\r\n",
                                "a,b,c\n1,2,3", "a,b,c\r1,2,3\r"}) {
    CAPTURE(text);
    Result<std::vector<CsvRecord>> r = ParseCsv(text);
    REQUIRE(r.ok());
    CHECK(Rows(*r) == std::vector<CsvRow>{{"a", "b", "c"}, {"1", "2", "3"}});
    CHECK(Lines(*r) == std::vector<size_t>{1, 2});
  }
}

TEST_CASE("Csv: empty fields, trailing comma, spaces kept", "[csv]") {
  Result<std::vector<CsvRecord>> r = ParseCsv(",a,,\n b , c\n\"\"\n");
  REQUIRE(r.ok());
  CHECK(Rows(*r) ==
        std::vector<CsvRow>{{"", "a", "", ""}, {" b ", " c"}, {""}});
}

TEST_CASE("Csv: quoted fields hold commas, doubled quotes and line breaks",
          "[csv]") {
  const std::string_view text =
      "name,note\r\n"
      "\"Doi Saket, Chiang Mai\",\"said \"\"hello\"\"\"\r\n"
      "\"two\nlines\",\"crlf\r\ninside\"\r\n"
      "last,\"\"\r\n";
  Result<std::vector<CsvRecord>> r = ParseCsv(text);
  REQUIRE(r.ok());
  CHECK(Rows(*r) ==
        std::vector<CsvRow>{{"name", "note"},
                            {"Doi Saket, Chiang Mai", "said \"hello\""},
                            {"two\nlines", "crlf\r\ninside"},
                            {"last", ""}});
  // A record's line is where it starts; embedded breaks move later ones on.
  CHECK(Lines(*r) == std::vector<size_t>{1, 2, 3, 6});
}

TEST_CASE("Csv: a byte order mark is skipped, blank lines are skipped",
          "[csv]") {
  const std::string text = std::string(kUtf8Bom) +
                           "code,name_th\r\n"
                           "\r\n"
                           "5011,พร้าว\r\n"
                           "\n"
                           "\n"
                           "5009,ฝาง\n";
  Result<std::vector<CsvRecord>> r = ParseCsv(text);
  REQUIRE(r.ok());
  CHECK(Rows(*r) == std::vector<CsvRow>{{"code", "name_th"},
                                        {"5011", "พร้าว"},
                                        {"5009", "ฝาง"}});
  CHECK(Lines(*r) == std::vector<size_t>{1, 3, 6});
  // Only a leading BOM is special.
  CHECK(r->front().fields.front() == "code");
}

TEST_CASE("Csv: empty documents have no records", "[csv]") {
  for (std::string_view text : {"", "\n", "\r\n\r\n", "\xEF\xBB\xBF"}) {
    CAPTURE(text);
    Result<std::vector<CsvRecord>> r = ParseCsv(text);
    REQUIRE(r.ok());
    CHECK(r->empty());
  }
}

TEST_CASE("Csv: Thai text passes through unchanged", "[csv]") {
  const std::string text =
      "kind,name,district,tambon\n"
      "group,กลุ่มทอผ้าบ้านป่าตุ้ม,พร้าว,\"ป่าตุ้ม, ป่าไหน่\"\n";
  Result<std::vector<CsvRecord>> r = ParseCsv(text);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  CHECK((*r)[1].fields ==
        CsvRow{"group", "กลุ่มทอผ้าบ้านป่าตุ้ม", "พร้าว", "ป่าตุ้ม, ป่าไหน่"});
}

TEST_CASE("Csv: errors name the line", "[csv]") {
  struct Case {
    std::string text;
    std::string_view line;  // "CSV line N:"
    std::string_view what;
  };
  const std::vector<Case> cases = {
      {"a,b\n\"open,c\nd,e\n", "CSV line 2:", "never closed"},
      {"a,b\nc,d\"e\n", "CSV line 2:", "stray quote"},
      {"a,b\n\n\"x\"y,z\n", "CSV line 3:", "after a closing quote"},
      {"\"multi\nline\"x\n", "CSV line 2:", "after a closing quote"},
      {"a,b\r\nc,d\r\n\xff,e\r\n", "CSV line 3:", "UTF-8"},
      {"a\n\"two\nlines\"\nok,\xc0\xaf\n", "CSV line 4:", "UTF-8"},
      {"a,\"\xed\xa0\x80\"\n", "CSV line 1:", "UTF-8"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    Result<std::vector<CsvRecord>> r = ParseCsv(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(Contains(r.status().message(), c.line));
    CHECK(Contains(r.status().message(), c.what));
  }
}

TEST_CASE("Csv: FormatCsvRow quotes only where needed, ends in CRLF", "[csv]") {
  CHECK(FormatCsvRow({"a", "b", "c"}) == "a,b,c\r\n");
  CHECK(FormatCsvRow({"พร้าว", "5011"}) == "พร้าว,5011\r\n");
  CHECK(FormatCsvRow({"a,b"}) == "\"a,b\"\r\n");
  CHECK(FormatCsvRow({"say \"hi\""}) == "\"say \"\"hi\"\"\"\r\n");
  CHECK(FormatCsvRow({"two\nlines", "cr\rx"}) ==
        "\"two\nlines\",\"cr\rx\"\r\n");
  CHECK(FormatCsvRow({" lead", "trail ", "in side"}) ==
        "\" lead\",\"trail \",in side\r\n");
  CHECK(FormatCsvRow({"", "x", ""}) == ",x,\r\n");
  // A lone empty field must not become a (skipped) blank line.
  CHECK(FormatCsvRow({""}) == "\"\"\r\n");
}

TEST_CASE("Csv: format then parse gives the same rows back", "[csv]") {
  const std::vector<CsvRow> rows = {
      {"id", "name", "note"},
      {"1", "กลุ่มทอผ้าบ้านป่าตุ้ม", "ผ้าฝ้าย, ย้อมคราม"},
      {"2", "quote \" inside", "\"fully quoted\""},
      {"3", "line\nbreak", "crlf\r\nbreak"},
      {"4", " padded ", ""},
      {"5", "", ""},
      {""},
      {"emoji 🧵", "tab\tinside", "lone\rcr"},
  };
  std::string text(kUtf8Bom);
  for (const CsvRow& row : rows) text += FormatCsvRow(row);
  Result<std::vector<CsvRecord>> r = ParseCsv(text);
  REQUIRE(r.ok());
  CHECK(Rows(*r) == rows);
}

TEST_CASE("Csv: IsValidUtf8 is strict", "[csv]") {
  for (std::string_view ok :
       {"", "ascii", "พร้าว", "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80",
        "\xED\x9F\xBF" /* U+D7FF */, "\xEE\x80\x80" /* U+E000 */,
        "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF" /* U+10FFFF */,
        "🧵"}) {
    CAPTURE(ok);
    CHECK(IsValidUtf8(ok));
  }
  CHECK(IsValidUtf8(std::string_view("a\0b", 3)));  // NUL is valid UTF-8
  for (std::string_view bad :
       {"\x80", "\xBF", "\xC0\x80", "\xC1\xBF",  // overlong 2-byte
        "\xE0\x80\xAF", "\xE0\x9F\xBF",          // overlong 3-byte
        "\xF0\x80\x80\xAF", "\xF0\x8F\xBF\xBF",  // overlong 4-byte
        "\xED\xA0\x80", "\xED\xBF\xBF",          // surrogates
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80",  // above U+10FFFF
        "\xF8\x88\x80\x80\x80", "\xFF", "\xFE",
        "\xE0\xB8",  // truncated Thai
        "\xE0\xB8\x41", "\xC2", "ok\xE0"}) {
    CAPTURE(bad);
    CHECK_FALSE(IsValidUtf8(bad));
  }
}

TEST_CASE("Csv: what an export does to a cell, an import undoes", "[csv]") {
  for (std::string_view text :
       {"=HYPERLINK(\"http://evil\",\"กลุ่ม\")", "+66812345678", "-ไม่มี-",
        "@sum", "\tindented", "กลุ่มทอผ้า", "", "'", "'quoted'", "a-b",
        // An apostrophe of its own before a formula sign (once dropped by
        // the import: "'-ลายโบราณ" came back as "-ลายโบราณ").
        "'=x", "'-ลายโบราณ", "''@ป้าแก้ว", "'" "''"}) {
    CAPTURE(text);
    CHECK(UnguardFormula(GuardFormula(text)) == text);
  }
  CHECK(GuardFormula("-ไม่มี-") == "'-ไม่มี-");
  CHECK(UnguardFormula("'-ไม่มี-") == "-ไม่มี-");
  CHECK(UnguardFormula("'ok") == "'ok");  // not a guard: kept
  CHECK(GuardFormula("'-ลาย") == "''-ลาย");

  for (std::string_view phone :
       {"0812345678", "021234567", "053123456", "081-234-5678", "1111",
        "081 234 5678", "0812345678 ต่อ 12", "", "+66812345678",
        "08123456789"}) {
    CAPTURE(phone);
    CHECK(PhoneFromSpreadsheet(PhoneForSpreadsheet(phone)) ==
          (phone == "081-234-5678" ? "0812345678" : phone));
  }
  CHECK(PhoneFromSpreadsheet("081-234-5678") == "0812345678");
  CHECK(PhoneFromSpreadsheet("02-123-4567") == "021234567");
  CHECK(PhoneFromSpreadsheet("053-123-456") == "053123456");
  // Another grouping is someone's own way of writing it: kept.
  CHECK(PhoneFromSpreadsheet("08-1234-5678") == "08-1234-5678");
  CHECK(PhoneFromSpreadsheet("0812-345-678") == "0812-345-678");
}

}  // namespace
}  // namespace kbo
