#include "server/storage/pg_db.h"

#include <libpq-fe.h>
#include <poll.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/log.h"
#include "shared/encoding.h"

namespace kbo::server {
namespace {

// Type OIDs (src/include/catalog/pg_type.dat); stable across versions.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

// Deallocate statements of the past in batches of this many.
constexpr size_t kDeallocateBatch = 64;

// At most this many deferred writes are in flight: then their answers are
// read (one round trip). Bounds what the server queues for us, and what a
// failure leaves unread.
constexpr size_t kMaxDeferred = 256;

std::string Trimmed(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// What PostgreSQL says outside an answer (a backend's last words before a
// restart or pg_terminate_backend ends it, a warning): a line of the
// server's log, timestamped as the rest, not bare text on stderr.
void LogNotice(void* /*arg*/, const char* message) {
  LogLine("PostgreSQL said: " + Trimmed(message));
}

Status PgError(const PGresult* res, PGconn* conn, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += Trimmed(res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  if (state && std::strncmp(state, "53100", 5) == 0) {
    return Status::IOError("disk full: " + msg).WithReason("storage_full");
  }
  // lock_not_available: the writer lock's wait, or, holding it, a wait for
  // a lock something else holds (kLockWaitMs).
  if (state && std::strncmp(state, "55P03", 5) == 0) {
    return Status::Unavailable("waited too long for a lock on the database (another "
                               "writer, or a session holding a table lock): " + msg)
        .WithReason(kBusyReason);
  }
  if (PQstatus(conn) != CONNECTION_OK) return Status::Unavailable(msg);
  // The backend ended by an operator or a restart (57P01 admin_shutdown,
  // 57P02 crash_shutdown, 57P03 cannot_connect_now), or the connection
  // failed (08000, 08001, 08003, 08004, 08006; not 08P01, a protocol
  // violation, which is a bug of ours): said before libpq has seen the
  // connection close, and as unavailable as a lost connection (a 503 to try
  // again, not a 500 for monitoring to call a bug).
  if (state != nullptr) {
    for (const char* gone : {"57P01", "57P02", "57P03", "08000", "08001", "08003", "08004",
                             "08006"}) {
      if (std::strncmp(state, gone, 5) == 0) return Status::Unavailable(msg);
    }
  }
  return Status::IOError(msg);
}

// "?12" -> "$12", "?" -> "$k" (k counting), outside quotes and comments.
// `*count`: the highest parameter number; `used[n]`: whether $n appears.
std::string ToPostgresParameters(std::string_view sql, int* count,
                                 std::vector<bool>* used) {
  std::string out;
  out.reserve(sql.size() + 8);
  int next = 1;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      const size_t end = sql.find(c, i + 1);
      const size_t stop = end == std::string_view::npos ? sql.size() : end + 1;
      out.append(sql.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      const size_t stop = end == std::string_view::npos ? sql.size() : end;
      out.append(sql.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '?') {
      size_t j = i + 1;
      int n = 0;
      while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9' && n < 100000) {
        n = n * 10 + (sql[j] - '0');
        ++j;
      }
      if (j == i + 1) n = next;
      next = n + 1;
      if (n > *count) *count = n;
      if (used->size() <= static_cast<size_t>(n)) used->resize(static_cast<size_t>(n) + 1);
      (*used)[static_cast<size_t>(n)] = true;
      out += '$';
      out += std::to_string(n);
      i = j - 1;
    } else {
      out += c;
    }
  }
  return out;
}

// bytea's text output ("\x0a1b..."; bytea_output is set to hex). The server
// sends well-formed hex; anything else is returned empty, never half-read.
std::string DecodeBytea(const char* p, size_t n) {
  if (n < 2 || p[0] != '\\' || p[1] != 'x') return std::string(p, n);
  Result<std::string> bytes = HexDecode(std::string_view(p + 2, n - 2));
  return bytes.ok() ? std::move(*bytes) : std::string();
}

class PgDb;

// A statement's parameters as PQexecPrepared and PQsendQueryPrepared take
// them (pointing into the statement's bound values).
struct Wire {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  int count() const { return static_cast<int>(values.size()); }
};

class PgStatement final : public StatementImpl {
 public:
  PgStatement(PgDb& db, std::string_view sql, bool cached);
  ~PgStatement() override;

  void BindNull(int i) override {
    if (Param* p = At(i)) *p = Param{};
  }
  void BindInt(int i, int64_t v) override {
    if (Param* p = At(i)) {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v);
      Set(p, std::string_view(buf, static_cast<size_t>(r.ptr - buf)), true);
      p->bound = kInt8Oid;
    }
  }
  void BindDouble(int i, double v) override {
    if (Param* p = At(i)) {
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, v);
      Set(p, std::string_view(buf, static_cast<size_t>(r.ptr - buf)), true);
      p->bound = kFloat8Oid;
    }
  }
  void BindText(int i, std::string_view text, bool copy) override {
    if (Param* p = At(i)) Set(p, text, copy);
  }
  void BindBlob(int i, std::string_view bytes, bool copy) override {
    if (Param* p = At(i)) Set(p, bytes, copy);
  }
  bool Step() override;
  Status RunDeferred() override;
  void Reset() override {
    PQclear(result_);
    result_ = nullptr;
    executed_ = false;
    row_ = -1;
    rows_ = 0;
    for (Param& p : params_) p = Param{};
    // A statement whose prepare failed (its connection was lost, the
    // database restarted) is prepared again at its next Step: a cached one
    // once kept its error for good (the console's sign-in failed until the
    // process restarted).
    status_ = Status();
    duplicate_key_ = false;
    unique_violation_ = false;
  }
  bool IsNull(int col) override {
    return !Valid(col) || PQgetisnull(result_, row_, col);
  }
  int64_t ColumnInt(int col) override {
    if (IsNull(col)) return 0;
    const char* p = PQgetvalue(result_, row_, col);
    const size_t n = static_cast<size_t>(PQgetlength(result_, row_, col));
    if (PQftype(result_, col) == kBoolOid) return p[0] == 't' ? 1 : 0;
    int64_t v = 0;
    auto r = std::from_chars(p, p + n, v);
    if (r.ec == std::errc() && r.ptr == p + n) return v;
    return static_cast<int64_t>(ColumnDouble(col));
  }
  double ColumnDouble(int col) override {
    if (IsNull(col)) return 0;
    const char* p = PQgetvalue(result_, row_, col);
    const size_t n = static_cast<size_t>(PQgetlength(result_, row_, col));
    double v = 0;
    std::from_chars(p, p + n, v);
    return v;
  }
  std::string ColumnText(int col) override {
    if (IsNull(col)) return std::string();
    const char* p = PQgetvalue(result_, row_, col);
    const size_t n = static_cast<size_t>(PQgetlength(result_, row_, col));
    const Oid type = PQftype(result_, col);
    if (type == kByteaOid) return DecodeBytea(p, n);
    if (type == kBoolOid) return p[0] == 't' ? "1" : "0";
    return std::string(p, n);
  }
  std::string ColumnBlob(int col) override { return ColumnText(col); }
  Value ColumnValue(int col) override {
    if (IsNull(col)) return Value::Null();
    switch (PQftype(result_, col)) {
      case kBoolOid:
      case kInt2Oid:
      case kInt4Oid:
      case kInt8Oid:
      case kOidOid:
        return Value::Integer(ColumnInt(col));
      case kFloat4Oid:
      case kFloat8Oid:
        return Value::Real(ColumnDouble(col));
      case kNumericOid: {
        const std::string text = ColumnText(col);
        if (text.find_first_of(".eEN") == std::string::npos) {
          return Value::Integer(ColumnInt(col));
        }
        return Value::Real(ColumnDouble(col));
      }
      default:
        return Value::Text(ColumnText(col));
    }
  }

