#include "client/ui/ui_api.h"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "client/store.h"
#include "client/ui/ui_server.h"
#include "shared/fs.h"
#include "shared/signing.h"
#include "shared/sqlite/db.h"
#include "tests/support/client_store.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_images.h"

namespace kbo::client::ui {
namespace {

using Json = nlohmann::json;
using testing::TempDir;

using testing::OpenStore;

ApiRequest JsonRequest(std::string method, std::string path, const Json& body) {
  ApiRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.content_type = "application/json";
  r.body = body.dump();
  return r;
}

ApiRequest Get(std::string path) {
  ApiRequest r;
  r.method = "GET";
  const size_t q = path.find('?');
  if (q != std::string::npos) {
    std::string query = path.substr(q + 1);
    path.resize(q);
    size_t pos = 0;
    while (pos <= query.size()) {
      size_t amp = query.find('&', pos);
      if (amp == std::string::npos) amp = query.size();
      const std::string kv = query.substr(pos, amp - pos);
      const size_t eq = kv.find('=');
      r.query.emplace(kv.substr(0, eq),
                      eq == std::string::npos ? "" : kv.substr(eq + 1));
      pos = amp + 1;
    }
  }
  r.path = std::move(path);
  return r;
}

// POST /api/sync with no body (the sync button).
ApiRequest SyncPress() {
  ApiRequest r;
  r.method = "POST";
  r.path = "/api/sync";
  return r;
}

Json Body(const ApiReply& reply) {
  Json j = Json::parse(reply.body, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

size_t Rows(ClientStore& store, const std::string& entity) {
  auto rows = store.List(entity);
  REQUIRE(rows.ok());
  return rows->size();
}

std::string Create(UiApi& api, const std::string& entity, const Json& body) {
  ApiReply r = api.Handle(JsonRequest("POST", "/api/" + entity, body));
  INFO(r.body);
  REQUIRE(r.http_status == 201);
  return Body(r)["id"].get<std::string>();
}

struct Phrao {
  std::string producer, workshop;
  std::vector<std::string> enrolments;
};

Phrao Seed(UiApi& api, int people) {
  Phrao p;
  p.producer = Create(api, "producer",
                      {{"kind", "group"},
                       {"name", "กลุ่มทอผ้าบ้านป่าตุ้ม"},
                       {"district", "พร้าว"},
                       {"tambon", "ป่าตุ้ม"}});
  p.workshop = Create(api, "workshop",
                      {{"title", "KBO พร้าว"},
                       {"fiscal_year", 2567},
                       {"district_code", "5011"},
                       {"start_date", "2024-02-26"}});
  for (int i = 0; i < people; ++i) {
    p.enrolments.push_back(
        Create(api, "enrolment",
               {{"workshop_id", p.workshop},
                {"producer_id", p.producer},
                {"participant_name", "คนที่ " + std::to_string(i)}}));
  }
  return p;
}

TEST_CASE("UiApi: a refused form names every field, and nothing is written",
          "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, nullptr);
  ApiReply r = api.Handle(JsonRequest(
      "POST", "/api/producer",
      {{"kind", "group"}, {"name", ""}, {"district", "5011"}, {"stars", "7"}}));
  CHECK(r.http_status == 400);
  Json body = Body(r);
  CHECK(body["error"] == "invalid_argument");
  CHECK(body["field"] == "otop_stars");
  CHECK(body["fields"]["otop_stars"] ==
        "otop_stars must be from 0 to 5 (got 7)");
  CHECK(body["fields"]["name"] == "name is required for a producer");
  CHECK(Rows(*store, "producer") == 0);

  // The store's own refusal (no parse error first) is mapped the same way.
  r = api.Handle(JsonRequest("POST", "/api/producer",
                             {{"kind", "group"}, {"district", "5011"}}));
  CHECK(r.http_status == 400);
  CHECK(Body(r)["field"] == "name");

  // Unknown columns, wrong JSON types, bad JSON.
  r = api.Handle(JsonRequest("POST", "/api/producer", {{"colour", "red"}}));
  CHECK(Body(r)["field"] == "colour");
  r = api.Handle(JsonRequest("POST", "/api/producer", {{"name", true}}));
  CHECK(Body(r)["field"] == "name");
  ApiRequest bad = JsonRequest("POST", "/api/producer", Json::object());
  bad.body = "{not json";
  CHECK(api.Handle(bad).http_status == 400);
  bad.body = "[1, 2]";
  CHECK(api.Handle(bad).http_status == 400);
  CHECK(Rows(*store, "producer") == 0);
}

TEST_CASE("UiApi: record, list with filters, show, edit, delete", "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, nullptr);
  const std::string id = Create(api, "producer",
                                {{"kind", "entrepreneur"},
                                 {"name", "Khun Somsri"},
                                 {"district", "Phrao"},
                                 {"stars", 3},
                                 {"members", "๑๒"}});
  Json rows = Body(api.Handle(Get("/api/producer?district_code=5011")));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["otop_stars"] == 3);
  CHECK(rows[0]["members"] == 12);  // Thai digits, as the CLI accepts them
  CHECK(Body(api.Handle(Get("/api/producer?district_code=5001"))).empty());
  CHECK(Body(api.Handle(Get("/api/producer?colour=red")))["field"] == "colour");

  ApiReply r = api.Handle(JsonRequest("PATCH", "/api/producer/" + id,
                                      {{"otop_stars", "5"}, {"phone", ""}}));
  INFO(r.body);
  CHECK(r.http_status == 200);
  CHECK(Body(r)["otop_stars"] == 5);
  r = api.Handle(JsonRequest("PATCH", "/api/producer/" + id, {{"name", ""}}));
  CHECK(r.http_status == 400);
  CHECK(Body(r)["field"] == "name");

  ApiRequest del;
  del.method = "DELETE";
  del.path = "/api/producer/" + id;
  CHECK(api.Handle(del).http_status == 200);
  CHECK(api.Handle(del).http_status == 404);
  CHECK(Body(api.Handle(Get("/api/producer/" + id)))["deleted"] == true);
  CHECK(api.Handle(Get("/api/producer/not-an-id")).http_status == 400);
  CHECK(api.Handle(Get("/api/nothing")).http_status == 404);
  CHECK(api.Handle(Get("/api/producer/" + id + "/x/y")).http_status == 404);

  // A reference to a row that does not exist names its column.
  r = api.Handle(
      JsonRequest("POST", "/api/product",
                  {{"producer_id", "1b4e28ba-2fa1-41d2-883f-0016d3cca427"},
                   {"name", "x"}}));
  CHECK(r.http_status == 404);
  CHECK(Body(r)["field"] == "producer_id");
}

TEST_CASE("UiApi: a delete with rows under it answers has_children, cascade=1 takes them",
          "[ui][delete]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, nullptr);
  Phrao p = Seed(api, 2);
  ApiRequest del;
  del.method = "DELETE";
  del.path = "/api/workshop/" + p.workshop;
  ApiReply r = api.Handle(del);
  INFO(r.body);
  CHECK(r.http_status == 400);
  Json body = Body(r);
  CHECK(body["error"] == "has_children");
  CHECK(body["children"] == Json{{"enrolment", "2"}});
  CHECK(body["row"] == p.workshop);
  CHECK(Body(api.Handle(Get("/api/workshop"))).size() == 1);
  CHECK(Body(api.Handle(Get("/api/enrolment"))).size() == 2);

  del.query.emplace("cascade", "1");
  r = api.Handle(del);
  CHECK(r.http_status == 200);
  body = Body(r);
  CHECK(body["rows"] == 3);
  CHECK(body["by_entity"] == Json{{"workshop", 1}, {"enrolment", 2}});
  CHECK(Body(api.Handle(Get("/api/workshop"))).empty());
  CHECK(Body(api.Handle(Get("/api/enrolment"))).empty());
  // The producer has nothing under it now.
  del.query.clear();
  del.path = "/api/producer/" + p.producer;
  CHECK(api.Handle(del).http_status == 200);
}

TEST_CASE("UiApi: roll-call marks, one at a time or a sheet in one transaction",
          "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, nullptr);
  Phrao p = Seed(api, 3);

  Json mark = {{"workshop_id", p.workshop},
               {"enrolment_id", p.enrolments[0]},
               {"day", 1},
               {"status", "late"},
               {"note", "รถติด"}};
  const std::string a = Create(api, "attendance", mark);
  mark["status"] = "present";
  mark.erase("note");
  CHECK(Create(api, "attendance", mark) == a);  // derived id: the same mark

  // A tap on the status sends no note: the note recorded (here, or by a
  // colleague and synced since the screen was drawn) is kept, not wiped.
  Json view =
      Body(api.Handle(Get("/api/workshop/" + p.workshop + "/rollcall?day=1")));
  REQUIRE(view["rows"].size() == 3);
  CHECK(view["rows"][0]["status"] == "present");
  CHECK(view["rows"][0]["note"] == "รถติด");
  // A sheet's mark without a note keeps it too.
  {
    Json sheet = Json::array({{{"workshop_id", p.workshop},
                               {"enrolment_id", p.enrolments[0]},
                               {"day", 1},
                               {"status", "late"}}});
    ApiReply again =
        api.Handle(JsonRequest("POST", "/api/attendance", {{"marks", sheet}}));
    REQUIRE(again.http_status == 201);
    CHECK(Body(again)["ids"][0] == a);
    view = Body(api.Handle(Get("/api/workshop/" + p.workshop + "/rollcall?day=1")));
    CHECK(view["rows"][0]["status"] == "late");
    CHECK(view["rows"][0]["note"] == "รถติด");
  }
  // The note form sends the note it holds: empty clears it.
  mark["status"] = "present";
  mark["note"] = "";
  CHECK(Create(api, "attendance", mark) == a);
  view = Body(api.Handle(Get("/api/workshop/" + p.workshop + "/rollcall?day=1")));
  CHECK(view["rows"][0]["status"] == "present");
  CHECK(view["rows"][0]["note"].is_null());
  CHECK(view["rows"][0]["producer_name"] == "กลุ่มทอผ้าบ้านป่าตุ้ม");
  CHECK(view["rows"][1]["status"].is_null());
  CHECK(view["counts"]["present"] == 1);
  CHECK(view["counts"]["unmarked"] == 2);

  // A sheet with a bad mark: nothing of it is written.
  Json marks = Json::array();
  for (size_t i = 1; i < 3; ++i) {
    marks.push_back({{"workshop_id", p.workshop},
                     {"enrolment_id", p.enrolments[i]},
                     {"day", 2},
                     {"status", i == 2 ? "asleep" : "present"}});
  }
  ApiReply r =
      api.Handle(JsonRequest("POST", "/api/attendance", {{"marks", marks}}));
  CHECK(r.http_status == 400);
  CHECK(Body(r)["index"] == 1);
  CHECK(Body(r)["field"] == "status");
  CHECK(Rows(*store, "attendance") == 1);
  marks[1]["status"] = "excused";
  r = api.Handle(JsonRequest("POST", "/api/attendance", {{"marks", marks}}));
  CHECK(r.http_status == 201);
  CHECK(Body(r)["ids"].size() == 2);
  CHECK(Rows(*store, "attendance") == 3);

  // Days outside the workshop.
  r = api.Handle(Get("/api/workshop/" + p.workshop + "/rollcall?day=6"));
  CHECK(r.http_status == 400);
  CHECK(Body(r)["field"] == "day");
  mark["day"] = 6;
  r = api.Handle(JsonRequest("POST", "/api/attendance", mark));
  CHECK(r.http_status == 400);
  CHECK(Body(r)["field"] == "day");

  // No marks past the last day: nothing to say.
  view = Body(api.Handle(Get("/api/workshop/" + p.workshop + "/rollcall?day=1")));
  CHECK(view["beyond_days"].is_null());
  // Cutting the workshop to one day here is refused: day 2 has two marks.
  r = api.Handle(JsonRequest("PATCH", "/api/workshop/" + p.workshop, {{"days", 1}}));
  CHECK(r.http_status == 400);
  CHECK(Body(r)["field"] == "days");
  CHECK(Body(r)["problem"] == "err.marks_beyond_days");
  CHECK(Body(r)["params"]["marks"] == "2");
  // Cut on another device and pulled (written here as a pull would): the
  // day-2 marks are counted as kept beyond the workshop's day.
  {
    Statement cut(store->db(), "UPDATE workshop SET days = 1 WHERE id = ?1");
    cut.Bind(1, std::string_view(p.workshop));
    REQUIRE(cut.Run().ok());
  }
  view = Body(api.Handle(Get("/api/workshop/" + p.workshop + "/rollcall?day=1")));
  CHECK(view["days"] == 1);
  CHECK(view["rows"][0]["status"] == "present");
  CHECK(view["beyond_days"] == Json({{"marks", 2}, {"from", 2}, {"to", 2}}));
  r = api.Handle(Get("/api/workshop/" + p.workshop + "/rollcall?day=2"));
  CHECK(r.http_status == 400);
}

TEST_CASE("UiApi: a roll-call tap or an edit made against a value changed since the "
          "screen was drawn is refused (409 changed_since), nothing written, and one made "
          "against what is stored goes through",
          "[ui]") {
  // A walk-through: a stale roll-call (another tablet on this kbo ui, a
  // sync that brought a colleague's mark) and a stale edit form wrote over
  // newer values on the same device, where no conflict is possible.
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, nullptr);
  Phrao p = Seed(api, 1);
  Json mark = {{"workshop_id", p.workshop}, {"enrolment_id", p.enrolments[0]},
               {"day", 1}, {"status", "absent"}, {"note", "ป่วย"}};
  const std::string id = Create(api, "attendance", mark);
  // Tablet A still shows the row unmarked and taps "present".
  Json stale = {{"workshop_id", p.workshop}, {"enrolment_id", p.enrolments[0]},
                {"day", 1}, {"status", "present"}, {"seen_status", ""}};
  ApiReply r = api.Handle(JsonRequest("POST", "/api/attendance", stale));
  INFO(r.body);
  CHECK(r.http_status == 409);
  CHECK(Body(r)["error"] == "changed_since");
  CHECK(Body(r)["fields"].contains("status"));
  Json held = Body(api.Handle(Get("/api/attendance/" + id)));
  CHECK(held["status"] == "absent");
  CHECK(held["note"] == "ป่วย");
  // Drawn again, it saw "absent": the tap goes through, the note kept.
  stale["seen_status"] = "absent";
  r = api.Handle(JsonRequest("POST", "/api/attendance", stale));
  CHECK(r.http_status == 201);
  held = Body(api.Handle(Get("/api/attendance/" + id)));
  CHECK(held["status"] == "present");
  CHECK(held["note"] == "ป่วย");
  // A note typed over one it did not see: refused too.
  Json note = {{"workshop_id", p.workshop}, {"enrolment_id", p.enrolments[0]},
               {"day", 1}, {"status", "present"}, {"note", "มาสาย"},
               {"seen_status", "present"}, {"seen_note", ""}};
  CHECK(api.Handle(JsonRequest("POST", "/api/attendance", note)).http_status == 409);
  CHECK(Body(api.Handle(Get("/api/attendance/" + id)))["note"] == "ป่วย");

  // An edit form drawn with the old phone number, saved after a new one.
  REQUIRE(api.Handle(JsonRequest("PATCH", "/api/producer/" + p.producer,
                                 {{"phone", "0870000000"}}))
              .http_status == 200);
  r = api.Handle(JsonRequest("PATCH", "/api/producer/" + p.producer,
                             {{"phone", "0879999999"}, {"_seen", {{"phone", nullptr}}}}));
  CHECK(r.http_status == 409);
  CHECK(Body(r)["error"] == "changed_since");
  CHECK(Body(api.Handle(Get("/api/producer/" + p.producer)))["phone"] == "0870000000");
  r = api.Handle(JsonRequest("PATCH", "/api/producer/" + p.producer,
                             {{"phone", "0879999999"}, {"_seen", {{"phone", "0870000000"}}}}));
  CHECK(r.http_status == 200);
  CHECK(Body(api.Handle(Get("/api/producer/" + p.producer)))["phone"] == "0879999999");
  // A number seen as the page got it (JSON's number): the same value.
  r = api.Handle(JsonRequest("PATCH", "/api/producer/" + p.producer,
                             {{"members", 12}, {"_seen", {{"members", nullptr}}}}));
  CHECK(r.http_status == 200);
  r = api.Handle(JsonRequest("PATCH", "/api/producer/" + p.producer,
                             {{"members", 13}, {"_seen", {{"members", 12}}}}));
  CHECK(r.http_status == 200);
  CHECK(api.Handle(JsonRequest("PATCH", "/api/producer/" + p.producer,
                               {{"members", 14}, {"_seen", "x"}}))
            .http_status == 400);
}

TEST_CASE("UiApi: a form's text box sent as multipart keeps its line breaks as typed "
          "(LF), not the browser's CR LF",
          "[ui]") {
  // The browser encodes a textarea's line breaks as CR LF in a form post; a
  // later edit of another field sent the box again (LF) as a change.
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, nullptr);
  Phrao p = Seed(api, 0);
  ApiRequest visit;
  visit.method = "POST";
  visit.path = "/api/visit";
  visit.content_type = "multipart/form-data; boundary=x";
  visit.form = {{"producer_id", "", "", p.producer},
                {"notes", "", "", "ผลผลิตดี\r\nต้องปรับฉลาก\rเท่านั้น"}};
  ApiReply r = api.Handle(visit);
  INFO(r.body);
  REQUIRE(r.http_status == 201);
  const std::string id = Body(r)["id"];
  CHECK(Body(api.Handle(Get("/api/visit/" + id)))["notes"] ==
        "ผลผลิตดี\nต้องปรับฉลาก\rเท่านั้น");
}

TEST_CASE("UiApi: a district outside the device's is refused next to the "
          "district field",
          "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  REQUIRE(store->db()
              .Exec("UPDATE device SET server_url = 'http://127.0.0.1:1', "
                    "role = 'field_officer', districts = '5011'")
              .ok());
  UiApi api(*store, nullptr);
  Json producer = {{"kind", "group"}, {"name", "กลุ่มฝาง"}, {"district_code", "5009"}};
  ApiReply r = api.Handle(JsonRequest("POST", "/api/producer", producer));
  INFO(r.body);
  CHECK(r.http_status == 400);
  CHECK(Body(r)["field"] == "district_code");
  CHECK(Rows(*store, "producer") == 0);
}

