#ifndef KBO_CLIENT_STORE_H_
#define KBO_CLIENT_STORE_H_

#include <cstdint>
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <unordered_map>
#include <vector>

#include "client/home.h"
#include "client/outbox_codec.h"
#include "shared/change_set.h"
#include "shared/district_scope.h"
#include "shared/entities.h"
#include "shared/hlc.h"
#include "shared/result.h"
#include "shared/roles.h"
#include "shared/rows_under.h"
#include "shared/signing.h"
#include "shared/sqlite/db.h"
#include "shared/uuid.h"
#include "shared/wall_clock.h"

namespace kbo::client {

// SQL, true of a queued upload (blob_upload AS b) still wanted: not a photo
// whose every row is deleted (added, then deleted before it went up). Such
// a picture is neither sent, counted nor bundled; kept, it goes again if
// its row comes back (a delete the server refuses).
inline constexpr const char* kBlobUploadWanted =
    "NOT (EXISTS (SELECT 1 FROM photo p WHERE p.sha256 = b.sha256) AND "
    "NOT EXISTS (SELECT 1 FROM photo p WHERE p.sha256 = b.sha256 AND "
    "p.deleted = 0))";

// A row as read back: its id, every column (null where unset), and the
// tombstone.
struct StoredRow {
  Uuid id;
  RowValues values;  // every catalogue column of the entity
  bool deleted = false;
};

// One equality filter of `list --where COLUMN=VALUE` (value as typed).
struct Filter {
  std::string column;
  std::string text;
};

// A row change the server refused (listed in its signed receipt): kept there
// for the office, shown here for a person to fix (edit, which sends the row
// whole again) or delete, then dismiss.
// A forked device's next identity, kept in field.db from before the
// server is asked until its first push is taken (sync_state.next_device_id
// and next_device_key; client/clock_repair.h, MoveToNewDevice).
struct NextIdentity {
  Uuid device;
  KeyPair key;
};
// nullopt if none is kept (or what is kept does not parse).
Result<std::optional<NextIdentity>> ReadNextIdentity(Db& db);

struct RefusedEntry {
  // The change set that carried it; below 0 for a set of this device's
  // earlier identity (MoveToNewDevice), -1 the newest.
  int64_t seq = 0;
  uint64_t index = 0;     // its position in the set
  std::string entity;
  std::string row_id;
  std::string reason;     // the server's stable code (docs/protocol.md)
  std::string message;
  std::string refused_at; // ISO 8601 UTC
  std::string cells;      // the values sent, as JSON display text ("{}": unknown)
  // This device's copy was put back to the server's cells when the receipt
  // came (a refused edit or delete of a row the server holds).
  bool restored = false;
  // The server never accepted any cell of this row (every cell's server
  // sequence here is 0) and it is not deleted here: dismissing the refusal
  // deletes it here too (ClientStore::DismissRefused).
  bool unaccepted = false;
  // The row is not on this device (it moved to a district outside the
  // device's and left it, docs/protocol.md §6): nothing to fix here; the
  // office keeps what was sent.
  bool not_held = false;
};

// One conflict this device holds, as the server's conflict feed gave it
// (docs/protocol.md): both values and who wrote them, what last-writer-wins
// shows (`winner`), and the office's decision once made. Absent columns
// (a deleted side, an undecided conflict) are nullopt.
struct ConflictEntry {
  std::string id;
  std::string entity;
  std::string row_id;
  std::string column_name;
  std::optional<std::string> district_code;
  std::optional<std::string> current_value;
  std::optional<std::string> current_device;
  std::optional<std::string> current_hlc;
  std::optional<std::string> incoming_value;
  std::optional<std::string> incoming_device;
  std::optional<std::string> incoming_hlc;
  std::optional<int64_t> incoming_base;
  std::optional<std::string> winner;  // "current" or "incoming"
  std::optional<std::string> detected_at;
  std::optional<std::string> resolved_at;
  std::optional<std::string> resolved_value;
  // Why the office decided it, and who ("cli" or "user:LOGIN"); null
  // while open or when it gave no reason.
  std::optional<std::string> resolution_reason;
  std::optional<std::string> resolved_by;
  int64_t server_seq = 0;
};

// What recording a progress entry did to its product's stage
// (ClientStore::stage_follow()).
struct StageFollow {
  bool applies = false;     // the last action wrote a progress entry's stage
  Uuid product_id;
  std::string entry_stage;  // the entry's stage
  std::string before;       // the product's stage before ("" if unset)
  std::string after;        // the product's stage now
  bool moved = false;       // the product moved ahead to entry_stage
};

struct StoreStatus {
  Uuid device_id;
  bool enrolled = false;
  std::string server;          // empty if not enrolled
  std::string role;            // from enrolment
  std::string districts;       // from enrolment: "5011,5009" or "all"
  int64_t pending_changes = 0; // row changes not yet acknowledged by the server
  int64_t pending_blobs = 0;   // photos not yet uploaded
  // Originals asked for (kbo photo upload-originals, the office) not yet
  // announced to the server, and those that could not go (kept with why).
  int64_t originals_to_send = 0;
  int64_t originals_held_back = 0;
  // Photos the server refused for good (larger than it takes): kept here,
  // not sent again (blob_upload.refused_at).
  int64_t refused_blobs = 0;
  // The server refused the last sync because it revoked this device.
  bool revoked = false;
  int64_t confirmed_changes = 0;  // row changes the server has acknowledged
  std::string last_sync;       // ISO 8601 UTC, empty if never
  std::string last_error;      // of the last sync attempt, empty if none
  int64_t refused_rows = 0;    // refusals not yet settled or dismissed
  // Changes the server keeps until a row it lacks arrives (not refused:
  // protocol::kWaitsForRowReason).
  int64_t waiting_rows = 0;
  // Conflicts this device holds that the office has not decided yet.
  int64_t open_conflicts = 0;
  // Live visits dated more than 10 minutes after this device's clock (a
  // clock that ran ahead stamped them: re-dating never moves a value).
  int64_t future_visits = 0;
  // Live rows recorded under a deleted row (a participant enrolled under a
  // producer deleted on another device): the reports leave them out until
  // the office restores that row or deletes them. Counted only when asked
  // (UnderDeletedCount: it reads the tables under a deleted row).
  std::optional<int64_t> under_deleted;
  std::vector<RefusedEntry> refused;  // the newest 100 of them, newest first
};

// The client's local store: field.db in the home folder, the device key, and
// the persisted clock. Every user action is one transaction: the row, its
// cell versions, its outbox entry and the clock state commit together or not
// at all (DESIGN §8). Not thread-safe: one ClientStore per thread.
class ClientStore {
 public:
  // Opens the home `dir`, creating it on first use (folder 0700, key file
  // 0600, database migrated). kFailedPrecondition if the database is newer
  // than this program or the device key is missing for an existing device.
  static Result<std::unique_ptr<ClientStore>> Open(
      const std::string& dir, WallClock* wall = SystemWallClock::Default());
  // Makes the device key in `dir` if there is none and its field.db holds
  // no device yet (a first start); otherwise changes nothing. Open does the
  // same itself, key file first, then the device row; this is for a caller
  // whose files become durable only when it copies them (the phone app,
  // client/app/web/worker.js): it stores the key before Open commits the
  // device row, so a start cut short never leaves a device without its key.
  static Status PrepareDeviceKey(const std::string& dir);
  ~ClientStore();
  ClientStore(const ClientStore&) = delete;
  ClientStore& operator=(const ClientStore&) = delete;

