// kbo-server's PostgreSQL schema (schema/server-pg) against its SQLite one
// (kServerMigrations): the same tables, the same columns in the same order
// with the same types (under the mapping of schema/server-pg/0001_server.sql),
// NOT NULL, defaults, identity, keys, unique constraints, CHECKs and named
// indexes, so the two cannot drift apart without this test failing.
#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "schema/schema.h"
#include "shared/sqlite/db.h"
#include "shared/sqlite/migrate.h"
#include "tests/pg/pg_conn.h"

namespace kbo::testing {
namespace {

// "0002_x.sql" -> 2.
int FileNumber(std::string_view name) {
  int n = 0;
  for (char ch : name) {
    if (ch < '0' || ch > '9') break;
    n = n * 10 + (ch - '0');
  }
  return n;
}

// The migration runner's rule (schema/server-pg/0001_server.sql): each file
// above schema_version.version, then version set to its number, in one
// transaction. The test's own, in plain libpq: the backend's runner is
// tested where it is written.
void ApplyPgMigrations(PgConn& c) {
  c.Must("BEGIN");
  int64_t version = 0;
  if (c.Value("SELECT to_regclass('schema_version') IS NOT NULL") == "t") {
    version = std::stoll(c.Value("SELECT version FROM schema_version"));
  }
  for (size_t i = 0; i < schema::kServerPgMigrations_count; ++i) {
    const EmbeddedFile& f = schema::kServerPgMigrations[i];
    const int n = FileNumber(f.name);
    if (n <= version) continue;
    c.Must(std::string(f.bytes));
    c.Must("UPDATE schema_version SET version = " + std::to_string(n));
  }
  c.Must("COMMIT");
}

std::string Upper(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

// "(x IS NULL)" / " x  is null " -> "X IS NULL": a predicate as both
// databases print it.
std::string NormalPredicate(std::string s) {
  std::string out;
  for (char ch : s) {
    if (ch == '(' || ch == ')') continue;
    if (std::isspace(static_cast<unsigned char>(ch))) {
      if (!out.empty() && out.back() != ' ') out += ' ';
      continue;
    }
    out += ch;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return Upper(out);
}

// A schema, described the same way from either database.
struct Described {
  // table -> its columns in order: "name TYPE [NOT NULL] [DEFAULT v] [IDENTITY]"
  std::map<std::string, std::vector<std::string>> columns;
  // table -> primary key columns in key order
  std::map<std::string, std::string> primary_keys;
  // "table(col,...)" of each UNIQUE constraint
  std::set<std::string> uniques;
  // tables with a CHECK constraint
  std::set<std::string> checks;
  // named index -> "table(col,...) [UNIQUE] [WHERE predicate]"
  std::map<std::string, std::string> indexes;
};

std::string PgTypeFor(const std::string& sqlite_type) {
  const std::string t = Upper(sqlite_type);
  if (t == "INTEGER") return "bigint";
  if (t == "REAL") return "double precision";
  if (t == "TEXT") return "text";
  if (t == "BLOB") return "bytea";
  return "(no PostgreSQL type for SQLite's " + sqlite_type + ")";
}

Described DescribeSqlite(Db& db) {
  Described d;
  std::vector<std::pair<std::string, std::string>> tables;  // name, sql
  {
    Statement st(db, "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                     "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name");
    while (st.Step()) tables.emplace_back(st.ColumnText(0), st.ColumnText(1));
    REQUIRE(st.status().ok());
  }
  for (const auto& [table, sql] : tables) {
    const bool autoincrement = Upper(sql).find("AUTOINCREMENT") != std::string::npos;
    if (Upper(sql).find("CHECK") != std::string::npos) d.checks.insert(table);
    std::vector<std::pair<int64_t, std::string>> pk;
    Statement st(db, "SELECT name, type, \"notnull\", dflt_value, pk "
                     "FROM pragma_table_info(?1) ORDER BY cid");
    st.Bind(1, std::string_view(table));
    auto& cols = d.columns[table];
    while (st.Step()) {
      const std::string name = st.ColumnText(0);
      const int64_t pk_pos = st.ColumnInt(4);
      // A primary key column is NOT NULL on PostgreSQL whatever SQLite says
      // (SQLite lets a non-INTEGER key column hold NULL).
      std::string c = name + " " + PgTypeFor(st.ColumnText(1));
      if (st.ColumnInt(2) != 0 || pk_pos > 0) c += " NOT NULL";
      if (!st.IsNull(3)) c += " DEFAULT " + st.ColumnText(3);
      if (autoincrement && pk_pos > 0) c += " IDENTITY";
      cols.push_back(c);
      if (pk_pos > 0) pk.emplace_back(pk_pos, name);
    }
    REQUIRE(st.status().ok());
    std::sort(pk.begin(), pk.end());
    std::string keys;
    for (const auto& [pos, name] : pk) keys += (keys.empty() ? "" : ",") + name;
    if (!keys.empty()) d.primary_keys[table] = keys;

    // Indexes: UNIQUE constraints (origin 'u') and named ones (origin 'c').
    std::vector<std::tuple<std::string, bool, std::string>> indexes;
    Statement il(db, "SELECT name, \"unique\", origin FROM pragma_index_list(?1)");
    il.Bind(1, std::string_view(table));
    while (il.Step()) {
      indexes.emplace_back(il.ColumnText(0), il.ColumnInt(1) != 0, il.ColumnText(2));
    }
    REQUIRE(il.status().ok());
    for (const auto& [index, unique, origin] : indexes) {
      if (origin == "pk") continue;
      std::string cols_of;
      Statement ii(db, "SELECT name FROM pragma_index_info(?1) ORDER BY seqno");
      ii.Bind(1, std::string_view(index));
      while (ii.Step()) cols_of += (cols_of.empty() ? "" : ",") + ii.ColumnText(0);
      REQUIRE(ii.status().ok());
      if (origin == "u") {
        d.uniques.insert(table + "(" + cols_of + ")");
        continue;
      }
      std::string desc = table + "(" + cols_of + ")";
      if (unique) desc += " UNIQUE";
      Statement sq(db, "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1");
      sq.Bind(1, std::string_view(index));
      REQUIRE(sq.Step());
      const std::string index_sql = sq.ColumnText(0);
      const size_t where = Upper(index_sql).find(" WHERE ");
      if (where != std::string::npos) {
        desc += " WHERE " + NormalPredicate(index_sql.substr(where + 7));
      }
      d.indexes[index] = desc;
    }
  }
  return d;
}

// "''::text" -> "''", "0" -> "0": a default as SQLite prints it.
std::string SqliteStyleDefault(std::string v) {
  for (const char* cast : {"::text", "::bigint", "::integer", "::double precision"}) {
    const std::string c = cast;
    if (v.size() > c.size() && v.compare(v.size() - c.size(), c.size(), c) == 0) {
      v.erase(v.size() - c.size());
    }
  }
  return v;
}

// The tables of the connection's current schema but schema_version (the
// PostgreSQL side's PRAGMA user_version).
Described DescribePg(PgConn& c) {
  Described d;
  PgResult cols = c.Must(
      "SELECT table_name, column_name, data_type, is_nullable, column_default, "
      "is_identity FROM information_schema.columns c "
      "WHERE table_schema = current_schema() AND table_name <> 'schema_version' "
      "AND EXISTS (SELECT 1 FROM information_schema.tables t WHERE "
      "t.table_schema = c.table_schema AND t.table_name = c.table_name AND "
      "t.table_type = 'BASE TABLE') ORDER BY table_name, ordinal_position");
  for (int i = 0; i < PQntuples(cols.get()); ++i) {
    std::string col = std::string(PQgetvalue(cols.get(), i, 1)) + " " +
                      PQgetvalue(cols.get(), i, 2);
    if (std::string(PQgetvalue(cols.get(), i, 3)) == "NO") col += " NOT NULL";
    if (!PQgetisnull(cols.get(), i, 4)) {
      col += " DEFAULT " + SqliteStyleDefault(PQgetvalue(cols.get(), i, 4));
    }
    if (std::string(PQgetvalue(cols.get(), i, 5)) == "YES") col += " IDENTITY";
    d.columns[PQgetvalue(cols.get(), i, 0)].push_back(col);
  }
  // Constraints: primary keys and UNIQUE with their columns in key order,
  // and the tables with a CHECK.
  PgResult cons = c.Must(
      "SELECT t.relname, k.contype, (SELECT string_agg(a.attname, ',' ORDER BY u.ord) "
      "  FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord) "
      "  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum) "
      "FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid "
      "WHERE k.connamespace = current_schema()::regnamespace "
      "AND t.relname <> 'schema_version' AND k.contype IN ('p', 'u', 'c')");
  for (int i = 0; i < PQntuples(cons.get()); ++i) {
    const std::string table = PQgetvalue(cons.get(), i, 0);
    const std::string type = PQgetvalue(cons.get(), i, 1);
    const std::string keys = PQgetvalue(cons.get(), i, 2);
    if (type == "p") d.primary_keys[table] = keys;
    if (type == "u") d.uniques.insert(table + "(" + keys + ")");
    if (type == "c") d.checks.insert(table);
  }
  // Indexes that back no constraint: the named ones.
  PgResult idx = c.Must(
      "SELECT i.relname, t.relname, ix.indisunique, pg_get_expr(ix.indpred, ix.indrelid), "
      "(SELECT string_agg(a.attname, ',' ORDER BY k.ord) "
      "  FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, ord) "
      "  JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum) "
      "FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid "
      "JOIN pg_class t ON t.oid = ix.indrelid "
      "WHERE t.relnamespace = current_schema()::regnamespace "
      "AND t.relname <> 'schema_version' "
      "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = ix.indexrelid)");
  for (int i = 0; i < PQntuples(idx.get()); ++i) {
    std::string desc = std::string(PQgetvalue(idx.get(), i, 1)) + "(" +
                       PQgetvalue(idx.get(), i, 4) + ")";
    if (std::string(PQgetvalue(idx.get(), i, 2)) == "t") desc += " UNIQUE";
    if (!PQgetisnull(idx.get(), i, 3)) {
      desc += " WHERE " + NormalPredicate(PQgetvalue(idx.get(), i, 3));
    }
    d.indexes[PQgetvalue(idx.get(), i, 0)] = desc;
  }
  return d;
}

std::vector<std::string> Keys(const std::map<std::string, std::vector<std::string>>& m) {
  std::vector<std::string> k;
  for (const auto& [name, v] : m) k.push_back(name);
  return k;
}

std::unique_ptr<Db> SqliteServer() {
  auto db = Db::Open(":memory:");
  REQUIRE(db.ok());
  REQUIRE(Migrate(**db, schema::kServerMigrations, schema::kServerMigrations_count).ok());
  return std::move(db).value();
}

TEST_CASE("pg schema: the PostgreSQL server schema has exactly the SQLite server's "
          "tables, columns, keys and indexes",
          "[pg]") {
  PgConn c;
  PgTestSchema schema(c);
  ApplyPgMigrations(c);
  auto sqlite = SqliteServer();
  const Described want = DescribeSqlite(*sqlite);
  const Described got = DescribePg(c);

  // Not vacuous: the SQLite side has what the server is known to have.
  REQUIRE(want.columns.size() >= 25);
  REQUIRE(want.columns.count("audit_log") == 1);
  REQUIRE(want.indexes.count("refused_row_open") == 1);
  CHECK(want.indexes.at("blob_partial") == "blob(uploader) WHERE COMPLETE_AT IS NULL");
  CHECK(want.uniques.count("device(public_key)") == 1);
  CHECK(want.checks.count("server_state") == 1);

  CHECK(Keys(got.columns) == Keys(want.columns));
  for (const auto& [table, cols] : want.columns) {
    CAPTURE(table);
    const auto it = got.columns.find(table);
    if (it != got.columns.end()) CHECK(it->second == cols);
  }
  CHECK(got.primary_keys == want.primary_keys);
  CHECK(got.uniques == want.uniques);
  CHECK(got.checks == want.checks);
  CHECK(got.indexes == want.indexes);
}

TEST_CASE("pg schema: migrations are numbered 1, 2, 3... and recorded in schema_version",
          "[pg]") {
  REQUIRE(schema::kServerPgMigrations_count >= 1);
  for (size_t i = 0; i < schema::kServerPgMigrations_count; ++i) {
    CAPTURE(schema::kServerPgMigrations[i].name);
    CHECK(FileNumber(schema::kServerPgMigrations[i].name) == static_cast<int>(i) + 1);
  }
  PgConn c;
  PgTestSchema schema(c);
  ApplyPgMigrations(c);
  const std::string latest = std::to_string(schema::kServerPgMigrations_count);
  CHECK(c.Value("SELECT count(*) FROM schema_version") == "1");
  CHECK(c.Value("SELECT version FROM schema_version") == latest);
  // A second run applies nothing (it would fail on CREATE TABLE if it did).
  ApplyPgMigrations(c);
  CHECK(c.Value("SELECT version FROM schema_version") == latest);
  // One row only.
  CHECK(PgSqlState(c.Exec("INSERT INTO schema_version VALUES (2, 0)")) == "23514");
}

TEST_CASE("pg schema: the server's first rows, identities and CHECKs behave as on SQLite",
          "[pg]") {
  PgConn c;
  PgTestSchema schema(c);
  ApplyPgMigrations(c);
  // server_state: one row, the sequence starting at 1; a second is refused.
  CHECK(c.Value("SELECT singleton || ':' || next_seq FROM server_state") == "1:1");
  CHECK(PgSqlState(c.Exec("INSERT INTO server_state (singleton) VALUES (2)")) ==
        "23514");  // check_violation
  // audit_log numbers its lines itself, in order.
  c.Must("INSERT INTO audit_log (at, actor, action) VALUES "
         "('2026-01-01T00:00:00Z', 'cli', 'token'), ('2026-01-01T00:00:01Z', "
         "'user:สมชาย', 'edit')");
  CHECK(c.Value("SELECT string_agg(id || ' ' || actor || ' [' || subject || ']', ', ' "
                "ORDER BY id) FROM audit_log") == "1 cli [], 2 user:สมชาย []");
  // A device's public key is unique; defaults as on SQLite.
  c.Must("INSERT INTO device (device_id, public_key, role, districts, enrolled_at) "
         "VALUES ('d1', 'k', 'field_officer', '5011', 'now')");
  CHECK(c.Value("SELECT last_seq || ',' || grant_seq || ',[' || label || ']' FROM device") ==
        "0,0,[]");
  CHECK(PgSqlState(c.Exec("INSERT INTO device (device_id, public_key, role, districts, "
                          "enrolled_at) VALUES ('d2', 'k', 'r', 'all', 'now')")) ==
        "23505");  // unique_violation
  // Entity rows keep Thai text, 64-bit integers and their cell versions.
  c.Must("INSERT INTO producer (id, name, members, cell_versions) VALUES "
         "('p1', 'กลุ่มทอผ้าบ้านพร้าว', 9223372036854775807, '\\x00ff00'::bytea)");
  CHECK(c.Value("SELECT name || '|' || members || '|' || deleted || '|' || "
                "octet_length(cell_versions) FROM producer") ==
        "กลุ่มทอผ้าบ้านพร้าว|9223372036854775807|0|3");
}

}  // namespace
}  // namespace kbo::testing
