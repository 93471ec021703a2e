#include "server/storage/change_log.h"

#include <algorithm>
#include <functional>
#include <tuple>
#include <utility>

#include "server/storage/sql_parts.h"
#include "shared/compression.h"
#include "shared/protocol.h"

namespace kbo::server::storage {
namespace {

// True if `haystack` holds `needle` somewhere.
bool Contains(std::string_view haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(),
                     std::boyer_moore_horspool_searcher(needle.begin(),
                                                        needle.end())) !=
         haystack.end();
}

// The verbatim set of a log row kept as a zstd frame (`stored`); a frame
// that does not decompress is named by its device and sequence.
Result<std::string> Decompressed(std::string_view stored, std::string_view device_id,
                                 uint64_t seq) {
  Result<std::string> plain =
      compression::ZstdDecompress(stored, protocol::kMaxPushBytes, "a logged change set");
  if (!plain.ok()) {
    return Status::Corruption("change set " + std::to_string(seq) + " of device " +
                              std::string(device_id) +
                              " in the log is damaged: " + plain.status().message());
  }
  return plain;
}

}  // namespace

Status ChangeLog::Append(const LogEntry& set) {
  // Kept as one zstd frame (bytes_zstd = 1): about a tenth of the set's
  // bytes, written once to the WAL and once to the file, instead of all of
  // them twice (docs/decisions.md "The change set log, compressed").
  const std::string frame = compression::ZstdCompress(set.bytes);
  Statement& st = db_.Cached(
      "INSERT INTO change_set_log (device_id, seq, hash, bytes, signature, "
      "received_at, first_server_seq, receipt, bytes_zstd) VALUES (?1, ?2, ?3, "
      "?4, ?5, ?6, ?7, ?8, 1)");
  st.Bind(1, set.device_id)
      .Bind(2, static_cast<int64_t>(set.seq))
      .BindBlob(3, set.hash)
      .BindBlob(4, std::string_view(frame))
      .BindBlob(5, set.signature)
      .Bind(6, set.received_at)
      .Bind(7, static_cast<int64_t>(set.first_server_seq))
      .Bind(8, set.receipt);
  return st.Run();
}

Result<std::optional<LoggedReceipt>> ChangeLog::Receipt(std::string_view device_id,
                                                        uint64_t seq) {
  Statement& st = db_.Cached(
      "SELECT hash, receipt FROM change_set_log WHERE device_id = ?1 AND seq "
      "= ?2");
  st.Bind(1, device_id).Bind(2, static_cast<int64_t>(seq));
  if (!st.Step()) {
    if (!st.status().ok()) return st.status();
    return std::optional<LoggedReceipt>();
  }
  LoggedReceipt out;
  out.hash = st.ColumnBlob(0);
  out.receipt = st.ColumnText(1);
  if (Status s = st.Reset(); !s.ok()) return s;
  return std::optional<LoggedReceipt>(std::move(out));
}

Result<std::optional<LatestSet>> ChangeLog::Latest(std::string_view device_id) {
  Statement& st = db_.Cached(
      "SELECT seq, hash FROM change_set_log WHERE device_id = ?1 "
      "ORDER BY seq DESC LIMIT 1");
  st.Bind(1, device_id);
  std::optional<LatestSet> out;
  if (st.Step()) {
    out.emplace();
    out->seq = static_cast<uint64_t>(st.ColumnInt(0));
    out->hash = st.ColumnBlob(1);
  }
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return out;
}

