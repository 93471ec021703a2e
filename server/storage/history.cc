#include "server/storage/history.h"

namespace kbo::server::storage {

Result<std::vector<OfficeEdit>> History::OfficeEdits(std::string_view subject) {
  Statement& st = db_.Cached(
      "SELECT at, actor, detail FROM audit_log WHERE action = 'edit' AND "
      "subject = ?1 ORDER BY id");
  st.Bind(1, subject);
  std::vector<OfficeEdit> out;
  while (st.Step()) {
    out.push_back({st.ColumnText(0), st.ColumnText(1), st.ColumnText(2)});
  }
  if (!st.status().ok()) return st.status();
  return out;
}

Result<std::vector<History::Marked>> History::EditsStartingWith(
    std::string_view subject, std::string_view detail_prefix) {
  // LIKE with its wildcards escaped: the prefix is matched as written
  // (entity names hold '_').
  std::string pattern;
  for (char c : detail_prefix) {
    if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  pattern.push_back('%');
  std::string sql =
      "SELECT id, subject, detail FROM audit_log WHERE action = 'edit' AND "
      "detail LIKE ?1 ESCAPE '\\'";
  if (!subject.empty()) sql += " AND subject = ?2";
  sql += " ORDER BY id";
  Statement st(db_, sql);
  st.Bind(1, std::string_view(pattern));
  if (!subject.empty()) st.Bind(2, subject);
  std::vector<Marked> out;
  while (st.Step()) {
    out.push_back({st.ColumnInt(0), st.ColumnText(1), st.ColumnText(2)});
  }
  if (!st.status().ok()) return st.status();
  return out;
}

}  // namespace kbo::server::storage
