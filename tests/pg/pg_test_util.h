#ifndef KBO_TESTS_PG_PG_TEST_UTIL_H_
#define KBO_TESTS_PG_PG_TEST_UTIL_H_

// A PostgreSQL schema of its own for one test, in the cluster that
// tools/pg-test-cluster started (tests/support/pg_url.h). Tests running side
// by side each get their own schema, dropped at the end. A test that needs
// PostgreSQL fails, never skips, when the cluster is missing.
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "server/storage/pg_db.h"
#include "tests/support/pg_url.h"

namespace kbo::test {

class PgSchema {
 public:
  PgSchema() {
    const std::string base = testing::PgTestUrl();
    name_ = testing::UniquePgName("db_test");
    Result<std::unique_ptr<Db>> admin = server::OpenPostgres(base);
    INFO(admin.status().message());
    REQUIRE(admin.ok());
    admin_ = std::move(admin).value();
    REQUIRE(admin_->Exec("CREATE SCHEMA " + name_).ok());
    url_ = base + (base.find('?') == std::string::npos ? "?" : "&") +
           "options=-csearch_path%3D" + name_;
  }
  ~PgSchema() { (void)admin_->Exec("DROP SCHEMA " + name_ + " CASCADE"); }
  PgSchema(const PgSchema&) = delete;
  PgSchema& operator=(const PgSchema&) = delete;

  // A URL whose connections work in this schema only.
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::string url_;
  std::unique_ptr<Db> admin_;
};

// A connection to `url`, or the test fails saying why.
inline std::unique_ptr<Db> Connect(const std::string& url) {
  Result<std::unique_ptr<Db>> db = server::OpenPostgres(url);
  INFO(db.status().message());
  REQUIRE(db.ok());
  return std::move(db).value();
}

// Ends `db`'s backend from `admin`, as a restart or a cut cable would.
inline void DropConnection(Db& db, Db& admin) {
  Statement pid(db, "SELECT pg_backend_pid()");
  REQUIRE(pid.Step());
  Statement kill(admin, "SELECT pg_terminate_backend(?1::int)");
  kill.Bind(1, pid.ColumnInt(0));
  REQUIRE(kill.Step());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

}  // namespace kbo::test

#endif  // KBO_TESTS_PG_PG_TEST_UTIL_H_
