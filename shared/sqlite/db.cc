#include "shared/sqlite/db.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>

namespace kbo {
namespace {

// SQLite's result `rc`, said as `msg`: one classification for statements
// and Exec.
Status SqliteStatus(int rc, std::string msg) {
  // The reason lets a person be told in words (the phone app's storage
  // quota); a server's 5xx body never carries it.
  if ((rc & 0xff) == SQLITE_FULL) {
    return Status::IOError("disk full: " + msg).WithReason("storage_full");
  }
  // Another connection kept the write lock past the busy timeout (the
  // write wait): nothing of this statement happened.
  if ((rc & 0xff) == SQLITE_BUSY) {
    return Status::Unavailable("another writer held the database too long: " + msg)
        .WithReason(kBusyReason);
  }
  // The database's own file damaged: this program's storage failing (an
  // I/O error, a server's 500), not bad input (kCorruption is a change set's
  // or a bundle's bytes, refused as the sender's: 400 bad_change_set).
  if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
    return Status::IOError("database file is damaged: " + msg).WithReason("db_damaged");
  }
  return Status::IOError(msg);
}

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return SqliteStatus(rc, std::move(msg));
}

class SqliteStatement final : public StatementImpl {
 public:
  SqliteStatement(sqlite3* db, std::string_view sql) : db_(db) {
    const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()),
                                      &stmt_, nullptr);
    if (rc != SQLITE_OK) {
      status_ = SqliteError(db_, rc, "prepare '" + std::string(sql.substr(0, 80)) + "'");
    }
  }
  ~SqliteStatement() override { sqlite3_finalize(stmt_); }

  void BindNull(int i) override {
    Rearm();
    if (stmt_) Check(sqlite3_bind_null(stmt_, i));
  }
  void BindInt(int i, int64_t v) override {
    Rearm();
    if (stmt_) Check(sqlite3_bind_int64(stmt_, i, v));
  }
  void BindDouble(int i, double v) override {
    Rearm();
    if (stmt_) Check(sqlite3_bind_double(stmt_, i, v));
  }
  void BindText(int i, std::string_view text, bool copy) override {
    Rearm();
    if (stmt_) {
      Check(sqlite3_bind_text64(stmt_, i, text.data(), text.size(),
                                copy ? SQLITE_TRANSIENT : SQLITE_STATIC,
                                SQLITE_UTF8));
    }
  }
  void BindBlob(int i, std::string_view bytes, bool copy) override {
    Rearm();
    if (stmt_) {
      Check(sqlite3_bind_blob64(stmt_, i, bytes.data(), bytes.size(),
                                copy ? SQLITE_TRANSIENT : SQLITE_STATIC));
    }
  }
  bool Step() override {
    if (!stmt_ || !status_.ok()) return false;
    stepped_ = true;
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) done_ = true;
    if (rc != SQLITE_DONE) {
      status_ = SqliteError(db_, rc, "step");
      duplicate_key_ = rc == SQLITE_CONSTRAINT_PRIMARYKEY;
      unique_violation_ = duplicate_key_ || rc == SQLITE_CONSTRAINT_UNIQUE;
    }
    return false;
  }
  void Reset() override {
    if (!stmt_) return;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    stepped_ = false;
    done_ = false;
    status_ = Status();
    duplicate_key_ = false;
    unique_violation_ = false;
  }
  // A statement run to its end, without error, and bound again (the next
  // row of a loop: Bind, Run, Bind, Run) is reset first, keeping its other
  // bindings (bind each again, or copy them: a no-copy one must outlive
  // this run too): SQLite refuses a bind to a statement it has stepped
  // ("bind: bad parameter or other API misuse": a device whose restored
  // server lost two of its photos failed every sync). Part-way through its
  // rows, or after an error, the bind is refused as before (an error is
  // never cleared but by Reset).
  void Rearm() {
    if (!stmt_ || !stepped_ || !done_ || !status_.ok()) return;
    sqlite3_reset(stmt_);
    stepped_ = false;
    done_ = false;
  }
  bool IsNull(int col) override {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
  }
  int64_t ColumnInt(int col) override { return sqlite3_column_int64(stmt_, col); }
  double ColumnDouble(int col) override { return sqlite3_column_double(stmt_, col); }
  std::string ColumnText(int col) override {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    const int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n))
             : std::string();
  }
  std::string ColumnBlob(int col) override {
    const void* p = sqlite3_column_blob(stmt_, col);
    const int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n))
             : std::string();
  }
  Value ColumnValue(int col) override {
    switch (sqlite3_column_type(stmt_, col)) {
      case SQLITE_INTEGER: return Value::Integer(ColumnInt(col));
      case SQLITE_FLOAT: return Value::Real(ColumnDouble(col));
      case SQLITE_TEXT: return Value::Text(ColumnText(col));
      case SQLITE_BLOB: return Value::Text(ColumnBlob(col));
      default: return Value::Null();
    }
  }

 private:
  bool stepped_ = false;  // Step ran since the last reset
  bool done_ = false;     // ... and ran to SQLITE_DONE
  void Check(int rc) {
    if (rc != SQLITE_OK && status_.ok()) status_ = SqliteError(db_, rc, "bind");
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteDb final : public Db {
 public:
  SqliteDb(sqlite3* db, std::string path, int default_wait_ms)
      : Db(std::move(path)), db_(db), default_wait_ms_(default_wait_ms) {
    sqlite3_busy_timeout(db_, default_wait_ms_);
  }
  ~SqliteDb() override {
    ClearCached();  // finalize statements before closing
    sqlite3_close(db_);
  }
  SqlDialect dialect() const override { return SqlDialect::kSqlite; }

  Status Exec(std::string_view sql) override {
    char* err = nullptr;
    const std::string text(sql);
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return SqliteStatus(rc, std::move(msg));
    }
    return Status();
  }
  int64_t LastInsertRowId() const override { return sqlite3_last_insert_rowid(db_); }
  int Changes() const override { return sqlite3_changes(db_); }

  Result<int> SchemaVersion() override {
    Statement st(*this, "PRAGMA user_version");
    if (!st.Step()) {
      return st.status().ok() ? Status::Internal("user_version") : st.status();
    }
    return static_cast<int>(st.ColumnInt(0));
  }
  Status SetSchemaVersion(int version) override {
    return Exec("PRAGMA user_version = " + std::to_string(version));
  }

  std::unique_ptr<StatementImpl> Prepare(std::string_view sql, bool) override {
    return std::make_unique<SqliteStatement>(db_, sql);
  }
  Status BeginWrite() override {
    const int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if ((rc & 0xff) == SQLITE_BUSY) {
      return Status::Unavailable("another writer held " + path() + " for more than " +
                                 std::to_string(wait_ms_ > 0 ? wait_ms_ : default_wait_ms_) +
                                 " ms")
          .WithReason(kBusyReason);
    }
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "BEGIN IMMEDIATE");
    return Status();
  }
  void SetWriteWait(int64_t ms) override {
    wait_ms_ = ms > 0 ? static_cast<int>(std::min<int64_t>(ms, INT32_MAX)) : 0;
    sqlite3_busy_timeout(db_, wait_ms_ > 0 ? wait_ms_ : default_wait_ms_);
  }
  int64_t write_wait() const override { return wait_ms_; }
  Status Commit() override { return Exec("COMMIT"); }
  Status Rollback() override { return Exec("ROLLBACK"); }

 private:
  sqlite3* db_;
  const int default_wait_ms_;
  int wait_ms_ = 0;
};

}  // namespace

