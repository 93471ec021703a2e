#include "server/row_history.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <utility>

#include "server/conflicts.h"
#include "server/row_names.h"
#include "server/storage/change_log.h"
#include "server/storage/history.h"
#include "server/storage/rows.h"
#include "shared/change_set_codec.h"
#include "shared/entities.h"
#include "shared/merge.h"
#include "shared/protocol.h"
#include "shared/uuid.h"

// How the history is found: change_set_log keeps each accepted change set
// verbatim, and a row change names its row by the 16 raw bytes of its uuid
// (shared/change_set_codec.cc), so `instr(bytes, row_id_bytes)` finds the
// sets that may touch the row without decoding the whole log (a scan inside
// SQLite, no index; docs/decisions.md "Row history"). Each candidate is then
// decoded and only its row changes of this entity and row are kept. Row
// change i of a set got server sequence first_server_seq + i (refused ones
// leave gaps, and are listed in refused_row), which orders the changes as
// the server applied them.

namespace kbo::server {
namespace {

using nlohmann::json;

std::string Word(Lang lang, std::string th, std::string en) {
  return lang == Lang::kTh ? std::move(th) : std::move(en);
}

// Whether `incoming` replaces `current` under the column's policy; the
// system column "deleted" (and a column the catalogue no longer has) by
// last writer wins, as the applier does.
bool Takes(const Entity& entity, const std::string& column,
           const CellVersion& incoming, const CellVersion& current) {
  const Column* col = entity.FindColumn(column);
  return col == nullptr ? WinsLww(incoming, current)
                        : Wins(*col, incoming, current);
}

std::string CellLabel(Lang lang, std::string_view entity,
                      const std::string& column, const Value& v) {
  if (column == kDeletedColumn) {
    if (v.is_null()) return "";
    return v.type() == Value::Type::kInteger && v.integer() != 0
               ? Word(lang, "ลบแล้ว", "deleted")
               : Word(lang, "ไม่ลบ", "not deleted");
  }
  return ValueLabel(lang, entity, column, v);
}

struct Candidate {
  std::string device_id;
  uint64_t seq = 0;
  std::string bytes;
  uint64_t first_server_seq = 0;
  std::string received_at;
};

const char* KindName(HistoryEntry::Kind k) {
  switch (k) {
    case HistoryEntry::Kind::kChange:
      return "change";
    case HistoryEntry::Kind::kConflict:
      return "conflict";
    case HistoryEntry::Kind::kResolution:
      return "resolution";
  }
  return "change";
}

}  // namespace

Result<RowHistory> LoadRowHistory(ServerStore& store, std::string_view entity,
                                  std::string_view row_id, Lang lang,
                                  const HistoryLimits& limits) {
  const Entity* ent = FindEntity(entity);
  if (ent == nullptr) {
    return Status::InvalidArgument("unknown entity '" + std::string(entity) +
                                   "'");
  }
  Result<Uuid> id = Uuid::Parse(row_id);
  if (!id.ok()) {
    return Status::InvalidArgument("'" + std::string(row_id) +
                                   "' is not a row id");
  }
  const std::string id_text = id->ToString();
  Db& db = store.db();
  {
    Result<bool> held = storage::Rows(db).Exists(*ent, id_text);
    if (!held.ok()) return held.status();
    if (!*held) {
      return Status::NotFound("no " + std::string(ent->name) + " " + id_text);
    }
  }

  // 1. The change sets that may write the row, the latest first, capped.
  RowHistory history;
  std::vector<Candidate> sets;
  {
    Result<storage::LoggedSets> logged = storage::ChangeLog(db).SetsMentioning(
        std::string_view(reinterpret_cast<const char*>(id->bytes.data()),
                         id->bytes.size()),
        limits.max_change_sets, limits.max_bytes);
    if (!logged.ok()) return logged.status();
    history.truncated = logged->truncated;
    for (storage::LoggedSet& set : logged->sets) {
      Candidate c;
      c.device_id = std::move(set.device_id);
      c.seq = set.seq;
      c.bytes = std::move(set.bytes);
      c.first_server_seq = set.first_server_seq;
      c.received_at = std::move(set.received_at);
      sets.push_back(std::move(c));
    }
  }
  std::reverse(sets.begin(), sets.end());
  history.change_sets = sets.size();

  // Row changes of this row the server refused: not part of its history,
  // but for those applied after waiting for a row, at the sequence they
  // took then.
  std::set<std::tuple<std::string, uint64_t, uint64_t>> refused;
  std::map<std::tuple<std::string, uint64_t, uint64_t>, uint64_t> applied_later;
  {
    auto of_row = storage::RefusedRows(db).OfRow(ent->name, id_text);
    if (!of_row.ok()) return of_row.status();
    for (const auto& [key, applied_seq] : *of_row) {
      if (applied_seq != 0) {
        applied_later[key] = applied_seq;
      } else {
        refused.insert(key);
      }
    }
  }

  // 2. The row changes, by server sequence.
  struct Found {
    uint64_t server_seq;
    std::string received_at;
    RowChange change;
  };
  std::vector<Found> changes;
  DecodeLimits decode;
  decode.max_bytes = std::max<size_t>(decode.max_bytes, protocol::kMaxPushBytes);
  for (const Candidate& c : sets) {
    Result<ChangeSet> cs = DecodeChangeSet(c.bytes, decode);
    if (!cs.ok()) {
      return Status::Corruption("change set " + std::to_string(c.seq) +
                                " of " + c.device_id +
                                " in the log does not decode: " +
                                cs.status().message());
    }
    for (size_t i = 0; i < cs->rows.size(); ++i) {
      RowChange& row = cs->rows[i];
      if (row.row_id != *id || row.entity != ent->name) continue;
      if (refused.count({c.device_id, c.seq, i}) > 0) continue;
      const auto later = applied_later.find({c.device_id, c.seq, i});
      changes.push_back({later != applied_later.end() ? later->second : c.first_server_seq + i,
                         c.received_at, std::move(row)});
    }
  }
  std::stable_sort(changes.begin(), changes.end(),
                   [](const Found& a, const Found& b) {
                     return a.server_seq < b.server_seq;
                   });

  // 3. Conflicts on the row, and who wrote what.
  Conflicts conflicts(store);
  Result<std::vector<ConflictRecord>> found =
      conflicts.OfRow(ent->name, id_text);
  if (!found.ok()) return found.status();
  std::map<uint64_t, const ConflictRecord*> resolution_by_seq;
  for (const ConflictRecord& c : *found) {
    if (c.resolved()) resolution_by_seq[c.resolution_seq] = &c;
  }
  std::set<std::string> devices;
  for (const Found& f : changes) devices.insert(f.change.hlc.device.ToString());
  Result<std::map<std::string, DeviceLabel>> labels =
      LoadDeviceLabels(db, devices);
  if (!labels.ok()) return labels.status();
  Result<std::string> server_id = LoadServerId(db);
  if (!server_id.ok()) return server_id.status();
  // Office edits (console/data.cc) are audited as action 'edit' with
  // subject "ENTITY:ID" in the transaction that wrote them, at the same
  // second as the change set's received_at: that names their author.
  std::multimap<std::string, std::pair<std::string, std::string>> edits;
  {
    Result<std::vector<storage::OfficeEdit>> audited =
        storage::History(db).OfficeEdits(std::string(ent->name) + ":" + id_text);
    if (!audited.ok()) return audited.status();
    for (storage::OfficeEdit& e : *audited) {
      edits.emplace(std::move(e.at),
                    std::make_pair(std::move(e.actor), std::move(e.detail)));
    }
  }

  // 4. Apply in sequence: each cell's old -> new under the merge rule.
  std::map<std::string, CellVersion> cells;
  std::vector<HistoryEntry> entries;
  bool first = !history.truncated;
  for (const Found& f : changes) {
    HistoryEntry e;
    e.server_seq = f.server_seq;
    e.when = FormatBangkokTimeValue(lang, f.change.hlc.wall_ms);
    e.when_iso = FormatIsoUtc(f.change.hlc.wall_ms);
    e.received_at = f.received_at;
    e.created = first;
    first = false;
    const ConflictRecord* resolution = nullptr;
    if (auto it = resolution_by_seq.find(f.server_seq);
        it != resolution_by_seq.end()) {
      resolution = it->second;
    }
    std::string office_actor = resolution ? resolution->resolved_by : "";
    if (resolution == nullptr &&
        f.change.hlc.device.ToString() == *server_id) {
      if (auto it = edits.find(f.received_at); it != edits.end()) {
        office_actor = it->second.first;
        const std::string& detail = it->second.second;
        if (size_t r = detail.rfind("reason: "); r != std::string::npos) {
          e.reason = detail.substr(r + 8);
        }
        edits.erase(it);
      }
    }
    e.writer = DescribeWriter(lang, f.change.hlc.device.ToString(), *server_id,
                              *labels, office_actor);
    for (const CellWrite& w : f.change.cells) {
      HistoryCell hc;
      hc.column = w.column;
      hc.column_label = w.column == kDeletedColumn
                            ? Word(lang, "การลบ", "deleted")
                            : ColumnLabel(lang, ent->name, w.column);
      CellVersion incoming{f.change.hlc, w.value};
      auto it = cells.find(w.column);
      if (it == cells.end()) {
        hc.old_known = !history.truncated;
        cells.emplace(w.column, incoming);
      } else {
        hc.old_value = CellLabel(lang, ent->name, w.column, it->second.value);
        hc.old_text =
            it->second.value.is_null() ? "" : it->second.value.ToDisplay();
        hc.applied = Takes(*ent, w.column, incoming, it->second);
        // A write of the value already held changes nothing a person sees.
        if (hc.applied && it->second.value == w.value) {
          it->second = incoming;
          continue;
        }
        if (hc.applied) it->second = incoming;
      }
      hc.new_value = CellLabel(lang, ent->name, w.column, w.value);
      hc.new_text = w.value.is_null() ? "" : w.value.ToDisplay();
      e.cells.push_back(std::move(hc));
    }
    if (resolution != nullptr) {
      e.kind = HistoryEntry::Kind::kResolution;
      e.conflict_id = resolution->id;
      e.column_label = ColumnLabel(lang, ent->name, resolution->column_name);
      e.resolved_value = resolution->resolved_value;
      for (const CellWrite& w : f.change.cells) {
        if (w.column == resolution->column_name) {
          e.resolved_value = CellLabel(lang, ent->name, w.column, w.value);
        }
      }
      e.reason = resolution->resolution_reason;
    }
    entries.push_back(std::move(e));
  }

  // Conflicts, placed after the incoming write that caused them.
  for (const ConflictRecord& c : *found) {
    if (history.truncated && !changes.empty() &&
        c.incoming_seq < changes.front().server_seq) {
      continue;
    }
    HistoryEntry e;
    e.kind = HistoryEntry::Kind::kConflict;
    e.server_seq = c.incoming_seq;
    e.when = FormatIsoBangkokValue(lang, c.detected_at);
    e.when_iso = c.detected_at;
    e.received_at = c.detected_at;
    e.conflict_id = c.id;
    e.column_label = ColumnLabel(lang, ent->name, c.column_name);
    e.current_value = CellLabel(lang, ent->name, c.column_name, c.current_value);
    e.incoming_value =
        CellLabel(lang, ent->name, c.column_name, c.incoming_value);
    e.writer = DescribeWriter(lang, c.incoming_device, *server_id, *labels, "");
    e.reason = c.resolved() ? c.resolution_reason : "";
    e.resolved_value = c.resolved() ? c.resolved_value : "";
    entries.push_back(std::move(e));
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const HistoryEntry& a, const HistoryEntry& b) {
                     return a.server_seq < b.server_seq;
                   });
  // A reference by the referenced row's name (the participant, the
  // workshop, the producer), not its id: a person reads names.
  {
    const auto ref_of = [ent](const std::string& column) -> std::string_view {
      const Column* c = ent->FindColumn(column);
      return c != nullptr && c->type == ColumnType::kRef ? c->ref_entity : std::string_view();
    };
    RowNames names(db);
    for (const HistoryEntry& e : entries) {
      for (const HistoryCell& hc : e.cells) {
        const std::string_view ref = ref_of(hc.column);
        if (ref.empty()) continue;
        names.Want(ref, hc.old_text);
        names.Want(ref, hc.new_text);
      }
    }
    if (Status s = names.Load(1); !s.ok()) return s;
    const auto name_of = [&](std::string_view ref, const std::string& ref_id,
                             std::string* label) {
      const char* column = ref == "workshop" ? "title"
                           : ref == "enrolment" ? "participant_name" : "name";
      const std::string name = names.Text(ref, ref_id, column);
      if (!name.empty()) *label = name;
    };
    for (HistoryEntry& e : entries) {
      for (HistoryCell& hc : e.cells) {
        const std::string_view ref = ref_of(hc.column);
        if (ref.empty()) continue;
        if (!hc.old_text.empty()) name_of(ref, hc.old_text, &hc.old_value);
        if (!hc.new_text.empty()) name_of(ref, hc.new_text, &hc.new_value);
      }
    }
  }
  history.entries = std::move(entries);
  return history;
}

