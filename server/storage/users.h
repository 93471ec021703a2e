#ifndef KBO_SERVER_STORAGE_USERS_H_
#define KBO_SERVER_STORAGE_USERS_H_

// The console's people (tables of schema/server/0004_console.sql): web
// users (web_user), their sessions (web_session), failed sign-ins
// (sign_in_failure) and the audit log (audit_log). The rules (who may sign
// in, when a session ends, when a login locks) are server/console/users.cc's;
// these classes only read and write the rows. Times are as the caller gives
// them (ISO 8601 texts, Unix milliseconds).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server::storage {

// A web_user row as stored (role and districts as their texts).
struct UserRow {
  std::string id;
  std::string login;
  std::string role;
  std::string districts;  // "all" or "5009,5011"
  std::string created_at;
  std::optional<std::string> disabled_at;
};

// What SignIn checks a password against.
struct UserCredentials {
  std::string id;
  std::string password_hash;
  bool disabled = false;
};

class UserStore {
 public:
  explicit UserStore(Db& db) : db_(db) {}
  // kAlreadyExists if the login (or id) is taken.
  Status Insert(const UserRow& user, std::string_view password_hash);
  // Every user, by login.
  Result<std::vector<UserRow>> List();
  Result<std::optional<UserRow>> FindByLogin(std::string_view login);
  Result<std::optional<UserCredentials>> CredentialsOf(std::string_view login);
  Status SetDisabledAt(const std::string& id, std::string_view at);
  // disabled_at = NULL: the user may sign in again.
  Status ClearDisabled(const std::string& id);
  Status SetPasswordHash(const std::string& id, std::string_view hash,
                         std::string_view changed_at);

 private:
  Db& db_;
};

// A web_session row with its user's login and whether that user is
// disabled.
struct SessionRow {
  std::string token_hash;
  std::string csrf;
  int64_t created_ms = 0;
  int64_t last_seen_ms = 0;
  std::string login;
  bool user_disabled = false;
};

class SessionStore {
 public:
  explicit SessionStore(Db& db) : db_(db) {}
  // A new session, last seen when created.
  Status Insert(std::string_view token_hash, std::string_view user_id,
                std::string_view csrf, int64_t created_ms,
                std::string_view address);
  Result<std::optional<SessionRow>> Find(std::string_view token_hash);
  Status Touch(std::string_view token_hash, int64_t last_seen_ms);
  Status Delete(std::string_view token_hash);
  Status DeleteOfUser(std::string_view user_id);
  // Deletes the sessions last seen before `seen_before_ms` or created
  // before `created_before_ms`.
  Status DeleteEnded(int64_t seen_before_ms, int64_t created_before_ms);

 private:
  Db& db_;
};

// Failed sign-ins counted per key ("login:NAME", "addr:ADDRESS") within a
// window, and the lock a key earns.
class SignInFailureStore {
 public:
  explicit SignInFailureStore(Db& db) : db_(db) {}
  // The key's locked_until_ms; 0 without a row.
  Result<int64_t> LockedUntil(std::string_view key);
  // The key's failures if its window started at or after `since_ms`; 0
  // otherwise or without a row.
  Result<int64_t> FailuresSince(std::string_view key, int64_t since_ms);
  // Counts one failure at `now_ms`: a window older than `window_ms` starts
  // over at 1.
  Status Count(std::string_view key, int64_t now_ms, int64_t window_ms);
  // Locks the key until now_ms + lock_ms if it has `limit` failures or more.
  Status LockIfAtLeast(std::string_view key, int64_t limit, int64_t now_ms,
                       int64_t lock_ms);
  // Deletes up to `batch` rows whose window is over (started before
  // now_ms - window_ms) and whose lock has ended.
  Status Prune(int64_t now_ms, int64_t window_ms, int64_t batch);
  Status Clear(std::string_view key);

 private:
  Db& db_;
};

struct AuditEntry {
  int64_t id = 0;
  std::string at;
  std::string actor;
  std::string action;
  std::string subject;
  std::string detail;
  std::string address;
};

class AuditLog {
 public:
  explicit AuditLog(Db& db) : db_(db) {}
  // Appends one line (entry.id is ignored: the database numbers lines).
  Status Append(const AuditEntry& entry);
  // Newest first, at most `limit`, with id < `before` if before > 0.
  Result<std::vector<AuditEntry>> Read(size_t limit, int64_t before);

 private:
  Db& db_;
};

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_USERS_H_