TEST_CASE("UiApi: a form's one problem the store names is answered with its name "
          "and params, for the page to say in Thai",
          "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, nullptr);
  Json w = {{"title", "อบรม KBO"}, {"fiscal_year", "2027"}, {"district", "5011"},
            {"start", "2026-12-07"}, {"days", "5"}};
  ApiReply r = api.Handle(JsonRequest("POST", "/api/workshop", w));
  INFO(r.body);
  CHECK(r.http_status == 400);
  Json body = Body(r);
  CHECK(body["field"] == "fiscal_year");
  CHECK(body["problem"] == "err.fiscal_year_ce");
  CHECK(body["params"]["got"] == "2027");
  CHECK(body["params"]["be"] == "2570");
  // Two problems: each its own message, no one name for both.
  w["days"] = "0";
  body = Body(api.Handle(JsonRequest("POST", "/api/workshop", w)));
  CHECK(body["fields"].size() == 2);
  CHECK_FALSE(body.contains("problem"));
}

TEST_CASE("UiApi: a JSON number past int64 is refused as the CLI refuses it, "
          "never wrapped to another value",
          "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, nullptr);
  Phrao p = Seed(api, 0);
  // 2^64 - 20: read as a signed number it was -20, a latitude stored.
  Json visit = Json::parse(R"({"purpose": "x", "lat": 18446744073709551596})");
  visit["producer_id"] = p.producer;
  ApiReply r = api.Handle(JsonRequest("POST", "/api/visit", visit));
  INFO(r.body);
  CHECK(r.http_status == 400);
  CHECK(Body(r)["field"] == "lat");
  CHECK(Rows(*store, "visit") == 0);
  Json stars = Json::parse(R"({"otop_stars": 18446744073709551615})");
  r = api.Handle(JsonRequest("PATCH", "/api/producer/" + p.producer, stars));
  CHECK(r.http_status == 400);
  CHECK(Body(r)["message"].get<std::string>().find("18446744073709551615") !=
        std::string::npos);
}

