#include "client/store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "client/outbox.h"
#include "client/outbox_codec.h"
#include "shared/change_set_codec.h"
#include "shared/fs.h"
#include "shared/labels.h"
#include "shared/replica/apply.h"
#include "shared/sqlite/db.h"
#include "tests/support/sample_data.h"
#include "tests/support/client_store.h"
#include "tests/support/temp_dir.h"

namespace kbo::client {
namespace {

using testing::I;
using testing::PhraoFixture;
using testing::T;
using testing::TempDir;

using testing::OpenStore;

int64_t Count(ClientStore& store, const std::string& sql) {
  Statement st(store.db(), sql);
  REQUIRE(st.Step());
  return st.ColumnInt(0);
}

TEST_CASE("Store: the home is created on first use with a private key",
          "[store]") {
  TempDir tmp;
  const std::string home = tmp.File("home/kbo");
  Uuid device;
  {
    auto store = OpenStore(home);
    device = store->device_id();
    CHECK(FileExists(home + "/field.db"));
    CHECK(FileExists(home + "/blobs"));
    struct stat st {};
    REQUIRE(::stat((home + "/device.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  auto again = OpenStore(home);
  CHECK(again->device_id() == device);  // created once
}

TEST_CASE("Store: two kbo on one home (kbo ui, a kbo sync) share one clock: an "
          "edit is stamped after every hlc the other persisted, and the persisted "
          "clock never goes back",
          "[store]") {
  TempDir tmp;
  const std::string home = tmp.File("home");
  auto ui = OpenStore(home);    // kbo ui, open for hours
  auto sync = OpenStore(home);  // a kbo sync from the terminal
  auto stale = OpenStore(home);  // another, opened before either wrote
  // The sync pulls a row stamped an hour ahead of this device's clock (a
  // colleague's phone runs fast) and persists its clock past it.
  Hlc ahead = sync->clock().State();
  ahead.wall_ms = sync->wall().NowMillis() + 3600 * 1000;
  {
    Transaction txn(sync->db());
    sync->ResetClock(ahead);
    REQUIRE(sync->SaveClock().ok());
    REQUIRE(txn.Commit().ok());
  }
  // The UI's next edit is stamped after it (it was stamped below, and lost
  // to the older value by last-writer-wins, with no conflict).
  auto p = ui->Record("producer", {{"kind", T("group")}, {"name", T("กลุ่มทอผ้า")},
                                   {"district_code", T("5011")}});
  REQUIRE(p.ok());
  CHECK(ui->clock().State() > ahead);
  const Hlc stamped = ui->clock().State();
  // A stale process saving its clock does not take the persisted one back.
  {
    Transaction txn(stale->db());
    REQUIRE(stale->SaveClock().ok());
    REQUIRE(txn.Commit().ok());
  }
  Statement st(ui->db(), "SELECT hlc FROM clock_state");
  REQUIRE(st.Step());
  auto persisted = Hlc::Parse(st.ColumnText(0));
  REQUIRE(persisted.ok());
  CHECK(*persisted >= stamped);
}

TEST_CASE("Store: field.db (names, phone numbers) is the owner's alone, even in "
          "a home folder others may list",
          "[store]") {
  TempDir tmp;
  const std::string home = tmp.File("card");
  REQUIRE(::mkdir(home.c_str(), 0755) == 0);  // a memory card's mount point
  const mode_t old_mask = ::umask(022);
  {
    REQUIRE(ClientStore::PrepareDeviceKey(home).ok());
    auto store = OpenStore(home);
    REQUIRE(store->db().Exec("CREATE TABLE probe(x); INSERT INTO probe VALUES (1)").ok());
  }
  ::umask(old_mask);
  for (const char* name : {"/field.db", "/device.key"}) {
    struct stat st {};
    INFO(name);
    REQUIRE(::stat((home + name).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
}

TEST_CASE("Store: a missing device key is refused, not silently replaced",
          "[store]") {
  TempDir tmp;
  { OpenStore(tmp.path()); }
  REQUIRE(::unlink(tmp.File("device.key").c_str()) == 0);
  auto store = ClientStore::Open(tmp.path());
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Code::kFailedPrecondition);
  CHECK(store.status().message().find("device.key") != std::string::npos);
}

TEST_CASE("Store: PrepareDeviceKey makes the key only before the first device row",
          "[store]") {
  TempDir tmp;
  const std::string home = tmp.File("home");
  // A first start: the key exists before Open, and Open adopts it.
  REQUIRE(ClientStore::PrepareDeviceKey(home).ok());
  auto key = ReadFileBounded(home + "/device.key", 4096);
  REQUIRE(key.ok());
  REQUIRE(ClientStore::PrepareDeviceKey(home).ok());  // kept, not replaced
  CHECK(*ReadFileBounded(home + "/device.key", 4096) == *key);
  std::string public_key;
  {
    auto store = OpenStore(home);
    Statement st(store->db(), "SELECT public_key FROM device");
    REQUIRE(st.Step());
    public_key = st.ColumnText(0);
  }
  CHECK(*ReadFileBounded(home + "/device.key", 4096) == *key);
  // A device whose key went missing gets no new key: Open still says what
  // to restore, instead of "belongs to another device".
  REQUIRE(::unlink((home + "/device.key").c_str()) == 0);
  REQUIRE(ClientStore::PrepareDeviceKey(home).ok());
  CHECK_FALSE(FileExists(home + "/device.key"));
  auto refused = ClientStore::Open(home);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("is missing") != std::string::npos);
  CHECK(public_key.size() == 64);
}

TEST_CASE("Store: a field.db of an earlier development layout is refused, unchanged",
          "[store]") {
  TempDir tmp;
  { OpenStore(tmp.path()); }
  {
    auto db = Db::Open(tmp.File("field.db"));
    REQUIRE(db.ok());
    // The layout before cell versions moved into the rows.
    REQUIRE((*db)->Exec("ALTER TABLE attendance DROP COLUMN cell_versions").ok());
  }
  auto store = ClientStore::Open(tmp.path());
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Code::kFailedPrecondition);
  CHECK(store.status().message().find("earlier development build") != std::string::npos);
  CHECK(store.status().message().find("attendance.cell_versions is missing") !=
        std::string::npos);
}

TEST_CASE("Store: one action writes the row, its versions and its outbox entry",
          "[store]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  PhraoFixture f(*store);
  CHECK(Count(*store, "SELECT count(*) FROM outbox") == 3);
  CHECK(Count(*store, "SELECT (SELECT count(*) FROM producer WHERE cell_versions "
                      "IS NOT NULL) + (SELECT count(*) FROM workshop WHERE "
                      "cell_versions IS NOT NULL) + (SELECT count(*) FROM "
                      "enrolment WHERE cell_versions IS NOT NULL)") == 3);
  auto row = store->Show("producer", f.producer);
  REQUIRE(row.ok());
  CHECK(row->values["name"] == T("กลุ่มทอผ้าบ้านป่าตุ้ม"));  // Thai intact
  // The enrolment inherited the workshop's district.
  auto en = store->Show("enrolment", f.enrolment);
  REQUIRE(en.ok());
  CHECK(en->values["district_code"] == T("5011"));
}

TEST_CASE("Store: refusals write nothing", "[store]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  PhraoFixture f(*store);
  const int64_t before = Count(*store, "SELECT count(*) FROM outbox");

  SECTION("unknown district") {
    auto r = store->Record("producer", {{"kind", T("group")}, {"name", T("x")},
                                        {"district_code", T("5099")}});
    CHECK(r.status().code() == Code::kInvalidArgument);
  }
  SECTION("a day outside the workshop's days") {
    auto r = store->Record("attendance", f.Mark(6, "present"));
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(r.status().message().find("outside") != std::string::npos);
  }
  SECTION("a reference that does not exist is not found") {
    RowValues mark = f.Mark(1, "present");
    mark["enrolment_id"] = Value::Text(Uuid::Random().ToString());
    auto r = store->Record("attendance", mark);
    CHECK(r.status().code() == Code::kNotFound);
  }
  SECTION("an import with one bad row writes none of them") {
    std::vector<RowValues> rows;
    rows.push_back({{"kind", T("group")}, {"name", T("หนึ่ง")}, {"district_code", T("5011")}});
    rows.push_back({{"kind", T("group")}, {"name", T("สอง")}, {"district_code", T("5011")},
                    {"otop_stars", I(7)}});
    auto r = store->RecordAll("producer", rows);
    CHECK(r.status().code() == Code::kInvalidArgument);
    // Which row, and which of its columns, without reading the message.
    REQUIRE(r.status().IntegerField(field::kIndex) != nullptr);
    CHECK(*r.status().IntegerField(field::kIndex) == 1);
    REQUIRE(r.status().TextField(field::kField) != nullptr);
    CHECK(*r.status().TextField(field::kField) == "otop_stars");
    CHECK(store->List("producer")->size() == 1);
  }
  CHECK(Count(*store, "SELECT count(*) FROM outbox") == before);
}

TEST_CASE("Store: a progress entry at a later stage moves its product, in the same change set",
          "[store][progress_stage]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  PhraoFixture f(*store);
  auto product = store->Record("product", {{"producer_id", Value::Text(f.producer.ToString())},
                                           {"name", T("ผ้าฝ้ายทอมือลายพร้าว")},
                                           {"stage", T("design")}});
  REQUIRE(product.ok());
  Outbox outbox(*store);
  REQUIRE(outbox.SealAll().ok());  // what came before is one set apart
  const std::string pid = product->ToString();
  auto stage_of = [&] {
    auto row = store->Show("product", *product);
    REQUIRE(row.ok());
    return row->values["stage"].text();
  };

  // Ahead: the entry and the product's stage, one action, one change set.
  const int64_t entries = Count(*store, "SELECT count(*) FROM outbox");
  auto entry = store->Record("progress", {{"product_id", Value::Text(pid)},
                                          {"stage", T("packaging")},
                                          {"percent", I(70)},
                                          {"notes", T("ได้ฉลากใหม่")}});
  REQUIRE(entry.ok());
  CHECK(stage_of() == "packaging");
  CHECK(store->stage_follow().applies);
  CHECK(store->stage_follow().moved);
  CHECK(store->stage_follow().before == "design");
  CHECK(store->stage_follow().after == "packaging");
  CHECK(Count(*store, "SELECT count(*) FROM outbox") == entries + 1);
  auto sealed = outbox.SealNext();
  REQUIRE(sealed.ok());
  REQUIRE(sealed->has_value());
  auto set = DecodeChangeSet((*sealed)->bytes);
  REQUIRE(set.ok());
  REQUIRE(set->rows.size() == 2);
  CHECK(set->rows[0].entity == "progress");
  CHECK(set->rows[0].row_id == *entry);
  CHECK(set->rows[1].entity == "product");
  CHECK(set->rows[1].row_id == *product);
  REQUIRE(set->rows[1].cells.size() == 1);
  CHECK(set->rows[1].cells[0].column == "stage");
  CHECK(set->rows[1].cells[0].value == T("packaging"));

  // Behind or level: the product stays where it is, and says so.
  for (const char* stage : {"prototype", "packaging"}) {
    CAPTURE(stage);
    auto back = store->Record("progress", {{"product_id", Value::Text(pid)},
                                           {"stage", T(stage)}});
    REQUIRE(back.ok());
    CHECK(stage_of() == "packaging");
    CHECK(store->stage_follow().applies);
    CHECK_FALSE(store->stage_follow().moved);
    CHECK(store->stage_follow().before == "packaging");
    CHECK(store->stage_follow().after == "packaging");
    auto only = outbox.SealNext();
    REQUIRE(only.ok());
    REQUIRE(only->has_value());
    auto one = DecodeChangeSet((*only)->bytes);
    REQUIRE(one.ok());
    REQUIRE(one->rows.size() == 1);
    CHECK(one->rows[0].entity == "progress");
  }

  // An entry edited to a later stage moves the product too.
  auto later = store->Record("progress", {{"product_id", Value::Text(pid)},
                                          {"stage", T("design")}});
  REQUIRE(later.ok());
  REQUIRE(store->Edit("progress", *later, {{"stage", T("market_ready")}}).ok());
  CHECK(stage_of() == "market_ready");
  CHECK(store->stage_follow().moved);

  // Another action leaves nothing to report.
  REQUIRE(store->Record("producer", {{"kind", T("group")}, {"name", T("อื่น")},
                                     {"district_code", T("5011")}}).ok());
  CHECK_FALSE(store->stage_follow().applies);

  // A refused entry moves nothing.
  auto refused = store->Record("progress", {{"product_id", Value::Text(pid)},
                                            {"stage", T("market_ready")},
                                            {"percent", I(140)}});
  CHECK_FALSE(refused.ok());
  CHECK(stage_of() == "market_ready");

  // An edit of the product's stage back is refused, saying so: the merge
  // would keep market_ready anyway, and the office would get a conflict.
  const int64_t pending = store->GetStatus()->pending_changes;
  Status back = store->Edit("product", *product,
                            {{"stage", T("design")}, {"description", T("ใหม่")}});
  CHECK(back.code() == Code::kInvalidArgument);
  CHECK(back.reason() == "moves_back");
  REQUIRE(back.TextField(field::kProblem) != nullptr);
  CHECK(*back.TextField(field::kProblem) == "err.moves_back");
  CHECK_THAT(back.message(), Catch::Contains("stays at market_ready"));
  CHECK(stage_of() == "market_ready");
  CHECK(store->GetStatus()->pending_changes == pending);
  // Emptying it is moving it back too.
  CHECK(store->Edit("product", *product, {{"stage", Value::Null()}}).reason() ==
        "moves_back");
  // The same stage, or a later one, is an ordinary edit.
  CHECK(store->Edit("product", *product, {{"stage", T("market_ready")}}).ok());
}

TEST_CASE("Store: progress entries imported together move each product once to its furthest stage",
          "[store][progress_stage]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  PhraoFixture f(*store);
  auto product = store->Record("product", {{"producer_id", Value::Text(f.producer.ToString())},
                                           {"name", T("น้ำพริกหนุ่ม")}});
  REQUIRE(product.ok());
  const std::string pid = product->ToString();
  std::vector<RowValues> rows;
  for (const char* stage : {"design", "packaging", "prototype"}) {
    rows.push_back({{"product_id", Value::Text(pid)}, {"stage", T(stage)}});
  }
  auto ids = store->RecordAll("progress", rows);
  REQUIRE(ids.ok());
  auto row = store->Show("product", *product);
  REQUIRE(row.ok());
  CHECK(row->values["stage"] == T("packaging"));
  // One bad row: no entry, and the product's stage as it was.
  rows.clear();
  rows.push_back({{"product_id", Value::Text(pid)}, {"stage", T("market_ready")}});
  rows.push_back({{"product_id", Value::Text(Uuid::Random().ToString())}, {"stage", T("idea")}});
  CHECK_FALSE(store->RecordAll("progress", rows).ok());
  row = store->Show("product", *product);
  REQUIRE(row.ok());
  CHECK(row->values["stage"] == T("packaging"));
  CHECK(store->List("progress")->size() == 3);
}

TEST_CASE("Store: marking the same person on the same day edits one row",
          "[store]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  PhraoFixture f(*store);
  auto first = store->Record("attendance", f.Mark(1, "absent"));
  auto second = store->Record("attendance", f.Mark(1, "late"));
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(*first == *second);
  auto rows = store->List("attendance");
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].values["status"] == T("late"));
  CHECK(*store->Record("attendance", f.Mark(2, "present")) != *first);
}

TEST_CASE("Store: a workshop is not made shorter than the days its marks are on",
          "[store]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  PhraoFixture f(*store);
  REQUIRE(store->Record("attendance", f.Mark(3, "present")).ok());
  auto day4 = store->Record("attendance", f.Mark(4, "late"));
  REQUIRE(day4.ok());
  const int64_t pending = Count(*store, "SELECT COUNT(*) FROM outbox");

  // Cut to 3 days (from the default 5) with a mark on day 4: refused,
  // naming the marks and what to do, nothing written.
  Status cut = store->Edit("workshop", f.workshop, {{"days", I(3)}});
  CHECK(cut.code() == Code::kInvalidArgument);
  CHECK(cut.message() ==
        "days cannot be 3: 1 attendance mark is recorded on day 4. Delete "
        "it first, or keep 4 days. Nothing was changed.");
  CHECK(*cut.TextField(field::kField) == "days");
  CHECK(*cut.TextField(field::kProblem) == "err.marks_beyond_days");
  CHECK(store->Show("workshop", f.workshop)->values["days"] == I(5));
  CHECK(Count(*store, "SELECT COUNT(*) FROM outbox") == pending);
  // To 2 days: both marks are past it.
  Status two = store->Edit("workshop", f.workshop, {{"days", I(2)}});
  CHECK(two.message().rfind("days cannot be 2: 2 attendance marks are recorded "
                            "on days 3 to 4. Delete them", 0) == 0);
  // Down to the last marked day, and back up, are fine; an emptied days is
  // the course's five.
  CHECK(store->Edit("workshop", f.workshop, {{"days", I(4)}}).ok());
  CHECK(store->Edit("workshop", f.workshop, {{"days", Value::Null()}}).ok());
  // Once the day-4 mark is deleted, 3 days it is.
  REQUIRE(store->Delete("attendance", *day4).ok());
  CHECK(store->Edit("workshop", f.workshop, {{"days", I(3)}}).ok());
  CHECK(store->Show("workshop", f.workshop)->values["days"] == I(3));
  // Other edits of a workshop are not held up by its marks.
  CHECK(store->Edit("workshop", f.workshop, {{"venue", T("วัดพร้าว")}}).ok());

  // Cut to 2 days elsewhere (as a pull writes it) while a mark here is on
  // day 3: lengthening is allowed, to 3 or to any length; a further cut
  // looks only at the days it cuts.
  REQUIRE(store->db()
              .Exec("UPDATE workshop SET days = 2 WHERE id = '" +
                    f.workshop.ToString() + "'")
              .ok());
  CHECK(store->Edit("workshop", f.workshop, {{"days", I(3)}}).ok());
  REQUIRE(store->db()
              .Exec("UPDATE workshop SET days = 2 WHERE id = '" +
                    f.workshop.ToString() + "'")
              .ok());
  CHECK(store->Edit("workshop", f.workshop, {{"days", I(30)}}).ok());
  REQUIRE(store->db()
              .Exec("UPDATE workshop SET days = 2 WHERE id = '" +
                    f.workshop.ToString() + "'")
              .ok());
  // To 1: day 2, the day cut, has no mark (day 3's was hidden already).
  CHECK(store->Edit("workshop", f.workshop, {{"days", I(1)}}).ok());
}

TEST_CASE("Store: edit, delete as a tombstone, list filters", "[store]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  PhraoFixture f(*store);
  REQUIRE(store->Edit("producer", f.producer, {{"phone", T("0812345678")}}).ok());
  CHECK(store->Show("producer", f.producer)->values["phone"] == T("0812345678"));
  CHECK(store->Edit("producer", f.producer, {{"name", Value::Null()}}).code() ==
        Code::kInvalidArgument);
  CHECK(store->Edit("producer", Uuid::Random(), {{"phone", T("1")}}).code() ==
        Code::kNotFound);
  auto filtered = store->List("producer", {{"district_code", "5011"}});
  CHECK(filtered->size() == 1);
  CHECK(store->List("producer", {{"district_code", "5009"}})->empty());
  REQUIRE(store->Delete("producer", f.producer, ClientStore::Children::kCascade).ok());
  CHECK(store->List("producer")->empty());
  auto shown = store->Show("producer", f.producer);
  REQUIRE(shown.ok());
  CHECK(shown->deleted);
  CHECK(shown->values["name"] == T("กลุ่มทอผ้าบ้านป่าตุ้ม"));  // nothing lost
  CHECK(store->Delete("producer", f.producer).status().code() == Code::kNotFound);
}

TEST_CASE("Store: a delete is refused while rows hang on the row, or takes them with it",
          "[store][delete]") {
  testing::TempDir tmp;
  auto store = std::move(ClientStore::Open(tmp.path())).value();
  PhraoFixture f(*store);
  REQUIRE(store->Record("attendance", f.Mark(1, "present")).ok());
  REQUIRE(store->Record("attendance", f.Mark(2, "late")).ok());
  auto product = store->Record("product", {{"producer_id", Value::Text(f.producer.ToString())},
                                           {"name", T("ผ้าซิ่นตีนจก")}});
  REQUIRE(product.ok());
  REQUIRE(store->Record("progress", {{"product_id", Value::Text(product->ToString())},
                                     {"stage", T("design")}})
              .ok());
  auto photo = store->RecordPhoto({{"subject_type", T("producer")},
                                   {"subject_id", Value::Text(f.producer.ToString())},
                                   {"sha256", Value::Text(std::string(64, 'a'))},
                                   {"bytes", Value::Integer(1234)},
                                   {"mime", T("image/jpeg")},
                                   {"district_code", T("5011")}});
  REQUIRE(photo.ok());
  // Another producer's rows are not touched by any of this.
  auto other = store->Record("producer", {{"kind", T("entrepreneur")},
                                          {"name", T("นายอื่น")},
                                          {"district_code", T("5011")}});
  REQUIRE(other.ok());
  REQUIRE(store->Record("enrolment", {{"workshop_id", Value::Text(f.workshop.ToString())},
                                      {"producer_id", Value::Text(other->ToString())},
                                      {"participant_name", T("นายอื่น")}})
              .ok());
  const int64_t pending = store->GetStatus()->pending_changes;

  SECTION("refused, naming what hangs on it, and nothing is written") {
    auto refused = store->Delete("producer", f.producer);
    REQUIRE_FALSE(refused.ok());
    const Status& s = refused.status();
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK(s.reason() == kHasChildrenReason);
    CHECK(s.message().find("producer 'กลุ่มทอผ้าบ้านป่าตุ้ม' still has") == 0);
    CHECK(s.message().find("1 product, 1 enrolment, 2 attendance marks, 1 progress "
                           "entry and 1 photo") != std::string::npos);
    const auto* counts = s.TextsField(kChildrenField);
    REQUIRE(counts != nullptr);
    CHECK(*counts == std::vector<std::pair<std::string, std::string>>{
                         {"product", "1"}, {"enrolment", "1"}, {"attendance", "2"},
                         {"progress", "1"}, {"photo", "1"}});
    CHECK(store->GetStatus()->pending_changes == pending);
    CHECK(store->List("producer")->size() == 2);
    CHECK(store->List("attendance")->size() == 2);
    // A mark hangs on nothing: it goes alone.
    auto marks = store->List("attendance");
    auto one = store->Delete("attendance", (*marks)[0].id);
    REQUIRE(one.ok());
    CHECK(one->total() == 1);
    // The workshop holds both producers' enrolments and the other mark.
    auto w = store->Delete("workshop", f.workshop);
    REQUIRE_FALSE(w.ok());
    CHECK(w.status().message().find("2 enrolments and 1 attendance mark") !=
          std::string::npos);
  }

  SECTION("with kCascade, everything below goes in one action and syncs") {
    auto deleted = store->Delete("producer", f.producer, ClientStore::Children::kCascade);
    REQUIRE(deleted.ok());
    CHECK(deleted->Summary() ==
          "1 producer, 1 product, 1 enrolment, 2 attendance marks, 1 progress entry "
          "and 1 photo");
    CHECK(deleted->total() == 7);
    CHECK(store->List("producer")->size() == 1);
    CHECK(store->List("product")->empty());
    CHECK(store->List("progress")->empty());
    CHECK(store->List("attendance")->empty());
    CHECK(store->List("photo")->empty());
    CHECK(store->List("enrolment")->size() == 1);  // the other producer's
    // Tombstones: every value is kept.
    CHECK(store->Show("product", *product)->values["name"] == T("ผ้าซิ่นตีนจก"));
    CHECK(store->GetStatus()->pending_changes == pending + 7);
    // The workshop now holds the other producer's enrolment only.
    auto w = store->Delete("workshop", f.workshop);
    REQUIRE_FALSE(w.ok());
    CHECK(w.status().message().find("still has 1 enrolment recorded") !=
          std::string::npos);
  }

  SECTION("a role that may not delete a row below refuses the whole cascade") {
    REQUIRE(store->db()
                .Exec("UPDATE device SET role = 'field_officer', districts = 'all',"
                      " server_url = 'http://127.0.0.1:1'")
                .ok());
    // A field officer may delete producers, products and photos, not a
    // workshop's enrolments and marks.
    auto deleted = store->Delete("producer", f.producer, ClientStore::Children::kCascade);
    REQUIRE_FALSE(deleted.ok());
    CHECK(deleted.status().message().find("field_officer, which may not delete an") !=
          std::string::npos);
    // Said in Thai on the phone (once its English words with a Thai prefix).
    REQUIRE(deleted.status().TextField(field::kProblem) != nullptr);
    CHECK(*deleted.status().TextField(field::kProblem) == "err.role_may_not");
    CHECK(ProblemText(Lang::kTh, "producer", deleted.status()).find("บทบาท") == 0);
    CHECK(store->List("producer")->size() == 2);
    CHECK(store->List("product")->size() == 1);
    CHECK(store->List("photo")->size() == 1);
    CHECK(store->List("attendance")->size() == 2);
    CHECK(store->GetStatus()->pending_changes == pending);
  }
}

TEST_CASE("Store: status counts pending changes", "[store]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  PhraoFixture f(*store);
  auto status = store->GetStatus();
  REQUIRE(status.ok());
  CHECK(status->pending_changes == 3);
  CHECK_FALSE(status->enrolled);
  CHECK(status->device_id == store->device_id());
}

TEST_CASE("Store: the clock survives a restart and a backwards wall clock",
          "[store]") {
  TempDir tmp;
  ManualWallClock wall(1767225600000);
  Hlc before;
  {
    auto store = ClientStore::Open(tmp.path(), &wall);
    REQUIRE(store.ok());
    PhraoFixture f(**store);
    before = (*store)->clock().State();
  }
  wall.Advance(-3600 * 1000);  // the phone's clock was set back an hour
  auto store = ClientStore::Open(tmp.path(), &wall);
  REQUIRE(store.ok());
  CHECK((*store)->clock().Now() > before);
}

}  // namespace
}  // namespace kbo::client

namespace kbo::client {
namespace {

TEST_CASE("Store: a score again under the contest and judge written with other "
          "case or spaces corrects that judge's score, not a second one",
          "[store][contest]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  PhraoFixture f(*store);
  auto product = store->Record("product", {{"producer_id", Value::Text(f.producer.ToString())},
                                           {"name", T("ผ้าฝ้ายทอมือลายพร้าว")}});
  REQUIRE(product.ok());
  const auto score = [&](const std::string& contest, const std::string& judge, int64_t each) {
    RowValues row = {{"product_id", Value::Text(product->ToString())},
                     {"contest", Value::Text(contest)},
                     {"judge", Value::Text(judge)}};
    for (const char* c : {"identity", "uniqueness", "quality", "packaging", "marketability"}) {
      row[c] = I(each);
    }
    return store->Record("contest_score", std::move(row));
  };
  auto first = score("KBO CM 2570", "อ.สุดา", 13);
  REQUIRE(first.ok());
  for (const auto& [contest, judge] :
       std::vector<std::pair<std::string, std::string>>{{"kbo cm 2570", "อ.สุดา"},
                                                        {"KBO  CM 2570 ", "อ.สุดา "},
                                                        {"KBOCM2570", "อ. สุดา"}}) {
    CAPTURE(contest, judge);
    auto again = score(contest, judge, 20);
    REQUIRE(again.ok());
    CHECK(*again == *first);
  }
  CHECK(Count(*store, "SELECT count(*) FROM contest_score") == 1);
  CHECK(Count(*store, "SELECT count(*) FROM contest_score WHERE contest = 'KBO CM 2570' "
                      "AND judge = 'อ.สุดา' AND identity = 20") == 1);
  // Another judge, and another contest, are new scores.
  auto other = score("kbo cm 2570", "อ.บุญ", 15);
  REQUIRE(other.ok());
  CHECK(*other != *first);
  CHECK(Count(*store, "SELECT count(*) FROM contest_score WHERE contest = 'KBO CM 2570' "
                      "AND judge = 'อ.บุญ'") == 1);
  auto next_year = score("KBO CM 2571", "อ.สุดา", 15);
  REQUIRE(next_year.ok());
  CHECK(Count(*store, "SELECT count(*) FROM contest_score") == 3);
  // Titles are not dropped: two judges.
  auto mr = score("KBO CM 2571", "นายสมชาย", 10);
  auto khun = score("KBO CM 2571", "คุณสมชาย", 11);
  REQUIRE(mr.ok());
  REQUIRE(khun.ok());
  CHECK(*mr != *khun);
  // This product's own score first. As two devices' syncs can leave it:
  // this product scored by "อ.แก้ว " (an older kbo kept the space), another
  // by "อ.แก้ว". Scoring this product again as "อ.แก้ว" corrects its own.
  auto second = store->Record("product", {{"producer_id", Value::Text(f.producer.ToString())},
                                          {"name", T("น้ำพริกตาแดง")}});
  REQUIRE(second.ok());
  const auto row_of = [](const Uuid& p, const std::string& judge, int64_t each) {
    RowValues row = {{"product_id", Value::Text(p.ToString())},
                     {"contest", T("OTOP 2571")},
                     {"judge", Value::Text(judge)},
                     {"district_code", T("5011")}};
    for (const char* c : {"identity", "uniqueness", "quality", "packaging", "marketability"}) {
      row[c] = I(each);
    }
    return row;
  };
  // Rows that come with their ids are taken as spelled.
  std::vector<RowValues> synced = {row_of(*second, "อ.แก้ว ", 9), row_of(*product, "อ.แก้ว", 9)};
  std::vector<std::optional<Uuid>> ids;
  for (const RowValues& r : synced) {
    ids.push_back(DerivedRowId(*FindEntity("contest_score"), r).value());
  }
  REQUIRE(store->RecordAll("contest_score", synced, ids).ok());
  auto again = store->Record("contest_score", row_of(*second, "อ.แก้ว", 18));
  REQUIRE(again.ok());
  CHECK(*again == *ids[0]);
  CHECK(Count(*store, "SELECT count(*) FROM contest_score WHERE product_id = '" +
                          second->ToString() + "'") == 1);
  CHECK(Count(*store, "SELECT identity FROM contest_score WHERE product_id = '" +
                          second->ToString() + "'") == 18);
}

TEST_CASE("Store: a mark recorded again is a whole statement (old note cleared)",
          "[store]") {
  testing::TempDir tmp;
  auto store = std::move(ClientStore::Open(tmp.path())).value();
  testing::PhraoFixture f(*store);
  RowValues late = f.Mark(1, "late");
  late["note"] = Value::Text("มาสาย ฝนตก");
  auto id = store->Record("attendance", late);
  REQUIRE(id.ok());
  REQUIRE(store->Record("attendance", f.Mark(1, "present")).ok());
  auto row = store->Show("attendance", *id);
  CHECK(row->values["status"] == Value::Text("present"));
  CHECK(row->values["note"].is_null());
}

TEST_CASE("Store: a mark recorded again may keep the cells it does not name "
          "(RecordAgain), except those cleared and those of a deleted mark",
          "[store]") {
  testing::TempDir tmp;
  auto store = std::move(ClientStore::Open(tmp.path())).value();
  testing::PhraoFixture f(*store);
  RowValues late = f.Mark(1, "late");
  late["note"] = Value::Text("มาสาย ฝนตก");
  auto id = store->Record("attendance", late);
  REQUIRE(id.ok());
  ClientStore::RecordAgain keep;
  keep.keep_unnamed = true;
  REQUIRE(store->Record("attendance", f.Mark(1, "absent"), keep).ok());
  auto row = store->Show("attendance", *id);
  CHECK(row->values["status"] == Value::Text("absent"));
  CHECK(row->values["note"] == Value::Text("มาสาย ฝนตก"));
  // The first time a key is recorded there is nothing to keep.
  auto day2 = store->Record("attendance", f.Mark(2, "present"), keep);
  REQUIRE(day2.ok());
  CHECK(store->Show("attendance", *day2)->values["note"].is_null());
  // Named and empty: cleared.
  ClientStore::RecordAgain clear = keep;
  clear.cleared.insert("note");
  REQUIRE(store->Record("attendance", f.Mark(1, "present"), clear).ok());
  CHECK(store->Show("attendance", *id)->values["note"].is_null());
  // A deleted mark recorded anew starts from what is given.
  REQUIRE(store->Record("attendance", late).ok());
  REQUIRE(store->Delete("attendance", *id).ok());
  REQUIRE(store->Record("attendance", f.Mark(1, "present"), keep).ok());
  row = store->Show("attendance", *id);
  CHECK(!row->deleted);
  CHECK(row->values["status"] == Value::Text("present"));
  CHECK(row->values["note"].is_null());
}

TEST_CASE("Store: a value written again as it is held is no change (nothing to "
          "send, no conflict nobody meant)",
          "[store]") {
  testing::TempDir tmp;
  auto store = std::move(ClientStore::Open(tmp.path())).value();
  testing::PhraoFixture f(*store);
  RowValues late = f.Mark(1, "late");
  late["note"] = Value::Text("มาสาย 1 ชม.");
  auto id = store->Record("attendance", late);
  REQUIRE(id.ok());
  const auto outbox = [&] { return Count(*store, "SELECT COUNT(*) FROM outbox"); };
  const int64_t before = outbox();

  // The same mark again, kept cells or not: nothing written.
  ClientStore::RecordAgain keep;
  keep.keep_unnamed = true;
  RowValues same = f.Mark(1, "late");
  REQUIRE(store->Record("attendance", same, keep).ok());
  REQUIRE(store->Record("attendance", late).ok());
  std::vector<ClientStore::Recorded> recorded;
  REQUIRE(store->RecordAll("attendance", {late, f.Mark(2, "present")}, {}, {}, &recorded).ok());
  CHECK(recorded == std::vector<ClientStore::Recorded>{ClientStore::Recorded::kSame,
                                                       ClientStore::Recorded::kNew});
  CHECK(outbox() == before + 1);  // the day-2 mark only
  // An edit to the value held: nothing written, and fine.
  CHECK(store->Edit("attendance", *id, {{"status", T("late")}}).ok());
  CHECK(store->Edit("producer", f.producer, {{"tambon", T("ป่าตุ้ม")}}).ok());
  CHECK(outbox() == before + 1);

  // One changed cell of several: only it is written.
  REQUIRE(store->RecordAll("attendance", {f.Mark(1, "present")}, {}, {keep}, &recorded).ok());
  CHECK(recorded == std::vector<ClientStore::Recorded>{ClientStore::Recorded::kChanged});
  CHECK(outbox() == before + 2);
  Statement last(store->db(), "SELECT cells FROM outbox_cells ORDER BY id DESC LIMIT 1");
  REQUIRE(last.Step());
  auto entry = DecodeOutboxEntry(last.ColumnBlob(0));
  REQUIRE(entry.ok());
  REQUIRE(entry->size() == 1);
  REQUIRE((*entry)[0].cells.size() == 1);
  CHECK((*entry)[0].cells[0].column == "status");
  auto row = store->Show("attendance", *id);
  CHECK(row->values["status"] == T("present"));
  CHECK(row->values["note"] == T("มาสาย 1 ชม."));
}

TEST_CASE("Store: an enrolment with marks does not move to another workshop",
          "[store]") {
  testing::TempDir tmp;
  auto store = std::move(ClientStore::Open(tmp.path())).value();
  testing::PhraoFixture f(*store);
  auto other = store->Record("workshop", {{"title", T("พัฒนาผลิตภัณฑ์ KBO รุ่นที่ 2")},
                                          {"fiscal_year", I(2557)},
                                          {"district_code", T("5011")},
                                          {"start_date", T("2014-04-07")}});
  REQUIRE(other.ok());
  auto mark = store->Record("attendance", f.Mark(1, "present"));
  REQUIRE(mark.ok());
  const int64_t pending = Count(*store, "SELECT COUNT(*) FROM outbox");
  Status moved = store->Edit("enrolment", f.enrolment,
                             {{"workshop_id", Value::Text(other->ToString())}});
  CHECK(moved.code() == Code::kInvalidArgument);
  CHECK(moved.reason() == "enrolment_has_marks");
  CHECK(*moved.TextField(field::kField) == "workshop_id");
  CHECK(moved.message() ==
        "the enrolment cannot move to another workshop: 1 attendance mark is "
        "recorded for it in its workshop. Enrol the participant in the other "
        "workshop instead. Nothing was changed.");
  CHECK(store->Show("enrolment", f.enrolment)->values["workshop_id"] ==
        Value::Text(f.workshop.ToString()));
  CHECK(Count(*store, "SELECT COUNT(*) FROM outbox") == pending);
  // Its other columns are not held up; with the mark deleted it moves.
  CHECK(store->Edit("enrolment", f.enrolment, {{"participant_name", T("นางสมศรี ใจงาม")}}).ok());
  REQUIRE(store->Delete("attendance", *mark).ok());
  CHECK(store->Edit("enrolment", f.enrolment,
                    {{"workshop_id", Value::Text(other->ToString())}})
            .ok());
}

TEST_CASE("Store: a producer moved to another district takes its products, "
          "visits, photos and theirs, its enrolments stay with their "
          "workshop, and a visit is not moved on its own",
          "[store]") {
  testing::TempDir tmp;
  auto store = std::move(ClientStore::Open(tmp.path())).value();
  testing::PhraoFixture f(*store);
  const Value producer = Value::Text(f.producer.ToString());
  auto product = store->Record("product", {{"producer_id", producer},
                                           {"name", T("ผ้าซิ่นตีนจก")}});
  REQUIRE(product.ok());
  const Value product_id = Value::Text(product->ToString());
  auto visit = store->Record("visit", {{"producer_id", producer},
                                       {"visited_at", T("2024-03-10T02:00:00Z")}});
  REQUIRE(visit.ok());
  auto progress = store->Record("progress", {{"product_id", product_id},
                                             {"stage", T("prototype")}});
  REQUIRE(progress.ok());
  auto photo = store->Record("photo", {{"subject_type", T("product")},
                                       {"subject_id", product_id},
                                       {"sha256", Value::Text(std::string(64, 'b'))},
                                       {"mime", T("image/jpeg")}});
  REQUIRE(photo.ok());
  auto mark = store->Record("attendance", f.Mark(1, "present"));
  REQUIRE(mark.ok());
  const auto district = [&](const char* entity, const Uuid& id) {
    return store->Show(entity, id)->values["district_code"].ToDisplay();
  };
  REQUIRE(district("visit", *visit) == "5011");

  // On its own, a visit follows its producer: refused, nothing written.
  const int64_t pending = Count(*store, "SELECT COUNT(*) FROM outbox");
  Status alone = store->Edit("visit", *visit, {{"district_code", T("5001")}});
  CHECK(alone.code() == Code::kInvalidArgument);
  CHECK(alone.message().find("producer's district (5011)") != std::string::npos);
  CHECK(district("visit", *visit) == "5011");
  CHECK(Count(*store, "SELECT COUNT(*) FROM outbox") == pending);

  EntityCounts moved;
  Status s = store->Edit("producer", f.producer, {{"district_code", T("5001")}}, &moved);
  INFO(s.ToString());
  REQUIRE(s.ok());
  CHECK(moved == EntityCounts{{"product", 1}, {"visit", 1}, {"progress", 1}, {"photo", 1}});
  CHECK(district("producer", f.producer) == "5001");
  CHECK(district("product", *product) == "5001");
  CHECK(district("visit", *visit) == "5001");
  CHECK(district("progress", *progress) == "5001");
  CHECK(district("photo", *photo) == "5001");
  // The course stays where it was held.
  CHECK(district("enrolment", f.enrolment) == "5011");
  CHECK(district("attendance", *mark) == "5011");
  // Now a visit may say its producer's new district (nothing changes).
  CHECK(store->Edit("visit", *visit, {{"district_code", T("5001")}}).ok());
}

TEST_CASE("Store: a photo's file facts are the system's, not edited",
          "[store]") {
  testing::TempDir tmp;
  auto store = std::move(ClientStore::Open(tmp.path())).value();
  testing::PhraoFixture f(*store);
  const std::string sha(64, 'a');
  auto photo = store->Record("photo", {{"subject_type", T("producer")},
                                       {"subject_id", Value::Text(f.producer.ToString())},
                                       {"sha256", Value::Text(sha)},
                                       {"bytes", I(1000)},
                                       {"mime", T("image/jpeg")},
                                       {"width", I(1600)},
                                       {"height", I(1200)}});
  REQUIRE(photo.ok());
  const int64_t pending = Count(*store, "SELECT COUNT(*) FROM outbox");
  for (const char* column : {"sha256", "bytes", "mime", "width", "height"}) {
    INFO(column);
    const Value v = std::string(column) == "sha256" ? Value::Text(std::string(64, '0'))
                    : std::string(column) == "mime"  ? T("image/png")
                                                     : I(99);
    Status s = store->Edit("photo", *photo, {{column, v}});
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK(s.reason() == "file_fact");
    CHECK(*s.TextField(field::kField) == column);
  }
  CHECK(store->Show("photo", *photo)->values["sha256"] == Value::Text(sha));
  CHECK(Count(*store, "SELECT COUNT(*) FROM outbox") == pending);
  CHECK(store->Edit("photo", *photo, {{"caption", T("ผ้าซิ่นตีนจก")}}).ok());

  // The same picture of the same subject again: refused, naming the one
  // held; of another subject, or once the first is deleted, it is a photo.
  const auto photo_of = [&](const Uuid& subject) {
    return store->RecordPhoto({{"subject_type", T("producer")},
                               {"subject_id", Value::Text(subject.ToString())},
                               {"sha256", Value::Text(sha)},
                               {"bytes", I(1000)},
                               {"mime", T("image/jpeg")}});
  };
  const int64_t before = Count(*store, "SELECT COUNT(*) FROM photo");
  auto twice = photo_of(f.producer);
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.status().code() == Code::kInvalidArgument);
  CHECK(twice.status().reason() == "photo_already_recorded");
  CHECK(twice.status().message() == "this photo is recorded for that producer already (photo " +
                                        photo->ToString() + "). Nothing was added.");
  CHECK(Count(*store, "SELECT COUNT(*) FROM photo") == before);
  auto other = store->Record("producer", {{"kind", T("entrepreneur")},
                                          {"name", T("นายอื่น")},
                                          {"district_code", T("5011")}});
  REQUIRE(other.ok());
  CHECK(photo_of(*other).ok());
  REQUIRE(store->Delete("photo", *photo).ok());
  CHECK(photo_of(f.producer).ok());
}

TEST_CASE("Store: a row whose parent was deleted can still be corrected",
          "[store]") {
  testing::TempDir tmp;
  auto store = std::move(ClientStore::Open(tmp.path())).value();
  testing::PhraoFixture f(*store);
  auto product = store->Record("product", {{"producer_id", Value::Text(f.producer.ToString())},
                                           {"name", Value::Text("กระเป๋าผ้า")}});
  REQUIRE(product.ok());
  // Another device deleted the producer meanwhile (a delete here would be
  // refused while the product hangs on it): its tombstone came in a pull.
  REQUIRE(store->db()
              .Exec("UPDATE producer SET deleted = 1 WHERE id = '" +
                    f.producer.ToString() + "'")
              .ok());
  CHECK(store->Edit("product", *product, {{"description", Value::Text("แก้ไข")}}).ok());
  // But pointing a row at a deleted parent is refused.
  CHECK(store->Edit("product", *product,
                    {{"producer_id", Value::Text(f.producer.ToString())}})
            .code() == Code::kNotFound);
}

TEST_CASE("Store: a batch records and refuses exactly as one mark at a time",
          "[store]") {
  // RecordAll finds a parent again from the row before (its reference
  // text, no lookup) or from its cache; Record reads each. Both homes get
  // the same parents, then the same marks: the same ids and rows, and each
  // bad mark the same refusal, wherever it falls in the batch.
  TempDir tmp;
  auto one = OpenStore(tmp.File("one"));
  auto batch = OpenStore(tmp.File("batch"));
  struct Parents {
    Uuid w1, w2, e1, e2, e3, gone;
  };
  auto make = [](ClientStore& store) {
    PhraoFixture f(store);
    Parents p;
    p.w1 = f.workshop;
    p.e1 = f.enrolment;
    auto w2 = store.Record("workshop", {{"title", T("รุ่นที่ 2")},
                                        {"fiscal_year", I(2557)},
                                        {"district_code", T("5011")},
                                        {"start_date", T("2014-04-10")},
                                        {"days", I(3)}});
    REQUIRE(w2.ok());
    p.w2 = *w2;
    auto enrol = [&](const Uuid& w, const char* name) {
      auto e = store.Record("enrolment", {{"workshop_id", Value::Text(w.ToString())},
                                          {"producer_id", Value::Text(f.producer.ToString())},
                                          {"participant_name", T(name)}});
      REQUIRE(e.ok());
      return *e;
    };
    p.e2 = enrol(p.w2, "นายหนึ่ง");
    p.e3 = enrol(p.w1, "นางสอง");
    p.gone = enrol(p.w1, "นายสาม");
    REQUIRE(store.Delete("enrolment", p.gone).ok());
    return p;
  };
  const Parents p1 = make(*one), p2 = make(*batch);
  // Random ids differ between the homes: marks name parents by role.
  enum Who { kW1, kW2, kE1, kE2, kE3, kGone, kNobody };
  auto id = [](const Parents& p, Who who) {
    switch (who) {
      case kW1: return p.w1.ToString();
      case kW2: return p.w2.ToString();
      case kE1: return p.e1.ToString();
      case kE2: return p.e2.ToString();
      case kE3: return p.e3.ToString();
      case kGone: return p.gone.ToString();
      case kNobody: break;
    }
    return std::string("00000000-0000-8000-8000-000000000000");
  };
  struct M {
    Who workshop, enrolment;
    int day;
  };
  auto mark = [&](const Parents& p, const M& m) {
    return RowValues{{"workshop_id", Value::Text(id(p, m.workshop))},
                     {"enrolment_id", Value::Text(id(p, m.enrolment))},
                     {"day", I(m.day)},
                     {"status", T("present")}};
  };
  const std::vector<M> good = {{kW1, kE1, 1}, {kW1, kE1, 2}, {kW1, kE3, 1},
                               {kW2, kE2, 1}, {kW2, kE2, 3}, {kW1, kE1, 3},
                               {kW1, kE3, 2}, {kW1, kE1, 4}, {kW2, kE2, 2}};
  const std::vector<M> bad = {
      {kW1, kE2, 1},      // the enrolment of another workshop, after its own
      {kW2, kE1, 1},      // and the other way round
      {kW2, kE2, 4},      // past the second workshop's three days
      {kW1, kE1, 6},      // past the first's five
      {kW1, kGone, 1},    // a deleted enrolment
      {kW1, kNobody, 1},  // no such enrolment
      {kNobody, kE1, 1},  // no such workshop
  };
  for (const M& b : bad) {
    for (size_t at : {size_t{0}, size_t{1}, size_t{5}, good.size()}) {
      std::vector<RowValues> rows;
      for (size_t i = 0; i < at; ++i) rows.push_back(mark(p2, good[i]));
      rows.push_back(mark(p2, b));
      for (size_t i = at; i < good.size(); ++i) rows.push_back(mark(p2, good[i]));
      auto alone = one->Record("attendance", mark(p1, b));
      REQUIRE_FALSE(alone.ok());
      auto all = batch->RecordAll("attendance", rows);
      REQUIRE_FALSE(all.ok());
      CHECK(all.status().code() == alone.status().code());
      // Messages name the row's parents by id: the homes' ids differ.
      std::string expected = alone.status().message();
      for (Who w : {kW1, kW2, kE1, kE2, kE3, kGone}) {
        const std::string from = id(p1, w), to = id(p2, w);
        for (size_t f = expected.find(from); f != std::string::npos;
             f = expected.find(from, f + to.size())) {
          expected.replace(f, from.size(), to);
        }
      }
      CHECK(all.status().message() == expected);
      REQUIRE(all.status().IntegerField(field::kIndex) != nullptr);
      CHECK(*all.status().IntegerField(field::kIndex) == static_cast<int64_t>(at));
      CHECK(batch->List("attendance")->empty());
    }
  }
  std::vector<RowValues> rows;
  std::vector<Uuid> singly;
  for (const M& m : good) {
    rows.push_back(mark(p2, m));
    auto r = one->Record("attendance", mark(p1, m));
    REQUIRE(r.ok());
    singly.push_back(*r);
  }
  auto all = batch->RecordAll("attendance", rows);
  REQUIRE(all.ok());
  REQUIRE(all->size() == singly.size());
  auto listed_one = one->List("attendance");
  auto listed_batch = batch->List("attendance");
  REQUIRE(listed_one->size() == good.size());
  REQUIRE(listed_batch->size() == good.size());
  for (size_t i = 0; i < good.size(); ++i) {
    // Derived from the parents' ids, which differ between the homes; the
    // same in each home as its own derivation says.
    CHECK((*all)[i] == *DerivedRowId(*FindEntity("attendance"),
                                     {{"workshop_id", Value::Text(id(p2, good[i].workshop))},
                                      {"enrolment_id", Value::Text(id(p2, good[i].enrolment))},
                                      {"day", I(good[i].day)}}));
    CHECK(singly[i] == *DerivedRowId(*FindEntity("attendance"),
                                     {{"workshop_id", Value::Text(id(p1, good[i].workshop))},
                                      {"enrolment_id", Value::Text(id(p1, good[i].enrolment))},
                                      {"day", I(good[i].day)}}));
    auto a = one->Show("attendance", singly[i]);
    auto b = batch->Show("attendance", (*all)[i]);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->values["district_code"] == b->values["district_code"]);
    CHECK(a->values["day"] == b->values["day"]);
    CHECK(a->values["status"] == b->values["status"]);
    CHECK(a->values["note"] == b->values["note"]);
  }
  // Recorded again in a batch: the same rows, edited (the retry path gives
  // the cells back to the store).
  rows.clear();
  for (const M& m : good) {
    RowValues again = mark(p2, m);
    again["status"] = T("late");
    rows.push_back(std::move(again));
  }
  auto edited = batch->RecordAll("attendance", rows);
  REQUIRE(edited.ok());
  CHECK(*edited == *all);
  auto relisted = batch->List("attendance");
  REQUIRE(relisted.ok());
  REQUIRE(relisted->size() == good.size());
  for (const StoredRow& r : *relisted) CHECK(r.values.at("status") == T("late"));
}

}  // namespace
}  // namespace kbo::client

