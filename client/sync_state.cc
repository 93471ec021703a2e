#include "client/sync_state.h"

#include <optional>

#include "client/sync_internal.h"
#include "shared/sqlite/db.h"
#include "shared/wire.h"

namespace kbo::client {

// The highest change set sequence the server has confirmed (0: none).
Result<uint64_t> LastConfirmedSeq(Db& db) {
  Statement st(db, "SELECT COALESCE(MAX(seq), 0) FROM change_set WHERE acked_at IS NOT NULL");
  uint64_t v = 0;
  if (st.Step()) v = static_cast<uint64_t>(st.ColumnInt(0));
  if (!st.status().ok()) return st.status();
  return v;
}

Result<uint64_t> ReadCursor(Db& db, const char* column) {
  Statement st(db, std::string("SELECT ") + column +
                       " FROM sync_state WHERE singleton = 1");
  uint64_t v = 0;
  if (st.Step()) v = static_cast<uint64_t>(st.ColumnInt(0));
  if (!st.status().ok()) return st.status();
  return v;
}

Status SetCursor(Db& db, const char* column, uint64_t value) {
  Statement st(db, std::string("UPDATE sync_state SET ") + column +
                       " = ?1 WHERE singleton = 1");
  st.Bind(1, static_cast<int64_t>(value));
  return st.Run();
}

// A conflict record (wire::ParseConflictsPage) -> the local conflict table
// (one upsert). `*is_new` tells whether it is one to announce: open, and not
// held before (a resolution of a held conflict, or one received again after
// a pull from 0, is not news).
Status UpsertConflict(Db& db, const wire::ConflictRecord& c, bool* is_new) {
  {
    Statement& held = db.Cached("SELECT 1 FROM conflict WHERE id = ?1");
    held.Bind(1, std::string_view(c.id));
    const bool known = held.Step();
    if (!held.status().ok()) return held.status();
    if (Status s = held.Reset(); !s.ok()) return s;
    *is_new = !known && !c.resolved_at.has_value();
  }
  Statement& st = db.Cached(
      "INSERT INTO conflict (id, entity, row_id, column_name, district_code,"
      " current_value, current_type, current_device, current_hlc, current_seq,"
      " incoming_value, incoming_type, incoming_device, incoming_hlc,"
      " incoming_base, incoming_seq, winner, detected_at, resolved_at,"
      " resolved_value, resolution_seq, server_seq, resolution_reason, resolved_by)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
      " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)"
      " ON CONFLICT(id) DO UPDATE SET entity = excluded.entity,"
      " row_id = excluded.row_id, column_name = excluded.column_name,"
      " district_code = excluded.district_code,"
      " current_value = excluded.current_value,"
      " current_type = excluded.current_type,"
      " current_device = excluded.current_device,"
      " current_hlc = excluded.current_hlc, current_seq = excluded.current_seq,"
      " incoming_value = excluded.incoming_value,"
      " incoming_type = excluded.incoming_type,"
      " incoming_device = excluded.incoming_device,"
      " incoming_hlc = excluded.incoming_hlc,"
      " incoming_base = excluded.incoming_base,"
      " incoming_seq = excluded.incoming_seq, winner = excluded.winner,"
      " detected_at = excluded.detected_at, resolved_at = excluded.resolved_at,"
      " resolved_value = excluded.resolved_value,"
      " resolution_seq = excluded.resolution_seq,"
      " server_seq = excluded.server_seq,"
      " resolution_reason = excluded.resolution_reason,"
      " resolved_by = excluded.resolved_by");
  if (!st.status().ok()) return st.status();
  // Null (and, for text the record may leave out, empty) as NULL.
  auto bind_text = [&st](int i, const std::string& v) {
    if (v.empty()) {
      st.BindNull(i);
    } else {
      st.Bind(i, std::string_view(v));
    }
  };
  auto bind_opt = [&st](int i, const std::optional<std::string>& v) {
    if (v) {
      st.Bind(i, std::string_view(*v));
    } else {
      st.BindNull(i);
    }
  };
  auto bind_int = [&st](int i, uint64_t v) {
    st.Bind(i, static_cast<int64_t>(v));
  };
  st.Bind(1, std::string_view(c.id))
      .Bind(2, std::string_view(c.entity))
      .Bind(3, std::string_view(c.row_id))
      .Bind(4, std::string_view(c.column_name));
  bind_opt(5, c.district_code);
  bind_opt(6, c.current_value);
  bind_text(7, c.current_type);
  bind_text(8, c.current_device);
  bind_text(9, c.current_hlc);
  bind_int(10, c.current_seq);
  bind_opt(11, c.incoming_value);
  bind_text(12, c.incoming_type);
  bind_text(13, c.incoming_device);
  bind_text(14, c.incoming_hlc);
  bind_int(15, c.incoming_base);
  bind_int(16, c.incoming_seq);
  bind_text(17, c.winner);
  bind_text(18, c.detected_at);
  bind_opt(19, c.resolved_at);
  bind_opt(20, c.resolved_value);
  if (c.resolution_seq) {
    st.Bind(21, static_cast<int64_t>(*c.resolution_seq));
  } else {
    st.BindNull(21);
  }
  st.Bind(22, static_cast<int64_t>(c.feed_seq));
  // An empty reason is no reason (the office gave none).
  bind_opt(23, c.resolution_reason && !c.resolution_reason->empty() ? c.resolution_reason
                                                                     : std::nullopt);
  bind_opt(24, c.resolved_by);
  return st.Run();
}

}  // namespace kbo::client
