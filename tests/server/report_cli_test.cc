// `kbo-server report ...`, `target set` and `workshop min-days` as a script
// or a person runs them (server/report_cmds.h): the real binary over the
// Phrao course of tests/server/report_fixture.h.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "shared/entities.h"
#include "tests/server/report_fixture.h"
#include "tests/server/server_fixture.h"
#include "tests/support/server_process.h"

namespace kbo::server::testing {
namespace {

using kbo::testing::CliResult;
using kbo::testing::RunServerCli;
using nlohmann::json;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("Report CLI: each report as JSON for scripts and as Thai text by "
          "default",
          "[reports][cli]") {
  ServerFixture f;
  ReportData d(f.store->db());
  const std::string data = f.tmp.File("data");
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", data});
    CliResult r = RunServerCli(args);
    INFO(r.err);
    return r;
  };

  CliResult reach = run({"report", "reach", "--fiscal-year", "2569", "--json"});
  REQUIRE(reach.exit_code == 0);
  json j = json::parse(reach.out);
  CHECK(j["fiscal_year"] == 2569);
  CHECK(j["reached"]["total"] == 23);  // every district from the shell
  CHECK(j["target"]["total"] == 300);

  CliResult phrao = run({"report", "reach", "--district", "5011", "--json"});
  REQUIRE(phrao.exit_code == 0);
  j = json::parse(phrao.out);
  CHECK(j["fiscal_year"] == 2569);  // the latest workshop's year
  CHECK(j["reached"]["total"] == 20);
  CHECK(j["reached"]["group"] == 8);
  // Said as one district's, not the province's.
  CHECK(j["district"] == "5011");
  CHECK(json::parse(reach.out)["district"].is_null());
  CliResult phrao_text = run({"report", "reach", "--district", "5011", "--lang", "en"});
  REQUIRE(phrao_text.exit_code == 0);
  CHECK(Contains(phrao_text.out, "Producers reached — Fiscal year 2569 — Phrao\n"
                                 "(the target is the whole province's"));
  CliResult phrao_contest =
      run({"report", "contest", "--district", "5011", "--lang", "en"});
  REQUIRE(phrao_contest.exit_code == 0);
  CHECK(Contains(phrao_contest.out, " — Phrao (ranks within this district, not the "
                              "province's)"));
  CHECK(json::parse(run({"report", "contest", "--district", "5011", "--json"}).out)
            ["district"] == "5011");
  CHECK(Contains(run({"report", "stages", "--district", "5011", "--lang", "en"}).out,
                 " — Phrao\n"));
  CHECK(Contains(run({"report", "followups", "--district", "5011", "--lang", "en"}).out,
                 " — Phrao\n"));

  // A district by its Thai or English name, as kbo takes it (walk-through:
  // only the code was taken): the same report as by its code.
  for (const std::string named : {"พร้าว", "Phrao", "อำเภอพร้าว", "๕๐๑๑"}) {
    CliResult by_name = run({"report", "reach", "--district", named, "--json"});
    INFO(named << ": " << by_name.err);
    REQUIRE(by_name.exit_code == 0);
    CHECK(by_name.out == phrao.out);
  }
  CliResult unknown = run({"report", "reach", "--district", "Atlantis"});
  CHECK(unknown.exit_code == 2);
  CHECK(Contains(unknown.err, "by code or name"));

  CliResult text = run({"report", "reach", "--fiscal-year", "2569"});
  REQUIRE(text.exit_code == 0);
  CHECK(Contains(text.out, "การเข้าถึงผู้ผลิต"));
  CHECK(Contains(text.out, "พร้าว"));
  CHECK(Contains(text.out, "ฝาง"));
  CHECK(Contains(text.out, "ผ้า เครื่องแต่งกาย"));
  CliResult english =
      run({"report", "reach", "--fiscal-year", "2569", "--lang", "en"});
  REQUIRE(english.exit_code == 0);
  CHECK(Contains(english.out, "Producers reached"));
  CHECK(Contains(english.out, "Phrao"));

  CliResult grid = run({"report", "attendance", "--workshop", d.course});
  REQUIRE(grid.exit_code == 0);
  CHECK(Contains(grid.out, "หลักสูตร KBO พร้าว"));
  CHECK(Contains(grid.out, "1 ธ.ค. 2568"));  // Buddhist Era
  CHECK(Contains(grid.out, "55.0%"));        // day 1: 11 of 20
  CHECK(Contains(grid.out, "ขาด"));
  // Nothing marked after the last day: no note of it.
  CHECK_FALSE(Contains(grid.out, "ไม่นับในรายงานนี้"));
  j = json::parse(
      run({"report", "attendance", "--workshop", d.course, "--json"}).out);
  CHECK(j["enrolled"] == 20);