std::string RowHistoryJson(std::string_view entity, std::string_view row_id,
                           const RowHistory& h) {
  json list = json::array();
  for (const HistoryEntry& e : h.entries) {
    json cells = json::array();
    for (const HistoryCell& c : e.cells) {
      cells.push_back({{"column", c.column},
                       {"column_label", c.column_label},
                       {"old", c.old_value},
                       {"new", c.new_value},
                       {"old_text", c.old_text},
                       {"new_text", c.new_text},
                       {"old_known", c.old_known},
                       {"applied", c.applied}});
    }
    list.push_back({{"kind", KindName(e.kind)},
                    {"server_seq", e.server_seq},
                    {"when", e.when},
                    {"when_iso", e.when_iso},
                    {"received_at", e.received_at},
                    {"who", e.writer.who},
                    {"role", e.writer.role},
                    {"role_code", e.writer.role_code},
                    {"office", e.writer.office},
                    {"device_id", e.writer.device_id},
                    {"created", e.created},
                    {"cells", std::move(cells)},
                    {"conflict_id", e.conflict_id},
                    {"column_label", e.column_label},
                    {"current_value", e.current_value},
                    {"incoming_value", e.incoming_value},
                    {"resolved_value", e.resolved_value},
                    {"reason", e.reason}});
  }
  json j = {{"entity", entity},
            {"row_id", row_id},
            {"truncated", h.truncated},
            {"change_sets", h.change_sets},
            {"entries", std::move(list)}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string RowHistoryText(const RowHistory& h, Lang lang) {
  std::string out;
  if (h.truncated) {
    out += Word(lang,
                "(แสดงเฉพาะการแก้ไขล่าสุด " + std::to_string(h.change_sets) +
                    " ชุด; ที่เก่ากว่านั้นไม่ได้แสดง)\n",
                "(only the latest " + std::to_string(h.change_sets) +
                    " change sets are shown; older ones are left out)\n");
  }
  if (h.entries.empty()) out += Word(lang, "ไม่มีประวัติ\n", "no history\n");
  for (const HistoryEntry& e : h.entries) {
    std::string who = e.writer.who;
    if (!e.writer.role.empty()) who += " (" + e.writer.role + ")";
    switch (e.kind) {
      case HistoryEntry::Kind::kConflict:
        out += e.when + "  " + Word(lang, "ข้อมูลขัดแย้ง", "conflict") + " " +
               e.conflict_id.substr(0, 8) + ": " + e.column_label + " '" +
               e.current_value + "' / '" + e.incoming_value + "'\n";
        continue;
      case HistoryEntry::Kind::kResolution:
        out += e.when + "  " + who + "  " +
               Word(lang, "ยุติข้อขัดแย้ง", "resolved conflict") + " " +
               e.conflict_id.substr(0, 8) + ": " + e.column_label + " = '" +
               e.resolved_value + "'" +
               (e.reason.empty() ? "" : "  (" + e.reason + ")") + "\n";
        continue;
      case HistoryEntry::Kind::kChange:
        break;
    }
    out += e.when + "  " + who + "  [" + std::to_string(e.server_seq) + "]" +
           (e.created ? Word(lang, "  สร้าง", "  created") : "") + "\n";
    if (!e.reason.empty()) {
      out += Word(lang, "    เหตุผล: ", "    reason: ") + e.reason + "\n";
    }
    if (e.cells.empty()) {
      out += Word(lang, "    (ไม่มีค่าที่เปลี่ยน)\n", "    (nothing changed)\n");
    }
    for (const HistoryCell& c : e.cells) {
      out += "    " + c.column_label + ": ";
      if (!c.old_known) {
        out += "? -> ";
      } else if (!e.created) {
        out += "'" + c.old_value + "' -> ";
      }
      out += "'" + c.new_value + "'";
      if (!c.applied) {
        out += Word(lang, "  (ไม่มีผล: มีค่าที่ใหม่กว่าอยู่แล้ว)",
                    "  (not applied: a later value was already held)");
      }
      out += "\n";
    }
  }
  return out;
}

Status AddWrittenWith(ServerStore& store, ConflictView* view, Lang lang) {
  const ConflictRecord& c = view->conflict;
  const Entity* ent = FindEntity(c.entity);
  if (ent == nullptr) return Status();
  Result<RowHistory> h = LoadRowHistory(store, c.entity, c.row_id, lang);
  if (!h.ok()) return h.status();
  const auto says_something = [ent, &c](const HistoryCell& cell) {
    if (cell.column == c.column_name || cell.column == kDeletedColumn ||
        cell.column == kDistrictColumn) {
      return false;
    }
    for (std::string_view k : ent->natural_key) {
      if (k == cell.column) return false;
    }
    const Column* col = ent->FindColumn(cell.column);
    return col != nullptr && col->type != ColumnType::kRef;
  };
  for (WriteView* side : {&view->current, &view->incoming}) {
    if (side->seq == 0) continue;
    for (const HistoryEntry& e : h->entries) {
      if (e.kind != HistoryEntry::Kind::kChange || e.server_seq != side->seq) continue;
      for (const HistoryCell& cell : e.cells) {
        if (!says_something(cell)) continue;
        side->with.push_back(
            {cell.column, cell.column_label, cell.new_value, cell.new_text, cell.applied});
      }
      break;
    }
  }
  return Status();
}

}  // namespace kbo::server
