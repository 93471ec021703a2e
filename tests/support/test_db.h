#ifndef KBO_TESTS_SUPPORT_TEST_DB_H_
#define KBO_TESTS_SUPPORT_TEST_DB_H_

// Which database a test's servers use. By default SQLite, DIR/server.db in
// the data folder. With KBO_TEST_BACKEND=postgres (CTest's "pg/" runs of the
// server and integration suites, tests/CMakeLists.txt), every data folder
// gets a PostgreSQL schema of its own in the cluster at KBO_TEST_PG_URL
// (tools/pg-test-cluster, tests/support/pg_url.h), and every `kbo-server --data DIR` the tests run
// gets `--db` with that schema's URL: the same tests, the other backend.
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "server/storage/pg_db.h"
#include "shared/sqlite/db.h"
#include "tests/support/pg_url.h"

namespace kbo::testing {

inline bool TestOnPostgres() {
  const char* b = std::getenv("KBO_TEST_BACKEND");
  return b && std::string(b) == "postgres";
}

// The PostgreSQL URL for `data_dir`'s database ("" on SQLite), its schema
// made on first use. Throws if PostgreSQL was asked for but can't be had, so
// the test fails rather than quietly testing SQLite.
inline std::string TestDbUrlFor(const std::string& data_dir) {
  if (!TestOnPostgres()) return std::string();
  static std::mutex mu;
  static std::map<std::string, std::string> made;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = made.find(data_dir); it != made.end()) return it->second;
  const std::string base = PgTestUrl();  // fails the test if there is none
  char name[40];
  std::snprintf(name, sizeof name, "d_%016zx_%d", std::hash<std::string>{}(data_dir),
                static_cast<int>(::getpid()));
  Result<std::unique_ptr<Db>> admin = server::OpenPostgres(base);
  if (!admin.ok()) throw std::runtime_error(admin.status().message());
  if (Status s = (*admin)->Exec(std::string("CREATE SCHEMA IF NOT EXISTS ") + name);
      !s.ok()) {
    throw std::runtime_error(s.message());
  }
  std::string url = base + (base.find('?') == std::string::npos ? "?" : "&") +
                    "options=-csearch_path%3D" + name;
  made[data_dir] = url;
  return url;
}

// `args` of a `kbo-server` command line with `--db URL` added after the
// `--data DIR` they name, when the tests run on PostgreSQL.
inline std::vector<std::string> WithTestDb(std::vector<std::string> args) {
  if (!TestOnPostgres()) return args;
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--data") {
      const std::string url = TestDbUrlFor(args[i + 1]);
      args.insert(args.begin() + static_cast<std::ptrdiff_t>(i) + 2, {"--db", url});
      return args;
    }
  }
  return args;
}

// The database of the server whose data folder is `data_dir`: its
// server.db, or its PostgreSQL schema.
inline Result<std::unique_ptr<Db>> OpenTestServerDb(const std::string& data_dir) {
  if (TestOnPostgres()) return server::OpenPostgres(TestDbUrlFor(data_dir));
  return Db::Open(data_dir + "/server.db");
}

}  // namespace kbo::testing

#endif  // KBO_TESTS_SUPPORT_TEST_DB_H_
