#include "server/conflicts.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "schema/schema.h"
#include "server/console/users.h"
#include "server/data_quality.h"
#include "server/server_apply.h"
#include "server/server_write.h"
#include "server/storage/quality_store.h"
#include "server/storage/rows.h"
#include "server/storage/server_state.h"
#include "shared/change_set_codec.h"
#include "shared/encoding.h"
#include "shared/entities.h"
#include "shared/hlc.h"
#include "shared/labels.h"
#include "shared/protocol.h"
#include "shared/replica/apply.h"
#include "shared/replica/workshop_cut.h"
#include "shared/rows_under.h"
#include "shared/sqlite/migrate.h"
#include "shared/wire.h"

namespace kbo::server {

Status CheckReasonLength(std::string_view reason) {
  if (reason.size() <= kMaxReasonBytes) return Status();
  return Status::InvalidArgument("the reason is longer than " +
                                 std::to_string(kMaxReasonBytes) +
                                 " bytes (" + std::to_string(reason.size()) +
                                 " given); nothing was saved")
      .With(field::kField, "reason")
      .With(field::kProblem, "err.reason_too_long")
      .With(field::kParams, std::vector<std::pair<std::string, std::string>>{
                                {"bytes", std::to_string(reason.size())},
                                {"max", std::to_string(kMaxReasonBytes)},
                                {"thai", std::to_string(kMaxReasonBytes / 3)}});
}
namespace {

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
  // Typed as on the device: a status, stage, category or kind by its Thai
  // or English name too ("ลา", "ต้นแบบ"), a date as the exports show it.
  return ParseCellText(entity, *col, ValueFromLabel(entity.name, column, text));
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
  return storage::ConflictStore(db).Feed(after, scope.all, scope.districts,
                                         limit);
}

Result<std::vector<ConflictRecord>> Conflicts::List(bool open_only) {
  return storage::ConflictStore(store_.db()).List(open_only);
}

namespace {

// The rows `row` of `entity` is recorded under: its required references
// (an attendance mark is under its workshop and its enrolment) and a
// photo's subject.
std::vector<std::pair<const Entity*, std::string>> ParentsOf(const Entity& entity,
                                                             const ReplicaRow& row) {
  std::vector<std::pair<const Entity*, std::string>> out;
  const auto text = [&](std::string_view column) -> std::string {
    for (size_t i = 0; i < entity.columns.size() && i < row.values.size(); ++i) {
      if (entity.columns[i].name == column && row.values[i].type() == Value::Type::kText) {
        return std::string(row.values[i].text());
      }
    }
    return std::string();
  };
  for (const Column& c : entity.columns) {
    if (c.type != ColumnType::kRef || !c.required || c.ref_entity.empty()) continue;
    if (const Entity* parent = FindEntity(c.ref_entity)) out.emplace_back(parent, text(c.name));
  }
  if (entity.name == "photo") {
    if (const Entity* subject = FindEntity(text("subject_type"))) {
      out.emplace_back(subject, text("subject_id"));
    }
  }
  return out;
}

}  // namespace

KeepableSides Keepable(const ConflictRecord& c, const Value* later) {
  KeepableSides out;
  const Entity* entity = FindEntity(c.entity);
  const Column* column = entity != nullptr ? entity->FindColumn(c.column_name) : nullptr;
  if (column == nullptr || column->policy != MergePolicy::kForward) return out;
  out.forward_only = true;
  const auto rank = [column](const Value* value) {
    if (value == nullptr || value->type() != Value::Type::kText) return -1;
    const auto& order = column->enum_values;
    const auto at = std::find(order.begin(), order.end(), value->text());
    return at == order.end() ? -1 : static_cast<int>(at - order.begin());
  };
  const int current_rank = rank(&c.current_value);
  const int incoming_rank = rank(&c.incoming_value);
  // A later write moved it on too: nothing behind that can be kept.
  const int later_rank = rank(later);
  out.current = current_rank >= incoming_rank && current_rank >= later_rank;
  out.incoming = incoming_rank >= current_rank && incoming_rank >= later_rank;
  return out;
}

std::optional<Hlc> DeviceDeleteStamp(const ReplicaRow& row, const Uuid& server_id) {
  if (row.values.empty() || row.values.back() != Value::Integer(1)) return std::nullopt;
  const auto v = row.versions.find(kDeletedColumn);
  if (v == row.versions.end() || v->second.hlc.device == server_id) return std::nullopt;
  return v->second.hlc;
}

Result<BroughtBack> BringBackTakenWith(ServerStore& store, const Entity& root,
                                       const std::string& root_id, const Hlc& stamp,
                                       const Resolver& by) {
  struct Taken {
    const Entity* entity;
    Uuid id;
    std::string district;
    bool back = false;
  };
  storage::Rows rows(store.db());
  storage::QualityStore quality(store.db());
  // The row cannot stand under a row the same delete took (a mark kept
  // whose participant went with it, by `kbo delete enrolment --cascade`):
  // that delete is decided against from the row it began at, which comes
  // back first, then what it took under it, this row's siblings too.
  const Entity* top = &root;
  std::string top_id = root_id;
  for (int depth = 0; depth < 8; ++depth) {
    Result<Uuid> id = Uuid::Parse(top_id);
    if (!id.ok()) break;
    Result<std::optional<ReplicaRow>> row = rows.Read(*top, *id);
    if (!row.ok()) return row.status();
    if (!row->has_value()) break;
    const Entity* next = nullptr;
    std::string next_id;
    for (const auto& [parent, parent_id] : ParentsOf(*top, **row)) {
      Result<Uuid> pid = Uuid::Parse(parent_id);
      if (!pid.ok()) continue;
      Result<std::optional<ReplicaRow>> p = rows.Read(*parent, *pid);
      if (!p.ok()) return p.status();
      if (!p->has_value() ||
          DeviceDeleteStamp(**p, store.server_id()) != std::optional<Hlc>(stamp)) {
        continue;
      }
      // Only a parent this delete alone holds deleted: one another delete
      // took too (noted on it) stays as it is until that one is decided.
      Result<std::set<std::string>> others = rows.TombstonesOn(parent->name, parent_id);
      if (!others.ok()) return others.status();
      bool alone = true;
      for (const std::string& h : *others) {
        if (h == stamp.ToString()) continue;
        Result<bool> decided = rows.DeleteDecidedAgainst(h);
        if (!decided.ok()) return decided.status();
        alone = alone && *decided;
      }
      if (!alone) continue;
      next = parent;
      next_id = parent_id;
      break;
    }
    if (next == nullptr) break;
    top = next;
    top_id = next_id;
  }
  int64_t ancestors_back = 0;
  if (top != &root || top_id != root_id) {
    if (by.scope.has_value()) {
      Result<std::optional<std::string>> district = rows.District(*top, top_id);
      if (!district.ok()) return district.status();
      if (!district->has_value() || !by.scope->Contains(**district)) {
        return Status::PermissionDenied(
                   std::string(root.name) + " " + root_id + " was deleted with " +
                   std::string(top->name) + " " + top_id +
                   ", outside your districts; keeping it would bring that back too, so it "
                   "needs a user with those districts (or kbo-server conflicts resolve); "
                   "nothing was changed")
            .WithReason("rows_out_of_scope");
      }
    }
    Result<Uuid> id = Uuid::Parse(top_id);
    if (!id.ok()) return id.status();
    Result<ServerWrite> w =
        WriteAsServer(store, top->name, *id, {{std::string(kDeletedColumn), Value::Integer(0)}});
    if (!w.ok()) return w.status();
    if (Status s = SettleDeleteConflicts(store, top->name, top_id, Value::Integer(0),
                                         w->applied.first_seq, "", by);
        !s.ok()) {
      return s;
    }
    if (Status s = console::AppendAudit(
            store, by.actor, "edit", std::string(top->name) + ":" + top_id,
            "deleted: '1' -> '0' (its delete also took " + std::string(root.name) + ":" +
                root_id + ", which was kept: back with it)" +
                (by.reason.empty() ? "" : "; reason: " + by.reason),
            by.address);
        !s.ok()) {
      return s;
    }
    ++ancestors_back;
  }
  // Every device's delete of the root is decided against now: the one it
  // was deleted with (`stamp`) and any other device's tombstone that landed
  // on it while deleted. Each is noted, so a row two deletes took (two
  // devices' cascades over the same marks) comes back when the second of
  // them is decided against, not never.
  std::set<std::string> undone{stamp.ToString()};
  {
    Result<std::set<std::string>> notes = rows.TombstonesOn(root.name, root_id);
    if (!notes.ok()) return notes.status();
    for (const std::string& h : *notes) {
      Result<Hlc> parsed = Hlc::Parse(h);
      if (parsed.ok() && parsed->device != store.server_id()) undone.insert(h);
    }
    const std::string at = store.NowIso();
    for (const std::string& h : undone) {
      Result<Hlc> parsed = Hlc::Parse(h);
      if (!parsed.ok()) continue;
      if (Status s = rows.NoteDeleteDecidedAgainst(*parsed, root.name, root_id, at); !s.ok()) {
        return s;
      }
    }
  }
  const auto decided_against = [&](const std::string& h) -> Result<bool> {
    if (undone.count(h) > 0) return true;
    return rows.DeleteDecidedAgainst(h);
  };
  std::vector<Taken> taken;
  std::set<std::pair<const Entity*, std::string>> seen;
  std::vector<std::pair<const Entity*, std::string>> under{{top, top_id}};
  for (size_t i = 0; i < under.size(); ++i) {
    const auto [parent, parent_id] = under[i];  // a copy: `under` grows
    for (const ChildLink& link : LinksUnder(*parent)) {
      Result<std::vector<storage::QualityStore::LiveChild>> deleted =
          quality.DeletedRowIdsNaming(link.child->name, link.column, parent_id,
                                      link.by_subject ? parent->name : std::string_view());
      if (!deleted.ok()) return deleted.status();
      for (const storage::QualityStore::LiveChild& child : *deleted) {
        if (!seen.insert({link.child, child.id}).second) continue;
        Result<Uuid> id = Uuid::Parse(child.id);
        if (!id.ok()) continue;
        Result<std::optional<ReplicaRow>> row = rows.Read(*link.child, *id);
        if (!row.ok()) return row.status();
        if (!row->has_value()) continue;
        const std::optional<Hlc> own = DeviceDeleteStamp(**row, store.server_id());
        if (!own.has_value()) continue;  // the office deleted it: its own undo
        // Every delete the row carries: the stamp it is deleted with, and
        // each tombstone that landed on it while it was deleted (another
        // device's, the office's, or its own earlier delete).
        Result<std::set<std::string>> deletes = rows.TombstonesOn(link.child->name, child.id);
        if (!deletes.ok()) return deletes.status();
        deletes->insert(own->ToString());
        bool taken_now = false;
        for (const std::string& h : *deletes) taken_now = taken_now || undone.count(h) > 0;
        if (!taken_now) continue;  // deleted apart from it: stays deleted
        // Deleted by someone else too (before or after): that delete stands
        // until it is decided against as well.
        bool all_decided = true;
        for (const std::string& h : *deletes) {
          Result<bool> d = decided_against(h);
          if (!d.ok()) return d.status();
          all_decided = all_decided && *d;
        }
        if (!all_decided) continue;
        taken.push_back({link.child, *id, child.district_code});
        under.emplace_back(link.child, child.id);
      }
    }
  }
  // All or nothing: a row left out for its district would stay deleted
  // with nothing left to bring it back (as UndoOfficeDelete refuses).
  if (by.scope.has_value()) {
    for (const Taken& t : taken) {
      if (!by.scope->Contains(t.district)) {
        return Status::PermissionDenied(
                   "the delete of " + std::string(root.name) + " " + root_id +
                   " also took rows in districts outside yours; keeping the edit "
                   "would bring them back too, so it needs a user with those "
                   "districts (or kbo-server conflicts resolve); nothing was changed")
            .WithReason("rows_out_of_scope");
      }
    }
  }
  const auto live = [&](const Entity& e, const std::string& id) -> Result<bool> {
    Result<Uuid> u = Uuid::Parse(id);
    if (!u.ok()) return false;
    Result<std::optional<ReplicaRow>> row = rows.Read(e, *u);
    if (!row.ok()) return row.status();
    return row->has_value() && !(*row)->values.empty() &&
           (*row)->values.back() == Value::Integer(0);
  };
  BroughtBack out;
  // In passes, parents before the rows under them; a pass that brings
  // nothing back ends it.
  for (bool again = true; again;) {
    again = false;
    for (Taken& t : taken) {
      if (t.back) continue;
      Result<std::optional<ReplicaRow>> row = rows.Read(*t.entity, t.id);
      if (!row.ok()) return row.status();
      if (!row->has_value()) continue;
      bool parents_live = true;
      for (const auto& [parent, parent_id] : ParentsOf(*t.entity, **row)) {
        Result<bool> is = live(*parent, parent_id);
        if (!is.ok()) return is.status();
        parents_live = parents_live && *is;
      }
      if (!parents_live) continue;
      const std::string id = t.id.ToString();
      Result<ServerWrite> w = WriteAsServer(
          store, t.entity->name, t.id, {{std::string(kDeletedColumn), Value::Integer(0)}});
      if (!w.ok()) {
        return Status::FromCode(w.status().code(), std::string(t.entity->name) + " " + id +
                                                       " (deleted with " +
                                                       std::string(root.name) + " " +
                                                       root_id + "): " +
                                                       w.status().message());
      }
      if (Status s = SettleDeleteConflicts(store, t.entity->name, id, Value::Integer(0),
                                           w->applied.first_seq, "", by);
          !s.ok()) {
        return s;
      }
      // As the office's edit of the row: its history names who and why.
      if (Status s = console::AppendAudit(
              store, by.actor, "edit", std::string(t.entity->name) + ":" + id,
              "deleted: '1' -> '0' (deleted with " + std::string(root.name) + ":" +
                  root_id + ", whose delete was decided against: back with it)" +
                  (by.reason.empty() ? "" : "; reason: " + by.reason),
              by.address);
          !s.ok()) {
        return s;
      }
      t.back = true;
      ++out.back;
      again = true;
    }
  }
  out.left = static_cast<int64_t>(taken.size()) - out.back;
  out.back += ancestors_back;
  return out;
}

Result<ConflictRecord> Conflicts::Get(std::string_view id) {
  Result<std::optional<ConflictRecord>> c =
      storage::ConflictStore(store_.db()).Get(id);
  if (!c.ok()) return c.status();
  if (!c->has_value()) return Status::NotFound("no conflict " + std::string(id));
  return std::move(**c);
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
  Result<std::vector<ConflictRecord>> matching =
      storage::ConflictStore(store_.db()).WithIdPrefix(prefix);
  if (!matching.ok()) return matching.status();
  std::vector<ConflictRecord>& found = *matching;
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
  return storage::ConflictStore(store_.db()).OfRow(entity, row_id);
}

namespace {

// The catalogue entity and the index of the conflict's cell in its row's
// values (the columns, then kDeletedColumn); nullopt for a conflict that
// names no cell of the catalogue (nothing can be written after it).
struct CellOf {
  const Entity* entity = nullptr;
  size_t index = 0;
};
std::optional<CellOf> ConflictCell(const ConflictRecord& c) {
  if (c.resolved()) return std::nullopt;
  const Entity* entity = FindEntity(c.entity);
  if (entity == nullptr || !Uuid::Parse(c.row_id).ok()) return std::nullopt;
  size_t index = entity->columns.size();  // kDeletedColumn: after the columns
  if (c.column_name != kDeletedColumn) {
    const Column* column = entity->FindColumn(c.column_name);
    if (column == nullptr) return std::nullopt;
    index = static_cast<size_t>(column - entity->columns.data());
  }
  return CellOf{entity, index};
}

// The later write in `r`, the conflict's row as the server holds it now.
std::optional<LaterWrite> LaterWriteIn(const ConflictRecord& c, size_t index,
                                       const ReplicaRow& r) {
  auto version = r.versions.find(c.column_name);
  if (version == r.versions.end() || index >= r.values.size()) {
    return std::nullopt;
  }
  const uint64_t seq = version->second.seq;
  if (seq == c.current_seq || seq == c.incoming_seq) return std::nullopt;
  const Value& shown = c.winner == "incoming" ? c.incoming_value : c.current_value;
  if (r.values[index] == shown) return std::nullopt;
  LaterWrite later;
  later.value = r.values[index];
  later.seq = seq;
  later.hlc = version->second.hlc.ToString();
  later.device = version->second.hlc.device.ToString();
  return later;
}

// Whether the server has handed out `seq` (a write with it may exist).
bool SequenceHandedOut(Db& db, uint64_t seq) {
  Result<int64_t> next = storage::ServerState(db).NextSeq();
  return next.ok() && seq < static_cast<uint64_t>(*next);
}

}  // namespace

Result<std::optional<LaterWrite>> LaterWriteOf(Db& db, const ConflictRecord& c) {
  Result<std::vector<std::optional<LaterWrite>>> one = LaterWritesOf(db, {c});
  if (!one.ok()) return one.status();
  return std::move(one->front());
}

Result<std::vector<std::optional<LaterWrite>>> LaterWritesOf(
    Db& db, const std::vector<ConflictRecord>& conflicts) {
  std::vector<std::optional<CellOf>> cells;
  cells.reserve(conflicts.size());
  std::map<const Entity*, std::set<std::string>> wanted;
  for (const ConflictRecord& c : conflicts) {
    cells.push_back(ConflictCell(c));
    if (cells.back().has_value()) wanted[cells.back()->entity].insert(c.row_id);
  }
  std::map<const Entity*, std::map<std::string, ReplicaRow, std::less<>>> rows;
  for (const auto& [entity, ids] : wanted) {
    Result<std::map<std::string, ReplicaRow, std::less<>>> read =
        storage::Rows(db).ReadMany(*entity, ids);
    if (!read.ok()) return read.status();
    rows[entity] = std::move(*read);
  }
  std::vector<std::optional<LaterWrite>> out(conflicts.size());
  for (size_t i = 0; i < conflicts.size(); ++i) {
    if (!cells[i].has_value()) continue;
    const auto& held = rows[cells[i]->entity];
    auto row = held.find(conflicts[i].row_id);
    if (row != held.end()) out[i] = LaterWriteIn(conflicts[i], cells[i]->index, row->second);
  }
  return out;
}

Result<std::vector<ConflictRecord>> Conflicts::SettledWith(const ConflictRecord& c) {
  if (c.resolved() || c.column_name == kDeletedColumn) return std::vector<ConflictRecord>();
  KBO_ASSIGN_OR_RETURN(std::optional<LaterWrite> later, LaterWriteOf(store_.db(), c));
  return SettledWith(c, later);
}

Result<std::vector<ConflictRecord>> Conflicts::SettledWith(
    const ConflictRecord& c, const std::optional<LaterWrite>& later) {
  std::vector<ConflictRecord> out;
  if (c.resolved() || c.column_name == kDeletedColumn) return out;
  KBO_ASSIGN_OR_RETURN(std::vector<ConflictRecord> of_row, OfRow(c.entity, c.row_id));
  const uint64_t upto = std::max(c.current_seq, c.incoming_seq);
  const auto in_view = [&](uint64_t seq) {
    return seq <= upto || (later.has_value() && seq == later->seq);
  };
  for (ConflictRecord& o : of_row) {
    if (o.resolved() || o.id == c.id || o.column_name != c.column_name ||
        !in_view(o.current_seq) || !in_view(o.incoming_seq)) {
      continue;
    }
    out.push_back(std::move(o));
  }
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
  KBO_RETURN_IF_ERROR(CheckReasonLength(by.reason));
  if (!IsValidUtf8(by.reason)) {
    return Status::InvalidArgument("the reason is not UTF-8 text");
  }
  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  Result<ConflictRecord> found = Find(id);
  if (!found.ok()) return found.status();
  const ConflictRecord& c = *found;
  if (c.resolved()) {
    // When, by whom and to what, so the person sees whose decision stands.
    return Status::FailedPrecondition(
               "conflict " + c.id + " was already resolved on " +
               c.resolved_at +
               (c.resolved_by.empty() ? "" : " by " + c.resolved_by) +
               " (value " +
               (c.resolved_value.empty() ? "empty"
                                         : "'" + c.resolved_value + "'") +
               (c.resolution_reason.empty()
                    ? ""
                    : "; reason: " + c.resolution_reason) +
               "); nothing was changed")
        .WithReason(std::string(kAlreadyResolved));
  }
  const Entity* entity = FindEntity(c.entity);
  Result<Uuid> row_id = Uuid::Parse(c.row_id);
  if (entity == nullptr || !row_id.ok()) {
    return Status::Corruption("conflict " + c.id + " names an unknown row");
  }

  // A write after the conflict changed what the row shows: resolving
  // replaces it, so only with it seen (or kept).
  Result<std::optional<LaterWrite>> later = LaterWriteOf(db, c);
  if (!later.ok()) return later.status();
  if (later->has_value()) {
    const LaterWrite& l = **later;
    const bool keeps_it = how.kind == Resolution::Kind::kKeepSeq && how.seq == l.seq;
    if (!keeps_it && how.seen_seq != l.seq) {
      const std::string now =
          l.value.is_null() ? std::string("empty") : "'" + l.value.ToDisplay() + "'";
      return Status::FailedPrecondition(
                 c.column_name + " of " + c.entity + " " + c.row_id +
                 " was written again after this conflict was found: it is now " +
                 now + " (server sequence " + std::to_string(l.seq) +
                 "), and resolving would replace it; nothing was changed. "
                 "Decide with it in view: keep it (--keep " +
                 std::to_string(l.seq) + ") or give --seen " + std::to_string(l.seq) +
                 " with your choice")
          .WithReason(std::string(kChangedSince))
          .With(field::kField, c.column_name)
          .With("now_value", l.value.is_null() ? std::string() : l.value.ToDisplay())
          .With("now_seq", static_cast<int64_t>(l.seq));
    }
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
      } else if (later->has_value() && how.seq == (*later)->seq) {
        value = (*later)->value;
      } else if (how.seq > std::max(c.current_seq, c.incoming_seq) &&
                 SequenceHandedOut(db, how.seq)) {
        // "Keep the value shown now" (the console's, or --keep SEQ) for a
        // later write that has gone since (written over again, or the row
        // shows a side's value again), or a number never written here:
        // the person decides again with what the row shows.
        const bool has_later = later->has_value();
        const Value& now = has_later ? (*later)->value
                           : c.winner == "incoming" ? c.incoming_value
                                                    : c.current_value;
        uint64_t now_seq = has_later ? (*later)->seq : 0;
        if (!has_later) {
          Result<std::map<std::string, StoredCellVersion, std::less<>>> versions =
              storage::Rows(db).CellVersions(c.entity, *row_id);
          if (!versions.ok()) return versions.status();
          auto v = versions->find(c.column_name);
          if (v != versions->end()) now_seq = v->second.seq;
        }
        return Status::FailedPrecondition(
                   c.column_name + " of " + c.entity + " " + c.row_id +
                   " does not show a write with sequence " + std::to_string(how.seq) +
                   " (written over since, or no such write): it is now " +
                   (now.is_null() ? std::string("empty")
                                  : "'" + now.ToDisplay() + "'") +
                   " (server sequence " + std::to_string(now_seq) +
                   "); nothing was changed. Decide again with it in view: --keep " +
                   (has_later ? std::to_string(now_seq) : c.winner) +
                   " keeps it")
            .WithReason(std::string(kChangedSince))
            .With(field::kField, c.column_name)
            .With("now_value", now.is_null() ? std::string() : now.ToDisplay())
            .With("now_seq", static_cast<int64_t>(now_seq));
      } else {
        return Status::InvalidArgument(
            "conflict " + c.id + " is between the writes with sequence " +
            std::to_string(c.current_seq) + " (current) and " +
            std::to_string(c.incoming_seq) + " (incoming)" +
            (later->has_value()
                 ? ", and the row shows a later write, sequence " +
                       std::to_string((*later)->seq)
                 : std::string()) +
            "; --keep one of those");
      }
      break;
  }
  // A required column emptied is said here, with its problem, not by the
  // applier in English.
  const Column* column = entity->FindColumn(c.column_name);
  if (Status s = column != nullptr ? ValidateEdit(*entity, *column, value)
                                   : ValidateCell(*entity, c.column_name, value);
      !s.ok()) {
    return s;
  }
  if (c.column_name == kDeletedColumn && c.entity == "producer" &&
      value == Value::Integer(0)) {
    // A producer merged away: bringing it back would make the duplicate
    // again, its enrolments, products and visits already moved to the other.
    Result<std::optional<MergedProducer>> merged =
        MergedInto(db, store_.server_id().ToString(), c.row_id);
    if (!merged.ok()) return merged.status();
    if (merged->has_value()) {
      const MergedProducer& m = **merged;
      return Status::FailedPrecondition(
                 "producer " + c.row_id + " was merged into " + m.keep_id +
                 (m.keep_name.empty() ? "" : " ('" + m.keep_name + "')") +
                 ": bringing it back would make the duplicate again (its rows "
                 "are now under the other); keep the delete, and make the "
                 "edit on that producer if it still matters (kbo-server "
                 "history producer " +
                 c.row_id + " shows it); nothing was changed")
          .WithReason("merged_away")
          .With(field::kRow, m.keep_id);
    }
  }

