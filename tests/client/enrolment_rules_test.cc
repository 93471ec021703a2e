// One participant once per producer and workshop (issue 10, deliverable
// 9): the store refuses a second enrolment (the CLI exits 2, the phone
// UI's API answers 400 naming participant_name), nothing is written, and
// `kbo import enrolments` of the same sheet twice adds nothing.

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "client/csv_import.h"
#include "client/store.h"
#include "client/ui/ui_api.h"
#include "tests/support/run_cli.h"
#include "tests/support/temp_dir.h"

namespace kbo::client {
namespace {

using kbo::testing::TempDir;

struct Course {
  std::unique_ptr<ClientStore> store;
  std::string producer, other_producer, workshop, other_workshop;

  explicit Course(const TempDir& dir) {
    auto opened = ClientStore::Open(dir.File("home"));
    REQUIRE(opened.ok());
    store = std::move(opened).value();
    producer = Add("producer", {{"kind", Value::Text("group")},
                                {"name", Value::Text("กลุ่มทอผ้าบ้านป่าตุ้ม")},
                                {"district_code", Value::Text("5011")}});
    other_producer = Add("producer", {{"kind", Value::Text("entrepreneur")},
                                      {"name", Value::Text("นายสมชาย ใจดี")},
                                      {"district_code", Value::Text("5011")}});
    workshop = Workshop("KBO พร้าว");
    other_workshop = Workshop("KBO พร้าว รุ่น 2");
  }
  std::string Add(const char* entity, RowValues row) {
    auto id = store->Record(entity, std::move(row));
    INFO(id.status().ToString());
    REQUIRE(id.ok());
    return id->ToString();
  }
  std::string Workshop(const std::string& title) {
    return Add("workshop", {{"title", Value::Text(title)},
                            {"fiscal_year", Value::Integer(2567)},
                            {"district_code", Value::Text("5011")},
                            {"start_date", Value::Text("2024-03-04")}});
  }
  RowValues Enrolment(const std::string& w, const std::string& p,
                      const std::string& name) {
    return {{"workshop_id", Value::Text(w)},
            {"producer_id", Value::Text(p)},
            {"participant_name", Value::Text(name)}};
  }
  size_t Enrolments() {
    auto rows = store->List("enrolment");
    REQUIRE(rows.ok());
    return rows->size();
  }
  int64_t Outbox() {
    auto s = store->GetStatus();
    REQUIRE(s.ok());
    return s->pending_changes;
  }
};

TEST_CASE("Enrolment: the same participant twice for one producer in one "
          "workshop is refused, nothing written",
          "[enrolment][store]") {
  TempDir dir;
  Course c(dir);
  const std::string first =
      c.Add("enrolment", c.Enrolment(c.workshop, c.producer, "นางสาวสมศรี ใจดี"));
  const int64_t pending = c.Outbox();
  for (const char* again : {"นางสาวสมศรี ใจดี", "สมศรี  ใจดี", "น.ส. สมศรี ใจดี"}) {
    CAPTURE(again);
    auto r = c.store->Record("enrolment", c.Enrolment(c.workshop, c.producer, again));
    REQUIRE(r.status().code() == Code::kInvalidArgument);
    CHECK_THAT(r.status().message(), Catch::StartsWith("participant_name"));
    CHECK_THAT(r.status().message(), Catch::Contains(first));
  }
  CHECK(c.Enrolments() == 1);
  CHECK(c.Outbox() == pending);
  // Near-misses: another person, producer or workshop.
  c.Add("enrolment", c.Enrolment(c.workshop, c.producer, "สมศรี ใจงาม"));
  c.Add("enrolment", c.Enrolment(c.workshop, c.other_producer, "สมศรี ใจดี"));
  c.Add("enrolment", c.Enrolment(c.other_workshop, c.producer, "สมศรี ใจดี"));
  CHECK(c.Enrolments() == 4);
  // Deleted, the name may be enrolled again.
  REQUIRE(c.store->Delete("enrolment", *Uuid::Parse(first)).ok());
  const std::string again =
      c.Add("enrolment", c.Enrolment(c.workshop, c.producer, "สมศรี ใจดี"));
  // An edit that would make a duplicate is refused; one that does not is not.
  const std::string renamed =
      c.Add("enrolment", c.Enrolment(c.workshop, c.producer, "สมใจ ใจดี"));
  Status edit = c.store->Edit("enrolment", *Uuid::Parse(renamed),
                              {{"participant_name", Value::Text("นางสมศรี ใจดี")}});
  CHECK(edit.code() == Code::kInvalidArgument);
  CHECK(c.store->Edit("enrolment", *Uuid::Parse(again),
                      {{"participant_name", Value::Text("นางสมศรี ใจดี")}})
            .ok());
}

TEST_CASE("Enrolment: importing the same sheet twice adds nothing the second "
          "time",
          "[enrolment][csv_import]") {
  TempDir dir;
  Course c(dir);
  c.Add("enrolment", c.Enrolment(c.workshop, c.producer, "นายมานะ รักงาน"));
  const std::string sheet =
      "workshop,producer,participant\n" + c.workshop + "," + c.producer +
      ",มานะ รักงาน\n" + c.workshop + "," + c.producer + ",สมศรี ใจดี\n" +
      c.workshop + "," + c.other_producer + ",สมชาย ใจดี\n";
  ImportSkipped skipped;
  skipped.already_enrolled = 99;
  auto first = ImportCsv(*c.store, "enrolment", sheet, &skipped);
  REQUIRE(first.ok());
  CHECK(first->size() == 2);
  CHECK(skipped.already_enrolled == 1);
  CHECK(skipped.total() == 1);
  CHECK(c.Enrolments() == 3);
  auto second = ImportCsv(*c.store, "enrolment", sheet, &skipped);
  REQUIRE(second.ok());
  CHECK(second->empty());
  CHECK(skipped.already_enrolled == 3);
  CHECK(c.Enrolments() == 3);
  // One person twice within a sheet is the sheet's mistake: refused whole.
  const std::string twice = "workshop,producer,participant\n" +
                            c.other_workshop + "," + c.producer +
                            ",ใหม่ คนหนึ่ง\n" + c.other_workshop + "," +
                            c.producer + ",นาย ใหม่ คนหนึ่ง\n";
  auto refused = ImportCsv(*c.store, "enrolment", twice, &skipped);
  CHECK(refused.status().code() == Code::kInvalidArgument);
  CHECK_THAT(refused.status().message(), Catch::StartsWith("line 3: participant_name"));
  CHECK(c.Enrolments() == 3);
}

TEST_CASE("Enrolment: the phone UI's API answers 400 naming participant_name",
          "[enrolment][ui]") {
  TempDir dir;
  Course c(dir);
  ui::UiApi api(*c.store, nullptr);
  auto post = [&](const std::string& name) {
    ui::ApiRequest r;
    r.method = "POST";
    r.path = "/api/enrolment";
    r.content_type = "application/json";
    r.body = nlohmann::json{{"workshop_id", c.workshop},
                            {"producer_id", c.producer},
                            {"participant_name", name}}
                 .dump();
    return api.Handle(r);
  };
  REQUIRE(post("สมศรี ใจดี").http_status == 201);
  ui::ApiReply again = post("นางสาว สมศรี ใจดี");
  CHECK(again.http_status == 400);
  auto body = nlohmann::json::parse(again.body, nullptr, false);
  REQUIRE_FALSE(body.is_discarded());
  CHECK(body["field"] == "participant_name");
  CHECK(body["error"] == "invalid_argument");
  CHECK(c.Enrolments() == 1);
}

#ifdef KBO_BINARY_DIR
TEST_CASE("kbo: enrolment add twice exits 2, import twice skips",
          "[enrolment][cli]") {
  TempDir dir;
  const std::string home = dir.File("home");
  auto kbo = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--home", home});
    return kbo::testing::RunKbo(args, {{"KBO_HOME", "\x01unset"}});
  };
  auto id = [&](std::vector<std::string> args) {
    auto r = kbo(std::move(args));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return r.out.substr(0, 36);
  };
  const std::string producer =
      id({"producer", "add", "--kind", "group", "--name", "กลุ่มทอผ้า",
          "--district", "5011"});
  const std::string workshop =
      id({"workshop", "add", "--title", "KBO", "--fiscal-year", "2567",
          "--district", "5011", "--start", "2024-03-04"});
  id({"enrolment", "add", "--workshop", workshop, "--producer", producer,
      "--participant", "นางสมศรี ใจดี"});
  auto twice = kbo({"enrolment", "add", "--workshop", workshop, "--producer",
                    producer, "--participant", "สมศรี ใจดี"});
  CHECK(twice.exit_code == 2);
  CHECK(twice.out.empty());
  CHECK_THAT(twice.err, Catch::Contains("already enrolled"));

  const std::string csv = dir.File("enrolments.csv");
  {
    std::ofstream f(csv, std::ios::binary);
    f << "workshop,producer,participant\n"
      << workshop << "," << producer << ",มานะ รักงาน\n"
      << workshop << "," << producer << ",สมศรี ใจดี\n";
  }
  auto first = kbo({"import", "enrolments", csv});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK_THAT(first.err, Catch::Contains("imported 1") &&
                            Catch::Contains("skipped 1 already enrolled"));
  auto second = kbo({"import", "enrolments", csv});
  REQUIRE(second.exit_code == 0);
  CHECK(second.out.empty());
  CHECK_THAT(second.err, Catch::Contains("imported 0") &&
                             Catch::Contains("skipped 2 already enrolled"));
  auto list = kbo({"list", "enrolment", "--json"});
  REQUIRE(list.exit_code == 0);
  auto rows = nlohmann::json::parse(list.out, nullptr, false);
  REQUIRE(rows.is_array());
  CHECK(rows.size() == 2);
}
#endif

}  // namespace
}  // namespace kbo::client
