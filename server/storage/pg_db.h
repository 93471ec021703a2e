#ifndef KBO_SERVER_STORAGE_PG_DB_H_
#define KBO_SERVER_STORAGE_PG_DB_H_

#include <memory>
#include <string>
#include <string_view>

#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server {

// Whether `where` names a PostgreSQL database ("postgresql://..." or
// "postgres://...") rather than a SQLite file.
bool IsPostgresUrl(std::string_view where);

// `url` with any password replaced by "***", for messages and logs.
std::string RedactUrl(std::string_view url);

// Opens a connection to the PostgreSQL database at `url` (a libpq URI:
// postgresql://user[:password]@host[:port]/dbname[?param=value...]), in UTF-8.
//   kUnavailable: the server can't be reached or refused the connection
//     (the message is libpq's, with the password left out).
//
// The connection speaks SqlDialect::kPostgres behind the same Db, Statement
// and Transaction as SQLite (shared/sqlite/db.h):
// - numbered parameters ?N are sent as $N; each statement is prepared
//   (cached ones once per connection), its parameter types read back, and
//   bytea parameters sent as raw bytes, everything else as text;
// - integer, boolean and numeric columns read as integers (numeric with a
//   fraction as real), bytea as its bytes;
// - Transaction takes pg_advisory_xact_lock(kWriterLock) after BEGIN, so
//   write transactions of every process on the database run one at a time,
//   in the order they asked, as SQLite's do (docs/decisions.md);
// - an error inside a transaction ends it (PostgreSQL's rule): callers must
//   not go on after a failed statement, only roll back;
// - no wait is unbounded: connecting gives up after kConnectTimeoutSeconds,
//   TCP keepalives notice a database host gone from the network within a
//   minute (the URL's own connect_timeout and keepalives_* win), and a
//   session idle in a transaction for kIdleInTransactionSeconds is ended by
//   PostgreSQL, releasing the writer lock (a server process that hangs, or
//   is stopped, while holding it blocks every writer of every process for
//   that long, not for good).
Result<std::unique_ptr<Db>> OpenPostgres(const std::string& url);
inline constexpr int kConnectTimeoutSeconds = 10;
inline constexpr int kIdleInTransactionSeconds = 60;
// A writer waits for the lock in slices of this long; after each, a holder
// that has waited on its own client for kIdleInTransactionSeconds is ended
// (a process stopped mid-pipeline, which the timeout above does not see).
inline constexpr int64_t kWriterWatchSliceMs = 15000;
// A statement waits at most this long for a lock (holding the writer lock,
// or reading): only something outside the servers (an operator's `LOCK
// TABLE` in psql, another server's migration) takes one that stops them,
// and a request that waited for it held its server's store for as long
// (its console hung, its connections filled). Past it the request is 503
// busy, and tried again. With the 15 s a device's write may wait for its
// turn, under a device's 30 s read timeout.
inline constexpr int64_t kLockWaitMs = 10000;

// For tests: the slice and the time a holder may wait on its client.
void SetWriterWatchForTests(Db& db, int64_t slice_ms, int64_t hung_s);
// For tests: kLockWaitMs.
void SetLockWaitForTests(Db& db, int64_t ms);
// Leaves `error` as a failed deferred write's, as a transaction ended on a
// lost connection could (tests of what the next transaction does).
void LeaveDeferredErrorForTests(Db& db, const Status& error);
// How many hung holders of the writer lock this connection has ended.
uint64_t HungWritersEnded(Db& db);

// The value libpq uses for connection option `key` ("keepalives_idle",
// "connect_timeout"...) on a connection OpenPostgres made; empty if unset.
// For tests.
std::string PgConnectionOption(Db& db, const char* key);

// The advisory lock key every writer takes ("KBOFIELD" in ASCII).
inline constexpr long long kWriterLock = 0x4b424f4649454c44LL;

}  // namespace kbo::server

#endif  // KBO_SERVER_STORAGE_PG_DB_H_