  // Records a new row of `entity` from `row` (column -> value; no id) and
  // returns its id. Fills defaults and the district from the parent row
  // (e.g. an attendance mark takes its workshop's district). For entities
  // with a natural key the id is derived, and recording the same key again
  // replaces that row's values (a column not given, such as an old note,
  // becomes empty: a new mark is a whole statement). Errors, with nothing
  // written:
  //   kInvalidArgument: a value fails validation, a required column is
  //     missing, the day is outside the workshop's days, an enrolment of
  //     another workshop;
  //   kNotFound: a referenced row does not exist (or was deleted).
  // `again` says otherwise for a key recorded again (below).
  struct RecordAgain {
    // An optional column `row` does not name keeps what is recorded (a
    // mark's note, when `kbo attendance mark` is run again without --note),
    // except those in `cleared` (named, empty: `--note ""`). Read and
    // written in the one transaction.
    bool keep_unnamed = false;
    std::set<std::string> cleared;
    // A live row held under the key is left as it is (Recorded::kKept):
    // "the rest present" fills only the marks still empty, never one a
    // colleague (another screen, an import) recorded since the sheet was
    // drawn.
    bool only_if_absent = false;
  };
  // What recording one row did. A key recorded again writes only the
  // columns whose value differs from what is held: the same value again is
  // no change (DESIGN §4: it would stamp the old value now, and beat or
  // conflict with a colleague's newer one not yet here).
  enum class Recorded : uint8_t {
    kNew,      // a row this device did not hold (or held deleted)
    kChanged,  // a row held, some of its values now different
    kSame,     // a row held with these values already: nothing written
    kKept,     // a row held, left as it is (RecordAgain::only_if_absent)
  };
  Result<Uuid> Record(std::string_view entity, RowValues row,
                      const RecordAgain& again);
  Result<Uuid> Record(std::string_view entity, RowValues row);

