// Sync throughput benchmark (issue #4 §14): the attendance workload of
// ../shared/bench-workload.md recorded offline on device A, pushed to the
// real kbo-server over loopback HTTP and pulled into a fresh device B, each
// figure beside the raw SQLite floor for writing the same rows, measured in
// the same run (tools/bench/sync_support.h).
//
// Not timed: starting the server, enrolling A and B (trainer tokens for
// district 5011), A's parent rows (producer, workshops, one enrolment per
// participant) pushed and pulled into B, and A recording the N marks.
// Timed:
//   push  SyncClient::Push on A from a fresh connection: seal the N pending
//         row changes into signed change sets (Outbox, 2,000 rows a set),
//         POST each, the server's checks + signature verification + merge +
//         commit, the signed receipt verified and acknowledged on A. Push
//         seals set k+1 while set k is on its way, so the seal is not
//         timed apart; server_s is the server's own time for the requests.
//   pull  SyncClient::Pull on B from a fresh connection: every signed page
//         (2,000 row changes, the client's default) verified, decoded and
//         applied with its cursor in one transaction, then the conflict feed.
// Bytes on the wire: HTTP bodies as sent (SyncSummary: push request bodies,
// pull response bodies), per record: zstd-compressed (issue 12,
// docs/protocol.md §1 "Compressed bodies"), or plain with --no-zstd (the
// server started with `serve --no-zstd`, so neither side compresses: the
// protocol as it was). The HTTP headers (~0.5 KB a request, 50 requests for
// 100,000 records) are not in them.
// The floor: a prepared INSERT of the same N rows into the same attendance
// table in one transaction; the median of three runs. Each ratio's floor has
// the settings of the side it is compared with (issue 12 item 7): push's
// the server database's (kSqliteServerPragmas: 256 MiB page cache, WAL
// checkpoint every 32,000 pages), pull's a device database's (Db::Open's).
//
// With --db URL, the server runs on that PostgreSQL database (`kbo-server
// --db`, its tables in a schema of this run, dropped at the end), and the
// floor is PostgreSQL's, on the same database in the same run
// (tools/bench/pg_support.h): a libpq prepared INSERT of the same N rows
// into a table like the server's attendance table, one transaction (the
// ratios' floor), and COPY of the same rows (reported beside it); the median
// of three rounds each, one before the push, one between push and pull and
// one after the pull, so that a machine whose load changes during the run
// moves the floor as it moves the sync.
//
// Prints one JSON line. Usage:
//   bench_sync [N=100000] [--db postgresql://...] [--no-zstd]
// The server binary: $KBO_SERVER_BIN, else <build>/server/kbo-server.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "server/storage/server_state.h"
#include "tools/bench/pg_support.h"
#include "tools/bench/sync_support.h"

namespace {

constexpr const char* kTool = "bench_sync";

using kbo::bench::Check;
using kbo::bench::Clock;
using kbo::bench::Die;
using kbo::bench::Seconds;
using kbo::client::SyncClient;
using kbo::client::SyncSummary;

int64_t CountRows(kbo::Db& db, const char* table) {
  kbo::Statement st(db, std::string("SELECT count(*) FROM ") + table);
  if (!st.Step()) Check(kTool, st.status(), "count");
  return st.ColumnInt(0);
}

}  // namespace

