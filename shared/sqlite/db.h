#ifndef KBO_SHARED_SQLITE_DB_H_
#define KBO_SHARED_SQLITE_DB_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/result.h"
#include "shared/value.h"

namespace kbo {

class Statement;
class StatementImpl;

// Which SQL a connection speaks. Most statements are written once, in the
// subset both understand (numbered parameters ?1, ON CONFLICT ... DO,
// RETURNING); the few that differ ask db.dialect() (docs/architecture.md).
enum class SqlDialect { kSqlite, kPostgres };

// Durability/concurrency settings applied by Db::Open (SQLite).
struct DbOptions {
  // WAL journal; synchronous=FULL so a committed transaction survives a power
  // cut, not only a process crash (docs/decisions.md).
  bool wal = true;
  bool synchronous_full = true;
  // How long a writer waits for another connection's lock. Default 5 s.
  int busy_timeout_ms = 5000;
};

// One database connection: SQLite here (Db::Open), PostgreSQL through libpq
// in the server (server/storage/pg_db.h). Errors come back as Status
// (kIOError, with the database's message). Not copyable; not thread-safe
// (one per thread).
class Db {
 public:
  // Opens (creating if needed) the SQLite database at `path`; ":memory:"
  // works.
  static Result<std::unique_ptr<Db>> Open(const std::string& path,
                                          const DbOptions& options = DbOptions{});
  virtual ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  virtual SqlDialect dialect() const = 0;

  // Runs one or more statements without parameters or results.
  virtual Status Exec(std::string_view sql) = 0;
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
  // SQLite only (0 on PostgreSQL: use RETURNING).
  virtual int64_t LastInsertRowId() const = 0;
  // Rows changed by the last INSERT, UPDATE or DELETE that ran.
  virtual int Changes() const = 0;
  // The file (SQLite) or the connection string without its password.
  const std::string& path() const { return path_; }

  // The schema version the migrations brought the database to (0: none).
  // SQLite keeps it in PRAGMA user_version, PostgreSQL in a table.
  virtual Result<int> SchemaVersion() = 0;
  virtual Status SetSchemaVersion(int version) = 0;

  // For Statement and Transaction.
  virtual std::unique_ptr<StatementImpl> Prepare(std::string_view sql,
                                                 bool cached) = 0;
  // Starts a write transaction that no other writer runs beside: SQLite's
  // BEGIN IMMEDIATE; on PostgreSQL BEGIN and a transaction-scoped advisory
  // lock, so writers of several server processes take turns exactly as
  // SQLite's connections do (docs/decisions.md).
  // Fails with kUnavailable, reason kBusyReason, if another writer holds
  // the database for longer than the write wait (SetWriteWait).
  virtual Status BeginWrite() = 0;
  // How long BeginWrite waits for another writer, in ms; 0: the backend's
  // default (SQLite: DbOptions::busy_timeout_ms; PostgreSQL: no limit).
  virtual void SetWriteWait(int64_t ms) = 0;
  virtual int64_t write_wait() const = 0;
  // Runs `check` each time the connection is opened again after it was
  // lost (PostgreSQL restarted, failed over to its standby, or had a backup
  // restored into it), before any other statement on it; while `check`
  // fails, so does every statement, and it is run again at the next. The
  // server checks there that the database is still its own and not older
  // than what it handed out (ServerStore). SQLite never reopens: not called.
  virtual void SetReconnectCheck(std::function<Status()> check) { (void)check; }
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;

 protected:
  explicit Db(std::string path) : path_(std::move(path)) {}
  // Drops every cached statement (before the connection closes).
  void ClearCached();
  // Between these, Cached() and CachedBy() hand out statements of their
  // own, dropped at EndAside, and ResetCached() leaves the cache alone: for
  // code that runs in the middle of a caller's use of cached statements
  // (the reconnect check runs inside whichever statement found the
  // connection lost). It never resets or rebinds what the caller holds.
  void BeginAside() { ++aside_depth_; }
  void EndAside();

 private:
  // Resets and returns the statement cached under the key, or nullptr.
  Statement* FindKeyed(const void* owner, uint64_t variant);
  Statement& AddKeyed(const void* owner, uint64_t variant, const std::string& sql);
  std::string path_;
  std::map<std::string, std::unique_ptr<Statement>> cache_;
  // Keyed views of statements owned by cache_.
  std::map<std::pair<const void*, uint64_t>, Statement*> keyed_;
  int aside_depth_ = 0;
  std::vector<std::unique_ptr<Statement>> aside_;  // Cached() between BeginAside and EndAside
};

// One backend's prepared statement (see Statement for the contract). Errors
// go to status_; after an error, calls do nothing until Reset().
class StatementImpl {
 public:
  virtual ~StatementImpl() = default;
  virtual void BindNull(int i) = 0;
  virtual void BindInt(int i, int64_t v) = 0;
  virtual void BindDouble(int i, double v) = 0;
  // `copy` false: the bytes stay valid until the statement is reset.
  virtual void BindText(int i, std::string_view text, bool copy) = 0;
  virtual void BindBlob(int i, std::string_view bytes, bool copy) = 0;
  virtual bool Step() = 0;
  // Statement::RunDeferred. By default (SQLite) the statement runs now.
  virtual Status RunDeferred() {
    while (Step()) {
    }
    return status_;
  }
  virtual void Reset() = 0;
  virtual bool IsNull(int col) = 0;
  virtual int64_t ColumnInt(int col) = 0;
  virtual double ColumnDouble(int col) = 0;
  virtual std::string ColumnText(int col) = 0;
  virtual std::string ColumnBlob(int col) = 0;
  virtual Value ColumnValue(int col) = 0;

