#include "shared/sqlite/db.h"

#include <catch2/catch.hpp>

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

}  // namespace
}  // namespace kbo
