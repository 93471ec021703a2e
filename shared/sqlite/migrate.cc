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
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  int current = 0;
  {
    Statement st(db, "PRAGMA user_version");
    if (!st.Step()) return st.status().ok() ? Status::Internal("user_version") : st.status();
    current = static_cast<int>(st.ColumnInt(0));
  }
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
    if (Status s = db.Exec("PRAGMA user_version = " + std::to_string(latest));
        !s.ok()) {
      return s;
    }
  }
  return txn.Commit();
}

}  // namespace kbo
