// The console's conflict inbox, resolve form and row history, through
// Console::Handle (no socket): scope, roles, the reason, labels.

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "server/console/console.h"
#include "server/console/users.h"
#include "server/office_delete.h"
#include "shared/encoding.h"
#include "tests/server/console_client.h"
#include "tests/server/conflict_fixture.h"

namespace kbo::server::testing {
namespace {

using console::Console;
using console::Reply;
using console::Request;
using console::Users;
using console::WebRole;

constexpr char kPassword[] = "ผ้าทอพร้าว-2569";

// A browser signed in as one user, with its CSRF token.
struct Signed : ConsoleClient {
  Signed(Console& c, const std::string& login) : ConsoleClient(c, kPassword) {
    SignIn(login);
    csrf = Csrf();
  }
  std::string csrf;
};

std::string Location(const Reply& r) {
  auto it = r.headers.find("Location");
  return it == r.headers.end() ? "" : it->second;
}

// A redirect's query as a person reads it ('+' and %XX decoded).
std::string PercentDecoded(const std::string& s) { return PercentDecode(s); }

void AddUser(ServerStore& store, const std::string& login, WebRole role,
             const std::string& districts) {
  Users users(store);
  auto scope = Scope::Parse(districts);
  REQUIRE(scope.ok());
  REQUIRE(users.Add(login, role, *scope, kPassword, "test").ok());
}

TEST_CASE("Console conflicts: the inbox in Thai labels, scoped to the user's "
          "districts, resolved by the office with a reason",
          "[console][conflict]") {
  AttendanceConflict c;
  ServerStore& store = *c.f.store;
  AddUser(store, "phrao_viewer", WebRole::kViewer, "5011");
  AddUser(store, "fang_viewer", WebRole::kViewer, "5009");
  AddUser(store, "somying", WebRole::kOffice, "all");
  Console console(store);
  const std::string id = c.conflict.id;
  const std::string history =
      "/rows/attendance/" + c.attendance.ToString() + "/history";

  // Fang sees nothing of Phrao's conflict or row.
  Signed fang(console, "fang_viewer");
  Reply fang_list = fang.Get("/conflicts");
  REQUIRE(fang_list.status == 200);
  CHECK(fang_list.body.find(id) == std::string::npos);
  CHECK(fang.Get("/conflicts/" + id).status == 404);
  CHECK(fang.Get(history).status == 404);
  CHECK(fang.Get("/api/rows/attendance/" + c.attendance.ToString() + "/history")
            .status == 404);
  // Asked for Phrao's (a colleague's link): said, not answered "none".
  Reply not_yours = fang.Get("/api/conflicts", {{"district", "5011"}});
  CHECK(not_yours.status == 403);
  CHECK_THAT(not_yours.body, Catch::Contains("\"error\":\"district_not_yours\""));
  CHECK(not_yours.body.find(id) == std::string::npos);
  Reply not_yours_page = fang.Get("/conflicts", {{"district", "5011"}, {"lang", "th"}});
  CHECK(not_yours_page.status == 403);
  CHECK_THAT(not_yours_page.body, Catch::Contains("อำเภอพร้าว (5011) ไม่ได้อยู่ในอำเภอที่คุณดูแล (อำเภอฝาง)"));

  // A Phrao viewer reads it, with names and labels, but may not resolve.
  Signed viewer(console, "phrao_viewer");
  Reply list = viewer.Get("/conflicts");
  REQUIRE(list.status == 200);
  CHECK_THAT(list.body, Catch::Contains("นางสมศรี ใจดี") &&
                            Catch::Contains("ขาด") && Catch::Contains("ลา") &&
                            Catch::Contains("สมชาย พร้าว A14") &&
                            Catch::Contains("width=device-width"));
  Reply detail = viewer.Get("/conflicts/" + id.substr(0, 8));
  REQUIRE(detail.status == 200);
  CHECK(detail.body.find("name=\"reason\"") == std::string::npos);
  CHECK(viewer
            .Post("/conflicts/" + id + "/resolve",
                  {{"csrf", viewer.csrf}, {"choice", "current"},
                   {"reason", "x"}})
            .status == 403);
  Reply api = viewer.Get("/api/conflicts", {{"status", "open"}});
  REQUIRE(api.status == 200);
  auto j = nlohmann::json::parse(api.body);
  REQUIRE(j["conflicts"].size() == 1);
  CHECK(j["conflicts"][0]["current"]["value"] == "ขาด");
  CHECK(j["conflicts"][0]["incoming"]["value"] == "ลา");
  // A filter that is not one is refused, not read as "all".
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"status", "bogus"}, {"district", "abc"}, {"district", "9999"}}) {
    INFO(name << "=" << value);
    const Reply bad = viewer.Get("/api/conflicts", {{name, value}});
    CHECK(bad.status == 400);
    CHECK_THAT(bad.body, Catch::Contains("invalid_argument"));
  }

  // The office: the form, a reason required, then the decision.
  Signed office(console, "somying");
  Reply form = office.Get("/conflicts/" + id);
  CHECK_THAT(form.body, Catch::Contains("name=\"reason\"") &&
                            Catch::Contains("name=\"csrf\""));
  // A status's other value is chosen from its names, not typed.
  CHECK_THAT(form.body, Catch::Contains("<select name=\"value\" oninput=") &&
                            Catch::Contains("<option value=\"excused\">ลา</option>"));
  // The box stops where a reason of Thai characters (3 bytes each) still
  // fits the server's 2,000 bytes; the form posts multipart.
  CHECK_THAT(form.body, Catch::Contains("maxlength=\"666\"") &&
                            Catch::Contains("enctype=\"multipart/form-data\""));
  {
    std::string reason;
    for (int i = 0; i < 666; ++i) reason += "ก";
    CHECK(reason.size() <= kMaxReasonBytes);
  }
  Reply no_reason = office.Post(
      "/conflicts/" + id + "/resolve",
      {{"csrf", office.csrf}, {"choice", "incoming"}, {"reason", "  "}});
  CHECK(no_reason.status == 303);
  CHECK_THAT(Location(no_reason), Catch::Contains("error="));
  CHECK(c.f.Count("SELECT count(*) FROM conflict WHERE resolved_at IS NULL") ==
        1);
  // A reason (or any field, or a query) of bytes that are not UTF-8: a
  // forged request, refused before anything is read or written, so that
  // nothing can later fail the inbox's JSON or echo them into a page.
  for (const char* bad : {"\xc3(abc", "\xed\xa0\x80", "ok\xff"}) {
    CAPTURE(bad);
    Reply forged = office.Post("/conflicts/" + id + "/resolve",
                               {{"csrf", office.csrf},
                                {"choice", "incoming"},
                                {"reason", bad}});
    CHECK(forged.status == 400);
    CHECK(c.f.Count("SELECT count(*) FROM conflict WHERE resolved_at IS NULL") == 1);
  }
  CHECK(office.Get("/conflicts", {{"status", "\xff"}}).status == 400);
  CHECK(office.Get("/api/conflicts").status == 200);
  // A typed value that is not a status: said in Thai (the console's
  // language), naming the column by its label; nothing resolved.
  Reply typo = office.Post("/conflicts/" + id + "/resolve",
                           {{"csrf", office.csrf},
                            {"choice", "other"},
                            {"value", "สิบสอง"},
                            {"reason", "แก้ตามใบลงชื่อ"}});
  CHECK(typo.status == 303);
  {
    const std::string said = PercentDecoded(Location(typo));
    CHECK_THAT(said, Catch::Contains("โปรดเลือก") &&
                         Catch::Contains("จากรายการ") &&
                         Catch::Contains("สิบสอง"));
    CHECK(said.find("must be one of") == std::string::npos);
  }
  CHECK(c.f.Count("SELECT count(*) FROM conflict WHERE resolved_at IS NULL") ==
        1);
  // A reason over the limit: said in Thai, in letters a person counts.
  std::string long_reason;
  while (long_reason.size() <= kMaxReasonBytes) long_reason += "ก";
  Reply too_long = office.Post("/conflicts/" + id + "/resolve",
                               {{"csrf", office.csrf},
                                {"choice", "current"},
                                {"reason", long_reason}});
  CHECK(too_long.status == 303);
  CHECK_THAT(PercentDecoded(Location(too_long)),
             Catch::Contains("เหตุผลยาวเกินไป") &&
                 Catch::Contains("ประมาณ 666 ตัวอักษรไทย") &&
                 !Catch::Contains("longer than"));
  CHECK(c.f.Count("SELECT count(*) FROM conflict WHERE resolved_at IS NULL") ==
        1);
  // The open count is of all those waiting, whatever the status shown.
  CHECK_THAT(viewer.Get("/conflicts", {{"status", "resolved"}}).body,
             Catch::Contains("ยังไม่ยุติ 1 · ทั้งหมดที่แสดง 0"));
  Reply done = office.Post("/conflicts/" + id + "/resolve",
                           {{"csrf", office.csrf},
                            {"choice", "incoming"},
                            {"reason", "มีใบลาป่วยจากโรงพยาบาล"}});
  CHECK(done.status == 303);
  CHECK_THAT(Location(done), Catch::Contains("done="));
  CHECK(c.f.Text("SELECT resolved_by FROM conflict") == "user:somying");
  CHECK(c.f.Text("SELECT resolution_reason FROM conflict") ==
        "มีใบลาป่วยจากโรงพยาบาล");
  CHECK(c.f.Count("SELECT count(*) FROM audit_log WHERE action = 'resolve' "
                  "AND actor = 'user:somying' AND address = '192.0.2.10'") ==
        1);
  Reply resolved = viewer.Get("/conflicts", {{"status", "resolved"}});
  CHECK_THAT(resolved.body, Catch::Contains("somying") &&
                                Catch::Contains("มีใบลาป่วยจากโรงพยาบาล"));
  // Twice is refused (409 from the API).
  Request again;
  again.method = "POST";
  again.path = "/api/conflicts/" + id + "/resolve";
  again.csrf_header = office.csrf;
  again.body = R"({"keep": "current", "reason": "again"})";
  Reply twice = office.Send(again);
  CHECK(twice.status == 409);
  {
    auto body = nlohmann::json::parse(twice.body);
    CHECK(body["error"] == "already_resolved");
    CHECK_THAT(body["message"].get<std::string>(),
               Catch::Contains("already resolved") &&
                   Catch::Contains("by user:somying") &&
                   Catch::Contains("มีใบลาป่วยจากโรงพยาบาล"));
  }
  // A colleague's page, opened before the decision, is told in Thai whose
  // decision stands, and when (Bangkok time).
  Reply late = office.Post("/conflicts/" + id + "/resolve",
                           {{"csrf", office.csrf},
                            {"choice", "current"},
                            {"reason", "ตามใบลงชื่อ"}});
  CHECK(late.status == 303);
  CHECK_THAT(PercentDecoded(Location(late)),
             Catch::Contains("ตัดสินไปแล้วเมื่อ") &&
                 // By login and label, as the inbox says them (once
                 // 'user:somying' and the code 'excused').
                 Catch::Contains("โดย somying เป็น 'ลา'") &&
                 !Catch::Contains("user:") && !Catch::Contains("excused") &&
                 Catch::Contains("มีใบลาป่วยจากโรงพยาบาล") &&
                 !Catch::Contains("already resolved"));
  CHECK(c.f.Count("SELECT count(*) FROM audit_log WHERE action = 'resolve'") ==
        1);

  // The row's history, as a page and as JSON.
  Reply h = viewer.Get(history);
  REQUIRE(h.status == 200);
  CHECK_THAT(h.body, Catch::Contains("ขาด") && Catch::Contains("ลา") &&
                         Catch::Contains("somying"));
  // The row and its references by their names, not ids.
  CHECK_THAT(h.body, Catch::Contains("นางสมศรี ใจดี") &&
                         Catch::Contains("อบรมพัฒนาผลิตภัณฑ์ KBO พร้าว") &&
                         Catch::Contains("วันที่ 3"));
  CHECK_THAT(h.body, !Catch::Contains(c.workshop.ToString()) &&
                         !Catch::Contains(c.enrolment.ToString()));
  Reply hj = viewer.Get("/api/rows/attendance/" + c.attendance.ToString() +
                        "/history");
  REQUIRE(hj.status == 200);
  auto hist = nlohmann::json::parse(hj.body);
  CHECK(hist["entries"].size() == 4);
}

