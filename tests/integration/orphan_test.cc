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
  {
    // Malee is told: five rows of hers hang under a deleted row.
    CliResult synced = f.Sync(malee);
    INFO(synced.err);
    REQUIRE(synced.exit_code == 0);
    // The enrolment and its four marks, as the office's list has them.
    CHECK_THAT(synced.err, Catch::Contains("kbo: 5 rows are recorded under a row that "
                                           "was deleted"));
    CHECK(f.KboJson(malee, {"status"})["under_deleted"] == 5);
    CHECK_THAT(f.Kbo(malee, {"status"}).out,
               Catch::Contains("under deleted rows: 5 rows are recorded under a row"));
    CHECK(f.KboJson(somchai, {"status"})["under_deleted"] == 0);
  }

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

  // Both devices receive it, and nothing hangs under a deleted row now.
  for (const std::string& home : {somchai, malee}) {
    CliResult synced = f.Sync(home);
    INFO(synced.err);
    REQUIRE(synced.exit_code == 0);
    CHECK_THAT(synced.err, !Catch::Contains("under a row that was deleted"));
    CHECK(f.KboJson(home, {"show", "producer", producer})["deleted"] == false);
    CHECK(f.KboJson(home, {"status"})["under_deleted"] == 0);
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
  {
    // The officer's device says it in words: the trainer's delete, its own
    // edit (not '1' and '0' from a device it does not know).
    const std::string listed = f.Kbo(officer, {"conflicts"}).out;
    CHECK_THAT(listed, Catch::Contains("visit " + visit +
                                       " (กลุ่มทอผ้าบ้านป่าตุ้ม) deleted: shows deleted (device "));
    CHECK_THAT(listed, Catch::Contains("the other value not deleted (edited, still in use) "
                                       "(this device)"));
  }

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
          "another device edits them: keeping either edit, or restoring the workshop, "
          "brings back the workshop and everything its delete took",
          "[integration][orphans][conflict]") {
  // Three ways the office decides against the delete: keeping the
  // participant's rename (she cannot stand under a deleted workshop: the
  // delete is undone from the workshop it began at), keeping the
  // workshop's edit, or restoring the workshop from the data-quality list
  // (a third trainer, offline, enrolled someone under it meanwhile).
  // Each brings back the workshop, both enrolments and all four marks, and
  // settles both crossings.
  const int way = GENERATE(0, 1, 2);
  CAPTURE(way);
  Field f;
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string other = f.Enrolled("other", "trainer", "5011");
  const std::string third = f.Enrolled("third", "trainer", "5011");
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
  f.SyncOk(third);
  std::string late;
  if (way == 2) {
    late = f.Add(third, {"enrolment", "add", "--workshop", workshop, "--producer", producer,
                         "--participant", "นางสาวมะลิ ดอกไม้"});
  }
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
  f.SyncOk(third);
  REQUIRE(f.ServerCount("SELECT COUNT(*) FROM attendance WHERE deleted = 1") == 4);

  const std::string on_enrolment = DeleteConflict(f, "enrolment", enrolments[0]);
  const std::string on_workshop = DeleteConflict(f, "workshop", workshop);
  REQUIRE_FALSE(on_enrolment.empty());
  REQUIRE_FALSE(on_workshop.empty());
  CliResult decided =
      way == 0 ? f.Server({"conflicts", "resolve", on_enrolment, "--value", "0", "--reason",
                           "ยังเรียนอยู่"})
      : way == 1 ? f.Server({"conflicts", "resolve", on_workshop, "--value", "0", "--reason",
                             "การอบรมยังจัดอยู่"})
                 : f.Server({"restore", "workshop", workshop, "--reason", "การอบรมยังจัดอยู่"});
  INFO(decided.err);
  REQUIRE(decided.exit_code == 0);
  CHECK_THAT(decided.out, Catch::Contains(way == 2 ? "and 6 rows its delete took with it"
                                                     : "6 rows deleted with it came back with it"));
  CHECK(ServerDeleted(f, "workshop", workshop) == 0);
  CHECK(ServerDeleted(f, "enrolment", enrolments[0]) == 0);
  CHECK(ServerDeleted(f, "enrolment", enrolments[1]) == 0);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM attendance WHERE deleted = 0") == 4);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM conflict WHERE resolved_at IS NULL") == 0);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM enrolment WHERE participant_name = "
                      "'นางบัวคำ แสนดีมาก'") == 1);
  if (way == 2) CHECK(ServerDeleted(f, "enrolment", late) == 0);
  for (const std::string& home : {trainer, other, third}) f.SyncOk(home);
  CHECK(Field::DeviceState(trainer) == f.ServerState());
  CHECK(Field::DeviceState(other) == f.ServerState());
  CHECK(Field::DeviceState(third) == f.ServerState());
}