  // The photo as it was taken, kept on the device when the photo row names a
  // downscaled upload copy (client/photo_copy.h; table photo_original).
  struct PhotoOriginal {
    std::string sha256;  // = the row's sha256 when no copy was made
    int64_t bytes = 0;
    std::string mime;
    int64_t width = 0;
    int64_t height = 0;
  };

  // A progress entry whose stage is further along than its product's
  // (stages in catalogue order: idea, design, prototype, packaging,
  // market_ready) moves the product to that stage in the same action: the
  // same transaction and the same outbox entry, so one change set carries
  // both and each column merges as usual (stage is a `forward` column). An
  // entry at the product's stage or an earlier one leaves the product as it
  // is: a stage never moves back silently. Record, RecordAll and Edit (of a
  // progress entry's stage) all do this; stage_follow() says what happened
  // in the last action.
  const StageFollow& stage_follow() const { return stage_follow_; }

  // Records a photo row (Record("photo", row)) and queues its blob
  // (row's sha256, bytes, mime) for upload, in one transaction. The blob must
  // already be in the home's blobs/ (BlobStore). With `original`, which
  // original the row's blob was made from is remembered (photo_original),
  // in the same transaction.
  Result<Uuid> RecordPhoto(RowValues row,
                           const PhotoOriginal* original = nullptr);

  // The original this device keeps of a photo row it took (table
  // photo_original, for the copy the row names now).
  struct OwnOriginal {
    std::string upload_sha256;
    std::string original_sha256;
    int64_t bytes = 0;
    std::string mime;
  };
  // kNotFound if there is no live photo row `photo`; nullopt if this device
  // did not take it (another device wrote its picture; not asked when
  // `taken_here_only` is false: the server asked this device for it, and
  // it may have been taken under an earlier identity, MoveToNewDevice) or
  // keeps no original of it (recorded before kbo kept originals).
  Result<std::optional<OwnOriginal>> OriginalOf(const Uuid& photo,
                                                bool taken_here_only = true);

  // What AskForOriginals marked.
  struct OriginalsAsked {
    size_t originals = 0;    // asked for now or before, not yet announced
    uint64_t bytes = 0;      // their size
    size_t sent_before = 0;  // announced to the server already
  };
  // Asks for the originals of `photos` (or, with `all`, of every live photo
  // this device took, keeps an original of, and sent as a copy) to go to
  // the server with the next sync (SyncClient::SendOriginals; table
  // original_send), in one transaction: all or none. Asking again clears an
  // earlier refusal.
  //   kNotFound  a photo row that does not exist here or was deleted, or of
  //              which this device keeps no original (taken on another
  //              device, or recorded before kbo kept originals).
  Result<OriginalsAsked> AskForOriginals(const std::vector<Uuid>& photos, bool all);

