// Two devices crossing offline (docs/decisions.md, "Deleting a row with rows
// under it"): one deletes a producer (nothing under it on that device),
// the other, not yet synced, enrols a participant under it and marks four
// days. Both sync. The server keeps the enrolment and the marks, the
// certificate report leaves them out, the data-quality findings list them
// under the deleted producer; `kbo-server restore` brings the producer back
// on both devices and the participant into the report.

#include <string>
#include <vector>

#include "server/data_quality.h"
#include "shared/fs.h"
#include "tests/integration/field.h"
#include "tests/support/test_db.h"
#include "tests/support/test_images.h"

namespace kbo::testing {
namespace {

// The participants of the certificate report: "NAME DAYS".
std::vector<std::string> Certified(Field& f, const std::string& workshop) {
  const json report = f.ServerJson({"report", "certificates", "--workshop", workshop});
  std::vector<std::string> out;
  for (const json& p : report["participants"]) {
    out.push_back(p["participant_name"].get<std::string>() + " " +
                  std::to_string(p["days_attended"].get<int64_t>()));
  }
  return out;
}

// The data-quality findings' rows under deleted rows, for every district.
std::vector<server::RowsUnderDeleted> UnderDeleted(Field& f) {
  auto db = OpenTestServerDb(f.server().data_dir());
  REQUIRE(db.ok());
  server::Scope all;
  all.all = true;
  auto r = server::FindQualityIssues(**db, all, "2024-03-11");
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return r->under_deleted;
}

TEST_CASE("Crossing offline: a producer deleted on one device while another "
          "enrols under it is kept, listed, and restored on both",
          "[integration][orphans]") {
  Field f;
  const std::string somchai = f.Enrolled("somchai", "trainer", "5011");
  const std::string malee = f.Enrolled("malee", "trainer", "5011");
  const std::string producer = f.Producer(somchai, "กลุ่มจักสานบ้านโป่ง", "5011");
  const std::string workshop =
      f.Add(somchai, {"workshop", "add", "--title", "อบรม KBO พร้าว",
                      "--fiscal-year", "2567", "--district", "5011", "--start",
                      "2024-03-04", "--days", "5"});
  f.SyncOk(somchai);
  f.SyncOk(malee);

  // Somchai deletes the producer: nothing is recorded under it on his
  // device, so no --cascade is needed.
  CliResult deleted = f.Kbo(somchai, {"delete", "producer", producer});
  INFO(deleted.err);
  REQUIRE(deleted.exit_code == 0);
  f.SyncOk(somchai);
  // Malee, offline meanwhile, enrols a participant of it and marks 4 days.
  const std::string enrolment =
      f.Add(malee, {"enrolment", "add", "--workshop", workshop, "--producer",
                    producer, "--participant", "นางบัวคำ แสนดี"});
  for (const char* day : {"1", "2", "3", "4"}) {
    f.Add(malee, {"attendance", "mark", "--workshop", workshop, "--enrolment",
                  enrolment, "--day", day, "--status", "present"});
  }
  f.SyncOk(malee);

  // Nothing is lost: the server holds the enrolment and the marks live.
  CHECK(f.ServerCount("SELECT COUNT(*) FROM enrolment WHERE deleted = 0") == 1);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM attendance WHERE deleted = 0") == 4);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE deleted = 1") == 1);
  // The report leaves them out; the findings list them.
  CHECK(Certified(f, workshop).empty());
  std::vector<server::RowsUnderDeleted> under = UnderDeleted(f);
  REQUIRE(under.size() == 1);
  CHECK(under[0].entity == "producer");
  CHECK(under[0].id == producer);
  CHECK(under[0].name == "กลุ่มจักสานบ้านโป่ง");
  REQUIRE(under[0].rows.size() == 5);
  CHECK(under[0].rows[0].entity == "enrolment");
  CHECK(under[0].rows[0].id == enrolment);
  CHECK(under[0].rows[0].label == "นางบัวคำ แสนดี");
  for (size_t i = 1; i < 5; ++i) {
    CHECK(under[0].rows[i].entity == "attendance");
    CHECK(under[0].rows[i].label == std::to_string(i));
    CHECK(under[0].rows[i].parent_id == enrolment);
  }