TEST_CASE("Crossing offline: a delete made without seeing a colleague's later edit is a "
          "conflict (the edit reached the server first), keeping the edit brings the row "
          "and what the delete took back, a delete made after pulling the edit is none",
          "[integration][orphans]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string producer = f.Producer(officer, "นางทดลอง ลบแก้", "5011");
  const std::string seen = f.Producer(officer, "กลุ่มเห็นแล้ว", "5011");
  f.SyncOk(officer);
  f.SyncOk(trainer);

  // The trainer corrects the phone and syncs; the officer, not having
  // pulled, deletes the group and syncs.
  REQUIRE(f.Kbo(trainer, {"edit", "producer", producer, "--set", "phone=0899999999", "--set",
                          "contact=ลูกสาว (โทรได้หลัง 5 โมงเย็น)"})
              .exit_code == 0);
  REQUIRE(f.Kbo(trainer, {"edit", "producer", seen, "--set", "phone=0877777777"}).exit_code == 0);
  f.SyncOk(trainer);
  REQUIRE(f.Kbo(officer, {"delete", "producer", producer}).exit_code == 0);
  f.SyncOk(officer);

  // Deleted, as before (the rule per cell), and a person is asked.
  CHECK(ServerDeleted(f, "producer", producer) == 1);
  const std::string id = DeleteConflict(f, "producer", producer);
  REQUIRE(!id.empty());
  json c;
  for (const json& x : f.ServerJson({"conflicts", "list"})) {
    if (x["id"] == id) c = x;
  }
  CHECK(c["current_value"] == "0");
  CHECK(c["incoming_value"] == "1");
  CHECK(c["winner"] == "incoming");
  // Both devices hear of it.
  f.SyncOk(trainer);
  CHECK(f.KboJson(trainer, {"status"})["open_conflicts"] == 1);

  // A delete after pulling the edit is no crossing.
  f.SyncOk(officer);
  REQUIRE(f.Kbo(officer, {"delete", "producer", seen}).exit_code == 0);
  f.SyncOk(officer);
  CHECK(ServerDeleted(f, "producer", seen) == 1);
  CHECK(DeleteConflict(f, "producer", seen).empty());

  // The office keeps the edit: the group is back with the trainer's phone.
  CliResult r = f.Server({"conflicts", "resolve", id.substr(0, 8), "--value", "0", "--reason",
                          "ยังเป็นสมาชิกอยู่"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(ServerDeleted(f, "producer", producer) == 0);
  for (const std::string& home : {officer, trainer}) {
    f.SyncOk(home);
    const json p = f.KboJson(home, {"show", "producer", producer});
    CHECK(p["deleted"] == false);
    CHECK(p["phone"] == "0899999999");
  }
  CHECK(Field::DeviceState(officer) == f.ServerState());
  CHECK(Field::DeviceState(trainer) == f.ServerState());
}

TEST_CASE("Crossing offline: a participant deleted with --cascade after a colleague corrected "
          "a mark is a conflict on that mark, and keeping the mark brings the participant and "
          "the other marks back",
          "[integration][orphans]") {
  Field f;
  const std::string t1 = f.Enrolled("t1", "trainer", "5011");
  const std::string t2 = f.Enrolled("t2", "trainer", "5011");
  const std::string producer = f.Producer(t1, "กลุ่มจักสานบ้านโป่ง", "5011");
  const std::string workshop =
      f.Add(t1, {"workshop", "add", "--title", "อบรม KBO พร้าว", "--fiscal-year", "2567",
                 "--district", "5011", "--start", "2024-03-04", "--days", "5"});
  const std::string enrolment = f.Add(t1, {"enrolment", "add", "--workshop", workshop,
                                           "--producer", producer, "--participant",
                                           "นางบัวคำ แสนดี"});
  std::vector<std::string> marks;
  for (const char* day : {"1", "2", "3"}) {
    marks.push_back(f.Add(t1, {"attendance", "mark", "--workshop", workshop, "--enrolment",
                               enrolment, "--day", day, "--status", "present"}));
  }
  f.SyncOk(t1);
  f.SyncOk(t2);
  // T2 corrects day 2 and syncs; T1, offline, deletes the participant with
  // her marks and syncs.
  REQUIRE(f.Kbo(t2, {"attendance", "mark", "--workshop", workshop, "--enrolment", enrolment,
                     "--day", "2", "--status", "excused", "--note",
                     "ลาไปโรงพยาบาล มีใบรับรอง"})
              .exit_code == 0);
  f.SyncOk(t2);
  REQUIRE(f.Kbo(t1, {"delete", "enrolment", enrolment, "--cascade"}).exit_code == 0);
  f.SyncOk(t1);
  CHECK(ServerDeleted(f, "enrolment", enrolment) == 1);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM attendance WHERE deleted = 0") == 0);
  // The corrected mark is the conflict; the others were as T1 saw them.
  const std::string id = DeleteConflict(f, "attendance", marks[1]);
  REQUIRE(!id.empty());
  CHECK(DeleteConflict(f, "attendance", marks[0]).empty());
  CHECK(DeleteConflict(f, "enrolment", enrolment).empty());

  // Keeping the correction: the mark cannot stand without its enrolment,
  // and the enrolment without the rest of what the same delete took.
  CliResult r = f.Server({"conflicts", "resolve", id.substr(0, 8), "--value", "0", "--reason",
                          "ยังเข้าอบรม"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(ServerDeleted(f, "enrolment", enrolment) == 0);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM attendance WHERE deleted = 0") == 3);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM attendance WHERE status = 'excused' AND note = "
                      "'ลาไปโรงพยาบาล มีใบรับรอง'") == 1);
  CHECK(Certified(f, workshop) == std::vector<std::string>{"นางบัวคำ แสนดี 2"});
  for (const std::string& home : {t1, t2}) {
    f.SyncOk(home);
    CHECK(Field::DeviceState(home) == f.ServerState());
  }
}

}  // namespace
}  // namespace kbo::testing