 private:
  struct Param {
    bool null = true;
    Oid bound = 0;  // int8 or float8 when bound as a number, else unknown
    std::string owned;
    std::string_view bytes;
  };
  Param* At(int i) {
    if (!prepared_ || !status_.ok()) return nullptr;
    if (executed_) {
      // Bound again after it ran (Bind, Run, Bind, Run), as SQLite's
      // statements take it (shared/sqlite/db.cc, Rearm): run to its end,
      // it runs again with its other parameters kept; the next Step ran
      // nothing and said nothing before, and the write was lost. Part-way
      // through its rows, refused.
      if (result_ != nullptr && row_ < rows_) {
        status_ = Status::Internal("bind: the statement is part-way through its rows; "
                                   "reset it first");
        return nullptr;
      }
      PQclear(result_);
      result_ = nullptr;
      executed_ = false;
      row_ = -1;
      rows_ = 0;
    }
    if (i < 1 || static_cast<size_t>(i) > params_.size()) {
      status_ = Status::IOError("bind: parameter " + std::to_string(i) +
                                " is out of range (the statement has " +
                                std::to_string(params_.size()) + ")");
      return nullptr;
    }
    return &params_[static_cast<size_t>(i - 1)];
  }
  static void Set(Param* p, std::string_view bytes, bool copy) {
    p->null = false;
    p->bound = 0;
    if (copy) {
      p->owned.assign(bytes.data(), bytes.size());
      p->bytes = p->owned;
    } else {
      p->owned.clear();
      p->bytes = bytes;
    }
  }
  bool Valid(int col) const {
    return result_ && row_ >= 0 && row_ < rows_ && col >= 0 &&
           col < PQnfields(result_);
  }

  // Prepares text_ as name_ with `types` (empty: PostgreSQL infers every
  // parameter's type from the statement) and reads back the types.
  Status Prepare(const std::vector<Oid>& types);
  // The part of construction that needs the connection: connects if need
  // be and prepares (or marks the statement to prepare at Step). OK sets
  // prepared_.
  Status Finish();
  // Prepares it again if the connection or the bound types changed.
  Status ReadyToRun();
  // The bound values as libpq takes them.
  Wire ParamsForWire();
  // The statement and the row it is about, for a deferred write's error.
  std::string Describe() const;

  PgDb& db_;
  std::string name_;
  std::string text_;  // the SQL with $N parameters
  // PostgreSQL could not infer a parameter's type from the statement alone
  // (SQLite's "?1 - ?2", "?1 IS NULL"): prepared at the first Step instead,
  // with the types of the values bound (integer, real), and again when
  // they change.
  bool typed_ = false;
  std::vector<Oid> typed_as_;
  std::vector<Oid> gaps_;  // text for parameter numbers the SQL skips
  bool on_server_ = false;  // name_ is prepared on the connection
  uint64_t generation_ = 0;
  bool prepared_ = false;
  int count_ = 0;  // parameters the SQL numbers
  std::vector<Oid> types_;
  std::vector<Param> params_;
  PGresult* result_ = nullptr;
  bool executed_ = false;
  int row_ = -1;
  int rows_ = 0;
};

class PgDb final : public Db {
 public:
  PgDb(PGconn* conn, std::string shown) : Db(std::move(shown)), conn_(conn) {}
  ~PgDb() override {
    ClearCached();
    PQfinish(conn_);
  }
  SqlDialect dialect() const override { return SqlDialect::kPostgres; }

