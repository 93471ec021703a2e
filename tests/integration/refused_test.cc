// Issue 9, finished: a refused edit or delete leaves the device equal to the
// server, nothing typed is lost, a refused create is removed on dismissal,
// and the office's record is settled.
#include <string>
#include <vector>

#include "tests/integration/field.h"

namespace kbo::testing {
namespace {

// A field officer's device that acts as an older client without the role
// check: it believes it is the central office, so it records what the server
// then refuses for its real role.
void ForgetRoleCheck(const std::string& home) {
  auto db = Db::Open(home + "/field.db");
  REQUIRE(db.ok());
  Statement st(**db, "UPDATE device SET role = 'central_office'");
  REQUIRE(st.Run().ok());
}

// The live rows of an entity as the device lists them, and as the server
// does (kbo-server list), by id -> title.
std::map<std::string, std::string> Titles(const json& rows) {
  std::map<std::string, std::string> out;
  for (const json& r : rows) out[r["id"].get<std::string>()] = r["title"].get<std::string>();
  return out;
}

TEST_CASE("Refused: a refused edit and a refused delete leave the device "
          "equal to the server, the typed values listed until dismissed",
          "[sync][integration][refused]") {
  Field f;
  const std::string trainer = f.Enrolled("trainer", "trainer", "5009");
  const std::string officer = f.Enrolled("officer", "field_officer", "5009");
  const std::string w = f.Add(
      trainer, {"workshop", "add", "--title", "อบรมการตลาด", "--fiscal-year",
                "2567", "--district", "5009", "--start", "2024-03-11"});
  f.SyncOk(trainer);
  f.SyncOk(officer);
  REQUIRE(Field::DeviceState(officer) == f.ServerState());

  // A field officer may not edit workshops (docs/roles.md).
  ForgetRoleCheck(officer);
  REQUIRE(f.Kbo(officer, {"edit", "workshop", w, "--set", "title=ชื่อที่พิมพ์"})
              .exit_code == 0);
  CliResult r = f.Sync(officer);
  INFO(r.err << f.server().log());
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("refused 1 change") != std::string::npos);
  // The change was sent, and refused: not "(0 changes)".
  CHECK(r.out.find("pushed 1 change set (1 change)") != std::string::npos);
  // The device's copy is the server's again, cell versions and all.
  CHECK(f.KboJson(officer, {"show", "workshop", w})["title"] ==
        "อบรมการตลาด");
  CHECK(Field::DeviceState(officer) == f.ServerState());
  // What the person typed is still listed.
  json refused = f.KboJson(officer, {"refused", "list"});
  REQUIRE(refused.size() == 1);
  CHECK(refused[0]["reason"] == "role");
  CHECK(refused[0]["cells"]["title"] == "ชื่อที่พิมพ์");
  CHECK(refused[0]["restored"] == true);
  CHECK(refused[0]["unaccepted"] == false);
  // Nothing more goes out, and a later sync changes nothing.
  CHECK(f.KboJson(officer, {"status"})["pending_changes"] == 0);
  f.SyncOk(officer);
  CHECK(Field::DeviceState(officer) == f.ServerState());

  // A refused delete: the row comes back.
  REQUIRE(f.Kbo(officer, {"delete", "workshop", w}).exit_code == 0);
  CHECK(f.KboJson(officer, {"list", "workshop"}).empty());
  f.SyncOk(officer);
  CHECK(Titles(f.KboJson(officer, {"list", "workshop"})) ==
        std::map<std::string, std::string>{{w, "อบรมการตลาด"}});
  CHECK(Field::DeviceState(officer) == f.ServerState());
  CHECK(f.KboJson(officer, {"status"})["refused_rows"] == 2);
  // The list says what is left to do: nothing but dismissing.
  CliResult listed = f.Kbo(officer, {"refused", "list"});
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.err.find("2 refused edits or deletes were undone here") !=
        std::string::npos);
  CHECK(listed.err.find("kbo refused dismiss ROW_ID") != std::string::npos);
  CHECK(listed.err.find("to fix (`kbo edit`)") == std::string::npos);

  // Dismissing changes nothing but the list: the copies stay equal.
  CliResult d = f.Kbo(officer, {"refused", "dismiss", w});
  INFO(d.err);
  REQUIRE(d.exit_code == 0);
  CHECK(f.KboJson(officer, {"status"})["refused_rows"] == 0);
  f.SyncOk(officer);
  CHECK(Field::DeviceState(officer) == f.ServerState());
  // The office keeps both, open: this device never sent the row accepted.
  CHECK(f.ServerJson({"refused", "list"}).size() == 2);