TEST_CASE("UiApi: 'the rest present' fills only the marks still empty: one "
          "recorded on another screen since the sheet was drawn is kept",
          "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, nullptr);
  Phrao p = Seed(api, 3);
  // Screen B drew day 3 with everyone unmarked; screen A then marks the
  // first participant absent, sick.
  Json sick = {{"workshop_id", p.workshop}, {"enrolment_id", p.enrolments[0]},
               {"day", 3}, {"status", "absent"}, {"note", "ป่วย ลาไปโรงพยาบาล"}};
  Create(api, "attendance", sick);
  Json rest = Json::array();
  for (const std::string& e : p.enrolments) {
    rest.push_back({{"workshop_id", p.workshop}, {"enrolment_id", e}, {"day", 3},
                    {"status", "present"}});
  }
  ApiReply r = api.Handle(JsonRequest("POST", "/api/attendance",
                                      {{"marks", rest}, {"only_unmarked", true}}));
  INFO(r.body);
  REQUIRE(r.http_status == 201);
  CHECK(Body(r)["ids"].size() == 3);
  CHECK(Body(r)["kept"] == 1);
  Json view =
      Body(api.Handle(Get("/api/workshop/" + p.workshop + "/rollcall?day=3")));
  REQUIRE(view["rows"].size() == 3);
  int absent = 0, present = 0;
  for (const Json& row : view["rows"]) {
    if (row["status"] == "absent") {
      ++absent;
      CHECK(row["note"] == "ป่วย ลาไปโรงพยาบาล");
    }
    if (row["status"] == "present") ++present;
  }
  CHECK(absent == 1);
  CHECK(present == 2);
  r = api.Handle(JsonRequest("POST", "/api/attendance",
                             {{"marks", rest}, {"only_unmarked", "yes"}}));
  CHECK(r.http_status == 400);
  CHECK(Body(r)["field"] == "only_unmarked");
}

