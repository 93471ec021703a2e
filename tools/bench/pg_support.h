#ifndef KBO_TOOLS_BENCH_PG_SUPPORT_H_
#define KBO_TOOLS_BENCH_PG_SUPPORT_H_

// The sync benchmarks on PostgreSQL (bench_sync --db, loadgen --db): a
// schema of their own in the database they are given (kbo-server's
// tables go there through the URL's search_path, as in the tests'
// tests/support/test_db.h), dropped at the end, and the PostgreSQL floor
// measured in the same run on the same database, through libpq directly:
//   insert  a prepared INSERT of the same rows into the same attendance
//           table (`LIKE` the server's, with its indexes), one transaction,
//           one PQexecPrepared a row, as a careful application would;
//   copy    the same rows with COPY ... FROM STDIN (text format), one
//           transaction: PostgreSQL's own bulk path, the upper bound.
// The floor's connection has the server's settings: the same URL, so the
// same database, user and server defaults (synchronous_commit, fsync, ...),
// and the session settings kbo-server sets (server/storage/pg_db.cc:
// UTF-8, bytea_output hex, UTC). Its synchronous_commit and fsync are
// reported beside the figures.

#include <libpq-fe.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tools/bench/sync_support.h"

namespace kbo::bench {

class PgConn {
 public:
  PgConn(const char* tool, const std::string& url) : tool_(tool) {
    conn_ = PQconnectdb(url.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
      Die(tool_, "cannot connect to PostgreSQL: " + std::string(PQerrorMessage(conn_)));
    }
    // As kbo-server's own session (server/storage/pg_db.cc SetUpSession).
    if (PQsetClientEncoding(conn_, "UTF8") != 0) Die(tool_, "cannot use UTF-8");
    Exec("SET bytea_output = 'hex'; SET client_min_messages = warning;"
         "SET TIME ZONE 'UTC'");
  }
  ~PgConn() { PQfinish(conn_); }
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  PGconn* get() { return conn_; }

  void Exec(const std::string& sql) {
    PGresult* res = PQexec(conn_, sql.c_str());
    const ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      const std::string msg = PQresultErrorMessage(res);
      PQclear(res);
      Die(tool_, "'" + sql.substr(0, 80) + "': " + msg);
    }
    PQclear(res);
  }
  // The first column of the first row, as text.
  std::string One(const std::string& sql) {
    PGresult* res = PQexec(conn_, sql.c_str());
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1) {
      const std::string msg = PQresultErrorMessage(res);
      PQclear(res);
      Die(tool_, "'" + sql.substr(0, 80) + "': " + msg);
    }
    std::string v = PQgetvalue(res, 0, 0);
    PQclear(res);
    return v;
  }

 private:
  const char* tool_;
  PGconn* conn_ = nullptr;
};

// `base` with its search_path set to `schema` (libpq's options=-c...).
inline std::string WithSearchPath(const std::string& base, const std::string& schema) {
  return base + (base.find('?') == std::string::npos ? "?" : "&") +
         "options=-csearch_path%3D" + schema;
}

// A schema for this run, named after the tool and the process: made now,
// dropped (with everything in it) by the destructor.
class PgRunSchema {
 public:
  PgRunSchema(const char* tool, const std::string& base_url, const std::string& prefix)
      : tool_(tool),
        base_(base_url),
        name_(prefix + "_" + std::to_string(static_cast<long>(::getpid()))) {
    PgConn c(tool_, base_);
    c.Exec("DROP SCHEMA IF EXISTS " + name_ + " CASCADE; CREATE SCHEMA " + name_);
  }
  ~PgRunSchema() {
    PGconn* conn = PQconnectdb(base_.c_str());
    if (PQstatus(conn) == CONNECTION_OK) {
      PQclear(PQexec(conn, ("SET client_min_messages = warning; DROP SCHEMA IF EXISTS " +
                            name_ + " CASCADE")
                               .c_str()));
    }
    PQfinish(conn);
  }
  PgRunSchema(const PgRunSchema&) = delete;
  PgRunSchema& operator=(const PgRunSchema&) = delete;

  const std::string& name() const { return name_; }
  // Connections made with it are named after the schema (application_name),
  // so that PgBackendPids finds this run's and no other's.
  std::string url() const { return WithSearchPath(base_, name_) + "&application_name=" + name_; }

 private:
  const char* tool_;
  std::string base_;
  std::string name_;
};

// The durability settings both the server and the floor run with.
struct PgSettings {
  std::string synchronous_commit;
  std::string fsync;
  std::string version;
};
inline PgSettings ReadPgSettings(const char* tool, const std::string& url) {
  PgConn c(tool, url);
  PgSettings s;
  s.synchronous_commit = c.One("SHOW synchronous_commit");
  s.fsync = c.One("SHOW fsync");
  s.version = c.One("SHOW server_version");
  return s;
}

// COPY's text format: backslash, tab, newline and carriage return escaped.
inline void AppendCopyField(std::string* out, const std::string& v) {
  for (char ch : v) {
    switch (ch) {
      case '\\': *out += "\\\\"; break;
      case '\t': *out += "\\t"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      default: *out += ch;
    }
  }
}

enum class PgFloorWay { kPreparedInsert, kCopy };

