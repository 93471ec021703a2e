#ifndef KBO_SERVER_CONFLICTS_H_
#define KBO_SERVER_CONFLICTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/enrolment.h"
#include "server/server_store.h"
#include "server/storage/conflicts.h"
#include "shared/entities.h"
#include "shared/hlc.h"
#include "shared/replica/apply.h"
#include "shared/result.h"
#include "shared/uuid.h"
#include "shared/value.h"
#include "shared/wire.h"

namespace kbo::server {

// One row of table `conflict` (server/storage/conflicts.h).
using ConflictRecord = storage::ConflictRecord;

// The conflict as the protocol's record (shared/wire.h, docs/protocol.md
// §7): values as display text (null for null) with *_type beside them,
// times of both writes as ISO 8601 (*_time), "resolved" as a boolean.
wire::ConflictRecord ToWire(const ConflictRecord& c);
// wire::EncodeConflict(ToWire(c)): one JSON object.
std::string ConflictJson(const ConflictRecord& c);

// Conflicts with feed_seq > `after` whose row is in `scope`, by feed_seq,
// at most `limit`.
Result<std::vector<ConflictRecord>> ConflictFeed(Db& db, uint64_t after,
                                                 const Scope& scope,
                                                 size_t limit);

// How a person resolves a conflict (`kbo-server conflicts resolve`).
struct Resolution {
  enum class Kind { kValue, kKeepSeq, kKeepCurrent, kKeepIncoming };
  Kind kind = Kind::kValue;
  std::string text;  // kValue: the value as a person types it
  // kKeepSeq: the server sequence of the write to keep: either side's, or
  // the later write's (LaterWriteOf: keep the value the row shows now).
  uint64_t seq = 0;
  // The later write the person saw beside the two sides (LaterWriteOf's
  // seq), 0 if none was shown. A resolution that would replace a later
  // write the person did not see is refused (kChangedSince).
  uint64_t seen_seq = 0;
};

// A write to a conflict's cell after the conflict was found that changed
// what the row shows (neither side's write, another value): a colleague's
// edit made after seeing the conflict, another conflict's newer value, or
// another resolution. Resolving replaces it, so it is shown, and a
// resolution made without seeing it is refused.
struct LaterWrite {
  Value value;
  uint64_t seq = 0;    // its server sequence
  std::string hlc;     // its stamp (Hlc text)
  std::string device;  // its writer (the server's own id for the office)
};
// The later write on an open conflict's cell; nullopt when the cell still
// shows one side's value, the conflict is resolved, or the row is not held.
Result<std::optional<LaterWrite>> LaterWriteOf(Db& db, const ConflictRecord& c);
// LaterWriteOf for each of `conflicts` (same order), reading their rows with
// one query per entity (and per 2,000 rows): the inbox's list shows which
// side the row shows now without a read per conflict.
Result<std::vector<std::optional<LaterWrite>>> LaterWritesOf(
    Db& db, const std::vector<ConflictRecord>& conflicts);
// Which side of a conflict a decision may keep. Both, but on a column that
// only moves forward (a product's stage, MergePolicy::kForward) only the
// value furthest on (with `later`, a write since, among them): keeping an
// earlier stage is refused as moves_back. The console offers, and
// `conflicts list` names, only what can be kept.
struct KeepableSides {
  bool current = true;
  bool incoming = true;
  bool forward_only = false;  // the column only moves forward
};
KeepableSides Keepable(const ConflictRecord& c, const Value* later);

// Status::reason() of Resolve's refusal to replace a later write the person
// did not see; the status carries field::kField, "now_value" and "now_seq".
inline constexpr std::string_view kChangedSince = "changed_since";

// Who resolves, and why: kept with the conflict (resolved_by,
// resolution_reason) and in the audit log (action "resolve").
struct Resolver {
  Resolver() = default;
  Resolver(std::string who, std::string why, std::string from,
           std::optional<Scope> districts = std::nullopt)
      : actor(std::move(who)),
        reason(std::move(why)),
        address(std::move(from)),
        scope(std::move(districts)) {}

  // 'user:LOGIN' (a console user) or 'cli' (a shell on the server).
  std::string actor;
  // Why, as the person wrote it (at most kMaxReasonBytes); the console
  // requires one, the command line does not.
  std::string reason;
  // The browser's address for the audit log; empty from the shell.
  std::string address;
  // The districts the person may change (a console user's); nullopt for
  // all (a shell on the server). A resolution that would bring back a row
  // outside them with the row it decides is refused (BringBackTakenWith).
  std::optional<Scope> scope;
};
inline constexpr size_t kMaxReasonBytes = 2000;
// OK, or kInvalidArgument (field "reason", problem "err.reason_too_long":
// said in the page's language) for a reason over kMaxReasonBytes.
Status CheckReasonLength(std::string_view reason);
// The shortest id prefix `Find` accepts.
inline constexpr size_t kMinIdPrefix = 4;
// Status::reason() of Resolve's refusal of a conflict resolved before.
inline constexpr std::string_view kAlreadyResolved = "already_resolved";

struct ResolveOutcome {
  ConflictRecord conflict;  // as now stored (resolved)
  uint64_t seq = 0;         // server sequence of the resolving write
  // A device's delete decided against (the row is live again): the rows
  // that same delete took with it (`kbo delete ... --cascade`) brought back
  // too, and those left deleted (outside the person's districts, or under
  // another row still deleted).
  int64_t brought_back = 0;
  int64_t left_deleted = 0;
  // Other open conflicts on the same field settled with this one (SettledWith).
  int64_t settled_with = 0;
};

// Lists and resolves conflicts. Not thread-safe (see ServerStore).
class Conflicts {
 public:
  explicit Conflicts(ServerStore& store) : store_(store) {}
  Conflicts(const Conflicts&) = delete;
  Conflicts& operator=(const Conflicts&) = delete;

