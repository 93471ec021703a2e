#include "server/console/users.h"

#include <algorithm>
#include <string>
#include <utility>

#include "shared/secrets.h"
#include "shared/signing.h"
#include "shared/uuid.h"

namespace kbo::server::console {
namespace {

constexpr char kUserColumns[] =
    "id, login, role, districts, created_at, disabled_at";

Result<WebUser> ReadUser(Statement& st) {
  WebUser u;
  u.id = st.ColumnText(0);
  u.login = st.ColumnText(1);
  Result<WebRole> role = ParseWebRole(st.ColumnText(2));
  if (!role.ok()) return Status::Corruption("user " + u.login + ": bad role");
  u.role = *role;
  Result<Scope> scope = Scope::Parse(st.ColumnText(3));
  if (!scope.ok()) {
    return Status::Corruption("user " + u.login + ": bad districts");
  }
  u.scope = *std::move(scope);
  u.created_at = st.ColumnText(4);
  if (!st.IsNull(5)) u.disabled_at = st.ColumnText(5);
  return u;
}

Status ValidatePassword(std::string_view password) {
  if (password.size() < kMinPasswordBytes) {
    return Status::InvalidArgument("the password must be at least " +
                                   std::to_string(kMinPasswordBytes) +
                                   " characters long");
  }
  if (password.size() > kMaxPasswordBytes) {
    return Status::InvalidArgument("the password is longer than " +
                                   std::to_string(kMaxPasswordBytes) +
                                   " bytes");
  }
  return Status();
}

std::string SessionKey(std::string_view cookie) {
  return HexEncode(Sha256(cookie));
}

}  // namespace

Status ValidateLogin(std::string_view login) {
  const bool ok_len = login.size() >= 2 && login.size() <= 64;
  const bool ok_chars = std::all_of(login.begin(), login.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '@';
  });
  if (!ok_len || !ok_chars) {
    return Status::InvalidArgument(
        "a login is 2 to 64 of a-z, 0-9 and . _ - @ (lowercase), got '" +
        std::string(login.substr(0, 80)) + "'");
  }
  return Status();
}

Result<WebUser> Users::Add(std::string_view login, WebRole role,
                           const Scope& scope, std::string_view password,
                           std::string_view actor) {
  KBO_RETURN_IF_ERROR(ValidateLogin(login));
  KBO_RETURN_IF_ERROR(ValidatePassword(password));
  KBO_ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  Db& db = store_.db();
  Transaction tx(db);
  KBO_RETURN_IF_ERROR(tx.status());
  WebUser u;
  u.id = Uuid::Random().ToString();
  u.login = std::string(login);
  u.role = role;
  u.scope = scope;
  u.created_at = store_.NowIso();
  Statement& st = db.Cached(
      "INSERT INTO web_user(id, login, role, districts, password_hash, "
      "created_at, password_changed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)");
  st.Bind(1, std::string_view(u.id))
      .Bind(2, login)
      .Bind(3, WebRoleName(role))
      .Bind(4, std::string_view(scope.ToString()))
      .Bind(5, std::string_view(hash))
      .Bind(6, std::string_view(u.created_at));
  Status s = st.Run();
  if (!s.ok()) {
    if (st.unique_violation()) {
      return Status::AlreadyExists("there is already a user '" +
                                   std::string(login) + "'");
    }
    return s;
  }
  KBO_RETURN_IF_ERROR(AppendAudit(
      store_, actor, "user_add", login,
      std::string(WebRoleName(role)) + " " + scope.ToString(), ""));
  KBO_RETURN_IF_ERROR(tx.Commit());
  return u;
}

Result<std::vector<WebUser>> Users::List() {
  Statement& st = store_.db().Cached(std::string("SELECT ") + kUserColumns +
                                     " FROM web_user ORDER BY login");
  std::vector<WebUser> out;
  while (st.Step()) {
    KBO_ASSIGN_OR_RETURN(WebUser u, ReadUser(st));
    out.push_back(std::move(u));
  }
  KBO_RETURN_IF_ERROR(st.status());
  return out;
}