  // Records many rows in ONE transaction (CSV import, a roll-call): all or
  // none, and one outbox entry (one action). A refusal carries the index of
  // the row refused as field::kIndex.
  // `ids`, if not empty, has one entry per row: the id row i is recorded
  // under (a CSV import of an exported file keeps each row's id, so the row
  // stays the same row everywhere), or nullopt for a new one. A given id
  // must not be nil; for an entity with a natural key it must be the id
  // the row's key derives, else kInvalidArgument; one this device holds
  // already is kAlreadyExists (nothing is ever overwritten this way).
  // `again`: empty, or one RecordAgain per row (a roll-call sheet keeps each
  // mark's note that it does not name). `recorded`, if given, gets what
  // each row did, in row order.
  Result<std::vector<Uuid>> RecordAll(
      std::string_view entity, std::vector<RowValues> rows,
      const std::vector<std::optional<Uuid>>& ids = {},
      const std::vector<RecordAgain>& again = {},
      std::vector<Recorded>* recorded = nullptr);

  // Sets columns of an existing row. kNotFound if the row does not exist or
  // was deleted; kInvalidArgument for an invalid value, an unknown column,
  // a natural-key column (change those by recording a new row), a photo's
  // file facts (IsFileFact), an enrolment moved to another workshop while
  // it has attendance marks. A column set to the value it holds is not
  // written (no change to send, no conflict nobody meant).
  //
  // A row moved to another district takes with it the live rows whose
  // district follows it (a producer's products, visits and photos, and
  // theirs: DistrictParentColumn), in the same action; `moved` (may be
  // null) gets them counted by entity. A row whose district follows a
  // parent cannot be moved on its own (kInvalidArgument: its parent's
  // district, not this one).
  Status Edit(std::string_view entity, const Uuid& id, const RowValues& changes,
              EntityCounts* moved = nullptr);

  // What Delete does with the live rows that hang on the row: those naming
  // it by a required reference (a producer's products, enrolments and
  // visits; a workshop's enrolments and marks; an enrolment's marks; a
  // product's progress and scores) and the photos of it, and theirs in turn.
  enum class Children : uint8_t {
    kRefuse,   // refuse the delete while there are any
    kCascade,  // delete them with it, in the same action
  };
  // The live rows hanging on one row, by entity, in catalogue order; with
  // kCascade, every row the delete wrote (the row itself last).
  struct Deleted {
    std::vector<std::pair<std::string, int64_t>> by_entity;
    int64_t total() const;
    std::string Summary() const;  // "2 enrolments, 1 product"
  };
  // Writes the tombstone (deleted = 1): the row and its values stay, and the
  // delete syncs like any edit. Returns what was deleted. Nothing is written
  // on an error:
  //   kNotFound if absent or already deleted;
  //   kInvalidArgument (reason kHasChildrenReason, field "children": entity
  //     -> count) if live rows hang on it and `children` is kRefuse: people
  //     would vanish from the reports with nobody having said so;
  //   kInvalidArgument if the device's role may not delete one of the rows.
  Result<Deleted> Delete(std::string_view entity, const Uuid& id,
                         Children children = Children::kRefuse);

  // Rows of `entity` matching every filter, deleted rows excluded, in
  // creation order. kInvalidArgument for an unknown entity or column, or a
  // filter value that does not parse for its column.
  Result<std::vector<StoredRow>> List(std::string_view entity,
                                      const std::vector<Filter>& filters = {});
  // kNotFound if absent. Deleted rows are returned with deleted = true.
  Result<StoredRow> Show(std::string_view entity, const Uuid& id);

  Result<StoreStatus> GetStatus();

  // The conflicts held here: open ones first, each group newest first (by
  // the server's feed position); only open ones with `open_only`; at most
  // `limit`.
  Result<std::vector<ConflictEntry>> Conflicts(bool open_only, size_t limit);
  // How many conflicts wait for the office (what Conflicts(true, ...) lists).
  Result<int64_t> OpenConflictCount();
  // Live rows the reports leave out because a row they are recorded under
  // is deleted: named by a required reference of a deleted row, or of such
  // a row in turn (an enrolment's marks under a deleted producer), each
  // once, as the office's "Needs attention" lists them (four levels down at
  // most; photos not counted: no report counts them). docs/cli.md, kbo
  // status.
  Result<int64_t> UnderDeletedCount();

