// The `kbo` command line as a contract (DESIGN §7): these tests run the real
// binary, as a script would, and check stdout, stderr and the exit code.

#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "shared/signing.h"
#include "shared/sqlite/db.h"
#include "tests/support/run_cli.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_images.h"

namespace kbo::testing {
namespace {

using nlohmann::json;

const char* const kPhraoGroup = "กลุ่มทอผ้าบ้านป่าแป๋";
const char* const kParticipant = "นางสมศรี ใจดี";

bool IsOneIdLine(const std::string& out) {
  static const std::regex id_line(
      "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n");
  return std::regex_match(out, id_line);
}

// A fresh home folder and `kbo --home <it> ...`.
class Kbo {
 public:
  Kbo() : home_(dir_.File("home")) {}

  CliResult Run(std::vector<std::string> args,
                std::map<std::string, std::string> env = {}) const {
    args.insert(args.begin(), {"--home", home_});
    env.emplace("KBO_HOME", "\x01unset");
    return RunKbo(args, env);
  }

  // Runs an add; requires success and exactly one id line; returns the id.
  std::string Add(const std::vector<std::string>& args) const {
    const CliResult r = Run(args);
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(IsOneIdLine(r.out));
    CHECK(r.err.empty());
    return r.out.substr(0, 36);
  }