  // A workshop is not made shorter than the days its marks are on, by a
  // resolution no more than by an edit (shared/workshop_days.h). Whatever
  // the row shows now (a merge may show the cut already), the value decided
  // must cover every live mark: deciding for the cut would hide them for
  // good.
  if (c.entity == "workshop" && c.column_name == "days") {
    const Column* days = entity->FindColumn("days");
    const int64_t longest = days != nullptr && days->has_range
                                ? static_cast<int64_t>(days->max)
                                : int64_t{366};
    if (Status s = CheckWorkshopCut(db, c.row_id, Value::Integer(longest), value);
        !s.ok()) {
      return s;
    }
  }
  // The field's other open conflicts this decision settles, read while the
  // row still shows the write the person saw.
  Result<std::vector<ConflictRecord>> settles = SettledWith(c, *later);
  if (!settles.ok()) return settles.status();
  // A device's delete decided against: the hlc it was written with, before
  // the write below replaces it (the rows it took come back too, below).
  std::optional<Hlc> undone_delete;
  if (c.column_name == kDeletedColumn && value == Value::Integer(0)) {
    Result<std::optional<ReplicaRow>> row = storage::Rows(db).Read(*entity, *row_id);
    if (!row.ok()) return row.status();
    if (row->has_value()) undone_delete = DeviceDeleteStamp(**row, store_.server_id());
  }
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
        "stage never goes back); keep the further value (conflicts list says "
        "which side), and give your reason")
        .WithReason("moves_back")
        .With(field::kField, c.column_name);
  }
  const AppliedSet* applied = &written->applied;
  const std::string resolved_at = store_.NowIso();
  BroughtBack brought_back;

  Result<uint64_t> feed = store_.TakeSeqs(1);
  if (!feed.ok()) return feed.status();
  storage::ConflictStore conflicts(db);
  if (Status s = conflicts.MarkResolved(c.id, resolved_at, value.ToDisplay(),
                                        applied->first_seq, *feed, by.actor,
                                        by.reason);
      !s.ok()) {
    return s;
  }
  // The field's other open conflicts (SettledWith: two devices that went
  // on disagreeing, sync after sync, left one per round, each then
  // "written again since"; left open, a colleague working through the inbox
  // was offered to undo this decision with the value it decided against)
  // are settled by it: the value decided is the field's. Said in the
  // outcome; each keeps its values and says with which conflict it was
  // settled. A delete's conflicts have their own rule (below).
  int64_t settled = 0;
  for (const ConflictRecord& o : *settles) {
    Result<uint64_t> seq = store_.TakeSeqs(1);
    if (!seq.ok()) return seq.status();
    const std::string why = "settled with conflict " + c.id +
                            (by.reason.empty() ? std::string() : ": " + by.reason);
    if (Status s = conflicts.MarkResolved(o.id, resolved_at, value.ToDisplay(),
                                          applied->first_seq, *seq, by.actor, why);
        !s.ok()) {
      return s;
    }
    if (Status s = conflicts.AuditResolution(
            resolved_at, by.actor, "conflict:" + o.id,
            o.entity + " " + o.row_id + " " + o.column_name + " = " +
                (value.is_null() ? std::string("(empty)")
                                 : "'" + value.ToDisplay() + "'") +
                "; " + why,
            by.address);
        !s.ok()) {
      return s;
    }
    ++settled;
  }
  if (c.column_name == kDeletedColumn && value == Value::Integer(0)) {
    // The row is back: another device's edit of it that did not know of
    // the delete is decided too.
    if (Status s = SettleDeleteConflicts(store_, c.entity, c.row_id, value,
                                         applied->first_seq, "", by);
        !s.ok()) {
      return s;
    }
    if (undone_delete.has_value()) {
      Result<BroughtBack> back =
          BringBackTakenWith(store_, *entity, c.row_id, *undone_delete, by);
      if (!back.ok()) return back.status();
      brought_back = *back;
    }
  }
  {
    // The audit line a person reads: what was set, and why.
    std::string detail = c.entity + " " + c.row_id + " " + c.column_name +
                         " = " +
                         (value.is_null() ? std::string("(empty)")
                                          : "'" + value.ToDisplay() + "'");
    if (!by.reason.empty()) detail += "; reason: " + by.reason;
    if (Status s = conflicts.AuditResolution(resolved_at, by.actor,
                                             "conflict:" + c.id, detail,
                                             by.address);
        !s.ok()) {
      return s;
    }
  }
  Result<ConflictRecord> stored = Get(c.id);
  if (!stored.ok()) return stored.status();
  if (Status s = txn.Commit(); !s.ok()) return s;
  ResolveOutcome out;
  out.conflict = std::move(stored).value();
  out.seq = applied->first_seq;
  out.brought_back = brought_back.back;
  out.left_deleted = brought_back.left;
  out.settled_with = settled;
  return out;
}