TEST_CASE("UiApi: a visit saved whose photo is then not is answered as saved "
          "(201, photo_error), so the page does not save it again",
          "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, nullptr);
  Phrao p = Seed(api, 0);
  const std::string camera = testing::CameraJpeg(24, 32, 6);
  ApiRequest visit;
  visit.method = "POST";
  visit.path = "/api/visit";
  visit.content_type = "multipart/form-data; boundary=x";
  // The same picture twice: the second photo row is refused
  // (photo_already_recorded) after the visit and the first photo are saved.
  visit.form = {{"producer_id", "", "", p.producer},
                {"purpose", "", "", "ติดตามผล"},
                {"photo", "a.jpg", "image/jpeg", camera},
                {"photo", "b.jpg", "image/jpeg", camera}};
  ApiReply r = api.Handle(visit);
  INFO(r.body);
  CHECK(r.http_status == 201);
  const Json made = Body(r);
  CHECK(made["id"].is_string());
  CHECK(made["photos"].size() == 1);
  CHECK(made["photo_problem"] == "photo_already_recorded");
  CHECK(made["photo_error"].get<std::string>().size() > 0);
  CHECK(Rows(*store, "visit") == 1);
}

TEST_CASE("UiApi: photos are stored, queued for upload, and served back",
          "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, nullptr);
  Phrao p = Seed(api, 0);

  // A visit with a photo part (multipart, as the form sends it): as a
  // phone camera writes it, 24 x 32 stored, EXIF orientation 6 and GPS.
  const std::string camera = testing::CameraJpeg(24, 32, 6);
  ApiRequest visit;
  visit.method = "POST";
  visit.path = "/api/visit";
  visit.content_type = "multipart/form-data; boundary=x";
  visit.form = {{"producer_id", "", "", p.producer},
                {"lat", "", "", "19.36"},
                {"lon", "", "", "99.2"},
                {"purpose", "", "", "ติดตามผล"},
                {"photo", "notes.txt", "text/plain", "not a photo"}};
  ApiReply r = api.Handle(visit);
  CHECK(r.http_status == 400);
  CHECK(Body(r)["field"] == "photo");
  CHECK(Rows(*store, "visit") == 0);  // a refused photo saves nothing
  // A file of 0 bytes (a capture that failed): refused too; it was
  // dropped, the visit saved without it and "saved" said.
  visit.form.back() = {"photo", "empty.jpg", "image/jpeg", ""};
  r = api.Handle(visit);
  CHECK(r.http_status == 400);
  CHECK(Body(r)["field"] == "photo");
  CHECK_THAT(Body(r)["message"].get<std::string>(), Catch::Contains("empty (0 bytes)"));
  CHECK(Rows(*store, "visit") == 0);

  visit.form.back() = {"photo", "p.jpg", "image/jpeg", camera};
  // A caption the photo row would refuse: refused before the visit is
  // written (it was saved, then said "not saved", and saved again on the
  // next tap).
  visit.form.push_back({"photo_caption", "", "", "หน้า\x7fร้าน"});
  r = api.Handle(visit);
  CHECK(r.http_status == 400);
  CHECK(Body(r)["field"] == "photo_caption");
  CHECK(Rows(*store, "visit") == 0);
  visit.form.back() = {"photo_caption", "", "", "หน้าร้าน"};
  r = api.Handle(visit);
  INFO(r.body);
  REQUIRE(r.http_status == 201);
  Json made = Body(r);
  CHECK_FALSE(made.contains("photo_error"));
  REQUIRE(made["photos"].size() == 1);
  Json photo = Body(
      api.Handle(Get("/api/photo/" + made["photos"][0].get<std::string>())));
  CHECK(photo["subject_type"] == "visit");
  CHECK(photo["subject_id"] == made["id"]);
  CHECK(photo["width"] == 32);
  CHECK(photo["caption"] == "หน้าร้าน");
  CHECK(Body(api.Handle(Get("/api/status")))["pending_blobs"] == 1);

  ApiReply blob = api.Blob(photo["sha256"].get<std::string>());
  CHECK(blob.http_status == 200);
  CHECK(blob.content_type == "image/jpeg");
  // What the row names is the upload copy: upright, no EXIF; the photo
  // as uploaded stays under blobs/originals/ (client/photo_copy.h).
  CHECK(blob.body != camera);
  CHECK(testing::DecodedSize(blob.body).width == 32);
  CHECK(blob.body.find("Exif") == std::string::npos);
  CHECK(photo["lat"] == Approx(testing::kCameraLat));
  const std::string camera_sha = HexEncode(Sha256(camera));
  CHECK(FileExists(store->paths().blobs + "/originals/" +
                   camera_sha.substr(0, 2) + "/" + camera_sha));
  CHECK(api.Blob("../../etc/passwd").http_status == 400);
  CHECK(api.Blob(std::string(64, 'a')).http_status == 404);

  // POST /api/photo with a raw body and ?subject=.
  ApiRequest raw;
  raw.method = "POST";
  raw.path = "/api/photo";
  raw.content_type = "image/jpeg";
  raw.body = testing::SamplePng(10, 10, false);
  raw.query.emplace("subject", "producer:" + p.producer);
  raw.query.emplace("caption", "ป้าย");
  r = api.Handle(raw);
  INFO(r.body);
  CHECK(r.http_status == 201);
  raw.query = {{"subject", "producer:1b4e28ba-2fa1-41d2-883f-0016d3cca427"}};
  r = api.Handle(raw);
  CHECK(r.http_status == 404);
  CHECK(Body(r)["field"] == "subject_id");
  raw.query = {{"subject", "nonsense"}};
  CHECK(Body(api.Handle(raw))["field"] == "subject");
  CHECK(Rows(*store, "photo") == 2);
}