Result<std::unique_ptr<Db>> Db::Open(const std::string& path,
                                     const DbOptions& options) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(raw, rc, "cannot open database " + path);
    sqlite3_close(raw);
    return s;
  }
  std::unique_ptr<Db> db =
      std::make_unique<SqliteDb>(raw, path, options.busy_timeout_ms);
  sqlite3_extended_result_codes(raw, 1);
  std::string pragmas = "PRAGMA foreign_keys = OFF;";
  if (options.wal && path != ":memory:") pragmas += "PRAGMA journal_mode = WAL;";
  pragmas += options.synchronous_full ? "PRAGMA synchronous = FULL;"
                                      : "PRAGMA synchronous = NORMAL;";
  if (Status s = db->Exec(pragmas); !s.ok()) {
    // SQLite's "unable to open database file" here names no file: a folder
    // that is read-only (a memory card switched to read-only) or full
    // cannot hold the write-ahead log beside the database. A damaged file
    // is another matter: no folder setting mends it.
    const char* hint =
        s.reason() == "db_damaged"
            ? " (the file is damaged, or is not this program's database: "
              "restore it from a backup; keep the damaged one aside)"
        : s.code() == Code::kIOError && s.reason().empty()
            ? " (is its folder read-only, or full?)"
            : "";
    return Status::FromCode(s.code(), "cannot open database " + path + ": " +
                                          s.message() + hint)
        .WithReason(s.reason());
  }
  return db;
}

