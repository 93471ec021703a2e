#include "server/console/users.h"

#include <algorithm>
#include <string>
#include <utility>

#include "server/storage/users.h"
#include "shared/secrets.h"
#include "shared/signing.h"
#include "shared/uuid.h"

namespace kbo::server::console {
namespace {

using storage::AuditLog;
using storage::SessionStore;
using storage::SignInFailureStore;
using storage::UserStore;

// A stored user with its role and districts parsed.
Result<WebUser> ToWebUser(const storage::UserRow& row) {
  WebUser u;
  u.id = row.id;
  u.login = row.login;
  Result<WebRole> role = ParseWebRole(row.role);
  if (!role.ok()) return Status::Corruption("user " + u.login + ": bad role");
  u.role = *role;
  Result<Scope> scope = Scope::Parse(row.districts);
  if (!scope.ok()) {
    return Status::Corruption("user " + u.login + ": bad districts");
  }
  u.scope = *std::move(scope);
  u.created_at = row.created_at;
  u.disabled_at = row.disabled_at.value_or("");
  return u;
}


std::string SessionKey(std::string_view cookie) {
  return HexEncode(Sha256(cookie));
}

}  // namespace

Status ValidatePassword(std::string_view password) {
  if (password.size() < kMinPasswordBytes) {
    return Status::InvalidArgument("the password must be at least " +
                                   std::to_string(kMinPasswordBytes) +
                                   " characters long")
        .WithReason("password_short");
  }
  if (password.size() > kMaxPasswordBytes) {
    return Status::InvalidArgument("the password is longer than " +
                                   std::to_string(kMaxPasswordBytes) +
                                   " bytes")
        .WithReason("password_long");
  }
  return Status();
}

Status ValidateLogin(std::string_view login) {
  const bool ok_len = login.size() >= 2 && login.size() <= 64;
  const bool ok_chars = std::all_of(login.begin(), login.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '@';
  });
  if (!ok_len || !ok_chars) {
    return Status::InvalidArgument(
               "a login is 2 to 64 of a-z, 0-9 and . _ - @ (lowercase), got '" +
               std::string(login.substr(0, 80)) + "'")
        .WithReason("bad_login");
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
  storage::UserRow row;
  row.id = u.id;
  row.login = u.login;
  row.role = std::string(WebRoleName(role));
  row.districts = scope.ToString();
  row.created_at = u.created_at;
  // kAlreadyExists when the login is taken.
  KBO_RETURN_IF_ERROR(UserStore(db).Insert(row, hash));
  KBO_RETURN_IF_ERROR(AppendAudit(
      store_, actor, "user_add", login,
      std::string(WebRoleName(role)) + " " + scope.ToString(), ""));
  KBO_RETURN_IF_ERROR(tx.Commit());
  return u;
}

Result<std::vector<WebUser>> Users::List() {
  KBO_ASSIGN_OR_RETURN(std::vector<storage::UserRow> rows,
                       UserStore(store_.db()).List());
  std::vector<WebUser> out;
  for (const storage::UserRow& row : rows) {
    KBO_ASSIGN_OR_RETURN(WebUser u, ToWebUser(row));
    out.push_back(std::move(u));
  }
  return out;
}

Result<WebUser> Users::Find(std::string_view login) {
  KBO_ASSIGN_OR_RETURN(std::optional<storage::UserRow> row,
                       UserStore(store_.db()).FindByLogin(login));
  if (!row.has_value()) {
    return Status::NotFound("no user '" + std::string(login) + "'");
  }
  return ToWebUser(*row);
}

Status Users::EndSessionsOf(const std::string& user_id) {
  return SessionStore(store_.db()).DeleteOfUser(user_id);
}

Status Users::Disable(std::string_view login, std::string_view actor) {
  Db& db = store_.db();
  Transaction tx(db);
  KBO_RETURN_IF_ERROR(tx.status());
  KBO_ASSIGN_OR_RETURN(WebUser u, Find(login));
  if (!u.disabled()) {
    KBO_RETURN_IF_ERROR(UserStore(db).SetDisabledAt(u.id, store_.NowIso()));
  }
  KBO_RETURN_IF_ERROR(EndSessionsOf(u.id));
  KBO_RETURN_IF_ERROR(AppendAudit(store_, actor, "user_disable", login, "", ""));
  return tx.Commit();
}

Status Users::Enable(std::string_view login, std::string_view actor) {
  Db& db = store_.db();
  Transaction tx(db);
  KBO_RETURN_IF_ERROR(tx.status());
  KBO_ASSIGN_OR_RETURN(WebUser u, Find(login));
  if (u.disabled()) {
    KBO_RETURN_IF_ERROR(UserStore(db).ClearDisabled(u.id));
    KBO_RETURN_IF_ERROR(AppendAudit(store_, actor, "user_enable", login, "", ""));
  }
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
  KBO_RETURN_IF_ERROR(
      UserStore(db).SetPasswordHash(u.id, hash, store_.NowIso()));
  KBO_RETURN_IF_ERROR(EndSessionsOf(u.id));
  // The user's own failures are forgiven with a new password.
  KBO_RETURN_IF_ERROR(SignInFailureStore(db).Clear("login:" + u.login));
  KBO_RETURN_IF_ERROR(AppendAudit(store_, actor, "user_passwd", login, "", ""));
  return tx.Commit();
}

Result<int64_t> Users::LockedUntil(const std::string& key) {
  return SignInFailureStore(store_.db()).LockedUntil(key);
}

void Users::NoteFailure(const std::string& key, int limit) {
  const int64_t now = store_.NowMillis();
  // Rows that no longer count for anything (their window is over and any
  // lock has ended) are pruned on each write, up to kFailurePruneBatch at a
  // time: the table holds what failed within the window, not every address
  // that ever failed.
  //
  // The bookkeeping is best effort: a failed write here must not turn a
  // wrong password into a server error (the sign-in is refused anyway).
  SignInFailureStore failures(store_.db());
  (void)failures.Prune(now, kFailureWindowMs, kFailurePruneBatch);
  (void)failures.Count(key, now, kFailureWindowMs);
  (void)failures.LockIfAtLeast(key, int64_t{limit}, now, kLockMs);
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
    const int64_t minutes = (wait_s + 59) / 60;
    return Status::ResourceExhausted(
               "too many failed sign-ins; try again in " + std::to_string(minutes) +
               (minutes == 1 ? " minute" : " minutes"))
        .With("minutes", minutes);
  };
  KBO_ASSIGN_OR_RETURN(const int64_t addr_until, LockedUntil(addr_key));
  if (addr_until > now) return refuse_locked(addr_until);
  KBO_ASSIGN_OR_RETURN(const int64_t login_until, LockedUntil(login_key));
  if (login_until > now) {
    // A locked login still lets in an address that has not failed lately
    // (users.h): only addresses that took part in the guessing wait.
    KBO_ASSIGN_OR_RETURN(
        const int64_t addr_failures,
        SignInFailureStore(db).FailuresSince(addr_key, now - kFailureWindowMs));
    if (addr_failures > 0) return refuse_locked(login_until);
  }

