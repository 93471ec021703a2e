#include "server/storage/quality_store.h"

#include "server/storage/sql_parts.h"
#include "shared/entities.h"

namespace kbo::server::storage {
namespace {

// Whether `column` may be written into SQL for `entity`: a column of the
// catalogue's entity, or its id.
bool KnownColumn(const Entity& entity, std::string_view column) {
  return column == kIdColumn || entity.FindColumn(column) != nullptr;
}

}  // namespace

Result<std::vector<QualityProducerRow>> QualityStore::LiveProducers(
    const Scope& scope) {
  std::vector<std::string> binds;
  Statement st(db_,
               "SELECT id, name, kind, district_code, tambon, phone FROM "
               "producer WHERE deleted = 0 AND " +
                   ScopeClause(scope, "district_code", &binds) + " ORDER BY id");
  KBO_RETURN_IF_ERROR(st.status());
  BindTexts(st, binds);
  std::vector<QualityProducerRow> all;
  while (st.Step()) {
    QualityProducerRow p;
    p.id = st.ColumnText(0);
    p.name = st.ColumnText(1);
    p.kind = st.ColumnText(2);
    p.district_code = st.ColumnText(3);
    p.tambon = st.ColumnText(4);
    p.phone = st.ColumnText(5);
    all.push_back(std::move(p));
  }
  KBO_RETURN_IF_ERROR(st.status());
  return all;
}

Result<std::vector<QualityEnrolmentRow>> QualityStore::LiveEnrolments(
    const Scope& scope) {
  std::vector<std::string> binds;
  Statement st(
      db_,
      "SELECT e.id, e.workshop_id, e.producer_id, e.participant_name, "
      "w.title, w.district_code, p.name FROM enrolment e "
      "JOIN workshop w ON w.id = e.workshop_id AND w.deleted = 0 "
      "LEFT JOIN producer p ON p.id = e.producer_id "
      "WHERE e.deleted = 0 AND " +
          ScopeClause(scope, "w.district_code", &binds) + " ORDER BY e.id");
  KBO_RETURN_IF_ERROR(st.status());
  BindTexts(st, binds);
  std::vector<QualityEnrolmentRow> rows;
  while (st.Step()) {
    QualityEnrolmentRow r;
    r.id = st.ColumnText(0);
    r.workshop_id = st.ColumnText(1);
    r.producer_id = st.ColumnText(2);
    r.participant_name = st.ColumnText(3);
    r.workshop_title = st.ColumnText(4);
    r.district_code = st.ColumnText(5);
    r.producer_name = st.ColumnText(6);
    rows.push_back(std::move(r));
  }
  KBO_RETURN_IF_ERROR(st.status());
  return rows;
}

Result<std::vector<QualityWorkshopRow>> QualityStore::LiveWorkshops(
    const Scope& scope) {
  std::vector<std::string> binds;
  Statement st(db_,
               "SELECT id, title, district_code, start_date, fiscal_year, "
               "days FROM workshop WHERE deleted = 0 AND " +
                   ScopeClause(scope, "district_code", &binds) +
                   " ORDER BY start_date, title, id");
  KBO_RETURN_IF_ERROR(st.status());
  BindTexts(st, binds);
  std::vector<QualityWorkshopRow> rows;
  while (st.Step()) {
    QualityWorkshopRow w;
    w.id = st.ColumnText(0);
    w.title = st.ColumnText(1);
    w.district_code = st.ColumnText(2);
    w.start_date = st.ColumnText(3);
    if (!st.IsNull(4)) w.fiscal_year = st.ColumnInt(4);
    if (!st.IsNull(5)) w.days = st.ColumnInt(5);
    rows.push_back(std::move(w));
  }
  KBO_RETURN_IF_ERROR(st.status());
  return rows;
}

Result<std::vector<DistrictMismatchRow>> QualityStore::RowsOutsideParentDistrict(
    const Scope& scope) {
  struct Link {
    const char* child;
    const char* column;
    const char* parent;
    const char* name;
  };
  // The catalogue's DistrictParentColumn, with the parent's name column.
  static constexpr Link kLinks[] = {
      {"product", "producer_id", "producer", "name"},
      {"enrolment", "workshop_id", "workshop", "title"},
      {"attendance", "workshop_id", "workshop", "title"},
      {"visit", "producer_id", "producer", "name"},
      {"progress", "product_id", "product", "name"},
      {"contest_score", "product_id", "product", "name"},
  };
  std::vector<DistrictMismatchRow> rows;
  for (const Link& l : kLinks) {
    std::vector<std::string> binds;
    const std::string in_scope =
        "(" + ScopeClause(scope, "c.district_code", &binds) + " OR " +
        ScopeClause(scope, "p.district_code", &binds) + ")";
    Statement st(db_, std::string("SELECT c.id, COALESCE(c.district_code, ''), p.id, "
                                  "COALESCE(p.district_code, ''), COALESCE(p.") +
                          l.name + ", '') FROM " + l.child + " c JOIN " + l.parent +
                          " p ON p.id = c." + l.column +
                          " WHERE c.deleted = 0 AND p.deleted = 0"
                          " AND COALESCE(c.district_code, '') <> "
                          "COALESCE(p.district_code, '') AND " +
                          in_scope + " ORDER BY c.id");
    KBO_RETURN_IF_ERROR(st.status());
    BindTexts(st, binds);
    while (st.Step()) {
      DistrictMismatchRow r;
      r.entity = l.child;
      r.id = st.ColumnText(0);
      r.district_code = st.ColumnText(1);
      r.parent_entity = l.parent;
      r.parent_id = st.ColumnText(2);
      r.parent_district = st.ColumnText(3);
      r.parent_name = st.ColumnText(4);
      rows.push_back(std::move(r));
    }
    KBO_RETURN_IF_ERROR(st.status());
  }
  return rows;
}

Result<std::map<std::string, int64_t>>
QualityStore::CountedEnrolmentsPerWorkshop() {
  Statement st(db_,
               "SELECT e.workshop_id, COUNT(*) FROM enrolment e "
               "LEFT JOIN producer p ON p.id = e.producer_id "
               "WHERE e.deleted = 0 AND COALESCE(p.deleted, 0) = 0 "
               "GROUP BY e.workshop_id");
  KBO_RETURN_IF_ERROR(st.status());
  std::map<std::string, int64_t> out;
  while (st.Step()) out[st.ColumnText(0)] = st.ColumnInt(1);
  KBO_RETURN_IF_ERROR(st.status());
  return out;
}

Result<std::map<std::pair<std::string, int64_t>, int64_t>>
QualityStore::MarkedPerDay() {
  Statement st(db_,
               "SELECT a.workshop_id, a.day, COUNT(DISTINCT a.enrolment_id) "
               "FROM attendance a JOIN enrolment e ON e.id = a.enrolment_id "
               "AND e.deleted = 0 AND e.workshop_id = a.workshop_id "
               "LEFT JOIN producer p ON p.id = e.producer_id "
               "WHERE a.deleted = 0 AND COALESCE(p.deleted, 0) = 0 "
               "GROUP BY a.workshop_id, a.day");
  KBO_RETURN_IF_ERROR(st.status());
  std::map<std::pair<std::string, int64_t>, int64_t> marked;
  while (st.Step()) {
    marked[{st.ColumnText(0), st.ColumnInt(1)}] = st.ColumnInt(2);
  }
  KBO_RETURN_IF_ERROR(st.status());
  return marked;
}

Result<std::map<std::string, int64_t>> QualityStore::LiveRowsPer(
    std::string_view table, std::string_view column) {
  const std::string t(table), c(column);
  Statement st(db_, "SELECT " + c + ", COUNT(*) FROM " + t +
                        " WHERE deleted = 0 GROUP BY " + c);
  KBO_RETURN_IF_ERROR(st.status());
  std::map<std::string, int64_t> out;
  while (st.Step()) out[st.ColumnText(0)] = st.ColumnInt(1);
  KBO_RETURN_IF_ERROR(st.status());
  return out;
}

Result<std::optional<ProducerHead>> QualityStore::FindProducer(
    const std::string& id) {
  Statement st(db_,
               "SELECT name, district_code, deleted FROM producer WHERE id = ?1");
  KBO_RETURN_IF_ERROR(st.status());
  st.Bind(1, std::string_view(id));
  std::optional<ProducerHead> p;
  if (st.Step()) {
    p = ProducerHead{st.ColumnText(0), st.ColumnText(1), st.ColumnInt(2) != 0};
  }
  KBO_RETURN_IF_ERROR(st.status());
  return p;
}

Result<std::vector<RowInDistrict>> QualityStore::RowsNamingProducer(
    std::string_view entity, const std::string& producer_id) {
  const char* sql = nullptr;
  if (entity == "product") {
    sql = "SELECT id, district_code, deleted FROM product WHERE producer_id = ?1 ORDER BY id";
  } else if (entity == "enrolment") {
    sql = "SELECT id, district_code, deleted FROM enrolment WHERE producer_id = ?1 ORDER BY id";
  } else if (entity == "visit") {
    sql = "SELECT id, district_code, deleted FROM visit WHERE producer_id = ?1 ORDER BY id";
  } else if (entity == "photo") {
    sql = "SELECT id, district_code, deleted FROM photo WHERE subject_type = 'producer' AND "
          "subject_id = ?1 ORDER BY id";
  } else {
    return Status::InvalidArgument("no rows of " + std::string(entity) +
                                   " name a producer");
  }
  Statement st(db_, sql);
  KBO_RETURN_IF_ERROR(st.status());
  st.Bind(1, std::string_view(producer_id));
  std::vector<RowInDistrict> rows;
  while (st.Step()) {
    rows.push_back({st.ColumnText(0), st.ColumnText(1), st.ColumnInt(2) != 0});
  }
  KBO_RETURN_IF_ERROR(st.status());
  return rows;
}

Result<std::vector<UnderDeletedRow>> QualityStore::LiveRowsUnderDeleted(
    const RefPath& path, const Scope& scope) {
  const Entity* root = FindEntity(path.root_entity);
  if (root == nullptr || path.hops.empty() ||
      (!path.root_name_column.empty() &&
       !KnownColumn(*root, path.root_name_column))) {
    return Status::InvalidArgument("not a path of the catalogue from " +
                                   path.root_entity);
  }
  // With N hops, t0 the deleted row and tN the live row at the end:
  //   SELECT tN.id, tN.label, tN.district_code, tN-1.id, t0.id, t0.name,
  //          t0.district_code
  //   FROM hopN tN JOIN hopN-1 tN-1 ON tN-1.id = tN.refN ...
  //                JOIN root t0 ON t0.id = t1.ref1
  //   WHERE tN.deleted = 0 AND tN.refN IN (the ids of hop N-1 under a
  //         deleted root: SELECT sN-1.id FROM root s0 JOIN hop1 s1 ON
  //         s1.ref1 = s0.id AND s1.deleted = 0 ... WHERE s0.deleted = 1)
  //     AND t0.deleted = 1 AND t1..tN-1.deleted = 0 AND tN in scope
  // The live rows are read in table order against the few ids under a
  // deleted row (an index on the reference serves when there is one), and
  // joined back up by primary key. No ORDER BY: SQLite would then walk the
  // largest table (attendance) in id order through its index, several
  // times slower; the caller orders.
  std::vector<const Entity*> entities{root};
  std::vector<const Column*> refs{nullptr};
  for (const RefHop& hop : path.hops) {
    const Entity* e = FindEntity(hop.entity);
    const Column* ref = e == nullptr ? nullptr : e->FindColumn(hop.ref_column);
    if (ref == nullptr || ref->type != ColumnType::kRef ||
        ref->ref_entity != entities.back()->name ||
        !KnownColumn(*e, hop.label_column)) {
      return Status::InvalidArgument("not a path of the catalogue: " +
                                     hop.entity + "." + hop.ref_column);
    }
    entities.push_back(e);
    refs.push_back(ref);
  }
  const size_t n = path.hops.size();
  const auto alias = [](char prefix, size_t i) {
    return std::string(1, prefix) + std::to_string(i);
  };
  std::string under = "SELECT " + alias('s', n - 1) + ".id FROM " +
                      std::string(root->name) + " s0";
  for (size_t i = 1; i < n; ++i) {
    under += " JOIN " + std::string(entities[i]->name) + " " + alias('s', i) +
             " ON " + alias('s', i) + "." + std::string(refs[i]->name) + " = " +
             alias('s', i - 1) + ".id AND " + alias('s', i) + ".deleted = 0";
  }
  under += " WHERE s0.deleted = 1";
  const std::string leaf = alias('t', n);
  std::string from = " FROM " + std::string(entities[n]->name) + " " + leaf;
  std::string live;
  for (size_t i = n; i-- > 0;) {
    from += " JOIN " + std::string(entities[i]->name) + " " + alias('t', i) +
            " ON " + alias('t', i) + ".id = " + alias('t', i + 1) + "." +
            std::string(refs[i + 1]->name);
    if (i > 0) live += " AND " + alias('t', i) + ".deleted = 0";
  }
  const std::string name = path.root_name_column.empty()
                               ? std::string("t0.id")
                               : "t0." + path.root_name_column;
  std::vector<std::string> binds;
  const std::string sql =
      "SELECT " + leaf + ".id, " + leaf + "." + path.hops.back().label_column +
      ", " + leaf + ".district_code, " + alias('t', n - 1) + ".id, t0.id, " +
      name + ", t0.district_code" + from + " WHERE " + leaf +
      ".deleted = 0 AND " + leaf + "." + std::string(refs[n]->name) + " IN (" +
      under + ") AND t0.deleted = 1" + live + " AND " +
      ScopeClause(scope, leaf + ".district_code", &binds);
  Statement st(db_, sql);
  KBO_RETURN_IF_ERROR(st.status());
  BindTexts(st, binds);
  std::vector<UnderDeletedRow> rows;
  while (st.Step()) {
    UnderDeletedRow r;
    r.id = st.ColumnText(0);
    r.label = st.ColumnText(1);
    r.district_code = st.ColumnText(2);
    r.parent_id = st.ColumnText(3);
    r.root_id = st.ColumnText(4);
    r.root_name = st.ColumnText(5);
    r.root_district_code = st.ColumnText(6);
    rows.push_back(std::move(r));
  }
  KBO_RETURN_IF_ERROR(st.status());
  return rows;
}

Result<std::optional<RowHead>> QualityStore::FindRow(
    std::string_view entity, std::string_view name_column,
    const std::string& id) {
  const Entity* e = FindEntity(entity);
  if (e == nullptr || (!name_column.empty() && !KnownColumn(*e, name_column))) {
    return Status::InvalidArgument("no entity " + std::string(entity) +
                                   " with a column " + std::string(name_column));
  }
  const std::string name =
      name_column.empty() ? std::string("id") : std::string(name_column);
  Statement st(db_, "SELECT " + name + ", district_code, deleted FROM " +
                        std::string(e->name) + " WHERE id = ?1");
  KBO_RETURN_IF_ERROR(st.status());
  st.Bind(1, std::string_view(id));
  std::optional<RowHead> row;
  if (st.Step()) {
    row = RowHead{st.ColumnText(0), st.ColumnText(1), st.ColumnInt(2) != 0};
  }
  KBO_RETURN_IF_ERROR(st.status());
  return row;
}

Result<int64_t> QualityStore::LiveRowsNaming(std::string_view entity,
                                             std::string_view column,
                                             const std::string& id) {
  const Entity* e = FindEntity(entity);
  if (e == nullptr || !KnownColumn(*e, column)) {
    return Status::InvalidArgument("no column " + std::string(entity) + "." +
                                   std::string(column));
  }
  Statement st(db_, "SELECT COUNT(*) FROM " + std::string(e->name) +
                        " WHERE " + std::string(column) +
                        " = ?1 AND deleted = 0");
  KBO_RETURN_IF_ERROR(st.status());
  st.Bind(1, std::string_view(id));
  int64_t n = 0;
  if (st.Step()) n = st.ColumnInt(0);
  KBO_RETURN_IF_ERROR(st.status());
  return n;
}

Result<std::vector<QualityStore::LiveChild>> QualityStore::LiveRowIdsNaming(
    std::string_view entity, std::string_view column, const std::string& id,
    std::string_view subject_type) {
  return RowIdsNaming(entity, column, id, subject_type, /*deleted=*/false);
}

Result<std::vector<QualityStore::LiveChild>> QualityStore::DeletedRowIdsNaming(
    std::string_view entity, std::string_view column, const std::string& id,
    std::string_view subject_type) {
  return RowIdsNaming(entity, column, id, subject_type, /*deleted=*/true);
}

Result<std::vector<QualityStore::LiveChild>> QualityStore::RowIdsNaming(
    std::string_view entity, std::string_view column, const std::string& id,
    std::string_view subject_type, bool deleted) {
  const Entity* e = FindEntity(entity);
  if (e == nullptr || !KnownColumn(*e, column) ||
      (!subject_type.empty() && !KnownColumn(*e, "subject_type"))) {
    return Status::InvalidArgument("no column " + std::string(entity) + "." +
                                   std::string(column));
  }
  Statement st(db_, "SELECT id, COALESCE(district_code, '') FROM " +
                        std::string(e->name) + " WHERE " + std::string(column) +
                        " = ?1 AND deleted = " + (deleted ? "1" : "0") +
                        (subject_type.empty() ? "" : " AND subject_type = ?2") +
                        " ORDER BY id");
  KBO_RETURN_IF_ERROR(st.status());
  st.Bind(1, std::string_view(id));
  if (!subject_type.empty()) st.Bind(2, subject_type);
  std::vector<LiveChild> out;
  while (st.Step()) out.push_back({st.ColumnText(0), st.ColumnText(1)});
  KBO_RETURN_IF_ERROR(st.status());
  return out;
}

}  // namespace kbo::server::storage
