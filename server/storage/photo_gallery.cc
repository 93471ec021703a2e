#include "server/storage/photo_gallery.h"

#include <utility>

#include "server/storage/sql_parts.h"

namespace kbo::server::storage {

namespace {

// A photo of a row that is deleted (a visit a device deleted without
// --cascade, with its photo) is under a deleted row, as the reports and
// the exports leave it: not in the gallery either (its row's page and
// "Needs attention" still show it).
constexpr char kSubjectLive[] =
    "NOT EXISTS (SELECT 1 FROM producer s WHERE p.subject_type = 'producer' AND "
    "s.id = p.subject_id AND s.deleted = 1) AND "
    "NOT EXISTS (SELECT 1 FROM product s WHERE p.subject_type = 'product' AND "
    "s.id = p.subject_id AND s.deleted = 1) AND "
    "NOT EXISTS (SELECT 1 FROM workshop s WHERE p.subject_type = 'workshop' AND "
    "s.id = p.subject_id AND s.deleted = 1) AND "
    "NOT EXISTS (SELECT 1 FROM visit s WHERE p.subject_type = 'visit' AND "
    "s.id = p.subject_id AND s.deleted = 1)";

}  // namespace

Result<std::vector<GalleryPhoto>> PhotoGalleryStore::Page(const GalleryQuery& q) {
  std::vector<std::string> binds;
  std::string sql =
      "SELECT p.id, p.subject_type, p.subject_id, p.sha256, "
      "COALESCE(p.caption, ''), COALESCE(p.taken_at, ''), "
      "COALESCE(p.district_code, ''), COALESCE(p.width, 0), "
      "COALESCE(p.height, 0), COALESCE(p.bytes, 0), "
      "b.complete_at IS NOT NULL FROM photo p "
      "LEFT JOIN blob b ON b.sha256 = p.sha256 WHERE p.deleted = 0 AND " +
      std::string(kSubjectLive) + " AND " + ScopeClause(q.scope, "p.district_code", &binds);
  if (!q.subject_type.empty()) {
    sql += " AND p.subject_type = ?";
    binds.push_back(q.subject_type);
  }
  if (!q.subject_id.empty()) {
    sql += " AND p.subject_id = ?";
    binds.push_back(q.subject_id);
  }
  if (!q.district.empty()) {
    sql += " AND p.district_code = ?";
    binds.push_back(q.district);
  }
  sql += " ORDER BY p.taken_at DESC, p.id LIMIT " + std::to_string(q.limit) +
         " OFFSET " + std::to_string(q.offset);
  Statement st(db_, sql);
  BindTexts(st, binds, 1);
  std::vector<GalleryPhoto> rows;
  while (st.Step()) {
    GalleryPhoto r;
    r.id = st.ColumnText(0);
    r.subject_type = st.ColumnText(1);
    r.subject_id = st.ColumnText(2);
    r.sha256 = st.ColumnText(3);
    r.caption = st.ColumnText(4);
    r.taken_at = st.ColumnText(5);
    r.district_code = st.ColumnText(6);
    r.width = st.ColumnInt(7);
    r.height = st.ColumnInt(8);
    r.bytes = st.ColumnInt(9);
    r.received = st.ColumnInt(10) != 0;
    rows.push_back(std::move(r));
  }
  KBO_RETURN_IF_ERROR(st.status());
  return rows;
}

Result<std::vector<std::string>> PhotoGalleryStore::Districts() {
  Statement st(db_,
               "SELECT DISTINCT district_code FROM photo WHERE deleted = 0 "
               "AND district_code IS NOT NULL ORDER BY district_code");
  std::vector<std::string> codes;
  while (st.Step()) codes.push_back(st.ColumnText(0));
  KBO_RETURN_IF_ERROR(st.status());
  return codes;
}

Result<bool> PhotoGalleryStore::NamedInScope(const std::string& sha256,
                                             const Scope& scope) {
  std::vector<std::string> binds;
  Statement st(db_, "SELECT 1 FROM photo WHERE sha256 = ? AND deleted = 0 AND " +
                        ScopeClause(scope, "district_code", &binds) +
                        " LIMIT 1");
  st.Bind(1, std::string_view(sha256));
  BindTexts(st, binds, 2);
  const bool found = st.Step();
  KBO_RETURN_IF_ERROR(st.status());
  return found;
}

}  // namespace kbo::server::storage
