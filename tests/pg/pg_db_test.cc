// The PostgreSQL side of Db / Statement / Transaction (server/storage/pg_db.h)
// against the real PostgreSQL 15 that tools/pg-test-cluster starts.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "server/storage/pg_db.h"
#include "shared/sqlite/migrate.h"
#include "tests/pg/pg_test_util.h"

namespace kbo::server {
namespace {

using test::Connect;

TEST_CASE("PostgreSQL Db: values of every kind round-trip", "[pg]") {
  const test::PgSchema schema;
  auto db = Connect(schema.url());
  REQUIRE(db->dialect() == SqlDialect::kPostgres);
  REQUIRE(db->Exec("CREATE TABLE t (id TEXT PRIMARY KEY, i BIGINT, r DOUBLE "
                   "PRECISION, b BYTEA, flag BOOLEAN)")
              .ok());
  const std::string thai = "กลุ่มแม่บ้านพร้าว ผ้าทอ";
  const std::string bytes("\0\x01\xff\\x00'\"", 8);
  Statement ins(*db, "INSERT INTO t (id, i, r, b, flag) VALUES (?1, ?2, ?3, ?4, ?5)");
  REQUIRE(ins.status().ok());
  ins.Bind(1, std::string_view(thai))
      .Bind(2, std::numeric_limits<int64_t>::min())
      .Bind(3, 0.1)
      .BindBlob(4, bytes)
      .Bind(5, int64_t{1});
  REQUIRE(ins.Run().ok());
  CHECK(db->Changes() == 1);
  REQUIRE(ins.Reset().ok());
  ins.Bind(1, std::string_view("max")).Bind(2, std::numeric_limits<int64_t>::max());
  REQUIRE(ins.Run().ok());  // r, b and flag unbound: NULL

  Statement get(*db, "SELECT id, i, r, b, flag, i IS NULL FROM t ORDER BY i");
  REQUIRE(get.Step());
  CHECK(get.ColumnText(0) == thai);
  CHECK(get.ColumnInt(1) == std::numeric_limits<int64_t>::min());
  CHECK(get.ColumnDouble(2) == 0.1);
  CHECK(get.ColumnBlob(3) == bytes);
  CHECK(get.ColumnValue(3).text() == bytes);
  CHECK(get.ColumnInt(4) == 1);
  CHECK(get.ColumnValue(4).integer() == 1);
  CHECK(get.ColumnInt(5) == 0);
  REQUIRE(get.Step());
  CHECK(get.ColumnText(0) == "max");
  CHECK(get.ColumnInt(1) == std::numeric_limits<int64_t>::max());
  CHECK(get.IsNull(2));
  CHECK(get.IsNull(3));
  CHECK(get.ColumnValue(3).is_null());
  CHECK_FALSE(get.Step());
  CHECK(get.status().ok());
}

// As on SQLite (tests/shared/db_test.cc): a statement bound again after
// it ran runs again, its other parameters kept (the second Run of a loop
// ran nothing and said nothing: its write was lost); inside a transaction,
// deferred, too; part-way through its rows, refused.
TEST_CASE("PostgreSQL Db: a statement bound again after it ran runs again", "[pg]") {
  const test::PgSchema schema;
  auto db = Connect(schema.url());
  REQUIRE(db->Exec("CREATE TABLE t (k TEXT, v BIGINT);"
                   "INSERT INTO t VALUES ('a', 0), ('b', 0), ('c', 0)").ok());
  Statement& set = db->Cached("UPDATE t SET v = ?2 WHERE k = ?1");
  set.Bind(2, int64_t{7});
  for (const char* k : {"a", "b"}) {
    set.Bind(1, std::string_view(k));
    REQUIRE(set.Run().ok());
  }
  {
    Transaction txn(*db);
    REQUIRE(txn.status().ok());
    Statement& later = db->Cached("UPDATE t SET v = ?2 WHERE k = ?1");
    later.Bind(2, int64_t{9});
    for (const char* k : {"b", "c"}) {
      later.Bind(1, std::string_view(k));
      REQUIRE(later.RunDeferred().ok());
    }
    REQUIRE(txn.Commit().ok());
  }
  Statement read(*db, "SELECT k || v FROM t WHERE v >= ?1 ORDER BY k");
  read.Bind(1, int64_t{0});
  std::string all;
  while (read.Step()) all += read.ColumnText(0);
  CHECK(all == "a7b9c9");
  read.Bind(1, int64_t{8});
  std::string high;
  while (read.Step()) high += read.ColumnText(0);
  CHECK(high == "b9c9");
  REQUIRE(read.Reset().ok());
  read.Bind(1, int64_t{0});
  REQUIRE(read.Step());
  read.Bind(1, int64_t{8});
  CHECK_FALSE(read.status().ok());
}

TEST_CASE("PostgreSQL Db: ?N parameters, question marks in quotes stay", "[pg]") {
  const test::PgSchema schema;
  auto db = Connect(schema.url());
  Statement st(*db, "SELECT ?2::bigint - ?1::bigint, '?1 stays', ?1::bigint -- ?9\n");
  REQUIRE(st.status().ok());
  st.Bind(1, int64_t{5}).Bind(2, int64_t{12});
  REQUIRE(st.Step());
  CHECK(st.ColumnInt(0) == 7);
  CHECK(st.ColumnText(1) == "?1 stays");
  CHECK(st.ColumnInt(2) == 5);
  // Sums of bigint are numeric in PostgreSQL: still integers here.
  REQUIRE(db->Exec("CREATE TABLE n (v BIGINT)").ok());
  REQUIRE(db->Exec("INSERT INTO n VALUES (1), (2), (3)").ok());
  Statement sum(*db, "SELECT SUM(v), AVG(v) FROM n");
  REQUIRE(sum.Step());
  CHECK(sum.ColumnValue(0).type() == Value::Type::kInteger);
  CHECK(sum.ColumnInt(0) == 6);
  CHECK(sum.ColumnValue(1).type() == Value::Type::kReal);
  // A bind past the statement's parameters is an error, not a crash.
  Statement few(*db, "SELECT ?1::bigint");
  few.Bind(2, int64_t{1});
  CHECK_FALSE(few.status().ok());
  CHECK_FALSE(few.Step());
}

TEST_CASE("PostgreSQL Db: errors, duplicate keys and many statements", "[pg]") {
  const test::PgSchema schema;
  auto db = Connect(schema.url());
  Statement bad(*db, "SELEC nonsense");
  CHECK_FALSE(bad.status().ok());
  CHECK_FALSE(bad.Step());
  REQUIRE(db->Exec("CREATE TABLE k (id TEXT PRIMARY KEY)").ok());
  // More statements than one deallocation batch: prepared and dropped.
  for (int i = 0; i < 300; ++i) {
    Statement ins(*db, "INSERT INTO k (id) VALUES (?1)");
    ins.Bind(1, std::string_view(std::to_string(i)));
    REQUIRE(ins.Run().ok());
  }
  Statement dup(*db, "INSERT INTO k (id) VALUES (?1)");
  dup.Bind(1, std::string_view("7"));
  CHECK_FALSE(dup.Run().ok());
  CHECK(dup.duplicate_key());
  // The same statement, reset, works again.
  REQUIRE(dup.Reset().ok());
  dup.Bind(1, std::string_view("new"));
  CHECK(dup.Run().ok());
  Statement& cached = db->Cached("SELECT count(*) FROM k");
  REQUIRE(cached.Step());
  CHECK(cached.ColumnInt(0) == 301);
  CHECK(&db->Cached("SELECT count(*) FROM k") == &cached);
}

TEST_CASE("PostgreSQL Db: transactions commit, roll back and take turns", "[pg]") {
  const test::PgSchema schema;
  auto a = Connect(schema.url());
  auto b = Connect(schema.url());
  REQUIRE(a->Exec("CREATE TABLE log (n BIGINT)").ok());
  {
    Transaction t(*a);
    REQUIRE(t.status().ok());
    REQUIRE(a->Exec("INSERT INTO log VALUES (1)").ok());
  }  // rolled back
  Statement count(*b, "SELECT count(*) FROM log");
  REQUIRE(count.Step());
  CHECK(count.ColumnInt(0) == 0);

  // A second writer waits for the first, then sees its row.
  std::atomic<bool> b_began{false};
  int64_t b_saw = -1;
  auto t1 = std::make_unique<Transaction>(*a);
  REQUIRE(t1->status().ok());
  std::thread other([&] {
    Transaction t2(*b);
    b_began = true;
    Statement st(*b, "SELECT count(*) FROM log");
    if (st.Step()) b_saw = st.ColumnInt(0);
    (void)b->Exec("INSERT INTO log VALUES (2)");
    (void)t2.Commit();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(b_began.load());
  REQUIRE(a->Exec("INSERT INTO log VALUES (1)").ok());
  REQUIRE(t1->Commit().ok());
  other.join();
  CHECK(b_saw == 1);
  Statement again(*a, "SELECT count(*) FROM log");
  REQUIRE(again.Step());
  CHECK(again.ColumnInt(0) == 2);
}

TEST_CASE("PostgreSQL Db: schema version and a connection that fails", "[pg]") {
  const test::PgSchema schema;
  auto db = Connect(schema.url());
  Result<int> v = db->SchemaVersion();
  REQUIRE(v.ok());
  CHECK(*v == 0);  // no schema_version table yet
  REQUIRE(db->Exec("CREATE TABLE schema_version (singleton BIGINT PRIMARY KEY, "
                   "version BIGINT NOT NULL); INSERT INTO schema_version VALUES (1, 0)")
              .ok());
  REQUIRE(db->SetSchemaVersion(7).ok());
  REQUIRE(db->SetSchemaVersion(8).ok());
  v = db->SchemaVersion();
  REQUIRE(v.ok());
  CHECK(*v == 8);

  Result<std::unique_ptr<Db>> refused =
      OpenPostgres("postgresql://kbo:secret@127.0.0.1:1/kbo?connect_timeout=2");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Code::kUnavailable);
  CHECK(refused.status().message().find("secret") == std::string::npos);
  CHECK(RedactUrl("postgresql://kbo:secret@h/db") == "postgresql://kbo:***@h/db");
  CHECK(RedactUrl("postgresql://kbo@h/db") == "postgresql://kbo@h/db");
  CHECK(RedactUrl("postgresql://h/db?x=a:b@c") == "postgresql://h/db?x=a:b@c");
  // A password given as a parameter too (it was shown as typed).
  CHECK(RedactUrl("postgresql://pwuser@h/db?password=Secr3t-pw") ==
        "postgresql://pwuser@h/db?password=***");
  CHECK(RedactUrl("postgresql://h/db?sslmode=require&password=x&application_name=kbo") ==
        "postgresql://h/db?sslmode=require&password=***&application_name=kbo");
  CHECK(RedactUrl("postgresql://kbo:a@h/db?password=b") == "postgresql://kbo:***@h/db?password=***");
  CHECK_FALSE(OpenPostgres("/tmp/server.db").ok());
}


TEST_CASE("PostgreSQL Db: a dropped connection is opened again for the next statement",
          "[pg]") {
  const test::PgSchema schema;
  auto db = Connect(schema.url());
  auto admin = Connect(schema.url());
  REQUIRE(db->Exec("CREATE TABLE r (n BIGINT)").ok());
  Statement& cached = db->Cached("SELECT count(*) FROM r");
  REQUIRE(cached.Step());
  // PostgreSQL restarts or ends the backend while the connection is idle:
  // the backend is gone, its socket closed. The next statement finds that
  // before it is sent and opens the connection again: nothing fails (the
  // first request after a PostgreSQL restart failed with 503).
  test::DropConnection(*db, *admin);
  {
    Statement first(*db, "SELECT 1");
    INFO(first.status().message());
    REQUIRE(first.status().ok());
    REQUIRE(first.Step());
    CHECK(first.ColumnInt(0) == 1);
  }
  test::DropConnection(*db, *admin);
  REQUIRE(db->Exec("INSERT INTO r VALUES (1)").ok());
  Statement& again = db->Cached("SELECT count(*) FROM r");
  CHECK(&again == &cached);
  REQUIRE(again.Step());
  CHECK(again.ColumnInt(0) == 1);
  Transaction t(*db);
  REQUIRE(t.status().ok());
  REQUIRE(db->Exec("INSERT INTO r VALUES (2)").ok());
  REQUIRE(t.Commit().ok());
}

TEST_CASE("PostgreSQL Db: a cached statement whose first prepare met a dropped "
          "connection is prepared again once the connection is back",
          "[pg]") {
  const test::PgSchema schema;
  auto db = Connect(schema.url());
  auto admin = Connect(schema.url());
  REQUIRE(db->Exec("CREATE TABLE r (n BIGINT)").ok());
  REQUIRE(db->Exec("INSERT INTO r VALUES (1)").ok());
  // Lost inside a transaction (nothing is opened again there: the
  // transaction is gone with it), the statement's first use is on the lost
  // connection: its prepare fails (as the console's session lookup did
  // after PostgreSQL restarted).
  Statement* lost = nullptr;
  {
    Transaction txn(*db);
    REQUIRE(txn.status().ok());
    test::DropConnection(*db, *admin);
    Statement& first = db->Cached("SELECT count(*) FROM r WHERE n >= 0");
    CHECK_FALSE(first.Step());
    CHECK_FALSE(first.status().ok());
    lost = &first;
  }
  Statement& first = *lost;
  // Asked for again: prepared on the new connection (it kept its error for
  // good, and every sign-in failed until the process restarted).
  for (int i = 0; i < 2; ++i) {
    Statement& again = db->Cached("SELECT count(*) FROM r WHERE n >= 0");
    CHECK(&again == &first);
    INFO(again.status().ToString());
    REQUIRE(again.Step());
    CHECK(again.ColumnInt(0) == 1);
  }
}

int64_t CountOf(Db& db, const std::string& sql) {
  Statement st(db, sql);
  REQUIRE(st.Step());
  return st.ColumnInt(0);
}

TEST_CASE("PostgreSQL Db: deferred writes go without waiting and are read back in order",
          "[pg][deferred]") {
  const test::PgSchema schema;
  auto db = Connect(schema.url());
  REQUIRE(db->Exec("CREATE TABLE d (id TEXT PRIMARY KEY, n BIGINT CHECK (n >= 0))").ok());
  {
    Transaction t(*db);
    REQUIRE(t.status().ok());
    // More than one batch of deferred writes (256), then a read that must
    // see them all, then more of them answered by the commit.
    for (int i = 0; i < 600; ++i) {
      Statement& ins = db->Cached("INSERT INTO d (id, n) VALUES (?1, ?2)");
      ins.Bind(1, std::string_view("a" + std::to_string(i))).Bind(2, int64_t{i});
      REQUIRE(ins.RunDeferred().ok());
      if (i == 400) CHECK(CountOf(*db, "SELECT count(*) FROM d") == 401);
    }
    // A statement prepared for the first time among deferred writes.
    Statement up(*db, "UPDATE d SET n = n + 1000 WHERE id = ?1");
    REQUIRE(up.status().ok());
    up.Bind(1, std::string_view("a0"));
    REQUIRE(up.RunDeferred().ok());
    REQUIRE(t.Commit().ok());
  }
  CHECK(CountOf(*db, "SELECT count(*) FROM d") == 600);
  CHECK(CountOf(*db, "SELECT n FROM d WHERE id = 'a0'") == 1000);
  // Outside a transaction a deferred write runs at once, error and all.
  Statement dup(*db, "INSERT INTO d (id, n) VALUES (?1, 1)");
  dup.Bind(1, std::string_view("a1"));
  CHECK_FALSE(dup.RunDeferred().ok());
}

// Helper's kill storm: a connection ended while a transaction's deferred
// writes were in flight left the server answering 503 to every request
// until it was restarted (the lost pipeline's error outlived the
// transaction and failed each reconnection's session set-up).
TEST_CASE("PostgreSQL Db: a connection lost among deferred writes is opened again for "
          "the next transaction",
          "[pg][deferred]") {
  const test::PgSchema schema;
  auto db = Connect(schema.url());
  auto admin = Connect(schema.url());
  REQUIRE(db->Exec("CREATE TABLE d (id TEXT PRIMARY KEY, n BIGINT)").ok());
  auto defer = [&db](const std::string& id) {
    Statement& ins = db->Cached("INSERT INTO d (id, n) VALUES (?1, 1)");
    ins.Bind(1, std::string_view(id));
    return ins.RunDeferred();
  };
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    {
      Transaction t(*db);
      REQUIRE(t.status().ok());
      REQUIRE(defer("r" + std::to_string(round) + "a").ok());
      test::DropConnection(*db, *admin);
      // Sent into the lost connection; whichever step notices, the
      // transaction fails.
      (void)defer("r" + std::to_string(round) + "b");
      if (round == 1) {
        CHECK_FALSE(t.Commit().ok());
      }
      // round 0 and 2: rolled back by the destructor.
    }
    // The next transaction works, on a new connection.
    Transaction t(*db);
    INFO(t.status().message());
    REQUIRE(t.status().ok());
    REQUIRE(defer("ok" + std::to_string(round)).ok());
    REQUIRE(t.Commit().ok());
    CHECK(CountOf(*db, "SELECT count(*) FROM d") == round + 1);
  }
  // Ended while the server works on them (its answers in flight): the read
  // that waits for them fails, and so does the transaction; the next works.
  Statement pid(*db, "SELECT pg_backend_pid()");
  REQUIRE(pid.Step());
  const int64_t backend = pid.ColumnInt(0);
  {
    Transaction t(*db);
    REQUIRE(t.status().ok());
    Statement& slow = db->Cached("INSERT INTO d (id, n) SELECT ?1, 1 FROM pg_sleep(1)");
    slow.Bind(1, std::string_view("slow"));
    REQUIRE(slow.RunDeferred().ok());
    std::thread killer([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      Statement kill(*admin, "SELECT pg_terminate_backend(?1::int)");
      kill.Bind(1, backend);
      (void)kill.Step();
    });
    Statement read(*db, "SELECT count(*) FROM d");
    CHECK_FALSE(read.Step());
    killer.join();
  }
  for (int i = 0; i < 2; ++i) {
    Transaction t(*db);
    INFO(t.status().message());
    REQUIRE(t.status().ok());
    REQUIRE(defer("after" + std::to_string(i)).ok());
    REQUIRE(t.Commit().ok());
  }
  CHECK(CountOf(*db, "SELECT count(*) FROM d") == 5);
  // The state the kill storm left: a deferred write's error outliving its
  // transaction, then the connection lost. Both the next statement and
  // the reconnection's session set-up ran into it, for good.
  for (const bool drop : {false, true}) {
    INFO("connection dropped too: " << drop);
    LeaveDeferredErrorForTests(
        *db, Status::Unavailable("pipeline sync: server closed the connection unexpectedly"));
    if (drop) test::DropConnection(*db, *admin);
    Transaction t(*db);
    INFO(t.status().message());
    REQUIRE(t.status().ok());
    REQUIRE(defer(drop ? "dropped" : "stale").ok());
    REQUIRE(t.Commit().ok());
  }
  CHECK(CountOf(*db, "SELECT count(*) FROM d") == 7);
}

TEST_CASE("PostgreSQL Db: a deferred write that fails fails what follows and the commit",
          "[pg][deferred]") {
  const test::PgSchema schema;
  auto db = Connect(schema.url());
  REQUIRE(db->Exec("CREATE TABLE d (id TEXT PRIMARY KEY, n BIGINT CHECK (n >= 0))").ok());
  REQUIRE(db->Exec("INSERT INTO d VALUES ('kept', 1)").ok());
  auto defer = [&db](const std::string& id, int64_t n) {
    Statement& ins = db->Cached("INSERT INTO d (id, n) VALUES (?1, ?2)");
    ins.Bind(1, std::string_view(id)).Bind(2, n);
    return ins.RunDeferred();
  };
  SECTION("the next read reports it, naming the write; so do Exec and Commit") {
    Transaction t(*db);
    REQUIRE(t.status().ok());
    REQUIRE(defer("good", 1).ok());
    REQUIRE(defer("bad-row", -1).ok());  // sent: its answer comes later
    REQUIRE(defer("after", 2).ok());
    Statement read(*db, "SELECT count(*) FROM d");
    CHECK_FALSE(read.Step());
    const std::string message = read.status().message();
    INFO(message);
    CHECK(message.find("deferred write") != std::string::npos);
    CHECK(message.find("INSERT INTO d") != std::string::npos);
    CHECK(message.find("bad-row") != std::string::npos);
    CHECK(message.find("d_n_check") != std::string::npos);
    CHECK_FALSE(defer("later", 3).ok());
    CHECK_FALSE(db->Exec("SELECT 1").ok());
    const Status committed = t.Commit();
    CHECK_FALSE(committed.ok());
    CHECK(committed.message().find("bad-row") != std::string::npos);
  }
  SECTION("the commit alone reports it") {
    Transaction t(*db);
    REQUIRE(t.status().ok());
    REQUIRE(defer("good", 1).ok());
    REQUIRE(defer("kept", 5).ok());  // a duplicate key
    const Status committed = t.Commit();
    CHECK_FALSE(committed.ok());
    CHECK(committed.message().find("kept") != std::string::npos);
    CHECK(committed.message().find("duplicate key") != std::string::npos);
  }
  SECTION("a rollback drops what was sent") {
    Transaction t(*db);
    REQUIRE(t.status().ok());
    REQUIRE(defer("good", 1).ok());
    REQUIRE(defer("bad", -1).ok());
  }
  // Nothing of the transaction stayed; the connection works on.
  CHECK(CountOf(*db, "SELECT count(*) FROM d") == 1);
  Transaction next(*db);
  REQUIRE(next.status().ok());
  REQUIRE(defer("next", 1).ok());
  REQUIRE(next.Commit().ok());
  CHECK(CountOf(*db, "SELECT count(*) FROM d") == 2);
}

}  // namespace
}  // namespace kbo::server
