#include "server/storage/copy_to_postgres.h"

#include <utility>

namespace kbo::server {
namespace {

struct TableColumns {
  std::string table;
  std::vector<std::string> columns;
  std::vector<std::string> identity;  // columns PostgreSQL numbers itself
};

// PostgreSQL's server tables and their columns, in order
// (tests/pg/schema_test.cc keeps them equal to SQLite's).
Result<std::vector<TableColumns>> ReadLayout(Db& pg) {
  Statement st(pg,
               "SELECT table_name, column_name, is_identity FROM information_schema.columns"
               " WHERE table_schema = current_schema() AND table_name <> 'schema_version'"
               " ORDER BY table_name, ordinal_position");
  std::vector<TableColumns> tables;
  while (st.Step()) {
    std::string table = st.ColumnText(0);
    if (tables.empty() || tables.back().table != table) {
      tables.push_back(TableColumns{std::move(table), {}, {}});
    }
    tables.back().columns.push_back(st.ColumnText(1));
    if (st.ColumnText(2) == "YES") tables.back().identity.push_back(st.ColumnText(1));
  }
  if (!st.status().ok()) return st.status();
  if (tables.empty()) {
    return Status::FailedPrecondition("the PostgreSQL database has no server tables");
  }
  return tables;
}

Result<int64_t> Count(Db& db, const std::string& table) {
  Statement st(db, "SELECT COUNT(*) FROM " + table);
  if (!st.Step()) {
    return st.status().ok() ? Status::Internal("no count of " + table) : st.status();
  }
  return st.ColumnInt(0);
}

// `pg` must not hold a server yet: no id, and no device, change set, user
// or audit line.
Status CheckEmpty(Db& pg) {
  Statement id(pg, "SELECT server_id FROM server_state WHERE singleton = 1");
  if (id.Step() && !id.IsNull(0)) {
    return Status::FailedPrecondition(
        "the PostgreSQL database already belongs to a server (id " + id.ColumnText(0) +
        "); copy into a new, empty database");
  }
  if (!id.status().ok()) return id.status();
  for (const char* table : {"device", "change_set_log", "web_user", "audit_log", "producer"}) {
    Result<int64_t> n = Count(pg, table);
    if (!n.ok()) return n.status();
    if (*n != 0) {
      return Status::FailedPrecondition(std::string("the PostgreSQL database already has rows in ") +
                                        table + "; copy into a new, empty database");
    }
  }
  return Status();
}

}  // namespace

Status CopyToPostgres(Db& sqlite, Db& pg, std::vector<CopiedTable>* copied,
                      const std::function<void(const CopiedTable&)>& progress) {
  if (sqlite.dialect() != SqlDialect::kSqlite || pg.dialect() != SqlDialect::kPostgres) {
    return Status::InvalidArgument("copy from SQLite to PostgreSQL only");
  }
  KBO_ASSIGN_OR_RETURN(std::vector<TableColumns> tables, ReadLayout(pg));
  Transaction read(sqlite);
  if (!read.status().ok()) return read.status();
  Transaction write(pg);
  if (!write.status().ok()) return write.status();
  if (Status s = CheckEmpty(pg); !s.ok()) return s;
  // The migration's own row: the copy brings the server's.
  if (Status s = pg.Exec("DELETE FROM server_state"); !s.ok()) return s;

  copied->clear();
  for (const TableColumns& t : tables) {
    std::string cols;
    std::string params;
    for (size_t i = 0; i < t.columns.size(); ++i) {
      if (i) {
        cols += ", ";
        params += ", ";
      }
      cols += t.columns[i];
      params += "?" + std::to_string(i + 1);
    }
    Statement from(sqlite, "SELECT " + cols + " FROM " + t.table);
    if (!from.status().ok()) {
      return Status::FailedPrecondition("server.db has no table " + t.table + " as this build "
                                        "knows it (" + from.status().message() +
                                        "): run this kbo-server on it once to migrate it");
    }
    Statement& to = pg.Cached("INSERT INTO " + t.table + " (" + cols + ") VALUES (" +
                              params + ")");
    if (!to.status().ok()) return to.status();
    CopiedTable c;
    c.table = t.table;
    while (from.Step()) {
      (void)to.Reset();
      for (size_t i = 0; i < t.columns.size(); ++i) {
        to.Bind(static_cast<int>(i + 1), from.ColumnValue(static_cast<int>(i)));
      }
      if (Status s = to.Run(); !s.ok()) {
        return Status::FromCode(s.code(), t.table + ": " + s.message());
      }
      ++c.sqlite_rows;
    }
    if (!from.status().ok()) return from.status();
    for (const std::string& col : t.identity) {
      // The next number PostgreSQL hands out follows the copied ones.
      Statement next(pg, "SELECT setval(pg_get_serial_sequence('" + t.table + "', '" + col +
                             "'), COALESCE(MAX(" + col + "), 0) + 1, false) FROM " + t.table);
      if (Status s = next.Run(); !s.ok()) return s;
    }
    KBO_ASSIGN_OR_RETURN(int64_t in_sqlite, Count(sqlite, t.table));
    KBO_ASSIGN_OR_RETURN(c.postgres_rows, Count(pg, t.table));
    if (in_sqlite != c.sqlite_rows || c.postgres_rows != c.sqlite_rows) {
      return Status::Internal(t.table + ": " + std::to_string(in_sqlite) + " rows in SQLite, " +
                              std::to_string(c.sqlite_rows) + " read, " +
                              std::to_string(c.postgres_rows) +
                              " in PostgreSQL; nothing was copied");
    }
    copied->push_back(c);
    if (progress) progress(c);
  }
  return write.Commit();
}

}  // namespace kbo::server