  json Json(const std::vector<std::string>& args) const {
    const CliResult r = Run(args);
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    json j = json::parse(r.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    return j;
  }

  std::string Producer() const {
    return Add({"producer", "add", "--kind", "group", "--name", kPhraoGroup,
                "--district", "5011"});
  }
  std::string Workshop(const std::string& days = "5") const {
    return Add({"workshop", "add", "--title", "อบรม KBO อำเภอพร้าว",
                "--fiscal-year", "2567", "--district", "5011", "--start",
                "2024-03-04", "--days", days});
  }

  const std::string& home() const { return home_; }
  std::string File(const std::string& name) const { return dir_.File(name); }

 private:
  TempDir dir_;
  std::string home_;
};

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

TEST_CASE("kbo: the binary under test is built", "[cli]") {
  INFO("build the kbo target first: ninja kbo (" << KboBinary() << ")");
  REQUIRE(access(KboBinary().c_str(), X_OK) == 0);
}

TEST_CASE("kbo: --version and --help exit 0 on stdout", "[cli]") {
  CliResult v = RunKbo({"--version"});
  CHECK(v.exit_code == 0);
  CHECK(v.out == "kbo 0.1.0\n");
  CHECK(v.err.empty());

  for (const char* flag : {"--help", "-h", "help"}) {
    CAPTURE(flag);
    CliResult h = RunKbo({flag});
    CHECK(h.exit_code == 0);
    CHECK(h.out.find("kbo producer add") != std::string::npos);
    CHECK(h.out.find("kbo attendance mark") != std::string::npos);
    CHECK(h.err.empty());
  }
  CliResult one = RunKbo({"producer", "add", "--help"});
  CHECK(one.exit_code == 0);
  CHECK(one.out.find("--cluster-brand") != std::string::npos);
  // After a group of commands: each of them.
  CliResult group = RunKbo({"photo", "--help"});
  CHECK(group.exit_code == 0);
  CHECK(group.err.empty());
  CHECK(group.out.find("kbo photo add") != std::string::npos);
  CHECK(group.out.find("kbo photo upload-originals") != std::string::npos);
  // Every line of every command's help within 80 columns and indented under
  // its synopsis (a summary's second line once went to column 0).
  CliResult all = RunKbo({"--help"});
  std::istringstream lines(all.out);
  std::string line;
  bool in_commands = false;
  while (std::getline(lines, line)) {
    if (line == "Commands:") in_commands = true;
    if (!in_commands || line == "Commands:" || line.empty()) continue;
    if (line.rfind("See docs/", 0) == 0) continue;
    INFO(line);
    CHECK(line.rfind("  ", 0) == 0);
    size_t cols = 0;
    for (char c : line) cols += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    CHECK(cols <= 80);
  }
  CliResult mark = RunKbo({"attendance", "mark", "--help"});
  CHECK_THAT(mark.out, Catch::Contains("\n  (a note not given again is kept"));
}

TEST_CASE("kbo: usage errors exit 2 naming the problem on stderr", "[cli]") {
  Kbo kbo;
  struct Case {
    std::vector<std::string> args;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {{}, "no command"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"producer", "frob"}, "add"},
      {{"producer", "add", "--kind", "group", "--name", "x", "--district",
        "5011", "--colour", "red"},
       "unknown flag --colour"},
      {{"producer", "add", "--kind", "group", "--name", "x"},
       "missing --district"},
      {{"producer", "add", "--kind", "group", "--name", "--district", "5011"},
       "--name needs a value"},
      {{"producer", "add", "--kind", "group", "--name", "x", "--name", "y",
        "--district", "5011"},
       "--name is given twice"},
      {{"list"}, "missing ENTITY"},
      {{"--home", "", "status"}, "--home needs a folder"},
      {{"--home", "elsewhere", "status"}, "--home is given twice"},
      {{"status", "--home=elsewhere"}, "--home is given twice"},
      {{"list", "producer", "extra"}, "unexpected argument 'extra'"},
      {{"list", "gadgets"}, "unknown entity 'gadgets'"},
      {{"show", "producer", "not-an-id"}, "not-an-id"},
      {{"edit", "producer", "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "--set",
        "name"},
       "COLUMN=VALUE"},
  };
  for (const Case& c : cases) {
    std::string joined;
    for (const std::string& a : c.args) joined += a + " ";
    CAPTURE(joined);
    const CliResult r = kbo.Run(c.args);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("kbo: ", 0) == 0);
    CHECK(r.err.find(c.mentions) != std::string::npos);
  }
  // A global flag the program does not know.
  const CliResult g = RunKbo({"--frob", "status"});
  CHECK(g.exit_code == 2);
  CHECK(g.err.find("--frob") != std::string::npos);
}

TEST_CASE("kbo: init creates the home and prints the device id", "[cli]") {
  Kbo kbo;
  const CliResult first = kbo.Run({"init"});
  REQUIRE(first.exit_code == 0);
  REQUIRE(IsOneIdLine(first.out));
  const CliResult again = kbo.Run({"init"});
  CHECK(again.out == first.out);  // the same device, not a new one
  const json status = kbo.Json({"status", "--json"});
  CHECK(status["device_id"] == first.out.substr(0, 36));
}

TEST_CASE("kbo: the home comes from $KBO_HOME when --home is absent", "[cli]") {
  TempDir dir;
  const std::string home = dir.File("from-env");
  const CliResult r = RunKbo({"init"}, {{"KBO_HOME", home}});
  REQUIRE(r.exit_code == 0);
  const CliResult s = RunKbo({"--home", home, "status", "--json"});
  REQUIRE(s.exit_code == 0);
  CHECK(json::parse(s.out)["device_id"] == r.out.substr(0, 36));
}

TEST_CASE("kbo: every add prints exactly one id line", "[cli]") {
  Kbo kbo;
  const std::string producer = kbo.Add({"producer",        "add",
                                        "--kind",          "entrepreneur",
                                        "--name",          "นายสมชาย ทองดี",
                                        "--district",      "พร้าว",
                                        "--tambon",        "เวียง",
                                        "--village",       "บ้านป่าแป๋",
                                        "--contact",       "สมชาย",
                                        "--phone",         "0812345678",
                                        "--category",      "textile",
                                        "--stars",         "3",
                                        "--members",       "1",
                                        "--cluster-brand", "ผ้าทอพร้าว"});
  const std::string product =
      kbo.Add({"product", "add", "--producer", producer, "--name", "ผ้าซิ่นตีนจก",
               "--category", "textile", "--stage", "design", "--description",
               "ทอมือ", "--identity-story", "ลายจากบ้านป่าแป๋"});
  const std::string workshop =
      kbo.Add({"workshop", "add", "--title", "อบรม KBO", "--fiscal-year",
               "2567", "--district", "5011", "--start", "2024-03-04", "--days",
               "3", "--venue", "ที่ว่าการอำเภอพร้าว", "--target", "30"});
  const std::string enrolment =
      kbo.Add({"enrolment", "add", "--workshop", workshop, "--producer",
               producer, "--participant", kParticipant});
  kbo.Add({"attendance", "mark", "--workshop", workshop, "--enrolment",
           enrolment, "--day", "1", "--status", "present", "--note",
           "ตรงเวลา"});
  kbo.Add({"visit",        "add",         "--producer",
           producer,       "--at",        "2024-03-05T10:00:00Z",
           "--lat",        "19.36",       "--lon",
           "99.20",        "--accuracy",  "8",
           "--purpose",    "ติดตามผล",     "--notes",
           "ลูกค้าเพิ่ม",      "--follow-up", "ทำบรรจุภัณฑ์",
           "--next-visit", "2024-04-05"});
  {
    // The entry moves its product ahead (design -> prototype): the id alone
    // on stdout, the move said on stderr.
    const CliResult r =
        kbo.Run({"progress", "add", "--product", product, "--stage",
                 "prototype", "--percent", "40", "--notes", "ต้นแบบแรก",
                 "--workshop", workshop});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(IsOneIdLine(r.out));
    CHECK(r.err == "kbo: product " + product +
                       " moved to stage prototype (was design)\n");
    CHECK(kbo.Json({"show", "product", product, "--json"})["stage"] ==
          "prototype");
  }
  kbo.Add({"contest",         "score",       "--product",    product,
           "--contest",       "KBO CM 2567", "--judge",      "อ.วิชัย",
           "--identity",      "18",          "--uniqueness", "17",
           "--quality",       "16",          "--packaging",  "15",
           "--marketability", "14",          "--comment",    "ดีมาก"});
  WriteFile(kbo.File("sign.png"), testing::SamplePng(640, 480, false));
  kbo.Add({"photo", "add", kbo.File("sign.png"), "--subject",
           "product:" + product, "--caption", "ป้ายกลุ่ม"});

  // The flags reached their columns.
  const json p = kbo.Json({"show", "producer", producer, "--json"});
  CHECK(p["district_code"] == "5011");  // "พร้าว" is Phrao's code
  CHECK(p["otop_stars"] == 3);
  CHECK(p["cluster_brand"] == "ผ้าทอพร้าว");
  const json v = kbo.Json({"list", "visit", "--json"});
  REQUIRE(v.size() == 1);
  CHECK(v[0]["accuracy_m"] == 8.0);
  CHECK(v[0]["follow_up"] == "ทำบรรจุภัณฑ์");
  // A purpose typed by its name is stored as its code, as the screens and
  // an imported file store it (walk-through: the same purpose came out two
  // ways, and the office's export imported again changed it).
  CHECK(v[0]["purpose"] == "follow_up");
  CHECK(v[0]["next_visit"] == "2024-04-05");
  const json w = kbo.Json({"show", "workshop", workshop, "--json"});
  CHECK(w["target_participants"] == 30);
  CHECK(w["fiscal_year"] == 2567);
}

TEST_CASE("kbo: a Thai name round-trips byte for byte", "[cli]") {
  Kbo kbo;
  const std::string id = kbo.Producer();
  const CliResult list = kbo.Run({"list", "producer", "--json"});
  REQUIRE(list.exit_code == 0);
  // Raw UTF-8 on stdout, not \u escapes.
  CHECK(list.out.find(kPhraoGroup) != std::string::npos);
  const json rows = json::parse(list.out);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["id"] == id);
  CHECK(rows[0]["name"].get<std::string>() == kPhraoGroup);
  CHECK(rows[0]["deleted"] == false);
  CHECK(rows[0]["tambon"].is_null());
  CHECK(rows[0]["otop_stars"].is_null());

  const json one = kbo.Json({"show", "producer", id, "--json"});
  CHECK(one == rows[0]);

  const CliResult table = kbo.Run({"list", "producers"});
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.rfind("id\tkind\tname\tdistrict_code\t", 0) == 0);
  CHECK(table.out.find(id + "\tgroup\t" + kPhraoGroup + "\t5011\t") !=
        std::string::npos);
  const CliResult show = kbo.Run({"show", "producer", id});
  CHECK(show.out.find(std::string("name: ") + kPhraoGroup + "\n") !=
        std::string::npos);
  CHECK(show.out.find("deleted: no\n") != std::string::npos);
}