  // The trainer, who may, still edits it, and the officer receives it.
  REQUIRE(f.Kbo(trainer, {"edit", "workshop", w, "--set", "title=ใหม่"}).exit_code == 0);
  f.SyncOk(trainer);
  f.SyncOk(officer);
  CHECK(f.KboJson(officer, {"show", "workshop", w})["title"] == "ใหม่");
  CHECK(Field::DeviceState(officer) == f.ServerState());

  // A workshop it created: never accepted, and no edit makes it so. The
  // list once said to fix it with `kbo edit`.
  const std::string own = f.Add(
      officer, {"workshop", "add", "--title", "อบรมที่ไม่ควรมี", "--fiscal-year",
                "2567", "--district", "5009", "--start", "2024-03-04"});
  f.SyncOk(officer);
  CliResult role = f.Kbo(officer, {"refused", "list"});
  REQUIRE(role.exit_code == 0);
  CHECK(role.err.find("1 row was refused for this device's role") != std::string::npos);
  CHECK(role.err.find("fix it (`kbo edit`") == std::string::npos);
  CHECK(role.out.find(own) != std::string::npos);
}

TEST_CASE("Refused: dismissing a refused create deletes the row the server "
          "never accepted, after showing its values, and settles the "
          "office's record",
          "[sync][integration][refused]") {
  Field f;
  const std::string fang = f.NewHome("fang");
  // Recorded before enrolment: a Phrao producer on what becomes a Fang device.
  const std::string bad = f.Add(
      fang, {"producer", "add", "--kind", "group", "--name", "แอบเขียนพร้าว",
             "--district", "5011"});
  REQUIRE(f.Kbo(fang, {"enroll", "--server", f.url(), "--token",
                       f.Token("field_officer", "5009")})
              .exit_code == 0);
  f.SyncOk(fang);
  json refused = f.KboJson(fang, {"refused", "list"});
  REQUIRE(refused.size() == 1);
  CHECK(refused[0]["unaccepted"] == true);
  CHECK(refused[0]["restored"] == false);
  CHECK(refused[0]["cells"]["name"] == "แอบเขียนพร้าว");

  // Without --yes: the values are printed, nothing changes (exit 2).
  CliResult listed = f.Kbo(fang, {"refused", "list"});
  CHECK(listed.err.find("1 row the server never accepted") != std::string::npos);
  CHECK(listed.err.find("--yes") != std::string::npos);
  CliResult no = f.Kbo(fang, {"refused", "dismiss", bad});
  CHECK(no.exit_code == 2);
  CHECK(no.out.find("แอบเขียนพร้าว") != std::string::npos);
  CHECK(no.err.find("--yes") != std::string::npos);
  CHECK(f.KboJson(fang, {"status"})["refused_rows"] == 1);
  CHECK(f.KboJson(fang, {"list", "producer"}).size() == 1);

  CliResult yes = f.Kbo(fang, {"refused", "dismiss", bad, "--yes"});
  INFO(yes.err);
  REQUIRE(yes.exit_code == 0);
  CHECK(yes.out.find("แอบเขียนพร้าว") != std::string::npos);
  CHECK(f.KboJson(fang, {"list", "producer"}).empty());
  CHECK(f.KboJson(fang, {"status"})["refused_rows"] == 0);
  // The tombstone goes, and needs nothing on the server: said so, not
  // "pushed 1 change set (0 changes)".
  CliResult synced = f.Kbo(fang, {"sync"});
  INFO(synced.err);
  REQUIRE(synced.exit_code == 0);
  CHECK(synced.out.find("pushed 1 change set (1 change: 1 delete of a row the "
                        "server never held, nothing to do there)") !=
        std::string::npos);
  CHECK(f.KboJson(fang, {"status"})["refused_rows"] == 0);
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 0);
  // The office's record is settled by the tombstone: hidden by default.
  CHECK(f.ServerJson({"refused", "list"}).empty());
  json all = f.ServerJson({"refused", "list", "--all"});
  REQUIRE(all.size() == 1);
  CHECK(all[0]["row_id"] == bad);
  CHECK(all[0]["settled_seq"] == 2);
  CHECK(all[0]["settled_at"].is_string());
}


