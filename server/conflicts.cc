#include "server/conflicts.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <utility>

#include "schema/schema.h"
#include "server/server_apply.h"
#include "server/server_write.h"
#include "shared/change_set_codec.h"
#include "shared/encoding.h"
#include "shared/entities.h"
#include "shared/hlc.h"
#include "shared/protocol.h"
#include "shared/replica/apply.h"
#include "shared/sqlite/migrate.h"
#include "shared/wire.h"

namespace kbo::server {
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

std::optional<std::string> DisplayText(const Value& v) {
  if (v.is_null()) return std::nullopt;
  return v.ToDisplay();
}

std::string HlcTime(const std::string& hlc_text) {
  Result<Hlc> h = Hlc::Parse(hlc_text);
  return h.ok() ? FormatIsoUtc(h->wall_ms) : std::string();
}

Result<Value> ParseResolutionText(const Entity& entity,
                                  const std::string& column,
                                  const std::string& text) {
  if (column == kDeletedColumn) {
    if (text == "0") return Value::Integer(0);
    if (text == "1") return Value::Integer(1);
    return Status::InvalidArgument("deleted must be 0 or 1");
  }
  const Column* col = entity.FindColumn(column);
  if (col == nullptr) {
    return Status::InvalidArgument("unknown column " + column + " of " +
                                   std::string(entity.name));
  }
  return ParseCellText(entity, *col, text);
}

}  // namespace

wire::ConflictRecord ToWire(const ConflictRecord& c) {
  wire::ConflictRecord w;
  w.id = c.id;
  w.entity = c.entity;
  w.row_id = c.row_id;
  w.column_name = c.column_name;
  if (!c.district_code.empty()) w.district_code = c.district_code;
  w.current_value = DisplayText(c.current_value);
  w.current_type = TypeName(c.current_value.type());
  w.current_device = c.current_device;
  w.current_hlc = c.current_hlc;
  w.current_time = HlcTime(c.current_hlc);
  w.current_seq = c.current_seq;
  w.incoming_value = DisplayText(c.incoming_value);
  w.incoming_type = TypeName(c.incoming_value.type());
  w.incoming_device = c.incoming_device;
  w.incoming_hlc = c.incoming_hlc;
  w.incoming_time = HlcTime(c.incoming_hlc);
  w.incoming_base = c.incoming_base;
  w.incoming_seq = c.incoming_seq;
  w.winner = c.winner;
  w.detected_at = c.detected_at;
  w.resolved = c.resolved();
  if (c.resolved()) {
    w.resolved_at = c.resolved_at;
    w.resolved_value = c.resolved_value;
    w.resolution_seq = c.resolution_seq;
    w.resolved_by = c.resolved_by;
    w.resolution_reason = c.resolution_reason;
  }
  w.feed_seq = c.feed_seq;
  return w;
}

std::string ConflictJson(const ConflictRecord& c) {
  return wire::EncodeConflict(ToWire(c));
}

Result<std::vector<ConflictRecord>> ConflictFeed(Db& db, uint64_t after,
                                                 const Scope& scope,
                                                 size_t limit) {
  std::string sql = std::string(kSelectConflict) + "WHERE feed_seq > ?1";
  if (!scope.all) {
    sql += " AND district_code IN (";
    for (size_t i = 0; i < scope.districts.size(); ++i) {
      sql += (i ? ", ?" : "?") + std::to_string(i + 3);
    }
    if (scope.districts.empty()) sql += "NULL";
    sql += ")";
  }
  sql += " ORDER BY feed_seq LIMIT ?2";
  Statement& st = db.Cached(sql);
  st.Bind(1, static_cast<int64_t>(after)).Bind(2, static_cast<int64_t>(limit));
  if (!scope.all) {
    for (size_t i = 0; i < scope.districts.size(); ++i) {
      st.Bind(static_cast<int>(i + 3), std::string_view(scope.districts[i]));
    }
  }
  std::vector<ConflictRecord> out;
  while (st.Step()) out.push_back(ReadRecord(st));
  if (!st.status().ok()) return st.status();
  return out;
}