  Status Exec(std::string_view sql) override {
    if (!in_transaction_) {
      if (Status s = EnsureConnected(); !s.ok()) return s;
    }
    // PQexec waits: the deferred writes' answers first.
    if (Status s = EndPipeline(); !s.ok()) return s;
    FlushDeallocations();
    const std::string text(sql);
    PGresult* res = PQexec(conn_, text.c_str());
    const ExecStatusType st = PQresultStatus(res);
    Status s;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      s = PgError(res, conn_, "exec '" + text.substr(0, 80) + "'");
    } else {
      NoteChanges(res);
    }
    PQclear(res);
    return s;
  }
  int64_t LastInsertRowId() const override { return 0; }
  int Changes() const override { return changes_; }

  Result<int> SchemaVersion() override {
    Statement exists(*this, "SELECT to_regclass('schema_version') IS NOT NULL");
    if (!exists.Step()) {
      return exists.status().ok() ? Status::Internal("schema_version") : exists.status();
    }
    if (exists.ColumnInt(0) == 0) return 0;
    Statement st(*this, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
    if (!st.Step()) {
      return st.status().ok() ? Status::Internal("schema_version") : st.status();
    }
    return static_cast<int>(st.ColumnInt(0));
  }
  // schema_version (schema/server-pg/0001_server.sql) holds one row.
  Status SetSchemaVersion(int version) override {
    return Exec("UPDATE schema_version SET version = " + std::to_string(version) +
                " WHERE singleton = 1");
  }

  std::unique_ptr<StatementImpl> Prepare(std::string_view sql, bool cached) override {
    return std::make_unique<PgStatement>(*this, sql, cached);
  }
  // lock_timeout bounds the wait for the writer lock; for the rest of the
  // transaction it is kLockWaitMs (a lock an operator holds).
  //
  // The wait goes in slices (watch_slice_ms_, 15 s): after each, a holder
  // of the lock that has waited on its own client for hung_writer_s_ (a
  // server process stopped or hung mid-request, its transaction never
  // ending) is ended, and the wait goes on. PostgreSQL's
  // idle_in_transaction_session_timeout does not see a client stopped in
  // the middle of a pipeline (its backend stays "active"): the lock was
  // held for as long as the process was stopped. A slice long enough for
  // any ordinary turn keeps the waiters' order but under such a stall.
  Status BeginWrite() override {
    const std::string lock =
        "SELECT pg_advisory_xact_lock(" + std::to_string(kWriterLock) + ")";
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      int64_t slice = watch_slice_ms_;
      if (write_wait_ms_ > 0) {
        const int64_t spent = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - start)
                                  .count();
        slice = std::max<int64_t>(1, std::min(slice, write_wait_ms_ - spent));
      }
      Status s = Exec("BEGIN; SET LOCAL lock_timeout = " + std::to_string(slice) + "; " +
                      lock + "; SET LOCAL lock_timeout = " + std::to_string(lock_wait_ms_));
      in_transaction_ = s.ok();
      if (s.ok()) return s;
      if (PQstatus(conn_) == CONNECTION_OK) (void)Exec("ROLLBACK");  // BEGIN may have run
      if (s.reason() != kBusyReason) return s;
      EndHungWriter();
      if (write_wait_ms_ > 0 &&
          std::chrono::steady_clock::now() - start >=
              std::chrono::milliseconds(write_wait_ms_)) {
        return s;
      }
    }
  }
  // Ends the backend holding the writer lock if it has waited on its client
  // for hung_writer_s_ (see BeginWrite). Best effort: its own failure is
  // the lock wait's to report.
  void EndHungWriter() {
    const uint64_t key = static_cast<uint64_t>(kWriterLock);
    const std::string sql =
        "SELECT pg_terminate_backend(a.pid) FROM pg_locks l JOIN pg_stat_activity a "
        "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.classid = " +
        std::to_string(key >> 32) + " AND l.objid = " + std::to_string(key & 0xffffffffu) +
        " AND l.objsubid = 1 AND a.pid <> pg_backend_pid() AND a.wait_event = 'ClientRead'"
        " AND a.state_change < clock_timestamp() - make_interval(secs => " +
        std::to_string(hung_writer_s_) + ")";
    PGresult* res = PQexec(conn_, sql.c_str());
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0) {
      hung_writers_ended_ += static_cast<uint64_t>(PQntuples(res));
    }
    PQclear(res);
  }
  void SetWriterWatch(int64_t slice_ms, int64_t hung_s) {
    watch_slice_ms_ = std::max<int64_t>(1, slice_ms);
    hung_writer_s_ = std::max<int64_t>(1, hung_s);
  }
  uint64_t hung_writers_ended() const { return hung_writers_ended_; }
  void LeaveDeferredErrorForTests(const Status& error) { deferred_error_ = error; }
  void SetLockWait(int64_t ms) {
    lock_wait_ms_ = std::max<int64_t>(1, ms);
    if (!in_transaction_) (void)Exec("SET lock_timeout = " + std::to_string(lock_wait_ms_));
  }
  void SetWriteWait(int64_t ms) override { write_wait_ms_ = ms > 0 ? ms : 0; }
  int64_t write_wait() const override { return write_wait_ms_; }
  // Never reconnects: a COMMIT that could not be sent must fail, not
  // succeed on a new connection that has no transaction. With deferred
  // writes in flight, COMMIT goes with them (one round trip); if one of
  // them failed, PostgreSQL skips the COMMIT, and the transaction is
  // rolled back and the write's error returned.
  Status Commit() override {
    Status s;
    if (!deferred_error_.ok()) {
      s = deferred_error_;
    } else if (pipelining()) {
      PGresult* res = nullptr;
      Status deferred;
      s = SendInPipeline("COMMIT");
      if (s.ok()) s = EndPipeline(&res, &deferred);
      if (s.ok()) s = deferred;
      if (s.ok()) s = CommitResult(res);
      PQclear(res);
    } else {
      PGresult* res = PQexec(conn_, "COMMIT");
      s = CommitResult(res);
      PQclear(res);
    }
    if (!s.ok() && PQtransactionStatus(conn_) != PQTRANS_IDLE) {
      DiscardPipeline();
      deferred_error_ = Status();
      PQclear(PQexec(conn_, "ROLLBACK"));
    }
    deferred_error_ = Status();
    in_transaction_ = false;
    return s;
  }
  Status Rollback() override {
    DiscardPipeline();
    deferred_error_ = Status();
    if (!in_transaction_ && PQstatus(conn_) != CONNECTION_OK) {
      // Ended with its lost connection (a COMMIT that failed so): nothing
      // to roll back, and no connection to open again just to say so.
      pending_.clear();
      return Status();
    }
    Status s = Exec("ROLLBACK");
    in_transaction_ = false;
    // On a lost connection the ROLLBACK's own pipeline sync fails: its
    // error is the transaction's, not the next one's (EnsureConnected).
    deferred_error_ = Status();
    pending_.clear();
    return s;
  }

  // Runs prepared statement `name` and returns its result (never null; the
  // caller clears it). Deferred writes in flight go first, in the same
  // round trip; if one of them failed, `*deferred` is its error and the
  // result is not this statement's.
  PGresult* ExecPrepared(const std::string& name, const Wire& w, Status* deferred) {
    if (!deferred_error_.ok()) {
      *deferred = deferred_error_;
      return nullptr;
    }
    if (!pipelining()) {
      return PQexecPrepared(conn_, name.c_str(), w.count(), w.values.data(),
                            w.lengths.data(), w.formats.data(), 0);
    }
    PGresult* own = nullptr;
    if (PQsendQueryPrepared(conn_, name.c_str(), w.count(), w.values.data(),
                            w.lengths.data(), w.formats.data(), 0) != 1) {
      *deferred = SendFailed("send");
      (void)EndPipeline();
      return nullptr;
    }
    Status s = EndPipeline(&own, deferred);
    if (!s.ok() && deferred->ok()) *deferred = s;
    if (own == nullptr && deferred->ok()) *deferred = SendFailed("no answer to a statement");
    return own;
  }

  // Sends prepared statement `name` without waiting (Statement::RunDeferred);
  // `what` names it in the error if it fails.
  Status SendDeferred(const std::string& name, const Wire& w, std::string what) {
    if (!deferred_error_.ok()) return deferred_error_;
    if (!pipelining() && PQenterPipelineMode(conn_) != 1) {
      return SendFailed("pipeline mode");
    }
    if (PQsendQueryPrepared(conn_, name.c_str(), w.count(), w.values.data(),
                            w.lengths.data(), w.formats.data(), 0) != 1) {
      Status s = SendFailed("send " + what);
      deferred_error_ = s;
      DiscardPipeline();
      return s;
    }
    pending_.push_back(std::move(what));
    ++deferred_sent_;
    if (pending_.size() >= kMaxDeferred) return EndPipeline();
    return Status();
  }

  // Ends pipeline mode, reading the answer of every deferred write (one
  // round trip). Returns the first failed write's error, which also fails
  // everything after it in this transaction. Nothing to do outside
  // pipeline mode.
  Status EndPipeline() {
    if (!deferred_error_.ok()) return deferred_error_;
    Status deferred;
    Status s = EndPipeline(nullptr, &deferred);
    return s.ok() ? deferred : s;
  }
  bool in_transaction() const { return in_transaction_; }
  // Deferred writes sent on this connection (for tests).
  uint64_t deferred_sent() const { return deferred_sent_; }
  // Whether the statement `text` prepared without parameter types
  // (nullopt: not tried on this connection yet).
  std::optional<bool> UntypedOk(const std::string& text) const {
    auto it = untyped_ok_.find(text);
    if (it == untyped_ok_.end()) return std::nullopt;
    return it->second;
  }
  void NoteUntyped(const std::string& text, bool ok) {
    if (untyped_ok_.size() < 4096) untyped_ok_[text] = ok;
  }

  PGconn* conn() { return conn_; }
  // Bumped by each reconnection: statements prepared before it are gone
  // from the server and are prepared again on their next use.
  uint64_t generation() const { return generation_; }

  // A connection PostgreSQL dropped (a restart, a failover to the standby,
  // a network cut) is opened again before the next statement, outside any
  // transaction: the statement that saw it fail has failed (its request is
  // answered 503 and sent again), the next one works.
  //
  // The database there may not be the one that was lost: PostgreSQL
  // restored from a backup, a standby that was behind. The reconnect check
  // (SetReconnectCheck) runs first, and again before each statement until
  // it passes.
  Status EnsureConnected() {
    if (checking_) return Status();  // the check's own statements
    // What a transaction's deferred writes left (their error, a pipeline
    // the lost connection would not let it leave) ended with it: a stale
    // error here failed every reconnection's session set-up, and the
    // server answered 503 to everything until it was restarted (a kill
    // storm among pushes). A pipeline still open here was left by a
    // transaction that could not end it (its connection lost): what it
    // holds is nobody's, and reading it may wait on a dead socket, so the
    // connection is opened afresh.
    if (!in_transaction_) {
      deferred_error_ = Status();
      pending_.clear();
      if (pipelining() && PQstatus(conn_) == CONNECTION_OK) {
        PQreset(conn_);
        if (PQstatus(conn_) == CONNECTION_OK) {
          ++generation_;
          to_deallocate_.clear();
          recheck_ = true;
        }
      }
    }
    // A backend PostgreSQL ended while this connection sat idle (a restart,
    // pg_terminate_backend) has closed its socket, and said why: read what
    // is there without waiting, so the loss is found here and the
    // connection opened again, instead of failing the request's first
    // statement. (A cable cut closes nothing: that statement still fails.)
    // (Its last words and the end of the stream may take a read each.)
    for (int reads = 0; reads < 4 && PQstatus(conn_) == CONNECTION_OK && !pipelining() &&
                        PQtransactionStatus(conn_) == PQTRANS_IDLE;
         ++reads) {
      pollfd ready{PQsocket(conn_), POLLIN, 0};
      if (poll(&ready, 1, 0) <= 0 || PQconsumeInput(conn_) != 1) break;
      (void)PQisBusy(conn_);  // parses what came: its last words to the log
    }
    if (PQstatus(conn_) == CONNECTION_OK && !recheck_) return Status();
    if (PQstatus(conn_) != CONNECTION_OK) {
      PQreset(conn_);
      if (PQstatus(conn_) != CONNECTION_OK) {
        return Status::Unavailable("lost the connection to " + path() + ": " +
                                   Trimmed(PQerrorMessage(conn_)));
      }
      ++generation_;
      to_deallocate_.clear();
      recheck_ = true;
    }
    checking_ = true;
    BeginAside();
    Status s = SetUpSession();
    if (s.ok() && reconnect_check_) s = reconnect_check_();
    EndAside();
    checking_ = false;
    if (!s.ok()) return s;
    recheck_ = false;
    return Status();
  }
  void SetReconnectCheck(std::function<Status()> check) override {
    reconnect_check_ = std::move(check);
  }
  Status SetUpSession() {
    if (PQsetClientEncoding(conn_, "UTF8") != 0) {
      return Status::IOError("cannot use UTF-8 with " + path());
    }
    // lock_timeout: a read waits as long as a write may for a lock
    // something outside the servers holds (kLockWaitMs; a console page
    // behind an operator's LOCK TABLE held its server's store for as long).
    return Exec("SET bytea_output = 'hex'; SET client_min_messages = warning;"
                "SET TIME ZONE 'UTC'; SET idle_in_transaction_session_timeout = '" +
                std::to_string(kIdleInTransactionSeconds) + "s'; SET lock_timeout = " +
                std::to_string(lock_wait_ms_));
  }
  std::string NextName() { return "kbo_" + std::to_string(++statements_); }
  // A statement's server-side half to drop when the connection is next idle.
  void Deallocate(std::string name) {
    to_deallocate_.push_back(std::move(name));
    if (to_deallocate_.size() >= kDeallocateBatch) FlushDeallocations();
  }
  void NoteChanges(const PGresult* res) {
    const char* n = PQcmdTuples(const_cast<PGresult*>(res));
    changes_ = n && *n ? std::atoi(n) : 0;
  }

 private:
  bool pipelining() const { return PQpipelineStatus(conn_) != PQ_PIPELINE_OFF; }
  Status SendFailed(const std::string& what) {
    return PgError(nullptr, conn_, what);
  }
  // A COMMIT's answer: PostgreSQL answers COMMIT of a failed transaction
  // with "ROLLBACK" and no error; that is a failure here.
  Status CommitResult(PGresult* res) {
    if (PQresultStatus(res) != PGRES_COMMAND_OK) return PgError(res, conn_, "exec 'COMMIT'");
    const char* tag = PQcmdStatus(res);
    if (tag == nullptr || std::strcmp(tag, "COMMIT") != 0) {
      return Status::IOError("COMMIT was answered '" + std::string(tag ? tag : "") +
                             "': the transaction was rolled back");
    }
    return Status();
  }
  // Queues a statement without parameters in the pipeline (not deferred:
  // its answer is the one EndPipeline hands back).
  Status SendInPipeline(const char* sql) {
    if (PQsendQueryParams(conn_, sql, 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) {
      return SendFailed(std::string("send '") + sql + "'");
    }
    return Status();
  }
  // EndPipeline, and the answer of one more statement sent after the
  // deferred ones, into `*own` (if not null). `*deferred`: the first
  // deferred write's error. Returns an error when the answers could not be
  // read at all (the connection).
  Status EndPipeline(PGresult** own, Status* deferred) {
    if (!pipelining()) return Status();
    if (PQpipelineSync(conn_) != 1) {
      Status s = SendFailed("pipeline sync");
      *deferred = s;
      deferred_error_ = s;
      pending_.clear();
      (void)PQexitPipelineMode(conn_);
      return s;
    }
    size_t answered = 0;
    bool synced = false;
    int nulls = 0;
    Status first;
    // Each statement's answer is one result and a null; the sync's is one
    // result. Two nulls in a row: nothing more will come (connection lost).
    while (true) {
      PGresult* res = PQgetResult(conn_);
      if (res == nullptr) {
        if (++nulls >= 2 || PQstatus(conn_) != CONNECTION_OK) break;
        continue;
      }
      nulls = 0;
      const ExecStatusType st = PQresultStatus(res);
      if (st == PGRES_PIPELINE_SYNC) {
        PQclear(res);
        synced = true;
        break;
      }
      if (answered < pending_.size()) {
        if (first.ok() && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
            st != PGRES_PIPELINE_ABORTED) {
          first = PgError(res, conn_, "deferred write " + pending_[answered]);
        }
        PQclear(res);
      } else if (own != nullptr && *own == nullptr) {
        *own = res;
      } else {
        PQclear(res);
      }
      ++answered;
    }
    const size_t expected = pending_.size() + (own != nullptr ? 1 : 0);
    pending_.clear();
    if (first.ok() && (!synced || answered < expected)) {
      first = SendFailed("reading the answers of deferred writes");
    }
    if (PQexitPipelineMode(conn_) != 1 && first.ok()) {
      first = SendFailed("leaving pipeline mode");
    }
    if (!first.ok()) {
      deferred_error_ = first;
      *deferred = first;
    }
    return Status();
  }
  // Ends pipeline mode, dropping the answers (a rollback follows).
  void DiscardPipeline() {
    Status ignored;
    (void)EndPipeline(nullptr, &ignored);
    pending_.clear();
  }

  void FlushDeallocations() {
    if (to_deallocate_.empty() || flushing_) return;
    // Not while statements are in flight (PQexec waits).
    if (pipelining()) return;
    // Not inside a failed transaction, where PostgreSQL refuses everything
    // but ROLLBACK.
    if (PQtransactionStatus(conn_) == PQTRANS_INERROR) return;
    flushing_ = true;
    std::string sql;
    for (const std::string& name : to_deallocate_) sql += "DEALLOCATE " + name + ";";
    to_deallocate_.clear();
    PQclear(PQexec(conn_, sql.c_str()));
    flushing_ = false;
  }

  PGconn* conn_;
  int changes_ = 0;
  uint64_t statements_ = 0;
  uint64_t generation_ = 0;
  bool in_transaction_ = false;
  int64_t write_wait_ms_ = 0;  // 0: wait for the writer lock as long as it takes
  int64_t watch_slice_ms_ = kWriterWatchSliceMs;
  int64_t hung_writer_s_ = kIdleInTransactionSeconds;
  int64_t lock_wait_ms_ = kLockWaitMs;
  uint64_t hung_writers_ended_ = 0;
  std::vector<std::string> to_deallocate_;
  std::unordered_map<std::string, bool> untyped_ok_;
  bool flushing_ = false;
  std::function<Status()> reconnect_check_;
  bool recheck_ = false;   // reconnected; the check has not passed since
  bool checking_ = false;  // the check is running
  // Deferred writes sent and not yet answered, named for their errors.
  std::vector<std::string> pending_;
  // The first deferred write that failed in this transaction: every later
  // statement of it, and its Commit, fail with this error.
  Status deferred_error_;
  uint64_t deferred_sent_ = 0;
};