Result<LoggedSets> ChangeLog::SetsMentioning(std::string_view needle,
                                             size_t max_sets, size_t max_bytes) {
  // A set logged as it came (bytes_zstd = 0) is searched by the database; a
  // compressed one is decompressed here and searched. Every set is read,
  // one at a time, as the plain search read them all before.
  Statement& st = db_.Cached(
      "SELECT device_id, seq, bytes, first_server_seq, received_at, bytes_zstd "
      "FROM change_set_log WHERE bytes_zstd = 1 OR instr(bytes, ?1) > 0 "
      "ORDER BY first_server_seq DESC, received_at DESC");
  st.BindBlob(1, needle);
  LoggedSets out;
  size_t bytes = 0;
  Status failed;
  while (st.Step()) {
    std::string set_bytes = st.ColumnBlob(2);
    if (st.ColumnInt(5) != 0) {
      Result<std::string> plain = Decompressed(
          set_bytes, st.ColumnText(0), static_cast<uint64_t>(st.ColumnInt(1)));
      if (!plain.ok()) {
        failed = plain.status();
        break;
      }
      if (!Contains(*plain, needle)) continue;
      set_bytes = std::move(*plain);
    }
    if (out.sets.size() == max_sets) {
      out.truncated = true;
      break;
    }
    bytes += set_bytes.size();
    if (bytes > max_bytes) {
      out.truncated = true;
      break;
    }
    LoggedSet c;
    c.bytes = std::move(set_bytes);
    c.device_id = st.ColumnText(0);
    c.seq = static_cast<uint64_t>(st.ColumnInt(1));
    c.first_server_seq = static_cast<uint64_t>(st.ColumnInt(3));
    c.received_at = st.ColumnText(4);
    out.sets.push_back(std::move(c));
  }
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  if (!failed.ok()) return failed;
  return out;
}

Result<std::string> ChangeLog::SetBytes(std::string_view device_id, uint64_t seq) {
  Statement& st = db_.Cached(
      "SELECT bytes, bytes_zstd FROM change_set_log WHERE device_id = ?1 AND "
      "seq = ?2");
  st.Bind(1, device_id).Bind(2, static_cast<int64_t>(seq));
  if (!st.Step()) {
    if (!st.status().ok()) return st.status();
    return Status::NotFound("the log has no change set " + std::to_string(seq) +
                            " of device " + std::string(device_id));
  }
  std::string stored = st.ColumnBlob(0);
  const bool zstd = st.ColumnInt(1) != 0;
  if (Status s = st.Reset(); !s.ok()) return s;
  if (!zstd) return stored;
  return Decompressed(stored, device_id, seq);
}

Result<std::vector<std::pair<std::tuple<std::string, uint64_t, uint64_t>, uint64_t>>>
RefusedRows::OfRow(std::string_view entity, std::string_view row_id) {
  Statement& st = db_.Cached(
      "SELECT device_id, seq, row_index, applied_seq FROM refused_row "
      "WHERE entity = ?1 AND row_id = ?2");
  st.Bind(1, entity).Bind(2, row_id);
  std::vector<std::pair<std::tuple<std::string, uint64_t, uint64_t>, uint64_t>> out;
  while (st.Step()) {
    out.push_back({{st.ColumnText(0), static_cast<uint64_t>(st.ColumnInt(1)),
                    static_cast<uint64_t>(st.ColumnInt(2))},
                   st.IsNull(3) ? 0 : static_cast<uint64_t>(st.ColumnInt(3))});
  }
  if (!st.status().ok()) return st.status();
  return out;
}

Result<std::vector<RefusedRowView>> RefusedRows::List(bool include_settled) {
  Statement st(db_,
               std::string("SELECT r.device_id, d.role, r.seq, r.row_index, "
                           "r.entity, r.row_id, r.reason, r.message, r.cells, "
                           "r.refused_at, r.settled_at, r.settled_seq FROM "
                           "refused_row r LEFT JOIN device d ON d.device_id = "
                           "r.device_id ") +
                   (include_settled ? "" : "WHERE r.settled_at IS NULL ") +
                   "ORDER BY r.refused_at DESC, r.device_id, r.seq, r.row_index");
  std::vector<RefusedRowView> out;
  while (st.Step()) {
    RefusedRowView v;
    v.row.device_id = st.ColumnText(0);
    if (!st.IsNull(1)) v.role = st.ColumnText(1);
    v.row.seq = static_cast<uint64_t>(st.ColumnInt(2));
    v.row.row_index = static_cast<uint64_t>(st.ColumnInt(3));
    v.row.entity = st.ColumnText(4);
    v.row.row_id = st.ColumnText(5);
    v.row.reason = st.ColumnText(6);
    v.row.message = st.ColumnText(7);
    v.row.cells_json = st.ColumnText(8);
    v.row.refused_at = st.ColumnText(9);
    if (!st.IsNull(10)) v.settled_at = st.ColumnText(10);
    if (!st.IsNull(11)) v.settled_seq = st.ColumnInt(11);
    out.push_back(std::move(v));
  }
  if (!st.status().ok()) return st.status();
  return out;
}

