// Push cost as the server's data grows (issue 12, "cost that grows slowly
// with the data"): the same batch of attendance marks (the workload of
// ../shared/bench-workload.md, N = 20,000 by default) pushed through the
// real kbo-server over loopback, exactly as bench_sync's push, into
//   fresh    a server holding only the batch's parent rows, and
//   loaded   a server already holding M attendance records (1,000,000 by
//            default) with their parent rows,
// and the ratio loaded / fresh (target: >= 2/3).
//
// The preload goes through the server like any device's data: devices of
// `--chunk` records each (100,000 by default; a fresh device for each chunk
// so that the client's own database stays the same size) record their
// parents and marks and push them, so the server's tables, indexes, pull
// index (row_seq), cell versions and change set log are what a server that
// took M records from devices holds. Each chunk's marks are a workload of
// their own (seed 1000 + k), so every device has its own workshops and
// enrolments and every mark is a new row. Each device records and seals
// its chunk (in sets of kPreloadSetRows) while the previous one pushes. The
// preload is not timed into the ratio; `preload` reports its wall seconds,
// its push rate and the server's own seconds for it.
//
// Timed, in each case: SyncClient::Push of a device that recorded the
// batch offline (its parents pushed before, untimed), from a fresh
// connection: seal, POST, the server's checks, signature verification,
// merge and commit, the receipts acknowledged. `server_s`: the server's own
// time for the push requests (its request log). Each case runs `--rounds`
// times (3 by default) and reports the median: fresh, each round on a new
// empty server; loaded, round r into the loaded server after r - 1 earlier
// batches (it then holds M + (r - 1) N records; `held` is the figure before
// round 1, checked against the server's database at the end).
//
// The floor's own growth, in the same run (`floor`): raw prepared INSERTs
// of attendance rows (bench_sync's floor statement) into the replica
// schema's table with the server's SQLite settings, committed every 2,000
// rows as a push commits each set: a batch of N new rows into a fresh
// database, and into one already holding M rows (preloaded untimed, 100,000
// rows a transaction); median of `--rounds` each, every round new rows.
// SQLite with random row ids pays for the held rows too (each commit writes
// most leaf pages of the id index again once it is much larger than a
// commit); `floor.ratio` says how much of the server's ratio is that.
//
// Prints one JSON line. Usage:
//   bench_growth [--batch N] [--preload M] [--chunk C] [--rounds R]
// The server binary: $KBO_SERVER_BIN, else <build>/server/kbo-server.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "server/storage/server_state.h"
#include "tools/bench/sync_support.h"

namespace {

constexpr const char* kTool = "bench_growth";
// Rows per change set of the preload: fewer, larger sets than a device's
// 2,000 (the decoder takes up to 50,000 rows and 8 MiB; 10,000 attendance
// marks are about 3 MB), sealed while the previous device pushes, so the
// preload takes a fifth of the commits. What the server holds is the same
// rows, indexes and pull index; its change set log has fewer, larger sets.
constexpr size_t kPreloadSetRows = 10000;

using kbo::bench::Check;
using kbo::bench::Clock;
using kbo::bench::Die;
using kbo::bench::Seconds;
using kbo::client::SyncClient;
using kbo::client::SyncSummary;

struct PushFigures {
  double per_s = 0;
  double s = 0;
  double server_s = 0;
};

// A new device in `dir`, enrolled with `token`, that records the parent
// rows of records [0, n) and pushes them (not timed), then records the
// marks offline; with `seal_rows`, also seals them into change sets of that
// many rows (else Push seals them, 2,000 a set).
kbo::bench::Device RecordDevice(const std::string& dir, const std::string& url,
                                const std::string& token,
                                const std::vector<kbo::bench::AttendanceRecord>& records,
                                size_t seal_rows = 0) {
  kbo::bench::Device d;
  auto opened = kbo::client::ClientStore::Open(dir);
  if (!opened.ok()) Check(kTool, opened.status(), "open " + dir);
  d.store = std::move(opened).value();
  SyncClient c(*d.store);
  auto e = c.Enroll(url, token);
  if (!e.ok()) Check(kTool, e.status(), "enrol " + dir);
  kbo::bench::RecordParents(kTool, d, records, 0, records.size());
  Check(kTool, c.Push(nullptr), "push the parent rows of " + dir);
  kbo::bench::RecordAttendance(kTool, d, records, 0, records.size());
  if (seal_rows > 0) {
    auto sealed = kbo::client::Outbox(*d.store).SealAll(seal_rows);
    if (!sealed.ok()) Check(kTool, sealed.status(), "seal " + dir);
  }
  return d;
}

// The timed push of device `d`'s pending marks (n of them).
PushFigures TimedPush(kbo::bench::Device& d, kbo::testing::ServerProcess& server,
                      size_t n) {
  const size_t log_from = server.log().size();
  SyncSummary summary;
  SyncClient c(*d.store);
  const auto t = Clock::now();
  Check(kTool, c.Push(&summary), "push");
  PushFigures f;
  f.s = Seconds(t);
  if (summary.pushed_rows != n) {
    Die(kTool, "the server acknowledged " + std::to_string(summary.pushed_rows) +
                   " row changes, not " + std::to_string(n));
  }
  f.per_s = static_cast<double>(n) / f.s;
  double ms = 0;
  kbo::bench::SumRequestMs(server.log(), log_from, "POST /v1/push", &ms);
  f.server_s = ms / 1000.0;
  return f;
}

PushFigures MedianOf(const std::vector<PushFigures>& v) {
  std::vector<double> rates;
  for (const PushFigures& f : v) rates.push_back(f.per_s);
  const double m = kbo::bench::Median(rates);
  for (const PushFigures& f : v) {
    if (f.per_s == m) return f;
  }
  return v.front();
}

std::string Rates(const std::vector<PushFigures>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ",";
    out += std::to_string(static_cast<long long>(v[i].per_s + 0.5));
  }
  return out + "]";
}