PgStatement::PgStatement(PgDb& db, std::string_view sql, bool cached)
    : db_(db), name_(db.NextName()) {
  (void)cached;  // every statement is prepared; uncached ones are dropped later
  int count = 0;
  std::vector<bool> used;
  text_ = ToPostgresParameters(sql, &count, &used);
  // A number the SQL skips (?1 and ?3 but no ?2) has no type PostgreSQL
  // could infer; any will do, as it is never read.
  for (int n = 1; n <= count; ++n) {
    if (static_cast<size_t>(n) >= used.size() || !used[static_cast<size_t>(n)]) {
      gaps_.resize(static_cast<size_t>(count), 0);
      gaps_[static_cast<size_t>(n - 1)] = kTextOid;
    }
  }
  count_ = count;
  status_ = Finish();
}

Status PgStatement::Finish() {
  const int count = count_;
  if (!db_.in_transaction()) {
    if (Status s = db_.EnsureConnected(); !s.ok()) return s;
  }
  const std::optional<bool> untyped = db_.UntypedOk(text_);
  if (untyped.has_value() && !*untyped) {
    typed_ = true;  // known to need its values' types: prepared at Step
    types_.assign(static_cast<size_t>(count), 0);
  } else {
    // A failed prepare aborts the transaction it runs in: the first try of
    // a statement text inside one is fenced by a savepoint.
    const bool fence = db_.in_transaction() && !untyped.has_value();
    if (fence) (void)db_.Exec("SAVEPOINT kbo_prepare");
    Status s = Prepare(gaps_);
    if (fence) {
      if (!s.ok()) (void)db_.Exec("ROLLBACK TO SAVEPOINT kbo_prepare");
      (void)db_.Exec("RELEASE SAVEPOINT kbo_prepare");
    }
    if (s.ok() || typed_) db_.NoteUntyped(text_, s.ok());
    if (!s.ok()) {
      if (!typed_) return s;
      types_.assign(static_cast<size_t>(count), 0);
    }
  }
  params_.resize(types_.size());
  prepared_ = true;
  return Status();
}