namespace kbo::client {
namespace {

TEST_CASE("Store: a row received from the server in another district is not "
          "edited or deleted here, but this device's own refused row still is",
          "[store][scope]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  // Recorded before enrolment, in Fang: the server will refuse it, and
  // fixing or deleting it is how the person settles that.
  auto own = store->Record("producer", {{"kind", T("group")}, {"name", T("กลุ่มฝาง")},
                                        {"district_code", T("5009")}});
  REQUIRE(own.ok());
  REQUIRE(store->db()
              .Exec("UPDATE device SET role = 'field_officer', districts = '5011',"
                    " server_url = 'http://127.0.0.1:1'")
              .ok());
  // Received from the server (a pull by an older kbo, or before this
  // device's districts changed): in Fang, with server sequences.
  ChangeSet page;
  RowChange rc;
  rc.entity = "producer";
  rc.row_id = Uuid::Random();
  rc.hlc = Hlc{1'700'000'000'000, 0, Uuid::Random()};
  rc.cells = {{"kind", T("group"), 7},
              {"name", T("กลุ่มย้ายไปฝาง"), 7},
              {"district_code", T("5009"), 7}};
  page.rows.push_back(rc);
  ApplyOptions options;
  options.seq_from_base = true;
  REQUIRE(ApplyChangeSet(store->db(), page, options).ok());
  const int64_t pending = store->GetStatus()->pending_changes;

  Status edit = store->Edit("producer", rc.row_id, {{"phone", T("0812345678")}});
  CHECK(edit.code() == Code::kInvalidArgument);
  CHECK(edit.reason() == "row_out_of_scope");
  CHECK(edit.message().find("is in district 5009, outside this device's districts "
                            "(5011)") != std::string::npos);
  auto deleted = store->Delete("producer", rc.row_id);
  REQUIRE_FALSE(deleted.ok());
  CHECK(deleted.status().reason() == "row_out_of_scope");
  CHECK(store->GetStatus()->pending_changes == pending);
  CHECK(store->Show("producer", rc.row_id)->values["phone"].is_null());

  // Its own row is fixed into the device's district, or deleted.
  REQUIRE(store->Edit("producer", *own, {{"district_code", T("5011")}}).ok());
  REQUIRE(store->Delete("producer", *own).ok());
}

TEST_CASE("Store: a visit's purpose typed by its Thai or English name is its code, "
          "other text stays as typed",
          "[store]") {
  const auto parsed = [](const std::string& text) {
    Result<Value> v = ClientStore::ParseText("visit", "purpose", text);
    REQUIRE(v.ok());
    return v->text();
  };
  CHECK(parsed("ติดตามผล") == "follow_up");
  CHECK(parsed(Label(Lang::kEn, "purpose.packaging")) == "packaging");
  CHECK(parsed("follow_up") == "follow_up");
  CHECK(parsed("ดูแปลงหม่อนกับผู้ใหญ่บ้าน") == "ดูแปลงหม่อนกับผู้ใหญ่บ้าน");
  // Only the purpose: a note that happens to read as one stays a note.
  Result<Value> note = ClientStore::ParseText("visit", "notes", "ติดตามผล");
  REQUIRE(note.ok());
  CHECK(note->text() == "ติดตามผล");
}

TEST_CASE("Store: kbo list finds a visit by its purpose's code or names, also one stored "
          "as typed by an older kbo",
          "[store]") {
  TempDir tmp;
  auto opened = OpenStore(tmp.File("home"));
  ClientStore& store = *opened;
  PhraoFixture fx(store);
  const auto visit = [&](const char* purpose) {
    Result<Uuid> id = store.Record("visit", {{"producer_id", T(fx.producer.ToString().c_str())},
                                             {"visited_at", T("2024-03-05T03:00:00Z")},
                                             {"purpose", T(purpose)}});
    REQUIRE(id.ok());
    return *id;
  };
  const Uuid coded = visit("follow_up");
  const Uuid typed = visit("ดูแปลงหม่อน");
  const Uuid old = visit("ติดตามผล");  // as an older kbo stored it, typed by its name
  for (const std::string& by : {std::string("follow_up"), std::string("ติดตามผล"),
                               Label(Lang::kEn, "purpose.follow_up")}) {
    INFO(by);
    Result<std::vector<StoredRow>> found = store.List("visit", {{"purpose", by}});
    REQUIRE(found.ok());
    REQUIRE(found->size() == 2);
    CHECK((*found)[0].id == coded);
    CHECK((*found)[1].id == old);
  }
  Result<std::vector<StoredRow>> other = store.List("visit", {{"purpose", "ดูแปลงหม่อน"}});
  REQUIRE(other.ok());
  REQUIRE(other->size() == 1);
  CHECK((*other)[0].id == typed);
}

}  // namespace
}  // namespace kbo::client
