#ifndef KBO_SERVER_CONSOLE_USERS_H_
#define KBO_SERVER_CONSOLE_USERS_H_

// Web users of the console, their sessions, sign-in limits and the audit log
// (tables of schema/server/0004_console.sql, read and written through
// server/storage/users.h). Not thread-safe: callers hold
// the store's mutex (server/console/console.cc does).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/console/console.h"
#include "server/server_store.h"
#include "server/storage/users.h"
#include "shared/result.h"

namespace kbo::server::console {

// Sessions end after this long without a request, and after this long in
// any case (sign in again the next working day).
inline constexpr int64_t kSessionIdleMs = 60LL * 60 * 1000;
inline constexpr int64_t kSessionMaxMs = 12LL * 60 * 60 * 1000;
// Failed sign-ins: past kLoginFailures for one login, or kAddressFailures
// from one address, within kFailureWindowMs, sign-in for that login (or from
// that address) is refused until kLockMs have passed. A locked login still
// lets the right password in from an address that has not failed (so a
// stranger cannot lock the office out by guessing), see SignIn.
inline constexpr int kLoginFailures = 5;
inline constexpr int kAddressFailures = 20;
inline constexpr int64_t kFailureWindowMs = 15LL * 60 * 1000;
inline constexpr int64_t kLockMs = 5LL * 60 * 1000;
// Each failed sign-in also deletes up to this many failure rows whose
// window is over and whose lock has ended (two rows are written per
// failure, so stale rows never pile up).
inline constexpr int64_t kFailurePruneBatch = 100;
// Password length, in bytes.
inline constexpr size_t kMinPasswordBytes = 8;
inline constexpr size_t kMaxPasswordBytes = 1024;

// 2 to 64 of a-z 0-9 . _ - @.
Status ValidateLogin(std::string_view login);
// kMinPasswordBytes to kMaxPasswordBytes (reasons password_short/_long).
Status ValidatePassword(std::string_view password);

struct SignInResult {
  std::string cookie;  // the session cookie's value (64 hex digits)
  Session session;
};

class Users {
 public:
  explicit Users(ServerStore& store) : store_(store) {}

  // kAlreadyExists: the login is taken; kInvalidArgument: a bad login or a
  // password shorter than kMinPasswordBytes.
  Result<WebUser> Add(std::string_view login, WebRole role, const Scope& scope,
                      std::string_view password, std::string_view actor);
  Result<std::vector<WebUser>> List();
  // kNotFound if there is no such login.
  Result<WebUser> Find(std::string_view login);
  // Disables the user and ends every session of theirs. kNotFound.
  Status Disable(std::string_view login, std::string_view actor);
  // Lets a disabled user sign in again (with the password they had, or one
  // set since with SetPassword); audited. kNotFound.
  Status Enable(std::string_view login, std::string_view actor);
  // Sets a new password and ends every session of the user. kNotFound,
  // kInvalidArgument.
  Status SetPassword(std::string_view login, std::string_view password,
                     std::string_view actor);

  // Checks the password; on success starts a session. Every outcome is in
  // the audit log.
  //   kUnauthenticated: wrong login or password (one message for both), or
  //     a disabled user;
  //   kResourceExhausted: too many failures for this login or address; the
  //     message says when to try again.
  Result<SignInResult> SignIn(std::string_view login,
                              std::string_view password,
                              std::string_view address);
  // The session a cookie names, if live (touches its idle timer).
  // kUnauthenticated otherwise (unknown, expired, or its user disabled).
  Result<Session> SessionFor(std::string_view cookie);
  // Ends the session (idempotent).
  Status SignOut(const Session& session, std::string_view address);

 private:
  Status EndSessionsOf(const std::string& user_id);
  // Failure bookkeeping; see kLoginFailures.
  Result<int64_t> LockedUntil(const std::string& key);
  void NoteFailure(const std::string& key, int limit);
  ServerStore& store_;
};

// Appends one line to the audit log (table audit_log).
Status AppendAudit(ServerStore& store, std::string_view actor,
                   std::string_view action, std::string_view subject,
                   std::string_view detail, std::string_view address);

using AuditEntry = storage::AuditEntry;
// Newest first, at most `limit`, with id < `before` if before > 0.
Result<std::vector<AuditEntry>> ReadAudit(ServerStore& store, size_t limit,
                                          int64_t before = 0);

}  // namespace kbo::server::console

#endif  // KBO_SERVER_CONSOLE_USERS_H_
