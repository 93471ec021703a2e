// End-to-end sync (issue #4) through the command lines of DESIGN §7: a real
// kbo-server on a loopback port and real kbo devices in Phrao (5011) and
// Fang (5009).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "client/bundle.h"
#include "server/server_store.h"
#include "tests/integration/field.h"
#include "tests/support/test_db.h"
#include "tests/support/test_images.h"

namespace kbo::testing {
namespace {

using server::ServerStore;

std::vector<std::string> NewProducer(const std::string& name, const std::string& district) {
  return {"producer", "add", "--kind", "group", "--name", name, "--district", district};
}

// A trainer and two field officers of Phrao, all three holding one
// producer group the trainer recorded.
struct PhraoThree {
  std::string trainer, officer, visitor, producer;
};
PhraoThree EnrolPhraoThree(Field& f) {
  PhraoThree t;
  t.trainer = f.Enrolled("trainer", "trainer", "5011");
  t.officer = f.Enrolled("officer", "field_officer", "5011");
  t.visitor = f.Enrolled("visitor", "field_officer", "5011");
  t.producer = f.Add(t.trainer, NewProducer("กลุ่มจักสานไม้ไผ่", "5011"));
  f.SyncOk(t.trainer);
  f.SyncOk(t.officer);
  f.SyncOk(t.visitor);
  return t;
}

std::set<std::string> Ids(const json& rows) {
  std::set<std::string> ids;
  for (const json& r : rows) ids.insert(r["id"].get<std::string>());
  return ids;
}

// One Phrao participant of one course, recorded on `home`.
struct OneParticipant {
  std::string producer, workshop, enrolment;
};
OneParticipant RecordOneParticipant(Field& f, const std::string& home,
                                    const std::string& participant) {
  OneParticipant c;
  c.producer = f.Add(home, NewProducer("กลุ่มทอผ้าบ้านป่าตุ้ม", "5011"));
  c.workshop = f.Add(home, {"workshop", "add", "--title", "พัฒนาผลิตภัณฑ์ KBO",
                            "--fiscal-year", "2570", "--district", "5011",
                            "--start", "2026-12-01"});
  c.enrolment = f.Add(home, {"enrolment", "add", "--workshop", c.workshop, "--producer",
                             c.producer, "--participant", participant});
  return c;
}

TEST_CASE("Sync: devices recording offline converge with each other and the server",
          "[sync][integration]") {
  Field f;
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string office = f.Enrolled("office", "central_office", "5011");

  // Everyone records offline first.
  const std::string p = f.Add(officer, NewProducer("กลุ่มทอผ้าบ้านป่าตุ้ม", "5011"));
  f.Add(officer, {"visit", "add", "--producer", p, "--lat", "19.3667", "--lon", "99.2",
                  "--purpose", "ติดตามต้นแบบ"});
  const std::string w = f.Add(trainer, {"workshop", "add", "--title", "พัฒนาผลิตภัณฑ์ KBO",
                                        "--fiscal-year", "2557", "--district", "5011",
                                        "--start", "2014-03-10"});
  f.Add(office, NewProducer("ร้านน้ำพริกแม่แวน", "5011"));

  // Syncs in an awkward order, each device twice.
  for (const std::string& home : {officer, trainer, office, trainer, officer, office}) {
    f.SyncOk(home);
  }
  // The trainer enrols the officer's producer, seen only through the server.
  const std::string e = f.Add(trainer, {"enrolment", "add", "--workshop", w, "--producer", p,
                                        "--participant", "นางสมศรี ใจดี"});
  f.Add(trainer, {"attendance", "mark", "--workshop", w, "--enrolment", e, "--day", "1",
                  "--status", "present"});
  for (const std::string& home : {trainer, officer, office}) f.SyncOk(home);

  const std::string server_state = f.ServerState();
  CHECK(server_state.find("นางสมศรี ใจดี") != std::string::npos);
  CHECK(Field::DeviceState(trainer) == server_state);
  CHECK(Field::DeviceState(officer) == server_state);
  CHECK(Field::DeviceState(office) == server_state);
  auto status = f.KboJson(officer, {"status"});
  CHECK(status["pending_changes"] == 0);
  CHECK(status["enrolled"] == true);
}

TEST_CASE("Sync: a mark recorded again without its note keeps a colleague's newer "
          "note made offline at the same time, with no conflict on it",
          "[sync][integration][conflict]") {
  Field f;
  const std::string a = f.Enrolled("trainer_a", "trainer", "5011");
  const std::string b = f.Enrolled("trainer_b", "trainer", "5011");
  const OneParticipant course = RecordOneParticipant(f, a, "นางสมศรี ใจดี");
  const std::string& w = course.workshop;
  const std::string& e = course.enrolment;
  const std::vector<std::string> mark = {"attendance", "mark", "--workshop", w,
                                         "--enrolment", e, "--day", "1"};
  auto with = [&mark](std::vector<std::string> more) {
    std::vector<std::string> args = mark;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  REQUIRE(f.Kbo(a, with({"--status", "late", "--note", "มาสาย 10 นาที"})).exit_code == 0);
  f.SyncOk(a);
  f.SyncOk(b);
  // Offline, both: B adds to the note; A corrects the status only.
  REQUIRE(f.Kbo(b, with({"--status", "late", "--note", "มาสาย 10 นาที รถเสีย"})).exit_code == 0);
  REQUIRE(f.Kbo(a, with({"--status", "present"})).exit_code == 0);
  f.SyncOk(b);
  f.SyncOk(a);
  f.SyncOk(b);
  CHECK(f.ServerCount("SELECT count(*) FROM attendance WHERE note = 'มาสาย 10 นาที รถเสีย'") ==
        1);
  CHECK(f.ServerCount("SELECT count(*) FROM conflict WHERE column_name = 'note'") == 0);
  CHECK(Field::DeviceState(a) == f.ServerState());
  CHECK(Field::DeviceState(b) == f.ServerState());
}

TEST_CASE("Sync: kbo conflicts shows a note with line breaks on its conflict's one line",
          "[sync][integration][conflict]") {
  Field f;
  const std::string a = f.Enrolled("trainer_a", "trainer", "5011");
  const std::string b = f.Enrolled("trainer_b", "trainer", "5011");
  const OneParticipant course = RecordOneParticipant(f, a, "นางคำปัน ใจดี");
  const std::string& w = course.workshop;
  const std::string& e = course.enrolment;
  f.SyncOk(a);
  f.SyncOk(b);
  REQUIRE(f.Kbo(a, {"attendance", "mark", "--workshop", w, "--enrolment", e, "--day", "1",
                    "--status", "excused", "--note", "ติดงานศพ\nบรรทัดสอง"})
              .exit_code == 0);
  REQUIRE(f.Kbo(b, {"attendance", "mark", "--workshop", w, "--enrolment", e, "--day", "1",
                    "--status", "absent", "--note", "ไม่มา"})
              .exit_code == 0);
  f.SyncOk(a);
  f.SyncOk(b);
  const CliResult listed = f.Kbo(b, {"conflicts"});
  REQUIRE(listed.exit_code == 0);
  const json open = f.KboJson(b, {"conflicts"});
  REQUIRE(open.size() == 2);  // the status and the note
  CHECK(std::count(listed.out.begin(), listed.out.end(), '\n') == 2);
  CHECK_THAT(listed.out, Catch::Contains("'ติดงานศพ บรรทัดสอง' (device "));
  // Whom it is about, to tell the office (it named only the row's id).
  CHECK_THAT(listed.out, Catch::Contains(" (นางคำปัน ใจดี, day 1) status: ") &&
                             Catch::Contains(" (นางคำปัน ใจดี, day 1) note: "));
  CHECK_THAT(listed.out, Catch::Contains("'ไม่มา' (this device)"));

  // Marked again since (here: present): the row shows neither value in
  // conflict, and the list says what it shows (it said the old one).
  REQUIRE(f.Kbo(b, {"attendance", "mark", "--workshop", w, "--enrolment", e, "--day", "1",
                    "--status", "present"})
              .exit_code == 0);
  const CliResult again = f.Kbo(b, {"conflicts"});
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("status: shows 'present' (written since), the "
                                        "values in conflict "));
}

TEST_CASE("Sync: 18 MB of long visit notes go up in sets the server takes, every "
          "note whole", "[sync][integration]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string p = f.Add(officer, NewProducer("กลุ่มทอผ้าบ้านป่าตุ้ม", "5011"));
  // 150 visits of 60,000 bytes of notes and as much to follow up: more
  // than the 16 MiB one push may carry to the server.
  std::string note;
  while (note.size() + 30 < 60000) note += "บันทึกการเยี่ยมกลุ่ม ";
  for (int i = 0; i < 150; ++i) {
    f.Add(officer, {"visit", "add", "--producer", p, "--at", "2024-03-05T02:00:00Z",
                    "--notes", note + std::to_string(i), "--follow-up", note});
  }
  f.SyncOk(officer);
  CHECK(f.KboJson(officer, {"status"})["pending_changes"] == 0);
  CHECK(f.ServerCount("SELECT count(*) FROM visit") == 150);
  // length() counts characters on both backends.
  int64_t chars = 0;
  for (unsigned char c : note) chars += (c & 0xC0) != 0x80 ? 1 : 0;
  CHECK(f.ServerCount("SELECT count(*) FROM visit WHERE length(notes) > " +
                      std::to_string(chars)) == 150);
  CHECK(f.ServerCount("SELECT count(*) FROM visit WHERE follow_up = notes") == 0);
  CHECK(f.ServerCount("SELECT count(*) FROM change_set_log") >= 5);
  f.SyncOk(trainer);
  CHECK(Field::DeviceState(trainer) == f.ServerState());
  CHECK(Field::DeviceState(officer) == f.ServerState());
}

TEST_CASE("Sync: a concurrent edit becomes one conflict with both values, and a "
          "resolution reaches every device", "[sync][integration][conflict]") {
  Field f;
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string p = f.Add(trainer, NewProducer("กลุ่มจักสานไม้ไผ่", "5011"));
  f.SyncOk(trainer);
  f.SyncOk(officer);

  // Both change the phone offline; the officer also fixes the village.
  REQUIRE(f.Kbo(trainer, {"edit", "producer", p, "--set", "phone=0811111111"}).exit_code == 0);
  REQUIRE(f.Kbo(officer, {"edit", "producer", p, "--set", "phone=0822222222",
                          "--set", "village=บ้านแม่แวน"}).exit_code == 0);
  f.SyncOk(trainer);
  f.SyncOk(officer);

  json conflicts = f.ServerJson({"conflicts", "list"});
  REQUIRE(conflicts.size() == 1);
  const json& c = conflicts[0];
  CHECK(c["entity"] == "producer");
  CHECK(c["row_id"] == p);
  CHECK(c["column_name"] == "phone");
  CHECK(c["current_value"] == "0811111111");
  CHECK(c["incoming_value"] == "0822222222");
  CHECK(c["resolved"] == false);
  // The devices say so: kbo status, kbo conflicts, and every sync while it
  // waits for the office (a sync cut short may have brought it silently).
  CHECK(f.KboJson(officer, {"status"})["open_conflicts"] == 1);
  CHECK(f.Kbo(officer, {"status"}).out.find("open conflicts:     1  (kbo conflicts") !=
        std::string::npos);
  {
    CliResult listed = f.Kbo(officer, {"conflicts"});
    REQUIRE(listed.exit_code == 0);
    CHECK(listed.out.find("producer " + p + " (กลุ่มจักสานไม้ไผ่) phone: shows '") !=
          std::string::npos);
    CHECK(listed.out.find("'0811111111'") != std::string::npos);
    CHECK(listed.out.find("'0822222222' (this device)") != std::string::npos);
    json as_json = f.KboJson(officer, {"conflicts"});
    REQUIRE(as_json.size() == 1);
    CHECK(as_json[0]["id"] == c["id"]);
    CliResult again = f.Sync(officer);
    CHECK(again.exit_code == 0);
    CHECK(again.err.find("1 conflict is waiting for the office") != std::string::npos);
  }
  // The other column was no conflict: both edits survive.
  json shown = f.KboJson(trainer, {"show", "producer", p});
  f.SyncOk(trainer);
  shown = f.KboJson(trainer, {"show", "producer", p});
  CHECK(shown["village"] == "บ้านแม่แวน");

  // The central office resolves; both devices receive it like any change.
  CliResult r = f.Server({"conflicts", "resolve", c["id"].get<std::string>(), "--value",
                          "0833333333", "--reason",
                          "โทรถามประธานกลุ่มแล้ว\nเบอร์ใหม่ของกลุ่ม"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  f.SyncOk(trainer);
  f.SyncOk(officer);
  CHECK(f.KboJson(trainer, {"show", "producer", p})["phone"] == "0833333333");
  CHECK(f.KboJson(officer, {"show", "producer", p})["phone"] == "0833333333");
  CHECK(f.ServerJson({"conflicts", "list"})[0]["resolved"] == true);
  CHECK(Field::Count(officer + "/field.db", "SELECT count(*) FROM conflict") == 1);
  CHECK(f.KboJson(officer, {"status"})["open_conflicts"] == 0);
  CHECK(f.Kbo(officer, {"conflicts"}).err.find("no open conflicts") != std::string::npos);
  {
    // A decided conflict says what was decided, not what the merge showed.
    const std::string all = f.Kbo(officer, {"conflicts", "--all"}).out;
    CHECK(all.find("phone: decided '0833333333' at ") != std::string::npos);
    CHECK(all.find("shows") == std::string::npos);
    // With the office's reason, on the conflict's one line.
    CHECK(all.find("; the office's reason: โทรถามประธานกลุ่มแล้ว เบอร์ใหม่ของกลุ่ม\n") !=
          std::string::npos);
    json decided = f.KboJson(officer, {"conflicts", "--all"});
    REQUIRE(decided.size() == 1);
    CHECK(decided[0]["resolution_reason"] == "โทรถามประธานกลุ่มแล้ว\nเบอร์ใหม่ของกลุ่ม");
    CHECK(decided[0]["resolved_by"] == "cli");
    CHECK(all.find("'0811111111'") != std::string::npos);
    CHECK(all.find("'0822222222'") != std::string::npos);
  }
  CHECK(Field::DeviceState(trainer) == f.ServerState());
  CHECK(Field::DeviceState(officer) == f.ServerState());
}

TEST_CASE("Sync: a progress entry's move of its product's stage travels in its change "
          "set and merges per column with a concurrent edit",
          "[sync][integration][progress_stage]") {
  Field f;
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string p = f.Add(officer, NewProducer("กลุ่มทอผ้าบ้านป่าตุ้ม", "5011"));
  const std::string product = f.Add(officer, {"product", "add", "--producer", p, "--name",
                                              "ผ้าฝ้ายทอมือ", "--stage", "prototype"});
  f.SyncOk(officer);
  f.SyncOk(trainer);

  // Offline at once: the trainer records progress at packaging (the
  // product moves there); the officer renames the product.
  CliResult entry = f.Kbo(trainer, {"progress", "add", "--product", product, "--stage",
                                    "packaging", "--percent", "80", "--notes", "ได้ฉลากใหม่"});
  INFO(entry.err);
  REQUIRE(entry.exit_code == 0);
  CHECK(entry.err.find("moved to stage packaging (was prototype)") != std::string::npos);
  REQUIRE(f.Kbo(officer, {"edit", "product", product, "--set", "name=ผ้าฝ้ายทอมือลายพร้าว"})
              .exit_code == 0);
  f.SyncOk(officer);
  CliResult pushed = f.Sync(trainer);
  INFO(pushed.err);
  REQUIRE(pushed.exit_code == 0);
  // One change set: the entry and the product's stage.
  CHECK(pushed.out.find("pushed 1 change set (2 changes)") != std::string::npos);
  f.SyncOk(officer);

  // Each column merged on its own: the officer's name, the trainer's stage;
  // no conflict (different columns), and every replica the same.
  const json server_product = f.ServerJson({"list", "product"});
  REQUIRE(server_product.size() == 1);
  CHECK(server_product[0]["stage"] == "packaging");
  CHECK(server_product[0]["name"] == "ผ้าฝ้ายทอมือลายพร้าว");
  CHECK(f.ServerJson({"conflicts", "list"}).empty());
  CHECK(Field::DeviceState(trainer) == f.ServerState());
  CHECK(Field::DeviceState(officer) == f.ServerState());

  // Both devices record progress offline: the officer's further stage wins
  // wherever the other arrives (stage only moves forward); the trainer's
  // earlier-stage entry does not move the product back.
  f.Add(officer, {"progress", "add", "--product", product, "--stage", "market_ready"});
  CliResult behind = f.Kbo(trainer, {"progress", "add", "--product", product, "--stage", "design"});
  REQUIRE(behind.exit_code == 0);
  CHECK(behind.err.find("stays at stage packaging") != std::string::npos);
  f.SyncOk(officer);
  f.SyncOk(trainer);
  f.SyncOk(officer);
  CHECK(f.ServerJson({"list", "product"})[0]["stage"] == "market_ready");
  CHECK(f.KboJson(trainer, {"show", "product", product})["stage"] == "market_ready");
  CHECK(f.ServerJson({"list", "progress"}).size() == 3);
  CHECK(Field::DeviceState(trainer) == f.ServerState());
  CHECK(Field::DeviceState(officer) == f.ServerState());
}

TEST_CASE("Sync: kbo refuses, before recording, a row outside its districts, "
          "on a parent outside them, or of an entity its role may not write",
          "[sync][integration][scope][d1]") {
  Field f;
  // A Phrao producer recorded before enrolment (nothing is known then).
  const std::string fang = f.NewHome("fang");
  const std::string phrao_producer = f.Add(fang, NewProducer("พร้าว", "5011"));
  REQUIRE(f.Kbo(fang, {"enroll", "--server", f.url(), "--token",
                       f.Token("field_officer", "5009")})
              .exit_code == 0);
  struct Case {
    const char* what;
    std::vector<std::string> args;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"a producer in Phrao", NewProducer("แอบเขียนพร้าว", "5011"), "5011"},
      {"a visit to a Phrao producer",
       {"visit", "add", "--producer", phrao_producer}, "5011"},
      {"a workshop (a field officer's role may not)",
       {"workshop", "add", "--title", "อบรม", "--fiscal-year", "2567",
        "--district", "5009", "--start", "2024-03-11"},
       "field_officer"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    CliResult r = f.Kbo(fang, c.args);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find(c.says) != std::string::npos);
  }
  CHECK(f.KboJson(fang, {"status"})["pending_changes"] == 1);  // the first
  CHECK(f.KboJson(fang, {"list", "visit"}).empty());
  CHECK(f.KboJson(fang, {"list", "workshop"}).empty());
}

TEST_CASE("Sync: a row the server refuses never blocks its device: the rest "
          "goes in, the device shows the refusal, and deleting the row "
          "settles it (D1)",
          "[sync][integration][scope][d1]") {
  Field f;
  // Recorded before enrolment (no districts known yet, as older clients
  // allowed at any time): one row in Phrao on what becomes a Fang device.
  const std::string fang = f.NewHome("fang");
  const std::string ok = f.Add(fang, NewProducer("กลุ่มฝาง", "5009"));
  const std::string bad = f.Add(fang, NewProducer("แอบเขียนพร้าว", "5011"));
  {
    CliResult r = f.Kbo(fang, {"enroll", "--server", f.url(), "--token",
                               f.Token("field_officer", "5009")});
    REQUIRE(r.exit_code == 0);
  }
  CliResult r = f.Sync(fang);
  INFO(r.err << f.server().log());
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("refused 1 change") != std::string::npos);
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 1);
  CHECK(f.ServerCount("SELECT count(*) FROM producer WHERE name = 'กลุ่มฝาง'") == 1);
  CHECK(f.ServerCount("SELECT count(*) FROM refused_row WHERE reason = 'out_of_scope'") == 1);
  // The office sees it, with the row as it was sent.
  json office = f.ServerJson({"refused", "list"});
  REQUIRE(office.size() == 1);
  CHECK(office[0]["row_id"] == bad);
  CHECK(office[0]["reason"] == "out_of_scope");
  CHECK(office[0]["role"] == "field_officer");
  CHECK(office[0]["cells"]["name"] == "แอบเขียนพร้าว");
  json st = f.KboJson(fang, {"status"});
  CHECK(st["pending_changes"] == 0);
  CHECK(st["refused_rows"] == 1);
  REQUIRE(st["refused"].size() == 1);
  CHECK(st["refused"][0]["row_id"] == bad);
  CHECK(st["refused"][0]["reason"] == "out_of_scope");
  CHECK(st["refused"][0]["message"].get<std::string>().find("5011") != std::string::npos);
  // The device keeps syncing.
  const std::string later = f.Add(fang, NewProducer("กลุ่มใหม่", "5009"));
  f.SyncOk(fang);
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 2);
  CHECK(f.KboJson(fang, {"status"})["pending_changes"] == 0);
  // A person deletes the refused row: nothing is refused again, and the
  // refusal is settled.
  REQUIRE(f.Kbo(fang, {"delete", "producer", bad}).exit_code == 0);
  f.SyncOk(fang);
  st = f.KboJson(fang, {"status"});
  CHECK(st["refused_rows"] == 0);
  CHECK(f.ServerCount("SELECT count(*) FROM refused_row") == 1);  // the office's copy
  (void)ok;
  (void)later;
}