TEST_CASE("Refused: a refused row saved twice before the next sync, the second "
          "time right, is taken whole and settled on both sides",
          "[sync][integration][refused]") {
  Field f;
  // Recorded before the device was enrolled, for Phrao only: a Mae Rim
  // group, refused at the first sync.
  const std::string home = f.NewHome("trainer");
  CliResult added = f.Kbo(home, {"producer", "add", "--kind", "group", "--name",
                                 "กลุ่มจักสานแม่ริม", "--district", "5007"});
  INFO(added.err);
  REQUIRE(added.exit_code == 0);
  const std::string id = added.out.substr(0, 36);
  REQUIRE(f.Kbo(home, {"enroll", "--server", f.url(), "--token",
                       f.Token("trainer", "5011")})
              .exit_code == 0);
  f.SyncOk(home);
  REQUIRE(f.KboJson(home, {"status"})["refused_rows"] == 1);

  // The trainer fixes the tambon first (still Mae Rim), then the district;
  // both saves go in the next sync's one change set.
  REQUIRE(f.Kbo(home, {"edit", "producer", id, "--set", "tambon=ริมใต้"}).exit_code == 0);
  REQUIRE(f.Kbo(home, {"edit", "producer", id, "--set", "district_code=5011"}).exit_code == 0);
  CliResult fixed = f.Sync(home);
  INFO(fixed.out << fixed.err);
  REQUIRE(fixed.exit_code == 0);
  // The second save stood on its own (the whole row, fixed): taken, and
  // the row is settled on the device and for the office.
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE id = '" + id +
                      "' AND district_code = '5011' AND tambon = 'ริมใต้'") == 1);
  CHECK(f.KboJson(home, {"status"})["refused_rows"] == 0);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM refused_row WHERE settled_at IS NULL") == 0);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM refused_row") == 2);  // kept, settled
  f.SyncOk(home);
  CHECK(Field::DeviceState(home) == f.ServerState());
}

}  // namespace
}  // namespace kbo::testing

namespace kbo::testing {
namespace {

TEST_CASE("Refused: dismissing a refused enrolment takes its marks the server "
          "never accepted with it, and their refusals",
          "[sync][integration][refused][moved]") {
  Field f;
  const std::string office = f.Enrolled("office", "central_office", "all");
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string p = f.Add(office, {"producer", "add", "--kind", "group", "--name",
                                       "กลุ่มแม่บ้านสันทราย", "--district", "5011"});
  f.SyncOk(office);
  f.SyncOk(trainer);
  const std::string w = f.Add(trainer, {"workshop", "add", "--title", "อบรม KBO พร้าว",
                                        "--fiscal-year", "2570", "--district", "5011",
                                        "--start", "2026-11-16"});
  f.SyncOk(trainer);
  // Offline: a participant of the group enrolled and marked two days,
  // while the office moves the group to Fang.
  const std::string e = f.Add(trainer, {"enrolment", "add", "--workshop", w,
                                        "--producer", p, "--participant",
                                        "นางแสงดาว ใจงาม"});
  for (const char* day : {"1", "2"}) {
    REQUIRE(f.Kbo(trainer, {"attendance", "mark", "--workshop", w, "--enrolment", e,
                            "--day", day, "--status", "present"})
                .exit_code == 0);
  }
  REQUIRE(f.Kbo(office, {"edit", "producer", p, "--set", "district_code=5009"})
              .exit_code == 0);
  f.SyncOk(office);
  f.SyncOk(trainer);
  const json refused = f.KboJson(trainer, {"refused", "list"});
  REQUIRE(refused.size() == 3);  // the enrolment and its two marks
  CHECK(f.ServerCount("SELECT COUNT(*) FROM enrolment") == 0);
  // Day 1 marked again (late): refused again; still three rows to see to.
  REQUIRE(f.Kbo(trainer, {"attendance", "mark", "--workshop", w, "--enrolment", e,
                          "--day", "1", "--status", "late"})
              .exit_code == 0);
  f.SyncOk(trainer);
  REQUIRE(f.KboJson(trainer, {"refused", "list"}).size() == 4);
  CliResult listed = f.Kbo(trainer, {"refused", "list"});
  CHECK(listed.err.find("kbo: 3 rows the server never accepted") != std::string::npos);

  CliResult yes = f.Kbo(trainer, {"refused", "dismiss", e, "--yes"});
  INFO(yes.out << yes.err);
  REQUIRE(yes.exit_code == 0);
  CHECK(f.KboJson(trainer, {"refused", "list"}).empty());
  CHECK(f.KboJson(trainer, {"list", "enrolment"}).empty());
  CHECK(f.KboJson(trainer, {"list", "attendance"}).empty());
  f.SyncOk(trainer);
  CHECK(f.KboJson(trainer, {"status"})["refused_rows"] == 0);
}

}  // namespace
}  // namespace kbo::testing