Status PgStatement::Prepare(const std::vector<Oid>& types) {
  // PQprepare waits: the deferred writes' answers first.
  if (Status s = db_.EndPipeline(); !s.ok()) return s;
  const std::string shown = text_.substr(0, 80);
  PGresult* res = PQprepare(db_.conn(), name_.c_str(), text_.c_str(),
                            static_cast<int>(types.size()), types.empty() ? nullptr : types.data());
  if (PQresultStatus(res) != PGRES_COMMAND_OK) {
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    // 42P18 indeterminate_datatype, 42725 ambiguous_function: a parameter
    // whose type only its bound value tells.
    if (!typed_ && state &&
        (std::strcmp(state, "42P18") == 0 || std::strcmp(state, "42725") == 0)) {
      typed_ = true;
    }
    Status s = PgError(res, db_.conn(), "prepare '" + shown + "'");
    PQclear(res);
    return s;
  }
  PQclear(res);
  generation_ = db_.generation();
  on_server_ = true;
  res = PQdescribePrepared(db_.conn(), name_.c_str());
  if (PQresultStatus(res) != PGRES_COMMAND_OK) {
    Status s = PgError(res, db_.conn(), "describe '" + shown + "'");
    PQclear(res);
    db_.Deallocate(name_);
    on_server_ = false;
    return s;
  }
  const int n = PQnparams(res);
  types_.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) types_[static_cast<size_t>(i)] = PQparamtype(res, i);
  PQclear(res);
  if (typed_) typed_as_ = types;
  return Status();
}

