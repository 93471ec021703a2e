#ifndef KBO_SERVER_STORAGE_SQL_PARTS_H_
#define KBO_SERVER_STORAGE_SQL_PARTS_H_

#include <string>
#include <string_view>
#include <vector>

#include "server/enrolment.h"
#include "shared/sqlite/db.h"

namespace kbo::server::storage {

// Pieces of SQL text the stores share. Internal to server/storage/.

// The largest number of ids one IN (...) list binds: far below SQLite's
// 32,766 host parameters, and a page of 200 conflicts needs one query per
// entity.
inline constexpr size_t kIdsPerQuery = 500;

// "?,?,...,?" with n anonymous placeholders (bound 1..n).
inline std::string Placeholders(size_t n) {
  std::string sql;
  for (size_t i = 0; i < n; ++i) sql += i ? ",?" : "?";
  return sql;
}

// "<column> IN (?,?)" for a user's scope ("1 = 1" for all districts,
// "1 = 0" for none), with anonymous placeholders; the codes are appended to
// `binds`, to be bound in order with BindTexts.
inline std::string ScopeClause(const Scope& scope, const std::string& column,
                               std::vector<std::string>* binds) {
  if (scope.all) return "1 = 1";
  if (scope.districts.empty()) return "1 = 0";
  binds->insert(binds->end(), scope.districts.begin(), scope.districts.end());
  return column + " IN (" + Placeholders(scope.districts.size()) + ")";
}

// Binds `texts` to parameters first, first + 1, ...
inline void BindTexts(Statement& st, const std::vector<std::string>& texts, int first = 1) {
  for (size_t i = 0; i < texts.size(); ++i) {
    st.Bind(static_cast<int>(i) + first, std::string_view(texts[i]));
  }
}

// A device's districts as a query filter: every district, or a list.
struct DistrictFilter {
  bool all = false;
  const std::vector<std::string>* districts = nullptr;  // when !all

  // " AND <column> IN (?first, ...)", "" for all districts; an empty list
  // matches nothing (IN (NULL)).
  std::string Clause(std::string_view column, int first) const {
    if (all) return "";
    std::string sql = " AND " + std::string(column) + " IN (";
    const size_t n = districts != nullptr ? districts->size() : 0;
    for (size_t i = 0; i < n; ++i) {
      sql += (i ? ", ?" : "?") + std::to_string(first + static_cast<int>(i));
    }
    if (n == 0) sql += "NULL";
    return sql + ")";
  }
  // Binds the districts of Clause(column, first).
  void Bind(Statement& st, int first) const {
    if (all || districts == nullptr) return;
    for (size_t i = 0; i < districts->size(); ++i) {
      st.Bind(first + static_cast<int>(i), std::string_view((*districts)[i]));
    }
  }
};

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_SQL_PARTS_H_