Result<WebUser> Users::Find(std::string_view login) {
  Statement& st = store_.db().Cached(std::string("SELECT ") + kUserColumns +
                                     " FROM web_user WHERE login = ?1");
  st.Bind(1, login);
  if (!st.Step()) {
    KBO_RETURN_IF_ERROR(st.status());
    return Status::NotFound("no user '" + std::string(login) + "'");
  }
  return ReadUser(st);
}

Status Users::EndSessionsOf(const std::string& user_id) {
  Statement& st =
      store_.db().Cached("DELETE FROM web_session WHERE user_id = ?1");
  st.Bind(1, std::string_view(user_id));
  return st.Run();
}

Status Users::Disable(std::string_view login, std::string_view actor) {
  Db& db = store_.db();
  Transaction tx(db);
  KBO_RETURN_IF_ERROR(tx.status());
  KBO_ASSIGN_OR_RETURN(WebUser u, Find(login));
  if (!u.disabled()) {
    Statement& st = db.Cached(
        "UPDATE web_user SET disabled_at = ?2 WHERE id = ?1");
    st.Bind(1, std::string_view(u.id))
        .Bind(2, std::string_view(store_.NowIso()));
    KBO_RETURN_IF_ERROR(st.Run());
  }
  KBO_RETURN_IF_ERROR(EndSessionsOf(u.id));
  KBO_RETURN_IF_ERROR(AppendAudit(store_, actor, "user_disable", login, "", ""));
  return tx.Commit();
}

Status Users::SetPassword(std::string_view login, std::string_view password,
                          std::string_view actor) {
  KBO_RETURN_IF_ERROR(ValidatePassword(password));
  KBO_ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  Db& db = store_.db();
  Transaction tx(db);
  KBO_RETURN_IF_ERROR(tx.status());
  KBO_ASSIGN_OR_RETURN(WebUser u, Find(login));
  Statement& st = db.Cached(
      "UPDATE web_user SET password_hash = ?2, password_changed_at = ?3 "
      "WHERE id = ?1");
  st.Bind(1, std::string_view(u.id))
      .Bind(2, std::string_view(hash))
      .Bind(3, std::string_view(store_.NowIso()));
  KBO_RETURN_IF_ERROR(st.Run());
  KBO_RETURN_IF_ERROR(EndSessionsOf(u.id));
  // The user's own failures are forgiven with a new password.
  Statement& clear = db.Cached("DELETE FROM sign_in_failure WHERE key = ?1");
  clear.Bind(1, std::string_view("login:" + u.login));
  KBO_RETURN_IF_ERROR(clear.Run());
  KBO_RETURN_IF_ERROR(AppendAudit(store_, actor, "user_passwd", login, "", ""));
  return tx.Commit();
}

int64_t Users::LockedUntil(const std::string& key) {
  Statement& st = store_.db().Cached(
      "SELECT locked_until_ms FROM sign_in_failure WHERE key = ?1");
  st.Bind(1, std::string_view(key));
  return st.Step() ? st.ColumnInt(0) : 0;
}

void Users::NoteFailure(const std::string& key, int limit) {
  const int64_t now = store_.NowMillis();
  // Rows that no longer count for anything (their window is over and any
  // lock has ended) are pruned on each write, up to kFailurePruneBatch at a
  // time: the table holds what failed within the window, not every address
  // that ever failed.
  Statement& prune = store_.db().Cached(
      "DELETE FROM sign_in_failure WHERE key IN (SELECT key FROM "
      "sign_in_failure WHERE window_start_ms < ?1 - ?2 AND "
      "locked_until_ms <= ?1 LIMIT ?3)");
  prune.Bind(1, now).Bind(2, kFailureWindowMs).Bind(3, kFailurePruneBatch);
  (void)prune.Run();
  Statement& st = store_.db().Cached(
      "INSERT INTO sign_in_failure(key, failures, window_start_ms) "
      "VALUES (?1, 1, ?2) ON CONFLICT(key) DO UPDATE SET "
      "failures = CASE WHEN sign_in_failure.window_start_ms < ?2 - ?3 THEN 1 "
      "ELSE sign_in_failure.failures + 1 END, "
      "window_start_ms = CASE WHEN sign_in_failure.window_start_ms < ?2 - ?3 "
      "THEN ?2 ELSE sign_in_failure.window_start_ms END");
  st.Bind(1, std::string_view(key)).Bind(2, now).Bind(3, kFailureWindowMs);
  (void)st.Run();
  Statement& lock = store_.db().Cached(
      "UPDATE sign_in_failure SET locked_until_ms = ?2 + ?3 "
      "WHERE key = ?1 AND failures >= ?4");
  lock.Bind(1, std::string_view(key))
      .Bind(2, now)
      .Bind(3, kLockMs)
      .Bind(4, int64_t{limit});
  (void)lock.Run();
}