TEST_CASE("Sync: a device never receives rows outside its districts",
          "[sync][integration][scope]") {
  Field f;
  const std::string office = f.Enrolled("office", "central_office", "all");
  const std::string phrao = f.Enrolled("phrao", "trainer", "5011");
  const std::string in_phrao = f.Add(office, NewProducer("พร้าว", "5011"));
  const std::string in_fang = f.Add(office, NewProducer("ฝาง", "5009"));
  f.SyncOk(office);
  f.SyncOk(phrao);
  const std::set<std::string> ids = Ids(f.KboJson(phrao, {"list", "producer"}));
  CHECK(ids.count(in_phrao) == 1);
  CHECK(ids.count(in_fang) == 0);
  CHECK(Field::DeviceState(phrao).find("ฝาง") == std::string::npos);
}

TEST_CASE("Sync: a device granted a district receives its rows whole at the "
          "next sync (D8)",
          "[sync][integration][scope][d8]") {
  Field f;
  const std::string office = f.Enrolled("office", "central_office", "all");
  const std::string phrao = f.Enrolled("phrao", "trainer", "5011");
  const std::string in_fang = f.Add(office, NewProducer("กลุ่มฝาง", "5009"));
  REQUIRE(f.Kbo(office, {"edit", "producer", in_fang, "--set", "phone=0812345678"})
              .exit_code == 0);
  const std::string moving = f.Add(office, NewProducer("ย้ายมาพร้าว", "5009"));
  f.SyncOk(office);
  f.SyncOk(phrao);
  CHECK(f.KboJson(phrao, {"list", "producer"}).empty());

  // The office moves one producer into Phrao, and grants the device Fang.
  REQUIRE(f.Kbo(office, {"edit", "producer", moving, "--set", "district_code=5011"})
              .exit_code == 0);
  f.SyncOk(office);
  f.SyncOk(phrao);
  json moved = f.KboJson(phrao, {"show", "producer", moving});
  CHECK(moved["name"] == "ย้ายมาพร้าว");
  CHECK(moved["kind"] == "group");
  const std::string id = f.KboJson(phrao, {"status"})["device_id"].get<std::string>();
  CliResult g = f.Server({"device", "grant", id, "--districts", "5009"});
  INFO(g.err);
  REQUIRE(g.exit_code == 0);
  // Pulled again from the start: what it held already is not counted as
  // pulled: the Fang group's two changes (recorded, then its phone), not
  // four with the moved group's it held (as it said).
  CliResult granted = f.Sync(phrao);
  INFO(granted.out << granted.err);
  REQUIRE(granted.exit_code == 0);
  CHECK(granted.out.find("pulled 2 changes") != std::string::npos);
  json fang = f.KboJson(phrao, {"show", "producer", in_fang});
  CHECK(fang["name"] == "กลุ่มฝาง");
  CHECK(fang["phone"] == "0812345678");
  CHECK(Field::DeviceState(phrao) == f.ServerState());
  // It now records in Fang too, and the next sync is an ordinary one.
  CHECK(f.KboJson(phrao, {"status"})["districts"] == "5009,5011");
  f.Add(phrao, {"visit", "add", "--producer", in_fang, "--purpose", "ติดตาม"});
  f.SyncOk(phrao);
  CHECK(f.ServerCount("SELECT count(*) FROM visit WHERE district_code = '5009'") == 1);
}

