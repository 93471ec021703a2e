#include "shared/replica/apply.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include "shared/bytes.h"
#include "shared/encoding.h"
#include "shared/entities.h"

namespace kbo {
namespace {

// The cell_versions column of every entity row holds this file's private
// encoding of the row's cell versions (trusted, but a damaged database must
// not crash us, so it is decoded with bounds). Cells written by the same
// change share its hlc and sequence, so they are grouped:
//   versions := group*
//   group    := wall_ms:i64le counter:u32le device:16 seq:u64le count:u8
//               (name_len:u8 name){count}
// Groups are ordered by (hlc, seq) and names within a group by name, so
// equal states give equal bytes. A new attendance row (six cells, one
// change) takes 36 + 1 + 55 bytes instead of six times 36 + its names.
using StoredVersion = StoredCellVersion;
using Versions = std::map<std::string, StoredVersion, std::less<>>;

constexpr size_t kGroupHeader = 8 + 4 + 16 + 8 + 1;

Status Damaged(const Status& why) {
  return Status::Corruption("a row's cell versions are damaged: " +
                            why.message());
}

// At most 255 names a group, each at most 255 bytes (one-byte lengths).
constexpr uint64_t kMaxNameBytes = 255;

// Decodes `bytes`, calling put(name, version) for each cell.
template <typename Put>
Status DecodeVersionsTo(std::string_view bytes, Put&& put) {
  ByteReader in(bytes);
  while (!in.empty()) {
    StoredVersion v;
    uint8_t count = 0;
    if (!in.I64(&v.hlc.wall_ms, "hlc wall_ms") ||
        !in.U32(&v.hlc.counter, "hlc counter") ||
        !in.Raw(v.hlc.device.bytes.data(), v.hlc.device.bytes.size(),
                "hlc device") ||
        !in.U64(&v.seq, "sequence") || !in.U8(&count, "name count") ||
        (count == 0 && !in.Fail("a group of no names"))) {
      return Damaged(in.status());
    }
    for (size_t i = 0; i < count; ++i) {
      std::string_view name;
      if (!in.Bytes8(&name, kMaxNameBytes, "column name") ||
          (name.empty() && !in.Fail("an empty column name"))) {
        return Damaged(in.status());
      }
      put(name, v);
    }
  }
  return Status();
}

Status DecodeVersions(std::string_view bytes, Versions* out) {
  return DecodeVersionsTo(bytes, [out](std::string_view name, const StoredVersion& v) {
    (*out)[std::string(name)] = v;
  });
}

// The versions of the row being merged, sorted by column name like the
// encoding (and like Versions, which it replaces on the hot path: no node
// or string per cell). Names point into the catalogue or into the bytes the
// versions were decoded from, which outlive the list.
class VersionList {
 public:
  struct Entry {
    std::string_view name;
    StoredVersion v;
  };

  // The entry for `name`, created (zero) if absent; a second put of a name
  // replaces the first, as with the map.
  StoredVersion& operator[](std::string_view name) {
    // Cells arrive in name order (a RowValues map) and so do decoded
    // versions of one group: most names go at the end.
    if (entries_.empty() || entries_.back().name < name) {
      entries_.push_back(Entry{name, StoredVersion{}});
      return entries_.back().v;
    }
    auto it = LowerBound(name);
    if (it == entries_.end() || it->name != name) {
      it = entries_.insert(it, Entry{name, StoredVersion{}});
    }
    return it->v;
  }
  StoredVersion* Find(std::string_view name) {
    auto it = LowerBound(name);
    return it == entries_.end() || it->name != name ? nullptr : &it->v;
  }
  const std::vector<Entry>& entries() const { return entries_; }
  void Reserve(size_t n) { entries_.reserve(n); }

 private:
  std::vector<Entry>::iterator LowerBound(std::string_view name) {
    return std::lower_bound(
        entries_.begin(), entries_.end(), name,
        [](const Entry& e, std::string_view n) { return e.name < n; });
  }
  std::vector<Entry> entries_;
};

bool GroupBefore(const StoredVersion& a, const StoredVersion& b) {
  if (a.hlc != b.hlc) return a.hlc < b.hlc;
  return a.seq < b.seq;
}

// The common case: every cell from one write (a new row), one group.
bool OneGroup(const std::vector<VersionList::Entry>& entries) {
  if (entries.empty() || entries.size() > 255) return false;
  for (const VersionList::Entry& e : entries) {
    if (e.v.hlc != entries.front().v.hlc || e.v.seq != entries.front().v.seq) {
      return false;
    }
  }
  return true;
}

void PutGroupHeader(SpanByteWriter& w, const StoredVersion& v, size_t count) {
  w.I64(v.hlc.wall_ms);
  w.U32(v.hlc.counter);
  w.Raw(v.hlc.device.bytes.data(), v.hlc.device.bytes.size());
  w.U64(v.seq);
  w.U8(static_cast<uint8_t>(count));
}

// A row's encoded versions, in room on the stack when they fit (a new
// attendance row's take 92 bytes), else on the heap: no allocation per row
// on the applier's path.
class VersionBytes {
 public:
  VersionBytes() = default;
  VersionBytes(const VersionBytes&) = delete;  // data_ may point into small_
  VersionBytes& operator=(const VersionBytes&) = delete;