TEST_CASE("UiApi: status, reference, conflicts and the sync hook", "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  {
    UiApi api(*store, nullptr);
    const ApiRequest sync = SyncPress();
    ApiReply r = api.Handle(sync);
    CHECK(r.http_status == 503);
    CHECK(Body(r)["error"] == "unavailable");
    CHECK(Body(r)["message"] == "sync not available");

    Json ref = Body(api.Handle(Get("/api/reference")));
    CHECK(ref["districts"].size() == 25);
    CHECK(ref["tambon"]["5011"].size() == 11);
    CHECK(ref["tambon"]["5011"][0]["name_th"] == "เวียง");
    CHECK(ref["categories"][0]["name_th"] == "อาหาร");
    CHECK(ref["stages"].size() == 5);
    CHECK(ref["criteria"][0]["max"] == 20);

    Statement ins(store->db(),
                  "INSERT INTO conflict (id, entity, row_id, column_name, "
                  "current_value, incoming_value, server_seq) VALUES "
                  "('c1', 'producer', 'r1', 'phone', '081', '089', 7)");
    REQUIRE(ins.Run().ok());
    Json conflicts = Body(api.Handle(Get("/api/conflicts")));
    REQUIRE(conflicts.size() == 1);
    CHECK(conflicts[0]["incoming_value"] == "089");
    CHECK(Body(api.Handle(Get("/api/status")))["open_conflicts"] == 1);
  }
  int calls = 0;
  UiApi offline(*store, [&calls](SyncSummary*, const SyncProgress&, const SyncRequest&) {
    ++calls;
    return Status::Unavailable("cannot reach the server");
  });
  const ApiRequest sync = SyncPress();
  ApiReply r = offline.Handle(sync);
  CHECK(r.http_status == 503);
  CHECK(Body(r)["error"] == "unavailable");
  CHECK(calls == 1);
  SyncSummary did;
  did.pushed_sets = 1;
  did.pushed_rows = 3;
  did.new_conflicts = 2;
  did.blobs_uploaded = 1;
  did.blob_bytes = 250000;
  UiApi online(*store, [&did](SyncSummary* summary, const SyncProgress&, const SyncRequest&) {
    *summary = did;
    return Status();
  });
  r = online.Handle(sync);
  CHECK(r.http_status == 200);
  CHECK(Body(r)["summary"] == DescribeSummary(did));
  // The numbers, for the screen's own language.
  CHECK(Body(r)["counts"]["pushed_rows"] == 3);
  CHECK(Body(r)["counts"]["pulled_rows"] == 0);
  CHECK(Body(r)["counts"]["new_conflicts"] == 2);
  CHECK(Body(r)["counts"]["photos_sent"] == 1);
  CHECK(Body(r)["counts"]["photo_bytes"] == 250000);
  CHECK(Body(r)["status"]["sync_available"] == true);
  // {"records_only": true} (the phone app's sync when the signal returns)
  // reaches the hook; anything else is a full sync.
  std::vector<bool> asked;
  UiApi recorded(*store, [&asked](SyncSummary*, const SyncProgress&, const SyncRequest& q) {
    asked.push_back(q.records_only);
    return Status();
  });
  CHECK(recorded.Handle(JsonRequest("POST", "/api/sync", Json{{"records_only", true}})).http_status ==
        200);
  CHECK(recorded.Handle(JsonRequest("POST", "/api/sync", Json::object())).http_status == 200);
  CHECK(recorded.Handle(JsonRequest("POST", "/api/sync", Json{{"records_only", "yes"}})).http_status ==
        200);
  CHECK(asked == std::vector<bool>{true, false, false});
}