TEST_CASE("Sync: a device pulling from the start gets every row whole, also "
          "one written again after the rows of later pages",
          "[sync][integration]") {
  // Found in a walk-through: a group recorded early and edited after 2,010
  // others came down on a new device with only the edited cell (no name),
  // because each page sent the cells written after its own cursor.
  Field f;
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string early = f.Producer(trainer, "กลุ่มสอง", "5011");
  f.SyncOk(trainer);
  const std::string csv = trainer + "/many.csv";
  {
    std::ofstream out(csv);
    out << "kind,name,district\n";
    for (int i = 1; i <= 2010; ++i) out << "group,กลุ่มที่ " << i << ",5011\n";
  }
  CliResult imported = f.Kbo(trainer, {"import", "producer", csv});
  INFO(imported.err);
  REQUIRE(imported.exit_code == 0);
  f.SyncOk(trainer);
  CliResult edited = f.Kbo(trainer, {"edit", "producer", early, "--set",
                                     "village=บ้านใหม่"});
  REQUIRE(edited.exit_code == 0);
  f.SyncOk(trainer);

  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  f.SyncOk(officer);
  json row = f.KboJson(officer, {"show", "producer", early});
  CHECK(row["name"] == "กลุ่มสอง");
  CHECK(row["kind"] == "group");
  CHECK(row["district_code"] == "5011");
  CHECK(row["village"] == "บ้านใหม่");
  const std::string server_state = f.ServerState();
  CHECK(Field::DeviceState(officer) == server_state);

  // Later pulls go on from where the last complete one ended: an edit of
  // the early group comes down as that cell alone, and all stays equal.
  REQUIRE(f.Kbo(trainer, {"edit", "producer", early, "--set", "phone=0811111111"})
              .exit_code == 0);
  f.SyncOk(trainer);
  f.SyncOk(officer);
  CHECK(f.KboJson(officer, {"show", "producer", early})["phone"] == "0811111111");
  CHECK(Field::DeviceState(officer) == f.ServerState());
  // And a pull from the start again (kbo sync --full) gives the same state.
  CliResult full = f.Kbo(officer, {"sync", "--server", f.url(), "--full"});
  INFO(full.err);
  REQUIRE(full.exit_code == 0);
  CHECK(Field::DeviceState(officer) == f.ServerState());
}

TEST_CASE("Sync: a change set pushed again is applied once", "[sync][integration]") {
  Field f;
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  f.Add(trainer, NewProducer("ครั้งเดียว", "5011"));
  f.SyncOk(trainer);
  // The receipt was lost on the way back: the device pushes again.
  {
    auto db = Db::Open(trainer + "/field.db");
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("UPDATE change_set SET acked_at = NULL, receipt = NULL").ok());
  }
  CHECK(f.KboJson(trainer, {"status"})["pending_changes"] == 1);
  f.SyncOk(trainer);
  CHECK(f.KboJson(trainer, {"status"})["pending_changes"] == 0);
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 1);
  CHECK(f.ServerCount("SELECT count(*) FROM change_set_log") == 1);
}

TEST_CASE("Sync: tokens are one-time and expire, revoked devices are refused",
          "[sync][integration][enrol]") {
  Field f;
  const std::string token = f.Token("trainer", "5011");
  const std::string a = f.NewHome("a");
  const std::string b = f.NewHome("b");
  REQUIRE(f.Kbo(a, {"enroll", "--server", f.url(), "--token", token}).exit_code == 0);
  CliResult used = f.Kbo(b, {"enroll", "--server", f.url(), "--token", token});
  CHECK(used.exit_code == 5);

  const std::string short_lived = f.Token("trainer", "5011", "1s");
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  CHECK(f.Kbo(b, {"enroll", "--server", f.url(), "--token", short_lived}).exit_code == 5);

  const std::string id = f.KboJson(a, {"status"})["device_id"];
  REQUIRE(f.Server({"device", "revoke", id}).exit_code == 0);
  f.Add(a, NewProducer("หลังถูกเพิกถอน", "5011"));
  CliResult revoked = f.Sync(a);
  CHECK(revoked.exit_code == 5);
  CHECK(f.KboJson(a, {"status"})["pending_changes"] == 1);  // kept
}

TEST_CASE("Sync: no server, exit 4 and everything kept, a restarted server keeps "
          "everything", "[sync][integration]") {
  Field f;
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  f.Add(trainer, NewProducer("ก่อนดับ", "5011"));
  f.SyncOk(trainer);
  const std::string before = f.ServerState();
  REQUIRE(f.server().Stop() == 0);
  f.Add(trainer, NewProducer("ระหว่างไม่มีสัญญาณ", "5011"));
  CliResult down = f.Kbo(trainer, {"sync"});
  CHECK(down.exit_code == 4);
  CHECK(f.KboJson(trainer, {"status"})["pending_changes"] == 1);
  REQUIRE(f.server().Start());
  CHECK(f.ServerState() == before);
  f.SyncOk(trainer);
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 2);
  CHECK(Field::DeviceState(trainer) == f.ServerState());
}

