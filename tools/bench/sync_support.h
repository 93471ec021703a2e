#ifndef KBO_TOOLS_BENCH_SYNC_SUPPORT_H_
#define KBO_TOOLS_BENCH_SYNC_SUPPORT_H_

// Shared pieces of the sync benchmarks (bench_sync, loadgen): the real
// kbo-server as a child process (tests/support/server_process.h), one-time
// tokens from its CLI, devices recorded from the attendance workload of
// ../shared/bench-workload.md the way bench_client_write records them, and
// the raw SQLite floor (a prepared INSERT of the same rows into the same
// attendance table, same pragmas, one transaction).

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "client/outbox.h"
#include "client/store.h"
#include "client/sync_client.h"
#include "schema/schema.h"
#include "shared/sqlite/migrate.h"
#include "tests/support/run_cli.h"
#include "tools/bench/client_write.h"
#include "tests/support/server_process.h"
#include "tools/bench/workload.h"

namespace kbo::bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

[[noreturn]] inline void Die(const char* tool, const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", tool, what.c_str());
  std::exit(1);
}
inline void Check(const char* tool, const Status& s, const std::string& what) {
  if (!s.ok()) Die(tool, what + ": " + s.ToString());
}

// The kbo-server to start: $KBO_SERVER_BIN, else the one built beside us.
inline std::string ServerBinary() {
  if (const char* env = std::getenv("KBO_SERVER_BIN"); env && *env) return env;
#ifdef KBO_BINARY_DIR
  return std::string(KBO_BINARY_DIR) + "/server/kbo-server";
#else
  return "kbo-server";
#endif
}

// `kbo-server --data DIR [--db URL] token create --role trainer
// --districts 5011`: the printed one-time token. Works with the server
// running or not. `db_args`: {"--db", URL} on PostgreSQL, else empty.
inline std::string CreateToken(const char* tool, const std::string& data_dir,
                               const std::vector<std::string>& db_args = {},
                               const std::string& districts = "5011") {
  std::vector<std::string> args = {"--data", data_dir};
  args.insert(args.end(), db_args.begin(), db_args.end());
  args.insert(args.end(), {"token", "create", "--role", "trainer", "--districts", districts});
  kbo::testing::CliResult r = kbo::testing::RunBinary(ServerBinary(), args);
  std::string token = r.out.substr(0, r.out.find('\n'));
  if (r.exit_code != 0 || token.size() != 64) {
    Die(tool, "token create failed (exit " + std::to_string(r.exit_code) +
                  "): " + r.err);
  }
  return token;
}

// A field of /proc/<pid>/status in KiB (VmHWM, VmRSS), or -1.
inline long ProcStatusKib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

