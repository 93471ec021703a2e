#include "shared/labels.h"

#include <catch2/catch.hpp>

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

}  // namespace
}  // namespace kbo