TEST_CASE("Console conflicts: each side of a mark's conflict shows the note "
          "its trainer wrote with it",
          "[console][conflict]") {
  ServerFixture f;
  TestDevice somchai, malee;
  f.Enroll(somchai, kPhrao, "trainer");
  f.Enroll(malee, kPhrao, "trainer");
  const Uuid producer = Uuid::Random(), workshop = Uuid::Random(),
             enrolment = Uuid::Random();
  const Uuid attendance = AttendanceId(workshop, enrolment, 2);
  PushService push(*f.store);
  RowChange sick = Mark(attendance, somchai.HlcAt(kT0 + 10), workshop, enrolment, 2,
                        "absent");
  sick.cells.push_back({"note", T("ป่วย ไปโรงพยาบาล"), 0});
  REQUIRE(push.Push(f.Record(somchai.id),
                    somchai.SealNext(
                        {Producer(producer, somchai.HlcAt(kT0), kPhrao, "กลุ่มจักสาน"),
                         Workshop(workshop, somchai.HlcAt(kT0), kPhrao, "อบรม KBO"),
                         Row("enrolment", enrolment, somchai.HlcAt(kT0),
                             {{"workshop_id", T(workshop.ToString()), 0},
                              {"producer_id", T(producer.ToString()), 0},
                              {"participant_name", T("นางสมศรี ใจดี"), 0},
                              {"district_code", T(kPhrao), 0}}),
                         sick}))
              .ok());
  RowChange leave = Mark(attendance, malee.HlcAt(kT0 + 20), workshop, enrolment, 2,
                         "excused");
  leave.cells.push_back({"note", T("ลากิจ งานศพ"), 0});
  REQUIRE(push.Push(f.Record(malee.id), malee.SealNext({leave})).ok());
  auto list = Conflicts(*f.store).List();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);  // the status and the note
  std::string id;
  for (const ConflictRecord& c : *list) {
    if (c.column_name == "status") id = c.id;
  }
  REQUIRE_FALSE(id.empty());

  AddUser(*f.store, "somying", WebRole::kOffice, "all");
  Console console(*f.store);
  Signed office(console, "somying");
  Reply page = office.Get("/conflicts/" + id);
  REQUIRE(page.status == 200);
  const size_t first = page.body.find("ป่วย ไปโรงพยาบาล");
  const size_t second = page.body.find("ลากิจ งานศพ");
  CHECK(first != std::string::npos);
  CHECK(second != std::string::npos);
  CHECK(first < second);  // each under its own side, the first one first
  CHECK_THAT(page.body, Catch::Contains("บันทึกมาพร้อมกัน"));
  Reply api = office.Get("/api/conflicts/" + id);
  REQUIRE(api.status == 200);
  auto j = nlohmann::json::parse(api.body);
  REQUIRE(j["current"]["with"].size() == 1);
  CHECK(j["current"]["with"][0]["column"] == "note");
  CHECK(j["current"]["with"][0]["value"] == "ป่วย ไปโรงพยาบาล");
  CHECK(j["current"]["with"][0]["applied"] == true);
  REQUIRE(j["incoming"]["with"].size() == 1);
  CHECK(j["incoming"]["with"][0]["value"] == "ลากิจ งานศพ");
  // The names of the row (workshop, participant, day, district) are not
  // listed as something said.
  CHECK(api.body.find("\"column\":\"day\"") == std::string::npos);
}