Db::~Db() = default;

void Db::ClearCached() {
  aside_.clear();
  keyed_.clear();
  cache_.clear();
}

Statement& Db::Cached(const std::string& sql) {
  if (aside_depth_ > 0) {
    aside_.push_back(std::make_unique<Statement>(*this, sql, true));
    return *aside_.back();
  }
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    it = cache_.emplace(sql, std::make_unique<Statement>(*this, sql, true)).first;
  } else {
    (void)it->second->Reset();
  }
  return *it->second;
}

Statement* Db::FindKeyed(const void* owner, uint64_t variant) {
  if (aside_depth_ > 0) return nullptr;
  auto it = keyed_.find({owner, variant});
  if (it == keyed_.end()) return nullptr;
  (void)it->second->Reset();
  return it->second;
}

Statement& Db::AddKeyed(const void* owner, uint64_t variant, const std::string& sql) {
  Statement& st = Cached(sql);
  if (aside_depth_ > 0) return st;
  keyed_[{owner, variant}] = &st;
  return st;
}

void Db::EndAside() {
  if (aside_depth_ > 0 && --aside_depth_ == 0) aside_.clear();
}

void Db::ResetCached() {
  if (aside_depth_ > 0) return;
  for (auto& entry : cache_) (void)entry.second->Reset();
}

Statement::Statement(Db& db, std::string_view sql) : impl_(db.Prepare(sql, false)) {}
Statement::Statement(Db& db, std::string_view sql, bool cached)
    : impl_(db.Prepare(sql, cached)) {}
Statement::~Statement() = default;

Statement& Statement::BindNoCopy(int i, const Value& v) {
  switch (v.type()) {
    case Value::Type::kText:
    case Value::Type::kBlob: return BindNoCopy(i, std::string_view(v.text()));
    default: return Bind(i, v);
  }
}
Statement& Statement::Bind(int i, const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: return BindNull(i);
    case Value::Type::kInteger: return Bind(i, v.integer());
    case Value::Type::kReal: return Bind(i, v.real());
    case Value::Type::kText:
    case Value::Type::kBlob: return Bind(i, std::string_view(v.text()));
  }
  return *this;
}

Status Statement::Run() {
  while (Step()) {
  }
  return status();
}

Status Statement::RunDeferred() { return impl_->RunDeferred(); }

Status Statement::Reset() {
  impl_->Reset();
  return status();
}

Transaction::Transaction(Db& db) : db_(db) {
  db_.ResetCached();
  status_ = db_.BeginWrite();
  if (!status_.ok()) done_ = true;
}

Transaction::~Transaction() {
  if (!done_) {
    db_.ResetCached();
    (void)db_.Rollback();
  }
}

Status Transaction::Commit() {
  if (done_) return status_.ok() ? Status::Internal("transaction already ended")
                                 : status_;
  done_ = true;
  db_.ResetCached();
  Status s = db_.Commit();
  if (!s.ok()) (void)db_.Rollback();
  return s;
}

}  // namespace kbo