// Rows per commit of the raw floor: a device's change set.
constexpr size_t kFloorCommitRows = 2000;

struct FloorFigures {
  double fresh_per_s = 0;
  double loaded_per_s = 0;
  double preload_s = 0;
};

// The floor's growth (above): batches of `batch` new rows (workload seeds
// 2000 + r) into fresh databases, and into one holding `preload` rows
// (seeds 1000 + k, as the server's preload).
FloorFigures FloorGrowth(const std::string& root, size_t batch, size_t preload,
                         size_t chunk, size_t rounds) {
  FloorFigures out;
  std::vector<double> fresh, loaded;
  for (size_t r = 0; r < rounds; ++r) {
    const auto w = kbo::bench::GenerateWorkload(batch, static_cast<uint32_t>(2000 + r));
    const std::string path = root + "/floor-fresh-" + std::to_string(r) + ".db";
    {
      std::unique_ptr<kbo::Db> db =
          kbo::bench::OpenRawDb(kTool, path, kbo::server::storage::kSqliteServerPragmas);
      fresh.push_back(kbo::bench::RawInsertPerSecond(kTool, *db, w.records, 0, batch,
                                                     kFloorCommitRows));
    }
    std::error_code ec;
    for (const char* tail : {"", "-wal", "-shm"}) std::filesystem::remove(path + tail, ec);
  }
  const std::string path = root + "/floor-loaded.db";
  std::unique_ptr<kbo::Db> db =
      kbo::bench::OpenRawDb(kTool, path, kbo::server::storage::kSqliteServerPragmas);
  const auto t = Clock::now();
  for (size_t k = 0; k * chunk < preload; ++k) {
    const size_t n = std::min(chunk, preload - k * chunk);
    const auto pw = kbo::bench::GenerateWorkload(n, static_cast<uint32_t>(1000 + k));
    kbo::bench::RawInsertPerSecond(kTool, *db, pw.records, 0, n, 100000);
  }
  out.preload_s = Seconds(t);
  for (size_t r = 0; r < rounds; ++r) {
    const auto w = kbo::bench::GenerateWorkload(batch, static_cast<uint32_t>(2000 + r));
    loaded.push_back(
        kbo::bench::RawInsertPerSecond(kTool, *db, w.records, 0, batch, kFloorCommitRows));
  }
  out.fresh_per_s = kbo::bench::Median(fresh);
  out.loaded_per_s = kbo::bench::Median(loaded);
  return out;
}