TEST_CASE("Console conflicts: a stage conflict says the further stage is kept, "
          "offers only it, and says in Thai why the earlier one is refused",
          "[console][conflict]") {
  ServerFixture f;
  TestDevice officer, trainer;
  f.Enroll(officer, kPhrao, "field_officer");
  f.Enroll(trainer, kPhrao, "trainer");
  const Uuid producer = Uuid::Random(), product = Uuid::Random();
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext(
                        {Producer(producer, officer.HlcAt(kT0), kPhrao),
                         Row("product", product, officer.HlcAt(kT0),
                             {{"producer_id", T(producer.ToString()), 0},
                              {"name", T("ผ้าฝ้ายทอมือ"), 0},
                              {"stage", T("idea"), 0},
                              {"district_code", T(kPhrao), 0}}),
                         Row("product", product, officer.HlcAt(kT0 + 10),
                             {{"stage", T("packaging"), 0}})}))
              .ok());
  // The trainer, offline since before, moves it to design.
  REQUIRE(push.Push(f.Record(trainer.id),
                    trainer.SealNext({Row("product", product, trainer.HlcAt(kT0 + 20),
                                          {{"stage", T("design"), 0}})}))
              .ok());
  auto list = Conflicts(*f.store).List();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 1);
  const std::string id = list->front().id;
  REQUIRE(list->front().column_name == "stage");

  AddUser(*f.store, "somying", WebRole::kOffice, "all");
  Console console(*f.store);
  Signed office(console, "somying");
  Reply page = office.Get("/conflicts/" + id);
  REQUIRE(page.status == 200);
  CHECK_THAT(page.body, Catch::Contains("เดินหน้าอย่างเดียว"));
  // The earlier stage (design, the incoming value) is not offered.
  CHECK_THAT(page.body, !Catch::Contains("value=\"incoming\"") &&
                            Catch::Contains("value=\"current\">"));
  // Posted through the API anyway: 409 moves_back naming the field.
  {
    Request api;
    api.method = "POST";
    api.path = "/api/conflicts/" + id + "/resolve";
    api.csrf_header = office.csrf;
    api.body = R"({"keep": "incoming", "reason": "x"})";
    Reply refused = office.Send(api);
    CHECK(refused.status == 409);
    auto body = nlohmann::json::parse(refused.body);
    CHECK(body["error"] == "moves_back");
    CHECK(body["field"] == "stage");
  }
  // Posted anyway: refused in Thai, nothing resolved.
  Reply back = office.Post("/conflicts/" + id + "/resolve",
                           {{"csrf", office.csrf},
                            {"choice", "incoming"},
                            {"reason", "ตามที่วิทยากรบันทึก"}});
  CHECK(back.status == 303);
  CHECK_THAT(PercentDecoded(Location(back)), Catch::Contains("เดินหน้าอย่างเดียว"));
  CHECK(Conflicts(*f.store).List()->front().resolved() == false);
  Reply kept = office.Post("/conflicts/" + id + "/resolve",
                           {{"csrf", office.csrf},
                            {"choice", "current"},
                            {"reason", "ผลิตภัณฑ์อยู่ขั้นบรรจุภัณฑ์แล้ว"}});
  CHECK(kept.status == 303);
  CHECK_THAT(Location(kept), Catch::Contains("done="));
}