  // All conflicts, oldest first; only unresolved ones if `open_only`.
  Result<std::vector<ConflictRecord>> List(bool open_only = false);
  // kNotFound if there is no conflict `id`.
  Result<ConflictRecord> Get(std::string_view id);
  // The conflict whose id is `id_or_prefix` or starts with it (case
  // insensitive, at least kMinIdPrefix characters, as people copy the start
  // of an id from a list).
  //   kNotFound: none matches;  kInvalidArgument: the prefix is too short,
  //   or matches several (the message names some of them).
  Result<ConflictRecord> Find(std::string_view id_or_prefix);
  // The conflicts on one row, oldest first.
  Result<std::vector<ConflictRecord>> OfRow(std::string_view entity,
                                            std::string_view row_id);
  // The other open conflicts on `c`'s field that deciding `c` settles (the
  // console names them before the person decides): the earlier ones (no
  // write later than c's), and later ones both of whose values were in
  // view — c's sides, or the later write the row shows (LaterWriteOf),
  // which a decision must have seen. None for a delete's conflict
  // (SettleDeleteConflicts). Oldest first.
  Result<std::vector<ConflictRecord>> SettledWith(const ConflictRecord& c);

  // Writes the chosen value as an ordinary change from the server's own
  // identity, in one transaction: a RowChange stamped by the server's
  // hybrid clock after observing the cell's current hlc, with base = the
  // cell's current server sequence (so it is no conflict itself), sealed in
  // a change set signed by the server key (kept in change_set_log like a
  // device's), merged with a fresh sequence and indexed for pull, so every
  // device in scope pulls it. The conflict is then marked resolved with a
  // new feed sequence, so devices pull the resolution too.
  // `id` may be a unique prefix (Find). The conflict keeps `by.actor` and
  // `by.reason` (resolved_by, resolution_reason), and one audit_log line
  // (action "resolve", subject "conflict:ID") is appended, in the same
  // transaction: a resolution never exists without its author.
  //   kNotFound: no such conflict;  kFailedPrecondition: already resolved
  //   (reason kAlreadyResolved; the message says when, by whom, to what
  //   value and why), a later write the person did not see would be
  //   replaced (reason kChangedSince: `how.seen_seq` is not
  //   LaterWriteOf's seq), or the value cannot win (a `forward` column such as a
  //   product's stage never moves back);  kInvalidArgument: a value that does not parse or
  //   validate for the column, a SEQ that is neither side's, an ambiguous
  //   prefix, an actor that is neither 'cli' nor 'user:LOGIN', or a reason
  //   over kMaxReasonBytes. Nothing is written on any error.
  Result<ResolveOutcome> Resolve(std::string_view id, const Resolution& how,
                                 const Resolver& by);

 private:
  // SettledWith, with `c`'s later write already read (LaterWriteOf).
  Result<std::vector<ConflictRecord>> SettledWith(const ConflictRecord& c,
                                                  const std::optional<LaterWrite>& later);

  ServerStore& store_;
};

// The hlc a device deleted `row` with (its `deleted` cell's version): set
// when the row is deleted and a device, not the office, deleted it.
std::optional<Hlc> DeviceDeleteStamp(const ReplicaRow& row, const Uuid& server_id);

// What a device's delete took with its row that came back, and what stayed.
struct BroughtBack {
  int64_t back = 0, left = 0;
};

// A device's delete of `root` `root_id`, written with `stamp`, was decided
// against (the row is live again: a resolution that kept an edit, or a
// restore): the rows that delete took with it come back too. `kbo delete
// ... --cascade` writes every row it takes with the row's own hlc
// (client/store.cc), so they are the deleted rows under the row, and under
// those, whose `deleted` carries `stamp` (or another device's delete of the
// root, noted in tombstone_on_deleted) -- except those deleted by another
// delete too (noted there) that has not also been decided against
// (delete_decided_against, where these stamps are noted now); a row
// deleted on its own, before or after, has another hlc and stays deleted. One comes back when
// every row it is recorded under is live (a mark needs its enrolment and
// its workshop; `left` counts those still under a deleted row); each as the
// server's signed write, settling the row's own delete conflicts, audited
// as `by`'s edit. kPermissionDenied (reason rows_out_of_scope), before
// anything of its own is written, when a row it would bring back is outside
// `by.scope`. Inside the caller's transaction.
Result<BroughtBack> BringBackTakenWith(ServerStore& store, const Entity& root,
                                       const std::string& root_id, const Hlc& stamp,
                                       const Resolver& by);

// Closes the open conflicts on the `deleted` of one row between a delete
// and an edit that crossed it (the edit did not know of the delete, or the
// delete of the edit), now that a later write `seq` decided them: `value` 0
// brought the row back (a restore, or a resolution that kept another such
// edit), 1 deleted it (their own editor deleted it too). Only those whose
// editing device is `incoming_device`, when it is not empty. Each is marked resolved by `by` with a new feed
// sequence (devices hear of it) and one audit line. Inside the writing
// transaction.
Status SettleDeleteConflicts(ServerStore& store, std::string_view entity,
                             std::string_view row_id, const Value& value,
                             uint64_t seq, std::string_view incoming_device,
                             const Resolver& by);

}  // namespace kbo::server

#endif  // KBO_SERVER_CONFLICTS_H_
