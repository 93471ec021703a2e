// A server whose PostgreSQL connection is lost and opened again (a restart,
// a failover to a standby that was behind, a backup restored into the
// database while servers ran): ServerStore::CheckAfterReconnect, against
// the real PostgreSQL 15 that tools/pg-test-cluster starts.
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "server/log.h"
#include "server/server_store.h"
#include "server/storage/devices.h"
#include "server/storage/pg_db.h"
#include "shared/sqlite/db.h"
#include "shared/uuid.h"
#include "shared/wall_clock.h"
#include "tests/pg/pg_test_util.h"
#include "tests/support/temp_dir.h"

namespace kbo::server {
namespace {

constexpr int64_t kT0 = 1'760'000'000'000;

using test::Connect;

std::unique_ptr<ServerStore> OpenStore(const std::string& dir, WallClock* wall,
                                       const std::string& url) {
  Result<std::unique_ptr<ServerStore>> store = ServerStore::Open(dir, wall, url);
  INFO(store.status().message());
  REQUIRE(store.ok());
  return std::move(store).value();
}


void HandOut(ServerStore& store, uint64_t n) {
  Transaction txn(store.db());
  REQUIRE(txn.status().ok());
  REQUIRE(store.TakeSeqs(n).ok());
  REQUIRE(txn.Commit().ok());
  store.NoteCommittedSequences();
}

// LastSeq once the lost connection is noticed: the statement that finds it
// lost fails (its request is answered 503); the next opens it again.
Result<uint64_t> LastSeqAfterLoss(ServerStore& store) {
  Result<uint64_t> last = store.LastSeq();
  if (!last.ok()) last = store.LastSeq();
  return last;
}

storage::NewDevice Device(const Uuid& id, const std::string& key) {
  storage::NewDevice d;
  d.device_id = id.ToString();
  d.public_key_hex = key;
  d.role = "trainer";
  d.districts = "5007";
  d.enrolled_at = "2026-12-01T00:00:00Z";
  return d;
}

TEST_CASE("ServerStore on PostgreSQL: a database restored under a running server is "
          "caught when its connection comes back",
          "[pg]") {
  SetLogEnabled(false);
  const test::PgSchema schema;
  kbo::testing::TempDir tmp;
  ManualWallClock wall(kT0);
  auto admin = Connect(schema.url());
  auto store = OpenStore(tmp.File("data"), &wall, schema.url());
  HandOut(*store, 10);  // 1..10 handed out; devices may have pulled them
  REQUIRE(store->LastSeq().ok());
  CHECK(*store->LastSeq() == 10);

  SECTION("sequences jump past everything handed out before the restore") {
    // The backup was taken when 3 had been handed out.
    REQUIRE(admin->Exec("UPDATE server_state SET next_seq = 4").ok());
    test::DropConnection(store->db(), *admin);
    Result<uint64_t> last = LastSeqAfterLoss(*store);
    INFO(last.status().message());
    REQUIRE(last.ok());
    CHECK(*last == 10 + ServerStore::kRestoreGap);
    // Once: the next reconnection finds nothing to do.
    test::DropConnection(store->db(), *admin);
    last = LastSeqAfterLoss(*store);
    REQUIRE(last.ok());
    CHECK(*last == 10 + ServerStore::kRestoreGap);
  }

  SECTION("a device revoked after the backup is revoked again, and the statement that "
          "found the connection lost reads what it asked for") {
    const Uuid revoked = Uuid::Random();
    const Uuid other = Uuid::Random();
    {
      Transaction txn(store->db());
      REQUIRE(txn.status().ok());
      storage::Devices devices(store->db());
      REQUIRE(devices.Insert(Device(revoked, std::string(64, 'a'))).ok());
      REQUIRE(devices.Insert(Device(other, std::string(64, 'b'))).ok());
      REQUIRE(devices.RevokeIfActive(revoked.ToString(), "2026-12-02T00:00:00Z").ok());
      REQUIRE(txn.Commit().ok());
    }
    REQUIRE(store->NoteRevocation(revoked.ToString(), "2026-12-02T00:00:00Z").ok());
    // The backup is from before the revocation.
    REQUIRE(admin->Exec("UPDATE device SET revoked_at = NULL").ok());
    // The other device's own lookup is the statement that finds the
    // connection lost; the check that runs inside it looks the revoked
    // device up with the same cached statement.
    storage::Devices devices(store->db());
    Result<std::optional<storage::DeviceRow>> found = devices.Find(other.ToString());
    REQUIRE(found.ok());  // no loss yet: the connection is alive
    test::DropConnection(store->db(), *admin);
    {
      // The loss is found by a statement of its own...
      Statement probe(store->db(), "SELECT 1");
      if (probe.status().ok()) (void)probe.Step();
    }
    // ...and the connection is opened again inside this lookup.
    found = devices.Find(other.ToString());
    INFO(found.status().message());
    REQUIRE(found.ok());
    REQUIRE(found->has_value());
    CHECK((*found)->public_key_hex == std::string(64, 'b'));
    CHECK((*found)->revoked_at.empty());
    Result<std::optional<storage::DeviceRow>> back = devices.Find(revoked.ToString());
    REQUIRE(back.ok());
    REQUIRE(back->has_value());
    CHECK((*back)->revoked_at == "2026-12-02T00:00:00Z");
  }

  SECTION("another province's database behind the same URL is refused until it is "
          "this server's again") {
    Statement id(*admin, "SELECT server_id FROM server_state");
    REQUIRE(id.Step());
    const std::string mine = id.ColumnText(0);
    Statement other(*admin, "UPDATE server_state SET server_id = ?1");
    other.Bind(1, Uuid::Random().ToString());
    REQUIRE(other.Run().ok());
    test::DropConnection(store->db(), *admin);
    for (int i = 0; i < 3; ++i) {
      Result<uint64_t> last = store->LastSeq();
      REQUIRE_FALSE(last.ok());
      if (i > 0) {
        CHECK(last.status().code() == Code::kUnavailable);
        CHECK(last.status().reason() == "wrong_database");
        CHECK(last.status().message().find("not this server's") != std::string::npos);
      }
    }
    Statement back(*admin, "UPDATE server_state SET server_id = ?1");
    back.Bind(1, mine);
    REQUIRE(back.Run().ok());
    Result<uint64_t> last = store->LastSeq();
    INFO(last.status().message());
    REQUIRE(last.ok());
    CHECK(*last == 10);
  }
}

TEST_CASE("ServerStore: a database rewound while the server kept its connection jumps "
          "its sequences at the next write",
          "[pg]") {
  SetLogEnabled(false);
  const test::PgSchema schema;
  kbo::testing::TempDir tmp;
  ManualWallClock wall(kT0);
  auto admin = Connect(schema.url());
  auto store = OpenStore(tmp.File("data"), &wall, schema.url());
  HandOut(*store, 10);
  REQUIRE(admin->Exec("UPDATE server_state SET next_seq = 4").ok());
  Transaction txn(store->db());
  REQUIRE(txn.status().ok());
  Result<uint64_t> first = store->TakeSeqs(2);
  REQUIRE(first.ok());
  CHECK(*first == 11 + ServerStore::kRestoreGap);
  REQUIRE(txn.Commit().ok());
}

TEST_CASE("PostgreSQL Db: a writer stopped in the middle of a request with the lock is "
          "ended, and the next writer goes on",
          "[pg]") {
  const test::PgSchema schema;
  auto stopped = Connect(schema.url());
  auto next = Connect(schema.url());
  REQUIRE(stopped->Exec("CREATE TABLE w (n BIGINT)").ok());
  // A push under way: the lock taken, a write sent in a pipeline with no
  // end, and the process stopped there (kill -STOP). Its backend is
  // "active", so idle_in_transaction_session_timeout never ends it.
  REQUIRE(stopped->BeginWrite().ok());
  Statement ins(*stopped, "INSERT INTO w VALUES (?1)");
  ins.Bind(1, int64_t{1});
  REQUIRE(ins.RunDeferred().ok());
  // (Slices of 0.3 s and 1 s on its client here; 15 s and 60 s in service.)
  SetWriterWatchForTests(*next, 300, 1);
  next->SetWriteWait(10000);
  const auto start = std::chrono::steady_clock::now();
  const Status got = next->BeginWrite();
  const auto waited = std::chrono::steady_clock::now() - start;
  INFO(got.message());
  REQUIRE(got.ok());
  CHECK(waited < std::chrono::seconds(6));
  CHECK(HungWritersEnded(*next) == 1);
  // Nothing of the stopped one's transaction was kept.
  Statement count(*next, "SELECT count(*) FROM w");
  REQUIRE(count.Step());
  CHECK(count.ColumnInt(0) == 0);
  REQUIRE(next->Commit().ok());
}

TEST_CASE("PostgreSQL Db: no wait is unbounded", "[pg]") {
  const test::PgSchema schema;
  auto db = Connect(schema.url());
  CHECK(PgConnectionOption(*db, "connect_timeout") ==
        std::to_string(kConnectTimeoutSeconds));
  CHECK(PgConnectionOption(*db, "keepalives_idle") == "30");
  CHECK(PgConnectionOption(*db, "tcp_user_timeout") == "60000");
  Statement idle(*db, "SHOW idle_in_transaction_session_timeout");
  REQUIRE(idle.Step());
  CHECK(idle.ColumnText(0) == "1min");
  // The URL's own settings win.
  auto own = Connect(schema.url() + "&connect_timeout=3");
  CHECK(PgConnectionOption(*own, "connect_timeout") == "3");
}

// Helper's test: an operator's LOCK TABLE in psql held a push's statement,
// and with it that server's store (its console hung, its connections
// filled), for as long as the psql session lasted.
TEST_CASE("PostgreSQL Db: a write holding the writer lock, and a read, wait a bounded "
          "time for a lock held outside the servers, and are said busy",
          "[pg]") {
  const test::PgSchema schema;
  auto db = Connect(schema.url());
  auto admin = Connect(schema.url());
  REQUIRE(db->Exec("CREATE TABLE w (n BIGINT)").ok());
  REQUIRE(admin->Exec("BEGIN; LOCK TABLE w IN ACCESS EXCLUSIVE MODE").ok());
  SetLockWaitForTests(*db, 500);
  {
    Transaction t(*db);
    REQUIRE(t.status().ok());
    const auto start = std::chrono::steady_clock::now();
    const Status s = db->Exec("INSERT INTO w VALUES (1)");
    const auto waited = std::chrono::steady_clock::now() - start;
    INFO(s.ToString());
    CHECK_FALSE(s.ok());
    CHECK(s.code() == Code::kUnavailable);
    CHECK(s.reason() == kBusyReason);
    CHECK(waited < std::chrono::seconds(5));
  }
  {
    // A read (a console page) too: it held its server's store for as long.
    const auto start = std::chrono::steady_clock::now();
    Statement read(*db, "SELECT count(*) FROM w");
    const bool stepped = read.status().ok() && read.Step();
    const auto waited = std::chrono::steady_clock::now() - start;
    INFO(read.status().ToString());
    CHECK_FALSE(stepped);
    CHECK(read.status().reason() == kBusyReason);
    CHECK(waited < std::chrono::seconds(5));
  }
  REQUIRE(admin->Exec("ROLLBACK").ok());
  // Released: the next read and write go through.
  {
    Statement read(*db, "SELECT count(*) FROM w");
    REQUIRE(read.Step());
  }
  Transaction t(*db);
  REQUIRE(t.status().ok());
  REQUIRE(db->Exec("INSERT INTO w VALUES (2)").ok());
  REQUIRE(t.Commit().ok());
}

TEST_CASE("PostgreSQL Db: pg_stat_activity names the server's connections kbo-server "
          "unless the URL names them",
          "[pg]") {
  const test::PgSchema schema;
  auto db = Connect(schema.url());
  Statement name(*db, "SHOW application_name");
  REQUIRE(name.Step());
  CHECK(name.ColumnText(0) == "kbo-server");
  auto own = Connect(schema.url() + "&application_name=kbo-phrao");
  Statement named(*own, "SHOW application_name");
  REQUIRE(named.Step());
  CHECK(named.ColumnText(0) == "kbo-phrao");
}

}  // namespace
}  // namespace kbo::server
