// The office deletes a row (server/office_delete.h): refused while rows are
// recorded under it, cascaded on request, within the user's districts, as
// signed server changes devices pull, audited; from the console's row
// page, its API and `kbo-server delete`.

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/conflicts.h"
#include "server/console/console.h"
#include "server/console/users.h"
#include "server/data_quality.h"
#include "server/office_delete.h"
#include "server/pull_service.h"
#include "server/push_service.h"
#include "server/report_queries.h"
#include "server/row_history.h"
#include "shared/change_set_codec.h"
#include "shared/entities.h"
#include "shared/encoding.h"
#include "tests/server/console_client.h"
#include "tests/server/report_fixture.h"
#include "tests/server/server_fixture.h"
#include "tests/support/run_cli.h"
#include "tests/support/server_process.h"

namespace kbo::server::testing {
namespace {

using console::Console;
using console::Reply;
using console::Request;
using console::WebRole;
using nlohmann::json;

constexpr char kPass[] = "ลบ-รายการ-2567";

std::string NewId() { return Uuid::Random().ToString(); }

Scope ScopeOf(const std::string& text) {
  auto s = Scope::Parse(text);
  REQUIRE(s.ok());
  return *s;
}

// A Phrao group with one participant on a course (3 marks), a product with
// a progress entry and a score, a visit and a photo; a Phrao group with
// nothing under it; a Phrao group whose visit was recorded in Fang; a Fang
// group.
struct Data {
  std::string producer = NewId(), bare = NewId(), straddling = NewId(),
              fang = NewId(), quiet = NewId();
  std::string workshop = NewId(), enrolment = NewId(), product = NewId(),
              progress = NewId(), score, visit = NewId(),
              photo = NewId(), fang_visit = NewId(), quiet_visit = NewId();
  std::vector<std::string> marks;

