#include "server/conflict_view.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "server/conflicts.h"
#include "server/push_service.h"
#include "server/row_history.h"
#include "server/server_write.h"
#include "shared/entities.h"
#include "tests/server/conflict_fixture.h"
#include "tests/server/server_fixture.h"
#include "tests/support/server_process.h"

namespace kbo::server::testing {
namespace {

using kbo::testing::CliResult;
using kbo::testing::RunServerCli;

TEST_CASE("ConflictView: an attendance conflict reads in Thai with names, "
          "labels, writers and Bangkok times",
          "[server][conflict][view]") {
  AttendanceConflict c;
  auto v = DescribeConflict(c.f.store->db(), c.conflict, Lang::kTh);
  REQUIRE(v.ok());
  CHECK(v->entity_label == "การเข้าอบรม");
  CHECK(v->column_label == "สถานะ");
  CHECK(v->district == "พร้าว");
  CHECK(v->producer_name == "กลุ่มจักสานไม้ไผ่");
  CHECK(v->workshop_title == "อบรมพัฒนาผลิตภัณฑ์ KBO พร้าว");
  CHECK(v->participant_name == "นางสมศรี ใจดี");
  CHECK(v->day == 3);
  CHECK_THAT(v->subject, Catch::Contains("นางสมศรี ใจดี") &&
                             Catch::Contains("วันที่ 3"));
  CHECK(v->current.value == "ขาด");
  CHECK(v->incoming.value == "ลา");
  CHECK(v->current.value_text == "absent");
  CHECK(v->current.writer.who == "สมชาย พร้าว A14");
  CHECK(v->current.writer.role == "วิทยากร");
  // An unlabelled device is named by the start of its id.
  CHECK(v->incoming.writer.who == "อุปกรณ์ " + c.malee.id.ToString().substr(0, 8));
  // 2024-03-10 02:00 UTC is 09:00 in Bangkok, Buddhist Era 2567.
  CHECK_THAT(v->current.when, Catch::Contains("2567") && Catch::Contains("09:00"));
  CHECK(v->resolved_value.empty());

  auto en = DescribeConflict(c.f.store->db(), c.conflict, Lang::kEn);
  REQUIRE(en.ok());
  CHECK(en->current.value == "Absent");
  CHECK(en->incoming.value == "Excused");
  CHECK_THAT(en->current.when, Catch::Contains("2024"));

  auto j = nlohmann::json::parse(ConflictViewJson(*v));
  CHECK(j["current"]["value"] == "ขาด");
  CHECK(j["participant_name"] == "นางสมศรี ใจดี");
  CHECK(j["id"] == c.conflict.id);
}

TEST_CASE("ConflictView: a contest score's conflict names its contest and judge",
          "[server][conflict][view]") {
  // Two judges' cards for one product read alike in the inbox ("product ·
  // producer · Contest score · Quality"): which card was it?
  ServerFixture f;
  TestDevice somchai, malee;
  f.Enroll(somchai, kPhrao);
  f.Enroll(malee, kPhrao);
  const Uuid producer = Uuid::Random(), product = Uuid::Random();
  RowValues key;
  key["product_id"] = T(product.ToString());
  key["contest"] = T("ประกวด KBO 2570");
  key["judge"] = T("อ.อนันต์");
  const Uuid score = DerivedRowId(*FindEntity("contest_score"), key).value();
  const auto card = [&](TestDevice& d, int64_t at, int64_t quality) {
    return Row("contest_score", score, d.HlcAt(at),
               {{"product_id", T(product.ToString()), 0},
                {"contest", T("ประกวด KBO 2570"), 0},
                {"judge", T("อ.อนันต์"), 0},
                {"identity", I(15), 0},
                {"uniqueness", I(15), 0},
                {"quality", I(quality), 0},
                {"packaging", I(15), 0},
                {"marketability", I(15), 0},
                {"district_code", T(kPhrao), 0}});
  };
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(somchai.id),
                    somchai.SealNext({Producer(producer, somchai.HlcAt(kT0), kPhrao),
                                      Row("product", product, somchai.HlcAt(kT0),
                                          {{"producer_id", T(producer.ToString()), 0},
                                           {"name", T("ตะกร้าไม้ไผ่"), 0},
                                           {"district_code", T(kPhrao), 0}}),
                                      card(somchai, kT0 + 10, 12)}))
              .ok());
  REQUIRE(push.Push(f.Record(malee.id), malee.SealNext({card(malee, kT0 + 20, 18)})).ok());
  auto list = Conflicts(*f.store).List();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 1);
  auto en = DescribeConflict(f.store->db(), list->front(), Lang::kEn);
  REQUIRE(en.ok());
  CHECK_THAT(en->subject, Catch::Contains("ตะกร้าไม้ไผ่") &&
                              Catch::Contains("ประกวด KBO 2570") &&
                              Catch::Contains("judge อ.อนันต์"));
  auto th = DescribeConflict(f.store->db(), list->front(), Lang::kTh);
  REQUIRE(th.ok());
  CHECK_THAT(th->subject, Catch::Contains("กรรมการ อ.อนันต์"));
}