  // The office restores the producer.
  CliResult restored = f.Server({"restore", "producer", producer, "--reason",
                                 "ลบผิด ยังเข้าอบรมอยู่"});
  INFO(restored.err);
  REQUIRE(restored.exit_code == 0);
  CHECK(Certified(f, workshop) == std::vector<std::string>{"นางบัวคำ แสนดี 4"});
  CHECK(UnderDeleted(f).empty());
  CHECK(f.Server({"restore", "producer", producer, "--reason", "again"}).exit_code == 2);

  // Both devices receive it.
  for (const std::string& home : {somchai, malee}) {
    f.SyncOk(home);
    CHECK(f.KboJson(home, {"show", "producer", producer})["deleted"] == false);
  }
  CHECK(Field::DeviceState(somchai) == f.ServerState());
  CHECK(Field::DeviceState(malee) == f.ServerState());
}


// The open conflict on `entity` `id`'s deleted, as `kbo-server conflicts
// list` shows it.
std::string DeleteConflict(Field& f, const std::string& entity, const std::string& id) {
  for (const json& c : f.ServerJson({"conflicts", "list"})) {
    if (c["entity"] == entity && c["row_id"] == id && c["column_name"] == "deleted" &&
        c["resolved_at"].is_null()) {
      return c["id"].get<std::string>();
    }
  }
  return std::string();
}

int64_t ServerDeleted(Field& f, const std::string& entity, const std::string& id) {
  return f.ServerCount("SELECT deleted FROM " + entity + " WHERE id = '" + id + "'");
}

TEST_CASE("Crossing offline: a visit deleted with its photos on one device while "
          "another edits it: keeping the edit brings back the photos that delete took, "
          "not one deleted on its own the same day",
          "[integration][orphans][conflict]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string producer = f.Producer(officer, "กลุ่มทอผ้าบ้านป่าตุ้ม", "5011");
  const std::string visit =
      f.Add(officer, {"visit", "add", "--producer", producer, "--notes", "ดูต้นแบบกระเป๋า"});
  const auto photo = [&](const std::string& name, int w, int h) {
    const std::string file = f.dir() + "/" + name;
    REQUIRE(WriteFileAtomically(file, SampleJpeg(w, h), 0600).ok());
    return f.Add(officer, {"photo", "add", file, "--subject", "visit:" + visit});
  };
  const std::string taken = photo("IMG_0001.jpg", 640, 480);
  const std::string taken_too = photo("IMG_0002.jpg", 480, 640);
  const std::string apart = photo("IMG_0003.jpg", 320, 240);
  f.SyncOk(officer);
  f.SyncOk(trainer);
  // The trainer deletes a blurred photo, then the visit with what is under
  // it (the two other photos), and syncs once: one change set holds both
  // deletes. The officer, offline, adds a follow-up to the visit.
  REQUIRE(f.Kbo(trainer, {"delete", "photo", apart}).exit_code == 0);
  REQUIRE(f.Kbo(trainer, {"delete", "visit", visit, "--cascade"}).exit_code == 0);
  REQUIRE(f.Kbo(officer, {"edit", "visit", visit, "--set", "follow_up=นัดดูตัวอย่างสีใหม่"})
              .exit_code == 0);
  f.SyncOk(trainer);
  f.SyncOk(officer);
  REQUIRE(ServerDeleted(f, "visit", visit) == 1);
  REQUIRE(ServerDeleted(f, "photo", taken) == 1);
  const std::string conflict = DeleteConflict(f, "visit", visit);
  REQUIRE_FALSE(conflict.empty());

  // The office keeps the edit: the visit is back, and so are the photos its
  // delete took; the photo deleted on its own is not.
  CliResult kept = f.Server({"conflicts", "resolve", conflict, "--value", "0", "--reason",
                             "ยังติดตามกลุ่มนี้อยู่"});
  INFO(kept.err);
  REQUIRE(kept.exit_code == 0);
  CHECK_THAT(kept.out, Catch::Contains("2 rows deleted with it came back with it"));
  CHECK(ServerDeleted(f, "visit", visit) == 0);
  CHECK(ServerDeleted(f, "photo", taken) == 0);
  CHECK(ServerDeleted(f, "photo", taken_too) == 0);
  CHECK(ServerDeleted(f, "photo", apart) == 1);
  // Each is audited as the office's decision.
  CHECK(f.ServerCount("SELECT COUNT(*) FROM audit_log WHERE subject = 'photo:" + taken +
                      "' AND actor = 'cli'") == 1);
  for (const std::string& home : {trainer, officer}) {
    f.SyncOk(home);
    CHECK(f.KboJson(home, {"show", "visit", visit})["follow_up"] == "นัดดูตัวอย่างสีใหม่");
    CHECK(f.KboJson(home, {"show", "photo", taken})["deleted"] == false);
    CHECK(f.KboJson(home, {"show", "photo", apart})["deleted"] == true);
  }
  CHECK(Field::DeviceState(trainer) == f.ServerState());
  CHECK(Field::DeviceState(officer) == f.ServerState());
}