TEST_CASE("Sync: after the server is restored from a backup every device still "
          "receives every later write", "[sync][integration][restore]") {
  // A copy of server.db on SQLite; pg_dump and pg_restore of the server's
  // schema on PostgreSQL (tests/support/test_db.h).
  Field f;
  f.ExpectSentBack();
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string other = f.Enrolled("other", "field_officer", "5011");
  f.Add(trainer, NewProducer("ก่อนสำรอง", "5011"));
  f.SyncOk(trainer);
  f.SyncOk(officer);

  // The nightly backup (taken with the server stopped).
  const std::string data = f.server().data_dir();
  REQUIRE(f.server().Stop() == 0);
  const std::string backup = f.dir() + "/backup";
  BackupTestServerDb(data, backup);
  REQUIRE(f.server().Start());

  // After the backup: the trainer's work reaches the officer, whose pull
  // cursor moves past everything the backup knows.
  for (const char* name : {"หลังสำรอง ๑", "หลังสำรอง ๒", "หลังสำรอง ๓"}) {
    f.Add(trainer, NewProducer(name, "5011"));
  }
  f.SyncOk(trainer);
  f.SyncOk(officer);
  // A device enrolled after the backup.
  const std::string newcomer = f.Enrolled("newcomer", "field_officer", "5011");
  const std::string newcomers = f.Add(newcomer, NewProducer("ของผู้มาใหม่", "5011"));
  f.SyncOk(newcomer);

  // The disk fails; the server comes back from the backup.
  REQUIRE(f.server().Stop() == 0);
  RestoreTestServerDb(data, backup);
  REQUIRE(f.server().Start());
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 1);

  // Another device records after the restore, before the trainer resends.
  const std::string late = f.Add(other, NewProducer("หลังกู้คืน", "5011"));
  f.SyncOk(other);
  CHECK(f.ServerCount("SELECT min(max_seq) FROM row_seq WHERE row_id = '" + late + "'") >
        static_cast<int64_t>(ServerStore::kRestoreGap));
  // The officer pulls it, although its cursor is past the backup.
  f.SyncOk(officer);
  CHECK(f.KboJson(officer, {"show", "producer", late})["name"] == "หลังกู้คืน");
  // The trainer's lost change sets come back from its own copies, and in
  // the end every device holds what the server holds.
  f.SyncOk(trainer);
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 5);
  // The newcomer is unknown to the restored server until it enrols again;
  // then everything it recorded goes up again.
  CHECK(f.Sync(newcomer).exit_code == 5);
  CliResult again = f.Kbo(newcomer, {"enroll", "--server", f.url(), "--token",
                                     f.Token("field_officer", "5011")});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  f.SyncOk(newcomer);
  CHECK(f.ServerCount("SELECT count(*) FROM producer WHERE id = '" + newcomers + "'") == 1);
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 6);
  f.SyncOk(newcomer);
  CHECK(Field::DeviceState(newcomer) == f.ServerState());
  f.SyncOk(officer);
  f.SyncOk(other);
  f.SyncOk(trainer);
  CHECK(Field::DeviceState(officer) == f.ServerState());
  CHECK(Field::DeviceState(other) == f.ServerState());
  CHECK(Field::DeviceState(trainer) == f.ServerState());
}

// Left by stop 48: docs/operations.md says never to restore
// sequence-high-water, but a whole data folder copied back brings it. The
// restored server's sequences then do not jump: rows it numbers again from
// the backup's sequence sat behind the cursor of every device that pulled
// after the backup, and never reached it (until `kbo sync --full`).
TEST_CASE("Sync: a server restored whole, sequence-high-water with it, sends a device "
          "whose cursor is past the backup back, and it misses nothing",
          "[sync][integration][restore]") {
  Field f;
  f.ExpectSentBack();
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string visitor = f.Enrolled("visitor", "field_officer", "5011");
  f.Add(trainer, NewProducer("ก่อนสำรอง", "5011"));
  f.SyncOk(trainer);
  f.SyncOk(officer);

  const std::string data = f.server().data_dir();
  REQUIRE(f.server().Stop() == 0);
  const std::string backup = f.dir() + "/backup";
  BackupTestServerWhole(data, backup);
  REQUIRE(f.server().Start());

  // After the backup: the visitor's work reaches the officer, whose pull
  // cursor moves past everything the backup knows.
  for (int i = 1; i <= 6; ++i) {
    f.Add(visitor, NewProducer("หลังสำรอง " + std::to_string(i), "5011"));
  }
  f.SyncOk(visitor);
  f.SyncOk(officer);
  const auto officer_cursor = [&] {
    return Field::Count(officer + "/field.db", "SELECT pull_cursor FROM sync_state");
  };
  const int64_t cursor_before = officer_cursor();

  // The whole folder comes back from the backup, its high-water note too.
  REQUIRE(f.server().Stop() == 0);
  RestoreTestServerWhole(data, backup);
  REQUIRE(f.server().Start());
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 1);

  // The trainer records after the restore: its row takes a sequence the
  // officer's cursor is already past.
  const std::string late = f.Add(trainer, NewProducer("หลังกู้คืน", "5011"));
  f.SyncOk(trainer);
  REQUIRE(f.ServerCount("SELECT max(max_seq) FROM row_seq WHERE row_id = '" + late + "'") <=
          cursor_before);

  // The officer is sent back to the last cursor the restored server handed
  // it, says so, and holds the trainer's row.
  CliResult synced = f.Sync(officer);
  INFO(synced.out << synced.err << f.server().log());
  REQUIRE(synced.exit_code == 0);
  CHECK(synced.out.find("pulled again") != std::string::npos);
  CHECK(f.server().log().find("sent back to") != std::string::npos);
  CHECK(f.KboJson(officer, {"show", "producer", late})["name"] == "หลังกู้คืน");
  // Once: the next sync goes on from where this one ended.
  CliResult again = f.Sync(officer);
  REQUIRE(again.exit_code == 0);
  CHECK(again.out.find("pulled again") == std::string::npos);

  // The visitor's lost work comes back from its own copies; in the end
  // every device holds what the server holds.
  f.SyncOk(visitor);
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 8);
  f.SyncOk(officer);
  f.SyncOk(trainer);
  CHECK(Field::DeviceState(officer) == f.ServerState());
  CHECK(Field::DeviceState(visitor) == f.ServerState());
  CHECK(Field::DeviceState(trainer) == f.ServerState());
}

TEST_CASE("Sync: a device sent back by a restored server takes again the conflict "
          "records its conflict cursor had passed",
          "[sync][integration][restore][conflict]") {
  Field f;
  f.ExpectSentBack();
  const PhraoThree three = EnrolPhraoThree(f);
  const std::string &trainer = three.trainer, &officer = three.officer,
                    &visitor = three.visitor, &p = three.producer;
  REQUIRE(f.Kbo(trainer, {"edit", "producer", p, "--set", "phone=0811111111"}).exit_code == 0);
  REQUIRE(f.Kbo(visitor, {"edit", "producer", p, "--set", "phone=0822222222"}).exit_code == 0);
  f.SyncOk(trainer);
  f.SyncOk(visitor);
  REQUIRE(f.ServerJson({"conflicts", "list"}).size() == 1);
  // The officer's cursors as a server since restored (sequence-high-water
  // and all) left them: past everything this one holds, the conflict's
  // number among them.
  {
    auto db = Db::Open(officer + "/field.db");
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("UPDATE sync_state SET pull_cursor = 1000, pull_since = 1000, "
                        "conflict_cursor = 1000")
                .ok());
  }
  CliResult synced = f.Sync(officer);
  INFO(synced.out << synced.err << f.server().log());
  REQUIRE(synced.exit_code == 0);
  CHECK(synced.out.find("pulled again") != std::string::npos);
  CHECK(f.KboJson(officer, {"status"})["open_conflicts"] == 1);
  CHECK(Field::DeviceState(officer) == f.ServerState());
}

TEST_CASE("Sync: a device whose conflict cursor alone is past a restored server's "
          "memory is sent back on the conflict list, and the conflict found again is "
          "the one it holds",
          "[sync][integration][restore][conflict]") {
  Field f;
  f.ExpectSentBack();
  const PhraoThree three = EnrolPhraoThree(f);
  const std::string &trainer = three.trainer, &officer = three.officer,
                    &visitor = three.visitor, &p = three.producer;
  // The visitor's edit (offline, earlier) loses to the trainer's, which
  // every device holds before the backup.
  REQUIRE(f.Kbo(visitor, {"edit", "producer", p, "--set", "phone=0822222222"}).exit_code == 0);
  REQUIRE(f.Kbo(trainer, {"edit", "producer", p, "--set", "phone=0811111111"}).exit_code == 0);
  f.SyncOk(trainer);
  f.SyncOk(officer);
  const std::string data = f.server().data_dir();
  REQUIRE(f.server().Stop() == 0);
  const std::string backup = f.dir() + "/backup";
  BackupTestServerWhole(data, backup);
  REQUIRE(f.server().Start());
  // After the backup the visitor's losing edit makes a conflict record and
  // moves no row: the officer's conflict cursor passes the backup, its pull
  // cursor does not.
  f.SyncOk(visitor);
  f.SyncOk(officer);
  REQUIRE(f.KboJson(officer, {"status"})["open_conflicts"] == 1);
  const json held_before = f.KboJson(officer, {"conflicts"});
  REQUIRE(held_before.size() == 1);

  REQUIRE(f.server().Stop() == 0);
  RestoreTestServerWhole(data, backup);
  REQUIRE(f.server().Start());
  // The visitor sends its lost set again: the conflict is found again, under
  // a new id and the number the lost one had.
  f.SyncOk(visitor);
  const json found = f.ServerJson({"conflicts", "list"});
  REQUIRE(found.size() == 1);
  CliResult synced = f.Sync(officer);
  INFO(synced.out << synced.err << f.server().log());
  REQUIRE(synced.exit_code == 0);
  CHECK(synced.out.find("pulled again") != std::string::npos);
  bool held = false;
  for (const json& c : f.KboJson(officer, {"conflicts"})) held = held || c["id"] == found[0]["id"];
  CHECK(held);
  // The same two writes make the same conflict: found again under the id
  // the devices hold, so the office's decision closes theirs (a new random
  // id left the officer's copy open for good).
  CHECK(found[0]["id"] == held_before[0]["id"]);
  CHECK(f.KboJson(officer, {"status"})["open_conflicts"] == 1);
  REQUIRE(f.Server({"conflicts", "resolve", found[0]["id"].get<std::string>(), "--value",
                    "0811111111", "--reason", "โทรถามประธานกลุ่มแล้ว"})
              .exit_code == 0);
  f.SyncOk(officer);
  CHECK(f.KboJson(officer, {"status"})["open_conflicts"] == 0);
}