TEST_CASE("kbo: invalid input exits 2 and writes nothing", "[cli]") {
  Kbo kbo;
  SECTION("an unknown district") {
    const CliResult r = kbo.Run({"producer", "add", "--kind", "group", "--name",
                                 kPhraoGroup, "--district", "5099"});
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("5099") != std::string::npos);
    CHECK(r.err.find("district") != std::string::npos);
  }
  SECTION("stars 7") {
    const CliResult r = kbo.Run({"producer", "add", "--kind", "group", "--name",
                                 "x", "--district", "5011", "--stars", "7"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--stars") != std::string::npos);
  }
  SECTION("an empty name") {
    const CliResult r = kbo.Run({"producer", "add", "--kind", "group", "--name",
                                 "", "--district", "5011"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("name") != std::string::npos);
  }
  SECTION("an unknown kind") {
    const CliResult r = kbo.Run({"producer", "add", "--kind", "cooperative",
                                 "--name", "x", "--district", "5011"});
    CHECK(r.exit_code == 2);
  }
  const json rows = kbo.Json({"list", "producer", "--json"});
  CHECK(rows.empty());
  CHECK(kbo.Json({"status", "--json"})["pending_changes"] == 0);
}

TEST_CASE("kbo: bad values on rows that refer to others", "[cli]") {
  Kbo kbo;
  const std::string producer = kbo.Producer();
  const std::string workshop = kbo.Workshop("3");
  const std::string enrolment =
      kbo.Add({"enrolment", "add", "--workshop", workshop, "--producer",
               producer, "--participant", kParticipant});
  const json before = kbo.Json({"status", "--json"});

  auto mark = [&](const std::string& day, const std::string& status) {
    return kbo.Run({"attendance", "mark", "--workshop", workshop, "--enrolment",
                    enrolment, "--day", day, "--status", status});
  };
  const CliResult unknown_status = mark("1", "sleeping");
  CHECK(unknown_status.exit_code == 2);
  CHECK(unknown_status.err.find("sleeping") != std::string::npos);

  const CliResult day4 = mark("4", "present");
  CHECK(day4.exit_code == 2);
  CHECK(day4.err.find("day 4") != std::string::npos);

  const CliResult lat =
      kbo.Run({"visit", "add", "--producer", producer, "--lat", "91"});
  CHECK(lat.exit_code == 2);
  CHECK(lat.err.find("lat") != std::string::npos);

  const CliResult bad_id = kbo.Run({"visit", "add", "--producer", "nonsense"});
  CHECK(bad_id.exit_code == 2);


  const CliResult missing = kbo.Run(
      {"visit", "add", "--producer", "1b4e28ba-2fa1-41d2-883f-0016d3cca427"});
  CHECK(missing.exit_code == 3);
  CHECK(missing.err.find("1b4e28ba-2fa1-41d2-883f-0016d3cca427") !=
        std::string::npos);

  const CliResult show_missing =
      kbo.Run({"show", "producer", "1b4e28ba-2fa1-41d2-883f-0016d3cca427"});
  CHECK(show_missing.exit_code == 3);

  // Nothing of the refused commands was written.
  CHECK(kbo.Json({"status", "--json"})["pending_changes"] ==
        before["pending_changes"]);
  CHECK(kbo.Json({"list", "attendance", "--json"}).empty());
  CHECK(kbo.Json({"list", "visit", "--json"}).empty());
}

TEST_CASE("kbo: marking the same person and day twice edits one mark",
          "[cli]") {
  Kbo kbo;
  const std::string producer = kbo.Producer();
  const std::string workshop = kbo.Workshop();
  const std::string enrolment =
      kbo.Add({"enrolment", "add", "--workshop", workshop, "--producer",
               producer, "--participant", kParticipant});
  const std::string first =
      kbo.Add({"attendance", "mark", "--workshop", workshop, "--enrolment",
               enrolment, "--day", "2", "--status", "present"});
  const std::string second =
      kbo.Add({"attendance", "mark", "--workshop", workshop, "--enrolment",
               enrolment, "--day", "2", "--status", "Late", "--note", "มาสาย"});
  CHECK(first == second);
  const json rows = kbo.Json({"list", "attendance", "--json"});
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["status"] == "late");
  CHECK(rows[0]["note"] == "มาสาย");
  CHECK(rows[0]["district_code"] == "5011");  // from the workshop

  // Marked again without --note: the note stays (as the roll call screen
  // keeps it); --note "" clears it.
  kbo.Add({"attendance", "mark", "--workshop", workshop, "--enrolment",
           enrolment, "--day", "2", "--status", "absent"});
  json again = kbo.Json({"list", "attendance", "--json"});
  REQUIRE(again.size() == 1);
  CHECK(again[0]["status"] == "absent");
  CHECK(again[0]["note"] == "มาสาย");
  kbo.Add({"attendance", "mark", "--workshop", workshop, "--enrolment",
           enrolment, "--day", "2", "--status", "absent", "--note", ""});
  again = kbo.Json({"list", "attendance", "--json"});
  CHECK(again[0]["note"].is_null());
  // --where takes a named value by its Thai or English name, as --set does.
  CHECK(kbo.Json({"list", "attendance", "--where", "status=ขาด", "--json"}).size() == 1);
  CHECK(kbo.Json({"list", "attendance", "--where", "status=Absent", "--json"}).size() == 1);
  CHECK(kbo.Json({"list", "attendance", "--where", "status=สาย", "--json"}).empty());
}

TEST_CASE("kbo: a value of a list may be typed as its Thai or English name, "
          "as the exports show it",
          "[cli]") {
  Kbo kbo;
  const std::string producer =
      kbo.Add({"producer", "add", "--kind", "กลุ่มผู้ผลิต", "--name", "กลุ่มแม่บ้านโหล่งขอด",
               "--district", "5011", "--category", "อาหาร"});
  const std::string workshop = kbo.Workshop();
  const std::string enrolment =
      kbo.Add({"enrolment", "add", "--workshop", workshop, "--producer", producer,
               "--participant", kParticipant});
  kbo.Add({"attendance", "mark", "--workshop", workshop, "--enrolment", enrolment,
           "--day", "1", "--status", "สาย"});
  kbo.Add({"attendance", "mark", "--workshop", workshop, "--enrolment", enrolment,
           "--day", "2", "--status", "Absent"});
  const json marks = kbo.Json({"list", "attendance", "--json"});
  REQUIRE(marks.size() == 2);
  std::set<std::string> statuses;
  for (const json& m : marks) statuses.insert(m["status"].get<std::string>());
  CHECK(statuses == std::set<std::string>{"late", "absent"});
  const json producers = kbo.Json({"list", "producer", "--json"});
  bool found = false;
  for (const json& p : producers) {
    if (p["id"] != producer) continue;
    found = true;
    CHECK(p["kind"] == "group");
    CHECK(p["category"] == "food");
  }
  CHECK(found);
  // Anything else is still refused, naming the choices.
  const CliResult bad = kbo.Run({"attendance", "mark", "--workshop", workshop, "--enrolment",
                                 enrolment, "--day", "3", "--status", "ป่วย"});
  CHECK(bad.exit_code == 2);
  CHECK(kbo.Json({"list", "attendance", "--json"}).size() == 2);
}

TEST_CASE("kbo: a judge scoring a product twice edits one score", "[cli]") {
  Kbo kbo;
  const std::string producer = kbo.Producer();
  const std::string product =
      kbo.Add({"product", "add", "--producer", producer, "--name", "ผ้าซิ่นตีนจก"});
  auto score = [&](const std::string& identity) {
    return kbo.Add({"contest", "score", "--product", product, "--contest",
                    "KBO CM 2567", "--judge", "อ.วิชัย", "--identity", identity,
                    "--uniqueness", "17", "--quality", "16", "--packaging",
                    "15", "--marketability", "14"});
  };
  const std::string first = score("18");
  const std::string second = score("19");
  CHECK(first == second);
  const json rows = kbo.Json({"list", "contest_score", "--json"});
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["identity"] == 19);

  const CliResult over = kbo.Run(
      {"contest", "score", "--product", product, "--contest", "KBO CM 2567",
       "--judge", "อ.สุดา", "--identity", "21", "--uniqueness", "17",
       "--quality", "16", "--packaging", "15", "--marketability", "14"});
  CHECK(over.exit_code == 2);
}