TEST_CASE("ConflictView: two devices of one label are told apart by the "
          "start of their ids",
          "[server][conflict][view]") {
  AttendanceConflict c;
  REQUIRE(c.f.store->db()
              .Exec("UPDATE device SET label = 'ครูสมศรี'")
              .ok());
  auto v = DescribeConflict(c.f.store->db(), c.conflict, Lang::kTh);
  REQUIRE(v.ok());
  CHECK(v->current.writer.who != v->incoming.writer.who);
  CHECK_THAT(v->current.writer.who, Catch::StartsWith("ครูสมศรี ("));
  CHECK_THAT(v->incoming.writer.who,
             Catch::Contains("(" + c.malee.id.ToString().substr(0, 8) + ")"));

  // A label shared with a device not in this conflict: told apart too (the
  // same name everywhere); a label of its own stays as it is.
  REQUIRE(c.f.store->db()
              .Exec("UPDATE device SET label = 'มาลี' WHERE device_id = '" +
                    c.malee.id.ToString() + "'")
              .ok());
  TestDevice third;
  c.f.Enroll(third, kPhrao);
  REQUIRE(c.f.store->db()
              .Exec("UPDATE device SET label = 'ครูสมศรี' WHERE device_id = '" +
                    third.id.ToString() + "'")
              .ok());
  auto again = DescribeConflict(c.f.store->db(), c.conflict, Lang::kTh);
  REQUIRE(again.ok());
  CHECK(again->current.writer.who ==
        "ครูสมศรี (" + c.somchai.id.ToString().substr(0, 8) + ")");
  CHECK(again->incoming.writer.who == "มาลี");
}

TEST_CASE("ConflictView: many conflicts are described with a fixed number of "
          "queries",
          "[server][conflict][view]") {
  AttendanceConflict c;
  std::vector<ConflictRecord> many(200, c.conflict);
  auto views = DescribeConflicts(c.f.store->db(), many, Lang::kTh);
  REQUIRE(views.ok());
  REQUIRE(views->size() == 200);
  CHECK(views->back().participant_name == "นางสมศรี ใจดี");
  // A conflict on a row the server does not hold keeps empty names.
  ConflictRecord ghost = c.conflict;
  ghost.row_id = Uuid::Random().ToString();
  auto v = DescribeConflict(c.f.store->db(), ghost, Lang::kTh);
  REQUIRE(v.ok());
  CHECK(v->participant_name.empty());
  CHECK(v->current.value == "ขาด");
}

TEST_CASE("Conflicts: a resolution keeps who made it and why, in the conflict "
          "and the audit log, and the view names them",
          "[server][conflict]") {
  AttendanceConflict c;
  Conflicts conflicts(*c.f.store);
  CHECK(conflicts
            .Resolve(c.conflict.id, {Resolution::Kind::kKeepIncoming, "", 0},
                     {"somebody", "", ""})
            .status()
            .code() == Code::kInvalidArgument);
  CHECK(conflicts
            .Resolve(c.conflict.id, {Resolution::Kind::kKeepIncoming, "", 0},
                     {"cli", std::string(kMaxReasonBytes + 1, 'x'), ""})
            .status()
            .code() == Code::kInvalidArgument);
  CHECK(c.f.Count("SELECT count(*) FROM audit_log") == 0);

  auto r = conflicts.Resolve(
      c.conflict.id.substr(0, 8), {Resolution::Kind::kKeepIncoming, "", 0},
      {"user:somying", "ใบลงชื่อยืนยันว่าลาป่วย", "192.0.2.7"});
  REQUIRE(r.ok());
  CHECK(r->conflict.resolved_by == "user:somying");
  CHECK(r->conflict.resolution_reason == "ใบลงชื่อยืนยันว่าลาป่วย");
  CHECK(c.f.Text("SELECT resolved_by FROM conflict") == "user:somying");
  CHECK(c.f.Count("SELECT count(*) FROM audit_log WHERE action = 'resolve' "
                  "AND actor = 'user:somying' AND address = '192.0.2.7' AND "
                  "subject = 'conflict:" +
                  c.conflict.id + "'") == 1);
  CHECK_THAT(c.f.Text("SELECT detail FROM audit_log"),
             Catch::Contains("ใบลงชื่อยืนยันว่าลาป่วย"));
  auto j = nlohmann::json::parse(ConflictJson(r->conflict));
  CHECK(j["resolved_by"] == "user:somying");

  auto v = DescribeConflict(c.f.store->db(), r->conflict, Lang::kTh);
  REQUIRE(v.ok());
  CHECK(v->resolved_value == "ลา");
  CHECK(v->resolved_by == "somying");
  CHECK(v->reason == "ใบลงชื่อยืนยันว่าลาป่วย");
  CHECK_THAT(v->resolved_at, Catch::Contains("2567"));
}

