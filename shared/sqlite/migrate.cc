#include "shared/sqlite/migrate.h"

#include <algorithm>
#include <cstdlib>
#include <string>

namespace kbo {
namespace {

// "0002_client.sql" -> 2; -1 if the name has no leading number.
int MigrationNumber(std::string_view name) {
  int n = 0;
  size_t i = 0;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) {
    n = n * 10 + (name[i] - '0');
  }
  return i == 0 ? -1 : n;
}

}  // namespace

int LatestSchemaVersion(const EmbeddedFile* migrations, size_t count) {
  int latest = 0;
  for (size_t i = 0; i < count; ++i) {
    latest = std::max(latest, MigrationNumber(migrations[i].name));
  }
  return latest;
}

Status Migrate(Db& db, const EmbeddedFile* migrations, size_t count) {
  // Up to date (every open but the first after an upgrade): no write
  // transaction, so a command that only reads (a list, an export) is not
  // kept waiting by a writer, and never fails for one.
  {
    Result<int> now = db.SchemaVersion();
    if (now.ok() && *now == LatestSchemaVersion(migrations, count)) {
      int previous = 0;
      bool numbered = true;
      for (size_t i = 0; i < count; ++i) {
        const int n = MigrationNumber(migrations[i].name);
        numbered = numbered && n == previous + 1;
        previous = n;
      }
      if (numbered) return Status();
    }
  }
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  Result<int> version = db.SchemaVersion();
  if (!version.ok()) return version.status();
  const int current = *version;
  const int latest = LatestSchemaVersion(migrations, count);
  if (current > latest) {
    return Status::FailedPrecondition(
        "database " + db.path() + " has schema version " +
        std::to_string(current) + ", newer than this program knows (" +
        std::to_string(latest) + "): upgrade the program");
  }
  int previous = 0;
  for (size_t i = 0; i < count; ++i) {
    const int n = MigrationNumber(migrations[i].name);
    if (n != previous + 1) {
      return Status::Internal("migrations not numbered 1, 2, 3...: " +
                              std::string(migrations[i].name));
    }
    previous = n;
    if (n <= current) continue;
    if (Status s = db.Exec(migrations[i].bytes); !s.ok()) {
      return Status::IOError("migration " + std::string(migrations[i].name) +
                             " failed: " + s.message());
    }
  }
  if (latest != current) {
    if (Status s = db.SetSchemaVersion(latest); !s.ok()) return s;
  }
  return txn.Commit();
}

Status CheckLayout(Db& db, const RequiredColumn* required, size_t count,
                   const std::string& file) {
  // Only SQLite files outlive development builds; a PostgreSQL database is
  // made by its own migrations (schema/server-pg) from the start.
  if (db.dialect() != SqlDialect::kSqlite) return Status();
  for (size_t i = 0; i < count; ++i) {
    const RequiredColumn& r = required[i];
    Statement st(db, "SELECT pk FROM pragma_table_info(?1) WHERE name = ?2");
    st.Bind(1, std::string_view(r.table)).Bind(2, std::string_view(r.column));
    const bool found = st.Step();
    if (!st.status().ok()) return st.status();
    const bool ok = found && (!r.primary_key || st.ColumnInt(0) == 1);
    if (!ok) {
      return Status::FailedPrecondition(
          file + " was made by an earlier development build whose layout this "
          "build cannot read (" + r.table + "." + r.column + " " +
          (found ? "is not the primary key" : "is missing") +
          "). Sync or export it with the build that made it, then move it "
          "aside; nothing in it was changed");
    }
  }
  return Status();
}

}  // namespace kbo
