#include "server/office_delete.h"

#include "server/conflicts.h"
#include "server/console/users.h"
#include "server/data_quality.h"
#include "server/server_write.h"
#include "server/storage/history.h"
#include "server/storage/rows.h"
#include "server/storage/quality_store.h"
#include "shared/entities.h"
#include "shared/rows_under.h"
#include "shared/uuid.h"

namespace kbo::server {

namespace {

using storage::QualityStore;

// The audit texts a delete writes and its undo reads back.
constexpr std::string_view kDeletedByOffice =
    "deleted: '0' -> '1' (deleted by the office)";
std::string DeletedWith(std::string_view subject) {
  return "deleted: '0' -> '1' (under " + std::string(subject) +
         ", deleted with it)";
}

struct Found {
  const Entity* entity;
  std::string id, district_code;
};

// `root` and every live row under it (WalkRowsUnder). A row with no
// district of its own takes the district of the row it was found under, as
// the reports read it.
Result<std::vector<Found>> WalkUnder(Db& db, Found root) {
  std::vector<Found> rows{std::move(root)};
  KBO_RETURN_IF_ERROR(WalkRowsUnder(
      &rows, [&db](const Found& parent, std::vector<Found>* found) -> Status {
        for (const ChildLink& link : LinksUnder(*parent.entity)) {
          KBO_ASSIGN_OR_RETURN(
              auto children,
              QualityStore(db).LiveRowIdsNaming(
                  link.child->name, link.column, parent.id,
                  link.by_subject ? parent.entity->name : std::string_view()));
          for (QualityStore::LiveChild& c : children) {
            found->push_back({link.child, std::move(c.id),
                              c.district_code.empty() ? parent.district_code
                                                      : std::move(c.district_code)});
          }
        }
        return Status();
      }));
  return rows;
}

}  // namespace

int64_t OfficeDeleted::total() const {
  int64_t n = 1;
  for (const auto& entry : under) n += entry.second;
  return n;
}

Result<std::vector<std::pair<std::string, int64_t>>> LiveRowsUnder(
    ServerStore& store, std::string_view entity, std::string_view id) {
  const Entity* e = FindEntity(entity);
  if (e == nullptr) {
    return Status::InvalidArgument("no entity '" +
                                   std::string(entity.substr(0, 40)) + "'");
  }
  const std::string row_id(id);
  EntityCounts out;
  QualityStore rows(store.db());
  for (const ChildLink& link : LinksUnder(*e)) {
    int64_t n = 0;
    if (link.by_subject) {
      KBO_ASSIGN_OR_RETURN(auto photos,
                           rows.LiveRowIdsNaming(link.child->name, link.column,
                                                 row_id, e->name));
      n = static_cast<int64_t>(photos.size());
    } else {
      KBO_ASSIGN_OR_RETURN(n, rows.LiveRowsNaming(link.child->name, link.column,
                                                  row_id));
    }
    if (n == 0) continue;
    // A mark names both its workshop and its enrolment: one entry per
    // entity, in catalogue order.
    if (!out.empty() && out.back().first == link.child->name) {
      out.back().second += n;
    } else {
      out.emplace_back(std::string(link.child->name), n);
    }
  }
  return out;
}

Result<OfficeDeleted> DeleteAsOffice(ServerStore& store, const Scope& scope,
                                     std::string_view entity,
                                     std::string_view id,
                                     std::string_view reason,
                                     RowsUnder rows_under,
                                     std::string_view actor,
                                     std::string_view address) {
  Db& db = store.db();
  KBO_ASSIGN_OR_RETURN(OfficeRow found, FindOfficeRow(db, scope, entity, id,
                                                      reason, "deleted"));
  const Entity* e = found.entity;
  const std::string row_id = found.id.ToString();
  // What a person calls it, as kbo delete says it: its name, title or
  // participant's name, else the entity and id.
  const std::string label =
      found.named ? std::string(e->name) + " '" + found.name + "'"
                  : found.subject;
  if (found.deleted) {
    return Status::InvalidArgument(label +
                                   " is already deleted; nothing was written")
        .WithReason("already_deleted");
  }
  KBO_ASSIGN_OR_RETURN(std::vector<Found> rows,
                       WalkUnder(db, Found{e, row_id, found.district_code}));
  OfficeDeleted deleted{std::string(e->name), row_id,
                        found.named ? found.name : std::string(),
                        found.district_code, CountRowsUnder(rows)};
  // Another district's rows are never reached, whether or not a cascade
  // was asked for (and their counts are not told).
  for (size_t i = 1; i < rows.size(); ++i) {
    if (!scope.Contains(rows[i].district_code)) {
      // Which row and where are not told either: another district's.
      return Status::PermissionDenied(
                 "rows under it are recorded in districts outside yours: a "
                 "person of all their districts (or the central office) "
                 "deletes it; nothing was deleted")
          .WithReason("rows_out_of_scope");
    }
  }
  if (rows.size() > 1 && rows_under == RowsUnder::kRefuse) {
    return HasChildrenStatus(label, deleted.under, row_id);
  }
  // The rows under it first, the row itself last.
  const std::string why(reason);
  for (size_t i = rows.size(); i-- > 0;) {
    const Found& r = rows[i];
    KBO_ASSIGN_OR_RETURN(Uuid u, Uuid::Parse(r.id));
    KBO_ASSIGN_OR_RETURN(ServerWrite w,
                         WriteAsServer(store, r.entity->name, u,
                                       {{"deleted", Value::Integer(1)}}));
    if (!w.lost.empty()) {
      return Status::Internal(std::string(r.entity->name) + " " + r.id +
                              " could not be deleted");
    }
    KBO_RETURN_IF_ERROR(console::AppendAudit(
        store, actor, "edit", std::string(r.entity->name) + ":" + r.id,
        (i == 0 ? std::string(kDeletedByOffice)
                : DeletedWith(std::string(e->name) + ":" + row_id)) +
            "; reason: " + why,
        address));
  }
  return deleted;
}

Result<int64_t> UndoOfficeDelete(ServerStore& store, const Scope& scope,
                                 const OfficeRow& row, std::string_view reason,
                                 std::string_view actor,
                                 std::string_view address) {
  Db& db = store.db();
  const std::string subject =
      std::string(row.entity->name) + ":" + row.id.ToString();
  storage::History history(db);
  // Its office edits: the last must be a delete by the office; the rows
  // that delete took are audited after the one before it (or from the
  // start) and before it.
  KBO_ASSIGN_OR_RETURN(std::vector<storage::History::Marked> edits,
                       history.EditsStartingWith(subject, "deleted: "));
  // And the tombstone is still the server's own write: a device may have
  // brought the row back (re-recording a mark) and deleted it again since,
  // without a line in the audit log.
  const auto server_tombstone = [&](const Entity& e, const Uuid& id) -> Result<bool> {
    KBO_ASSIGN_OR_RETURN(auto versions,
                         storage::Rows(db).CellVersions(e.name, id));
    auto v = versions.find(kDeletedColumn);
    return v != versions.end() && v->second.hlc.device == store.server_id();
  };
  const bool office_last =
      !edits.empty() && edits.back().detail.rfind(kDeletedByOffice, 0) == 0;
  KBO_ASSIGN_OR_RETURN(bool ours, server_tombstone(*row.entity, row.id));
  if (!office_last || !ours) {
    std::string why = "a device deleted it";
    if (!edits.empty() && edits.back().detail.rfind("deleted: '0' -> '1' (under ", 0) == 0) {
      // "(under producer:ID, deleted with it)": restore that row instead.
      const std::string& d = edits.back().detail;
      const size_t from = d.find("(under ") + 7, to = d.find(',', from);
      why = "it was deleted with " + d.substr(from, to - from) +
            ": restore that row";
    } else if (!edits.empty() && edits.back().detail.find("(merged into ") !=
                                     std::string::npos) {
      why = "it was merged into another producer";
    } else if (office_last) {
      why = "a device deleted it again after the office";
    }
    return Status::InvalidArgument(row.subject + " was not deleted by the office (" +
                                   why +
                                   "); a row it deleted is restored only while "
                                   "live rows are recorded under it; nothing "
                                   "was written")
        .WithReason("not_deleted_by_office");
  }
  const int64_t until = edits.back().id;
  const int64_t after = edits.size() > 1 ? edits[edits.size() - 2].id : 0;
  KBO_ASSIGN_OR_RETURN(std::vector<storage::History::Marked> taken,
                       history.EditsStartingWith("", DeletedWith(subject)));
  // The delete wrote the rows under it deepest first: undone in the
  // opposite order, the row itself first.
  struct Back {
    const Entity* entity;
    Uuid id;
  };
  std::vector<Back> rows{{row.entity, row.id}};
  for (auto it = taken.rbegin(); it != taken.rend(); ++it) {
    if (it->id <= after || it->id >= until) continue;
    const size_t colon = it->subject.find(':');
    const Entity* e = colon == std::string::npos
                          ? nullptr
                          : FindEntity(std::string_view(it->subject).substr(0, colon));
    Result<Uuid> id = e == nullptr ? Result<Uuid>(Status::Corruption("subject"))
                                   : Uuid::Parse(it->subject.substr(colon + 1));
    if (!id.ok()) continue;  // written by this program; nothing to follow
    KBO_ASSIGN_OR_RETURN(
        std::optional<storage::RowHead> held,
        QualityStore(db).FindRow(e->name, "", id->ToString()));
    if (!held.has_value() || !held->deleted) continue;  // live again already
    // Deleted again since by a device: not the office's to undo.
    KBO_ASSIGN_OR_RETURN(bool taken_by_office, server_tombstone(*e, *id));
    if (!taken_by_office) continue;
    if (!scope.all && !scope.Contains(held->district_code)) {
      return Status::PermissionDenied(
                 "rows deleted with it are recorded in districts outside "
                 "yours: a person of all their districts (or the central "
                 "office) restores it; nothing was restored")
          .WithReason("rows_out_of_scope");
    }
    rows.push_back({e, *id});
  }
  const std::string why(reason);
  for (const Back& r : rows) {
    KBO_ASSIGN_OR_RETURN(ServerWrite w,
                         WriteAsServer(store, r.entity->name, r.id,
                                       {{"deleted", Value::Integer(0)}}));
    if (!w.lost.empty()) {
      return Status::Internal(std::string(r.entity->name) + " " +
                              r.id.ToString() + " could not be restored");
    }
    // An edit of it that did not know of the delete is decided: it is back.
    KBO_RETURN_IF_ERROR(SettleDeleteConflicts(
        store, r.entity->name, r.id.ToString(), Value::Integer(0),
        w.applied.first_seq, "",
        Resolver{std::string(actor), "restored: " + why, std::string(address), scope}));
    KBO_RETURN_IF_ERROR(console::AppendAudit(
        store, actor, "edit",
        std::string(r.entity->name) + ":" + r.id.ToString(),
        "deleted: '1' -> '0' (office delete undone); reason: " + why, address));
  }
  return static_cast<int64_t>(rows.size()) - 1;
}

}  // namespace kbo::server