Result<std::vector<ConflictRecord>> Conflicts::List(bool open_only) {
  Statement st(store_.db(),
               std::string(kSelectConflict) +
                   (open_only ? "WHERE resolved_at IS NULL " : "") +
                   "ORDER BY detected_at, feed_seq");
  if (!st.status().ok()) return st.status();
  std::vector<ConflictRecord> out;
  while (st.Step()) out.push_back(ReadRecord(st));
  if (!st.status().ok()) return st.status();
  return out;
}

Result<ConflictRecord> Conflicts::Get(std::string_view id) {
  Statement& st =
      store_.db().Cached(std::string(kSelectConflict) + "WHERE id = ?1");
  st.Bind(1, id);
  if (!st.Step()) {
    if (!st.status().ok()) return st.status();
    return Status::NotFound("no conflict " + std::string(id));
  }
  ConflictRecord c = ReadRecord(st);
  if (Status s = st.Reset(); !s.ok()) return s;
  return c;
}

Result<ConflictRecord> Conflicts::Find(std::string_view id_or_prefix) {
  std::string prefix(id_or_prefix);
  for (char& ch : prefix) {
    if (ch >= 'A' && ch <= 'F') ch = static_cast<char>(ch - 'A' + 'a');
  }
  {
    Result<ConflictRecord> exact = Get(prefix);
    if (exact.ok() || exact.status().code() != Code::kNotFound) return exact;
  }
  if (prefix.size() < kMinIdPrefix) {
    return Status::InvalidArgument(
        "a conflict id or the start of one (at least " +
        std::to_string(kMinIdPrefix) + " characters) was expected, got '" +
        prefix + "'");
  }
  // Ids are lowercase uuids: the prefix's range [prefix, prefix + '\x7f')
  // walks the primary key index instead of the table.
  Statement& st = store_.db().Cached(
      std::string(kSelectConflict) +
      "WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 4");
  st.Bind(1, std::string_view(prefix))
      .Bind(2, std::string_view(prefix + "\x7f"));
  std::vector<ConflictRecord> found;
  while (st.Step()) found.push_back(ReadRecord(st));
  if (!st.status().ok()) return st.status();
  if (found.empty()) {
    return Status::NotFound("no conflict id starts with " + prefix);
  }
  if (found.size() > 1) {
    std::string names;
    for (size_t i = 0; i < found.size() && i < 3; ++i) {
      names += (i ? ", " : "") + found[i].id;
    }
    return Status::InvalidArgument(
        "the id prefix " + prefix + " matches " +
        (found.size() > 3 ? std::string("more than 3") :
                            std::to_string(found.size())) +
        " conflicts (" + names + (found.size() > 3 ? ", ..." : "") +
        "); give more of the id");
  }
  return std::move(found.front());
}

Result<std::vector<ConflictRecord>> Conflicts::OfRow(std::string_view entity,
                                                     std::string_view row_id) {
  Statement& st = store_.db().Cached(
      std::string(kSelectConflict) +
      "WHERE entity = ?1 AND row_id = ?2 ORDER BY feed_seq");
  st.Bind(1, entity).Bind(2, row_id);
  std::vector<ConflictRecord> out;
  while (st.Step()) out.push_back(ReadRecord(st));
  if (!st.status().ok()) return st.status();
  return out;
}

