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

}  // namespace kbo::server::storage
