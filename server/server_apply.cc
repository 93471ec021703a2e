#include "server/server_apply.h"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "shared/entities.h"
#include "shared/replica/apply.h"

namespace kbo::server {
namespace {

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
using RowKey = std::pair<std::string, std::string>;  // entity, row id text

class CollectingSink : public ConflictSink {
 public:
  Status OnConflict(const ConflictEvent& event) override {
    events.push_back(event);
    return Status();
  }
  std::vector<ConflictEvent> events;
};

// The district the row is in now; nullopt if the server does not hold it.
Result<std::optional<std::string>> CurrentDistrict(Db& db, const Entity& entity,
                                                   const std::string& row_id) {
  Statement& st = db.Cached("SELECT district_code FROM " +
                            std::string(entity.name) + " WHERE id = ?1");
  st.Bind(1, std::string_view(row_id));
  if (!st.Step()) {
    if (!st.status().ok()) return st.status();
    return std::optional<std::string>();
  }
  std::string district = st.IsNull(0) ? std::string() : st.ColumnText(0);
  if (Status s = st.Reset(); !s.ok()) return s;
  return std::optional<std::string>(std::move(district));
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

// A value as display text (NULL for null); its type goes beside it.
void BindDisplay(Statement& st, int i, const Value& v) {
  if (v.is_null()) {
    st.BindNull(i);
  } else {
    st.Bind(i, std::string_view(v.ToDisplay()));
  }
}

}  // namespace

Result<AppliedSet> ApplyAtServer(ServerStore& store, const ChangeSet& cs,
                                 const Scope* scope, ErrorDetail* detail) {
  Db& db = store.db();
  std::map<RowKey, RowInfo> rows;

  // 1. Scope, before anything is written.
  for (size_t i = 0; i < cs.rows.size(); ++i) {
    const RowChange& row = cs.rows[i];
    const Entity* entity = FindEntity(row.entity);
    if (entity == nullptr) {
      return Status::InvalidArgument(RowLabel(i, row) + ": unknown entity '" +
                                     row.entity + "'");
    }
    if (row.row_id.IsNil()) {
      return Status::InvalidArgument(RowLabel(i, row) + ": nil row id");
    }
    const RowKey key(std::string(entity->name), row.row_id.ToString());
    auto [it, inserted] = rows.try_emplace(key);
    RowInfo& info = it->second;
    if (inserted) {
      info.entity = entity;
      Result<std::optional<std::string>> current =
          CurrentDistrict(db, *entity, key.second);
      if (!current.ok()) return current.status();
      if (current->has_value()) {
        info.exists_before = true;
        info.district_before = **current;
      }
    }
    std::vector<std::string> districts;
    for (const CellWrite& cell : row.cells) {
      if (cell.column != kDistrictColumn) continue;
      if (cell.value.is_null()) {
        return Refuse(
            detail, "missing_district",
            Status::InvalidArgument(RowLabel(i, row) +
                                    ": district_code cannot be cleared"));
      }
      if (Status s = ValidateCell(*entity, cell.column, cell.value); !s.ok()) {
        return Status::InvalidArgument(RowLabel(i, row) + ": " + s.message());
      }
      if (!info.writes_district) {
        info.district_written = cell.value.text();
      } else if (info.district_written != cell.value.text()) {
        info.one_district_written = false;
      }
      info.writes_district = true;
      districts.push_back(cell.value.text());
    }
    if (info.exists_before && !info.district_before.empty()) {
      districts.push_back(info.district_before);
    }
    if (districts.empty() && !info.writes_district) {
      // A row the server has never seen must say where it belongs.
      if (!info.exists_before || scope == nullptr || !scope->all) {
        return Refuse(detail, "missing_district",
                      Status::InvalidArgument(
                          RowLabel(i, row) +
                          ": the server does not hold this row and the change "
                          "does not give its district_code"));
      }
    }
    if (scope == nullptr) continue;
    for (const std::string& d : districts) {
      if (!scope->Contains(d)) {
        return Refuse(
            detail, "out_of_scope",
            Status::PermissionDenied(
                RowLabel(i, row) + " is in district " + DistrictName(d) +
                ", outside this device's districts (" + scope->ToString() +
                "); nothing of this change set was stored"));
      }
    }
  }

  // 2. Merge, numbering every row change.
  AppliedSet applied;
  applied.rows = cs.rows.size();
  if (cs.rows.empty()) return applied;
  Result<uint64_t> first = store.TakeSeqs(cs.rows.size());
  if (!first.ok()) return first.status();
  applied.first_seq = *first;
  applied.last_seq = *first + cs.rows.size() - 1;
  CollectingSink sink;
  for (size_t i = 0; i < cs.rows.size(); ++i) {
    const RowChange& row = cs.rows[i];
    ApplyOptions options;
    options.seq = *first + i;
    options.conflicts = &sink;
    RowApplyInfo result;
    if (Status s = ApplyRowChange(db, row, options, &result); !s.ok()) {
      return Status::FromCode(s.code(), RowLabel(i, row) + ": " + s.message());
    }
    RowInfo& info = rows[RowKey(row.entity, row.row_id.ToString())];
    if (!info.applied) {
      info.applied = true;
      info.indexed_seq = result.max_seq_before;
    }
    if (result.won_cells > 0) info.max_seq = *first + i;
  }

  // 3. The pull index: where each row is now and its newest write.
  for (auto& [key, info] : rows) {
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
          CurrentDistrict(db, *info.entity, key.second);
      if (!now.ok()) return now.status();
      if (now->has_value()) info.district_after = **now;
    }
    if (info.max_seq == 0) continue;
    // The index is keyed by sequence, so a new entry is an append; the
    // row's previous entry (keyed by its previous highest sequence) goes.
    if (info.indexed_seq != 0) {
      Statement& del = db.Cached(
          "DELETE FROM row_seq WHERE max_seq = ?1 AND entity = ?2 AND row_id = ?3");
      del.Bind(1, static_cast<int64_t>(info.indexed_seq))
          .Bind(2, std::string_view(key.first))
          .Bind(3, std::string_view(key.second));
      if (Status s = del.Run(); !s.ok()) return s;
      if (db.Changes() != 1) {
        // The index no longer matches the rows: refuse the set (nothing of
        // it is kept) rather than lose a row from every device's pulls.
        return Status::Corruption(
            "the pull index has no entry " + std::to_string(info.indexed_seq) +
            " for " + key.first + " " + key.second + "; the server database "
            "needs repair (docs/operations.md)");
      }
    }
    Statement& st = db.Cached(
        "INSERT INTO row_seq (entity, row_id, max_seq, district_code) "
        "VALUES (?1, ?2, ?3, ?4)");
    st.Bind(1, std::string_view(key.first))
        .Bind(2, std::string_view(key.second))
        .Bind(3, static_cast<int64_t>(info.max_seq));
    if (info.district_after.empty()) {
      st.BindNull(4);
    } else {
      st.Bind(4, std::string_view(info.district_after));
    }
    if (Status s = st.Run(); !s.ok()) return s;
  }

