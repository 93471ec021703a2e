#ifndef KBO_TESTS_PG_PG_CONN_H_
#define KBO_TESTS_PG_PG_CONN_H_

#include <libpq-fe.h>

#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "tests/support/pg_url.h"

// Plain libpq for the harness's own tests (tests/pg): they check the test
// cluster and the PostgreSQL schema without going through the project's DB
// layer, so a fault there cannot hide in both sides of a comparison.
namespace kbo::testing {

struct PgResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultFree>;

inline bool PgOk(const PgResult& r) {
  const ExecStatusType s = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

inline std::string PgSqlState(const PgResult& r) {
  const char* s = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
  return s ? s : "";
}

// One connection to PgTestUrl(), UTF-8, notices (DROP ... CASCADE) silenced.
// Fails the test when it cannot connect.
class PgConn {
 public:
  PgConn() : PgConn(PgTestUrl()) {}
  explicit PgConn(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    INFO("connecting to " << url);
    REQUIRE(conn_ != nullptr);
    INFO(PQerrorMessage(conn_));
    REQUIRE(PQstatus(conn_) == CONNECTION_OK);
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    REQUIRE(PQsetClientEncoding(conn_, "UTF8") == 0);
  }
  ~PgConn() { PQfinish(conn_); }
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  PGconn* get() { return conn_; }
  std::string error() { return PQerrorMessage(conn_); }

  // The result, whatever it is: the caller checks it (PgOk, PgSqlState).
  PgResult Exec(const std::string& sql) {
    return PgResult(PQexec(conn_, sql.c_str()));
  }
  // As Exec, failing the test unless it succeeded.
  PgResult Must(const std::string& sql) {
    PgResult r = Exec(sql);
    INFO(sql << "\n" << error());
    REQUIRE(PgOk(r));
    return r;
  }
  // The one value of a one-row, one-column query, as text.
  std::string Value(const std::string& sql) {
    PgResult r = Must(sql);
    INFO(sql);
    REQUIRE(PQntuples(r.get()) == 1);
    REQUIRE(PQnfields(r.get()) == 1);
    return PQgetvalue(r.get(), 0, 0);
  }

 private:
  PGconn* conn_;
};

// A schema of the test's own (UniquePgName), created on construction with
// the connection's search_path set to it, and dropped with everything in it
// on destruction: tests running at the same time on one cluster never see
// each other's tables.
class PgTestSchema {
 public:
  explicit PgTestSchema(PgConn& conn) : conn_(conn), name_(UniquePgName("kbo_t")) {
    conn_.Must("CREATE SCHEMA " + name_);
    conn_.Must("SET search_path TO " + name_);
  }
  ~PgTestSchema() {
    PgResult r = conn_.Exec("DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
    (void)r;
    PgResult s = conn_.Exec("SET search_path TO DEFAULT");
    (void)s;
  }
  PgTestSchema(const PgTestSchema&) = delete;
  PgTestSchema& operator=(const PgTestSchema&) = delete;
  const std::string& name() const { return name_; }

 private:
  PgConn& conn_;
  std::string name_;
};

}  // namespace kbo::testing

#endif  // KBO_TESTS_PG_PG_CONN_H_
