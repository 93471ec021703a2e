#include "shared/sqlite/db.h"

#include <catch2/catch.hpp>
#include <cstdio>

#include "tests/support/temp_dir.h"

namespace kbo {
namespace {

// Regression: a cached statement left mid-result kept a read transaction
// (an old WAL snapshot) open; after another process wrote, every write of
// the long-lived server connection failed at once with "database is
// locked" until restart.
TEST_CASE("Db: a statement left mid-result does not block later writes after "
          "another connection wrote", "[db][regression]") {
  testing::TempDir tmp;
  const std::string path = tmp.File("shared.db");
  auto a = Db::Open(path);
  auto b = Db::Open(path);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE((*a)->Exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2);").ok());

  Statement& read = (*a)->Cached("SELECT x FROM t ORDER BY x");
  REQUIRE(read.Step());  // one row read, statement not finished

  REQUIRE((*b)->Exec("INSERT INTO t VALUES (3)").ok());  // another process writes

  Transaction txn(**a);
  REQUIRE(txn.status().ok());
  REQUIRE((*a)->Exec("INSERT INTO t VALUES (4)").ok());
  REQUIRE(txn.Commit().ok());

  Statement count(**b, "SELECT count(*) FROM t");
  REQUIRE(count.Step());
  CHECK(count.ColumnInt(0) == 4);
}

// Regression: a statement bound again after it ran (Bind, Run, Bind, Run:
// one UPDATE per row of a list) failed its second bind with SQLite's
// "bad parameter or other API misuse": a device whose restored server had
// lost two of its photos failed every sync.
TEST_CASE("Db: a statement bound again after it ran runs again, its other "
          "bindings kept", "[db][regression]") {
  auto db = Db::Open(":memory:");
  REQUIRE(db.ok());
  REQUIRE((*db)->Exec("CREATE TABLE t (k TEXT, v INTEGER);"
                      "INSERT INTO t VALUES ('a', 0), ('b', 0), ('c', 0);").ok());
  Statement& set = (*db)->Cached("UPDATE t SET v = ?2 WHERE k = ?1");
  set.Bind(2, int64_t{7});
  for (const char* k : {"a", "b"}) {
    set.Bind(1, std::string_view(k));
    INFO(k);
    REQUIRE(set.Run().ok());
  }
  Statement count(**db, "SELECT k FROM t WHERE v = 7 ORDER BY k");
  std::string keys;
  while (count.Step()) keys += count.ColumnText(0);
  CHECK(keys == "ab");
  // A read run to its end and bound again reads again, from its start.
  Statement& read = (*db)->Cached("SELECT k FROM t WHERE v >= ?1 ORDER BY k");
  read.Bind(1, int64_t{0});
  while (read.Step()) {
  }
  read.Bind(1, int64_t{7});
  std::string again;
  while (read.Step()) again += read.ColumnText(0);
  REQUIRE(read.status().ok());
  CHECK(again == "ab");
  // Part-way through its rows, a bind is refused (never a silent restart),
  // and the error stays until Reset.
  REQUIRE(read.Reset().ok());
  read.Bind(1, int64_t{0});
  REQUIRE(read.Step());
  read.Bind(1, int64_t{7});
  CHECK_FALSE(read.status().ok());
  CHECK_FALSE(read.Step());
  REQUIRE(read.Reset().ok());
  read.Bind(1, int64_t{0});
  int rows = 0;
  while (read.Step()) ++rows;
  CHECK(rows == 3);
}

TEST_CASE("Db: a full disk is an IOError with the reason storage_full, from "
          "a statement and from Exec",
          "[db]") {
  testing::TempDir tmp;
  auto db = Db::Open(tmp.File("full.db"));
  REQUIRE(db.ok());
  REQUIRE((*db)->Exec("CREATE TABLE t (x BLOB)").ok());
  Statement pages(**db, "PRAGMA page_count");
  REQUIRE(pages.Step());
  const int64_t now = pages.ColumnInt(0);
  REQUIRE(pages.Reset().ok());
  // The file may not grow: as a device whose storage is used up.
  REQUIRE((*db)->Exec("PRAGMA max_page_count = " + std::to_string(now)).ok());
  Status exec = (*db)->Exec("INSERT INTO t VALUES (zeroblob(100000))");
  CHECK(exec.code() == Code::kIOError);
  CHECK(exec.reason() == "storage_full");
  CHECK(exec.message().rfind("disk full: ", 0) == 0);
  Statement insert(**db, "INSERT INTO t VALUES (zeroblob(100000))");
  Status run = insert.Run();
  CHECK(run.code() == Code::kIOError);
  CHECK(run.reason() == "storage_full");
  // Nothing of either went in.
  Statement count(**db, "SELECT count(*) FROM t");
  REQUIRE(count.Step());
  CHECK(count.ColumnInt(0) == 0);
}

TEST_CASE("Db: a damaged file is said to be damaged, with a backup to "
          "restore, not a read-only folder",
          "[db]") {
  testing::TempDir tmp;
  const std::string path = tmp.File("damaged.db");
  {
    auto db = Db::Open(path);
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('ผ้าทอ');").ok());
  }
  // Its header overwritten (a bad copy, a disk's fault).
  {
    std::FILE* f = std::fopen(path.c_str(), "r+b");
    REQUIRE(f != nullptr);
    const char junk[32] = "this is not an SQLite database";
    REQUIRE(std::fwrite(junk, 1, sizeof junk, f) == sizeof junk);
    std::fclose(f);
  }
  auto db = Db::Open(path);
  REQUIRE_FALSE(db.ok());
  // The program's own storage failing, not bad input (kCorruption would
  // answer a push 400 bad_change_set).
  CHECK(db.status().code() == Code::kIOError);
  CHECK(db.status().reason() == "db_damaged");
  CHECK_THAT(db.status().message(), Catch::Contains("restore it from a backup"));
  CHECK_THAT(db.status().message(), !Catch::Contains("read-only"));
}

}  // namespace
}  // namespace kbo
