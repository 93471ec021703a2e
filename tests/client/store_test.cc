#include "client/store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "client/outbox.h"
#include "shared/fs.h"
#include "shared/sqlite/db.h"
#include "tests/support/sample_data.h"
#include "tests/support/temp_dir.h"

namespace kbo::client {
namespace {

using testing::I;
using testing::PhraoFixture;
using testing::T;
using testing::TempDir;

std::unique_ptr<ClientStore> OpenStore(const std::string& dir) {
  auto s = ClientStore::Open(dir);
  REQUIRE(s.ok());
  return std::move(s).value();
}

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
  REQUIRE(store->Delete("producer", f.producer).ok());
  CHECK(store->List("producer")->empty());
  auto shown = store->Show("producer", f.producer);
  REQUIRE(shown.ok());
  CHECK(shown->deleted);
  CHECK(shown->values["name"] == T("กลุ่มทอผ้าบ้านป่าตุ้ม"));  // nothing lost
  CHECK(store->Delete("producer", f.producer).code() == Code::kNotFound);
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

TEST_CASE("Store: a row whose parent was deleted can still be corrected",
          "[store]") {
  testing::TempDir tmp;
  auto store = std::move(ClientStore::Open(tmp.path())).value();
  testing::PhraoFixture f(*store);
  auto product = store->Record("product", {{"producer_id", Value::Text(f.producer.ToString())},
                                           {"name", Value::Text("กระเป๋าผ้า")}});
  REQUIRE(product.ok());
  REQUIRE(store->Delete("producer", f.producer).ok());
  CHECK(store->Edit("product", *product, {{"description", Value::Text("แก้ไข")}}).ok());
  // But pointing a row at a deleted parent is refused.
  CHECK(store->Edit("product", *product,
                    {{"producer_id", Value::Text(f.producer.ToString())}})
            .code() == Code::kNotFound);
}

}  // namespace
}  // namespace kbo::client
