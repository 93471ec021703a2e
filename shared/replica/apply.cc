#include "shared/replica/apply.h"

#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "shared/entities.h"

namespace kbo {
namespace {

// row_version.versions, this file's private encoding (trusted, but a damaged
// database must not crash us, so it is decoded with bounds):
//   versions := cell*
//   cell     := name_len:u8 name wall_ms:i64le counter:u32le device:16 seq:u64le
// Cells are sorted by column name, so equal states give equal bytes.
using StoredVersion = StoredCellVersion;
using Versions = std::map<std::string, StoredVersion, std::less<>>;

void PutLe(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t GetLe(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) {
    v = v << 8 | static_cast<uint8_t>(p[i]);
  }
  return v;
}

std::string EncodeVersions(const Versions& versions) {
  std::string out;
  out.reserve(versions.size() * 48);
  for (const auto& [name, v] : versions) {
    out.push_back(static_cast<char>(name.size()));
    out += name;
    PutLe(&out, static_cast<uint64_t>(v.hlc.wall_ms), 8);
    PutLe(&out, v.hlc.counter, 4);
    out.append(reinterpret_cast<const char*>(v.hlc.device.bytes.data()), 16);
    PutLe(&out, v.seq, 8);
  }
  return out;
}

Status DecodeVersions(std::string_view bytes, Versions* out) {
  constexpr size_t kFixed = 8 + 4 + 16 + 8;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t name_len = static_cast<uint8_t>(bytes[pos++]);
    if (name_len == 0 || bytes.size() - pos < name_len + kFixed) {
      return Status::Corruption("row_version entry is damaged");
    }
    std::string name(bytes.substr(pos, name_len));
    pos += name_len;
    StoredVersion v;
    v.hlc.wall_ms = static_cast<int64_t>(GetLe(bytes.data() + pos, 8));
    v.hlc.counter = static_cast<uint32_t>(GetLe(bytes.data() + pos + 8, 4));
    std::memcpy(v.hlc.device.bytes.data(), bytes.data() + pos + 12, 16);
    v.seq = GetLe(bytes.data() + pos + 28, 8);
    pos += kFixed;
    (*out)[std::move(name)] = v;
  }
  return Status();
}

// Values are stored in the column's SQLite type, so compare and store them in
// that type too: a real column holds 18 as 18.0, a blob reference as text.
Value Normalize(const Column* column, const Value& v) {
  if (column == nullptr) return v;
  if (column->type == ColumnType::kReal && v.type() == Value::Type::kInteger) {
    return Value::Real(static_cast<double>(v.integer()));
  }
  if (v.type() == Value::Type::kBlob) return Value::Text(v.text());
  return v;
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
  std::string name;
  Value value;           // normalized
  uint64_t base;
};

Status ApplyImpl(Db& db, const RowChange& row, const ApplyOptions& options,
                 size_t* applied_cells, std::vector<uint64_t>* bases_out);

}  // namespace

Status ApplyRowChange(Db& db, const RowChange& row, const ApplyOptions& options,
                      size_t* applied_cells) {
  return ApplyImpl(db, row, options, applied_cells, nullptr);
}

Status ApplyLocalRowChange(Db& db, RowChange* row) {
  std::vector<uint64_t> bases;
  if (Status s = ApplyImpl(db, *row, ApplyOptions{}, nullptr, &bases); !s.ok()) {
    return s;
  }
  for (size_t i = 0; i < row->cells.size(); ++i) row->cells[i].base = bases[i];
  return Status();
}

