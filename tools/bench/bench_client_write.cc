// Client write benchmark (issue #3): the attendance workload of
// ../shared/bench-workload.md recorded through ClientStore (the API the CLI
// uses), each figure beside its raw SQLite floor measured in the same run
// with the same pragmas (WAL, synchronous=FULL):
//   (a) batch: a whole roll-call/import in one transaction
//       vs. a prepared INSERT of the same rows in one transaction
//       (three rounds, the median of each side);
//   (b) per mark: one transaction per mark, as a trainer taps
//       vs. one raw INSERT per transaction.
// Prints one JSON line. Usage: bench_client_write [N] [PER_TXN_N]
//   N          marks for (a), default 100000
//   PER_TXN_N  marks for (b), default 2000 (each commit is an fsync)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "client/store.h"
#include "schema/schema.h"
#include "shared/sqlite/migrate.h"
#include "tools/bench/workload.h"

namespace {

using Clock = std::chrono::steady_clock;
using kbo::RowValues;
using kbo::Value;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void Die(const kbo::Status& s, const char* what) {
  std::fprintf(stderr, "bench_client_write: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

struct Prepared {
  std::unique_ptr<kbo::client::ClientStore> store;
  std::map<std::string, std::string> workshop_ids;   // workload id -> store id
  std::map<std::string, std::string> enrolment_ids;  // participant -> store id
};

// Workshops and enrolments for every workload participant (not timed).
Prepared Prepare(const std::string& dir, const kbo::bench::Workload& w, size_t n) {
  Prepared p;
  auto store = kbo::client::ClientStore::Open(dir);
  if (!store.ok()) Die(store.status(), "open store");
  p.store = std::move(store).value();
  auto producer = p.store->Record(
      "producer", {{"kind", Value::Text("group")}, {"name", Value::Text("กลุ่มทดสอบ")},
                   {"district_code", Value::Text("5011")}});
  if (!producer.ok()) Die(producer.status(), "producer");
  std::vector<RowValues> workshops;
  for (size_t i = 0; i < w.workshops.size(); ++i) {
    workshops.push_back({{"title", Value::Text("เวิร์กช็อป " + std::to_string(i))},
                         {"fiscal_year", Value::Integer(2568)},
                         {"district_code", Value::Text("5011")},
                         {"start_date", Value::Text("2025-01-06")}});
  }
  auto ws = p.store->RecordAll("workshop", workshops);
  if (!ws.ok()) Die(ws.status(), "workshops");
  for (size_t i = 0; i < w.workshops.size(); ++i) {
    p.workshop_ids[w.workshops[i]] = (*ws)[i].ToString();
  }
  std::vector<RowValues> enrolments;
  std::vector<std::string> participants;
  for (size_t i = 0; i < n; i += 5) {
    const auto& r = w.records[i];
    participants.push_back(r.participant_id);
    enrolments.push_back({{"workshop_id", Value::Text(p.workshop_ids[r.workshop_id])},
                          {"producer_id", Value::Text(producer->ToString())},
                          {"participant_name", Value::Text("ผู้เข้าร่วม " + r.participant_id.substr(0, 8))}});
  }
  auto en = p.store->RecordAll("enrolment", enrolments);
  if (!en.ok()) Die(en.status(), "enrolments");
  for (size_t i = 0; i < participants.size(); ++i) {
    p.enrolment_ids[participants[i]] = (*en)[i].ToString();
  }
  return p;
}

RowValues Mark(Prepared& p, const kbo::bench::AttendanceRecord& r) {
  return {{"workshop_id", Value::Text(p.workshop_ids[r.workshop_id])},
          {"enrolment_id", Value::Text(p.enrolment_ids[r.participant_id])},
          {"day", Value::Integer(r.day)},
          {"status", Value::Text(r.status)},
          {"note", Value::Text(r.note)}};
}

// The floor: the same attendance table, the same pragmas, raw prepared inserts.
std::unique_ptr<kbo::Db> RawDb(const std::string& path) {
  auto db = kbo::Db::Open(path);
  if (!db.ok()) Die(db.status(), "raw db");
  if (auto s = kbo::Migrate(**db, kbo::schema::kReplicaMigrations,
                            kbo::schema::kReplicaMigrations_count);
      !s.ok()) {
    Die(s, "raw migrate");
  }
  return std::move(db).value();
}

void RawInsert(kbo::Db& db, const kbo::bench::AttendanceRecord& r) {
  kbo::Statement& st = db.Cached(
      "INSERT INTO attendance (id, workshop_id, enrolment_id, day, status, note, "
      "district_code) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  st.Bind(1, std::string_view(r.id))
      .Bind(2, std::string_view(r.workshop_id))
      .Bind(3, std::string_view(r.participant_id))
      .Bind(4, static_cast<int64_t>(r.day))
      .Bind(5, std::string_view(r.status))
      .Bind(6, std::string_view(r.note))
      .Bind(7, std::string_view("5011"));
  if (auto s = st.Run(); !s.ok()) Die(s, "raw insert");
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100000;
  const size_t per_txn_n = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 2000;
  const auto w = kbo::bench::GenerateWorkload(std::max(n, per_txn_n), 42);
  const std::string root =
      (std::filesystem::temp_directory_path() / ("kbo-bench-" + std::to_string(getpid()))).string();
  std::filesystem::create_directories(root);

  // (a) batch. Three rounds, each a fresh store and a fresh floor database,
  // store then floor; each side's median is reported (the floor alone moves
  // by 10 % between runs on a small VM).
  constexpr int kRounds = 3;
  std::vector<double> store_runs, raw_runs;
  for (int round = 0; round < kRounds; ++round) {
    const std::string dir = root + "/batch-" + std::to_string(round);
    Prepared p = Prepare(dir, w, n);
    std::vector<RowValues> marks;
    marks.reserve(n);
    for (size_t i = 0; i < n; ++i) marks.push_back(Mark(p, w.records[i]));
    auto t = Clock::now();
    auto ids = p.store->RecordAll("attendance", std::move(marks));
    store_runs.push_back(Seconds(t));
    if (!ids.ok()) Die(ids.status(), "store batch");
    p.store.reset();
    auto raw = RawDb(dir + "-raw.db");
    t = Clock::now();
    {
      kbo::Transaction txn(*raw);
      for (size_t i = 0; i < n; ++i) RawInsert(*raw, w.records[i]);
      if (auto s = txn.Commit(); !s.ok()) Die(s, "raw commit");
    }
    raw_runs.push_back(Seconds(t));
    raw.reset();
    std::filesystem::remove_all(dir);
    std::filesystem::remove(dir + "-raw.db");
    std::filesystem::remove(dir + "-raw.db-wal");
    std::filesystem::remove(dir + "-raw.db-shm");
  }
  const double store_batch_s = Median(store_runs), raw_batch_s = Median(raw_runs);
  // (b) one transaction per mark.
  double store_each_s, raw_each_s;
  {
    Prepared p = Prepare(root + "/each", w, per_txn_n);
    std::vector<RowValues> marks;
    for (size_t i = 0; i < per_txn_n; ++i) marks.push_back(Mark(p, w.records[i]));
    auto t = Clock::now();
    for (auto& m : marks) {
      auto id = p.store->Record("attendance", std::move(m));
      if (!id.ok()) Die(id.status(), "store mark");
    }
    store_each_s = Seconds(t);
    auto raw = RawDb(root + "/raw-each.db");
    t = Clock::now();
    for (size_t i = 0; i < per_txn_n; ++i) {
      kbo::Transaction txn(*raw);
      RawInsert(*raw, w.records[i]);
      if (auto s = txn.Commit(); !s.ok()) Die(s, "raw commit");
    }
    raw_each_s = Seconds(t);
  }
  std::filesystem::remove_all(root);

  const double sb = n / store_batch_s, rb = n / raw_batch_s;
  const double se = per_txn_n / store_each_s, re = per_txn_n / raw_each_s;
  std::printf(
      "{\"bench\":\"client_write\",\"n\":%zu,\"per_txn_n\":%zu,\"rounds\":%d,"
      "\"batch\":{\"store_per_s\":%.0f,\"floor_per_s\":%.0f,\"ratio\":%.3f},"
      "\"per_txn\":{\"store_per_s\":%.0f,\"floor_per_s\":%.0f,\"ratio\":%.3f},"
      "\"target_ratio\":0.5}\n",
      n, per_txn_n, kRounds, sb, rb, sb / rb, se, re, se / re);
  return 0;
}