Status RefusedRows::Insert(const RefusedRowRecord& r) {
  Statement& st = db_.Cached(
      "INSERT INTO refused_row (device_id, seq, row_index, entity, row_id, "
      "reason, message, cells, refused_at, waits_entity, waits_row_id) VALUES "
      "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  st.Bind(1, std::string_view(r.device_id))
      .Bind(2, static_cast<int64_t>(r.seq))
      .Bind(3, static_cast<int64_t>(r.row_index))
      .Bind(4, std::string_view(r.entity))
      .Bind(5, std::string_view(r.row_id))
      .Bind(6, std::string_view(r.reason))
      .Bind(7, std::string_view(r.message))
      .Bind(8, std::string_view(r.cells_json))
      .Bind(9, std::string_view(r.refused_at));
  if (r.waits_row_id.empty()) {
    st.BindNull(10).BindNull(11);
  } else {
    st.Bind(10, std::string_view(r.waits_entity)).Bind(11, std::string_view(r.waits_row_id));
  }
  return st.Run();
}

Result<OpenRefusal> RefusedRows::OpenOf(std::string_view device_id, std::string_view entity,
                                        std::string_view row_id) {
  Statement& st = db_.Cached(
      "SELECT count(*), count(waits_row_id) FROM refused_row WHERE device_id = ?1 AND "
      "entity = ?2 AND row_id = ?3 AND settled_at IS NULL");
  st.Bind(1, device_id).Bind(2, entity).Bind(3, row_id);
  OpenRefusal out;
  if (st.Step()) {
    out.open = st.ColumnInt(0) > 0;
    out.waiting = st.ColumnInt(1) > 0;
  }
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return out;
}

Result<bool> RefusedRows::AnyWaiting() {
  Statement& any = db_.Cached(
      "SELECT EXISTS (SELECT 1 FROM refused_row WHERE waits_row_id IS NOT NULL "
      "AND settled_at IS NULL)");
  const bool waiting = any.Step() && any.ColumnInt(0) != 0;
  if (!any.status().ok()) return any.status();
  if (Status s = any.Reset(); !s.ok()) return s;
  return waiting;
}

Result<std::vector<WaitingRefusal>> RefusedRows::WaitingFor(
    const std::vector<std::pair<std::string, std::string>>& rows) {
  std::vector<WaitingRefusal> out;
  for (size_t from = 0; from < rows.size(); from += kIdsPerQuery) {
    const size_t n = std::min(kIdsPerQuery, rows.size() - from);
    Statement st(db_, "SELECT device_id, seq, row_index, waits_entity, waits_row_id, "
                      "entity, row_id "
                      "FROM refused_row WHERE settled_at IS NULL AND waits_row_id IN (" +
                          Placeholders(n) + ")");
    if (!st.status().ok()) return st.status();
    for (size_t i = 0; i < n; ++i) {
      st.Bind(static_cast<int>(i + 1), std::string_view(rows[from + i].second));
    }
    while (st.Step()) {
      const std::string entity = st.ColumnText(3);
      const std::string id = st.ColumnText(4);
      // The id matched; the entity must too.
      if (std::find(rows.begin(), rows.end(), std::make_pair(entity, id)) == rows.end()) {
        continue;
      }
      out.push_back({st.ColumnText(0), static_cast<uint64_t>(st.ColumnInt(1)),
                     static_cast<uint64_t>(st.ColumnInt(2)), entity, id, st.ColumnText(5),
                     st.ColumnText(6)});
    }
    if (!st.status().ok()) return st.status();
  }
  std::sort(out.begin(), out.end(), [](const WaitingRefusal& a, const WaitingRefusal& b) {
    return std::tie(a.device_id, a.seq, a.row_index) <
           std::tie(b.device_id, b.seq, b.row_index);
  });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const WaitingRefusal& a, const WaitingRefusal& b) {
                          return a.device_id == b.device_id && a.seq == b.seq &&
                                 a.row_index == b.row_index;
                        }),
            out.end());
  return out;
}