TEST_CASE("Conflicts: found by a unique id prefix, an ambiguous or short one "
          "is refused",
          "[server][conflict]") {
  AttendanceConflict c;
  ServerFixture& f = c.f;
  // A second conflict (the producer's phone), then ids that share a start.
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(c.somchai.id),
                    c.somchai.SealNext(
                        {Row("producer", c.producer, c.somchai.HlcAt(kT0 + 30),
                             {{"phone", T("0811111111"), 0}})}))
              .ok());
  REQUIRE(push.Push(f.Record(c.malee.id),
                    c.malee.SealNext(
                        {Row("producer", c.producer, c.malee.HlcAt(kT0 + 40),
                             {{"phone", T("0822222222"), 0}})}))
              .ok());
  REQUIRE(f.Count("SELECT count(*) FROM conflict") == 2);
  REQUIRE(f.store->db()
              .Exec("UPDATE conflict SET id = 'abcd1111-0000-4000-8000-"
                    "000000000001' WHERE column_name = 'status';"
                    "UPDATE conflict SET id = 'abcd2222-0000-4000-8000-"
                    "000000000002' WHERE column_name = 'phone'")
              .ok());
  Conflicts conflicts(*f.store);
  CHECK(conflicts.Find("abcd1").value().column_name == "status");
  CHECK(conflicts.Find("ABCD2").value().column_name == "phone");
  CHECK(conflicts.Find("abcd1111-0000-4000-8000-000000000001").ok());
  auto ambiguous = conflicts.Find("abcd");
  CHECK(ambiguous.status().code() == Code::kInvalidArgument);
  CHECK_THAT(ambiguous.status().message(), Catch::Contains("abcd1111") &&
                                               Catch::Contains("abcd2222"));
  CHECK(conflicts.Find("abc").status().code() == Code::kInvalidArgument);
  CHECK(conflicts.Find("ffff").status().code() == Code::kNotFound);

  // The command line: exit 2 for an ambiguous prefix, 3 for none, and a
  // unique prefix resolves with --reason, recorded as 'cli'.
  const std::string data = f.tmp.File("data");
  CliResult amb = RunServerCli({"--data", data, "conflicts", "resolve", "abcd",
                                "--keep", "current"});
  CHECK(amb.exit_code == 2);
  CHECK_THAT(amb.err, Catch::Contains("give more of the id"));
  CHECK(RunServerCli({"--data", data, "conflicts", "resolve", "ffff", "--keep",
                      "current"})
            .exit_code == 3);
  CliResult ok = RunServerCli({"--data", data, "conflicts", "resolve", "abcd2",
                               "--value", "053-111222", "--reason",
                               "โทรถามประธานกลุ่มแล้ว"});
  INFO(ok.err);
  REQUIRE(ok.exit_code == 0);
  CHECK(f.Text("SELECT resolved_by FROM conflict WHERE column_name = 'phone'") ==
        "cli");
  CHECK(f.Text("SELECT resolution_reason FROM conflict WHERE column_name = "
               "'phone'") == "โทรถามประธานกลุ่มแล้ว");
  CHECK(f.Count("SELECT count(*) FROM audit_log WHERE actor = 'cli' AND "
                "action = 'resolve'") == 1);
}