  // Room for at most n bytes, valid until the next call.
  char* Room(size_t n) {
    if (n <= small_.size()) {
      data_ = small_.data();
    } else {
      large_.resize(n);
      data_ = large_.data();
    }
    return data_;
  }
  // The bytes written end at `end` (within the room).
  void SetEnd(const char* end) { size_ = static_cast<size_t>(end - data_); }
  std::string_view view() const { return std::string_view(data_, size_); }

 private:
  std::array<char, 512> small_;
  std::string large_;
  char* data_ = small_.data();
  size_t size_ = 0;
};

void EncodeVersionsTo(const VersionList& versions, VersionBytes* out) {
  const std::vector<VersionList::Entry>& entries = versions.entries();
  if (OneGroup(entries)) {
    size_t size = kGroupHeader;
    for (const VersionList::Entry& e : entries) size += 1 + e.name.size();
    SpanByteWriter w(out->Room(size));
    PutGroupHeader(w, entries.front().v, entries.size());
    for (const VersionList::Entry& e : entries) w.Bytes8(e.name);
    out->SetEnd(w.end());
    return;
  }
  // Entries are sorted by name; a stable sort by version keeps names sorted
  // within each group.
  std::vector<const VersionList::Entry*> order;
  order.reserve(entries.size());
  size_t size = 0;
  for (const VersionList::Entry& e : entries) {
    order.push_back(&e);
    size += kGroupHeader + 1 + e.name.size();  // at most
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const VersionList::Entry* a, const VersionList::Entry* b) {
                     return GroupBefore(a->v, b->v);
                   });
  SpanByteWriter w(out->Room(size));
  for (size_t i = 0; i < order.size();) {
    const StoredVersion& v = order[i]->v;
    size_t end = i + 1;
    while (end < order.size() && end - i < 255 && !GroupBefore(v, order[end]->v)) ++end;
    PutGroupHeader(w, v, end - i);
    for (; i < end; ++i) w.Bytes8(order[i]->name);
  }
  out->SetEnd(w.end());
}

std::string EncodeVersions(const VersionList& versions) {
  VersionBytes bytes;
  EncodeVersionsTo(versions, &bytes);
  return std::string(bytes.view());
}

// Values are stored in the column's SQLite type, so compare and store them in
// that type too: a real column holds 18 as 18.0, a blob reference as text.
// Returns whether `v` needs converting, and if so the converted value.
bool Normalize(const Column* column, const Value& v, Value* out) {
  if (column != nullptr && column->type == ColumnType::kReal &&
      v.type() == Value::Type::kInteger) {
    *out = Value::Real(static_cast<double>(v.integer()));
    return true;
  }
  if (v.type() == Value::Type::kBlob) {
    *out = Value::Text(v.text());
    return true;
  }
  return false;
}

std::string SelectList(const Entity& entity) {
  std::string cols = "id";
  for (const Column& c : entity.columns) {
    cols += ", ";
    cols += c.name;
  }
  cols += ", deleted";
  return cols;
}

struct PlannedCell {
  const Column* column;  // nullptr for "deleted"
  std::string_view name; // the catalogue's name (static)
  const Value* value;    // normalized: the write's own value or a converted copy
  uint64_t base;
  size_t index;          // column's place in the entity (deleted: last)
};

// Keys of statements cached by Db::CachedBy (their addresses are the keys;
// the variant is the entity's index in the catalogue).
const char kSelectVersionsKey = 0;
const char kSelectRowKey = 0;
const char kUpdateVersionsKey = 0;

uint64_t EntityIndex(const Entity* entity) {
  return static_cast<uint64_t>(entity - Catalogue().data());
}

// Columns of an entity, and so cells of a row change, including "deleted":
// the statement cache keys a write by a 64-bit mask of its columns, bit 63
// for an update. A column written twice is refused, so the cells of a row
// change that passes validation fit in arrays of this size (no allocation
// per row).
constexpr size_t kMaxRowCells = 62;

// `bases_out`, if given, receives the base of row.cells[i] at [i] (room for
// kMaxRowCells).
Status ApplyImpl(Db& db, const RowChange& row, const ApplyOptions& options,
                 RowApplyInfo* info, uint64_t* bases_out);

}  // namespace

Status ApplyRowChange(Db& db, const RowChange& row, const ApplyOptions& options,
                      size_t* applied_cells) {
  RowApplyInfo info;
  Status s = ApplyImpl(db, row, options, &info, nullptr);
  if (s.ok() && applied_cells) *applied_cells += info.won_cells;
  return s;
}