Result<SignInResult> Users::SignIn(std::string_view login,
                                   std::string_view password,
                                   std::string_view address) {
  Db& db = store_.db();
  Transaction tx(db);
  KBO_RETURN_IF_ERROR(tx.status());
  const int64_t now = store_.NowMillis();
  const std::string login_key = "login:" + std::string(login.substr(0, 64));
  const std::string addr_key = "addr:" + std::string(address);
  const auto refuse_locked = [&](int64_t until) -> Status {
    const int64_t wait_s = std::max<int64_t>(1, (until - now + 999) / 1000);
    (void)AppendAudit(store_, "user:" + std::string(login.substr(0, 64)),
                      "sign_in_locked", login.substr(0, 64), "", address);
    (void)tx.Commit();
    return Status::ResourceExhausted(
        "too many failed sign-ins; try again in " +
        std::to_string((wait_s + 59) / 60) + " minute(s)");
  };
  const int64_t addr_until = LockedUntil(addr_key);
  if (addr_until > now) return refuse_locked(addr_until);
  const int64_t login_until = LockedUntil(login_key);
  if (login_until > now) {
    // A locked login still lets in an address that has not failed lately
    // (users.h): only addresses that took part in the guessing wait.
    Statement& st = db.Cached(
        "SELECT failures FROM sign_in_failure WHERE key = ?1 AND "
        "window_start_ms >= ?2");
    st.Bind(1, std::string_view(addr_key)).Bind(2, now - kFailureWindowMs);
    if (st.Step() && st.ColumnInt(0) > 0) return refuse_locked(login_until);
  }

  Statement& find = db.Cached(
      "SELECT id, password_hash, disabled_at FROM web_user WHERE login = ?1");
  find.Bind(1, login);
  std::string user_id, hash;
  bool disabled = false;
  if (find.Step()) {
    user_id = find.ColumnText(0);
    hash = find.ColumnText(1);
    disabled = !find.IsNull(2);
  }
  KBO_RETURN_IF_ERROR(find.status());
  (void)find.Reset();
  bool good = false;
  if (user_id.empty()) {
    DummyVerifyPassword(password);
  } else {
    good = VerifyPassword(hash, password);
  }
  if (!good || disabled) {
    NoteFailure(login_key, kLoginFailures);
    NoteFailure(addr_key, kAddressFailures);
    KBO_RETURN_IF_ERROR(AppendAudit(
        store_, "user:" + std::string(login.substr(0, 64)), "sign_in_failed",
        login.substr(0, 64), good ? "user disabled" : "", address));
    KBO_RETURN_IF_ERROR(tx.Commit());
    return Status::Unauthenticated("wrong login or password");
  }
  Statement& clear = db.Cached("DELETE FROM sign_in_failure WHERE key = ?1");
  clear.Bind(1, std::string_view(login_key));
  KBO_RETURN_IF_ERROR(clear.Run());

  SignInResult out;
  out.cookie = RandomHex(32);
  out.session.token_hash = SessionKey(out.cookie);
  out.session.csrf = RandomHex(32);
  Statement& ins = db.Cached(
      "INSERT INTO web_session(token_hash, user_id, csrf, created_ms, "
      "last_seen_ms, address) VALUES (?1, ?2, ?3, ?4, ?4, ?5)");
  ins.Bind(1, std::string_view(out.session.token_hash))
      .Bind(2, std::string_view(user_id))
      .Bind(3, std::string_view(out.session.csrf))
      .Bind(4, now)
      .Bind(5, address);
  KBO_RETURN_IF_ERROR(ins.Run());
  // Sessions that ended long ago go with this one's start.
  Statement& prune = db.Cached(
      "DELETE FROM web_session WHERE last_seen_ms < ?1 OR created_ms < ?2");
  prune.Bind(1, now - kSessionIdleMs).Bind(2, now - kSessionMaxMs);
  KBO_RETURN_IF_ERROR(prune.Run());
  KBO_ASSIGN_OR_RETURN(out.session.user, Find(login));
  KBO_RETURN_IF_ERROR(AppendAudit(store_, out.session.user.actor(), "sign_in",
                                  login, "", address));
  KBO_RETURN_IF_ERROR(tx.Commit());
  return out;
}