TEST_CASE("Crossing offline: a workshop deleted with its enrolments and marks while "
          "another device edits them: a mark comes back only when its enrolment and "
          "its workshop are both back",
          "[integration][orphans][conflict]") {
  Field f;
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string other = f.Enrolled("other", "trainer", "5011");
  const std::string producer = f.Producer(trainer, "วิสาหกิจชุมชนผ้าฝ้ายแม่แวน", "5011");
  const std::string workshop =
      f.Add(trainer, {"workshop", "add", "--title", "อบรม KBO พร้าว", "--fiscal-year", "2567",
                      "--district", "5011", "--start", "2024-03-04", "--days", "5"});
  std::vector<std::string> enrolments;
  for (const char* name : {"นางบัวคำ แสนดี", "นายสมหมาย ใจดี"}) {
    enrolments.push_back(f.Add(trainer, {"enrolment", "add", "--workshop", workshop,
                                         "--producer", producer, "--participant", name}));
    for (const char* day : {"1", "2"}) {
      f.Add(trainer, {"attendance", "mark", "--workshop", workshop, "--enrolment",
                      enrolments.back(), "--day", day, "--status", "present"});
    }
  }
  f.SyncOk(trainer);
  f.SyncOk(other);
  // The other trainer deletes the workshop with everything under it; the
  // first, offline, renames one participant and retitles the workshop.
  REQUIRE(f.Kbo(other, {"delete", "workshop", workshop, "--cascade"}).exit_code == 0);
  REQUIRE(f.Kbo(trainer, {"edit", "enrolment", enrolments[0], "--set",
                          "participant_name=นางบัวคำ แสนดีมาก"})
              .exit_code == 0);
  REQUIRE(f.Kbo(trainer, {"edit", "workshop", workshop, "--set", "venue=ศาลาวัดพร้าว"})
              .exit_code == 0);
  f.SyncOk(other);
  f.SyncOk(trainer);
  REQUIRE(f.ServerCount("SELECT COUNT(*) FROM attendance WHERE deleted = 1") == 4);

  // The enrolment's edit kept first: the enrolment is back, its marks stay
  // deleted while their workshop is.
  const std::string on_enrolment = DeleteConflict(f, "enrolment", enrolments[0]);
  REQUIRE_FALSE(on_enrolment.empty());
  CliResult first = f.Server({"conflicts", "resolve", on_enrolment, "--value", "0",
                              "--reason", "ยังเรียนอยู่"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK_THAT(first.out, Catch::Contains("2 rows deleted with it stayed deleted"));
  CHECK(ServerDeleted(f, "enrolment", enrolments[0]) == 0);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM attendance WHERE deleted = 0") == 0);

  // Then the workshop: it, the other enrolment and all four marks, whether
  // the office keeps its edit or restores it from the data-quality list
  // (a live enrolment is under it now).
  const bool restore = GENERATE(false, true);
  const std::string on_workshop = DeleteConflict(f, "workshop", workshop);
  REQUIRE_FALSE(on_workshop.empty());
  CliResult second =
      restore ? f.Server({"restore", "workshop", workshop, "--reason", "การอบรมยังจัดอยู่"})
              : f.Server({"conflicts", "resolve", on_workshop, "--value", "0", "--reason",
                          "การอบรมยังจัดอยู่"});
  INFO(second.err);
  REQUIRE(second.exit_code == 0);
  CHECK_THAT(second.out, Catch::Contains(restore ? "and 5 rows its delete took with it"
                                                 : "5 rows deleted with it came back with it"));
  CHECK(ServerDeleted(f, "workshop", workshop) == 0);
  CHECK(ServerDeleted(f, "enrolment", enrolments[1]) == 0);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM attendance WHERE deleted = 0") == 4);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM conflict WHERE resolved_at IS NULL") == 0);
  for (const std::string& home : {trainer, other}) f.SyncOk(home);
  CHECK(Field::DeviceState(trainer) == f.ServerState());
  CHECK(Field::DeviceState(other) == f.ServerState());
}

}  // namespace
}  // namespace kbo::testing