Status ApplyRowChange(Db& db, const RowChange& row, const ApplyOptions& options,
                      RowApplyInfo* info) {
  RowApplyInfo local;
  return ApplyImpl(db, row, options, info ? info : &local, nullptr);
}

Status ApplyLocalRowChange(Db& db, RowChange* row, const ApplyOptions& options) {
  ApplyOptions local;
  local.cells_validated = options.cells_validated;
  local.row_absent = options.row_absent;
  std::array<uint64_t, kMaxRowCells> bases;
  RowApplyInfo info;
  if (Status s = ApplyImpl(db, *row, local, &info, bases.data()); !s.ok()) {
    return s;
  }
  // Applied, so every cell passed validation: at most kMaxRowCells of them.
  for (size_t i = 0; i < row->cells.size(); ++i) row->cells[i].base = bases[i];
  // A tombstone's base is how much of the row its writer had seen: the
  // newest version of any of its cells held here (a row is pulled whole as
  // of its newest write, so every cell written up to that is held). The
  // server tells by it a delete that did not know of another's later edit
  // (ApplyImpl: a conflict on `deleted`). Still a version seen of `deleted`
  // itself, so the per-cell rule reads it as before.
  for (CellWrite& cell : row->cells) {
    if (cell.column == kDeletedColumn && cell.value == Value::Integer(1)) {
      cell.base = std::max(cell.base, info.max_seq_before);
    }
  }
  return Status();
}

