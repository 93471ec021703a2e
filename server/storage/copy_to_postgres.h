#ifndef KBO_SERVER_STORAGE_COPY_TO_POSTGRES_H_
#define KBO_SERVER_STORAGE_COPY_TO_POSTGRES_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "shared/sqlite/db.h"
#include "shared/status.h"

namespace kbo::server {

// One table copied: its rows in SQLite and, counted afterwards, in
// PostgreSQL.
struct CopiedTable {
  std::string table;
  int64_t sqlite_rows = 0;
  int64_t postgres_rows = 0;
};

// Copies every row of every server table from `sqlite` (a server.db at the
// latest SQLite schema) into `pg` (migrated with schema/server-pg, and
// empty: no device, change set, user or entity row, no server id), in one
// PostgreSQL transaction, then counts each table on both sides.
// `progress` is called after each table. SQLite is read inside a write
// transaction, so a kbo-server still serving it can't change it meanwhile
// (its pushes wait, then fail and are sent again by the devices).
//   kFailedPrecondition: `pg` already holds a server's data;
//   kInternal: a table's counts differ after the copy (naming it);
//   other errors: SQLite's or PostgreSQL's.
// On any error nothing is left in `pg`. Devices notice nothing: the server id, its sequences, clock, nonces and
// every change set come across as they are (the key and blobs stay in the
// data folder).
Status CopyToPostgres(Db& sqlite, Db& pg, std::vector<CopiedTable>* copied,
                      const std::function<void(const CopiedTable&)>& progress = {});

}  // namespace kbo::server

#endif  // KBO_SERVER_STORAGE_COPY_TO_POSTGRES_H_