  // 4. Conflicts, each with a fresh feed sequence after the rows'.
  applied.conflicts = sink.events.size();
  if (sink.events.empty()) return applied;
  Result<uint64_t> feed = store.TakeSeqs(sink.events.size());
  if (!feed.ok()) return feed.status();
  const std::string now = store.NowIso();
  for (size_t k = 0; k < sink.events.size(); ++k) {
    const ConflictEvent& e = sink.events[k];
    const RowInfo& info = rows[RowKey(e.entity, e.row_id.ToString())];
    Statement& st = db.Cached(
        "INSERT INTO conflict (id, entity, row_id, column_name, district_code, "
        "current_value, current_type, current_device, current_hlc, "
        "current_seq, "
        "incoming_value, incoming_type, incoming_device, incoming_hlc, "
        "incoming_base, incoming_seq, winner, detected_at, feed_seq) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
        "?16, "
        "?17, ?18, ?19)");
    st.Bind(1, std::string_view(Uuid::Random().ToString()))
        .Bind(2, std::string_view(e.entity))
        .Bind(3, std::string_view(e.row_id.ToString()))
        .Bind(4, std::string_view(e.column));
    if (info.district_after.empty()) {
      st.BindNull(5);
    } else {
      st.Bind(5, std::string_view(info.district_after));
    }
    BindDisplay(st, 6, e.current.value);
    st.Bind(7, std::string_view(TypeName(e.current.value.type())))
        .Bind(8, std::string_view(e.current.hlc.device.ToString()))
        .Bind(9, std::string_view(e.current.hlc.ToString()))
        .Bind(10, static_cast<int64_t>(e.current_seq));
    BindDisplay(st, 11, e.incoming.value);
    st.Bind(12, std::string_view(TypeName(e.incoming.value.type())))
        .Bind(13, std::string_view(e.incoming.hlc.device.ToString()))
        .Bind(14, std::string_view(e.incoming.hlc.ToString()))
        .Bind(15, static_cast<int64_t>(e.incoming_base))
        .Bind(16, static_cast<int64_t>(e.incoming_seq))
        .Bind(17, std::string_view(e.incoming_won ? "incoming" : "current"))
        .Bind(18, std::string_view(now))
        .Bind(19, static_cast<int64_t>(*feed + k));
    if (Status s = st.Run(); !s.ok()) return s;
  }
  return applied;
}

std::string SignedReceiptJson(const KeyPair& key, const protocol::Receipt& r) {
  const Signature signature =
      key.Sign(kReceiptDomain, protocol::ReceiptMessage(r));
  const nlohmann::json body = {{"receipt",
                                {{"device_id", r.device_id},
                                 {"seq", r.seq},
                                 {"hash", r.hash},
                                 {"first_server_seq", r.first_server_seq},
                                 {"last_server_seq", r.last_server_seq},
                                 {"rows", r.rows},
                                 {"conflicts", r.conflicts},
                                 {"received_at", r.received_at}}},
                               {"signature", SignatureToHex(signature)}};
  return body.dump();
}

Status AppendToLog(Db& db, const protocol::Receipt& r, const Sha256Digest& hash,
                   std::string_view bytes, const Signature& signature,
                   std::string_view response_json) {
  Statement& st = db.Cached(
      "INSERT INTO change_set_log (device_id, seq, hash, bytes, signature, "
      "received_at, first_server_seq, receipt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
      "?7, ?8)");
  st.Bind(1, std::string_view(r.device_id))
      .Bind(2, static_cast<int64_t>(r.seq))
      .BindBlob(3, std::string_view(reinterpret_cast<const char*>(hash.data()),
                                    hash.size()))
      .BindBlob(4, bytes)
      .BindBlob(
          5, std::string_view(reinterpret_cast<const char*>(signature.data()),
                              signature.size()))
      .Bind(6, std::string_view(r.received_at))
      .Bind(7, static_cast<int64_t>(r.first_server_seq))
      .Bind(8, response_json);
  return st.Run();
}

}  // namespace kbo::server
