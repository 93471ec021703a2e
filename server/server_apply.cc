#include "server/server_apply.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "server/conflicts.h"
#include "server/log.h"
#include "server/storage/change_log.h"
#include "server/storage/conflicts.h"
#include "server/storage/rows.h"
#include "shared/change_set_codec.h"
#include "shared/derived_row_id.h"
#include "shared/entities.h"
#include "shared/labels.h"
#include "shared/replica/apply.h"
#include "shared/roles.h"
#include "shared/wire.h"

namespace kbo::server {
namespace {

// Hybrid clock wall times before this (2020-01-01T00:00:00Z) are a device
// whose clock was never set; its rows are refused (reason clock_behind).
constexpr int64_t kEarliestWallMs = 1577836800000;

// CheckRow's verdict for a tombstone of a row the server does not hold: not
// applied, not refused.
constexpr const char* kNothingToDelete = "nothing_to_delete";
// A row change that needs a row the server does not hold: kept waiting for
// it (ApplyWaiting).
constexpr const char* kWaitsForRow = protocol::kWaitsForRowReason;
// Rounds of ApplyWaiting: a row applied from waiting may be one others
// wait for (a visit waiting for a producer, a score for the visit).
constexpr int kMaxWaitRounds = 8;

// What this change set does to one entity row.
struct RowInfo {
  const Entity* entity = nullptr;
  bool exists_before = false;    // in the entity table before this set
  std::string district_before;   // its district then ("" if null)
  bool writes_district = false;  // some row change of the set writes it
  // Every district_code the set writes is this one (meaningful only with
  // writes_district; false once two different values are written).
  bool one_district_written = true;
  std::string district_written;
  uint64_t max_seq = 0;          // highest sequence of a change that won a cell
  // The row's pull index entry before this set (its highest cell sequence;
  // 0: none), taken from the first merge of the row in this set.
  bool applied = false;
  uint64_t indexed_seq = 0;
  std::string district_after;    // filled after applying
};

// A row of the set: its catalogue entity and its id, kept as they are (no
// id text or entity name copied per row change). Ordered as the pair
// (entity name, id text) would be -- a uuid's lowercase canonical text sorts
// as its bytes -- so the pull index is written in the same order as before.
struct RowKey {
  const Entity* entity;
  Uuid id;
};
bool operator<(const RowKey& a, const RowKey& b) {
  if (a.entity != b.entity) return a.entity->name < b.entity->name;
  return a.id < b.id;
}

// A row id's canonical text, on the stack.
struct IdText {
  explicit IdText(const Uuid& id) { id.FormatTo(text); }
  std::string_view view() const { return std::string_view(text, sizeof text); }
  char text[36];
};

// A change set's conflicts, each carried to its writer's last word on the
// cell. A device that writes one cell several times before it hears of its
// own writes (a trainer cycling a roll-call mark: present, late, absent,
// excused, each a write) sends every step:
//  - a conflict found at one step is about the cell, not the step: a later
//    step of the same device replaces its incoming side (the value the
//    office decides on is the one the device ends with), and a device that
//    ends with the other side's value no longer disagrees with it;
//  - a step that happens to equal another device's value it never saw is
//    no conflict (they agree), but takes the cell over: the device's next
//    step, another value, overwrites the other device's without IsConflict
//    seeing it (same device). That other value is remembered, and the next
//    step is a conflict with it.
class CollectingSink : public ConflictSink {
 public:
  explicit CollectingSink(const Uuid& server) : server_(server) {}
  Status OnConflict(const ConflictEvent& event) override {
    // The office's own writes to a deleted row (a merge repointing it) are
    // made knowing it is deleted, and its deletes knowing the row as the
    // server holds it (the console's pages check what was seen).
    if ((event.edit_of_deleted || event.delete_of_edited) &&
        event.incoming.hlc.device == server_) {
      return Status();
    }
    if (!event.edit_of_deleted && !event.delete_of_edited) {
      const CellKey key{event.entity, event.row_id, event.column};
      agreed_.erase(key);
      if (ConflictEvent* open = OpenFor(key, event.incoming.hlc.device);
          open != nullptr && open->current_seq == event.current_seq &&
          open->current.value == event.current.value) {
        // The same disagreement again (the device's earlier step lost to
        // the other value, so the cell still shows it): its last word.
        TakeLastWord(open, event);
        return Status();
      }
      open_[key] = events.size();
    }
    events.push_back(event);
    return Status();
  }

  // While this set has a conflict or an agreement to follow.
  bool FollowsSeenWrites() const override {
    return !open_.empty() || !agreed_.empty();
  }

  Status OnSeenWrite(const ConflictEvent& write) override {
    if (write.edit_of_deleted || write.delete_of_edited) return Status();
    const CellKey key{write.entity, write.row_id, write.column};
    const Uuid& device = write.incoming.hlc.device;
    if (write.current.hlc.device == device) {
      // Its own earlier step, seen (a pull came between): still the same
      // disagreement, if that step raised one; an agreement it made is
      // what it saw, and wrote over knowingly.
      if (ConflictEvent* open = OpenFor(key, device); open != nullptr) {
        CarryOpen(key, open, write);
      } else {
        agreed_.erase(key);
      }
      return Status();
    }
    // It saw the other device's value (a pull landed between its steps)
    // and wrote over it knowingly: nothing left to decide.
    agreed_.erase(key);
    if (OpenFor(key, device) != nullptr) Drop(key);
    return Status();
  }

  Status OnUnseenWrite(const ConflictEvent& write) override {
    if (write.edit_of_deleted || write.delete_of_edited) return Status();
    // The very value the cell holds, written over it unseen: the value
    // has not changed since the cell's sequence (NoteValuesSince).
    if (write.incoming_won && write.incoming.value == write.current.value) {
      same_values.push_back(write);
    }
    const CellKey key{write.entity, write.row_id, write.column};
    const Uuid& device = write.incoming.hlc.device;
    if (ConflictEvent* open = OpenFor(key, device); open != nullptr) {
      CarryOpen(key, open, write);
      return Status();
    }
    if (device != write.current.hlc.device) {
      // Another device's value, the same as this write's, never seen: they
      // agree, for now. `current` is that value. (Not a column that names
      // its row: it never changes, so nothing can be written over it.)
      if (!NamesRow(write)) agreed_[key] = write;
      return Status();
    }
    auto agreed = agreed_.find(key);
    if (agreed == agreed_.end() || agreed->second.incoming.hlc.device != device ||
        agreed->second.current.value == write.incoming.value) {
      return Status();
    }
    // It agreed with a value it never saw, and now writes over it.
    ConflictEvent event = agreed->second;
    agreed_.erase(agreed);
    TakeLastWord(&event, write);
    open_[key] = events.size();
    events.push_back(std::move(event));
    return Status();
  }

  std::vector<ConflictEvent> events;
  // Unseen writes that won a cell with the value it held (OnUnseenWrite).
  std::vector<ConflictEvent> same_values;

 private:
  using CellKey = std::tuple<std::string, Uuid, std::string>;

  // The open conflict this set found on the cell with `device` writing.
  ConflictEvent* OpenFor(const CellKey& key, const Uuid& device) {
    auto it = open_.find(key);
    if (it == open_.end()) return nullptr;
    ConflictEvent& e = events[it->second];
    return e.incoming.hlc.device == device ? &e : nullptr;
  }