namespace {

// What ApplyImpl would read of the row, from a ReplicaRow the caller read
// (ApplyOptions::current). The versions' names point into `current`.
Status TakeCurrent(const Entity& entity, const std::optional<ReplicaRow>& current,
                   bool needs_values, bool* exists,
                   std::map<std::string, Value, std::less<>>* values,
                   VersionList* versions) {
  *exists = current.has_value();
  if (!*exists) return Status();
  const size_t ncolumns = entity.columns.size();
  if (current->values.size() != ncolumns + 1) {
    return Status::Internal("the row handed to the applier is not a " +
                            std::string(entity.name));
  }
  if (needs_values) {
    for (size_t c = 0; c < ncolumns; ++c) {
      (*values)[std::string(entity.columns[c].name)] = current->values[c];
    }
    (*values)[std::string(kDeletedColumn)] = current->values.back();
  }
  for (const auto& [name, v] : current->versions) (*versions)[name] = v;
  return Status();
}

Status ApplyImpl(Db& db, const RowChange& row, const ApplyOptions& options,
                 RowApplyInfo* info, uint64_t* bases_out) {
  *info = RowApplyInfo{};
  const Entity* entity = FindEntity(row.entity);
  if (entity == nullptr) {
    return Status::InvalidArgument("unknown entity '" + row.entity + "'");
  }
  if (row.row_id.IsNil()) return Status::InvalidArgument("nil row id");
  const size_t ncolumns = entity->columns.size();
  if (ncolumns + 1 > kMaxRowCells) return Status::Internal("entity has too many columns");

  // Validate everything before touching the database.
  std::array<PlannedCell, kMaxRowCells> cells;  // the first ncells are set
  size_t ncells = 0;
  std::vector<Value> converted;  // reserved when first needed: addresses stay put
  bool needs_current_values = options.conflicts != nullptr;
  for (const CellWrite& cell : row.cells) {
    for (size_t i = 0; i < ncells; ++i) {
      if (cells[i].name == cell.column) {
        return Status::InvalidArgument("column '" + cell.column +
                                       "' written twice in one row change");
      }
    }
    const Column* column = entity->FindColumn(cell.column);
    if (!options.cells_validated) {
      if (Status s = column == nullptr ? ValidateCell(*entity, cell.column, cell.value)
                     : options.texts_decoded
                         ? ValidateDecodedCell(*entity, *column, cell.value)
                         : ValidateCell(*entity, *column, cell.value);
          !s.ok()) {
        return s;
      }
    } else if (column == nullptr && cell.column != kDeletedColumn) {
      return Status::InvalidArgument(std::string(entity->name) + " has no column '" +
                                     cell.column + "'");
    }
    if (column && column->policy == MergePolicy::kForward) {
      needs_current_values = true;
    }
    const Value* value = &cell.value;
    Value normalized;
    if (Normalize(column, cell.value, &normalized)) {
      if (converted.empty()) converted.reserve(row.cells.size());
      converted.push_back(std::move(normalized));
      value = &converted.back();
    }
    // A known column or "deleted", and none twice: ncells <= ncolumns + 1.
    cells[ncells++] = {column, column ? column->name : kDeletedColumn, value, cell.base,
                       column ? static_cast<size_t>(column - entity->columns.data())
                              : ncolumns};
  }
  char row_id_text[36];
  row.row_id.FormatTo(row_id_text);
  const std::string_view row_id(row_id_text, sizeof row_id_text);

  // Current versions (and, when needed, current values) of the row: one
  // point lookup, which also says whether the row exists.
  VersionList versions;
  versions.Reserve(ncolumns + 1);
  std::string version_bytes;  // the names in `versions` point into it
  bool exists = false;
  std::map<std::string, Value, std::less<>> current_values;
  if (!options.row_absent && options.current != nullptr) {
    // Read by the caller just now: the same row, values and versions.
    if (Status s = TakeCurrent(*entity, *options.current, needs_current_values,
                               &exists, &current_values, &versions);
        !s.ok()) {
      return s;
    }
    for (const VersionList::Entry& e : versions.entries()) {
      info->max_seq_before = std::max(info->max_seq_before, e.v.seq);
    }
  } else if (!options.row_absent) {
    Statement& st =
        needs_current_values
            ? db.CachedBy(&kSelectRowKey, EntityIndex(entity),
                          [entity] {
                            return "SELECT " + SelectList(*entity) + ", " +
                                   std::string(kVersionsColumn) + " FROM " +
                                   std::string(entity->name) + " WHERE id = ?1";
                          })
            : db.CachedBy(&kSelectVersionsKey, EntityIndex(entity), [entity] {
                return "SELECT " + std::string(kVersionsColumn) + " FROM " +
                       std::string(entity->name) + " WHERE id = ?1";
              });
    st.BindNoCopy(1, row_id);
    if (st.Step()) {
      exists = true;
      int i = 0;
      if (needs_current_values) {
        i = 1;
        for (const Column& c : entity->columns) {
          current_values[std::string(c.name)] = st.ColumnValue(i++);
        }
        current_values[std::string(kDeletedColumn)] = st.ColumnValue(i++);
      }
      if (!st.IsNull(i)) version_bytes = st.ColumnBlob(i);
      if (Status s = DecodeVersionsTo(
              version_bytes,
              [&versions](std::string_view name, const StoredVersion& v) {
                versions[name] = v;
              });
          !s.ok()) {
        (void)st.Reset();  // not left mid-row, nor bound to `row_id`
        return s;
      }
    }
    if (!st.status().ok()) return st.status();
    (void)st.Reset();  // done with it, and with `row_id` bound
    for (const VersionList::Entry& e : versions.entries()) {
      info->max_seq_before = std::max(info->max_seq_before, e.v.seq);
    }
  }
  info->existed = exists;

  // An edit of a row deleted since its writer last heard of it is a
  // conflict on `deleted`: the writer took the row for live (an officer
  // offline changes a phone number while the office deletes the group).
  // "Since": every cell's base is older than the delete, as it always is,
  // for a device cannot edit a row it holds deleted. The row change writes
  // no `deleted` of its own and changes a value. The row stays deleted (the
  // rule is per cell, and the edit's values are kept in the tombstone); the
  // conflict puts the decision before a person.
  if (options.conflicts != nullptr && exists) {
    const StoredVersion* dv = versions.Find(kDeletedColumn);
    const auto deleted_now = current_values.find(kDeletedColumn);
    if (dv != nullptr && dv->seq > 0 && deleted_now != current_values.end() &&
        deleted_now->second == Value::Integer(1) &&
        dv->hlc.device != row.hlc.device) {
      bool writes_deleted = false, changes = false;
      uint64_t max_base = 0;
      for (size_t c = 0; c < ncells; ++c) {
        const PlannedCell& cell = cells[c];
        writes_deleted |= cell.name == kDeletedColumn;
        max_base = std::max(max_base, cell.base);
        const auto now = current_values.find(cell.name);
        changes |= now == current_values.end() || !(now->second == *cell.value);
      }
      if (!writes_deleted && changes && max_base < dv->seq) {
        ConflictEvent event;
        event.entity = std::string(entity->name);
        event.row_id = row.row_id;
        event.column = std::string(kDeletedColumn);
        event.current = CellVersion{dv->hlc, Value::Integer(1)};
        event.current_seq = dv->seq;
        event.incoming = CellVersion{row.hlc, Value::Integer(0)};
        event.incoming_base = max_base;
        event.incoming_seq = options.seq;
        event.incoming_won = false;
        event.edit_of_deleted = true;
        if (Status s = options.conflicts->OnConflict(event); !s.ok()) return s;
      }
    }
  }

  // The mirror case: a delete of a row edited since its writer last heard
  // of it (a trainer corrects a mark and syncs; a colleague, offline, then
  // deletes the participant with their marks). A tombstone's base says how
  // much of the row its writer had seen: the newest version of any of its
  // cells it held (ApplyLocalRowChange raises it so). A cell another writer
  // wrote after that is an edit the delete did not know of. The row is
  // deleted as before (LWW on `deleted`, so replicas converge as ever); the
  // conflict puts the decision before a person, and keeping the edit brings
  // the row back. Not when `deleted` itself crossed (the per-cell rule below
  // reports that one).
  if (options.conflicts != nullptr && exists) {
    const PlannedCell* tombstone = nullptr;
    for (size_t c = 0; c < ncells; ++c) {
      if (cells[c].column == nullptr && *cells[c].value == Value::Integer(1)) {
        tombstone = &cells[c];
      }
    }
    const StoredVersion* dv = versions.Find(kDeletedColumn);
    const auto deleted_now = current_values.find(kDeletedColumn);
    const bool live = deleted_now == current_values.end() ||
                      !(deleted_now->second == Value::Integer(1));
    // (The per-cell rule reports a crossing of `deleted` itself only when
    // another writer wrote it; its own earlier write, whose sequence the
    // device may not have pulled back yet, leaves this check to run.)
    if (tombstone != nullptr && live &&
        (dv == nullptr || tombstone->base >= dv->seq || dv->hlc.device == row.hlc.device)) {
      const StoredVersion* edit = nullptr;
      for (const VersionList::Entry& e : versions.entries()) {
        if (e.name == kDeletedColumn || e.v.seq <= tombstone->base ||
            e.v.hlc.device == row.hlc.device) {
          continue;
        }
        if (edit == nullptr || e.v.seq > edit->seq) edit = &e.v;
      }
      if (edit != nullptr) {
        ConflictEvent event;
        event.entity = std::string(entity->name);
        event.row_id = row.row_id;
        event.column = std::string(kDeletedColumn);
        event.current = CellVersion{edit->hlc, Value::Integer(0)};
        event.current_seq = edit->seq;
        event.incoming = CellVersion{row.hlc, Value::Integer(1)};
        event.incoming_base = tombstone->base;
        event.incoming_seq = options.seq;
        event.incoming_won = dv == nullptr || dv->hlc < row.hlc;
        event.delete_of_edited = true;
        if (Status s = options.conflicts->OnConflict(event); !s.ok()) return s;
      }
    }
  }

  // Decide each cell with the pure rule.
  static const Value kNull;
  static const Value kAlive = Value::Integer(0);
  std::array<const PlannedCell*, kMaxRowCells> winners;  // the first nwinners
  size_t nwinners = 0;
  bool versions_changed = false;
  for (size_t c = 0; c < ncells; ++c) {
    const PlannedCell& cell = cells[c];
    Hlc current_hlc;
    uint64_t current_seq = 0;
    // A row that does not exist has no versions but this loop's own, of
    // other columns.
    if (const StoredVersion* v = exists ? versions.Find(cell.name) : nullptr) {
      current_hlc = v->hlc;
      current_seq = v->seq;
    }
    const Value* current_value = &kNull;
    if (auto it = current_values.find(cell.name); it != current_values.end()) {
      current_value = &it->second;
    } else if (!exists && cell.name == kDeletedColumn) {
      current_value = &kAlive;
    }
    if (bases_out) bases_out[c] = current_seq;
    bool wins;
    if (cell.column && cell.column->policy != MergePolicy::kLastWriterWins) {
      wins = Wins(*cell.column, CellVersion{row.hlc, *cell.value},
                  CellVersion{current_hlc, *current_value});
    } else {
      // Last writer wins looks at the hlcs only: no need to copy values.
      wins = WinsLww(CellVersion{row.hlc, Value()}, CellVersion{current_hlc, Value()});
    }
    if (options.conflicts && current_seq > 0 &&
        (cell.base < current_seq || options.conflicts->FollowsSeenWrites())) {
      const bool unseen = cell.base < current_seq;
      const bool conflict =
          unseen && IsConflict({row.hlc.device, *cell.value, cell.base},
                               {current_hlc.device, *current_value, current_seq});
      ConflictEvent event;
      event.entity = std::string(entity->name);
      event.row_id = row.row_id;
      event.column = std::string(cell.name);
      event.current = CellVersion{current_hlc, *current_value};
      event.current_seq = current_seq;
      event.incoming = CellVersion{row.hlc, *cell.value};
      event.incoming_base = cell.base;
      event.incoming_seq = options.seq;
      event.incoming_won = wins;
      if (Status s = conflict ? options.conflicts->OnConflict(event)
                     : unseen ? options.conflicts->OnUnseenWrite(event)
                              : options.conflicts->OnSeenWrite(event);
          !s.ok()) {
        return s;
      }
    }
    if (!wins) {
      if (options.seq_from_base && current_hlc == row.hlc) {
        StoredVersion* v = versions.Find(cell.name);
        if (v != nullptr && v->seq != cell.base) {
          v->seq = cell.base;
          versions_changed = true;
        }
      }
      continue;
    }
    winners[nwinners++] = &cell;
    StoredVersion& v = versions[cell.name];
    v.hlc = row.hlc;
    if (options.seq_from_base) {
      v.seq = cell.base;
    } else if (options.seq != 0) {
      v.seq = options.seq;
    }
  }
  info->won_cells = nwinners;
  if (nwinners == 0 && exists && !versions_changed) return Status();

  // Write the winners and the row's versions: one INSERT or UPDATE of the
  // entity row. The statement names the winning columns in catalogue order,
  // so it depends only on the set of columns and is cached under that set
  // (a roll-call reuses one).
  const auto winners_end = winners.begin() + static_cast<std::ptrdiff_t>(nwinners);
  std::sort(winners.begin(), winners_end,
            [](const PlannedCell* a, const PlannedCell* b) { return a->index < b->index; });
  uint64_t mask = 0;
  for (auto c = winners.begin(); c != winners_end; ++c) mask |= uint64_t{1} << (*c)->index;
  VersionBytes version_out;
  EncodeVersionsTo(versions, &version_out);
  const std::string_view encoded = version_out.view();
  if (nwinners == 0 && exists) {
    // Only sequences changed (client pull: the device's own write came back).
    Statement& st = db.CachedBy(&kUpdateVersionsKey, EntityIndex(entity), [entity] {
      return "UPDATE " + std::string(entity->name) + " SET " +
             std::string(kVersionsColumn) + " = ?2 WHERE id = ?1";
    });
    st.BindNoCopy(1, row_id).BindBlobNoCopy(2, encoded);
    return options.defer_write ? st.RunDeferred() : st.Run();
  }
  // Keyed by the entity itself and the set of columns (bit 63: an update).
  const uint64_t variant = mask | (exists ? uint64_t{1} << 63 : 0);
  Statement& st = db.CachedBy(entity, variant, [&] {
    const std::string table(entity->name);
    std::string sql;
    int n = 2;
    if (!exists) {
      // A plain insert: it refuses rather than overwrites (row_absent).
      sql = "INSERT INTO " + table + " (id";
      std::string params = "?1";
      for (auto c = winners.begin(); c != winners_end; ++c) {
        sql += ", " + std::string((*c)->name);
        params += ", ?" + std::to_string(n++);
      }
      sql += ", " + std::string(kVersionsColumn) + ") VALUES (" + params + ", ?" +
             std::to_string(n) + ")";
    } else {
      sql = "UPDATE " + table + " SET ";
      for (auto c = winners.begin(); c != winners_end; ++c) {
        sql += std::string((*c)->name) + " = ?" + std::to_string(n++) + ", ";
      }
      sql += std::string(kVersionsColumn) + " = ?" + std::to_string(n) + " WHERE id = ?1";
    }
    return sql;
  });
  st.BindNoCopy(1, row_id);
  int n = 2;
  for (auto c = winners.begin(); c != winners_end; ++c) st.BindNoCopy(n++, *(*c)->value);
  st.BindBlobNoCopy(n, encoded);
  if (options.defer_write && !options.row_absent) return st.RunDeferred();
  if (Status s = st.Run(); !s.ok()) {
    // The only write of this apply: a refused insert leaves nothing.
    if (options.row_absent && st.duplicate_key()) {
      return Status::AlreadyExists(std::string(entity->name) + " " +
                                   std::string(row_id) + " exists");
    }
    return s;
  }
  return Status();
}

}  // namespace