TEST_CASE("Console conflicts: a field's other open conflicts are named on a "
          "conflict's page, and deciding it settles them",
          "[console][conflict]") {
  AttendanceConflict c;
  ServerStore& store = *c.f.store;
  // Somchai, not having seen malee's, marks the day again: a second
  // conflict on the same mark.
  PushService push(store);
  REQUIRE(push.Push(c.f.Record(c.somchai.id),
                    c.somchai.SealNext({Row("attendance", c.attendance, c.somchai.HlcAt(kT0 + 40),
                                            {{"status", T("late"), 0}})}))
              .ok());
  auto open = Conflicts(store).List(/*open_only=*/true);
  REQUIRE(open.ok());
  REQUIRE(open->size() == 2);
  const std::string newer = open->front().id == c.conflict.id ? open->back().id
                                                              : open->front().id;
  AddUser(store, "somying", WebRole::kOffice, "all");
  Console console(store);
  Signed office(console, "somying");
  Reply page = office.Get("/conflicts/" + newer);
  REQUIRE(page.status == 200);
  CHECK_THAT(page.body, Catch::Contains("data-settles=\"1\"") &&
                            Catch::Contains("ข้อมูลขัดแย้งอื่นที่ยังไม่ตัดสินอีก 1 รายการ"));
  // The older one's page names it too: its values (malee's, and somchai's
  // later one the page shows beside the two sides) are both in view there,
  // so deciding the older one settles the newer (left open, a colleague was
  // offered to undo the decision with the value it decided against).
  CHECK_THAT(office.Get("/conflicts/" + c.conflict.id).body,
             Catch::Contains("data-settles=\"1\""));
}

