#ifndef KBO_CLIENT_SYNC_STATE_H_
#define KBO_CLIENT_SYNC_STATE_H_
// The sync's own state in the device's store (client migrations: the
// sync_state row, change_set.acked_at, the conflict table): what the sync
// files read and write besides the outbox and the replicated rows. Each is
// one statement; callers put them in the transaction they belong to (a pull
// page with its cursor, a conflict page with its cursor).
#include <cstdint>

#include "shared/result.h"
#include "shared/sqlite/db.h"
#include "shared/status.h"
#include "shared/wire.h"

namespace kbo::client {

// The highest change set sequence the server has confirmed (0: none).
Result<uint64_t> LastConfirmedSeq(Db& db);

// sync_state.<column> (pull_cursor, pull_since, conflict_cursor,
// server_seq_epoch), a number from 0 up.
Result<uint64_t> ReadCursor(Db& db, const char* column);
Status SetCursor(Db& db, const char* column, uint64_t value);

// A conflict record (wire::ParseConflictsPage) -> the local conflict table
// (one upsert). `*is_new` tells whether it is one to announce: open, and not
// held before (a resolution of a held conflict, or one received again after
// a pull from 0, is not news).
Status UpsertConflict(Db& db, const wire::ConflictRecord& c, bool* is_new);

}  // namespace kbo::client

#endif  // KBO_CLIENT_SYNC_STATE_H_