TEST_CASE("kbo: edit --set changes columns", "[cli]") {
  Kbo kbo;
  const std::string id = kbo.Producer();
  const CliResult edit =
      kbo.Run({"edit", "producer", id, "--set", "stars=4", "--set",
               "phone=053-123456", "--set", "tambon=น้ำแพร่"});
  INFO(edit.err);
  REQUIRE(edit.exit_code == 0);
  CHECK(edit.out.empty());
  json row = kbo.Json({"show", "producer", id, "--json"});
  CHECK(row["otop_stars"] == 4);
  CHECK(row["phone"] == "053123456");  // a Thai number: its digits
  CHECK(row["tambon"] == "น้ำแพร่");

  CHECK(kbo.Run({"edit", "producer", id, "--set", "otop_stars=9"}).exit_code ==
        2);
  CHECK(kbo.Run({"edit", "producer", id, "--set", "name="}).exit_code == 2);
  CHECK(kbo.Run({"edit", "producer", id, "--set", "colour=red"}).exit_code ==
        2);
  CHECK(kbo.Run({"edit", "producer", id}).exit_code == 2);  // --set is required
  CHECK(kbo.Run({"edit", "producer", "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
                 "--set", "stars=1"})
            .exit_code == 3);
  // An empty value clears an optional column.
  REQUIRE(kbo.Run({"edit", "producer", id, "--set", "phone="}).exit_code == 0);
  row = kbo.Json({"show", "producer", id, "--json"});
  CHECK(row["phone"].is_null());
  CHECK(row["otop_stars"] == 4);
}

TEST_CASE("kbo: delete leaves a tombstone that show reports and list omits",
          "[cli]") {
  Kbo kbo;
  const std::string gone = kbo.Producer();
  const std::string kept = kbo.Producer();
  const CliResult del = kbo.Run({"delete", "producer", gone});
  REQUIRE(del.exit_code == 0);
  CHECK(del.out.empty());

  const json row = kbo.Json({"show", "producer", gone, "--json"});
  CHECK(row["deleted"] == true);
  CHECK(row["name"] == kPhraoGroup);
  CHECK(kbo.Run({"show", "producer", gone}).out.find("deleted: yes\n") !=
        std::string::npos);

  const json rows = kbo.Json({"list", "producer", "--json"});
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["id"] == kept);
  CHECK(kbo.Run({"delete", "producer", gone}).exit_code == 3);
  CHECK(kbo.Run({"edit", "producer", gone, "--set", "stars=1"}).exit_code == 3);
}

TEST_CASE("kbo: delete is refused while rows hang on the row, --cascade takes them",
          "[cli][delete]") {
  Kbo kbo;
  const std::string producer = kbo.Producer();
  const std::string workshop = kbo.Workshop();
  const std::string enrolment =
      kbo.Add({"enrolment", "add", "--workshop", workshop, "--producer",
               producer, "--participant", "นางสมศรี ใจดี"});
  for (const char* day : {"1", "2", "3"}) {
    REQUIRE(kbo.Run({"attendance", "mark", "--workshop", workshop,
                     "--enrolment", enrolment, "--day", day, "--status",
                     "present"})
                .exit_code == 0);
  }
  const int pending = kbo.Json({"status", "--json"})["pending_changes"];

  const CliResult refused = kbo.Run({"delete", "producer", producer});
  CHECK(refused.exit_code == 2);
  CHECK(refused.out.empty());
  CHECK(refused.err.find("still has 1 enrolment and 3 attendance marks") !=
        std::string::npos);
  CHECK(refused.err.find(std::string(kPhraoGroup)) != std::string::npos);
  CHECK(refused.err.find("kbo delete producer " + producer + " --cascade") !=
        std::string::npos);
  CHECK(kbo.Json({"status", "--json"})["pending_changes"] == pending);
  CHECK(kbo.Json({"list", "attendance", "--json"}).size() == 3);
  CHECK(kbo.Run({"delete", "workshop", workshop}).exit_code == 2);

  const CliResult cascade =
      kbo.Run({"delete", "producer", producer, "--cascade"});
  INFO(cascade.err);
  REQUIRE(cascade.exit_code == 0);
  CHECK(cascade.out.empty());
  CHECK(cascade.err ==
        "kbo: deleted 1 producer, 1 enrolment and 3 attendance marks\n");
  CHECK(kbo.Json({"list", "attendance", "--json"}).empty());
  CHECK(kbo.Json({"list", "enrolment", "--json"}).empty());
  CHECK(kbo.Json({"show", "enrolment", enrolment, "--json"})["deleted"] == true);
  CHECK(kbo.Json({"status", "--json"})["pending_changes"] == pending + 5);
  // The workshop has nothing under it now: a plain delete, quiet.
  const CliResult w = kbo.Run({"delete", "workshop", workshop});
  CHECK(w.exit_code == 0);
  CHECK(w.err.empty());
}