// Walk-through (stop 49, HIGH): after the recommended restore, an officer who
// edited a row the restore lost, and synced before the row's writer sent it
// again, had the edit refused, then undone by the row's return; a visit of
// the row sat refused on the device.
TEST_CASE("Sync: after a restore, an edit and a visit of a row the server lost wait "
          "for it, and are applied when its writer sends it again",
          "[sync][integration][restore]") {
  Field f;
  f.ExpectSentBack();
  const std::string creator = f.Enrolled("creator", "field_officer", "5011");
  const std::string editor = f.Enrolled("editor", "field_officer", "5011");
  f.SyncOk(creator);
  f.SyncOk(editor);
  const std::string data = f.server().data_dir();
  REQUIRE(f.server().Stop() == 0);
  const std::string backup = f.dir() + "/backup";
  BackupTestServerDb(data, backup);
  REQUIRE(f.server().Start());

  std::vector<std::string> args = NewProducer("กลุ่มทอผ้าบ้านป่าตุ้ม", "5011");
  args.insert(args.end(), {"--members", "10"});
  const std::string x = f.Add(creator, args);
  f.SyncOk(creator);
  f.SyncOk(editor);
  REQUIRE(f.Kbo(editor, {"edit", "producer", x, "--set", "members=25"}).exit_code == 0);
  const std::string visit = f.Add(editor, {"visit", "add", "--producer", x});

  // The recommended restore: server.db alone.
  REQUIRE(f.server().Stop() == 0);
  RestoreTestServerDb(data, backup);
  REQUIRE(f.server().Start());

  // The editor syncs first: kept waiting, not refused, and said so.
  CliResult first = f.Sync(editor);
  INFO(first.out << first.err << f.server().log());
  REQUIRE(first.exit_code == 0);
  CHECK(first.out.find("wait on the server") != std::string::npos);
  CHECK(first.out.find("refused") == std::string::npos);
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 0);
  CliResult listed = f.Kbo(editor, {"refused", "list"});
  CHECK(listed.err.find("wait on the server for a row it does not hold yet") !=
        std::string::npos);

  // The creator sends its lost set again: the edit and the visit are
  // applied with it.
  f.SyncOk(creator);
  CHECK(f.ServerCount("SELECT members FROM producer WHERE id = '" + x + "'") == 25);
  CHECK(f.ServerCount("SELECT count(*) FROM visit WHERE id = '" + visit + "'") == 1);
  CHECK(f.ServerCount("SELECT count(*) FROM refused_row WHERE settled_at IS NULL") == 0);
  // The edit saw the creation: no conflict for the office, though its base
  // names a sequence from before the restore.
  CHECK(f.ServerCount("SELECT count(*) FROM conflict") == 0);
  f.SyncOk(editor);
  f.SyncOk(creator);
  CHECK(f.KboJson(editor, {"show", "producer", x})["members"] == 25);
  CHECK(f.KboJson(creator, {"show", "producer", x})["members"] == 25);
  CHECK(f.KboJson(editor, {"status"})["refused_rows"] == 0);
  CHECK(Field::DeviceState(editor) == f.ServerState());
  CHECK(Field::DeviceState(creator) == f.ServerState());
}

TEST_CASE("Sync: a phone restored from an old backup is refused as forked, keeping "
          "everything, and enrolled again goes on as a new device, nothing lost",
          "[sync][integration]") {
  namespace fs = std::filesystem;
  Field f;
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string first = f.Add(trainer, NewProducer("ก่อนสำรอง", "5011"));
  f.SyncOk(trainer);
  // Recorded, not yet sent: in the backup, and sent before the restore.
  const std::string pending = f.Add(trainer, NewProducer("ค้างส่งตอนสำรอง", "5011"));
  REQUIRE(f.Kbo(trainer, {"edit", "producer", first, "--set", "village=บ้านป่าตุ้ม"})
              .exit_code == 0);
  // A backup of the phone, then a day recorded and sent.
  const std::string backup = f.dir() + "/trainer.backup";
  fs::copy(trainer, backup, fs::copy_options::recursive);
  const std::string sent = f.Add(trainer, NewProducer("ส่งก่อนกู้คืน", "5011"));
  f.SyncOk(trainer);
  // The phone restored from the backup; the trainer records on.
  fs::remove_all(trainer);
  fs::copy(backup, trainer, fs::copy_options::recursive);
  const std::string after = f.Add(trainer, NewProducer("หลังกู้คืน", "5011"));
  REQUIRE(f.Kbo(trainer, {"edit", "producer", first, "--set", "phone=0811111111"})
              .exit_code == 0);
  const std::string old_id = f.KboJson(trainer, {"status"})["device_id"];
  CliResult forked = f.Sync(trainer);
  INFO(forked.err);
  CHECK(forked.exit_code == 5);
  CHECK(forked.err.find("forked") != std::string::npos);
  CHECK(forked.err.find("run kbo enroll") != std::string::npos);
  CHECK(f.ServerCount("SELECT count(*) FROM producer WHERE id = '" + after + "'") == 0);
  // Enrolled again (the same kind of token as before): a new device.
  CliResult again = f.Kbo(trainer, {"enroll", "--server", f.url(), "--token",
                                    f.Token("trainer", "5011")});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(again.err.find("enrolled as a new device") != std::string::npos);
  CHECK(again.err.find(old_id) != std::string::npos);
  const std::string new_id = f.KboJson(trainer, {"status"})["device_id"];
  CHECK(new_id != old_id);
  f.SyncOk(trainer);
  // Everything is on the server once: the sets sent before the restore, and
  // what was recorded after it.
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 4);
  CHECK(f.ServerCount("SELECT count(*) FROM producer WHERE id IN ('" + first + "', '" +
                      pending + "', '" + sent + "', '" + after + "')") == 4);
  CHECK(f.ServerCount("SELECT count(*) FROM producer WHERE id = '" + first +
                      "' AND village = 'บ้านป่าตุ้ม'") == 1);
  CHECK(f.ServerCount("SELECT count(*) FROM producer WHERE id = '" + first +
                      "' AND phone = '0811111111'") == 1);
  CHECK(f.ServerCount("SELECT count(*) FROM conflict") == 0);
  f.SyncOk(trainer);
  CHECK(Field::DeviceState(trainer) == f.ServerState());
  CHECK(f.KboJson(trainer, {"status"})["pending_changes"] == 0);
  // And it goes on recording and syncing as the new device.
  f.Add(trainer, NewProducer("วันถัดไป", "5011"));
  f.SyncOk(trainer);
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 5);
}

TEST_CASE("Sync: a bundle carried on a USB stick is imported once, and the device's "
          "later sync is idempotent", "[sync][integration][bundle]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  f.Add(officer, NewProducer("ผ่าน USB", "5011"));
  const std::string bundle = f.dir() + "/officer.kbo";
  REQUIRE(f.Kbo(officer, {"bundle", "export", bundle}).exit_code == 0);
  REQUIRE(f.Server({"bundle", "import", bundle}).exit_code == 0);
  REQUIRE(f.Server({"bundle", "import", bundle}).exit_code == 0);
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 1);
  f.SyncOk(officer);
  CHECK(f.ServerCount("SELECT count(*) FROM change_set_log") == 1);
  CHECK(f.KboJson(officer, {"status"})["pending_changes"] == 0);
}