TEST_CASE("UiApi: enrolment from the screens, as kbo enroll, only when not enrolled",
          "[ui][ui_enrol]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  {
    UiApi none(*store, nullptr);
    ApiReply r = none.Handle(JsonRequest("POST", "/api/enrol",
                                         {{"server", "http://10.0.0.1:8443"}, {"token", "t"}}));
    CHECK(r.http_status == 503);
    CHECK(Body(none.Handle(Get("/api/status")))["enrol_available"] == false);
  }
  std::vector<std::pair<std::string, std::string>> calls;
  Status answer;  // what the "server" says; OK: enrolled
  UiApi api(*store, nullptr);
  std::vector<bool> forced;
  api.set_enrol([&](const std::string& url, const std::string& token, bool force) -> Result<EnrollResult> {
    calls.emplace_back(url, token);
    forced.push_back(force);
    if (!answer.ok()) return answer;
    Statement st(store->db(),
                 "UPDATE device SET server_url = ?1, role = 'trainer', "
                 "districts = '5011' WHERE singleton = 1");
    st.Bind(1, std::string_view(url));
    REQUIRE(st.Run().ok());
    EnrollResult e;
    e.device_id = store->device_id();
    e.server_url = url;
    e.role = "trainer";
    e.districts = "5011";
    return e;
  });
  CHECK(Body(api.Handle(Get("/api/status")))["enrol_available"] == true);
  auto enrol = [&](const Json& body) {
    return api.Handle(JsonRequest("POST", "/api/enrol", body));
  };

  // Typing mistakes are refused next to their fields; the server is not asked.
  ApiReply r = enrol({{"server", "ftp://province"}, {"token", "  "}});
  CHECK(r.http_status == 400);
  Json j = Body(r);
  CHECK(j["fields"].contains("server"));
  CHECK(j["fields"].contains("token"));
  r = enrol({{"server", ""}, {"token", "abc"}});
  CHECK(r.http_status == 400);
  CHECK(Body(r)["field"] == "server");
  CHECK(calls.empty());

  // The server refuses the token: said as a refusal, never as a 401 (the
  // page would ask for its PIN).
  answer = Status::Unauthenticated(
      "http://10.0.0.1:8443 refused the enrolment: this enrolment token is not "
      "known to the server; ask the central office for a new one (unauthenticated)");
  r = enrol({{"server", "HTTP://10.0.0.1:8443/"}, {"token", " abc \n"}});
  CHECK(r.http_status == 400);
  CHECK(Body(r)["error"] == "enrol_refused");
  CHECK_THAT(Body(r)["message"].get<std::string>(), Catch::Contains("not known"));
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].first == "http://10.0.0.1:8443");  // normalized
  CHECK(calls[0].second == "abc");                   // trimmed

  // No signal: unavailable, nothing changed.
  answer = Status::Unavailable("cannot reach http://10.0.0.1:8443");
  r = enrol({{"server", "http://10.0.0.1:8443"}, {"token", "abc"}});
  CHECK(r.http_status == 503);
  CHECK(Body(r)["error"] == "unavailable");
  CHECK(Body(api.Handle(Get("/api/status")))["enrolled"] == false);

  // Enrolled.
  answer = Status();
  r = enrol({{"server", "http://10.0.0.1:8443"}, {"token", "abc"}});
  INFO(r.body);
  CHECK(r.http_status == 200);
  CHECK(Body(r)["role"] == "trainer");
  CHECK(Body(r)["server"] == "http://10.0.0.1:8443");
  CHECK(Body(api.Handle(Get("/api/status")))["enrolled"] == true);

  // Already enrolled: refused without asking the server.
  const size_t asked = calls.size();
  r = enrol({{"server", "http://10.0.0.2:8443"}, {"token", "def"}});
  CHECK(r.http_status == 409);
  CHECK(Body(r)["error"] == "already_enrolled");
  CHECK_THAT(Body(r)["message"].get<std::string>(), Catch::Contains("http://10.0.0.1:8443"));
  CHECK(calls.size() == asked);
  r = enrol({{"server", "http://10.0.0.2:8443"}, {"token", "def"}, {"again", "yes"}});
  CHECK(r.http_status == 400);
  CHECK(Body(r)["field"] == "again");
  CHECK(calls.size() == asked);

  // Asked for again (the server was replaced): the server is asked; changes
  // waiting for another server are the person's decision (force).
  answer = Status::FailedPrecondition("this device is enrolled with http://10.0.0.1:8443 and 2 changes ...")
               .WithReason("pending_elsewhere");
  r = enrol({{"server", "http://10.0.0.2:8443"}, {"token", "def"}, {"again", true}});
  CHECK(r.http_status == 409);
  CHECK(Body(r)["error"] == "pending_elsewhere");
  REQUIRE(forced.size() == asked + 1);
  CHECK_FALSE(forced.back());
  answer = Status();
  r = enrol({{"server", "http://10.0.0.2:8443"}, {"token", "def"}, {"again", true}, {"force", true}});
  CHECK(r.http_status == 200);
  CHECK(forced.back());
  CHECK(Body(api.Handle(Get("/api/status")))["server"] == "http://10.0.0.2:8443");
}

TEST_CASE("UiApi: a progress entry says what it did to its product's stage",
          "[ui][progress_stage]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, nullptr);
  Phrao p = Seed(api, 0);
  const std::string product = Create(
      api, "product", {{"producer_id", p.producer}, {"name", "ผ้าทอลายพร้าว"}, {"stage", "prototype"}});
  ApiReply r = api.Handle(JsonRequest(
      "POST", "/api/progress", {{"product_id", product}, {"stage", "packaging"}, {"percent", 80}}));
  REQUIRE(r.http_status == 201);
  Json moved = Body(r)["product_stage"];
  CHECK(moved["moved"] == true);
  CHECK(moved["before"] == "prototype");
  CHECK(moved["after"] == "packaging");
  CHECK(Body(api.Handle(Get("/api/product/" + product)))["stage"] == "packaging");

  r = api.Handle(JsonRequest("POST", "/api/progress", {{"product_id", product}, {"stage", "design"}}));
  REQUIRE(r.http_status == 201);
  Json kept = Body(r)["product_stage"];
  CHECK(kept["moved"] == false);
  CHECK(kept["entry_stage"] == "design");
  CHECK(kept["after"] == "packaging");
  CHECK(Body(api.Handle(Get("/api/product/" + product)))["stage"] == "packaging");
}

TEST_CASE("UiApi: a sync cut part-way says what it did before the cut",
          "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  SyncSummary did;
  UiApi api(*store, [&did](SyncSummary* summary, const SyncProgress&, const SyncRequest&) {
    *summary = did;
    return Status::Unavailable("cannot reach the server: Connection reset");
  });
  const ApiRequest sync = SyncPress();
  // Cut before anything went: no counts, only why.
  ApiReply r = api.Handle(sync);
  CHECK(r.http_status == 503);
  CHECK(Body(r)["error"] == "unavailable");
  CHECK_FALSE(Body(r).contains("counts"));
  // Cut after the change sets and conflicts went, during the photos.
  did.pushed_sets = 2;
  did.pushed_rows = 9;
  did.new_conflicts = 4;
  r = api.Handle(sync);
  CHECK(r.http_status == 503);
  Json body = Body(r);
  CHECK(body["error"] == "unavailable");
  CHECK(body["message"] == "cannot reach the server: Connection reset");
  CHECK(body["counts"]["pushed_rows"] == 9);
  CHECK(body["counts"]["new_conflicts"] == 4);
  CHECK(body["counts"]["photos_sent"] == 0);
}

TEST_CASE("UiApi: a full storage is said as such, not as a fault", "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, [](SyncSummary*, const SyncProgress&, const SyncRequest&) {
    return Status::IOError("disk full: database or disk is full")
        .WithReason("storage_full");
  });
  const ApiRequest sync = SyncPress();
  ApiReply r = api.Handle(sync);
  CHECK(r.http_status == 507);
  CHECK(Body(r)["error"] == "storage_full");
  CHECK(Body(r)["message"].get<std::string>().rfind(
            "this device's storage is full: nothing was saved", 0) == 0);
}

TEST_CASE("UiApi: a server's refusal naming storage_full is not this "
          "device's full storage",
          "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, [](SyncSummary*, const SyncProgress&, const SyncRequest&) {
    return Status::InvalidArgument("the server says: storage_full")
        .WithReason("storage_full");
  });
  ApiReply r = api.Handle(SyncPress());
  CHECK(r.http_status == 400);
  CHECK(Body(r)["message"] == "the server says: storage_full");
}

TEST_CASE("UiApi: a server's 401 to a sync is not the page's own PIN 401",
          "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, [](SyncSummary*, const SyncProgress&, const SyncRequest&) {
    return Status::Unauthenticated(
        "http://10.0.0.1:8787 refused the push of change set 2: the request could "
        "not be verified: this device is not enrolled on this server, or its "
        "signature does not match its enrolled key (unauthenticated)");
  });
  ApiReply r = api.Handle(SyncPress());
  // The page asks for its PIN on a 401: it would never say why the sync
  // failed (the server set up anew no longer knows the device).
  CHECK(r.http_status == 403);
  CHECK(Body(r)["error"] == "unauthenticated");
  CHECK_THAT(Body(r)["message"].get<std::string>(), Catch::Contains("not enrolled on this server"));
}