  CliResult certs =
      run({"report", "certificates", "--workshop", d.course, "--json"});
  REQUIRE(certs.exit_code == 0);
  j = json::parse(certs.out);
  CHECK(j["min_days"] == 4);
  CHECK(j["participants"].size() == 20);

  CliResult contest = run({"report", "contest", "--contest", d.contest,
                           "--district", "5011", "--json"});
  REQUIRE(contest.exit_code == 0);
  j = json::parse(contest.out);
  CHECK(j["ranking"][0]["product_id"] == "pr0");
  CHECK(j["ranking"][0]["mean_total"] == Approx(85));
  CliResult contest_text = run({"report", "contest", "--district", "5011"});
  REQUIRE(contest_text.exit_code == 0);
  CHECK(Contains(contest_text.out, "ผ้าทอลายดอกพร้าว"));
  CHECK(Contains(contest_text.out, "กรรมการ ก"));

  CliResult stages = run({"report", "stages", "--json"});
  REQUIRE(stages.exit_code == 0);
  CHECK(json::parse(stages.out)["total"] == 7);  // 6 in Phrao, 1 in Fang
  CHECK(Contains(run({"report", "stages"}).out, "ต้นแบบ"));

  CliResult follow =
      run({"report", "followups", "--today", d.today, "--json"});
  REQUIRE(follow.exit_code == 0);
  j = json::parse(follow.out);
  CHECK(j["overdue"].size() == 3);
  CHECK(j["overdue"][0]["days_overdue"] == 75);
  CliResult follow_text = run({"report", "followups", "--today", d.today});
  CHECK(Contains(follow_text.out, "15 ม.ค. 2569"));
}

TEST_CASE("Report CLI: bad usage exits 2, an unknown workshop or contest 3",
          "[reports][cli]") {
  ServerFixture f;
  ReportData d(f.store->db());
  const std::string data = f.tmp.File("data");
  auto code = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", data});
    CliResult r = RunServerCli(args);
    INFO(r.err);
    if (r.exit_code == 2 || r.exit_code == 3) CHECK_FALSE(r.err.empty());
    return r.exit_code;
  };
  CHECK(code({"report"}) == 2);
  CHECK(code({"report", "everything"}) == 2);
  CHECK(code({"report", "reach", "--fiscal-year", "69"}) == 2);
  CHECK(code({"report", "reach", "--fiscal-year"}) == 2);
  CHECK(code({"report", "reach", "--district", "9999"}) == 2);
  CHECK(code({"report", "reach", "--lang", "fr"}) == 2);
  CHECK(code({"report", "reach", "--colour"}) == 2);
  CHECK(code({"report", "attendance"}) == 2);
  CHECK(code({"report", "followups", "--today", "15/01/2026"}) == 2);
  CHECK(code({"report", "attendance", "--workshop", "no-such"}) == 3);
  // A unique start of a workshop's id (at least 4 characters), as
  // `conflicts resolve` takes a conflict's: the same report as the whole id.
  {
    CliResult whole = RunServerCli({"--data", data, "report", "attendance", "--workshop",
                                    d.fang_course, "--json"});
    REQUIRE(whole.exit_code == 0);
    CliResult start = RunServerCli({"--data", data, "report", "attendance", "--workshop",
                                    "w-fang", "--json"});
    INFO(start.err);
    CHECK(start.exit_code == 0);
    CHECK(start.out == whole.out);
    // A start several workshops share: refused, naming them.
    CliResult shared = RunServerCli(
        {"--data", data, "report", "certificates", "--workshop", "w-phrao"});
    CHECK(shared.exit_code == 2);
    CHECK_THAT(shared.err, Catch::Contains("w-phrao-2569"));
    CHECK_THAT(shared.err, Catch::Contains("give more of the id"));
    // Under 4 characters: only a whole id.
    CHECK(code({"report", "attendance", "--workshop", "w-f"}) == 3);
  }
  // One workshop's report with a year it is not of: refused, not ignored.
  CHECK(code({"report", "attendance", "--workshop", d.course, "--fiscal-year",
              "2568"}) == 2);
  CHECK(code({"report", "certificates", "--workshop", d.course, "--fiscal-year",
              "2568"}) == 2);
  CHECK(code({"report", "attendance", "--workshop", d.course, "--fiscal-year",
              "2569"}) == 0);
  CHECK(code({"report", "certificates", "--workshop", d.deleted_course}) == 3);
  // A workshop outside the --district asked: said so (it read "no
  // workshop", exit 3, of a workshop that is there).
  {
    CliResult elsewhere = RunServerCli({"--data", data, "report", "attendance", "--workshop",
                                        d.course, "--district", "5009"});
    CHECK(elsewhere.exit_code == 2);
    CHECK_THAT(elsewhere.err, Catch::Contains("is in district 5011, not 5009"));
    CHECK(code({"report", "certificates", "--workshop", d.course, "--district", "5009"}) == 2);
    CHECK(code({"report", "attendance", "--workshop", d.course, "--district", "5011"}) == 0);
  }
  CHECK(code({"report", "contest", "--contest", "ไม่มี"}) == 3);
  CHECK(code({"target", "set", "--fiscal-year", "2569"}) == 2);
  CHECK(code({"target", "set", "--fiscal-year", "2569", "--groups", "-1",
              "--entrepreneurs", "5"}) == 2);
  CHECK(code({"target", "set", "--fiscal-year", "2569", "--groups", "50",
              "--entrepreneurs", "60", "--producers", "100"}) == 2);
  CHECK(code({"workshop", "min-days", d.course}) == 2);
  CHECK(code({"workshop", "min-days", d.course, "0"}) == 2);
  CHECK(code({"workshop", "min-days", "no-such", "3"}) == 3);

