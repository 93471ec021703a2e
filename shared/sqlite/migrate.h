#ifndef KBO_SHARED_SQLITE_MIGRATE_H_
#define KBO_SHARED_SQLITE_MIGRATE_H_

#include <cstddef>

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

}  // namespace kbo

#endif  // KBO_SHARED_SQLITE_MIGRATE_H_