TEST_CASE("kbo: list --where filters by typed values", "[cli]") {
  Kbo kbo;
  kbo.Add({"producer", "add", "--kind", "group", "--name", "ก", "--district",
           "5011", "--stars", "2"});
  kbo.Add({"producer", "add", "--kind", "group", "--name", "ข", "--district",
           "5011", "--stars", "4"});
  kbo.Add({"producer", "add", "--kind", "group", "--name", "ค", "--district",
           "5004", "--stars", "4"});
  CHECK(kbo.Json({"list", "producer", "--json", "--where", "district=Phrao"})
            .size() == 2);
  const json both = kbo.Json({"list", "producer", "--json", "--where",
                              "district=5011", "--where", "otop_stars=4"});
  REQUIRE(both.size() == 1);
  CHECK(both[0]["name"] == "ข");
  CHECK(kbo.Run({"list", "producer", "--where", "stars=many"}).exit_code == 2);
}

TEST_CASE("kbo: status --json reports the device and counts writes", "[cli]") {
  Kbo kbo;
  json s = kbo.Json({"status", "--json"});
  for (const char* key : {"device_id", "enrolled", "server", "role",
                          "districts", "pending_changes", "pending_blobs",
                          "originals_to_send", "originals_held_back",
                          "confirmed_changes", "last_sync", "last_error"}) {
    CAPTURE(key);
    CHECK(s.contains(key));
  }
  CHECK(s["enrolled"] == false);
  CHECK(s["server"].is_null());
  CHECK(s["last_sync"].is_null());
  CHECK(s["pending_changes"] == 0);
  CHECK(s["pending_blobs"] == 0);

  const std::string id = kbo.Producer();
  kbo.Producer();
  REQUIRE(kbo.Run({"edit", "producer", id, "--set", "stars=1"}).exit_code == 0);
  s = kbo.Json({"status", "--json"});
  CHECK(s["pending_changes"] == 3);

  const CliResult human = kbo.Run({"status"});
  CHECK(human.exit_code == 0);
  CHECK(human.out.find("pending changes:    3") != std::string::npos);
}

TEST_CASE("kbo: visit --at takes a UTC offset and defaults to now", "[cli]") {
  Kbo kbo;
  const std::string producer = kbo.Producer();
  const std::string local = kbo.Add({"visit", "add", "--producer", producer,
                                     "--at", "2024-03-01T06:30:00+07:00"});
  CHECK(kbo.Json({"show", "visit", local, "--json"})["visited_at"] ==
        "2024-02-29T23:30:00Z");
  const std::string now = kbo.Add({"visit", "add", "--producer", producer});
  const std::string at =
      kbo.Json({"show", "visit", now, "--json"})["visited_at"]
          .get<std::string>();
  CHECK(std::regex_match(
      at, std::regex("20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z")));
  CHECK(kbo.Run({"visit", "add", "--producer", producer, "--at", "yesterday"})
            .exit_code == 2);
  // Thai digits anywhere in it, the offset's too (cli.md: dates take Thai
  // digits); and kbo edit takes the same forms as --at.
  for (const char* thai : {"๒๐๒๔-๐๓-๐๑T06:30:00+07:00", "2024-03-01T๐๖:๓๐:00+07:00",
                           "2024-03-01T06:30:00+๐๗:๐๐"}) {
    INFO(thai);
    const std::string v = kbo.Add({"visit", "add", "--producer", producer, "--at", thai});
    CHECK(kbo.Json({"show", "visit", v, "--json"})["visited_at"] == "2024-02-29T23:30:00Z");
  }
  REQUIRE(kbo.Run({"edit", "visit", local, "--set", "visited_at=2024-03-01T08:00:00+07:00"})
              .exit_code == 0);
  CHECK(kbo.Json({"show", "visit", local, "--json"})["visited_at"] == "2024-03-01T01:00:00Z");
  {
    const CliResult r = kbo.Run({"edit", "visit", local, "--set", "visited_at=2024-03-01T08:00:00"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("(got '2024-03-01T08:00:00')"));
    CHECK_THAT(r.err, Catch::Contains("or Thailand's local time with its offset"));
    const CliResult day = kbo.Run({"edit", "visit", local, "--set",
                                   "visited_at=๒๐๒๖-๐๒-๓๐T10:00:00+07:00"});
    CHECK(day.exit_code == 2);
    CHECK_THAT(day.err, Catch::Contains("'๒๐๒๖-๐๒-๓๐T10:00:00+07:00' is not a day of the calendar"));
    // The form's example is not rewritten in the typed digits.
    const CliResult form = kbo.Run({"edit", "visit", local, "--set", "visited_at=๐๙:๓๐"});
    CHECK(form.exit_code == 2);
    CHECK_THAT(form.err, Catch::Contains("(got '๐๙:๓๐')"));
    CHECK_THAT(form.err, Catch::Contains("e.g. 2024-02-29T09:30:00Z"));
    CHECK(kbo.Json({"show", "visit", local, "--json"})["visited_at"] == "2024-03-01T01:00:00Z");
  }
  // A day that is not one: said so, with or without an offset.
  for (const char* bad : {"2026-02-30T10:00:00+07:00", "2026-02-30T10:00:00Z"}) {
    const CliResult r = kbo.Run({"visit", "add", "--producer", producer, "--at", bad});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("not a day of the calendar"));
    CHECK_THAT(r.err, Catch::Contains(bad));  // as typed
  }
  // Far ahead of this device's clock: recorded as given, with a warning.
  const CliResult ahead = kbo.Run({"visit", "add", "--producer", producer,
                                   "--at", "2099-01-01T10:00:00+07:00"});
  CHECK(ahead.exit_code == 0);
  CHECK_THAT(ahead.err, Catch::Contains("days after this device's clock"));
  // Naming the command that corrects it: this row, this column.
  CHECK_THAT(ahead.err, Catch::Contains("kbo edit visit " + ahead.out.substr(0, 36) +
                                        " --set visited_at="));
  // Far behind it (a slip of the keyboard): recorded, said.
  const CliResult behind = kbo.Run({"visit", "add", "--producer", producer,
                                    "--at", "1970-01-01T00:00:00Z"});
  CHECK(behind.exit_code == 0);
  CHECK_THAT(behind.err, Catch::Contains("years before this device's clock"));
  CHECK_THAT(behind.err, Catch::Contains("kbo edit visit " + behind.out.substr(0, 36)));
  const CliResult today = kbo.Run({"visit", "add", "--producer", producer,
                                   "--at", "2024-03-01T06:30:00+07:00"});
  CHECK(today.err.empty());  // A position is a pair, recorded or edited.
  const CliResult half =
      kbo.Run({"visit", "add", "--producer", producer, "--lat", "19.36"});
  CHECK(half.exit_code == 2);
  CHECK(half.err.find("needs both lat and lon (lon is missing)") != std::string::npos);
  const std::string placed = kbo.Add({"visit", "add", "--producer", producer,
                                      "--lat", "19.36", "--lon", "99.2"});
  const CliResult emptied = kbo.Run({"edit", "visit", placed, "--set", "lon="});
  CHECK(emptied.exit_code == 2);
  CHECK(emptied.err.find("lon is missing") != std::string::npos);
  CHECK(kbo.Run({"edit", "visit", placed, "--set", "lon=", "--set", "lat="})
            .exit_code == 0);
}