int main(int argc, char** argv) {
  // A server that closes a connection while a request is being written
  // (its connection caps) must fail that exchange, not end this process
  // without a word (the client library does not ignore SIGPIPE).
  std::signal(SIGPIPE, SIG_IGN);
  size_t n = 100000;
  std::string db_url;
  bool zstd = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--db" && i + 1 < argc) {
      db_url = argv[++i];
    } else if (arg == "--no-zstd") {
      zstd = false;
    } else if (!arg.empty() && arg[0] != '-') {
      n = std::strtoul(arg.c_str(), nullptr, 10);
    } else {
      n = 0;
    }
  }
  if (n == 0) Die(kTool, "usage: bench_sync [N] [--db postgresql://...] [--no-zstd]");
  const auto w = kbo::bench::GenerateWorkload(n, 42);
  const std::string root = kbo::bench::MakeRoot("kbo-bench-sync");
  const std::string data = root + "/server";
  // On PostgreSQL: the server's tables in a schema of this run.
  std::unique_ptr<kbo::bench::PgRunSchema> schema;
  std::vector<std::string> db_args;
  if (!db_url.empty()) {
    schema = std::make_unique<kbo::bench::PgRunSchema>(kTool, db_url, "kbo_bench_sync");
    db_args = {"--db", schema->url()};
  }

  // Tokens first: the CLI creates the data folder and the server key.
  const std::string token_a = kbo::bench::CreateToken(kTool, data, db_args);
  const std::string token_b = kbo::bench::CreateToken(kTool, data, db_args);
  std::vector<std::string> serve_args;
  if (!zstd) serve_args.push_back("--no-zstd");
  kbo::testing::ServerProcess server(kbo::bench::ServerBinary(), data, serve_args,
                                     db_args);
  if (!server.running()) Die(kTool, "kbo-server did not start: " + server.log());

  // ---- Setup (not timed).
  kbo::bench::Device a;
  {
    auto opened = kbo::client::ClientStore::Open(root + "/a");
    if (!opened.ok()) Check(kTool, opened.status(), "open A");
    a.store = std::move(opened).value();
  }
  {
    SyncClient c(*a.store);
    auto e = c.Enroll(server.url(), token_a);
    if (!e.ok()) Check(kTool, e.status(), "enrol A");
    kbo::bench::RecordParents(kTool, a, w.records, 0, n);
    Check(kTool, c.Push(nullptr), "A pushes its parent rows");
  }
  std::unique_ptr<kbo::client::ClientStore> b;
  {
    auto opened = kbo::client::ClientStore::Open(root + "/b");
    if (!opened.ok()) Check(kTool, opened.status(), "open B");
    b = std::move(opened).value();
    SyncClient c(*b);
    auto e = c.Enroll(server.url(), token_b);
    if (!e.ok()) Check(kTool, e.status(), "enrol B");
    Check(kTool, c.Pull(nullptr), "B pulls the parent rows");
  }
  kbo::bench::RecordAttendance(kTool, a, w.records, 0, n);

  // CPU seconds of this process (device A or B), the server and (on a local
  // PostgreSQL) its backends: where a phase's wall time went.
  std::vector<pid_t> backends;
  if (schema) backends = kbo::bench::PgBackendPids(kTool, *schema);
  struct Cpu {
    double client, server, pg;
  };
  auto cpu_now = [&] {
    return Cpu{kbo::bench::ProcCpuSeconds(getpid()),
               kbo::bench::ProcCpuSeconds(server.pid()), kbo::bench::CpuSecondsOf(backends)};
  };
  auto cpu_since = [&](const Cpu& from) {
    const Cpu to = cpu_now();
    return Cpu{to.client - from.client, to.server - from.server,
               from.pg < 0 || to.pg < 0 ? -1 : to.pg - from.pg};
  };

  // On PostgreSQL, one round of each floor between the phases (above).
  std::vector<double> pg_insert_floors, pg_copy_floors;
  auto pg_floor_round = [&] {
    if (!schema) return;
    pg_insert_floors.push_back(kbo::bench::PgFloorPerSecond(
        kTool, schema->url(), w.records, 0, n, kbo::bench::PgFloorWay::kPreparedInsert));
    pg_copy_floors.push_back(kbo::bench::PgFloorPerSecond(
        kTool, schema->url(), w.records, 0, n, kbo::bench::PgFloorWay::kCopy));
  };
  pg_floor_round();

  // ---- Push (timed): seal + POST + server merge + receipts. SyncClient
  // seals each set while the one before it is on its way, so the seal is
  // not timed apart.
  size_t log_from = server.log().size();
  SyncSummary push;
  double push_s = 0;
  Cpu push_cpu{};
  {
    SyncClient c(*a.store);
    const Cpu cpu = cpu_now();
    const auto t = Clock::now();
    Check(kTool, c.Push(&push), "push");
    push_s = Seconds(t);
    push_cpu = cpu_since(cpu);
  }
  if (push.pushed_rows != n) {
    Die(kTool, "the server acknowledged " + std::to_string(push.pushed_rows) +
                   " row changes, not " + std::to_string(n));
  }
  double push_server_ms = 0;
  kbo::bench::SumRequestMs(server.log(), log_from, "POST /v1/push",
                           &push_server_ms);

  pg_floor_round();

  // ---- Pull (timed): verified pages applied on B.
  log_from = server.log().size();
  SyncSummary pull;
  double pull_s = 0;
  Cpu pull_cpu{};
  const int64_t before = CountRows(b->db(), "attendance");
  {
    SyncClient c(*b);
    const Cpu cpu = cpu_now();
    const auto t = Clock::now();
    Check(kTool, c.Pull(&pull), "pull");
    pull_s = Seconds(t);
    pull_cpu = cpu_since(cpu);
  }
  const int64_t got = CountRows(b->db(), "attendance") - before;
  if (pull.pulled_rows != n || got != static_cast<int64_t>(n)) {
    Die(kTool, "B pulled " + std::to_string(pull.pulled_rows) +
                   " row changes and holds " + std::to_string(got) +
                   " new attendance rows, not " + std::to_string(n));
  }
  double pull_server_ms = 0;
  kbo::bench::SumRequestMs(server.log(), log_from, "GET /v1/pull",
                           &pull_server_ms);
  const long server_hwm_kib = kbo::bench::ProcStatusKib(server.pid(), "VmHWM");

  // ---- The floor, same rows, same run.
  server.Stop();
  double floor = 0, copy_floor = 0;
  double push_floor = 0;  // SQLite: the floor with the server's settings
  kbo::bench::PgSettings pg;
  if (schema) {
    pg = kbo::bench::ReadPgSettings(kTool, schema->url());
    pg_floor_round();
    floor = kbo::bench::Median(pg_insert_floors);
    copy_floor = kbo::bench::Median(pg_copy_floors);
  } else {
    // Each floor with the settings of what it is compared with: the push
    // writes into the server's database (kSqliteServerPragmas: its page
    // cache and checkpoint interval), the pull into a device's (Db::Open's
    // defaults, as the client).
    std::vector<double> floors, server_floors;
    for (int i = 0; i < 3; ++i) {
      floors.push_back(kbo::bench::RawFloorPerSecond(
          kTool, root + "/raw-" + std::to_string(i) + ".db", w.records, 0, n));
      server_floors.push_back(kbo::bench::RawFloorPerSecond(
          kTool, root + "/raw-server-" + std::to_string(i) + ".db", w.records, 0, n,
          kbo::server::storage::kSqliteServerPragmas));
    }
    floor = kbo::bench::Median(floors);
    push_floor = kbo::bench::Median(server_floors);
  }

  a.store.reset();
  b.reset();
  std::error_code ec;
  std::filesystem::remove_all(root, ec);

  const double dn = static_cast<double>(n);
  const double push_rate = dn / push_s, pull_rate = dn / pull_s;
  if (schema) {
    std::printf(
        "{\"bench\":\"sync\",\"db\":\"postgresql\",\"n\":%zu,\"zstd\":%s,"
        "\"push\":{\"per_s\":%.0f,\"s\":%.3f,\"server_s\":%.3f,"
        "\"sets\":%llu,\"bytes_per_record\":%.1f,\"ratio\":%.3f,\"ratio_copy\":%.3f,"
        "\"cpu_s\":{\"client\":%.3f,\"server\":%.3f,\"pg\":%.3f}},"
        "\"pull\":{\"per_s\":%.0f,\"s\":%.3f,\"server_s\":%.3f,\"pages\":%llu,"
        "\"bytes_per_record\":%.1f,\"ratio\":%.3f,\"ratio_copy\":%.3f,"
        "\"cpu_s\":{\"client\":%.3f,\"server\":%.3f,\"pg\":%.3f}},"
        "\"floor_per_s\":%.0f,\"copy_per_s\":%.0f,"
        "\"pg\":{\"version\":\"%s\",\"synchronous_commit\":\"%s\",\"fsync\":\"%s\"},"
        "\"server_peak_mib\":%.1f,"
        "\"target_ratio\":{\"push\":0.25,\"pull\":0.25}}\n",
        n, zstd ? "true" : "false", push_rate, push_s, push_server_ms / 1000.0,
        static_cast<unsigned long long>(push.pushed_sets),
        static_cast<double>(push.bytes_sent) / dn, push_rate / floor,
        push_rate / copy_floor, push_cpu.client, push_cpu.server, push_cpu.pg, pull_rate,
        pull_s, pull_server_ms / 1000.0, static_cast<unsigned long long>(pull.pull_pages),
        static_cast<double>(pull.bytes_received) / dn, pull_rate / floor,
        pull_rate / copy_floor, pull_cpu.client, pull_cpu.server, pull_cpu.pg, floor, copy_floor, pg.version.c_str(),
        pg.synchronous_commit.c_str(), pg.fsync.c_str(),
        static_cast<double>(server_hwm_kib) / 1024.0);
    return 0;
  }
  std::printf(
      "{\"bench\":\"sync\",\"n\":%zu,\"zstd\":%s,"
      "\"push\":{\"per_s\":%.0f,\"s\":%.3f,\"server_s\":%.3f,"
      "\"sets\":%llu,\"bytes_per_record\":%.1f,\"ratio\":%.3f,\"floor_per_s\":%.0f},"
      "\"pull\":{\"per_s\":%.0f,\"s\":%.3f,\"server_s\":%.3f,\"pages\":%llu,"
      "\"bytes_per_record\":%.1f,\"ratio\":%.3f,\"floor_per_s\":%.0f},"
      "\"server_peak_mib\":%.1f,"
      "\"target_ratio\":{\"push\":0.5,\"pull\":0.5}}\n",
      n, zstd ? "true" : "false", push_rate, push_s, push_server_ms / 1000.0,
      static_cast<unsigned long long>(push.pushed_sets),
      static_cast<double>(push.bytes_sent) / dn, push_rate / push_floor, push_floor,
      pull_rate, pull_s, pull_server_ms / 1000.0,
      static_cast<unsigned long long>(pull.pull_pages),
      static_cast<double>(pull.bytes_received) / dn, pull_rate / floor, floor,
      static_cast<double>(server_hwm_kib) / 1024.0);
  return 0;
}