TEST_CASE("Console conflicts: an open conflict on a row deleted since says so, on the page "
          "and in the API",
          "[console][conflict]") {
  // The office deleted a workshop and its marks; a mark's open conflict
  // still counted in the inbox, its page with no hint that deciding it
  // would edit a deleted row.
  AttendanceConflict c;
  ServerStore& store = *c.f.store;
  AddUser(store, "somying", WebRole::kOffice, "all");
  Console console(store);
  Signed office(console, "somying");
  CHECK_THAT(office.Get("/conflicts/" + c.conflict.id).body, !Catch::Contains("data-row-deleted"));
  Scope all;
  all.all = true;
  {
    Transaction tx(store.db());
    REQUIRE(DeleteAsOffice(store, all, "attendance", c.attendance.ToString(), "ซ้ำ",
                           RowsUnder::kRefuse, "user:somying", "")
                .ok());
    REQUIRE(tx.Commit().ok());
  }
  Reply page = office.Get("/conflicts/" + c.conflict.id);
  REQUIRE(page.status == 200);
  CHECK_THAT(page.body, Catch::Contains("data-row-deleted") &&
                            Catch::Contains("รายการนี้ถูกลบไปแล้ว"));
  Reply api = office.Get("/api/conflicts/" + c.conflict.id);
  REQUIRE(api.status == 200);
  CHECK(nlohmann::json::parse(api.body)["row_deleted"] == true);
}

