#ifndef KBO_SERVER_SERVER_STORE_H_
#define KBO_SERVER_SERVER_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "shared/hlc.h"
#include "shared/result.h"
#include "shared/signing.h"
#include "shared/sqlite/db.h"
#include "shared/uuid.h"
#include "shared/wall_clock.h"

namespace kbo::server {

// The files of a data directory (`kbo-server --data DIR`, default ./kbo-data):
//   DIR/              0700
//   DIR/server.db     SQLite (WAL), schema/shared + schema/server migrations
//   DIR/server.key    the server's Ed25519 key pair, 0600, made once
//   DIR/blobs/        complete photo blobs, named by SHA-256
//   DIR/blobs/partial uploads in progress
//   DIR/sequence-high-water  the highest server sequence handed out, so that
//                     a server.db restored from a backup is noticed (below)
//   DIR/revoked-devices  every revocation, one "DEVICE_ID REVOKED_AT" line
//                     each, so that a server.db restored from a backup
//                     older than a revocation does not let the device in
//                     again (NoteRevocation, Open)
//   DIR/used-tokens   every enrolment token used, one "TOKEN_HASH DEVICE_ID
//                     PUBLIC_KEY USED_AT" line each, so that a server.db restored from
//                     a backup older than its use does not let the token
//                     enrol another device (NoteTokenUse, Enrolment::Enroll)
struct ServerPaths {
  std::string dir;
  std::string db;
  std::string key;
  std::string blobs;
  std::string partial;
  std::string high_water;
  std::string revocations;
  std::string used_tokens;
  // The id of the server this folder's key is (server_state.server_id),
  // written at its first open: a folder and a database of two provinces
  // are never served together.
  std::string identity;
  // Written by copy-to-postgres: server.db is the copy's source, no longer
  // the province's database.
  std::string moved;
  // Locked while a server runs or a copy is made (FolderLock).
  std::string serving;
};
ServerPaths PathsFor(const std::string& dir);

// The file a `--db sqlite:PATH` (or sqlite://PATH) names; nullopt if
// `db_url` is not a SQLite one or names no file (empty, ":memory:" or any
// name beginning ':', a "file:" URI).
std::optional<std::string> SqliteUrlPath(std::string_view db_url);

// ISO 8601 UTC with second precision, "2024-03-10T02:15:00Z".
std::string FormatIsoUtc(int64_t unix_ms);

// The server's storage: its database, key, identity and clock. Every service
// borrows one ServerStore.
//
// Thread-safety: Db is one connection and is not thread-safe, so callers that
// share a ServerStore across threads (server/http_api.cc) hold mutex() for
// the whole of each service call. Several processes may open the same data
// directory (a `token create` while `serve` runs): everything that must be
// consistent (the next server sequence, the server clock) is read and
// written inside the caller's transaction, never cached in memory.
class ServerStore {
 public:
  // Opens `dir`, creating it (0700), the database (migrated), the blob
  // folders, the key file (0600) and the server id on first use.
  //   kFailedPrecondition: the database is newer than this program, or the
  //     server has an id but server.key is missing (restore it from backup:
  //     a new key would break every enrolled device's pinned key);
  //   kFailedPrecondition: server.key is readable by group or others;
  //   kIOError / kCorruption: the folder, database or key file is unusable.
  //
  // `db_url` empty: the database is DIR/server.db (SQLite); "sqlite:PATH":
  // the SQLite database at PATH (SqliteUrlPath). A PostgreSQL URL
  // (postgresql://user@host/db, server/storage/pg_db.h): the database is
  // there, migrated with schema/server-pg; DIR still holds the key, the
  // blobs and the high-water file, and several servers on one database
  // share one DIR (docs/operations.md).
  static Result<std::unique_ptr<ServerStore>> Open(
      const std::string& dir, WallClock* wall = SystemWallClock::Default(),
      const std::string& db_url = std::string());
  ~ServerStore();
  ServerStore(const ServerStore&) = delete;
  ServerStore& operator=(const ServerStore&) = delete;

  // Server sequences jump by this much when server.db is found to be older
  // than the sequences this data folder has handed out (restored from a
  // backup, or put into a fresh folder): devices hold pull cursors up to
  // what they saw, so numbers must never be handed out twice. 2^32 is more
  // than any number of writes between a backup and its restore.
  static constexpr uint64_t kRestoreGap = uint64_t{1} << 32;

  Db& db() { return *db_; }