  // One rule for a fiscal year everywhere (the catalogue's 2500..2700), a
  // Western year said as its Buddhist Era year: reports, targets, exports.
  for (std::vector<std::string> args :
       {std::vector<std::string>{"report", "reach", "--fiscal-year", "2026"},
        {"target", "set", "--fiscal-year", "2026", "--groups", "1",
         "--entrepreneurs", "1"},
        {"export", "xlsx", "--out", f.tmp.File("x.xlsx"), "--fiscal-year", "2026"}}) {
    args.insert(args.begin(), {"--data", data});
    CliResult r = RunServerCli(args);
    CAPTURE(args[2]);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("from 2500 to 2700") != std::string::npos);
    CHECK(r.err.find("fiscal year 2569 in the Buddhist Era") != std::string::npos);
  }
  CHECK(code({"report", "reach", "--fiscal-year", "2450"}) == 2);
  CHECK(code({"export", "xlsx", "--out", f.tmp.File("y.xlsx"), "--fiscal-year",
              "2450"}) == 2);
}

TEST_CASE("Fiscal year: the catalogue's bounds, a Western year named", "[reports]") {
  CHECK(ParseFiscalYear("2569").value() == 2569);
  CHECK(ParseFiscalYear("2500").ok());
  CHECK(ParseFiscalYear("2700").ok());
  for (const char* bad : {"2499", "2701", "", "25x9", "-2569", "2569.0", "1234567"}) {
    CAPTURE(bad);
    Result<int64_t> y = ParseFiscalYear(bad);
    REQUIRE_FALSE(y.ok());
    CHECK(y.status().reason() == "bad_fiscal_year");
  }
  Result<int64_t> western = ParseFiscalYear("2026");
  REQUIRE_FALSE(western.ok());
  CHECK(*western.status().IntegerField("buddhist_era") == 2569);
  CHECK(CheckFiscalYear(2158).IntegerField("buddhist_era") == nullptr);
}

TEST_CASE("Report CLI: target set and workshop min-days change the reports "
          "and are audited",
          "[reports][cli]") {
  ServerFixture f;
  ReportData d(f.store->db());
  const std::string data = f.tmp.File("data");
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", data});
    CliResult r = RunServerCli(args);
    INFO(r.err);
    return r;
  };
  REQUIRE(run({"target", "set", "--fiscal-year", "2569", "--groups", "10",
               "--entrepreneurs", "15"})
              .exit_code == 0);
  json j = json::parse(
      run({"report", "reach", "--fiscal-year", "2569", "--json"}).out);
  CHECK(j["target"]["group"] == 10);
  CHECK(j["target"]["entrepreneur"] == 15);
  CHECK(j["target"]["total"] == 25);
  CHECK(j["target"]["producers"] == 1181);  // kept from the default

  CliResult too_many = run({"workshop", "min-days", d.course, "6"});
  CHECK(too_many.exit_code == 2);
  CHECK_THAT(too_many.err,
             Catch::Contains("the workshop has 5 days: a certificate cannot "
                             "ask for 6"));
  REQUIRE(run({"workshop", "min-days", d.course, "2"}).exit_code == 0);
  j = json::parse(
      run({"report", "certificates", "--workshop", d.course, "--json"}).out);
  CHECK(j["min_days"] == 2);

  Statement st(f.store->db(),
               "SELECT actor, action, subject FROM audit_log ORDER BY id");
  std::vector<std::string> actions;
  while (st.Step()) {
    CHECK(st.ColumnText(0) == "cli");
    actions.push_back(st.ColumnText(1) + " " + st.ColumnText(2));
  }
  CHECK(actions == std::vector<std::string>{
                       "target_set fiscal_year:2569",
                       "min_days_set workshop:" + d.course});
}

}  // namespace
}  // namespace kbo::server::testing
