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

#include "tools/bench/client_write.h"

namespace {

using kbo::bench::Die;
using kbo::bench::Mark;
using kbo::bench::Prepare;
using kbo::bench::Prepared;
using kbo::bench::RawDb;
using kbo::bench::RawInsert;
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