TEST_CASE("kbo: photo add stores the image and queues its upload", "[cli]") {
  Kbo kbo;
  const std::string producer = kbo.Producer();
  // Tiny, and no metadata: it goes as it is (a JPEG copy would be larger).
  const std::string png = testing::SamplePng(4, 3, false);
  WriteFile(kbo.File("group.png"), png);
  const std::string photo =
      kbo.Add({"photo", "add", kbo.File("group.png"), "--subject",
               "producer:" + producer, "--caption", "ป้ายกลุ่ม"});
  const json row = kbo.Json({"show", "photo", photo, "--json"});
  CHECK(row["subject_type"] == "producer");
  CHECK(row["subject_id"] == producer);
  CHECK(row["mime"] == "image/png");
  CHECK(row["width"] == 4);
  CHECK(row["height"] == 3);
  CHECK(row["bytes"] == static_cast<int64_t>(png.size()));
  CHECK(row["caption"] == "ป้ายกลุ่ม");
  CHECK(row["district_code"] == "5011");
  CHECK(row["sha256"].get<std::string>().size() == 64);
  CHECK(kbo.Json({"status", "--json"})["pending_blobs"] == 1);

  // The same photo of the same producer again: refused, naming the row.
  const CliResult twice = kbo.Run({"photo", "add", kbo.File("group.png"), "--subject",
                                   "producer:" + producer});
  CHECK(twice.exit_code == 2);
  CHECK(twice.err.find("this photo is recorded for that producer already (photo " + photo +
                       ")") != std::string::npos);
  // Of another producer: a second row, still one blob to upload.
  kbo.Add({"photo", "add", kbo.File("group.png"), "--subject",
           "producer:" + kbo.Producer()});
  CHECK(kbo.Json({"status", "--json"})["pending_blobs"] == 1);

  WriteFile(kbo.File("notes.txt"), "not a photo");
  const CliResult text = kbo.Run({"photo", "add", kbo.File("notes.txt"),
                                  "--subject", "producer:" + producer});
  CHECK(text.exit_code == 2);
  CHECK(text.err.find("notes.txt") != std::string::npos);

  CHECK(kbo.Run({"photo", "add", kbo.File("group.png"), "--subject",
                 "producer:1b4e28ba-2fa1-41d2-883f-0016d3cca427"})
            .exit_code == 3);
  CHECK(kbo.Run({"photo", "add", kbo.File("absent.png"), "--subject",
                 "producer:" + producer})
            .exit_code == 3);
  CHECK(kbo.Run({"photo", "add", kbo.File("group.png"), "--subject", producer})
            .exit_code == 2);
  CHECK(kbo.Json({"list", "photo", "--json"}).size() == 2);
}

TEST_CASE("kbo: photo add records an upload copy and keeps the original",
          "[cli]") {
  Kbo kbo;
  const std::string producer = kbo.Producer();
  // 3000 x 2000 as stored, EXIF orientation 6 and a GPS position.
  const std::string camera = testing::CameraJpeg(3000, 2000, 6);
  WriteFile(kbo.File("IMG_0001.jpg"), camera);
  const std::string photo = kbo.Add({"photo", "add", kbo.File("IMG_0001.jpg"),
                                     "--subject", "producer:" + producer});
  const json row = kbo.Json({"show", "photo", photo, "--json"});
  CHECK(row["mime"] == "image/jpeg");
  CHECK(row["height"] == 1600);  // upright, long edge 1600
  CHECK(row["width"].get<int>() < 1600);
  CHECK(row["lat"].get<double>() == Approx(testing::kCameraLat));
  CHECK(row["lon"].get<double>() == Approx(testing::kCameraLon));
  const std::string sha = row["sha256"].get<std::string>();
  const std::string camera_sha = HexEncode(Sha256(camera));
  CHECK(sha != camera_sha);
  std::ifstream copy_file(kbo.File("home/blobs/" + sha.substr(0, 2) + "/" + sha),
                          std::ios::binary);
  const std::string copy((std::istreambuf_iterator<char>(copy_file)),
                         std::istreambuf_iterator<char>());
  CHECK(static_cast<int64_t>(copy.size()) == row["bytes"].get<int64_t>());
  CHECK(copy.find(std::string("Exif\0\0", 6)) == std::string::npos);
  CHECK(testing::DecodedSize(copy).height == 1600);
  std::ifstream kept(kbo.File("home/blobs/originals/" + camera_sha.substr(0, 2) +
                              "/" + camera_sha),
                     std::ios::binary);
  const std::string original((std::istreambuf_iterator<char>(kept)),
                             std::istreambuf_iterator<char>());
  CHECK(original == camera);
  {
    auto db = Db::Open(kbo.home() + "/field.db");
    REQUIRE(db.ok());
    Statement st(**db,
                 "SELECT original_sha256, original_bytes, original_width "
                 "FROM photo_original WHERE upload_sha256 = ?1");
    st.Bind(1, std::string_view(sha));
    REQUIRE(st.Step());
    CHECK(st.ColumnText(0) == camera_sha);
    CHECK(st.ColumnInt(1) == static_cast<int64_t>(camera.size()));
    CHECK(st.ColumnInt(2) == 3000);
  }
  CHECK(kbo.Json({"status", "--json"})["pending_blobs"] == 1);

  // --long-edge and --quality, bounded.
  const std::string small =
      kbo.Add({"photo", "add", kbo.File("IMG_0001.jpg"), "--subject",
               "producer:" + producer, "--long-edge", "640", "--quality", "60"});
  CHECK(kbo.Json({"show", "photo", small, "--json"})["height"] == 640);
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{"--long-edge", "319"},
        {"--long-edge", "8193"},
        {"--long-edge", "big"},
        {"--quality", "29"},
        {"--quality", "96"},
        {"--as-taken", "--quality", "80"}}) {
    std::vector<std::string> args = {"photo", "add", kbo.File("IMG_0001.jpg"),
                                     "--subject", "producer:" + producer};
    args.insert(args.end(), flags.begin(), flags.end());
    const CliResult r = kbo.Run(args);
    INFO(flags[0] << " " << flags[1]);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
  }
  // --as-taken: the file itself syncs.
  const std::string as_taken =
      kbo.Add({"photo", "add", kbo.File("IMG_0001.jpg"), "--subject",
               "producer:" + producer, "--as-taken"});
  CHECK(kbo.Json({"show", "photo", as_taken, "--json"})["sha256"] == camera_sha);

  // A file whose headers read but which does not decode: refused, exit 2,
  // nothing recorded, nothing more stored.
  std::string broken = "\xFF\xD8\xFF\xC0";  // SOF0 640 x 480, no tables
  broken += std::string("\x00\x11\x08\x01\xE0\x02\x80", 7);
  broken += std::string("\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 10);
  broken += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00", 10);
  broken += std::string(300, 'q') + "\xFF\xD9";
  WriteFile(kbo.File("broken.jpg"), broken);
  const size_t photos = kbo.Json({"list", "photo", "--json"}).size();
  const CliResult refused = kbo.Run({"photo", "add", kbo.File("broken.jpg"),
                                     "--subject", "producer:" + producer});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("broken.jpg does not decode as a picture") !=
        std::string::npos);
  CHECK(kbo.Json({"list", "photo", "--json"}).size() == photos);
  CHECK(kbo.Json({"status", "--json"})["pending_blobs"] == 3);
}