int64_t CountAttendance(const std::string& data_dir) {
  auto db = kbo::Db::Open(data_dir + "/server.db");
  if (!db.ok()) Check(kTool, db.status(), "open the server database");
  kbo::Statement st(**db, "SELECT count(*) FROM attendance");
  if (!st.Step()) Check(kTool, st.status(), "count");
  return st.ColumnInt(0);
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  size_t batch = 20000, preload = 1000000, chunk = 100000, rounds = 3;
  bool usage = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    size_t* slot = arg == "--batch"     ? &batch
                   : arg == "--preload" ? &preload
                   : arg == "--chunk"   ? &chunk
                   : arg == "--rounds"  ? &rounds
                                        : nullptr;
    if (slot == nullptr || i + 1 >= argc) {
      usage = true;
      break;
    }
    char* end = nullptr;
    const std::string v = argv[++i];
    *slot = std::strtoul(v.c_str(), &end, 10);
    if (v.empty() || v[0] < '0' || v[0] > '9' || *end != '\0') usage = true;
  }
  if (usage || batch == 0 || preload == 0 || chunk == 0 || rounds == 0) {
    Die(kTool, "usage: bench_growth [--batch N] [--preload M] [--chunk C] [--rounds R]");
  }
  const auto w = kbo::bench::GenerateWorkload(batch, 42);
  const std::string root = kbo::bench::MakeRoot("kbo-bench-growth");
  const std::string bin = kbo::bench::ServerBinary();

  // ---- Fresh: each round on a new, empty server.
  std::vector<PushFigures> fresh;
  for (size_t r = 0; r < rounds; ++r) {
    const std::string data = root + "/fresh-" + std::to_string(r);
    const std::string token = kbo::bench::CreateToken(kTool, data);
    kbo::testing::ServerProcess server(bin, data, {});
    if (!server.running()) Die(kTool, "kbo-server did not start: " + server.log());
    kbo::bench::Device d = RecordDevice(root + "/fresh-device-" + std::to_string(r),
                                        server.url(), token, w.records);
    fresh.push_back(TimedPush(d, server, batch));
  }

  // ---- Loaded: M records pushed by devices of C records each.
  const std::string data = root + "/loaded";
  std::vector<std::string> tokens;
  const size_t chunks = (preload + chunk - 1) / chunk;
  for (size_t k = 0; k < chunks + rounds; ++k) {
    tokens.push_back(kbo::bench::CreateToken(kTool, data));
  }
  kbo::testing::ServerProcess server(bin, data, {});
  if (!server.running()) Die(kTool, "kbo-server did not start: " + server.log());
  // Device k + 1 records its chunk while device k pushes (two cores: the
  // client's recording overlaps the server's merge), at most one ahead.
  auto record_chunk = [&](size_t k) {
    return std::async(std::launch::async, [&, k] {
      const size_t n = std::min(chunk, preload - k * chunk);
      const auto pw = kbo::bench::GenerateWorkload(n, static_cast<uint32_t>(1000 + k));
      return RecordDevice(root + "/preload-" + std::to_string(k), server.url(),
                          tokens[k], pw.records, kPreloadSetRows);
    });
  };
  const auto preload_t = Clock::now();
  double preload_push_s = 0, preload_server_s = 0;
  std::future<kbo::bench::Device> next = record_chunk(0);
  for (size_t k = 0; k < chunks; ++k) {
    kbo::bench::Device d = next.get();
    if (k + 1 < chunks) next = record_chunk(k + 1);
    const PushFigures f = TimedPush(d, server, std::min(chunk, preload - k * chunk));
    preload_push_s += f.s;
    preload_server_s += f.server_s;
    d.store.reset();
    std::error_code ec;
    std::filesystem::remove_all(root + "/preload-" + std::to_string(k), ec);
  }
  const double preload_s = Seconds(preload_t);
  std::vector<PushFigures> loaded;
  for (size_t r = 0; r < rounds; ++r) {
    kbo::bench::Device d = RecordDevice(root + "/loaded-device-" + std::to_string(r),
                                        server.url(), tokens[chunks + r], w.records);
    loaded.push_back(TimedPush(d, server, batch));
  }
  const long server_hwm_kib = kbo::bench::ProcStatusKib(server.pid(), "VmHWM");
  server.Stop();
  const int64_t held_at_end = CountAttendance(data);
  if (held_at_end != static_cast<int64_t>(preload + rounds * batch)) {
    Die(kTool, "the loaded server holds " + std::to_string(held_at_end) +
                   " attendance rows, not " + std::to_string(preload + rounds * batch));
  }
  std::error_code ec;
  const double db_mib =
      static_cast<double>(std::filesystem::file_size(data + "/server.db", ec)) /
      (1024.0 * 1024.0);
  std::filesystem::remove_all(data, ec);  // room for the floor's databases

  const FloorFigures floor = FloorGrowth(root, batch, preload, chunk, rounds);
  std::filesystem::remove_all(root, ec);

  const PushFigures f = MedianOf(fresh), l = MedianOf(loaded);
  std::printf(
      "{\"bench\":\"growth\",\"batch\":%zu,\"rounds\":%zu,"
      "\"fresh\":{\"per_s\":%.0f,\"s\":%.3f,\"server_s\":%.3f,\"rounds_per_s\":%s},"
      "\"loaded\":{\"held\":%zu,\"per_s\":%.0f,\"s\":%.3f,\"server_s\":%.3f,"
      "\"rounds_per_s\":%s,\"db_mib\":%.0f},"
      "\"preload\":{\"records\":%zu,\"s\":%.1f,\"push_per_s\":%.0f,\"server_s\":%.1f},"
      "\"floor\":{\"fresh_per_s\":%.0f,\"loaded_per_s\":%.0f,\"preload_s\":%.1f,"
      "\"ratio\":%.3f},"
      "\"server_peak_mib\":%.1f,\"ratio\":%.3f,\"target_ratio\":0.667}\n",
      batch, rounds, f.per_s, f.s, f.server_s, Rates(fresh).c_str(), preload, l.per_s,
      l.s, l.server_s, Rates(loaded).c_str(), db_mib, preload, preload_s,
      static_cast<double>(preload) / preload_push_s, preload_server_s, floor.fresh_per_s,
      floor.loaded_per_s, floor.preload_s, floor.loaded_per_s / floor.fresh_per_s,
      static_cast<double>(server_hwm_kib) / 1024.0, l.per_s / f.per_s);
  return 0;
}