  // After a commit that handed out sequences (a push): records the highest
  // in DIR/sequence-high-water. Best effort, no fsync.
  void NoteCommittedSequences();
  const KeyPair& key() const { return *key_; }
  const Uuid& server_id() const { return server_id_; }
  const ServerPaths& paths() const { return paths_; }
  // Where the database is: DIR/server.db, or the PostgreSQL URL without its
  // password. For messages.
  const std::string& db_where() const { return db_where_; }
  WallClock& wall() { return *wall_; }
  // Timed: a device's request waits for it at most its write wait
  // (server/http_api.cc), then hears "busy".
  std::timed_mutex& mutex() { return mu_; }

  int64_t NowMillis() { return wall_->NowMillis(); }
  std::string NowIso() { return FormatIsoUtc(wall_->NowMillis()); }

  // Reserves `n` consecutive global server sequence numbers and returns the
  // first (server_state.next_seq advances by n). Call inside a Transaction:
  // the numbers are the caller's only if it commits. Sequence numbers are
  // handed out in commit order (SQLite has one writer), so a pull cursor
  // never skips a write that commits later with a lower number.
  Result<uint64_t> TakeSeqs(uint64_t n);
  // The highest sequence handed out so far (0 if none).
  Result<uint64_t> LastSeq();

  // Appends the revocation to DIR/revoked-devices and flushes it to disk;
  // Enrolment::Revoke calls it once the database holds the revocation.
  Status NoteRevocation(std::string_view device_id, std::string_view revoked_at);
  // Appends the token's use to DIR/used-tokens and flushes it to disk;
  // Enrolment::Enroll calls it before it commits the use.
  Status NoteTokenUse(std::string_view token_hash, std::string_view device_id,
                      std::string_view public_key_hex, std::string_view used_at);
  // A token's use as DIR/used-tokens records it.
  struct TokenUse {
    std::string device_id;
    std::string public_key_hex;
    std::string used_at;
  };
  // Every use the file records, by token hash. kIOError if it cannot be read.
  Result<std::map<std::string, TokenUse, std::less<>>> TokenUses();
  // One token's use; nullopt if the file names none.
  Result<std::optional<TokenUse>> TokenUseNoted(std::string_view token_hash);

  // Before each request a server answers (a device's, an enrolment, the
  // console's): the database must still be this server's and not behind
  // DIR/sequence-high-water. A backup restored into the database while
  // the server kept its connection (pg_restore --clean) is seen here
  // before anything is authenticated: another province's database is
  // refused (kUnavailable, "wrong_database"), an older one of our own gets
  // the guards of Open (sequences jump, revocations made again). One
  // cached SELECT and one small file read.
  Status CheckStillOurs();
  // The server's hybrid logical clock as persisted (server_state.clock_hlc).
  // Load, use, save, all inside one Transaction.
  Result<Hlc> LoadClock();
  Status SaveClock(const Hlc& state);

 private:
  // See kRestoreGap. Called by Open (its own transaction).
  Status GuardSequences();
  // The database holds this server's id (kUnavailable, reason
  // "wrong_database", logged, otherwise).
  Status CheckIdentity();
  // Run by the database connection each time it is opened again after it
  // was lost (Db::SetReconnectCheck): the database must still be this
  // server's (kUnavailable, reason "wrong_database", otherwise), then the
  // guards below run as at Open (a restore, a standby that was behind).
  Status CheckAfterReconnect();
  // Records that sequences below `next_seq` were handed out.
  void NoteHighWater(uint64_t next_seq);
  // Revokes again every device DIR/revoked-devices names that the database
  // holds as active (restored from an older backup), logging each. Called
  // by Open.
  Status GuardRevocations();
  ServerStore() = default;

  ServerPaths paths_;
  std::string db_where_;
  WallClock* wall_ = nullptr;
  std::unique_ptr<Db> db_;
  std::unique_ptr<KeyPair> key_;
  Uuid server_id_;
  std::timed_mutex mu_;
};

// DIR/serving, locked (flock) by the processes that need the folder to
// themselves or share it: `serve` and every other command hold a shared
// lock for as long as they run (several servers on one PostgreSQL share one
// folder), copy-to-postgres an exclusive one, taken before the store is
// opened. So a province is never copied while a server or a command still
// writes to server.db (what it took after the copy would be in server.db
// alone, unknown to PostgreSQL), nor served while it is being copied. The
// lock goes with the process, however it ends. On a filesystem without
// locks it is logged and not held.
class FolderLock {
 public:
  enum class Kind { kShared, kCopy };
  // kFailedPrecondition, reason "folder_in_use": the other kind holds it.
  static Result<FolderLock> Take(const ServerPaths& paths, Kind kind);
  FolderLock(FolderLock&& other) noexcept;
  FolderLock& operator=(FolderLock&&) = delete;
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;
  ~FolderLock();

 private:
  explicit FolderLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace kbo::server

#endif  // KBO_SERVER_SERVER_STORE_H_