  // A later step of a device this set already found disagreeing.
  void CarryOpen(const CellKey& key, ConflictEvent* open, const ConflictEvent& write) {
    TakeLastWord(open, write);
    if (open->incoming.value == open->current.value) {
      // It ends with the other device's value: they agree, unless it
      // writes once more.
      agreed_[key] = *open;
      Drop(key);
    }
  }

  static bool NamesRow(const ConflictEvent& write) {
    const Entity* e = FindEntity(write.entity);
    return e != nullptr && std::find(e->natural_key.begin(), e->natural_key.end(),
                                     write.column) != e->natural_key.end();
  }

  // The conflict's incoming side becomes `write`, the same device's later
  // step (its base stays the first step's: what the device had seen). A
  // later step that lost to the device's own earlier one (a stage moved
  // back in a signed set: the merge keeps the furthest) changes nothing:
  // the earlier step is what the cell shows.
  static void TakeLastWord(ConflictEvent* event, const ConflictEvent& write) {
    if (!write.incoming_won &&
        write.current.hlc.device == write.incoming.hlc.device) {
      return;
    }
    event->incoming = write.incoming;
    event->incoming_seq = write.incoming_seq;
    event->incoming_won = write.incoming_won;
  }

  void Drop(const CellKey& key) {
    auto it = open_.find(key);
    const size_t index = it->second;
    events.erase(events.begin() + static_cast<std::ptrdiff_t>(index));
    open_.erase(it);
    for (auto& [k, i] : open_) {
      if (i > index) --i;
    }
  }

  Uuid server_;
  std::map<CellKey, size_t> open_;          // index into events
  std::map<CellKey, ConflictEvent> agreed_;
};

// Whether a row change writes the row's tombstone.
bool DeletesRow(const RowChange& row) {
  for (const CellWrite& c : row.cells) {
    if (c.column == kDeletedColumn && c.value == Value::Integer(1)) return true;
  }
  return false;
}

// An agreement is not a disagreement (docs/protocol.md). A write of the
// value a cell held, made without seeing it (two trainers both marked a
// participant present offline; a device that imported the office's
// export), wins by its later stamp and takes a new sequence, though the
// value did not change: noted in value_since as unchanged since the cell's
// earlier sequence. A conflict whose writer saw the value the cell holds
// (its base at or after that sequence, the cell's version still the one
// noted) is none: it edits what it saw. Both touch only the rare paths (a
// same-value write over an unseen one; a conflict found).
Status NoteValuesSince(storage::ConflictStore& store,
                       const std::vector<ConflictEvent>& same_values) {
  for (const ConflictEvent& w : same_values) {
    const IdText id(w.row_id);
    Result<std::optional<storage::ValueSince>> held =
        store.FindValueSince(w.entity, id.view(), w.column);
    if (!held.ok()) return held.status();
    storage::ValueSince v;
    const std::string current_hlc = w.current.hlc.ToString();
    v.since_seq = held->has_value() && (*held)->hlc == current_hlc ? (*held)->since_seq
                                                                    : w.current_seq;
    v.hlc = w.incoming.hlc.ToString();
    if (Status s = store.NoteValueSince(w.entity, id.view(), w.column, v); !s.ok()) {
      return s;
    }
  }
  return Status();
}

Status DropConflictsOnSeenValues(storage::ConflictStore& store,
                                 std::vector<ConflictEvent>* events) {
  std::vector<ConflictEvent> kept;
  kept.reserve(events->size());
  for (ConflictEvent& e : *events) {
    // Only a write that won: one that lost to the same-value write (an
    // older stamp) would vanish with no record. Never `deleted`: a delete
    // crossing an edit is told by this cell's conflict alone.
    if (!e.edit_of_deleted && !e.delete_of_edited && e.incoming_won &&
        e.column != kDeletedColumn && e.incoming_base > 0) {
      const IdText id(e.row_id);
      Result<std::optional<storage::ValueSince>> held =
          store.FindValueSince(e.entity, id.view(), e.column);
      if (!held.ok()) return held.status();
      if (held->has_value() && (*held)->hlc == e.current.hlc.ToString() &&
          e.incoming_base >= (*held)->since_seq) {
        continue;
      }
    }
    kept.push_back(std::move(e));
  }
  *events = std::move(kept);
  return Status();
}

// See ApplyAtServer, step 4.
Status DropRepeatedEditsOfDeleted(Db& db, const ChangeSet& cs,
                                  std::vector<ConflictEvent>* events) {
  std::set<std::pair<std::string, Uuid>> told;
  std::vector<ConflictEvent> kept;
  kept.reserve(events->size());
  for (ConflictEvent& e : *events) {
    if (!e.edit_of_deleted) {
      kept.push_back(std::move(e));
      continue;
    }
    if (!told.insert({e.entity, e.row_id}).second) continue;
    bool deletes_too = false;
    for (const RowChange& r : cs.rows) {
      deletes_too |= r.entity == e.entity && r.row_id == e.row_id && DeletesRow(r);
    }
    if (deletes_too) continue;
    Result<std::vector<storage::ConflictRecord>> open =
        storage::ConflictStore(db).OfRow(e.entity, e.row_id.ToString());
    if (!open.ok()) return open.status();
    bool already = false;
    const std::string device = e.incoming.hlc.device.ToString();
    for (const storage::ConflictRecord& c : *open) {
      already |= !c.resolved() && c.column_name == kDeletedColumn &&
                 c.current_seq == e.current_seq && c.incoming_device == device;
    }
    if (!already) kept.push_back(std::move(e));
  }
  *events = std::move(kept);
  return Status();
}

// The district the row is in now; nullopt if the server does not hold it.
Result<std::optional<std::string>> CurrentDistrict(Db& db, const Entity& entity,
                                                   std::string_view row_id) {
  return storage::Rows(db).District(entity, row_id);
}

std::string DistrictName(const std::string& code) {
  const District* d = FindDistrict(code);
  if (d == nullptr) return code;
  return code + " (" + std::string(d->name_en) + ")";
}

std::string RowLabel(size_t index, const RowChange& row) {
  return "row " + std::to_string(index + 1) + " (" + row.entity + " " +
         row.row_id.ToString() + ")";
}

// What a row as the server holds it (before a change) says, with the
// change's cells laid over it: a value per column, by the entity's column
// index ("deleted" last), nullptr where neither gives one. Points into
// `current` and `row`, which outlive it. (A vector of pointers, not a map
// of copies by name: CheckRow builds one for every row change.)
class EffectiveRow {
 public:
  // Every cell of `row` names a column of `entity` or "deleted" (CheckRow
  // has validated them).
  EffectiveRow(const Entity& entity, const std::optional<ReplicaRow>& current,
               const RowChange& row)
      : entity_(entity), values_(entity.columns.size() + 1, nullptr) {
    if (current.has_value()) {
      for (size_t c = 0; c < values_.size(); ++c) values_[c] = &current->values[c];
    }
    for (const CellWrite& cell : row.cells) {
      const Column* c = entity.FindColumn(cell.column);
      values_[c != nullptr ? Index(c) : entity.columns.size()] = &cell.value;
    }
  }
  const Value* at(const Column& c) const { return values_[Index(&c)]; }
  // nullptr for a name that is no column of the entity.
  const Value* Find(std::string_view name) const {
    const Column* c = entity_.FindColumn(name);
    return c != nullptr ? at(*c) : nullptr;
  }
  const std::vector<const Value*>& by_column() const { return values_; }

