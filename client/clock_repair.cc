#include "client/clock_repair.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "client/outbox.h"
#include "client/outbox_codec.h"
#include "shared/change_set_codec.h"
#include "shared/entities.h"
#include "shared/error_body.h"
#include "shared/labels.h"
#include "shared/protocol.h"
#include "shared/replica/apply.h"
#include "shared/sqlite/db.h"

namespace kbo::client {
namespace {

// An outbox entry as far as re-dating is concerned.
struct Entry {
  int64_t id = 0;
  int64_t sealed = 0;      // rows in sealed change sets
  int64_t row_count = 0;
  bool fully_sealed = false;
};

using RowKey = std::tuple<std::string, Uuid, Hlc>;

Result<std::vector<RowChange>> LoadEntry(Db& db, int64_t id) {
  Statement st(db, "SELECT cells FROM outbox_cells WHERE id = ?1");
  st.Bind(1, id);
  if (!st.Step()) {
    if (!st.status().ok()) return st.status();
    return Status::Corruption("outbox entry " + std::to_string(id) + " vanished");
  }
  Result<std::vector<RowChange>> rows = DecodeOutboxEntry(st.ColumnBlob(0));
  if (!rows.ok()) {
    return Status::Corruption("outbox entry " + std::to_string(id) +
                              " in field.db is damaged");
  }
  return rows;
}

// Adds the date-time cells of `r` dated after `after_ms` to `out`, one per
// row and column (a later change's value replaces an earlier one's; a later
// change that corrects it, or clears it, removes it).
void NoteFutureValues(const RowChange& r, int64_t after_ms,
                      std::vector<FutureValue>* out) {
  const Entity* entity = FindEntity(r.entity);
  if (entity == nullptr) return;
  for (const CellWrite& c : r.cells) {
    const Column* column = entity->FindColumn(c.column);
    if (column == nullptr || column->type != ColumnType::kDateTime) continue;
    auto same = std::find_if(out->begin(), out->end(), [&](const FutureValue& f) {
      return f.entity == r.entity && f.row_id == r.row_id && f.column == c.column;
    });
    if (same != out->end()) out->erase(same);
    if (c.value.type() != Value::Type::kText) continue;
    const std::optional<int64_t> at = ParseIsoUtcMillis(c.value.text());
    if (!at.has_value() || *at <= after_ms) continue;
    out->push_back(FutureValue{r.entity, r.row_id, c.column, c.value.text()});
  }
}

// Opens again every unacknowledged change set from `from_seq` on (none for
// 0): their outbox rows back to pending, the sets and their bytes deleted.
// The server holds none of them (it refused `from_seq`, or holds another
// set under its number); they must form the tail of the chain
// (kFailedPrecondition if a later set is acknowledged). Inside the caller's
// transaction. Returns how many sets were opened.
Result<uint64_t> OpenUnackedTail(Db& db, uint64_t from_seq) {
  std::vector<int64_t> open_seqs;
  if (from_seq > 0) {
    Statement st(db, "SELECT seq, acked_at IS NOT NULL FROM change_set "
                     "WHERE seq >= ?1 ORDER BY seq");
    st.Bind(1, static_cast<int64_t>(from_seq));
    while (st.Step()) {
      if (st.ColumnInt(1) != 0) {
        return Status::FailedPrecondition(
            "change set " + std::to_string(st.ColumnInt(0)) +
            " is confirmed by the server, so change set " +
            std::to_string(from_seq) + " cannot be re-dated");
      }
      open_seqs.push_back(st.ColumnInt(0));
    }
    if (!st.status().ok()) return st.status();
    if (open_seqs.empty() || open_seqs.front() != static_cast<int64_t>(from_seq)) {
      return Status::NotFound("this device has no change set " +
                              std::to_string(from_seq) + " to re-date");
    }
  }
  std::vector<RowKey> opened_rows;
  for (int64_t seq : open_seqs) {
    Result<ChangeSet> cs = LoadSealedSet(db, seq);
    if (!cs.ok()) return cs.status();
    for (const RowChange& r : cs->rows) opened_rows.emplace_back(r.entity, r.row_id, r.hlc);
  }
  // The outbox rows they hold: the last opened_rows.size() sealed rows, in
  // entry order (sets are sealed from the oldest pending rows on).
  std::vector<Entry> touched;  // newest first while walking back
  {
    int64_t left = static_cast<int64_t>(opened_rows.size());
    Statement st(db, "SELECT id, row_count, sealed_rows, change_set_seq IS NOT NULL "
                     "FROM outbox WHERE sealed_rows > 0 OR change_set_seq IS NOT NULL "
                     "ORDER BY id DESC");
    while (left > 0 && st.Step()) {
      Entry e;
      e.id = st.ColumnInt(0);
      e.row_count = st.ColumnInt(1);
      e.fully_sealed = st.ColumnInt(3) != 0;
      e.sealed = e.fully_sealed ? e.row_count : st.ColumnInt(2);
      if (e.sealed <= 0 || e.sealed > e.row_count) {
        return Status::Corruption("outbox entry " + std::to_string(e.id) +
                                  " in field.db is damaged");
      }
      const int64_t k = std::min(left, e.sealed);
      left -= k;
      e.sealed -= k;  // what stays sealed
      touched.push_back(e);
    }
    if (!st.status().ok()) return st.status();
    if (left > 0) {
      return Status::Corruption(
          "the outbox holds fewer sealed rows than change sets " +
          std::to_string(from_seq) + " on; nothing was changed");
    }
  }
  std::reverse(touched.begin(), touched.end());
  {
    std::vector<RowKey> outbox_rows;
    for (const Entry& e : touched) {
      Result<std::vector<RowChange>> rows = LoadEntry(db, e.id);
      if (!rows.ok()) return rows.status();
      if (static_cast<int64_t>(rows->size()) != e.row_count) {
        return Status::Corruption("outbox entry " + std::to_string(e.id) +
                                  " in field.db is damaged");
      }
      // Rows [e.sealed, old sealed) were in the opened sets; the old count
      // is what the walk took plus what stays.
      for (size_t i = static_cast<size_t>(e.sealed);
           i < rows->size() && outbox_rows.size() < opened_rows.size(); ++i) {
        const RowChange& r = (*rows)[i];
        outbox_rows.emplace_back(r.entity, r.row_id, r.hlc);
      }
    }
    if (outbox_rows != opened_rows) {
      return Status::Corruption(
          "the sealed change sets from " + std::to_string(from_seq) +
          " do not match the outbox; nothing was changed");
    }
    Statement up(db, "UPDATE outbox SET sealed_rows = ?2, change_set_seq = NULL "
                     "WHERE id = ?1");
    for (const Entry& e : touched) {
      (void)up.Reset();
      up.Bind(1, e.id).Bind(2, e.sealed);
      if (Status s = up.Run(); !s.ok()) return s;
    }
    if (!open_seqs.empty()) {
      Statement del_bytes(db, "DELETE FROM change_set_bytes WHERE seq >= ?1");
      del_bytes.Bind(1, static_cast<int64_t>(from_seq));
      if (Status s = del_bytes.Run(); !s.ok()) return s;
      Statement del(db, "DELETE FROM change_set WHERE seq >= ?1 AND acked_at IS NULL");
      del.Bind(1, static_cast<int64_t>(from_seq));
      if (Status s = del.Run(); !s.ok()) return s;
    }
  }
  return static_cast<uint64_t>(open_seqs.size());
}

}  // namespace

Result<RedateResult> RedateFutureChanges(ClientStore& store, uint64_t from_seq) {
  Db& db = store.db();
  const Uuid& device = store.device_id();
  const int64_t now = store.wall().NowMillis();
  RedateResult result;
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();

  // 1. The sets to open again: the unacknowledged tail from `from_seq`.
  Result<uint64_t> opened = OpenUnackedTail(db, from_seq);
  if (!opened.ok()) return opened.status();
  result.unsealed_sets = *opened;

  // 2. The pending rows, and which of them are dated after now.
  struct PendingEntry {
    int64_t id;
    int64_t first;  // first pending row
    std::vector<RowChange> rows;
  };
  std::vector<PendingEntry> pending;
  std::set<Hlc> future;
  Hlc kept;  // newest pending hlc that is not in the future
  {
    Statement st(db, "SELECT id, sealed_rows FROM outbox WHERE change_set_seq IS NULL "
                     "ORDER BY id");
    while (st.Step()) {
      PendingEntry p{st.ColumnInt(0), st.ColumnInt(1), {}};
      Result<std::vector<RowChange>> rows = LoadEntry(db, p.id);
      if (!rows.ok()) return rows.status();
      p.rows = std::move(rows).value();
      if (p.first < 0 || p.first > static_cast<int64_t>(p.rows.size())) {
        return Status::Corruption("outbox entry " + std::to_string(p.id) +
                                  " in field.db is damaged");
      }
      bool any = false;
      for (size_t i = static_cast<size_t>(p.first); i < p.rows.size(); ++i) {
        const Hlc& h = p.rows[i].hlc;
        if (h.device == device && h.wall_ms > now) {
          future.insert(h);
          any = true;
        } else if (h > kept) {
          kept = h;
        }
      }
      if (any) pending.push_back(std::move(p));
    }
    if (!st.status().ok()) return st.status();
  }

  // 3. The base: the newest hlc this device must stay after.
  Hlc base{now, 0, device};
  base = std::max(base, kept);
  {
    Result<Hlc> cells =
        NewestCellHlc(db, [&future](const Hlc& h) { return future.count(h) != 0; });
    if (!cells.ok()) return cells.status();
    base = std::max(base, *cells);
    // The last set that stays sealed holds this device's newest hlc the
    // server may hold (sets are sealed in hlc order).
    Statement st(db, "SELECT seq FROM change_set ORDER BY seq DESC LIMIT 1");
    if (st.Step()) {
      Result<ChangeSet> last = LoadSealedSet(db, st.ColumnInt(0));
      if (!last.ok()) return last.status();
      for (const RowChange& r : last->rows) base = std::max(base, r.hlc);
    }
    if (!st.status().ok()) return st.status();
  }

  // 4. New hlcs in the order of the old ones.
  std::map<Hlc, Hlc> remap;
  Hlc newest = base;
  {
    HybridClock fresh(&store.wall(), device, base);
    for (const Hlc& old : future) {
      if (old <= base) continue;  // behind something that stays: keep it
      const Hlc next = fresh.Now();
      if (next != old) {
        remap.emplace(old, next);
        result.ahead_until_ms = std::max(result.ahead_until_ms, old.wall_ms);
      }
    }
    newest = fresh.State();
  }
  if (remap.empty()) {
    // Nothing to re-date: leave everything as it was (the sets stay sealed).
    RedateResult none;
    none.clock = store.clock().State();
    return none;  // the transaction rolls back
  }

  // 5. The outbox entries and the cell versions that carry an old hlc.
  std::set<std::pair<std::string, Uuid>> rows_touched;
  {
    Statement up(db, "UPDATE outbox_cells SET cells = ?2 WHERE id = ?1");
    for (PendingEntry& p : pending) {
      OutboxEntryWriter writer(device);
      bool changed = false;
      for (size_t i = 0; i < p.rows.size(); ++i) {
        RowChange& r = p.rows[i];
        if (static_cast<int64_t>(i) >= p.first) {
          auto it = remap.find(r.hlc);
          if (it != remap.end()) {
            rows_touched.emplace(r.entity, r.row_id);
            r.hlc = it->second;
            ++result.redated_rows;
            changed = true;
            NoteFutureValues(r, now + kClockAgreementMs, &result.future_values);
          }
        }
        writer.Add(r);
      }
      if (!changed) continue;
      const std::string encoded = writer.Finish();
      (void)up.Reset();
      up.Bind(1, p.id).BindBlob(2, encoded);
      if (Status s = up.Run(); !s.ok()) return s;
    }
  }
  for (const auto& [entity, id] : rows_touched) {
    size_t n = 0;
    if (Status s = RemapCellHlcs(db, entity, id, remap, &n); !s.ok()) return s;
    result.cells_updated += n;
  }

  // 6. The clock, persisted with what it stamped.
  const Hlc before = store.clock().State();
  store.ResetClock(newest);
  if (Status s = store.SaveClock(/*may_go_back=*/true); !s.ok()) {
    store.ResetClock(before);
    return s;
  }
  if (Status s = txn.Commit(); !s.ok()) {
    store.ResetClock(before);
    return s;
  }
  result.clock = newest;
  return result;
}

Result<MoveResult> MoveToNewDevice(ClientStore& store, const Uuid& device,
                                   const KeyPair& key) {
  Db& db = store.db();
  // The clock as persisted (another kbo on this home may have gone further).
  if (Status s = store.RefreshFromDisk(); !s.ok()) return s;
  const Uuid old = store.device_id();
  MoveResult result;
  if (device == old || device.IsNil()) {
    return Status::InvalidArgument("a new device id is needed to move to");
  }
  // 1. The unacknowledged sets, opened again.
  {
    Statement st(db, "SELECT MIN(seq) FROM change_set WHERE acked_at IS NULL");
    if (st.Step() && !st.IsNull(0)) {
      Result<uint64_t> opened =
          OpenUnackedTail(db, static_cast<uint64_t>(st.ColumnInt(0)));
      if (!opened.ok()) return opened.status();
      result.unsealed_sets = *opened;
    }
    if (!st.status().ok()) return st.status();
  }
  // 2. The acknowledged ones: the old identity's, held by the server.
  {
    Statement count(db, "SELECT COUNT(*) FROM change_set");
    if (count.Step()) result.dropped_sets = static_cast<uint64_t>(count.ColumnInt(0));
    if (!count.status().ok()) return count.status();
    if (Status s = db.Exec("DELETE FROM change_set_bytes; DELETE FROM change_set");
        !s.ok()) {
      return s;
    }
    // Refusals of the old identity's sets keep their order below every set
    // the new identity sends (-1 the newest): numbered as they were, the new
    // set 1 would write over a kept refusal, and none would be settled when
    // its row goes again and is taken. (Two steps: no number is ever taken
    // twice on the way.)
    if (Status s = db.Exec(
            "UPDATE refused_row SET seq = seq - 4000000000000;"
            "UPDATE refused_row SET seq = seq - (SELECT MAX(seq) FROM refused_row) - 1");
        !s.ok()) {
      return s;
    }
  }
  // 3. The pending row changes of the old device, stamped by the new one.
  std::map<Hlc, Hlc> remap;
  std::set<std::pair<std::string, Uuid>> rows_touched;
  {
    std::vector<std::pair<int64_t, std::vector<RowChange>>> entries;
    Statement st(db, "SELECT id, sealed_rows FROM outbox WHERE change_set_seq IS NULL "
                     "ORDER BY id");
    while (st.Step()) {
      const int64_t id = st.ColumnInt(0);
      const int64_t first = st.ColumnInt(1);
      Result<std::vector<RowChange>> rows = LoadEntry(db, id);
      if (!rows.ok()) return rows.status();
      if (first < 0 || first > static_cast<int64_t>(rows->size())) {
        return Status::Corruption("outbox entry " + std::to_string(id) +
                                  " in field.db is damaged");
      }
      bool changed = false;
      for (size_t i = static_cast<size_t>(first); i < rows->size(); ++i) {
        RowChange& r = (*rows)[i];
        if (r.hlc.device != old) continue;
        Hlc moved = r.hlc;
        moved.device = device;
        remap.emplace(r.hlc, moved);
        rows_touched.emplace(r.entity, r.row_id);
        r.hlc = moved;
        ++result.moved_rows;
        changed = true;
      }
      if (changed) entries.emplace_back(id, std::move(rows).value());
    }
    if (!st.status().ok()) return st.status();
    Statement up(db, "UPDATE outbox_cells SET cells = ?2 WHERE id = ?1");
    for (const auto& [id, rows] : entries) {
      OutboxEntryWriter writer(device);
      for (const RowChange& r : rows) writer.Add(r);
      const std::string encoded = writer.Finish();
      (void)up.Reset();
      up.Bind(1, id).BindBlob(2, encoded);
      if (Status s = up.Run(); !s.ok()) return s;
    }
  }
  for (const auto& [entity, id] : rows_touched) {
    size_t n = 0;
    if (Status s = RemapCellHlcs(db, entity, id, remap, &n); !s.ok()) return s;
    result.cells_updated += n;
  }
  // 4. The identity, its clock, and no fork any more.
  result.clock = store.clock().State();
  result.clock.device = device;
  {
    Statement up(db, "UPDATE device SET device_id = ?1, public_key = ?2 WHERE singleton = 1");
    up.Bind(1, std::string_view(device.ToString()))
        .Bind(2, std::string_view(key.public_key().ToHex()));
    if (Status s = up.Run(); !s.ok()) return s;
    Statement clock(db, "UPDATE clock_state SET hlc = ?1 WHERE singleton = 1");
    clock.Bind(1, std::string_view(result.clock.ToString()));
    if (Status s = clock.Run(); !s.ok()) return s;
    if (Status s = db.Exec("UPDATE sync_state SET forked_seq = NULL"); !s.ok()) return s;
  }
  return result;
}

std::optional<int64_t> ServerClockOf(const std::string& json_body,
                                     const std::string* date_header) {
  Status said;  // the error body (shared/error_body.h)
  if (ParseErrorBody(json_body, /*http_status=*/400, &said).ok()) {
    const int64_t* server_ms = said.IntegerField(field::kServerMs);
    if (server_ms != nullptr && *server_ms > 0) return *server_ms;
  }
  if (date_header != nullptr) {
    // "Wed, 02 Dec 2026 22:20:59 GMT"
    struct tm tm {};
    const char* end = strptime(date_header->c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end != nullptr && *end == '\0') {
      const time_t t = timegm(&tm);
      if (t > 0) return static_cast<int64_t>(t) * 1000;
    }
  }
  return std::nullopt;
}

std::string ClockText(int64_t unix_ms) {
  const time_t secs = static_cast<time_t>(unix_ms / 1000);
  struct tm tm_utc {};
  gmtime_r(&secs, &tm_utc);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm_utc);
  return buf;
}

}  // namespace kbo::client