TEST_CASE("RowHistory: who changed what, old to new, the conflict and its "
          "resolution",
          "[server][history]") {
  AttendanceConflict c;
  ServerFixture& f = c.f;
  f.wall.Advance(3600 * 1000);
  Conflicts conflicts(*f.store);
  REQUIRE(conflicts
              .Resolve(c.conflict.id, {Resolution::Kind::kKeepIncoming, "", 0},
                       {"user:somying", "ใบลา", ""})
              .ok());
  // A later edit of the note by the labelled trainer.
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(c.somchai.id),
                    c.somchai.SealNext({Row("attendance", c.attendance,
                                            c.somchai.HlcAt(kT0 + 7200 * 1000),
                                            {{"note", T("ป่วย"), 8}})}))
              .ok());

  // An office edit of the note (console/data.cc writes and audits it so).
  f.wall.Advance(60 * 1000);
  {
    Transaction tx(f.store->db());
    REQUIRE(WriteAsServer(*f.store, "attendance", c.attendance,
                          {{"note", T("ป่วย มีใบรับรองแพทย์")}})
                .ok());
    Statement st(f.store->db(),
                 "INSERT INTO audit_log (at, actor, action, subject, detail) "
                 "VALUES (?1, 'user:office1', 'edit', ?2, ?3)");
    st.Bind(1, std::string_view(f.store->NowIso()))
        .Bind(2, std::string_view("attendance:" + c.attendance.ToString()))
        .Bind(3, std::string_view("note = '...'; reason: แก้ตามใบรับรองแพทย์"));
    REQUIRE(st.Run().ok());
    REQUIRE(tx.Commit().ok());
  }

  auto h = LoadRowHistory(*f.store, "attendance", c.attendance.ToString(),
                          Lang::kTh);
  REQUIRE(h.ok());
  CHECK_FALSE(h->truncated);
  REQUIRE(h->entries.size() == 6);
  CHECK(h->entries[5].writer.office);
  CHECK(h->entries[5].writer.who == "office1");
  CHECK(h->entries[5].reason == "แก้ตามใบรับรองแพทย์");
  REQUIRE(h->entries[5].cells.size() == 1);
  CHECK(h->entries[5].cells[0].old_value == "ป่วย");
  const auto& e = h->entries;
  // 1. Created by Somchai: ขาด.
  CHECK(e[0].kind == HistoryEntry::Kind::kChange);
  CHECK(e[0].created);
  CHECK(e[0].writer.who == "สมชาย พร้าว A14");
  CHECK_THAT(e[0].when, Catch::Contains("2567"));
  bool saw_status = false;
  for (const HistoryCell& cell : e[0].cells) {
    if (cell.column == "status") {
      saw_status = true;
      CHECK(cell.new_value == "ขาด");
      CHECK(cell.column_label == "สถานะ");
    }
  }
  CHECK(saw_status);
  // 2. Malee's ลา, only the status changed (the key columns were the same).
  CHECK(e[1].kind == HistoryEntry::Kind::kChange);
  REQUIRE(e[1].cells.size() == 1);
  CHECK(e[1].cells[0].old_value == "ขาด");
  CHECK(e[1].cells[0].new_value == "ลา");
  CHECK(e[1].writer.role == "วิทยากร");
  // 3. The conflict it made.
  CHECK(e[2].kind == HistoryEntry::Kind::kConflict);
  CHECK(e[2].current_value == "ขาด");
  CHECK(e[2].incoming_value == "ลา");
  // 4. The office's resolution, by the user, with the reason.
  CHECK(e[3].kind == HistoryEntry::Kind::kResolution);
  CHECK(e[3].writer.office);
  CHECK(e[3].writer.who == "somying");
  CHECK(e[3].reason == "ใบลา");
  CHECK(e[3].conflict_id == c.conflict.id);
  // 5. The note.
  REQUIRE(e[4].cells.size() == 1);
  CHECK(e[4].cells[0].column_label == "หมายเหตุ");
  CHECK(e[4].cells[0].old_value.empty());
  CHECK(e[4].cells[0].new_value == "ป่วย");

  auto j = nlohmann::json::parse(
      RowHistoryJson("attendance", c.attendance.ToString(), *h));
  CHECK(j["entries"].size() == 6);
  CHECK(j["entries"][3]["kind"] == "resolution");
  const std::string text = RowHistoryText(*h, Lang::kTh);
  CHECK_THAT(text, Catch::Contains("'ขาด' -> 'ลา'"));

  // Capped: the latest change set only, and it says so.
  HistoryLimits small;
  small.max_change_sets = 1;
  auto capped = LoadRowHistory(*f.store, "attendance", c.attendance.ToString(),
                               Lang::kEn, small);
  REQUIRE(capped.ok());
  CHECK(capped->truncated);
  CHECK(capped->change_sets == 1);
  CHECK_THAT(RowHistoryText(*capped, Lang::kEn),
             Catch::Contains("only the latest 1 change sets"));

  CHECK(LoadRowHistory(*f.store, "attendance", Uuid::Random().ToString(),
                       Lang::kTh)
            .status()
            .code() == Code::kNotFound);
  CHECK(LoadRowHistory(*f.store, "spaceship", c.attendance.ToString(),
                       Lang::kTh)
            .status()
            .code() == Code::kInvalidArgument);

  // The command line prints it.
  CliResult cli = RunServerCli({"--data", f.tmp.File("data"), "history",
                                "attendance", c.attendance.ToString(), "--json",
                                "--lang", "en"});
  INFO(cli.err);
  REQUIRE(cli.exit_code == 0);
  auto cj = nlohmann::json::parse(cli.out);
  CHECK(cj["entries"][1]["cells"][0]["new"] == "Excused");
}

}  // namespace
}  // namespace kbo::server::testing