 private:
  size_t Index(const Column* c) const {
    return static_cast<size_t>(c - entity_.columns.data());
  }
  const Entity& entity_;
  std::vector<const Value*> values_;
};

bool IsMissing(const Value& v) {
  if (v.is_null()) return true;
  if (v.type() != Value::Type::kText) return false;
  for (char ch : v.text()) {
    if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') return false;
  }
  return true;
}

struct ParentInfo {
  bool exists = false;
  std::string district;
};

// The referenced rows' districts as the set's apply has read them, by
// entity and row id. The set's marks name the same few workshops and
// enrolments over and over, so each is read once per set. A row change the
// set applies forgets its row (ForgetParent), which is read again when next
// referenced: a parent created, moved or deleted by the set itself is seen
// as the earlier changes left it, as without this.
using ParentDistricts = std::map<RowKey, ParentInfo>;

// The parent as the set knows it (ReadParent), valid until `known` changes.
Result<const ParentInfo*> ReadParent(Db& db, ParentDistricts& known,
                                     const Entity& entity, const Uuid& id) {
  const RowKey key{&entity, id};
  if (auto it = known.find(key); it != known.end()) return &it->second;
  Result<std::optional<std::string>> d =
      CurrentDistrict(db, entity, IdText(id).view());
  if (!d.ok()) return d.status();
  ParentInfo out;
  out.exists = d->has_value();
  if (out.exists) out.district = std::move(**d);
  return &known.emplace(key, std::move(out)).first->second;
}

void ForgetParent(ParentDistricts& known, const Entity& entity, const Uuid& id) {
  known.erase(RowKey{&entity, id});
}

// The set's rows as the server held them before the set (nullopt inside:
// not held), read up front. CheckRow takes a row's entry out when it
// checks the row's first change; every later change of that row reads the
// row again (an earlier change of the set may have written it).
using RowsAhead = std::map<RowKey, std::optional<ReplicaRow>>;

// Reads ahead, with one query per entity (a few per set) instead of one
// per row change -- on PostgreSQL each is a round trip under the writer
// lock: the rows the set changes into `rows`, and the districts of the
// rows its references name into `parents` (what ReadParent would read:
// rows the set does not write stay as read; one it writes is forgotten
// when it is applied, and read again if referenced after that).
// Only where it pays (PostgreSQL): on SQLite, in-process, reading row by
// row was faster (docs/performance.md).
// An id ReadAhead formatted itself (Uuid::ToString), read back.
Uuid ParsedId(const std::string& id) {
  Result<Uuid> parsed = Uuid::Parse(id);
  return parsed.ok() ? *parsed : Uuid();
}

Status ReadAhead(Db& db, const ChangeSet& cs, RowsAhead* rows,
                 ParentDistricts* parents) {
  storage::Rows store(db);
  if (!store.ReadManyPays()) return Status();
  std::map<const Entity*, std::set<std::string>> row_ids;
  std::map<const Entity*, std::set<std::string>> ref_ids;
  for (const RowChange& row : cs.rows) {
    const Entity* entity = FindEntity(row.entity);
    if (entity == nullptr || row.row_id.IsNil()) continue;
    row_ids[entity].insert(row.row_id.ToString());
    for (const CellWrite& cell : row.cells) {
      const Column* c = entity->FindColumn(cell.column);
      if (c == nullptr || c->type != ColumnType::kRef || c->ref_entity.empty() ||
          cell.value.type() != Value::Type::kText) {
        continue;  // a photo's subject is read when checked
      }
      const Entity* target = FindEntity(c->ref_entity);
      Result<Uuid> ref = Uuid::Parse(cell.value.text());
      if (target != nullptr && ref.ok()) ref_ids[target].insert(ref->ToString());
    }
  }
  for (const auto& entry : row_ids) {
    const Entity& entity = *entry.first;
    Result<std::map<std::string, ReplicaRow, std::less<>>> read =
        store.ReadMany(entity, entry.second);
    if (!read.ok()) return read.status();
    for (const std::string& id : entry.second) {
      std::optional<ReplicaRow>& slot = (*rows)[RowKey{&entity, ParsedId(id)}];
      auto it = read->find(id);
      if (it != read->end()) slot = std::move(it->second);
    }
  }
  for (const auto& entry : ref_ids) {
    const Entity& entity = *entry.first;
    Result<std::map<std::string, std::string, std::less<>>> read =
        store.DistrictsOf(entity, entry.second);
    if (!read.ok()) return read.status();
    for (const std::string& id : entry.second) {
      ParentInfo info;
      auto it = read->find(id);
      if (it != read->end()) {
        info.exists = true;
        info.district = it->second;
      }
      parents->emplace(RowKey{&entity, ParsedId(id)}, std::move(info));
    }
  }
  return Status();
}

// Why row change `row` may not be applied by `device` (nullptr: the
// server's own write, checked for integrity only); nullopt if it may.
// Reads the replica as it is now, inside the set's transaction, so a parent
// created by an earlier row change of the same set is found.
struct Refusal {
  Refusal(std::string r, std::string m, std::string we = {}, std::string wr = {})
      : reason(std::move(r)),
        message(std::move(m)),
        waits_entity(std::move(we)),
        waits_row_id(std::move(wr)) {}
  std::string reason;
  std::string message;
  // kWaitsForRow: the row it waits for.
  std::string waits_entity;
  std::string waits_row_id;
};

// `held` is set to the district the row is in now ("" if none), or nullopt
// if the server does not hold it, whenever the row could be read; `current`
// to the row itself (nullopt: not held), which the applier then takes
// instead of reading it again. Whenever no refusal is returned, both are
// set. `parents`: the referenced rows' districts known for the set;
// `ahead`: the set's rows read up front (ReadAhead).
Result<std::optional<Refusal>> CheckRow(Db& db, const RowChange& row,
                                        const Entity& entity,
                                        const DeviceRecord* device,
                                        ParentDistricts& parents,
                                        RowsAhead& ahead, bool texts_decoded,
                                        std::optional<std::string>* held,
                                        std::optional<ReplicaRow>* current) {
  using R = std::optional<Refusal>;
  auto refuse = [](std::string reason, std::string message) {
    return R(Refusal{std::move(reason), std::move(message)});
  };
  const Scope* scope = device != nullptr ? &device->scope : nullptr;
  if (row.hlc.wall_ms < kEarliestWallMs) {
    return refuse("clock_behind",
                  "it was recorded at " + FormatIsoUtc(row.hlc.wall_ms) +
                      " by the device's clock, before 2020; set the device's "
                      "date and time correctly and record it again");
  }
  if (device != nullptr && device->revoked()) {
    // Only a revoked device's set the office vouched for gets here (bundle
    // import --accept-revoked): what it recorded before the revocation is
    // taken; a row stamped after it was made by whoever held the phone
    // since (a lost or stolen one is why devices are revoked). revoked_at
    // is to the second: a row within that second counts as before.
    const std::optional<int64_t> revoked_ms = ParseIsoUtcMillis(device->revoked_at);
    if (!revoked_ms || row.hlc.wall_ms >= *revoked_ms + 1000) {
      return refuse("after_revocation",
                    "it was recorded at " + FormatIsoUtc(row.hlc.wall_ms) +
                        ", after the device was revoked (" + device->revoked_at +
                        "); only what it recorded before is accepted");
    }
  }
  bool writes_tombstone = false;
  // The district it writes (at most one: no column is written twice).
  const std::string* written_district = nullptr;
  for (size_t k = 0; k < row.cells.size(); ++k) {
    const CellWrite& cell = row.cells[k];
    for (size_t j = 0; j < k; ++j) {
      if (row.cells[j].column == cell.column) {
        return refuse("invalid_value", "it writes " + cell.column + " twice");
      }
    }
    // Decoded texts are valid UTF-8 already (DecodeChangeSet refuses any
    // other): the same answers without checking that again.
    const Column* column = texts_decoded ? entity.FindColumn(cell.column) : nullptr;
    if (Status s = column != nullptr ? ValidateDecodedCell(entity, *column, cell.value)
                                     : ValidateCell(entity, cell.column, cell.value);
        !s.ok()) {
      return refuse("invalid_value", s.message());
    }
    // What no device writes (its own checks strip or refuse it), only a
    // raw push (CheckWrittenText).
    if (const Column* c = column != nullptr ? column : entity.FindColumn(cell.column)) {
      if (Status s = CheckWrittenText(*c, cell.value); !s.ok()) {
        return refuse("invalid_value", s.message());
      }
    }
    if (cell.column == kDeletedColumn) {
      writes_tombstone = cell.value == Value::Integer(1);
    } else if (cell.column == kDistrictColumn) {
      if (cell.value.is_null()) {
        return refuse("missing_column", "district_code cannot be cleared");
      }
      written_district = &cell.value.text();
    }
  }
  // (Empty on SQLite, where ReadAhead does not pay.)
  if (auto it = ahead.empty() ? ahead.end() : ahead.find(RowKey{&entity, row.row_id});
      it != ahead.end()) {
    *current = std::move(it->second);
    ahead.erase(it);
  } else {
    Result<std::optional<ReplicaRow>> read =
        storage::Rows(db).Read(entity, row.row_id);
    if (!read.ok()) return read.status();
    *current = std::move(*read);
  }
  const bool exists = current->has_value();
  // An edit of a row the device received from the server (a cell with a
  // base: it saw that server sequence) that this server does not hold: the
  // server lost it (restored from a backup), and whoever recorded it sends
  // it again. Where it cannot stand alone as a new row, it waits for it.
  const bool lost_row_edit =
      !exists && std::any_of(row.cells.begin(), row.cells.end(),
                             [](const CellWrite& c) { return c.base > 0; });
  const auto wait_for_row = [&]() {
    return R(Refusal{kWaitsForRow,
                     "the server does not hold this row (lost in a restore from a "
                     "backup, or not sent yet by its writer): kept, and applied when "
                     "it reaches the server",
                     std::string(entity.name), row.row_id.ToString()});
  };
  // The district it is in now.
  std::string current_district;
  if (exists) {
    const Value& now = (*current)->values[static_cast<size_t>(
        entity.FindColumn(kDistrictColumn) - entity.columns.data())];
    if (!now.is_null()) current_district = now.text();
    *held = current_district;
  }
  // Whether the device holds an open refusal of this row: a row it recorded
  // that the server never took (asked only where the row is not held and
  // the change cannot stand alone).
  // Whether that refusal is one kept waiting: then the row may come yet
  // (applied from waiting), and what the device does to it since waits for
  // it too.
  const auto own_refused = [&]() -> Result<storage::OpenRefusal> {
    if (device == nullptr) return storage::OpenRefusal{true, false};
    return storage::RefusedRows(db).OpenOf(device->id.ToString(), entity.name,
                                           row.row_id.ToString());
  };
  if (!exists && writes_tombstone && row.cells.size() == 1) {
    // Deleting a row the server never held (its creation was refused): there
    // is nothing to delete, and nothing to keep. A row it does not know the
    // device for (lost in a restore), or the device's own that waits: the
    // delete waits for it, or the row would come back alive.
    Result<storage::OpenRefusal> own = own_refused();
    if (!own.ok()) return own.status();
    if (own->open && !own->waiting) return refuse(kNothingToDelete, "");
    return wait_for_row();
  }
  const EffectiveRow effective(entity, *current, row);
  const RowAction action = !exists          ? RowAction::kCreate
                           : writes_tombstone ? RowAction::kDelete
                                              : RowAction::kEdit;
  if (device != nullptr &&
      !RoleMayWrite(device->role, entity.name, action)) {
    if (!exists && RoleMayWrite(device->role, entity.name, RowAction::kEdit)) {
      if (lost_row_edit) return wait_for_row();
      if (written_district == nullptr) {
        Result<storage::OpenRefusal> own = own_refused();
        if (!own.ok()) return own.status();
        if (!own->open || own->waiting) return wait_for_row();
      }
    }
    return refuse("role", "a " + device->role + "'s device may not " +
                              std::string(RowActionName(action)) + " " +
                              WithArticle(entity.name) + " (docs/roles.md)");
  }
  // Districts: the one it writes and the one it is in now.
  if (!exists && written_district == nullptr) {
    // An edit (no district: a new row always gives one) of a row the server
    // does not hold, and not one of the device's own it refused: lost.
    if (lost_row_edit) return wait_for_row();
    Result<storage::OpenRefusal> own = own_refused();
    if (!own.ok()) return own.status();
    if (!own->open || own->waiting) return wait_for_row();
    return refuse("missing_column",
                  "the server does not hold this row and the change does not "
                  "give its district_code");
  }
  if (scope != nullptr) {
    // The one it writes first, then the one it is in.
    const std::string* districts[2] = {written_district, nullptr};
    if (!current_district.empty()) districts[1] = &current_district;
    for (const std::string* district : districts) {
      if (district == nullptr) continue;
      const std::string& d = *district;
      if (!scope->Contains(d)) {
        return refuse("out_of_scope",
                      "it is in district " + DistrictName(d) +
                          ", outside this device's districts (" +
                          scope->ToString() + ")");
      }
    }
  }
  // Required columns: all of them on a new row, none emptied on an edit.
  for (const Column& c : entity.columns) {
    const Value* value = effective.at(c);
    const bool missing = value == nullptr || IsMissing(*value);
    if (!c.required || !missing) continue;
    if (!exists) {
      if (lost_row_edit) return wait_for_row();
      return refuse("missing_column", std::string(c.name) +
                                          " is required for a new " +
                                          std::string(entity.name));
    }
    for (const CellWrite& cell : row.cells) {
      if (cell.column == c.name) {
        return refuse("missing_column",
                      std::string(c.name) + " is required and cannot be emptied");
      }
    }
  }
  // References: each one it sets must name a row the server holds, in this
  // device's districts; the district parent's district is the row's.
  const std::string_view parent_column = DistrictParentColumn(entity.name);
  const Value* effective_district = effective.Find(kDistrictColumn);
  for (const Column& c : entity.columns) {
    if (c.type != ColumnType::kRef) continue;
    bool written = !exists;
    for (const CellWrite& cell : row.cells) {
      if (cell.column == c.name ||
          (c.ref_entity.empty() && cell.column == "subject_type") ||
          (c.name == parent_column && cell.column == kDistrictColumn)) {
        written = true;
      }
    }
    if (!written) continue;
    const Value* value = effective.at(c);
    if (value == nullptr || value->is_null()) continue;
    std::string_view target = c.ref_entity;
    if (target.empty()) {
      const Value* type = effective.Find("subject_type");
      if (type == nullptr || type->is_null()) {
        return refuse("missing_column", "subject_type is required with subject_id");
      }
      target = type->text();
    }
    const Entity* te = FindEntity(target);
    Result<Uuid> ref = Uuid::Parse(value->text());
    if (te == nullptr || !ref.ok()) {
      return refuse("invalid_value", std::string(c.name) + " is not a " +
                                         std::string(target) + " id");
    }
    Result<const ParentInfo*> read = ReadParent(db, parents, *te, *ref);
    if (!read.ok()) return read.status();
    const ParentInfo* parent = *read;
    if (!parent->exists) {
      // Its writer may send it yet (after a restore; or fixed, if it was
      // refused): kept until then.
      return R(Refusal{kWaitsForRow,
                       "its " + std::string(c.name) + " names " + std::string(target) +
                           " " + ref->ToString() +
                           ", which the server does not hold (refused, lost in a "
                           "restore, or not sent yet): kept, and applied when it "
                           "reaches the server",
                       std::string(te->name), ref->ToString()});
    }
    if (scope != nullptr && !parent->district.empty() &&
        !scope->Contains(parent->district)) {
      return refuse("out_of_scope",
                    "its " + std::string(c.name) + " names a " +
                        std::string(target) + " in district " +
                        DistrictName(parent->district) +
                        ", outside this device's districts (" +
                        scope->ToString() + ")");
    }
    if (c.name == parent_column && !parent->district.empty() &&
        effective_district != nullptr && !effective_district->is_null() &&
        effective_district->text() != parent->district) {
      return refuse("wrong_district",
                    "it says district " + DistrictName(effective_district->text()) +
                        " but its " + std::string(target) + " is in " +
                        DistrictName(parent->district) + "; a " +
                        std::string(entity.name) + " belongs to its " +
                        std::string(target) + "'s district");
    }
  }
  // A derived id must be the one its natural key gives: no device can take
  // another row's id (issue 9, D1).
  if (!entity.natural_key.empty()) {
    Result<Uuid> derived = DerivedRowId(entity, effective.by_column());
    if (!derived.ok() || *derived != row.row_id) {
      return refuse("derived_id",
                    "its id is not the one its " + std::string(entity.name) +
                        "'s key gives" +
                        (derived.ok() ? " (" + derived->ToString() + ")" : ""));
    }
  }
  return R();
}

// A conflict's id: the same two writes of one cell make the same id,
// whichever came first. A server restored from a backup finds a conflict
// again when the writes are sent again; devices that held it before hear
// of it, and of its decision, under the id they hold (a random id left
// their copy open for good).
std::string ConflictId(std::string_view entity, const Uuid& row_id, std::string_view column,
                       const Hlc& a, const Hlc& b) {
  static const Uuid ns = Uuid::Derived(Uuid{}, "kbo-field/conflict-ids/v1");
  const bool a_first = a < b;
  const Hlc& first = a_first ? a : b;
  const Hlc& second = a_first ? b : a;
  std::string name;
  name.append(entity).push_back('\0');
  name.append(row_id.ToString()).push_back('\0');
  name.append(column).push_back('\0');
  name.append(first.ToString()).push_back('\0');
  name.append(second.ToString());
  return Uuid::Derived(ns, name).ToString();
}

}  // namespace

Result<AppliedSet> ApplyAtServer(ServerStore& store, const ChangeSet& cs,
                                 const DeviceRecord* device, bool texts_decoded) {
  Db& db = store.db();
  storage::PullIndex index(db);
  std::map<RowKey, RowInfo> rows;
  AppliedSet applied;
  if (cs.rows.empty()) return applied;
  // Every row change gets its number; a refused one leaves a gap.
  Result<uint64_t> first = store.TakeSeqs(cs.rows.size());
  if (!first.ok()) return first.status();
  applied.first_seq = *first;
  applied.last_seq = *first + cs.rows.size() - 1;
  CollectingSink sink(store.server_id());
  // Rows refused in the set so far, each with the row its refusal waits
  // for (none: empty).
  std::map<RowKey, std::pair<std::string, std::string>> refused_rows;
  // The rows the device's set deletes, and the sequence of that change.
  std::vector<std::pair<RowKey, uint64_t>> deletes;
  ParentDistricts parents;
  RowsAhead ahead;
  if (Status s = ReadAhead(db, cs, &ahead, &parents); !s.ok()) return s;

  // 1. Each row change checked against the replica as the set's earlier
  // changes left it, then merged -- or refused alone (DESIGN §6).
  for (size_t i = 0; i < cs.rows.size(); ++i) {
    const RowChange& row = cs.rows[i];
    const Entity* entity = FindEntity(row.entity);
    std::optional<Refusal> refusal;
    std::optional<std::string> held;  // the row's district before it
    std::optional<ReplicaRow> current;  // the row before it, as CheckRow read it
    const RowKey key{entity, row.row_id};  // meaningful once entity is known
    if (entity == nullptr) {
      refusal = Refusal{"unknown_entity", "unknown entity '" + row.entity + "'"};
    } else if (row.row_id.IsNil()) {
      refusal = Refusal{"invalid_value", "nil row id"};
    } else {
      Result<std::optional<Refusal>> checked =
          CheckRow(db, row, *entity, device, parents, ahead, texts_decoded, &held,
                   &current);
      if (!checked.ok()) return checked.status();
      refusal = std::move(*checked);
      // A reference to a row this device had refused (in this set, or an
      // earlier one not settled since) is refused with it, as before
      // waiting: the device fixes or drops that row first (kbo refused),
      // and this one with it. Only a row it does not know of waits.
      if (refusal.has_value() && refusal->reason == kWaitsForRow && device != nullptr &&
          refusal->waits_row_id != row.row_id.ToString()) {
        const Entity* target = FindEntity(refusal->waits_entity);
        Result<Uuid> target_id = Uuid::Parse(refusal->waits_row_id);
        bool own_refused = false;
        if (target != nullptr && target_id.ok()) {
          auto in_set = refused_rows.find(RowKey{target, *target_id});
          own_refused = in_set != refused_rows.end() && in_set->second.second.empty();
        }
        if (!own_refused) {
          Result<storage::OpenRefusal> open = storage::RefusedRows(db).OpenOf(
              device->id.ToString(), refusal->waits_entity, refusal->waits_row_id);
          if (!open.ok()) return open.status();
          own_refused = open->open && !open->waiting;  // a waiting one may come
        }
        if (own_refused) {
          refusal = Refusal{"unknown_reference",
                            "it names " + refusal->waits_entity + " " +
                                refusal->waits_row_id +
                                ", which the server refused from this device: fix or "
                                "delete that one first"};
        }
      }
      // An earlier change of this row in the set was refused: this one is
      // taken only if it stands on its own (a device sends a refused row
      // whole with its fix, and a person may save twice before a sync, the
      // first still wrong); one that needed the refused one follows it.
      if (auto earlier = refused_rows.find(key); earlier != refused_rows.end()) {
        if (!refusal.has_value()) {
          refused_rows.erase(earlier);
        } else if (!earlier->second.second.empty() &&
                   (refusal->reason == kWaitsForRow || refusal->reason == kNothingToDelete ||
                    refusal->reason == "missing_column" ||
                    refusal->reason == "unknown_reference")) {
          // It waits with the change it follows, to be applied after it.
          refusal = Refusal{kWaitsForRow,
                            "an earlier change to this row in the same change set "
                            "waits for " + earlier->second.first + " " +
                                earlier->second.second + ": kept with it",
                            earlier->second.first, earlier->second.second};
        } else if (!earlier->second.second.empty()) {
          // Wrong on its own account (its own reason says why).
        } else if (refusal->reason != kNothingToDelete) {
          refusal = Refusal{"follows_refused",
                            "an earlier change to this row in the same change set "
                            "was refused"};
        }
      }
    }
    if (refusal.has_value() && refusal->reason == kNothingToDelete) {
      applied.skipped.push_back(i);
      continue;
    }
    if (refusal.has_value()) {
      if (device == nullptr) {
        // The server's own write (a resolution) must apply whole.
        return Status::InvalidArgument(RowLabel(i, row) + ": " +
                                       refusal->message)
            .WithReason("invalid_change");
      }
      // (A row of an unknown entity is refused with every change: nothing
      // to look up.)
      if (entity != nullptr) {
        refused_rows[key] = {refusal->waits_entity, refusal->waits_row_id};
      }
      if (!refusal->waits_row_id.empty()) {
        applied.waits[i] = {refusal->waits_entity, refusal->waits_row_id};
      }
      protocol::RefusedRow r;
      r.index = i;
      r.entity = row.entity;
      r.row_id = row.row_id.ToString();
      r.reason = refusal->reason;
      r.message = RowLabel(i, row) + ": " + refusal->message;
      applied.refused.push_back(std::move(r));
      continue;
    }
    auto [it, inserted] = rows.try_emplace(key);
    RowInfo& info = it->second;
    if (inserted) {
      // As CheckRow read it just now: no second read.
      info.entity = entity;
      if (held.has_value()) {
        info.exists_before = true;
        info.district_before = *held;
      }
    }
    for (const CellWrite& cell : row.cells) {
      if (cell.column != kDistrictColumn) continue;
      if (!info.writes_district) {
        info.district_written = cell.value.text();
      } else if (info.district_written != cell.value.text()) {
        info.one_district_written = false;
      }
      info.writes_district = true;
    }
    ApplyOptions options;
    // CheckRow validated every cell (ValidateCell, as the applier would):
    // not a second time.
    options.cells_validated = true;
    options.seq = *first + i;
    options.conflicts = &sink;
    options.current = &current;  // read by CheckRow: not read again
    // Nothing reads the write's answer: sent without waiting on PostgreSQL
    // (an error fails the next statement that waits, or the commit).
    options.defer_write = true;
    // A base this server never handed out to this device: past the last
    // sequence the database let it hold (served_seq: a pull raises it to
    // the database's last before a page goes, and a receipt's rows too), or
    // past every number it has (below this set's first). Its writer saw
    // values of a history the server no longer has -- the whole data folder
    // restored from a backup, the sequence record with it, so nothing
    // jumped and the numbers since the backup were handed out again for
    // other writes. Such a base says nothing of what the writer saw here:
    // taken as 0 (it saw nothing), so a value written since the restore is
    // a conflict, not silently overwritten.
    const uint64_t known = device != nullptr && device->served_seq.has_value()
                               ? std::min(*device->served_seq, *first - 1)
                               : *first - 1;
    const RowChange* to_apply = &row;
    RowChange rebased;
    if (std::any_of(row.cells.begin(), row.cells.end(),
                    [&](const CellWrite& c) { return c.base > known; })) {
      rebased = row;
      uint64_t highest = 0;
      for (CellWrite& c : rebased.cells) {
        if (c.base <= known) continue;
        highest = std::max(highest, c.base);
        c.base = 0;
      }
      to_apply = &rebased;
      if (!applied.bases_past_sequence) {
        LogLine("a change set names server sequence " + std::to_string(highest) +
                " but this server let its device hold up to " + std::to_string(known) +
                " (its whole data folder restored from a backup? docs/operations.md): "
                "those writes are taken as made without seeing any value, so each "
                "one that differs from a value held is kept as a conflict");
      }
      applied.bases_past_sequence = true;
    }
    RowApplyInfo result;
    if (Status s = storage::Rows(db).Apply(*to_apply, options, &result); !s.ok()) {
      // Its reason kept (a full disk's storage_full is said as such).
      return Status::FromCode(s.code(), RowLabel(i, row) + ": " + s.message())
          .WithReason(s.reason());
    }
    // Its district, existence or references may have changed: a later row
    // change that references it reads it again.
    ForgetParent(parents, *entity, row.row_id);
    if (!info.applied) {
      info.applied = true;
      info.indexed_seq = result.max_seq_before;
    }
    if (result.won_cells > 0) info.max_seq = *first + i;
    ++applied.rows;
    if (device != nullptr && DeletesRow(row)) {
      deletes.push_back({key, *first + i});
      // Deleted twice: neither delete alone took the row, so a cascade's
      // revival (conflicts.cc, BringBackTakenWith) brings it back only when
      // both are decided against. Noted: this delete's stamp, and the stamp
      // it is deleted with now (another writer's, or this device's own
      // earlier delete), whichever of the two it ends with.
      if (current.has_value() && !current->values.empty() &&
          current->values.back() == Value::Integer(1)) {
        const IdText id(row.row_id);
        storage::Rows notes(db);
        if (Status s = notes.NoteTombstoneOnDeleted(entity->name, id.view(), row.hlc);
            !s.ok()) {
          return s;
        }
        const auto now = current->versions.find(kDeletedColumn);
        if (now != current->versions.end() && now->second.hlc != row.hlc) {
          if (Status s = notes.NoteTombstoneOnDeleted(entity->name, id.view(),
                                                      now->second.hlc);
              !s.ok()) {
            return s;
          }
        }
      }
    }
  }

  // 3. The pull index: where each row is now and its newest write.
  for (auto& [key, info] : rows) {
    const std::string_view entity_name = key.entity->name;
    const IdText id(key.id);
    info.district_after = info.district_before;
    if (info.writes_district && info.one_district_written &&
        (!info.exists_before ||
         info.district_before == info.district_written)) {
      // Known without reading the row back: every write of the set gives the
      // same district, and either the row is new (a write to a cell that has
      // no version yet always wins) or it is already in that district.
      info.district_after = info.district_written;
    } else if (info.writes_district) {
      Result<std::optional<std::string>> now =
          CurrentDistrict(db, *info.entity, id.view());
      if (!now.ok()) return now.status();
      if (now->has_value()) info.district_after = **now;
    }
    if (info.max_seq == 0) continue;
    if (info.exists_before && !info.district_before.empty() &&
        info.district_after != info.district_before) {
      // It moved: a device of its new district may never have had it, so
      // pulls after this point send it whole (PullService).
      if (Status s = index.NoteMoved(entity_name, id.view(), info.max_seq);
          !s.ok()) {
        return s;
      }
      // And the devices of the district it left hold a copy that would
      // never hear of it again: their pulls send it whole too, in its new
      // district (PullService), so they stop editing a stale row.
      if (Status s = index.NoteLeft(info.district_before, entity_name, id.view(),
                                    info.max_seq);
          !s.ok()) {
        return s;
      }
      // Its conflicts go with it: the office of its new district sees and
      // decides them, the old district's no longer can; each at a new feed
      // position, so the new district's devices are sent the open ones.
      storage::ConflictStore conflicts(db);
      Result<std::vector<storage::ConflictRecord>> of_row =
          conflicts.OfRow(entity_name, id.view());
      if (!of_row.ok()) return of_row.status();
      if (!of_row->empty()) {
        Result<uint64_t> feed = store.TakeSeqs(of_row->size());
        if (!feed.ok()) return feed.status();
        for (size_t k = 0; k < of_row->size(); ++k) {
          if (Status s = conflicts.FollowRow((*of_row)[k].id, info.district_after, *feed + k);
              !s.ok()) {
            return s;
          }
        }
      }
    }
    // The index is keyed by sequence, so a new entry is an append; the
    // row's previous entry (keyed by its previous highest sequence) goes.
    if (info.indexed_seq != 0) {
      Result<int> dropped = index.DropEntry(info.indexed_seq, entity_name, id.view());
      if (!dropped.ok()) return dropped.status();
      if (*dropped != 1) {
        // The index no longer matches the rows: refuse the set (nothing of
        // it is kept) rather than lose a row from every device's pulls.
        return Status::Corruption(
            "the pull index has no entry " + std::to_string(info.indexed_seq) +
            " for " + std::string(entity_name) + " " + std::string(id.view()) +
            "; the server database "
            "needs repair (docs/operations.md)");
      }
    }
    if (Status s = index.AddEntry(entity_name, id.view(), info.max_seq,
                                  info.district_after);
        !s.ok()) {
      return s;
    }
  }

  // An edit of a deleted row is told once per row and writer (five offline
  // edits of one row are one crossing), not when the same set deletes the
  // row too (its writer took it for deleted in the end), and not again
  // while that crossing is still open in the inbox.
  if (Status s = DropRepeatedEditsOfDeleted(db, cs, &sink.events); !s.ok()) {
    return s;
  }
  // Dropped against what earlier sets noted, then this set's noted: a
  // device's own same-value tap earlier in the set does not hide the note
  // its later tap was seen against.
  storage::ConflictStore conflicts(db);
  if (!sink.events.empty()) {
    if (Status s = DropConflictsOnSeenValues(conflicts, &sink.events); !s.ok()) return s;
  }
  if (Status s = NoteValuesSince(conflicts, sink.same_values); !s.ok()) return s;
  // 4. Conflicts, each with a fresh feed sequence after the rows'.
  applied.conflicts = sink.events.size();
  // 5. A crossing of the device's own edit with a delete, still open, is
  // settled when the device deletes the row itself: both sides want it
  // gone, and keeping the edit would bring back a row nobody wants.
  if (device != nullptr && !deletes.empty()) {
    const std::string device_id = device->id.ToString();
    const Resolver by{"device:" + device_id,
                      "the device that edited it deleted it too", ""};
    for (const auto& [key, seq] : deletes) {
      // Only if the row is deleted now: the delete may have lost (the row
      // was recorded again since), or a later change of the set brought it
      // back.
      Result<std::optional<ReplicaRow>> now = storage::Rows(db).Read(*key.entity, key.id);
      if (!now.ok()) return now.status();
      if (!now->has_value() || (*now)->values.empty() ||
          (*now)->values.back() != Value::Integer(1)) {
        continue;
      }
      if (Status s = SettleDeleteConflicts(store, key.entity->name,
                                           key.id.ToString(), Value::Integer(1),
                                           seq, device_id, by);
          !s.ok()) {
        return s;
      }
    }
  }
  if (sink.events.empty()) return applied;
  Result<uint64_t> feed = store.TakeSeqs(sink.events.size());
  if (!feed.ok()) return feed.status();
  const std::string now = store.NowIso();
  for (size_t k = 0; k < sink.events.size(); ++k) {
    const ConflictEvent& e = sink.events[k];
    // Every conflict is of a row change the set applied: its row is there.
    const RowInfo& info = rows[RowKey{FindEntity(e.entity), e.row_id}];
    storage::ConflictRecord c;
    c.id = ConflictId(e.entity, e.row_id, e.column, e.current.hlc, e.incoming.hlc);
    c.entity = e.entity;
    c.row_id = e.row_id.ToString();
    c.column_name = e.column;
    c.district_code = info.district_after;
    c.current_value = e.current.value;
    c.current_device = e.current.hlc.device.ToString();
    c.current_hlc = e.current.hlc.ToString();
    c.current_seq = e.current_seq;
    c.incoming_value = e.incoming.value;
    c.incoming_device = e.incoming.hlc.device.ToString();
    c.incoming_hlc = e.incoming.hlc.ToString();
    c.incoming_base = e.incoming_base;
    c.incoming_seq = e.incoming_seq;
    c.winner = e.incoming_won ? "incoming" : "current";
    c.detected_at = now;
    c.feed_seq = *feed + k;
    if (Status s = conflicts.Insert(c); !s.ok()) return s;
  }
  return applied;
}

Status RecordRefusals(Db& db, std::string_view device_id, uint64_t seq,
                      const ChangeSet& cs,
                      const std::vector<protocol::RefusedRow>& refused,
                      std::string_view now_iso, const WaitsFor* waits) {
  // Made good later in the same set: kept for the record, settled by it.
  const std::vector<bool> made_good = protocol::RefusalsMadeGoodInSet(cs, refused);
  for (size_t k = 0; k < refused.size(); ++k) {
    const protocol::RefusedRow& r = refused[k];
    nlohmann::json cells = nlohmann::json::object();
    if (r.index < cs.rows.size()) {
      for (const CellWrite& cell : cs.rows[r.index].cells) {
        cells[cell.column] = cell.value.is_null()
                                 ? nlohmann::json()
                                 : nlohmann::json(cell.value.ToDisplay());
      }
    }
    storage::RefusedRowRecord record;
    record.device_id = std::string(device_id);
    record.seq = seq;
    record.row_index = r.index;
    record.entity = r.entity;
    record.row_id = r.row_id;
    record.reason = r.reason;
    record.message = r.message;
    record.cells_json =
        cells.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    record.refused_at = std::string(now_iso);
    if (waits != nullptr) {
      if (auto w = waits->find(r.index); w != waits->end()) {
        record.waits_entity = w->second.first;
        record.waits_row_id = w->second.second;
      }
    }
    if (Status s = storage::RefusedRows(db).Insert(record); !s.ok()) return s;
    if (made_good[k]) {
      if (Status s = storage::RefusedRows(db).SettleInSet(device_id, seq, r.index, now_iso);
          !s.ok()) {
        return s;
      }
    }
  }
  return Status();
}

Status SettleRefusals(Db& db, std::string_view device_id, uint64_t seq,
                      const ChangeSet& cs,
                      const std::vector<protocol::RefusedRow>& refused,
                      std::string_view now_iso) {
  storage::RefusedRows refusals(db);
  {
    Result<bool> open = refusals.AnyOpen(device_id);
    if (!open.ok()) return open.status();
    if (!*open) return Status();
  }
  using NamedRow = std::pair<std::string, std::string>;  // entity, row id text
  // A row with a refusal in this set that a later change did not make good
  // stays refused; one made good settles, this set's refusal too.
  const std::vector<bool> made_good = protocol::RefusalsMadeGoodInSet(cs, refused);
  std::set<NamedRow> still_refused;
  for (size_t k = 0; k < refused.size(); ++k) {
    if (!made_good[k]) still_refused.emplace(refused[k].entity, refused[k].row_id);
  }
  std::set<NamedRow> done;
  for (const RowChange& row : cs.rows) {
    NamedRow key(row.entity, row.row_id.ToString());
    if (still_refused.count(key) != 0 || !done.insert(key).second) continue;
    if (Status s = refusals.Settle(device_id, key.first, key.second, seq, now_iso);
        !s.ok()) {
      return s;
    }
  }
  return Status();
}

Status ApplyWaiting(ServerStore& store, const ChangeSet& cs,
                    const std::vector<protocol::RefusedRow>& refused,
                    const std::vector<uint64_t>& skipped, std::string_view now_iso) {
  Db& db = store.db();
  storage::RefusedRows refusals(db);
  {
    Result<bool> any = refusals.AnyWaiting();
    if (!any.ok()) return any.status();
    if (!*any) return Status();
  }
  // The rows the set brought: applied (neither refused nor skipped).
  std::set<uint64_t> not_applied(skipped.begin(), skipped.end());
  for (const protocol::RefusedRow& r : refused) not_applied.insert(r.index);
  std::vector<std::pair<std::string, std::string>> arrived;
  for (size_t i = 0; i < cs.rows.size(); ++i) {
    if (not_applied.count(i) == 0) {
      arrived.emplace_back(cs.rows[i].entity, cs.rows[i].row_id.ToString());
    }
  }
  DecodeLimits limits;
  limits.max_bytes = protocol::kMaxPushBytes;
  for (int round = 0; round < kMaxWaitRounds && !arrived.empty(); ++round) {
    Result<std::vector<storage::WaitingRefusal>> waiting = refusals.WaitingFor(arrived);
    if (!waiting.ok()) return waiting.status();
    arrived.clear();
    // The cell versions of each lost row as it arrived, before any change
    // waiting for it is applied: what an edit of it may have seen. (Read
    // after one of them is applied, a second device's edit would pass for
    // having seen the first's.)
    std::map<std::pair<std::string, std::string>, std::map<std::string, StoredCellVersion, std::less<>>>
        arrived_as;
    for (const storage::WaitingRefusal& w : *waiting) {
      if (w.entity != w.waits_entity || w.row_id != w.waits_row_id) continue;
      const auto key = std::make_pair(w.entity, w.row_id);
      if (arrived_as.count(key) != 0) continue;
      const Entity* entity = FindEntity(w.entity);
      Result<Uuid> id = Uuid::Parse(w.row_id);
      if (entity == nullptr || !id.ok()) continue;
      Result<std::optional<ReplicaRow>> now = storage::Rows(db).Read(*entity, *id);
      if (!now.ok()) return now.status();
      arrived_as[key] = now->has_value() ? std::move((*now)->versions)
                                         : std::map<std::string, StoredCellVersion, std::less<>>();
    }
    // By device and set (WaitingFor's order): each set read and decoded
    // once, its waiting rows applied in one call, in their order.
    for (size_t from = 0; from < waiting->size();) {
      size_t to = from;
      while (to < waiting->size() && (*waiting)[to].device_id == (*waiting)[from].device_id &&
             (*waiting)[to].seq == (*waiting)[from].seq) {
        ++to;
      }
      const std::string& device_text = (*waiting)[from].device_id;
      const uint64_t seq = (*waiting)[from].seq;
      const auto skip = [&](const std::string& why) {
        LogLine("waiting row changes of device " + device_text + " set " +
                std::to_string(seq) + " not applied: " + why);
      };
      Result<std::string> bytes = storage::ChangeLog(db).SetBytes(device_text, seq);
      if (!bytes.ok()) return bytes.status();
      Result<ChangeSet> sent = DecodeChangeSet(*bytes, limits);
      Result<Uuid> device_id = Uuid::Parse(device_text);
      Result<std::optional<DeviceRecord>> device =
          device_id.ok() ? LoadDevice(db, *device_id)
                         : Result<std::optional<DeviceRecord>>(std::nullopt);
      if (!device.ok()) return device.status();
      if (!sent.ok() || !device->has_value()) {
        skip(!sent.ok() ? "its set in the log does not decode" : "no such device");
        from = to;
        continue;
      }
      ChangeSet some;
      some.schema_version = sent->schema_version;
      some.device = sent->device;
      some.seq = sent->seq;
      std::vector<const storage::WaitingRefusal*> of;
      for (size_t k = from; k < to; ++k) {
        const storage::WaitingRefusal& w = (*waiting)[k];
        if (w.row_index >= sent->rows.size()) continue;
        RowChange row = sent->rows[w.row_index];
        if (const auto as = arrived_as.find({row.entity, row.row_id.ToString()});
            as != arrived_as.end()) {
          // It waited for its own row: the bases of the cells it edited name
          // versions of the row as the server held it before it was lost, in
          // numbers it no longer gives them. A version of the row as it
          // arrived older than the change (by hlc) is one its device saw; a
          // cell it wrote with no base (it saw none), or a newer version, is
          // a conflict as always.
          // A cell the row arrived without a version of (`deleted`, when
          // its creation did not write it): the newest it saw of the row,
          // so a delete of it is no delete of edits it did not know of.
          uint64_t seen = 0;
          for (const auto& [column, v] : as->second) {
            if (v.hlc < row.hlc) seen = std::max(seen, v.seq);
          }
          for (CellWrite& cell : row.cells) {
            if (cell.base == 0) continue;
            const auto v = as->second.find(cell.column);
            if (v == as->second.end() ||
                (cell.column == kDeletedColumn && cell.value == Value::Integer(1))) {
              // (A delete is read against the whole row, as a device stamps
              // it: its own `deleted` version may be older than edits it saw.)
              cell.base = seen;
            } else if (v->second.hlc < row.hlc) {
              cell.base = v->second.seq;
            }
          }
        }
        some.rows.push_back(std::move(row));
        of.push_back(&w);
      }
      from = to;
      if (some.rows.empty()) continue;
      // Checked as they would have been when they came, against the server
      // as it is now, and merged by their own hlcs.
      // The bases above are the server's own numbers, not ones the device
      // was handed: not checked against what it was served.
      DeviceRecord bases_here = **device;
      bases_here.served_seq.reset();
      Result<AppliedSet> again = ApplyAtServer(store, some, &bases_here, /*texts_decoded=*/true);
      if (!again.ok()) return again.status();
      std::map<uint64_t, const protocol::RefusedRow*> refused_again;
      for (const protocol::RefusedRow& r : again->refused) refused_again[r.index] = &r;
      for (size_t k = 0; k < of.size(); ++k) {
        const storage::WaitingRefusal& w = *of[k];
        const RowChange& row = some.rows[k];
        const auto r = refused_again.find(k);
        if (r == refused_again.end()) {
          // Applied row change k took server sequence first_seq + k.
          if (Status s = refusals.SettleApplied(w, now_iso, again->first_seq + k); !s.ok()) {
            return s;
          }
          if (std::find(again->skipped.begin(), again->skipped.end(), k) ==
              again->skipped.end()) {
            arrived.emplace_back(row.entity, row.row_id.ToString());
          }
          continue;
        }
        const auto waits = again->waits.find(k);
        // (The message names the row by its place in its own set.)
        std::string message = r->second->message;
        if (const std::string here = RowLabel(k, row); message.rfind(here, 0) == 0) {
          message = RowLabel(w.row_index, row) + message.substr(here.size());
        }
        if (Status s = refusals.Rerefuse(
                w, r->second->reason, message,
                waits != again->waits.end() ? waits->second.first : std::string(),
                waits != again->waits.end() ? waits->second.second : std::string());
            !s.ok()) {
          return s;
        }
      }
    }
  }
  return Status();
}

std::string SignedReceiptJson(const KeyPair& key, const protocol::Receipt& r) {
  return wire::EncodeReceiptAnswer(wire::SignReceipt(key, r));
}

Status AppendToLog(Db& db, const protocol::Receipt& r, const Sha256Digest& hash,
                   std::string_view bytes, const Signature& signature,
                   std::string_view response_json) {
  storage::LogEntry set;
  set.device_id = r.device_id;
  set.seq = r.seq;
  set.hash = std::string_view(reinterpret_cast<const char*>(hash.data()),
                              hash.size());
  set.bytes = bytes;
  set.signature = std::string_view(
      reinterpret_cast<const char*>(signature.data()), signature.size());
  set.received_at = r.received_at;
  set.first_server_seq = r.first_server_seq;
  set.receipt = response_json;
  return storage::ChangeLog(db).Append(set);
}

}  // namespace kbo::server