TEST_CASE("Console conflicts: a value written after the conflict is shown, kept "
          "if chosen, and never replaced unseen, and a bad value's API error has "
          "its problem",
          "[console][conflict]") {
  AttendanceConflict c;
  ServerStore& store = *c.f.store;
  // Somchai, having pulled the conflict (malee's excused, seq 5), marks
  // the day late: no new conflict, the row now shows late.
  PushService push(store);
  c.f.Pulled(c.somchai);
  REQUIRE(push.Push(c.f.Record(c.somchai.id),
                    c.somchai.SealNext({Row("attendance", c.attendance,
                                            c.somchai.HlcAt(kT0 + 30),
                                            {{"status", T("late"), c.conflict.incoming_seq}})}))
              .ok());
  REQUIRE(Conflicts(store).List()->size() == 1);
  Result<std::optional<LaterWrite>> later = LaterWriteOf(store.db(), c.conflict);
  REQUIRE(later.ok());
  REQUIRE(later->has_value());
  CHECK((*later)->value == T("late"));
  const uint64_t late_seq = (*later)->seq;
  CHECK(late_seq > c.conflict.incoming_seq);

  AddUser(store, "somying", WebRole::kOffice, "all");
  Console console(store);
  Signed office(console, "somying");
  const std::string id = c.conflict.id;
  Reply page = office.Get("/conflicts/" + id);
  REQUIRE(page.status == 200);
  CHECK_THAT(page.body, Catch::Contains("บันทึกอีกครั้งหลังพบข้อขัดแย้ง") &&
                            Catch::Contains("value=\"now\"") &&
                            Catch::Contains("name=\"seen_seq\" value=\"" +
                                            std::to_string(late_seq) + "\""));
  auto view = nlohmann::json::parse(office.Get("/api/conflicts/" + id).body);
  CHECK(view["later"]["value_text"] == "late");
  CHECK(view["later"]["seq"] == late_seq);
  // The inbox's list says the same: the later value shown now, neither
  // side badged as shown.
  auto listed = nlohmann::json::parse(
      office.Get("/api/conflicts", {{"status", "open"}}).body);
  REQUIRE(listed["conflicts"].size() == 1);
  CHECK(listed["conflicts"][0]["later"]["value_text"] == "late");
  CHECK(listed["conflicts"][0]["later"]["seq"] == late_seq);
  Reply inbox = office.Get("/conflicts");
  REQUIRE(inbox.status == 200);
  CHECK_THAT(inbox.body, Catch::Contains("ค่าที่บันทึกภายหลัง"));
  size_t badges = 0;
  for (size_t at = inbox.body.find("แสดงอยู่ตอนนี้"); at != std::string::npos;
       at = inbox.body.find("แสดงอยู่ตอนนี้", at + 1)) {
    ++badges;
  }
  CHECK(badges == 1);  // the later value's, no side's

  const auto status_now = [&] {
    return c.f.Text("SELECT status FROM attendance WHERE id = '" +
                    c.attendance.ToString() + "'");
  };
  Request api;
  api.method = "POST";
  api.path = "/api/conflicts/" + id + "/resolve";
  api.csrf_header = office.csrf;
  // Keeping a side without having seen the later value: refused, nothing
  // written.
  api.body = R"({"keep": "current", "reason": "ตามใบลงชื่อ"})";
  Reply unseen = office.Send(api);
  CHECK(unseen.status == 409);
  {
    auto body = nlohmann::json::parse(unseen.body);
    CHECK(body["error"] == "changed_since");
    CHECK(body["field"] == "status");
    CHECK(body["now_value"] == "late");
    CHECK(body["now_seq"] == late_seq);
  }
  CHECK(status_now() == "late");
  CHECK_FALSE(Conflicts(store).List()->front().resolved());
  // seen_seq that is no server sequence: 400, nothing written.
  for (const char* seen : {"\"5\"", "-1", "1.5", "true", "null", "[]",
                           "18446744073709551616"}) {
    CAPTURE(seen);
    api.body = std::string(R"({"keep": "now", "reason": "x", "seen_seq": )") + seen + "}";
    Reply garbage = office.Send(api);
    CHECK(garbage.status == 400);
    CHECK(status_now() == "late");
  }
  CHECK_FALSE(Conflicts(store).List()->front().resolved());
  // The same from the form: no sequence seen, so no value "now" to keep;
  // the person is asked to choose.
  Reply garbled = office.Post("/conflicts/" + id + "/resolve",
                              {{"csrf", office.csrf},
                               {"choice", "now"},
                               {"seen_seq", "12abc"},
                               {"reason", "x"}});
  CHECK_THAT(PercentDecoded(Location(garbled)), Catch::Contains("โปรดเลือกค่าที่จะใช้"));
  CHECK_FALSE(Conflicts(store).List()->front().resolved());
  // The form posted without seen_seq (an old page): refused in Thai.
  Reply old_form = office.Post("/conflicts/" + id + "/resolve",
                               {{"csrf", office.csrf},
                                {"choice", "incoming"},
                                {"reason", "ตามใบลา"}});
  CHECK_THAT(PercentDecoded(Location(old_form)),
             Catch::Contains("บันทึกค่านี้อีกครั้งหลังจากที่คุณเปิดหน้านี้"));
  CHECK(status_now() == "late");
  // A value that is no status: 400 with its problem and field.
  api.body = std::string(R"({"value": "มาสาย?", "reason": "x", "seen_seq": )") +
             std::to_string(late_seq) + "}";
  Reply bad = office.Send(api);
  CHECK(bad.status == 400);
  {
    auto body = nlohmann::json::parse(bad.body);
    CHECK(body.contains("problem"));
    CHECK(body["field"] == "status");
  }
  // Emptied: a status is required; said with its problem (Thai on the page).
  api.body = std::string(R"({"value": "", "reason": "x", "seen_seq": )") +
             std::to_string(late_seq) + "}";
  Reply empty = office.Send(api);
  CHECK(empty.status == 400);
  CHECK(nlohmann::json::parse(empty.body)["problem"] == "err.required");
  Reply emptied = office.Post("/conflicts/" + id + "/resolve",
                              {{"csrf", office.csrf},
                               {"choice", "other"},
                               {"value", ""},
                               {"seen_seq", std::to_string(late_seq)},
                               {"reason", "x"}});
  CHECK_THAT(PercentDecoded(Location(emptied)), Catch::Contains("ต้องกรอก"));
  CHECK(status_now() == "late");
  // Keeping the value now, by the form's "now".
  Reply kept = office.Post("/conflicts/" + id + "/resolve",
                           {{"csrf", office.csrf},
                            {"choice", "now"},
                            {"seen_seq", std::to_string(late_seq)},
                            {"reason", "มาสายจริง ตามที่วิทยากรแก้ไข"}});
  CHECK_THAT(Location(kept), Catch::Contains("done="));
  CHECK(status_now() == "late");
  CHECK(Conflicts(store).List()->front().resolved());
  CHECK(Conflicts(store).List()->front().resolved_value == "late");
}

