#include "server/storage/entity_reads.h"

#include <utility>

#include "server/storage/sql_flavor.h"
#include "server/storage/sql_parts.h"

namespace kbo::server::storage {
namespace {

// [id, columns..., deleted] of the statement's current row.
std::vector<Value> RowValues(Statement& st, const Entity& e) {
  std::vector<Value> row;
  for (size_t i = 0; i < e.columns.size() + 2; ++i) {
    row.push_back(st.ColumnValue(static_cast<int>(i)));
  }
  return row;
}

}  // namespace

Result<std::vector<std::vector<Value>>> EntityReads::AllRows(const Entity& e) {
  std::string sql = "SELECT id";
  for (const Column& c : e.columns) sql += ", " + std::string(c.name);
  sql += ", deleted FROM " + std::string(e.name) + " ORDER BY id";
  Statement st(db_, sql);
  KBO_RETURN_IF_ERROR(st.status());
  std::vector<std::vector<Value>> rows;
  while (st.Step()) rows.push_back(RowValues(st, e));
  KBO_RETURN_IF_ERROR(st.status());
  return rows;
}

Result<int64_t> EntityReads::CountLive(const Entity& e, const Scope& scope) {
  std::vector<std::string> binds;
  const std::string sql = "SELECT COUNT(*) FROM " + std::string(e.name) +
                          " WHERE deleted = 0 AND " +
                          ScopeClause(scope, "district_code", &binds);
  Statement st(db_, sql);
  BindTexts(st, binds, 1);
  const int64_t n = st.Step() ? st.ColumnInt(0) : 0;
  KBO_RETURN_IF_ERROR(st.status());
  return n;
}

Result<std::vector<std::vector<Value>>> EntityReads::RowPage(
    const Entity& e, const RowPageQuery& q) {
  const SqlFlavor& flavor = Flavor(db_);
  std::vector<std::string> binds;
  std::string where = ScopeClause(q.scope, "t.district_code", &binds);
  if (!q.deleted) where += " AND t.deleted = 0";
  if (!q.district.empty()) {
    where += " AND t.district_code = ?";
    binds.push_back(q.district);
  }
  if (!q.category.empty() && e.FindColumn("category") != nullptr) {
    where += " AND t.category = ?";
    binds.push_back(q.category);
  }
  if (!q.stage.empty() && e.FindColumn("stage") != nullptr) {
    where += " AND t.stage = ?";
    binds.push_back(q.stage);
  }
  if (!q.workshop.empty() && e.FindColumn("workshop_id") != nullptr) {
    where += " AND t.workshop_id = ?";
    binds.push_back(q.workshop);
  }
  const std::string entity_name(e.name);
  if (!q.fiscal_year.empty()) {
    if (entity_name == "workshop") {
      where += " AND t.fiscal_year = ?";
      binds.push_back(q.fiscal_year);
    } else if (e.FindColumn("workshop_id") != nullptr) {
      where +=
          " AND t.workshop_id IN (SELECT id FROM workshop WHERE fiscal_year "
          "= ?)";
      binds.push_back(q.fiscal_year);
    } else if (entity_name == "visit") {
      // Made in that fiscal year, by its Bangkok date (as the exports and
      // the follow-ups report count it): 1 October 00:00 Bangkok is
      // 30 September 17:00 UTC. visited_at is canonical ISO 8601 UTC, so
      // text order is time order.
      int64_t be = 0;
      for (char c : q.fiscal_year) {
        if (c < '0' || c > '9' || be > 100000) {
          be = -1;
          break;
        }
        be = be * 10 + (c - '0');
      }
      if (be > 543 + 1) {
        where += " AND t.visited_at >= ? AND t.visited_at < ?";
        binds.push_back(std::to_string(be - 544) + "-09-30T17:00:00Z");
        binds.push_back(std::to_string(be - 543) + "-09-30T17:00:00Z");
      } else {
        where += " AND 1 = 0";  // no such year
      }
    }
  }
  if (!q.name_contains.empty() && !q.name_column.empty()) {
    where += " AND (t." + q.name_column +
             std::string(flavor.CaseInsensitiveLike()) + " ? ESCAPE '\\'";
    std::string like;
    for (char c : q.name_contains) {
      if (c == '%' || c == '_' || c == '\\') like += '\\';
      like += c;
    }
    binds.push_back("%" + like + "%");
    for (const std::string& code : q.name_codes) {
      where += " OR t." + q.name_column + " = ?";
      binds.push_back(code);
    }
    where += ")";
  }
  std::string cols = "t.id";
  for (const Column& c : e.columns) cols += ", t." + std::string(c.name);
  cols += ", t.deleted";
  const std::string tie = flavor.ArrivalOrder("t");
  const std::string order =
      entity_name == "attendance" ? "t.workshop_id, t.day, " + tie
      : q.name_column.empty()     ? tie + " DESC"
                                  : "t." + q.name_column + ", " + tie;
  Statement st(db_, "SELECT " + cols + " FROM " + entity_name + " t WHERE " +
                        where + " ORDER BY " + order + " LIMIT " +
                        std::to_string(q.limit) + " OFFSET " +
                        std::to_string(q.offset));
  KBO_RETURN_IF_ERROR(st.status());
  BindTexts(st, binds, 1);
  std::vector<std::vector<Value>> rows;
  while (st.Step() && rows.size() < static_cast<size_t>(q.limit)) {
    rows.push_back(RowValues(st, e));
  }
  KBO_RETURN_IF_ERROR(st.status());
  return rows;
}

Result<std::optional<std::vector<Value>>> EntityReads::FindRow(
    const Entity& e, const std::string& id) {
  std::string cols = "id";
  for (const Column& c : e.columns) cols += ", " + std::string(c.name);
  cols += ", deleted";
  Statement st(db_, "SELECT " + cols + " FROM " + std::string(e.name) +
                        " WHERE id = ?1");
  st.Bind(1, std::string_view(id));
  std::optional<std::vector<Value>> row;
  if (st.Step()) row = RowValues(st, e);
  KBO_RETURN_IF_ERROR(st.status());
  return row;
}

Result<std::optional<std::string>> EntityReads::RowDistrict(
    const Entity& e, const std::string& id) {
  Statement st(db_, "SELECT district_code FROM " + std::string(e.name) +
                        " WHERE id = ?1");
  KBO_RETURN_IF_ERROR(st.status());
  st.Bind(1, std::string_view(id));
  std::optional<std::string> district;
  if (st.Step()) district = st.IsNull(0) ? "" : st.ColumnText(0);
  KBO_RETURN_IF_ERROR(st.status());
  return district;
}

Result<std::vector<RowPhoto>> EntityReads::PhotosOf(
    const std::string& subject_type, const std::string& subject_id) {
  Statement& st = db_.Cached(
      "SELECT p.id, p.sha256, COALESCE(p.caption, ''), "
      "COALESCE(p.taken_at, ''), b.complete_at IS NOT NULL FROM photo p "
      "LEFT JOIN blob b ON b.sha256 = p.sha256 WHERE p.subject_type = ?1 "
      "AND p.subject_id = ?2 AND p.deleted = 0 ORDER BY p.taken_at");
  st.Bind(1, std::string_view(subject_type))
      .Bind(2, std::string_view(subject_id));
  std::vector<RowPhoto> photos;
  while (st.Step()) {
    photos.push_back({st.ColumnText(0), st.ColumnText(1), st.ColumnText(2),
                      st.ColumnText(3), st.ColumnInt(4) != 0});
  }
  KBO_RETURN_IF_ERROR(st.status());
  return photos;
}

Result<std::optional<std::string>> EntityReads::PhotoMime(
    const std::string& sha256, const Scope& scope) {
  std::vector<std::string> binds;
  const std::string in_scope = ScopeClause(scope, "district_code", &binds);
  Statement st(db_,
               "SELECT COALESCE(mime, 'application/octet-stream') FROM photo "
               "WHERE sha256 = ?1 AND deleted = 0 AND " +
                   in_scope + " LIMIT 1");
  st.Bind(1, std::string_view(sha256));
  BindTexts(st, binds, 2);
  std::optional<std::string> mime;
  if (st.Step()) mime = st.ColumnText(0);
  KBO_RETURN_IF_ERROR(st.status());
  return mime;
}

}  // namespace kbo::server::storage
