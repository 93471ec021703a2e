#ifndef KBO_SERVER_STORAGE_CONFLICTS_H_
#define KBO_SERVER_STORAGE_CONFLICTS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/result.h"
#include "shared/sqlite/db.h"
#include "shared/value.h"

namespace kbo::server::storage {

// One row of table `conflict` (DESIGN §4): an incoming write whose writer
// had not seen the cell's current value. Values are display text plus the
// value type, so either side can be written back exactly.
struct ConflictRecord {
  std::string id;
  std::string entity;
  std::string row_id;
  std::string column_name;
  std::string district_code;
  Value current_value;
  std::string current_device;
  std::string current_hlc;
  uint64_t current_seq = 0;
  Value incoming_value;
  std::string incoming_device;
  std::string incoming_hlc;
  uint64_t incoming_base = 0;
  uint64_t incoming_seq = 0;
  std::string winner;  // "current" or "incoming": what LWW shows now
  std::string detected_at;
  std::string resolved_at;     // empty while open
  std::string resolved_value;  // display text of the resolution
  uint64_t resolution_seq = 0;
  uint64_t feed_seq = 0;
  std::string resolved_by;        // 'user:LOGIN' or 'cli'; empty while open
  std::string resolution_reason;  // as the person gave it; may be empty

  bool resolved() const { return !resolved_at.empty(); }
};

// The conflicts table. Values go in as display text with their type name
// beside them (Value::ToDisplay, TypeName) and come back exactly.
// A cell's value unchanged since an earlier sequence (table value_since,
// schema/server/0017_value_since.sql): valid while the cell's version is
// still `hlc`.
struct ValueSince {
  uint64_t since_seq = 0;
  std::string hlc;  // Hlc text of the version it was noted for
};

class ConflictStore {
 public:
  explicit ConflictStore(Db& db) : db_(db) {}

  // The cell's noted ValueSince, nullopt when none (a stale one is
  // returned: the caller compares `hlc` with the version it holds).
  Result<std::optional<ValueSince>> FindValueSince(std::string_view entity,
                                                   std::string_view row_id,
                                                   std::string_view column);
  // Notes (replaces) the cell's ValueSince.
  Status NoteValueSince(std::string_view entity, std::string_view row_id,
                        std::string_view column, const ValueSince& v);

  // Records a new (open) conflict: every field up to feed_seq; the
  // resolution fields are left empty. district_code "" stores NULL. One
  // whose id is held already (the same two writes: ConflictId) is left as
  // it is.
  Status Insert(const ConflictRecord& c);

  // Conflicts with feed_seq > `after` in the districts (all, or
  // `districts`), by feed_seq, at most `limit`.
  Result<std::vector<ConflictRecord>> Feed(uint64_t after, bool all_districts,
                                           const std::vector<std::string>& districts,
                                           size_t limit);
  // All conflicts (only unresolved ones if `open_only`), oldest first.
  Result<std::vector<ConflictRecord>> List(bool open_only);
  // nullopt if there is no conflict `id`.
  Result<std::optional<ConflictRecord>> Get(std::string_view id);
  // At most 4 conflicts whose id starts with `prefix` (lower case), by id
  // (enough to tell one from several, and name a few).
  Result<std::vector<ConflictRecord>> WithIdPrefix(std::string_view prefix);
  // Conflict `id` follows its row to `district` (it moved): who may see and
  // decide it goes by where the row is now; `feed_seq` new, so devices of
  // that district are sent it.
  Status FollowRow(std::string_view id, std::string_view district, uint64_t feed_seq);
  // The conflicts on one row, by feed_seq.
  Result<std::vector<ConflictRecord>> OfRow(std::string_view entity,
                                            std::string_view row_id);
  // Marks conflict `id` resolved: resolved_at, resolved_value (display
  // text), resolution_seq, a new feed_seq, resolved_by, resolution_reason.
  Status MarkResolved(std::string_view id, std::string_view resolved_at,
                      std::string_view resolved_value, uint64_t resolution_seq,
                      uint64_t feed_seq, std::string_view resolved_by,
                      std::string_view reason);
  // The audit_log line of a resolution (action 'resolve'), written in the
  // resolving transaction.
  Status AuditResolution(std::string_view at, std::string_view actor,
                         std::string_view subject, std::string_view detail,
                         std::string_view address);
  // resolved_by of the resolutions whose write had these sequences, by
  // resolution_seq (resolutions without an author are left out).
  Result<std::map<uint64_t, std::string>> ResolversOf(
      const std::vector<uint64_t>& resolution_seqs);

 private:
  Db& db_;
};

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_CONFLICTS_H_