Status SettleDeleteConflicts(ServerStore& store, std::string_view entity,
                             std::string_view row_id, const Value& value,
                             uint64_t seq, std::string_view incoming_device,
                             const Resolver& by) {
  storage::ConflictStore conflicts(store.db());
  Result<std::vector<ConflictRecord>> of_row = conflicts.OfRow(entity, row_id);
  if (!of_row.ok()) return of_row.status();
  for (const ConflictRecord& c : *of_row) {
    if (c.resolved() || c.column_name != kDeletedColumn) continue;
    // An edit that did not know of the delete (current: the delete), or a
    // delete that did not know of the edit (incoming: the delete, current:
    // the edit); the editor is the other side.
    const bool delete_current = c.current_value == Value::Integer(1);
    const bool delete_incoming =
        c.incoming_value == Value::Integer(1) && c.current_value == Value::Integer(0);
    if (!delete_current && !delete_incoming) continue;
    const std::string& editor = delete_current ? c.incoming_device : c.current_device;
    if (!incoming_device.empty() && editor != incoming_device) continue;
    Result<uint64_t> feed = store.TakeSeqs(1);
    if (!feed.ok()) return feed.status();
    const std::string now = store.NowIso();
    if (Status s = conflicts.MarkResolved(c.id, now, value.ToDisplay(), seq, *feed,
                                          by.actor, by.reason);
        !s.ok()) {
      return s;
    }
    if (Status s = conflicts.AuditResolution(
            now, by.actor, "conflict:" + c.id,
            c.entity + " " + c.row_id + " deleted = '" + value.ToDisplay() +
                "'" + (by.reason.empty() ? "" : "; reason: " + by.reason),
            by.address);
        !s.ok()) {
      return s;
    }
  }
  return Status();
}

}  // namespace kbo::server