std::string ReplicaRowColumns(const Entity& entity) {
  return SelectList(entity) + ", " + std::string(kVersionsColumn);
}

Result<ReplicaRow> ReplicaRowAt(Statement& st, const Entity& entity) {
  ReplicaRow row;
  const int nvalues = static_cast<int>(entity.columns.size()) + 1;
  row.values.reserve(static_cast<size_t>(nvalues));
  for (int i = 1; i <= nvalues; ++i) row.values.push_back(st.ColumnValue(i));
  if (!st.IsNull(nvalues + 1)) {
    if (Status s = DecodeVersions(st.ColumnBlob(nvalues + 1), &row.versions); !s.ok()) {
      return s;
    }
  }
  return row;
}

Result<std::optional<ReplicaRow>> ReadReplicaRow(Db& db, const Entity& entity,
                                                 const Uuid& row_id) {
  Statement& st = db.CachedBy(&kSelectRowKey, EntityIndex(&entity), [&entity] {
    return "SELECT " + ReplicaRowColumns(entity) + " FROM " + std::string(entity.name) +
           " WHERE id = ?1";
  });
  char id_text[36];
  row_id.FormatTo(id_text);
  st.BindNoCopy(1, std::string_view(id_text, sizeof id_text));
  std::optional<ReplicaRow> row;
  if (st.Step()) {
    Result<ReplicaRow> read = ReplicaRowAt(st, entity);
    if (!read.ok()) {
      (void)st.Reset();
      return read.status();
    }
    row = std::move(*read);
  }
  if (!st.status().ok()) return st.status();
  (void)st.Reset();
  return row;
}

