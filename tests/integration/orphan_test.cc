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
#include "tests/integration/field.h"
#include "tests/support/test_db.h"

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

}  // namespace
}  // namespace kbo::testing