// Left by stop 48: the bundle was built whole in memory (every photo a
// device took, for `--from 1 --photos`), more than a phone or an old laptop
// holds.
TEST_CASE("Sync: a bundle of photos is written as it is built, one photo in memory at "
          "a time", "[sync][integration][bundle][photos]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string producer = f.Add(officer, NewProducer("กลุ่มทอผ้า", "5011"));
  // Six photos of 8 MiB, kept as taken (not decoded: a small JPEG and noise).
  constexpr size_t kPhotoBytes = size_t{8} << 20;
  std::mt19937_64 noise(49);
  std::vector<std::string> shas;
  for (int i = 0; i < 6; ++i) {
    std::string photo = SampleJpeg(64, 48);
    while (photo.size() < kPhotoBytes) {
      const uint64_t v = noise();
      photo.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    const std::string file = f.dir() + "/IMG_" + std::to_string(i) + ".jpg";
    REQUIRE(WriteFileAtomically(file, photo, 0600).ok());
    const std::string id = f.Add(officer, {"photo", "add", file, "--as-taken", "--subject",
                                           "producer:" + producer});
    shas.push_back(f.KboJson(officer, {"show", "photo", id})["sha256"].get<std::string>());
  }
  const CliResult rows_only = f.Kbo(officer, {"bundle", "export", f.dir() + "/rows.kbo"});
  REQUIRE(rows_only.exit_code == 0);
  const std::string bundle = f.dir() + "/photos.kbo";
  const CliResult with_photos = f.Kbo(officer, {"bundle", "export", bundle, "--photos"});
  INFO(with_photos.out << with_photos.err);
  REQUIRE(with_photos.exit_code == 0);
  CHECK(with_photos.out.find("6 photos") != std::string::npos);
  // 48 MiB of photos; the export holds about one at a time.
  INFO("peak RSS " << rows_only.max_rss_kib << " KiB without photos, "
                   << with_photos.max_rss_kib << " KiB with");
  CHECK(with_photos.max_rss_kib - rows_only.max_rss_kib < 24 * 1024);
  CHECK_FALSE(FileExists(bundle + ".tmp"));

  // What it wrote is whole: the office takes every photo from it.
  CliResult imported = f.Server({"bundle", "import", bundle});
  INFO(imported.out << imported.err);
  REQUIRE(imported.exit_code == 0);
  for (const std::string& sha : shas) {
    CHECK(f.ServerCount("SELECT count(*) FROM blob WHERE sha256 = '" + sha +
                        "' AND complete_at IS NOT NULL") == 1);
  }
}

// A server that lost change sets a device saw confirmed (its database
// restored from an older backup) gets them back by bundle: the import of a
// later set names the one it expects and the command that writes it; the
// device writes confirmed sets with --from.
TEST_CASE("Sync: bundle export --from SEQ writes confirmed change sets too, and an "
          "import that meets a gap names it",
          "[sync][integration][bundle]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string first_producer = f.Add(officer, NewProducer("ชุดที่หนึ่ง", "5011"));
  const std::string file = f.dir() + "/IMG_0001.jpg";
  REQUIRE(WriteFileAtomically(file, SampleJpeg(320, 240), 0600).ok());
  const std::string sha = f.PhotoSha(
      officer, f.Add(officer, {"photo", "add", file, "--subject", "producer:" + first_producer}));
  f.SyncOk(officer);  // set 1 and its photo, confirmed
  f.Add(officer, NewProducer("ชุดที่สอง", "5011"));
  const std::string first = f.dir() + "/two.kbo";
  REQUIRE(f.Kbo(officer, {"bundle", "export", first}).exit_code == 0);  // seals set 2
  f.Add(officer, NewProducer("ชุดที่สาม", "5011"));
  // Set 3 alone: the server holds set 1 only.
  const std::string later = f.dir() + "/three.kbo";
  CliResult three = f.Kbo(officer, {"bundle", "export", later, "--from", "3"});
  INFO(three.err);
  REQUIRE(three.exit_code == 0);
  CHECK(three.out.find("1 change set (#3") != std::string::npos);
  CliResult gap = f.Server({"bundle", "import", later});
  CHECK(gap.exit_code == 5);
  const std::string said = gap.out + gap.err;
  INFO(said);
  CHECK(said.find("(expected 2); on the device, kbo bundle export FILE --from 2 --photos") !=
        std::string::npos);
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 1);
  // From 1: the confirmed set too, then 2 and 3; the server takes what it lacks.
  const std::string all = f.dir() + "/all.kbo";
  CliResult from1 = f.Kbo(officer, {"bundle", "export", all, "--from", "1", "--photos"});
  REQUIRE(from1.exit_code == 0);
  CHECK(from1.out.find("3 change sets (#1-#3") != std::string::npos);
  // The photo set 1 names, sent before: in the bundle too.
  CHECK(from1.out.find(", 1 photo (") != std::string::npos);
  auto records = client::ParseBundle(*ReadFileBounded(all, size_t{64} << 20));
  REQUIRE(records.ok());
  bool photo_in = false;
  for (const auto& r : *records) {
    if (r.kind == client::kBundlePhoto && r.bytes.substr(0, 64) == sha) photo_in = true;
  }
  CHECK(photo_in);
  CliResult in = f.Server({"bundle", "import", all});
  INFO(in.out << in.err);
  CHECK(in.exit_code == 0);
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 3);
  // A number the device does not hold, or none: nothing written.
  const std::string none = f.dir() + "/none.kbo";
  CHECK(f.Kbo(officer, {"bundle", "export", none, "--from", "9"}).exit_code == 3);
  CHECK(f.Kbo(officer, {"bundle", "export", none, "--from", "0"}).exit_code == 2);
  CHECK_FALSE(FileExists(none));
  f.SyncOk(officer);
  CHECK(Field::DeviceState(officer) == f.ServerState());
}

TEST_CASE("Sync: a bundle import the server's own disk stops is no refusal: it says "
          "what went in and to import the same file again, which then finishes",
          "[sync][integration][bundle]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string producer = f.Add(officer, NewProducer("ภาพผ่าน USB", "5011"));
  const std::string file = f.dir() + "/IMG_0002.jpg";
  REQUIRE(WriteFileAtomically(file, SampleJpeg(640, 480), 0600).ok());
  const std::string sha = f.PhotoSha(
      officer,
      f.Add(officer, {"photo", "add", file, "--subject", "producer:" + producer}));
  const std::string bundle = f.dir() + "/officer.kbo";
  REQUIRE(f.Kbo(officer, {"bundle", "export", bundle, "--photos"}).exit_code == 0);
  // The server cannot write the photo: where its file is written first, a
  // folder.
  const std::string blocker = f.server().data_dir() + "/blobs/" + sha + ".tmp";
  REQUIRE(std::filesystem::create_directory(blocker));
  CliResult stopped = f.Server({"bundle", "import", bundle});
  INFO(stopped.err);
  CHECK(stopped.exit_code == 1);  // the server's fault, not a refusal (5)
  CHECK(stopped.err.find("the import stopped at record") != std::string::npos);
  CHECK(stopped.err.find("import the same file again") != std::string::npos);
  CHECK(stopped.err.find("refused") == std::string::npos);
  CHECK(f.ServerCount("SELECT count(*) FROM producer") == 1);  // before it: in
  CHECK(f.ServerCount("SELECT count(*) FROM blob WHERE complete_at IS NOT NULL") == 0);
  REQUIRE(std::filesystem::remove(blocker));
  CliResult again = f.Server({"bundle", "import", bundle});
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(f.ServerCount("SELECT count(*) FROM blob WHERE sha256 = '" + sha +
                      "' AND complete_at IS NOT NULL") == 1);
  CHECK(f.ServerCount("SELECT count(*) FROM change_set_log") == 1);
}

TEST_CASE("Sync: a revoked device is told its records are kept, kbo status "
          "says so, and its bundle goes in only when the office vouches for it",
          "[integration][sync]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string producer = f.Producer(officer, "กลุ่มทอผ้าบ้านป่าตุ้ม", "5011");
  f.SyncOk(officer);
  const std::string visit =
      f.Add(officer, {"visit", "add", "--producer", producer, "--notes",
                      "บันทึกก่อนถูกเพิกถอน"});
  const std::string id = f.KboJson(officer, {"status"})["device_id"].get<std::string>();
  REQUIRE(f.Server({"device", "revoke", id}).exit_code == 0);

  CliResult sync = f.Sync(officer);
  INFO(sync.out << sync.err);
  CHECK(sync.exit_code == 5);
  CHECK_THAT(sync.err, Catch::Contains("revoked") &&
                           Catch::Contains("kept here") &&
                           Catch::Contains("kbo bundle export FILE --photos") &&
                           Catch::Contains("--accept-revoked " + id));
  const auto status = f.KboJson(officer, {"status"});
  CHECK(status["revoked"] == true);
  CHECK_THAT(f.Kbo(officer, {"status"}).out,
             Catch::Contains("the server revoked this device"));
  CHECK(f.KboJson(officer, {"list", "visit"}).size() == 1);
  // Still said after a sync that failed for another reason (no server).
  CHECK(f.Kbo(officer, {"sync", "--server", "http://127.0.0.1:1"}).exit_code != 0);
  CHECK(f.KboJson(officer, {"status"})["revoked"] == true);

  const std::string file = f.dir() + "/officer.kbo";
  REQUIRE(f.Kbo(officer, {"bundle", "export", file, "--photos"}).exit_code == 0);
  CliResult plain = f.Server({"bundle", "import", file});
  CHECK(plain.exit_code == 5);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM visit WHERE id = '" + visit + "'") == 0);
  CliResult vouched = f.Server({"bundle", "import", file, "--accept-revoked", id});
  INFO(vouched.out << vouched.err);
  CHECK(vouched.exit_code == 0);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM visit WHERE id = '" + visit + "'") == 1);
}