PgStatement::~PgStatement() {
  PQclear(result_);
  if (on_server_ && generation_ == db_.generation()) db_.Deallocate(std::move(name_));
}

Status PgStatement::ReadyToRun() {
  if (!db_.in_transaction()) {
    if (Status s = db_.EnsureConnected(); !s.ok()) return s;
  }
  if (typed_) {
    std::vector<Oid> bound(params_.size());
    for (size_t i = 0; i < params_.size(); ++i) {
      bound[i] = params_[i].bound;
      if (bound[i] == 0 && i < gaps_.size()) bound[i] = gaps_[i];
    }
    if (bound != typed_as_ || typed_as_.empty() || generation_ != db_.generation()) {
      if (on_server_ && generation_ == db_.generation()) db_.Deallocate(name_);
      on_server_ = false;
      name_ = db_.NextName();
      if (Status s = Prepare(bound); !s.ok()) return s;
      typed_as_ = bound;
    }
  } else if (generation_ != db_.generation()) {
    // Prepared on a connection since lost: again, on this one.
    if (Status s = Prepare(gaps_); !s.ok()) return s;
  }
  return Status();
}

Wire PgStatement::ParamsForWire() {
  const size_t n = params_.size();
  Wire w;
  w.values.resize(n);
  w.lengths.resize(n);
  w.formats.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const Param& p = params_[i];
    if (p.null) continue;
    // Text parameters must be NUL-terminated: copy views that aren't.
    if (types_[i] == kByteaOid) {
      w.values[i] = p.bytes.data() ? p.bytes.data() : "";
      w.lengths[i] = static_cast<int>(p.bytes.size());
      w.formats[i] = 1;
    } else {
      if (p.owned.data() != p.bytes.data()) {
        Param& q = params_[i];
        q.owned.assign(p.bytes.data(), p.bytes.size());
        q.bytes = q.owned;
      }
      w.values[i] = p.owned.c_str();
      w.lengths[i] = static_cast<int>(p.owned.size());
      w.formats[i] = 0;
    }
  }
  return w;
}