TEST_CASE("kbo: import is all or nothing and names the line", "[cli]") {
  Kbo kbo;
  SECTION("a bad line 3 imports nothing") {
    WriteFile(kbo.File("bad.csv"),
              "kind,name,district\n"
              "group,กลุ่มจักสานบ้านโป่ง,5011\n"
              "group,กลุ่มแม่บ้านสันทราย,5099\n");
    const CliResult r = kbo.Run({"import", "producers", kbo.File("bad.csv")});
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("line 3") != std::string::npos);
    CHECK(r.err.find("5099") != std::string::npos);
    CHECK(kbo.Json({"list", "producer", "--json"}).empty());
  }
  SECTION("a BOM, CRLF and Thai are accepted; ids on stdout") {
    WriteFile(kbo.File("ok.csv"),
              "\xEF\xBB\xBFkind,name,district,stars,tambon\r\n"
              "group,กลุ่มจักสานบ้านโป่ง,พร้าว,2,เวียง\r\n"
              "entrepreneur,นายสมชาย ทองดี,Phrao,,\r\n");
    const CliResult r = kbo.Run({"import", "producers", kbo.File("ok.csv")});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(std::regex_match(r.out, std::regex("([0-9a-f-]{36}\n){2}")));
    CHECK(r.err == "imported 2 producers\n");
    const json rows = kbo.Json({"list", "producer", "--json"});
    REQUIRE(rows.size() == 2);
    CHECK(rows[0]["id"] == r.out.substr(0, 36));
    CHECK(rows[0]["name"] == "กลุ่มจักสานบ้านโป่ง");
    CHECK(rows[0]["tambon"] == "เวียง");
    CHECK(rows[0]["otop_stars"] == 2);
    CHECK(rows[1]["district_code"] == "5011");
  }
  SECTION("enrolments with the flag spellings as headers") {
    const std::string producer = kbo.Producer();
    const std::string workshop = kbo.Workshop();
    WriteFile(kbo.File("enrol.csv"),
              "workshop,producer,participant\n" + workshop + "," + producer +
                  ",นางสมศรี ใจดี\n" + workshop + "," + producer + ",นายบุญมี\n");
    const CliResult r = kbo.Run({"import", "enrolment", kbo.File("enrol.csv")});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err == "imported 2 enrolments\n");
    CHECK(kbo.Json({"list", "enrolment", "--json"}).size() == 2);
  }
  SECTION("an unknown column and a short row are refused") {
    WriteFile(kbo.File("col.csv"), "kind,name,district,colour\n");
    const CliResult col = kbo.Run({"import", "producers", kbo.File("col.csv")});
    CHECK(col.exit_code == 2);
    CHECK(col.err.find("colour") != std::string::npos);
    WriteFile(kbo.File("short.csv"),
              "kind,name,district\ngroup,x,5011\ngroup,y\n");
    const CliResult short_row =
        kbo.Run({"import", "producers", kbo.File("short.csv")});
    CHECK(short_row.exit_code == 2);
    CHECK(short_row.err.find("line 3") != std::string::npos);
    CHECK(kbo.Json({"list", "producer", "--json"}).empty());
  }
  SECTION("a missing file is not found") {
    CHECK(kbo.Run({"import", "producers", kbo.File("absent.csv")}).exit_code ==
          3);
  }
  SECTION("DEL and C1 controls in a typed value: exit 2, nothing written") {
    for (const char* name : {"กลุ่ม\x7f", "กลุ่ม\xc2\x9bทดสอบ"}) {
      const CliResult r = kbo.Run({"producer", "add", "--kind", "group", "--name",
                                   name, "--district", "5011"});
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("contains a control character") != std::string::npos);
    }
    CHECK(kbo.Run({"producer", "add", "--kind", "group", "--name",
                   "กลุ่ม\xc2\xa0ทดสอบ", "--district", "5011"})
              .exit_code == 0);  // U+00A0 is a space, not a control
    CHECK(kbo.Json({"list", "producer", "--json"}).size() == 1);
  }
  SECTION("a folder is not a file: exit 2, said") {
    const CliResult dir = kbo.Run({"import", "producers", kbo.File("")});
    CHECK(dir.exit_code == 2);
    CHECK(dir.err.find("is a folder; name the CSV file in it") != std::string::npos);
  }
}

