// The conflict inbox end to end (issue 10): two devices make a conflict,
// the office resolves it with a reason, both devices receive the resolution
// and show the resolved value, and no sync announces it again.

#include <string>
#include <vector>

#include "tests/integration/field.h"

namespace kbo::testing {
namespace {

TEST_CASE("Conflict inbox: the office resolves an attendance conflict, both "
          "devices show the resolved value and stop announcing it",
          "[integration][conflict]") {
  Field f;
  const std::string somchai = f.Enrolled("somchai", "trainer", "5011");
  const std::string malee = f.Enrolled("malee", "trainer", "5011");
  const std::string producer =
      f.Add(somchai, {"producer", "add", "--kind", "group", "--name",
                      "กลุ่มจักสานไม้ไผ่", "--district", "5011"});
  const std::string workshop =
      f.Add(somchai, {"workshop", "add", "--title", "อบรม KBO พร้าว",
                      "--fiscal-year", "2567", "--district", "5011", "--start",
                      "2024-03-04", "--days", "5"});
  const std::string enrolment =
      f.Add(somchai, {"enrolment", "add", "--workshop", workshop, "--producer",
                      producer, "--participant", "นางสมศรี ใจดี"});
  f.SyncOk(somchai);
  f.SyncOk(malee);

  // Both mark day 3 offline: ขาด and ลา.
  const std::vector<std::string> mark = {"attendance", "mark", "--workshop",
                                         workshop, "--enrolment", enrolment,
                                         "--day", "3", "--status"};
  auto with = [&](const std::string& status) {
    std::vector<std::string> a = mark;
    a.push_back(status);
    return a;
  };
  const std::string row = f.Add(somchai, with("absent"));
  REQUIRE(f.Add(malee, with("excused")) == row);
  f.SyncOk(somchai);
  CliResult first = f.Sync(malee);
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK_THAT(first.out, Catch::Contains("1 new conflict from the server"));
  CliResult second = f.Sync(somchai);
  REQUIRE(second.exit_code == 0);
  CHECK_THAT(second.out, Catch::Contains("1 new conflict from the server"));
  // Known now: not announced again.
  CliResult again = f.Sync(somchai);
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.out, !Catch::Contains("conflict"));

  json list = f.ServerJson({"conflicts", "list"});
  REQUIRE(list.size() == 1);
  const std::string id = list[0]["id"].get<std::string>();
  CHECK(list[0]["column_name"] == "status");

  // The office resolves by the id's first 8 characters, with a reason.
  CliResult resolved =
      f.Server({"conflicts", "resolve", id.substr(0, 8), "--value", "excused",
                "--reason", "มีใบลาป่วย"});
  INFO(resolved.err);
  REQUIRE(resolved.exit_code == 0);
  json after = f.ServerJson({"conflicts", "list"});
  CHECK(after[0]["resolved_by"] == "cli");
  CHECK(after[0]["resolution_reason"] == "มีใบลาป่วย");

  // Both devices receive it: the value, and the conflict as resolved, and
  // the sync says nothing about conflicts.
  for (const std::string& home : {somchai, malee}) {
    CliResult s = f.Sync(home);
    INFO(s.err);
    REQUIRE(s.exit_code == 0);
    CHECK_THAT(s.out, !Catch::Contains("conflict"));
    CHECK(f.KboJson(home, {"show", "attendance", row})["status"] == "excused");
    const std::string db = home + "/field.db";
    CHECK(Field::Count(db, "SELECT count(*) FROM conflict WHERE resolved_at "
                           "IS NOT NULL AND resolved_value = 'excused'") == 1);
    CHECK(Field::Count(db, "SELECT count(*) FROM conflict WHERE resolved_at "
                           "IS NULL") == 0);
    CliResult later = f.Sync(home);
    REQUIRE(later.exit_code == 0);
    CHECK_THAT(later.out, !Catch::Contains("conflict"));
  }
  CHECK(Field::DeviceState(somchai) == f.ServerState());
  CHECK(Field::DeviceState(malee) == f.ServerState());

  // The row's history tells the story, in Thai.
  json h = f.ServerJson({"history", "attendance", row, "--lang", "th"});
  bool saw_conflict = false, saw_resolution = false;
  for (const json& e : h["entries"]) {
    if (e["kind"] == "conflict") {
      saw_conflict = true;
      CHECK(e["current_value"] == "ขาด");
      CHECK(e["incoming_value"] == "ลา");
    }
    if (e["kind"] == "resolution") {
      saw_resolution = true;
      CHECK(e["reason"] == "มีใบลาป่วย");
      CHECK(e["resolved_value"] == "ลา");
    }
  }
  CHECK(saw_conflict);
  CHECK(saw_resolution);
  CHECK(f.ServerCount("SELECT count(*) FROM audit_log WHERE action = "
                      "'resolve' AND actor = 'cli'") == 1);
}

}  // namespace
}  // namespace kbo::testing
