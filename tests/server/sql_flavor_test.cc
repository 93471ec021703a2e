// The SQL fragments that differ between the backends
// (server/storage/sql_flavor.h), run on the test's backend (SQLite, or
// PostgreSQL with KBO_TEST_BACKEND=postgres): each must mean the same on
// both.

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "server/storage/sql_flavor.h"
#include "tests/server/server_fixture.h"
#include "tests/support/test_db.h"

namespace kbo::server::testing {
namespace {

using storage::Flavor;

// The integer `expr` yields with ?1 bound to `p1` (nullopt: NULL) and ?2
// to `p2`; nullopt for NULL.
std::optional<int64_t> Eval(Db& db, const std::string& expr,
                            std::optional<std::string> p1,
                            const std::string& p2 = "") {
  Statement st(db, "SELECT " + expr);
  REQUIRE(st.status().ok());
  if (p1) {
    st.Bind(1, std::string_view(*p1));
  } else {
    st.BindNull(1);
  }
  if (expr.find("?2") != std::string::npos) st.Bind(2, std::string_view(p2));
  REQUIRE(st.Step());
  REQUIRE(st.status().ok());
  if (st.IsNull(0)) return std::nullopt;
  return st.ColumnInt(0);
}

TEST_CASE("Flavor follows the database's dialect", "[sql_flavor]") {
  ServerFixture f;
  Db& db = f.store->db();
  const bool pg = db.dialect() == SqlDialect::kPostgres;
  CHECK(&Flavor(db) == (pg ? &storage::PgFlavor() : &storage::SqliteFlavor()));
  CHECK(Flavor(db).CaseInsensitiveLike() == (pg ? " ILIKE" : " LIKE"));
}

TEST_CASE("InJsonArrayOrNull reads a JSON array of codes, NULL as all",
          "[sql_flavor]") {
  ServerFixture f;
  Db& db = f.store->db();
  // A column of a table, so the test is the same query shape the reports use.
  const std::string in = "CASE WHEN " +
                         Flavor(db).InJsonArrayOrNull("CAST(?2 AS TEXT)", 1) +
                         " THEN 1 ELSE 0 END";
  CHECK(Eval(db, in, std::string("[\"5011\",\"5009\"]"), "5009") == 1);
  CHECK(Eval(db, in, std::string("[\"5011\"]"), "5009") == 0);
  CHECK(Eval(db, in, std::string("[]"), "5009") == 0);
  CHECK(Eval(db, in, std::nullopt, "5009") == 1);
}

TEST_CASE("InJsonArray picks the rows whose key is in a JSON array of texts",
          "[sql_flavor]") {
  ServerFixture f;
  Db& db = f.store->db();
  Statement st(db, "SELECT COUNT(*), COALESCE(MIN(device_id), '') FROM device WHERE " +
                       Flavor(db).InJsonArray("device_id", 1));
  REQUIRE(st.status().ok());
  TestDevice a, b;
  f.Enroll(a, "5011");
  f.Enroll(b, "5011");
  auto count = [&](const std::string& json) {
    REQUIRE(st.Reset().ok());
    st.Bind(1, std::string_view(json));
    REQUIRE(st.Step());
    return st.ColumnInt(0);
  };
  CHECK(count("[\"" + a.id.ToString() + "\"]") == 1);
  CHECK(count("[\"" + a.id.ToString() + "\",\"" + b.id.ToString() + "\",\"x\"]") == 2);
  CHECK(count("[]") == 0);
  CHECK(Flavor(db).StatementsAreRoundTrips() == (db.dialect() == SqlDialect::kPostgres));
}

TEST_CASE("BangkokFiscalYear turns on 1 October, Bangkok time", "[sql_flavor]") {
  ServerFixture f;
  Db& db = f.store->db();
  const std::string fy =
      Flavor(db).BangkokFiscalYear("CAST(?1 AS TEXT)");
  // 17:00Z on 30 September is midnight, 1 October, in Bangkok (UTC+7).
  CHECK(Eval(db, fy, std::string("2025-09-30T16:59:59.000Z")) == 2568);
  CHECK(Eval(db, fy, std::string("2025-09-30T17:00:00.000Z")) == 2569);
  CHECK(Eval(db, fy, std::string("2026-03-10T02:00:00.000Z")) == 2569);
}

TEST_CASE("DaysFrom counts whole days from a DayValue", "[sql_flavor]") {
  ServerFixture f;
  Db& db = f.store->db();
  const storage::SqlFlavor& flavor = Flavor(db);
  const std::string days =
      flavor.DaysFrom(flavor.DayValue("CAST(?1 AS TEXT)"), 2);
  CHECK(Eval(db, days, std::string("2026-01-01"), "2026-01-11") == 10);
  // Only the date part of next_visit counts.
  CHECK(Eval(db, days, std::string("2025-12-31T23:00:00Z"), "2026-01-01") == 1);
  CHECK(Eval(db, days, std::string("2026-03-01"), "2026-02-01") == -28);
}

// Back-pressure (server/http_api.cc): a writer waits for another at most
// its write wait, then fails "busy" with nothing done; on the test's backend
// (PostgreSQL: the advisory writer lock every server takes).
TEST_CASE("A write transaction waits at most the write wait for another "
          "writer, then fails busy",
          "[sql_flavor][busy]") {
  ServerFixture f;
  Db& db = f.store->db();
  Result<std::unique_ptr<Db>> other =
      kbo::testing::OpenTestServerDb(f.tmp.File("data"));
  REQUIRE(other.ok());
  REQUIRE((*other)->BeginWrite().ok());
  {
    WriteWaitScope wait(db, 300);
    CHECK(db.write_wait() == 300);
    const auto t0 = std::chrono::steady_clock::now();
    Transaction txn(db);
    const auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(txn.status().code() == Code::kUnavailable);
    CHECK(txn.status().reason() == kBusyReason);
    CHECK(waited >= std::chrono::milliseconds(250));
    CHECK(waited < std::chrono::seconds(5));
  }
  CHECK(db.write_wait() == 0);  // the scope put the default back
  REQUIRE((*other)->Rollback().ok());
  // The writer free again: the same connection writes, and the wait did
  // not outlive BeginWrite (a statement may take longer than it).
  WriteWaitScope wait(db, 300);
  Transaction txn(db);
  REQUIRE(txn.status().ok());
  REQUIRE(db.Exec("UPDATE server_state SET next_seq = next_seq").ok());
  REQUIRE(txn.Commit().ok());
}

}  // namespace
}  // namespace kbo::server::testing