TEST_CASE("kbo: a workshop's fiscal year its start is not in, and a mark for a day after today, are recorded with a warning", "[cli]") {
  Kbo kbo;
  // 2024-03-04 is in fiscal year 2567: none said for 2567, one for 2568.
  const CliResult right = kbo.Run({"workshop", "add", "--title", "อบรม", "--fiscal-year", "2567",
                                   "--district", "5011", "--start", "2024-03-04"});
  REQUIRE(right.exit_code == 0);
  CHECK(right.err.empty());
  const CliResult slip = kbo.Run({"workshop", "add", "--title", "อบรม", "--fiscal-year", "2568",
                                  "--district", "5011", "--start", "2024-03-04"});
  REQUIRE(slip.exit_code == 0);
  CHECK_THAT(slip.err, Catch::Contains("a workshop starting 2024-03-04 is in fiscal year 2567, not 2568"));
  const std::string id = slip.out.substr(0, slip.out.find('\n'));
  CHECK_THAT(slip.err, Catch::Contains("kbo edit workshop " + id + " --set fiscal_year=2567"));
  CHECK(kbo.Json({"show", "workshop", id, "--json"})["fiscal_year"] == 2568);  // as given
  // A Western year for the fiscal year: refused, saying which BE year it is.
  const CliResult western = kbo.Run({"workshop", "add", "--title", "ค", "--fiscal-year", "2027",
                                     "--district", "5011", "--start", "2026-12-01"});
  CHECK(western.exit_code == 2);
  CHECK_THAT(western.err, Catch::Contains("a Western year: 2027 is BE 2570"));
  // 30 September is the last day of a fiscal year, 1 October the first.
  CHECK(kbo.Run({"workshop", "add", "--title", "ก", "--fiscal-year", "2567", "--district", "5011",
                 "--start", "2024-09-30"}).err.empty());
  CHECK_THAT(kbo.Run({"workshop", "add", "--title", "ข", "--fiscal-year", "2567", "--district", "5011",
                      "--start", "2024-10-01"}).err,
             Catch::Contains("is in fiscal year 2568, not 2567"));

  // A past course's marks: nothing said. A course far ahead: day 2 is said.
  const std::string producer = kbo.Producer();
  const std::string past = kbo.Workshop();
  const std::string e1 = kbo.Add({"enrolment", "add", "--workshop", past, "--producer", producer,
                                  "--participant", "นางสมศรี ใจดี"});
  const CliResult old = kbo.Run({"attendance", "mark", "--workshop", past, "--enrolment", e1,
                                 "--day", "2", "--status", "present"});
  REQUIRE(old.exit_code == 0);
  CHECK(old.err.empty());
  const std::string ahead = kbo.Add({"workshop", "add", "--title", "อบรมปีหน้า", "--fiscal-year", "2642",
                                     "--district", "5011", "--start", "2099-01-05"});
  const std::string e2 = kbo.Add({"enrolment", "add", "--workshop", ahead, "--producer", producer,
                                  "--participant", "นางสมศรี ใจดี"});
  const CliResult early = kbo.Run({"attendance", "mark", "--workshop", ahead, "--enrolment", e2,
                                   "--day", "2", "--status", "present"});
  REQUIRE(early.exit_code == 0);
  CHECK_THAT(early.err, Catch::Contains("day 2 of this workshop is 2099-01-06, after today"));
  CHECK_THAT(early.err, Catch::Contains("kbo delete attendance " + early.out.substr(0, 36)));
  CHECK(kbo.Json({"show", "attendance", early.out.substr(0, 36), "--json"})["status"] == "present");

  // kbo edit says the same: a year the start is not in, and marks moved
  // into days after today by a later start.
  const CliResult year = kbo.Run({"edit", "workshop", past, "--set", "fiscal_year=2568"});
  REQUIRE(year.exit_code == 0);
  CHECK_THAT(year.err, Catch::Contains("is in fiscal year 2567, not 2568"));
  const CliResult moved = kbo.Run({"edit", "workshop", past, "--set", "start_date=2099-03-04",
                                   "--set", "fiscal_year=2642"});
  REQUIRE(moved.exit_code == 0);
  CHECK_THAT(moved.err, Catch::Contains("1 attendance mark of this workshop is now for days "
                                        "after today"));
  CHECK(kbo.Run({"edit", "workshop", past, "--set", "venue=ศาลาวัด"}).err.empty());
}


TEST_CASE("kbo: a --home that names a file is a usage error (exit 2), nothing made", "[cli]") {
  Kbo kbo;
  const std::string file = kbo.File("photo.png");
  WriteFile(file, "not a folder");
  const CliResult r = RunKbo({"--home", file, "status"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("exists and is not a directory"));
  const CliResult under = RunKbo({"--home", file + "/home", "init"});
  CHECK(under.exit_code == 2);
}

TEST_CASE("kbo: a command that waits too long for another kbo writing this "
          "device's data exits 4 saying nothing was written and to run it again",
          "[cli]") {
  Kbo kbo;
  kbo.Producer();  // the home exists
  {
    // Another kbo (a sync, kbo ui) holding the write lock past the wait.
    auto other = Db::Open(kbo.home() + "/field.db");
    REQUIRE(other.ok());
    REQUIRE((*other)->Exec("BEGIN IMMEDIATE").ok());
    const CliResult r = kbo.Run({"producer", "add", "--kind", "group", "--name",
                                 "กลุ่มจักสานบ้านโหล่งขอด", "--district", "5011"});
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 4);
    CHECK(r.out.empty());
    CHECK(r.err.find("another writer held") != std::string::npos);
    CHECK(r.err.find("the step that failed wrote nothing") != std::string::npos);
    CHECK(r.err.find("run the command again when it is done") != std::string::npos);
    REQUIRE((*other)->Exec("ROLLBACK").ok());
  }
  const json list = kbo.Json({"list", "producer", "--json"});
  CHECK(list.size() == 1);  // the refused add wrote nothing
}

TEST_CASE("kbo: a next visit before the visit itself is refused, on add and on "
          "edit, nothing written",
          "[cli]") {
  Kbo kbo;
  const std::string producer = kbo.Producer();
  // A next visit before the visit: a slip of the keyboard, refused. The
  // visit's day is its Bangkok date (23:30 UTC on 4 March is 5 March there).
  for (const char* next : {"1900-01-01", "2024-03-04"}) {
    const CliResult past =
        kbo.Run({"visit", "add", "--producer", producer, "--at", "2024-03-04T23:30:00Z",
                 "--next-visit", next});
    INFO(past.err);
    CHECK(past.exit_code == 2);
    CHECK(past.err.find("is before the visit itself (2024-03-05)") != std::string::npos);
  }
  const std::string same_day =
      kbo.Add({"visit", "add", "--producer", producer, "--at", "2024-03-04T23:30:00Z",
               "--next-visit", "2024-03-05"});
  const CliResult edited =
      kbo.Run({"edit", "visit", same_day, "--set", "next_visit=2024-03-01"});
  CHECK(edited.exit_code == 2);
  CHECK(kbo.Json({"show", "visit", same_day, "--json"})["next_visit"] == "2024-03-05");
  const CliResult moved =
      kbo.Run({"edit", "visit", same_day, "--set", "visited_at=2024-04-01T03:00:00Z"});
  CHECK(moved.exit_code == 2);
  CHECK(moved.err.find("next_visit 2024-03-05 is before the visit itself") !=
        std::string::npos);
  CHECK(kbo.Json({"list", "visit", "--json"}).size() == 1);
}

}  // namespace
}  // namespace kbo::testing