// One floor round: a fresh `floor_attendance` in the run's schema, made
// `LIKE` the server's `attendance` (columns, defaults, primary key and
// indexes), then records [begin, end) written into it the given way in one
// transaction. The same seven columns as the SQLite floor. Returns rows/s.
inline double PgFloorPerSecond(const char* tool, const std::string& url,
                               const std::vector<AttendanceRecord>& records,
                               size_t begin, size_t end, PgFloorWay way) {
  PgConn c(tool, url);
  c.Exec("DROP TABLE IF EXISTS floor_attendance;"
         "CREATE TABLE floor_attendance (LIKE attendance INCLUDING ALL)");
  const char* const kColumns =
      "(id, workshop_id, enrolment_id, day, status, note, district_code)";
  const auto t = Clock::now();
  c.Exec("BEGIN");
  if (way == PgFloorWay::kPreparedInsert) {
    PGresult* prep = PQprepare(
        c.get(), "floor_insert",
        (std::string("INSERT INTO floor_attendance ") + kColumns +
         " VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .c_str(),
        0, nullptr);
    if (PQresultStatus(prep) != PGRES_COMMAND_OK) {
      Die(tool, std::string("floor prepare: ") + PQresultErrorMessage(prep));
    }
    PQclear(prep);
    for (size_t i = begin; i < end; ++i) {
      const AttendanceRecord& r = records[i];
      const std::string day = std::to_string(r.day);
      const char* values[7] = {r.id.c_str(),     r.workshop_id.c_str(),
                               r.participant_id.c_str(), day.c_str(),
                               r.status.c_str(), r.note.c_str(), "5011"};
      PGresult* res =
          PQexecPrepared(c.get(), "floor_insert", 7, values, nullptr, nullptr, 0);
      if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        Die(tool, std::string("floor insert: ") + PQresultErrorMessage(res));
      }
      PQclear(res);
    }
  } else {
    PGresult* start = PQexec(
        c.get(), (std::string("COPY floor_attendance ") + kColumns + " FROM STDIN").c_str());
    if (PQresultStatus(start) != PGRES_COPY_IN) {
      Die(tool, std::string("floor COPY: ") + PQresultErrorMessage(start));
    }
    PQclear(start);
    std::string buf;
    auto flush = [&] {
      if (PQputCopyData(c.get(), buf.data(), static_cast<int>(buf.size())) != 1) {
        Die(tool, std::string("floor COPY: ") + PQerrorMessage(c.get()));
      }
      buf.clear();
    };
    for (size_t i = begin; i < end; ++i) {
      const AttendanceRecord& r = records[i];
      AppendCopyField(&buf, r.id);
      buf += '\t';
      AppendCopyField(&buf, r.workshop_id);
      buf += '\t';
      AppendCopyField(&buf, r.participant_id);
      buf += '\t';
      buf += std::to_string(r.day);
      buf += '\t';
      AppendCopyField(&buf, r.status);
      buf += '\t';
      AppendCopyField(&buf, r.note);
      buf += "\t5011\n";
      if (buf.size() >= 256 * 1024) flush();
    }
    if (!buf.empty()) flush();
    if (PQputCopyEnd(c.get(), nullptr) != 1) {
      Die(tool, std::string("floor COPY end: ") + PQerrorMessage(c.get()));
    }
    for (PGresult* res = PQgetResult(c.get()); res != nullptr; res = PQgetResult(c.get())) {
      const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
      const std::string msg = PQresultErrorMessage(res);
      PQclear(res);
      if (!ok) Die(tool, "floor COPY: " + msg);
    }
  }
  c.Exec("COMMIT");
  const double rate = static_cast<double>(end - begin) / Seconds(t);
  const std::string count = c.One("SELECT count(*) FROM floor_attendance");
  if (count != std::to_string(end - begin)) {
    Die(tool, "the floor table holds " + count + " rows, not " + std::to_string(end - begin));
  }
  c.Exec("DROP TABLE floor_attendance");
  return rate;
}

// The process ids of the other backends connected with the run schema's URL
// (the servers' connections): their CPU time is PostgreSQL's share of a
// run, when it runs on this machine.
inline std::vector<pid_t> PgBackendPids(const char* tool, const PgRunSchema& schema) {
  PgConn c(tool, schema.url());
  PGresult* res = PQexec(c.get(),
                         ("SELECT pid FROM pg_stat_activity WHERE application_name = '" +
                          schema.name() + "' AND pid <> pg_backend_pid()")
                             .c_str());
  std::vector<pid_t> pids;
  if (PQresultStatus(res) == PGRES_TUPLES_OK) {
    for (int i = 0; i < PQntuples(res); ++i) {
      pids.push_back(static_cast<pid_t>(std::atol(PQgetvalue(res, i, 0))));
    }
  }
  PQclear(res);
  return pids;
}

// The CPU seconds of `pids` together; -1 if one cannot be read (PostgreSQL
// on another machine).
inline double CpuSecondsOf(const std::vector<pid_t>& pids) {
  double sum = 0;
  for (pid_t p : pids) {
    const double s = ProcCpuSeconds(p);
    if (s < 0) return -1;
    sum += s;
  }
  return pids.empty() ? -1 : sum;
}

// SELECT count(*) FROM `table` in the run's schema.
inline long long PgCount(const char* tool, const std::string& url, const std::string& table) {
  PgConn c(tool, url);
  return std::stoll(c.One("SELECT count(*) FROM " + table));
}

}  // namespace kbo::bench

#endif  // KBO_TOOLS_BENCH_PG_SUPPORT_H_
