#include "client/outbox.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "client/outbox_codec.h"
#include "schema/schema.h"
#include "shared/change_set_codec.h"
#include "shared/replica/apply.h"
#include "shared/sqlite/migrate.h"
#include "shared/wire.h"

namespace kbo::client {
namespace {

// Sealed sets matching `where` (bound to `arg`), in order, without their
// bytes (Outbox::LoadBytes reads those).
Result<std::vector<SealedChangeSet>> ReadSealed(Db& db, const std::string& where,
                                                int64_t arg) {
  Statement st(db, "SELECT seq, signature, hash, acked_at IS NOT NULL, row_count "
                   "FROM change_set WHERE " + where + " ORDER BY seq");
  st.Bind(1, arg);
  std::vector<SealedChangeSet> out;
  while (st.Step()) {
    SealedChangeSet s;
    s.seq = static_cast<uint64_t>(st.ColumnInt(0));
    const std::string sig = st.ColumnBlob(1);
    const std::string hash = st.ColumnBlob(2);
    if (sig.size() != s.signature.size() || hash.size() != s.hash.size()) {
      return Status::Corruption("change set " + std::to_string(s.seq) +
                                " in field.db is damaged");
    }
    std::memcpy(s.signature.data(), sig.data(), sig.size());
    std::memcpy(s.hash.data(), hash.data(), hash.size());
    s.acked = st.ColumnInt(3) != 0;
    s.rows = static_cast<uint64_t>(std::max<int64_t>(0, st.ColumnInt(4)));
    out.push_back(std::move(s));
  }
  if (!st.status().ok()) return st.status();
  return out;
}

}  // namespace

Result<std::optional<SealedChangeSet>> Outbox::SealNext(size_t max_rows,
                                                       size_t max_bytes) {
  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();

  ChangeSet cs;
  cs.device = store_.device_id();
  cs.schema_version = static_cast<uint16_t>(
      LatestSchemaVersion(schema::kReplicaMigrations, schema::kReplicaMigrations_count));
  {
    Statement st(db, "SELECT seq, hash FROM change_set ORDER BY seq DESC LIMIT 1");
    if (st.Step()) {
      cs.seq = static_cast<uint64_t>(st.ColumnInt(0)) + 1;
      const std::string hash = st.ColumnBlob(1);
      if (hash.size() != cs.prev_hash.size()) {
        return Status::Corruption("last change set hash in field.db is damaged");
      }
      std::memcpy(cs.prev_hash.data(), hash.data(), hash.size());
    } else {
      cs.seq = 1;
    }
    if (!st.status().ok()) return st.status();
  }
  // Which pending rows go into this set. Entries are taken oldest first;
  // an action (its entries share COALESCE(action_id, id)) goes whole into
  // one set if it fits in max_rows rows and max_bytes bytes. One that does
  // not fit in what is left of the set waits for the next set; one larger
  // than a set is split in order, starting a set of its own. An entry's
  // rows are reckoned at an equal share of its encoded bytes (a set
  // re-encodes them at about that size).
  struct Take {
    int64_t id;
    int64_t first;  // rows [first, first + count) of the entry
    int64_t count;
    int64_t total;  // the entry's row_count
  };
  std::vector<Take> takes;
  std::string encoded;
  size_t row_cap = max_rows;
  for (;;) {
    takes.clear();
    cs.rows.clear();
    const int64_t cap = static_cast<int64_t>(row_cap);
    const double byte_cap = static_cast<double>(max_bytes);
    int64_t taken = 0;
    double taken_bytes = 0;
    bool full = cap == 0;
    struct Pending {
      Take take;
      double row_bytes;  // each of its rows' share of the entry's bytes
    };
    std::vector<Pending> group;  // the pending rows of one action
    int64_t group_key = 0, group_rows = 0;
    double group_bytes = 0;
    // Decides on the action in `group`; false once the set is closed.
    auto decide = [&]() {
      if (group.empty()) return true;
      if (taken + group_rows <= cap && taken_bytes + group_bytes <= byte_cap) {
        for (const Pending& g : group) takes.push_back(g.take);
        taken += group_rows;
        taken_bytes += group_bytes;
      } else if (taken == 0) {
        // Row by row while both caps allow, and always at least one row.
        for (const Pending& g : group) {
          Take t = g.take;
          int64_t n = 0;
          while (n < t.count && taken < cap &&
                 (taken == 0 || taken_bytes + g.row_bytes <= byte_cap)) {
            ++n;
            ++taken;
            taken_bytes += g.row_bytes;
          }
          if (n == 0) break;
          t.count = n;
          takes.push_back(t);
          if (n < g.take.count) break;
        }
        full = true;
      } else {
        full = true;
      }
      group.clear();
      group_rows = 0;
      group_bytes = 0;
      return !full && taken < cap;
    };
    Statement st(db, "SELECT o.id, COALESCE(o.action_id, o.id), o.row_count,"
                     " o.sealed_rows, length(c.cells) FROM outbox o"
                     " LEFT JOIN outbox_cells c ON c.id = o.id"
                     " WHERE o.change_set_seq IS NULL ORDER BY o.id");
    while (!full && st.Step()) {
      const int64_t id = st.ColumnInt(0);
      const int64_t key = st.ColumnInt(1);
      const int64_t total = st.ColumnInt(2);
      const int64_t sealed_rows = st.ColumnInt(3);
      const int64_t bytes = st.ColumnInt(4);
      if (total <= 0 || sealed_rows < 0 || sealed_rows >= total) {
        return Status::Corruption("outbox entry " + std::to_string(id) +
                                  " in field.db is damaged");
      }
      if (!group.empty() && key != group_key && !decide()) break;
      group_key = key;
      const double row_bytes = static_cast<double>(std::max<int64_t>(bytes, 0)) /
                               static_cast<double>(total);
      group.push_back({{id, sealed_rows, total - sealed_rows, total}, row_bytes});
      group_rows += total - sealed_rows;
      group_bytes += row_bytes * static_cast<double>(total - sealed_rows);
    }
    if (!st.status().ok()) return st.status();
    if (!full) decide();
    if (takes.empty()) return std::optional<SealedChangeSet>();

    {
      // Local, trusted bytes, but checked as any: a damaged entry is refused,
      // never signed.
      Statement& cells = db.Cached("SELECT cells FROM outbox_cells WHERE id = ?1");
      for (const Take& t : takes) {
        (void)cells.Reset();
        cells.Bind(1, t.id);
        if (!cells.Step()) {
          if (!cells.status().ok()) return cells.status();
          return Status::Corruption("outbox entry " + std::to_string(t.id) + " vanished");
        }
        Result<std::vector<RowChange>> entry = DecodeOutboxEntry(cells.ColumnBlob(0));
        if (!entry.ok() || entry->size() != static_cast<size_t>(t.total)) {
          return Status::Corruption("outbox entry " + std::to_string(t.id) +
                                    " in field.db is damaged");
        }
        for (int64_t i = t.first; i < t.first + t.count; ++i) {
          cs.rows.push_back(std::move((*entry)[static_cast<size_t>(i)]));
        }
      }
      (void)cells.Reset();
    }
    // The share is an estimate: should the set come out over what any
    // server decodes, it is made again with half the rows.
    encoded = EncodeChangeSet(cs);
    if (cs.rows.size() > 1 && encoded.size() > DecodeLimits{}.max_bytes) {
      row_cap = std::max<size_t>(1, cs.rows.size() / 2);
      continue;
    }
    break;
  }

  SealedChangeSet sealed;
  sealed.seq = cs.seq;
  sealed.rows = cs.rows.size();
  sealed.bytes = std::move(encoded);
  sealed.signature = store_.key().Sign(kChangeSetDomain, sealed.bytes);
  sealed.hash = HashChangeSetBytes(sealed.bytes);
  {
    Statement bytes(db, "INSERT INTO change_set_bytes (seq, bytes) VALUES (?1, ?2)");
    bytes.Bind(1, static_cast<int64_t>(sealed.seq)).BindBlobNoCopy(2, sealed.bytes);
    if (Status s = bytes.Run(); !s.ok()) return s;
    Statement st(db, "INSERT INTO change_set (seq, hash, signature, created_at, "
                     "row_count) VALUES (?1, ?2, ?3, ?4, ?5)");
    st.Bind(1, static_cast<int64_t>(sealed.seq))
        .BindBlob(2, std::string_view(reinterpret_cast<const char*>(sealed.hash.data()),
                                      sealed.hash.size()))
        .BindBlob(3, std::string_view(reinterpret_cast<const char*>(sealed.signature.data()),
                                      sealed.signature.size()))
        .Bind(4, std::string_view(store_.NowIso()))
        .Bind(5, static_cast<int64_t>(cs.rows.size()));
    if (Status s = st.Run(); !s.ok()) return s;
  }
  {
    // Every pending entry up to the last one taken whole is now sealed
    // (entries are taken in order, none skipped); only the last take may be
    // part of an entry.
    int64_t last_whole = 0;
    for (const Take& t : takes) {
      if (t.first + t.count == t.total) last_whole = t.id;
    }
    if (last_whole != 0) {
      Statement st(db, "UPDATE outbox SET change_set_seq = ?1, sealed_rows = row_count "
                       "WHERE change_set_seq IS NULL AND id <= ?2");
      st.Bind(1, static_cast<int64_t>(sealed.seq)).Bind(2, last_whole);
      if (Status s = st.Run(); !s.ok()) return s;
    }
    const Take& last = takes.back();
    if (last.first + last.count != last.total) {
      Statement st(db, "UPDATE outbox SET sealed_rows = ?2 WHERE id = ?1");
      st.Bind(1, last.id).Bind(2, last.first + last.count);
      if (Status s = st.Run(); !s.ok()) return s;
    }
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return std::optional<SealedChangeSet>(std::move(sealed));
}

Result<size_t> Outbox::SealAll(size_t max_rows, size_t max_bytes) {
  size_t n = 0;
  for (;;) {
    auto sealed = SealNext(max_rows, max_bytes);
    if (!sealed.ok()) return sealed.status();
    if (!sealed->has_value()) return n;
    ++n;
  }
}

Result<uint64_t> Outbox::PendingRows() {
  Statement st(store_.db(),
               "SELECT COALESCE(SUM(row_count - sealed_rows), 0) FROM outbox "
               "WHERE change_set_seq IS NULL");
  uint64_t n = 0;
  if (st.Step()) n = static_cast<uint64_t>(st.ColumnInt(0));
  if (!st.status().ok()) return st.status();
  return n;
}

Result<std::vector<SealedChangeSet>> Outbox::Unacked(bool with_bytes) {
  return Sealed("acked_at IS NULL AND seq >= ?1", 0, with_bytes);
}

Result<std::vector<SealedChangeSet>> Outbox::SealedFrom(uint64_t from_seq,
                                                        bool with_bytes) {
  return Sealed("seq >= ?1", static_cast<int64_t>(from_seq), with_bytes);
}

Result<std::vector<SealedChangeSet>> Outbox::Sealed(const std::string& where, int64_t arg,
                                                    bool with_bytes) {
  Result<std::vector<SealedChangeSet>> sets = ReadSealed(store_.db(), where, arg);
  if (!sets.ok() || !with_bytes) return sets;
  for (SealedChangeSet& s : *sets) {
    if (Status st = LoadBytes(&s); !st.ok()) return st;
  }
  return sets;
}

Status Outbox::LoadBytes(SealedChangeSet* set) {
  Statement st(store_.db(), "SELECT bytes FROM change_set_bytes WHERE seq = ?1");
  st.Bind(1, static_cast<int64_t>(set->seq));
  if (!st.Step()) {
    if (!st.status().ok()) return st.status();
    return Status::Corruption("change set " + std::to_string(set->seq) +
                              " in field.db has lost its bytes");
  }
  set->bytes = st.ColumnBlob(0);
  return Status();
}

Status Outbox::Acknowledge(uint64_t seq, std::string_view receipt,
                           const std::vector<protocol::RefusedRow>& refused,
                           std::string_view set_bytes,
                           std::string_view server_rows) {
  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  const std::string now = store_.NowIso();
  bool first_ack = false;
  {
    Statement q(db, "SELECT acked_at IS NULL FROM change_set WHERE seq = ?1");
    q.Bind(1, static_cast<int64_t>(seq));
    if (q.Step()) first_ack = q.ColumnInt(0) != 0;
    if (!q.status().ok()) return q.status();
  }
  Statement st(db, "UPDATE change_set SET acked_at = COALESCE(acked_at, ?2), "
                   "receipt = COALESCE(receipt, ?3) WHERE seq = ?1");
  st.Bind(1, static_cast<int64_t>(seq))
      .Bind(2, std::string_view(now))
      .BindBlob(3, receipt);
  if (Status s = st.Run(); !s.ok()) return s;
  if (db.Changes() == 0) {
    return Status::NotFound("no sealed change set " + std::to_string(seq));
  }
  // A row refused before and now accepted (fixed and sent again): its old
  // refusals are settled. Only read the set when there are refusals at all.
  Result<ChangeSet> decoded = Status::NotFound("not read");
  if (!set_bytes.empty()) {
    bool any = false;
    {
      Statement q(db, "SELECT EXISTS (SELECT 1 FROM refused_row WHERE seq < ?1)");
      q.Bind(1, static_cast<int64_t>(seq));
      if (q.Step()) any = q.ColumnInt(0) != 0;
      if (!q.status().ok()) return q.status();
    }
    // Best effort: a set this device sealed always decodes, but settling
    // must never stand in the way of the acknowledgement itself.
    DecodeLimits limits;
    limits.max_bytes = protocol::kMaxPushBytes;
    decoded = any || !refused.empty()
                  ? DecodeChangeSet(set_bytes, limits)
                  : Result<ChangeSet>(Status::NotFound("none"));
    const Result<ChangeSet>& cs = decoded;
    if (cs.ok() && any) {
      // (A refusal a later change of this set made good leaves its row
      // settled, as on the server.)
      const std::vector<bool> made_good = protocol::RefusalsMadeGoodInSet(*cs, refused);
      std::set<std::pair<std::string, std::string>> still_refused;
      for (size_t k = 0; k < refused.size(); ++k) {
        if (!made_good[k]) still_refused.emplace(refused[k].entity, refused[k].row_id);
      }
      Statement del(db, "DELETE FROM refused_row WHERE seq < ?1 AND entity = ?2 "
                        "AND row_id = ?3");
      for (const RowChange& row : cs->rows) {
        const std::string id = row.row_id.ToString();
        if (still_refused.count({row.entity, id}) != 0) continue;
        del.Bind(1, static_cast<int64_t>(seq))
            .Bind(2, std::string_view(row.entity))
            .Bind(3, std::string_view(id));
        if (Status s = del.Run(); !s.ok()) return s;
        if (Status s = del.Reset(); !s.ok()) return s;
      }
    }
  }
  // Issue 9: the refused rows the server holds are put back to its cells,
  // so this device ends equal to the server; what was typed stays in
  // refused_row.cells until the refusal is settled or dismissed.
  std::set<std::pair<std::string, std::string>> restored;
  if (first_ack && !server_rows.empty() && decoded.ok()) {
    DecodeLimits limits;
    limits.max_bytes = protocol::kMaxReceiptServerRowsBytes;
    Result<ChangeSet> held = wire::DecodePullPage(server_rows, limits);
    if (!held.ok()) {
      return Status::Corruption("the server's rows in the receipt for change set " +
                                std::to_string(seq) + " do not decode: " +
                                held.status().message());
    }
    // The newest refused write of each row: later local writes are kept.
    std::map<std::pair<std::string, std::string>, Hlc> since;
    for (const protocol::RefusedRow& r : refused) {
      // Waiting on the server for a row it lacks: kept here as typed (the
      // server applies it when the row comes).
      if (r.reason == protocol::kWaitsForRowReason) continue;
      if (r.index >= decoded->rows.size()) continue;
      const RowChange& rc = decoded->rows[r.index];
      if (rc.entity != r.entity || rc.row_id.ToString() != r.row_id) continue;
      Hlc& h = since[{r.entity, r.row_id}];
      if (rc.hlc > h) h = rc.hlc;
    }
    std::map<std::pair<std::string, std::string>, std::vector<RowChange>> by_row;
    for (RowChange& rc : held->rows) {
      by_row[{rc.entity, rc.row_id.ToString()}].push_back(std::move(rc));
    }
    for (const auto& [key, changes] : by_row) {
      auto it = since.find(key);
      if (it == since.end()) continue;  // only the rows this set had refused
      if (Status s = RestoreRow(db, key.first, changes.front().row_id, changes,
                                it->second);
          !s.ok()) {
        return s;
      }
      restored.insert(key);
    }
  }
  Statement ins(db,
                "INSERT OR REPLACE INTO refused_row (seq, row_index, entity, "
                "row_id, reason, message, refused_at, cells, restored) VALUES "
                "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  // A refusal a later change of the same set made good (every column it
  // wrote, written again and taken: a refused row saved twice before a
  // sync, the second time right) is settled by the set: not kept.
  const std::vector<bool> made_good =
      decoded.ok() ? protocol::RefusalsMadeGoodInSet(*decoded, refused)
                   : std::vector<bool>(refused.size(), false);
  for (size_t k = 0; k < refused.size(); ++k) {
    const protocol::RefusedRow& r = refused[k];
    if (made_good[k]) continue;
    // The values as sent (display text), so nothing typed is lost.
    nlohmann::json cells = nlohmann::json::object();
    if (decoded.ok() && r.index < decoded->rows.size()) {
      for (const CellWrite& cell : decoded->rows[r.index].cells) {
        cells[cell.column] = cell.value.is_null()
                                 ? nlohmann::json()
                                 : nlohmann::json(cell.value.ToDisplay());
      }
    }
    ins.Bind(1, static_cast<int64_t>(seq))
        .Bind(2, static_cast<int64_t>(r.index))
        .Bind(3, std::string_view(r.entity))
        .Bind(4, std::string_view(r.row_id))
        .Bind(5, std::string_view(r.reason))
        .Bind(6, std::string_view(r.message))
        .Bind(7, std::string_view(now))
        .Bind(8, std::string_view(cells.dump(
                     -1, ' ', false, nlohmann::json::error_handler_t::replace)))
        .Bind(9, static_cast<int64_t>(restored.count({r.entity, r.row_id})));
    if (Status s = ins.Run(); !s.ok()) return s;
    if (Status s = ins.Reset(); !s.ok()) return s;
  }
  return txn.Commit();
}

Result<ChangeSet> LoadSealedSet(Db& db, int64_t seq) {
  Statement st(db, "SELECT bytes FROM change_set_bytes WHERE seq = ?1");
  st.Bind(1, seq);
  if (!st.Step()) {
    if (!st.status().ok()) return st.status();
    return Status::Corruption("change set " + std::to_string(seq) +
                              " in field.db has lost its bytes");
  }
  DecodeLimits limits;
  limits.max_bytes = protocol::kMaxPushBytes;
  Result<ChangeSet> cs = DecodeChangeSet(st.ColumnBlob(0), limits);
  if (!cs.ok()) {
    return Status::Corruption("change set " + std::to_string(seq) +
                              " in field.db is damaged");
  }
  return cs;
}

}  // namespace kbo::client
