#ifndef KBO_SERVER_STORAGE_SERVER_STATE_H_
#define KBO_SERVER_STORAGE_SERVER_STATE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "shared/hlc.h"
#include "shared/result.h"
#include "shared/sqlite/db.h"
#include "shared/uuid.h"

namespace kbo::server::storage {

// The server's one-row state (table server_state): its id, the next global
// server sequence and its hybrid clock. Callers hold the transaction.
class ServerState {
 public:
  explicit ServerState(Db& db) : db_(db) {}

  // The server id as stored; nullopt before one was made.
  //   kCorruption: the server_state row is missing.
  Result<std::optional<std::string>> ServerId();
  // Sets the id and a zero clock, only if no id is set yet (two processes
  // opening a fresh directory at once: the first one's id stays).
  Status SetServerIdIfUnset(const Uuid& id, const Hlc& zero_clock);

  // server_state.next_seq, the next sequence to hand out.
  //   kCorruption: the row is missing.
  Result<int64_t> NextSeq();
  // next_seq += n.
  Status AdvanceNextSeq(uint64_t n);
  // next_seq = next (the restore guard's jump).
  Status SetNextSeq(uint64_t next);

  // The persisted clock state as text; nullopt if none is stored.
  //   kCorruption: the row is missing.
  Result<std::optional<std::string>> ClockText();
  Status SaveClock(const Hlc& state);

  // server_state.bundle_ahead_ms: the newest stamp of a row a bundle
  // brought more than an hour ahead of the server's clock (0: none).
  Result<int64_t> BundleAheadMs();
  // bundle_ahead_ms = max(bundle_ahead_ms, ms).
  Status RaiseBundleAheadMs(int64_t ms);

 private:
  Db& db_;
};

// The SQLite server database's connection settings (page cache, WAL
// checkpoint interval); SQLite only. bench_sync's raw SQLite floor opens its
// database with the same (docs/performance.md: a floor gets exactly the
// settings of what it is compared with).
inline constexpr char kSqliteServerPragmas[] =
    "PRAGMA cache_size = -262144; PRAGMA wal_autocheckpoint = 32000";
Status TuneSqliteServerDb(Db& db);

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_SERVER_STATE_H_