// A phone app has no bundle: a revoked phone whose person the office takes
// back is given a new token. Enrolling with it was refused ("revoked"), and
// the phone's unsent records had no way off it but a fresh install, which
// deletes them.
TEST_CASE("Sync: a revoked device given a new token enrols as a new device and "
          "sends what the server had not confirmed",
          "[integration][sync]") {
  // Told by a sync that it was revoked, or not (the office gave the token
  // before the phone synced again): the server's answer tells it then.
  const bool told = GENERATE(true, false);
  CAPTURE(told);
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string producer = f.Producer(officer, "กลุ่มทอผ้าบ้านป่าตุ้ม", "5011");
  // A photo taken and sent (its upload copy) before the revocation: its
  // original stays on the phone.
  const std::string original = SampleJpeg(2400, 1800);
  const std::string original_sha = HexEncode(Sha256(original));
  REQUIRE(WriteFileAtomically(f.dir() + "/IMG_0042.jpg", original, 0644).ok());
  const std::string photo = f.Add(officer, {"photo", "add", f.dir() + "/IMG_0042.jpg",
                                            "--subject", "producer:" + producer});
  f.SyncOk(officer);
  const std::string before =
      f.Add(officer, {"visit", "add", "--producer", producer, "--notes", "ก่อนถูกเพิกถอน"});
  const std::string id = f.KboJson(officer, {"status"})["device_id"].get<std::string>();
  REQUIRE(f.Server({"device", "revoke", id}).exit_code == 0);
  if (told) CHECK(f.Sync(officer).exit_code == 5);
  const std::string after =
      f.Add(officer, {"visit", "add", "--producer", producer, "--notes", "หลังถูกเพิกถอน"});
  REQUIRE(f.Kbo(officer, {"edit", "producer", producer, "--set", "phone=0811111111"})
              .exit_code == 0);

  CliResult enrolled =
      f.Kbo(officer, {"enroll", "--server", f.url(), "--token", f.Token("field_officer", "5011")});
  INFO(enrolled.out << enrolled.err);
  REQUIRE(enrolled.exit_code == 0);
  CHECK_THAT(enrolled.err, Catch::Contains("the server had revoked this device") &&
                               Catch::Contains("3 changes"));
  const std::string now_id = f.KboJson(officer, {"status"})["device_id"].get<std::string>();
  CHECK(now_id != id);
  CHECK(f.KboJson(officer, {"status"})["revoked"] == false);
  f.SyncOk(officer);
  for (const std::string& v : {before, after}) {
    CHECK(f.ServerCount("SELECT COUNT(*) FROM visit WHERE id = '" + v + "'") == 1);
  }
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE phone = '0811111111'") == 1);
  CHECK(Field::DeviceState(officer) == f.ServerState());
  // The old identity stays revoked; the new one is the office's to see.
  bool old_revoked = false, new_active = false;
  for (const auto& d : f.ServerJson({"device", "list"})) {
    if (d["device_id"] == id) old_revoked = !d["revoked_at"].is_null();
    if (d["device_id"] == now_id) new_active = d["revoked_at"].is_null();
  }
  CHECK(old_revoked);
  CHECK(new_active);
  // The new identity took the old one's place (its key signed for it): the
  // office's request for the original reaches this phone, which sends it.
  CHECK(f.ServerCount("SELECT COUNT(*) FROM device WHERE device_id = '" + id +
                      "' AND successor_id = '" + now_id + "'") == 1);
  CliResult asked = f.Server({"photo", "ask-original", photo});
  INFO(asked.out << asked.err);
  REQUIRE(asked.exit_code == 0);
  CliResult sent = f.Kbo(officer, {"sync", "--server", f.url()});
  INFO(sent.out << sent.err << f.server().log());
  CHECK(sent.exit_code == 0);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM blob WHERE sha256 = '" + original_sha +
                      "' AND complete_at IS NOT NULL") == 1);
}

// kbo reuses a device.key it finds when it makes a new field.db (a crash
// between the two at first use). A field.db lost or deleted with the key
// kept made every new enrolment fail: "this public key is already enrolled
// for another device", with no way out but knowing to delete the key.
TEST_CASE("Sync: a home whose field.db was lost but device.key kept enrols again with a "
          "new key",
          "[integration][sync]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  f.Producer(officer, "กลุ่มทอผ้าบ้านป่าตุ้ม", "5011");
  f.SyncOk(officer);
  const std::string old_id = f.KboJson(officer, {"status"})["device_id"].get<std::string>();
  for (const char* file : {"/field.db", "/field.db-wal", "/field.db-shm"}) {
    std::remove((officer + file).c_str());
  }
  const std::string after_loss = f.Producer(officer, "ร้านน้ำพริกแม่แวน", "5011");
  CliResult enrolled =
      f.Kbo(officer, {"enroll", "--server", f.url(), "--token", f.Token("field_officer", "5011")});
  INFO(enrolled.out << enrolled.err);
  REQUIRE(enrolled.exit_code == 0);
  CHECK_THAT(enrolled.err, Catch::Contains("already enrolled as another device"));
  const std::string new_id = f.KboJson(officer, {"status"})["device_id"].get<std::string>();
  CHECK(new_id != old_id);
  f.SyncOk(officer);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE id = '" + after_loss + "'") == 1);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer") == 2);
}

TEST_CASE("Sync: a producer moved to another district takes its products and "
          "visits along, and the server takes every change",
          "[sync][integration]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011,5001");
  const std::string p = f.Add(officer, {"producer", "add", "--kind", "group",
                                        "--name", "กลุ่มย้ายอำเภอ",
                                        "--district", "5011"});
  const std::string v = f.Add(officer, {"visit", "add", "--producer", p,
                                        "--purpose", "ติดตาม"});
  const std::string pr = f.Add(officer, {"product", "add", "--producer", p,
                                         "--name", "ผ้าทอย้ายตาม"});
  f.SyncOk(officer);

  CliResult moved = f.Kbo(officer, {"edit", "producer", p, "--set",
                                    "district_code=5001"});
  INFO(moved.err);
  REQUIRE(moved.exit_code == 0);
  CHECK(moved.err.find("moved with it to district 5001: 1 product and 1 visit") !=
        std::string::npos);
  CliResult synced = f.Sync(officer);
  INFO(synced.out << synced.err);
  REQUIRE(synced.exit_code == 0);
  CHECK(synced.out.find("refused") == std::string::npos);
  CHECK(f.ServerJson({"refused", "list"}).empty());
  CHECK(f.ServerCount("SELECT COUNT(*) FROM visit WHERE id = '" + v +
                      "' AND district_code = '5001'") == 1);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM product WHERE id = '" + pr +
                      "' AND district_code = '5001'") == 1);
  CHECK(Field::DeviceState(officer) == f.ServerState());
  // A visit alone is not moved: exit 2, nothing written.
  CliResult alone = f.Kbo(officer, {"edit", "visit", v, "--set",
                                    "district_code=5011"});
  CHECK(alone.exit_code == 2);
  CHECK(f.KboJson(officer, {"status"})["pending_changes"] == 0);
}

TEST_CASE("Sync: a producer moved out of a device's districts leaves that "
          "device, an offline edit of it kept as refused, and comes back whole "
          "with the server's values when moved back",
          "[sync][integration][scope][moved]") {
  Field f;
  const std::string office = f.Enrolled("office", "central_office", "all");
  const std::string phrao = f.Enrolled("phrao", "field_officer", "5011");
  const std::string fang = f.Enrolled("fang", "field_officer", "5009");
  const std::string p = f.Add(phrao, NewProducer("กลุ่มทอผ้าบ้านป่าแดด", "5011"));
  REQUIRE(f.Kbo(phrao, {"edit", "producer", p, "--set", "phone=0810000000"})
              .exit_code == 0);
  const std::string v = f.Add(phrao, {"visit", "add", "--producer", p,
                                      "--purpose", "ติดตาม"});
  const std::string stays = f.Add(phrao, NewProducer("กลุ่มจักสานพร้าว", "5011"));
  f.SyncOk(phrao);
  f.SyncOk(office);

  // Offline in Phrao: a new phone number for the group.
  REQUIRE(f.Kbo(phrao, {"edit", "producer", p, "--set", "phone=0899999999"})
              .exit_code == 0);
  // Meanwhile the office moves the group (and its visit) to Fang, whose
  // officer renames it.
  REQUIRE(f.Kbo(office, {"edit", "producer", p, "--set", "district_code=5009"})
              .exit_code == 0);
  f.SyncOk(office);
  f.SyncOk(fang);
  REQUIRE(f.Kbo(fang, {"edit", "producer", p, "--set", "name=กลุ่มทอผ้าฝาง"})
              .exit_code == 0);
  f.SyncOk(fang);

  // Phrao syncs late: its edit is refused (the group is not Phrao's any
  // more) and kept with what was typed; the group and its visit leave the
  // device, which learns nothing of Fang's rename; its other producer stays.
  CliResult late = f.Sync(phrao);
  INFO(late.out << late.err);
  REQUIRE(late.exit_code == 0);
  CHECK(late.out.find("2 rows moved to a district outside this device's (no "
                      "longer on this device; the server keeps them)") !=
        std::string::npos);
  CHECK(f.Kbo(phrao, {"show", "producer", p}).exit_code != 0);
  CHECK(f.Kbo(phrao, {"show", "visit", v}).exit_code != 0);
  CHECK(Ids(f.KboJson(phrao, {"list", "producer"})) == std::set<std::string>{stays});
  CHECK(Field::DeviceState(phrao).find("กลุ่มทอผ้าฝาง") == std::string::npos);
  json refused = f.KboJson(phrao, {"refused", "list"});
  REQUIRE(refused.size() == 1);
  CHECK(refused[0]["reason"] == "out_of_scope");
  CHECK(refused[0].dump().find("0899999999") != std::string::npos);
  CHECK(refused[0]["not_held"] == true);
  CliResult listed = f.Kbo(phrao, {"refused", "list"});
  CHECK(listed.out.find("(no longer on this device)") != std::string::npos);
  CHECK(listed.err.find("1 refused row is no longer on this device (moved to a "
                        "district outside its own): nothing to fix here") !=
        std::string::npos);
  CHECK(listed.err.find("to fix (`kbo edit`)") == std::string::npos);
  CHECK(f.KboJson(phrao, {"status"})["pending_changes"] == 0);
  // A second sync says nothing more of it.
  CliResult again = f.Sync(phrao);
  REQUIRE(again.exit_code == 0);
  CHECK(again.out.find("moved to a district") == std::string::npos);

  // Moved back to Phrao: the device holds the server's row, not its old
  // refused phone number, and Fang's officer sees it leave.
  REQUIRE(f.Kbo(office, {"edit", "producer", p, "--set", "district_code=5011"})
              .exit_code == 0);
  f.SyncOk(office);
  f.SyncOk(phrao);
  json held = f.KboJson(phrao, {"show", "producer", p});
  CHECK(held["district_code"] == "5011");
  CHECK(held["name"] == "กลุ่มทอผ้าฝาง");
  CHECK(held["phone"] == "0810000000");
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE id = '" + p +
                      "' AND phone = '0810000000' AND district_code = '5011'") == 1);
  CliResult fang_sync = f.Sync(fang);
  INFO(fang_sync.out << fang_sync.err);
  REQUIRE(fang_sync.exit_code == 0);
  CHECK(fang_sync.out.find(", 2 rows moved to a district outside this device's") !=
        std::string::npos);
  CHECK(fang_sync.out.find("nothing new to pull") == std::string::npos);
  CHECK(f.Kbo(fang, {"show", "producer", p}).exit_code != 0);
}