TEST_CASE("Conflicts: a side chosen with the later write seen replaces it",
          "[conflict]") {
  AttendanceConflict c;
  ServerStore& store = *c.f.store;
  PushService push(store);
  REQUIRE(push.Push(c.f.Record(c.somchai.id),
                    c.somchai.SealNext({Row("attendance", c.attendance,
                                            c.somchai.HlcAt(kT0 + 30),
                                            {{"status", T("late"), c.conflict.incoming_seq}})}))
              .ok());
  const uint64_t late_seq = (*LaterWriteOf(store.db(), c.conflict))->seq;
  Resolver by;
  by.actor = "cli";
  Resolution how;
  how.kind = Resolution::Kind::kKeepSeq;
  how.seq = late_seq + 100;  // never handed out: the person's typo
  how.seen_seq = late_seq;
  CHECK(Conflicts(store).Resolve(c.conflict.id, how, by).status().code() ==
        Code::kInvalidArgument);
  how.kind = Resolution::Kind::kKeepCurrent;
  how.seen_seq = late_seq;
  Result<ResolveOutcome> r = Conflicts(store).Resolve(c.conflict.id, how, by);
  REQUIRE(r.ok());
  CHECK(c.f.Text("SELECT status FROM attendance WHERE id = '" +
                 c.attendance.ToString() + "'") == "absent");
  // Resolved: no later write to show any more.
  CHECK_FALSE(LaterWriteOf(store.db(), r->conflict)->has_value());
}