TEST_CASE("UiApi: a sync through its own store (kbo ui) leaves every screen "
          "answered while it waits on a stalled link",
          "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  Phrao p;
  std::mutex mu;
  std::condition_variable cv;
  bool started = false, release = false;
  UiApi api(*store, [&](SyncSummary* summary, const SyncProgress&, const SyncRequest&) {
    std::unique_lock<std::mutex> lock(mu);
    started = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });  // the link stalls
    summary->pulled_rows = 1;
    summary->rows_left_districts = 2;
    return Status();
  });
  api.set_sync_uses_own_store(true);
  p = Seed(api, 2);
  ApiReply synced;
  std::thread syncing([&] { synced = api.Handle(SyncPress()); });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return started; });
  }
  // Meanwhile the trainer reads the roll-call and marks a day: answered,
  // not held until the sync ends.
  Json rc = Body(api.Handle(Get("/api/workshop/" + p.workshop + "/rollcall?day=1")));
  CHECK(rc["rows"].size() == 2);
  Json mark = {{"workshop_id", p.workshop}, {"enrolment_id", p.enrolments[0]},
               {"day", 1}, {"status", "present"}};
  CHECK(api.Handle(JsonRequest("POST", "/api/attendance", mark)).http_status == 201);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  syncing.join();
  CHECK(synced.http_status == 200);
  CHECK(Body(synced)["counts"]["pulled_rows"] == 1);
  CHECK(Body(synced)["counts"]["rows_left"] == 2);
  CHECK(Body(synced)["status"].is_object());
  // The hook kbo ui uses opens its own store: here, one not enrolled.
  SyncSummary summary;
  const Status own = OwnStoreSyncHookFor(tmp.path(), &store->wall())(
      &summary, [](const SyncProgressReport&) {}, SyncRequest{});
  CHECK(own.code() == Code::kFailedPrecondition);
  CHECK(own.message().find("enrol") != std::string::npos);
}

TEST_CASE("UiApi: a sync's progress is answered while the sync holds the store",
          "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  std::mutex mu;
  std::condition_variable cv;
  bool reported = false, release = false;
  UiApi api(*store, [&](SyncSummary* summary, const SyncProgress& progress, const SyncRequest&) {
    SyncProgressReport r;
    r.phase = SyncPhase::kPush;
    r.done = 1;
    r.total = 4;
    r.records_done = 2000;
    r.records_total = 8000;
    r.wire_bytes = 70000;
    progress(r);
    // Then the server is busy: asked to wait 30 s (RunSyncForUi repeats
    // the last report with the wait).
    SyncProgressReport busy = r;
    busy.busy_wait_ms = 30000;
    progress(busy);
    std::unique_lock<std::mutex> lock(mu);
    reported = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    summary->pulled_rows = 1;
    return Status();
  });
  // Before any sync: not running, nothing to show.
  Json idle = Body(api.Handle(Get("/api/sync/progress")));
  CHECK(idle["running"] == false);
  CHECK(idle["phase"].is_null());
  CHECK(idle["busy_s"].is_null());

  const ApiRequest sync = SyncPress();
  std::thread syncing([&] { CHECK(api.Handle(sync).http_status == 200); });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return reported; });
  }
  // The sync holds the store lock now; the progress is answered anyway.
  Json p = Body(api.Handle(Get("/api/sync/progress")));
  CHECK(p["running"] == true);
  CHECK(p["phase"] == "push");
  CHECK(p["done"] == 2000);
  CHECK(p["total"] == 8000);
  CHECK(p["unit"] == "records");
  CHECK(p["fraction"] == 0.25);
  CHECK(p["seconds_left"].is_null());  // no rate before a second
  CHECK(p["wire_bytes"] == 0);         // the phase's own bytes: none since its start
  CHECK(p["text"] == "push: 2,000 of 8,000 records");
  // The wait is shown, counting down from 30 s (whole seconds, rounded
  // up); where the push was stays.
  REQUIRE(p["busy_s"].is_number());
  CHECK(p["busy_s"].get<double>() >= 1);
  CHECK(p["busy_s"].get<double>() <= 30);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  syncing.join();
  Json after = Body(api.Handle(Get("/api/sync/progress")));
  CHECK(after["running"] == false);
  CHECK(after["busy_s"].is_null());
  CHECK(after["phase"] == "push");  // the last report stays for the screen
}

TEST_CASE("UiApi: rows another connection writes are seen by the next request",
          "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  auto other = OpenStore(tmp.path());  // as `kbo import` in a terminal would
  UiApi api(*store, nullptr);
  const std::string id =
      Create(api, "producer",
             {{"kind", "group"}, {"name", "A"}, {"district", "5011"}});
  // A one-row read: its statement must not keep the snapshot afterwards.
  REQUIRE(api.Handle(Get("/api/producer/" + id)).http_status == 200);
  RowValues row = {{"kind", Value::Text("group")},
                   {"name", Value::Text("B")},
                   {"district_code", Value::Text("5011")}};
  REQUIRE(other->Record("producer", row).ok());
  CHECK(Body(api.Handle(Get("/api/producer"))).size() == 2);
  Create(api, "producer",
         {{"kind", "group"}, {"name", "C"}, {"district", "5011"}});
  CHECK(Rows(*other, "producer") == 3);
}

TEST_CASE("UiApi: the store names a refused column in its Status, not in words",
          "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  // Two problems at once: each column with its own, the first in "field".
  RowValues row = {{"kind", Value::Text("group")},
                   {"district_code", Value::Text("5011")},
                   {"otop_stars", Value::Integer(7)}};
  Result<Uuid> r = store->Record("producer", row);
  REQUIRE_FALSE(r.ok());
  const auto* fields = r.status().TextsField(field::kFields);
  REQUIRE(fields != nullptr);
  REQUIRE(fields->size() == 2);
  std::set<std::string> columns;
  for (const auto& [column, problem] : *fields) {
    columns.insert(column);
    CHECK(r.status().message().find(problem) != std::string::npos);
  }
  CHECK(columns == std::set<std::string>{"name", "otop_stars"});
  REQUIRE(r.status().TextField(field::kField) != nullptr);
  CHECK(*r.status().TextField(field::kField) == fields->front().first);

  // A reference to nothing: the reference column, whatever the words say.
  RowValues product = {
      {"producer_id", Value::Text("1b4e28ba-2fa1-41d2-883f-0016d3cca427")},
      {"name", Value::Text("ผ้าทอ")}};
  r = store->Record("product", product);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kNotFound);
  REQUIRE(r.status().TextField(field::kField) != nullptr);
  CHECK(*r.status().TextField(field::kField) == "producer_id");

  // The UI's answer carries them as they are: a message that names no
  // column still puts the problem beside its field.
  UiApi api(*store, nullptr);
  ApiReply reply = api.Handle(JsonRequest(
      "POST", "/api/product",
      {{"producer_id", "1b4e28ba-2fa1-41d2-883f-0016d3cca427"},
       {"name", "x"}}));
  Json body = Body(reply);
  CHECK(body["code"] == "not_found");
  CHECK(body["field"] == "producer_id");
  CHECK(body["fields"]["producer_id"] == body["message"]);
}

