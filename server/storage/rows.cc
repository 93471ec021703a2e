#include "server/storage/rows.h"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

#include "server/storage/sql_flavor.h"
#include "server/storage/sql_parts.h"

namespace kbo::server::storage {
namespace {

// Ids per query of ReadMany and DistrictsOf (bound as one JSON array).
constexpr size_t kIdsPerJsonQuery = 2000;

// Calls `each(json_array_text)` for the ids in groups of kIdsPerJsonQuery.
template <typename Each>
Status ForIdGroups(const std::set<std::string>& ids, Each&& each) {
  nlohmann::json group = nlohmann::json::array();
  for (const std::string& id : ids) {
    group.push_back(id);
    if (group.size() == kIdsPerJsonQuery) {
      if (Status s = each(group.dump()); !s.ok()) return s;
      group = nlohmann::json::array();
    }
  }
  if (!group.empty()) return each(group.dump());
  return Status();
}

// Keys of the pull index's statements (Db::CachedBy: found by address, not
// by building and comparing their text; a push writes an entry per row).
const char kNoteMovedKey = 0;
const char kNoteLeftKey = 0;
const char kDropEntryKey = 0;
const char kAddEntryKey = 0;

// The error that ended `st`'s rows, if any, with `st` reset for its next use.
Status Finished(Statement& st) {
  Status s = st.status();
  (void)st.Reset();
  return s;
}

}  // namespace

bool Rows::ReadManyPays() const { return Flavor(db_).StatementsAreRoundTrips(); }

Result<std::map<std::string, ReplicaRow, std::less<>>> Rows::ReadMany(
    const Entity& entity, const std::set<std::string>& ids) {
  std::map<std::string, ReplicaRow, std::less<>> out;
  const std::string sql = "SELECT " + ReplicaRowColumns(entity) + " FROM " +
                          std::string(entity.name) + " WHERE " +
                          Flavor(db_).InJsonArray("id", 1);
  Status s = ForIdGroups(ids, [&](const std::string& group) {
    Statement& st = db_.Cached(sql);
    st.Bind(1, std::string_view(group));
    while (st.Step()) {
      Result<ReplicaRow> row = ReplicaRowAt(st, entity);
      if (!row.ok()) {
        (void)st.Reset();
        return row.status();
      }
      out.emplace(st.ColumnText(0), std::move(*row));
    }
    return Finished(st);
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::map<std::string, std::string, std::less<>>> Rows::DistrictsOf(
    const Entity& entity, const std::set<std::string>& ids) {
  std::map<std::string, std::string, std::less<>> out;
  const std::string sql = "SELECT id, district_code FROM " + std::string(entity.name) +
                          " WHERE " + Flavor(db_).InJsonArray("id", 1);
  Status s = ForIdGroups(ids, [&](const std::string& group) {
    Statement& st = db_.Cached(sql);
    st.Bind(1, std::string_view(group));
    while (st.Step()) {
      out.emplace(st.ColumnText(0), st.IsNull(1) ? std::string() : st.ColumnText(1));
    }
    return Finished(st);
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<std::string>> Rows::District(const Entity& entity,
                                                  std::string_view row_id) {
  Statement& st = db_.Cached("SELECT district_code FROM " +
                             std::string(entity.name) + " WHERE id = ?1");
  st.Bind(1, row_id);
  if (!st.Step()) {
    if (!st.status().ok()) return st.status();
    return std::optional<std::string>();
  }
  std::string district = st.IsNull(0) ? std::string() : st.ColumnText(0);
  if (Status s = st.Reset(); !s.ok()) return s;
  return std::optional<std::string>(std::move(district));
}

Result<bool> Rows::Exists(const Entity& entity, std::string_view row_id) {
  Statement st(db_, "SELECT 1 FROM " + std::string(entity.name) + " WHERE id = ?1");
  if (!st.status().ok()) return st.status();
  st.Bind(1, row_id);
  const bool held = st.Step();
  if (!st.status().ok()) return st.status();
  return held;
}

Status Rows::NoteTombstoneOnDeleted(std::string_view entity, std::string_view row_id,
                                   const Hlc& hlc) {
  Statement& st = db_.Cached(
      "INSERT INTO tombstone_on_deleted (entity, row_id, hlc) VALUES (?1, ?2, ?3) "
      "ON CONFLICT DO NOTHING");
  const std::string text = hlc.ToString();
  st.Bind(1, entity).Bind(2, row_id).Bind(3, std::string_view(text));
  return st.Run();
}

Result<bool> Rows::TombstoneOnDeleted(std::string_view entity, std::string_view row_id,
                                      const Hlc& hlc) {
  Statement& st = db_.Cached(
      "SELECT 1 FROM tombstone_on_deleted WHERE entity = ?1 AND row_id = ?2 AND hlc = ?3");
  const std::string text = hlc.ToString();
  st.Bind(1, entity).Bind(2, row_id).Bind(3, std::string_view(text));
  const bool noted = st.Step();
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return noted;
}

Result<std::set<std::string>> Rows::TombstonesOn(std::string_view entity,
                                                 std::string_view row_id) {
  Statement& st = db_.Cached(
      "SELECT hlc FROM tombstone_on_deleted WHERE entity = ?1 AND row_id = ?2");
  st.Bind(1, entity).Bind(2, row_id);
  std::set<std::string> out;
  while (st.Step()) out.insert(st.ColumnText(0));
  if (!st.status().ok()) return st.status();
  return out;
}

Status Rows::NoteDeleteDecidedAgainst(const Hlc& hlc, std::string_view entity,
                                      std::string_view row_id, std::string_view at) {
  Statement& st = db_.Cached(
      "INSERT INTO delete_decided_against (hlc, entity, row_id, decided_at) "
      "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING");
  const std::string text = hlc.ToString();
  st.Bind(1, std::string_view(text)).Bind(2, entity).Bind(3, row_id).Bind(4, at);
  return st.Run();
}

Result<bool> Rows::DeleteDecidedAgainst(std::string_view hlc_text) {
  Statement& st = db_.Cached("SELECT 1 FROM delete_decided_against WHERE hlc = ?1");
  st.Bind(1, hlc_text);
  const bool noted = st.Step();
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return noted;
}

Result<std::map<std::string, RowValues, std::less<>>> Rows::ValuesByIds(
    const Entity& entity, const std::set<std::string>& ids) {
  std::string columns = "id, deleted";
  for (const Column& col : entity.columns) {
    columns += ", ";
    columns += col.name;
  }
  std::map<std::string, RowValues, std::less<>> out;
  std::vector<const std::string*> all;
  all.reserve(ids.size());
  for (const std::string& id : ids) all.push_back(&id);
  for (size_t from = 0; from < all.size(); from += kIdsPerQuery) {
    const size_t n = std::min(kIdsPerQuery, all.size() - from);
    Statement st(db_, "SELECT " + columns + " FROM " + std::string(entity.name) +
                          " WHERE id IN (" + Placeholders(n) + ")");
    if (!st.status().ok()) return st.status();
    for (size_t i = 0; i < n; ++i) {
      st.Bind(static_cast<int>(i + 1), std::string_view(*all[from + i]));
    }
    while (st.Step()) {
      RowValues row;
      row["deleted"] = st.ColumnValue(1);
      for (size_t c = 0; c < entity.columns.size(); ++c) {
        row[std::string(entity.columns[c].name)] =
            st.ColumnValue(static_cast<int>(c + 2));
      }
      out[st.ColumnText(0)] = std::move(row);
    }
    if (!st.status().ok()) return st.status();
  }
  return out;
}

Result<std::optional<ReplicaRow>> Rows::Read(const Entity& entity,
                                             const Uuid& row_id) {
  return ReadReplicaRow(db_, entity, row_id);
}

Result<std::map<std::string, StoredCellVersion, std::less<>>> Rows::CellVersions(
    std::string_view entity, const Uuid& row_id) {
  return ReadCellVersions(db_, entity, row_id);
}

Status Rows::Apply(const RowChange& row, const ApplyOptions& options,
                   RowApplyInfo* info) {
  return ApplyRowChange(db_, row, options, info);
}

Status PullIndex::NoteMoved(std::string_view entity, std::string_view row_id,
                            uint64_t moved_seq) {
  Statement& mv = db_.CachedBy(&kNoteMovedKey, 0, [] {
    return std::string(
        "INSERT INTO row_moved (entity, row_id, moved_seq) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (entity, row_id) DO UPDATE SET moved_seq = excluded.moved_seq");
  });
  mv.Bind(1, entity).Bind(2, row_id).Bind(3, static_cast<int64_t>(moved_seq));
  return mv.RunDeferred();
}

Status PullIndex::NoteLeft(std::string_view district, std::string_view entity,
                           std::string_view row_id, uint64_t left_seq) {
  Statement& st = db_.CachedBy(&kNoteLeftKey, 0, [] {
    return std::string(
        "INSERT INTO row_left (district_code, entity, row_id, left_seq) "
        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (district_code, entity, row_id) "
        "DO UPDATE SET left_seq = excluded.left_seq");
  });
  st.Bind(1, district).Bind(2, entity).Bind(3, row_id).Bind(4, static_cast<int64_t>(left_seq));
  return st.RunDeferred();
}

Result<int> PullIndex::DropEntry(uint64_t max_seq, std::string_view entity,
                                 std::string_view row_id) {
  Statement& del = db_.CachedBy(&kDropEntryKey, 0, [] {
    return std::string(
        "DELETE FROM row_seq WHERE max_seq = ?1 AND entity = ?2 AND row_id = ?3");
  });
  del.Bind(1, static_cast<int64_t>(max_seq)).Bind(2, entity).Bind(3, row_id);
  if (Status s = del.Run(); !s.ok()) return s;
  return db_.Changes();
}

Status PullIndex::AddEntry(std::string_view entity, std::string_view row_id,
                           uint64_t max_seq, std::string_view district) {
  Statement& st = db_.CachedBy(&kAddEntryKey, 0, [] {
    return std::string(
        "INSERT INTO row_seq (entity, row_id, max_seq, district_code) "
        "VALUES (?1, ?2, ?3, ?4)");
  });
  // Not copied: RunDeferred is done with the bytes when it returns (SQLite
  // runs the insert now; PostgreSQL has sent it), and the statement is
  // reset before its next use.
  st.BindNoCopy(1, entity).BindNoCopy(2, row_id).Bind(3, static_cast<int64_t>(max_seq));
  if (district.empty()) {
    st.BindNull(4);
  } else {
    st.BindNoCopy(4, district);
  }
  return st.RunDeferred();
}

Result<std::vector<IndexedRow>> PullIndex::After(
    uint64_t after, size_t limit, bool all_districts,
    const std::vector<std::string>& districts) {
  std::vector<IndexedRow> out;
  const DistrictFilter filter{all_districts, &districts};
  Statement& st = db_.Cached(
      "SELECT r.entity, r.row_id, r.max_seq, m.moved_seq FROM row_seq r "
      "LEFT JOIN row_moved m ON m.entity = r.entity AND m.row_id = r.row_id "
      "WHERE r.max_seq > ?1" +
      filter.Clause("r.district_code", 3) +
      " ORDER BY r.max_seq LIMIT ?2");
  st.Bind(1, static_cast<int64_t>(after)).Bind(2, static_cast<int64_t>(limit));
  filter.Bind(st, 3);
  while (st.Step()) {
    out.push_back({st.ColumnText(0), st.ColumnText(1),
                   static_cast<uint64_t>(st.ColumnInt(2)),
                   st.IsNull(3) ? 0 : static_cast<uint64_t>(st.ColumnInt(3))});
  }
  if (!st.status().ok()) return st.status();
  return out;
}

Result<bool> PullIndex::LeftOneOf(std::string_view entity, std::string_view row_id,
                                  const std::vector<std::string>& districts) {
  if (districts.empty()) return false;
  const DistrictFilter filter{false, &districts};
  Statement& st = db_.Cached(
      "SELECT EXISTS (SELECT 1 FROM row_left WHERE entity = ?1 AND row_id = ?2" +
      filter.Clause("district_code", 3) + ")");
  st.Bind(1, entity).Bind(2, row_id);
  filter.Bind(st, 3);
  bool left = false;
  if (st.Step()) left = st.ColumnInt(0) != 0;
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return left;
}

Result<std::vector<IndexedRow>> PullIndex::LeftAfter(
    uint64_t after, size_t limit, const std::vector<std::string>& districts) {
  std::vector<IndexedRow> out;
  if (districts.empty()) return out;
  const DistrictFilter filter{false, &districts};
  // One row per (entity, row_id): the later departure of two districts.
  Statement& st = db_.Cached(
      "SELECT entity, row_id, MAX(left_seq) AS seq FROM row_left "
      "WHERE left_seq > ?1" +
      filter.Clause("district_code", 3) +
      " GROUP BY entity, row_id ORDER BY seq LIMIT ?2");
  st.Bind(1, static_cast<int64_t>(after)).Bind(2, static_cast<int64_t>(limit));
  filter.Bind(st, 3);
  while (st.Step()) {
    IndexedRow row;
    row.entity = st.ColumnText(0);
    row.row_id = st.ColumnText(1);
    row.max_seq = static_cast<uint64_t>(st.ColumnInt(2));
    row.left = true;
    out.push_back(std::move(row));
  }
  if (!st.status().ok()) return st.status();
  return out;
}

}  // namespace kbo::server::storage