Status RefusedRows::SettleApplied(const WaitingRefusal& w, std::string_view now_iso,
                                  uint64_t applied_seq) {
  Statement& st = db_.Cached(
      "UPDATE refused_row SET settled_at = ?4, settled_seq = ?2, applied_seq = ?5 WHERE "
      "device_id = ?1 AND seq = ?2 AND row_index = ?3 AND settled_at IS NULL");
  st.Bind(1, std::string_view(w.device_id))
      .Bind(2, static_cast<int64_t>(w.seq))
      .Bind(3, static_cast<int64_t>(w.row_index))
      .Bind(4, now_iso)
      .Bind(5, static_cast<int64_t>(applied_seq));
  if (Status s = st.Run(); !s.ok()) return s;
  return st.Reset();
}

Status RefusedRows::Rerefuse(const WaitingRefusal& w, std::string_view reason,
                             std::string_view message, std::string_view waits_entity,
                             std::string_view waits_row_id) {
  Statement& st = db_.Cached(
      "UPDATE refused_row SET reason = ?4, message = ?5, waits_entity = ?6, "
      "waits_row_id = ?7 WHERE device_id = ?1 AND seq = ?2 AND row_index = ?3");
  st.Bind(1, std::string_view(w.device_id))
      .Bind(2, static_cast<int64_t>(w.seq))
      .Bind(3, static_cast<int64_t>(w.row_index))
      .Bind(4, reason)
      .Bind(5, message);
  if (waits_row_id.empty()) {
    st.BindNull(6).BindNull(7);
  } else {
    st.Bind(6, waits_entity).Bind(7, waits_row_id);
  }
  if (Status s = st.Run(); !s.ok()) return s;
  return st.Reset();
}

Result<bool> RefusedRows::AnyOpen(std::string_view device_id) {
  Statement& any = db_.Cached(
      "SELECT EXISTS (SELECT 1 FROM refused_row WHERE device_id = ?1 AND "
      "settled_at IS NULL)");
  any.Bind(1, device_id);
  const bool open = any.Step() && any.ColumnInt(0) != 0;
  if (!any.status().ok()) return any.status();
  if (Status s = any.Reset(); !s.ok()) return s;
  return open;
}

Result<int64_t> RefusedRows::CountOpen(std::string_view device_id) {
  Statement& st = db_.Cached(
      "SELECT count(*) FROM refused_row WHERE device_id = ?1 AND "
      "settled_at IS NULL");
  st.Bind(1, device_id);
  const int64_t open = st.Step() ? st.ColumnInt(0) : 0;
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return open;
}

Status RefusedRows::SettleInSet(std::string_view device_id, uint64_t seq,
                                uint64_t row_index, std::string_view now_iso) {
  Statement& st = db_.Cached(
      "UPDATE refused_row SET settled_at = ?4, settled_seq = ?2 WHERE "
      "device_id = ?1 AND seq = ?2 AND row_index = ?3 AND settled_at IS NULL");
  st.Bind(1, device_id)
      .Bind(2, static_cast<int64_t>(seq))
      .Bind(3, static_cast<int64_t>(row_index))
      .Bind(4, now_iso);
  if (Status s = st.Run(); !s.ok()) return s;
  return st.Reset();
}

Status RefusedRows::Settle(std::string_view device_id, std::string_view entity,
                           std::string_view row_id, uint64_t seq,
                           std::string_view now_iso) {
  Statement& st = db_.Cached(
      "UPDATE refused_row SET settled_at = ?5, settled_seq = ?4 WHERE "
      "device_id = ?1 AND entity = ?2 AND row_id = ?3 AND settled_at IS NULL "
      "AND seq < ?4 AND waits_row_id IS NULL");
  st.Bind(1, device_id)
      .Bind(2, entity)
      .Bind(3, row_id)
      .Bind(4, static_cast<int64_t>(seq))
      .Bind(5, now_iso);
  if (Status s = st.Run(); !s.ok()) return s;
  return st.Reset();
}

}  // namespace kbo::server::storage
