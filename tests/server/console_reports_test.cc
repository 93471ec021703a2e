// The console's report pages and their JSON twins (server/console/reports.cc)
// over the Phrao course of tests/server/report_fixture.h, through the
// console's own router: sessions, roles, CSRF, the user's districts.

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "server/console/console.h"
#include "server/console/users.h"
#include "shared/encoding.h"
#include "tests/server/console_client.h"
#include "tests/server/report_fixture.h"
#include "tests/server/server_fixture.h"

namespace kbo::server::testing {
namespace {

using console::Console;
using console::Reply;
using console::Request;
using console::WebRole;
using nlohmann::json;

constexpr char kPass[] = "รายงาน-พร้าว-2569";

// The console as a browser meets it, signing in with kPass.
struct ReportBrowser : ConsoleClient {
  explicit ReportBrowser(Console& c) : ConsoleClient(c, kPass, "192.0.2.20") {}
};

struct Fixture {
  ServerFixture f;
  ReportData d{f.store->db()};
  Console console{*f.store};

  Fixture() {
    Add("viewer", WebRole::kViewer, "5011");
    Add("office", WebRole::kOffice, "all");
    Add("phrao.office", WebRole::kOffice, "5011");
  }
  void Add(const std::string& login, WebRole role, const std::string& districts) {
    console::Users users(*f.store);
    auto scope = Scope::Parse(districts);
    REQUIRE(scope.ok());
    REQUIRE(users.Add(login, role, *scope, kPass, "test").ok());
  }
};

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("Console reports: every page answers a viewer in its districts, "
          "in Thai, with charts and print styles",
          "[reports][console]") {
  Fixture fx;
  ReportBrowser b{fx.console};
  b.SignIn("viewer");

  Reply index = b.Get("/reports");
  REQUIRE(index.status == 200);
  for (const char* page : {"/reports/reach", "/reports/attendance",
                           "/reports/certificates", "/reports/contest",
                           "/reports/stages", "/reports/followups"}) {
    CHECK(Has(index.body, page));
  }

  Reply reach = b.Get("/reports/reach", {{"fiscal_year", "2569"}});
  REQUIRE(reach.status == 200);
  CHECK(Has(reach.body, "การเข้าถึงผู้ผลิต"));
  CHECK(Has(reach.body, "<svg"));
  CHECK(Has(reach.body, "class=\"target\""));
  CHECK(Has(reach.body, "@media print"));
  CHECK(Has(reach.body, "20/300"));
  CHECK_FALSE(Has(reach.body, "ฝาง"));         // Fang is not the viewer's
  CHECK_FALSE(Has(reach.body, "/reports/targets"));  // no edit form for a viewer

  Reply grid = b.Get("/reports/attendance", {{"workshop", fx.d.course}});
  REQUIRE(grid.status == 200);
  CHECK(Has(grid.body, "หลักสูตร KBO พร้าว"));
  CHECK(Has(grid.body, "1 ธ.ค. 2568"));
  CHECK(Has(grid.body, "ขาด"));
  CHECK(Has(grid.body, "55.0%"));
  CHECK(Has(grid.body, "<svg"));
  Reply list = b.Get("/reports/attendance");
  REQUIRE(list.status == 200);
  CHECK(Has(list.body, "workshop=" + fx.d.course));
  CHECK_FALSE(Has(list.body, fx.d.fang_course));

  Reply certs = b.Get("/reports/certificates", {{"workshop", fx.d.course}});
  REQUIRE(certs.status == 200);
  CHECK(Has(certs.body, "มีสิทธิ์"));
  Reply contest = b.Get("/reports/contest", {{"contest", fx.d.contest}});
  REQUIRE(contest.status == 200);
  CHECK(Has(contest.body, "ผ้าทอลายดอกพร้าว"));
  CHECK(Has(contest.body, "85.00"));
  CHECK_FALSE(Has(contest.body, "ผ้าฝาง"));
  CHECK_FALSE(Has(contest.body, "id=\"left-out\""));
  // A judge's second score of a product under another spelling of the
  // contest: not counted, and said so, naming both rows.
  {
    const json ranked =
        json::parse(b.Get("/api/reports/contest", {{"contest", fx.d.contest}}).body);
    REQUIRE_FALSE(ranked["ranking"].empty());
    const ScoreModel* judged = nullptr;
    for (const auto& sc : fx.d.scores) {
      if (sc.contest == fx.d.contest && !sc.deleted &&
          sc.product_id == ranked["ranking"][0]["product_id"]) {
        judged = &sc;
      }
    }
    REQUIRE(judged != nullptr);
    InsertRow(fx.f.store->db(), "contest_score",
              {{"id", Tx("dup-score")}, {"product_id", Tx(judged->product_id)},
               {"contest", Tx("kbo cm contest 2569")}, {"judge", Tx(judged->judge)},
               {"identity", In(1)}, {"uniqueness", In(1)}, {"quality", In(1)},
               {"packaging", In(1)}, {"marketability", In(1)},
               {"district_code", Tx(kReportPhrao)}, {"deleted", In(0)}});
    Reply dup = b.Get("/reports/contest", {{"contest", fx.d.contest}});
    REQUIRE(dup.status == 200);
    CHECK(Has(dup.body, "id=\"left-out\""));
    CHECK(Has(dup.body, "คะแนนที่ไม่นับ"));
    CHECK(Has(dup.body, "<code>dup-score</code>"));
    CHECK(Has(dup.body, "<code>" + judged->id + "</code>"));
    CHECK(Has(dup.body, "85.00"));  // the ranking as before
    // One judge, said as one (it read "Judges 'อ. สุดา'").
    Reply dup_en = b.Get("/reports/contest", {{"contest", fx.d.contest}, {"lang", "en"}});
    CHECK(Has(dup_en.body, ": Judge “"));
    CHECK_FALSE(Has(dup_en.body, ": Judges “"));
    b.Get("/reports/contest", {{"lang", "th"}});  // Thai again (a cookie keeps it)
  }
  Reply stages = b.Get("/reports/stages");
  REQUIRE(stages.status == 200);
  CHECK(Has(stages.body, "ต้นแบบ"));
  CHECK(Has(stages.body, "<svg"));
  Reply follow = b.Get("/reports/followups");
  REQUIRE(follow.status == 200);
  CHECK(Has(follow.body, "ติดตามผลเกินกำหนด"));

  Reply english = b.Get("/reports/reach", {{"fiscal_year", "2569"}, {"lang", "en"}});
  REQUIRE(english.status == 200);
  CHECK(Has(english.body, "Producers reached"));
}

TEST_CASE("Console reports: a mark with a conflict not decided is starred in "
          "the grid and the certificates, with a note and a way to the "
          "conflicts",
          "[reports][console]") {
  Fixture fx;
  ReportBrowser b{fx.console};
  b.SignIn("viewer");
  Reply before = b.Get("/reports/attendance", {{"workshop", fx.d.course}});
  REQUIRE(before.status == 200);
  CHECK_FALSE(Has(before.body, "class=\"disputed-mark\""));
  InsertMarkConflict(fx.f.store->db(), "c1", "a00-1", "status", false);
  Reply grid = b.Get("/reports/attendance", {{"workshop", fx.d.course}});
  REQUIRE(grid.status == 200);
  CHECK(Has(grid.body, "<b class=\"disputed-mark\">*</b>"));
  CHECK(Has(grid.body, "1 รายการยังมีข้อขัดแย้งที่สำนักงานยังไม่ได้ตัดสิน"));
  CHECK(Has(grid.body, "/conflicts?status=open&amp;district=5011"));
  Reply certs = b.Get("/reports/certificates", {{"workshop", fx.d.course}});
  REQUIRE(certs.status == 200);
  CHECK(Has(certs.body, "<b class=\"disputed-mark\">*</b>"));
  CHECK(Has(certs.body, "/conflicts?status=open"));
}

TEST_CASE("Console reports: a person enrolled twice is marked in the certificates "
          "with the days together, and a contest score in conflict stars its rank",
          "[reports][console]") {
  Fixture fx;
  ReportBrowser b{fx.console};
  b.SignIn("viewer");
  Db& db = fx.f.store->db();
  InsertEnrolledAgain(db, fx.d.course);
  Reply certs = b.Get("/reports/certificates", {{"workshop", fx.d.course}});
  REQUIRE(certs.status == 200);
  CHECK(Has(certs.body, "<b class=\"disputed-mark\">†</b>"));
  CHECK(Has(certs.body, "(รวม 4 วัน)"));
  CHECK(Has(certs.body, "id=\"enrolled-twice\""));
  Reply contest = b.Get("/reports/contest", {{"contest", fx.d.contest}});
  REQUIRE(contest.status == 200);
  CHECK_FALSE(Has(contest.body, "id=\"disputed-note\""));
  InsertConflict(db, "c1", "contest_score", "s01", "quality", false);
  contest = b.Get("/reports/contest", {{"contest", fx.d.contest}});
  REQUIRE(contest.status == 200);
  CHECK(Has(contest.body, "1<b class=\"disputed-mark\">*</b>"));
  CHECK(Has(contest.body, "id=\"disputed-note\""));
}

TEST_CASE("Console reports: a report of one district says so in its title, and "
          "a contest's ranks are said to be the district's",
          "[reports][console]") {
  Fixture fx;
  ReportBrowser b{fx.console};
  b.SignIn("office");
  Reply contest = b.Get("/reports/contest", {{"district", "5011"}});
  REQUIRE(contest.status == 200);
  CHECK(Has(contest.body, " — พร้าว</h1>"));
  CHECK(Has(contest.body, "อันดับในอำเภอนี้ ไม่ใช่อันดับของจังหวัด"));
  Reply all = b.Get("/reports/contest");
  REQUIRE(all.status == 200);
  CHECK_FALSE(Has(all.body, "อันดับในอำเภอนี้"));
  for (const char* page : {"/reports/reach", "/reports/stages", "/reports/followups"}) {
    CAPTURE(page);
    Reply r = b.Get(page, {{"district", "5011"}});
    REQUIRE(r.status == 200);
    CHECK(Has(r.body, " — พร้าว</h1>"));
    CHECK(json::parse(b.Get(std::string("/api") + (page + 0), {{"district", "5011"}}).body)
              ["district"] == "5011");
  }
  // A user of Phrao alone, asking for no district: the ranks are still
  // Phrao's, and said so (once shown as the province's, "district": null).
  ReportBrowser phrao{fx.console};
  phrao.SignIn("phrao.office");
  Reply own = phrao.Get("/reports/contest");
  REQUIRE(own.status == 200);
  CHECK(Has(own.body, " — พร้าว</h1>"));
  CHECK(Has(own.body, "อันดับในอำเภอนี้ ไม่ใช่อันดับของจังหวัด"));
  CHECK(json::parse(phrao.Get("/api/reports/contest").body)["ranks_within"] ==
        json::array({"5011"}));
  CHECK(json::parse(b.Get("/api/reports/contest").body)["ranks_within"] == json::array());
}

TEST_CASE("Console data: visits by fiscal year, by their Bangkok date, as the "
          "follow-ups report and the exports count them",
          "[reports][console]") {
  Fixture fx;
  ReportBrowser b{fx.console};
  b.SignIn("office");
  for (int64_t fy : {2568, 2569, 2570}) {
    CAPTURE(fy);
    size_t want = 0;
    for (const VisitModel& v : fx.d.visits) {
      // Every visit not itself deleted (the data pages list rows; a visit
      // under a deleted producer is there for the office to see).
      if (v.deleted || v.fiscal_year != fy) continue;
      ++want;
    }
    Reply r = b.Get("/api/data/visit", {{"fiscal_year", std::to_string(fy)}});
    REQUIRE(r.status == 200);
    CHECK(json::parse(r.body)["rows"].size() == want);
  }
  Reply page = b.Get("/data/visit");
  REQUIRE(page.status == 200);
  CHECK(Has(page.body, "name=\"fiscal_year\""));
}

TEST_CASE("Console reports: the JSON twins match the report JSON, scoped to "
          "the user",
          "[reports][console]") {
  Fixture fx;
  ReportBrowser b{fx.console};
  b.SignIn("viewer");
  Reply api = b.Get("/api/reports/reach", {{"fiscal_year", "2569"}});
  REQUIRE(api.status == 200);
  CHECK(Has(api.content_type, "json"));
  json j = json::parse(api.body);
  CHECK(j["reached"]["total"] == 20);
  CHECK(j["target"]["total"] == 300);
  // A Phrao viewer's figures say they are Phrao's only (district: null read
  // as the province's).
  CHECK(j["district"].is_null());
  CHECK(j["within"] == json::array({"5011"}));
  Reply twin = b.Get("/reports/reach", {{"fiscal_year", "2569"}, {"format", "json"}});
  REQUIRE(twin.status == 200);
  CHECK(twin.body == api.body);

  j = json::parse(b.Get("/api/reports/attendance", {{"workshop", fx.d.course}}).body);
  CHECK(j["enrolled"] == 20);
  j = json::parse(b.Get("/api/reports/certificates", {{"workshop", fx.d.course}}).body);
  CHECK(j["min_days"] == 4);
  CHECK(j["participants"].size() == 20);
  j = json::parse(b.Get("/api/reports/contest", {{"contest", fx.d.contest}}).body);
  CHECK(j["ranking"].size() == 3);
  j = json::parse(b.Get("/api/reports/stages").body);
  CHECK(j["total"] == 6);
  j = json::parse(b.Get("/api/reports/followups").body);
  CHECK(j["by_district"].size() == 1);

  // Another district's workshop is as unknown as a made-up one.
  Reply fang = b.Get("/api/reports/attendance", {{"workshop", fx.d.fang_course}});
  CHECK(fang.status == 404);
  CHECK(Has(fang.body, "\"code\":\"not_found\""));
  // Refusals keep their reasons, as the other pages' JSON does (the
  // reports once said only invalid_argument).
  CHECK(Has(b.Get("/api/reports/reach", {{"district", "9999"}}).body,
            "\"error\":\"bad_district\""));
  CHECK(Has(b.Get("/api/reports/certificates").body, "\"error\":\"workshop_needed\""));
  CHECK(b.Get("/reports/attendance", {{"workshop", "no-such"}}).status == 404);
  CHECK(b.Get("/api/reports/reach", {{"fiscal_year", "25x9"}}).status == 400);
  CHECK(b.Get("/api/reports/reach", {{"district", "9999"}}).status == 400);
  // Fang is a district, not the viewer's: refused and said, on every
  // filtered list (once the reports answered it as an empty district).
  for (const char* path : {"/api/reports/reach", "/api/reports/stages",
                           "/api/reports/followups", "/api/data/producer",
                           "/api/conflicts", "/api/photos"}) {
    INFO(path);
    Reply theirs = b.Get(path, {{"district", "5009"}});
    CHECK(theirs.status == 403);
    CHECK(Has(theirs.body, "\"error\":\"district_not_yours\""));
    CHECK(Has(theirs.body, "\"code\":\"5009\""));
  }
  Reply theirs_page = b.Get("/reports/reach", {{"district", "5009"}, {"lang", "th"}});
  CHECK(theirs_page.status == 403);
  CHECK(Has(theirs_page.body, "อำเภอฝาง (5009) ไม่ได้อยู่ในอำเภอที่คุณดูแล (อำเภอพร้าว)"));
  CHECK(b.Get("/data/producer", {{"district", "5009"}}).status == 403);
  CHECK(b.Get("/api/reports/contest", {{"contest", "ไม่มี"}}).status == 404);
  CHECK(b.Get("/api/reports/certificates").status == 400);
  // The command line's spelling: refused, not ignored (it gave this
  // year's report for any year asked).
  Reply typo = b.Get("/api/reports/reach", {{"fiscal-year", "2568"}});
  CHECK(typo.status == 400);
  CHECK(Has(typo.body, "did you mean 'fiscal_year'"));
}

TEST_CASE("Console reports: office users edit targets and min days, with "
          "CSRF, audited",
          "[reports][console]") {
  Fixture fx;
  ReportBrowser viewer{fx.console};
  viewer.SignIn("viewer");
  const std::string viewer_csrf = viewer.Csrf();
  Reply denied = viewer.Post("/reports/targets", {{"csrf", viewer_csrf},
                                                  {"fiscal_year", "2569"},
                                                  {"groups", "1"},
                                                  {"entrepreneurs", "1"},
                                                  {"producers", "10"}});
  CHECK(denied.status == 403);

  ReportBrowser office{fx.console};
  office.SignIn("office");
  Reply page = office.Get("/reports/reach", {{"fiscal_year", "2569"}});
  CHECK(Has(page.body, "action=\"/reports/targets\""));
  CHECK(Has(page.body, "name=\"csrf\""));
  Reply no_csrf = office.Post("/reports/targets", {{"fiscal_year", "2569"},
                                                   {"groups", "10"},
                                                   {"entrepreneurs", "15"},
                                                   {"producers", "500"}});
  CHECK(no_csrf.status == 403);
  const std::string csrf = office.Csrf();
  Reply saved = office.Post("/reports/targets", {{"csrf", csrf},
                                                 {"fiscal_year", "2569"},
                                                 {"groups", "10"},
                                                 {"entrepreneurs", "15"},
                                                 {"producers", "500"}});
  CHECK(saved.status == 303);
  json j = json::parse(
      office.Get("/api/reports/reach", {{"fiscal_year", "2569"}}).body);
  CHECK(j["target"]["total"] == 25);
  CHECK(j["target"]["producers"] == 500);
  CHECK(j["reached"]["total"] == 23);  // all districts for this user
  // The reach tables name the split they show: of the producers reached.
  Reply reach_page = office.Get("/reports/reach", {{"fiscal_year", "2569"}});
  CHECK(Has(reach_page.body, "กลุ่มที่เข้าถึง"));
  CHECK(Has(reach_page.body, "ผู้ประกอบการที่เข้าถึง"));

  // The targets are the province's: an office user of one district may
  // not set them (403, nothing changed), and is not offered the form; the
  // page says the target is the province's.
  ReportBrowser phrao{fx.console};
  phrao.SignIn("phrao.office");
  Reply phrao_page = phrao.Get("/reports/reach", {{"fiscal_year", "2569"}});
  CHECK_FALSE(Has(phrao_page.body, "action=\"/reports/targets\""));
  CHECK(Has(phrao_page.body, "เป้าหมายเป็นของทั้งจังหวัด"));
  Reply refused = phrao.Post("/reports/targets", {{"csrf", phrao.Csrf()},
                                                  {"fiscal_year", "2569"},
                                                  {"groups", "1"},
                                                  {"entrepreneurs", "1"},
                                                  {"producers", "2"}});
  CHECK(refused.status == 403);
  CHECK(Has(refused.body, "ผู้ใช้ที่ดูแลทุกอำเภอเท่านั้นที่แก้ไขได้"));
  j = json::parse(office.Get("/api/reports/reach", {{"fiscal_year", "2569"}}).body);
  CHECK(j["target"]["total"] == 25);
  CHECK(j["target"]["producers"] == 500);

  Reply bad = office.Post("/reports/targets", {{"csrf", csrf},
                                               {"fiscal_year", "2569"},
                                               {"groups", "ten"},
                                               {"entrepreneurs", "15"},
                                               {"producers", "500"}});
  CHECK(bad.status == 303);
  CHECK(Has(bad.headers.find("Location")->second, "error="));
  // Fewer producers than groups and entrepreneurs: said in Thai.
  Reply below = office.Post("/reports/targets", {{"csrf", csrf},
                                                 {"fiscal_year", "2569"},
                                                 {"groups", "400"},
                                                 {"entrepreneurs", "200"},
                                                 {"producers", "300"}});
  CHECK(below.status == 303);
  CHECK(Has(PercentDecode(below.headers.find("Location")->second),
            "เป้าหมายผู้ผลิต (300) ต้องไม่น้อยกว่ากลุ่มผู้ผลิตรวมกับผู้ประกอบการ (600)"));

  Reply days = office.Post("/reports/min-days", {{"csrf", csrf},
                                                 {"workshop", fx.d.course},
                                                 {"min_days", "3"}});
  CHECK(days.status == 303);
  j = json::parse(
      office.Get("/api/reports/certificates", {{"workshop", fx.d.course}}).body);
  CHECK(j["min_days"] == 3);
  // More days than the workshop has: said on the form, nothing saved.
  Reply too_many = office.Post("/reports/min-days", {{"csrf", csrf},
                                                     {"workshop", fx.d.course},
                                                     {"min_days", "6"}});
  CHECK(too_many.status == 303);
  CHECK(Has(too_many.headers.find("Location")->second, "error="));
  j = json::parse(
      office.Get("/api/reports/certificates", {{"workshop", fx.d.course}}).body);
  CHECK(j["min_days"] == 3);
  CHECK(office.Post("/reports/min-days", {{"csrf", csrf},
                                          {"workshop", "no-such"},
                                          {"min_days", "3"}})
            .status == 404);

  Statement st(fx.f.store->db(),
               "SELECT actor, action, subject FROM audit_log"
               " WHERE action IN ('target_set', 'min_days_set') ORDER BY id");
  std::vector<std::string> rows;
  while (st.Step()) {
    rows.push_back(st.ColumnText(0) + " " + st.ColumnText(1) + " " +
                   st.ColumnText(2));
  }
  CHECK(rows == std::vector<std::string>{
                    "user:office target_set fiscal_year:2569",
                    "user:office min_days_set workshop:" + fx.d.course});
}


TEST_CASE("Console reports: a refusal on a Thai page is said in Thai, the JSON "
          "twin keeps the English message",
          "[reports][console]") {
  Fixture fx;
  ReportBrowser b{fx.console};
  b.SignIn("office");
  Reply fy = b.Get("/reports/reach", {{"fiscal_year", "25x9"}});
  CHECK(fy.status == 400);
  CHECK(Has(fy.body, "ปีงบประมาณต้องเป็นปี พ.ศ."));
  Reply district = b.Get("/reports/reach", {{"district", "9999"}});
  CHECK(district.status == 400);
  CHECK(Has(district.body, "9999&#39; ไม่ใช่รหัสอำเภอของจังหวัดเชียงใหม่"));
  Reply contest = b.Get("/reports/contest", {{"contest", "ประกวดไม่มีจริง"}});
  CHECK(contest.status == 404);
  CHECK(Has(contest.body, "ยังไม่มีคะแนนของการประกวด"));
  CHECK(Has(contest.body, "ประกวดไม่มีจริง"));
  Reply unknown = b.Get("/reports/attendance", {{"workshop", "no-such"}});
  CHECK(unknown.status == 404);
  CHECK(Has(unknown.body, "ไม่พบการอบรมนี้"));

  Reply english = b.Get("/reports/reach", {{"fiscal_year", "25x9"}, {"lang", "en"}});
  CHECK(english.status == 400);
  CHECK(Has(english.body, "Buddhist Era"));
  Reply api = b.Get("/api/reports/contest", {{"contest", "ประกวดไม่มีจริง"}});
  CHECK(api.status == 404);
  CHECK(Has(api.body, "no scores for contest"));

}

}  // namespace
}  // namespace kbo::server::testing
