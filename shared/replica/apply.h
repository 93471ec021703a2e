#ifndef KBO_SHARED_REPLICA_APPLY_H_
#define KBO_SHARED_REPLICA_APPLY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/change_set.h"
#include "shared/merge.h"
#include "shared/sqlite/db.h"

namespace kbo {

struct Entity;

// The column of every entity table that holds its cells' versions (the
// applier's private encoding; not a catalogue column, never synced as one).
inline constexpr std::string_view kVersionsColumn = "cell_versions";

// Applies change sets to a replica: a SQLite database with the entity tables
// of schema/shared. Each entity row carries, in its cell_versions column,
// every cell's version: the hlc of the winning write, which names its
// device, and its server sequence. Versions live in the row itself, not in a
// row or table of their own, so a merge costs one read and one write per row
// (docs/decisions.md).
// Client pull, client local writes and server push all call it, so every
// replica merges by the same rule (shared/merge.h).

// A conflict found while applying (server side). `current` is the value the
// cell held when the incoming write arrived; `incoming` is the new write.
struct ConflictEvent {
  std::string entity;
  Uuid row_id;
  std::string column;
  CellVersion current;
  uint64_t current_seq = 0;
  CellVersion incoming;
  // What the incoming writer had seen. A conflict carried to the same
  // device's later write of the cell (server/server_apply.cc) keeps the
  // first write's base and takes the later write's hlc, value and seq.
  uint64_t incoming_base = 0;
  uint64_t incoming_seq = 0;  // server sequence given to the incoming write
  bool incoming_won = false;  // which value LWW now shows
  // Not a write of `deleted`: an edit of other cells of a row deleted since
  // its writer last heard of it, reported as a conflict on `deleted`
  // (incoming value 0: the writer took the row for live).
  bool edit_of_deleted = false;
  // A write of `deleted` = 1 to a live row whose other cells another writer
  // changed after the version the deleter had seen (its base): `current` is
  // that edit (value 0, its hlc and sequence), `incoming` the delete.
  bool delete_of_edited = false;
};

class ConflictSink {
 public:
  virtual ~ConflictSink() = default;
  // Called inside the applying transaction; an error aborts the whole apply.
  virtual Status OnConflict(const ConflictEvent& event) = 0;
  // A write that is no conflict by IsConflict() but was made without seeing
  // the cell's current value (its base is older), told as an event of the
  // same shape: the writer's own earlier write (a device writing a cell
  // again before it heard of its last write: a roll-call's taps), or
  // another device's write of the very value it writes (an agreement it
  // does not know of). A sink that keeps a change set's conflicts uses them
  // to carry a conflict to the writer's last word (DESIGN §4). Default:
  // nothing.
  virtual Status OnUnseenWrite(const ConflictEvent& /*write*/) { return Status(); }
  // A write made having seen the cell's current value (its base is that
  // value's sequence), told only while FollowsSeenWrites(): the writer saw
  // a value it had disagreed with earlier in the set, say.
  virtual bool FollowsSeenWrites() const { return false; }
  virtual Status OnSeenWrite(const ConflictEvent& /*write*/) { return Status(); }
};

// The version of one cell: the hlc of the winning write and its server
// sequence as this replica knows it.
struct StoredCellVersion {
  Hlc hlc;
  uint64_t seq = 0;
};

// One entity row as the replica holds it: `values` in catalogue column
// order, then `deleted`; `versions` by column name.
struct ReplicaRow {
  std::vector<Value> values;
  std::map<std::string, StoredCellVersion, std::less<>> versions;
};

struct ApplyOptions {
  // Server sequence to record for the cells this row change wins; 0 keeps
  // each cell's existing sequence (a local write: the next edit's `base` is
  // still the last value received from the server).
  uint64_t seq = 0;
  // If set, every cell write is checked with IsConflict() against the
  // current value, and conflicts are reported here (server push), with the
  // writes made without seeing the current value (OnUnseenWrite) and, when
  // the sink asks, those made having seen it (OnSeenWrite).
  ConflictSink* conflicts = nullptr;
  // Client pull: each cell's `base` is the server sequence of that cell's
  // value (docs/protocol.md). A cell that wins records it; a cell whose hlc
  // equals the stored one (the device's own write coming back) records it
  // too, so the next local edit carries the right base. Ignores `seq`.
  bool seq_from_base = false;
  // Local writes only (ApplyLocalRowChange). The caller has already checked
  // every cell against the catalogue (ValidateNewRow / ValidateCell), so the
  // applier does not check them a second time. Unknown columns and columns
  // written twice are still refused.
  bool cells_validated = false;
  // The row changes came out of DecodeChangeSet (a pull page), which
  // refuses a text value that is not valid UTF-8: every cell is still
  // checked against the catalogue, but that is not checked a second time
  // (ValidateDecodedCell).
  bool texts_decoded = false;
  // Local writes only. The caller expects the row not to exist (a new
  // random id, or a derived id seen for the first time), so the applier does
  // not read its versions: every cell's base is 0, and the row and its
  // versions are inserted. If the row exists after all, kAlreadyExists and
  // nothing is written (the caller then writes it as an edit); nothing is
  // ever overwritten this way.
  bool row_absent = false;
  // Server push: the row as the caller read it (ReadReplicaRow) inside the
  // same transaction, with nothing written to it since; nullopt inside: the
  // row does not exist. The applier decides on it instead of reading the
  // row a second time (one read per row change). Must outlive the call.
  // Ignored with row_absent.
  const std::optional<ReplicaRow>* current = nullptr;
  // Server push: the row's INSERT or UPDATE is sent with
  // Statement::RunDeferred (on PostgreSQL it does not wait for its answer;
  // a failure fails the next statement that waits, and the commit). Ignored
  // with row_absent, which needs the insert's answer.
  bool defer_write = false;
  // Client pull (ApplyChangeSet only; SQLite only: on PostgreSQL a refused
  // statement ends the transaction, so it is ignored there, as it is with
  // `current` or `conflicts`). While the row change before it found its row
  // new, a row change is written first as a plain INSERT without reading its
  // row (as row_absent). If the row exists, the insert is refused with
  // nothing written and the row change is applied as without this option
  // (read, merge, write); later row changes read first again until one finds
  // its row new. The result is the same either way; a new row costs one
  // point lookup less (a device's first pull, another device's roll-call).
  bool insert_first = false;
};

// Validates every cell against the catalogue, then merges `row` into the
// replica: each cell written iff it wins (shared/merge.h), the row created
// if absent. Must be called inside a Transaction; on error the caller rolls
// back. kInvalidArgument for an unknown entity/column or an invalid value.
// `applied_cells`, if given, is incremented by the number of cells that won.
Status ApplyRowChange(Db& db, const RowChange& row, const ApplyOptions& options,
                      size_t* applied_cells = nullptr);

// What ApplyRowChange found and did, for callers that index rows by their
// newest write (the server's pull index).
struct RowApplyInfo {
  size_t won_cells = 0;        // cells this change wrote
  uint64_t max_seq_before = 0; // its highest cell sequence then (0: none)
  bool existed = false;        // the row was there before (false: inserted)
};
Status ApplyRowChange(Db& db, const RowChange& row, const ApplyOptions& options,
                      RowApplyInfo* info);

// A local write (the client recording what a person did): fills each cell's
// `base` with the server sequence this replica holds for that cell (DESIGN
// §4: the base of an edit is the value's sequence as last received), then
// applies `row` like ApplyRowChange with default options. One read of the
// row's versions serves both.
// `options` may only set cells_validated and row_absent.
Status ApplyLocalRowChange(Db& db, RowChange* row,
                           const ApplyOptions& options = ApplyOptions{});

// Applies every row change of `cs`. If options.seq != 0, row change i is
// given sequence options.seq + i (the server numbers every accepted write).
// Same contract as ApplyRowChange. `infos`, if given, gets what each row
// change did, one entry per row change in order, appended (only complete
// when the call succeeds).
Status ApplyChangeSet(Db& db, const ChangeSet& cs, const ApplyOptions& options,
                      std::vector<RowApplyInfo>* infos = nullptr);

// The version of each written cell of one row (StoredCellVersion): the hlc
// of the winning write and its server sequence as this replica knows it (the
// `base` of the next local edit of that cell). Empty map if the row does not
// exist.
Result<std::map<std::string, StoredCellVersion, std::less<>>> ReadCellVersions(
    Db& db, std::string_view entity, const Uuid& row_id);

// One entity row as the replica holds it (ReplicaRow), read with one lookup;
// nullopt if the row does not exist.
Result<std::optional<ReplicaRow>> ReadReplicaRow(Db& db, const Entity& entity,
                                                 const Uuid& row_id);

// For reading many rows at once (the server reads a push's rows with one
// query per entity): the columns to select, "id, <catalogue columns>,
// deleted, cell_versions", and the row a statement over them is on.
std::string ReplicaRowColumns(const Entity& entity);
Result<ReplicaRow> ReplicaRowAt(Statement& st, const Entity& entity);

// Puts row `row_id` of `entity` back to the cells `held`: the row as the
// server holds it (RowChanges of that row, each cell's `base` the sequence of
// its value, as a pull sends a row whole), value and version, whatever their
// hlcs (not a merge: the server refused the newer local write). A cell the
// held row lacks becomes null (deleted: 0) with no version. A cell whose
// local version is newer than both `since` (the refused write's hlc) and the
// held cell is kept: a later local write, not yet judged by the server. No
// row here: nothing to do. `restored` (if given) is incremented by the
// number of cells that changed. Inside the caller's transaction. Client only
// (issue 9: a refused edit or delete ends with the device equal to the
// server).
// `keep_unheld`: a cell the held row changes lack is left as it is (the
// server sent some of the row's cells, not all: a pull page's), instead of
// becoming null.
Status RestoreRow(Db& db, std::string_view entity, const Uuid& row_id,
                  const std::vector<RowChange>& held, const Hlc& since,
                  size_t* restored = nullptr, bool keep_unheld = false);

// Re-dating a device's own writes (client/clock_repair.h). Replaces, in the
// cell versions of row `row_id` of `entity`, every version whose hlc is a
// key of `remap` by the mapped hlc (the sequence stays); values untouched.
// `changed` (if given) is incremented by the number of cells rewritten.
// Inside the caller's transaction.
Status RemapCellHlcs(Db& db, std::string_view entity, const Uuid& row_id,
                     const std::map<Hlc, Hlc>& remap, size_t* changed = nullptr);

// The newest hlc in any cell version of the replica, skipping those for
// which `skip` returns true; a zero Hlc if there is none.
Result<Hlc> NewestCellHlc(Db& db, const std::function<bool(const Hlc&)>& skip);

// A canonical dump of the replicated state: every entity table row by row
// (id order) and every cell's hlc. Equal dumps = identical replicas. For
// tests and diagnostics.
Result<std::string> DumpReplicaState(Db& db);

}  // namespace kbo

#endif  // KBO_SHARED_REPLICA_APPLY_H_