std::string PgStatement::Describe() const {
  std::string out = "'" + text_.substr(0, 60) + (text_.size() > 60 ? "...'" : "'");
  // The first text parameter names the row in every deferred write (its id).
  for (size_t i = 0; i < params_.size() && i < types_.size(); ++i) {
    if (params_[i].null || types_[i] == kByteaOid || params_[i].bound != 0) continue;
    out += " with $" + std::to_string(i + 1) + " = '" +
           std::string(params_[i].bytes.substr(0, 40)) + "'";
    break;
  }
  return out;
}

bool PgStatement::Step() {
  // Reset after a failed prepare: prepared again, on the connection now.
  if (!prepared_ && status_.ok()) status_ = Finish();
  if (!prepared_ || !status_.ok()) return false;
  if (!executed_) {
    executed_ = true;
    if (Status s = ReadyToRun(); !s.ok()) {
      status_ = std::move(s);
      return false;
    }
    const Wire w = ParamsForWire();
    Status deferred;
    result_ = db_.ExecPrepared(name_, w, &deferred);
    if (!deferred.ok()) {
      // A deferred write sent before this statement failed: this one did
      // not run (PostgreSQL skipped it), and fails with that error.
      PQclear(result_);
      result_ = nullptr;
      status_ = std::move(deferred);
      return false;
    }
    const ExecStatusType st = PQresultStatus(result_);
    if (st == PGRES_TUPLES_OK) {
      rows_ = PQntuples(result_);
      db_.NoteChanges(result_);
    } else if (st == PGRES_COMMAND_OK) {
      rows_ = 0;
      db_.NoteChanges(result_);
    } else {
      status_ = PgError(result_, db_.conn(), "step");
      const char* state = PQresultErrorField(result_, PG_DIAG_SQLSTATE);
      const char* constraint = PQresultErrorField(result_, PG_DIAG_CONSTRAINT_NAME);
      unique_violation_ = state && std::strcmp(state, "23505") == 0;
      duplicate_key_ = unique_violation_ && constraint &&
                       std::string_view(constraint).size() >= 5 &&
                       std::string_view(constraint).substr(
                           std::string_view(constraint).size() - 5) == "_pkey";
      PQclear(result_);
      result_ = nullptr;
      return false;
    }
  }
  ++row_;
  return row_ < rows_;
}