// CPU time (user + system) a process has used so far, in seconds, from
// /proc/<pid>/stat; -1 if it cannot be read.
inline double ProcCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string f;
  double ticks = 0;
  // Fields 3.. after the command; utime and stime are fields 14 and 15.
  for (int field = 3; field <= 15 && fields >> f; ++field) {
    if (field >= 14) ticks += std::strtod(f.c_str(), nullptr);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The server's request log (ServerProcess sends stderr to <data>-server.log):
// lines "<time> POST /v1/push 200 123ms <device>". Sums the milliseconds of
// the requests to `path` from byte `from` on; returns their count.
inline size_t SumRequestMs(const std::string& log, size_t from,
                           const std::string& method_path, double* ms) {
  size_t count = 0;
  *ms = 0;
  std::istringstream in(log.substr(std::min(from, log.size())));
  std::string line;
  const std::string key = " " + method_path + " ";
  while (std::getline(in, line)) {
    const size_t at = line.find(key);
    if (at == std::string::npos) continue;
    const size_t status_end = line.find(' ', at + key.size());
    if (status_end == std::string::npos) continue;
    *ms += std::strtod(line.c_str() + status_end + 1, nullptr);
    ++count;
  }
  return count;
}

// A device's parent rows for a slice of the workload: the producer, the
// workshops the slice uses and one enrolment per participant. The
// attendance rows then reference them, and the store derives each
// attendance id from (workshop, enrolment, day).
struct Device {
  std::unique_ptr<client::ClientStore> store;
  std::map<std::string, std::string> workshop_ids;   // workload id -> store id
  std::map<std::string, std::string> enrolment_ids;  // participant -> store id
};

inline void RecordParents(const char* tool, Device& d,
                          const std::vector<AttendanceRecord>& records,
                          size_t begin, size_t end) {
  auto producer = d.store->Record(
      "producer", {{"kind", Value::Text("group")},
                   {"name", Value::Text("กลุ่มทดสอบ")},
                   {"district_code", Value::Text("5011")}});
  if (!producer.ok()) Check(tool, producer.status(), "producer");
  std::vector<std::string> workshops;
  {
    std::set<std::string> seen;
    for (size_t i = begin; i < end; ++i) {
      if (seen.insert(records[i].workshop_id).second)
        workshops.push_back(records[i].workshop_id);
    }
  }
  std::vector<RowValues> rows;
  for (size_t i = 0; i < workshops.size(); ++i) {
    rows.push_back({{"title", Value::Text("เวิร์กช็อป " + std::to_string(i))},
                    {"fiscal_year", Value::Integer(2568)},
                    {"district_code", Value::Text("5011")},
                    {"start_date", Value::Text("2025-01-06")}});
  }
  auto ws = d.store->RecordAll("workshop", std::move(rows));
  if (!ws.ok()) Check(tool, ws.status(), "workshops");
  for (size_t i = 0; i < workshops.size(); ++i) {
    d.workshop_ids[workshops[i]] = (*ws)[i].ToString();
  }
  rows.clear();
  std::vector<std::string> participants;
  for (size_t i = begin; i < end; ++i) {
    const AttendanceRecord& r = records[i];
    if (d.enrolment_ids.count(r.participant_id) != 0) continue;
    d.enrolment_ids[r.participant_id] = "";
    participants.push_back(r.participant_id);
    rows.push_back(
        {{"workshop_id", Value::Text(d.workshop_ids[r.workshop_id])},
         {"producer_id", Value::Text(producer->ToString())},
         {"participant_name",
          Value::Text("ผู้เข้าร่วม " + r.participant_id.substr(0, 8))}});
  }
  auto en = d.store->RecordAll("enrolment", std::move(rows));
  if (!en.ok()) Check(tool, en.status(), "enrolments");
  for (size_t i = 0; i < participants.size(); ++i) {
    d.enrolment_ids[participants[i]] = (*en)[i].ToString();
  }
}

// The attendance marks of records [begin, end), recorded offline in one
// transaction (RecordAll), exactly as bench_client_write's batch case.
inline void RecordAttendance(const char* tool, Device& d,
                             const std::vector<AttendanceRecord>& records,
                             size_t begin, size_t end) {
  std::vector<RowValues> marks;
  marks.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    const AttendanceRecord& r = records[i];
    marks.push_back(
        {{"workshop_id", Value::Text(d.workshop_ids[r.workshop_id])},
         {"enrolment_id", Value::Text(d.enrolment_ids[r.participant_id])},
         {"day", Value::Integer(r.day)},
         {"status", Value::Text(r.status)},
         {"note", Value::Text(r.note)}});
  }
  auto ids = d.store->RecordAll("attendance", std::move(marks));
  if (!ids.ok()) Check(tool, ids.status(), "attendance");
}

// ---- The raw SQLite floor (as bench_client_write): the same attendance
// table and pragmas (Db::Open: WAL, synchronous = FULL; then `pragmas` if
// given), a prepared INSERT of the same rows.

// The floor's database at `path`, with the replica schema.
inline std::unique_ptr<Db> OpenRawDb(const char* tool, const std::string& path,
                                     const char* pragmas = nullptr) {
  auto db = Db::Open(path);
  if (!db.ok()) Check(tool, db.status(), "raw db");
  if (pragmas != nullptr) Check(tool, (*db)->Exec(pragmas), "raw pragmas");
  Check(tool,
        Migrate(**db, schema::kReplicaMigrations,
                schema::kReplicaMigrations_count),
        "raw migrate");
  return std::move(db).value();
}

// Inserts records [begin, end) into `db`, committed every `per_commit`
// rows; rows per second.
inline double RawInsertPerSecond(const char* tool, Db& db,
                                 const std::vector<AttendanceRecord>& records,
                                 size_t begin, size_t end, size_t per_commit) {
  const auto t = Clock::now();
  for (size_t from = begin; from < end; from += per_commit) {
    Transaction txn(db);
    const size_t to = std::min(end, from + per_commit);
    for (size_t i = from; i < to; ++i) {
      Check(tool, InsertRawAttendance(db, records[i]), "raw insert");
    }
    Check(tool, txn.Commit(), "raw commit");
  }
  return static_cast<double>(end - begin) / Seconds(t);
}

// The floor: records [begin, end) in one transaction. Rows per second.
inline double RawFloorPerSecond(const char* tool, const std::string& path,
                                const std::vector<AttendanceRecord>& records,
                                size_t begin, size_t end, const char* pragmas = nullptr) {
  std::unique_ptr<Db> db = OpenRawDb(tool, path, pragmas);
  return RawInsertPerSecond(tool, *db, records, begin, end, end - begin);
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// A fresh temp folder for one run, removed by the caller.
inline std::string MakeRoot(const char* prefix) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX"))
          .string();
  const char* made = mkdtemp(tmpl.data());
  if (made == nullptr) Die(prefix, "mkdtemp failed");
  return made;
}

}  // namespace kbo::bench

#endif  // KBO_TOOLS_BENCH_SYNC_SUPPORT_H_