Result<ResolveOutcome> Conflicts::Resolve(std::string_view id,
                                          const Resolution& how,
                                          const Resolver& by) {
  if (by.actor != "cli" &&
      (by.actor.size() <= 5 || by.actor.compare(0, 5, "user:") != 0)) {
    return Status::InvalidArgument(
        "a resolution names who made it: 'cli' or 'user:LOGIN', not '" +
        by.actor + "'");
  }
  if (by.reason.size() > kMaxReasonBytes) {
    return Status::InvalidArgument("the reason is longer than " +
                                   std::to_string(kMaxReasonBytes) +
                                   " bytes");
  }
  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  Result<ConflictRecord> found = Find(id);
  if (!found.ok()) return found.status();
  const ConflictRecord& c = *found;
  if (c.resolved()) {
    return Status::FailedPrecondition(
        "conflict " + c.id + " was already resolved on " + c.resolved_at +
        " (value " +
        (c.resolved_value.empty() ? "empty" : "'" + c.resolved_value + "'") +
        ")");
  }
  const Entity* entity = FindEntity(c.entity);
  Result<Uuid> row_id = Uuid::Parse(c.row_id);
  if (entity == nullptr || !row_id.ok()) {
    return Status::Corruption("conflict " + c.id + " names an unknown row");
  }

  Value value;
  switch (how.kind) {
    case Resolution::Kind::kValue: {
      Result<Value> v = ParseResolutionText(*entity, c.column_name, how.text);
      if (!v.ok()) return v.status();
      value = *v;
      break;
    }
    case Resolution::Kind::kKeepCurrent:
      value = c.current_value;
      break;
    case Resolution::Kind::kKeepIncoming:
      value = c.incoming_value;
      break;
    case Resolution::Kind::kKeepSeq:
      if (how.seq == c.current_seq) {
        value = c.current_value;
      } else if (how.seq == c.incoming_seq) {
        value = c.incoming_value;
      } else {
        return Status::InvalidArgument(
            "conflict " + c.id + " is between the writes with sequence " +
            std::to_string(c.current_seq) + " (current) and " +
            std::to_string(c.incoming_seq) +
            " (incoming); --keep one of those");
      }
      break;
  }
  if (Status s = ValidateCell(*entity, c.column_name, value); !s.ok()) return s;

  // An ordinary signed change of the server's own identity, stamped after
  // the cell's current version and based on it (server/server_write.h).
  Result<ServerWrite> written =
      WriteAsServer(store_, c.entity, *row_id, {{c.column_name, value}});
  if (!written.ok()) return written.status();
  if (!written->lost.empty()) {
    return Status::FailedPrecondition(
        "'" + value.ToDisplay() + "' cannot replace the current value of " +
        c.column_name +
        ": this column only moves forward (e.g. a product's "
        "stage never goes back)");
  }
  const AppliedSet* applied = &written->applied;
  const std::string resolved_at = store_.NowIso();

  Result<uint64_t> feed = store_.TakeSeqs(1);
  if (!feed.ok()) return feed.status();
  {
    Statement& st = db.Cached(
        "UPDATE conflict SET resolved_at = ?2, resolved_value = ?3, "
        "resolution_seq = ?4, "
        "feed_seq = ?5, resolved_by = ?6, resolution_reason = ?7 "
        "WHERE id = ?1");
    st.Bind(1, std::string_view(c.id))
        .Bind(2, std::string_view(resolved_at))
        .Bind(3, std::string_view(value.ToDisplay()))
        .Bind(4, static_cast<int64_t>(applied->first_seq))
        .Bind(5, static_cast<int64_t>(*feed))
        .Bind(6, std::string_view(by.actor))
        .Bind(7, std::string_view(by.reason));
    if (Status s = st.Run(); !s.ok()) return s;
  }
  {
    // The audit line a person reads: what was set, and why.
    std::string detail = c.entity + " " + c.row_id + " " + c.column_name +
                         " = " +
                         (value.is_null() ? std::string("(empty)")
                                          : "'" + value.ToDisplay() + "'");
    if (!by.reason.empty()) detail += "; reason: " + by.reason;
    Statement& st = db.Cached(
        "INSERT INTO audit_log (at, actor, action, subject, detail, address) "
        "VALUES (?1, ?2, 'resolve', ?3, ?4, ?5)");
    st.Bind(1, std::string_view(resolved_at))
        .Bind(2, std::string_view(by.actor))
        .Bind(3, std::string_view("conflict:" + c.id))
        .Bind(4, std::string_view(detail))
        .Bind(5, std::string_view(by.address));
    if (Status s = st.Run(); !s.ok()) return s;
  }
  Result<ConflictRecord> stored = Get(c.id);
  if (!stored.ok()) return stored.status();
  if (Status s = txn.Commit(); !s.ok()) return s;
  ResolveOutcome out;
  out.conflict = std::move(stored).value();
  out.seq = applied->first_seq;
  return out;
}

}  // namespace kbo::server