  explicit Data(Db& db) {
    auto producer_row = [&](const std::string& id, const std::string& name,
                            const std::string& district) {
      InsertRow(db, "producer", {{"id", Tx(id)},
                                 {"kind", Tx("group")},
                                 {"name", Tx(name)},
                                 {"district_code", Tx(district)},
                                 {"category", Tx("household_decor_souvenir")}});
    };
    producer_row(producer, "กลุ่มจักสานบ้านโป่ง", kPhrao);
    producer_row(bare, "กลุ่มที่ไม่มีอะไร", kPhrao);
    producer_row(straddling, "กลุ่มสองอำเภอ", kPhrao);
    producer_row(fang, "กลุ่มกาแฟดอยแม่สูน", kFang);
    producer_row(quiet, "กลุ่มเงียบ", kPhrao);
    InsertRow(db, "workshop", {{"id", Tx(workshop)},
                               {"title", Tx("อบรม KBO พร้าว")},
                               {"fiscal_year", In(2567)},
                               {"district_code", Tx(kPhrao)},
                               {"start_date", Tx("2024-03-04")},
                               {"days", In(5)}});
    InsertRow(db, "enrolment", {{"id", Tx(enrolment)},
                                {"workshop_id", Tx(workshop)},
                                {"producer_id", Tx(producer)},
                                {"participant_name", Tx("นางบัวคำ แสนดี")},
                                {"district_code", Tx(kPhrao)}});
    for (int64_t day = 1; day <= 3; ++day) {
      // A mark's id is its key's (the applier checks it).
      auto id = DerivedRowId(*FindEntity("attendance"),
                             RowValues{{"workshop_id", Tx(workshop)},
                                       {"enrolment_id", Tx(enrolment)},
                                       {"day", In(day)}});
      REQUIRE(id.ok());
      marks.push_back(id->ToString());
      InsertRow(db, "attendance", {{"id", Tx(marks.back())},
                                   {"workshop_id", Tx(workshop)},
                                   {"enrolment_id", Tx(enrolment)},
                                   {"day", In(day)},
                                   {"status", Tx("present")},
                                   {"district_code", Tx(kPhrao)}});
    }
    InsertRow(db, "product", {{"id", Tx(product)},
                              {"producer_id", Tx(producer)},
                              {"name", Tx("ตะกร้าไม้ไผ่")},
                              {"stage", Tx("design")},
                              {"district_code", Tx(kPhrao)}});
    InsertRow(db, "progress", {{"id", Tx(progress)},
                               {"product_id", Tx(product)},
                               {"stage", Tx("design")},
                               {"district_code", Tx(kPhrao)}});
    auto score_id = DerivedRowId(
        *FindEntity("contest_score"),
        RowValues{{"product_id", Tx(product)},
                  {"contest", Tx("KBO CM CONTEST 2567")},
                  {"judge", Tx("อ.สมชาย")}});
    REQUIRE(score_id.ok());
    score = score_id->ToString();
    InsertRow(db, "contest_score", {{"id", Tx(score)},
                                    {"product_id", Tx(product)},
                                    {"contest", Tx("KBO CM CONTEST 2567")},
                                    {"judge", Tx("อ.สมชาย")},
                                    {"identity", In(15)},
                                    {"district_code", Tx(kPhrao)}});
    InsertRow(db, "visit", {{"id", Tx(visit)},
                            {"producer_id", Tx(producer)},
                            {"visited_at", Tx("2024-03-01T03:00:00Z")},
                            {"district_code", Tx(kPhrao)}});
    InsertRow(db, "photo", {{"id", Tx(photo)},
                            {"subject_type", Tx("producer")},
                            {"subject_id", Tx(producer)},
                            {"district_code", Tx(kPhrao)}});
    // A visit with no district of its own: its producer's (Phrao).
    InsertRow(db, "visit", {{"id", Tx(quiet_visit)},
                            {"producer_id", Tx(quiet)},
                            {"visited_at", Tx("2024-03-03T03:00:00Z")}});
    InsertRow(db, "visit", {{"id", Tx(fang_visit)},
                            {"producer_id", Tx(straddling)},
                            {"visited_at", Tx("2024-03-02T03:00:00Z")},
                            {"district_code", Tx(kFang)}});
  }
};

int64_t Deleted(ServerFixture& f, const std::string& table,
                const std::string& id) {
  Statement st(f.store->db(), "SELECT deleted FROM " + table + " WHERE id = ?1");
  st.Bind(1, std::string_view(id));
  REQUIRE(st.Step());
  return st.ColumnInt(0);
}

// Live rows of every table (what a refusal must leave as it was).
int64_t LiveRows(ServerFixture& f) {
  int64_t n = 0;
  for (const Entity& e : Catalogue()) {
    n += f.Count("SELECT COUNT(*) FROM " + std::string(e.name) +
                 " WHERE deleted = 0");
  }
  return n;
}

Result<OfficeDeleted> Delete(ServerFixture& f, const Scope& scope,
                             const std::string& entity, const std::string& id,
                             RowsUnder rows_under,
                             const std::string& reason = "ซ้ำกับอีกรายการ") {
  Transaction tx(f.store->db());
  auto r = DeleteAsOffice(*f.store, scope, entity, id, reason, rows_under,
                          "user:office", "192.0.2.9");
  if (r.ok()) {
    REQUIRE(tx.Commit().ok());
    f.store->NoteCommittedSequences();
  }
  return r;
}

TEST_CASE("Office delete: refused while rows are recorded under the row, "
          "nothing written, each refusal crossed",
          "[office_delete][server]") {
  ServerFixture f;
  Data d(f.store->db());
  const uint64_t seq = f.NextSeq();
  const int64_t live = LiveRows(f);
  const int64_t audited = f.Count("SELECT COUNT(*) FROM audit_log");

  auto refused = Delete(f, ScopeOf(kPhrao), "producer", d.producer,
                        RowsUnder::kRefuse);
  REQUIRE(refused.status().code() == Code::kInvalidArgument);
  CHECK(refused.status().reason() == kHasChildrenReason);
  CHECK(refused.status().message() ==
        "producer 'กลุ่มจักสานบ้านโป่ง' still has 1 product, 1 enrolment, "
        "3 attendance marks, 1 visit, 1 progress entry, 1 contest score and "
        "1 photo recorded under it, which would drop out of the reports; "
        "delete those first, or delete them with it; nothing was deleted");
  const auto* children = refused.status().TextsField(kChildrenField);
  REQUIRE(children != nullptr);
  CHECK(*children == std::vector<std::pair<std::string, std::string>>{
                         {"product", "1"},
                         {"enrolment", "1"},
                         {"attendance", "3"},
                         {"visit", "1"},
                         {"progress", "1"},
                         {"contest_score", "1"},
                         {"photo", "1"}});
  REQUIRE(refused.status().TextField(field::kRow) != nullptr);
  CHECK(*refused.status().TextField(field::kRow) == d.producer);

  // The workshop: its enrolment and marks (the marks once, though they are
  // under both the workshop and the enrolment).
  auto workshop = Delete(f, ScopeOf(kPhrao), "workshop", d.workshop,
                         RowsUnder::kRefuse);
  CHECK(workshop.status().reason() == kHasChildrenReason);
  CHECK(*workshop.status().TextsField(kChildrenField) ==
        std::vector<std::pair<std::string, std::string>>{{"enrolment", "1"},
                                                         {"attendance", "3"}});

  CHECK(Delete(f, ScopeOf(kPhrao), "spaceship", d.producer, RowsUnder::kRefuse)
            .status().code() == Code::kInvalidArgument);
  CHECK(Delete(f, ScopeOf(kPhrao), "producer", "not-a-uuid", RowsUnder::kRefuse)
            .status().code() == Code::kInvalidArgument);
  CHECK(Delete(f, ScopeOf(kPhrao), "producer", d.bare, RowsUnder::kRefuse, "  ")
            .status().code() == Code::kInvalidArgument);
  // A reason that is not UTF-8 text, or longer than the audit log keeps.
  auto bytes = Delete(f, ScopeOf(kPhrao), "producer", d.bare, RowsUnder::kRefuse,
                      "\xe0\xb8 ลบ");
  CHECK(bytes.status().code() == Code::kInvalidArgument);
  CHECK(bytes.status().message() == "the reason is not UTF-8 text");
  CHECK(Delete(f, ScopeOf(kPhrao), "producer", d.bare, RowsUnder::kRefuse,
               std::string(kMaxReasonBytes + 1, 'x'))
            .status().code() == Code::kInvalidArgument);
  CHECK(Delete(f, ScopeOf(kPhrao), "producer", NewId(), RowsUnder::kCascade)
            .status().code() == Code::kNotFound);
  // Another district's row is not there for a Phrao user.
  auto fang = Delete(f, ScopeOf(kPhrao), "producer", d.fang, RowsUnder::kCascade);
  CHECK(fang.status().code() == Code::kNotFound);
  // A cascade that would reach into Fang is refused whole.
  auto straddling = Delete(f, ScopeOf(kPhrao), "producer", d.straddling,
                           RowsUnder::kCascade);
  CHECK(straddling.status().code() == Code::kPermissionDenied);
  CHECK(straddling.status().reason() == "rows_out_of_scope");
  // Not which row, nor where: another district's (it once named the
  // Fang visit and its district).
  CHECK_THAT(straddling.status().message(),
             !Catch::Contains(d.fang_visit) && !Catch::Contains("5009") &&
                 Catch::Contains("outside yours"));
  // Without a cascade too: no count of Fang's rows is told.
  auto plain = Delete(f, ScopeOf(kPhrao), "producer", d.straddling,
                      RowsUnder::kRefuse);
  CHECK(plain.status().code() == Code::kPermissionDenied);
  CHECK(plain.status().TextsField(kChildrenField) == nullptr);

  CHECK(f.NextSeq() == seq);
  CHECK(LiveRows(f) == live);
  CHECK(f.Count("SELECT COUNT(*) FROM audit_log") == audited);
}

TEST_CASE("Office delete: a cascade tombstones the row and everything under "
          "it as signed server changes a device pulls, audited, values kept",
          "[office_delete][server]") {
  ServerFixture f;
  Data d(f.store->db());
  TestDevice trainer;
  f.Enroll(trainer, kPhrao);
  const uint64_t before = f.NextSeq();
  const int64_t live = LiveRows(f);

  auto bare = Delete(f, ScopeOf(kPhrao), "producer", d.bare, RowsUnder::kRefuse);
  INFO(bare.status().ToString());
  REQUIRE(bare.ok());
  CHECK(bare->total() == 1);
  CHECK(bare->name == "กลุ่มที่ไม่มีอะไร");
  CHECK(Deleted(f, "producer", d.bare) == 1);

  auto all = Delete(f, ScopeOf(kPhrao), "producer", d.producer,
                    RowsUnder::kCascade, "กลุ่มเลิกกิจการ");
  INFO(all.status().ToString());
  REQUIRE(all.ok());
  CHECK(all->total() == 10);
  CHECK(all->name == "กลุ่มจักสานบ้านโป่ง");
  CHECK(all->under == std::vector<std::pair<std::string, int64_t>>{
                          {"product", 1},
                          {"enrolment", 1},
                          {"attendance", 3},
                          {"visit", 1},
                          {"progress", 1},
                          {"contest_score", 1},
                          {"photo", 1}});
  CHECK(LiveRows(f) == live - 11);
  for (const std::string& m : d.marks) CHECK(Deleted(f, "attendance", m) == 1);
  CHECK(Deleted(f, "enrolment", d.enrolment) == 1);
  CHECK(Deleted(f, "contest_score", d.score) == 1);
  CHECK(Deleted(f, "photo", d.photo) == 1);
  CHECK(Deleted(f, "producer", d.producer) == 1);
  // Tombstones keep the values.
  CHECK(f.Count("SELECT COUNT(*) FROM enrolment WHERE participant_name = "
                "'นางบัวคำ แสนดี'") == 1);
  // The workshop is not under the producer: it stays.
  CHECK(Deleted(f, "workshop", d.workshop) == 0);

  // Each row audited once, with the reason and what it was under.
  CHECK(f.Count("SELECT COUNT(*) FROM audit_log WHERE action = 'edit' AND "
                "actor = 'user:office'") == 11);  // 1 + 10
  CHECK(f.Count("SELECT COUNT(*) FROM audit_log WHERE subject = 'enrolment:" +
                d.enrolment + "' AND detail = 'deleted: ''0'' -> ''1'' (under "
                "producer:" + d.producer +
                ", deleted with it); reason: กลุ่มเลิกกิจการ'") == 1);
  CHECK(f.Count("SELECT COUNT(*) FROM audit_log WHERE subject = 'producer:" +
                d.producer + "' AND detail = 'deleted: ''0'' -> ''1'' "
                "(deleted by the office); reason: กลุ่มเลิกกิจการ'") == 1);
  // The history names the office and the reason.
  auto history = LoadRowHistory(*f.store, "producer", d.producer, Lang::kEn);
  REQUIRE(history.ok());
  REQUIRE_FALSE(history->entries.empty());
  CHECK(history->entries.back().reason == "กลุ่มเลิกกิจการ");
  CHECK(history->entries.back().writer.office);

  // The device pulls every tombstone.
  PullService pull(*f.store);
  std::map<std::string, std::string> pulled;
  uint64_t after = before - 1;
  for (int pages = 0; pages < 50; ++pages) {
    auto page = pull.Pull(f.Record(trainer.id), after, 0);
    REQUIRE(page.ok());
    if (page->rows == 0) break;
    auto cs = DecodeChangeSet(page->body, DecodeLimits{});
    REQUIRE(cs.ok());
    for (const RowChange& row : cs->rows) {
      for (const CellWrite& c : row.cells) {
        pulled[row.entity + "/" + row.row_id.ToString() + "/" + c.column] =
            c.value.ToDisplay();
      }
    }
    if (!page->more) break;
    after = page->next_cursor;
  }
  CHECK(pulled["producer/" + d.producer + "/deleted"] == "1");
  CHECK(pulled["attendance/" + d.marks[2] + "/deleted"] == "1");
  CHECK(pulled["photo/" + d.photo + "/deleted"] == "1");

  // The rows under it went out before it: a device pulling in sequence
  // never holds a live mark under a deleted enrolment or producer.
  const auto seq_of = [&](const std::string& entity, const std::string& id) {
    Statement st(f.store->db(), "SELECT max_seq FROM row_seq WHERE entity = ?1 "
                                "AND row_id = ?2");
    st.Bind(1, std::string_view(entity)).Bind(2, std::string_view(id));
    REQUIRE(st.Step());
    return st.ColumnInt(0);
  };
  for (const std::string& m : d.marks) {
    CHECK(seq_of("attendance", m) < seq_of("enrolment", d.enrolment));
  }
  CHECK(seq_of("enrolment", d.enrolment) < seq_of("producer", d.producer));
  CHECK(seq_of("contest_score", d.score) < seq_of("product", d.product));
  CHECK(seq_of("product", d.product) < seq_of("producer", d.producer));
  CHECK(seq_of("photo", d.photo) < seq_of("producer", d.producer));

  // A visit without a district of its own is its producer's: a Phrao
  // user's cascade takes it.
  auto quiet = Delete(f, ScopeOf(kPhrao), "producer", d.quiet,
                      RowsUnder::kCascade);
  INFO(quiet.status().ToString());
  REQUIRE(quiet.ok());
  CHECK(Deleted(f, "visit", d.quiet_visit) == 1);

  // Again: already deleted, nothing written.
  const uint64_t seq = f.NextSeq();
  auto again = Delete(f, ScopeOf(kPhrao), "producer", d.producer,
                      RowsUnder::kCascade);
  CHECK(again.status().code() == Code::kInvalidArgument);
  CHECK(again.status().reason() == "already_deleted");
  CHECK(f.NextSeq() == seq);
}

Result<RestoredRow> Restore(ServerFixture& f, const Scope& scope,
                            const std::string& entity, const std::string& id) {
  Transaction tx(f.store->db());
  auto r = RestoreDeletedRow(*f.store, scope, entity, id, "ลบผิดกลุ่ม",
                             "user:office", "192.0.2.9");
  if (r.ok()) {
    REQUIRE(tx.Commit().ok());
    f.store->NoteCommittedSequences();
  }
  return r;
}

TEST_CASE("Office delete: the office's delete is undone by a restore, with "
          "what it took and nothing else, but a device's delete is not",
          "[office_delete][server]") {
  ServerFixture f;
  Data d(f.store->db());
  const int64_t live = LiveRows(f);
  // A mark deleted before, on its own (as a device would): it stays deleted.
  {
    Statement st(f.store->db(), "UPDATE attendance SET deleted = 1 WHERE id = ?1");
    st.Bind(1, std::string_view(d.marks[0]));
    REQUIRE(st.Run().ok());
  }
  REQUIRE(Delete(f, ScopeOf(kPhrao), "producer", d.producer, RowsUnder::kCascade)
              .ok());
  CHECK(LiveRows(f) == live - 10);  // the mark before, 9 rows now
  // A row the cascade took is not restored alone: the message says which
  // row to restore.
  auto alone = Restore(f, ScopeOf(kPhrao), "enrolment", d.enrolment);
  CHECK(alone.status().reason() == "not_deleted_by_office");
  CHECK_THAT(alone.status().message(),
             Catch::Contains("it was deleted with producer:" + d.producer +
                             ": restore that row"));
  // A device, offline, recorded a visit under it since: the restore still
  // undoes the office's delete whole (not only the row, as the finding's
  // restore would).
  InsertRow(f.store->db(), "visit", {{"id", Tx(NewId())},
                                     {"producer_id", Tx(d.producer)},
                                     {"visited_at", Tx("2024-03-05T03:00:00Z")},
                                     {"district_code", Tx(kPhrao)}});
  // A Fang user cannot see it; nor restore it.
  CHECK(Restore(f, ScopeOf(kFang), "producer", d.producer).status().code() ==
        Code::kNotFound);

  auto back = Restore(f, ScopeOf(kPhrao), "producer", d.producer);
  INFO(back.status().ToString());
  REQUIRE(back.ok());
  CHECK(back->undone);
  CHECK(back->restored_with == 8);
  CHECK(LiveRows(f) == live - 1 + 1);  // the mark before; the new visit
  CHECK(Deleted(f, "attendance", d.marks[0]) == 1);
  CHECK(Deleted(f, "attendance", d.marks[1]) == 0);
  CHECK(Deleted(f, "photo", d.photo) == 0);
  CHECK(Deleted(f, "producer", d.producer) == 0);
  auto c = Certificates(f.store->db(), d.workshop, ScopeOf("all"));
  REQUIRE(c.ok());
  REQUIRE(c->participants.size() == 1);
  CHECK(c->participants[0].days_attended == 2);
  CHECK(f.Count("SELECT COUNT(*) FROM audit_log WHERE detail = 'deleted: "
                "''1'' -> ''0'' (office delete undone); reason: ลบผิดกลุ่ม'") ==
        9);

  // Undone once: again is refused (it is live); deleted and undone again
  // takes only what the second delete took.
  CHECK(Restore(f, ScopeOf(kPhrao), "producer", d.producer).status().code() ==
        Code::kInvalidArgument);
  REQUIRE(Delete(f, ScopeOf(kPhrao), "enrolment", d.enrolment,
                 RowsUnder::kCascade)
              .ok());
  auto enrolment = Restore(f, ScopeOf(kPhrao), "enrolment", d.enrolment);
  REQUIRE(enrolment.ok());
  CHECK(enrolment->restored_with == 2);
  CHECK(Deleted(f, "attendance", d.marks[0]) == 1);

  // The office deletes a mark; a trainer's device brings it back (a mark
  // re-recorded: deleted = 0, no line in the audit log) and then deletes
  // it: that tombstone is the device's, not the office's to undo.
  TestDevice trainer;
  f.Enroll(trainer, kPhrao);
  REQUIRE(Delete(f, ScopeOf(kPhrao), "attendance", d.marks[2], RowsUnder::kRefuse)
              .ok());
  PushService push(*f.store);
  const Uuid mark = *Uuid::Parse(d.marks[2]);
  REQUIRE(push.Push(f.Record(trainer.id),
                    trainer.SealNext({Row("attendance", mark,
                                          trainer.HlcAt(kT0 + 1800 * 1000),
                                          {{"deleted", I(0), 0}}),
                                      Row("attendance", mark,
                                          trainer.HlcAt(kT0 + 1801 * 1000),
                                          {{"deleted", I(1), 0}})}))
              .ok());
  CHECK(Deleted(f, "attendance", d.marks[2]) == 1);
  auto devices = Restore(f, ScopeOf(kPhrao), "attendance", d.marks[2]);
  CHECK(devices.status().reason() == "not_deleted_by_office");
  CHECK_THAT(devices.status().message(),
             Catch::Contains("a device deleted it again after the office"));

  // A row deleted otherwise (a device, here straight in the table) with
  // nothing under it: not the office's to undo, nothing written.
  {
    Statement st(f.store->db(), "UPDATE producer SET deleted = 1 WHERE id = ?1");
    st.Bind(1, std::string_view(d.bare));
    REQUIRE(st.Run().ok());
  }
  const uint64_t seq = f.NextSeq();
  auto device = Restore(f, ScopeOf(kPhrao), "producer", d.bare);
  CHECK(device.status().code() == Code::kInvalidArgument);
  CHECK(device.status().reason() == "not_deleted_by_office");
  CHECK(f.NextSeq() == seq);
}

struct DeleteConsole {
  ServerFixture f;
  Data d{f.store->db()};
  Console console{*f.store};

