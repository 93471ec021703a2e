// The console's conflict inbox, resolve form and row history, through
// Console::Handle (no socket): scope, roles, the reason, labels.

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "server/console/console.h"
#include "server/console/users.h"
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
std::string PercentDecoded(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

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

  // The office: the form, a reason required, then the decision.
  Signed office(console, "somying");
  Reply form = office.Get("/conflicts/" + id);
  CHECK_THAT(form.body, Catch::Contains("name=\"reason\"") &&
                            Catch::Contains("name=\"csrf\""));
  Reply no_reason = office.Post(
      "/conflicts/" + id + "/resolve",
      {{"csrf", office.csrf}, {"choice", "incoming"}, {"reason", "  "}});
  CHECK(no_reason.status == 303);
  CHECK_THAT(Location(no_reason), Catch::Contains("error="));
  CHECK(c.f.Count("SELECT count(*) FROM conflict WHERE resolved_at IS NULL") ==
        1);
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
  CHECK(c.f.Count("SELECT count(*) FROM audit_log WHERE action = 'resolve'") ==
        1);

  // The row's history, as a page and as JSON.
  Reply h = viewer.Get(history);
  REQUIRE(h.status == 200);
  CHECK_THAT(h.body, Catch::Contains("ขาด") && Catch::Contains("ลา") &&
                         Catch::Contains("somying"));
  Reply hj = viewer.Get("/api/rows/attendance/" + c.attendance.ToString() +
                        "/history");
  REQUIRE(hj.status == 200);
  auto hist = nlohmann::json::parse(hj.body);
  CHECK(hist["entries"].size() == 4);
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
  // The earlier stage (design, the incoming value) cannot be chosen.
  CHECK_THAT(page.body,
             Catch::Contains("value=\"incoming\" disabled") &&
                 Catch::Contains("value=\"current\">"));
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

}  // namespace
}  // namespace kbo::server::testing
