// What a user's walk-through of the command lines found, checked end to
// end: a real kbo-server on a loopback port and real kbo devices in Phrao
// (5011). Each test case says what it checks.
#include <string>
#include <vector>

#include "shared/fs.h"
#include "tests/integration/field.h"

namespace kbo::testing {
namespace {

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A row of a `list --json` array by id; null if absent.
json RowById(const json& rows, const std::string& id) {
  for (const json& row : rows) {
    if (row["id"] == id) return row;
  }
  return json();
}

TEST_CASE("Walk-through: reports follow a workshop shortened to 3 days on a "
          "device, and say what was marked on days 4 and 5",
          "[integration][reports]") {
  Field f;
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string p = f.Producer(trainer, "กลุ่มทอผ้าบ้านป่าแป๋", "5011");
  const std::string w = f.Add(
      trainer, {"workshop", "add", "--title", "อบรม KBO พร้าว", "--fiscal-year",
                "2567", "--district", "5011", "--start", "2024-03-04"});
  const std::string e =
      f.Add(trainer, {"enrolment", "add", "--workshop", w, "--producer", p,
                      "--participant", "นางสมศรี ใจดี"});
  for (int day = 1; day <= 5; ++day) {
    f.Add(trainer, {"attendance", "mark", "--workshop", w, "--enrolment", e,
                    "--day", std::to_string(day), "--status", "present"});
  }
  f.SyncOk(trainer);
  json before = f.ServerJson({"report", "attendance", "--workshop", w});
  CHECK(before["days"] == 5);
  CHECK(before["marks_beyond_days"] == 0);

  REQUIRE(f.Kbo(trainer, {"edit", "workshop", w, "--set", "days=3"}).exit_code ==
          0);
  f.SyncOk(trainer);
  REQUIRE(RowById(f.ServerJson({"list", "workshop"}), w)["days"] == 3);

  json grid = f.ServerJson({"report", "attendance", "--workshop", w});
  CHECK(grid["days"] == 3);
  CHECK(grid["daily"].size() == 3);
  REQUIRE(grid["participants"].size() == 1);
  CHECK(grid["participants"][0]["statuses"].size() == 3);
  CHECK(grid["participants"][0]["days_attended"] == 3);
  CHECK(grid["marks_beyond_days"] == 2);
  CHECK(grid["last_marked_day"] == 5);
  CliResult text =
      f.Server({"report", "attendance", "--workshop", w, "--lang", "en"});
  REQUIRE(text.exit_code == 0);
  CHECK(Has(text.out, "Day 3"));
  CHECK_FALSE(Has(text.out, "Day 4"));
  CHECK(Has(text.out, "3/3"));
  CHECK(Has(text.out, "2 marks after day 3, the workshop's last day (up to "
                      "day 5), not counted here"));
  CHECK(Has(f.Server({"report", "attendance", "--workshop", w}).out,
            "ไม่นับในรายงานนี้"));

  json certificates = f.ServerJson({"report", "certificates", "--workshop", w});
  CHECK(certificates["days"] == 3);
  CHECK(certificates["min_days"] == 3);
  CHECK(certificates["eligible"] == 1);
  CHECK(certificates["marks_beyond_days"] == 2);
  // The marks themselves are all still there.
  CHECK(f.ServerJson({"list", "attendance"}).size() == 5);
}

TEST_CASE("Walk-through: a device's first sync does not count its own rows "
          "as pulled, and a second device counts what it receives",
          "[integration][sync]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string p = f.Producer(officer, "กลุ่มทอผ้าบ้านป่าแป๋", "5011");
  f.Producer(officer, "กลุ่มจักสานบ้านโป่ง", "5011");
  CliResult first = f.Sync(officer);
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(Has(first.out, "(2 changes), nothing new to pull"));

  const std::string second = f.Enrolled("second", "field_officer", "5011");
  CliResult pulled = f.Sync(second);
  REQUIRE(pulled.exit_code == 0);
  CHECK(Has(pulled.out, "nothing to push, pulled 2 changes"));

  REQUIRE(f.Kbo(second, {"edit", "producer", p, "--set", "stars=4"}).exit_code ==
          0);
  CliResult edited = f.Sync(second);
  REQUIRE(edited.exit_code == 0);
  CHECK(Has(edited.out, "(1 change), nothing new to pull"));
  CliResult news = f.Sync(officer);
  REQUIRE(news.exit_code == 0);
  CHECK(Has(news.out, "nothing to push, pulled 1 change"));
  CHECK(f.KboJson(officer, {"show", "producer", p})["otop_stars"] == 4);
}

}  // namespace
}  // namespace kbo::testing
