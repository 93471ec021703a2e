// The phone app's batch benchmark (issue 13, item 6; tools/bench/app.js):
// 10,000 marks of the attendance workload (../shared/bench-workload.md)
// written in one batch through ClientStore::RecordAll — what the app's
// roll-call "everyone present" and CSV import do — against the floor: raw
// SQLite compiled to WebAssembly, a prepared INSERT of the same rows into
// the same table in one transaction. Both in the same worker, on the same
// storage (the browser's OPFS through client/app/opfs_vfs.h), in the same
// run, nine rounds each, medians. Not part of the app: its own module
// (kbo-bench.js), run by tools/bench/app/bench-worker.js.

#include <emscripten.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <string>
#include <utility>
#include <vector>

#include "client/app/opfs_vfs.h"
#include "tools/bench/client_write.h"

namespace {

using Clock = std::chrono::steady_clock;
// Rounds of each side; the medians are compared (the browser's storage
// moves by a third between rounds on this machine).
constexpr int kRounds = 9;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}


std::string result;

}  // namespace

extern "C" {

// Runs the benchmark; returns its JSON line. The worker has opened the OPFS
// handles of /bench/store/field.db, /bench/floor.db and their journals.
EMSCRIPTEN_KEEPALIVE const char* kbo_bench_batch(int n_marks) {
  const size_t n = static_cast<size_t>(n_marks);
  if (kbo_opfs_vfs_register() != 0) {
    result = "{\"error\":\"no OPFS\"}";
    return result.c_str();
  }
  const auto w = kbo::bench::GenerateWorkload(n, 42);
  std::vector<double> store_runs, floor_runs;
  for (int round = 0; round < kRounds; ++round) {
    kbo_opfs_clear("/bench/store/field.db");
    kbo_opfs_clear("/bench/floor.db");
    std::error_code ec;
    std::filesystem::remove_all("/bench/store", ec);  // its key, in memory
    kbo::bench::Prepared p = kbo::bench::Prepare("/bench/store", w, n);
    std::vector<kbo::RowValues> marks;
    marks.reserve(n);
    for (size_t i = 0; i < n; ++i) marks.push_back(kbo::bench::Mark(p, w.records[i]));
    // The app's settings on both sides (client/app/opfs_vfs.h).
    (void)p.store->db().Exec(KBO_APP_SQLITE_PRAGMAS);
    auto t = Clock::now();
    auto ids = p.store->RecordAll("attendance", std::move(marks));
    store_runs.push_back(Seconds(t));
    if (!ids.ok()) kbo::bench::Die(ids.status(), "store batch");
    p.store.reset();
    auto raw = kbo::bench::RawDb("/bench/floor.db");
    (void)raw->Exec(KBO_APP_SQLITE_PRAGMAS);
    t = Clock::now();
    {
      kbo::Transaction txn(*raw);
      for (size_t i = 0; i < n; ++i) kbo::bench::RawInsert(*raw, w.records[i]);
      if (auto s = txn.Commit(); !s.ok()) kbo::bench::Die(s, "floor commit");
    }
    floor_runs.push_back(Seconds(t));
  }
  const double store_s = Median(store_runs), floor_s = Median(floor_runs);
  char line[256];
  std::snprintf(line, sizeof line,
                "{\"n\":%zu,\"rounds\":%d,\"store_per_s\":%.0f,"
                "\"floor_per_s\":%.0f,\"ratio\":%.3f}",
                n, kRounds, n / store_s, n / floor_s, floor_s / store_s);
  result = line;
  return result.c_str();
}

}  // extern "C"