Result<Session> Users::SessionFor(std::string_view cookie) {
  if (cookie.size() != 64) return Status::Unauthenticated("not signed in");
  const int64_t now = store_.NowMillis();
  Db& db = store_.db();
  Statement& st = db.Cached(
      "SELECT s.token_hash, s.csrf, s.created_ms, s.last_seen_ms, u.login, "
      "u.disabled_at FROM web_session s JOIN web_user u ON u.id = s.user_id "
      "WHERE s.token_hash = ?1");
  const std::string key = SessionKey(cookie);
  st.Bind(1, std::string_view(key));
  if (!st.Step()) {
    KBO_RETURN_IF_ERROR(st.status());
    return Status::Unauthenticated("not signed in");
  }
  Session s;
  s.token_hash = st.ColumnText(0);
  s.csrf = st.ColumnText(1);
  const int64_t created = st.ColumnInt(2);
  const int64_t seen = st.ColumnInt(3);
  const std::string login = st.ColumnText(4);
  const bool disabled = !st.IsNull(5);
  (void)st.Reset();
  if (disabled || seen < now - kSessionIdleMs ||
      created < now - kSessionMaxMs) {
    Statement& del = db.Cached("DELETE FROM web_session WHERE token_hash = ?1");
    del.Bind(1, std::string_view(key));
    (void)del.Run();
    return Status::Unauthenticated("the session has ended; sign in again");
  }
  KBO_ASSIGN_OR_RETURN(s.user, Find(login));
  // Touch at most once a minute: a page of many requests writes once.
  if (now - seen > 60 * 1000) {
    Statement& touch = db.Cached(
        "UPDATE web_session SET last_seen_ms = ?2 WHERE token_hash = ?1");
    touch.Bind(1, std::string_view(key)).Bind(2, now);
    KBO_RETURN_IF_ERROR(touch.Run());
  }
  return s;
}

Status Users::SignOut(const Session& session, std::string_view address) {
  Statement& del =
      store_.db().Cached("DELETE FROM web_session WHERE token_hash = ?1");
  del.Bind(1, std::string_view(session.token_hash));
  KBO_RETURN_IF_ERROR(del.Run());
  return AppendAudit(store_, session.user.actor(), "sign_out",
                     session.user.login, "", address);
}

Status AppendAudit(ServerStore& store, std::string_view actor,
                   std::string_view action, std::string_view subject,
                   std::string_view detail, std::string_view address) {
  Statement& st = store.db().Cached(
      "INSERT INTO audit_log(at, actor, action, subject, detail, address) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  st.Bind(1, std::string_view(store.NowIso()))
      .Bind(2, actor)
      .Bind(3, action)
      .Bind(4, subject)
      .Bind(5, detail)
      .Bind(6, address);
  return st.Run();
}

Result<std::vector<AuditEntry>> ReadAudit(ServerStore& store, size_t limit,
                                          int64_t before) {
  Statement& st = store.db().Cached(
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

}  // namespace kbo::server::console
