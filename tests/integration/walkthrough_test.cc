// What a user's walk-through of the command lines found, checked end to
// end: a real kbo-server on a loopback port and real kbo devices in Phrao
// (5011). Each test case says what it checks.
#include <string>
#include <vector>

#include "shared/fs.h"
#include "tests/integration/field.h"
#include "tests/support/test_images.h"

namespace kbo::testing {
namespace {

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A row of a `list --json` array by id; null if absent.
json RowById(const json& rows, const std::string& id) {
  for (const json& row : rows) {
    if (row["id"] == id) return row;
  }
  return json();
}

TEST_CASE("Walk-through: the producer and enrolment CSVs kbo-server exports "
          "import on a device as they are, and importing them again adds "
          "nothing",
          "[integration][import][export]") {
  Field f;
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string p = f.Add(
      trainer, {"producer", "add", "--kind", "group", "--name",
                "กลุ่มทอผ้าบ้านป่าแป๋", "--district", "พร้าว", "--tambon",
                "เวียง", "--contact", "นางบัวคำ ใจมา", "--phone", "0812345678",
                "--category", "textile", "--stars", "3", "--members", "18",
                "--cluster-brand", "-ไม่มี-"});
  const std::string w = f.Add(
      trainer, {"workshop", "add", "--title", "อบรมพัฒนาผลิตภัณฑ์ KBO รุ่นที่ 1",
                "--fiscal-year", "2567", "--district", "5011", "--start",
                "2024-03-04"});
  const std::string e =
      f.Add(trainer, {"enrolment", "add", "--workshop", w, "--producer", p,
                      "--participant", "นางสมศรี ใจดี"});
  // A visit at 10:30:15 in Bangkok: the people's files write times in
  // Bangkok time, to the second when it is not zero (once to the minute
  // only: the laptop below took 10:30:00 and its sync opened a conflict on
  // a visit nobody had changed).
  const std::string v = f.Add(
      trainer, {"visit", "add", "--producer", p, "--at",
                "2024-03-01T03:30:15Z", "--purpose", "follow_up", "--notes",
                "ดูต้นแบบผ้าทอ"});
  // A product and a judge's score: the contest sheet has a column of its
  // own (which scores the ranking counts), read past on import.
  const std::string product = f.Add(
      trainer, {"product", "add", "--producer", p, "--name", "ผ้าซิ่นตีนจก"});
  const std::string score = f.Add(
      trainer, {"contest", "score", "--product", product, "--contest",
                "KBO CM 2567", "--judge", "อ.สุดา", "--identity", "18",
                "--uniqueness", "17", "--quality", "16", "--packaging", "15",
                "--marketability", "14", "--comment", "เรื่องราวชัดเจน"});
  // A photo of the group: the people's photo.csv names its subject by the
  // group's name and its subject type as "ผู้ผลิต".
  const std::string photo_file = f.dir() + "/IMG_0001.jpg";
  REQUIRE(WriteFileAtomically(photo_file, SampleJpeg(320, 240), 0600).ok());
  const std::string ph = f.Add(trainer, {"photo", "add", photo_file, "--subject",
                                         "producer:" + p, "--caption", "ผ้าทอลายน้ำไหล"});
  f.SyncOk(trainer);

  const std::string people = f.dir() + "/export";
  const std::string raw = f.dir() + "/export-raw";
  REQUIRE(f.Server({"export", "csv", "--out", people}).exit_code == 0);
  REQUIRE(f.Server({"export", "csv", "--out", raw, "--raw"}).exit_code == 0);
  {
    // The file the walk-through had: a Thai header with the id column.
    Result<std::string> text =
        ReadFileBounded(people + "/producer.csv", size_t{1} << 20);
    REQUIRE(text.ok());
    CHECK(Has(*text, ",รหัส\r\n"));
    CHECK(Has(*text, "081-234-5678"));
    CHECK(Has(*text, "'-ไม่มี-"));
  }

  // The device that recorded them: everything is here already.
  CliResult again =
      f.Kbo(trainer, {"import", "producers", people + "/producer.csv"});
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(again.out.empty());
  CHECK(Has(again.err, "imported 0 producers, skipped 1 already on this device"));
  again = f.Kbo(trainer, {"import", "enrolments", people + "/enrolment.csv"});
  CHECK(again.exit_code == 0);
  CHECK(Has(again.err, "imported 0 enrolments, skipped 1 already on this device"));

  // A new laptop, not synced yet: the office's people's files give it the
  // register, each row under its own id, dates and times as the files
  // write them ("4 มี.ค. 2567", "1 มี.ค. 2567 10:30").
  const std::string laptop = f.Enrolled("laptop", "trainer", "5011");
  CliResult workshops =
      f.Kbo(laptop, {"import", "workshops", people + "/workshop.csv"});
  INFO(workshops.err);
  REQUIRE(workshops.exit_code == 0);
  CHECK(workshops.out == w + "\n");
  CliResult producers =
      f.Kbo(laptop, {"import", "producers", people + "/producer.csv"});
  INFO(producers.err);
  REQUIRE(producers.exit_code == 0);
  CHECK(producers.out == p + "\n");
  CHECK(Has(producers.err, "imported 1 producer"));
  CliResult enrolments =
      f.Kbo(laptop, {"import", "enrolments", people + "/enrolment.csv"});
  INFO(enrolments.err);
  REQUIRE(enrolments.exit_code == 0);
  CHECK(enrolments.out == e + "\n");
  CliResult visits = f.Kbo(laptop, {"import", "visits", people + "/visit.csv"});
  INFO(visits.err);
  REQUIRE(visits.exit_code == 0);
  CHECK(visits.out == v + "\n");
  CliResult photos = f.Kbo(laptop, {"import", "photo", people + "/photo.csv"});
  INFO(photos.err);
  REQUIRE(photos.exit_code == 0);
  CHECK(photos.out == ph + "\n");
  CliResult products =
      f.Kbo(laptop, {"import", "products", people + "/product.csv"});
  INFO(products.err);
  REQUIRE(products.exit_code == 0);
  CHECK(products.out == product + "\n");
  CliResult scores =
      f.Kbo(laptop, {"import", "contest_score", people + "/contest_score.csv"});
  INFO(scores.err);
  REQUIRE(scores.exit_code == 0);
  CHECK(scores.out == score + "\n");

  // The same rows, value for value, Thai as it was typed.
  for (const char* entity : {"producer", "workshop", "enrolment", "visit", "photo",
                             "product", "contest_score"}) {
    CAPTURE(entity);
    CHECK(f.KboJson(laptop, {"list", entity}) ==
          f.KboJson(trainer, {"list", entity}));
  }
  json producer = f.KboJson(laptop, {"show", "producer", p});
  CHECK(producer["phone"] == "0812345678");
  CHECK(producer["cluster_brand"] == "-ไม่มี-");
  CHECK(producer["contact"] == "นางบัวคำ ใจมา");

  // Again, and the raw files too: nothing new.
  for (const std::string& file :
       {people + "/producer.csv", raw + "/producer.csv"}) {
    CliResult twice = f.Kbo(laptop, {"import", "producers", file});
    CHECK(twice.exit_code == 0);
    CHECK(twice.out.empty());
  }

  // Synced, the laptop's rows are the server's rows: no copies, no
  // conflicts, the same values everywhere.
  f.SyncOk(laptop);
  f.SyncOk(trainer);
  CHECK(f.ServerJson({"list", "producer"}).size() == 1);
  CHECK(f.ServerJson({"list", "enrolment"}).size() == 1);
  CHECK(f.ServerJson({"list", "workshop"}).size() == 1);
  CHECK(f.ServerJson({"conflicts", "list"}).empty());
  CHECK(RowById(f.ServerJson({"list", "producer"}), p)["phone"] == "0812345678");
  CHECK(Field::DeviceState(laptop) == Field::DeviceState(trainer));
}

TEST_CASE("Walk-through: reports follow a workshop shortened to 3 days on a "
          "device that had not seen its marks, and say what was marked on "
          "days 4 and 5",
          "[integration][reports]") {
  Field f;
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string p = f.Producer(trainer, "กลุ่มทอผ้าบ้านป่าแป๋", "5011");
  const std::string w = f.Add(
      trainer, {"workshop", "add", "--title", "อบรม KBO พร้าว", "--fiscal-year",
                "2567", "--district", "5011", "--start", "2024-03-04"});
  const std::string e =
      f.Add(trainer, {"enrolment", "add", "--workshop", w, "--producer", p,
                      "--participant", "นางสมศรี ใจดี"});
  f.SyncOk(trainer);
  // A colleague's device holds the workshop before any mark is made.
  const std::string colleague = f.Enrolled("colleague", "trainer", "5011");
  f.SyncOk(colleague);
  for (int day = 1; day <= 5; ++day) {
    f.Add(trainer, {"attendance", "mark", "--workshop", w, "--enrolment", e,
                    "--day", std::to_string(day), "--status", "present"});
  }
  // The device holding the marks will not cut the days under them.
  CliResult refused = f.Kbo(trainer, {"edit", "workshop", w, "--set", "days=3"});
  CHECK(refused.exit_code == 2);
  CHECK(Has(refused.err, "2 attendance marks are recorded on days 4 to 5"));
  f.SyncOk(trainer);
  json before = f.ServerJson({"report", "attendance", "--workshop", w});
  CHECK(before["days"] == 5);
  CHECK(before["marks_beyond_days"] == 0);

  // The colleague, who has not seen them, does.
  REQUIRE(f.Kbo(colleague, {"edit", "workshop", w, "--set", "days=3"}).exit_code ==
          0);
  f.SyncOk(colleague);
  REQUIRE(RowById(f.ServerJson({"list", "workshop"}), w)["days"] == 3);

  json grid = f.ServerJson({"report", "attendance", "--workshop", w});
  CHECK(grid["days"] == 3);
  CHECK(grid["daily"].size() == 3);
  REQUIRE(grid["participants"].size() == 1);
  CHECK(grid["participants"][0]["statuses"].size() == 3);
  CHECK(grid["participants"][0]["days_attended"] == 3);
  CHECK(grid["marks_beyond_days"] == 2);
  CHECK(grid["last_marked_day"] == 5);
  CliResult text =
      f.Server({"report", "attendance", "--workshop", w, "--lang", "en"});
  REQUIRE(text.exit_code == 0);
  CHECK(Has(text.out, "Day 3"));
  CHECK_FALSE(Has(text.out, "Day 4"));
  CHECK(Has(text.out, "3/3"));
  CHECK(Has(text.out, "2 marks after day 3, the workshop's last day (up to "
                      "day 5), not counted here"));
  CHECK(Has(f.Server({"report", "attendance", "--workshop", w}).out,
            "ไม่นับในรายงานนี้"));

  json certificates = f.ServerJson({"report", "certificates", "--workshop", w});
  CHECK(certificates["days"] == 3);
  CHECK(certificates["min_days"] == 3);
  CHECK(certificates["eligible"] == 1);
  CHECK(certificates["marks_beyond_days"] == 2);
  // The marks themselves are all still there.
  CHECK(f.ServerJson({"list", "attendance"}).size() == 5);
}

TEST_CASE("Walk-through: a device's first sync does not count its own rows "
          "as pulled, and a second device counts what it receives",
          "[integration][sync]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string p = f.Producer(officer, "กลุ่มทอผ้าบ้านป่าแป๋", "5011");
  f.Producer(officer, "กลุ่มจักสานบ้านโป่ง", "5011");
  CliResult first = f.Sync(officer);
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(Has(first.out, "(2 changes), nothing new to pull"));

  const std::string second = f.Enrolled("second", "field_officer", "5011");
  CliResult pulled = f.Sync(second);
  REQUIRE(pulled.exit_code == 0);
  CHECK(Has(pulled.out, "nothing to push, pulled 2 changes"));

  REQUIRE(f.Kbo(second, {"edit", "producer", p, "--set", "stars=4"}).exit_code ==
          0);
  CliResult edited = f.Sync(second);
  REQUIRE(edited.exit_code == 0);
  CHECK(Has(edited.out, "(1 change), nothing new to pull"));
  CliResult news = f.Sync(officer);
  REQUIRE(news.exit_code == 0);
  CHECK(Has(news.out, "nothing to push, pulled 1 change"));
  CHECK(f.KboJson(officer, {"show", "producer", p})["otop_stars"] == 4);
}

}  // namespace
}  // namespace kbo::testing