  Status status_;
  bool duplicate_key_ = false;
  bool unique_violation_ = false;
};

// A prepared statement. Bind indexes are 1-based; column indexes 0-based.
// SQL uses numbered parameters (?1, ?2; a number may repeat); an unbound
// parameter is NULL.
class Statement {
 public:
  Statement(Db& db, std::string_view sql);  // check status() after
  Statement(Db& db, std::string_view sql, bool cached);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  const Status& status() const { return impl_->status_; }
  // Whether the error in status() is a primary key refused as a duplicate
  // (an INSERT of a row that exists; the statement wrote nothing).
  bool duplicate_key() const { return impl_->duplicate_key_; }
  // Whether the error is any key or UNIQUE constraint refusing a duplicate
  // (the primary key included).
  bool unique_violation() const { return impl_->unique_violation_; }

  Statement& BindNull(int i) { impl_->BindNull(i); return *this; }
  Statement& Bind(int i, int64_t v) { impl_->BindInt(i, v); return *this; }
  Statement& Bind(int i, double v) { impl_->BindDouble(i, v); return *this; }
  Statement& Bind(int i, std::string_view text) {
    impl_->BindText(i, text, true);
    return *this;
  }
  Statement& BindBlob(int i, std::string_view bytes) {
    impl_->BindBlob(i, bytes, true);
    return *this;
  }
  // As Bind(i, text) and Bind(i, v), without a private copy: the bytes
  // must stay valid and unchanged until the statement is reset (for hot
  // paths that bind, run and are done).
  Statement& BindNoCopy(int i, std::string_view text) {
    impl_->BindText(i, text, false);
    return *this;
  }
  Statement& BindNoCopy(int i, const Value& v);
  Statement& BindBlobNoCopy(int i, std::string_view bytes) {
    impl_->BindBlob(i, bytes, false);
    return *this;
  }
  // Text and blob references bind as TEXT.
  Statement& Bind(int i, const Value& v);

  // Advances: true with a row, false when done. Errors go to status().
  bool Step() { return impl_->Step(); }
  // Runs to completion; returns the first error.
  Status Run();
  // Runs a write whose outcome the caller does not look at: no rows, no
  // Db::Changes(), no duplicate_key() (an INSERT or UPDATE without
  // RETURNING). SQLite runs it now, as Run(). PostgreSQL, inside a write
  // transaction, sends it without waiting for its answer (libpq pipeline
  // mode, docs/decisions.md "Deferred writes"): the answer is read with the
  // next statement that must wait (a Step, an Exec, Commit), and if the
  // deferred write failed, that statement fails with its error, naming the
  // deferred write, as does every later one and Commit (which rolls back):
  // the error is never lost, only reported late. The returned Status is
  // that of sending. The statement may be reset and run again at once.
  Status RunDeferred();
  Status Reset();

  bool IsNull(int col) { return impl_->IsNull(col); }
  int64_t ColumnInt(int col) { return impl_->ColumnInt(col); }
  double ColumnDouble(int col) { return impl_->ColumnDouble(col); }
  std::string ColumnText(int col) { return impl_->ColumnText(col); }
  std::string ColumnBlob(int col) { return impl_->ColumnBlob(col); }
  // NULL → null, INTEGER → integer, FLOAT → real, TEXT → text.
  Value ColumnValue(int col) { return impl_->ColumnValue(col); }

 private:
  std::unique_ptr<StatementImpl> impl_;
};

// Db::SetWriteWait for a scope; the previous wait again after it.
class WriteWaitScope {
 public:
  WriteWaitScope(Db& db, int64_t ms) : db_(db), before_(db.write_wait()) {
    db_.SetWriteWait(ms);
  }
  ~WriteWaitScope() { db_.SetWriteWait(before_); }
  WriteWaitScope(const WriteWaitScope&) = delete;
  WriteWaitScope& operator=(const WriteWaitScope&) = delete;

 private:
  Db& db_;
  int64_t before_;
};

// A write transaction (Db::BeginWrite) on construction; rolls back on
// destruction unless Commit() ran. Check status() before use.
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
