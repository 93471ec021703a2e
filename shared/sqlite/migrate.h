#ifndef KBO_SHARED_SQLITE_MIGRATE_H_
#define KBO_SHARED_SQLITE_MIGRATE_H_

#include <cstddef>
#include <string>

#include "shared/embedded.h"
#include "shared/sqlite/db.h"

namespace kbo {

// Applies the numbered migrations (files named NNNN_*.sql, in order) that
// the database has not seen, all in one transaction, and sets
// PRAGMA user_version to the last number. A database newer than the binary
// is refused (kFailedPrecondition); on any error nothing is applied.
Status Migrate(Db& db, const EmbeddedFile* migrations, size_t count);

// The schema version a list of migrations brings a database to.
int LatestSchemaVersion(const EmbeddedFile* migrations, size_t count);

// A column the current layout must have (and whether it is the table's
// whole primary key).
struct RequiredColumn {
  const char* table;
  const char* column;
  bool primary_key = false;
};

// Until the first release the migrations are edited in place, so a database
// from an earlier development build can claim the current schema version
// with another layout. kFailedPrecondition naming `file` if any of
// `required` is missing (or is not the primary key it must be), instead of
// an obscure SQL error later; nothing is changed.
Status CheckLayout(Db& db, const RequiredColumn* required, size_t count,
                   const std::string& file);

}  // namespace kbo

#endif  // KBO_SHARED_SQLITE_MIGRATE_H_
