#ifndef KBO_SERVER_STORAGE_ROWS_H_
#define KBO_SERVER_STORAGE_ROWS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "shared/entities.h"
#include "shared/hlc.h"
#include "shared/replica/apply.h"
#include "shared/result.h"
#include "shared/sqlite/db.h"
#include "shared/uuid.h"

namespace kbo::server::storage {

// The server's replica: entity rows with their cell versions (one table per
// catalogue entity). Reads and merges go through the shared applier
// (shared/replica/apply.h), the one merge rule of client and server.
class Rows {
 public:
  explicit Rows(Db& db) : db_(db) {}

  // The district the row is in now ("" if null); nullopt if the server does
  // not hold it.
  Result<std::optional<std::string>> District(const Entity& entity,
                                              std::string_view row_id);
  // Whether the server holds the row.
  Result<bool> Exists(const Entity& entity, std::string_view row_id);
  // The rows among `ids` the server holds: their values by column name
  // (catalogue columns and "deleted"), by id.
  Result<std::map<std::string, RowValues, std::less<>>> ValuesByIds(
      const Entity& entity, const std::set<std::string>& ids);
  // Whether ReadMany and DistrictsOf save time over reading row by row:
  // on PostgreSQL (a round trip per statement), not on SQLite.
  bool ReadManyPays() const;
  // The rows among `ids` the server holds, whole (as Read), by id: one
  // query per 2,000 ids (a push reads its rows up front with it).
  Result<std::map<std::string, ReplicaRow, std::less<>>> ReadMany(
      const Entity& entity, const std::set<std::string>& ids);
  // The districts ("" if null) of the rows among `ids` the server holds,
  // by id: one query per 2,000 ids.
  Result<std::map<std::string, std::string, std::less<>>> DistrictsOf(
      const Entity& entity, const std::set<std::string>& ids);
  // The row whole (values and cell versions); nullopt if not held.
  Result<std::optional<ReplicaRow>> Read(const Entity& entity, const Uuid& row_id);
  // The row's cell versions by column (empty if not held).
  Result<std::map<std::string, StoredCellVersion, std::less<>>> CellVersions(
      std::string_view entity, const Uuid& row_id);
  // Merges one row change (ApplyRowChange).
  Status Apply(const RowChange& row, const ApplyOptions& options,
               RowApplyInfo* info);
  // A device's tombstone with `hlc` that arrived for a row already deleted
  // (it took nothing from it: schema/server/0009_tombstones_on_deleted.sql):
  // noted once, and asked after.
  Status NoteTombstoneOnDeleted(std::string_view entity, std::string_view row_id,
                                const Hlc& hlc);
  Result<bool> TombstoneOnDeleted(std::string_view entity, std::string_view row_id,
                                  const Hlc& hlc);
  // Every stamp noted for the row (above), in their text form.
  Result<std::set<std::string>> TombstonesOn(std::string_view entity,
                                             std::string_view row_id);
  // A device's delete, written with `hlc`, of `entity` `row_id`, that the
  // office decided against (schema/server/0010_deletes_decided_against.sql):
  // noted once (the first decision's time kept), and asked after.
  Status NoteDeleteDecidedAgainst(const Hlc& hlc, std::string_view entity,
                                  std::string_view row_id, std::string_view at);
  Result<bool> DeleteDecidedAgainst(std::string_view hlc_text);

 private:
  Db& db_;
};

// A pull index entry (row_seq) with the row's last move (row_moved).
struct IndexedRow {
  std::string entity;
  std::string row_id;
  uint64_t max_seq = 0;
  uint64_t moved_seq = 0;  // the write that last moved it to another district
  // A departure (row_left): the row left one of the asked districts with
  // write `max_seq`; it may be in any district now (moved_seq is 0).
  bool left = false;
};

// The pull index: row_seq (each row under its highest cell sequence, with
// its district), row_moved (rows that changed district) and row_left (the
// districts they left).
class PullIndex {
 public:
  explicit PullIndex(Db& db) : db_(db) {}

  // Notes that the row moved district with write `moved_seq` (upsert).
  // Deferred (Statement::RunDeferred), as AddEntry: inside a transaction
  // its error may surface at the next statement that waits, or at commit.
  Status NoteMoved(std::string_view entity, std::string_view row_id,
                   uint64_t moved_seq);
  // Notes that the row left `district` with write `left_seq` (upsert: the
  // later departure is kept). Deferred, as NoteMoved.
  Status NoteLeft(std::string_view district, std::string_view entity,
                  std::string_view row_id, uint64_t left_seq);
  // Drops the row's entry under `max_seq`; returns how many went (1 when
  // the index matches the rows).
  Result<int> DropEntry(uint64_t max_seq, std::string_view entity,
                        std::string_view row_id);
  // Adds the row's entry; `district` "" stores NULL. Deferred.
  Status AddEntry(std::string_view entity, std::string_view row_id,
                  uint64_t max_seq, std::string_view district);
  // Entries with max_seq > `after`, by max_seq, at most `limit`; only rows
  // in `districts` unless `all_districts`.
  Result<std::vector<IndexedRow>> After(uint64_t after, size_t limit,
                                        bool all_districts,
                                        const std::vector<std::string>& districts);
  // Whether the row left one of `districts` (row_left).
  Result<bool> LeftOneOf(std::string_view entity, std::string_view row_id,
                         const std::vector<std::string>& districts);
  // Departures from `districts` with left_seq > `after`, by left_seq, at
  // most `limit` (IndexedRow::left set, max_seq = left_seq). A row that
  // left two of them once each is listed under the later departure.
  Result<std::vector<IndexedRow>> LeftAfter(uint64_t after, size_t limit,
                                            const std::vector<std::string>& districts);

 private:
  Db& db_;
};

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_ROWS_H_