  // Refusals not yet settled, newest first (at most `limit`).
  Result<std::vector<RefusedEntry>> Refused(size_t limit = 1000);
  // Dismisses the refusals of one row (a person has dealt with it); returns
  // how many went. `row_id` nullopt: all of them. A row the server never
  // accepted (RefusedEntry::unaccepted: a refused create) is deleted here
  // too, in the same transaction (a tombstone through the outbox, which the
  // server takes as nothing to delete and which settles its record), so the
  // device ends equal to the server; callers show its values first
  // (RefusedToDismiss).
  Result<int64_t> DismissRefused(const std::optional<Uuid>& row_id);
  // The refusals DismissRefused(row_id) would dismiss, newest first.
  Result<std::vector<RefusedEntry>> RefusedToDismiss(const std::optional<Uuid>& row_id);

  // An action's row changes go to the outbox as one entry (an encoded change
  // set); a larger action is stored as consecutive entries of at most this
  // many rows and about this many bytes, so each decodes within the codec's
  // default limits.
  static constexpr size_t kOutboxEntryMaxRows = 2000;
  static constexpr size_t kOutboxEntryMaxBytes = size_t{4} << 20;

  // Converts person-typed text to the column's value (ParseCellText with the
  // entity/column looked up). kInvalidArgument for unknown names.
  static Result<Value> ParseText(std::string_view entity, std::string_view column,
                                 std::string_view text);

  const Uuid& device_id() const { return device_id_; }
  const KeyPair& key() const { return *key_; }
  const HomePaths& paths() const { return paths_; }
  HybridClock& clock() { return *clock_; }
  WallClock& wall() { return *wall_; }
  Db& db() { return *db_; }

  // This store's identity becomes `device` with `key`, its clock at `last`
  // (after MoveToNewDevice committed them to field.db and the key file).
  void AdoptIdentity(const Uuid& device, KeyPair key, const Hlc& last);

  // Persists the clock state; call inside the transaction that used it.
  // Never lowers what is persisted (another kbo on this home may have gone
  // further), unless `may_go_back` (re-dating a clock that ran ahead).
  Status SaveClock(bool may_go_back = false);
  // Takes the identity and the clock as persisted (another kbo on this home
  // may have written since: a pull, a re-dating, a move to a new identity);
  // every action does, in its transaction.
  Status RefreshFromDisk();
  // Replaces the clock's state by `last` (which may be earlier than the
  // current one: client/clock_repair.h re-dates a clock that ran ahead).
  // Call inside a transaction, then SaveClock().
  void ResetClock(const Hlc& last);

  // Current UTC time as ISO 8601 "YYYY-MM-DDTHH:MM:SSZ".
  std::string NowIso();