Status PgStatement::RunDeferred() {
  // Outside a transaction nothing would report a late error: run it now.
  if (!db_.in_transaction()) {
    while (Step()) {
    }
    return status_;
  }
  if (!prepared_ && status_.ok()) status_ = Finish();
  if (!prepared_ || !status_.ok()) return status_;
  if (executed_) return Status::Internal("a statement run twice without a reset");
  executed_ = true;
  if (Status s = ReadyToRun(); !s.ok()) {
    status_ = s;
    return s;
  }
  const Wire w = ParamsForWire();
  Status s = db_.SendDeferred(name_, w, Describe());
  if (!s.ok()) status_ = s;
  return s;
}

}  // namespace

bool IsPostgresUrl(std::string_view where) {
  return where.rfind("postgresql://", 0) == 0 || where.rfind("postgres://", 0) == 0;
}

namespace {
// `url` with the value of its query parameter password=... as ***.
std::string RedactQueryPassword(std::string url) {
  const size_t query = url.find('?');
  if (query == std::string::npos) return url;
  for (size_t at = query; at < url.size();) {
    const size_t name = at + 1;
    size_t end = url.find('&', name);
    if (end == std::string::npos) end = url.size();
    if (url.compare(name, 9, "password=") == 0) {
      url.replace(name + 9, end - (name + 9), "***");
      end = name + 9 + 3;
    }
    at = end;
  }
  return url;
}
}  // namespace

std::string RedactUrl(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t start = scheme + 3;
  const size_t at = url.find('@', start);
  const size_t slash = url.find('/', start);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return RedactQueryPassword(std::string(url));
  }
  const size_t colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at) {
    return RedactQueryPassword(std::string(url));
  }
  return RedactQueryPassword(std::string(url.substr(0, colon + 1)) + "***" +
                             std::string(url.substr(at)));
}

Result<std::unique_ptr<Db>> OpenPostgres(const std::string& url) {
  const std::string shown = RedactUrl(url);
  if (!IsPostgresUrl(url)) {
    return Status::InvalidArgument("not a PostgreSQL URL (postgresql://...): " + shown);
  }
  // Defaults first: the URL's own settings (dbname is expanded in place)
  // override them.
  const std::string connect_timeout = std::to_string(kConnectTimeoutSeconds);
  // tcp_user_timeout: data sent to a host gone from the network is given
  // up after 60 s (keepalives alone leave a send retransmitting for ~15
  // minutes).
  // fallback_application_name: pg_stat_activity names the server's
  // connections "kbo-server" unless the URL or PGAPPNAME names them.
  const char* const keys[] = {"connect_timeout", "keepalives", "keepalives_idle",
                              "keepalives_interval", "keepalives_count",
                              "tcp_user_timeout", "fallback_application_name", "dbname",
                              nullptr};
  const char* const values[] = {connect_timeout.c_str(), "1", "30", "10", "3", "60000",
                                "kbo-server", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!conn) return Status::Unavailable("cannot connect to " + shown + ": out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    Status s = Status::Unavailable("cannot connect to " + shown + ": " +
                                   Trimmed(PQerrorMessage(conn)));
    PQfinish(conn);
    return s;
  }
  PQsetNoticeProcessor(conn, LogNotice, nullptr);
  auto pg = std::make_unique<PgDb>(conn, shown);
  if (Status s = pg->SetUpSession(); !s.ok()) return s;
  std::unique_ptr<Db> db = std::move(pg);
  // Text must sort by its bytes, as SQLite's does (docs/decisions.md).
  Statement collation(*db,
                      "SELECT datcollate FROM pg_database WHERE datname = current_database()");
  if (!collation.Step()) {
    return collation.status().ok() ? Status::IOError("cannot read the collation of " + shown)
                                   : collation.status();
  }
  const std::string collate = collation.ColumnText(0);
  if (collate != "C" && collate != "POSIX" && collate.rfind("C.", 0) != 0) {
    return Status::FailedPrecondition(
        "the database of " + shown + " sorts text by the locale '" + collate +
        "'; kbo-server needs C collation (text in byte order, as on SQLite): create it "
        "with createdb --locale=C.UTF-8 --template=template0 (docs/operations.md)");
  }
  return db;
}

std::string PgConnectionOption(Db& db, const char* key) {
  auto* pg = dynamic_cast<PgDb*>(&db);
  if (pg == nullptr) return std::string();
  PQconninfoOption* options = PQconninfo(pg->conn());
  std::string value;
  for (PQconninfoOption* o = options; o && o->keyword; ++o) {
    if (std::strcmp(o->keyword, key) == 0 && o->val) value = o->val;
  }
  PQconninfoFree(options);
  return value;
}

void SetLockWaitForTests(Db& db, int64_t ms) {
  if (auto* pg = dynamic_cast<PgDb*>(&db)) pg->SetLockWait(ms);
}

void LeaveDeferredErrorForTests(Db& db, const Status& error) {
  if (auto* pg = dynamic_cast<PgDb*>(&db)) pg->LeaveDeferredErrorForTests(error);
}

void SetWriterWatchForTests(Db& db, int64_t slice_ms, int64_t hung_s) {
  if (auto* pg = dynamic_cast<PgDb*>(&db)) pg->SetWriterWatch(slice_ms, hung_s);
}

uint64_t HungWritersEnded(Db& db) {
  auto* pg = dynamic_cast<PgDb*>(&db);
  return pg != nullptr ? pg->hung_writers_ended() : 0;
}

}  // namespace kbo::server