TEST_CASE("Sync: a conflict follows its row to another district: the old district's "
          "devices drop it with the row, the new district's office decides it",
          "[sync][integration][scope][moved][conflict]") {
  Field f;
  const std::string both = f.Enrolled("both", "field_officer", "5009,5011");
  const std::string phrao = f.Enrolled("phrao", "field_officer", "5011");
  const std::string p = f.Add(both, NewProducer("กลุ่มทอผ้าบ้านป่าแดด", "5011"));
  f.SyncOk(both);
  f.SyncOk(phrao);
  REQUIRE(f.Kbo(both, {"edit", "producer", p, "--set", "contact=นายเอ ทดสอบ"}).exit_code == 0);
  REQUIRE(f.Kbo(phrao, {"edit", "producer", p, "--set", "contact=นายบี ทดสอบ"}).exit_code == 0);
  f.SyncOk(both);
  f.SyncOk(phrao);
  REQUIRE(f.KboJson(phrao, {"conflicts"}).size() == 1);
  const json before = f.ServerJson({"conflicts", "list"});
  REQUIRE(before.size() == 1);
  CHECK(before[0]["district_code"] == "5011");
  // A Fang device, its cursor past the conflict already.
  const std::string fang = f.Enrolled("fang", "field_officer", "5009");
  f.SyncOk(fang);
  CHECK(f.KboJson(fang, {"conflicts"}).empty());

  // The group moves to Fang.
  REQUIRE(f.Kbo(both, {"edit", "producer", p, "--set", "district_code=5009"}).exit_code == 0);
  f.SyncOk(both);
  const json after = f.ServerJson({"conflicts", "list"});
  REQUIRE(after.size() == 1);
  CHECK(after[0]["district_code"] == "5009");
  // Phrao's device lets go of the row and of its conflict (it would never
  // hear how it was decided); the device of both districts keeps both.
  CliResult synced = f.Sync(phrao);
  INFO(synced.out << synced.err);
  REQUIRE(synced.exit_code == 0);
  CHECK(f.Kbo(phrao, {"show", "producer", p}).exit_code != 0);
  CHECK(f.KboJson(phrao, {"conflicts", "--all"}).empty());
  CHECK(f.KboJson(phrao, {"status"})["open_conflicts"] == 0);
  f.SyncOk(both);
  CHECK(f.KboJson(both, {"conflicts"}).size() == 1);
  // Fang's device is sent the row and its open conflict.
  f.SyncOk(fang);
  CHECK(f.KboJson(fang, {"show", "producer", p})["district_code"] == "5009");
  CHECK(f.KboJson(fang, {"conflicts"}).size() == 1);
  CHECK(f.KboJson(fang, {"status"})["open_conflicts"] == 1);
}

TEST_CASE("Sync: a device enrolled again for fewer districts drops the rows of the "
          "district it lost that the server holds, keeps its own unsent ones, and "
          "pulls the rest",
          "[sync][integration][scope][moved]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5009,5011");
  const std::string phrao = f.Add(officer, NewProducer("กลุ่มทอผ้าพร้าว", "5011"));
  const std::string fang = f.Add(officer, NewProducer("กลุ่มจักสานฝาง", "5009"));
  const std::string visit =
      f.Add(officer, {"visit", "add", "--producer", fang, "--purpose", "ติดตาม"});
  // A Fang photo whose picture could not go up (its file gone from blobs/
  // when the sync ran): the server holds its row only.
  const std::string jpeg = f.dir() + "/fang.jpg";
  {
    std::ofstream out(jpeg, std::ios::binary);
    out << SampleJpeg(320, 240);
  }
  const std::string photo = f.Add(officer, {"photo", "add", jpeg, "--subject", "visit:" + visit});
  const std::string sha =
      f.KboJson(officer, {"show", "photo", photo})["sha256"].get<std::string>();
  const std::string blob = officer + "/blobs/" + sha.substr(0, 2) + "/" + sha;
  const std::string aside = f.dir() + "/aside.blob";
  std::filesystem::rename(blob, aside);
  f.Sync(officer);
  std::filesystem::rename(aside, blob);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM photo WHERE id = '" + photo + "'") == 1);
  // Not yet sent: a new Fang group, and a new phone number of the old one.
  const std::string unsent = f.Add(officer, NewProducer("กลุ่มใหม่ฝาง", "5009"));
  REQUIRE(f.Kbo(officer, {"edit", "producer", fang, "--set", "phone=0899999999"})
              .exit_code == 0);

  // The officer now works in Phrao only.
  CliResult again = f.Kbo(officer, {"enroll", "--server", f.url(), "--token",
                                    f.Token("field_officer", "5011")});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.err, Catch::Contains("kbo: 2 rows of districts this device no longer "
                                        "has were removed from it (the server keeps them"));
  CHECK(f.Kbo(officer, {"show", "producer", fang}).exit_code != 0);
  CHECK(f.Kbo(officer, {"show", "visit", visit}).exit_code != 0);
  CHECK(f.Kbo(officer, {"show", "producer", phrao}).exit_code == 0);
  CHECK(f.Kbo(officer, {"show", "producer", unsent}).exit_code == 0);
  // The photo whose picture has not gone up stays with its file.
  CHECK(f.Kbo(officer, {"show", "photo", photo}).exit_code == 0);
  CHECK(std::filesystem::exists(blob));
  // The server keeps them; what was typed goes and is refused, listed.
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE id = '" + fang +
                      "' AND deleted = 0") == 1);
  CliResult synced = f.Sync(officer);
  INFO(synced.out << synced.err);
  REQUIRE(synced.exit_code == 0);
  const json refused = f.KboJson(officer, {"refused", "list"});
  CHECK(refused.size() == 2);
  CHECK(refused.dump().find("0899999999") != std::string::npos);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE phone = '0899999999'") == 0);
  CHECK(f.Kbo(officer, {"show", "producer", phrao}).exit_code == 0);
  // Enrolled again for the same districts: nothing more leaves.
  CliResult same = f.Kbo(officer, {"enroll", "--server", f.url(), "--token",
                                   f.Token("field_officer", "5011")});
  REQUIRE(same.exit_code == 0);
  CHECK_THAT(same.err, !Catch::Contains("removed from it"));
  CHECK(f.Kbo(officer, {"show", "producer", unsent}).exit_code == 0);
}

TEST_CASE("Sync: after an edit refused out of the device's districts, the "
          "device's next edit of the row sends what it changes, not the whole "
          "row over a colleague's later rename",
          "[sync][integration][scope][moved]") {
  Field f;
  const std::string office = f.Enrolled("office", "central_office", "all");
  const std::string phrao = f.Enrolled("phrao", "field_officer", "5011");
  const std::string p = f.Add(phrao, {"producer", "add", "--kind", "group", "--name",
                                      "กลุ่มจักสานบ้านโป่ง", "--district", "5011",
                                      "--stars", "2"});
  f.SyncOk(phrao);
  f.SyncOk(office);
  REQUIRE(f.Kbo(office, {"edit", "producer", p, "--set", "district_code=5009"})
              .exit_code == 0);
  f.SyncOk(office);
  // A phone typed offline in Phrao: refused, the group is Fang's now.
  REQUIRE(f.Kbo(phrao, {"edit", "producer", p, "--set", "phone=0811111111"})
              .exit_code == 0);
  f.SyncOk(phrao);
  REQUIRE(f.KboJson(phrao, {"refused", "list"}).size() == 1);
  // Back to Phrao; then the office renames it, and the officer, not yet
  // synced, gives it a third star.
  REQUIRE(f.Kbo(office, {"edit", "producer", p, "--set", "district_code=5011"})
              .exit_code == 0);
  f.SyncOk(office);
  f.SyncOk(phrao);
  REQUIRE(f.Kbo(office, {"edit", "producer", p, "--set",
                         "name=กลุ่มจักสานบ้านโป่ง (วิสาหกิจชุมชน)"})
              .exit_code == 0);
  f.SyncOk(office);
  REQUIRE(f.Kbo(phrao, {"edit", "producer", p, "--set", "otop_stars=3"}).exit_code == 0);
  f.SyncOk(phrao);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE id = '" + p +
                      "' AND name = 'กลุ่มจักสานบ้านโป่ง (วิสาหกิจชุมชน)' AND "
                      "otop_stars = 3 AND district_code = '5011' AND phone IS NULL") == 1);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM conflict") == 0);
  f.SyncOk(phrao);
  CHECK(f.KboJson(phrao, {"show", "producer", p})["name"] ==
        "กลุ่มจักสานบ้านโป่ง (วิสาหกิจชุมชน)");
}

TEST_CASE("Sync: https:// to a server without TLS says to use http://, "
          "everything kept",
          "[sync][integration]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  f.Add(officer, {"producer", "add", "--kind", "group", "--name", "กลุ่มทดสอบ",
                  "--district", "5011"});
  std::string https = f.url();
  REQUIRE(https.rfind("http://", 0) == 0);
  https.insert(4, "s");
  CliResult r = f.Kbo(officer, {"sync", "--server", https});
  INFO(r.err);
  CHECK(r.exit_code == 4);
  CHECK(r.err.find("reached with http://, not https://") != std::string::npos);
  CHECK(f.KboJson(officer, {"status"})["pending_changes"] == 1);

  // Another server altogether: refused, and said which one it is enrolled
  // with.
  Field other;
  CliResult elsewhere = f.Kbo(officer, {"sync", "--server", other.url()});
  INFO(elsewhere.err);
  CHECK(elsewhere.exit_code == 5);
  CHECK(elsewhere.err.find("this device is enrolled with " + f.url()) !=
        std::string::npos);
  CHECK(f.KboJson(officer, {"status"})["pending_changes"] == 1);
}

}  // namespace
}  // namespace kbo::testing
