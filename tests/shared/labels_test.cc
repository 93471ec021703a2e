#include "shared/labels.h"

#include <catch2/catch.hpp>
#include <cstdio>

#include "shared/civil_time.h"
#include "shared/entities.h"

namespace kbo {
namespace {

TEST_CASE("labels: every entity and column has a Thai and an English label",
          "[labels]") {
  for (Lang lang : {Lang::kTh, Lang::kEn}) {
    for (const Entity& e : Catalogue()) {
      CHECK(HasLabel(lang, "entity." + std::string(e.name)));
      for (const Column& c : e.columns) {
        INFO(std::string(e.name) + "." + std::string(c.name));
        CHECK(ColumnLabel(lang, e.name, c.name).rfind("col.", 0) ==
              std::string::npos);
      }
    }
  }
  CHECK(ColumnLabel(Lang::kTh, "product", "name") == "ชื่อผลิตภัณฑ์");
  CHECK(ColumnLabel(Lang::kTh, "producer", "name") == "ชื่อ");
}

TEST_CASE("labels: values read as names, not codes", "[labels]") {
  CHECK(ValueLabel(Lang::kTh, "attendance", "status", Value::Text("absent")) ==
        "ขาด");
  CHECK(ValueLabel(Lang::kTh, "attendance", "status",
                   Value::Text("excused")) == "ลา");
  CHECK(ValueLabel(Lang::kEn, "attendance", "status",
                   Value::Text("excused")) == "Excused");
  CHECK(ValueLabel(Lang::kTh, "producer", "district_code",
                   Value::Text("5011")) == "พร้าว");
  CHECK(ValueLabel(Lang::kEn, "producer", "district_code",
                   Value::Text("5011")) == "Phrao");
  CHECK(ValueLabel(Lang::kTh, "product", "stage", Value::Text("prototype")) ==
        "ต้นแบบ");
  CHECK(ValueLabel(Lang::kTh, "workshop", "start_date",
                   Value::Text("2026-12-02")) == "2 ธ.ค. 2569");
  CHECK(ValueLabel(Lang::kEn, "workshop", "start_date",
                   Value::Text("2026-12-02")) == "2 Dec 2026");
  // 23:30 UTC is already the next day in Bangkok.
  CHECK(ValueLabel(Lang::kTh, "visit", "visited_at",
                   Value::Text("2026-12-31T23:30:00Z")) == "1 ม.ค. 2570 06:30");
  CHECK(ValueLabel(Lang::kTh, "producer", "name", Value::Text("ผ้าทอ")) ==
        "ผ้าทอ");
  CHECK(ValueLabel(Lang::kTh, "producer", "name", Value()) == "");
  // An unknown code shows as itself, never as nothing.
  CHECK(ValueLabel(Lang::kTh, "attendance", "status", Value::Text("zzz")) ==
        "zzz");
  CHECK(RoleLabel(Lang::kTh, "trainer") == "วิทยากร");
  CHECK(RoleLabel(Lang::kEn, "admin") == "administrator");
  CHECK(RoleLabel(Lang::kEn, "nobody") == "nobody");
}

TEST_CASE("labels: a label read back gives its value (kbo import of a "
          "people's export)",
          "[labels]") {
  // Every day of 2023..2025 and a time on it, both languages: a date and a
  // time round-trip exactly (a time's seconds were once dropped, so that an
  // office's export imported on a device opened a conflict on every visit).
  for (int64_t day = DaysFromCivil(2023, 1, 1); day < DaysFromCivil(2026, 1, 1);
       ++day) {
    int64_t y = 0;
    int m = 0, d = 0;
    CivilFromDays(day, &y, &m, &d);
    char iso[16];
    std::snprintf(iso, sizeof iso, "%04d-%02d-%02d", static_cast<int>(y), m, d);
    // Odd days a time to the second, even days a whole minute.
    const int64_t t =
        day * 86400 + (day * 7919) % 86400 / (day % 2 == 0 ? 60 : 1) *
                          (day % 2 == 0 ? 60 : 1);
    for (Lang lang : {Lang::kTh, Lang::kEn}) {
      CAPTURE(iso, t);
      CHECK(ValueFromLabel("workshop", "start_date",
                           ValueLabel(lang, "workshop", "start_date",
                                      Value::Text(iso))) == iso);
      CHECK(ValueFromLabel("visit", "visited_at",
                           ValueLabel(lang, "visit", "visited_at",
                                      Value::Text(FormatIsoUtc(t)))) ==
            FormatIsoUtc(t));
    }
  }
  CHECK(ValueFromLabel("workshop", "start_date", "4 มี.ค. 2567") == "2024-03-04");
  CHECK(ValueFromLabel("workshop", "start_date", "4  mar  2024") == "2024-03-04");
  CHECK(ValueFromLabel("visit", "visited_at", "1 มี.ค. 2567 10:30") ==
        "2024-03-01T03:30:00Z");
  CHECK(ValueFromLabel("visit", "visited_at", "1 มี.ค. 2567 10:30:07") ==
        "2024-03-01T03:30:07Z");
  CHECK(ValueLabel(Lang::kTh, "visit", "visited_at",
                   Value::Text("2024-03-05T03:15:37Z")) == "5 มี.ค. 2567 10:15:37");
  CHECK(ValueLabel(Lang::kEn, "visit", "visited_at",
                   Value::Text("2024-03-05T03:15:00Z")) == "5 Mar 2024 10:15");
  // A row's history and a conflict's time, to the second (a trainer's taps
  // within one minute were told apart by nothing).
  const int64_t tap = *ParseIsoUtcMillis("2024-03-05T03:15:37.250Z");
  CHECK(FormatBangkokTimeValue(Lang::kTh, tap) == "5 มี.ค. 2567 10:15:37");
  CHECK(FormatBangkokTimeValue(Lang::kTh, tap - 37250) == "5 มี.ค. 2567 10:15");
  CHECK(FormatIsoBangkokValue(Lang::kEn, "2024-03-05T03:15:37.250Z") ==
        "5 Mar 2024 10:15:37");
  // Thai digits, as a Thai form or sheet writes them.
  CHECK(ValueFromLabel("visit", "visited_at", "๑ มี.ค. ๒๕๖๗ ๑๐:๓๐") ==
        "2024-03-01T03:30:00Z");
  CHECK(ValueFromLabel("workshop", "start_date", "๔ มี.ค. ๒๕๖๗") == "2024-03-04");
  // Before 07:00 in Bangkok is the day before in UTC.
  CHECK(ValueFromLabel("visit", "visited_at", "1 ม.ค. 2570 06:30") ==
        "2026-12-31T23:30:00Z");
  CHECK(ValueFromLabel("visit", "purpose", "Follow-up visit") == "follow_up");
  CHECK(ValueFromLabel("visit", "purpose",
                       Label(Lang::kTh, "purpose.follow_up")) == "follow_up");
  CHECK(ValueFromLabel("photo", "subject_type", "ผลิตภัณฑ์") == "product");
  // Anything else comes back as it is, for the column's own check.
  for (const char* text : {"2024-03-04", "30 ก.พ. 2567", "4 มี.ค. 2567 25:00",
                           "4 Mar 24", "4 Mar 2024 10:30", "32 Jan 2024",
                           "ก.พ. 4 2567", "", "อบรม"}) {
    CAPTURE(text);
    CHECK(ValueFromLabel("workshop", "start_date", text) == text);
  }
  CHECK(ValueFromLabel("visit", "visited_at", "4 Mar 2024") == "4 Mar 2024");
  CHECK(ValueFromLabel("producer", "name", "4 Mar 2024") == "4 Mar 2024");
  CHECK(ValueFromLabel("visit", "purpose", "ขายของ") == "ขายของ");
  // The named enumerations as EnumCodeOfName reads them: the device's flags,
  // its imports and the office's `conflicts resolve --value` alike.
  CHECK(ValueFromLabel("attendance", "status", "ลา") == "excused");
  CHECK(ValueFromLabel("attendance", "status", " EXCUSED ") == "excused");
  CHECK(ValueFromLabel("producer", "category", "ผ้า,เครื่องแต่งกาย") == "textile");
  CHECK(ValueFromLabel("product", "stage", "ต้นแบบ") == "prototype");
  CHECK(ValueFromLabel("attendance", "status", "มา สาย ๆ") == "มา สาย ๆ");
  const Column& status = *FindEntity("attendance")->FindColumn("status");
  CHECK(EnumNames(status).has_value());
  CHECK(!EnumNames(*FindEntity("photo")->FindColumn("subject_type")).has_value());
}

TEST_CASE("labels: Bangkok time, Buddhist Era, Thai fiscal years",
          "[labels]") {
  CHECK(FormatBangkokTime(Lang::kTh, 0) == "1 ม.ค. 2513 07:00");
  CHECK(FormatBangkokTime(Lang::kEn, -1) == "1 Jan 1970 06:59");
  CHECK(ParseIsoUtcMillis("2026-12-02T07:05:00.250Z") ==
        std::optional<int64_t>(1796195100250));
  CHECK(!ParseIsoUtcMillis("2026-12-02T07:05:00"));
  CHECK(!ParseIsoUtcMillis("2026-02-30T07:05:00Z"));
  CHECK(FormatIsoBangkok(Lang::kTh, "not a time") == "not a time");
  CHECK(FiscalYearOf(2025, 9) == 2568);
  CHECK(FiscalYearOf(2025, 10) == 2569);
  CHECK(FiscalYearOfDate("2014-10-01") == std::optional<int64_t>(2558));
  CHECK(FiscalYearOfDate("2014-09-30") == std::optional<int64_t>(2557));
  CHECK(!FiscalYearOfDate("2014-13-01"));
  CHECK(ParseLang("th") == Lang::kTh);
  CHECK(!ParseLang("TH"));
}

TEST_CASE("labels: a value's problem in Thai, its message in English",
          "[labels]") {
  const Entity* producer = FindEntity("producer");
  REQUIRE(producer != nullptr);
  const Column* members = producer->FindColumn("members");
  REQUIRE(members != nullptr);
  Result<Value> typed = ParseCellText(*producer, *members, "สิบสอง");
  REQUIRE_FALSE(typed.ok());
  CHECK(ProblemText(Lang::kEn, "producer", typed.status()) ==
        typed.status().message());
  const std::string th = ProblemText(Lang::kTh, "producer", typed.status());
  CHECK(th.find(ColumnLabel(Lang::kTh, "producer", "members")) == 0);
  CHECK(th.find("จำนวนเต็ม") != std::string::npos);
  CHECK(th.find('{') == std::string::npos);

  // Parameters, and the one problem of a new row.
  RowValues row = {{"name", Value::Text("กลุ่มทอผ้า")},
                   {"kind", Value::Text("group")},
                   {"district_code", Value::Text("5011")},
                   {"members", Value::Integer(-3)}};
  Status s = ValidateNewRow(*producer, row);
  REQUIRE_FALSE(s.ok());
  const std::string range = ProblemText(Lang::kTh, "producer", s);
  CHECK(range.find("ต้องอยู่ระหว่าง") != std::string::npos);
  CHECK(range.find("-3") != std::string::npos);
  CHECK(range.find('{') == std::string::npos);
  // Too long: said in Thai letters too (a Thai letter takes 3 bytes: 4,000
  // bytes read as a limit of 4,000 letters; walk-through).
  row["members"] = Value::Integer(12);
  row["name"] = Value::Text(std::string(4800 * 3, 'x').replace(0, 3, "ก"));
  Status long_name = ValidateNewRow(*producer, row);
  REQUIRE_FALSE(long_name.ok());
  const std::string too_long = ProblemText(Lang::kTh, "producer", long_name);
  INFO(too_long);
  CHECK(too_long.find("ประมาณ 1333 ตัวอักษรไทย") != std::string::npos);
  CHECK(too_long.find('{') == std::string::npos);
  row["name"] = Value::Text("กลุ่มทอผ้า");
  row["members"] = Value::Integer(-3);
  // Two problems: no one key; the message as it is.
  row["district_code"] = Value::Text("9999");
  Status two = ValidateNewRow(*producer, row);
  REQUIRE_FALSE(two.ok());
  CHECK(two.TextField(field::kProblem) == nullptr);
  CHECK(ProblemText(Lang::kTh, "producer", two) == two.message());
  // A status with no problem: its message.
  CHECK(ProblemText(Lang::kTh, "producer", Status::NotFound("no such row")) ==
        "no such row");
}

}  // namespace
}  // namespace kbo