 private:
  ClientStore() = default;
  class ActionScope;
  // Record() inside an open transaction and action; with `given`, under
  // that id (RecordAll's `ids`).
  Result<Uuid> RecordInTxn(const Entity& entity, RowValues row,
                           const Uuid* given = nullptr,
                           const RecordAgain* again = nullptr,
                           Recorded* recorded = nullptr);
  // Moves the product of a progress entry ahead to the entry's stage (see
  // stage_follow()), inside the action's transaction; sets stage_follow_.
  Status FollowProgressStage(const Value& product_id, const Value& stage);
  // Writes one row change through the applier and adds it to the action's
  // outbox content (in a txn), moving the cells out of `cells` (left empty).
  // `validated`: every cell already passed the catalogue's checks. `absent`:
  // write it as a new row; if the row exists, kAlreadyExists with nothing
  // written and the values back in `cells`. `stamp`: the hlc to write with
  // (a cascade's rows share one, see Delete); the clock's next if null.
  Status WriteLocal(const Entity& entity, const Uuid& id, RowValues* cells,
                    bool validated, bool absent, const Hlc* stamp = nullptr);
  // Writes the action's pending row changes as one outbox entry.
  Status FlushOutbox();
  // Ends a successful action inside its transaction: the outbox entry and
  // the clock.
  Status FinishAction();
  // Cross-row rules: refs exist, districts inherited, attendance day. Only
  // references in `changed` are looked up (all of them if null).
  Status CheckReferences(const Entity& entity, const RowValues* changed, RowValues* row);
  Result<std::optional<StoredRow>> Find(const Entity& entity, const Uuid& id);
  // refused_row entries (of one row, or all), newest first.
  Result<std::vector<RefusedEntry>> ReadRefused(const std::optional<Uuid>& row_id,
                                                size_t limit);
  // What the cross-row rules need of a referenced row: whether it is
  // deleted, its district, and (where the entity has them) a workshop's
  // days and an enrolment's workshop. One lookup, no whole-row read.
  struct ParentRow {
    Uuid id;
    char id_text[36];  // id's canonical text
    bool deleted = false;
    Value district_code;
    Value days;
    Value workshop_id;
  };
  Result<std::optional<ParentRow>> FindParent(const Entity& entity, const Uuid& id);
  // The live rows naming `id` of `entity` by a required reference, and the
  // live photos of it, appended to `out` (by entity in catalogue order, then
  // id).
  struct RowRef {
    const Entity* entity;
    Uuid id;
  };
  Status LiveChildren(const Entity& entity, const Uuid& id, std::vector<RowRef>* out);
  // Of those, the ones whose district follows the row (their
  // DistrictParentColumn is the link, or photos of it).
  Status DistrictChildren(const Entity& entity, const Uuid& id,
                          std::vector<RowRef>* out);

  HomePaths paths_;
  WallClock* wall_ = nullptr;
  std::unique_ptr<Db> db_;
  std::unique_ptr<KeyPair> key_;
  std::unique_ptr<HybridClock> clock_;
  Uuid device_id_;
  // Inside RecordAll: referenced parent rows are read once (by entity, then
  // id as written; hashed: an import looks one up for every row).
  // What this device may write (DESIGN §6): its role and districts from
  // enrolment, read at the start of each action. Before enrolment nothing
  // is known and nothing is refused here (the server still checks).
  struct Permissions {
    bool enrolled = false;
    std::string role;
    DistrictScope scope;
  };
  Status LoadPermissions();
  Status CheckWrite(const Entity& e, RowAction action, const RowValues& row,
                    bool check_district);
  // A row received from the server in a district outside this device's
  // (pulled before it moved there by a kbo that did not remove such rows,
  // or kept after this device's districts changed) may not be edited or
  // deleted here: the server would refuse it.
  // kInvalidArgument, reason "row_out_of_scope", naming the district;
  // `doing` is "changed" or "deleted". A row of this device's own that the
  // server never took (recorded before enrolment, refused) may: that is
  // how it is fixed or dropped.
  Status CheckHeldInScope(const Entity& e, const Uuid& id, const RowValues& held,
                          std::string_view doing);
  Permissions permissions_;
  bool in_batch_ = false;
  std::map<const Entity*, std::unordered_map<std::string, ParentRow>> parent_cache_;
  // Per reference column of the batch's entity (by its place among them),
  // the parent the last row named: found again by comparing the text,
  // before any hashing (a roll-call's marks all name one workshop). Points
  // into parent_cache_, whose entries stay put; cleared with it.
  struct LastParent {
    const Column* column = nullptr;     // a reference to a fixed entity
    const std::string* text = nullptr;  // the cache's key
    const ParentRow* row = nullptr;
  };
  std::array<LastParent, 8> last_parent_;
  // The action in progress: its row changes not yet in the outbox, encoded
  // as they are written (client/outbox_codec.h), and the outbox id of its
  // first entry (0 before that).
  std::unique_ptr<OutboxEntryWriter> action_entry_;
  Status action_status_;  // RefreshFromDisk's, at the action's start
  int64_t action_id_ = 0;
  StageFollow stage_follow_;
};

// Whether some cell of the row here carries a server sequence: the server
// held it (a local write keeps the sequence of the value it replaced, 0 if
// none, so a row only ever written here has none).
Result<bool> ServerHeldRow(Db& db, std::string_view entity, const Uuid& id);

}  // namespace kbo::client

#endif  // KBO_CLIENT_STORE_H_