TEST_CASE("UiServer: listen addresses and loopback", "[ui]") {
  std::string host;
  int port = -1;
  CHECK(ParseListenAddress("127.0.0.1:8080", &host, &port).ok());
  CHECK((host == "127.0.0.1" && port == 8080));
  CHECK(ParseListenAddress("[::1]:0", &host, &port).ok());
  CHECK((host == "::1" && port == 0));
  CHECK(ParseListenAddress("9000", &host, &port).ok());
  CHECK((host == "127.0.0.1" && port == 9000));
  CHECK_FALSE(ParseListenAddress("127.0.0.1:99999", &host, &port).ok());
  CHECK_FALSE(ParseListenAddress("127.0.0.1:", &host, &port).ok());
  CHECK_FALSE(ParseListenAddress("::1:80", &host, &port).ok());
  CHECK_FALSE(ParseListenAddress("a b:80", &host, &port).ok());
  CHECK(IsLoopbackHost("127.0.0.1"));
  CHECK(IsLoopbackHost("127.3.2.1"));
  CHECK(IsLoopbackHost("localhost"));
  CHECK(IsLoopbackHost("::1"));
  CHECK_FALSE(IsLoopbackHost("0.0.0.0"));
  CHECK_FALSE(IsLoopbackHost("127.0.0.1.evil.example"));
  CHECK_FALSE(IsLoopbackHost("192.168.1.10"));
}

// Serves `server` on a thread for the life of the object.
class Serving {
 public:
  explicit Serving(UiServer& server) : server_(server) {
    thread_ = std::thread([this] { (void)server_.Serve(); });
  }
  ~Serving() {
    server_.Stop();
    thread_.join();
  }

 private:
  UiServer& server_;
  std::thread thread_;
};

TEST_CASE("UiServer: assets, limits, and the loopback guards over HTTP",
          "[ui][http]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiOptions opts;
  opts.listen = "127.0.0.1:0";
  auto bound = UiServer::Bind(*store, opts);
  REQUIRE(bound.ok());
  UiServer& server = **bound;
  CHECK_FALSE(server.pin_required());
  Serving serving(server);
  httplib::Client http("127.0.0.1", server.port());

  auto index = http.Get("/");
  REQUIRE(index);
  CHECK(index->status == 200);
  CHECK(index->get_header_value("Content-Type") == "text/html; charset=utf-8");
  CHECK(index->get_header_value("Content-Security-Policy")
            .find("default-src 'self'") == 0);
  CHECK(index->body.find("app.js") != std::string::npos);
  auto js = http.Get("/app.js");
  REQUIRE(js);
  CHECK(js->get_header_value("Content-Type") ==
        "text/javascript; charset=utf-8");
  auto missing = http.Get("/nothing.js");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(Json::parse(missing->body)["error"] == "not_found");

  auto status = http.Get("/api/status");
  REQUIRE(status);
  CHECK(status->status == 200);
  CHECK(Json::parse(status->body)["sync_available"] == false);

  // DNS rebinding: another name for this address is refused.
  auto rebound = http.Get("/api/status", {{"Host", "evil.example:80"}});
  REQUIRE(rebound);
  CHECK(rebound->status == 403);
  // A page of another site cannot post here.
  auto cross = http.Post("/api/producer", {{"Origin", "http://evil.example"}},
                         "{}", "application/json");
  REQUIRE(cross);
  CHECK(cross->status == 403);
  // JSON routes take 64 KiB at most, refused before reading the body.
  auto big =
      http.Post("/api/producer", std::string(70000, ' '), "application/json");
  REQUIRE(big);
  CHECK(big->status == 413);
  CHECK(Json::parse(big->body)["error"] == "too_large");
  CHECK(Rows(*store, "producer") == 0);
}

TEST_CASE("UiServer: off loopback the API needs the PIN", "[ui][http]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiOptions opts;
  opts.listen = "0.0.0.0:0";
  opts.pin = "246810";
  auto bound = UiServer::Bind(*store, opts);
  REQUIRE(bound.ok());
  UiServer& server = **bound;
  CHECK(server.pin_required());
  // The banner names addresses other tablets can open (0.0.0.0 is none),
  // or says there is none yet; never 0.0.0.0 as the one to open.
  {
    std::ostringstream banner;
    PrintBanner(server, banner);
    const std::string said = banner.str();
    CHECK_THAT(said, Catch::StartsWith("listening on http://0.0.0.0:"));
    CHECK_THAT(said, Catch::Contains("other devices open: http://") ||
                         Catch::Contains("this machine has no network address yet"));
    CHECK(said.find("open: http://0.0.0.0") == std::string::npos);
    CHECK(said.find("open: http://127.") == std::string::npos);
    CHECK_THAT(said, Catch::Contains("PIN: 246810"));
  }
  Serving serving(server);
  httplib::Client http("127.0.0.1", server.port());

  auto bare = http.Get("/api/status");
  REQUIRE(bare);
  CHECK(bare->status == 401);
  CHECK(Json::parse(bare->body)["error"] == "unauthenticated");
  CHECK(http.Get("/blob/" + std::string(64, 'a'))->status == 401);
  CHECK(http.Get("/")->status == 200);  // the page itself asks for the PIN
  auto wrong = http.Get("/api/status", {{"X-KBO-PIN", "000000"}});
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  auto right = http.Get("/api/status", {{"X-KBO-PIN", "246810"}});
  REQUIRE(right);
  CHECK(right->status == 200);

  auto login = http.Post("/api/pin", R"({"pin":"246810"})", "application/json");
  REQUIRE(login);
  CHECK(login->status == 200);
  const std::string cookie = login->get_header_value("Set-Cookie");
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  const std::string session = cookie.substr(0, cookie.find(';'));
  auto with_cookie = http.Get("/api/producer", {{"Cookie", session}});
  REQUIRE(with_cookie);
  CHECK(with_cookie->status == 200);
  auto forged = http.Get("/api/producer", {{"Cookie", "kbo_session=forged"}});
  REQUIRE(forged);
  CHECK(forged->status == 401);
}

TEST_CASE("RunUi: prints the address line, and the PIN off loopback",
          "[ui][http]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiOptions opts;
  opts.listen = "nonsense";
  std::ostringstream out;
  opts.out = &out;
  Status s = RunUi(*store, opts);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(out.str().empty());
}

}  // namespace
}  // namespace kbo::client::ui
