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
#include <filesystem>
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

namespace test_db_detail {

// `text` in single quotes for /bin/sh.
inline std::string ShellQuoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A PostgreSQL 15 client program: Debian's versioned one, else PATH's.
inline std::string PgTool(const std::string& name) {
  const std::string versioned = "/usr/lib/postgresql/15/bin/" + name;
  return std::filesystem::exists(versioned) ? versioned : name;
}

inline void Run(const std::string& command) {
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("failed: " + command);
  }
}

// The schema TestDbUrlFor gave `data_dir`.
inline std::string SchemaOf(const std::string& data_dir) {
  const std::string url = TestDbUrlFor(data_dir);
  const std::string key = "search_path%3D";
  return url.substr(url.rfind(key) + key.size());
}

}  // namespace test_db_detail

// The backup an operator takes of a stopped server's database, into `file`,
// and its restore over the database (docs/operations.md, "Backups"): a copy
// of server.db on SQLite; on PostgreSQL `pg_dump -Fc` of the data folder's
// schema, and `pg_restore` after the schema is dropped. Throws on failure.
inline void BackupTestServerDb(const std::string& data_dir, const std::string& file) {
  using namespace test_db_detail;
  if (!TestOnPostgres()) {
    std::filesystem::copy_file(data_dir + "/server.db", file);
    return;
  }
  Run(PgTool("pg_dump") + " -Fc -n " + SchemaOf(data_dir) + " -f " + ShellQuoted(file) +
      " -d " + ShellQuoted(PgTestUrl()));
}

inline void RestoreTestServerDb(const std::string& data_dir, const std::string& file) {
  using namespace test_db_detail;
  if (!TestOnPostgres()) {
    const std::string db = data_dir + "/server.db";
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
    std::filesystem::copy_file(file, db);
    return;
  }
  const std::string base = ShellQuoted(PgTestUrl());
  Run(PgTool("psql") + " -q -v ON_ERROR_STOP=1 -c " +
      ShellQuoted("SET client_min_messages = warning; DROP SCHEMA " + SchemaOf(data_dir) + " CASCADE") + " -d " + base);
  Run(PgTool("pg_restore") + " --exit-on-error -d " + base + " " + ShellQuoted(file));
}

// The same, as an operator who copies the whole data folder does it: the
// database and `sequence-high-water` with it (docs/operations.md says not
// to restore that file; a folder copied back does).
inline void BackupTestServerWhole(const std::string& data_dir, const std::string& file) {
  BackupTestServerDb(data_dir, file);
  std::filesystem::copy_file(data_dir + "/sequence-high-water", file + "-high-water");
}

inline void RestoreTestServerWhole(const std::string& data_dir, const std::string& file) {
  RestoreTestServerDb(data_dir, file);
  std::filesystem::copy_file(file + "-high-water", data_dir + "/sequence-high-water",
                             std::filesystem::copy_options::overwrite_existing);
}

}  // namespace kbo::testing

#endif  // KBO_TESTS_SUPPORT_TEST_DB_H_
