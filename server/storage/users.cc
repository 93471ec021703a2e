#include "server/storage/users.h"

#include <utility>

namespace kbo::server::storage {
namespace {

constexpr char kUserColumns[] =
    "id, login, role, districts, created_at, disabled_at";

UserRow ReadUser(Statement& st) {
  UserRow u;
  u.id = st.ColumnText(0);
  u.login = st.ColumnText(1);
  u.role = st.ColumnText(2);
  u.districts = st.ColumnText(3);
  u.created_at = st.ColumnText(4);
  if (!st.IsNull(5)) u.disabled_at = st.ColumnText(5);
  return u;
}

}  // namespace

// ---- web_user -----------------------------------------------------------------

Status UserStore::Insert(const UserRow& u, std::string_view password_hash) {
  Statement& st = db_.Cached(
      "INSERT INTO web_user(id, login, role, districts, password_hash, "
      "created_at, password_changed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)");
  st.Bind(1, std::string_view(u.id))
      .Bind(2, std::string_view(u.login))
      .Bind(3, std::string_view(u.role))
      .Bind(4, std::string_view(u.districts))
      .Bind(5, password_hash)
      .Bind(6, std::string_view(u.created_at));
  Status s = st.Run();
  if (!s.ok() && st.unique_violation()) {
    return Status::AlreadyExists("there is already a user '" + u.login + "'")
        .WithReason("login_taken");
  }
  return s;
}

Result<std::vector<UserRow>> UserStore::List() {
  Statement& st = db_.Cached(std::string("SELECT ") + kUserColumns +
                             " FROM web_user ORDER BY login");
  std::vector<UserRow> out;
  while (st.Step()) out.push_back(ReadUser(st));
  KBO_RETURN_IF_ERROR(st.status());
  return out;
}

Result<std::optional<UserRow>> UserStore::FindByLogin(std::string_view login) {
  Statement& st = db_.Cached(std::string("SELECT ") + kUserColumns +
                             " FROM web_user WHERE login = ?1");
  st.Bind(1, login);
  std::optional<UserRow> u;
  if (st.Step()) u = ReadUser(st);
  KBO_RETURN_IF_ERROR(st.status());
  (void)st.Reset();
  return u;
}

Result<std::optional<UserCredentials>> UserStore::CredentialsOf(
    std::string_view login) {
  Statement& find = db_.Cached(
      "SELECT id, password_hash, disabled_at FROM web_user WHERE login = ?1");
  find.Bind(1, login);
  std::optional<UserCredentials> c;
  if (find.Step()) {
    c = UserCredentials{find.ColumnText(0), find.ColumnText(1), !find.IsNull(2)};
  }
  KBO_RETURN_IF_ERROR(find.status());
  (void)find.Reset();
  return c;
}

Status UserStore::SetDisabledAt(const std::string& id, std::string_view at) {
  Statement& st = db_.Cached("UPDATE web_user SET disabled_at = ?2 WHERE id = ?1");
  st.Bind(1, std::string_view(id)).Bind(2, at);
  return st.Run();
}

Status UserStore::ClearDisabled(const std::string& id) {
  Statement& st = db_.Cached("UPDATE web_user SET disabled_at = NULL WHERE id = ?1");
  st.Bind(1, std::string_view(id));
  return st.Run();
}

Status UserStore::SetPasswordHash(const std::string& id, std::string_view hash,
                                  std::string_view changed_at) {
  Statement& st = db_.Cached(
      "UPDATE web_user SET password_hash = ?2, password_changed_at = ?3 "
      "WHERE id = ?1");
  st.Bind(1, std::string_view(id)).Bind(2, hash).Bind(3, changed_at);
  return st.Run();
}

// ---- web_session --------------------------------------------------------------

Status SessionStore::Insert(std::string_view token_hash,
                            std::string_view user_id, std::string_view csrf,
                            int64_t created_ms, std::string_view address) {
  Statement& ins = db_.Cached(
      "INSERT INTO web_session(token_hash, user_id, csrf, created_ms, "
      "last_seen_ms, address) VALUES (?1, ?2, ?3, ?4, ?4, ?5)");
  ins.Bind(1, token_hash)
      .Bind(2, user_id)
      .Bind(3, csrf)
      .Bind(4, created_ms)
      .Bind(5, address);
  return ins.Run();
}

Result<std::optional<SessionRow>> SessionStore::Find(std::string_view token_hash) {
  Statement& st = db_.Cached(
      "SELECT s.token_hash, s.csrf, s.created_ms, s.last_seen_ms, u.login, "
      "u.disabled_at FROM web_session s JOIN web_user u ON u.id = s.user_id "
      "WHERE s.token_hash = ?1");
  st.Bind(1, token_hash);
  std::optional<SessionRow> s;
  if (st.Step()) {
    s.emplace();
    s->token_hash = st.ColumnText(0);
    s->csrf = st.ColumnText(1);
    s->created_ms = st.ColumnInt(2);
    s->last_seen_ms = st.ColumnInt(3);
    s->login = st.ColumnText(4);
    s->user_disabled = !st.IsNull(5);
  }
  KBO_RETURN_IF_ERROR(st.status());
  (void)st.Reset();
  return s;
}

Status SessionStore::Touch(std::string_view token_hash, int64_t last_seen_ms) {
  Statement& touch = db_.Cached(
      "UPDATE web_session SET last_seen_ms = ?2 WHERE token_hash = ?1");
  touch.Bind(1, token_hash).Bind(2, last_seen_ms);
  return touch.Run();
}

Status SessionStore::Delete(std::string_view token_hash) {
  Statement& del = db_.Cached("DELETE FROM web_session WHERE token_hash = ?1");
  del.Bind(1, token_hash);
  return del.Run();
}

Status SessionStore::DeleteOfUser(std::string_view user_id) {
  Statement& st = db_.Cached("DELETE FROM web_session WHERE user_id = ?1");
  st.Bind(1, user_id);
  return st.Run();
}

Status SessionStore::DeleteEnded(int64_t seen_before_ms,
                                 int64_t created_before_ms) {
  Statement& prune = db_.Cached(
      "DELETE FROM web_session WHERE last_seen_ms < ?1 OR created_ms < ?2");
  prune.Bind(1, seen_before_ms).Bind(2, created_before_ms);
  return prune.Run();
}

// ---- sign_in_failure ----------------------------------------------------------

Result<int64_t> SignInFailureStore::LockedUntil(std::string_view key) {
  Statement& st = db_.Cached(
      "SELECT locked_until_ms FROM sign_in_failure WHERE key = ?1");
  st.Bind(1, key);
  const int64_t until = st.Step() ? st.ColumnInt(0) : 0;
  KBO_RETURN_IF_ERROR(st.status());
  (void)st.Reset();
  return until;
}

Result<int64_t> SignInFailureStore::FailuresSince(std::string_view key,
                                                  int64_t since_ms) {
  Statement& st = db_.Cached(
      "SELECT failures FROM sign_in_failure WHERE key = ?1 AND "
      "window_start_ms >= ?2");
  st.Bind(1, key).Bind(2, since_ms);
  const int64_t n = st.Step() ? st.ColumnInt(0) : 0;
  KBO_RETURN_IF_ERROR(st.status());
  (void)st.Reset();
  return n;
}

Status SignInFailureStore::Count(std::string_view key, int64_t now_ms,
                                 int64_t window_ms) {
  Statement& st = db_.Cached(
      "INSERT INTO sign_in_failure(key, failures, window_start_ms) "
      "VALUES (?1, 1, ?2) ON CONFLICT(key) DO UPDATE SET "
      "failures = CASE WHEN sign_in_failure.window_start_ms < ?2 - ?3 THEN 1 "
      "ELSE sign_in_failure.failures + 1 END, "
      "window_start_ms = CASE WHEN sign_in_failure.window_start_ms < ?2 - ?3 "
      "THEN ?2 ELSE sign_in_failure.window_start_ms END");
  st.Bind(1, key).Bind(2, now_ms).Bind(3, window_ms);
  return st.Run();
}

Status SignInFailureStore::LockIfAtLeast(std::string_view key, int64_t limit,
                                         int64_t now_ms, int64_t lock_ms) {
  Statement& lock = db_.Cached(
      "UPDATE sign_in_failure SET locked_until_ms = ?2 + ?3 "
      "WHERE key = ?1 AND failures >= ?4");
  lock.Bind(1, key).Bind(2, now_ms).Bind(3, lock_ms).Bind(4, limit);
  return lock.Run();
}

Status SignInFailureStore::Prune(int64_t now_ms, int64_t window_ms,
                                 int64_t batch) {
  Statement& prune = db_.Cached(
      "DELETE FROM sign_in_failure WHERE key IN (SELECT key FROM "
      "sign_in_failure WHERE window_start_ms < ?1 - ?2 AND "
      "locked_until_ms <= ?1 LIMIT ?3)");
  prune.Bind(1, now_ms).Bind(2, window_ms).Bind(3, batch);
  return prune.Run();
}

Status SignInFailureStore::Clear(std::string_view key) {
  Statement& clear = db_.Cached("DELETE FROM sign_in_failure WHERE key = ?1");
  clear.Bind(1, key);
  return clear.Run();
}

// ---- audit_log ----------------------------------------------------------------

Status AuditLog::Append(const AuditEntry& e) {
  Statement& st = db_.Cached(
      "INSERT INTO audit_log(at, actor, action, subject, detail, address) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  st.Bind(1, std::string_view(e.at))
      .Bind(2, std::string_view(e.actor))
      .Bind(3, std::string_view(e.action))
      .Bind(4, std::string_view(e.subject))
      .Bind(5, std::string_view(e.detail))
      .Bind(6, std::string_view(e.address));
  return st.Run();
}

Result<std::vector<AuditEntry>> AuditLog::Read(size_t limit, int64_t before) {
  Statement& st = db_.Cached(
      "SELECT id, at, actor, action, subject, detail, address FROM audit_log "
      "WHERE ?1 <= 0 OR id < ?1 ORDER BY id DESC LIMIT ?2");
  st.Bind(1, before).Bind(2, static_cast<int64_t>(limit));
  std::vector<AuditEntry> out;
  while (st.Step()) {
    AuditEntry e;
    e.id = st.ColumnInt(0);
    e.at = st.ColumnText(1);
    e.actor = st.ColumnText(2);
    e.action = st.ColumnText(3);
    e.subject = st.ColumnText(4);
    e.detail = st.ColumnText(5);
    e.address = st.ColumnText(6);
    out.push_back(std::move(e));
  }
  KBO_RETURN_IF_ERROR(st.status());
  return out;
}

}  // namespace kbo::server::storage