TEST_CASE("Conflicts: keeping a later write that has gone since is refused "
          "with what shows now, nothing written",
          "[console][conflict]") {
  AttendanceConflict c;
  ServerStore& store = *c.f.store;
  PushService push(store);
  const auto mark = [&](const char* status, uint64_t base, int64_t at) {
    REQUIRE(push.Push(c.f.Record(c.somchai.id),
                      c.somchai.SealNext({Row("attendance", c.attendance,
                                              c.somchai.HlcAt(kT0 + at),
                                              {{"status", T(status), base}})}))
                .ok());
  };
  mark("late", c.conflict.incoming_seq, 30);
  const uint64_t late_seq = (*LaterWriteOf(store.db(), c.conflict))->seq;
  // The page showed "late"; before the office decides, somchai marks the
  // day as the merge had shown it again: no later write any more.
  const Value shown =
      c.conflict.winner == "incoming" ? c.conflict.incoming_value
                                      : c.conflict.current_value;
  mark(shown.ToDisplay().c_str(), late_seq, 40);
  REQUIRE_FALSE(LaterWriteOf(store.db(), c.conflict)->has_value());
  const auto status_now = [&] {
    return c.f.Text("SELECT status FROM attendance WHERE id = '" +
                    c.attendance.ToString() + "'");
  };

  Resolver by;
  by.actor = "cli";
  Resolution how;
  how.kind = Resolution::Kind::kKeepSeq;
  how.seq = late_seq;
  how.seen_seq = late_seq;
  Result<ResolveOutcome> r = Conflicts(store).Resolve(c.conflict.id, how, by);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kFailedPrecondition);
  CHECK(r.status().reason() == kChangedSince);
  REQUIRE(r.status().TextField("now_value") != nullptr);
  CHECK(*r.status().TextField("now_value") == shown.ToDisplay());
  // The write the row shows now: somchai's second mark, not a side's.
  REQUIRE(r.status().IntegerField("now_seq") != nullptr);
  CHECK(*r.status().IntegerField("now_seq") > static_cast<int64_t>(late_seq));
  // The same from the shell's --keep SEQ alone.
  how.seen_seq = 0;
  CHECK(Conflicts(store).Resolve(c.conflict.id, how, by).status().reason() ==
        kChangedSince);
  CHECK(status_now() == shown.ToDisplay());
  CHECK_FALSE(Conflicts(store).List()->front().resolved());
  // A sequence that was never this conflict's: the person's typo.
  how.seq = how.seen_seq = 1;
  CHECK(Conflicts(store).Resolve(c.conflict.id, how, by).status().code() ==
        Code::kInvalidArgument);

  // The console's "keep the value shown now" from the old page: Thai,
  // decide again, nothing resolved.
  AddUser(store, "somying", WebRole::kOffice, "all");
  Console console(store);
  Signed office(console, "somying");
  Reply kept = office.Post("/conflicts/" + c.conflict.id + "/resolve",
                           {{"csrf", office.csrf},
                            {"choice", "now"},
                            {"seen_seq", std::to_string(late_seq)},
                            {"reason", "ตามที่วิทยากรแก้ไข"}});
  CHECK_THAT(PercentDecoded(Location(kept)),
             Catch::Contains("บันทึกค่านี้อีกครั้งหลังจากที่คุณเปิดหน้านี้"));
  CHECK(status_now() == shown.ToDisplay());
  CHECK_FALSE(Conflicts(store).List()->front().resolved());
}

TEST_CASE("Console data: a workshop is not made shorter than the days its marks are "
          "on, as a device refuses it, while lengthening, and a cut that leaves every "
          "mark, are saved",
          "[console][workshop_days]") {
  AttendanceConflict c;  // a five-day workshop with a mark on day 3
  ServerStore& store = *c.f.store;
  AddUser(store, "somying", WebRole::kOffice, "all");
  Console console(store);
  Signed office(console, "somying");
  const std::string url = "/data/workshop/" + c.workshop.ToString();
  const auto days = [&] {
    Statement st(store.db(), "SELECT days FROM workshop WHERE id = ?1");
    st.Bind(1, std::string_view(c.workshop.ToString()));
    REQUIRE(st.Step());
    return st.ColumnInt(0);
  };
  const auto set_days = [&](const std::string& to, const std::string& was) {
    return office.Post(url, {{"csrf", office.csrf},
                             {"set_days", to},
                             {"was_days", was},
                             {"reason", "ย่อหลักสูตร"}});
  };
  Reply cut = set_days("2", "5");
  REQUIRE(cut.status == 303);
  const std::string said = PercentDecoded(Location(cut));
  CHECK_THAT(said, Catch::Contains("error="));
  // The Thai label's words, with the numbers: 2 days, 1 mark, to day 3.
  CHECK_THAT(said, Catch::Contains("ลดเหลือ 2 วันไม่ได้") && Catch::Contains("1 รายการ") &&
                       Catch::Contains("คงไว้ 3 วัน"));
  CHECK(days() == 5);
  // Day 3 stays inside three days; lengthening is always allowed.
  CHECK_THAT(Location(set_days("3", "5")), Catch::Contains("done="));
  CHECK(days() == 3);
  CHECK_THAT(Location(set_days("7", "3")), Catch::Contains("done="));
  CHECK(days() == 7);
  // A deleted mark holds nothing back.
  REQUIRE(store.db()
              .Exec("UPDATE attendance SET deleted = 1 WHERE id = '" +
                    c.attendance.ToString() + "'")
              .ok());
  CHECK_THAT(Location(set_days("1", "7")), Catch::Contains("done="));
  CHECK(days() == 1);
}

}  // namespace
}  // namespace kbo::server::testing
