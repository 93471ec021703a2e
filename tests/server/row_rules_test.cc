// Issue 9, D1 and D8 and the row rules of DESIGN §6: each row of a pushed
// change set is checked by its district and its parents', its role, its
// required columns, its references and its derived id; a refused row is
// refused alone (listed in the signed receipt, kept for the office, nothing
// of it stored) and never blocks its device; a row that moves into a
// device's districts reaches it whole.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "server/enrolment.h"
#include "server/pull_service.h"
#include "server/push_service.h"
#include "shared/entities.h"
#include "shared/replica/apply.h"
#include "shared/roles.h"
#include "tests/server/server_fixture.h"

namespace kbo::server::testing {
namespace {

constexpr const char* kMueang = "5001";

protocol::Receipt Accepted(ServerFixture& f, const Result<PushResult>& r) {
  REQUIRE(r.ok());
  Signature sig{};
  auto parsed = ParsePushResponse(r->response_json, &sig);
  REQUIRE(parsed.ok());
  REQUIRE(Verify(f.store->key().public_key(), kReceiptDomain,
                 protocol::ReceiptMessage(parsed->receipt), sig));
  return parsed->receipt;
}

// The reasons of a receipt's refusals, in order.
std::vector<std::string> Reasons(const protocol::Receipt& r) {
  std::vector<std::string> out;
  for (const protocol::RefusedRow& x : r.refused) out.push_back(x.reason);
  return out;
}

RowChange Enrolment(const Uuid& id, const Hlc& hlc, const Uuid& workshop,
                    const Uuid& producer, const std::string& district) {
  return Row("enrolment", id, hlc,
             {{"workshop_id", T(workshop.ToString()), 0},
              {"producer_id", T(producer.ToString()), 0},
              {"participant_name", T("นางสมศรี ใจดี"), 0},
              {"district_code", T(district), 0}});
}

Uuid AttendanceId(const Uuid& workshop, const Uuid& enrolment, int64_t day) {
  RowValues key;
  key["workshop_id"] = T(workshop.ToString());
  key["enrolment_id"] = T(enrolment.ToString());
  key["day"] = I(day);
  return DerivedRowId(*FindEntity("attendance"), key).value();
}

RowChange Mark(const Uuid& id, const Hlc& hlc, const Uuid& workshop,
               const Uuid& enrolment, int64_t day, const std::string& status,
               const std::string& district) {
  return Row("attendance", id, hlc,
             {{"workshop_id", T(workshop.ToString()), 0},
              {"enrolment_id", T(enrolment.ToString()), 0},
              {"day", I(day), 0},
              {"status", T(status), 0},
              {"district_code", T(district), 0}});
}

// Everything the entity tables hold, to prove a refusal stored nothing.
int64_t EntityRows(ServerFixture& f) {
  int64_t n = 0;
  for (const Entity& e : Catalogue()) {
    n += f.Count("SELECT COUNT(*) FROM " + std::string(e.name));
  }
  return n;
}

struct Course {
  Uuid producer = Uuid::Random(), workshop = Uuid::Random(),
       enrolment = Uuid::Random();
};

// A Mueang (5001) trainer's course: producer, workshop, one enrolment.
Course SeedCourse(ServerFixture& f, PushService& push, TestDevice& trainer) {
  Course c;
  const protocol::Receipt r = Accepted(
      f, push.Push(f.Record(trainer.id),
                   trainer.SealNext(
                       {Producer(c.producer, trainer.HlcAt(kT0), kMueang),
                        Workshop(c.workshop, trainer.HlcAt(kT0), kMueang),
                        Enrolment(c.enrolment, trainer.HlcAt(kT0), c.workshop,
                                  c.producer, kMueang)})));
  REQUIRE(r.refused.empty());
  return c;
}

TEST_CASE(
    "Row rules (D1): a Phrao device cannot take a Mueang mark's id, and the "
    "Mueang trainer's own marks keep syncing",
    "[server][push][attack][d1]") {
  ServerFixture f;
  TestDevice mueang, phrao;
  f.Enroll(mueang, kMueang);
  f.Enroll(phrao, kPhrao);
  PushService push(*f.store);
  const Course c = SeedCourse(f, push, mueang);
  const Uuid mark = AttendanceId(c.workshop, c.enrolment, 1);
  const int64_t before = EntityRows(f);

  SECTION("the attacker's row names the Mueang enrolment: out of scope") {
    const protocol::Receipt r = Accepted(
        f, push.Push(f.Record(phrao.id),
                     phrao.SealNext({Mark(mark, phrao.HlcAt(kT0), c.workshop,
                                          c.enrolment, 1, "absent", kPhrao)})));
    CHECK(Reasons(r) == std::vector<std::string>{"out_of_scope"});
  }
  SECTION("the attacker's row names its own workshop but takes the id") {
    const Uuid own_ws = Uuid::Random(), own_producer = Uuid::Random(),
               own_en = Uuid::Random();
    const protocol::Receipt r = Accepted(
        f, push.Push(
               f.Record(phrao.id),
               phrao.SealNext(
                   {Producer(own_producer, phrao.HlcAt(kT0), kPhrao),
                    Workshop(own_ws, phrao.HlcAt(kT0), kPhrao),
                    Enrolment(own_en, phrao.HlcAt(kT0), own_ws, own_producer,
                              kPhrao),
                    Mark(mark, phrao.HlcAt(kT0), own_ws, own_en, 1, "absent",
                         kPhrao)})));
    CHECK(Reasons(r) == std::vector<std::string>{"derived_id"});
    CHECK(r.refused[0].index == 3);
    CHECK(EntityRows(f) == before + 3);  // its own three rows, not the mark
  }
  CHECK(f.Count("SELECT COUNT(*) FROM attendance") == 0);
  CHECK(f.Count("SELECT COUNT(*) FROM refused_row WHERE device_id = '" +
                phrao.id.ToString() + "'") == 1);

  // The Mueang trainer's own mark for that day, and every later set, go in.
  for (int day = 1; day <= 3; ++day) {
    const protocol::Receipt r = Accepted(
        f, push.Push(f.Record(mueang.id),
                     mueang.SealNext({Mark(
                         AttendanceId(c.workshop, c.enrolment, day),
                         mueang.HlcAt(kT0 + day), c.workshop, c.enrolment, day,
                         "present", kMueang)})));
    CHECK(r.refused.empty());
  }
  CHECK(f.Count("SELECT COUNT(*) FROM attendance WHERE district_code = '5001' "
                "AND status = 'present'") == 3);
  // Now that the mark exists, writing its id again is refused and the
  // receipt brings nothing of the Mueang row back to the Phrao device.
  const protocol::Receipt again = Accepted(
      f, push.Push(f.Record(phrao.id),
                   phrao.SealNext({Row("attendance", mark, phrao.HlcAt(kT0 + 9),
                                       {{"status", T("absent"), 0}})})));
  CHECK(Reasons(again) == std::vector<std::string>{"out_of_scope"});
  CHECK(again.server_rows.empty());
  CHECK(f.Count("SELECT COUNT(*) FROM attendance WHERE status = 'absent'") == 0);
}

TEST_CASE(
    "Row rules: a row refused alone never blocks its device, later rows of "
    "the same set and later sets are applied",
    "[server][push][d1]") {
  ServerFixture f;
  TestDevice phrao;
  f.Enroll(phrao, kPhrao);
  PushService push(*f.store);
  const Uuid bad = Uuid::Random(), good = Uuid::Random();
  // A producer recorded in Mueang by mistake (kbo producer add --district
  // 5001 on a Phrao device, as older clients allowed), then a good one, then
  // an edit of the refused one: refused too, as following a refusal.
  const protocol::Receipt r = Accepted(
      f, push.Push(f.Record(phrao.id),
                   phrao.SealNext({Producer(bad, phrao.HlcAt(kT0), kMueang),
                                   Producer(good, phrao.HlcAt(kT0), kPhrao),
                                   Row("producer", bad, phrao.HlcAt(kT0 + 1),
                                       {{"phone", T("0811111111"), 0}})})));
  CHECK(Reasons(r) == std::vector<std::string>{"out_of_scope", "follows_refused"});
  CHECK(r.rows == 1);
  CHECK(f.Count("SELECT COUNT(*) FROM producer") == 1);
  // Kept verbatim for the office: the set in the log, the row's cells here.
  CHECK(f.Count("SELECT COUNT(*) FROM change_set_log") == 1);
  CHECK_THAT(f.Text("SELECT cells FROM refused_row WHERE row_index = 0"),
             Catch::Contains("กลุ่มทอผ้าบ้านป่าตุ้ม") && Catch::Contains("5001"));
  // The person deletes the refused row: nothing to delete on the server,
  // nothing refused again.
  const protocol::Receipt del = Accepted(
      f, push.Push(f.Record(phrao.id),
                   phrao.SealNext({Row("producer", bad, phrao.HlcAt(kT0 + 2),
                                       {{"deleted", I(1), 0}})})));
  CHECK(del.refused.empty());
  CHECK(f.Count("SELECT COUNT(*) FROM producer") == 1);
}

TEST_CASE("Row rules: a later change of a refused row in the same set is taken "
          "when it stands alone, and settles the refusal when it writes every "
          "column again",
          "[server][push][d1]") {
  ServerFixture f;
  TestDevice phrao;
  f.Enroll(phrao, kPhrao);
  PushService push(*f.store);
  const Uuid fixed = Uuid::Random(), part = Uuid::Random();
  // Refused whole (Mueang), then sent whole again in Phrao: taken. A second
  // row refused whole, then only its phone: not a row alone, refused as
  // following the first.
  const protocol::Receipt r = Accepted(
      f, push.Push(f.Record(phrao.id),
                   phrao.SealNext({Producer(fixed, phrao.HlcAt(kT0), kMueang),
                                   Producer(fixed, phrao.HlcAt(kT0 + 1), kPhrao),
                                   Producer(part, phrao.HlcAt(kT0), kMueang),
                                   Row("producer", part, phrao.HlcAt(kT0 + 1),
                                       {{"phone", T("0811111111"), 0}})})));
  CHECK(Reasons(r) == std::vector<std::string>{"out_of_scope", "out_of_scope",
                                               "follows_refused"});
  CHECK(r.rows == 1);
  CHECK(f.Count("SELECT COUNT(*) FROM producer WHERE id = '" + fixed.ToString() +
                "' AND district_code = '" + kPhrao + "'") == 1);
  CHECK(f.Count("SELECT COUNT(*) FROM producer") == 1);
  // Kept for the record; the made-good one settled by its own set.
  CHECK(f.Count("SELECT COUNT(*) FROM refused_row") == 3);
  CHECK(f.Count("SELECT COUNT(*) FROM refused_row WHERE settled_at IS NULL") == 2);
  CHECK(f.Count("SELECT COUNT(*) FROM refused_row WHERE settled_at IS NOT NULL AND "
                "row_id = '" + fixed.ToString() + "' AND settled_seq = 1") == 1);
}

TEST_CASE("Row rules: required columns, references, districts, clocks",
          "[server][push][attack]") {
  ServerFixture f;
  TestDevice phrao, wide;
  f.Enroll(phrao, kPhrao);
  f.Enroll(wide, std::string(kPhrao) + "," + kMueang);
  PushService push(*f.store);
  TestDevice mueang;
  f.Enroll(mueang, kMueang);
  const Course c = SeedCourse(f, push, mueang);
  const int64_t before = EntityRows(f);

  struct Case {
    const char* what;
    TestDevice* device;
    RowChange row;
    const char* reason;
  };
  const Uuid phrao_ws = Uuid::Random();
  Hlc old = phrao.HlcAt(kT0);
  old.wall_ms = 0;  // 1970: a device whose clock was never set
  std::vector<Case> cases;
  cases.push_back({"a new producer without its name", &phrao,
                   Row("producer", Uuid::Random(), phrao.HlcAt(kT0),
                       {{"kind", T("group"), 0},
                        {"district_code", T(kPhrao), 0}}),
                   "missing_column"});
  // Kept until the workshop reaches the server (server_apply.h).
  cases.push_back({"an enrolment in a workshop the server does not hold",
                   &phrao,
                   Enrolment(Uuid::Random(), phrao.HlcAt(kT0), phrao_ws,
                             Uuid::Random(), kPhrao),
                   "waits_for_row"});
  cases.push_back({"an enrolment in Phrao of a Mueang workshop, by a device "
                   "of both",
                   &wide,
                   Enrolment(Uuid::Random(), wide.HlcAt(kT0), c.workshop,
                             c.producer, kPhrao),
                   "wrong_district"});
  cases.push_back({"a 1970 hlc", &phrao,
                   Producer(Uuid::Random(), old, kPhrao), "clock_behind"});
  cases.push_back({"emptying a required column", &mueang,
                   Row("producer", c.producer, mueang.HlcAt(kT0 + 5),
                       {{"name", Value::Null(), 0}}),
                   "missing_column"});
  for (Case& k : cases) {
    INFO(k.what);
    const protocol::Receipt r =
        Accepted(f, push.Push(f.Record(k.device->id),
                              k.device->SealNext({k.row})));
    CHECK(Reasons(r) == std::vector<std::string>{k.reason});
  }
  CHECK(EntityRows(f) == before);
  CHECK(f.Text("SELECT name FROM producer WHERE id = '" + c.producer.ToString() +
               "'") == "กลุ่มทอผ้าบ้านป่าตุ้ม");
}

TEST_CASE("Row rules: the role x entity matrix (shared/roles.h)",
          "[server][push][roles]") {
  ServerFixture f;
  PushService push(*f.store);
  TestDevice office;
  f.Enroll(office, "all", "central_office");
  const Course c = SeedCourse(f, push, office);
  const Uuid product = Uuid::Random();
  REQUIRE(Accepted(f, push.Push(f.Record(office.id),
                                office.SealNext({Row(
                                    "product", product, office.HlcAt(kT0),
                                    {{"producer_id", T(c.producer.ToString()), 0},
                                     {"name", T("ผ้าทอ"), 0},
                                     {"district_code", T(kMueang), 0}})})))
              .refused.empty());

  // One new row of each entity, all valid, hung on the course above.
  auto rows_for = [&](TestDevice& d) {
    std::map<std::string, RowChange> m;
    const Uuid ws = Uuid::Random(), en = Uuid::Random();
    m.emplace("producer", Producer(Uuid::Random(), d.HlcAt(kT0), kMueang));
    m.emplace("product", Row("product", Uuid::Random(), d.HlcAt(kT0),
                             {{"producer_id", T(c.producer.ToString()), 0},
                              {"name", T("ผ้าซิ่น"), 0},
                              {"district_code", T(kMueang), 0}}));
    m.emplace("workshop", Workshop(ws, d.HlcAt(kT0), kMueang));
    m.emplace("enrolment", Enrolment(en, d.HlcAt(kT0), c.workshop, c.producer,
                                     kMueang));
    const Uuid mark = AttendanceId(c.workshop, c.enrolment, 2);
    m.emplace("attendance", Mark(mark, d.HlcAt(kT0), c.workshop, c.enrolment,
                                 2, "late", kMueang));
    m.emplace("visit", Row("visit", Uuid::Random(), d.HlcAt(kT0),
                           {{"producer_id", T(c.producer.ToString()), 0},
                            {"visited_at", T("2024-03-10T02:00:00Z"), 0},
                            {"district_code", T(kMueang), 0}}));
    m.emplace("progress", Row("progress", Uuid::Random(), d.HlcAt(kT0),
                              {{"product_id", T(product.ToString()), 0},
                               {"stage", T("design"), 0},
                               {"district_code", T(kMueang), 0}}));
    RowValues key;
    key["product_id"] = T(product.ToString());
    key["contest"] = T("KBO CM CONTEST");
    key["judge"] = T("judge-" + d.id.ToString());
    m.emplace("contest_score",
              Row("contest_score",
                  DerivedRowId(*FindEntity("contest_score"), key).value(),
                  d.HlcAt(kT0),
                  {{"product_id", T(product.ToString()), 0},
                   {"contest", T("KBO CM CONTEST"), 0},
                   {"judge", T("judge-" + d.id.ToString()), 0},
                   {"identity", I(4), 0},
                   {"uniqueness", I(4), 0},
                   {"quality", I(4), 0},
                   {"packaging", I(4), 0},
                   {"marketability", I(4), 0},
                   {"district_code", T(kMueang), 0}}));
    m.emplace("photo", Row("photo", Uuid::Random(), d.HlcAt(kT0),
                           {{"subject_type", T("producer"), 0},
                            {"subject_id", T(c.producer.ToString()), 0},
                            {"sha256", T(std::string(64, 'a')), 0},
                            {"mime", T("image/jpeg"), 0},
                            {"district_code", T(kMueang), 0}}));
    return m;
  };
  for (std::string_view role : kRoles) {
    TestDevice d;
    f.Enroll(d, kMueang, std::string(role));
    for (auto& [entity, row] : rows_for(d)) {
      INFO(std::string(role) + " creates a " + entity);
      const int64_t before =
          f.Count("SELECT COUNT(*) FROM " + entity);
      const protocol::Receipt r =
          Accepted(f, push.Push(f.Record(d.id), d.SealNext({row})));
      const bool may = RoleMayWrite(role, entity, RowAction::kCreate);
      const bool existed = entity == "attendance" && before == 1;
      if (may) {
        CHECK(r.refused.empty());
        CHECK(f.Count("SELECT COUNT(*) FROM " + entity) ==
              before + (existed ? 0 : 1));
      } else {
        CHECK(Reasons(r) == std::vector<std::string>{"role"});
        CHECK(f.Count("SELECT COUNT(*) FROM " + entity) == before);
      }
    }
  }
  // The matrix itself, as DESIGN §6 and docs/roles.md state it.
  for (const Entity& e : Catalogue()) {
    const std::string n(e.name);
    const bool trainer_only = n == "workshop" || n == "enrolment" ||
                              n == "attendance" || n == "contest_score";
    for (RowAction a : {RowAction::kCreate, RowAction::kEdit, RowAction::kDelete}) {
      CHECK(RoleMayWrite("central_office", n, a));
      CHECK(RoleMayWrite("trainer", n, a));
      CHECK(RoleMayWrite("field_officer", n, a) == !trainer_only);
      CHECK_FALSE(RoleMayWrite("", n, a));
      CHECK_FALSE(RoleMayWrite("admin", n, a));
    }
  }
}

TEST_CASE(
    "Row rules (D8): a producer that moves into a device's district arrives "
    "whole",
    "[server][pull][d8]") {
  ServerFixture f;
  TestDevice office, phrao;
  f.Enroll(office, "all", "central_office");
  f.Enroll(phrao, kPhrao);
  PushService push(*f.store);
  PullService pull(*f.store);
  const Uuid moved = Uuid::Random();
  REQUIRE(Accepted(f, push.Push(f.Record(office.id),
                                office.SealNext({Producer(
                                    moved, office.HlcAt(kT0), kMueang)})))
              .refused.empty());
  // The Phrao device is up to date (nothing of Mueang).
  auto first = pull.Pull(f.Record(phrao.id), 0, 100);
  REQUIRE(first.ok());
  const uint64_t cursor = first->next_cursor;
  REQUIRE(Accepted(f, push.Push(f.Record(office.id),
                                office.SealNext({Row(
                                    "producer", moved, office.HlcAt(kT0 + 1),
                                    {{"district_code", T(kPhrao), 1}})})))
              .refused.empty());
  auto page = pull.Pull(f.Record(phrao.id), cursor, 100);
  REQUIRE(page.ok());
  auto cs = DecodeChangeSet(page->body);
  REQUIRE(cs.ok());
  std::set<std::string> columns;
  for (const RowChange& rc : cs->rows) {
    CHECK(rc.row_id == moved);
    for (const CellWrite& cell : rc.cells) {
      columns.insert(cell.column);
      CHECK(cell.base > 0);  // every cell with its version
    }
  }
  CHECK(columns == std::set<std::string>{"kind", "name", "district_code",
                                         "category"});
  // A device already past the move gets only what is new.
  auto again = pull.Pull(f.Record(phrao.id), page->next_cursor, 100);
  REQUIRE(again.ok());
  CHECK(again->row_changes == 0);
}

TEST_CASE(
    "Row rules (D8): a device granted a district receives its rows whole, "
    "older ones too",
    "[server][pull][d8]") {
  ServerFixture f;
  TestDevice office, phrao;
  f.Enroll(office, "all", "central_office");
  f.Enroll(phrao, kPhrao);
  PushService push(*f.store);
  PullService pull(*f.store);
  const Uuid fang_row = Uuid::Random(), phrao_row = Uuid::Random();
  REQUIRE(Accepted(f, push.Push(f.Record(office.id),
                                office.SealNext({Producer(fang_row, office.HlcAt(kT0), kFang),
                                                 Producer(phrao_row, office.HlcAt(kT0), kPhrao)})))
              .refused.empty());
  auto first = pull.Pull(f.Record(phrao.id), 0, 100);
  REQUIRE(first.ok());
  CHECK(first->rows == 1);
  const uint64_t cursor = first->next_cursor;
  REQUIRE(cursor > 0);

  server::Enrolment enrolment(*f.store);
  auto scope = enrolment.Grant(phrao.id.ToString(), kFang);
  REQUIRE(scope.ok());
  CHECK(scope->ToString() == "5009,5011");
  CHECK(enrolment.Grant(Uuid::Random().ToString(), kFang).status().code() ==
        Code::kNotFound);
  CHECK(enrolment.Grant(phrao.id.ToString(), "9999").status().code() ==
        Code::kInvalidArgument);

  // A cursor from before the grant: start again.
  auto stale = pull.Pull(f.Record(phrao.id), cursor, 100);
  CHECK(stale.status().code() == Code::kSequenceGap);
  CHECK(stale.status().reason() == "pull_restart");
  // From 0, one row a page: every page goes on from its cursor, and the
  // Fang producer comes whole.
  std::set<std::string> fang_columns;
  uint64_t at = 0;
  for (int pages = 0;; ++pages) {
    REQUIRE(pages < 10);
    auto page = pull.Pull(f.Record(phrao.id), at, 1);
    REQUIRE(page.ok());
    auto cs = DecodeChangeSet(page->body);
    REQUIRE(cs.ok());
    for (const RowChange& rc : cs->rows) {
      if (rc.row_id != fang_row) continue;
      for (const CellWrite& cell : rc.cells) fang_columns.insert(cell.column);
    }
    at = page->next_cursor;
    if (!page->more) break;
  }
  CHECK(fang_columns == std::set<std::string>{"kind", "name", "district_code",
                                              "category"});
  CHECK(f.Record(phrao.id).grant_seq == 0);
  auto after = pull.Pull(f.Record(phrao.id), at, 100);
  REQUIRE(after.ok());
  CHECK(after->row_changes == 0);
  // Granting what it holds changes nothing: no restart.
  REQUIRE(enrolment.Grant(phrao.id.ToString(), kFang).ok());
  CHECK(f.Record(phrao.id).grant_seq == 0);
}

// A receipt's refusals by row index, for a set of `rows` row changes
// ("" = accepted).
std::vector<std::string> ReasonsByRow(const protocol::Receipt& r, size_t rows) {
  std::vector<std::string> out(rows);
  for (const protocol::RefusedRow& x : r.refused) {
    if (x.index < rows) out[x.index] = x.reason;
  }
  return out;
}

// One change set of a Phrao+Mueang device that references a workshop
// before creating it, creates it in Phrao with an enrolment and a mark,
// moves it to Mueang, then marks again in each district: the references'
// districts change within the set.
std::vector<RowChange> SetThatMovesItsWorkshop(TestDevice& wide,
                                               const Course& c) {
  const Uuid &producer = c.producer, &workshop = c.workshop,
             &enrolment = c.enrolment;
  const Hlc t0 = wide.HlcAt(kT0), t1 = wide.HlcAt(kT0 + 1);
  return {
      // 0: its workshop is not held yet.
      Mark(AttendanceId(workshop, enrolment, 4), t0, workshop, enrolment, 4,
           "present", kPhrao),
      Producer(producer, t0, kPhrao),
      Workshop(workshop, t0, kPhrao),
      Enrolment(enrolment, t0, workshop, producer, kPhrao),
      // 4: now it is, in Phrao.
      Mark(AttendanceId(workshop, enrolment, 1), t0, workshop, enrolment, 1,
           "present", kPhrao),
      // 5: the workshop moves to Mueang.
      Row("workshop", workshop, t1, {{"district_code", T(kMueang), 0}}),
      // 6: Phrao is no longer its workshop's district.
      Mark(AttendanceId(workshop, enrolment, 2), t1, workshop, enrolment, 2,
           "present", kPhrao),
      // 7: Mueang is.
      Mark(AttendanceId(workshop, enrolment, 3), t1, workshop, enrolment, 3,
           "present", kMueang),
  };
}

TEST_CASE(
    "Row rules: a set that creates and moves a parent sees its own writes "
    "(the districts remembered for the set)",
    "[server][push][scope_cache]") {
  // The same rows, once as one set (the references' districts remembered
  // across its rows) and once one row per set (nothing carried over): the
  // decisions must be the same.
  ServerFixture one_set, row_by_row;
  TestDevice wide, wide_too;
  one_set.Enroll(wide, std::string(kPhrao) + "," + kMueang);
  row_by_row.Enroll(wide_too, std::string(kPhrao) + "," + kMueang);
  const Course ids;
  const std::vector<RowChange> rows = SetThatMovesItsWorkshop(wide, ids);
  // Row 0 waits for its workshop (server_apply.h): as the set goes, not
  // applied where the receipt is written.
  const std::vector<std::string> expected = {
      "waits_for_row", "", "", "", "", "", "wrong_district", ""};

  PushService push(*one_set.store);
  const protocol::Receipt whole =
      Accepted(one_set, push.Push(one_set.Record(wide.id), wide.SealNext(rows)));
  CHECK(ReasonsByRow(whole, rows.size()) == expected);

  PushService push_each(*row_by_row.store);
  std::vector<std::string> each;
  for (const RowChange& row : SetThatMovesItsWorkshop(wide_too, ids)) {
    const protocol::Receipt r = Accepted(
        row_by_row, push_each.Push(row_by_row.Record(wide_too.id),
                                   wide_too.SealNext({row})));
    each.push_back(ReasonsByRow(r, 1).front());
  }
  CHECK(each == expected);

  // Then applied when what it names arrives, as the server is then: one row
  // per set, its enrolment arrives while the workshop is in Phrao (taken, as
  // row 4 is); in the one set, after the set, when the workshop is in Mueang
  // (refused for good, as row 6 is: wrong_district).
  CHECK(row_by_row.Count("SELECT COUNT(*) FROM attendance") == 3);
  CHECK(row_by_row.Count("SELECT COUNT(*) FROM refused_row WHERE reason = 'waits_for_row' "
                         "AND settled_at IS NOT NULL") == 1);
  CHECK(row_by_row.Count("SELECT COUNT(*) FROM refused_row WHERE settled_at IS NULL") == 1);
  CHECK(one_set.Text("SELECT reason FROM refused_row WHERE row_index = 0") ==
        "wrong_district");
  CHECK(one_set.Count("SELECT COUNT(*) FROM refused_row WHERE waits_row_id IS NOT NULL") ==
        0);
  // (The rest compares the other rows: that one aside.)
  REQUIRE(row_by_row.store->db()
              .Exec("DELETE FROM attendance WHERE id = '" +
                    AttendanceId(ids.workshop, ids.enrolment, 4).ToString() + "'")
              .ok());
  for (ServerFixture* f : {&one_set, &row_by_row}) {
    CHECK(f->Count("SELECT COUNT(*) FROM attendance") == 2);
    CHECK(f->Count("SELECT COUNT(*) FROM attendance WHERE district_code = '" +
                   std::string(kMueang) + "'") == 1);
    CHECK(f->Count("SELECT COUNT(*) FROM workshop WHERE district_code = '" +
                   std::string(kMueang) + "'") == 1);
  }
}

// The pull index as (entity, row id, district) per row, whatever the
// sequences (which differ between one set and one set per row).
std::set<std::string> IndexedRows(ServerFixture& f) {
  std::set<std::string> out;
  Statement st(f.store->db(),
               "SELECT entity, row_id, COALESCE(district_code, '') FROM row_seq");
  while (st.Step()) {
    out.insert(st.ColumnText(0) + " " + st.ColumnText(1) + " " + st.ColumnText(2));
  }
  REQUIRE(st.status().ok());
  return out;
}

std::string Replica(ServerFixture& f) {
  Result<std::string> dump = DumpReplicaState(f.store->db());
  REQUIRE(dump.ok());
  return *dump;
}

TEST_CASE(
    "Row rules: a set of new rows, edits and rows of several entities, read "
    "ahead, merges as the same rows pushed one per set",
    "[server][push][read_ahead]") {
  // ApplyAtServer reads a set's rows and their references' districts up
  // front (one query per entity) and writes without waiting for answers on
  // PostgreSQL. The same rows pushed one per set read everything when they
  // come: both must decide and store the same.
  ServerFixture one_set, row_by_row;
  TestDevice trainer, trainer_too;
  one_set.Enroll(trainer, kMueang);
  row_by_row.Enroll(trainer_too, kMueang);
  const Course c;
  const Uuid enrolment2 = Uuid::Random();
  const Uuid ghost = Uuid::Random();  // an enrolment nobody holds
  auto rows_for = [&](TestDevice& d, bool seed) {
    const Hlc t0 = d.HlcAt(kT0), t1 = d.HlcAt(kT0 + 1), t2 = d.HlcAt(kT0 + 2);
    if (seed) {
      return std::vector<RowChange>{
          Producer(c.producer, t0, kMueang), Workshop(c.workshop, t0, kMueang),
          Enrolment(c.enrolment, t0, c.workshop, c.producer, kMueang),
          Mark(AttendanceId(c.workshop, c.enrolment, 1), t0, c.workshop,
               c.enrolment, 1, "present", kMueang)};
    }
    return std::vector<RowChange>{
        // 0: an edit of a held workshop.
        Row("workshop", c.workshop, t1, {{"title", T("ผ้าทอ รุ่น 2"), 0}}),
        // 1: a new enrolment, 2: a new mark that references it.
        Enrolment(enrolment2, t1, c.workshop, c.producer, kMueang),
        Mark(AttendanceId(c.workshop, enrolment2, 1), t1, c.workshop, enrolment2, 1,
             "present", kMueang),
        // 3: an edit of a held mark.
        Row("attendance", AttendanceId(c.workshop, c.enrolment, 1), t1,
            {{"status", T("late"), 0}}),
        // 4: a new mark, 5: an edit of it in the same set.
        Mark(AttendanceId(c.workshop, c.enrolment, 2), t1, c.workshop, c.enrolment, 2,
             "absent", kMueang),
        Row("attendance", AttendanceId(c.workshop, c.enrolment, 2), t2,
            {{"status", T("excused"), 0}, {"note", T("ป่วย"), 0}}),
        // 6: a mark of an enrolment nobody holds: refused alone.
        Mark(AttendanceId(c.workshop, ghost, 1), t1, c.workshop, ghost, 1, "present",
             kMueang),
        // 7: an edit of a held producer, 8: an edit of the new enrolment.
        Row("producer", c.producer, t2, {{"name", T("กลุ่มทอผ้า ใหม่"), 0}}),
        Row("enrolment", enrolment2, t2, {{"participant_name", T("นายสมชาย"), 0}}),
    };
  };
  const std::vector<std::string> expected = {
      "", "", "", "", "", "", "waits_for_row", "", ""};

  PushService push(*one_set.store);
  REQUIRE(Accepted(one_set, push.Push(one_set.Record(trainer.id),
                                      trainer.SealNext(rows_for(trainer, true))))
              .refused.empty());
  const std::vector<RowChange> rows = rows_for(trainer, false);
  const protocol::Receipt whole =
      Accepted(one_set, push.Push(one_set.Record(trainer.id), trainer.SealNext(rows)));
  CHECK(ReasonsByRow(whole, rows.size()) == expected);

  PushService push_each(*row_by_row.store);
  std::vector<std::string> each;
  for (bool seed : {true, false}) {
    for (const RowChange& row : rows_for(trainer_too, seed)) {
      const protocol::Receipt r = Accepted(
          row_by_row,
          push_each.Push(row_by_row.Record(trainer_too.id), trainer_too.SealNext({row})));
      if (!seed) each.push_back(ReasonsByRow(r, 1).front());
    }
  }
  CHECK(each == expected);

  // Equal replicas (values and hlcs, the device ids aside) and pull index.
  std::string a = Replica(one_set), b = Replica(row_by_row);
  for (std::string* dump : {&a, &b}) {
    const std::string id = (dump == &a ? trainer.id : trainer_too.id).ToString();
    for (size_t at = dump->find(id); at != std::string::npos; at = dump->find(id)) {
      dump->replace(at, id.size(), "DEVICE");
    }
  }
  CHECK(a == b);
  CHECK(IndexedRows(one_set) == IndexedRows(row_by_row));
  CHECK(IndexedRows(one_set).size() == 7);  // producer, workshop, 2 enrolments, 3 marks
  CHECK(one_set.Text("SELECT status FROM attendance WHERE id = '" +
                     AttendanceId(c.workshop, c.enrolment, 1).ToString() + "'") == "late");
  CHECK(one_set.Text("SELECT note FROM attendance WHERE id = '" +
                     AttendanceId(c.workshop, c.enrolment, 2).ToString() + "'") == "ป่วย");
  CHECK(one_set.Count("SELECT COUNT(*) FROM attendance") == 3);
}

TEST_CASE(
    "Row rules: a write that fails after it was sent fails the push, nothing "
    "stored, and the same set is accepted once it can be",
    "[server][push][deferred_write]") {
  // On PostgreSQL a row's INSERT is sent without waiting for its answer
  // (Statement::RunDeferred); its error comes back with a later statement
  // or the commit. It must still fail the whole push, naming the row.
  ServerFixture f;
  TestDevice trainer;
  f.Enroll(trainer, kMueang);
  PushService push(*f.store);
  const Course c = SeedCourse(f, push, trainer);
  Db& db = f.store->db();
  // The database refuses an excused mark (a stand-in for any failure of
  // the write itself: a full disk, a constraint).
  const bool pg = db.dialect() == SqlDialect::kPostgres;
  REQUIRE(db.Exec(pg ? "ALTER TABLE attendance ADD CONSTRAINT test_no_excused "
                       "CHECK (status <> 'excused')"
                     : "CREATE TRIGGER test_no_excused BEFORE INSERT ON attendance "
                       "WHEN NEW.status = 'excused' BEGIN "
                       "SELECT RAISE(ABORT, 'test_no_excused'); END")
              .ok());
  const Uuid refused_mark = AttendanceId(c.workshop, c.enrolment, 2);
  const Uuid producer2 = Uuid::Random();
  auto body_with_failure_at = [&](size_t at) {
    std::vector<RowChange> rows = {
        Mark(AttendanceId(c.workshop, c.enrolment, 1), trainer.HlcAt(kT0 + 1),
             c.workshop, c.enrolment, 1, "present", kMueang),
        Mark(AttendanceId(c.workshop, c.enrolment, 3), trainer.HlcAt(kT0 + 1),
             c.workshop, c.enrolment, 3, "late", kMueang),
        Producer(producer2, trainer.HlcAt(kT0 + 1), kMueang, "กลุ่มใหม่"),
    };
    rows.insert(rows.begin() + static_cast<std::ptrdiff_t>(at),
                Mark(refused_mark, trainer.HlcAt(kT0 + 1), c.workshop, c.enrolment, 2,
                     "excused", kMueang));
    return trainer.SealNext(rows);
  };
  const uint64_t next_seq = f.NextSeq();
  const int64_t entity_rows = EntityRows(f);
  const int64_t indexed = f.Count("SELECT COUNT(*) FROM row_seq");
  const uint64_t last_seq = f.Record(trainer.id).last_seq;
  const Sha256Digest prev = trainer.prev;
  // First, in the middle and last in the set (last: only the commit can
  // report it).
  for (size_t at : {size_t{0}, size_t{2}, size_t{3}}) {
    INFO("the failing row at " << at);
    const std::string body = body_with_failure_at(at);
    Result<PushResult> r = push.Push(f.Record(trainer.id), body);
    REQUIRE_FALSE(r.ok());
    INFO(r.status().message());
    CHECK(r.status().message().find("test_no_excused") != std::string::npos);
    CHECK(r.status().message().find(refused_mark.ToString()) != std::string::npos);
    // Nothing of the set: no row, no index entry, no sequence, no log.
    CHECK(EntityRows(f) == entity_rows);
    CHECK(f.Count("SELECT COUNT(*) FROM row_seq") == indexed);
    CHECK(f.NextSeq() == next_seq);
    CHECK(f.Record(trainer.id).last_seq == last_seq);
    CHECK(f.Count("SELECT COUNT(*) FROM change_set_log WHERE device_id = '" +
                  trainer.id.ToString() + "'") == static_cast<int64_t>(last_seq));
    trainer.seq = last_seq;  // the device sends the set again, as it was
    trainer.prev = prev;
  }
  // Once the database takes it, the same set goes in whole.
  REQUIRE(db.Exec(pg ? "ALTER TABLE attendance DROP CONSTRAINT test_no_excused"
                     : "DROP TRIGGER test_no_excused")
              .ok());
  const std::string body = body_with_failure_at(1);
  const protocol::Receipt ok = Accepted(f, push.Push(f.Record(trainer.id), body));
  CHECK(ok.refused.empty());
  CHECK(ok.rows == 4);
  CHECK(EntityRows(f) == entity_rows + 4);
  CHECK(f.Count("SELECT COUNT(*) FROM row_seq") == indexed + 4);
}

}  // namespace
}  // namespace kbo::server::testing