  KBO_ASSIGN_OR_RETURN(std::optional<storage::UserCredentials> found,
                       UserStore(db).CredentialsOf(login));
  std::string user_id, hash;
  bool disabled = false;
  if (found.has_value()) {
    user_id = found->id;
    hash = found->password_hash;
    disabled = found->disabled;
  }
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
  KBO_RETURN_IF_ERROR(SignInFailureStore(db).Clear(login_key));

  SignInResult out;
  out.cookie = RandomHex(32);
  out.session.token_hash = SessionKey(out.cookie);
  out.session.csrf = RandomHex(32);
  SessionStore sessions(db);
  KBO_RETURN_IF_ERROR(sessions.Insert(out.session.token_hash, user_id,
                                      out.session.csrf, now, address));
  // Sessions that ended long ago go with this one's start.
  KBO_RETURN_IF_ERROR(
      sessions.DeleteEnded(now - kSessionIdleMs, now - kSessionMaxMs));
  KBO_ASSIGN_OR_RETURN(out.session.user, Find(login));
  KBO_RETURN_IF_ERROR(AppendAudit(store_, out.session.user.actor(), "sign_in",
                                  login, "", address));
  KBO_RETURN_IF_ERROR(tx.Commit());
  return out;
}

Result<Session> Users::SessionFor(std::string_view cookie) {
  if (cookie.size() != 64) return Status::Unauthenticated("not signed in");
  const int64_t now = store_.NowMillis();
  SessionStore sessions(store_.db());
  const std::string key = SessionKey(cookie);
  KBO_ASSIGN_OR_RETURN(std::optional<storage::SessionRow> row,
                       sessions.Find(key));
  if (!row.has_value()) return Status::Unauthenticated("not signed in");
  Session s;
  s.token_hash = row->token_hash;
  s.csrf = row->csrf;
  const int64_t seen = row->last_seen_ms;
  if (row->user_disabled || seen < now - kSessionIdleMs ||
      row->created_ms < now - kSessionMaxMs) {
    // Best effort: the session is refused whether or not the row goes now
    // (the next sign-in prunes it).
    (void)sessions.Delete(key);
    return Status::Unauthenticated("the session has ended; sign in again");
  }
  KBO_ASSIGN_OR_RETURN(s.user, Find(row->login));
  // Touch at most once a minute: a page of many requests writes once.
  if (now - seen > 60 * 1000) {
    KBO_RETURN_IF_ERROR(sessions.Touch(key, now));
  }
  return s;
}

Status Users::SignOut(const Session& session, std::string_view address) {
  KBO_RETURN_IF_ERROR(SessionStore(store_.db()).Delete(session.token_hash));
  return AppendAudit(store_, session.user.actor(), "sign_out",
                     session.user.login, "", address);
}

Status AppendAudit(ServerStore& store, std::string_view actor,
                   std::string_view action, std::string_view subject,
                   std::string_view detail, std::string_view address) {
  AuditEntry e;
  e.at = store.NowIso();
  e.actor = std::string(actor);
  e.action = std::string(action);
  e.subject = std::string(subject);
  e.detail = std::string(detail);
  e.address = std::string(address);
  return AuditLog(store.db()).Append(e);
}

Result<std::vector<AuditEntry>> ReadAudit(ServerStore& store, size_t limit,
                                          int64_t before) {
  return AuditLog(store.db()).Read(limit, before);
}

}  // namespace kbo::server::console
