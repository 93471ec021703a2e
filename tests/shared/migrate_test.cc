#include "shared/sqlite/migrate.h"

#include <set>

#include <catch2/catch.hpp>

#include "schema/schema.h"
#include "shared/entities.h"
#include "shared/replica/apply.h"
#include "tests/support/temp_dir.h"

namespace kbo {
namespace {

std::unique_ptr<Db> Migrated(const EmbeddedFile* m, size_t n) {
  auto db = Db::Open(":memory:");
  REQUIRE(db.ok());
  REQUIRE(Migrate(**db, m, n).ok());
  return std::move(db).value();
}

std::string EntityDdl(Db& db) {
  std::string ddl;
  Statement st(db, "SELECT name, sql FROM sqlite_master ORDER BY name");
  std::set<std::string> synced;
  for (const Entity& e : Catalogue()) synced.insert(std::string(e.name));
  while (st.Step()) {
    if (synced.count(st.ColumnText(0))) ddl += st.ColumnText(1) + ";\n";
  }
  return ddl;
}

int UserVersion(Db& db) {
  Statement st(db, "PRAGMA user_version");
  REQUIRE(st.Step());
  return static_cast<int>(st.ColumnInt(0));
}

// How many of the server's migrations there are up to and including the
// one whose name starts with `prefix` (a test of one migration applies the
// ones before it, whatever is added after).
size_t Upto(const std::string& prefix) {
  for (size_t i = 0; i < schema::kServerMigrations_count; ++i) {
    if (std::string(schema::kServerMigrations[i].name).rfind(prefix, 0) == 0) return i + 1;
  }
  FAIL("no server migration " << prefix);
  return 0;
}

TEST_CASE("Migrate: client and server entity tables are identical", "[migrate]") {
  auto client = Migrated(schema::kClientMigrations, schema::kClientMigrations_count);
  auto server = Migrated(schema::kServerMigrations, schema::kServerMigrations_count);
  const std::string ddl = EntityDdl(*client);
  CHECK(ddl.find("CREATE TABLE attendance") != std::string::npos);
  CHECK(ddl == EntityDdl(*server));
}

TEST_CASE("Migrate: every catalogue entity has exactly its table's columns",
          "[migrate][entities]") {
  auto db = Migrated(schema::kReplicaMigrations, schema::kReplicaMigrations_count);
  REQUIRE(Catalogue().size() == 9);
  for (const Entity& e : Catalogue()) {
    CAPTURE(e.name);
    std::vector<std::string> table;
    Statement st(*db, "PRAGMA table_info(" + std::string(e.name) + ")");
    while (st.Step()) table.push_back(st.ColumnText(1));
    std::vector<std::string> expected = {"id"};
    for (const Column& c : e.columns) expected.emplace_back(c.name);
    expected.emplace_back("deleted");
    expected.emplace_back(kVersionsColumn);
    CHECK(table == expected);
  }
}

TEST_CASE("Migrate: sets user_version, is idempotent, refuses a newer database",
          "[migrate]") {
  testing::TempDir dir;
  const std::string path = dir.File("field.db");
  {
    auto db = Db::Open(path);
    REQUIRE(db.ok());
    REQUIRE(Migrate(**db, schema::kClientMigrations, schema::kClientMigrations_count).ok());
    CHECK(UserVersion(**db) == 16);
    REQUIRE(Migrate(**db, schema::kClientMigrations, schema::kClientMigrations_count).ok());
    CHECK(UserVersion(**db) == 16);
    REQUIRE((*db)->Exec("PRAGMA user_version = 99").ok());
  }
  auto db = Db::Open(path);
  REQUIRE(db.ok());
  const Status s =
      Migrate(**db, schema::kClientMigrations, schema::kClientMigrations_count);
  CHECK(s.code() == Code::kFailedPrecondition);
  CHECK(s.message().find("newer") != std::string::npos);
}

TEST_CASE("Migrate: devices enrolled before the server kept served_seq hold no cursor "
          "past its last sequence then", "[migrate]") {
  auto db = Db::Open(":memory:");
  REQUIRE(db.ok());
  REQUIRE(Migrate(**db, schema::kServerMigrations, Upto("0013_")).ok());
  REQUIRE((*db)->Exec(
      "UPDATE server_state SET next_seq = 42;"
      "INSERT INTO device (device_id, public_key, role, districts, enrolled_at) VALUES"
      " ('d1', 'k1', 'trainer', '5011', 't'), ('d2', 'k2', 'field_officer', '5011', 't')")
              .ok());
  REQUIRE(Migrate(**db, schema::kServerMigrations, schema::kServerMigrations_count).ok());
  Statement st(**db, "SELECT count(*) FROM device WHERE served_seq = 41");
  REQUIRE(st.Step());
  CHECK(st.ColumnInt(0) == 2);
}

TEST_CASE("Migrate: the server's conflicts of a row that moved before they followed "
          "it are put in the row's district", "[migrate]") {
  auto db = Db::Open(":memory:");
  REQUIRE(db.ok());
  // The server as it was before 0012: a producer moved to Fang, its
  // conflict still in Phrao, and one whose row is in Phrao still.
  REQUIRE(Migrate(**db, schema::kServerMigrations, Upto("0011_")).ok());
  REQUIRE((*db)->Exec(
      "INSERT INTO producer (id, kind, name, district_code) VALUES "
      " ('p-moved', 'group', 'A', '5009'), ('p-stays', 'group', 'B', '5011');"
      "INSERT INTO conflict (id, entity, row_id, column_name, district_code, current_type,"
      " current_device, current_hlc, current_seq, incoming_type, incoming_device,"
      " incoming_hlc, incoming_base, incoming_seq, winner, detected_at, feed_seq) VALUES"
      " ('c1', 'producer', 'p-moved', 'phone', '5011', 'text', 'd', 'h', 1, 'text', 'd',"
      "  'h', 0, 2, 'incoming', 't', 3),"
      " ('c2', 'producer', 'p-stays', 'phone', '5011', 'text', 'd', 'h', 1, 'text', 'd',"
      "  'h', 0, 2, 'incoming', 't', 4)").ok());
  REQUIRE(Migrate(**db, schema::kServerMigrations, schema::kServerMigrations_count).ok());
  Statement st(**db, "SELECT id, district_code FROM conflict ORDER BY id");
  REQUIRE(st.Step());
  CHECK(st.ColumnText(1) == "5009");
  REQUIRE(st.Step());
  CHECK(st.ColumnText(1) == "5011");
}

TEST_CASE("Migrate: the server's uploads in progress before blob_upload are dropped, "
          "its complete photos kept",
          "[migrate]") {
  auto db = Db::Open(":memory:");
  REQUIRE(db.ok());
  REQUIRE(Migrate(**db, schema::kServerMigrations, Upto("0012_")).ok());
  REQUIRE((*db)->Exec(
      "INSERT INTO blob (sha256, bytes, received_bytes, started_at, complete_at, uploader) "
      "VALUES ('half', 10, 5, 't', NULL, 'd'), ('whole', 10, 10, 't', 't2', 'd')").ok());
  REQUIRE(Migrate(**db, schema::kServerMigrations, schema::kServerMigrations_count).ok());
  Statement st(**db, "SELECT sha256 FROM blob ORDER BY sha256");
  REQUIRE(st.Step());
  CHECK(st.ColumnText(0) == "whole");
  CHECK_FALSE(st.Step());
  Statement up(**db, "SELECT COUNT(*) FROM blob_upload");
  REQUIRE(up.Step());
  CHECK(up.ColumnInt(0) == 0);
}

TEST_CASE("Migrate: a failing migration leaves nothing behind", "[migrate]") {
  const EmbeddedFile bad[] = {
      {"0001_ok.sql", "CREATE TABLE a (x INTEGER);"},
      {"0002_bad.sql", "CREATE TABLE b (y INTEGER); THIS IS NOT SQL;"},
  };
  auto db = Db::Open(":memory:");
  REQUIRE(db.ok());
  CHECK_FALSE(Migrate(**db, bad, 2).ok());
  Statement st(**db, "SELECT count(*) FROM sqlite_master");
  REQUIRE(st.Step());
  CHECK(st.ColumnInt(0) == 0);
  CHECK(UserVersion(**db) == 0);
}

TEST_CASE("Db: WAL and full sync are on for files", "[migrate]") {
  testing::TempDir dir;
  auto db = Db::Open(dir.File("x.db"));
  REQUIRE(db.ok());
  Statement mode(**db, "PRAGMA journal_mode");
  REQUIRE(mode.Step());
  CHECK(mode.ColumnText(0) == "wal");
  Statement sync(**db, "PRAGMA synchronous");
  REQUIRE(sync.Step());
  CHECK(sync.ColumnInt(0) == 2);  // FULL
}

}  // namespace
}  // namespace kbo
