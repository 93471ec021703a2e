#include "server/storage/conflicts.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "server/storage/sql_parts.h"
#include "shared/encoding.h"

namespace kbo::server::storage {
namespace {

constexpr const char* kSelectConflict =
    "SELECT id, entity, row_id, column_name, district_code, current_value, "
    "current_type, current_device, current_hlc, current_seq, incoming_value, "
    "incoming_type, incoming_device, incoming_hlc, incoming_base, "
    "incoming_seq, "
    "winner, detected_at, resolved_at, resolved_value, resolution_seq, "
    "feed_seq, resolved_by, resolution_reason "
    "FROM conflict ";

// A value back from its display text and type name (Value::ToDisplay and
// TypeName). Reals are displayed in their shortest exact form, so this is
// lossless.
Value ValueFromDisplay(bool is_null, const std::string& text,
                       const std::string& type) {
  if (is_null || type == "null") return Value();
  if (type == "integer")
    return Value::Integer(ParseInt64(text).value_or(0));
  if (type == "real") return Value::Real(std::strtod(text.c_str(), nullptr));
  if (type == "blob") return Value::Blob(text);
  return Value::Text(text);
}

ConflictRecord ReadRecord(Statement& st) {
  ConflictRecord c;
  const auto text = [&](int col) {
    return st.IsNull(col) ? std::string() : st.ColumnText(col);
  };
  c.id = text(0);
  c.entity = text(1);
  c.row_id = text(2);
  c.column_name = text(3);
  c.district_code = text(4);
  c.current_value = ValueFromDisplay(st.IsNull(5), text(5), text(6));
  c.current_device = text(7);
  c.current_hlc = text(8);
  c.current_seq = static_cast<uint64_t>(st.ColumnInt(9));
  c.incoming_value = ValueFromDisplay(st.IsNull(10), text(10), text(11));
  c.incoming_device = text(12);
  c.incoming_hlc = text(13);
  c.incoming_base = static_cast<uint64_t>(st.ColumnInt(14));
  c.incoming_seq = static_cast<uint64_t>(st.ColumnInt(15));
  c.winner = text(16);
  c.detected_at = text(17);
  c.resolved_at = text(18);
  c.resolved_value = text(19);
  c.resolution_seq = static_cast<uint64_t>(st.ColumnInt(20));
  c.feed_seq = static_cast<uint64_t>(st.ColumnInt(21));
  c.resolved_by = text(22);
  c.resolution_reason = text(23);
  return c;
}

// Every record the statement yields.
Result<std::vector<ConflictRecord>> ReadAll(Statement& st) {
  std::vector<ConflictRecord> out;
  while (st.Step()) out.push_back(ReadRecord(st));
  if (!st.status().ok()) return st.status();
  return out;
}

// A value as display text (NULL for null); its type goes beside it.
void BindDisplay(Statement& st, int i, const Value& v) {
  if (v.is_null()) {
    st.BindNull(i);
  } else {
    st.Bind(i, std::string_view(v.ToDisplay()));
  }
}

}  // namespace

Result<std::optional<ValueSince>> ConflictStore::FindValueSince(
    std::string_view entity, std::string_view row_id, std::string_view column) {
  Statement& st = db_.Cached(
      "SELECT since_seq, hlc FROM value_since WHERE entity = ?1 AND row_id = ?2 "
      "AND column_name = ?3");
  st.Bind(1, entity).Bind(2, row_id).Bind(3, column);
  std::optional<ValueSince> out;
  if (st.Step()) {
    out.emplace();
    out->since_seq = static_cast<uint64_t>(st.ColumnInt(0));
    out->hlc = st.ColumnText(1);
  }
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return out;
}

Status ConflictStore::NoteValueSince(std::string_view entity, std::string_view row_id,
                                     std::string_view column, const ValueSince& v) {
  Statement& st = db_.Cached(
      "INSERT INTO value_since (entity, row_id, column_name, since_seq, hlc) "
      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (entity, row_id, column_name) "
      "DO UPDATE SET since_seq = excluded.since_seq, hlc = excluded.hlc");
  st.Bind(1, entity)
      .Bind(2, row_id)
      .Bind(3, column)
      .Bind(4, static_cast<int64_t>(v.since_seq))
      .Bind(5, std::string_view(v.hlc));
  return st.Run();
}

Status ConflictStore::Insert(const ConflictRecord& c) {
  Statement& st = db_.Cached(
      "INSERT INTO conflict (id, entity, row_id, column_name, district_code, "
      "current_value, current_type, current_device, current_hlc, "
      "current_seq, "
      "incoming_value, incoming_type, incoming_device, incoming_hlc, "
      "incoming_base, incoming_seq, winner, detected_at, feed_seq) VALUES "
      "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
      "?16, "
      "?17, ?18, ?19) ON CONFLICT (id) DO NOTHING");
  st.Bind(1, std::string_view(c.id))
      .Bind(2, std::string_view(c.entity))
      .Bind(3, std::string_view(c.row_id))
      .Bind(4, std::string_view(c.column_name));
  if (c.district_code.empty()) {
    st.BindNull(5);
  } else {
    st.Bind(5, std::string_view(c.district_code));
  }
  BindDisplay(st, 6, c.current_value);
  st.Bind(7, std::string_view(TypeName(c.current_value.type())))
      .Bind(8, std::string_view(c.current_device))
      .Bind(9, std::string_view(c.current_hlc))
      .Bind(10, static_cast<int64_t>(c.current_seq));
  BindDisplay(st, 11, c.incoming_value);
  st.Bind(12, std::string_view(TypeName(c.incoming_value.type())))
      .Bind(13, std::string_view(c.incoming_device))
      .Bind(14, std::string_view(c.incoming_hlc))
      .Bind(15, static_cast<int64_t>(c.incoming_base))
      .Bind(16, static_cast<int64_t>(c.incoming_seq))
      .Bind(17, std::string_view(c.winner))
      .Bind(18, std::string_view(c.detected_at))
      .Bind(19, static_cast<int64_t>(c.feed_seq));
  return st.Run();
}

Result<std::vector<ConflictRecord>> ConflictStore::Feed(
    uint64_t after, bool all_districts, const std::vector<std::string>& districts,
    size_t limit) {
  const DistrictFilter filter{all_districts, &districts};
  std::string sql = std::string(kSelectConflict) + "WHERE feed_seq > ?1";
  sql += filter.Clause("district_code", 3);
  sql += " ORDER BY feed_seq LIMIT ?2";
  Statement& st = db_.Cached(sql);
  st.Bind(1, static_cast<int64_t>(after)).Bind(2, static_cast<int64_t>(limit));
  filter.Bind(st, 3);
  return ReadAll(st);
}

Status ConflictStore::FollowRow(std::string_view id, std::string_view district,
                                uint64_t feed_seq) {
  Statement& st =
      db_.Cached("UPDATE conflict SET district_code = ?1, feed_seq = ?2 WHERE id = ?3");
  st.Bind(1, district).Bind(2, static_cast<int64_t>(feed_seq)).Bind(3, id);
  return st.Run();
}

Result<std::vector<ConflictRecord>> ConflictStore::List(bool open_only) {
  Statement st(db_, std::string(kSelectConflict) +
                        (open_only ? "WHERE resolved_at IS NULL " : "") +
                        "ORDER BY detected_at, feed_seq");
  if (!st.status().ok()) return st.status();
  return ReadAll(st);
}

Result<std::optional<ConflictRecord>> ConflictStore::Get(std::string_view id) {
  Statement& st = db_.Cached(std::string(kSelectConflict) + "WHERE id = ?1");
  st.Bind(1, id);
  if (!st.Step()) {
    if (!st.status().ok()) return st.status();
    return std::optional<ConflictRecord>();
  }
  ConflictRecord c = ReadRecord(st);
  if (Status s = st.Reset(); !s.ok()) return s;
  return std::optional<ConflictRecord>(std::move(c));
}

Result<std::vector<ConflictRecord>> ConflictStore::WithIdPrefix(
    std::string_view prefix) {
  // Ids are lowercase uuids: the prefix's range [prefix, prefix + '\x7f')
  // walks the primary key index instead of the table.
  Statement& st = db_.Cached(std::string(kSelectConflict) +
                             "WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 4");
  st.Bind(1, prefix)
      .Bind(2, std::string_view(std::string(prefix) + "\x7f"));
  return ReadAll(st);
}

Result<std::vector<ConflictRecord>> ConflictStore::OfRow(std::string_view entity,
                                                         std::string_view row_id) {
  Statement& st = db_.Cached(std::string(kSelectConflict) +
                             "WHERE entity = ?1 AND row_id = ?2 ORDER BY feed_seq");
  st.Bind(1, entity).Bind(2, row_id);
  return ReadAll(st);
}

Status ConflictStore::MarkResolved(std::string_view id, std::string_view resolved_at,
                                   std::string_view resolved_value,
                                   uint64_t resolution_seq, uint64_t feed_seq,
                                   std::string_view resolved_by,
                                   std::string_view reason) {
  Statement& st = db_.Cached(
      "UPDATE conflict SET resolved_at = ?2, resolved_value = ?3, "
      "resolution_seq = ?4, "
      "feed_seq = ?5, resolved_by = ?6, resolution_reason = ?7 "
      "WHERE id = ?1");
  st.Bind(1, id)
      .Bind(2, resolved_at)
      .Bind(3, resolved_value)
      .Bind(4, static_cast<int64_t>(resolution_seq))
      .Bind(5, static_cast<int64_t>(feed_seq))
      .Bind(6, resolved_by)
      .Bind(7, reason);
  return st.Run();
}

Status ConflictStore::AuditResolution(std::string_view at, std::string_view actor,
                                      std::string_view subject,
                                      std::string_view detail,
                                      std::string_view address) {
  Statement& st = db_.Cached(
      "INSERT INTO audit_log (at, actor, action, subject, detail, address) "
      "VALUES (?1, ?2, 'resolve', ?3, ?4, ?5)");
  st.Bind(1, at).Bind(2, actor).Bind(3, subject).Bind(4, detail).Bind(5, address);
  return st.Run();
}

Result<std::map<uint64_t, std::string>> ConflictStore::ResolversOf(
    const std::vector<uint64_t>& seqs) {
  std::map<uint64_t, std::string> out;
  for (size_t from = 0; from < seqs.size(); from += kIdsPerQuery) {
    const size_t n = std::min(kIdsPerQuery, seqs.size() - from);
    Statement st(db_,
                 "SELECT resolution_seq, resolved_by FROM conflict WHERE "
                 "resolution_seq IN (" + Placeholders(n) + ")");
    if (!st.status().ok()) return st.status();
    for (size_t i = 0; i < n; ++i) {
      st.Bind(static_cast<int>(i + 1), static_cast<int64_t>(seqs[from + i]));
    }
    while (st.Step()) {
      if (!st.IsNull(1)) {
        out[static_cast<uint64_t>(st.ColumnInt(0))] = st.ColumnText(1);
      }
    }
    if (!st.status().ok()) return st.status();
  }
  return out;
}

}  // namespace kbo::server::storage