namespace {

Status ApplyImpl(Db& db, const RowChange& row, const ApplyOptions& options,
                 size_t* applied_cells, std::vector<uint64_t>* bases_out) {
  const Entity* entity = FindEntity(row.entity);
  if (entity == nullptr) {
    return Status::InvalidArgument("unknown entity '" + row.entity + "'");
  }
  if (row.row_id.IsNil()) return Status::InvalidArgument("nil row id");

  // Validate everything before touching the database.
  std::vector<PlannedCell> cells;
  cells.reserve(row.cells.size());
  std::set<std::string_view> seen;
  bool needs_current_values = options.conflicts != nullptr;
  for (const CellWrite& cell : row.cells) {
    if (!seen.insert(cell.column).second) {
      return Status::InvalidArgument("column '" + cell.column +
                                     "' written twice in one row change");
    }
    if (Status s = ValidateCell(*entity, cell.column, cell.value); !s.ok()) {
      return s;
    }
    const Column* column = entity->FindColumn(cell.column);
    if (column && column->policy == MergePolicy::kForward) {
      needs_current_values = true;
    }
    cells.push_back({column, cell.column, Normalize(column, cell.value), cell.base});
  }
  const std::string row_id = row.row_id.ToString();

  // Current versions (and, when needed, current values) of the row.
  Versions versions;
  bool exists = false;
  {
    Statement& st = db.Cached(
        "SELECT versions FROM row_version WHERE entity = ?1 AND row_id = ?2");
    st.Bind(1, std::string_view(entity->name)).Bind(2, std::string_view(row_id));
    if (st.Step()) {
      exists = true;
      if (Status s = DecodeVersions(st.ColumnBlob(0), &versions); !s.ok()) return s;
    }
    if (!st.status().ok()) return st.status();
  }
  std::map<std::string, Value, std::less<>> current_values;
  if (exists && needs_current_values) {
    Statement& st = db.Cached("SELECT " + SelectList(*entity) + " FROM " +
                              std::string(entity->name) + " WHERE id = ?1");
    st.Bind(1, std::string_view(row_id));
    if (st.Step()) {
      int i = 1;
      for (const Column& c : entity->columns) {
        current_values[std::string(c.name)] = st.ColumnValue(i++);
      }
      current_values[std::string(kDeletedColumn)] = st.ColumnValue(i);
    }
    if (!st.status().ok()) return st.status();
  }

  // Decide each cell with the pure rule.
  std::vector<const PlannedCell*> winners;
  bool versions_changed = false;
  for (const PlannedCell& cell : cells) {
    CellVersion current;
    uint64_t current_seq = 0;
    if (auto it = versions.find(cell.name); it != versions.end()) {
      current.hlc = it->second.hlc;
      current_seq = it->second.seq;
    }
    if (auto it = current_values.find(cell.name); it != current_values.end()) {
      current.value = it->second;
    } else if (!exists && cell.name == kDeletedColumn) {
      current.value = Value::Integer(0);
    }
    if (bases_out) bases_out->push_back(current_seq);
    const CellVersion incoming{row.hlc, cell.value};
    const bool wins = cell.column ? Wins(*cell.column, incoming, current)
                                  : WinsLww(incoming, current);
    if (options.conflicts && current_seq > 0 &&
        IsConflict({row.hlc.device, cell.value, cell.base},
                   {current.hlc.device, current.value, current_seq})) {
      ConflictEvent event;
      event.entity = std::string(entity->name);
      event.row_id = row.row_id;
      event.column = cell.name;
      event.current = current;
      event.current_seq = current_seq;
      event.incoming = incoming;
      event.incoming_base = cell.base;
      event.incoming_seq = options.seq;
      event.incoming_won = wins;
      if (Status s = options.conflicts->OnConflict(event); !s.ok()) return s;
    }
    if (!wins) {
      if (options.seq_from_base && current.hlc == row.hlc) {
        auto it = versions.find(cell.name);
        if (it != versions.end() && it->second.seq != cell.base) {
          it->second.seq = cell.base;
          versions_changed = true;
        }
      }
      continue;
    }
    winners.push_back(&cell);
    StoredVersion& v = versions[cell.name];
    v.hlc = row.hlc;
    if (options.seq_from_base) {
      v.seq = cell.base;
    } else if (options.seq != 0) {
      v.seq = options.seq;
    }
  }
  if (applied_cells) *applied_cells += winners.size();
  if (winners.empty() && exists && !versions_changed) return Status();

  // Write the winners: one INSERT or UPDATE of the entity row, one upsert of
  // its versions. Statement text depends only on the set of columns, so the
  // cache holds one statement per shape (a roll-call reuses one).
  const std::string table(entity->name);
  std::string sql;
  if (!exists) {
    sql = "INSERT INTO " + table + " (id";
    std::string params = "?1";
    int n = 2;
    for (const PlannedCell* c : winners) {
      sql += ", " + c->name;
      params += ", ?" + std::to_string(n++);
    }
    sql += ") VALUES (" + params + ")";
  } else {
    sql = "UPDATE " + table + " SET ";
    int n = 2;
    for (const PlannedCell* c : winners) {
      if (n > 2) sql += ", ";
      sql += c->name + " = ?" + std::to_string(n++);
    }
    sql += " WHERE id = ?1";
  }
  if (!winners.empty() || !exists) {
    Statement& st = db.Cached(sql);
    st.Bind(1, std::string_view(row_id));
    int n = 2;
    for (const PlannedCell* c : winners) st.Bind(n++, c->value);
    if (Status s = st.Run(); !s.ok()) return s;
  }
  {
    Statement& st = db.Cached(
        "INSERT INTO row_version (entity, row_id, versions) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (entity, row_id) DO UPDATE SET versions = excluded.versions");
    st.Bind(1, std::string_view(entity->name))
        .Bind(2, std::string_view(row_id))
        .BindBlob(3, EncodeVersions(versions));
    if (Status s = st.Run(); !s.ok()) return s;
  }
  return Status();
}

}  // namespace

Result<std::map<std::string, StoredCellVersion, std::less<>>> ReadCellVersions(
    Db& db, std::string_view entity, const Uuid& row_id) {
  Versions versions;
  Statement& st = db.Cached(
      "SELECT versions FROM row_version WHERE entity = ?1 AND row_id = ?2");
  st.Bind(1, entity).Bind(2, std::string_view(row_id.ToString()));
  if (st.Step()) {
    if (Status s = DecodeVersions(st.ColumnBlob(0), &versions); !s.ok()) return s;
  }
  if (!st.status().ok()) return st.status();
  return versions;
}

Status ApplyChangeSet(Db& db, const ChangeSet& cs, const ApplyOptions& options) {
  ApplyOptions row_options = options;
  for (size_t i = 0; i < cs.rows.size(); ++i) {
    if (options.seq != 0) row_options.seq = options.seq + i;
    if (Status s = ApplyRowChange(db, cs.rows[i], row_options); !s.ok()) {
      return Status::FromCode(
          s.code(), "row " + std::to_string(i + 1) + " (" + cs.rows[i].entity +
                        " " + cs.rows[i].row_id.ToString() + "): " + s.message());
    }
  }
  return Status();
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
  out << "# row_version\n";
  Statement st(db, "SELECT entity, row_id, versions FROM row_version "
                   "ORDER BY entity, row_id");
  while (st.Step()) {
    Versions versions;
    if (Status s = DecodeVersions(st.ColumnBlob(2), &versions); !s.ok()) return s;
    out << st.ColumnText(0) << " " << st.ColumnText(1);
    for (const auto& [name, v] : versions) out << " " << name << "@" << v.hlc.ToString();
    out << "\n";
  }
  if (!st.status().ok()) return st.status();
  return out.str();
}

}  // namespace kbo
