// Moving a province from SQLite to PostgreSQL with one command
// (`kbo-server --data DIR copy-to-postgres URL`, server/storage/
// copy_to_postgres.h): everything comes across, counts checked, and a
// device can't tell (the same server id, sequences, pull pages, signatures).
#include <filesystem>
#include <memory>
#include <string>

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>

#include "server/conflicts.h"
#include "server/pull_service.h"
#include "server/push_service.h"
#include "server/storage/copy_to_postgres.h"
#include "shared/replica/apply.h"
#include "tests/pg/pg_test_util.h"
#include "tests/server/server_fixture.h"
#include "tests/support/server_process.h"

namespace kbo::server::testing {
namespace {

// A Phrao province on SQLite: two devices, rows, a conflict, a refused row.
struct Province {
  ServerFixture f;
  TestDevice trainer;
  TestDevice officer;
  Uuid producer = Uuid::Random();

  Province() {
    f.Enroll(trainer, kPhrao);
    f.Enroll(officer, kPhrao, "field_officer");
    PushService push(*f.store);
    REQUIRE(push.Push(f.Record(trainer.id),
                      trainer.SealNext({Producer(producer, trainer.HlcAt(kT0), kPhrao,
                                                 "กลุ่มจักสานบ้านโหล่งขอด")}))
                .ok());
    REQUIRE(push.Push(f.Record(officer.id),
                      officer.SealNext({Producer(Uuid::Random(), officer.HlcAt(kT0 + 1),
                                                 kPhrao, "วิสาหกิจชุมชนผ้าทอ")}))
                .ok());
    // Both edit the same name from the same base: a conflict.
    REQUIRE(push.Push(f.Record(trainer.id),
                      trainer.SealNext({Row("producer", producer, trainer.HlcAt(kT0 + 10),
                                            {{"name", T("ชื่อของครู"), 1}})}))
                .ok());
    REQUIRE(push.Push(f.Record(officer.id),
                      officer.SealNext({Row("producer", producer, officer.HlcAt(kT0 + 20),
                                            {{"name", T("ชื่อของเจ้าหน้าที่"), 1}})}))
                .ok());
    REQUIRE(f.Count("SELECT COUNT(*) FROM conflict") == 1);
  }
};

std::string PullBody(ServerStore& store, const TestDevice& device) {
  auto record = LoadDevice(store.db(), device.id);
  REQUIRE(record.ok());
  REQUIRE(record->has_value());
  PullService pull(store);
  auto page = pull.Pull(**record, 0, 0);
  INFO(page.status().message());
  REQUIRE(page.ok());
  return page->body + "|" + std::to_string(page->next_cursor) + "|" + page->signature_hex;
}

// The data folder's sequence high-water file, as it stands.
std::string HighWater(const std::string& dir) {
  std::ifstream in(dir + "/sequence-high-water", std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_CASE("copy-to-postgres: a province moves with every row, counts checked, "
          "and its devices can't tell",
          "[pg][copy]") {
  Province p;
  const kbo::test::PgSchema schema;
  const std::string dir = p.f.tmp.File("data");
  const std::string sqlite_state = [&] {
    auto s = DumpReplicaState(p.f.store->db());
    REQUIRE(s.ok());
    return *s;
  }();
  const std::string sqlite_pull = PullBody(*p.f.store, p.trainer);
  const Uuid sqlite_id = p.f.store->server_id();
  const uint64_t sqlite_last = p.f.store->LastSeq().value();
  p.f.store.reset();  // the server stops

  kbo::testing::CliResult r =
      kbo::testing::RunServerCli({"--data", dir, "copy-to-postgres", schema.url()});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("device: 2 rows") != std::string::npos);
  CHECK(r.out.find("conflict: 1 rows") != std::string::npos);
  CHECK(r.out.find("every table's count matches") != std::string::npos);

  auto opened = ServerStore::Open(dir, &p.f.wall, schema.url());
  INFO(opened.status().message());
  REQUIRE(opened.ok());
  ServerStore& pg = **opened;
  CHECK(pg.db().dialect() == SqlDialect::kPostgres);
  CHECK(pg.server_id() == sqlite_id);
  CHECK(pg.LastSeq().value() == sqlite_last);
  auto pg_state = DumpReplicaState(pg.db());
  REQUIRE(pg_state.ok());
  CHECK(*pg_state == sqlite_state);
  // The same page, byte for byte, with the same signature.
  CHECK(PullBody(pg, p.trainer) == sqlite_pull);

  // The devices go on where they were: the next set of the chain is
  // accepted, a replay of an old one is not.
  PushService push(pg);
  auto record = LoadDevice(pg.db(), p.trainer.id);
  REQUIRE(record.ok());
  auto next = push.Push(**record,
                        p.trainer.SealNext({Producer(Uuid::Random(), p.trainer.HlcAt(kT0 + 99),
                                                     kPhrao, "หลังย้าย")}));
  INFO(next.status().message());
  CHECK(next.ok());
  CHECK(pg.LastSeq().value() > sqlite_last);

  // The province moved: a command without --db says so and touches
  // nothing (it used server.db, whose guards moved both databases'
  // sequences; a token made there was unknown to the servers). A second
  // copy is refused the same way.
  const std::string high_water = HighWater(dir);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--data", dir, "copy-to-postgres", schema.url()},
        std::vector<std::string>{"--data", dir, "device", "list"},
        std::vector<std::string>{"--data", dir, "token", "create", "--role", "trainer",
                                 "--districts", "5011"}}) {
    kbo::testing::CliResult moved = kbo::testing::RunServerCli(args);
    INFO(args[2] << ": " << moved.err);
    CHECK(moved.exit_code == 1);
    CHECK(moved.err.find("this province moved to PostgreSQL") != std::string::npos);
    CHECK(moved.out.empty());
  }
  CHECK(HighWater(dir) == high_water);
  Statement count(pg.db(), "SELECT COUNT(*) FROM producer");
  REQUIRE(count.Step());
  CHECK(count.ColumnInt(0) == 3);
  // With --db it goes on.
  CHECK(kbo::testing::RunServerCli({"--data", dir, "--db", schema.url(), "device", "list"})
            .exit_code == 0);