  DeleteConsole() {
    console::Users users(*f.store);
    REQUIRE(users.Add("viewer", WebRole::kViewer, ScopeOf(kPhrao), kPass, "test").ok());
    REQUIRE(users.Add("office", WebRole::kOffice, ScopeOf(kPhrao), kPass, "test").ok());
  }
};

struct Browser : ConsoleClient {
  explicit Browser(Console& c) : ConsoleClient(c, kPass, "192.0.2.31") {}
};

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The error= of a redirect's location, decoded.
std::string UrlDecoded(const std::string& location) {
  const size_t at = location.find("error=");
  if (at == std::string::npos) return "";
  const size_t end = location.find_first_of("&#", at + 6);
  return PercentDecode(std::string_view(location).substr(
      at + 6, end == std::string::npos ? std::string::npos : end - at - 6));
}

std::string Location(const Reply& r) {
  auto it = r.headers.find("Location");
  return it == r.headers.end() ? "" : it->second;
}

TEST_CASE("Office delete console: the row page offers it to the office only, "
          "says what is under the row, refuses without the box, cascades with it",
          "[office_delete][console]") {
  DeleteConsole fx;
  const std::string row = "/data/producer/" + fx.d.producer;
  {
    Browser viewer{fx.console};
    viewer.SignIn("viewer");
    Reply page = viewer.Get(row, {{"lang", "en"}});
    REQUIRE(page.status == 200);
    CHECK_FALSE(Has(page.body, "/delete\""));
    Reply post = viewer.Post(row + "/delete", {{"csrf", viewer.Csrf()},
                                               {"reason", "x"},
                                               {"cascade", "1"}});
    CHECK(post.status == 403);
    CHECK(Deleted(fx.f, "producer", fx.d.producer) == 0);
  }
  Browser b{fx.console};
  b.SignIn("office");
  Reply page = b.Get(row, {{"lang", "en"}});
  REQUIRE(page.status == 200);
  CHECK(Has(page.body, "action=\"" + row + "/delete\""));
  CHECK(Has(page.body, "Rows are recorded under this row: Product 1, "));
  CHECK(Has(page.body, "name=\"cascade\""));
  Reply th = b.Get(row, {{"lang", "th"}});
  CHECK(Has(th.body, "ลบรายการเหล่านี้ด้วย"));

  CHECK(b.Post(row + "/delete", {{"reason", "x"}}).status == 403);  // no CSRF
  const std::string csrf = b.Csrf();
  Reply refused = b.Post(row + "/delete", {{"csrf", csrf}, {"reason", "ปิดกลุ่ม"}});
  REQUIRE(refused.status == 303);
  CHECK(Has(Location(refused), "error="));
  CHECK(Deleted(fx.f, "producer", fx.d.producer) == 0);
  // Back on the row page, the form open again with why.
  const std::string error = UrlDecoded(Location(refused));
  CHECK(Has(error, "ยังไม่ได้ลบ: มีรายการบันทึกอยู่ใต้รายการนี้ (ผลิตภัณฑ์ 1, "));
  // Followed as the browser does (the console signs its own messages).
  const std::string back = Location(refused);
  Reply again = b.Get(row, {{"error", error},
                            {"fm", back.substr(back.find("fm=") + 3, 32)}});
  CHECK(Has(again.body, "<details id=\"delete\" open>"));
  // The same message in a link from elsewhere is not shown.
  Reply forged = b.Get(row, {{"error", error}});
  CHECK_FALSE(Has(forged.body, "<details id=\"delete\" open>"));
  CHECK_FALSE(Has(forged.body, "ยังไม่ได้ลบ"));
  Reply no_reason = b.Post(row + "/delete", {{"csrf", csrf}, {"cascade", "on"}});
  REQUIRE(no_reason.status == 303);
  CHECK(Has(Location(no_reason), "error="));
  CHECK(Deleted(fx.f, "producer", fx.d.producer) == 0);

  // A ticked box as browsers send it by default ("on").
  Reply done = b.Post(row + "/delete",
                      {{"csrf", csrf}, {"reason", "ปิดกลุ่ม"}, {"cascade", "on"}});
  REQUIRE(done.status == 303);
  CHECK(Has(Location(done), "done="));
  CHECK(Deleted(fx.f, "producer", fx.d.producer) == 1);
  CHECK(Deleted(fx.f, "enrolment", fx.d.enrolment) == 1);
  Reply after = b.Get(row, {{"lang", "en"}});
  CHECK(Has(after.body, "This row has been deleted."));
  CHECK_FALSE(Has(after.body, "/delete\""));
  // The certificate report no longer lists her.
  auto c = Certificates(fx.f.store->db(), fx.d.workshop, ScopeOf("all"));
  REQUIRE(c.ok());
  CHECK(c->participants.empty());

  // Undone from the same page: the row and what it took.
  CHECK(Has(after.body, "action=\"" + row + "/restore\""));
  Reply restored = b.Post(row + "/restore", {{"csrf", csrf}, {"reason", "ลบผิด"}});
  REQUIRE(restored.status == 303);
  CHECK(Has(Location(restored), "done="));
  CHECK(Deleted(fx.f, "producer", fx.d.producer) == 0);
  CHECK(Deleted(fx.f, "enrolment", fx.d.enrolment) == 0);
  c = Certificates(fx.f.store->db(), fx.d.workshop, ScopeOf("all"));
  REQUIRE(c.ok());
  CHECK(c->participants.size() == 1);
}

TEST_CASE("Office delete API: JSON in, the error body's reason and children "
          "out, 403 for another district's rows under it, 404 out of scope",
          "[office_delete][console]") {
  DeleteConsole fx;
  Browser b{fx.console};
  b.SignIn("office");
  const std::string csrf = b.Csrf();
  auto send = [&](const std::string& entity, const std::string& id,
                  const json& body) {
    Request r;
    r.method = "POST";
    r.path = "/api/data/" + entity + "/" + id + "/delete";
    r.csrf_header = csrf;
    r.content_type = "application/json";
    r.body = body.dump();
    return b.Send(r);
  };
  // The row as the API gives it: numbers as numbers (as kbo list --json).
  json row = json::parse(b.Get("/api/data/workshop/" + fx.d.workshop).body,
                         nullptr, false);
  CHECK(row["days"] == 5);
  CHECK(row["fiscal_year"] == 2567);
  CHECK(row["title"] == "อบรม KBO พร้าว");
  CHECK(row["deleted"] == false);
  json rows = json::parse(b.Get("/api/data/attendance").body, nullptr, false);
  REQUIRE(rows.is_object());
  REQUIRE(rows["rows"].size() == 3);
  CHECK(rows["rows"][0]["day"].is_number_integer());

  const uint64_t seq = fx.f.NextSeq();
  Reply refused = send("workshop", fx.d.workshop, {{"reason", "ยกเลิก"}});
  CHECK(refused.status == 400);
  json j = json::parse(refused.body, nullptr, false);
  CHECK(j["error"] == "has_children");
  CHECK(j["children"] == json({{"enrolment", "1"}, {"attendance", "3"}}));
  CHECK(j["row"] == fx.d.workshop);
  CHECK(send("producer", fx.d.straddling, {{"reason", "x"}, {"cascade", true}})
            .status == 403);
  CHECK(send("producer", fx.d.fang, {{"reason", "x"}}).status == 404);
  CHECK(send("producer", NewId(), {{"reason", "x"}}).status == 404);
  CHECK(send("spaceship", fx.d.bare, {{"reason", "x"}}).status == 400);
  // "cascade": false is no cascade.
  CHECK(send("workshop", fx.d.workshop, {{"reason", "x"}, {"cascade", false}})
            .status == 400);
  CHECK(fx.f.NextSeq() == seq);

  Reply ok = send("workshop", fx.d.workshop, {{"reason", "ยกเลิก"}, {"cascade", true}});
  REQUIRE(ok.status == 200);
  j = json::parse(ok.body, nullptr, false);
  CHECK(j["entity"] == "workshop");
  CHECK(j["name"] == "อบรม KBO พร้าว");
  CHECK(j["deleted"] == 5);
  CHECK(j["under"] == json({{"enrolment", 1}, {"attendance", 3}}));
  // The producer stays, and nothing is under it from the course any more.
  CHECK(Deleted(fx.f, "producer", fx.d.producer) == 0);
  Reply again = send("workshop", fx.d.workshop, {{"reason", "x"}, {"cascade", true}});
  CHECK(again.status == 400);
  CHECK(json::parse(again.body, nullptr, false)["error"] == "already_deleted");
}

#ifdef KBO_BINARY_DIR
TEST_CASE("kbo-server delete: refuses with the --cascade line (exit 2), "
          "cascades, 3 for a row not held, 2 for bad usage",
          "[office_delete][cli]") {
  kbo::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  std::unique_ptr<Data> d;
  {
    auto store = ServerStore::Open(data, SystemWallClock::Default(),
                                   kbo::testing::TestDbUrlFor(data));
    REQUIRE(store.ok());
    d = std::make_unique<Data>((*store)->db());
  }
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", data, "delete"});
    return kbo::testing::RunServerCli(args);
  };
  kbo::testing::CliResult usage = run({"producer", d->producer});
  CHECK(usage.exit_code == 2);
  CHECK_THAT(usage.err, Catch::Contains("delete needs --reason"));
  CHECK_THAT(usage.err, Catch::Contains("  delete ENTITY ID --reason R [--cascade]"));
  CHECK(run({"producer", d->producer, "--reason", "x", "--force"}).exit_code == 2);
  kbo::testing::CliResult refused =
      run({"producer", d->producer, "--reason", "ปิดกลุ่ม"});
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("3 attendance marks"));
  CHECK_THAT(refused.err,
             Catch::Contains("kbo-server delete producer " + d->producer +
                             " --reason R --cascade deletes them with it"));
  CHECK(run({"producer", NewId(), "--reason", "x"}).exit_code == 3);
  kbo::testing::CliResult ok =
      run({"producer", d->producer, "--reason", "ปิดกลุ่ม", "--cascade"});
  INFO(ok.err);
  REQUIRE(ok.exit_code == 0);
  CHECK(ok.out == "deleted producer " + d->producer +
                      " (กลุ่มจักสานบ้านโป่ง) and 1 product, 1 enrolment, "
                      "3 attendance marks, 1 visit, 1 progress entry, "
                      "1 contest score and 1 photo under it; devices receive it when "
                      "they next sync\n");
  CHECK(run({"producer", d->producer, "--reason", "x"}).exit_code == 2);

  // kbo-server restore undoes it.
  std::vector<std::string> args = {"--data", data, "restore", "producer",
                                   d->producer, "--reason", "ลบผิด"};
  kbo::testing::CliResult restored = kbo::testing::RunServerCli(args);
  INFO(restored.err);
  REQUIRE(restored.exit_code == 0);
  CHECK(restored.out == "restored producer " + d->producer +
                            " (กลุ่มจักสานบ้านโป่ง) and 9 rows deleted with "
                            "it: the office's delete is undone\n");
}
#endif

}  // namespace
}  // namespace kbo::server::testing
