#ifndef KBO_SHARED_SQLITE_DB_H_
#define KBO_SHARED_SQLITE_DB_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "shared/result.h"
#include "shared/value.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kbo {

class Statement;

// Durability/concurrency settings applied by Db::Open.
struct DbOptions {
  // WAL journal; synchronous=FULL so a committed transaction survives a power
  // cut, not only a process crash (docs/decisions.md).
  bool wal = true;
  bool synchronous_full = true;
  // How long a writer waits for another connection's lock. Default 5 s.
  int busy_timeout_ms = 5000;
};

// One SQLite connection. Errors come back as Status (kIOError, with
// SQLite's message). Move-only; not thread-safe (one per thread).
class Db {
 public:
  // Opens (creating if needed) the database at `path`; ":memory:" works.
  static Result<std::unique_ptr<Db>> Open(const std::string& path,
                                          const DbOptions& options = DbOptions{});
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs one or more statements without results.
  Status Exec(std::string_view sql);
  // A prepared statement kept for the life of the connection, reset and with
  // its bindings cleared. For hot paths (the applier, the store). Check
  // status() of the result. The reference stays valid until ~Db.
  Statement& Cached(const std::string& sql);
  // As Cached(sql), but found by a caller-chosen key instead of by its text,
  // so a hot path need not build the SQL to find its statement. A key
  // (`owner`, e.g. a catalogue entity's address, and `variant`, e.g. a mask
  // of columns) must always stand for the same SQL text; `make_sql()` is
  // called on first use only.
  template <typename MakeSql>
  Statement& CachedBy(const void* owner, uint64_t variant, MakeSql&& make_sql) {
    if (Statement* st = FindKeyed(owner, variant)) return *st;
    return AddKeyed(owner, variant, make_sql());
  }
  // Resets every cached statement, ending the read transaction a statement
  // left mid-result would otherwise keep open (in WAL mode a stale snapshot
  // makes the next write fail at once with "database is locked" when another
  // connection wrote meanwhile, and it holds back checkpoints). Transaction
  // calls it before BEGIN and after COMMIT/ROLLBACK.
  void ResetCached();
  sqlite3* handle() { return db_; }
  int64_t LastInsertRowId() const;
  int Changes() const;
  const std::string& path() const { return path_; }

 private:
  explicit Db(sqlite3* db, std::string path);
  // Resets and returns the statement cached under the key, or nullptr.
  Statement* FindKeyed(const void* owner, uint64_t variant);
  Statement& AddKeyed(const void* owner, uint64_t variant, const std::string& sql);
  sqlite3* db_;
  std::string path_;
  std::map<std::string, std::unique_ptr<Statement>> cache_;
  // Keyed views of statements owned by cache_.
  std::map<std::pair<const void*, uint64_t>, Statement*> keyed_;
};

// A prepared statement. Bind indexes are 1-based; column indexes 0-based.
class Statement {
 public:
  Statement(Db& db, std::string_view sql);  // check status() after
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  const Status& status() const { return status_; }
  // Whether the error in status() is a primary key refused as a duplicate
  // (an INSERT of a row that exists; the statement wrote nothing).
  bool duplicate_key() const { return duplicate_key_; }

  Statement& BindNull(int i);
  Statement& Bind(int i, int64_t v);
  Statement& Bind(int i, double v);
  Statement& Bind(int i, std::string_view text);
  Statement& BindBlob(int i, std::string_view bytes);
  // As Bind(i, text) and Bind(i, v), without SQLite's private copy: the bytes
  // must stay valid and unchanged until the statement is reset (for hot
  // paths that bind, run and are done).
  Statement& BindNoCopy(int i, std::string_view text);
  Statement& BindNoCopy(int i, const Value& v);
  Statement& BindBlobNoCopy(int i, std::string_view bytes);
  // Text and blob references bind as TEXT.
  Statement& Bind(int i, const Value& v);

  // Advances: true with a row, false when done. Errors go to status().
  bool Step();
  // Runs to completion; returns the first error.
  Status Run();
  Status Reset();

  bool IsNull(int col);
  int64_t ColumnInt(int col);
  double ColumnDouble(int col);
  std::string ColumnText(int col);
  std::string ColumnBlob(int col);
  // NULL → null, INTEGER → integer, FLOAT → real, TEXT → text.
  Value ColumnValue(int col);

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  Status status_;
  bool duplicate_key_ = false;
};

// BEGIN IMMEDIATE on construction; rolls back on destruction unless
// Commit() ran. Check status() before use.
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  const Status& status() const { return status_; }
  Status Commit();

 private:
  Db& db_;
  Status status_;
  bool done_ = false;
};

}  // namespace kbo

#endif  // KBO_SHARED_SQLITE_DB_H_