  // Another province's folder with this database (a mistyped --data): refused
  // before anything is written to either (it served this database with its
  // own key, and jumped its sequences).
  const std::string other = p.f.tmp.File("other");
  REQUIRE(kbo::testing::RunServerCli({"--data", other, "token", "create", "--role", "trainer",
                                      "--districts", "5011"})
              .exit_code == 0);
  const uint64_t before = pg.LastSeq().value();
  kbo::testing::CliResult mixed =
      kbo::testing::RunServerCli({"--data", other, "--db", schema.url(), "device", "list"});
  CHECK(mixed.exit_code == 1);
  CHECK(mixed.err.find("name two provinces") != std::string::npos);
  CHECK(pg.LastSeq().value() == before);
  // This province's folder with an empty database (a mistyped --db):
  // refused, no new server made in it.
  const kbo::test::PgSchema empty;
  kbo::testing::CliResult wrong_db =
      kbo::testing::RunServerCli({"--data", dir, "--db", empty.url(), "device", "list"});
  CHECK(wrong_db.exit_code == 1);
  CHECK(wrong_db.err.find("holds no server") != std::string::npos);
}

TEST_CASE("copy-to-postgres: refuses --db, a missing or wrong URL, extra words",
          "[pg][copy]") {
  kbo::testing::TempDir tmp;
  const std::string dir = tmp.File("data");
  using kbo::testing::RunServerCli;
  CHECK(RunServerCli({"--data", dir, "copy-to-postgres"}).exit_code == 2);
  CHECK(RunServerCli({"--data", dir, "copy-to-postgres", "/tmp/x.db"}).exit_code == 2);
  CHECK(RunServerCli({"--data", dir, "copy-to-postgres", "postgresql://h/db", "more"})
            .exit_code == 2);
  CHECK(RunServerCli({"--data", dir, "--db", "postgresql://h/db", "copy-to-postgres",
                      "postgresql://h/db"})
            .exit_code == 2);
  // No server in the folder: nothing to copy, and nothing made there.
  kbo::testing::CliResult nothing = RunServerCli(
      {"--data", dir, "copy-to-postgres", "postgresql://kbo@127.0.0.1:1/kbo"});
  CHECK(nothing.exit_code == 3);
  CHECK(nothing.err.find("there is no server in") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir));
  REQUIRE(RunServerCli({"--data", dir, "token", "create", "--role", "trainer",
                        "--districts", "5011"})
              .exit_code == 0);
  kbo::testing::CliResult unreachable = RunServerCli(
      {"--data", dir, "copy-to-postgres",
       "postgresql://kbo:hunter2@127.0.0.1:1/kbo?connect_timeout=2"});
  CHECK(unreachable.exit_code == 4);
  CHECK(unreachable.err.find("hunter2") == std::string::npos);
}

TEST_CASE("copy-to-postgres: never while a server serves from the folder, and no "
          "server starts while a copy runs",
          "[pg][copy]") {
  kbo::testing::TempDir tmp;
  const std::string dir = tmp.File("data");
  using kbo::testing::RunServerCli;
  REQUIRE(RunServerCli({"--data", dir, "token", "create", "--role", "trainer",
                        "--districts", "5011"})
              .exit_code == 0);
  {
    // What a device sent it after the copy would be in server.db alone.
    kbo::testing::ServerProcess server(dir);
    REQUIRE(server.running());
    kbo::testing::CliResult r = RunServerCli(
        {"--data", dir, "copy-to-postgres", "postgresql://kbo@127.0.0.1:1/kbo"});
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("a kbo-server is using " + dir) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir + "/moved-to-postgres"));
    // Servers share the folder with each other (several on one database).
    kbo::testing::ServerProcess second(dir);
    CHECK(second.running());
  }
  // A copy under way (its lock, taken here): a server is not started, nor
  // a command that writes server.db (a token made then was never copied).
  auto paths = PathsFor(dir);
  Result<FolderLock> copying = FolderLock::Take(paths, FolderLock::Kind::kCopy);
  INFO(copying.status().message());
  REQUIRE(copying.ok());
  kbo::testing::ServerProcess refused(dir);
  CHECK_FALSE(refused.running());
  std::ifstream log(dir + "-server.log");
  const std::string said((std::istreambuf_iterator<char>(log)),
                         std::istreambuf_iterator<char>());
  CHECK(said.find("copy-to-postgres is copying") != std::string::npos);
  kbo::testing::CliResult token = RunServerCli(
      {"--data", dir, "token", "create", "--role", "trainer", "--districts", "5011"});
  CHECK(token.exit_code == 1);
  CHECK(token.err.find("copy-to-postgres is copying") != std::string::npos);
  CHECK(token.out.empty());
  // Once it has ended, serving starts.
  { FolderLock ended = std::move(copying).value(); }
  kbo::testing::ServerProcess after(dir);
  CHECK(after.running());
}

}  // namespace
}  // namespace kbo::server::testing