Result<std::map<std::string, StoredCellVersion, std::less<>>> ReadCellVersions(
    Db& db, std::string_view entity, const Uuid& row_id) {
  const Entity* e = FindEntity(entity);
  if (e == nullptr) {
    return Status::InvalidArgument("unknown entity '" + std::string(entity) + "'");
  }
  Result<std::optional<ReplicaRow>> row = ReadReplicaRow(db, *e, row_id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return Versions();
  return std::move((*row)->versions);
}

Status RestoreRow(Db& db, std::string_view entity, const Uuid& row_id,
                  const std::vector<RowChange>& held, const Hlc& since,
                  size_t* restored, bool keep_unheld) {
  const Entity* e = FindEntity(entity);
  if (e == nullptr) {
    return Status::InvalidArgument("unknown entity '" + std::string(entity) + "'");
  }
  Result<std::optional<ReplicaRow>> local = ReadReplicaRow(db, *e, row_id);
  if (!local.ok()) return local.status();
  if (!local->has_value()) return Status();  // nothing here to put back
  ReplicaRow row = std::move(**local);
  // The held cells by column (the catalogue's static names).
  struct HeldCell {
    Value value;
    StoredVersion v;
  };
  std::map<std::string_view, HeldCell> by_column;
  const size_t ncols = e->columns.size();
  auto index_of = [e, ncols](std::string_view name, std::string_view* stable) {
    for (size_t i = 0; i < ncols; ++i) {
      if (e->columns[i].name == name) {
        *stable = e->columns[i].name;
        return i;
      }
    }
    *stable = kDeletedColumn;
    return name == kDeletedColumn ? ncols : ncols + 1;
  };
  for (const RowChange& rc : held) {
    if (rc.entity != e->name || rc.row_id != row_id) {
      return Status::InvalidArgument("a held cell of another row");
    }
    for (const CellWrite& c : rc.cells) {
      std::string_view name;
      const size_t i = index_of(c.column, &name);
      if (i > ncols) {
        return Status::InvalidArgument("unknown column '" + c.column + "' of " +
                                       std::string(e->name));
      }
      Value v = c.value;
      if (Status s = ValidateCell(*e, c.column, v); !s.ok()) return s;
      if (i < ncols) {
        Value converted;
        if (Normalize(&e->columns[i], v, &converted)) v = converted;
      }
      by_column[name] = HeldCell{std::move(v), StoredVersion{rc.hlc, c.base}};
    }
  }
  VersionList versions;
  size_t n = 0;
  for (size_t i = 0; i <= ncols; ++i) {
    const std::string_view name = i < ncols ? e->columns[i].name : kDeletedColumn;
    auto mine = row.versions.find(name);
    auto theirs = by_column.find(name);
    // A later local write than both the refused one and the held cell is
    // not undone: it goes to the server on its own and is judged there.
    if (mine != row.versions.end() && mine->second.hlc > since &&
        (theirs == by_column.end() || mine->second.hlc > theirs->second.v.hlc)) {
      versions[name] = mine->second;
      continue;
    }
    if (theirs != by_column.end()) {
      if (mine == row.versions.end() || !(row.values[i] == theirs->second.value) ||
          mine->second.hlc != theirs->second.v.hlc ||
          mine->second.seq != theirs->second.v.seq) {
        ++n;
      }
      row.values[i] = theirs->second.value;
      versions[name] = theirs->second.v;
    } else if (keep_unheld) {
      if (mine != row.versions.end()) versions[name] = mine->second;
    } else {
      // The server holds no such cell: it was never written there.
      if (mine != row.versions.end() || !row.values[i].is_null()) ++n;
      row.values[i] = i < ncols ? Value() : Value::Integer(0);
    }
  }
  if (n == 0) return Status();
  std::string sql = "UPDATE " + std::string(e->name) + " SET ";
  for (size_t i = 0; i < ncols; ++i) {
    sql += std::string(e->columns[i].name) + " = ?" + std::to_string(i + 2) + ", ";
  }
  sql += "deleted = ?" + std::to_string(ncols + 2) + ", " + std::string(kVersionsColumn) +
         " = ?" + std::to_string(ncols + 3) + " WHERE id = ?1";
  Statement up(db, sql);
  up.Bind(1, std::string_view(row_id.ToString()));
  for (size_t i = 0; i <= ncols; ++i) up.Bind(static_cast<int>(i + 2), row.values[i]);
  const std::string encoded = EncodeVersions(versions);
  if (encoded.empty()) {
    up.Bind(static_cast<int>(ncols + 3), Value());
  } else {
    up.BindBlob(static_cast<int>(ncols + 3), encoded);
  }
  if (Status s = up.Run(); !s.ok()) return s;
  if (restored != nullptr) *restored += n;
  return Status();
}

Status ApplyChangeSet(Db& db, const ChangeSet& cs, const ApplyOptions& options,
                      std::vector<RowApplyInfo>* infos) {
  ApplyOptions row_options = options;
  row_options.insert_first = false;
  // insert_first: the same options with row_absent, for a row change guessed
  // new (ApplyOptions::insert_first says when).
  const bool try_insert = options.insert_first && !options.row_absent &&
                          options.current == nullptr && options.conflicts == nullptr &&
                          db.dialect() == SqlDialect::kSqlite;
  ApplyOptions insert_options = row_options;
  insert_options.row_absent = true;
  bool guess_new = try_insert;
  for (size_t i = 0; i < cs.rows.size(); ++i) {
    if (options.seq != 0) row_options.seq = insert_options.seq = options.seq + i;
    RowApplyInfo info;
    Status s;
    if (guess_new) {
      s = ApplyImpl(db, cs.rows[i], insert_options, &info, nullptr);
      if (s.code() == Code::kAlreadyExists) {
        // Refused with nothing written: the row is there. Merge as usual.
        guess_new = false;
        info = RowApplyInfo{};
        s = ApplyImpl(db, cs.rows[i], row_options, &info, nullptr);
      }
    } else {
      s = ApplyImpl(db, cs.rows[i], row_options, &info, nullptr);
      guess_new = try_insert && s.ok() && !info.existed;
    }
    if (!s.ok()) {
      return Status::FromCode(
          s.code(), "row " + std::to_string(i + 1) + " (" + cs.rows[i].entity +
                        " " + cs.rows[i].row_id.ToString() + "): " + s.message());
    }
    if (infos != nullptr) infos->push_back(info);
  }
  return Status();
}

Status RemapCellHlcs(Db& db, std::string_view entity, const Uuid& row_id,
                     const std::map<Hlc, Hlc>& remap, size_t* changed) {
  const Entity* e = FindEntity(entity);
  if (e == nullptr) {
    return Status::InvalidArgument("unknown entity '" + std::string(entity) + "'");
  }
  const std::string id = row_id.ToString();
  std::string bytes;
  {
    Statement st(db, "SELECT " + std::string(kVersionsColumn) + " FROM " +
                         std::string(e->name) + " WHERE id = ?1");
    st.Bind(1, std::string_view(id));
    if (!st.Step()) return st.status();  // no such row: nothing to do
    if (st.IsNull(0)) return Status();
    bytes = st.ColumnBlob(0);
  }
  VersionList versions;
  size_t n = 0;
  if (Status s = DecodeVersionsTo(bytes, [&](std::string_view name, const StoredVersion& v) {
        StoredVersion out = v;
        auto it = remap.find(v.hlc);
        if (it != remap.end()) {
          out.hlc = it->second;
          ++n;
        }
        versions[name] = out;
      });
      !s.ok()) {
    return s;
  }
  if (n == 0) return Status();
  Statement up(db, "UPDATE " + std::string(e->name) + " SET " +
                       std::string(kVersionsColumn) + " = ?2 WHERE id = ?1");
  const std::string encoded = EncodeVersions(versions);
  up.Bind(1, std::string_view(id)).BindBlob(2, encoded);
  if (Status s = up.Run(); !s.ok()) return s;
  if (changed != nullptr) *changed += n;
  return Status();
}

Result<Hlc> NewestCellHlc(Db& db, const std::function<bool(const Hlc&)>& skip) {
  Hlc newest;
  for (const Entity& entity : Catalogue()) {
    Statement st(db, "SELECT " + std::string(kVersionsColumn) + " FROM " +
                         std::string(entity.name) + " WHERE " +
                         std::string(kVersionsColumn) + " IS NOT NULL");
    while (st.Step()) {
      if (Status s = DecodeVersionsTo(st.ColumnBlob(0),
                                      [&](std::string_view, const StoredVersion& v) {
                                        if (v.hlc > newest && !skip(v.hlc)) newest = v.hlc;
                                      });
          !s.ok()) {
        return s;
      }
    }
    if (!st.status().ok()) return st.status();
  }
  return newest;
}

Result<std::string> DumpReplicaState(Db& db) {
  std::ostringstream out;
  for (const Entity& entity : Catalogue()) {
    out << "# " << entity.name << "\n";
    Statement st(db, "SELECT " + SelectList(entity) + " FROM " +
                         std::string(entity.name) + " ORDER BY id");
    if (!st.status().ok()) return st.status();
    const int ncols = static_cast<int>(entity.columns.size()) + 2;
    while (st.Step()) {
      for (int i = 0; i < ncols; ++i) {
        const Value v = st.ColumnValue(i);
        out << (i ? "|" : "") << TypeName(v.type()) << ":" << v.ToDisplay();
      }
      out << "\n";
    }
    if (!st.status().ok()) return st.status();
  }
  out << "# cell versions\n";
  for (const Entity& entity : Catalogue()) {
    Statement st(db, "SELECT id, " + std::string(kVersionsColumn) + " FROM " +
                         std::string(entity.name) + " ORDER BY id");
    while (st.Step()) {
      Versions versions;
      if (!st.IsNull(1)) {
        if (Status s = DecodeVersions(st.ColumnBlob(1), &versions); !s.ok()) return s;
      }
      out << entity.name << " " << st.ColumnText(0);
      for (const auto& [name, v] : versions) {
        out << " " << name << "@" << v.hlc.ToString();
      }
      out << "\n";
    }
    if (!st.status().ok()) return st.status();
  }
  return out.str();
}

}  // namespace kbo
